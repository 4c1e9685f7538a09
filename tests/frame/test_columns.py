"""Column introspection: catalog entries, the object, the row key, the backend."""

from __future__ import annotations

import pandas as pd
import pytest

import bspandas
import bspandas.frame.accessor
from bspandas import catalog
from bspandas import frame as reshape
from tests.frame.frames import accounts_frame, opportunities_frame

# -- column names and objects ----------------------------------------------------------------


def test_variation_columns_map_names_once_including_doubled_percentages() -> None:
    frame = accounts_frame()
    found = reshape.variation_columns(frame, "account")
    assert found == {
        "ootb_emails_sent_current_quarter": ("ootb_emails_sent", "current_quarter"),
        "ootb_emails_sent_last_7_days": ("ootb_emails_sent", "last_7_days"),
        "ootb_account_percentage_emails_inbound_last_90_days": (
            "ootb_account_percentage_emails_inbound",
            "last_90_days",
        ),
        "ootb_emails_sent_last_30_days": ("ootb_emails_sent", "last_30_days"),
        "ootb_account_percentage_emails_inbound_last_30_days": (
            "ootb_account_percentage_emails_inbound",
            "last_30_days",
        ),
    }
    doubled = "ootb_account_percentage_emails_inbound_last_90_days_last_90_days"
    info = reshape.catalog_columns([doubled, "ootb_account_original_owner_name"], "account")
    assert (info[doubled].slug, info[doubled].period) == (
        "ootb_account_percentage_emails_inbound",
        "last_90_days",
    )
    owner = info["ootb_account_original_owner_name"]
    assert (owner.period, owner.part.suffix, owner.key) == (None, "_name", "user.name")


def test_infer_object_explicit_attrs_then_columns() -> None:
    opps = opportunities_frame()
    assert reshape.infer_object(opps) == "opportunity"
    assert reshape.infer_object(opps, "user") == "user"
    opps.attrs["backstory"] = {"object": "account"}
    assert reshape.infer_object(opps) == "account"
    opps.attrs["backstory"] = {"object": "nonsense"}
    assert reshape.infer_object(opps) == "opportunity"
    with pytest.raises(bspandas.UnknownObjectError):
        reshape.infer_object(opps, "deal")


def test_infer_object_without_catalog_columns_says_how_to_name_it() -> None:
    with pytest.raises(bspandas.QueryError, match=r"as_object\(\"account\"\)"):
        reshape.infer_object(pd.DataFrame({"a": [1], "b": [2]}))


def test_infer_object_lists_candidates_when_ambiguous() -> None:
    catalog.register("region__c", type="text", object="account")
    catalog.register("region__c", type="text", object="user")
    with pytest.raises(bspandas.QueryError) as info:
        reshape.infer_object(pd.DataFrame({"region__c": ["EMEA"]}))
    assert "account (1 columns)" in str(info.value)
    assert "user (1 columns)" in str(info.value)


def test_primary_key_column_prefers_crm_id() -> None:
    frame = pd.DataFrame(columns=["ootb_account_id", "ootb_account_name", "ootb_account_crm_id"])
    assert reshape.primary_key_column(frame, "account") == "ootb_account_crm_id"
    assert reshape.primary_key_column(pd.DataFrame(columns=["industry"]), "account") is None


def test_detect_backend_from_attrs_or_dtypes() -> None:
    assert reshape.detect_backend(accounts_frame("pyarrow")) == "pyarrow"
    assert reshape.detect_backend(accounts_frame()) == "numpy_nullable"
    frame = accounts_frame()
    frame.attrs["backstory"] = {"dtype_backend": "pyarrow"}
    assert reshape.detect_backend(frame) == "pyarrow"


# -- one spelling: object= (obj= kept for one release) ------------------------------------------


def test_introspection_takes_object_and_the_old_obj_spelling_warns() -> None:
    frame = accounts_frame()
    names = frame.columns
    new = (
        reshape.catalog_columns(names, object="account"),
        reshape.variation_columns(frame, object="account"),
        reshape.primary_key_column(frame, object="account"),
    )
    assert new[2] == "ootb_account_crm_id"
    assert set(new[1]) == {c for c in names if c in new[0] and new[0][c].period is not None}
    with pytest.warns(FutureWarning) as record:
        old = (
            reshape.catalog_columns(names, obj="account"),
            reshape.variation_columns(frame, obj="account"),
            reshape.primary_key_column(frame, obj="account"),
        )
    assert old == new
    assert [str(w.message).split("(")[0] for w in record] == [
        "catalog_columns",
        "variation_columns",
        "primary_key_column",
    ]
    assert all("use object=" in str(w.message) and w.filename == __file__ for w in record)
    with pytest.raises(TypeError, match="got both obj= and object="):
        reshape.primary_key_column(frame, obj="account", object="account")


@pytest.mark.parametrize(
    "columns",
    [["x"], ["ootb_account_name", "ootb_opportunity_name"]],
    ids=["no catalog column", "two objects tie"],
)
def test_a_frame_of_no_known_object_is_a_frame_error(columns: list[str]) -> None:
    frame = pd.DataFrame({c: ["a"] for c in columns})
    with pytest.raises(bspandas.FrameError, match=r'as_object\("account"\)'):
        frame.backstory.validate()
    with pytest.raises(bspandas.QueryError):  # still caught as before, until 0.3
        frame.backstory.describe()
