"""Fixed reference tables for the simulated business: personas, catalogue, names, places, devices,
marketing calendar material and the text people type.

Everything here is constant (no randomness), so the catalogue, geography and campaign material
are the same for every seed and a test or a writer can rely on them. Strings that end up inside
JSON lines are plain text without quotes or backslashes (checked at import), so the writers can
build JSON without an escaping pass.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    """A behaviour group. Rates are per day; shares and mixes are probabilities.

    `channels` is the first-visit channel mix in the order of `ARRIVAL_CHANNELS`;
    `categories` the favourite-category weights in the order of `CATEGORIES`;
    `roles` the shares of (buyer, account, lead, visitor) in the order of `ROLE_NAMES`.
    """

    name: str
    share: float
    orders_per_day: float  # median base purchase rate once a customer
    rate_sigma: float  # lognormal spread of the base rate around the median
    price_tier: float  # 0 = cheapest products in a category, 1 = dearest
    discount_prob: float  # chance an order uses a discount code when none is pushed
    churn_hazard: float  # median daily hazard of leaving for good
    email_affinity: float  # chance a shop customer is also a Mailchimp member
    seasonality: float  # extra purchase intensity at the Q4 peak (0 = none)
    open_rate: float  # chance a delivered campaign is opened (before fatigue)
    click_rate: float  # chance an opener clicks
    fatigue_tolerance: float  # emails per ~30 days a person takes before it annoys them
    send_hour: int  # local hour the person reads mail and shops
    mobile_share: float  # chance their main device is a phone
    channels: tuple[float, float, float, float, float]
    categories: tuple[float, float, float, float, float, float]
    eu_share: float  # chance they live in Europe
    roles: tuple[float, float, float, float]
    lead_conversion: float  # chance a lead or visitor of this kind ever places an order
    nps_base: float  # typical survey score before their experience shifts it
    discount_relief: float  # how much a discount lowers their churn hazard for a while
    basket_boost: float  # extra units per line (office orders are bigger)
    nps_topic: str = "quality"  # what their survey comments are usually about (NPS_TOPICS)
    office: bool = False  # buys for a workplace: company mailboxes, work phones, deals


MAILCHIMP_STATUSES: tuple[str, ...] = ("subscribed", "unsubscribed", "cleaned", "nonsubscribed")
ROLE_NAMES: tuple[str, ...] = ("buyer", "account", "lead", "visitor", "staff")
ARRIVAL_CHANNELS: tuple[str, ...] = ("organic", "paid_social", "direct", "referral", "paid_search")
# Session channels: the arrival channels plus email (only existing members arrive by email).
CHANNELS: tuple[str, ...] = (*ARRIVAL_CHANNELS, "email")
# GA4 source / medium per channel; referral sources rotate through REFERRERS.
CHANNEL_SOURCE: tuple[tuple[str, str], ...] = (
    ("google", "organic"),
    ("facebook", "paid_social"),
    ("(direct)", "(none)"),
    ("instagram.com", "referral"),
    ("google", "cpc"),
    ("mailchimp", "email"),
)
REFERRERS: tuple[str, ...] = (
    "instagram.com", "l.facebook.com", "pinterest.com", "reddit.com", "sprudge.com",
    "coffeegeek.com",
)  # fmt: skip
HUBSPOT_SOURCES: tuple[str, ...] = (
    "ORGANIC_SEARCH", "PAID_SOCIAL", "DIRECT_TRAFFIC", "REFERRALS", "PAID_SEARCH",
    "EMAIL_MARKETING",
)  # fmt: skip

_DEFAULT_ROLES = (0.58, 0.02, 0.18, 0.22)

PERSONAS: tuple[Persona, ...] = (
    Persona("loyalist", 0.13, 1 / 30, 0.35, 0.60, 0.10, 1 / 1800, 0.92, 0.3, 0.45, 0.14, 14.0,
            7, 0.35, (0.25, 0.05, 0.45, 0.10, 0.15), (0.35, 0.15, 0.15, 0.10, 0.15, 0.10), 0.08,
            _DEFAULT_ROLES, 0.45, 9.0, 0.2, 0.0,
            nps_topic="quality"),
    Persona("regular", 0.22, 1 / 70, 0.40, 0.50, 0.20, 1 / 1000, 0.78, 0.3, 0.32, 0.09, 10.0,
            12, 0.50, (0.35, 0.10, 0.30, 0.10, 0.15), (0.25, 0.20, 0.15, 0.15, 0.15, 0.10), 0.10,
            _DEFAULT_ROLES, 0.35, 8.0, 0.3, 0.0,
            nps_topic="shipping"),
    Persona("bargain_hunter", 0.17, 1 / 75, 0.45, 0.25, 0.60, 1 / 700, 0.75, 0.6, 0.38, 0.15,
            12.0, 12, 0.55, (0.20, 0.25, 0.15, 0.15, 0.25), (0.20, 0.15, 0.10, 0.15, 0.30, 0.10),
            0.08, _DEFAULT_ROLES, 0.30, 7.0, 0.9, 0.0,
            nps_topic="price"),
    Persona("seasonal_gifter", 0.14, 1 / 180, 0.40, 0.75, 0.15, 1 / 900, 0.60, 2.0, 0.22, 0.07,
            6.0, 20, 0.45, (0.25, 0.30, 0.15, 0.20, 0.10), (0.10, 0.10, 0.15, 0.15, 0.05, 0.45),
            0.10, _DEFAULT_ROLES, 0.30, 8.2, 0.3, 0.0,
            nps_topic="gifting"),
    Persona("social_scroller", 0.16, 1 / 300, 0.50, 0.40, 0.30, 1 / 90, 0.55, 0.5, 0.12, 0.04,
            4.0, 21, 0.85, (0.10, 0.60, 0.10, 0.15, 0.05), (0.10, 0.10, 0.10, 0.30, 0.35, 0.05),
            0.12, (0.50, 0.02, 0.10, 0.38), 0.12, 6.5, 0.5, 0.0,
            nps_topic="price"),
    Persona("eu_connoisseur", 0.10, 1 / 60, 0.35, 0.70, 0.10, 1 / 1200, 0.70, 0.4, 0.35, 0.10,
            8.0, 9, 0.40, (0.45, 0.10, 0.25, 0.15, 0.05), (0.45, 0.35, 0.10, 0.05, 0.02, 0.03),
            0.95, _DEFAULT_ROLES, 0.35, 8.5, 0.2, 0.0,
            nps_topic="quality"),
    Persona("office_buyer", 0.08, 1 / 50, 0.35, 0.55, 0.05, 1 / 1500, 0.65, 0.8, 0.28, 0.09,
            8.0, 10, 0.15, (0.40, 0.10, 0.25, 0.05, 0.20), (0.30, 0.10, 0.25, 0.10, 0.05, 0.20),
            0.10, (0.35, 0.02, 0.50, 0.13), 0.50, 7.8, 0.1, 2.0,
            nps_topic="service", office=True),
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
PRODUCT_NAMES: tuple[tuple[str, ...], ...] = (
    ("House Blend 250g", "Breakfast Blend 250g", "Colombia Huila 250g", "Brazil Cerrado 250g",
     "Guatemala Antigua 250g", "Sumatra Mandheling 250g", "Kenya AA 250g",
     "Ethiopia Yirgacheffe 250g", "Panama Geisha 100g", "Jamaica Blue Mountain 100g"),
    ("English Breakfast 100g", "Earl Grey 100g", "Peppermint 50g", "Chamomile 50g",
     "Sencha 100g", "Assam Second Flush 100g", "Jasmine Pearls 50g", "Darjeeling First Flush 50g",
     "Gyokuro 50g", "Aged Pu-erh 100g"),
    ("Paper Filters 100pk", "Pour-Over Dripper", "French Press 350ml", "Milk Frother",
     "Hand Grinder", "Gooseneck Kettle", "Cold Brew Tower", "Burr Grinder", "Espresso Tamper Kit",
     "Home Espresso Machine"),
    ("Enamel Camp Mug", "Ceramic Mug 300ml", "Glass Cup Set", "Travel Tumbler", "Latte Bowl",
     "Espresso Cups (2)", "Double-Wall Glasses (2)", "Stoneware Mug Set", "Porcelain Tea Set",
     "Handmade Mug Collection"),
    ("Biscotti 200g", "Shortbread 150g", "Dark Chocolate Bar", "Almond Cantucci", "Oat Cookies",
     "Stroopwafels 8pk", "Florentines", "Chocolate Coffee Beans", "Macaron Box", "Truffle Box"),
    ("Tea Taster Set", "Coffee Discovery Box", "Cocoa and Cookies Box", "Brew Starter Kit",
     "Mug and Beans Gift", "Afternoon Tea Hamper", "Barista Gift Box", "Origins Collection",
     "Luxury Hamper", "Connoisseur Crate"),
)  # fmt: skip
# Products whose share rises with the local season (simulator/context.py): iced and
# cold-brew gear, glasses and light teas in warm months; warm drinks, cocoa, mugs and hampers
# in cold ones.
SEASONAL_PRODUCTS: dict[str, tuple[str, ...]] = {
    "warm": ("Cold Brew Tower", "Glass Cup Set", "Double-Wall Glasses (2)", "Travel Tumbler",
             "Sencha 100g", "Peppermint 50g"),
    "cold": ("Cocoa and Cookies Box", "Afternoon Tea Hamper", "Luxury Hamper",
             "English Breakfast 100g", "Chamomile 50g", "Stoneware Mug Set"),
}
VENDORS: tuple[str, ...] = (
    "Bright Brew Roasters", "Leaf and Kettle", "Hario", "Studio Ceramics", "Sweet Crumb Bakery",
    "Bright Brew Gifts",
)  # fmt: skip
SHOP_HOST = "www.brightbrew.example"
SHOP_DOMAIN = "brightbrew.example"


def catalogue() -> list[tuple[str, str, int]]:
    """The product catalogue; returns (product_id, category, unit price in cents) rows ordered
    by product_id, prices ending in 99 cents."""
    rows: list[tuple[str, str, int]] = []
    for c, (category, base, step) in enumerate(CATEGORIES):
        for i in range(PRODUCTS_PER_CATEGORY):
            sku = f"SKU-{c * PRODUCTS_PER_CATEGORY + i + 1:04d}"
            rows.append((sku, category, base + step * i))
    return rows


def product_names() -> list[str]:
    """Product display names in catalogue order."""
    return [name for names in PRODUCT_NAMES for name in names]


def slug(text: str) -> str:
    """A URL slug: ASCII lowercase words joined by hyphens."""
    ascii_text = ascii_fold(text).lower()
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text).split()
    return "-".join(words)


def ascii_fold(text: str) -> str:
    """`text` with accents removed (Müller -> Muller), for email addresses and slugs."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("ß", "ss"))
    return "".join(ch for ch in decomposed if ord(ch) < 128)


