"""Every fault switch of the sandbox, observed on the wire (raw sockets and plain requests)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from bspandas.sandbox import EXPORT_PATH, Faults, Sandbox
from bspandas.sandbox.command import build_parser, sandbox_options
from bspandas.sandbox.streaming import cut_point
from bspandas.sandbox.testing import RawAnswer, get_token, raw_post, read_csv_rows, session_for

QUERY = {
    "object": "account",
    "columns": [{"slug": "ootb_account_name"}, {"slug": "ootb_account_id"}],
}


def raw(sb: Sandbox, token: str, query: Any = QUERY) -> RawAnswer:
    return raw_post(sb, EXPORT_PATH, query, headers={"Authorization": f"Bearer {token}"})


def statuses(sb: Sandbox, n: int) -> list[int]:
    with session_for(sb) as http:
        return [http.post(sb.export_url, json=QUERY, timeout=30).status_code for _ in range(n)]


def complete(sb: Sandbox) -> bytes:
    return raw(sb, get_token(sb)).body


def test_status_schedule_is_served_before_normal_answers(sandbox: Sandbox) -> None:
    sandbox.set_faults(status_schedule=(503, 500, 502))
    with session_for(sandbox) as http:
        answers = [http.post(sandbox.export_url, json=QUERY, timeout=30) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 500, 502, 200]
    assert "503 Service Temporarily Unavailable" in answers[0].text
    assert answers[0].headers["Content-Type"] == "text/html"
    assert answers[1].json() == {"message": "sorry something went wrong"}
    assert sandbox.count(endpoint="export", fault="status_schedule") == 3
    assert sandbox.faults.status_schedule == ()
    assert [r.status for r in sandbox.requests if r.endpoint == "export"] == [503, 500, 502, 200]


def test_error_rate_is_seeded_and_reproducible(sandbox_factory: Any) -> None:
    first = sandbox_factory(accounts=5, users=2, error_rate=0.5, fault_seed=3, hourly_budget=0)
    again = sandbox_factory(accounts=5, users=2, error_rate=0.5, fault_seed=3, hourly_budget=0)
    seen = statuses(first, 30)
    assert seen == statuses(again, 30)
    assert set(seen) == {200, 500, 502, 503}
    always = sandbox_factory(accounts=5, users=2, error_rate=1.0, error_statuses=(504,))
    assert statuses(always, 3) == [504, 504, 504]
    assert always.count(fault="error_rate") == 3


def test_missing_terminating_chunk_after_a_complete_payload(sandbox: Sandbox) -> None:
    token = get_token(sandbox)
    whole = raw(sandbox, token)
    assert whole.terminated
    sandbox.set_faults(missing_terminator=1)
    damaged = raw(sandbox, token)
    assert damaged.status == 200
    assert damaged.chunked
    assert not damaged.terminated
    assert not damaged.reset
    assert damaged.body == whole.body  # the payload itself is complete
    assert not damaged.wire.endswith(b"0\r\n\r\n")
    assert raw(sandbox, token).terminated  # the counter is used up
    record = [r for r in sandbox.requests if r.fault == "missing_terminator"]
    assert len(record) == 1
    assert record[0].bytes == len(whole.body)


def test_missing_terminator_as_plain_requests_sees_it(sandbox: Sandbox) -> None:
    sandbox.set_faults(missing_terminator=1)
    received = b""
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, json=QUERY, stream=True, timeout=30)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):  # noqa: PT012
            for chunk in answer.iter_content(None):
                received += chunk
        answer.close()
    assert len(read_csv_rows(received)) == 201


def test_cut_in_the_middle_of_a_row(sandbox: Sandbox) -> None:
    whole = complete(sandbox)
    sandbox.set_faults(cut_mid_row=1)
    damaged = raw(sandbox, get_token(sandbox))
    assert damaged.status == 200
    assert not damaged.terminated
    body = damaged.body
    assert whole.startswith(body)
    assert len(body) < len(whole)
    assert not body.endswith(b"\r\n")
    assert not body.endswith(b"\r")
    last_line = body.rsplit(b"\r\n", 1)[1]
    assert last_line
    assert whole[len(body) : len(body) + 1] != b"\r"
    assert 50 <= body.count(b"\r\n") <= 150  # about the middle row
    assert sandbox.count(fault="cut_mid_row") == 1


def test_cut_inside_a_quoted_field(sandbox: Sandbox) -> None:
    whole = complete(sandbox)
    sandbox.set_faults(cut_mid_quote=1)
    damaged = raw(sandbox, get_token(sandbox))
    body = damaged.body
    assert not damaged.terminated
    assert whole.startswith(body)
    assert len(body) < len(whole)
    assert body.count(b'"') % 2 == 1  # the answer stops inside an open quote
    assert sandbox.count(fault="cut_mid_quote") == 1


def test_cut_mid_quote_falls_back_to_a_row_cut_without_quoted_fields(sandbox: Sandbox) -> None:
    sandbox.set_faults(cut_mid_quote=1)
    ids_only = {"object": "account", "columns": [{"slug": "ootb_account_id"}]}
    damaged = raw(sandbox, get_token(sandbox), ids_only)
    assert b'"' not in damaged.body
    assert not damaged.body.endswith(b"\r\n")
    assert sandbox.count(fault="cut_mid_row") == 1


def test_connection_reset_midway(sandbox: Sandbox) -> None:
    sandbox.set_faults(reset=1)
    with session_for(sandbox) as http:
        answer = http.post(sandbox.export_url, json=QUERY, stream=True, timeout=30)
        with pytest.raises(requests.exceptions.RequestException) as caught:
            answer.content  # noqa: B018
        answer.close()
    assert "reset" in str(caught.value).lower() or "broken" in str(caught.value).lower()
    sandbox.set_faults(reset=1)
    damaged = raw(sandbox, get_token(sandbox))
    assert damaged.reset
    assert not damaged.terminated
    assert sandbox.count(fault="reset") == 2


def test_slow_first_byte(sandbox_factory: Any) -> None:
    """The sandbox waits through its injected ``wait``: no test depends on real delays."""
    waits: list[float] = []
    gate = threading.Event()

    def wait(seconds: float, stopping: threading.Event) -> bool:
        waits.append(seconds)
        gate.wait(30)  # hold the answer until the test lets it go
        return stopping.is_set()

    sb = sandbox_factory(accounts=5, users=2, slow_first_byte=1.0, wait=wait)
    with session_for(sb) as http:
        with pytest.raises(requests.exceptions.ReadTimeout):  # held: nothing arrives
            http.post(sb.export_url, json=QUERY, timeout=(5, 0.2))
        gate.set()
        assert http.post(sb.export_url, json=QUERY, timeout=30).status_code == 200
        assert waits == [1.0, 1.0]
        sb.set_faults(slow_first_byte_count=1)
        assert http.post(sb.export_url, json=QUERY, timeout=30).status_code == 200
        assert http.post(sb.export_url, json=QUERY, timeout=30).status_code == 200
    assert waits == [1.0, 1.0, 1.0]  # the count allowed one more slow answer, not two
    assert sb.faults.slow_first_byte == 1.0


def test_stop_does_not_wait_for_a_slow_answer(sandbox_factory: Any) -> None:
    entered = threading.Event()

    def wait(seconds: float, stopping: threading.Event) -> bool:
        entered.set()
        return stopping.wait(seconds)  # what the default does: stop ends the wait

    sb = sandbox_factory(accounts=5, users=2, slow_first_byte=300, wait=wait)
    token = get_token(sb)
    outcome: list[Any] = []

    def read() -> None:
        try:
            outcome.append(raw(sb, token).status)
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    assert entered.wait(30)
    started = time.perf_counter()
    sb.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert time.perf_counter() - started < 30  # not the 300 s of the fault
    assert outcome
    assert outcome[0] != 200


def test_rate_limit_storm(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit_storm=2)
    with session_for(sandbox) as http:
        answers = [http.post(sandbox.export_url, json=QUERY, timeout=30) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert all("Retry-After" not in a.headers for a in answers)
    assert answers[0].json()["code"] == 429
    assert sandbox.count(fault="rate_limit_storm") == 2


def test_unknown_slugs_are_dropped_ignored_in_filters_and_sorts(sandbox: Sandbox) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"ootb_account_type", "ootb_churn_risk_score"}))
    query = {
        "object": "account",
        "columns": [{"slug": "ootb_account_id"}, {"slug": "ootb_account_type"},
                    {"slug": "ootb_churn_risk_score"}],
        "filter": {"attribute": {"slug": "ootb_account_type"}, "clause": {"$eq": "Partner"}},
        "sort": [{"attribute": {"slug": "ootb_churn_risk_score"}, "direction": "desc"}],
    }  # fmt: skip
    with session_for(sandbox) as http:
        rows = read_csv_rows(http.post(sandbox.export_url, json=query, timeout=30).content)
        assert rows[0] == ["Account ID"]  # query-api.md appendix, "More labels"
        assert [int(r[0]) for r in rows[1:]] == list(sandbox.tenant.accounts["internal_id"])
        sandbox.reset_faults()
        rows = read_csv_rows(http.post(sandbox.export_url, json=query, timeout=30).content)
    assert rows[0] == ["Account ID", "Account Type", "Churn Risk Score"]
    assert {r[1] for r in rows[1:]} == {"Partner"}


def test_unfilterable_slugs_are_served_but_their_filters_ignored(sandbox: Sandbox) -> None:
    sandbox.set_faults(unfilterable_slugs=frozenset({"ootb_account_type"}))
    query = {
        "object": "account",
        "columns": [{"slug": "ootb_account_id"}, {"slug": "ootb_account_type"}],
        "filter": {"attribute": {"slug": "ootb_account_type"}, "clause": {"$eq": "Partner"}},
    }
    with session_for(sandbox) as http:
        rows = read_csv_rows(http.post(sandbox.export_url, json=query, timeout=30).content)
    assert rows[0] == ["Account ID", "Account Type"]
    assert len(rows) - 1 == len(sandbox.tenant.accounts)
    assert {r[1] for r in rows[1:]} - {"Partner"}


def test_stream_fault_rates_are_seeded(sandbox_factory: Any) -> None:
    sb = sandbox_factory(
        accounts=20, users=2, fault_seed=5, cut_mid_row_rate=0.5, missing_terminator_rate=0.3,
        hourly_budget=0,
    )  # fmt: skip
    token = get_token(sb)
    kinds = [raw(sb, token).terminated for _ in range(12)]
    faults = [r.fault for r in sb.requests if r.endpoint == "export"]
    assert faults.count(None) == kinds.count(True)
    assert {"cut_mid_row", "missing_terminator", None} == set(faults)


def test_faults_change_at_runtime_and_reset(sandbox: Sandbox) -> None:
    assert sandbox.faults.active() == []
    sandbox.set_faults(cut_mid_row=2, hourly_budget=5)
    assert sandbox.faults.active() == ["hourly_budget", "cut_mid_row"]
    with pytest.raises(TypeError, match="unknown fault option"):
        sandbox.set_faults(cut_mid_rows=1)
    sandbox.reset_faults()
    assert sandbox.faults == Faults()


@pytest.mark.parametrize(
    "options",
    [{"error_rate": 1.5}, {"cut_mid_row": -1}, {"status_schedule": (200,)}, {"token_lifetime": 0}],
)
def test_fault_options_are_checked(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        Faults(**options)


def test_command_line_fault_options() -> None:
    args = build_parser().parse_args(
        ["--status-schedule", "503,500", "--error-rate", "0.1", "--cut-mid-quote", "2",
         "--unknown-slugs", "ootb_account_type, ootb_account_name", "--two-leaves-500",
         "--slow-first-byte", "1.5", "--token-lifetime", "60", "--hourly-budget", "10",
         "--fault-seed", "9", "--seed", "4", "--accounts", "7"]
    )  # fmt: skip
    options = sandbox_options(args)
    assert options["status_schedule"] == (503, 500)
    assert options["unknown_slugs"] == frozenset({"ootb_account_type", "ootb_account_name"})
    assert options["two_leaves_500"] is True
    assert options["fault_seed"] == 9
    assert (options["seed"], options["accounts"]) == (4, 7)
    sb = Sandbox(**options)
    assert sb.faults.cut_mid_quote == 2
    assert sb.faults.seed == 9
    assert sb.faults.token_lifetime == 60
    assert sb.faults.hourly_budget == 10


def test_cut_points() -> None:
    payload = b'A,B\r\n1,"x,y"\r\n2,"z"\r\n'
    starts = [0, 5, 14, 21]
    assert cut_point(payload, starts, "missing_terminator") == (len(payload), "missing_terminator")
    position, kind = cut_point(payload, starts, "cut_mid_row")
    assert kind == "cut_mid_row"
    assert 14 < position < 19
    position, kind = cut_point(payload, starts, "cut_mid_quote")
    assert kind == "cut_mid_quote"
    assert payload[:position].count(b'"') % 2 == 1
    header_only = b"A,B\r\n"
    assert cut_point(header_only, [0, 5], "cut_mid_row") == (1, "cut_mid_row")
