"""Wire-format tests of the sandbox server, driven with plain ``requests`` and raw sockets."""

from __future__ import annotations

import contextlib
import csv
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from bspandas._exceptions import InsecureConfigWarning
from bspandas.sandbox import EXPORT_PATH, TOKEN_PATH, Sandbox, serve
from bspandas.sandbox import tokens as server_module
from bspandas.sandbox.command import build_parser
from bspandas.sandbox.command import run as run_sandbox
from bspandas.sandbox.render import render_cells
from bspandas.sandbox.testing import get_token, raw_post, read_csv_rows, session_for

FORM = "application/x-www-form-urlencoded"


def export(http: requests.Session, sb: Sandbox, query: Any) -> requests.Response:
    return http.post(sb.export_url, json=query, timeout=30)


def rows_of(answer: requests.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    return read_csv_rows(answer.content)


def form(sb: Sandbox, **override: str) -> dict[str, str]:
    data = {
        "grant_type": "client_credentials",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
    }
    data.update(override)
    return data


# -- authentication ---------------------------------------------------------------------------


def test_token_endpoint_takes_form_encoded_credentials(sandbox: Sandbox) -> None:
    answer = requests.post(sandbox.token_url, data=form(sandbox), timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    record = sandbox.requests[-1]
    assert (record.endpoint, record.status, record.client_id) == ("token", 200, sandbox.client_id)
    assert "client_secret" not in record.query


def test_token_endpoint_field_order_is_irrelevant(sandbox: Sandbox) -> None:
    body = (
        f"client_secret={sandbox.client_secret}&client_id={sandbox.client_id}"
        "&grant_type=client_credentials"
    )
    answer = requests.post(sandbox.token_url, data=body, headers={"Content-Type": FORM}, timeout=10)
    assert answer.status_code == 200


def test_token_endpoint_refuses_json_credentials(sandbox: Sandbox) -> None:
    answer = requests.post(sandbox.token_url, json=form(sandbox), timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"client_secret": ""}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_refuses_bad_credentials(
    sandbox: Sandbox, override: dict[str, str], status: int, error: str
) -> None:
    answer = requests.post(sandbox.token_url, data=form(sandbox, **override), timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["code"] == status


def test_missing_credentials_get_401(sandbox: Sandbox) -> None:
    answer = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"}, timeout=10)
    assert answer.status_code == 401


@pytest.mark.parametrize("body", [b"grant_type", b"a=1&a=2", b"\xff\xfe=\x00"])
def test_malformed_form_bodies_get_400(sandbox: Sandbox, body: bytes) -> None:
    answer = requests.post(sandbox.token_url, data=body, headers={"Content-Type": FORM}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_credentials_are_compared_in_constant_time(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(server_module.hmac, "compare_digest", spy)
    requests.post(sandbox.token_url, data=form(sandbox, client_secret="nope"), timeout=10)
    requests.post(sandbox.token_url, data=form(sandbox, client_id="ghost"), timeout=10)
    assert len(calls) == 2
    assert calls[0][0] == b"nope"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_export_without_valid_token_gets_401(sandbox: Sandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    query = {"object": "account", "columns": [{"slug": "ootb_account_name"}]}
    answer = requests.post(sandbox.export_url, json=query, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"code": 401, "message": "Invalid or expired token"}


def test_tokens_expire_after_their_lifetime(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=5, users=2, token_lifetime=60, advertised_token_lifetime=7200)
    with requests.Session() as http:
        answer = http.post(sb.token_url, data=form(sb), timeout=10)
        assert answer.json()["expires_in"] == 7200  # the answer may lie about the lifetime
        http.headers["Authorization"] = "Bearer " + answer.json()["access_token"]
        query = {"object": "user", "columns": [{"slug": "ootb_user_name"}]}
        assert export(http, sb, query).status_code == 200
        sb.advance_clock(59)
        assert export(http, sb, query).status_code == 200
        sb.advance_clock(2)
        expired = export(http, sb, query)
        assert expired.status_code == 401
        assert expired.json()["message"] == "Invalid or expired token"
        http.headers["Authorization"] = "Bearer " + get_token(sb, http)
        assert export(http, sb, query).status_code == 200
        sb.expire_tokens()
        assert export(http, sb, query).status_code == 401


# -- columns and labels -----------------------------------------------------------------------


def test_header_holds_labels_in_request_order_with_repeats(sandbox: Sandbox) -> None:
    columns = [
        {"slug": "ootb_account_count_of_meetings_standard",
         "variation_id": "ootb_account_count_of_meetings_standard_last_30_days"},
        {"slug": "ootb_account_name"},
        {"slug": "ootb_account_count_of_meetings_standard",
         "variation_id": "ootb_account_count_of_meetings_standard_any_time"},
        {"slug": "ootb_account_original_owner"},
        {"slug": "ootb_account_open_opportunity_amount_closing_standard",
         "variation_id": "ootb_account_open_opportunity_amount_closing_standard_this_quarter"},
    ]  # fmt: skip
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, {"object": "account", "columns": columns}))
    assert rows[0] == [
        "Meetings (Last 30 Days)",
        "Account Name",
        "Meetings (Any Time)",
        "Account Owner (id)",
        "Account Owner (name)",
        "Sum of Open Opportunities Closing (This Quarter)",
    ]
    assert len(rows) == 1 + 200


def test_unknown_slugs_and_variations_are_dropped_silently(sandbox: Sandbox) -> None:
    slug = "ootb_account_count_of_emails_sent"
    pct = "ootb_account_percentage_emails_inbound"
    columns = [
        {"slug": "ootb_account_name"},
        {"slug": "ootb_no_such_metric"},
        {"slug": slug, "variation_id": "last_30_days"},  # the documented mistake
        {"slug": slug, "variation_id": f"{slug}_next_week"},
        # query-api.md section 2: "one tenant rejected the `current_*` ... by dropping the column"
        {"slug": slug, "variation_id": f"{slug}_current_quarter"},
        {"slug": pct, "variation_id": f"{pct}_last_90_days"},  # single suffix
        {"slug": pct, "variation_id": f"{pct}_last_90_days_last_90_days"},  # doubled: works
        {"slug": "ootb_account_name", "variation_id": "ootb_account_name_last_7_days"},
        {"slug": "ootb_opportunity_name"},  # another object's slug
    ]
    with session_for(sandbox) as http:
        answer = export(http, sandbox, {"object": "account", "columns": columns})
    assert answer.status_code == 200
    assert read_csv_rows(answer.content)[0] == ["Account Name", "% of Emails that are Inbound"]


def test_windowed_slug_without_variation_gets_the_default_window(sandbox: Sandbox) -> None:
    columns = [
        {"slug": "ootb_account_count_of_emails_sent"},
        {"slug": "ootb_account_count_of_emails_sent",
         "variation_id": "ootb_account_count_of_emails_sent_last_7_days"},
        {"slug": "ootb_account_upcoming_meetings_standard"},
        {"slug": "ootb_account_upcoming_meetings_standard",
         "variation_id": "ootb_account_upcoming_meetings_standard_next_7_days"},
    ]  # fmt: skip
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, {"object": "account", "columns": columns}))
    assert rows[0] == [
        "Emails Sent (Last 7 Days)",
        "Emails Sent (Last 7 Days)",
        "Upcoming Meetings (Next 7 Days)",
        "Upcoming Meetings (Next 7 Days)",
    ]
    assert all(r[0] == r[1] and r[2] == r[3] for r in rows[1:])
    assert any(r[0] != "0" for r in rows[1:])


def test_expansions_into_id_name_and_amount_currency(sandbox: Sandbox) -> None:
    columns = [
        {"slug": "ootb_opportunity_owner"},
        {"slug": "ootb_opportunity_original_owner"},
        {"slug": "ootb_opportunity_amount"},
    ]
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, {"object": "opportunity", "columns": columns}))
    assert rows[0] == [
        "Opportunity Owner (id)",
        "Opportunity Owner (name)",
        "Opportunity Owner (id)",
        "Opportunity Owner (name)",
        "Amount (amount)",
        "Amount (currency_iso_code)",
    ]
    users = sandbox.tenant.users.set_index("internal_id")["name"]
    opportunities = sandbox.tenant.opportunities
    for row, (_, opp) in zip(rows[1:], opportunities.iterrows(), strict=True):
        assert int(row[0]) == opp["owner_id"]
        assert row[1] == users[opp["owner_id"]]
        assert float(row[4]) == pytest.approx(opp["amount"])
        assert row[5] == opp["currency"]
    assert {r[5] for r in rows[1:]} <= {"USD", "EUR", "GBP", "JPY"}


