"""The synthetic tenant: users, accounts, contacts, opportunities and an activity log.

Everything is drawn with numpy from one seed (each table from its own stream, so the
order in which tables are first used does not matter) and generated lazily: a tenant with a
million opportunities does not build its activity log until something needs it. The raw
tables are exposed as pandas DataFrames so tests can recompute every served metric.

Tables reference each other by internal id (``account_id``, ``owner_id``...). Times are UTC;
dates are midnight UTC.

>>> t = Tenant(accounts=20, users=5, seed=1)
>>> len(t.accounts)
20
>>> t.opportunities["account_id"].isin(t.accounts["internal_id"]).all()
np.True_
>>> Tenant(accounts=20, users=5, seed=1).accounts.equals(t.accounts)
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bspandas._messages import robust_repr
from bspandas.catalog import store as _catalog
from bspandas.catalog.business import DEFAULT_STAGE_PROBABILITY

__all__ = [
    "ACTIVITY_TYPES",
    "AS_OF",
    "CONTACT_LEVELS",
    "CURRENCIES",
    "STAGES",
    "TENANT_STAGES",
    "VOCABULARIES",
    "Tenant",
    "TenantOptions",
    "as_instant",
]

Arr = npt.NDArray[Any]

#: The instant the tenant is generated "as of": activity windows are relative to it.
AS_OF = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
DAY = 86_400

# Stages and forecast categories are the catalog's; the tenant relies on the closed stages
# coming last (stage < WON means open). Probabilities are the ones the roll-ups assume.
STAGES: tuple[str, ...] = _catalog.lookup("ootb_opportunity_current_stage", "opportunity").values
if STAGES[-2:] != ("Closed Won", "Closed Lost"):
    raise ImportError("the sandbox tenant expects the closed stages last in the catalog")
WON, LOST = len(STAGES) - 2, len(STAGES) - 1
#: A stage of this tenant's own CRM picklist that the vendor reference does not list (every
#: tenant customises its stages). It shows on a fifth of the "Needs Analysis" deals; the
#: tenant's logic (open or closed, probability) is that of the stage it replaces.
CUSTOM_STAGE = "Technical Validation"
TENANT_STAGES: tuple[str, ...] = (*STAGES, CUSTOM_STAGE)
STAGE_PROBABILITY = np.array([DEFAULT_STAGE_PROBABILITY[s] for s in STAGES])
FORECAST = _catalog.lookup("ootb_opportunity_forecast_category", "opportunity").values
STAGE_FORECAST = np.array([0, 0, 0, 1, 2, 3, 4])
ACTIVITY_TYPES: tuple[str, ...] = ("email", "meeting", "call")
EMAIL, MEETING, CALL = 0, 1, 2
CONTACT_LEVELS: tuple[str, ...] = (
    "C-Level",
    "VP",
    "Director",
    "Manager",
    "Individual Contributor",
)
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "JPY")
#: USD per unit of each currency (the converted amount is in USD).
RATES = np.array([1.0, 1.08, 1.27, 0.0067])

# -- word pools: (display, ascii for e-mail addresses and domains) -----------------------------

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("James", "james"), ("Maria", "maria"), ("Wei", "wei"), ("Fatima", "fatima"),
    ("José", "jose"), ("Zoë", "zoe"), ("Søren", "soren"), ("Siobhán", "siobhan"),
    ("D'Angelo", "dangelo"), ("Ana-Lucía", "analucia"), ("Priya", "priya"), ("Kenji", "kenji"),
    ("Olga", "olga"), ("Chloé", "chloe"), ("Mohammed", "mohammed"), ("Ingrid", "ingrid"),
    ("Jürgen", "jurgen"), ("Aisha", "aisha"), ("Liam", "liam"), ("Émile", "emile"),
    ("Nguyễn", "nguyen"), ("Sarah", "sarah"), ("John", "john"), ("Björk", "bjork"),
    ("Małgorzata", "malgorzata"), ("Raj", "raj"), ("Yuki", "yuki"), ("Tomás", "tomas"),
    ("Grace", "grace"), ("Noah", "noah"), ("Amélie", "amelie"), ("Lars", "lars"),
)  # fmt: skip
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Smith", "smith"), ("O'Brien", "obrien"), ("Müller", "muller"), ("García", "garcia"),
    ("Nakamura", "nakamura"), ("Kowalski", "kowalski"), ("Johnson", "johnson"),
    ("Van der Berg", "vanderberg"), ("Dubois", "dubois"), ("Østergaard", "ostergaard"),
    ("Patel", "patel"), ("Rossi", "rossi"), ("Chen", "chen"), ("Ferreira", "ferreira"),
    ("Okafor", "okafor"), ("Schröder", "schroder"), ("Lefèvre", "lefevre"), ("Kim", "kim"),
    ("Smith, Jr.", "smithjr"), ("MacDonald", "macdonald"), ("Ivanova", "ivanova"),
    ("Çelik", "celik"), ("Nowak", "nowak"), ("Brown", "brown"), ("Andersson", "andersson"),
    ('"Doc" Holliday', "holliday"), ("Lindqvist", "lindqvist"), ("Haddad", "haddad"),
)  # fmt: skip
COMPANY_CORES: tuple[tuple[str, str], ...] = (
    ("Acme", "acme"), ("Globex", "globex"), ("Initech", "initech"), ("Umbrella", "umbrella"),
    ("Müller & Söhne", "mueller-soehne"), ('O\'Brien "OB"', "obrien-ob"),
    ("Nordlicht", "nordlicht"),
    ("Société Lumière", "societe-lumiere"), ("Ørsted Wind", "orsted-wind"), ("Zoë's", "zoes"),
    ("Kraków Dynamics", "krakow-dynamics"), ("São Paulo Têxtil", "sao-paulo-textil"),
    ("Hooli", "hooli"), ("Stark", "stark"), ("Wayne", "wayne"), ("Tyrell", "tyrell"),
    ("Cyberdyne", "cyberdyne"), ("Soylent", "soylent"), ("Vandelay", "vandelay"),
    ("Pied Piper", "piedpiper"), ("Dunder Mifflin", "dundermifflin"), ("Wonka", "wonka"),
    ("Gringotts", "gringotts"), ("Oceanic", "oceanic"), ("Monarch", "monarch"),
    ("Blue Sun", "bluesun"), ("Nakatomi", "nakatomi"), ("Aperture", "aperture"),
    ("Black Mesa", "blackmesa"), ("Prestige Worldwide", "prestigeworldwide"),
    ("Łódź Textiles", "lodz-textiles"), ("Fjällräven Outdoor", "fjallraven-outdoor"),
    ("Bjørn, Berg & Co", "bjorn-berg"), ("Château Léoville", "chateau-leoville"),
    ("Northwind", "northwind"), ("Contoso", "contoso"), ("Fabrikam", "fabrikam"),
    ("Tailspin", "tailspin"), ("Litware", "litware"), ("Adatum", "adatum"),
)  # fmt: skip
COMPANY_MIDDLES: tuple[tuple[str, str], ...] = (
    ("", ""), (" Industries", "-industries"), (" Systems", "-systems"),
    (" Logistics", "-logistics"), (" Analytics", "-analytics"), (" Foods", "-foods"),
    (" Health", "-health"), (" Energy", "-energy"), (" Capital", "-capital"),
    (" Robotics", "-robotics"), (" Media", "-media"), (" Labs", "-labs"),
    (" Pharma", "-pharma"), (" Retail", "-retail"), (" Aerospace", "-aerospace"),
    (" Software", "-software"),
)  # fmt: skip
COMPANY_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("", ".com"), (", Inc.", ".com"), (" GmbH", ".de"), (", GmbH", ".de"), (" Ltd.", ".co.uk"),
    (" LLC", ".com"), (" S.A.", ".fr"), (" AG", ".ch"), (" Holdings", ".com"),
    (" & Co.", ".com"), (" plc", ".co.uk"), (" Oy", ".fi"), (" AB", ".se"), (" K.K.", ".jp"),
)  # fmt: skip
ACCOUNT_TYPES = ("Customer", "Prospect", "Partner", "Former Customer")
ACCOUNT_TYPE_P = (0.45, 0.35, 0.1, 0.1)
INDUSTRIES = (
    "Technology", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Energy",
    "Media & Entertainment", "Public Sector", "Education", "Transportation, Logistics",
)  # fmt: skip
TIERS = ("Enterprise", "Mid-Market", "SMB")
ROLES = ("VP Sales", "Sales Manager", "Account Executive", "Sales Development Rep",
         "Solutions Engineer")  # fmt: skip
TEAM_NAMES = (
    "Enterprise Sales", "Mid-Market, East", "Mid-Market, West", "EMEA – Nordics",  # noqa: RUF001
    "DACH Großkunden", "APAC", 'Strategic "Tiger" Team', "Public Sector", "Commercial",
    "Renewals", "LATAM – São Paulo", "Partners & Alliances",  # noqa: RUF001
)  # fmt: skip
OPPORTUNITY_TYPES = ("New Business", "Renewal", "Upsell", "")
PRODUCTS = (
    "Q4 License Renewal", "Platform Expansion", "Pilot, Phase 2", "Analytics Add-on",
    '"Fast Track" Deal', "Multi-year Renewal", "Seats Upsell", "Global Rollout",
    "Proof of Concept", "Premium Support", "Data Residency (EU)", "Migration Services",
)  # fmt: skip
EMAIL_SUBJECTS = (
    "Re: Pricing proposal", "Follow-up from our call", "Intro: Backstory <> your team",
    "Re: Contract redlines\nSee attached, v3", "Quick question", "Renewal timeline",
    'Re: "Security questionnaire"', "Agenda for Thursday, 10am", "Next steps",
    "Re: Re: Budget approval\n\nForwarding from finance", "Thanks for your time!",
    "Invoice #4471, overdue", "Datenschutz – Rückfrage", "",  # noqa: RUF001
)  # fmt: skip
MEETING_SUBJECTS = (
    "Discovery call", "Demo: analytics module", "QBR, Q3", "Executive sync",
    "Pricing review\nwith procurement", "Kick-off", "Technical deep dive",
    "Déjeuner d'affaires", "Contract walkthrough", "Onboarding workshop",
)  # fmt: skip
CALL_SUBJECTS = ("Call", "Left voicemail", "Follow-up call", "Cold call", "Call: pricing, terms")
SUBJECTS: tuple[str, ...] = EMAIL_SUBJECTS + MEETING_SUBJECTS + CALL_SUBJECTS
_SUBJECT_RANGES = (
    (0, len(EMAIL_SUBJECTS)),
    (len(EMAIL_SUBJECTS), len(EMAIL_SUBJECTS) + len(MEETING_SUBJECTS)),
    (len(EMAIL_SUBJECTS) + len(MEETING_SUBJECTS), len(SUBJECTS)),
)
OUR_DOMAIN = "northwind-sales.example"

_DIGITS36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


#: The sandbox's period vocabularies (:attr:`TenantOptions.vocabulary`).
VOCABULARIES: tuple[str, ...] = ("field", "reference")


@dataclass(frozen=True, slots=True)
class TenantOptions:
    """Size and seed of a synthetic tenant (the numbers are means where they say so)."""

    seed: int = 20261015
    accounts: int = 200
    opportunities_per_account: float = 5.0
    users: int = 40
    contacts_per_account: float = 6.0
    activities_per_account: float = 40.0
    as_of: datetime = AS_OF
    history_days: int = 730
    fiscal_year_start: int = 1
    #: Which period spellings are served: ``"field"`` (what live tenants serve; the
    #: documented-only ``current_*``/``last_year`` variations are dropped, query-api.md
    #: section 2) or ``"reference"`` (the vendor reference's spellings instead).
    vocabulary: str = "field"

    def __post_init__(self) -> None:
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(
                f"vocabulary must be one of {', '.join(VOCABULARIES)}, got {self.vocabulary!r}"
            )
        if self.accounts < 1 or self.users < 1:
            raise ValueError("a tenant needs at least one account and one user")
        if min(self.opportunities_per_account, self.activities_per_account) < 0:
            raise ValueError("opportunities and activities per account must not be negative")
        if self.contacts_per_account < 1:
            raise ValueError("contacts_per_account must be at least 1")
        if self.history_days < 400:
            raise ValueError("history_days must cover at least 400 days (last fiscal year)")
        object.__setattr__(self, "as_of", as_instant(self.as_of))
        month = self.fiscal_year_start
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValueError(
                f"fiscal_year_start is the month the fiscal year starts in, 1-12, got {month!r}"
            )


def as_instant(value: Any) -> datetime:
    """The tenant's "now" from a datetime, a date (midnight) or an ISO 8601 string; naive
    values are UTC.

    >>> as_instant("2026-10-15").isoformat(), as_instant(date(2026, 10, 15)).isoformat()
    ('2026-10-15T00:00:00+00:00', '2026-10-15T00:00:00+00:00')
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"as_of must be an ISO 8601 date or time such as '2026-10-15' or "
                f"'2026-10-15T12:00:00Z', got {value!r}"
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(
            f"as_of must be a datetime, a date or an ISO 8601 string, got {type(value).__name__}"
        )
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    instant: datetime = value
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


