"""``python -m bspandas`` runs the command line."""

from bspandas.cli import main

raise SystemExit(main())
