"""Regenerate ``bspandas/catalog/catalog.json`` from the vendor reference and the field notes.

Run it with ``make catalog`` (or ``python tools/build_catalog.py [--spec-dir DIR] [--check]``).

Inputs (read-only, outside the repo):
  * ``object-metric-reference.txt``: the vendor's tables of fields and metrics, with their
    data types, ranges and variations. Every row becomes an entry.
  * ``query-api.md``: the field vocabulary (slugs seen working beyond the reference), header
    labels, column expansions and period lists.

What neither document states (the finer type of a field slug, which window family a field
metric takes, which key an id column carries) is written down below in ``REFERENCE_TYPES``
and ``FIELD_SLUGS``. The build fails when the spec names a slug these tables do not cover,
so a new spec line cannot slip into the catalog untyped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bspandas.catalog.model import Metric, Part  # noqa: E402
from bspandas.catalog.vocabulary import PERIODS  # noqa: E402
from bspandas.catalog.vocabulary import label as period_label  # noqa: E402

DEFAULT_SPEC = Path(os.environ.get("BSPANDAS_SPEC_DIR") or ROOT.parent / "shared" / "spec")
OUTPUT = ROOT / "bspandas" / "catalog" / "catalog.json"

DATA_TYPE_OF = {
    "text": "String",
    "id": "String",
    "internal_id": "Number",
    "count": "Number",
    "number": "Number",
    "score": "Number",
    "percentage": "Number",
    "money": "Number",
    "boolean": "Boolean",
    "date": "Date",
    "timestamp": "Timestamp",
    "duration": "Duration",
    "enumeration": "String",
    "list": "List",
}

# Stages: the reference gives "Proposal", "Negotiation", "Closed Won" as examples; the rest of
# the sequence is the common CRM default that those examples come from.
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
)
FORECAST_CATEGORIES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")

# Finer type (and key) of every slug in the vendor reference.
REFERENCE_TYPES: dict[str, dict[str, Any]] = {
    # account fields
    "ootb_account_crm_id": {"type": "id", "key": "account.crm_id"},
    "ootb_account_name": {"type": "text", "key": "account.name"},
    "crm_account_owner": {"type": "text"},
    "account_domain": {"type": "text"},
    "industry": {"type": "text"},
    "company_size": {"type": "count"},
    "annual_revenue": {"type": "money"},
    "account_tier": {"type": "text"},
    # account metrics
    "ootb_account_engagement_level": {"type": "score"},
    "ootb_relationship_strength": {"type": "score"},
    "ootb_buying_intent_score": {"type": "score"},
    "ootb_churn_risk_score": {"type": "score"},
    "ootb_emails_sent": {"type": "count"},
    "ootb_emails_received": {"type": "count"},
    "ootb_meetings_held": {"type": "count"},
    "ootb_calls_made": {"type": "count"},
    "ootb_last_activity_days": {"type": "count"},
    "ootb_last_activity_date": {"type": "date"},
    "ootb_response_rate": {"type": "percentage"},
    "ootb_total_pipeline_value": {"type": "money"},
    "ootb_open_pipeline_value": {"type": "money"},
    "ootb_won_pipeline_value": {"type": "money"},
    "ootb_lost_pipeline_value": {"type": "money"},
    "ootb_opportunity_count": {"type": "count"},
    "ootb_average_deal_size": {"type": "money"},
    "ootb_engagement_trend": {"type": "enumeration"},
    "ootb_activity_frequency": {"type": "enumeration", "ordered": True},
    "ootb_multi_threading_score": {"type": "count"},
    "ootb_executive_engagement": {"type": "boolean"},
    # opportunity fields
    "crm_opportunity_id": {"type": "id", "key": "opportunity.crm_id"},
    "crm_opportunity_name": {"type": "text", "key": "opportunity.name"},
    "crm_account_id": {"type": "id", "key": "account.crm_id"},
    "crm_account_name": {"type": "text", "key": "account.name"},
    "opportunity_owner": {"type": "text"},
    "opportunity_value": {"type": "money"},
    "expected_close_date": {"type": "date"},
    "actual_close_date": {"type": "date"},
    # opportunity metrics
    "ootb_opportunity_stage": {
        "type": "enumeration",
        "values": STAGES,
        "ordered": True,
        "picklist": True,
    },
    "ootb_stage_probability": {"type": "percentage", "bounds": (0, 100)},
    "ootb_days_in_current_stage": {"type": "count"},
    "ootb_total_sales_cycle_days": {"type": "count"},
    "ootb_stage_progression_velocity": {"type": "number", "bounds": (0, None)},
    "ootb_win_probability_score": {"type": "score"},
    "ootb_deal_velocity_score": {"type": "score"},
    "ootb_competition_risk_score": {"type": "score"},
    "ootb_budget_confirmed_score": {"type": "score"},
    "ootb_emails_sent_opp": {"type": "count"},
    "ootb_meetings_held_opp": {"type": "count"},
    "ootb_last_meaningful_activity_date": {"type": "date"},
    "ootb_stakeholder_engagement_count": {"type": "count"},
    "ootb_champion_identified": {"type": "boolean"},
    # user fields
    "crm_user_id": {"type": "id", "key": "user.crm_id"},
    "user_name": {"type": "text", "key": "user.name"},
    "user_email": {"type": "text", "key": "user.email"},
    "user_role": {"type": "text"},
    "team_name": {"type": "text"},
    "manager_name": {"type": "text"},
    "hire_date": {"type": "date"},
    # user metrics
    "ootb_emails_sent_user": {"type": "count"},
    "ootb_emails_received_user": {"type": "count"},
    "ootb_meetings_booked": {"type": "count"},
    "ootb_calls_made_user": {"type": "count"},
    "ootb_activities_logged": {"type": "count"},
    "ootb_pipeline_generated": {"type": "money"},
    "ootb_opportunities_created": {"type": "count"},
    "ootb_deals_won": {"type": "count"},
    "ootb_revenue_generated": {"type": "money"},
    "ootb_quota_attainment": {"type": "percentage", "bounds": (0, None)},
    "ootb_win_rate": {"type": "percentage"},
    "ootb_response_rate_user": {"type": "percentage"},
    "ootb_meeting_acceptance_rate": {"type": "percentage"},
    "ootb_account_penetration": {"type": "count"},
    "ootb_new_contact_creation": {"type": "count"},
}

# Window families of the field vocabulary (query-api.md section 2, "Periods seen working").
PAST = (
    "last_7_days",
    "last_14_days",
    "last_30_days",
    "last_60_days",
    "last_90_days",
    "last_week",
    "last_month",
    "last_quarter",
    "this_quarter",
    "last_fyear",
    "any_time",
)
FUTURE = ("next_7_days", "next_14_days", "next_30_days", "this_week", "this_month")
CLOSING = ("this_month", "this_quarter", "next_7_days", "next_14_days", "next_30_days", "any_time")

USER_REF = ("user.internal_id", "user.name")

# query-api.md section 2: one tenant drops the documented ``current_*`` and ``last_year``
# forms; the field spells the same windows this way. ``current`` is no period at all: a
# metric documented with it is simply requested bare.
FIELD_SPELLING = {
    "current_week": "this_week",
    "current_month": "this_month",
    "current_quarter": "this_quarter",
    "current_year": "this_fyear",
    "last_year": "last_fyear",
}
F9 = (
    "last_7_days",
    "last_14_days",
    "last_30_days",
    "last_60_days",
    "last_90_days",
    "last_month",
    "last_quarter",
    "this_quarter",
    "any_time",
)


def _ref(id_key: str, name_key: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "reference", "refs": (id_key, name_key), "description": description, **extra}


# Every slug of the field vocabulary: finer type, window family, key, description.
FIELD_SLUGS: dict[str, dict[str, dict[str, Any]]] = {
    "account": {
        "ootb_account_name": {"type": "text", "key": "account.name", "description": "Account name"},
        "ootb_account_domain": {"type": "text", "description": "Company web domain"},
        "ootb_account_type": {"type": "text", "description": "Account type (Customer, Partner...)"},
        "ootb_account_industry": {"type": "text", "description": "Industry classification"},
        "ootb_account_annual_revenue": {"type": "money", "description": "Annual revenue"},
        "ootb_account_crm_id": {
            "type": "id",
            "key": "account.crm_id",
            "description": "CRM account id",
        },
        "ootb_account_id": {
            "type": "internal_id",
            "key": "account.internal_id",
            "description": "Backstory account id",
        },
        "ootb_account_people_internal_id": {
            "type": "internal_id",
            "key": "account.internal_id",
            "description": "People.ai internal account id",
        },
        "ootb_account_engagement_level": {
            "type": "score",
            "description": "Overall engagement level",
        },
        "ootb_account_original_owner": _ref(*USER_REF, "Account owner (user id and name)"),
        "ootb_account_last_meeting_date": {
            "type": "timestamp",
            "description": "Start of the most recent meeting",
        },
        "ootb_account_open_opportunities": {
            "type": "count",
            "periods": PAST,
            "description": "Open opportunities created in the window",
        },
        "ootb_account_open_opportunity_amount_closing_standard": {
            "type": "money",
            "periods": CLOSING,
            "future": True,
            "description": "Sum of open opportunity amounts closing in the window",
        },
        "ootb_account_count_of_meetings_standard": {
            "type": "count",
            "periods": PAST,
            "description": "Meetings with the account",
        },
        "ootb_account_count_of_emails_sent": {
            "type": "count",
            "periods": PAST,
            "description": "Emails sent to the account",
        },
        "ootb_account_count_of_emails_received": {
            "type": "count",
            "periods": PAST,
            "description": "Emails received from the account",
        },
        "ootb_account_percentage_emails_inbound": {
            "type": "percentage",
            "periods": PAST,
            "description": "Share of the account's emails that are inbound",
        },
        "ootb_account_total_activities_time_spent_standard": {
            "type": "duration",
            "periods": PAST,
            "description": "Time spent in activities with the account",
        },
        "ootb_account_executive_activities": {
            "type": "count",
            "periods": PAST,
            "description": "Activities with C-level executives",
        },
        "ootb_account_executive_engaged": {
            "type": "count",
            "periods": PAST,
            "description": "Executives engaged",
        },
        "ootb_account_people_engaged": {
            "type": "count",
            "periods": PAST,
            "description": "People engaged",
        },
        "ootb_account_upcoming_meetings_standard": {
            "type": "count",
            "periods": FUTURE,
            "future": True,
            "description": "Meetings scheduled with the account",
        },
    },
    "opportunity": {
        "ootb_opportunity_name": {
            "type": "text",
            "key": "opportunity.name",
            "description": "Opportunity name",
        },
        "ootb_opportunity_account_name": {
            "type": "text",
            "key": "account.name",
            "description": "Name of the opportunity's account",
        },
        "ootb_opportunity_account": {
            "type": "id",
            "key": "account.crm_id",
            "description": "CRM id of the opportunity's account",
        },
        "ootb_opportunity_amount": {
            "type": "money",
            "description": "Deal amount and its currency",
            "currency": "_currency",
        },
        "ootb_opportunity_converted_amount": {
            "type": "money",
            "description": "Amount converted to the corporate currency",
            "currency": "corporate",
        },
        "ootb_opportunity_close_date": {"type": "date", "description": "Close date"},
        "ootb_opportunity_created_at": {
            "type": "timestamp",
            "description": "When the opportunity was created",
        },
        "ootb_opportunity_current_stage": {
            "type": "enumeration",
            "values": STAGES,
            "ordered": True,
            "picklist": True,
            "description": "Current sales stage",
        },
        "ootb_opportunity_days_in_stage": {
            "type": "duration",
            "description": "Time spent in the current stage",
        },
        "ootb_opportunity_engagement_level": {
            "type": "score",
            "description": "Opportunity engagement level",
        },
        "ootb_opportunity_owner": _ref(
            *USER_REF, "Opportunity owner (user id and name)", filterable=False
        ),
        "ootb_opportunity_original_owner": _ref(
            *USER_REF, "Original opportunity owner (user id and name)", filterable=False
        ),
        "ootb_opportunity_owners": {
            "type": "list",
            "description": "Names of everyone who owned the opportunity",
        },
        "ootb_opportunity_crm_id": {
            "type": "id",
            "key": "opportunity.crm_id",
            "description": "CRM opportunity id",
        },
        "ootb_opportunity_id": {
            "type": "internal_id",
            "key": "opportunity.internal_id",
            "description": "Backstory opportunity id",
        },
        "ootb_opportunity_people_internal_id": {
            "type": "internal_id",
            "key": "opportunity.internal_id",
            "description": "People.ai internal opportunity id",
        },
        "ootb_opportunity_type": {
            "type": "text",
            "description": "Opportunity type (New Business, Renewal...)",
        },
        "ootb_opportunity_forecast_category": {
            "type": "enumeration",
            "values": FORECAST_CATEGORIES,
            "ordered": True,
            "picklist": True,
            "description": "Forecast category",
        },
        "ootb_opportunity_is_closed": {"type": "boolean", "description": "Closed (won or lost)"},
        "ootb_opportunity_is_won": {"type": "boolean", "description": "Closed won"},
        "ootb_opportunity_count_of_meetings_standard": {
            "type": "count",
            "periods": PAST,
            "description": "Meetings on the opportunity",
        },
        "ootb_opportunity_count_of_emails_sent": {
            "type": "count",
            "periods": PAST,
            "description": "Emails sent on the opportunity",
        },
        "ootb_opportunity_count_of_emails_received": {
            "type": "count",
            "periods": PAST,
            "description": "Emails received on the opportunity",
        },
        "ootb_opportunity_upcoming_meetings_standard": {
            "type": "count",
            "periods": FUTURE,
            "future": True,
            "description": "Meetings scheduled on the opportunity",
        },
        "ootb_opportunity_people_engaged": {
            "type": "count",
            "periods": PAST,
            "description": "People engaged on the opportunity",
        },
    },
    "user": {
        "ootb_user": _ref(*USER_REF, "The user (id and name)"),
        "ootb_user_name": {"type": "text", "key": "user.name", "description": "Full name"},
        "ootb_user_email": {"type": "text", "key": "user.email", "description": "Email address"},
        "ootb_user_role": {"type": "text", "description": "Job title or role"},
        "ootb_user_team": _ref("team.internal_id", "team.name", "Team (id and name)"),
        "ootb_user_manager": {"type": "text", "description": "Manager's name"},
        "ootb_user_manager_email": {"type": "text", "description": "Manager's email address"},
        "ootb_user_primary_key": {"type": "id", "key": "user.crm_id", "description": "CRM user id"},
        "ootb_user_count_emails_sent": {
            "type": "count",
            "periods": PAST,
            "description": "Emails sent by the user",
        },
        "ootb_user_count_emails_received": {
            "type": "count",
            "periods": PAST,
            "description": "Emails received by the user",
        },
        "ootb_user_percentage_emails_inbound": {
            "type": "percentage",
            "periods": PAST,
            "description": "Share of the user's emails that are inbound",
        },
        "ootb_user_meetings_with_director_vp_exec": {
            "type": "count",
            "periods": PAST,
            "description": "Meetings with directors, VPs and executives",
        },
        "ootb_user_count_of_upcoming_meetings_standard": {
            "type": "count",
            "periods": FUTURE,
            "future": True,
            "description": "Meetings the user has scheduled",
        },
        "ootb_user_total_external_matched_activities_count": {
            "type": "count",
            "periods": PAST,
            "description": "External activities matched to accounts",
        },
    },
    "activity": {
        "ootb_activity_uid": {"type": "id", "key": "activity.uid", "description": "Activity id"},
        "ootb_activity_timestamp": {
            "type": "timestamp",
            "description": "When the activity happened",
        },
        "ootb_activity_type": {"type": "enumeration", "description": "Activity type"},
        "ootb_activity_subject": {"type": "text", "description": "Email subject or meeting title"},
        "ootb_activity_account": _ref(
            "account.internal_id", "account.name", "Matched account (id and name)"
        ),
        "ootb_activity_account_name": {
            "type": "text",
            "key": "account.name",
            "description": "Matched account name",
        },
        "ootb_activity_opportunity": _ref(
            "opportunity.internal_id", "opportunity.name", "Matched opportunity (id and name)"
        ),
        "ootb_activity_opportunity_name": {
            "type": "text",
            "key": "opportunity.name",
            "description": "Matched opportunity name",
        },
        "ootb_activity_external": {
            "type": "boolean",
            "description": "Involves people outside the company",
        },
        "ootb_activity_outbound": {
            "type": "boolean",
            "description": "Sent or initiated by the company",
        },
        "ootb_activity_originator": {"type": "text", "description": "Who started the activity"},
        "ootb_activity_email_from": {"type": "text", "description": "Email address of the sender"},
        "ootb_activity_is_meeting": {"type": "boolean", "description": "The activity is a meeting"},
        "ootb_activity_duration": {
            "type": "duration",
            "description": "Duration (meetings and calls)",
        },
    },
}

# Slugs of the appendix ("the field vocabulary in detail") that the section-3 list lacks:
# finer type, window family, description. Periods of verified slugs come from the
# appendix table itself; the ones given here are for slugs seen in production bodies.
APPENDIX_SLUGS: dict[str, dict[str, dict[str, Any]]] = {
    "account": {
        "ootb_account_closed_lost_opportunities": {
            "type": "count",
            "periods": PAST,
            "description": "Opportunities closed lost in the window",
        },
        "ootb_account_closed_won_opportunities": {
            "type": "count",
            "periods": PAST,
            "description": "Opportunities closed won in the window",
        },
        "ootb_account_count_of_emails": {
            "type": "count",
            "periods": PAST,
            "description": "Emails with the account",
        },
        "ootb_account_count_of_engaged_executives_external": {
            "type": "count",
            "periods": PAST,
            "description": "External executives engaged",
        },
        "ootb_account_count_of_external_people_contacted": {
            "type": "count",
            "periods": PAST,
            "description": "External people contacted",
        },
        "ootb_account_description": {"type": "text", "description": "Account description"},
    },
    "opportunity": {
        "ootb_opportunity_time_spent_with_partner_standard": {
            "type": "duration",
            "periods": F9,
            "description": "Time spent with partners on the opportunity",
        },
        "ootb_opportunity_executive_activities": {
            "type": "count",
            "periods": PAST,
            "description": "Activities with executives on the opportunity",
        },
        "ootb_opportunity_meetings_with_director_vp_exec": {
            "type": "count",
            "periods": PAST,
            "description": "Meetings with directors, VPs and executives",
        },
        "ootb_opportunity_total_activities_count": {
            "type": "count",
            "periods": PAST,
            "description": "Activities on the opportunity",
        },
    },
    "user": {
        "ootb_user_time_spent_activities_matched": {
            "type": "duration",
            "periods": F9,
            "description": "Time spent in external activities matched to accounts",
        },
        "ootb_user_external_meetings_matched": {
            "type": "count",
            "periods": F9,
            "description": "External meetings matched to accounts",
        },
        "ootb_user_opportunity_created_standard": {
            "type": "count",
            "periods": F9,
            "description": "Opportunities the user created",
        },
        "ootb_user_count_accounts_engaged_standard": {
            "type": "count",
            "description": "Accounts engaged (the server's 7-day default window)",
        },
        "ootb_user_percentage_time_spent_external": {
            "type": "percentage",
            "description": "Share of time spent with external people (default window)",
        },
    },
    "activity": {
        "ootb_activity_account_engagement_level": {
            "type": "score",
            "description": "Engagement level of the matched account",
        },
        "ootb_activity_opportunity_stage": {
            "type": "text",
            "description": "Stage of the matched opportunity",
        },
        "ootb_activity_owner": _ref(*USER_REF, "Owner of the activity (user id and name)"),
        "ootb_activity_created_at": {"type": "timestamp", "description": "When it was logged"},
        "ootb_activity_sentiment": {"type": "text", "description": "Sentiment"},
        "ootb_activity_summary": {"type": "text", "description": "Summary"},
        "ootb_activity_transcript_status": {"type": "text", "description": "Transcript status"},
        "ootb_activity_action_items": {"type": "text", "description": "Action items"},
        "ootb_activity_key_topics": {"type": "text", "description": "Key topics"},
    },
    "person": {
        "ootb_person_department": {"type": "text", "description": "Department"},
        "ootb_person_email": {"type": "text", "key": "person.email", "description": "Email"},
        "ootb_person_engagement_level": {"type": "score", "description": "Engagement level"},
        "ootb_person_external_participant": {
            "type": "boolean",
            "description": "Outside the company",
        },
        "ootb_person_job_title": {"type": "text", "description": "Job title"},
        "ootb_person_max_buying_power": {"type": "text", "description": "Highest buying power"},
        "ootb_person_min_buying_power": {"type": "text", "description": "Lowest buying power"},
        "ootb_person_phone": {"type": "text", "description": "Phone number"},
        "ootb_person_primary_key": {
            "type": "id",
            "key": "person.crm_id",
            "description": "CRM id of the person",
        },
        "ootb_person_seniority": {"type": "text", "description": "Seniority"},
        "ootb_person_seniority_level": {"type": "text", "description": "Seniority level"},
        "ootb_person_win_rate_level": {"type": "text", "description": "Win-rate level"},
    },
}

#: Slugs the field record says must not be requested (appendix, "Known bad").
KNOWN_BAD_HEADING = "Known bad [field]:"

# Period labels the spec does not spell out are in bspandas.catalog.periods; the build checks
# that the labels the spec does spell out agree with them.
TAG_SUFFIX = {"id": "_id", "name": "_name", "amount": "", "currency_iso_code": "_currency"}


def fail(message: str) -> None:
    raise SystemExit(f"build_catalog: {message}")


# -- the vendor reference ------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().rstrip("|").split("|")]


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def parse_reference(text: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rows of the field and metric tables, and the common-variation table."""
    rows: list[dict[str, Any]] = []
    variations: list[dict[str, str]] = []
    obj: str | None = None
    header: list[str] | None = None
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        match = re.fullmatch(r"(Account|Opportunity|User) Object", line)
        if match:
            obj, header = match.group(1).lower(), None
            continue
        if not line.endswith("|"):
            header = None
            section = line
            continue
        cells = _cells(line)
        if cells[0] in ("Field Name", "Metric Slug", "Variation ID"):
            header = cells
            continue
        if header is None:
            continue
        record = dict(zip(header, cells, strict=False))
        if header[0] == "Variation ID":
            variations.append(record)
            continue
        if obj is None:
            continue
        kind = "field" if header[0] == "Field Name" else "metric"
        rows.append({"object": obj, "kind": kind, "section": section, **record})
    return rows, variations