# -- vectorised string helpers ---------------------------------------------------------------


def _strings(values: Any) -> Any:
    return pa.array(list(values), pa.string())


def _take(pool: Any, codes: Arr) -> Any:
    """``pool[codes]`` as an Arrow string array; negative codes give missing values."""
    codes = np.asarray(codes)
    mask = codes < 0
    index = pa.array(np.where(mask, 0, codes), mask=mask if mask.any() else None)
    return pool.take(index)


def _join(*parts: Any) -> Any:
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


def _people_names(rng: np.random.Generator, n: int) -> tuple[Any, Any]:
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    display = _join(
        _take(_strings(f for f, _ in FIRST_NAMES), first),
        " ",
        _take(_strings(ln for ln, _ in LAST_NAMES), last),
    )
    handle = _join(
        _take(_strings(a for _, a in FIRST_NAMES), first),
        ".",
        _take(_strings(a for _, a in LAST_NAMES), last),
    )
    return display, handle


def _spread(counts: Arr, rng: np.random.Generator, owners: Arr) -> Arr:
    """For each item owned by ``owners`` (an index into ``counts``), a random member index of
    that owner's block, or -1 when the block is empty. Blocks are contiguous (sorted)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    size = counts[owners]
    pick = starts[owners] + np.floor(rng.random(len(owners)) * size).astype(np.int64)
    return np.where(size > 0, pick, -1)


# -- raw tables --------------------------------------------------------------------------------


@dataclass(slots=True)
class Users:
    internal_id: Arr
    crm_id: Any
    name: Any
    email: Any
    role: Arr  # index into ROLES
    team: Arr  # index into teams
    team_id: Arr
    team_name: Any  # per team
    manager: Arr  # user index, -1 for none
    hire_day: Arr  # days since epoch
    quota: Arr  # annual quota (USD), NaN when the role carries none


@dataclass(slots=True)
class Accounts:
    internal_id: Arr
    crm_id: Any
    name: Any
    domain: Any  # missing for a few
    domain_full: Any  # always present (contact e-mails)
    type: Arr  # index into ACCOUNT_TYPES
    industry: Arr  # index into INDUSTRIES, -1 missing
    tier: Arr  # index into TIERS
    company_size: Arr
    annual_revenue: Arr  # NaN missing
    owner: Arr  # user index
    health: Arr  # latent 0-1: drives activity and scores
    relationship_strength: Arr
    buying_intent_score: Arr
    churn_risk_score: Arr


@dataclass(slots=True)
class Contacts:
    internal_id: Arr
    account: Arr
    name: Any
    email: Any
    level: Arr  # index into CONTACT_LEVELS
    created_s: Arr
    created_by: Arr  # user index


@dataclass(slots=True)
class Opportunities:
    internal_id: Arr
    crm_id: Any
    name: Any
    account: Arr
    owner: Arr
    original_owner: Arr
    co_owner_1: Arr  # -1 none
    co_owner_2: Arr
    type: Arr  # index into OPPORTUNITY_TYPES, -1 missing (3 = empty string)
    stage: Arr  # index into STAGES
    amount_cents: Arr
    currency: Arr  # index into CURRENCIES
    converted_cents: Arr
    created_s: Arr
    close_day: Arr
    stage_entered_s: Arr

    def stage_names(self) -> Arr:
        """Codes into :data:`TENANT_STAGES`: the stage, or the tenant's custom one."""
        custom = (self.stage == 2) & (np.arange(len(self.stage)) % 5 == 0)
        return np.where(custom, len(STAGES), self.stage)

    win_probability_score: Arr
    deal_velocity_score: Arr
    competition_risk_score: Arr
    budget_confirmed_score: Arr
    champion_identified: Arr