# Products a line may show a higher "compare at" price for (on sale); every 7th product.
def on_sale(product_idx: int) -> bool:
    """True when the product shows a compare-at price in the shop."""
    return product_idx % 7 == 3


FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark",
    "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew", "Michelle", "Joshua", "Amanda",
    "Kevin", "Melissa", "Brian", "Stephanie", "George", "Rebecca", "Timothy", "Laura", "Jason",
    "Emma", "Ryan", "Olivia", "Jacob", "Sophie", "Lukas", "Anna", "Hugo", "Chloé", "Sean",
    "Aoife", "Pablo", "Lucía", "Marco", "Giulia", "Noah", "Mia", "Liam", "Jane", "José",
    "Zoë", "François", "Jürgen", "Søren", "Inés",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Campbell", "Mitchell", "Carter", "Roberts", "Doe", "Murphy", "Kelly", "Müller", "Schmidt",
    "Dubois", "Bernard", "De Vries", "Jansen", "Fernández", "Rossi", "Russo", "O'Brien",
    "Byrne", "Evans", "Lefèvre", "Weiß",
)  # fmt: skip

# The short forms people go by, for every given name above (the harder identity world,
# `simulator.identity_noise`). Hand-written from common English usage (Robert: Bob, Rob;
# Katherine: Kate), not taken from any matcher's list; a name with no common short form in
# everyday use has none (Mia, Hugo, Aoife), and a name that is itself a short form (Betty,
# Nancy) has none of its own. A few non-English names have their everyday short form (José:
# Pepe). Checked at import to cover FIRST_NAMES.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "James": ("Jim", "Jimmy", "Jamie"), "Mary": ("Molly", "Mae"),
    "John": ("Johnny", "Jack", "Jon"), "Patricia": ("Pat", "Patty", "Trish", "Tricia"),
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"), "Jennifer": ("Jen", "Jenny"),
    "Michael": ("Mike", "Mikey", "Mick"), "Linda": ("Lindy",),
    "William": ("Will", "Bill", "Billy", "Willie"),
    "Elizabeth": ("Liz", "Beth", "Betsy", "Lizzie", "Eliza"), "David": ("Dave", "Davey"),
    "Barbara": ("Barb", "Babs"), "Richard": ("Rick", "Rich", "Ricky", "Dick"),
    "Susan": ("Sue", "Susie"), "Joseph": ("Joe", "Joey"), "Jessica": ("Jess", "Jessie"),
    "Thomas": ("Tom", "Tommy"), "Sarah": ("Sally", "Sadie"),
    "Charles": ("Charlie", "Chuck", "Chas"), "Karen": (), "Daniel": ("Dan", "Danny"),
    "Lisa": (), "Matthew": ("Matt",), "Nancy": (), "Anthony": ("Tony",), "Betty": (),
    "Mark": (), "Sandra": ("Sandy",), "Steven": ("Steve",), "Ashley": ("Ash",), "Paul": (),
    "Emily": ("Em", "Emmy"), "Andrew": ("Andy", "Drew"), "Michelle": ("Shelly",),
    "Joshua": ("Josh",), "Amanda": ("Mandy",), "Kevin": ("Kev",), "Melissa": ("Mel", "Missy"),
    "Brian": (), "Stephanie": ("Steph",), "George": (), "Rebecca": ("Becky", "Becca"),
    "Timothy": ("Tim", "Timmy"), "Laura": ("Laurie",), "Jason": (), "Emma": ("Em",),
    "Ryan": (), "Olivia": ("Liv", "Livvy"), "Jacob": ("Jake",), "Sophie": (), "Lukas": (),
    "Anna": ("Annie",), "Hugo": (), "Chloé": (), "Sean": (), "Aoife": (), "Pablo": (),
    "Lucía": (), "Marco": (), "Giulia": (), "Noah": (), "Mia": (), "Liam": (),
    "Jane": ("Janie",), "José": ("Pepe",), "Zoë": (), "François": (), "Jürgen": (),
    "Søren": (), "Inés": (),
}  # fmt: skip
# Letters next to each other on a QWERTY keyboard: a slipped finger's substitution typo.
KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "q": "wa", "w": "qeas", "e": "wrds", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx",
    "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip
