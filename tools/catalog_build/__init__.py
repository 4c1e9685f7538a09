"""Regenerate ``bspandas/catalog/catalog.json`` from the vendor reference and the field notes.

Run it with ``make catalog`` (or ``python tools/build_catalog.py [--spec-dir DIR] [--check]``).
One module per step: ``reference`` and ``field_notes`` parse the two documents, ``entries``
turns field slugs into catalog entries, ``build`` assembles and writes the catalog; the
hand-written tables are ``reference_types``, ``field_slugs`` and ``appendix_slugs``.

Inputs (read-only, outside the repo):
  * ``object-metric-reference.txt``: the vendor's tables of fields and metrics, with their
    data types, ranges and variations. Every row becomes an entry.
  * ``query-api.md``: the field vocabulary (slugs seen working beyond the reference), header
    labels, column expansions and period lists.

What neither document states (the finer type of a field slug, which window family a field
metric takes, which key an id column carries) is written down in ``REFERENCE_TYPES``
and ``FIELD_SLUGS``. The build fails when the spec names a slug these tables do not cover,
so a new spec line cannot slip into the catalog untyped.
"""
