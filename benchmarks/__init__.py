"""The bspandas benchmark suite: ``make bench`` (1M rows) or ``make bench-quick`` (100k).

Every figure is a ratio against a baseline measured in the same run, since absolute times
drift on shared machines. Results go to ``benchmarks/results.md`` with the machine.
"""