# Mistyped free-mail domains that reach no one (gmial.com): what form checkers such as
# Mailcheck exist to catch, when a form has none.
EMAIL_DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmai.com", "gmail.co", "gnail.com", "gmaill.com"),
    "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.co"),
    "hotmail.com": ("hotmial.com", "hotmal.com", "hotmail.co"),
    "outlook.com": ("outlok.com", "outloo.com", "outlook.co"),
    "icloud.com": ("iclod.com", "icoud.com", "icloud.co"), "live.com": ("live.co", "liv.com"),
    "aol.com": ("aol.co", "aoll.com"), "comcast.net": ("comcast.com", "comcat.net"),
}  # fmt: skip
# Free-mail providers that deliver `name+tag@` to `name@` (Yahoo uses a different scheme and
# most ISP mailboxes none), and the tags shoppers add to see who shares or spams their address.
PLUS_ADDRESS_DOMAINS: frozenset[str] = frozenset({
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
    "fastmail.com", "proton.me",
})  # fmt: skip
PLUS_TAGS: tuple[str, ...] = ("shop", "brightbrew", "coffee", "news", "deals", "orders")

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
# Parts of made-up company domains for role addresses (info@, office@, ...).
COMPANY_WORDS_A: tuple[str, ...] = (
    "blue", "north", "bright", "green", "silver", "oak", "river", "summit", "urban", "golden",
    "maple", "harbor", "cedar", "prime", "swift", "clear", "bold", "true", "red", "stone",
)  # fmt: skip
COMPANY_WORDS_B: tuple[str, ...] = (
    "labs", "studio", "works", "partners", "group", "design", "legal", "dental", "media",
    "consulting", "realty", "logistics", "systems", "health", "foods", "print", "office",
    "ventures", "agency", "capital",
)  # fmt: skip
COMPANY_TLDS: tuple[str, ...] = ("com", "co", "io", "net", "de", "co.uk")
# Role mailboxes small businesses and offices buy from (weights: the general-purpose ones are the
# most common). The simulator's own list: the pipeline ships its own and cannot know every
# workplace's (studio@, purchasing@, frontdesk@ ... are as real as info@).
ROLE_MAILBOXES: tuple[tuple[str, float], ...] = (
    ("info", 0.22), ("office", 0.12), ("hello", 0.08), ("orders", 0.08), ("admin", 0.06),
    ("team", 0.05), ("accounts", 0.04), ("bookings", 0.03), ("studio", 0.06),
    ("purchasing", 0.05), ("frontdesk", 0.04), ("ops", 0.04), ("events", 0.03),
    ("kitchen", 0.03), ("enquiry", 0.03), ("procurement", 0.02), ("workshop", 0.02),
)  # fmt: skip
SHOP_NOTES: tuple[str, ...] = (
    "Prefers eco packaging", "Gift wrap every order", "Wholesale inquiry 2025",
    "Called about late delivery", "Allergic to nuts",
)  # fmt: skip

