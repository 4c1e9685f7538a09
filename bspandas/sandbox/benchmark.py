"""Measure tenant generation and export streaming at scale.

``python -m bspandas.sandbox.benchmark [--accounts 200000] [--activities-per-account 10]``
builds a tenant (about a million opportunities with the defaults), then streams one export
of 15 mixed opportunity columns with ``requests`` and prints the timings and throughput.

>>> figures = measure(accounts=200, users=20, activities_per_account=5)
>>> figures["rows"] == figures["opportunities"]
True
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import requests

from bspandas.sandbox.server import Sandbox
from bspandas.sandbox.tenant import Tenant, TenantOptions

__all__ = ["COLUMNS", "main", "measure"]

#: Fifteen requested slugs (17 CSV columns: owner and amount expand) of every cell type.
COLUMNS: list[dict[str, str]] = [
    {"slug": "ootb_opportunity_id"},
    {"slug": "ootb_opportunity_crm_id"},
    {"slug": "ootb_opportunity_name"},
    {"slug": "ootb_opportunity_account_name"},
    {"slug": "ootb_opportunity_owner"},
    {"slug": "ootb_opportunity_amount"},
    {"slug": "ootb_opportunity_converted_amount"},
    {"slug": "ootb_opportunity_close_date"},
    {"slug": "ootb_opportunity_created_at"},
    {"slug": "ootb_opportunity_current_stage"},
    {"slug": "ootb_opportunity_is_won"},
    {"slug": "ootb_opportunity_days_in_stage"},
    {"slug": "ootb_opportunity_owners"},
    {"slug": "ootb_win_probability_score"},
    {"slug": "ootb_opportunity_type"},
]


def measure(**options: Any) -> dict[str, float]:
    """Generate a tenant and stream one export; return the figures."""
    users = options.pop("users", 2000)
    started = time.perf_counter()
    tenant = Tenant(TenantOptions(users=users, **options))
    opportunities = tenant.size("opportunity")
    generated = time.perf_counter() - started
    with Sandbox(tenant=tenant, hourly_budget=0) as sb, requests.Session() as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
        }
        token = http.post(sb.token_url, data=form, timeout=30).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        query = {"object": "opportunity", "columns": COLUMNS}
        timings = []
        for _ in range(2):  # the first answer renders the cells, the second reuses them
            started = time.perf_counter()
            first_byte = 0.0
            size = 0
            newlines = 0
            with http.post(sb.export_url, json=query, stream=True, timeout=600) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_content(1 << 20):
                    if not first_byte:
                        first_byte = time.perf_counter() - started
                    size += len(chunk)
                    newlines += chunk.count(b"\n")
            timings.append((first_byte, time.perf_counter() - started))
        (first_byte, served), (_, again) = timings
        rows = sb.requests[-1].rows or 0
    return {
        "opportunities": opportunities,
        "generation_s": generated,
        "first_byte_s": first_byte,
        "serve_s": served,
        "megabytes": size / 1e6,
        "mb_per_s": size / 1e6 / served,
        "mb_per_s_repeat": size / 1e6 / again,
        "rows": rows,
        "lines": newlines,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bspandas.sandbox.benchmark")
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--opportunities-per-account", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--activities-per-account", type=float, default=10.0)
    args = parser.parse_args(argv)
    figures = measure(
        accounts=args.accounts,
        opportunities_per_account=args.opportunities_per_account,
        users=args.users,
        activities_per_account=args.activities_per_account,
    )
    print(
        f"{figures['opportunities']:,} opportunities generated in {figures['generation_s']:.2f} s; "
        f"export of {len(COLUMNS)} slugs: first byte after {figures['first_byte_s']:.2f} s, "
        f"{figures['megabytes']:.0f} MB in {figures['serve_s']:.2f} s "
        f"({figures['mb_per_s']:.0f} MB/s, {figures['rows']:,} rows)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
