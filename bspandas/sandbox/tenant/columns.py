"""Column builders shared by the tenant's tables: Arrow string helpers, CRM and internal
ids, people's names, and the pandas conversions of the frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas.sandbox.tenant.pools import FIRST_NAMES, LAST_NAMES

Arr = npt.NDArray[Any]

_DIGITS36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)

# -- vectorised string helpers ---------------------------------------------------------------


def strings(values: Any) -> Any:
    return pa.array(list(values), pa.string())


def take(pool: Any, codes: Arr) -> Any:
    """``pool[codes]`` as an Arrow string array; negative codes give missing values."""
    codes = np.asarray(codes)
    mask = codes < 0
    index = pa.array(np.where(mask, 0, codes), mask=mask if mask.any() else None)
    return pool.take(index)


def join(*parts: Any) -> Any:
    """Concatenate string arrays/scalars element-wise (missing in, missing out)."""
    return pc.binary_join_element_wise(*parts, "")


def crm_ids(prefix: str, numbers: Arr, org: str = "5g") -> Any:
    """15-character CRM ids: ``prefix`` + org code + zero padding + base-36 number.

    >>> crm_ids("001", np.array([0, 35, 36])).to_pylist()
    ['0015g0000000000', '0015g000000000Z', '0015g0000000010']
    """
    width = 15 - len(prefix) - len(org)
    n = len(numbers)
    head = np.frombuffer((prefix + org).encode(), dtype=np.uint8)
    matrix = np.empty((n, 15), dtype=np.uint8)
    matrix[:, : len(head)] = head
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for position in range(14, len(head) - 1, -1):
        matrix[:, position] = _DIGITS36[rest % 36]
        rest //= 36
    if width < 1 or (rest > 0).any():
        raise ValueError("CRM id numbers do not fit")
    offsets = np.arange(n + 1, dtype=np.int32) * 15
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes()))


def internal_ids(base: int, n: int, rng: np.random.Generator) -> Arr:
    """Increasing, unique, 13-digit internal ids."""
    return base + np.arange(n, dtype=np.int64) * 1000 + rng.integers(0, 1000, n)


def people_names(rng: np.random.Generator, n: int) -> tuple[Any, Any]:
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    display = join(
        take(strings(f for f, _ in FIRST_NAMES), first),
        " ",
        take(strings(ln for ln, _ in LAST_NAMES), last),
    )
    handle = join(
        take(strings(a for _, a in FIRST_NAMES), first),
        ".",
        take(strings(a for _, a in LAST_NAMES), last),
    )
    return display, handle


def spread(counts: Arr, rng: np.random.Generator, owners: Arr) -> Arr:
    """For each item owned by ``owners`` (an index into ``counts``), a random member index of
    that owner's block, or -1 when the block is empty. Blocks are contiguous (sorted)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    size = counts[owners]
    pick = starts[owners] + np.floor(rng.random(len(owners)) * size).astype(np.int64)
    return np.where(size > 0, pick, -1)


def categorical(codes: Arr, pool: tuple[str, ...]) -> pd.Categorical[str]:
    index: pd.Index[str] = pd.Index(list(pool), dtype="str")
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=index)


def ref(ids: Arr, index: Arr) -> pd.Series:
    values = pd.array(ids[np.where(index >= 0, index, 0)], dtype="Int64")
    values[index < 0] = pd.NA
    return pd.Series(values)


def seconds(epoch_s: Arr) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(epoch_s, dtype=np.int64), unit="s", utc=True))
