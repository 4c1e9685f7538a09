"""One read's orchestration: :func:`bspandas.read_query`, its checks before and after the
request, progress, and tenant probing."""
