"""The attribute a filter names: variation ids, expanded attributes, unfilterable columns."""

from __future__ import annotations

import pytest

from bspandas._exceptions import InvalidFilterError
from bspandas.query import parse_filter, parse_where

ACCOUNT = "account"


def api(text: str, **variables: object) -> object:
    return parse_where(text, ACCOUNT, variables=variables).to_api()


def leaf(slug: str, clause: dict[str, object], variation: str | None = None) -> dict[str, object]:
    attribute = {"slug": slug} if variation is None else {"slug": slug, "variation_id": variation}
    return {"attribute": attribute, "clause": clause}


def test_variation_ids_in_filters() -> None:
    assert api("ootb_emails_sent_last_30_days > 3") == leaf(
        "ootb_emails_sent", {"$gt": 3}, "ootb_emails_sent_last_30_days"
    )
    pct = parse_where("ootb_account_percentage_emails_inbound_last_90_days > 50", ACCOUNT)
    assert pct.to_api()["attribute"]["variation_id"] == (  # type: ignore[index]
        "ootb_account_percentage_emails_inbound_last_90_days_last_90_days"
    )


def test_expanded_attribute_filters_on_its_id() -> None:
    assert api("ootb_account_original_owner_id == 7") == leaf(
        "ootb_account_original_owner", {"$eq": 7}
    )
    assert parse_filter({"ootb_account_original_owner": 7}, ACCOUNT).to_api() == leaf(
        "ootb_account_original_owner", {"$eq": 7}
    )
    with pytest.raises(InvalidFilterError, match="first column"):
        api("ootb_account_original_owner_name == 'Jane'")


def test_list_columns_cannot_be_filtered() -> None:
    with pytest.raises(InvalidFilterError, match="no filter"):
        parse_where("ootb_opportunity_owners == 'a'", "opportunity")
