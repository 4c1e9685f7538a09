"""The field vocabulary's slugs as typed by hand: the window families (periods) the field
uses, its spellings of the documented periods, and per slug its finer type, window family,
key and description (what query-api.md does not state)."""

from __future__ import annotations

from typing import Any

from catalog_build.reference_types import FORECAST_CATEGORIES, STAGES

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
