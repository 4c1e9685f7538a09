"""The finer catalog types of the vendor reference's slugs (what its Data Type column
does not say): type, key, values and bounds per slug."""

from __future__ import annotations

from typing import Any

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
