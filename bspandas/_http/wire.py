"""The Query API's wire constants, shared by the client and the sandbox (which must agree
on them): the endpoint paths and the sandbox's budget header.

>>> EXPORT_PATH
'/v3/beta/insights/export'
"""

from __future__ import annotations

__all__ = ["EXPORT_PATH", "SANDBOX_BUDGET_HEADER", "TOKEN_PATH"]

#: The token endpoint (form-encoded client credentials).
TOKEN_PATH = "/v3/auth/tokens"
#: The export endpoint (a JSON query in, a CSV answer out).
EXPORT_PATH = "/v3/beta/insights/export"
#: The header of a bspandas sandbox's token answers that announces its hourly budget.
SANDBOX_BUDGET_HEADER = "X-Sandbox-Hourly-Budget"
