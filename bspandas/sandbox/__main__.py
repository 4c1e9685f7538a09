"""``python -m bspandas.sandbox`` serves the sandbox (same options as ``bspandas sandbox``)."""

from bspandas.sandbox.command import main

raise SystemExit(main())
