from __future__ import annotations

import pandas as pd
import pytest

from bspandas.dtypes import TABLE, arrow_read_type, dtype_for, dtype_table_markdown
from tests.conftest import ROOT


def test_readme_type_table_matches_the_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- dtype-table:start -->\n", 1)[1].split(
        "\n<!-- dtype-table:end -->", 1
    )[0]
    assert table.strip() == dtype_table_markdown()


def test_every_catalog_type_has_both_backends() -> None:
    from bspandas.catalog import TYPES

    assert set(TYPES) == set(TABLE)
    for name in TYPES:
        assert dtype_for(name) is not None
        assert isinstance(dtype_for(name, backend="pyarrow"), pd.ArrowDtype)
        assert arrow_read_type(name) is not None


def test_enumeration_gets_its_categories() -> None:
    dtype = dtype_for("enumeration", values=["high", "medium", "low"], ordered=True)
    assert isinstance(dtype, pd.CategoricalDtype)
    assert list(dtype.categories) == ["high", "medium", "low"]
    assert dtype.ordered


def test_unknown_type_and_backend() -> None:
    with pytest.raises(ValueError, match="unknown catalog type"):
        dtype_for("float")
    with pytest.raises(ValueError, match="dtype_backend"):
        dtype_for("count", backend="numpy")  # type: ignore[arg-type]
