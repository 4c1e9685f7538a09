"""An optional on-disk cache of answers, stored as Parquet (dtypes survive the round trip).

Entries are keyed by a hash of the host, a one-way hash of the tenant's client id, the exact
payload and what else decides the answer (the reader adds the catalog's definition of every
column, the dtype backend and ``on_missing``). No credential is written: neither the
secret, nor the token, nor the client id in clear. Files are readable by their owner only,
are named ``bspandas-<key>.parquet`` and carry a format mark: :meth:`Cache.clear` deletes
those files only, and an entry that cannot be read back (corrupt, truncated, foreign) is
dropped with a :class:`bspandas.CacheWarning`, so the answer is fetched again. Symlinks are
never followed and a folder other users may write to is refused.

>>> import tempfile, pandas as pd
>>> cache = Cache(tempfile.mkdtemp(), ttl=60)
>>> key = cache.key(host="http://127.0.0.1", tenant="id", payload={"object": "account"}, extra="x")
>>> cache.store(key, pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}), {"rows": 2})
>>> frame, meta = cache.load(key)
>>> str(frame["a"].dtype), meta["rows"]
('Int64', 2)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from bspandas._exceptions import CacheWarning, ConfigurationError
from bspandas._io.entry import read_entry, write_entry
from bspandas._messages import robust_repr
from bspandas._utils import find_stacklevel

__all__ = ["Cache", "as_cache", "default_cache_dir"]

_PREFIX = "bspandas-"
_SUFFIX = ".parquet"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OURS = re.compile(r"bspandas-[A-Za-z0-9_-]{1,64}\.parquet|bspandas-[A-Za-z0-9_]+\.tmp")
#: Seconds an entry's time may lie ahead of the clock (file systems round times); beyond
#: that an entry comes from the future and is treated as expired.
CLOCK_SLACK = 5.0


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bspandas`` (``~/.cache/bspandas``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "bspandas"


class Cache:
    """Answers stored as Parquet files in ``directory`` for ``ttl`` seconds.

    Pass one to ``read_query(cache=...)`` (or ``cache=True`` for the default folder).

    Parameters
    ----------
    directory : str, Path or None, default None
        The folder of the entries (``~`` expanded); ``None`` is :func:`default_cache_dir`,
        ``$XDG_CACHE_HOME/bspandas``. It is created (owner-only) at the first store; a
        folder every user may write to is refused.
    ttl : float, default 3600.0
        Seconds an entry stays valid; an older one is deleted when looked up.
    clock : callable, default time.time
        Seconds since the epoch; decides ages (tests pass their own).

    See Also
    --------
    bspandas.read_query : reads through the cache with ``cache=``.

    Examples
    --------
    >>> import tempfile
    >>> cache = Cache(tempfile.mkdtemp(), ttl=600)
    >>> cache.ttl, cache.clear()
    (600, 0)
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = (
            Path(directory).expanduser() if directory is not None else default_cache_dir()
        )
        self.ttl = ttl
        self._clock = clock

    @robust_repr
    def __repr__(self) -> str:
        return f"Cache({str(self.directory)!r}, ttl={self.ttl:g})"

    @staticmethod
    def key(*, host: str, tenant: str, payload: Mapping[str, Any], extra: str) -> str:
        """A stable key for an answer; the tenant enters only through a one-way hash.

        Parameters
        ----------
        host : str
            The API's base URL.
        tenant : str
            The tenant's client id (hashed, never stored in clear).
        payload : mapping
            The exact request payload (JSON-serialisable; other values by ``str``).
        extra : str
            Anything else that decides the answer (catalog definitions, dtype backend).

        Returns
        -------
        str
            32 hexadecimal characters, the same for the same arguments.

        Examples
        --------
        >>> key = Cache.key(host="h", tenant="id", payload={"object": "account"}, extra="")
        >>> len(key), key == Cache.key(host="h", tenant="id", payload={"object": "account"},
        ...                            extra="")
        (32, True)
        """
        tenant_hash = hashlib.sha256(f"bspandas-tenant:{tenant}".encode()).hexdigest()
        text = json.dumps(
            {"host": host, "tenant": tenant_hash, "payload": payload, "extra": extra},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        """The file of an entry (``bspandas-<key>.parquet`` in the folder).

        Parameters
        ----------
        key : str
            1 to 64 letters, digits, ``-`` or ``_`` (as :meth:`key` makes).

        Returns
        -------
        Path
            The entry's file, which may not exist.

        Raises
        ------
        ValueError
            When ``key`` is not such a string (it could name a path outside the folder).

        Examples
        --------
        >>> Cache("/tmp/answers").path("abc").name
        'bspandas-abc.parquet'
        """
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(
                f"A cache key is 1 to 64 letters, digits, '-' or '_', got {key!r}; "
                "Cache.key(...) makes one."
            )
        return self.directory / f"{_PREFIX}{key}{_SUFFIX}"

    def _check_directory(self) -> bool:
        """True when the folder exists; refuse one that every user may write to."""
        try:
            info = self.directory.stat()
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise ConfigurationError(
                f"The cache folder {str(self.directory)!r} is not a folder. Pass cache= a "
                "folder path (or True for the default one)."
            )
        if info.st_mode & stat.S_IWOTH:
            raise ConfigurationError(
                f"The cache folder {str(self.directory)!r} can be written by every user, "
                "who could plant answers in it; bspandas will not use it. Pass cache= a "
                "private folder (or True for ~/.cache/bspandas), or run "
                f"`chmod 700 {self.directory}`."
            )
        return True

    def drop(self, key: str, reason: str) -> None:
        """Delete an entry that cannot be used, with a :class:`CacheWarning`.

        Parameters
        ----------
        key : str
            The entry.
        reason : str
            Why it is dropped (the warning says it).

        Raises
        ------
        ValueError
            When ``key`` is not a valid key (see :meth:`path`).

        Examples
        --------
        >>> import tempfile, warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     Cache(tempfile.mkdtemp()).drop("abc", "a test")
        >>> "a test" in str(caught[0].message)
        True
        """
        path = self.path(key)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        warnings.warn(
            f"The cached answer {path.name} in {str(self.directory)!r} was dropped: {reason}. "
            "It is fetched again.",
            CacheWarning,
            stacklevel=find_stacklevel(),
        )

    def load(
        self, key: str, *, arrow_dtypes: bool = False
    ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The stored frame and its metadata, or ``None`` when absent, expired or unusable.

        An entry that cannot be read back (corrupt, foreign, a symlink) is deleted with a
        :class:`CacheWarning`; an expired one is deleted silently.

        Parameters
        ----------
        key : str
            The entry (see :meth:`key`).
        arrow_dtypes : bool, default False
            Give every column an ``ArrowDtype`` (frames read with
            ``dtype_backend="pyarrow"``: their string columns would otherwise come back as
            ``StringDtype``, which shares the name ``string[pyarrow]``).

        Returns
        -------
        tuple of (DataFrame, dict) or None
            The frame with its dtypes, and the metadata stored with it.

        Raises
        ------
        ValueError
            When ``key`` is not a valid key (see :meth:`path`).
        ConfigurationError
            When the folder is not a folder, or every user may write to it.

        Examples
        --------
        >>> import tempfile
        >>> Cache(tempfile.mkdtemp()).load("absent") is None
        True
        """
        path = self.path(key)
        if not self._check_directory():
            return None
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            self.drop(key, "it is a symlink or not a regular file (never followed)")
            return None
        age = self._clock() - info.st_mtime
        if age > self.ttl or age < -CLOCK_SLACK:
            path.unlink(missing_ok=True)
            return None
        try:
            return read_entry(path, arrow_dtypes)
        except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.drop(key, f"it cannot be read back ({type(exc).__name__}: {detail})")
            return None

    def store(self, key: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        """Write ``frame`` atomically with JSON-safe ``meta``.

        A failure to write (a full disk, an entry that is a folder) never loses the answer
        the caller holds: it becomes a :class:`CacheWarning` and nothing is cached.

        Parameters
        ----------
        key : str
            The entry (see :meth:`key`).
        frame : DataFrame
            The answer; its dtypes survive the round trip.
        meta : mapping
            Metadata stored with it (values JSON-serialisable, others by ``str``).

        Raises
        ------
        ValueError
            When ``key`` is not a valid key (see :meth:`path`).
        ConfigurationError
            When the folder is not a folder, or every user may write to it.

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> cache = Cache(tempfile.mkdtemp())
        >>> cache.store("k", pd.DataFrame({"a": [1]}), {"rows": 1})
        >>> cache.load("k")[1]
        {'rows': 1}
        """
        try:
            self._write(key, frame, meta)
        except OSError as exc:
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            warnings.warn(
                f"The answer was not cached: writing {self.path(key).name} in "
                f"{str(self.directory)!r} failed ({type(exc).__name__}: {detail}). The frame "
                "is returned; fix or remove that path (Cache.clear()) to cache again.",
                CacheWarning,
                stacklevel=find_stacklevel(),
            )

    def _write(self, key: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        path = self.path(key)
        if not self._check_directory():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temp = tempfile.mkstemp(dir=self.directory, prefix=_PREFIX, suffix=".tmp")
        os.close(handle)
        try:
            os.chmod(temp, 0o600)
            write_entry(frame, meta, temp)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def clear(self) -> int:
        """Delete every answer bspandas stored here (other files stay).

        Returns
        -------
        int
            How many answers were deleted.

        Raises
        ------
        ConfigurationError
            When the folder is not a folder, or every user may write to it.

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> cache = Cache(tempfile.mkdtemp())
        >>> cache.store("k", pd.DataFrame({"a": [1]}), {})
        >>> cache.clear()
        1
        """
        if not self._check_directory():
            return 0
        removed = 0
        for path in self.directory.iterdir():
            if not _OURS.fullmatch(path.name):
                continue
            try:
                if stat.S_ISDIR(path.lstat().st_mode):
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += path.name.endswith(_SUFFIX)
        return removed


def as_cache(cache: bool | str | Path | Cache | None) -> Cache | None:
    """``True`` gives the default cache, a path a cache there, ``None``/``False`` none."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return Cache()
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, str | Path):
        return Cache(cache)
    raise TypeError(f"cache= takes True, a directory or a bspandas.Cache, got {cache!r}")