# -- value rendering ----------------------------------------------------------------------------


PATTERNS = {
    "boolean": r"True|False",
    "timestamp": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00",
    "date": r"\d{4}-\d\d-\d\d 00:00:00\+00:00",  # the field writes dates as midnight UTC
    "duration": r"\d+:[0-5]\d:[0-5]\d",
    "internal_id": r"\d{13,}",
    "count": r"\d+",
    "list": r"\[[^\[\]]*\]",
}


def test_values_render_as_the_api_writes_them(sandbox: Sandbox) -> None:
    columns = [
        {"slug": "ootb_opportunity_is_won"},
        {"slug": "ootb_opportunity_created_at"},
        {"slug": "ootb_opportunity_close_date"},
        {"slug": "ootb_opportunity_days_in_stage"},
        {"slug": "ootb_opportunity_id"},
        {"slug": "ootb_days_in_current_stage"},
        {"slug": "ootb_opportunity_owners"},
        {"slug": "ootb_opportunity_crm_id"},
        {"slug": "ootb_opportunity_converted_amount"},
        {"slug": "ootb_opportunity_account"},
    ]
    kinds = ["boolean", "timestamp", "date", "duration", "internal_id", "count", "list"]
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, {"object": "opportunity", "columns": columns}))
    for row in rows[1:]:
        for kind, cell in zip(kinds, row, strict=False):
            assert re.fullmatch(PATTERNS[kind], cell), (kind, cell)
        assert re.fullmatch(r"006[0-9A-Za-z]{12}", row[7])
        assert re.fullmatch(r"\d+(\.\d{1,2})?", row[8]), row[8]  # never 1e+06
        assert re.fullmatch(r"001[0-9A-Za-z]{12}", row[9])
        hours = int(row[3].split(":")[0])
        assert hours // 24 == int(row[5])  # Days in Stage agrees with Days In Current Stage
    assert any(int(r[3].split(":")[0]) > 24 for r in rows[1:])
    assert any(";" in r[6] for r in rows[1:])


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT, st.sampled_from(['a,b', '"', "x\ny", "\r", ""])),
                min_size=2, max_size=8))  # fmt: skip