def _reference_entry(row: dict[str, Any]) -> Metric:
    slug = row.get("Field Name") or row["Metric Slug"]
    if slug not in REFERENCE_TYPES:
        fail(f"reference slug {slug!r} has no entry in REFERENCE_TYPES")
    spec = REFERENCE_TYPES[slug]
    typ = spec["type"]
    data_type = row["Data Type"]
    if DATA_TYPE_OF[typ] != data_type and not (typ == "count" and data_type == "Number"):
        fail(f"{slug}: reference says {data_type}, REFERENCE_TYPES says {typ}")
    rng: tuple[float, float] | None = None
    if row.get("Range"):
        lo, hi = row["Range"].split("-")
        rng = (_number(lo), _number(hi))
    periods: tuple[str, ...] = ()
    bare = False
    values: tuple[str, ...] = tuple(spec.get("values", ()))
    variations = row.get("Variations", "")
    if variations.startswith("Values:"):
        values = tuple(v.strip() for v in variations.removeprefix("Values:").split(","))
    elif variations:
        documented = [v.strip().lower() for v in variations.split(",")]
        bare = "current" in documented
        periods = tuple(
            dict.fromkeys(FIELD_SPELLING.get(p, p) for p in documented if p != "current")
        )
    example = row.get("Example Value") or row.get("Example Values") or None
    return Metric(
        object=row["object"],
        slug=slug,
        kind=row["kind"],
        description=row["Description"],
        data_type=data_type,
        type=typ,
        periods=periods,
        range=rng,
        bounds=_bounds(typ, rng, spec.get("bounds")),
        values=values,
        ordered=bool(spec.get("ordered", False)),
        picklist=bool(spec.get("picklist", False)),
        parts=(Part(suffix="", type=typ, key=spec.get("key"), values=values),),
        key=spec.get("key"),
        source="reference",
        example=example,
        category=row["section"],
        bare=not periods or bare,
    )


