"""Every warning points at the user's line (``find_stacklevel``), for each warning class in
:mod:`bspandas._exceptions`; chunked reads warn once per read."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bspandas as bs
from bspandas import _exceptions as errors
from bspandas import frame as reshape
from bspandas._http.client import Client
from bspandas._http.config import resolve_credentials
from bspandas._http.retry import RetryPolicy
from bspandas._io.cache import Cache
from bspandas.sandbox import Sandbox
from bspandas.sandbox.export import ExportPlan
from tests.frame.frames import join_accounts, opportunities_frame

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_time=30)
WARNING_CLASSES = sorted(
    (
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.BackstoryWarning) and cls is not errors.BackstoryWarning
    ),
    key=lambda cls: cls.__name__,
)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client(retry=FAST) as c:
        yield c


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _missing_columns(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    sandbox.set_faults(unknown_slugs=frozenset({"industry"}))
    bs.read_query("account", ["ootb_account_name", "industry"], client=client, on_missing="warn")


def _ignored_filter(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    sandbox.set_faults(unfilterable_slugs=frozenset({"industry"}))
    bs.read_query("account", ["industry"], where="industry == 'Retail'", client=client)


def _validation(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    sandbox.set_faults(corrupt_slugs=frozenset({"ootb_churn_risk_score"}))
    bs.read_query("account", ["ootb_churn_risk_score"], client=client)


def _possible_typo(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    bs.read_query(
        "opportunity",
        ["ootb_opportunity_crm_id"],
        where="ootb_opportunity_current_stage == 'Closed-Won'",
        dry_run=True,
    )


def _unregistered(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    bs.read_query("user", ["custom_user_x"], dry_run=True)


def _variation_adjusted(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    bs.read_query("account", [("ootb_emails_sent", "current_quarter")], dry_run=True)


def _header_mismatch(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    original = ExportPlan.labels

    def relabelled(plan: ExportPlan) -> list[str]:
        return ["Company" if label == "Account Name" else label for label in original.fget(plan)]  # type: ignore[attr-defined]

    ExportPlan.labels = property(relabelled)  # type: ignore[assignment,method-assign]
    try:
        bs.read_query("account", ["ootb_account_name"], client=client)
    finally:
        ExportPlan.labels = original  # type: ignore[method-assign]


def _unverified(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    sandbox.set_faults(missing_terminator=1)
    for _ in bs.read_query("account", ["ootb_account_name"], client=client, chunksize=50):
        pass


def _missing_rows(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    base = bs.read_query("account", ["ootb_account_crm_id"], client=client).head(2)
    ghost = pd.DataFrame({"ootb_account_crm_id": pd.array(["001GHOST0000000"], dtype="string")})
    frame = pd.concat([base, ghost], ignore_index=True)
    frame.backstory.fetch(["annual_revenue"], client=client)


def _orphan_rows(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    reshape.join_opportunities(join_accounts(), opportunities_frame(), how="right", aggregate=True)


def _pacing(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    clock = Clock()
    with sandbox.client(retry=FAST, hourly_budget=1, clock=clock, sleep=clock.sleep) as paced:
        bs.read_query("account", ["ootb_account_name"], client=paced)
        bs.read_query("account", ["ootb_account_name"], client=paced)


def _cache(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    bs.read_query("account", ["ootb_account_name"], client=client, cache=cache)
    for path in tmp_path.rglob("*.parquet"):
        path.write_bytes(b"garbage")
    bs.read_query("account", ["ootb_account_name"], client=client, cache=cache)


def _insecure_config(sandbox: Sandbox, client: Client, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('client_id = "a"\nclient_secret = "b"\n')
    os.chmod(path, 0o644)
    resolve_credentials(config_file=path, environ={})


TRIGGERS: dict[str, Callable[[Sandbox, Client, Path], Any]] = {
    "CacheWarning": _cache,
    "HeaderMismatchWarning": _header_mismatch,
    "IgnoredFilterWarning": _ignored_filter,
    "InsecureConfigWarning": _insecure_config,
    "MissingColumnsWarning": _missing_columns,
    "MissingRowsWarning": _missing_rows,
    "OrphanRowsWarning": _orphan_rows,
    "PacingWarning": _pacing,
    "PossibleTypoWarning": _possible_typo,
    "UnregisteredMetricWarning": _unregistered,
    "UnverifiedAnswerWarning": _unverified,
    "ValidationWarning": _validation,
    "VariationAdjustedWarning": _variation_adjusted,
}


def test_every_warning_class_has_a_trigger_here() -> None:
    assert sorted(TRIGGERS) == [cls.__name__ for cls in WARNING_CLASSES]


@pytest.mark.parametrize("cls", WARNING_CLASSES, ids=lambda cls: cls.__name__)
def test_the_warning_points_at_the_users_line(
    cls: type[Warning], sandbox: Sandbox, client: Client, tmp_path: Path
) -> None:
    trigger = TRIGGERS[cls.__name__]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trigger(sandbox, client, tmp_path)
    mine = [w for w in caught if issubclass(w.category, cls)]
    assert mine, f"{cls.__name__} did not fire: {[str(w.message) for w in caught]}"
    for w in mine:
        assert w.filename == __file__, f"{cls.__name__} points at {w.filename}:{w.lineno}"
        assert w.lineno in _lines_of(trigger)


def _lines_of(function: Callable[..., Any]) -> range:
    lines, start = inspect.getsourcelines(function)
    return range(start, start + len(lines))


def test_a_chunked_read_warns_once_per_read(sandbox: Sandbox, client: Client) -> None:
    sandbox.set_faults(unfilterable_slugs=frozenset({"industry"}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = list(
            bs.read_query(
                "account", ["industry"], where="industry == 'Retail'", client=client, chunksize=20
            )
        )
    assert len(chunks) >= 5
    ignored = [w for w in caught if issubclass(w.category, bs.IgnoredFilterWarning)]
    assert len(ignored) == 1
    assert ignored[0].filename == __file__


def test_a_chunked_validation_warning_says_it_covers_the_first_failing_chunk_only(
    sandbox: Sandbox, client: Client
) -> None:
    # a new user's trial: the one warning of a chunked read counted the first chunk's
    # failures only and did not say so (19 of 189 failing cells)
    sandbox.set_faults(corrupt_slugs=frozenset({"ootb_churn_risk_score"}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = list(
            bs.read_query("account", ["ootb_churn_risk_score"], client=client, chunksize=20)
        )
    validation = [w for w in caught if issubclass(w.category, bs.ValidationWarning)]
    assert len(validation) == 1
    assert validation[0].filename == __file__
    text = str(validation[0].message)
    assert "later chunks are not reported again" in text
    whole = pd.concat(chunks)
    with pytest.raises(bs.SchemaValidationError):  # what the message promises
        whole.backstory.validate()


def test_the_validation_warning_says_how_to_get_the_failure_cases(
    sandbox: Sandbox, client: Client
) -> None:
    sandbox.set_faults(corrupt_slugs=frozenset({"ootb_churn_risk_score"}))
    with pytest.warns(bs.ValidationWarning, match=r"df\.backstory\.validate\(\)") as record:
        frame = bs.read_query("account", ["ootb_churn_risk_score"], client=client)
    assert ".failure_cases" in str(record[0].message)
    with pytest.raises(bs.SchemaValidationError) as info:  # what the message promises
        frame.backstory.validate()
    assert info.value.failure_cases is not None
    assert -5 in set(info.value.failure_cases["failure_case"])


# -- one spelling per concept: the old ones are deprecated aliases for one release -------------


def test_old_spellings_still_work_with_a_future_warning(client: Client) -> None:
    frame = pd.DataFrame(
        {
            "ootb_account_crm_id": pd.array(["001A"], dtype="string"),
            "ootb_emails_sent_last_7_days": pd.array([3], dtype="Int64"),
        }
    )
    new = reshape.melt_variations(frame, object="account", id_vars=["ootb_account_crm_id"])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        old = reshape.melt_variations(frame, obj="account", id_columns=["ootb_account_crm_id"])
    assert all(issubclass(w.category, FutureWarning) for w in record)
    assert {str(w.message).split("(")[1].split("=")[0] for w in record} == {"obj", "id_columns"}
    assert all(w.filename == __file__ for w in record)
    pd.testing.assert_frame_equal(old, new)
    with pytest.warns(FutureWarning, match="use id_vars="):
        frame.backstory.melt_variations(id_columns=["ootb_account_crm_id"])
    with pytest.raises(TypeError, match="got both obj= and object="):
        reshape.describe_columns(frame, obj="account", object="account")
    base = bs.read_query("account", ["ootb_account_crm_id"], client=client).head(3)
    with pytest.warns(FutureWarning, match="use chunksize=") as record:
        enriched = base.backstory.fetch(["industry"], client=client, chunk_size=2)
    assert record[0].filename == __file__
    pd.testing.assert_frame_equal(
        enriched, base.backstory.fetch(["industry"], client=client, chunksize=2)
    )
