"""Slugs of the spec's appendix that the field vocabulary list lacks, typed by hand."""

from __future__ import annotations

from typing import Any

from catalog_build.field_slugs import F9, PAST, USER_REF, _ref

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
