"""The error answers of the sandbox: status codes and JSON bodies as the real API sends them.

>>> problem = filter_invalid("a leaf needs a clause")
>>> problem.status, problem.body["error"]
(400, 'report.filter.invalid')
>>> server_error().body
{'message': 'sorry something went wrong'}
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_request",
    "columns_invalid",
    "filter_invalid",
    "filter_value",
    "server_error",
    "sort_invalid",
]


class ApiError(Exception):
    """An answer other than 200: an HTTP status with a JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def server_error() -> ApiError:
    """The real API's 500 (bare-string attribute, two leaves on one attribute)."""
    return ApiError(500, {"message": "sorry something went wrong"})


def bad_request(message: str, error: str = "bad_request") -> ApiError:
    return ApiError(400, {"code": 400, "error": error, "message": message})


def filter_invalid(detail: str) -> ApiError:
    """A malformed filter shape: the body mentions ``report.filter.invalid``."""
    return bad_request(f"report.filter.invalid: {detail}", "report.filter.invalid")


def filter_value(slug: str, operator: str, expected: str) -> ApiError:
    """A filter value of the wrong type (an ISO date instead of epoch milliseconds...)."""
    return bad_request(
        f"Invalid value for {slug} in {operator}: use compatible datatypes such as: {expected}",
        "report.filter.invalid_value",
    )


def columns_invalid(detail: str) -> ApiError:
    return bad_request(f"report.columns.invalid: {detail}", "report.columns.invalid")


def sort_invalid(detail: str) -> ApiError:
    return bad_request(f"report.sort.invalid: {detail}", "report.sort.invalid")
