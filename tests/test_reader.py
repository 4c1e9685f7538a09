"""read_query end to end, through the real client and the sandbox over HTTP.

Expected values are computed with pandas from the sandbox's raw tenant tables, not from the
sandbox's own metric code.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas._exceptions import ConversionError
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas.catalog import vocabulary
from bspandas.sandbox import Sandbox

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client(retry=FAST) as c:
        yield c


def ids(series: pd.Series) -> list[str]:
    return sorted(series.astype(str).tolist())


# -- one read per object ------------------------------------------------------------------


def test_accounts_match_the_tenant(sandbox: Sandbox, client: Client) -> None:
    frame = bs.read_query(
        "account",
        [
            "ootb_account_crm_id",
            "ootb_account_name",
            "industry",
            "annual_revenue",
            "ootb_churn_risk_score",
        ],
        client=client,
    )
    truth = sandbox.tenant.accounts
    assert len(frame) == len(truth)
    assert frame.dtypes.astype(str).tolist() == ["string", "string", "string", "Float64", "Float64"]
    merged = frame.merge(truth, left_on="ootb_account_crm_id", right_on="crm_id", validate="1:1")
    assert (merged["ootb_account_name"] == merged["name"]).all()
    pd.testing.assert_series_equal(
        merged["ootb_churn_risk_score"].astype(float),
        merged["churn_risk_score"].astype(float),
        check_names=False,
        atol=0.051,
    )


def test_opportunities_with_expansions(sandbox: Sandbox, client: Client) -> None:
    frame = bs.read_query(
        "opportunity",
        [
            "ootb_opportunity_crm_id",
            "ootb_opportunity_owner",
            "ootb_opportunity_amount",
            "ootb_opportunity_close_date",
            "ootb_opportunity_current_stage",
            "ootb_opportunity_is_won",
        ],
        client=client,
    )
    assert list(frame.columns) == [
        "ootb_opportunity_crm_id",
        "ootb_opportunity_owner_id",
        "ootb_opportunity_owner_name",
        "ootb_opportunity_amount",
        "ootb_opportunity_amount_currency",
        "ootb_opportunity_close_date",
        "ootb_opportunity_current_stage",
        "ootb_opportunity_is_won",
    ]
    assert str(frame["ootb_opportunity_close_date"].dtype) == "datetime64[ms, UTC]"
    assert isinstance(frame["ootb_opportunity_current_stage"].dtype, pd.CategoricalDtype)
    truth = sandbox.tenant.opportunities.set_index("crm_id")
    got = frame.set_index("ootb_opportunity_crm_id")
    assert (got["ootb_opportunity_owner_id"] == truth.loc[got.index, "owner_id"].to_numpy()).all()
    won = truth.loc[got.index, "is_won"].astype("boolean").to_numpy()
    assert (got["ootb_opportunity_is_won"].to_numpy() == won).all()


def test_users_owner_roster(sandbox: Sandbox, client: Client) -> None:
    roster = bs.read_query(
        "user", ["ootb_user", "ootb_user_email", "ootb_user_role", "ootb_user_team"], client=client
    )
    users = sandbox.tenant.users
    assert sorted(roster["ootb_user_id"].tolist()) == sorted(users["internal_id"].tolist())
    by_id = users.set_index("internal_id")
    assert (
        roster["ootb_user_email"].to_numpy()
        == by_id.loc[roster["ootb_user_id"], "email"].to_numpy()
    ).all()
    assert roster["ootb_user_team_name"].notna().all()


def test_accounts_by_owner(sandbox: Sandbox, client: Client) -> None:
    owner = int(sandbox.tenant.accounts["owner_id"].value_counts().index[0])
    frame = bs.read_query(
        "account",
        ["ootb_account_crm_id", "ootb_account_original_owner"],
        where="ootb_account_original_owner_id == @owner",
        client=client,
    )
    expected = sandbox.tenant.accounts.loc[sandbox.tenant.accounts["owner_id"] == owner, "crm_id"]
    assert ids(frame["ootb_account_crm_id"]) == ids(expected)
    assert set(frame["ootb_account_original_owner_id"]) == {owner}


def test_activities_for_accounts_in_a_window(sandbox: Sandbox, client: Client) -> None:
    activities = sandbox.tenant.activities
    chosen = [int(x) for x in activities["account_id"].dropna().unique()[:5]]
    start, end = pd.Timestamp("2026-07-01", tz="UTC"), pd.Timestamp("2026-10-01", tz="UTC")
    frame = bs.read_query(
        "activity",
        [
            "ootb_activity_uid",
            "ootb_activity_timestamp",
            "ootb_activity_type",
            "ootb_activity_account",
        ],
        where="ootb_activity_account_id in @chosen and ootb_activity_timestamp >= @start "
        "and ootb_activity_timestamp < @end",
        client=client,
    )
    stamps = pd.to_datetime(activities["timestamp"], utc=True)
    expected = activities[
        activities["account_id"].isin(chosen) & (stamps >= start) & (stamps < end)
    ]
    assert len(expected) > 0
    assert ids(frame["ootb_activity_uid"]) == ids(expected["uid"])
    assert frame["ootb_activity_timestamp"].between(start, end, inclusive="left").all()
    assert set(frame["ootb_activity_type"].cat.categories) >= {"meeting", "email", "call"}


def test_opportunities_closing_in_a_date_range(sandbox: Sandbox, client: Client) -> None:
    first, last = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
    frame = bs.read_query(
        "opportunity",
        ["ootb_opportunity_crm_id", "ootb_opportunity_close_date"],
        where="ootb_opportunity_close_date.between(@first, @last)",
        sort="ootb_opportunity_close_date",
        client=client,
    )
    opps = sandbox.tenant.opportunities
    closes = pd.to_datetime(opps["close_date"], utc=True)
    inside = (closes >= pd.Timestamp(first, tz="UTC")) & (closes <= pd.Timestamp(last, tz="UTC"))
    assert ids(frame["ootb_opportunity_crm_id"]) == ids(opps.loc[inside, "crm_id"])
    assert frame["ootb_opportunity_close_date"].is_monotonic_increasing


def test_user_metrics_by_email(sandbox: Sandbox, client: Client) -> None:
    users = sandbox.tenant.users
    activities = sandbox.tenant.activities
    busiest = int(activities.loc[activities["type"] == "email", "user_id"].value_counts().index[0])
    email = str(users.loc[users["internal_id"] == busiest, "email"].iloc[0])
    frame = bs.read_query(
        "user",
        ["ootb_user_email", ("ootb_user_count_emails_sent", ["last_30_days", "last_90_days"])],
        where="ootb_user_email == @email",
        client=client,
    )
    assert frame["ootb_user_email"].tolist() == [email]
    stamps = pd.to_datetime(activities["timestamp"], utc=True)
    sent = activities[
        (activities["user_id"] == busiest)
        & (activities["type"] == "email")
        & activities["outbound"]
    ]
    as_of = sandbox.tenant.options.as_of
    for period in ("last_30_days", "last_90_days"):
        start, end = vocabulary.window(period, as_of)
        expected = int(((stamps[sent.index] >= start) & (stamps[sent.index] < end)).sum())
        assert frame[f"ootb_user_count_emails_sent_{period}"].iloc[0] == expected


def test_windows_are_monotone_in_a_read(client: Client) -> None:
    frame = bs.read_query(
        "account",
        [
            (
                "ootb_account_count_of_meetings_standard",
                ["last_7_days", "last_30_days", "last_90_days"],
            )
        ],
        client=client,
    )
    wide = frame.backstory.pivot_variations("ootb_account_count_of_meetings_standard")
    assert (wide["last_7_days"] <= wide["last_30_days"]).all()
    assert (wide["last_30_days"] <= wide["last_90_days"]).all()


# -- options ------------------------------------------------------------------------------------


def test_empty_answer_keeps_every_column_and_dtype(client: Client) -> None:
    frame = bs.read_query(
        "account",
        [
            "ootb_account_crm_id",
            "ootb_churn_risk_score",
            "ootb_engagement_trend",
            "ootb_account_original_owner",
        ],
        where="ootb_churn_risk_score > 1000",
        client=client,
    )
    assert len(frame) == 0
    assert frame.dtypes.astype(str).tolist() == ["string", "Float64", "category", "Int64", "string"]


def test_pyarrow_backend(client: Client) -> None:
    frame = bs.read_query(
        "opportunity",
        ["ootb_opportunity_crm_id", "ootb_opportunity_amount", "ootb_opportunity_close_date",
         "ootb_opportunity_days_in_stage", "ootb_opportunity_owners"],
        client=client,
        dtype_backend="pyarrow",
    )  # fmt: skip
    assert all(isinstance(t, pd.ArrowDtype) for t in frame.dtypes)
    assert str(frame["ootb_opportunity_days_in_stage"].dtype) == "duration[s][pyarrow]"


def test_dtypes_override(client: Client) -> None:
    frame = bs.read_query(
        "account",
        ["ootb_account_crm_id", "ootb_churn_risk_score"],
        client=client,
        dtypes={"ootb_churn_risk_score": "float32"},
    )
    assert str(frame["ootb_churn_risk_score"].dtype) == "float32"
    with pytest.raises(bs.QueryError, match="not requested: industry"):
        bs.read_query(
            "account", ["ootb_account_crm_id"], client=client, dtypes={"industry": "string"}
        )


def test_chunked_read_equals_the_whole_read(client: Client) -> None:
    columns = [
        "ootb_opportunity_crm_id",
        "ootb_opportunity_amount",
        "ootb_opportunity_current_stage",
        "ootb_opportunity_close_date",
        "ootb_opportunity_owner",
        "ootb_opportunity_is_closed",
    ]
    whole = bs.read_query("opportunity", columns, client=client, sort="ootb_opportunity_crm_id")
    chunks = list(
        bs.read_query(
            "opportunity", columns, client=client, sort="ootb_opportunity_crm_id", chunksize=97
        )
    )
    assert len(chunks) == -(-len(whole) // 97)
    assert all((c.dtypes == whole.dtypes).all() for c in chunks)
    combined = pd.concat(chunks)
    pd.testing.assert_frame_equal(combined, whole)


def test_dry_run_sends_nothing(sandbox: Sandbox, client: Client) -> None:
    before = sandbox.count(endpoint="export")
    payload = bs.read_query(
        "account", ["industry"], where="industry == 'Retail'", client=client, dry_run=True
    )
    assert payload == {
        "object": "account",
        "columns": [{"slug": "industry"}],
        "filter": {"attribute": {"slug": "industry"}, "clause": {"$eq": "Retail"}},
    }
    assert sandbox.count(endpoint="export") == before


def test_a_prepared_query(client: Client) -> None:
    query = bs.Query("account", ["ootb_account_crm_id"], where="ootb_churn_risk_score >= 90")
    frame = bs.read_query(query, client=client)
    assert frame.attrs["backstory"]["payload"] == query.payload()
    with pytest.raises(bs.QueryError, match="prepared Query"):
        bs.read_query(query, ["industry"], client=client)


def test_provenance_in_attrs(client: Client) -> None:
    frame = bs.read_query("account", ["industry"], client=client)
    meta = frame.attrs["backstory"]
    assert meta["object"] == "account"
    assert meta["rows"] == len(frame)
    assert meta["host"] == client.base_url
    assert meta["catalog_version"] == bs.catalog.version()
    assert dt.datetime.fromisoformat(meta["fetched_at"]).tzinfo is not None


def test_cache_answers_the_second_read(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    columns = ["ootb_account_crm_id", "ootb_engagement_trend", "ootb_account_original_owner"]
    first = bs.read_query("account", columns, client=client, cache=tmp_path)
    exports = sandbox.count(endpoint="export")
    second = bs.read_query("account", columns, client=client, cache=tmp_path)
    assert sandbox.count(endpoint="export") == exports
    pd.testing.assert_frame_equal(first, second)
    assert first.attrs["backstory"]["fetched_at"] == second.attrs["backstory"]["fetched_at"]
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert client.client_id.encode() not in written
    assert sandbox.client_secret.encode() not in written


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_cache_keeps_every_dtype(client: Client, tmp_path: Path, backend: Any) -> None:
    columns = [
        "ootb_opportunity_owners",
        "ootb_opportunity_days_in_stage",
        "ootb_opportunity_close_date",
        "ootb_opportunity_created_at",
        "ootb_opportunity_current_stage",
        "ootb_opportunity_is_won",
        "ootb_opportunity_owner",
    ]
    first = bs.read_query(
        "opportunity", columns, client=client, cache=tmp_path, dtype_backend=backend
    )
    second = bs.read_query(
        "opportunity", columns, client=client, cache=tmp_path, dtype_backend=backend
    )
    assert str(second["ootb_opportunity_owners"].dtype) == "list<item: string>[pyarrow]"
    pd.testing.assert_frame_equal(first, second)


def test_progress_bar_can_be_forced(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    frame = bs.read_query("account", ["ootb_account_crm_id"], client=client, progress=True)
    err = capsys.readouterr().err
    assert "account export" in err
    assert f"rows={len(frame)}" in err


# -- what the server does wrong -------------------------------------------------------------


def test_dropped_columns_raise_by_default(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"ootb_churn_risk_score"}))
    with pytest.raises(bs.MissingColumnsError, match="ootb_churn_risk_score") as info:
        bs.read_query("account", ["ootb_account_name", "ootb_churn_risk_score"], client=client)
    assert info.value.missing == ["ootb_churn_risk_score"]
    assert "does not know for this tenant" in str(info.value)


def test_dropped_variation_is_named(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"ootb_emails_sent"}))
    with pytest.raises(
        bs.MissingColumnsError,
        match=r"ootb_emails_sent \(variation ootb_emails_sent_last_30_days\)",
    ):
        bs.read_query(
            "account", ["ootb_account_name", ("ootb_emails_sent", "last_30_days")], client=client
        )


def test_dropped_columns_warn_or_pass_when_asked(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    with pytest.warns(bs.MissingColumnsWarning, match="industry"):
        frame = bs.read_query(
            "account",
            ["ootb_account_name", "industry", "annual_revenue"],
            client=client,
            on_missing="warn",
        )
    assert list(frame.columns) == ["ootb_account_name", "annual_revenue"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = bs.read_query(
            "account", ["ootb_account_name", "industry"], client=client, on_missing="ignore"
        )
    assert list(quiet.columns) == ["ootb_account_name"]


def test_ignored_filter_is_detected(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unfilterable_slugs=frozenset({"industry"}))
    where = "industry == 'Retail'"
    with pytest.warns(bs.IgnoredFilterWarning, match="ignored that filter") as record:
        kept = bs.read_query(
            "account", ["ootb_account_name", "industry"], where=where, client=client
        )
    assert "industry == 'Retail'" in str(record[0].message)
    assert len(kept) == len(sandbox.tenant.accounts)
    applied = bs.read_query(
        "account",
        ["ootb_account_name", "industry"],
        where=where,
        client=client,
        on_ignored_filter="apply",
    )
    assert set(applied["industry"]) == {"Retail"}
    with pytest.raises(bs.IgnoredFilterError):
        bs.read_query(
            "account", ["industry"], where=where, client=client, on_ignored_filter="raise"
        )


def test_owner_filter_on_opportunities_is_applied_locally(sandbox: Sandbox, client: Client) -> None:
    opps = sandbox.tenant.opportunities
    owner = int(opps["owner_id"].iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(
            "opportunity",
            ["ootb_opportunity_crm_id"],
            where="ootb_opportunity_owner_id == @owner",
            client=client,
        )
    assert list(frame.columns) == ["ootb_opportunity_crm_id"]
    assert ids(frame["ootb_opportunity_crm_id"]) == ids(
        opps.loc[opps["owner_id"] == owner, "crm_id"]
    )


def test_validation_warns_raises_or_skips(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(corrupt_slugs=frozenset({"ootb_churn_risk_score", "ootb_engagement_trend"}))
    columns = ["ootb_account_crm_id", "ootb_churn_risk_score", "ootb_engagement_trend"]
    with pytest.warns(
        bs.ValidationWarning, match=r"2 validation failure\(s\) in 2 column"
    ) as record:
        frame = bs.read_query("account", columns, client=client)
    assert "corrupt-value" in str(record[0].message)
    assert frame["ootb_churn_risk_score"].iloc[0] == -5  # kept, never turned into NA
    assert "corrupt-value" in frame["ootb_engagement_trend"].cat.categories
    with pytest.raises(bs.SchemaValidationError) as info:
        bs.read_query("account", columns, client=client, validate="raise")
    assert info.value.failure_cases is not None
    assert set(info.value.failure_cases["column"]) == {
        "ootb_churn_risk_score",
        "ootb_engagement_trend",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bs.read_query("account", columns, client=client, validate=False)


def test_server_refusal_is_reported(client: Client) -> None:
    query = bs.Query("account", ["ootb_account_name"])
    payload = query.payload()
    payload["trend_by"] = "week"
    with pytest.raises(bs.BadRequestError, match="Trend by unsupported"):
        client.export(payload, lambda body: None)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"object": "acount", "columns": ["x"]}, bs.UnknownObjectError, "opportunity"),
        (
            {"object": "account", "columns": ["ootb_emails_snt"]},
            bs.UnknownMetricError,
            "ootb_emails_sent",
        ),
        (
            {"object": "account", "columns": [("ootb_emails_sent", "last_90_days")]},
            bs.InvalidVariationError,
            "last_30_days",
        ),
        ({"object": "account", "columns": []}, bs.InvalidColumnsError, "No columns"),
        (
            {"object": "account", "columns": ["industry"], "where": "industry >"},
            bs.InvalidFilterError,
            "valid expression",
        ),
        (
            {"object": "account", "columns": ["industry"], "filter": {"industry": {"$gt": 3}}},
            bs.InvalidFilterError,
            "does not apply",
        ),
        (
            {"object": "account", "columns": ["industry"], "dtype_backend": "numpy"},
            bs.QueryError,
            "dtype_backend",
        ),
        (
            {"object": "account", "columns": ["industry"], "validate": "yes"},
            bs.QueryError,
            "validate",
        ),
        (
            {"object": "account", "columns": ["industry"], "on_missing": "skip"},
            bs.QueryError,
            "on_missing",
        ),
        (
            {"object": "account", "columns": ["industry"], "chunksize": 0},
            bs.QueryError,
            "chunksize",
        ),
        (
            {"object": "account", "columns": ["industry"], "chunksize": 10, "cache": True},
            bs.QueryError,
            "cache=",
        ),
    ],
)
def test_bad_input_gets_the_library_error(
    client: Client, kwargs: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        bs.read_query(client=client, **kwargs)


def test_one_column_with_missing_values_keeps_every_row(sandbox: Sandbox, client: Client) -> None:
    frame = bs.read_query("account", ["industry"], client=client)
    truth = sandbox.tenant.accounts["industry"]
    assert truth.isna().any()  # the tenant leaves some industries empty
    assert len(frame) == len(truth)
    assert frame["industry"].isna().sum() == truth.isna().sum()


# -- progress bars: one setting, whatever was imported before --------------------------------


def test_progress_setting_beats_an_imported_notebook_kernel(
    client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys
    import types

    from bspandas._read import progress

    # what importing ipykernel in an earlier test (the notebook runner) leaves behind
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    bs.read_query("account", ["ootb_account_crm_id"], client=client)
    assert "account export" not in capsys.readouterr().err
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    monkeypatch.setattr(progress, "tqdm_class", lambda: __import__("tqdm").tqdm)
    frame = bs.read_query("account", ["ootb_account_crm_id"], client=client)
    err = capsys.readouterr().err
    assert "account export" in err
    assert f"rows={len(frame)}" in err


@pytest.mark.parametrize(
    ("setting", "ci", "kernel", "expected"),
    [
        ("1", "1", False, True),
        ("on", "", False, True),
        ("0", "", True, False),
        ("off", "", True, False),
        ("auto", "true", True, False),  # CI: never
        ("", "", True, True),  # a notebook kernel
        ("auto", "", False, False),  # pytest's stderr is not a terminal
    ],
)
def test_interactive_is_decided_by_the_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str, ci: str, kernel: bool, expected: bool
) -> None:
    import sys
    import types

    from bspandas._read import progress

    monkeypatch.setenv(progress.PROGRESS_ENV, setting)
    monkeypatch.setenv("CI", ci)
    if kernel:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    else:
        monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert progress.interactive() is expected


def test_an_unknown_progress_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from bspandas._read import progress

    monkeypatch.setenv(progress.PROGRESS_ENV, "sometimes")
    with pytest.raises(bs.ConfigurationError, match="BSPANDAS_PROGRESS='sometimes'"):
        progress.interactive()


# -- dtypes= is checked before a request is spent ------------------------------------------------


@pytest.mark.parametrize(
    ("dtypes", "message"),
    [
        ({"ootb_churn_risk_score": "not-a-dtype"}, "not a dtype pandas knows"),
        ({"ootb_churn_risk_score": 3.5}, "not a dtype pandas knows"),
        ({"ootb_churn_risk_score": object()}, "not a dtype pandas knows"),
        ({"industry": "string"}, "not requested: industry"),
        ({1: "string"}, "keys are column names"),
        (["ootb_churn_risk_score"], "takes a mapping"),
    ],
)
def test_bad_dtypes_are_refused_before_any_request(
    sandbox: Sandbox, client: Client, dtypes: Any, message: str
) -> None:
    before = sandbox.count(endpoint="export")
    for dry_run in (False, True):
        with pytest.raises(bs.QueryError, match=message):
            bs.read_query(
                "account",
                ["ootb_account_crm_id", "ootb_churn_risk_score"],
                client=client,
                dtypes=dtypes,
                dry_run=dry_run,  # type: ignore[call-overload]
            )
    assert sandbox.count(endpoint="export") == before


def test_a_dtype_that_cannot_hold_the_values_names_the_column(
    sandbox: Sandbox, client: Client
) -> None:
    assert sandbox.tenant.accounts["industry"].isna().any()
    with pytest.raises(ConversionError, match=r"'industry'.*dtypes= asked for 'int64'"):
        bs.read_query("account", ["industry"], client=client, dtypes={"industry": "int64"})


# -- bodies the transport proved short are never accepted ---------------------------------------


class _ShortBody:
    """Complete rows, then the transport's verdict: shorter than its Content-Length."""

    length = None
    terminated = False
    headers: dict[str, str] = {}  # noqa: RUF012 (read only)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise bs.TruncatedResponseError("The body is shorter than its Content-Length.")


