"""B5 runs end to end on a small activity log (the figures themselves come from make bench)."""

from __future__ import annotations

from benchmarks import dataset


def test_dataset_benchmark_measures_both_sides_on_the_same_rows() -> None:
    figures = {f.name: f for f in dataset.run(20_000, chunksize=2_000, unit="year")}
    tag = next(iter(figures.values())).bench
    assert tag.startswith("B5 dataset ")
    assert tag.endswith(" activities")
    rows = int(tag.split()[2].replace(",", ""))
    assert 15_000 < rows < 25_000  # run() itself raises when the two row counts differ
    ratio = figures["export memory / read_query memory"]
    growth = figures["export_dataset: peak memory growth (chunks of 2,000)"].value
    assert ratio.value == growth / figures["read_query: peak memory growth"].value
    assert ratio.ok is (ratio.value <= 0.5)
    assert figures["export_dataset by year: wall time"].value > 0