def test_text_cells_round_trip_through_a_csv_reader(values: list[str | None]) -> None:
    cells = render_cells("text", pa.array(values, pa.string())).to_pylist()
    parsed = next(csv.reader(io.StringIO(",".join(cells) + "\r\n", newline="")))
    assert parsed == [v if v is not None else "" for v in values]
    for value, cell in zip(values, cells, strict=True):
        if value is None:
            assert cell == ""
        elif value == "":
            assert cell == '""'


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_money_renders_in_plain_decimal_notation(value: float) -> None:
    (cell,) = render_cells("money", pa.array([value])).to_pylist()
    assert re.fullmatch(r"-?\d+(\.\d{1,2})?", cell), cell
    assert float(cell) == pytest.approx(value, abs=0.0055)


def test_empty_string_is_quoted_and_missing_value_is_empty(sandbox: Sandbox) -> None:
    query = {"object": "opportunity", "columns": [{"slug": "ootb_opportunity_type"}]}
    with session_for(sandbox) as http:
        answer = export(http, sandbox, query)
    lines = answer.content.decode().split("\r\n")
    assert lines[0] == "Type"
    assert lines[-1] == ""
    cells = lines[1:-1]
    kinds = sandbox.tenant.opportunities["type"]
    assert len(cells) == len(kinds)
    for cell, value in zip(cells, kinds, strict=True):
        if pd.isna(value):
            assert cell == ""
        elif value == "":
            assert cell == '""'
        else:
            assert cell == value
    assert '""' in cells
    assert "" in cells


def test_text_with_commas_quotes_and_newlines_round_trips(sandbox: Sandbox) -> None:
    query = {
        "object": "activity",
        "columns": [{"slug": "ootb_activity_subject"}, {"slug": "ootb_activity_account_name"}],
    }
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, query))
    activities = sandbox.tenant.activities
    names = sandbox.tenant.accounts.set_index("internal_id")["name"]
    expected_subjects = (
        activities["subject"].astype(object).where(activities["subject"].notna(), "")
    )
    assert [r[0] for r in rows[1:]] == list(expected_subjects)
    assert [r[1] for r in rows[1:]] == list(names[activities["account_id"]])
    assert any("\n" in r[0] for r in rows[1:])
    assert any('"' in r[1] and "," in r[1] for r in rows[1:]) or any('"' in r[1] for r in rows[1:])


def test_no_matching_rows_gives_the_header_line_alone(sandbox: Sandbox) -> None:
    query = {
        "object": "account",
        "columns": [{"slug": "ootb_account_name"}, {"slug": "ootb_account_original_owner"}],
        "filter": {"attribute": {"slug": "ootb_account_name"}, "clause": {"$eq": "no such name"}},
    }
    with session_for(sandbox) as http:
        answer = export(http, sandbox, query)
    assert answer.status_code == 200
    assert answer.content == b"Account Name,Account Owner (id),Account Owner (name)\r\n"