@dataclass(slots=True)
class Activities:
    uid: Any
    ts: Arr  # epoch seconds, sorted ascending
    type: Arr  # index into ACTIVITY_TYPES
    subject: Arr  # index into SUBJECTS, -1 missing
    account: Arr
    opportunity: Arr  # -1 none
    user: Arr
    contact: Arr  # -1 for internal activities
    external: Arr
    outbound: Arr
    duration_s: Arr  # -1 missing (e-mails)
    accepted: Arr  # int8: 1/0 for meetings, -1 otherwise


@dataclass(slots=True)
class _Cache:
    lock: threading.RLock = field(default_factory=threading.RLock)
    raw: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


class Tenant:
    """A deterministic synthetic tenant. Build with options or keywords of
    :class:`TenantOptions`; tables are generated on first use and cached (thread-safe)."""

    def __init__(self, options: TenantOptions | None = None, **changes: Any) -> None:
        base = options or TenantOptions()
        self.options = replace(base, **changes) if changes else base
        self.as_of = self.options.as_of
        self.as_of_s = int(self.as_of.timestamp())
        self._cache = _Cache()

    @robust_repr
    def __repr__(self) -> str:
        o = self.options
        return (
            f"<Tenant seed={o.seed} accounts={o.accounts} users={o.users} "
            f"as_of={self.as_of.isoformat()} fiscal_year_start={o.fiscal_year_start}>"
        )

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.options.seed, stream])

    def _raw(self, name: str) -> Any:
        with self._cache.lock:
            if name not in self._cache.raw:
                self._cache.raw[name] = getattr(self, f"_make_{name}")()
            return self._cache.raw[name]

    # raw arrays (used by the metric engine)
    @property
    def users_raw(self) -> Users:
        found: Users = self._raw("users")
        return found

    @property
    def accounts_raw(self) -> Accounts:
        found: Accounts = self._raw("accounts")
        return found

    @property
    def contacts_raw(self) -> Contacts:
        found: Contacts = self._raw("contacts")
        return found

    @property
    def opportunities_raw(self) -> Opportunities:
        found: Opportunities = self._raw("opportunities")
        return found

    @property
    def activities_raw(self) -> Activities:
        found: Activities = self._raw("activities")
        return found

    def size(self, obj: str) -> int:
        """Number of rows of an object (``person``: the contacts)."""
        if obj == "account":
            return self.options.accounts
        if obj == "user":
            return self.options.users
        if obj == "opportunity":
            return len(self.opportunities_raw.internal_id)
        if obj == "activity":
            return len(self.activities_raw.ts)
        if obj == "person":
            return len(self.contacts_raw.internal_id)
        return 0

    # -- generation ------------------------------------------------------------------------

    def _make_users(self) -> Users:
        rng = self._rng(1)
        n = self.options.users
        n_teams = max(1, min(len(TEAM_NAMES), n // 8))
        role = np.full(n, 2)
        draw = rng.random(n)
        role[draw < 0.25] = 3
        role[(draw >= 0.25) & (draw < 0.4)] = 4
        team = rng.integers(0, n_teams, n)
        manager = np.full(n, -1)
        role[0] = 0
        team[0] = 0
        leads = np.arange(1, min(n, n_teams + 1))
        role[leads] = 1
        team[leads] = np.arange(len(leads))
        manager[leads] = 0
        lead_of_team = np.full(n_teams, 0)
        lead_of_team[team[leads]] = leads
        rest = np.arange(len(leads) + 1, n)
        manager[rest] = lead_of_team[team[rest]]
        display, handle = _people_names(rng, n)
        numbers = pc.cast(pa.array(np.arange(n) + 1), pa.string())
        email = _join(handle, numbers, "@", OUR_DOMAIN)
        quota = np.where(
            np.isin(role, (0, 1, 2)),
            np.round(rng.uniform(0.6e6, 2.4e6, n), -4) * np.where(role == 2, 1, 4),
            np.nan,
        )
        return Users(
            internal_id=internal_ids(3_100_000_000_000, n, rng),
            crm_id=crm_ids("005", np.arange(n) + 1000),
            name=display,
            email=email,
            role=role,
            team=team,
            team_id=4_100_000_000_000 + np.arange(n_teams, dtype=np.int64) * 7919,
            team_name=_strings(TEAM_NAMES[:n_teams]),
            manager=manager,
            hire_day=self.as_of_s // DAY - rng.integers(30, 3650, n),
            quota=quota,
        )

    def _make_accounts(self) -> Accounts:
        rng = self._rng(2)
        n = self.options.accounts
        users = self.users_raw
        core = rng.integers(0, len(COMPANY_CORES), n)
        middle = rng.integers(0, len(COMPANY_MIDDLES), n)
        suffix = rng.integers(0, len(COMPANY_SUFFIXES), n)
        name = _join(
            _take(_strings(c for c, _ in COMPANY_CORES), core),
            _take(_strings(m for m, _ in COMPANY_MIDDLES), middle),
            _take(_strings(s for s, _ in COMPANY_SUFFIXES), suffix),
        )
        serial = pc.cast(pa.array(np.arange(n) % 97), pa.string())
        domain_full = _join(
            _take(_strings(a for _, a in COMPANY_CORES), core),
            _take(_strings(a for _, a in COMPANY_MIDDLES), middle),
            serial,
            _take(_strings(a for _, a in COMPANY_SUFFIXES), suffix),
        )
        hidden = pa.array(rng.random(n) < 0.04)
        domain = pc.if_else(hidden, pa.scalar(None, pa.string()), domain_full)
        size = np.maximum(5, np.round(rng.lognormal(6.0, 1.6, n))).astype(np.int64)
        tier = np.where(size >= 2000, 0, np.where(size >= 200, 1, 2))
        revenue = np.round(size * rng.lognormal(np.log(180_000), 0.5, n), -3)
        revenue[rng.random(n) < 0.03] = np.nan
        industry = rng.integers(0, len(INDUSTRIES), n)
        industry[rng.random(n) < 0.05] = -1
        sellers = np.flatnonzero(np.isin(users.role, (1, 2)))
        if len(sellers) == 0:
            sellers = np.arange(len(users.role))
        health = rng.beta(2.0, 2.0, n)

        def score(center: Arr, spread: float, missing: float) -> Arr:
            value = np.round(np.clip(center + rng.normal(0, spread, n), 0, 100), 1)
            value[rng.random(n) < missing] = np.nan
            return value

        return Accounts(
            internal_id=internal_ids(1_100_000_000_000, n, rng),
            crm_id=crm_ids("001", np.arange(n) + 36**4),
            name=name,
            domain=domain,
            domain_full=domain_full,
            type=rng.choice(len(ACCOUNT_TYPES), n, p=ACCOUNT_TYPE_P),
            industry=industry,
            tier=tier,
            company_size=size,
            annual_revenue=revenue,
            owner=sellers[rng.integers(0, len(sellers), n)],
            health=health,
            relationship_strength=score(100 * health, 10, 0.02),
            buying_intent_score=score(30 + 50 * health, 18, 0.02),
            churn_risk_score=score(100 - 100 * health, 12, 0.02),
        )

    def _make_contacts(self) -> Contacts:
        rng = self._rng(3)
        accounts = self.accounts_raw
        n_acc = len(accounts.internal_id)
        counts = 1 + rng.poisson(self.options.contacts_per_account - 1, n_acc)
        account = np.repeat(np.arange(n_acc), counts)
        n = len(account)
        display, handle = _people_names(rng, n)
        email = _join(handle, "@", accounts.domain_full.take(pa.array(account)))
        n_users = len(self.users_raw.internal_id)
        created_by = np.where(
            rng.random(n) < 0.8, accounts.owner[account], rng.integers(0, n_users, n)
        )
        return Contacts(
            internal_id=internal_ids(5_100_000_000_000, n, rng),
            account=account,
            name=display,
            email=email,
            level=rng.choice(len(CONTACT_LEVELS), n, p=(0.1, 0.15, 0.2, 0.25, 0.3)),
            created_s=self.as_of_s - rng.integers(DAY, 1000 * DAY, n),
            created_by=created_by,
        )

    def _make_opportunities(self) -> Opportunities:
        rng = self._rng(4)
        accounts = self.accounts_raw
        users = self.users_raw
        n_acc = len(accounts.internal_id)
        n_users = len(users.internal_id)
        rate = self.options.opportunities_per_account * (0.6 + 0.8 * accounts.health)
        counts = rng.poisson(rate)
        account = np.repeat(np.arange(n_acc), counts)
        n = len(account)
        health = accounts.health[account]
        sellers = np.flatnonzero(np.isin(users.role, (1, 2)))
        if len(sellers) == 0:
            sellers = np.arange(n_users)
        owner = np.where(
            rng.random(n) < 0.7, accounts.owner[account], sellers[rng.integers(0, len(sellers), n)]
        )
        original = np.where(rng.random(n) < 0.88, owner, rng.integers(0, n_users, n))
        co1 = np.where(rng.random(n) < 0.35, rng.integers(0, n_users, n), -1)
        co2 = np.where((co1 >= 0) & (rng.random(n) < 0.3), rng.integers(0, n_users, n), -1)
        co1 = np.where(co1 == owner, -1, co1)
        co2 = np.where((co2 == owner) | (co2 == co1), -1, co2)
        as_of_day = self.as_of_s // DAY
        age = rng.uniform(0, 900, n)
        created_s = self.as_of_s - np.floor(age * DAY).astype(np.int64) - 1
        created_day = created_s // DAY
        closed = (rng.random(n) < np.clip(age / 365, 0.05, 0.92)) & (age >= 2)
        won = closed & (rng.random(n) < 0.3 + 0.3 * health)
        open_stage = np.minimum(4, np.floor(rng.random(n) * 5 * (0.5 + age / 600))).astype(int)
        stage = np.where(closed, np.where(won, WON, LOST), open_stage)
        span = np.minimum(240, as_of_day - created_day)
        closed_day = created_day + np.floor(rng.random(n) * span).astype(np.int64)
        open_day = as_of_day + rng.integers(-15, 300, n)
        close_day = np.where(closed, closed_day, open_day)
        entered_open = created_s + np.floor(rng.random(n) * (self.as_of_s - created_s))
        stage_entered = np.where(
            closed, np.maximum(close_day * DAY + 9 * 3600, created_s), entered_open
        ).astype(np.int64)
        currency = rng.choice(len(CURRENCIES), n, p=(0.7, 0.15, 0.1, 0.05))
        tier_factor = np.array([4.0, 1.0, 0.3])[accounts.tier[account]]
        usd = np.round(rng.lognormal(np.log(30_000), 0.9, n) * tier_factor, -2)
        cents = np.round(usd / RATES[currency] * 100).astype(np.int64)
        cents = np.where(currency == 3, (cents // 100) * 100, cents)  # no yen cents
        cents = np.where((currency == 0) & (rng.random(n) < 0.1), cents + 50, cents)
        converted = np.round(cents * RATES[currency]).astype(np.int64)
        opp_type = rng.choice(4, n, p=(0.5, 0.25, 0.17, 0.08))
        opp_type[(opp_type == 3) & (rng.random(n) < 0.5)] = -1
        products = rng.integers(0, len(PRODUCTS), n)
        name = _join(
            accounts.name.take(pa.array(account)), " - ", _take(_strings(PRODUCTS), products)
        )
        stage_p = STAGE_PROBABILITY[stage]

        def score(center: Arr, spread: float, missing: float) -> Arr:
            value = np.round(np.clip(center + rng.normal(0, spread, n), 0, 100), 1)
            value[rng.random(n) < missing] = np.nan
            return value

        return Opportunities(
            internal_id=internal_ids(2_100_000_000_000, n, rng),
            crm_id=crm_ids("006", np.arange(n) + 36**5),
            name=name,
            account=account,
            owner=owner,
            original_owner=original,
            co_owner_1=co1,
            co_owner_2=co2,
            type=opp_type,
            stage=stage,
            amount_cents=cents,
            currency=currency,
            converted_cents=converted,
            created_s=created_s,
            close_day=close_day,
            stage_entered_s=stage_entered,
            win_probability_score=np.where(
                closed, stage_p, score(stage_p * (0.5 + health), 12, 0.0)
            ),
            deal_velocity_score=score(40 + 30 * health, 20, 0.05),
            competition_risk_score=score(60 - 30 * health, 20, 0.05),
            budget_confirmed_score=score(stage_p, 20, 0.1),
            champion_identified=rng.random(n) < 0.2 + 0.6 * stage_p / 100,
        )

    def _make_activities(self) -> Activities:
        rng = self._rng(5)
        accounts = self.accounts_raw
        opps = self.opportunities_raw
        contacts = self.contacts_raw
        n_acc = len(accounts.internal_id)
        n_users = len(self.users_raw.internal_id)
        rate = self.options.activities_per_account * (0.3 + 1.4 * accounts.health)
        account = np.repeat(np.arange(n_acc), rng.poisson(rate))
        n = len(account)
        future = rng.random(n) < 0.04
        kind = rng.choice(3, n, p=(0.55, 0.25, 0.2))
        kind[future] = MEETING
        trend = np.exp(rng.normal(0, 0.35, n_acc))[account]
        history = self.options.history_days * DAY
        back = np.floor(history * rng.random(n) ** trend).astype(np.int64)
        ts = np.where(
            future,
            self.as_of_s + 1 + np.floor(rng.random(n) * 45 * DAY).astype(np.int64),
            self.as_of_s - 1 - back,
        )
        quarter_hour = ts - ts % 900
        ts = np.where(kind == MEETING, np.where(future, quarter_hour + 900, quarter_hour), ts)
        order = np.argsort(ts, kind="stable")
        account, ts, kind = account[order], ts[order], kind[order]
        opp_counts = np.bincount(opps.account, minlength=n_acc)
        opportunity = _spread(opp_counts, rng, account)
        opportunity = np.where(rng.random(n) < 0.6, opportunity, -1)
        linked = opportunity >= 0
        too_early = linked & (ts < opps.created_s[np.where(linked, opportunity, 0)])
        opportunity = np.where(too_early, -1, opportunity)
        linked = opportunity >= 0
        opp_owner = opps.owner[np.where(linked, opportunity, 0)]
        user = np.where(
            linked & (rng.random(n) < 0.8),
            opp_owner,
            np.where(rng.random(n) < 0.7, accounts.owner[account], rng.integers(0, n_users, n)),
        )
        contact_counts = np.bincount(contacts.account, minlength=n_acc)
        external = rng.random(n) < 0.92
        contact = np.where(external, _spread(contact_counts, rng, account), -1)
        outbound_p = np.array([0.5, 0.85, 0.75])[kind]
        outbound = (rng.random(n) < outbound_p) | ~external
        lo = np.array([r[0] for r in _SUBJECT_RANGES])[kind]
        hi = np.array([r[1] for r in _SUBJECT_RANGES])[kind]
        subject = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
        empty = EMAIL_SUBJECTS.index("")
        subject = np.where((subject == empty) & (rng.random(n) < 0.7), 0, subject)
        subject = np.where((kind == CALL) & (rng.random(n) < 0.05), -1, subject)
        duration = np.select(
            [kind == MEETING, kind == CALL],
            [15 * 60 * rng.integers(1, 7, n), rng.integers(60, 3600, n)],
            -1,
        )
        accepted = np.where(kind == MEETING, (rng.random(n) < 0.85).astype(np.int8), -1)
        numbers = np.arange(n, dtype=np.int64) + 36**6
        uid = pc.if_else(
            pa.array(kind == MEETING), crm_ids("00U", numbers), crm_ids("00T", numbers)
        )
        return Activities(
            uid=uid,
            ts=ts,
            type=kind,
            subject=subject,
            account=account,
            opportunity=opportunity,
            user=user,
            contact=contact,
            external=external,
            outbound=outbound,
            duration_s=duration,
            accepted=accepted.astype(np.int8),
        )

    # -- public frames ---------------------------------------------------------------------

    def _frame(self, name: str) -> pd.DataFrame:
        with self._cache.lock:
            if name not in self._cache.frames:
                self._cache.frames[name] = getattr(self, f"_frame_{name}")()
            return self._cache.frames[name]

    @property
    def users(self) -> pd.DataFrame:
        """internal_id, crm_id, name, email, role, team_id, team_name, manager_id (Int64),
        hire_date, quota (annual, USD; NaN for roles without one)."""
        return self._frame("users")

    @property
    def accounts(self) -> pd.DataFrame:
        """internal_id, crm_id, name, domain, type, industry, tier, company_size,
        annual_revenue, owner_id, health (latent 0-1) and the three stored scores."""
        return self._frame("accounts")

    @property
    def contacts(self) -> pd.DataFrame:
        """internal_id, account_id, name, email, level, created_at, created_by (user id)."""
        return self._frame("contacts")

    @property
    def opportunities(self) -> pd.DataFrame:
        """internal_id, crm_id, name, account_id, owner_id, original_owner_id, co_owner_ids,
        type, stage, amount, currency, converted_amount, created_at, close_date,
        stage_entered_at and the stored scores."""
        return self._frame("opportunities")

    @property
    def activities(self) -> pd.DataFrame:
        """uid, timestamp, type, subject, account_id, opportunity_id (Int64), user_id,
        contact_id (Int64), external, outbound, duration (timedelta, NaT for e-mails),
        accepted (boolean, meetings only)."""
        return self._frame("activities")

    def _frame_users(self) -> pd.DataFrame:
        u = self.users_raw
        return pd.DataFrame(
            {
                "internal_id": u.internal_id,
                "crm_id": u.crm_id.to_pandas(),
                "name": u.name.to_pandas(),
                "email": u.email.to_pandas(),
                "role": _categorical(u.role, ROLES),
                "team_id": u.team_id[u.team],
                "team_name": u.team_name.take(pa.array(u.team)).to_pandas(),
                "manager_id": _ref(u.internal_id, u.manager),
                "hire_date": _seconds(u.hire_day * DAY),
                "quota": u.quota,
            }
        )

    def _frame_accounts(self) -> pd.DataFrame:
        a = self.accounts_raw
        return pd.DataFrame(
            {
                "internal_id": a.internal_id,
                "crm_id": a.crm_id.to_pandas(),
                "name": a.name.to_pandas(),
                "domain": a.domain.to_pandas(),
                "type": _categorical(a.type, ACCOUNT_TYPES),
                "industry": _categorical(a.industry, INDUSTRIES),
                "tier": _categorical(a.tier, TIERS),
                "company_size": a.company_size,
                "annual_revenue": a.annual_revenue,
                "owner_id": self.users_raw.internal_id[a.owner],
                "health": a.health,
                "relationship_strength": a.relationship_strength,
                "buying_intent_score": a.buying_intent_score,
                "churn_risk_score": a.churn_risk_score,
            }
        )

    def _frame_contacts(self) -> pd.DataFrame:
        c = self.contacts_raw
        return pd.DataFrame(
            {
                "internal_id": c.internal_id,
                "account_id": self.accounts_raw.internal_id[c.account],
                "name": c.name.to_pandas(),
                "email": c.email.to_pandas(),
                "level": _categorical(c.level, CONTACT_LEVELS),
                "created_at": _seconds(c.created_s),
                "created_by": self.users_raw.internal_id[c.created_by],
            }
        )

    def _frame_opportunities(self) -> pd.DataFrame:
        o = self.opportunities_raw
        uid = self.users_raw.internal_id
        return pd.DataFrame(
            {
                "internal_id": o.internal_id,
                "crm_id": o.crm_id.to_pandas(),
                "name": o.name.to_pandas(),
                "account_id": self.accounts_raw.internal_id[o.account],
                "owner_id": uid[o.owner],
                "original_owner_id": uid[o.original_owner],
                "co_owner_1_id": _ref(uid, o.co_owner_1),
                "co_owner_2_id": _ref(uid, o.co_owner_2),
                "type": _take(_strings(OPPORTUNITY_TYPES), o.type).to_pandas(),
                "stage": _categorical(o.stage_names(), TENANT_STAGES),
                "is_closed": o.stage >= WON,
                "is_won": o.stage == WON,
                "forecast_category": _categorical(STAGE_FORECAST[o.stage], FORECAST),
                "amount": o.amount_cents / 100,
                "currency": _categorical(o.currency, CURRENCIES),
                "converted_amount": o.converted_cents / 100,
                "created_at": _seconds(o.created_s),
                "close_date": _seconds(o.close_day * DAY),
                "stage_entered_at": _seconds(o.stage_entered_s),
                "win_probability_score": o.win_probability_score,
                "deal_velocity_score": o.deal_velocity_score,
                "competition_risk_score": o.competition_risk_score,
                "budget_confirmed_score": o.budget_confirmed_score,
                "champion_identified": o.champion_identified,
            }
        )

    def _frame_activities(self) -> pd.DataFrame:
        x = self.activities_raw
        duration = pd.to_timedelta(np.where(x.duration_s >= 0, x.duration_s, 0), unit="s")
        accepted = pd.array(x.accepted == 1, dtype="boolean")
        accepted[x.accepted < 0] = pd.NA
        return pd.DataFrame(
            {
                "uid": x.uid.to_pandas(),
                "timestamp": _seconds(x.ts),
                "type": _categorical(x.type, ACTIVITY_TYPES),
                "subject": _categorical(x.subject, SUBJECTS),
                "account_id": self.accounts_raw.internal_id[x.account],
                "opportunity_id": _ref(self.opportunities_raw.internal_id, x.opportunity),
                "user_id": self.users_raw.internal_id[x.user],
                "contact_id": _ref(self.contacts_raw.internal_id, x.contact),
                "external": x.external,
                "outbound": x.outbound,
                "duration": duration.where(x.duration_s >= 0),
                "accepted": accepted,
            }
        )


def _categorical(codes: Arr, pool: tuple[str, ...]) -> pd.Categorical[str]:
    index: pd.Index[str] = pd.Index(list(pool), dtype="str")
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=index)


def _ref(ids: Arr, index: Arr) -> pd.Series:
    values = pd.array(ids[np.where(index >= 0, index, 0)], dtype="Int64")
    values[index < 0] = pd.NA
    return pd.Series(values)


def _seconds(epoch_s: Arr) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(epoch_s, dtype=np.int64), unit="s", utc=True))
