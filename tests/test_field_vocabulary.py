"""The client and the sandbox (in its default, field mode) against the field record.

Each test cites the line of ``../shared/spec/query-api.md`` it holds, and runs against the
sandbox in its default mode, which behaves like the recorded tenant (issue 14).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas import catalog
from bspandas._exceptions import InvalidColumnsError, VariationAdjustedWarning
from bspandas._io.dtypes import TEXT_DTYPE
from bspandas.sandbox import Sandbox
from bspandas.sandbox.command import build_parser, sandbox_options
from bspandas.sandbox.tenant import CUSTOM_STAGE
from bspandas.sandbox.testing import read_csv_rows, session_for


def export(sb: Sandbox, obj: str, columns: list[dict[str, str]]) -> list[list[str]]:
    with session_for(sb) as http:
        answer = http.post(sb.export_url, json={"object": obj, "columns": columns}, timeout=60)
    assert answer.status_code == 200, answer.text
    return read_csv_rows(answer.content)


def quiet_read(sb: Sandbox, obj: str, columns: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = bs.read_query(obj, columns, client=sb.client())
    assert isinstance(frame, pd.DataFrame)
    return frame


# -- periods (query-api.md section 2, "Periods seen working") ---------------------------------


def test_sandbox_drops_the_doc_only_period_spellings(sandbox: Sandbox) -> None:
    # "one tenant rejected the `current_*` and `last_year` forms by dropping the column"
    rows = export(
        sandbox,
        "account",
        [
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_current_quarter"},
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_quarter"},
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_current_year"},
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_fyear"},
            {"slug": "ootb_churn_risk_score", "variation_id": "ootb_churn_risk_score_current"},
        ],
    )
    assert rows[0] == ["Emails Sent (This Quarter)", "Emails Sent (This Fiscal Year)"]


def test_client_sends_the_field_spelling_and_gets_data(sandbox: Sandbox) -> None:
    payload = bs.read_query(
        "account", [("ootb_emails_sent", ["this_quarter", "this_fyear"])], dry_run=True
    )
    assert payload["columns"] == [
        {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_quarter"},
        {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_fyear"},
    ]
    frame = quiet_read(sandbox, "account", [("ootb_emails_sent", ["this_quarter", "this_fyear"])])
    quarter, year = frame["ootb_emails_sent_this_quarter"], frame["ootb_emails_sent_this_fyear"]
    assert len(frame) == sandbox.tenant.size("account")
    assert (year >= quarter).all()
    assert year.sum() > 0


def test_doc_spelling_is_a_synonym_sent_in_the_field_form(sandbox: Sandbox) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = bs.read_query(
            "account", [("ootb_emails_sent", "current_quarter")], client=sandbox.client()
        )
    assert [type(w.message) for w in caught] == [VariationAdjustedWarning]
    assert list(frame.columns) == ["ootb_emails_sent_this_quarter"]
    assert sandbox.requests[-1].query["columns"] == [
        {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_quarter"}
    ]


def test_current_is_sent_bare(sandbox: Sandbox) -> None:
    with pytest.warns(VariationAdjustedWarning, match="not a period"):
        frame = bs.read_query(
            "account", [("ootb_churn_risk_score", "current")], client=sandbox.client()
        )
    assert list(frame.columns) == ["ootb_churn_risk_score"]
    expected = sandbox.tenant.accounts["churn_risk_score"].round(1).to_numpy(dtype=float)
    got = frame["ootb_churn_risk_score"].to_numpy(dtype=float, na_value=float("nan"))
    assert got == pytest.approx(expected, nan_ok=True)


# -- per-slug periods (appendix, "Slugs verified live, with their windowing") -----------------


def test_engagement_level_is_bare_only(sandbox: Sandbox) -> None:
    # "| account | ootb_account_engagement_level, ootb_account_original_owner | bare only"
    with pytest.raises(bs.InvalidVariationError):
        catalog.resolve([("ootb_account_engagement_level", "last_30_days")], "account")
    rows = export(
        sandbox,
        "account",
        [
            {"slug": "ootb_account_engagement_level"},
            {
                "slug": "ootb_account_engagement_level",
                "variation_id": "ootb_account_engagement_level_last_30_days",
            },
        ],
    )
    assert rows[0] == ["Account Engagement Level"]
    frame = quiet_read(sandbox, "account", ["ootb_account_engagement_level"])
    assert frame["ootb_account_engagement_level"].between(0, 100).all()


def test_closing_amount_serves_the_verified_last_periods(sandbox: Sandbox) -> None:
    # "ootb_account_open_opportunity_amount_closing_standard ... | F9"
    slug = "ootb_account_open_opportunity_amount_closing_standard"
    frame = quiet_read(sandbox, "account", [("ootb_account_id"), (slug, ["last_90_days"])])
    o = sandbox.tenant.opportunities
    start = sandbox.tenant.as_of - pd.Timedelta(days=90)
    close = pd.to_datetime(o["close_date"], utc=True)
    inside = ~o["is_closed"] & (close >= start) & (close < sandbox.tenant.as_of)
    expected = (
        o["converted_amount"][inside]
        .groupby(o["account_id"][inside])
        .sum()
        .reindex(frame["ootb_account_id"], fill_value=0)
    )
    got = frame[f"{slug}_last_90_days"].to_numpy(dtype=float)
    assert got == pytest.approx(expected.to_numpy(dtype=float))
    assert got.sum() > 0


def test_upcoming_metric_periods_follow_the_field(sandbox: Sandbox) -> None:
    # "ootb_user_count_of_upcoming_meetings_standard | next_14_days next_30_days this_week"
    slug = "ootb_user_count_of_upcoming_meetings_standard"
    assert catalog.periods(slug) == ["this_week", "next_14_days", "next_30_days"]
    frame = quiet_read(sandbox, "user", [(slug, ["next_14_days", "next_30_days"])])
    assert (frame[f"{slug}_next_30_days"] >= frame[f"{slug}_next_14_days"]).all()


# -- labels (appendix, "More labels") ---------------------------------------------------------


def test_recorded_labels_are_served_and_read(sandbox: Sandbox) -> None:
    # "| ootb_user_role | Permission |", "| ootb_user_primary_key | User Identification |",
    # "| ootb_user_team | Team (id), Team (name) |"
    columns = [{"slug": s} for s in ("ootb_user_role", "ootb_user_primary_key", "ootb_user_team")]
    rows = export(sandbox, "user", columns)
    assert rows[0] == ["Permission", "User Identification", "Team (id)", "Team (name)"]
    frame = quiet_read(sandbox, "user", ["ootb_user_role", "ootb_user_team"])
    users = sandbox.tenant.users
    assert frame["ootb_user_team_name"].tolist() == users["team_name"].tolist()


# -- slugs the reference lacks, the person object, the known-bad ones --------------------------


def test_person_object_is_served(sandbox: Sandbox) -> None:
    # section 2: "`activity` and `person` also work [field]"; appendix: the person slugs.
    frame = quiet_read(
        sandbox, "person", ["ootb_person_email", "ootb_person_job_title", "ootb_person_seniority"]
    )
    contacts = sandbox.tenant.contacts
    assert len(frame) == len(contacts)
    assert frame["ootb_person_email"].tolist() == contacts["email"].tolist()
    assert set(frame["ootb_person_seniority"]) <= set(contacts["level"].astype(str))


def test_verified_slugs_missing_from_the_reference_are_read_typed(sandbox: Sandbox) -> None:
    # appendix: ootb_user_external_meetings_matched "last_7/14/30/60_days",
    # ootb_user_time_spent_activities_matched F9.
    frame = quiet_read(
        sandbox,
        "user",
        [
            ("ootb_user_external_meetings_matched", "last_30_days"),
            ("ootb_user_time_spent_activities_matched", "last_30_days"),
        ],
    )
    assert str(frame["ootb_user_external_meetings_matched_last_30_days"].dtype) == "Int64"
    assert (
        frame["ootb_user_time_spent_activities_matched_last_30_days"].dt.total_seconds().ge(0).all()
    )
    acts = sandbox.tenant.activities
    start = sandbox.tenant.as_of - pd.Timedelta(days=30)
    select = (
        (acts["type"] == "meeting")
        & acts["external"]
        & (acts["timestamp"] >= start)
        & (acts["timestamp"] < sandbox.tenant.as_of)
    )
    expected = (
        acts["user_id"][select]
        .value_counts()
        .reindex(sandbox.tenant.users["internal_id"], fill_value=0)
    )
    got = frame["ootb_user_external_meetings_matched_last_30_days"].to_numpy(dtype=float)
    assert got == pytest.approx(expected.to_numpy(dtype=float))


@pytest.mark.parametrize(
    ("slug", "obj", "why"),
    [
        ("ootb_user_total_activity", "user", "empties the whole answer"),
        ("ootb_activity_summary_ai", "activity", "every cell empty"),
    ],
)
def test_known_bad_slugs_raise_naming_why(slug: str, obj: str, why: str) -> None:
    with pytest.raises(InvalidColumnsError, match=why):
        bs.read_query(obj, [slug], dry_run=True)
    with pytest.raises(InvalidColumnsError, match=why):
        catalog.register(slug, object=obj, type="text")


# -- register any slug; lookups give their pair ------------------------------------------------


def test_register_accepts_any_slug() -> None:
    metric = catalog.register("ootb_account_sales_motion", type="text")
    assert (metric.object, metric.evidence) == ("account", "registered")
    payload = bs.read_query("account", ["ootb_account_sales_motion"], dry_run=True)
    assert payload["columns"] == [{"slug": "ootb_account_sales_motion"}]
    other = catalog.register("tenant_health_bucket", object="opportunity", type="count")
    assert catalog.get("tenant_health_bucket", "opportunity") == other


def test_registered_lookups_get_their_id_name_pair() -> None:
    # section 3: "user lookups ending in `__c_user` giving `(id)`/`(name)`"
    user = catalog.register("opportunity_csm_owner__c_user", type="reference", label="CSM Owner")
    assert [p.suffix for p in user.parts] == ["_id", "_name"]
    assert user.header_labels(None) == ["CSM Owner (id)", "CSM Owner (name)"]
    other = catalog.register("account_parent__c", type="reference", label="Parent")
    (column,) = catalog.resolve(["account_parent__c"], "account")
    assert [o.name for o in column.outputs()] == ["account_parent__c_id", "account_parent__c_name"]
    assert other.parts[0].type == "internal_id"
    with pytest.raises(InvalidColumnsError, match="type='reference'"):
        catalog.register("opportunity_se__c_user", type="count")


# -- evidence --------------------------------------------------------------------------------


def test_evidence_is_shown_and_ranks_search() -> None:
    assert catalog.describe("ootb_account_count_of_emails_sent")["evidence"] == "verified"
    assert catalog.describe("ootb_emails_sent")["evidence"] == "reference"
    assert "verified" in catalog.describe("ootb_account_count_of_emails_sent")._repr_html_()
    hits = catalog.search("emails sent", "account")
    assert "evidence" in hits.columns
    order = {"verified": 0, "seen": 1, "reference": 2, "registered": 3}
    ranks = [order[e] for e in hits["evidence"]]
    assert ranks == sorted(ranks)
    assert hits.loc[0, "evidence"] == "verified"


# -- the reference vocabulary is a switch ------------------------------------------------------


def test_reference_vocabulary_serves_the_documented_spellings(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    reference = sandbox_factory(accounts=20, users=4, seed=3, vocabulary="reference")
    rows = export(
        reference,
        "account",
        [
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_current_quarter"},
            {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_this_quarter"},
            {"slug": "ootb_churn_risk_score", "variation_id": "ootb_churn_risk_score_current"},
        ],
    )
    assert rows[0] == ["Emails Sent (Current Quarter)", "Churn Risk Score"]
    with pytest.raises(ValueError, match="vocabulary"):
        sandbox_factory(vocabulary="vendor")


def test_cli_takes_the_vocabulary_flag() -> None:
    parser = build_parser()
    assert sandbox_options(parser.parse_args([]))["vocabulary"] == "field"
    args = parser.parse_args(["--vocabulary", "reference"])
    assert sandbox_options(args)["vocabulary"] == "reference"
    with pytest.raises(SystemExit):
        parser.parse_args(["--vocabulary", "vendor"])


# -- picklists are the tenant's ------------------------------------------------------------------


def test_custom_stage_is_kept_without_a_validation_warning(sandbox: Sandbox) -> None:
    # The reference's stages are examples; a tenant's CRM has its own (issue 14).
    frame = quiet_read(
        sandbox,
        "opportunity",
        [
            "ootb_opportunity_id",
            "ootb_opportunity_current_stage",
            "ootb_opportunity_forecast_category",
        ],
    )
    raw = sandbox.tenant.opportunities
    stages = frame["ootb_opportunity_current_stage"].astype("string")
    assert stages.tolist() == raw["stage"].astype(str).tolist()
    share = (stages == CUSTOM_STAGE).mean()
    assert 0.01 < share < 0.2
    assert CUSTOM_STAGE in frame["ootb_opportunity_current_stage"].cat.categories
    frame.backstory.validate()  # no SchemaValidationError for the tenant's own stage


def test_non_picklist_enumerations_are_still_checked() -> None:
    trend = pd.DataFrame({"ootb_engagement_trend": pd.Categorical(["increasing", "sideways"])})
    with pytest.raises(bs.SchemaValidationError, match="ootb_engagement_trend"):
        trend.backstory.validate()
    stage = pd.DataFrame({"ootb_opportunity_current_stage": pd.Categorical([CUSTOM_STAGE])})
    stage.backstory.validate()


# -- an unknown slug can be read: the catalog is never a wall -----------------------------------


def test_unknown_slug_raises_by_default_and_reads_as_text_on_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tenant serving a slug the catalog lacks: take ootb_account_domain out of the catalog
    # while the sandbox keeps serving it (section 3, "Field vocabulary": account _domain).
    from bspandas.catalog import store
    from bspandas.sandbox import export

    shipped = dict(store._index())
    assert export.served("account", "ootb_account_domain") is not None
    monkeypatch.setattr(export, "served", lambda obj, slug: shipped.get((obj, slug)))
    lacking = {k: v for k, v in shipped.items() if k != ("account", "ootb_account_domain")}
    monkeypatch.setattr(store, "_index", lambda: lacking)
    with pytest.raises(bs.UnknownMetricError, match="Did you mean"):
        bs.read_query("account", ["ootb_account_domain"], client=sandbox.client())
    with pytest.warns(bs.UnregisteredMetricWarning, match="read as text"):
        frame = bs.read_query(
            "account",
            ["ootb_account_id", "ootb_account_domain"],
            on_unknown="text",
            client=sandbox.client(),
        )
    raw = sandbox.tenant.accounts
    expected = raw["domain"].astype(TEXT_DTYPE).reset_index(drop=True)
    assert frame["ootb_account_domain"].reset_index(drop=True).equals(expected)
    assert expected.notna().sum() > 100
    assert str(frame["ootb_account_domain"].dtype) == "string"
    with pytest.raises(InvalidColumnsError, match="on_unknown"):
        bs.read_query("account", ["ootb_account_id"], on_unknown="guess", dry_run=True)  # type: ignore[call-overload]


def test_registered_custom_fields_are_served_with_their_expansions(sandbox: Sandbox) -> None:
    # section 3: "custom CRM fields are addressed by their own slugs (...,
    # user lookups ending in `__c_user` giving `(id)`/`(name)`)"
    catalog.register("opportunity_csm_owner__c_user", type="reference", label="CSM Owner")
    catalog.register("opportunity_renewal_acv__c", type="money", label="Renewal ACV")
    rows = export(
        sandbox,
        "opportunity",
        [{"slug": "opportunity_csm_owner__c_user"}, {"slug": "opportunity_renewal_acv__c"}],
    )
    assert rows[0] == ["CSM Owner (id)", "CSM Owner (name)", "Renewal ACV"]
    frame = quiet_read(
        sandbox, "opportunity", ["opportunity_csm_owner__c_user", "opportunity_renewal_acv__c"]
    )
    users = sandbox.tenant.users.set_index("internal_id")["name"]
    ids = frame["opportunity_csm_owner__c_user_id"].dropna()
    assert ids.isin(users.index).all()
    names = frame.loc[ids.index, "opportunity_csm_owner__c_user_name"]
    assert names.tolist() == users.loc[ids.astype("int64")].tolist()
    assert str(frame["opportunity_renewal_acv__c"].dtype) == "Float64"
