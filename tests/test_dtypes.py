from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import bspandas as bs
from bspandas._io.dtypes import BACKENDS, TABLE, arrow_read_type, dtype_for, dtype_table_markdown
from bspandas.sandbox import serve
from tests.paths import ROOT


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


# -- the composition matrix ------------------------------------------------------------------
# One opportunity column per catalog type, served by the sandbox with a missing value every
# fourth row and read back with the default dtypes of each backend. Every pair of columns'
# comparisons must combine with & | ~ and select rows with them; where both values are present
# the result is the one plain Python gives on the raw values.

_MATRIX: dict[str, tuple[str, list[Any], Callable[[Any], bool]]] = {
    "ootb_opportunity_name": ("text", ["Retail", "Media", None, "retail"], lambda v: v == "Retail"),
    "ootb_opportunity_crm_id": (
        "id",
        ["0015g0000000001", "0015g0000000002", None, "0015g0000000003"],
        lambda v: v != "0015g0000000002",
    ),
    "ootb_opportunity_id": ("internal_id", [1, 2, None, 3], lambda v: v > 1),
    "ootb_days_in_current_stage": ("count", [0, 5, None, 9], lambda v: v >= 5),
    "ootb_stage_progression_velocity": ("number", [1.5, -2.0, None, 0.25], lambda v: v < 1),
    "ootb_win_probability_score": ("score", [80.0, 70.0, None, 10.0], lambda v: v > 70),
    "ootb_stage_probability": ("percentage", [10.0, 50.0, None, 90.0], lambda v: v <= 50),
    "ootb_opportunity_converted_amount": ("money", [1000.0, 5.5, None, 2e6], lambda v: v > 999),
    "ootb_opportunity_is_won": ("boolean", [True, False, None, True], lambda v: v is True),
    "ootb_opportunity_close_date": (
        "date",
        [dt.date(2026, 1, 5), dt.date(2025, 12, 1), None, dt.date(2026, 6, 30)],
        lambda v: v >= dt.date(2026, 1, 1),
    ),
    "ootb_opportunity_created_at": (
        "timestamp",
        [dt.datetime(2026, 1, 5, 10), dt.datetime(2025, 12, 1), None, dt.datetime(2026, 6, 30, 23)],
        lambda v: v < dt.datetime(2026, 1, 5, 12),
    ),
    "ootb_opportunity_days_in_stage": ("duration", [3600, 90000, None, 10], lambda v: v > 7200),
    "ootb_opportunity_forecast_category": (
        "enumeration",
        ["Pipeline", "Commit", None, "Closed"],
        lambda v: v == "Commit",
    ),
    "ootb_opportunity_owners": ("list", [["a", "b"], [], None, ["c"]], lambda v: v is None),
}

# the same comparison written on the column (dates compare with the values read_query takes)
_COMPARE: dict[str, Callable[[pd.Series], pd.Series]] = {
    "text": lambda s: s == "Retail",
    "id": lambda s: s != "0015g0000000002",
    "internal_id": lambda s: s > 1,
    "count": lambda s: s >= 5,
    "number": lambda s: s < 1,
    "score": lambda s: s > 70,
    "percentage": lambda s: s <= 50,
    "money": lambda s: s > 999,
    "boolean": lambda s: s == True,  # noqa: E712 (an element-wise comparison)
    "date": lambda s: s >= pd.Timestamp("2026-01-01", tz="UTC"),
    "timestamp": lambda s: s < pd.Timestamp("2026-01-05 12:00", tz="UTC"),
    "duration": lambda s: s > pd.Timedelta(hours=2),
    "enumeration": lambda s: s == "Commit",
    "list": lambda s: s.isna(),  # lists compare to nothing; .list results are Arrow-backed
}


def _arrow(kind: str, values: list[Any]) -> pa.Array:
    types = {"timestamp": pa.timestamp("s"), "duration": pa.int64(), "date": pa.date32()}
    return pa.array(values, types.get(kind))


@pytest.fixture(scope="module")
def matrix_frames() -> Iterator[dict[str, pd.DataFrame]]:
    with (
        serve(seed=3, accounts=3, users=2, hourly_budget=0) as sb,
        sb.client(hourly_budget=100_000) as client,
    ):
        rows = sb.engine.rows("opportunity")
        for slug, (kind, values, _) in _MATRIX.items():
            sb.override("opportunity", slug, _arrow(kind, [values[i % 4] for i in range(rows)]))
        yield {
            backend: bs.read_query(
                "opportunity", list(_MATRIX), client=client, validate=False, dtype_backend=backend
            )
            for backend in BACKENDS
        }


def test_the_matrix_covers_every_catalog_type() -> None:
    from bspandas.catalog import TYPES

    assert {kind for kind, _, _ in _MATRIX.values()} == set(TYPES) == set(_COMPARE)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", ["&", "|", "~&"])
def test_comparisons_of_every_pair_of_types_compose(
    matrix_frames: dict[str, pd.DataFrame], backend: str, op: str
) -> None:
    frame = matrix_frames[backend]
    rows = len(frame)
    assert rows >= 8
    raw = {slug: [values[i % 4] for i in range(rows)] for slug, (_, values, _) in _MATRIX.items()}
    combine: dict[str, Callable[[Any, Any], Any]] = {
        "&": lambda a, b: a & b,
        "|": lambda a, b: a | b,
        "~&": lambda a, b: ~a & b,
    }
    failures = []
    for (a, (kind_a, _, truth_a)), (b, (kind_b, _, truth_b)) in itertools.product(
        _MATRIX.items(), repeat=2
    ):
        try:
            mask = combine[op](_COMPARE[kind_a](frame[a]), _COMPARE[kind_b](frame[b]))
            selected = set(frame[mask].index)
        except Exception as exc:  # collect every failing pair
            failures.append(f"{kind_a} {op} {kind_b}: {type(exc).__name__}: {exc}")
            continue
        for i in range(rows):
            x, y = raw[a][i], raw[b][i]
            if (x is None and kind_a != "list") or (y is None and kind_b != "list"):
                continue  # missing values: pandas' own NA rules, checked by not raising
            want = combine[op](truth_a(x), truth_b(y))
            if (i in selected) != want:
                failures.append(f"{kind_a} {op} {kind_b}: row {i} ({x!r}, {y!r})")
    assert not failures, "\n".join(failures[:20])
