"""What of a where= filter the Parquet reader applies, and at which instant."""

from __future__ import annotations

import pandas as pd


def test_within_pushdown_uses_the_same_instant_as_the_exact_check() -> None:
    import datetime as dt

    import pyarrow as pa

    from bspandas._io.evaluate import evaluate
    from bspandas.frame.dataset.pushdown import _expression
    from bspandas.query.dict_reader import parse_filter

    node = parse_filter("ootb_activity_timestamp.within('last_month')", "activity")
    stamps = pd.to_datetime(
        [
            "2026-02-28 23:59:59",
            "2026-03-01 00:00:00",
            "2026-03-31 23:59:59",
            "2026-04-01 00:00:00",
            None,
        ],
        utc=True,
    ).astype("datetime64[ms, UTC]")
    frame = pd.DataFrame({"ootb_activity_timestamp": stamps})
    now = dt.datetime(2026, 4, 15, tzinfo=dt.UTC)
    assert _expression(node) is None  # no instant: nothing is pushed down
    expression = _expression(node, now)
    assert expression is not None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pushed = table.filter(expression).column(0).to_pylist()
    exact = frame.loc[evaluate(node, frame, as_of=now).fillna(False).to_numpy(bool)]
    assert pushed == [t.to_pydatetime() for t in exact["ootb_activity_timestamp"]]
    assert [p.isoformat() for p in pushed] == [
        "2026-03-01T00:00:00+00:00",
        "2026-03-31T23:59:59+00:00",
    ]
