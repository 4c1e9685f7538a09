"""One window read from the API and landed whole, read again when its answer was cut.

A cut answer (or a broken connection) costs the window only: it is read again from the
start. An answer without its terminating chunk is accepted only when a second one agrees
on the row count (as ``read_query`` does for whole reads). Nothing half-written is ever
landed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Literal

from bspandas._exceptions import TransportError, TruncatedResponseError, UnverifiedAnswerWarning
from bspandas._http.client import Client
from bspandas._io.dtypes import Backend
from bspandas.frame.dataset.storage import (
    dictionary_columns,
    land,
    staging_name,
    storage_types,
    write_frames,
)
from bspandas.frame.dataset.windows import Split, Window
from bspandas.query.builder import Query

__all__: list[str] = []

log = logging.getLogger("bspandas")


def _export_window(
    fs: Any,
    directory: str,
    query: Query,
    client: Client,
    window: Window | None,
    split: Split | None,
    *,
    dtype_backend: Backend,
    chunksize: int,
    validate: bool | Literal["warn", "raise"],
) -> tuple[int, dict[str, Any]]:
    """One window, streamed to a hidden file and renamed into place once it is known whole.

    A cut answer (or a broken connection) costs this window only: it is read again from
    the start. An answer without its terminating chunk is accepted only when a second one
    agrees on the row count (as ``read_query`` does for whole reads).
    """
    from bspandas._read.reader import read_query

    extra: dict[str, Any] = {}
    if window is not None and split is not None:
        extra["window"] = {**window.to_json(), "slug": split.slug, "partition": split.partition}
    fs.makedirs(directory, exist_ok=True)
    attempts = max(2, client.retry.attempts)
    unverified: list[int] = []
    for attempt in range(1, attempts + 1):
        staging = staging_name(directory)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frames = read_query(
                query,
                client=client,
                chunksize=chunksize,
                dtype_backend=dtype_backend,
                validate=validate,
                progress=False,
            )
            try:
                outputs = query.outputs()
                rows, meta = write_frames(
                    fs, staging, frames, extra, storage_types(outputs), dictionary_columns(outputs)
                )
            except (TruncatedResponseError, TransportError) as exc:
                _reissue(caught)
                if attempt == attempts:
                    raise
                log.info("window %s was cut (%s); reading it again", directory, type(exc).__name__)
                continue
        _reissue(caught)
        if not any(issubclass(w.category, UnverifiedAnswerWarning) for w in caught):
            land(fs, staging, directory)
            return rows, meta
        if rows in unverified:
            land(fs, staging, directory)
            return rows, meta
        unverified.append(rows)
        fs.rm(staging)
        log.info("window %s ended without its terminating chunk; reading it again", directory)
    raise TruncatedResponseError(
        f"The window {directory} ended without its terminating chunk {len(unverified)} times "
        f"with different row counts ({', '.join(map(str, unverified))}). Nothing was written "
        "for it; run the export again later to resume from this window."
    )


def _reissue(caught: Sequence[warnings.WarningMessage]) -> None:
    """Pass on the warnings of a window read, except the unverified-answer ones it handles."""
    for item in caught:
        if issubclass(item.category, UnverifiedAnswerWarning):
            continue
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