def _bounds(
    typ: str, rng: tuple[float, float] | None, explicit: tuple[float | None, float | None] | None
) -> tuple[float | None, float | None] | None:
    if explicit is not None:
        return explicit
    if rng is not None:
        return rng
    if typ in ("score", "percentage"):
        return (0, 100)
    if typ in ("count", "money", "duration"):
        return (0, None)
    return None


# -- the field notes -------------------------------------------------------------------------


def _section(text: str, title: str) -> str:
    start = text.index(title)
    rest = text[start + len(title) :]
    nxt = re.search(r"^#{2,3} ", rest, flags=re.MULTILINE)
    return rest[: nxt.start()] if nxt else rest


def parse_field_vocabulary(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Slugs per object from the bullet list of the field vocabulary (with notes)."""
    body = _section(text, "### Field vocabulary")
    bullets = re.split(r"^- ", body, flags=re.MULTILINE)
    vocabulary: dict[str, dict[str, dict[str, Any]]] = {}
    for bullet in bullets:
        match = re.match(r"(account|opportunity|user|activity): (.*)", bullet, flags=re.DOTALL)
        if not match:
            continue
        obj, listing = match.group(1), " ".join(match.group(2).split())
        slugs: dict[str, dict[str, Any]] = {}
        for item in re.split(r",\s*(?![^()]*\))", listing):
            note = re.search(r"\((.*)\)", item)
            name = re.sub(r"\s*\(.*\)", "", item).strip()
            slug = f"ootb_{obj}{name}" if name.startswith("_") else name
            info: dict[str, Any] = {}
            if note and "values like" in note.group(1):
                info["values"] = tuple(re.findall(r"`([^`]+)`", note.group(1)))
            slugs[slug] = info
        vocabulary[obj] = slugs
    return vocabulary


def parse_labels(text: str) -> dict[str, list[str]]:
    """``{slug with variation: [labels]}`` from the 'Labels seen for field slugs' table."""
    body = _section(text, "### Labels seen for field slugs")
    labels: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("| ootb_"):
            continue
        slug_cell, label_cell = _cells(line.strip("|"))
        slug_list = [s.strip() for s in slug_cell.split("/")]
        label_list = [s.strip() for s in label_cell.split(" / ")]
        if len(label_list) != len(slug_list):
            label_list = [label_cell] * len(slug_list)
        for slug, label in zip(slug_list, label_list, strict=True):
            labels[slug] = [part.strip() for part in label.split(", ")]
    return labels


def parse_expansions(text: str) -> list[str]:
    """Slugs that expand into ``(id)`` and ``(name)`` columns."""
    match = re.search(r"give `X \(id\)` and\s+`X \(name\)` \(([^)]*)\)", text)
    if not match:
        fail("cannot find the list of id/name expansions in query-api.md")
    return re.findall(r"`([^`]+)`", match.group(1))


def parse_window_labels(text: str) -> dict[str, str]:
    match = re.search(r"Window labels follow one pattern: `([^`]*)`", text)
    if not match:
        fail("cannot find the window label list in query-api.md")
    out = {}
    for label in (part.strip() for part in " ".join(match.group(1).split()).split(",")):
        out[label.lower().replace(" ", "_")] = label
    return out


_PERIOD_IDS = {p.id for p in PERIODS}


def _appendix(text: str) -> str:
    return text[text.index("## Appendix") :]


def parse_verified(text: str) -> dict[tuple[str, str], tuple[str, ...] | None]:
    """``{(object, slug): periods}`` from the appendix table of slugs verified live.

    ``None`` keeps the slug's own periods (attributes, or only the bare default probed);
    ``()`` means bare only.
    """
    body = _section(_appendix(text), "### Slugs verified live")
    out: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for line in body.splitlines():
        cells = _cells(line.strip().strip("|")) if line.startswith("| ") else []
        if len(cells) != 3 or cells[0] not in (
            "account",
            "opportunity",
            "user",
            "activity",
            "person",
        ):
            continue
        obj, slugs, windowing = cells
        periods: tuple[str, ...] | None
        if windowing.startswith("F9"):
            periods = F9
        elif windowing.startswith("bare only"):
            periods = ()
        elif windowing.startswith("last_7/14/30/60_days"):
            periods = ("last_7_days", "last_14_days", "last_30_days", "last_60_days")
        else:
            found = tuple(w for w in re.findall(r"[a-z0-9_]+", windowing) if w in _PERIOD_IDS)
            periods = found or None
        for item in slugs.split(","):
            name = re.sub(r"\s*\(.*\)", "", item).strip()
            slug = f"ootb_{obj}{name}" if name.startswith("_") else name
            out[(obj, slug)] = periods
    if len(out) < 40:
        fail(f"only {len(out)} verified slugs parsed from the appendix; the table changed?")
    return out


def parse_seen(text: str) -> set[tuple[str, str]]:
    """``(object, slug)`` pairs of the appendix list of slugs seen in production bodies."""
    body = _section(_appendix(text), "### Slugs seen in production bodies")
    out: set[tuple[str, str]] = set()
    for bullet in re.split(r"^- ", body, flags=re.MULTILINE):
        match = re.match(r"(account|opportunity|activity|user): (.*)", bullet, flags=re.DOTALL)
        if not match:
            continue
        obj = match.group(1)
        listing = re.sub(r"\([^)]*\)", "", " ".join(match.group(2).split()))
        for item in re.split(r"[,.]\s*", listing):
            name = item.strip().split(" ")[0]
            if name.startswith("_"):
                out.add((obj, f"ootb_{obj}{name}"))
            elif name.startswith("ootb_"):
                out.add((obj, name))
    return out


def parse_known_bad(text: str) -> dict[str, str]:
    """``{slug: why}`` from the appendix's "Known bad" paragraph."""
    body = _appendix(text)
    start = body.index(KNOWN_BAD_HEADING) + len(KNOWN_BAD_HEADING)
    paragraph = " ".join(body[start : body.index("\n\n", start)].split())
    out: dict[str, str] = {}
    for sentence in paragraph.split(";"):
        match = re.search(r"`([^`]+)` (.*)", sentence)
        if match:
            out[match.group(1)] = match.group(2).split(". ")[0].strip().rstrip(".")
    if len(out) != 2:
        fail(f"expected two known-bad slugs in the appendix, found {sorted(out)}")
    return out


def parse_more_labels(text: str) -> dict[str, list[str]]:
    """``{slug: [labels]}`` from the appendix's "More labels" table (these win)."""
    body = _section(_appendix(text), "### More labels")
    labels: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("| ootb_"):
            continue
        slug_cell, label_cell = _cells(line.strip("|"))
        if "/" in slug_cell:
            continue  # participants parts: not in the catalog
        label_cell = label_cell.replace("[probable]", "").strip()
        labels[slug_cell] = [part.strip() for part in label_cell.split(", ")]
    return labels


def _field_entry(
    obj: str,
    slug: str,
    spec: dict[str, Any],
    note: dict[str, Any],
    labels: dict[str, list[str]],
    evidence: str,
) -> Metric:
    typ = spec["type"]
    periods = tuple(spec.get("periods", ()))
    values = tuple(note.get("values", spec.get("values", ())))
    label: str | None = None
    label_known = False
    window_in_label = True
    doubled = typ == "percentage" and bool(periods)
    seen = labels.get(slug)
    if seen is None:
        for period in periods:
            suffix = f"_{period}_{period}" if doubled else f"_{period}"
            if slug + suffix in labels:
                seen = labels[slug + suffix]
                window = f" ({period_label(period)})"
                window_in_label = all(x.endswith(window) for x in seen)
                if window_in_label:
                    seen = [x.removesuffix(window) for x in seen]
                break
    parts: tuple[Part, ...]
    if typ == "reference":
        id_key, name_key = spec["refs"]
        parts = (
            Part(suffix="_id", type="internal_id", tag="id", key=id_key),
            Part(suffix="_name", type="text", tag="name", key=name_key),
        )
    elif slug == "ootb_opportunity_amount":
        parts = (
            Part(suffix="", type="money", tag="amount"),
            Part(suffix="_currency", type="text", tag="currency_iso_code"),
        )
    else:
        parts = (Part(suffix="", type=typ, key=spec.get("key"), values=values),)
    if seen is not None:
        label_known = True
        if len(parts) > 1:
            bases = {re.sub(r" \([^)]*\)$", "", x) for x in seen}
            tags = [re.search(r"\(([^)]*)\)$", x).group(1) for x in seen]  # type: ignore[union-attr]
            if len(bases) != 1 or tags != [p.tag for p in parts]:
                fail(f"{slug}: labels {seen} do not match parts {[p.tag for p in parts]}")
            label = bases.pop()
        else:
            label = seen[0]
    if label is None:
        label = _derived_label(obj, slug, parts)
    return Metric(
        object=obj,
        slug=slug,
        kind="metric" if periods else "field",
        description=spec["description"],
        data_type="Reference" if typ == "reference" else DATA_TYPE_OF[typ],
        type=typ,
        periods=periods,
        bounds=_bounds(typ, None, spec.get("bounds")),
        values=values,
        ordered=bool(spec.get("ordered", False)),
        picklist=bool(spec.get("picklist", False)),
        label=label,
        label_known=label_known,
        window_in_label=window_in_label,
        doubled_suffix=doubled,
        parts=parts,
        key=spec.get("key"),
        source="field",
        evidence=evidence,
        filterable=bool(spec.get("filterable", True)),
        future=bool(spec.get("future", False)),
        category="Field vocabulary",
        bare=not periods,
        currency=spec.get("currency"),
    )


def _derived_label(obj: str, slug: str, parts: tuple[Part, ...]) -> str:
    """A readable label for slugs whose real label nobody recorded (label_known=False)."""
    tokens = slug.removeprefix(f"ootb_{obj}_").removeprefix("ootb_").split("_")
    if tokens[:2] == ["count", "of"]:
        tokens = tokens[2:]
    elif tokens[:1] == ["count"]:
        tokens = tokens[1:]
    words = [w for w in tokens if w and w != "standard"]
    return " ".join(w.upper() if w == "crm" else w.capitalize() for w in words)


def _merge(reference: Metric, field: Metric) -> Metric:
    """A slug documented by the vendor and also seen in the field: keep the reference's
    type, range and periods, take the field's label, and note both sources."""
    return Metric(
        **{
            **reference.to_dict(),
            "parts": reference.parts,
            "periods": reference.periods,
            "values": reference.values,
            "range": reference.range,
            "bounds": reference.bounds,
            "label": field.label,
            "label_known": field.label_known,
            "window_in_label": field.window_in_label,
            "key": reference.key or field.key,
            "source": "both",
            "evidence": field.evidence,
            "picklist": reference.picklist or field.picklist,
            "bare": reference.bare or field.bare,
            "currency": reference.currency or field.currency,
        }
    )


def _reference_label(entry: Metric) -> Metric:
    if entry.label is not None:
        return entry
    label = _derived_label(entry.object, entry.slug, entry.parts)
    return Metric(**{**entry.to_dict(), "parts": entry.parts, "label": label, "label_known": False})


def build(spec_dir: Path) -> dict[str, Any]:
    reference_text = (spec_dir / "object-metric-reference.txt").read_text(encoding="utf-8")
    api_text = (spec_dir / "query-api.md").read_text(encoding="utf-8")
    rows, variations = parse_reference(reference_text)
    if len(rows) < 60:
        fail(f"only {len(rows)} rows parsed from the reference; the table format changed?")
    entries: dict[tuple[str, str], Metric] = {}
    for row in rows:
        entry = _reference_entry(row)
        entries[(entry.object, entry.slug)] = entry

    labels = parse_labels(api_text)
    labels.update(parse_more_labels(api_text))  # the appendix's labels win
    expansions = set(parse_expansions(api_text))
    expansions |= {slug for slug, seen in labels.items() if seen[-1].endswith("(name)")}
    verified = parse_verified(api_text)
    seen = parse_seen(api_text)
    vocabulary = parse_field_vocabulary(api_text)
    for obj, slugs in APPENDIX_SLUGS.items():
        for slug in slugs:
            if (obj, slug) not in verified and (obj, slug) not in seen:
                fail(f"APPENDIX_SLUGS names {obj}.{slug}, which the appendix does not")
            vocabulary.setdefault(obj, {}).setdefault(slug, {})
    for obj, slugs in vocabulary.items():
        for slug, note in slugs.items():
            spec = FIELD_SLUGS.get(obj, {}).get(slug) or APPENDIX_SLUGS.get(obj, {}).get(slug)
            if spec is None:
                fail(f"field slug {obj}.{slug} from query-api.md has no entry in FIELD_SLUGS")
            listed = slug in FIELD_SLUGS.get(obj, {})
            if listed and (spec["type"] == "reference") != (slug in expansions):
                fail(f"{slug}: expansion in query-api.md and FIELD_SLUGS disagree")
            recorded = verified.get((obj, slug))
            if recorded is not None:  # the periods verified live win
                spec = {**spec, "periods": recorded}
            evidence = (
                "verified"
                if (obj, slug) in verified
                else "seen"
                if (obj, slug) in seen or slug in FIELD_SLUGS.get(obj, {})
                else "reference"
            )
            field = _field_entry(obj, slug, spec, note, labels, evidence)
            key = (obj, slug)
            merged = _merge(entries[key], field) if key in entries else field
            if recorded is not None and merged.periods != field.periods:
                merged = Metric(
                    **{
                        **merged.to_dict(),
                        "parts": merged.parts,
                        "periods": field.periods,
                        "bare": field.bare,
                        "kind": field.kind,
                    }
                )
            entries[key] = merged
    for obj, slugs in FIELD_SLUGS.items():
        extra = set(slugs) - set(vocabulary.get(obj, {}))
        if extra:
            fail(f"FIELD_SLUGS names slugs query-api.md does not: {sorted(extra)}")
    missing = sorted(f"{o}.{s}" for o, s in verified if (o, s) not in entries)
    known_missing = {"activity.ootb_activity_match_result"}  # 9 columns, labels not recorded
    if set(missing) - known_missing:
        fail(f"verified slugs without a catalog entry: {sorted(set(missing) - known_missing)}")

    window_labels = parse_window_labels(api_text)
    for period, label in window_labels.items():
        if period_label(period) != label:
            fail(f"period {period}: spec label {label!r} != catalog label {period_label(period)!r}")

    ordered = [_reference_label(e) for e in entries.values()]
    ordered.sort(
        key=lambda e: (
            ("account", "opportunity", "user", "activity", "person").index(e.object),
            e.slug,
        )
    )
    metrics = [e.to_dict() for e in ordered]
    digest = hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest()[:12]
    return {
        "version": digest,
        "generated_from": ["object-metric-reference.txt", "query-api.md"],
        "reference_variations": variations,
        "known_bad": parse_known_bad(api_text),
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the shipped file differs")
    args = parser.parse_args(argv)
    if not args.spec_dir.is_dir():
        fail(f"spec directory {args.spec_dir} not found")
    data = build(args.spec_dir)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `make catalog`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(data['metrics'])} entries)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(data['metrics'])} entries, version {data['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
