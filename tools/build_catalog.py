"""Regenerate ``bspandas/catalog/catalog.json`` from the vendor reference and the field notes.

Run it with ``make catalog`` (or ``python tools/build_catalog.py [--spec-dir DIR] [--check]``;
``BSPANDAS_SPEC_DIR`` sets the default spec folder). The build itself is the package
``tools/catalog_build``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from catalog_build.build import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
