"""Reliability: every fault of the real service survived (or reported) through the real client.

Each read either returns the complete frame, equal to a fault-free read, or raises the
documented error within a bounded time. The sandbox's request log proves how many requests
were made, so retries are bounded; a recording sleep proves they back off.

No test here sleeps or reads the wall clock for its verdict: the client's clock and sleep are
a :class:`FakeClock` that also moves the sandbox's clock (``advance_clock``), so token expiry,
backoff and the hourly budget run on one shared, instant time line. Faults that are real time
on the wire (a slow first byte) use margins of several seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas._http.client import Client
from bspandas._http.pacer import Pacer
from bspandas._http.retry import RetryPolicy
from bspandas.sandbox import Sandbox, serve

COLUMNS = [
    "ootb_account_crm_id",
    "ootb_account_name",  # names with commas, quotes and non-ASCII letters: quoted fields
    "ootb_churn_risk_score",
    "ootb_account_original_owner",
]
POLICY = RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.4, max_time=20, jitter=0.0)


class FakeClock:
    """The client's clock and sleep: sleeping advances it (and the sandbox's clock) at once."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.now = 1000.0
        self.delays: list[float] = []
        self.sandbox = sandbox

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.sandbox is not None:
            self.sandbox.advance_clock(seconds)

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.advance(seconds)


@pytest.fixture(scope="module")
def flaky() -> Iterator[Sandbox]:
    with serve(seed=21, accounts=120, users=12, hourly_budget=0) as sb:
        yield sb


@pytest.fixture(scope="module")
def baseline(flaky: Sandbox) -> pd.DataFrame:
    with flaky.client(retry=POLICY) as client:
        return bs.read_query("account", COLUMNS, client=client, sort="ootb_account_crm_id")


@pytest.fixture
def clock(flaky: Sandbox) -> FakeClock:
    flaky.reset()
    return FakeClock(flaky)


@pytest.fixture
def client(flaky: Sandbox, clock: FakeClock) -> Iterator[Client]:
    with flaky.client(retry=POLICY, timeout=(5.0, 5.0), clock=clock, sleep=clock.sleep) as c:
        yield c


def for_fault(client: Client, fault: dict[str, Any]) -> Client:
    """A slow-first-byte fault meets a 1 s read timeout (the server waits 10 s or more, a
    margin of several seconds); other faults keep the fixture's generous 5 s."""
    if "slow_first_byte" in fault:
        client.timeout = (5.0, 1.0)
    return client


def read(client: Client) -> pd.DataFrame:
    return bs.read_query("account", COLUMNS, client=client, sort="ootb_account_crm_id")


@pytest.mark.parametrize(
    ("fault", "exports"),
    [
        ({"status_schedule": (500, 502, 503)}, 4),
        ({"status_schedule": (504,)}, 2),
        ({"cut_mid_row": 1}, 2),
        ({"cut_mid_quote": 1}, 2),
        ({"reset": 1}, 2),
        ({"missing_terminator": 1}, 2),  # re-read: the second answer is properly terminated
        ({"missing_terminator": 2}, 2),  # two identical unterminated answers confirm each other
        ({"slow_first_byte": 10.0, "slow_first_byte_count": 1}, 2),  # read timeout: 1 s
    ],
    ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else str(v),
)
def test_fault_survived_with_the_complete_frame(
    flaky: Sandbox, client: Client, baseline: pd.DataFrame, fault: dict[str, Any], exports: int
) -> None:
    flaky.set_faults(**fault)
    started = time.perf_counter()
    frame = read(for_fault(client, fault))
    pd.testing.assert_frame_equal(frame, baseline)
    assert client.requests_sent == 1 + exports  # one token, then the export attempts
    assert time.perf_counter() - started < 30  # a generous bound: no backoff sleeps for real


