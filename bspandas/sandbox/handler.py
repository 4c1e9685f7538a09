"""The endpoints: ``POST /v3/auth/tokens`` (form-encoded client credentials in, a bearer
token out) and ``POST /v3/beta/insights/export`` (a JSON query in, CSV out), with the
budget, the injected faults and the error answers of the real service.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from typing import Any

from bspandas._http.wire import EXPORT_PATH, TOKEN_PATH
from bspandas.sandbox.budget import BUDGET_HEADER
from bspandas.sandbox.export import ExportPlan, plan_export
from bspandas.sandbox.problems import ApiError, bad_request, filter_invalid, server_error
from bspandas.sandbox.request_body import BodyReading
from bspandas.sandbox.streaming import Streaming

__all__ = ["Handler"]

log = logging.getLogger("bspandas.sandbox")


class Handler(BodyReading, Streaming):
    """Answers one connection's requests."""

    # -- methods ---------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 (http.server calls do_<METHOD>)
        self._started = time.time()
        self._responded = False
        path = urllib.parse.urlsplit(self.path).path
        endpoint = {TOKEN_PATH: "token", EXPORT_PATH: "export"}.get(path, "other")
        try:
            body = self._read_body()
        except ApiError as problem:
            self._record(endpoint, problem.status)
            self._send_json(problem.status, problem.body)
            self._linger = self.close_connection
            return
        try:
            if endpoint == "token":
                self._token(body)
            elif endpoint == "export":
                self._export(body)
            else:
                self._record("other", 404)
                self._send_json(404, {"code": 404, "message": f"No route for {path}"})
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("sandbox handler failed")
            self.close_connection = True
            if not self._responded:
                self._record(endpoint, 500, fault="internal_error")
                self._send_json(500, server_error().body)

    def _not_allowed(self) -> None:
        self._started = time.time()
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._read_body()
        except ApiError:
            self.close_connection = self._linger = True
        if path in (TOKEN_PATH, EXPORT_PATH):
            self._record("other", 405)
            self._send_json(405, {"code": 405, "message": "Method not allowed"}, {"Allow": "POST"})
        else:
            self._record("other", 404)
            self._send_json(404, {"code": 404, "message": f"No route for {path}"})

    do_GET = _not_allowed  # noqa: N815
    do_PUT = _not_allowed  # noqa: N815
    do_DELETE = _not_allowed  # noqa: N815
    do_PATCH = _not_allowed  # noqa: N815

    # -- token ---------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        def fail(status: int, error: str, message: str, client: str | None = None) -> None:
            self._record("token", status, client_id=client)
            self._send_json(status, {"code": status, "error": error, "message": message})

        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            fail(400, "invalid_request", "Send the credentials form-encoded.")
            return
        try:
            text = body.decode("utf-8")
            form = (
                urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
                if text
                else {}
            )
        except (UnicodeDecodeError, ValueError):
            fail(400, "invalid_request", "Malformed form body.")
            return
        if any(len(v) > 1 for v in form.values()):
            fail(400, "invalid_request", "Repeated form field.")
            return
        values = {k: v[0] for k, v in form.items()}
        if values.get("grant_type") != "client_credentials":
            fail(400, "unsupported_grant_type", "grant_type must be client_credentials.")
            return
        client_id = values.get("client_id", "")
        secret = values.get("client_secret", "")
        if not client_id or not secret or not self.sb._tokens.check_client(client_id, secret):
            fail(401, "invalid_client", "Invalid client credentials.", client_id or None)
            return
        faults = self.sb.faults
        token, expires_in = self.sb._tokens.issue(
            client_id, faults.token_lifetime, faults.advertised_token_lifetime
        )
        query = {k: v for k, v in values.items() if k != "client_secret"}
        self._record("token", 200, client_id=client_id, query=query)
        self._send_json(
            200,
            {"access_token": token, "token_type": "bearer", "expires_in": expires_in},
            {BUDGET_HEADER: self.sb.budget()},
        )

    # -- export --------------------------------------------------------------------------------

    def _export(self, body: bytes) -> None:
        sb = self.sb
        client = self._admitted_client()
        if client is None:
            return
        delay = sb._fault_state.slow_delay()
        injected = sb._fault_state.status_fault()
        query, parse_error = _parsed_json(body)
        if delay > 0 and sb._wait(delay, sb._stopping):
            self.close_connection = True
            return
        if injected is not None:
            status, fault = injected
            self._record("export", status, client_id=client, fault=fault, query=query)
            self._send_status_fault(status)
            return
        if parse_error:
            problem = bad_request("Malformed JSON body.", "invalid_json")
            self._record("export", 400, client_id=client)
            self._send_json(problem.status, problem.body)
            return
        plan = self._planned(client, query)
        if plan is not None:
            self._stream(plan, client, query)

    def _admitted_client(self) -> str | None:
        """The client of a valid token within its budget; otherwise answer 401 or 429."""
        sb = self.sb
        client = sb._tokens.authenticate(self.headers.get("Authorization"))
        if client is None:
            self._record("export", 401)
            self._send_json(
                401,
                {"code": 401, "message": "Invalid or expired token"},
                {"WWW-Authenticate": "Bearer"},
            )
            return None
        faults = sb.faults
        if not sb._budget.admit(client, faults.hourly_budget, faults.budget_window):
            self._record("export", 429, client_id=client, fault="budget")
            budget = sb.faults.hourly_budget
            self._send_json(
                429, {"code": 429, "message": f"Rate limit exceeded: {budget} requests per hour"}
            )
            return None
        return client

    def _planned(self, client: str, query: Any) -> ExportPlan | None:
        """What the answer holds; otherwise answer the query's error (None)."""
        sb = self.sb
        try:
            return plan_export(query, sb.engine, sb.faults)
        except ApiError as problem:
            self._record("export", problem.status, client_id=client, query=query)
            self._send_json(problem.status, problem.body)
        except RecursionError:
            deep = filter_invalid("nested too deeply")
            self._record("export", 400, client_id=client, query=query)
            self._send_json(deep.status, deep.body)
        except Exception:
            log.exception("sandbox export failed")
            self._record("export", 500, client_id=client, fault="internal_error", query=query)
            self._send_json(500, server_error().body)
        return None


def _parsed_json(body: bytes) -> tuple[Any, bool]:
    """The export body parsed, and whether it failed to parse."""
    try:
        return json.loads(body.decode("utf-8")), False
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, True
