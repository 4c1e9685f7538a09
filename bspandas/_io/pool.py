"""The Arrow memory pool a read allocates from: memory given back as soon as it is freed.

Arrow's default pool (mimalloc) keeps freed memory for reuse, and pandas' Python strings
cannot reuse it: a read of 1M rows then holds the parsed table's size again in idle pages
beside its frame (peak RSS 2x the frame instead of 1.5x, issue 15). bspandas reads through
a jemalloc pool told to return freed pages at once (jemalloc's decay time is set to zero;
the process's default pool is left alone). Builds of pyarrow without jemalloc use the
default pool.

>>> read_pool().bytes_allocated() >= 0
True
"""

from __future__ import annotations

import functools

import pyarrow as pa

__all__ = ["read_pool"]


@functools.cache
def read_pool() -> pa.MemoryPool:
    """The pool of every allocation a read makes (see the module's docstring)."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.default_memory_pool()
    return pool