def test_answers_are_chunked_csv(sandbox: Sandbox) -> None:
    token = get_token(sandbox)
    query = {"object": "user", "columns": [{"slug": "ootb_user"}, {"slug": "ootb_user_email"}]}
    raw = raw_post(sandbox, EXPORT_PATH, query, headers={"Authorization": f"Bearer {token}"})
    assert raw.status == 200
    assert raw.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in raw.headers
    assert raw.headers["content-type"].startswith("text/csv")
    assert raw.terminated
    assert not raw.reset
    assert len(read_csv_rows(raw.body)) == 1 + 30


# -- request shape ------------------------------------------------------------------------------


def test_sort_ascending_descending_and_multi_key(sandbox: Sandbox) -> None:
    accounts = sandbox.tenant.accounts
    columns = [{"slug": "ootb_account_name"}, {"slug": "ootb_account_id"}]
    by_name = [{"attribute": {"slug": "ootb_account_name"}, "direction": "asc"}]
    multi = [
        {"attribute": {"slug": "ootb_account_type"}, "direction": "desc"},
        {"attribute": {"slug": "annual_revenue"}, "direction": "asc"},
    ]
    with session_for(sandbox) as http:
        asc = rows_of(export(http, sandbox, {"object": "account", "columns": columns,
                                             "sort": by_name}))  # fmt: skip
        by_name[0]["direction"] = "desc"
        desc = rows_of(export(http, sandbox, {"object": "account", "columns": columns,
                                              "sort": by_name}))  # fmt: skip
        both = rows_of(export(http, sandbox, {"object": "account", "columns": columns,
                                              "sort": multi}))  # fmt: skip
    names = sorted(accounts["name"])
    assert [r[0] for r in asc[1:]] == names
    assert [r[0] for r in desc[1:]] == names[::-1]
    frame = accounts.assign(type=accounts["type"].astype(str), order=np.arange(len(accounts)))
    expected = frame.sort_values(
        ["type", "annual_revenue", "order"], ascending=[False, True, True], na_position="last"
    )
    assert [int(r[1]) for r in both[1:]] == list(expected["internal_id"])


def test_limit_and_unknown_keys_are_ignored(sandbox: Sandbox) -> None:
    query = {
        "object": "account",
        "columns": [{"slug": "ootb_account_id"}],
        "limit": 3,
        "page": 2,
        "format": "parquet",
    }
    with session_for(sandbox) as http:
        rows = rows_of(export(http, sandbox, query))
    assert len(rows) == 201


def test_trend_by_is_refused(sandbox: Sandbox) -> None:
    query = {"object": "account", "columns": [{"slug": "ootb_account_id"}], "trend_by": "month"}
    with session_for(sandbox) as http:
        answer = export(http, sandbox, query)
    assert answer.status_code == 400
    assert answer.json() == {"message": "Trend by unsupported in exporting"}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"object": "planet", "columns": [{"slug": "x"}]}, "Unknown object"),
        ({"columns": [{"slug": "ootb_account_id"}]}, "Unknown object"),
        ({"object": "account"}, "report.columns.invalid"),
        ({"object": "account", "columns": []}, "report.columns.invalid"),
        ({"object": "account", "columns": ["ootb_account_id"]}, "report.columns.invalid"),
        ({"object": "account", "columns": [{"slug": "ootb_account_id"}], "sort": {}},
         "report.sort.invalid"),
        ({"object": "account", "columns": [{"slug": "ootb_account_id"}],
          "sort": [{"attribute": {"slug": "ootb_account_id"}, "direction": "up"}]},
         "report.sort.invalid"),
        ([1, 2, 3], "JSON object"),
    ],
)  # fmt: skip
def test_malformed_queries_get_400(sandbox: Sandbox, query: Any, needle: str) -> None:
    with session_for(sandbox) as http:
        answer = export(http, sandbox, query)
    assert answer.status_code == 400
    assert needle in answer.text


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[" * 100_000])
def test_malformed_json_bodies_get_400_not_a_crash(sandbox: Sandbox, body: bytes) -> None:
    with session_for(sandbox) as http:
        answer = http.post(
            sandbox.export_url, data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert answer.status_code == 400
        assert "message" in answer.json()
        again = export(http, sandbox, {"object": "user", "columns": [{"slug": "ootb_user_name"}]})
        assert again.status_code == 200


def test_person_object_has_no_vocabulary(sandbox: Sandbox) -> None:
    query = {"object": "person", "columns": [{"slug": "ootb_person_name"}]}
    with session_for(sandbox) as http:
        answer = export(http, sandbox, query)
    assert answer.status_code == 200
    assert answer.content == b"\r\n"


def test_request_body_size_is_bounded(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=5, users=2, max_body_bytes=2048)
    token = get_token(sb)
    big = {"object": "account", "columns": [{"slug": "ootb_account_id"}] * 200}
    raw = raw_post(sb, EXPORT_PATH, big, headers={"Authorization": f"Bearer {token}"})
    assert raw.status == 413
    assert json.loads(raw.body)["code"] == 413
    assert raw.headers.get("connection") == "close"
    small = {"object": "account", "columns": [{"slug": "ootb_account_id"}]}
    assert (
        raw_post(sb, EXPORT_PATH, small, headers={"Authorization": f"Bearer {token}"}).status == 200
    )


def test_default_body_bound_is_one_mebibyte(sandbox: Sandbox) -> None:
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, data=b" " * (1024 * 1024 + 1), timeout=30)
    assert answer.status_code == 413


def test_chunked_request_bodies_are_read_and_bounded(sandbox: Sandbox) -> None:
    query = json.dumps({"object": "user", "columns": [{"slug": "ootb_user_name"}]}).encode()
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, data=iter([query[:10], query[10:]]), timeout=10)
        assert answer.status_code == 200
        assert read_csv_rows(answer.content)[0] == ["Name"]
        huge = http.post(sandbox.export_url, data=iter([b" " * 700_000] * 2), timeout=30)
    assert huge.status_code == 413


