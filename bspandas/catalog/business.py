"""Business tables of the Backstory data model: the keys that identify and join rows, and
the default stage probabilities. Plain data (no pandas), shared by the client side and the
sandbox.

>>> PRIMARY_KEYS["account"]
('account.crm_id', 'account.internal_id')
>>> DEFAULT_STAGE_PROBABILITY["Proposal"]
50.0
"""

from __future__ import annotations

__all__ = ["ACCOUNT_KEYS", "DEFAULT_STAGE_PROBABILITY", "PRIMARY_KEYS"]

#: The key that identifies a row of each object (its column must be unique).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "account": ("account.crm_id", "account.internal_id"),
    "opportunity": ("opportunity.crm_id", "opportunity.internal_id"),
    "user": ("user.crm_id", "user.internal_id", "user.email"),
    "activity": ("activity.uid",),
}

#: The keys an opportunity frame and an account frame are joined on, tried in this order.
ACCOUNT_KEYS: tuple[str, ...] = ("account.crm_id", "account.internal_id", "account.name")

#: Stage probabilities (percent) used for the weighted pipeline when the frame has no
#: ``ootb_stage_probability`` column (or a row has no value there).
DEFAULT_STAGE_PROBABILITY: dict[str, float] = {
    "Prospecting": 10.0,
    "Qualification": 20.0,
    "Needs Analysis": 30.0,
    "Proposal": 50.0,
    "Negotiation": 75.0,
    "Closed Won": 100.0,
    "Closed Lost": 0.0,
}
