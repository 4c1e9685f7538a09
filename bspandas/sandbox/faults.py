"""The fault switches of the sandbox: everything the real service does to a client, on demand.

Counters ("the next N export answers") decrement each time they fire; rates draw from a
random generator seeded by ``seed``, so a run with the same requests sees the same faults.
Every field is also a command-line option of ``bspandas sandbox`` (its name with dashes;
``seed`` is ``--fault-seed`` there and ``fault_seed=`` for :class:`Sandbox`).

On the wire, for export requests that passed authentication and the hourly budget:

* ``rate_limit_storm``: 429 ``{"code": 429, ...}``, no ``Retry-After``; then
  ``status_schedule``, then ``error_rate``: 500 ``{"message": "sorry something went wrong"}``,
  502/503/504 an HTML gateway page, other statuses a JSON body;
* on 200 answers, one of (tried in this order) ``reset`` (part of the payload, then a TCP
  RST), ``cut_mid_quote`` (stops inside a quoted field), ``cut_mid_row`` (stops inside the
  middle row) and ``missing_terminator`` (the whole payload, no ``0\r\n\r\n``); every
  damaged answer then closes the connection;
* ``slow_first_byte``: the wait before anything is sent (headers included);
* ``trickle``: the next N export answers send their body one byte every ``trickle_delay``
  seconds (headers at once), so a read timeout restarts with every byte and never fires;
* ``two_leaves_500`` (ON by default, as in the field): 500 when an ``$and`` holds two
  leaves on the same attribute (``--no-two-leaves-500`` turns it off);
* ``unknown_slugs``: columns dropped, filter leaves and sort keys on them ignored;
* ``unfilterable_slugs``: columns served, but filter leaves on them silently ignored (the
  real API does this for attributes it cannot filter on);
* ``corrupt_slugs``: the first row of these columns holds a value outside the catalog's
  range or values (-5 for numbers, ``corrupt-value`` for enumerations), to exercise
  validation.

>>> f = Faults(status_schedule=(503, 500), cut_mid_row=1)
>>> f.active()
['status_schedule', 'cut_mid_row']
>>> Faults().active()
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["STREAM_FAULTS", "Faults"]

#: The faults that damage a 200 answer on the wire, in the order they are tried.
STREAM_FAULTS: tuple[str, ...] = ("reset", "cut_mid_quote", "cut_mid_row", "missing_terminator")

_ERROR_STATUSES = (500, 502, 503)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(slots=True)
class Faults:
    """Fault switches. Defaults describe a healthy service with the documented limits.

    Counters ("the next N") decrement as they fire; rates are probabilities drawn from a
    generator seeded by ``seed``.

    Parameters
    ----------
    token_lifetime : float, default 3600.0
        Seconds a bearer token stays valid (positive).
    advertised_token_lifetime : float or None, default None
        The ``expires_in`` the token answer claims (``None``: the real lifetime).
    hourly_budget : int or None, default 100
        Export requests per client per rolling window (0, negative or ``None``: unlimited).
    budget_window : float, default 3600.0
        Length of the budget window in seconds (positive).
    status_schedule : tuple of int, default ()
        Statuses (4xx/5xx) served, one per export request, before normal answers.
    error_rate : float, default 0.0
        Probability that an export answer is an error status.
    error_statuses : tuple of int, default (500, 502, 503)
        Statuses drawn from when ``error_rate`` fires.
    rate_limit_storm : int, default 0
        The next N export requests answer 429.
    missing_terminator : int, default 0
        The next N answers end without the terminating chunk.
    missing_terminator_rate : float, default 0.0
        Probability of an answer without the terminating chunk.
    cut_mid_row : int, default 0
        The next N answers stop inside a row.
    cut_mid_row_rate : float, default 0.0
        Probability of an answer cut inside a row.
    cut_mid_quote : int, default 0
        The next N answers stop inside a quoted field.
    cut_mid_quote_rate : float, default 0.0
        Probability of an answer cut inside a quoted field.
    reset : int, default 0
        The next N answers are aborted with a TCP reset midway.
    reset_rate : float, default 0.0
        Probability of an answer aborted with a TCP reset.
    slow_first_byte : float, default 0.0
        Seconds to wait before the first byte of export answers.
    slow_first_byte_count : int or None, default None
        Delay only the next N export answers (``None``: all).
    trickle : int, default 0
        The next N export answers send their body one byte at a time.
    trickle_delay : float, default 0.05
        Seconds between two bytes of a trickled answer.
    two_leaves_500 : bool, default True
        Answer 500 when an ``$and`` holds two leaves on one attribute (as the field does).
    unknown_slugs : set of str or str, default frozenset()
        Slugs this tenant does not know (columns dropped, filter leaves and sort keys on
        them ignored); ``"a,b"`` is split.
    unfilterable_slugs : set of str or str, default frozenset()
        Slugs whose filter leaves are silently ignored (columns still served).
    corrupt_slugs : set of str or str, default frozenset()
        Slugs whose first row holds an out-of-range or unknown value.
    seed : int, default 0
        Seed of the generator behind the rates.

    Raises
    ------
    ValueError
        For a rate outside 0-1, a negative counter or delay, a lifetime or window that is
        not positive, or a status outside 400-599.
    TypeError
        For slugs that are not strings.

    Examples
    --------
    >>> Faults(unknown_slugs="a,b").unknown_slugs == {"a", "b"}
    True
    >>> Faults(error_rate=2)
    Traceback (most recent call last):
    ...
    ValueError: error_rate must be a probability between 0 and 1, got 2
    """

    token_lifetime: float = field(
        default=3600.0, metadata=_help("seconds a bearer token stays valid")
    )
    advertised_token_lifetime: float | None = field(
        default=None,
        metadata=_help("expires_in the token answer claims (default: the real lifetime)"),
    )
    hourly_budget: int | None = field(
        default=100,
        metadata=_help("export requests per client per rolling window; 0 or less: unlimited"),
    )
    budget_window: float = field(default=3600.0, metadata=_help("length of the budget window"))
    status_schedule: tuple[int, ...] = field(
        default=(), metadata=_help("statuses served, one per export request, before normal ones")
    )
    error_rate: float = field(
        default=0.0, metadata=_help("probability that an export answer is an error status")
    )
    error_statuses: tuple[int, ...] = field(
        default=_ERROR_STATUSES, metadata=_help("statuses drawn from when error_rate fires")
    )
    rate_limit_storm: int = field(
        default=0, metadata=_help("the next N export requests answer 429")
    )
    missing_terminator: int = field(
        default=0, metadata=_help("the next N answers end without the terminating chunk")
    )
    missing_terminator_rate: float = field(
        default=0.0, metadata=_help("probability of an answer without the terminating chunk")
    )
    cut_mid_row: int = field(default=0, metadata=_help("the next N answers stop inside a row"))
    cut_mid_row_rate: float = field(
        default=0.0, metadata=_help("probability of an answer cut inside a row")
    )
    cut_mid_quote: int = field(
        default=0, metadata=_help("the next N answers stop inside a quoted field")
    )
    cut_mid_quote_rate: float = field(
        default=0.0, metadata=_help("probability of an answer cut inside a quoted field")
    )
    reset: int = field(
        default=0, metadata=_help("the next N answers are aborted with a TCP reset midway")
    )
    reset_rate: float = field(
        default=0.0, metadata=_help("probability of an answer aborted with a TCP reset")
    )
    slow_first_byte: float = field(
        default=0.0, metadata=_help("seconds to wait before the first byte of export answers")
    )
    slow_first_byte_count: int | None = field(
        default=None, metadata=_help("delay only the next N export answers (default: all)")
    )
    trickle: int = field(
        default=0, metadata=_help("the next N export answers send their body one byte at a time")
    )
    trickle_delay: float = field(
        default=0.05, metadata=_help("seconds between two bytes of a trickled answer")
    )
    two_leaves_500: bool = field(
        default=True,
        metadata=_help("answer 500 when an $and holds two leaves on one attribute (the field)"),
    )
    unknown_slugs: frozenset[str] = field(
        default=frozenset(), metadata=_help("slugs this tenant does not know (dropped, ignored)")
    )
    unfilterable_slugs: frozenset[str] = field(
        default=frozenset(),
        metadata=_help("slugs whose filter leaves are silently ignored (columns still served)"),
    )
    corrupt_slugs: frozenset[str] = field(
        default=frozenset(),
        metadata=_help("slugs whose first row holds an out-of-range or unknown value"),
    )
    seed: int = field(default=0, metadata=_help("seed of the generator behind the rates"))

    def __post_init__(self) -> None:
        self.status_schedule = tuple(int(s) for s in self.status_schedule)
        self.error_statuses = tuple(int(s) for s in self.error_statuses) or _ERROR_STATUSES
        self.unknown_slugs = _slugs("unknown_slugs", self.unknown_slugs)
        self.unfilterable_slugs = _slugs("unfilterable_slugs", self.unfilterable_slugs)
        self.corrupt_slugs = _slugs("corrupt_slugs", self.corrupt_slugs)
        for name in (
            "error_rate",
            "missing_terminator_rate",
            "cut_mid_row_rate",
            "cut_mid_quote_rate",
            "reset_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
        if self.trickle_delay < 0:
            raise ValueError("trickle_delay must not be negative")
        for name in (
            "rate_limit_storm",
            "missing_terminator",
            "cut_mid_row",
            "cut_mid_quote",
            "trickle",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.reset < 0 or self.token_lifetime <= 0 or self.budget_window <= 0:
            raise ValueError("reset must not be negative; lifetimes and windows must be positive")
        for status in (*self.status_schedule, *self.error_statuses):
            if not 400 <= status <= 599:
                raise ValueError(f"fault statuses must be 4xx or 5xx, got {status}")

    def updated(self, **changes: Any) -> Faults:
        """A copy with some fields changed.

        Parameters
        ----------
        **changes
            Fields and their new values.

        Returns
        -------
        Faults
            The copy (checked like a new instance).

        Raises
        ------
        TypeError
            For a name that is not a field.

        Examples
        --------
        >>> Faults().updated(reset=2).reset
        2
        """
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown fault option(s): {', '.join(unknown)}")
        return replace(self, **changes)

    def active(self) -> list[str]:
        """Names of the switches that differ from a healthy service (for logs and banners).

        Returns
        -------
        list of str
            Field names in declaration order (``seed`` and ``error_statuses`` left out).

        Examples
        --------
        >>> Faults(trickle=1, seed=5).active()
        ['trickle']
        """
        healthy = Faults()
        skip = {"seed", "error_statuses"}
        return [
            f.name
            for f in fields(self)
            if f.name not in skip and getattr(self, f.name) != getattr(healthy, f.name)
        ]


def option_names() -> list[str]:
    """Every fault field name (the command line exposes each as ``--name-with-dashes``)."""
    return [f.name for f in fields(Faults)]


def _slugs(name: str, value: Any) -> frozenset[str]:
    """A set of slugs: ``"a,b"`` (or ``"a b"``) is split, never read as its characters."""
    if isinstance(value, str):
        return frozenset(part for part in value.replace(",", " ").split() if part)
    try:
        slugs = frozenset(value)
    except TypeError:
        raise TypeError(f"{name} takes slugs: a list or a 'a,b' string, got {value!r}") from None
    if not all(isinstance(slug, str) for slug in slugs):
        raise TypeError(f"{name} takes slugs (strings), got {sorted(map(repr, slugs))}")
    return slugs