def test_unknown_paths_and_methods(sandbox: Sandbox) -> None:
    assert requests.get(sandbox.url("/v3/nothing"), timeout=10).status_code == 404
    assert requests.post(sandbox.url("/v3/nothing"), timeout=10).status_code == 404
    answer = requests.get(sandbox.export_url, timeout=10)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert requests.get(sandbox.token_url, timeout=10).status_code == 405


# -- budget, concurrency, lifecycle ------------------------------------------------------------


def test_hourly_budget_answers_429_without_retry_after(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=5, users=2, hourly_budget=3)
    other_id, other_secret = sb.add_client()
    query = {"object": "user", "columns": [{"slug": "ootb_user_name"}]}
    with session_for(sb) as http:
        statuses = [export(http, sb, query).status_code for _ in range(3)]
        refused = export(http, sb, query)
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers
        assert refused.json()["code"] == 429
        with requests.Session() as other:
            token = other.post(
                sb.token_url, data=form(sb, client_id=other_id, client_secret=other_secret)
            ).json()["access_token"]
            other.headers["Authorization"] = f"Bearer {token}"
            assert export(other, sb, query).status_code == 200  # budgets are per client
        sb.advance_clock(3599)
        assert export(http, sb, query).status_code == 429  # rolling, not reset hourly
        sb.advance_clock(2)
        assert export(http, sb, query).status_code == 401  # the token lived one hour too
        http.headers["Authorization"] = "Bearer " + get_token(sb, http)
        assert export(http, sb, query).status_code == 200
    assert sb.count(endpoint="export", status=429) == 2
    assert sb.count(fault="budget") == 2


def test_several_clients_are_served_at_once(sandbox: Sandbox) -> None:
    query = {
        "object": "activity",
        "columns": [{"slug": "ootb_activity_uid"}, {"slug": "ootb_activity_subject"}],
    }
    results: list[bytes] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with session_for(sandbox) as http:
                answer = export(http, sandbox, query)
                answer.raise_for_status()
                results.append(answer.content)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(results) == 6
    assert len(set(results)) == 1
    assert sandbox.count(endpoint="export", status=200) == 6


def test_a_slow_answer_does_not_block_other_clients(sandbox_factory: Any) -> None:
    held, release = threading.Event(), threading.Event()

    def wait(seconds: float, stopping: threading.Event) -> bool:
        held.set()
        release.wait(30)  # the slow answer is held until the fast one is done
        return stopping.is_set()

    sb = sandbox_factory(
        accounts=3, users=2, slow_first_byte=2.0, slow_first_byte_count=1, wait=wait
    )
    query = {"object": "user", "columns": [{"slug": "ootb_user_name"}]}
    statuses: list[int] = []

    def slow() -> None:
        with session_for(sb) as http:
            statuses.append(export(http, sb, query).status_code)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert held.wait(30)
        with session_for(sb) as http:
            assert export(http, sb, query).status_code == 200  # while the slow one waits
        assert thread.is_alive()
        assert statuses == []
    finally:
        release.set()
        thread.join(30)
    assert statuses == [200]