def test_backoff_grows_between_attempts(flaky: Sandbox, client: Client, clock: FakeClock) -> None:
    flaky.set_faults(status_schedule=(503, 503, 503))
    read(client)
    assert clock.delays == [pytest.approx(0.05), pytest.approx(0.1), pytest.approx(0.2)]


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ({"status_schedule": (503,) * 10}, bs.ServerError, "kept failing: 4 attempt"),
        ({"cut_mid_row": 10}, bs.TruncatedResponseError, "No partial frame"),
        ({"reset": 10}, bs.TransportError, "Could not complete"),
        ({"slow_first_byte": 30.0}, bs.TransportError, "did not answer in time"),
    ],
)
def test_persistent_faults_raise_the_documented_error_in_bounded_time(
    flaky: Sandbox, client: Client, fault: dict[str, Any], error: type, message: str
) -> None:
    flaky.set_faults(**fault)
    started = time.perf_counter()
    with pytest.raises(error, match=message):
        read(for_fault(client, fault))
    assert time.perf_counter() - started < 30  # 4 read timeouts of 1 s at most, for real
    assert client.requests_sent == 1 + POLICY.attempts


def test_unterminated_answers_that_disagree_are_refused(flaky: Sandbox, client: Client) -> None:
    flaky.set_faults(missing_terminator=10, cut_mid_row=0)
    frames = []
    original = client.export

    def shrinking(payload: Any, consume: Any) -> Any:
        answer = original(payload, consume)
        frames.append(answer)
        answer.frame = answer.frame.iloc[: max(0, len(answer.frame) - len(frames))]
        return answer

    client.export = shrinking  # type: ignore[method-assign]
    with pytest.raises(bs.TruncatedResponseError, match="did not agree"):
        read(client)
    assert len(frames) == POLICY.attempts


def test_token_expiring_mid_session_is_refreshed(
    flaky: Sandbox, client: Client, baseline: pd.DataFrame
) -> None:
    read(client)
    flaky.expire_tokens()
    pd.testing.assert_frame_equal(read(client), baseline)
    statuses = [(r.endpoint, r.status) for r in flaky.requests]
    assert statuses == [
        ("token", 200),
        ("export", 200),
        ("export", 401),
        ("token", 200),
        ("export", 200),
    ]


def test_short_token_lifetime_refreshes_before_expiry(
    flaky: Sandbox, client: Client, clock: FakeClock, baseline: pd.DataFrame
) -> None:
    flaky.set_faults(token_lifetime=200.0)  # the client refreshes 10% (20 s) ahead
    read(client)
    clock.advance(185)  # past lifetime minus the margin, 15 s before the server's expiry
    pd.testing.assert_frame_equal(read(client), baseline)
    assert flaky.count(endpoint="token") == 2
    assert flaky.count(status=401) == 0  # refreshed ahead of expiry, never refused
    clock.advance(100)  # the second token is still fresh for the client: no new one
    read(client)
    assert flaky.count(endpoint="token") == 2


def test_lying_expires_in_is_survived(
    flaky: Sandbox, client: Client, baseline: pd.DataFrame
) -> None:
    flaky.set_faults(token_lifetime=60.0, advertised_token_lifetime=3600.0)
    read(client)
    flaky.advance_clock(61)  # the server's clock only: the client still trusts expires_in
    pd.testing.assert_frame_equal(read(client), baseline)
    assert flaky.count(endpoint="export", status=401) == 1


def test_wrong_secret_is_an_authentication_error(flaky: Sandbox) -> None:
    flaky.reset()
    bad = Client(flaky.client_id, "wrong-secret-value-123", flaky.base_url, environ={})
    with bad, pytest.raises(bs.AuthenticationError, match="refused the client credentials") as info:
        read(bad)
    assert "wrong-secret-value-123" not in str(info.value)
    assert flaky.count(endpoint="export") == 0


