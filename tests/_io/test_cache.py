from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bspandas._exceptions import CacheWarning, ConfigurationError
from bspandas._io.cache import Cache, as_cache


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
    (path,) = (tmp_path / "c").glob("bspandas-*.parquet")
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
    os.utime(cache.path("k"), (old, old))
    assert cache.load("k") is None
    assert not cache.path("k").exists()
    assert cache.load("absent") is None


def test_entries_from_the_future_expire(tmp_path: Path) -> None:
    now = [1_000_000.0]
    cache = Cache(tmp_path, ttl=3600, clock=lambda: now[0])
    cache.store("k", frame(), {})
    os.utime(cache.path("k"), (now[0] + 2, now[0] + 2))  # within the clock slack: kept
    assert cache.load("k") is not None
    os.utime(cache.path("k"), (now[0] + 86_400, now[0] + 86_400))  # a day ahead: expired
    assert cache.load("k") is None
    assert not cache.path("k").exists()


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1 this is not parquet")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path: Path) -> None:
    frame().to_parquet(path)  # a valid Parquet file bspandas did not write


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _foreign, _empty])
def test_unusable_entries_are_dropped_with_a_warning(tmp_path: Path, damage: Any) -> None:
    cache = Cache(tmp_path)
    cache.store("k", frame(), {"fetched_at": "x"})
    damage(cache.path("k"))
    with pytest.warns(CacheWarning, match="dropped: it cannot be read back"):
        assert cache.load("k") is None
    assert not cache.path("k").exists()
    cache.store("k", frame(), {"fetched_at": "x"})  # and the next answer is stored again
    loaded = cache.load("k")
    assert loaded is not None
    pd.testing.assert_frame_equal(loaded[0], frame())


def test_symlinked_entries_are_not_followed(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    cache.store("k", frame(), {})
    elsewhere = tmp_path / "planted.parquet"
    os.replace(cache.path("k"), elsewhere)  # a valid entry, reachable only through a link
    cache.path("k").symlink_to(elsewhere)
    with pytest.warns(CacheWarning, match="symlink"):
        assert cache.load("k") is None
    assert elsewhere.exists()  # the target is neither read nor deleted
    assert not cache.path("k").is_symlink()


def test_a_world_writable_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    cache = Cache(folder)
    for use in (
        lambda: cache.store("k", frame(), {}),
        lambda: cache.load("k"),
        cache.clear,
    ):
        with pytest.raises(ConfigurationError, match="can be written by every user"):
            use()
    assert list(folder.iterdir()) == []


def test_clear_deletes_only_what_bspandas_wrote(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.store("a", frame(), {})
    cache.store("b", frame(), {})
    (tmp_path / "notes.txt").write_text("mine")
    frame().to_parquet(tmp_path / "report.parquet")
    (tmp_path / "bspandas-notes.txt").write_text("mine too")
    (tmp_path / "bspandas-dir.parquet").mkdir()
    assert cache.clear() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bspandas-dir.parquet",
        "bspandas-notes.txt",
        "notes.txt",
        "report.parquet",
    ]


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Cache("~/answers").directory == tmp_path / "answers"
    monkeypatch.setenv("XDG_CACHE_HOME", "~/xdg")
    assert Cache().directory == tmp_path / "xdg" / "bspandas"
    Cache("~/answers").store("k", frame(), {})
    assert (tmp_path / "answers" / "bspandas-k.parquet").is_file()
    assert not Path("~").exists()  # nothing written to a literal "~" folder


@pytest.mark.parametrize("key", ["../escape", "a/b", "", "x" * 65, "k.parquet"])
def test_keys_cannot_name_other_files(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="cache key"):
        Cache(tmp_path).store(key, frame(), {})


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


def test_an_entry_that_is_a_folder_never_loses_the_read(tmp_path: Path) -> None:
    import warnings

    import bspandas as bs
    from bspandas.sandbox import serve

    columns = ["ootb_account_crm_id", "ootb_account_name"]
    with serve(seed=7, accounts=20) as sb, sb.client() as client:
        fresh = bs.read_query("account", columns, client=client)
        bs.read_query("account", columns, client=client, cache=tmp_path)
        (entry,) = tmp_path.glob("bspandas-*.parquet")
        entry.unlink()
        entry.mkdir()  # a botched sync left a folder where the entry was
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = bs.read_query("account", columns, client=client, cache=tmp_path)
    pd.testing.assert_frame_equal(again, fresh)
    texts = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert any("dropped" in t for t in texts)
    assert any("not cached" in t and entry.name in t for t in texts)
    assert entry.is_dir()  # left as found: bspandas never deletes a folder


def test_store_turns_a_write_failure_into_a_warning(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.path("k").mkdir()
    with pytest.warns(CacheWarning, match=r"not cached: .*IsADirectoryError") as caught:
        cache.store("k", frame(), {})
    assert caught[0].filename == __file__  # the user's line, not bspandas'
    assert [p.name for p in tmp_path.iterdir()] == [cache.path("k").name]  # no temp file left
