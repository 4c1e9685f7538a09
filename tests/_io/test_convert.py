"""Arrow columns to pandas columns: checked against plain pandas on the raw values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from bspandas._io.convert import to_frame
from bspandas._io.dtypes import TEXT_DTYPE
from bspandas.catalog import resolve

AMOUNT = resolve(["ootb_opportunity_amount"], "opportunity")[0].outputs()


def test_repeated_text_shares_one_string_per_value_and_keeps_every_cell() -> None:
    rng = np.random.default_rng(18)
    rows = 60_000
    currencies = rng.choice(np.array(["USD", "EUR", "GBP", "JPY", ""], dtype=object), rows)
    currencies[rng.random(rows) < 0.05] = None  # missing cells
    amounts = np.round(rng.uniform(0, 1e6, rows), 2).astype(str).astype(object)
    table = pa.table(
        {
            "ootb_opportunity_amount": pa.array(amounts, pa.string()),
            "ootb_opportunity_amount_currency": pa.array(currencies, pa.string()),
        }
    ).combine_chunks()
    table = pa.Table.from_batches(table.to_batches(max_chunksize=7_000))  # several chunks
    frame = to_frame(table, AMOUNT)
    expected = pd.Series(
        pd.array([pd.NA if v is None else v for v in currencies], dtype=TEXT_DTYPE),
        name="ootb_opportunity_amount_currency",
    )
    pd.testing.assert_series_equal(frame["ootb_opportunity_amount_currency"], expected)
    pd.testing.assert_series_equal(
        frame["ootb_opportunity_amount"],
        pd.Series(amounts.astype(float), name="ootb_opportunity_amount").astype("Float64"),
    )
    cells = frame["ootb_opportunity_amount_currency"].dropna()
    assert len({id(v) for v in cells}) == 5  # one object per distinct value (memory)


def test_mostly_distinct_text_is_converted_cell_by_cell() -> None:
    names = [f'Deal {i}, "quoted"' if i % 7 else None for i in range(30_000)]
    outputs = resolve(["ootb_opportunity_name"], "opportunity")[0].outputs()
    frame = to_frame(pa.table({"ootb_opportunity_name": pa.array(names, pa.string())}), outputs)
    expected = pd.array([pd.NA if v is None else v for v in names], dtype=TEXT_DTYPE)
    pd.testing.assert_extension_array_equal(frame["ootb_opportunity_name"].array, expected)
