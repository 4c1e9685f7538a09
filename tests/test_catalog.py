"""The metric catalog: lookups, search, variation resolution, custom metrics."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import bspandas
from bspandas import catalog
from bspandas._exceptions import (
    InvalidColumnsError,
    InvalidVariationError,
    UnknownMetricError,
    UnknownObjectError,
    UnregisteredMetricWarning,
    VariationAdjustedWarning,
)
from bspandas.catalog import store, vocabulary
from bspandas.validation import validate_frame


def test_get_returns_typed_entry() -> None:
    churn = catalog.get("ootb_churn_risk_score")
    assert (churn.object, churn.type, churn.range, churn.periods) == (
        "account",
        "score",
        (0, 100),
        (),  # documented with `current` only: no period, sent bare (query-api.md section 2)
    )
    assert churn.bare


def test_every_entry_has_the_required_attributes() -> None:
    frame = catalog.metrics()
    assert len(frame) > 130
    assert set(frame["object"]) == {"account", "opportunity", "user", "activity", "person"}
    for metric in (catalog.get(s, o) for o, s in zip(frame["object"], frame["slug"], strict=True)):
        assert metric.kind in ("field", "metric")
        assert metric.description
        assert metric.type in catalog.TYPES or metric.type == "reference"
        assert metric.parts, metric.slug
        assert metric.source in ("reference", "field", "both")
        assert metric.label
        if metric.type == "enumeration":
            assert metric.values, metric.slug


def test_enumerations_carry_documented_values() -> None:
    assert catalog.get("ootb_engagement_trend").values == ("increasing", "stable", "declining")
    assert catalog.get("ootb_activity_frequency").values == ("high", "medium", "low")
    stages = catalog.get("ootb_opportunity_stage").values
    assert {"Proposal", "Negotiation", "Closed Won"} <= set(stages)
    assert catalog.get("ootb_activity_type").values == ("meeting", "email", "call")


def test_expansions_and_labels_from_the_field_notes() -> None:
    owner = catalog.get("ootb_opportunity_owner")
    assert owner.header_labels(None) == ["Opportunity Owner (id)", "Opportunity Owner (name)"]
    assert [p.suffix for p in owner.parts] == ["_id", "_name"]
    amount = catalog.get("ootb_opportunity_amount")
    assert amount.header_labels(None) == ["Amount (amount)", "Amount (currency_iso_code)"]
    assert [p.suffix for p in amount.parts] == ["", "_currency"]
    meetings = catalog.get("ootb_account_count_of_meetings_standard")
    assert meetings.header_labels("last_30_days") == ["Meetings (Last 30 Days)"]
    assert meetings.label_known


def test_percentages_double_their_suffix_and_keep_a_plain_label() -> None:
    pct = catalog.get("ootb_account_percentage_emails_inbound")
    assert pct.variation_id("last_90_days") == (
        "ootb_account_percentage_emails_inbound_last_90_days_last_90_days"
    )
    assert pct.header_labels("last_90_days") == ["% of Emails that are Inbound"]
    (column,) = catalog.resolve([(pct.slug, "last_90_days")], "account")
    assert column.name == "ootb_account_percentage_emails_inbound_last_90_days"


def test_search_finds_emails_metrics_across_objects() -> None:
    hits = catalog.search("emails")
    assert {"account", "opportunity", "user"} <= set(hits["object"])
    # verified slugs first, then by score within each evidence group
    rank = {"verified": 0, "seen": 1, "reference": 2, "registered": 3}
    keys = [(rank[e], -s) for e, s in zip(hits["evidence"], hits["score"], strict=True)]
    assert keys == sorted(keys)
    assert "ootb_emails_sent" in set(catalog.search("emails", limit=None)["slug"])


def test_search_ranks_exact_and_restricts_to_object() -> None:
    assert catalog.search("churn risk").loc[0, "slug"] == "ootb_churn_risk_score"
    users = catalog.search("emails sent", object="user")
    assert set(users["object"]) == {"user"}
    assert catalog.search("zzzz-no-such-thing").empty


def test_describe_has_everything_including_periods() -> None:
    info = catalog.describe("ootb_emails_sent")
    assert info["type"] == "count"
    assert info["dtype"] == "Int64"
    assert [p["period"] for p in info["periods"]] == [
        "last_7_days",
        "last_30_days",
        "this_quarter",
        "this_fyear",
    ]
    assert info["periods"][1]["variation id"] == "ootb_emails_sent_last_30_days"
    assert "ootb_emails_sent" in str(info)
    assert "<table>" in info._repr_html_()


@pytest.mark.parametrize(
    "spec",
    [
        "ootb_emails_sent_last_30_days",
        ("ootb_emails_sent", "last_30_days"),
        ("ootb_emails_sent", "Last 30 Days"),
        {"slug": "ootb_emails_sent", "variation_id": "last_30_days"},
        {"slug": "ootb_emails_sent", "variation_id": "ootb_emails_sent_last_30_days"},
    ],
)
def test_every_spelling_resolves_to_the_full_variation_id(spec: object) -> None:
    (column,) = catalog.resolve([spec], "account")
    assert column.api() == {
        "slug": "ootb_emails_sent",
        "variation_id": "ootb_emails_sent_last_30_days",
    }
    assert column.name == "ootb_emails_sent_last_30_days"


def test_several_periods_and_variations_mapping() -> None:
    cols = catalog.resolve(
        ["ootb_account_name", ("ootb_emails_sent", ["last_7_days", "this_fyear"])],
        "account",
        variations={"ootb_meetings_held": ["last_30_days"]},
    )
    assert [c.name for c in cols] == [
        "ootb_account_name",
        "ootb_emails_sent_last_7_days",
        "ootb_emails_sent_this_fyear",
        "ootb_meetings_held_last_30_days",
    ]


def test_duplicates_are_dropped_keeping_order() -> None:
    cols = catalog.resolve(
        ["industry", "ootb_emails_sent_last_7_days", ("ootb_emails_sent", "last_7_days")], "account"
    )
    assert [c.name for c in cols] == ["industry", "ootb_emails_sent_last_7_days"]


def test_disallowed_period_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidVariationError) as info:
        catalog.resolve([("ootb_emails_sent", "last_90_days")], "account")
    message = str(info.value)
    assert "'last_90_days'" in message
    for allowed in ("last_7_days", "last_30_days", "this_quarter", "this_fyear"):
        assert allowed in message
    assert info.value.allowed == ["last_7_days", "last_30_days", "this_quarter", "this_fyear"]


def test_windowed_metric_without_period_is_refused() -> None:
    with pytest.raises(InvalidVariationError, match=r"needs a period.*7-day"):
        catalog.resolve(["ootb_emails_sent"], "account")


def test_point_in_time_metric_needs_no_period() -> None:
    (column,) = catalog.resolve(["ootb_churn_risk_score"], "account")
    assert column.api() == {"slug": "ootb_churn_risk_score"}


def test_field_period_is_sent_as_is() -> None:
    # query-api.md section 2, "Periods seen working": this_quarter; one tenant drops current_*.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (column,) = catalog.resolve([("ootb_emails_sent", "this_quarter")], "account")
        (year,) = catalog.resolve([("ootb_emails_sent", "this_fyear")], "account")
    assert column.variation_id == "ootb_emails_sent_this_quarter"
    assert year.variation_id == "ootb_emails_sent_this_fyear"


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("current_quarter", "this_quarter"),
        ("current_year", "this_fyear"),
        ("Current Quarter", "this_quarter"),
        ("ootb_emails_sent_current_quarter", "this_quarter"),
    ],
)
def test_doc_period_is_a_synonym_of_the_field_one_with_one_warning(asked: str, sent: str) -> None:
    spec = asked if asked.startswith("ootb_") else ("ootb_emails_sent", asked)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (column,) = catalog.resolve([spec], "account")
    assert [type(w.message) for w in caught] == [VariationAdjustedWarning]
    assert column.variation_id == f"ootb_emails_sent_{sent}"
    assert column.name == f"ootb_emails_sent_{sent}"


def test_last_year_is_sent_as_last_fyear() -> None:
    # query-api.md section 2: `last_year` is doc-only; the field spells it `last_fyear`.
    with pytest.warns(VariationAdjustedWarning, match="last_fyear"):
        (column,) = catalog.resolve(
            [("ootb_account_closed_won_opportunities", "last_year")], "account"
        )
    assert column.variation_id == "ootb_account_closed_won_opportunities_last_fyear"


def test_current_is_not_a_period_for_bare_slugs() -> None:
    with pytest.warns(VariationAdjustedWarning, match="not a period"):
        (column,) = catalog.resolve([("ootb_churn_risk_score", "current")], "account")
    assert column.api() == {"slug": "ootb_churn_risk_score"}
    assert column.name == "ootb_churn_risk_score"


def test_no_shipped_entry_lists_a_doc_only_period_with_a_field_synonym() -> None:
    doc_only = {"current", "current_week", "current_month", "current_quarter", "current_year"}
    doc_only.add("last_year")
    offenders = [(m.slug, p) for m in store.all_metrics() for p in m.periods if p in doc_only]
    assert offenders == []


def test_unknown_slug_names_it_and_suggests_close_ones() -> None:
    with pytest.raises(UnknownMetricError) as info:
        catalog.resolve(["ootb_emails_snt"], "account")
    assert info.value.slug == "ootb_emails_snt"
    assert "ootb_emails_sent" in info.value.suggestions
    assert "'ootb_emails_snt'" in str(info.value)
    assert "Did you mean" in str(info.value)


def test_slug_of_another_object_says_so() -> None:
    with pytest.raises(UnknownMetricError, match="exists for user"):
        catalog.resolve(["ootb_emails_sent_user"], "account")
    with pytest.raises(UnknownMetricError, match="variation of a user metric"):
        catalog.resolve(["ootb_emails_sent_user_weekly"], "account")


def test_unknown_object() -> None:
    with pytest.raises(UnknownObjectError, match="account"):
        catalog.resolve(["x"], "acount")


@pytest.mark.parametrize("bad", [42, [("a", "b", "c")], [{"slug": 1}], [("ootb_emails_sent", 7)]])
def test_malformed_column_specs(bad: object) -> None:
    with pytest.raises((InvalidColumnsError, UnknownMetricError)):
        catalog.resolve(bad, "account")


def test_periods_are_in_canonical_order() -> None:
    assert catalog.periods("ootb_opportunity_count") == ["total", "open", "won", "lost"]
    assert catalog.periods("ootb_emails_sent_user") == ["daily", "weekly", "monthly", "quarterly"]
    assert catalog.periods("industry") == []


def test_custom_metric_registered_in_code() -> None:
    metric = catalog.register(
        "custom_account_nps_score",
        type="score",
        range=(-100, 100),
        label="NPS",
        periods=["last_90_days"],
    )
    assert metric.object == "account"
    assert catalog.get("custom_account_nps_score") is metric
    (column,) = catalog.resolve([("custom_account_nps_score", "last_90_days")], "account")
    assert column.variation_id == "custom_account_nps_score_last_90_days"
    schema = bspandas.schema_for("account", ["custom_account_nps_score_last_90_days"])
    frame = pd.DataFrame({"custom_account_nps_score_last_90_days": [-50.0, 150.0]})
    with pytest.raises(bspandas.SchemaValidationError, match="in_range"):
        validate_frame(frame, schema)


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_custom_metrics_from_a_file(tmp_path: Path, suffix: str) -> None:
    definitions = {
        "custom_opportunity_technical_score": {"type": "score", "range": [0, 10]},
        "derived_user_territory_coverage": {"type": "percentage", "periods": ["quarterly"]},
    }
    path = tmp_path / f"custom{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(definitions))
    else:
        path.write_text(
            '[custom_opportunity_technical_score]\ntype = "score"\nrange = [0, 10]\n'
            '[derived_user_territory_coverage]\ntype = "percentage"\nperiods = ["quarterly"]\n'
        )
    registered = catalog.register_file(path)
    assert [m.slug for m in registered] == list(definitions)
    assert catalog.get("custom_opportunity_technical_score").range == (0, 10)
    assert catalog.periods("derived_user_territory_coverage") == ["quarterly"]


def test_custom_file_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"custom_user_x": {"type": "count", "colour": "red"}}))
    with pytest.raises(InvalidColumnsError, match="colour"):
        catalog.register_file(path)


def test_unregistered_custom_metric_is_text_with_a_warning() -> None:
    with pytest.warns(UnregisteredMetricWarning, match=r"catalog\.register\('custom_user_x'"):
        (column,) = catalog.resolve(["custom_user_x"], "user")
    assert column.metric.type == "text"
    with pytest.warns(UnregisteredMetricWarning):
        (lookup,) = catalog.resolve(["owner_region__c_user"], "opportunity")
    assert [o.name for o in lookup.outputs()] == [
        "owner_region__c_user_id",
        "owner_region__c_user_name",
    ]


def test_custom_slug_for_the_wrong_object_is_refused() -> None:
    with pytest.raises(InvalidColumnsError, match="names object 'user'"):
        catalog.register("custom_user_x", object="account", type="count")
    with pytest.raises(InvalidColumnsError, match="Pass object="):
        catalog.register("my_metric", type="count")


def test_parse_name_maps_frame_columns_back() -> None:
    metric, period, part = catalog.parse_name(
        "ootb_account_percentage_emails_inbound_last_90_days", "account"
    )
    assert (metric.slug, period, part.suffix) == (
        "ootb_account_percentage_emails_inbound",
        "last_90_days",
        "",
    )
    assert catalog.parse_name("ootb_opportunity_amount_currency", "opportunity")[2].suffix == (
        "_currency"
    )
    assert catalog.parse_name("not_a_column", "account") is None


def test_metric_displays_in_notebooks() -> None:
    assert "ootb_emails_sent" in catalog.get("ootb_emails_sent")._repr_html_()  # type: ignore[attr-defined]
    assert "entries" in catalog._repr_html_()
    assert repr(catalog.get("ootb_churn_risk_score")).startswith("<Metric account.")


def test_period_lists_hold_only_the_metrics_periods_in_catalog_order() -> None:
    # ootb_lost_pipeline_value has three periods, stored as this_quarter, this_fyear,
    # last_quarter: the error lists exactly those, in the catalog's order of windows
    metric = catalog.get("ootb_lost_pipeline_value", "account")
    assert list(metric.periods) == ["this_quarter", "this_fyear", "last_quarter"]
    order = [p.id for p in vocabulary.PERIODS]
    expected = sorted(metric.periods, key=order.index)
    assert expected == ["last_quarter", "this_quarter", "this_fyear"]
    for spec in [("ootb_lost_pipeline_value", "last_7_days"), "ootb_lost_pipeline_value"]:
        with pytest.raises(InvalidVariationError) as info:
            catalog.resolve([spec], "account")
        assert info.value.allowed == expected
        assert "Allowed periods: last_quarter, this_quarter, this_fyear." in str(info.value)
        assert "last_7_days," not in str(info.value)
    # the error orders whatever list it is given the same way
    shuffled = InvalidVariationError("x", "y", ["this_fyear", "last_quarter", "this_quarter"])
    assert shuffled.allowed == expected


def test_within_lists_its_periods_in_catalog_order() -> None:
    with pytest.raises(bspandas.InvalidFilterError) as info:
        bspandas.Query(
            "opportunity",
            ["ootb_opportunity_crm_id"],
            where="ootb_opportunity_close_date.within('last_15_days')",
        )
    listed = str(info.value).split("takes a period (")[1].split(")")[0].split(", ")
    order = [p.id for p in vocabulary.PERIODS]
    assert listed == sorted(listed, key=order.index)
    assert listed[:3] == ["last_7_days", "last_14_days", "last_30_days"]
    assert "open" not in listed  # a status, not a window
