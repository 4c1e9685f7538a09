"""The transport on a hostile network, through the wire seam (exact HTTP bytes, no socket):
redirects, non-CSV answers, framing that proves an answer short, compression, capped reads,
the deadline and token refreshes shared by threads.

The CSV bytes served are the sandbox's own answer to the query; the expected frame is the
same query read from the sandbox the ordinary way.
"""

from __future__ import annotations

import gzip
import http.server
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pandas as pd
import pytest
import requests

import bspandas as bs
from bspandas._http.body import CHUNK
from bspandas._http.client import Client
from bspandas._http.retry import RetryPolicy
from bspandas.sandbox import Sandbox, serve
from bspandas.sandbox.testing import get_token, raw_post
from tests.wire import Sent, Wire, answer, csv_answer, token_answer

COLUMNS = [
    "ootb_account_crm_id",
    "ootb_account_name",
    "ootb_churn_risk_score",
    "ootb_account_original_owner",
]
SORT = "ootb_account_crm_id"
POLICY = RetryPolicy(attempts=4, backoff=1.0, max_backoff=8.0, max_time=600, jitter=0.0)
SECRET = "cs-wire-secret-0123456789"
BASE = "https://api.example.test"


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0
        self.delays: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.advance(seconds)


@pytest.fixture(scope="module")
def source() -> Iterator[Sandbox]:
    with serve(seed=5, accounts=40, users=6, hourly_budget=0) as sb:
        yield sb


@pytest.fixture(scope="module")
def csv(source: Sandbox) -> bytes:
    """The sandbox's CSV answer to the query, as bytes."""
    payload = bs.Query("account", COLUMNS, sort=SORT).payload()
    raw = raw_post(
        source,
        "/v3/beta/insights/export",
        payload,
        headers={"Authorization": "Bearer " + get_token(source)},
    )
    assert raw.status == 200
    assert raw.terminated
    return raw.body


@pytest.fixture(scope="module")
def expected(source: Sandbox) -> pd.DataFrame:
    with source.client() as client:
        return bs.read_query("account", COLUMNS, client=client, sort=SORT)


def rows_end(csv: bytes, keep: int) -> int:
    """The byte offset just after the header and ``keep`` data rows (names hold no newline)."""
    offset = 0
    for _ in range(keep + 1):
        offset = csv.index(b"\n", offset) + 1
    return offset


class Server:
    """Answers token requests with numbered tokens and exports with ``export(sent)``."""

    def __init__(self, export: Any, token: Any = None) -> None:
        self.export = export
        self.token = token
        self.issued: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, sent: Sent) -> bytes:
        if sent.endpoint == "token":
            if self.token is not None:
                answer_bytes: bytes = self.token(sent)
                return answer_bytes
            with self._lock:
                token = f"tok-{len(self.issued) + 1:02d}-abcdefgh"
                self.issued.append(token)
            return token_answer(token)
        result: bytes = self.export(sent)
        return result


def make_client(wire: Wire, clock: FakeClock | None = None, **options: Any) -> Client:
    clock = clock or FakeClock()
    return Client(
        "wire-id",
        SECRET,
        BASE,
        session=wire,
        retry=options.pop("retry", POLICY),
        clock=clock,
        sleep=clock.sleep,
        environ={},
        **options,
    )


def read(client: Client, **options: Any) -> pd.DataFrame:
    return bs.read_query("account", COLUMNS, client=client, sort=SORT, **options)


def test_the_wire_seam_reads_the_expected_frame(csv: bytes, expected: pd.DataFrame) -> None:
    wire = Wire(Server(lambda sent: csv_answer(csv)))
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)
    assert [s.endpoint for s in wire.sent] == ["token", "export"]
    assert all(s.kwargs["allow_redirects"] is False for s in wire.sent)
    assert wire.sent[1].bearer == "tok-01-abcdefgh"


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_of_the_token_request_is_an_error_naming_only_the_host(status: int) -> None:
    location = "http://collector.evil.test:8443/steal?client_secret=abc&next=/x"
    wire = Wire(
        Server(lambda sent: b"", token=lambda sent: answer(status, b"", {"Location": location}))
    )
    with make_client(wire) as client, pytest.raises(bs.APIError) as info:
        read(client)
    message = str(info.value)
    assert "collector.evil.test" in message
    assert "(http)" in message  # a downgrade to plain http shows
    assert "steal" not in message
    assert "client_secret" not in message
    assert "8443" not in message
    assert info.value.status == status
    assert len(wire.sent) == 1  # never followed, never retried


