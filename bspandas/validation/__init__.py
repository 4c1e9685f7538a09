"""Validation: the pandera schema generated from the catalog (:func:`schema_for`) and the
pandera models of :mod:`bspandas.validation.models` (loaded on first use).

>>> from bspandas.validation import schema_for
>>> schema_for("account", ["ootb_account_name"]).columns["ootb_account_name"].nullable
True
"""

from bspandas.validation.builder import schema_for
from bspandas.validation.validate import validate_frame

__all__ = ["schema_for", "validate_frame"]
