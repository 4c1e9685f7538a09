"""Bytes to Arrow to pandas: header alignment, the streaming feed, conversion, the dtype
table, the local filter evaluation and the on-disk cache."""