def test_budget_exhausted_on_the_server(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=10, users=3, hourly_budget=2)
    clock = FakeClock()  # backoff without sleeping; the server's window does not roll
    # a client that believes the real budget (a sandbox's own clients pace to its budget)
    with sb.client(retry=POLICY, clock=clock, sleep=clock.sleep, hourly_budget=100) as c:
        read(c)
        read(c)
        with pytest.raises(bs.RateLimitError, match="Still rate limited after 1 attempt"):
            read(c)
    # the next slot opens in about an hour, beyond the policy's 20 s: no second 429 is spent
    assert sb.count(endpoint="export", status=429) == 1
    assert clock.delays == []


def test_client_pacer_waits_instead_of_hitting_429(sandbox_factory: Any) -> None:
    """One budget rule on both sides: export requests count, the token request does not.

    The client's pacer and the sandbox share one clock: the pacer's sleep advances the
    sandbox, so the window rolls on both at once, without any real waiting."""
    sb = sandbox_factory(accounts=10, users=3, hourly_budget=3)  # 3 exports per 3600 s
    clock = FakeClock(sb)
    with sb.client(retry=POLICY, hourly_budget=3, clock=clock, sleep=clock.sleep) as c:
        frames = [read(c) for _ in range(3)]  # 1 token + 3 exports: the budget, no wait
        assert clock.delays == []
        with pytest.warns(bs.PacingWarning, match="waiting 3601 s"):
            frames.append(read(c))
    assert clock.delays == [pytest.approx(3601.0)]  # the window plus the pacer's 1 s margin
    assert sb.count(status=429) == 0
    assert sb.count(status=401) == 0  # the token outlived by the wait was refreshed first
    assert sb.count(endpoint="export", status=200) == 4
    assert sb.count(endpoint="token") == 2
    assert all(len(f) == 10 for f in frames)


def test_pacer_and_sandbox_budgets_agree_over_many_reads(sandbox_factory: Any) -> None:
    sb = sandbox_factory(accounts=5, users=2, hourly_budget=4, budget_window=600.0)
    clock = FakeClock(sb)
    pacer = Pacer(4, window=600.0, clock=clock, sleep=clock.sleep)

    def read_ten(c: Client) -> None:
        for _ in range(10):
            read(c)
            clock.advance(7)  # some work between reads

    client = sb.client(retry=POLICY, pacer=pacer, clock=clock, sleep=clock.sleep)
    with client, pytest.warns(bs.PacingWarning):
        read_ten(client)
    assert sb.count(status=429) == 0
    assert sb.count(endpoint="export", status=200) == 10


def test_concurrent_reads_through_one_sandbox(flaky: Sandbox, baseline: pd.DataFrame) -> None:
    flaky.reset()
    results: list[pd.DataFrame] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with flaky.client(retry=POLICY) as c:
                results.append(read(c))
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == 6
    for frame in results:
        pd.testing.assert_frame_equal(frame, baseline)


def test_chunked_read_refuses_a_cut_answer_after_the_complete_chunks(
    flaky: Sandbox, client: Client
) -> None:
    flaky.set_faults(cut_mid_row=1)
    seen: list[int] = []

    def consume() -> None:
        for chunk in bs.read_query("account", COLUMNS, client=client, chunksize=25):
            seen.append(len(chunk))

    with pytest.raises(bs.TruncatedResponseError, match="delivered"):
        consume()
    assert all(n == 25 for n in seen)


def test_chunked_read_warns_on_an_unterminated_answer(
    flaky: Sandbox, client: Client, baseline: pd.DataFrame
) -> None:
    flaky.set_faults(missing_terminator=1)
    with pytest.warns(bs.UnverifiedAnswerWarning, match="terminating chunk"):
        chunks = list(
            bs.read_query(
                "account", COLUMNS, client=client, chunksize=50, sort="ootb_account_crm_id"
            )
        )
    pd.testing.assert_frame_equal(pd.concat(chunks), baseline)


