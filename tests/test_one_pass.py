"""Every column typed in one pass over one download (issue 15, item 1).

Dates come as the field writes them (``2026-06-30 00:00:00+00:00``) or as the reference
does (``2024-12-31``); a number column holding cells that are not numbers is kept as text
from the bytes already parsed. The oracle is plain pandas on the raw CSV bytes.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import pandas as pd
import pytest

import bspandas as bs
from bspandas._http.retry import RetryPolicy
from bspandas._io.answer import read_answer
from bspandas.catalog import resolve

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)
DATES = ["ootb_opportunity_crm_id", "ootb_opportunity_close_date", "ootb_opportunity_created_at"]


class Stream(list[bytes]):
    terminated = True


def _raw(sb: Any, query: str, columns: list[str]) -> bytes:
    payload = bs.read_query(query, columns, dry_run=True)
    with sb.client(retry=FAST) as c:
        data: bytes = c.export(payload, lambda body: b"".join(body))
    return data


def _pandas_when(raw: bytes, labels: list[str]) -> pd.DataFrame:
    """Plain pandas: every date and timestamp cell as a UTC instant."""
    plain = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    return pd.DataFrame(
        {
            label: pd.to_datetime(plain[label].replace("", None), utc=True, format="ISO8601")
            for label in labels
        }
    )


def test_field_dates_equal_plain_pandas_in_one_download(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=30, users=5)
    raw = _raw(sb, "opportunity", DATES)
    assert b" 00:00:00+00:00" in raw  # the sandbox writes dates the field way
    before = sb.count(endpoint="export")
    with sb.client(retry=FAST) as c:
        frame = bs.read_query("opportunity", DATES, client=c)
    assert sb.count(endpoint="export") == before + 1
    expected = _pandas_when(raw, ["Close Date", "Created At"])
    for name, label in zip(DATES[1:], ["Close Date", "Created At"], strict=True):
        assert str(frame[name].dtype) == "datetime64[ms, UTC]"
        got = frame[name].astype("datetime64[ns, UTC]")
        want = expected[label].astype("datetime64[ns, UTC]")
        pd.testing.assert_series_equal(got, want, check_names=False)
    assert frame["ootb_opportunity_close_date"].isna().sum() == (
        expected["Close Date"].isna().sum()
    )


def test_reference_and_field_dates_mixed_in_one_column() -> None:
    columns = resolve(["ootb_opportunity_close_date", "ootb_opportunity_created_at"], "opportunity")
    cells = [
        ("2024-12-31", "2026-06-30 14:00:00+00:00"),
        ("2024-12-31 00:00:00+00:00", "2026-06-30 14:00:00"),
        ("", "2026-06-30T14:00:00Z"),
        ("2025-01-02", "2026-06-30 16:00:00+02:00"),
        ("9999-12-31 00:00:00+00:00", ""),
    ]
    raw = "Close Date,Created At\n" + "".join(f"{a},{b}\n" for a, b in cells)
    answer = read_answer(Stream([raw.encode()]), columns)
    assert answer.kept_as_text == {}
    for index, name in enumerate(["ootb_opportunity_close_date", "ootb_opportunity_created_at"]):
        want = [
            pd.NaT
            if row[index] == ""
            else pd.Timestamp(row[index]).tz_localize(None)
            if pd.Timestamp(row[index]).tzinfo is None
            else pd.Timestamp(row[index]).tz_convert("UTC").tz_localize(None)
            for row in cells
        ]
        got = answer.frame[name].dt.tz_localize(None).tolist()
        assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in want]


@pytest.mark.parametrize("suffix", ["", " 00:00:00+00:00"])
def test_both_date_forms_from_the_sandbox_read_alike(
    sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    from bspandas.sandbox import render

    monkeypatch.setattr(render, "DATE_SUFFIX", suffix)
    render.RENDERED._entries.clear()  # cells rendered with the other suffix
    sb = sandbox_factory(accounts=20, users=4)
    raw = _raw(sb, "opportunity", DATES)
    assert (b" 00:00:00+00:00," in raw) == bool(suffix)
    with sb.client(retry=FAST) as c:
        frame = bs.read_query("opportunity", DATES, client=c)
    expected = _pandas_when(raw, ["Close Date"])["Close Date"]
    got = frame["ootb_opportunity_close_date"].astype("datetime64[ns, UTC]")
    pd.testing.assert_series_equal(got, expected.astype("datetime64[ns, UTC]"), check_names=False)
    render.RENDERED._entries.clear()


class _Answer(list[bytes]):
    terminated = True
    headers: ClassVar[dict[str, str]] = {}
    length = None


class _OneAnswer:
    """A client stand-in that serves fixed bytes and counts the downloads."""

    host = "stand-in"
    client_id = "stand-in"
    retry = FAST

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.exports = 0

    def export(self, payload: Any, consume: Any) -> Any:
        self.exports += 1
        return consume(_Answer([self.data[:7], self.data[7:]]))


def test_a_number_column_with_text_cells_is_kept_as_text_without_a_second_download() -> None:
    values = [str(i) if i % 4 else "n/a" for i in range(40)]
    data = (
        "Opportunity ID,Days in Current Stage\n"
        + "".join(f"0060{i:05d},{v}\n" for i, v in enumerate(values))
    ).encode()
    client = _OneAnswer(data)
    columns = ["ootb_opportunity_crm_id", "ootb_days_in_current_stage"]
    with pytest.warns(
        bs.ValidationWarning, match="ootb_days_in_current_stage.*kept as text"
    ) as caught:
        frame = bs.read_query("opportunity", columns, client=client, validate=False)  # type: ignore[arg-type]
    assert caught[0].filename == __file__  # the user's line, not bspandas'
    assert client.exports == 1
    assert frame["ootb_days_in_current_stage"].tolist() == values


def test_fractions_in_an_integer_column_are_warned_with_their_rows_and_values() -> None:
    values = [str(i) for i in range(30)]
    values[4], values[9], values[17], values[21] = "12.5", "0.25", "", "7.0"
    data = (
        "Opportunity ID,Days in Current Stage\n"
        + "".join(f"0060{i:05d},{v}\n" for i, v in enumerate(values))
    ).encode()
    # the oracle: plain pandas on the raw CSV
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)["Days in Current Stage"]
    numbers = pd.to_numeric(raw.replace("", None), errors="coerce")
    fractions = raw[numbers.notna() & (numbers % 1 != 0)]
    cells = ", ".join(f"row {i}: {v}" for i, v in fractions.items())
    assert cells == "row 4: 12.5, row 9: 0.25"
    columns = ["ootb_opportunity_crm_id", "ootb_days_in_current_stage"]
    with pytest.warns(bs.ValidationWarning) as record:
        bs.read_query("opportunity", columns, client=_OneAnswer(data), validate="warn")  # type: ignore[arg-type]
    messages = [str(w.message) for w in record]
    assert (
        f"ootb_days_in_current_stage: {len(fractions)} values are not whole numbers, as its "
        f"dtype Int64 requires ({cells})"
    ) in messages[-1]
    assert "df.backstory.validate()" in messages[-1]  # how to get every failing cell