# Email domains and their weights (normalised where used). Test domains are not here: only
# staff use them.
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.36), ("yahoo.com", 0.10), ("outlook.com", 0.08), ("hotmail.com", 0.07),
    ("icloud.com", 0.08), ("aol.com", 0.03), ("proton.me", 0.02), ("comcast.net", 0.03),
    ("me.com", 0.02), ("gmx.de", 0.03), ("orange.fr", 0.02), ("btinternet.com", 0.03),
    ("fastmail.com", 0.02), ("web.de", 0.02), ("mail.com", 0.03), ("live.com", 0.06),
)  # fmt: skip
TEST_EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "test.com", "mailinator.com")


@dataclass(frozen=True)
class City:
    """A place a person lives. `zip_prefix` plus the country's `ZIP_SUFFIX` pattern makes a
    postcode; `area_code` is used for North American phone numbers."""

    country: str
    name: str
    province: str  # Shopify province code (US/CA only)
    region: str  # Mailchimp REGION
    region_name: str  # GA4 geo.region
    zip_prefix: str
    area_code: str
    latitude: str
    longitude: str
    timezone: str
    gmtoff: int
    dstoff: int
    weight: float


_NY, _CHI = "America/New_York", "America/Chicago"
_DEN, _LA = "America/Denver", "America/Los_Angeles"
_NA = (
    ("New York", "NY", "New York", "100", "212", "40.7127753", "-74.0059728", _NY, -5, -4, 4.0),
    ("Brooklyn", "NY", "New York", "112", "718", "40.6781784", "-73.9441579", _NY, -5, -4, 2.5),
    ("Boston", "MA", "Massachusetts", "021", "617", "42.3600825", "-71.0588801", _NY, -5, -4, 2.0),
    ("Cambridge", "MA", "Massachusetts", "021", "617", "42.3736158", "-71.1097335", _NY, -5, -4,
     1.0),
    ("Hartford", "CT", "Connecticut", "061", "860", "41.7658043", "-72.6733723", _NY, -5, -4, 1.0),
    ("Newark", "NJ", "New Jersey", "071", "973", "40.7356570", "-74.1723667", _NY, -5, -4, 1.0),
    ("Providence", "RI", "Rhode Island", "029", "401", "41.8239891", "-71.4128343", _NY, -5, -4,
     1.0),
    ("Portland", "ME", "Maine", "041", "207", "43.6590993", "-70.2568189", _NY, -5, -4, 0.5),
    ("Philadelphia", "PA", "Pennsylvania", "191", "215", "39.9525839", "-75.1652215", _NY, -5, -4,
     2.0),
    ("Washington", "DC", "District of Columbia", "200", "202", "38.9071923", "-77.0368707", _NY,
     -5, -4, 1.5),
    ("Atlanta", "GA", "Georgia", "303", "404", "33.7489954", "-84.3879824", _NY, -5, -4, 1.5),
    ("Miami", "FL", "Florida", "331", "305", "25.7616798", "-80.1917902", _NY, -5, -4, 1.5),
    ("Columbus", "OH", "Ohio", "432", "614", "39.9611755", "-82.9987942", _NY, -5, -4, 1.0),
    ("Chicago", "IL", "Illinois", "606", "312", "41.8781136", "-87.6297982", _CHI, -6, -5, 3.0),
    ("Minneapolis", "MN", "Minnesota", "554", "612", "44.9777530", "-93.2650108", _CHI, -6, -5,
     1.0),
    ("Austin", "TX", "Texas", "787", "512", "30.2671530", "-97.7430608", _CHI, -6, -5, 1.5),
    ("Dallas", "TX", "Texas", "752", "214", "32.7766642", "-96.7969879", _CHI, -6, -5, 1.5),
    ("Nashville", "TN", "Tennessee", "372", "615", "36.1626638", "-86.7816016", _CHI, -6, -5, 1.0),
    ("Denver", "CO", "Colorado", "802", "303", "39.7392358", "-104.9902510", _DEN, -7, -6, 1.5),
    ("Phoenix", "AZ", "Arizona", "850", "602", "33.4483771", "-112.0740373", "America/Phoenix",
     -7, -7, 1.0),
    ("Seattle", "WA", "Washington", "981", "206", "47.6062095", "-122.3320708", _LA, -8, -7, 2.0),
    ("Portland", "OR", "Oregon", "972", "503", "45.5152000", "-122.6784000", _LA, -8, -7, 1.5),
    ("San Francisco", "CA", "California", "941", "415", "37.7749295", "-122.4194155", _LA, -8, -7,
     2.5),
    ("Los Angeles", "CA", "California", "900", "213", "34.0522342", "-118.2436849", _LA, -8, -7,
     3.0),
    ("San Diego", "CA", "California", "921", "619", "32.7157380", "-117.1610838", _LA, -8, -7,
     1.5),
)  # fmt: skip
_CA = (
    ("Toronto", "ON", "Ontario", "M5V", "416", "43.6532260", "-79.3831843", "America/Toronto",
     -5, -4, 2.5),
    ("Montreal", "QC", "Quebec", "H2X", "514", "45.5016889", "-73.5672560", "America/Toronto",
     -5, -4, 1.5),
    ("Vancouver", "BC", "British Columbia", "V6B", "604", "49.2827291", "-123.1207375",
     "America/Vancouver", -8, -7, 1.5),
    ("Calgary", "AB", "Alberta", "T2P", "403", "51.0447331", "-114.0718831", "America/Edmonton",
     -7, -6, 0.8),
)  # fmt: skip
# (country, city, Mailchimp region, GA4 region, zip prefix, lat, lon, tz, gmtoff, dstoff, w)
_EU = (
    ("GB", "London", "ENG", "England", "SW1A", "51.5073509", "-0.1277583", "Europe/London", 0, 1,
     4.0),
    ("GB", "Manchester", "ENG", "England", "M1", "53.4807593", "-2.2426305", "Europe/London", 0, 1,
     1.5),
    ("GB", "Edinburgh", "SCT", "Scotland", "EH1", "55.9532520", "-3.1882670", "Europe/London", 0,
     1, 0.8),
    ("DE", "Berlin", "BE", "Berlin", "10", "52.5200066", "13.4049540", "Europe/Berlin", 1, 2, 1.6),
    ("DE", "Munich", "BY", "Bavaria", "80", "48.1351253", "11.5819805", "Europe/Berlin", 1, 2, 1.0),
    ("DE", "Hamburg", "HH", "Hamburg", "20", "53.5510846", "9.9936819", "Europe/Berlin", 1, 2, 0.8),
    ("DE", "Köln", "NW", "North Rhine-Westphalia", "50", "50.9375310", "6.9602786",
     "Europe/Berlin", 1, 2, 0.6),
    ("FR", "Paris", "IDF", "Ile-de-France", "75", "48.8566140", "2.3522219", "Europe/Paris", 1, 2,
     1.8),
    ("FR", "Lyon", "ARA", "Auvergne-Rhone-Alpes", "69", "45.7640430", "4.8356590", "Europe/Paris",
     1, 2, 0.7),
    ("NL", "Amsterdam", "NH", "North Holland", "1012", "52.3675734", "4.9041389",
     "Europe/Amsterdam", 1, 2, 1.2),
    ("NL", "Utrecht", "UT", "Utrecht", "3511", "52.0907374", "5.1214201", "Europe/Amsterdam", 1, 2,
     0.5),
    ("IE", "Dublin", "D", "County Dublin", "D02", "53.3498053", "-6.2603097", "Europe/Dublin", 0, 1,
     1.3),
    ("IE", "Cork", "CO", "County Cork", "T12", "51.8985143", "-8.4756035", "Europe/Dublin", 0, 1,
     0.4),
    ("ES", "Madrid", "MD", "Community of Madrid", "28", "40.4167754", "-3.7037902",
     "Europe/Madrid", 1, 2, 0.7),
    ("ES", "Málaga", "AN", "Andalusia", "29", "36.7212737", "-4.4213988", "Europe/Madrid", 1, 2,
     0.4),
    ("ES", "Barcelona", "CT", "Catalonia", "08", "41.3850639", "2.1734035", "Europe/Madrid", 1, 2,
     0.6),
    ("IT", "Rome", "RM", "Lazio", "00", "41.9027835", "12.4963655", "Europe/Rome", 1, 2, 0.7),
    ("IT", "Milan", "MI", "Lombardy", "20", "45.4642035", "9.1899820", "Europe/Rome", 1, 2, 0.6),
)  # fmt: skip

