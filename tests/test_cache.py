from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from bspandas.cache import Cache, as_cache


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "s": pd.array(["a", None], dtype="string"),
            "c": pd.Categorical(["x", None], categories=["x", "y"], ordered=True),
            "t": pd.to_datetime(["2026-01-01", None], utc=True).astype("datetime64[ms, UTC]"),
            "d": pd.to_timedelta(["1:00:00", None]),
        }
    )


def test_round_trip_keeps_dtypes(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache.key(host="h", tenant="t", payload={"object": "account"}, extra="v")
    cache.store(key, frame(), {"fetched_at": "2026-01-01T00:00:00+00:00"})
    loaded = cache.load(key)
    assert loaded is not None
    restored, meta = loaded
    pd.testing.assert_frame_equal(restored, frame())
    assert meta["fetched_at"] == "2026-01-01T00:00:00+00:00"


def test_files_are_private_and_hold_no_tenant_in_clear(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    key = cache.key(host="h", tenant="client-id-XYZ", payload={}, extra="")
    cache.store(key, frame(), {})
    (path,) = (tmp_path / "c").glob("*.parquet")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "c").stat().st_mode & 0o777) == "0o700"
    assert b"client-id-XYZ" not in path.read_bytes()
    assert "client-id-XYZ" not in key


def test_key_depends_on_tenant_payload_and_extra() -> None:
    base = {"host": "h", "tenant": "a", "payload": {"object": "user"}, "extra": "1"}
    keys = {
        Cache.key(**base),  # type: ignore[arg-type]
        Cache.key(**{**base, "tenant": "b"}),  # type: ignore[arg-type]
        Cache.key(**{**base, "payload": {"object": "account"}}),  # type: ignore[arg-type]
        Cache.key(**{**base, "extra": "2"}),  # type: ignore[arg-type]
    }
    assert len(keys) == 4


def test_expired_entries_are_gone(tmp_path: Path) -> None:
    cache = Cache(tmp_path, ttl=10)
    cache.store("k", frame(), {})
    old = time.time() - 60
    os.utime(tmp_path / "k.parquet", (old, old))
    assert cache.load("k") is None
    assert not (tmp_path / "k.parquet").exists()
    assert cache.load("absent") is None


def test_clear_and_as_cache(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.store("a", frame(), {})
    cache.store("b", frame(), {})
    assert cache.clear() == 2
    assert as_cache(None) is None
    assert as_cache(False) is None
    assert isinstance(as_cache(True), Cache)
    assert as_cache(tmp_path).directory == tmp_path  # type: ignore[union-attr]
    assert as_cache(cache) is cache
    with pytest.raises(TypeError):
        as_cache(3)  # type: ignore[arg-type]
