"""The tenant's vocabulary: the instant it is generated at, the catalog's stages and
forecast categories, activity kinds, currencies and the word pools names are drawn from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from bspandas.catalog import store as _catalog
from bspandas.catalog.business import DEFAULT_STAGE_PROBABILITY

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