CITIES: tuple[City, ...] = (
    *(City("US", n, st, st, rn, zp, ac, la, lo, tz, g, d, w)
      for n, st, rn, zp, ac, la, lo, tz, g, d, w in _NA),
    *(City("CA", n, pv, pv, rn, zp, ac, la, lo, tz, g, d, w)
      for n, pv, rn, zp, ac, la, lo, tz, g, d, w in _CA),
    *(City(c, n, "", rg, rn, zp, "", la, lo, tz, g, d, w)
      for c, n, rg, rn, zp, la, lo, tz, g, d, w in _EU),
)  # fmt: skip

COUNTRY_NAMES: dict[str, str] = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
    "FR": "France", "NL": "Netherlands", "IE": "Ireland", "ES": "Spain", "IT": "Italy",
}  # fmt: skip
CONTINENTS: dict[str, str] = {
    "US": "Americas", "CA": "Americas", "GB": "Europe", "DE": "Europe", "FR": "Europe",
    "NL": "Europe", "IE": "Europe", "ES": "Europe", "IT": "Europe",
}  # fmt: skip
EEA_COUNTRIES: frozenset[str] = frozenset({"DE", "FR", "NL", "IE", "ES", "IT"})
# Consent banners run where the GDPR or UK GDPR applies.
CONSENT_COUNTRIES: frozenset[str] = EEA_COUNTRIES | {"GB"}
# US states with an opt-out of the sale or sharing of personal data (CCPA and successors).
OPT_OUT_STATES: frozenset[str] = frozenset({"CA", "CO", "CT"})
# Sales tax or VAT charged on the subtotal, in basis points.
TAX_BP: dict[str, int] = {
    "US": 700, "CA": 1300, "GB": 2000, "DE": 1900, "FR": 2000, "NL": 2100, "IE": 2300,
    "ES": 2100, "IT": 2200,
}  # fmt: skip