@pytest.mark.parametrize(
    ("fault", "chunksize"),
    [
        ({"trickle": 1, "trickle_delay": 0.05}, None),  # one byte every 50 ms: read timeout never
        ({"trickle": 1, "trickle_delay": 0.05}, 10),  # a chunked read is bounded the same way
        ({"slow_first_byte": 60.0}, None),  # the read timeout (60 s) is cut to the deadline
    ],
)
def test_the_deadline_ends_a_read_however_slowly_the_server_sends(
    sandbox_factory: Any, fault: dict[str, Any], chunksize: int | None
) -> None:
    """Real time on the wire: the deadline is 2 s, the whole answer would take minutes
    (trickled at 20 bytes/s, or after a 60 s silence); the margin is 10 s."""
    sb = sandbox_factory(accounts=60, users=5, hourly_budget=0, **fault)
    started = time.perf_counter()
    client = sb.client(retry=POLICY, timeout=(5.0, 60.0), deadline=2.0)

    def whole_read() -> object:
        if chunksize is None:
            return read(client)
        return list(bs.read_query("account", COLUMNS, client=client, chunksize=chunksize))

    with client, pytest.raises(bs.TransportError, match="deadline of 2 s"):
        whole_read()
    assert time.perf_counter() - started < 12
    assert client.requests_sent == 2  # the token, one export: no retry past the deadline


# -- answers that cannot change are not retried (issue 14) ------------------------------------


def test_429_backs_off_on_the_hours_scale(flaky: Sandbox, clock: FakeClock) -> None:
    """spec §4: 429 is the rolling hourly budget, with no Retry-After: a retry in seconds
    meets the same full window. The wait is until the pacer's oldest request leaves it."""
    patient = RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.4, max_time=3 * 3600, jitter=0.0)
    with flaky.client(
        retry=patient, timeout=(5.0, 5.0), deadline=4 * 3600, clock=clock, sleep=clock.sleep
    ) as c:
        flaky.set_faults(rate_limit_storm=2)
        read(c)
    assert flaky.count(endpoint="export", status=429) == 2
    assert flaky.count(endpoint="export", status=200) == 1
    assert len(clock.delays) == 2
    assert all(delay >= 3600 for delay in clock.delays)  # an hour, not 0.05 s and 0.1 s


def test_persistent_429_stops_after_one_request(flaky: Sandbox, client: Client) -> None:
    flaky.set_faults(rate_limit_storm=10)
    with pytest.raises(bs.RateLimitError, match="100 requests per hour") as info:
        read(client)
    assert "retry time limit" in str(info.value)
    assert flaky.count(endpoint="export", status=429) == 1


def test_repeated_identical_500_is_not_retried_five_times(flaky: Sandbox, client: Client) -> None:
    flaky.set_faults(status_schedule=(500,) * 10)
    with pytest.raises(bs.ServerError, match="same 500 body twice") as info:
        read(client)
    assert "not retried" in str(info.value)
    assert flaky.count(endpoint="export", status=500) == 2


def test_two_leaves_500_is_recognised_by_its_shape(flaky: Sandbox, client: Client) -> None:
    """spec §2: two $and leaves on one attribute crash the live service; the sandbox answers
    500 by default. Sent raw (read_query never builds it), it costs one request, not four."""
    slug = "ootb_churn_risk_score"
    payload = {
        "object": "account",
        "columns": [{"slug": "ootb_account_crm_id"}],
        "filter": {
            "$and": [
                {"attribute": {"slug": slug}, "clause": {"$gte": 10}},
                {"attribute": {"slug": slug}, "clause": {"$lt": 50}},
            ]
        },
    }
    with pytest.raises(bs.ServerError, match=f"two leaves on {slug}"):
        client.export(payload, lambda body: b"".join(body))
    assert flaky.count(endpoint="export", status=500) == 1
    bare = {**payload, "filter": {"attribute": slug, "clause": {"$gte": 10}}}
    with pytest.raises(bs.ServerError, match="bare string"):
        client.export(bare, lambda body: b"".join(body))
    assert flaky.count(endpoint="export", status=500) == 2