def test_binds_loopback_and_a_free_port_by_default() -> None:
    with serve(accounts=3, users=2) as sb:
        assert sb.host == "127.0.0.1"
        assert sb.base_url == f"http://127.0.0.1:{sb.port}"
        assert sb.port > 0
        assert sb.running
        assert sb.client_secret
        assert sb.client_id
    assert not sb.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", sb.port), timeout=1):
        pass


def test_credentials_are_random_per_start_unless_given() -> None:
    first = Sandbox(accounts=3, users=2)
    second = Sandbox(accounts=3, users=2)
    fixed = Sandbox(accounts=3, users=2, client_id="me", client_secret="s3cret")
    assert first.client_secret != second.client_secret
    assert (fixed.client_id, fixed.client_secret) == ("me", "s3cret")


def test_start_stop_without_with_and_unknown_options() -> None:
    sb = Sandbox(accounts=3, users=2)
    assert sb.start() is sb.start()
    assert requests.post(sb.token_url, data=form(sb), timeout=10).status_code == 200
    sb.stop()
    sb.stop()
    with pytest.raises(TypeError, match="unknown sandbox option"):
        Sandbox(acounts=3)


def test_stop_closes_idle_keep_alive_connections(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2)
    http = session_for(sb)
    try:
        assert export(http, sb, {"object": "user", "columns": [{"slug": "ootb_user_name"}]}).ok
        started = time.perf_counter()
        sb.stop()
        assert time.perf_counter() - started < 5
    finally:
        http.close()


def test_request_log_records_every_answer(sandbox: Sandbox) -> None:
    query = {"object": "account", "columns": [{"slug": "ootb_account_id"}]}
    with session_for(sandbox) as http:
        export(http, sandbox, query)
    requests.post(sandbox.export_url, json=query, timeout=10)
    token, ok, refused = sandbox.requests
    assert (token.endpoint, token.status) == ("token", 200)
    assert (ok.endpoint, ok.status, ok.rows, ok.object) == ("export", 200, 200, "account")
    assert ok.client_id == sandbox.client_id
    assert ok.query == query
    assert ok.bytes is not None
    assert ok.bytes > 200 * 13
    assert (refused.status, refused.client_id) == (401, None)
    assert sandbox.count(endpoint="export") == 2
    sandbox.clear_requests()
    assert sandbox.requests == []