class _StubClient:
    """Serves the same short body to every export (what a flaky proxy would do)."""

    host = "http://stub.invalid"
    client_id = "stub"
    retry = RetryPolicy(attempts=3)

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.exports = 0

    def export(self, payload: Any, consume: Any) -> Any:
        failure: Exception | None = None
        for _ in range(self.retry.attempts):
            self.exports += 1
            try:
                return consume(_ShortBody(self.data))
            except bs.TruncatedResponseError as exc:
                failure = exc
        assert failure is not None
        raise failure


def test_identical_short_bodies_never_agree_into_a_frame() -> None:
    stub = _StubClient(b"Industry\nRetail\nMedia\n")  # ends on a row boundary
    with pytest.raises(bs.TruncatedResponseError, match="Content-Length"):
        bs.read_query("account", ["industry"], client=stub)  # type: ignore[arg-type]
    assert stub.exports == 3


# -- the cache applies the rules of a fresh read -------------------------------------------------


def test_cache_hit_honours_on_missing(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    columns = ["ootb_account_crm_id", "industry"]
    with pytest.warns(bs.MissingColumnsWarning):
        bs.read_query("account", columns, client=client, cache=tmp_path, on_missing="warn")
    exports = sandbox.count(endpoint="export")
    with pytest.warns(bs.MissingColumnsWarning, match="industry"):  # a hit warns too
        hit = bs.read_query("account", columns, client=client, cache=tmp_path, on_missing="warn")
    assert sandbox.count(endpoint="export") == exports
    assert list(hit.columns) == ["ootb_account_crm_id"]
    with pytest.raises(bs.MissingColumnsError, match="industry"):
        bs.read_query("account", columns, client=client, cache=tmp_path)


def test_cached_frame_without_a_requested_column_is_not_a_silent_answer(
    sandbox: Sandbox, client: Client, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    columns = ["ootb_account_crm_id", "ootb_churn_risk_score"]
    for on_missing in ("raise", "warn"):  # each is its own entry
        bs.read_query("account", columns, client=client, cache=tmp_path, on_missing=on_missing)
    for path in tmp_path.glob("bspandas-*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["ootb_churn_risk_score"]), path)  # keeps metadata
    exports = sandbox.count(endpoint="export")
    with pytest.raises(bs.MissingColumnsError, match="ootb_churn_risk_score"):
        bs.read_query("account", columns, client=client, cache=tmp_path)
    with pytest.warns(bs.MissingColumnsWarning, match="ootb_churn_risk_score"):
        frame = bs.read_query("account", columns, client=client, cache=tmp_path, on_missing="warn")
    assert list(frame.columns) == ["ootb_account_crm_id"]
    assert sandbox.count(endpoint="export") == exports


def test_cached_frame_with_foreign_columns_is_fetched_again(
    sandbox: Sandbox, client: Client, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = ["ootb_account_crm_id", "ootb_churn_risk_score"]
    first = bs.read_query("account", columns, client=client, cache=tmp_path)
    (path,) = tmp_path.glob("bspandas-*.parquet")
    table = pq.read_table(path)
    pq.write_table(table.append_column("planted", pa.array(["x"] * len(table))), path)
    exports = sandbox.count(endpoint="export")
    with pytest.warns(bs.CacheWarning, match="not those of this query's answer"):
        again = bs.read_query("account", columns, client=client, cache=tmp_path)
    assert sandbox.count(endpoint="export") == exports + 1
    pd.testing.assert_frame_equal(again, first)


def test_cached_entry_without_its_fetch_time_is_fetched_again(
    sandbox: Sandbox, client: Client, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    columns = ["ootb_account_crm_id"]
    first = bs.read_query("account", columns, client=client, cache=tmp_path)
    (path,) = tmp_path.glob("bspandas-*.parquet")
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata)
    metadata[b"bspandas"] = b'{"rows": 1}'  # written by hand: no fetched_at
    pq.write_table(table.replace_schema_metadata(metadata), path)
    exports = sandbox.count(endpoint="export")
    with pytest.warns(bs.CacheWarning, match="metadata"):
        again = bs.read_query("account", columns, client=client, cache=tmp_path)
    assert sandbox.count(endpoint="export") == exports + 1
    pd.testing.assert_frame_equal(again, first, check_like=False)


def test_cache_key_holds_each_column_definition() -> None:
    from bspandas._read.cached import cache_extra

    def extra() -> str:
        return cache_extra(
            bs.Query("account", ["custom_account_health"]), "numpy_nullable", "raise"
        )

    bs.catalog.register("custom_account_health", type="number", object="account")
    as_number = extra()
    bs.catalog.clear_custom()
    bs.catalog.register("custom_account_health", type="text", object="account")
    as_text = extra()
    assert bs.catalog.version() == bs.catalog.version()  # one registration both times
    assert as_number != as_text
    assert (
        cache_extra(bs.Query("account", ["custom_account_health"]), "numpy_nullable", "warn")
        != as_text
    )


# -- chunked reads: one dtype for every chunk, categories included ----------------------------


def test_chunk_categories_equal_the_whole_reads(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=10, users=3)
    rows = sb.engine.rows("account")
    # the first chunk holds a value outside the catalog, later chunks only catalog values
    values = ["rising fast", *(["stable", "declining", None, "increasing"] * rows)][:rows]
    sb.override("account", "ootb_engagement_trend", values)
    columns = ["ootb_account_crm_id", "ootb_engagement_trend"]
    with sb.client(retry=FAST) as c:
        whole = bs.read_query("account", columns, client=c, validate=False)
        chunks = list(bs.read_query("account", columns, client=c, validate=False, chunksize=3))
    expected = pd.CategoricalDtype(
        ["increasing", "stable", "declining", "rising fast"], ordered=False
    )
    for frame in [whole, *chunks]:  # == ignores the order of unordered categories: compare lists
        dtype = frame["ootb_engagement_trend"].dtype
        assert list(dtype.categories) == list(expected.categories)
        assert dtype.ordered is False
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)
    assert whole["ootb_engagement_trend"].astype(object).where(
        lambda s: s.notna(), None
    ).tolist() == [None if v is None else v for v in values]


def test_a_later_chunk_outside_the_first_chunks_categories_is_refused(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory(accounts=10, users=3)
    rows = sb.engine.rows("account")
    values = ["stable"] * (rows - 1) + ["rising fast"]
    sb.override("account", "ootb_engagement_trend", values)
    columns = ["ootb_account_crm_id", "ootb_engagement_trend"]
    with sb.client(retry=FAST) as c:
        with pytest.raises(ConversionError, match=r"ootb_engagement_trend.*'rising fast'"):
            list(bs.read_query("account", columns, client=c, validate=False, chunksize=3))
        # asked as text, the column passes every chunk
        chunks = list(
            bs.read_query(
                "account",
                columns,
                client=c,
                validate=False,
                chunksize=3,
                dtypes={"ootb_engagement_trend": "string"},
            )
        )
    assert pd.concat(chunks)["ootb_engagement_trend"].tolist() == values