# How the rest of a postcode follows the city prefix: d = digit, L = letter, space = space.
ZIP_SUFFIX: dict[str, str] = {
    "US": "dd", "CA": " dLd", "GB": " dLL", "DE": "ddd", "FR": "ddd", "NL": " LL",
    "IE": " Lddd", "ES": "ddd", "IT": "ddd",
}  # fmt: skip
# Mobile numbers by country: the leading digits of the national significant number (as
# operators hand them out) and its length. Digits after the prefix are drawn and every number
# is checked against libphonenumber's plan for its country (see contacts.phone_numbers).
MOBILE_PLANS: dict[str, tuple[tuple[str, ...], int]] = {
    "GB": (("71", "73", "74", "75", "77", "78", "79"), 10),
    "DE": (("151", "152", "157", "160", "162", "163", "170", "171", "172", "173", "174", "175",
            "176", "177", "178", "179"), 11),
    "FR": (("6", "7"), 9),
    "NL": (("6",), 9),
    "IE": (("83", "85", "86", "87", "89"), 9),
    "ES": (("6",), 9),
    "IT": (("32", "33", "34", "36", "38", "39"), 10),
}  # fmt: skip
# Landlines of the European cities: area code (national, without a trunk 0; Italy keeps its
# 0 in the number) and the national number's length. North American landlines use the city's
# area code like its mobiles.
AREA_CODES: dict[str, tuple[str, int]] = {
    "London": ("20", 10), "Manchester": ("161", 10), "Edinburgh": ("131", 10),
    "Berlin": ("30", 10), "Munich": ("89", 10), "Hamburg": ("40", 10), "Köln": ("221", 10),
    "Paris": ("1", 9), "Lyon": ("4", 9), "Amsterdam": ("20", 9), "Utrecht": ("30", 9),
    "Dublin": ("1", 8), "Cork": ("21", 9), "Madrid": ("91", 9), "Málaga": ("952", 9),
    "Barcelona": ("93", 9), "Rome": ("06", 10), "Milan": ("02", 10),
}  # fmt: skip
CALLING_CODES: dict[str, str] = {
    "US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "IE": "353",
    "ES": "34", "IT": "39",
}  # fmt: skip