def test_command_line_prints_url_and_credentials_and_serves() -> None:
    command = [sys.executable, "-m", "bspandas.sandbox", "--accounts", "5", "--users", "2",
               "--client-id", "cli-client", "--cut-mid-row", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        banner = [process.stdout.readline() for _ in range(6)]
        secret = banner[1].split(":", 1)[1].strip()
        assert banner[0].split(":", 1)[1].strip() == "cli-client"
        assert "cut_mid_row" in banner[3]
        answer = requests.post(
            url.group(0) + TOKEN_PATH,
            data={"grant_type": "client_credentials", "client_id": "cli-client",
                  "client_secret": secret},
            timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200
    finally:
        process.terminate()
        assert process.wait(20) == 0
        if process.stdout is not None:
            process.stdout.close()


# -- under abuse -------------------------------------------------------------------------------


def _raw_exchange(sb: Sandbox, request: bytes, timeout: float = 30.0) -> bytes:
    """Send raw bytes, half-close, and read the answer until the server closes."""
    received = bytearray()
    with socket.create_connection((sb.host, sb.port), timeout=timeout) as conn:
        conn.sendall(request)
        # the server may already have answered (413) and closed: the answer is still read
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError):
            while block := conn.recv(65536):
                received += block
    return bytes(received)


def _chunked(sb: Sandbox, token: str, body: bytes, keep_open: bool = False) -> int:
    head = (
        f"POST {EXPORT_PATH} HTTP/1.1\r\nHost: {sb.host}:{sb.port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    if not keep_open:
        answer = _raw_exchange(sb, head + body)
    else:  # the client keeps its side open: the answer must not wait for more bytes
        with socket.create_connection((sb.host, sb.port), timeout=30) as conn:
            conn.sendall(head + body)
            answer = conn.recv(65536)
    return int(answer.split(b" ", 2)[1]) if answer else 0


QUERY_BYTES = json.dumps({"object": "user", "columns": [{"slug": "ootb_user_name"}]}).encode()
MALFORMED_CHUNKS = [
    b"-1\r\n",
    b"-1\r\n" + QUERY_BYTES + b"\r\n0\r\n\r\n",
    b"+%X\r\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\r\n0\r\n\r\n",
    b"0x%X\r\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\r\n0\r\n\r\n",
    b" %X\r\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\r\n0\r\n\r\n",
    b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",
    b"zz\r\n",
    b"\r\n",
    b"%X\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\n0\n\n",
    b"5\r\n" + QUERY_BYTES + b"\r\n0\r\n\r\n",  # a chunk longer than its size
    b"%X\r\n" % (len(QUERY_BYTES) + 5) + QUERY_BYTES,  # the body ends inside a chunk
    b"1;" + b"x" * 2000 + b"\r\n",  # a size line longer than any real one
    b"123456789\r\n",  # more hex digits than any size we take
    b"%X\r\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\r\n0\r\nX-Trailer: a",
]


@pytest.mark.parametrize("body", MALFORMED_CHUNKS, ids=range(len(MALFORMED_CHUNKS)))
def test_malformed_chunked_bodies_get_400(sandbox: Sandbox, body: bytes) -> None:
    token = get_token(sandbox)
    assert _chunked(sandbox, token, body) == 400
    assert sandbox.requests[-1].status == 400


def test_a_negative_chunk_size_is_answered_without_waiting_for_more(sandbox: Sandbox) -> None:
    token = get_token(sandbox)
    assert _chunked(sandbox, token, b"-1\r\n", keep_open=True) == 400
    assert _chunked(sandbox, token, b"-1\r\nabc", keep_open=True) == 400


def test_chunk_framing_and_trailers_count_against_the_body_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2, max_body_bytes=4096)
    token = get_token(sb)
    good = b"%X\r\n" % len(QUERY_BYTES) + QUERY_BYTES + b"\r\n0\r\n\r\n"
    assert _chunked(sb, token, good) == 200
    with_trailer = good[:-2] + b"X-Trailer: 1\r\n\r\n"
    assert _chunked(sb, token, with_trailer) == 200
    trailers = good[:-2] + b"X-T: y\r\n" * 2000 + b"\r\n"
    assert _chunked(sb, token, trailers) == 413
    tiny = b"1\r\n \r\n" * 2000 + good  # 3 data bytes, 12 000 framing bytes
    assert _chunked(sb, token, tiny) == 413
    assert _chunked(sb, token, b"FFFFFF\r\n" + b"x" * 10) == 413


def test_the_request_log_is_a_ring_buffer(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2, max_log=5)
    for i in range(8):
        assert requests.post(sb.url(f"/v3/nothing/{i}"), timeout=10).status_code == 404
    assert [r.path for r in sb.requests] == [f"/v3/nothing/{i}" for i in range(3, 8)]
    assert sb.count(status=404) == 5


def test_the_token_table_is_bounded_and_swept(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2, max_tokens=5, token_lifetime=100)
    tokens = [get_token(sb) for _ in range(12)]
    assert sb.token_count <= 5
    query = {"object": "user", "columns": [{"slug": "ootb_user_name"}]}
    newest = raw_post(sb, EXPORT_PATH, query, headers={"Authorization": f"Bearer {tokens[-1]}"})
    oldest = raw_post(sb, EXPORT_PATH, query, headers={"Authorization": f"Bearer {tokens[0]}"})
    assert (newest.status, oldest.status) == (200, 401)
    sb.advance_clock(101)
    assert sb.token_count == 5
    latest = get_token(sb)
    assert sb.token_count == 1  # the table was full: every expired token was swept
    answer = raw_post(sb, EXPORT_PATH, query, headers={"Authorization": f"Bearer {latest}"})
    assert answer.status == 200
    with pytest.raises(ValueError, match="max_tokens"):
        Sandbox(max_tokens=0)


def _until(condition: Any, seconds: float = 10.0) -> bool:
    """Poll a condition the server reaches on its own (generous margin; not a timing test)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)
    return True


def test_connections_are_capped_and_idle_ones_time_out(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2, max_connections=2, idle_timeout=30)
    first = socket.create_connection((sb.host, sb.port), timeout=30)
    second = socket.create_connection((sb.host, sb.port), timeout=30)
    try:
        assert _until(lambda: sb.open_connections == 2)
        with socket.create_connection((sb.host, sb.port), timeout=30) as third:
            answer = b""
            while block := third.recv(65536):
                answer += block
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["code"] == 503
        assert sb.count(fault="too_many_connections") == 1
        first.close()
        assert _until(lambda: sb.open_connections == 1)
        assert requests.post(sb.url("/v3/nothing"), timeout=10).status_code == 404
    finally:
        first.close()
        second.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=3, users=2, idle_timeout=0.2)
    with socket.create_connection((sb.host, sb.port), timeout=30) as silent:
        assert silent.recv(1) == b""  # closed by the server, long before our 30 s
    with socket.create_connection((sb.host, sb.port), timeout=30) as slow:
        slow.sendall(b"POST /v3/nothing HTTP/1.1\r\nHost: x\r\n")  # headers never finish
        assert slow.recv(65536) == b""
    assert _until(lambda: sb.open_connections == 0)


class _SteppedClock:
    """The sandbox's clock, moved by the test; ``read`` is set whenever the server reads it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.read = threading.Event()

    def __call__(self) -> float:
        self.read.set()
        return self.now


def _answer(connection: socket.socket) -> bytes:
    """One whole answer with a Content-Length (headers and body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        block = connection.recv(65536)
        assert block, data
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += connection.recv(65536)
    return head


def _closed_by_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(65536) == b""
    except ConnectionResetError:  # closed with our last bytes unread
        return True


def test_a_request_trickled_inside_the_idle_timeout_loses_its_slot_at_its_deadline(
    sandbox_factory: Any,
) -> None:
    """Slowloris: one byte just inside each idle timeout used to keep a connection (and its
    slot under the cap) forever. Each request now has ``request_timeout`` seconds from its
    first byte, on the sandbox's clock (moved here, never waited for)."""
    clock = _SteppedClock()
    sb = sandbox_factory(
        accounts=3, users=2, max_connections=1, idle_timeout=30, request_timeout=10, clock=clock
    )
    with socket.create_connection((sb.host, sb.port), timeout=20) as slow:
        slow.sendall(b"POST /v3/nothing HTTP/1.1\r\n")
        assert clock.read.wait(20)  # the server has the first bytes: the deadline runs
        clock.now += 9  # within the deadline: the request completes and is answered
        slow.sendall(b"Host: x\r\nContent-Length: 0\r\n\r\n")
        assert _answer(slow).startswith(b"HTTP/1.1 404 ")
        clock.read.clear()
        slow.sendall(b"POST /v3/nothing HTTP/1.1\r\n")  # the next request has its own deadline
        assert clock.read.wait(20)
        clock.now += 11
        slow.sendall(b"H")  # a byte past it: the connection is closed
        assert _closed_by_server(slow)
    assert _until(lambda: sb.open_connections == 0)
    assert requests.post(sb.url("/v3/nothing"), timeout=10).status_code == 404  # slot free
    assert sb.count(status=404) == 2
    assert sb.count(fault="too_many_connections") == 0


def test_secrets_in_a_query_string_are_not_logged(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-" + "x" * 12
    caplog.set_level("DEBUG", logger="bspandas.sandbox")
    targets = [
        f"{TOKEN_PATH}?client_id=a&client_secret={secret}",
        f"{EXPORT_PATH}?access_token={secret}",
        f"/v3/nothing?token={secret}&x=1",
    ]
    for target in targets:
        requests.post(sandbox.url(target), timeout=10)
        requests.get(sandbox.url(target), timeout=10)
    bad_line = f"GET /x?client_secret={secret} junk HTTP/1.1\r\n\r\n".encode()
    assert b"400" in _raw_exchange(sandbox, bad_line)
    logged = [r.path for r in sandbox.requests]
    assert len(logged) == 6
    assert all(secret not in path for path in logged)
    assert f"{TOKEN_PATH}?client_id=REDACTED&client_secret=REDACTED" in logged
    assert caplog.records
    assert secret not in caplog.text
    assert all(secret not in str(r.args) for r in caplog.records)


def test_binding_beyond_loopback_warns_loudly() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        Sandbox(host=host, accounts=3, users=2)  # -W error: any warning would fail here
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.warns(InsecureConfigWarning, match="not loopback"):
            Sandbox(host=host, accounts=3, users=2)


def test_the_command_line_prints_the_exposure_warning_on_stderr() -> None:
    args = build_parser().parse_args(["--host", "0.0.0.0", "--accounts", "3", "--users", "2"])
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    stop.set()
    assert run_sandbox(args, stop=stop, out=out, err=err) == 0
    assert err.getvalue().startswith("WARNING: The sandbox will listen on '0.0.0.0'")
    assert "bspandas sandbox serving http://0.0.0.0:" in out.getvalue()
