"""A repr must never raise, even on an object whose ``__init__`` raised half-way.

``traceback.TracebackException(..., capture_locals=True)`` (and tools built on it: pytest's
``--showlocals``, rich, Sentry) calls ``repr(self)`` on the frame that raised; a repr that
reads an attribute never set turned the user's error into an AttributeError.
"""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import bspandas as bs
from bspandas._http.pacer import Pacer
from bspandas._io.cache import Cache
from bspandas.sandbox import Sandbox

SECRET = "cs-" + secrets.token_urlsafe(24)


def _bad_where() -> object:
    return bs.Query("account", ["ootb_account_name"], where="ootb_account_name > 5")


def _unknown_slug() -> object:
    return bs.Query("account", ["ootb_account_name"], where="no_such_column == 1")


def _refused_base_url() -> object:
    return bs.Client("id", SECRET, "http://user:pw@127.0.0.1:1", environ={})


def _bad_cache() -> object:
    return Cache("~no_such_user_bspandas/cache")  # expanduser() cannot find that home


def _bad_pacer() -> object:
    return Pacer(budget=0)


def _bad_sandbox() -> object:
    return Sandbox(no_such_option=1)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (_bad_where, bs.BackstoryError),
        (_unknown_slug, bs.BackstoryError),
        (_refused_base_url, bs.BackstoryError),
        (_bad_cache, RuntimeError),
        (_bad_pacer, ValueError),
        (_bad_sandbox, TypeError),
    ],
    ids=["query-where", "query-slug", "client-url", "cache", "pacer", "sandbox"],
)
def test_traceback_with_locals_over_a_half_initialised_object(
    build: Callable[[], Any], error: type[BaseException]
) -> None:
    with pytest.raises(error) as info:
        build()
    summary = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(summary.format())
    assert type(info.value).__name__ in text
    assert "(not fully initialised)" in text
    if build is _refused_base_url:  # (a Query's frames hold the caller's namespace, SECRET too)
        assert "client_secret" in text  # the argument is there, shown redacted
        assert SECRET not in text


def test_half_initialised_repr_names_the_class_and_html_is_escaped() -> None:
    query = bs.Query.__new__(bs.Query)
    assert repr(query) == "<Query (not fully initialised)>"
    assert query._repr_html_() == "&lt;Query (not fully initialised)&gt;"
    client = bs.Client.__new__(bs.Client)
    assert repr(client) == "<Client (not fully initialised)>"