# Devices: (category, operating system, OS version, brand, browser, browser version, UA, weight)
# The user agents are the common shapes; the weights are the mix within a device category.
DEVICES: tuple[tuple[str, str, str, str, str, str, str, float], ...] = (
    ("mobile", "iOS", "iOS 18.5", "Apple", "Safari", "18.5",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 0.55),
    ("mobile", "Android", "Android 14", "Samsung", "Chrome", "137.0.7151.89",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/137.0.0.0 Mobile Safari/537.36", 0.35),
    ("mobile", "Android", "Android 13", "Google", "Samsung Internet", "27.0",
     "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", 0.10),
    ("desktop", "Windows", "Windows 10", "Microsoft", "Chrome", "137.0.7151.104",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/137.0.0.0 Safari/537.36", 0.45),
    ("desktop", "Windows", "Windows 10", "Microsoft", "Edge", "137.0.3296.68",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/137.0.0.0 Safari/537.36 Edg/137.0.0.0", 0.15),
    ("desktop", "Macintosh", "Macintosh Intel 10.15", "Apple", "Safari", "18.5",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.5 Safari/605.1.15", 0.20),
    ("desktop", "Macintosh", "Macintosh Intel 10.15", "Apple", "Chrome", "137.0.7151.104",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/137.0.0.0 Safari/537.36", 0.12),
    ("desktop", "Windows", "Windows 10", "Microsoft", "Firefox", "139.0",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:139.0) Gecko/20100101 Firefox/139.0", 0.08),
    ("tablet", "iOS", "iPadOS 18.5", "Apple", "Safari", "18.5",
     "Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.5 Mobile/15E148 Safari/604.1", 0.7),
    ("tablet", "Android", "Android 14", "Samsung", "Chrome", "137.0.7151.89",
     "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/137.0.0.0 Safari/537.36", 0.3),
)  # fmt: skip
DEVICE_CATEGORIES: tuple[str, ...] = ("mobile", "desktop", "tablet")
LANGUAGES: dict[str, str] = {
    "US": "en-us", "CA": "en-ca", "GB": "en-gb", "DE": "de-de", "FR": "fr-fr", "NL": "nl-nl",
    "IE": "en-ie", "ES": "es-es", "IT": "it-it",
}  # fmt: skip

# Site pages: the landing and browsing paths; product pages are /products/<slug>.
SITE_PAGES: tuple[tuple[str, str], ...] = (
    ("/", "Bright Brew | Specialty Coffee and Tea"),
    ("/collections/all", "All Products | Bright Brew"),
    ("/pages/about", "Our Story | Bright Brew"),
    ("/blogs/journal", "Brew Journal | Bright Brew"),
    ("/pages/wholesale", "Wholesale and Office Coffee | Bright Brew"),
    ("/cart", "Your Cart | Bright Brew"),
)

# Email program. Regular newsletters rotate through these; promotions carry a discount code.
# (title, subject A, subject B or "" when not A/B tested, discount code or "", click path)
NEWSLETTERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("New Arrivals: Single Origin", "Fresh from the roaster: three new origins",
     "Your next favourite coffee just landed", "", "/collections/coffee-beans"),
    ("Brew Guide: Pour-Over", "Five minutes to a better cup", "", "", "/blogs/journal"),
    ("Tea Time Edit", "Slow down with our spring teas", "A calmer afternoon starts here", "",
     "/collections/loose-leaf-tea"),
    ("Staff Picks", "What our roasters drink at home", "", "", "/collections/all"),
    ("Gear Spotlight", "The grinder that changed our mornings", "Better grind, better coffee",
     "", "/collections/brewing-gear"),
    ("Behind the Roast", "Meet the farmers behind your beans", "", "", "/pages/about"),
    ("We miss you!", "It has been a while - here is 10% off", "Come back for 10% off", "MISSYOU10",
     "/collections/all"),
)  # fmt: skip
PROMOTIONS: tuple[tuple[int, int, str, str, str, str, str], ...] = (
    # (month, day, title, subject A, subject B, code, path)
    (3, 20, "Spring Sale", "Spring Sale: 15% off everything", "15% off, this weekend only",
     "SPRING15", "/collections/all"),
    (6, 21, "Summer Iced Coffee", "Cold brew season is here", "", "SUMMER10",
     "/collections/brewing-gear"),
    (11, 20, "Black Friday Early Access", "Early access: 25% off starts now",
     "Our biggest sale of the year starts now", "BFCM25", "/collections/all"),
    (11, 27, "Black Friday", "Black Friday: 25% off everything", "", "BFCM25", "/collections/all"),
    (11, 30, "Cyber Monday", "Last chance: 25% off ends tonight", "", "BFCM25", "/collections/all"),
    (12, 5, "Holiday Gift Guide", "Gifts for every coffee lover", "The gift guide is here", "",
     "/collections/gift-sets"),
    (12, 15, "Last Shipping Day", "Order by Friday for delivery before the holidays", "", "",
     "/collections/gift-sets"),
)  # fmt: skip
DISCOUNT_CODES: tuple[str, ...] = ("WELCOME10", "SAVE15", "VIP20", "FREESHIP", "THANKYOU10")
DISCOUNT_PCTS: tuple[int, ...] = (10, 15, 20, 0, 10)  # FREESHIP takes the shipping off instead
SHIPPING_METHODS: tuple[str, ...] = ("Standard Shipping", "Express Shipping", "Free Shipping",
                                     "Local Pickup")  # fmt: skip
PAYMENT_METHODS: tuple[tuple[str, float], ...] = (
    ("Shopify Payments", 0.62), ("PayPal Express Checkout", 0.18), ("Shop Pay", 0.14),
    ("Gift Card", 0.03), ("manual", 0.03),
)  # fmt: skip
ORDER_SOURCES: tuple[str, ...] = ("web", "shopify_draft_order", "pos")

# Meta Ads: campaigns, their ad sets and creatives. Effect says what the ad set truly moves:
# new_buyers and leads draw people to the shop, repeat_orders brings customers back, none
# moves nothing (awareness that Meta still credits with view-through conversions).
# (campaign name, objective, [(ad set name, region group, effect, relative budget)],
#  [creative names], active months or () for always)
META_CAMPAIGNS: tuple[
    tuple[str, str, tuple[tuple[str, str, str, float], ...], tuple[str, ...], tuple[int, ...]],
    ...,
] = (
    ("Prospecting | Broad | Sales", "OUTCOME_SALES",
     (("US Broad 25-54", "NA", "new_buyers", 1.0),
      ("Lookalike 1% Purchasers", "NA", "new_buyers", 0.8)),
     ("Morning Ritual Video", "Bestsellers Carousel", "UGC Testimonial"), ()),
    ("Prospecting | Europe | Sales", "OUTCOME_SALES",
     (("EU Coffee Lovers", "EU", "new_buyers", 0.6),),
     ("Single Origin Static", "Bestsellers Carousel"), ()),
    ("Retargeting | Site Visitors", "OUTCOME_SALES",
     (("Viewed Product 14d", "ALL", "repeat_orders", 0.5),
      ("Added to Cart 7d", "ALL", "repeat_orders", 0.3)),
     ("15% Off Static", "Dynamic Product Ads"), ()),
    ("Lead Gen | Wholesale", "OUTCOME_LEADS",
     (("Office Managers US", "NA", "leads", 0.4),),
     ("Office Coffee Carousel", "Free Tasting Box"), ()),
    ("Holiday Gifting", "OUTCOME_SALES",
     (("Gift Buyers NA", "NA", "new_buyers", 1.2), ("Gift Buyers EU", "EU", "new_buyers", 0.5)),
     ("Gift Guide Carousel", "Holiday Hamper Video"), (11, 12)),
    ("Brand Awareness | Video", "OUTCOME_AWARENESS",
     (("Broad Reach 18-65", "ALL", "none", 0.5),),
     ("Origin Story Video",), ()),
)  # fmt: skip
AD_ACCOUNT_ID = "1029384756"

# HubSpot CRM internal values.
LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "evangelist", "other",
)  # fmt: skip
LEAD_STATUSES: tuple[str, ...] = (
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING",
)  # fmt: skip
DEAL_STAGES: tuple[str, ...] = (
    "appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
    "contractsent", "closedwon", "closedlost",
)  # fmt: skip

# Typeform NPS survey.
NPS_QUESTION = "How likely are you to recommend us to a friend?"
REASON_QUESTION = "What is the main reason for your score?"
# Comments by topic and score band (detractor 0-6, passive 7-8, promoter 9-10). Topics follow
# what a person cares about: their persona, or a problem with their order.
NPS_TOPICS: tuple[str, ...] = ("quality", "price", "shipping", "gifting", "service", "problem")
NPS_COMMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("quality", "promoter"): ("Best beans I have ever bought, so fresh",
                              "The Ethiopia roast is outstanding", "Très bon café, merci !",
                              "Kaffee ist großartig, immer frisch geröstet"),
    ("quality", "passive"): ("Good coffee, a bit too dark for me", "Nice teas, small bags",
                             "Solid quality but nothing special lately"),
    ("quality", "detractor"): ("Beans tasted stale this time", "The tea was dusty and bland",
                               "Qualité décevante cette fois"),
    ("price", "promoter"): ("Great value with the discount codes", "Love the sales, stocked up"),
    ("price", "passive"): ("Good but pricey without a code", "Shipping costs add up",
                           "Would buy more if it were cheaper"),
    ("price", "detractor"): ("Too expensive for what it is", "Cheaper elsewhere",
                             "Prices went up again"),
    ("shipping", "promoter"): ("Arrived in two days, well packed", "Fast delivery as always"),
    ("shipping", "passive"): ("Took a while to arrive", "Delivery was ok"),
    ("shipping", "detractor"): ("Package arrived late and damaged", "Still waiting on my order",
                                "Lieferung hat zwei Wochen gedauert"),
    ("gifting", "promoter"): ("The gift box was a huge hit", "Beautiful packaging for presents",
                              "My mum loved the hamper"),
    ("gifting", "passive"): ("Nice gift but the card was missing", "Gift wrap could be nicer"),
    ("gifting", "detractor"): ("Gift arrived after Christmas", "Hamper was half empty"),
    ("service", "promoter"): ("Invoices and office delivery just work",
                              "Account manager is very helpful"),
    ("service", "passive"): ("Fine for the office, ordering could be easier",
                             "Need better invoicing options"),
    ("service", "detractor"): ("Nobody answered our wholesale request",
                               "Invoice errors every month"),
    ("problem", "promoter"): ("Had an issue but support fixed it fast",),
    ("problem", "passive"): ("Refund took a while but ok", "Wrong item sent, refunded eventually"),
    ("problem", "detractor"): ("Had to ask three times for my refund",
                               "Order cancelled without explanation",
                               "Wrong item and no reply from support", "Très déçu du service"),
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


def _json_safe(values: object) -> None:
    """Fail at import if a reference string could break hand-built JSON."""
    if isinstance(values, str):
        if '"' in values or "\\" in values or "\n" in values:
            raise ValueError(f"reference text {values!r} needs JSON escaping")
    elif isinstance(values, dict):
        for v in values.values():
            _json_safe(v)
    elif isinstance(values, tuple | list | frozenset):
        for v in values:
            _json_safe(v)
    elif isinstance(values, City):
        _json_safe((values.name, values.region_name, values.timezone))


for _table in (PRODUCT_NAMES, CITIES, DEVICES, SITE_PAGES, NEWSLETTERS, PROMOTIONS,
               META_CAMPAIGNS, FIRST_NAMES, LAST_NAMES, NICKNAMES, CATEGORIES,
               REFERRERS):  # fmt: skip
    _json_safe(_table)


def _check_nicknames() -> None:
    """Fail at import if a given name the simulator draws has no entry in NICKNAMES, or a
    short form equals its name."""
    missing = [name for name in FIRST_NAMES if name not in NICKNAMES]
    if missing:
        raise ValueError(f"NICKNAMES has no entry for {missing}")
    for name, short in NICKNAMES.items():
        if name in short:
            raise ValueError(f"NICKNAMES: {name} lists itself")


_check_nicknames()