def test_a_redirect_of_the_export_is_an_error_and_not_replayed(csv: bytes) -> None:
    wire = Wire(Server(lambda sent: answer(308, b"moved", {"Location": "/elsewhere?token=zz"})))
    with make_client(wire) as client, pytest.raises(bs.APIError, match="same host") as info:
        read(client)
    assert "zz" not in str(info.value)
    assert "elsewhere" not in str(info.value)
    assert wire.count("export") == 1


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A real server: answers every POST with a 307 to ``target`` and records bodies."""

    target = ""
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(307)
        self.send_header("Location", type(self).target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_307_over_real_sockets_never_resends_the_secret_to_another_host() -> None:
    class First(_Recorder):
        bodies: ClassVar[list[bytes]] = []

    class Second(_Recorder):
        bodies: ClassVar[list[bytes]] = []

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), h) for h in (First, Second)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        First.target = f"http://localhost:{servers[1].server_address[1]}"
        Second.target = "http://localhost:1"
        base = f"http://127.0.0.1:{servers[0].server_address[1]}"
        client = Client("id", SECRET, base, environ={}, retry=POLICY)
        with client, pytest.raises(bs.APIError, match="redirect to host 'localhost'"):
            read(client)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert len(First.bodies) == 1
    assert SECRET.encode() in First.bodies[0]
    assert Second.bodies == []  # the form with the secret never went to the other host


# -- only a complete CSV answer becomes a frame ---------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", b"<html><body>Please sign in</body></html>"),
        ("application/json", b'{"rows": [1, 2, 3]}'),
        (None, b"ootb_account_crm_id\r\n1\r\n"),
    ],
)
def test_a_200_that_is_not_csv_is_a_response_error(content_type: str | None, body: bytes) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    wire = Wire(Server(lambda sent: answer(200, body, headers)))
    with make_client(wire) as client, pytest.raises(bs.ResponseError, match="not CSV") as info:
        read(client)
    assert (content_type or "none") in str(info.value)
    assert wire.count("export") == 1  # not retried: another read gets the same page


@pytest.mark.parametrize("keep", [0, 7, 39])
def test_a_body_shorter_than_its_content_length_is_never_accepted(csv: bytes, keep: int) -> None:
    cut = csv[: rows_end(csv, keep)]  # cut exactly at a row boundary, the same every time
    headers = {"Content-Type": "text/csv"}
    wire = Wire(Server(lambda sent: answer(200, cut, headers, length=len(csv))))
    with make_client(wire) as client, pytest.raises(bs.TruncatedResponseError, match="cut short"):
        read(client)
    assert wire.count("export") == POLICY.attempts  # retried, and two agreeing reads not accepted


def test_a_body_cut_at_a_read_boundary_and_a_row_boundary_is_never_accepted(csv: bytes) -> None:
    """The cut falls exactly where a 1 MiB read ends and a row ends: every byte before it
    arrives, the answer parses, and two reads agree. Still short of its Content-Length."""
    header, rows = csv[: rows_end(csv, 0)], csv[rows_end(csv, 0) :].splitlines(keepends=True)
    body = bytearray(header)
    index = 0
    while len(body) + len(rows[index % len(rows)]) + 400 < CHUNK:
        body += rows[index % len(rows)]
        index += 1
    template = rows[0]
    rest = template[template.index(b",") :]
    body += b"9" * (CHUNK - len(body) - len(rest)) + rest  # a row that ends at 1 MiB exactly
    assert len(body) == CHUNK
    assert body.endswith(b"\n")
    full = bytes(body) + b"".join(rows)
    raw = answer(200, bytes(body), {"Content-Type": "text/csv"}, length=len(full))
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client, pytest.raises(bs.TruncatedResponseError, match="cut short"):
        read(client, validate=False)  # repeated ids: uniqueness is not the point here
    assert wire.count("export") == POLICY.attempts


def test_a_chunk_shorter_than_announced_is_never_accepted(csv: bytes) -> None:
    cut = rows_end(csv, 20)
    announced = b"%X\r\n" % (len(csv) - rows_end(csv, 10))
    head = answer(
        200,
        headers={"Content-Type": "text/csv"},
        chunks=[csv[: rows_end(csv, 10)]],
        terminated=False,
    )
    raw = head + announced + csv[rows_end(csv, 10) : cut]  # the connection closes inside the chunk
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client, pytest.raises(bs.TruncatedResponseError, match="cut short"):
        read(client)
    assert wire.count("export") == POLICY.attempts


def test_a_short_answer_then_a_complete_one_gives_the_frame(
    csv: bytes, expected: pd.DataFrame
) -> None:
    answers = iter(
        [answer(200, csv[: rows_end(csv, 5)], {"Content-Type": "text/csv"}, length=len(csv))]
    )

    def export(sent: Sent) -> bytes:
        return next(answers, None) or answer(200, csv, {"Content-Type": "text/csv"})

    wire = Wire(Server(export))
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)
    assert wire.count("export") == 2


def test_an_answer_without_framing_is_confirmed_by_a_second_read(
    csv: bytes, expected: pd.DataFrame
) -> None:
    unframed = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n" + csv
    wire = Wire(Server(lambda sent: unframed))
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)
    assert wire.count("export") == 2  # nothing proved it complete: read twice, compared


def deflate(data: bytes, raw: bool) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("gzip", lambda d: gzip.compress(d[:100]) + gzip.compress(d[100:])),  # two members
        ("deflate", lambda d: deflate(d, raw=False)),  # RFC 1950 zlib stream
        ("deflate", lambda d: deflate(d, raw=True)),  # raw deflate, as some servers send
    ],
)
def test_a_compressed_answer_is_decoded(
    csv: bytes, expected: pd.DataFrame, encoding: str, pack: Any
) -> None:
    packed = pack(csv)
    pieces = [packed[i : i + 7] for i in range(0, len(packed), 7)]  # tiny chunks
    raw = answer(
        200, headers={"Content-Type": "text/csv", "Content-Encoding": encoding}, chunks=pieces
    )
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)
    assert wire.sent[1].prepared.headers["Accept-Encoding"] == "gzip, deflate"


def test_a_gzip_answer_cut_inside_the_stream_is_truncated(csv: bytes) -> None:
    packed = gzip.compress(csv)
    raw = answer(
        200,
        headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
        chunks=[packed[: len(packed) // 2]],
    )  # properly terminated framing, but the gzip stream inside it is incomplete
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client, pytest.raises(bs.TruncatedResponseError):
        read(client)
    assert wire.count("export") == POLICY.attempts


def test_a_whole_gzip_stream_needs_no_terminating_chunk_nor_a_second_export(
    csv: bytes, expected: pd.DataFrame
) -> None:
    """issue 14: a missing terminating chunk costs a second full export only when nothing
    else shows the answer complete; a gzip stream that reached its trailer (CRC and size)
    does."""
    packed = gzip.compress(csv)
    raw = answer(
        200,
        headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
        chunks=[packed[: len(packed) // 2], packed[len(packed) // 2 :]],
        terminated=False,
    )
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)
    assert wire.count("export") == 1


def test_a_decompression_bomb_stops_at_the_cap(csv: bytes) -> None:
    header = csv[: rows_end(csv, 0)]
    bomb = gzip.compress(header + b"1,x,2,y\r\n" * 2_000_000)  # 18 MB from ~40 KB
    assert len(bomb) < 100_000
    raw = answer(200, bomb, {"Content-Type": "text/csv", "Content-Encoding": "gzip"})
    wire = Wire(Server(lambda sent: raw))
    client = make_client(wire, max_answer_bytes=1 << 20)
    with client, pytest.raises(bs.ResponseError, match="decompression bomb"):
        read(client)
    assert wire.count("export") == 1


def test_an_unknown_content_encoding_is_refused(csv: bytes) -> None:
    raw = answer(200, csv, {"Content-Type": "text/csv", "Content-Encoding": "br"})
    wire = Wire(Server(lambda sent: raw))
    with make_client(wire) as client, pytest.raises(bs.ResponseError, match="'br'"):
        read(client)


# -- bounded reads --------------------------------------------------------------------------------


class Tracking(Wire):
    """Records how far each answer was read."""

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        self.files.append(response.raw._fp.fp)
        return response

    def __init__(self, handler: Any) -> None:
        super().__init__(handler)
        self.files: list[Any] = []


def test_error_bodies_are_read_only_a_few_kib() -> None:
    huge = b"x" * (8 << 20)
    # 503: a 500 with the same body twice is deterministic and not retried (issue 14)
    wire = Tracking(Server(lambda sent: answer(503, huge, {"Content-Type": "text/plain"})))
    with make_client(wire) as client, pytest.raises(bs.ServerError, match="kept failing"):
        read(client)
    exports = [f for f, s in zip(wire.files, wire.sent, strict=True) if s.endpoint == "export"]
    assert len(exports) == POLICY.attempts
    assert all(f.consumed < 64 * 1024 for f in exports)  # not the 8 MiB


def test_a_huge_token_answer_is_refused_without_reading_it_all() -> None:
    huge = answer(
        200, b'{"access_token": "' + b"a" * (8 << 20) + b'"}', {"Content-Type": "application/json"}
    )
    wire = Tracking(Server(lambda sent: b"", token=lambda sent: huge))
    with make_client(wire) as client, pytest.raises(bs.AuthenticationError, match="64 KiB"):
        read(client)
    assert wire.files[0].consumed < 256 * 1024


# -- the deadline ---------------------------------------------------------------------------------


def test_the_deadline_ends_a_trickled_answer_on_the_injected_clock(csv: bytes) -> None:
    clock = FakeClock()
    one_byte_chunks = answer(
        200, headers={"Content-Type": "text/csv"}, chunks=[bytes([b]) for b in csv]
    )
    wire = Wire(Server(lambda sent: one_byte_chunks), on_read=lambda: clock.advance(0.5))
    client = make_client(wire, clock, deadline=60.0)
    with client, pytest.raises(bs.TransportError, match="deadline of 60 s"):
        read(client)
    assert wire.count("export") == 1  # no retry once the deadline has passed
    assert clock.now - 5000.0 < 62  # ended on the first read past the deadline


def test_the_deadline_bounds_the_retries(csv: bytes) -> None:
    clock = FakeClock()
    unavailable = answer(503, b"busy", {"Retry-After": "40", "Content-Type": "text/plain"})
    wire = Wire(Server(lambda sent: unavailable))
    policy = RetryPolicy(attempts=50, backoff=1.0, max_time=10_000, jitter=0.0)
    client = make_client(wire, clock, deadline=100.0, retry=policy)
    with client, pytest.raises(bs.ServerError, match="would pass the deadline"):
        read(client)
    assert clock.delays == [40.0, 40.0]  # a third wait of 40 s would end past 100 s
    assert wire.count("export") == 3


def test_deadline_must_be_a_positive_number() -> None:
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="deadline"):
            Client("id", SECRET, BASE, deadline=bad, environ={})


# -- tokens shared by threads ---------------------------------------------------------------------


def test_threads_refused_with_one_token_fetch_one_new_token(csv: bytes) -> None:
    threads = 8
    barrier = threading.Barrier(threads, timeout=30)
    revoked: set[str] = set()

    def export(sent: Sent) -> bytes:
        if sent.bearer in revoked:
            barrier.wait()  # every thread has sent with the revoked token before any 401
            return answer(401, b'{"message": "Invalid or expired token"}')
        return csv_answer(csv)

    server = Server(export)
    wire = Wire(server)
    results: list[pd.DataFrame] = []
    errors: list[BaseException] = []
    with make_client(wire) as client:
        read(client)
        revoked.add(server.issued[0])

        def worker() -> None:
            try:
                results.append(read(client))
            except BaseException as exc:  # re-raised in the test thread below
                errors.append(exc)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=60)
    assert not errors
    assert len(results) == threads
    assert len(server.issued) == 2  # the first token, then ONE replacement for all threads


def test_threads_that_see_an_expired_token_fetch_one_new_token(csv: bytes) -> None:
    clock = FakeClock()
    server = Server(lambda sent: csv_answer(csv))
    wire = Wire(server)
    with make_client(wire, clock) as client:
        read(client)
        clock.advance(3600)  # past the token's lifetime for every thread at once
        pool = [threading.Thread(target=read, args=(client,)) for _ in range(6)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=60)
    assert len(server.issued) == 2
    assert wire.count("export") == 7


# -- token answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"token_type": "bearer"}',
        b'{"access_token": ""}',
        b'{"access_token": 12345678901}',
        b'{"access_token": "short"}',
        b'{"access_token": "has space in-it-secretvalue"}',
        b'{"access_token": "line\\nbreak-secretvalue"}',
        b'{"access_token": "ctrl\\u0000char-secretvalue"}',
        b'{"access_token": "good-secretvalue", "expires_in": 0}',
        b'{"access_token": "good-secretvalue", "expires_in": -30}',
        b'{"access_token": "good-secretvalue", "expires_in": NaN}',
        b'{"access_token": "good-secretvalue", "expires_in": Infinity}',
        b'{"access_token": "good-secretvalue", "expires_in": "soon"}',
        b'{"access_token": "good-secretvalue", "expires_in": true}',
        b'{"access_token": "good-secretvalue", "expires_in": [3600]}',
        b"<html>Sign in to continue: secretvalue</html>",
        b'["good-secretvalue"]',
    ],
)
def test_an_unusable_token_answer_is_a_redacted_authentication_error(body: bytes) -> None:
    raw = answer(200, body, {"Content-Type": "application/json"})
    wire = Wire(Server(lambda sent: b"", token=lambda sent: raw))
    with make_client(wire) as client, pytest.raises(bs.AuthenticationError) as info:
        read(client)
    assert "secretvalue" not in str(info.value) + repr(info.value)
    assert info.value.body == ""
    assert wire.count("export") == 0


def test_an_absurd_token_lifetime_is_clamped_to_a_day(csv: bytes) -> None:
    clock = FakeClock()
    server = Server(
        lambda sent: csv_answer(csv), token=lambda sent: token_answer("long-lived-token", 1e300)
    )
    wire = Wire(server)
    with make_client(wire, clock) as client:
        read(client)
        clock.advance(86_400)  # a day later the token is fetched again despite expires_in
        read(client)
    assert wire.count("token") == 2


def test_a_numeric_string_expires_in_is_accepted(csv: bytes, expected: pd.DataFrame) -> None:
    wire = Wire(
        Server(
            lambda sent: csv_answer(csv), token=lambda sent: token_answer("string-lifetime", "7200")
        )
    )
    with make_client(wire) as client:
        pd.testing.assert_frame_equal(read(client), expected)


def test_requests_objects_never_ride_on_errors() -> None:
    def broken(sent: Sent) -> bytes:
        raise requests.ConnectionError("Connection aborted.", request=sent.prepared)

    wire = Wire(Server(broken))
    with make_client(wire) as client, pytest.raises(bs.TransportError) as info:
        read(client)
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None
    assert not any(
        isinstance(v, requests.PreparedRequest | requests.Response) for v in vars(error).values()
    )


# -- pacing and the deadline ---------------------------------------------------------------------


def test_a_wait_for_the_budget_before_the_first_request_is_not_part_of_the_deadline(
    csv: bytes,
) -> None:
    clock = FakeClock()
    wire = Wire(Server(lambda sent: csv_answer(csv)))
    with make_client(wire, clock, deadline=100.0, hourly_budget=1) as client:
        read(client)
        with pytest.warns(bs.PacingWarning, match="waiting 3601 s"):
            read(client)  # queued for an hour, then read within its deadline
    assert wire.count("export") == 2
    assert wire.count("token") == 2  # the first token expired during the wait


def test_a_retry_that_must_wait_for_the_budget_past_the_deadline_stops(csv: bytes) -> None:
    clock = FakeClock()
    # 503: a repeated identical 500 is not retried at all (issue 14), this one must be
    wire = Wire(Server(lambda sent: answer(503, b'{"message": "sorry"}')))
    client = make_client(wire, clock, deadline=100.0, hourly_budget=2)
    with client, pytest.raises(bs.RateLimitError, match="deadline"):
        read(client)
    assert wire.count("export") == 2
    assert clock.now - 5000.0 < 100


class _TrickledHeaders(socketserver.BaseRequestHandler):
    """Answers every request with a status line and then headers that never end, one byte
    every 50 ms (each byte restarts the client's read timeout)."""

    stop = threading.Event()

    def handle(self) -> None:
        self.request.settimeout(10)
        received = b""
        while b"\r\n\r\n" not in received:
            block = self.request.recv(65536)
            if not block:
                return
            received += block
        wire = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: a\r\n" * 10_000
        for index in range(len(wire)):
            if self.stop.wait(0.05):
                return
            try:
                self.request.sendall(wire[index : index + 1])
            except OSError:
                return


def test_the_deadline_ends_headers_trickled_over_a_real_socket() -> None:
    """Real time on the wire: the deadline is 2 s, the headers would take minutes; the
    margin is 10 s."""
    _TrickledHeaders.stop.clear()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _TrickledHeaders)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        client = Client("id", SECRET, base, environ={}, timeout=(5.0, 60.0), deadline=2.0)
        with client, pytest.raises(bs.TransportError, match="deadline of 2 s"):
            read(client)
    finally:
        _TrickledHeaders.stop.set()
        server.shutdown()
        server.server_close()
    assert time.perf_counter() - started < 12
    assert client.requests_sent == 1  # the token request never got its answer
