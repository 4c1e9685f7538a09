from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import bspandas
from bspandas import _exceptions as errors
from bspandas import _messages as messages


def _classes(base: type) -> list[type]:
    return [
        obj
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_")
    ]


def test_every_error_has_one_root() -> None:
    excs = [c for c in _classes(BaseException) if not issubclass(c, Warning)]
    assert excs, "no exceptions found"
    assert all(issubclass(c, errors.BackstoryError) for c in excs)


def test_every_warning_has_one_root() -> None:
    warns = _classes(Warning)
    assert len(warns) >= 9
    assert all(issubclass(c, errors.BackstoryWarning) for c in warns)
    assert not any(issubclass(c, errors.BackstoryError) for c in warns)


def test_docstring_draws_every_class() -> None:
    doc = errors.__doc__ or ""
    for cls in _classes(BaseException):
        assert re.search(rf"\b{cls.__name__}\b", doc), f"{cls.__name__} missing from the tree"


def test_query_errors_are_value_errors() -> None:
    assert issubclass(errors.UnknownMetricError, ValueError)
    assert issubclass(errors.UnknownMetricError, LookupError)
    exc = errors.UnknownMetricError("x_y", "account", ["x_z"])
    assert str(exc).startswith("Unknown metric 'x_y'")  # not quoted like a KeyError


def test_server_error_keeps_status_and_short_body_only() -> None:
    exc = errors.ServerError("export failed", status=503, body="x" * 5000)
    assert exc.status == 503
    assert len(exc.body) <= 300
    assert "HTTP 503" in str(exc)


def test_redact_scrubs_registered_secrets_tokens_and_fields() -> None:
    messages.register_secret("very-secret-value")
    text = messages.redact(
        "secret very-secret-value; Authorization: Bearer eyJ.abc.def; "
        '{"access_token": "tok123"} client_secret=zzz'
    )
    assert "very-secret-value" not in text
    assert "eyJ.abc.def" not in text
    assert "tok123" not in text
    assert "zzz" not in text


@pytest.mark.parametrize(
    "wording",
    [
        "so no usable bearer token came back",
        "Send it as a Bearer token in the Authorization header.",
        "bearer authentication. failed",
        "the bearer tokens expired",
    ],
)
def test_redact_keeps_ordinary_wording_about_bearer_tokens(wording: str) -> None:
    assert messages.redact(wording) == wording
    assert wording in str(errors.AuthenticationError(wording, status=401))


@pytest.mark.parametrize(
    "token",
    ["eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "tok-01-abcdefgh", "dG9rZW4xMjM0NTY3OA==", "a" * 24],
)
def test_redact_still_scrubs_token_like_bearer_values(token: str) -> None:
    assert (
        messages.redact(f"Authorization: Bearer {token}; next") == "Authorization: Bearer ***; next"
    )


def test_messages_are_redacted_at_construction() -> None:
    messages.register_secret("hunter2-secret")
    exc = errors.AuthenticationError("refused hunter2-secret", status=401, body="hunter2-secret")
    assert "hunter2-secret" not in str(exc)
    assert "hunter2-secret" not in repr(exc)


def test_missing_credentials_lists_every_place() -> None:
    exc = errors.MissingCredentialsError(["client_secret"], ["argument", "env X", "file Y"])
    for place in ("argument", "env X", "file Y"):
        assert place in str(exc)


@pytest.mark.parametrize("name", ["BackstoryError", "BackstoryWarning", "SchemaValidationError"])
def test_exported(name: str) -> None:
    assert getattr(bspandas, name) is getattr(errors, name)


@pytest.mark.parametrize(
    "where",
    [
        "(" * 5000 + "ootb_churn_risk_score > 1" + ")" * 5000,  # too deep for Python's parser
        "ootb_churn_risk_score > 1 and " + "ootb_churn_risk_score > 2 and " * 400 + "nope(",
        "ootb_churn_risk_score > 1 and no_such_thing(" + "'x', " * 2000 + ")",  # unsupported
    ],
    ids=["nested", "syntax", "unsupported"],
)
def test_errors_quote_at_most_about_200_characters_of_a_long_where(where: str) -> None:
    with pytest.raises(bspandas.InvalidFilterError) as info:
        bspandas.Query("account", ["ootb_account_crm_id"], where=where)
    message = str(info.value)
    assert len(message) < 800, len(message)
    assert f"({len(where):,} characters)" in message
    assert where[:150] in message  # the start of what was typed is still shown


def test_quote_input_keeps_short_text_whole() -> None:
    assert messages.quote_input("a == 1") == "'a == 1'"
    assert messages.quote_input("x" * 201, limit=200) == repr("x" * 200) + "… (201 characters)"


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: bspandas.Query("account", ["x" * 10_000]), bspandas.UnknownMetricError),
        (lambda: bspandas.Query("a" * 10_000, ["ootb_account_name"]), bspandas.UnknownObjectError),
        (
            lambda: bspandas.Query("account", ["ootb_account_name"], sort=["z" * 10_000]),
            bspandas.UnknownMetricError,
        ),
        (
            lambda: bspandas.Client("id", "s3cret-value-1", "http://" + "h" * 10_000, environ={}),
            bspandas.ConfigurationError,
        ),
    ],
    ids=["column", "object", "sort", "base-url"],
)
def test_errors_quoting_long_names_stay_short(build: Any, error: type) -> None:
    with pytest.raises(error) as info:
        build()
    assert len(str(info.value)) < 700, len(str(info.value))


@pytest.mark.parametrize("name", ["InvalidColumnsError", "MixedCurrencyError"])
def test_frame_side_errors_are_frame_errors_and_still_query_errors(name: str) -> None:
    cls = getattr(bspandas, name)
    assert issubclass(cls, bspandas.FrameError)
    assert issubclass(cls, bspandas.QueryError)  # for one release (bspandas 0.3 drops it)
    assert issubclass(cls, ValueError)
    assert not issubclass(bspandas.FrameError, bspandas.QueryError)
    assert issubclass(bspandas.FrameError, bspandas.BackstoryError)


def test_a_frame_error_raised_on_a_local_frame_is_caught_by_both_bases() -> None:
    import pandas as pd

    accounts = pd.DataFrame({"ootb_account_crm_id": ["001"]})
    opportunities = pd.DataFrame({"ootb_opportunity_amount": [5.0]})  # no account id column
    for base in (bspandas.FrameError, bspandas.QueryError):
        with pytest.raises(base) as info:
            bspandas.frame.join_opportunities(accounts, opportunities)
        assert type(info.value) is bspandas.InvalidColumnsError


def test_mixed_currencies_are_caught_as_a_frame_error() -> None:
    with pytest.raises(bspandas.FrameError) as info:
        raise errors.MixedCurrencyError("EUR and USD", ["EUR", "USD"])
    assert info.value.currencies == ["EUR", "USD"]  # type: ignore[attr-defined]


def test_every_error_and_warning_bspandas_defines_is_public() -> None:
    # an error a user cannot name cannot be caught without reaching into private modules
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, bspandas.BackstoryError | bspandas.BackstoryWarning)
        and value.__module__ == errors.__name__
    }
    assert defined - set(bspandas.__all__) == set()
