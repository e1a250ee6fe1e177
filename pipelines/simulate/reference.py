"""Fixed reference tables for the simulated shop: personas, product catalogue, names and places.

Everything here is constant (no randomness), so the catalogue and geography are the same for
every seed and a test or a later source (GA4, Meta, ...) can rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    """A kind of shopper. Rates are per day; `status_mix` is the Mailchimp status probabilities
    in the order of `MAILCHIMP_STATUSES`."""

    name: str
    share: float
    orders_per_day: float  # median base purchase rate
    rate_sigma: float  # lognormal spread of the base rate around the median
    price_tier: float  # 0 = cheapest products in a category, 1 = dearest
    discount_prob: float  # chance an order uses a discount code
    churn_hazard: float  # median daily hazard of leaving for good
    email_affinity: float  # chance a shop customer is also a Mailchimp member
    status_mix: tuple[float, float, float, float]
    seasonality: float  # extra purchase intensity at the Q4 peak (0 = none)


MAILCHIMP_STATUSES: tuple[str, ...] = ("subscribed", "unsubscribed", "cleaned", "nonsubscribed")

PERSONAS: tuple[Persona, ...] = (
    Persona("loyalist", 0.14, 1 / 22, 0.35, 0.60, 0.10, 1 / 1800, 0.92,
            (0.86, 0.05, 0.04, 0.05), 0.3),
    Persona("regular", 0.26, 1 / 45, 0.40, 0.50, 0.20, 1 / 1000, 0.78,
            (0.78, 0.10, 0.05, 0.07), 0.3),
    Persona("bargain_hunter", 0.20, 1 / 50, 0.45, 0.25, 0.60, 1 / 700, 0.75,
            (0.74, 0.13, 0.05, 0.08), 0.6),
    Persona("seasonal_gifter", 0.18, 1 / 130, 0.40, 0.75, 0.15, 1 / 900, 0.60,
            (0.70, 0.14, 0.06, 0.10), 2.0),
    Persona("one_timer", 0.22, 1 / 200, 0.50, 0.45, 0.30, 1 / 90, 0.55,
            (0.66, 0.18, 0.06, 0.10), 0.5),
)  # fmt: skip

# Product catalogue: 6 categories x 10 products, cheapest first within a category so a
# person's price tier maps to a position. (category, price of the first product in cents,
# step between products in cents)
CATEGORIES: tuple[tuple[str, int, int], ...] = (
    ("Coffee Beans", 1299, 250),
    ("Loose Leaf Tea", 899, 200),
    ("Brewing Gear", 1999, 1100),
    ("Mugs & Cups", 1499, 300),
    ("Snacks", 599, 150),
    ("Gift Sets", 2999, 900),
)
PRODUCTS_PER_CATEGORY = 10


def catalogue() -> list[tuple[str, str, int]]:
    """The product catalogue; returns (product_id, category, unit price in cents) rows ordered
    by product_id, prices ending in 99 cents."""
    rows: list[tuple[str, str, int]] = []
    for c, (category, base, step) in enumerate(CATEGORIES):
        for i in range(PRODUCTS_PER_CATEGORY):
            sku = f"SKU-{c * PRODUCTS_PER_CATEGORY + i + 1:04d}"
            rows.append((sku, category, base + step * i))
    return rows


FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark",
    "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew", "Michelle", "Joshua", "Amanda",
    "Kevin", "Melissa", "Brian", "Stephanie", "George", "Rebecca", "Timothy", "Laura", "Jason",
    "Emma", "Ryan", "Olivia", "Jacob", "Sophie", "Lukas", "Anna", "Hugo", "Chloe", "Sean",
    "Aoife", "Pablo", "Lucia", "Marco", "Giulia", "Noah", "Mia", "Liam", "Jane",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Campbell", "Mitchell", "Carter", "Roberts", "Doe", "Murphy", "Kelly", "Muller", "Schmidt",
    "Dubois", "Bernard", "De Vries", "Jansen", "Fernandez", "Rossi", "Russo", "O'Brien",
    "Byrne", "Evans",
)  # fmt: skip

STREETS: tuple[str, ...] = (
    "Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park",
    "Church", "High", "Mill", "River", "Sunset", "Highland", "Forest", "Meadow", "Spring",
    "Chestnut", "Walnut", "Willow", "Union", "Franklin", "Jefferson", "Lincoln", "Center",
    "Prospect", "Water", "Broad",
)  # fmt: skip
STREET_SUFFIXES: tuple[str, ...] = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct")
COMPANIES: tuple[str, ...] = (
    "Acme Corp", "Blue Fern Studio", "Northwind Traders", "Globex LLC", "Initech",
    "Hooli", "Brightside Cafe", "Contoso Ltd",
)  # fmt: skip
SHOP_NOTES: tuple[str, ...] = (
    "Prefers eco packaging", "Gift wrap every order", "Wholesale inquiry 2025",
    "Called about late delivery", "Allergic to nuts",
)  # fmt: skip

# Email domains and their weights (normalised where used).
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.36), ("yahoo.com", 0.10), ("outlook.com", 0.08), ("hotmail.com", 0.07),
    ("icloud.com", 0.08), ("aol.com", 0.03), ("proton.me", 0.02), ("comcast.net", 0.03),
    ("me.com", 0.02), ("gmx.de", 0.03), ("orange.fr", 0.02), ("btinternet.com", 0.03),
    ("fastmail.com", 0.02), ("example.com", 0.02), ("mail.com", 0.03), ("live.com", 0.06),
)  # fmt: skip


@dataclass(frozen=True)
class City:
    """A place a person lives. `zip_prefix` plus the country's `ZIP_SUFFIX` pattern makes a
    postcode; `area_code` is used for North American phone numbers."""

    country: str
    name: str
    province: str  # Shopify province code (US/CA only)
    region: str  # Mailchimp REGION
    zip_prefix: str
    area_code: str
    latitude: str
    longitude: str
    timezone: str
    gmtoff: int
    dstoff: int
    weight: float


def _us(
    name: str,
    st: str,
    zp: str,
    ac: str,
    lat: str,
    lon: str,
    tz: str,
    g: int,
    d: int,
    w: float = 1.0,
) -> City:
    return City("US", name, st, st, zp, ac, lat, lon, tz, g, d, w)


_NY, _CHI = "America/New_York", "America/Chicago"
_DEN, _LA = "America/Denver", "America/Los_Angeles"

CITIES: tuple[City, ...] = (
    _us("New York", "NY", "100", "212", "40.7127753", "-74.0059728", _NY, -5, -4, 4.0),
    _us("Brooklyn", "NY", "112", "718", "40.6781784", "-73.9441579", _NY, -5, -4, 2.5),
    _us("Boston", "MA", "021", "617", "42.3600825", "-71.0588801", _NY, -5, -4, 2.0),
    _us("Cambridge", "MA", "021", "617", "42.3736158", "-71.1097335", _NY, -5, -4, 1.0),
    _us("Hartford", "CT", "061", "860", "41.7658043", "-72.6733723", _NY, -5, -4),
    _us("Newark", "NJ", "071", "973", "40.7356570", "-74.1723667", _NY, -5, -4),
    _us("Providence", "RI", "029", "401", "41.8239891", "-71.4128343", _NY, -5, -4),
    _us("Portland", "ME", "041", "207", "43.6590993", "-70.2568189", _NY, -5, -4, 0.5),
    _us("Philadelphia", "PA", "191", "215", "39.9525839", "-75.1652215", _NY, -5, -4, 2.0),
    _us("Washington", "DC", "200", "202", "38.9071923", "-77.0368707", _NY, -5, -4, 1.5),
    _us("Atlanta", "GA", "303", "404", "33.7489954", "-84.3879824", _NY, -5, -4, 1.5),
    _us("Miami", "FL", "331", "305", "25.7616798", "-80.1917902", _NY, -5, -4, 1.5),
    _us("Columbus", "OH", "432", "614", "39.9611755", "-82.9987942", _NY, -5, -4),
    _us("Chicago", "IL", "606", "312", "41.8781136", "-87.6297982", _CHI, -6, -5, 3.0),
    _us("Minneapolis", "MN", "554", "612", "44.9777530", "-93.2650108", _CHI, -6, -5),
    _us("Austin", "TX", "787", "512", "30.2671530", "-97.7430608", _CHI, -6, -5, 1.5),
    _us("Dallas", "TX", "752", "214", "32.7766642", "-96.7969879", _CHI, -6, -5, 1.5),
    _us("Nashville", "TN", "372", "615", "36.1626638", "-86.7816016", _CHI, -6, -5),
    _us("Denver", "CO", "802", "303", "39.7392358", "-104.9902510", _DEN, -7, -6, 1.5),
    _us("Phoenix", "AZ", "850", "602", "33.4483771", "-112.0740373", "America/Phoenix", -7, -7),
    _us("Seattle", "WA", "981", "206", "47.6062095", "-122.3320708", _LA, -8, -7, 2.0),
    _us("Portland", "OR", "972", "503", "45.5152000", "-122.6784000", _LA, -8, -7, 1.5),
    _us("San Francisco", "CA", "941", "415", "37.7749295", "-122.4194155", _LA, -8, -7, 2.5),
    _us("Los Angeles", "CA", "900", "213", "34.0522342", "-118.2436849", _LA, -8, -7, 3.0),
    _us("San Diego", "CA", "921", "619", "32.7157380", "-117.1610838", _LA, -8, -7, 1.5),
    City(
        "CA",
        "Toronto",
        "ON",
        "ON",
        "M5V",
        "416",
        "43.6532260",
        "-79.3831843",
        "America/Toronto",
        -5,
        -4,
        2.5,
    ),
    City(
        "CA",
        "Montreal",
        "QC",
        "QC",
        "H2X",
        "514",
        "45.5016889",
        "-73.5672560",
        "America/Toronto",
        -5,
        -4,
        1.5,
    ),
    City(
        "CA",
        "Vancouver",
        "BC",
        "BC",
        "V6B",
        "604",
        "49.2827291",
        "-123.1207375",
        "America/Vancouver",
        -8,
        -7,
        1.5,
    ),
    City(
        "CA",
        "Calgary",
        "AB",
        "AB",
        "T2P",
        "403",
        "51.0447331",
        "-114.0718831",
        "America/Edmonton",
        -7,
        -6,
        0.8,
    ),
    City(
        "GB",
        "London",
        "",
        "ENG",
        "SW1A",
        "",
        "51.5073509",
        "-0.1277583",
        "Europe/London",
        0,
        1,
        4.0,
    ),
    City(
        "GB",
        "Manchester",
        "",
        "ENG",
        "M1",
        "",
        "53.4807593",
        "-2.2426305",
        "Europe/London",
        0,
        1,
        1.5,
    ),
    City(
        "GB",
        "Edinburgh",
        "",
        "SCT",
        "EH1",
        "",
        "55.9532520",
        "-3.1882670",
        "Europe/London",
        0,
        1,
        0.8,
    ),
    City(
        "DE", "Berlin", "", "BE", "10", "", "52.5200066", "13.4049540", "Europe/Berlin", 1, 2, 1.6
    ),
    City(
        "DE", "Munich", "", "BY", "80", "", "48.1351253", "11.5819805", "Europe/Berlin", 1, 2, 1.0
    ),
    City(
        "DE", "Hamburg", "", "HH", "20", "", "53.5510846", "9.9936819", "Europe/Berlin", 1, 2, 0.8
    ),
    City("FR", "Paris", "", "IDF", "75", "", "48.8566140", "2.3522219", "Europe/Paris", 1, 2, 1.8),
    City("FR", "Lyon", "", "ARA", "69", "", "45.7640430", "4.8356590", "Europe/Paris", 1, 2, 0.7),
    City(
        "NL",
        "Amsterdam",
        "",
        "NH",
        "1012",
        "",
        "52.3675734",
        "4.9041389",
        "Europe/Amsterdam",
        1,
        2,
        1.2,
    ),
    City(
        "NL",
        "Utrecht",
        "",
        "UT",
        "3511",
        "",
        "52.0907374",
        "5.1214201",
        "Europe/Amsterdam",
        1,
        2,
        0.5,
    ),
    City(
        "IE", "Dublin", "", "D", "D02", "", "53.3498053", "-6.2603097", "Europe/Dublin", 0, 1, 1.3
    ),
    City("IE", "Cork", "", "CO", "T12", "", "51.8985143", "-8.4756035", "Europe/Dublin", 0, 1, 0.4),
    City(
        "ES", "Madrid", "", "MD", "28", "", "40.4167754", "-3.7037902", "Europe/Madrid", 1, 2, 0.7
    ),
    City(
        "ES", "Barcelona", "", "CT", "08", "", "41.3850639", "2.1734035", "Europe/Madrid", 1, 2, 0.6
    ),
    City("IT", "Rome", "", "RM", "00", "", "41.9027835", "12.4963655", "Europe/Rome", 1, 2, 0.7),
    City("IT", "Milan", "", "MI", "20", "", "45.4642035", "9.1899820", "Europe/Rome", 1, 2, 0.6),
)

# How the rest of a postcode follows the city prefix: d = digit, L = letter, space = space.
ZIP_SUFFIX: dict[str, str] = {
    "US": "dd", "CA": " dLd", "GB": " dLL", "DE": "ddd", "FR": "ddd", "NL": " LL",
    "IE": " Lddd", "ES": "ddd", "IT": "ddd",
}  # fmt: skip
CALLING_CODES: dict[str, str] = {
    "US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "IE": "353",
    "ES": "34", "IT": "39",
}  # fmt: skip

MAILCHIMP_TAGS: tuple[str, ...] = (
    "newsletter",
    "vip",
    "popup-signup",
    "giveaway-2025",
    "wholesale",
    "customer",
    "lead",
)
UNSUB_CAMPAIGNS: tuple[str, ...] = (
    "Spring Sale 2025", "New Arrivals: Single Origin", "Black Friday Early Access",
    "Holiday Gift Guide", "Summer Iced Coffee", "We miss you!",
)  # fmt: skip
UNSUB_REASONS: tuple[str, ...] = (
    "", "I no longer want to receive these emails", "I never signed up for this mailing list",
    "The emails are inappropriate", "The emails are spam and should be reported", "Other",
)  # fmt: skip
