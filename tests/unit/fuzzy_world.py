"""A population of people and their records, as identity resolution would see them after exact
matching: some people have a second record with realistic noise, some share a home with another
person, some share a name with a stranger. Generated from a seed; the truth (`person`, `kind`)
comes with the records. Used to test pipelines.identity.fuzzy and to time it at scale (at 100k
records with `population(seed=1, n_people=65_000)`).

Harder than most shops' data in one way: 190 first and 200 last names, the last names Zipf
distributed (smith is one person in six), so namesakes in one zip are far more common than in
a real population.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from nicknames import NickNamer

from pipelines.identity.features import INPUT_COLUMNS, known_first_names, nickname_equivalent

FIRST_NAMES = (
    "robert", "william", "elizabeth", "katherine", "margaret", "james", "john", "michael",
    "richard", "thomas", "joseph", "charles", "daniel", "danielle", "matthew", "anthony",
    "christopher", "christina", "jennifer", "patricia", "susan", "jessica", "sarah", "karen",
    "nancy", "linda", "barbara", "mary", "maria", "david", "steven", "andrew", "joshua", "kevin",
    "brian", "george", "edward", "ronald", "timothy", "jason", "jeffrey", "ryan", "jacob", "gary",
    "nicholas", "eric", "jonathan", "stephen", "larry", "justin", "scott", "brandon", "benjamin",
    "samuel", "gregory", "frank", "alexander", "raymond", "patrick", "jack", "dennis", "jerry",
    "tyler", "aaron", "henry", "douglas", "peter", "adam", "nathan", "zachary", "walter", "kyle",
    "harold", "carl", "arthur", "gerald", "roger", "keith", "jeremy", "terry", "lawrence", "sean",
    "christian", "albert", "joe", "ethan", "austin", "jesse", "willie", "billy", "bryan", "bruce",
    "noah", "jordan", "dylan", "ralph", "roy", "alan", "wayne", "eugene", "juan", "gabriel",
    "lisa", "betty", "sandra", "ashley", "dorothy", "kimberly", "emily", "donna", "michelle",
    "carol", "amanda", "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia",
    "kathleen", "amy", "angela", "shirley", "anna", "brenda", "pamela", "emma", "nicole", "helen",
    "samantha", "christine", "debra", "rachel", "carolyn", "janet", "catherine", "virginia",
    "heather", "diane", "julie", "joyce", "victoria", "olivia", "kelly", "lauren", "judith",
    "megan", "cheryl", "andrea", "hannah", "martha", "jacqueline", "frances", "gloria", "ann",
    "teresa", "kathryn", "sara", "janice", "jean", "alice", "madison", "doris", "abigail", "julia",
    "judy", "grace", "denise", "amber", "marilyn", "beverly", "theresa", "sophia",
)  # fmt: skip
LAST_NAMES = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
    "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
    "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
    "rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans", "turner",
    "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris", "morales",
    "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson", "bailey",
    "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson", "watson", "brooks",
    "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes", "price", "alvarez",
    "castillo", "sanders", "patel", "myers", "long", "ross", "foster", "jimenez", "powell",
    "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler", "henderson", "barnes",
    "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan", "patterson", "alexander",
    "hamilton", "graham", "reynolds", "griffin", "wallace", "moreno", "west", "cole", "hayes",
    "bryant", "herrera", "gibson", "ellis", "tran", "medina", "aguilar", "stevens", "murray",
    "ford", "castro", "marshall", "owens", "harrison", "fernandez", "mcdonald", "woods",
    "washington", "kennedy", "wells", "vargas", "henry", "chen", "freeman", "webb", "tucker",
    "guzman", "burns", "crawford", "olson", "simpson", "porter", "hunter", "gordon", "mendez",
    "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks", "holmes", "palmer",
    "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox", "warren", "mills",
    "meyer", "rice", "schmidt", "garza", "daniels", "ferguson", "nichols", "stephens", "soto",
    "weaver", "ryan", "gardner", "payne", "grant", "dunn", "kelley", "spencer", "hawkins",
)  # fmt: skip
STREETS = (
    "main", "oak", "pine", "maple", "cedar", "elm", "washington", "lake", "hill", "park",
    "walnut", "spring", "north", "ridge", "church", "willow", "mill", "sunset", "railroad",
    "jackson", "cherry", "highland", "river", "meadow", "forest", "lincoln", "chestnut", "dogwood",
    "franklin", "madison", "jefferson", "center", "valley", "hickory", "locust", "birch", "adams",
)  # fmt: skip
STREET_TYPES = ("street", "avenue", "road", "lane", "drive", "court", "place")
CITIES = (
    "springfield", "riverside", "franklin", "greenville", "bristol", "clinton", "fairview",
    "salem", "madison", "georgetown", "arlington", "ashland", "dover", "oxford", "jackson",
    "burlington", "manchester", "milton", "newport", "auburn",
)  # fmt: skip
HANDLE_WORDS = ("blue", "sunny", "tiger", "river", "rocket", "pixel", "maple", "storm", "lucky",
                "happy", "silver", "coffee", "wolf", "ocean", "jazz", "moon", "fox", "cloud")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com")
DOMAIN_WEIGHTS = (0.45, 0.2, 0.12, 0.1, 0.08, 0.05)
ZIPS_PER_CITY = 8


def _nicknames() -> dict[str, list[str]]:
    """Each listed first name's nicknames that are not themselves another listed first name
    (so that a nickname never turns one person into another)."""
    namer = NickNamer()
    listed = set(FIRST_NAMES)
    return {n: sorted(namer.nicknames_of(n) - listed) for n in FIRST_NAMES}


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (enough here: no housemate pair is a transposition apart)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _inbox(email: str) -> str:
    local, domain = email.split("@")
    local = local.split("+")[0]
    return f"{local.replace('.', '') if domain == 'gmail.com' else local}@{domain}"


class _World:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        ranks = np.arange(1, len(LAST_NAMES) + 1)
        self.last_weights = (1 / ranks) / (1 / ranks).sum()  # Zipf: smith is common, hawkins not
        ranks = np.arange(1, len(FIRST_NAMES) + 1)
        self.first_weights = (1 / ranks**0.7) / (1 / ranks**0.7).sum()
        self.zips = [f"{10000 + 97 * c + z:05d}" for c in range(len(CITIES))
                     for z in range(ZIPS_PER_CITY)]  # fmt: skip
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.nicknames = _nicknames()

    def pick(self, items, p=None):
        return items[self.rng.choice(len(items), p=p)]

    def first_name(self) -> str:
        return self.pick(FIRST_NAMES, self.first_weights)

    def last_name(self) -> str:
        return self.pick(LAST_NAMES, self.last_weights)

    def home(self, city: int | None = None) -> tuple[str, str, str]:
        city = int(self.rng.integers(len(CITIES))) if city is None else city
        zip_code = self.zips[city * ZIPS_PER_CITY + int(self.rng.integers(ZIPS_PER_CITY))]
        street = f"{self.rng.integers(1, 2000)} {self.pick(STREETS)} {self.pick(STREET_TYPES)}"
        return street, zip_code, CITIES[city]

    def phone(self) -> str:
        while True:
            number = f"+1{self.rng.integers(201, 990)}{self.rng.integers(2000000, 9999999)}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def handle(self, first: str, last: str) -> str:
        """An email local part: mostly the name in a usual shape, sometimes a nickname of
        the person's own making."""
        style = int(self.rng.integers(7))
        return (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}",
                f"{first}_{last}{self.rng.integers(1, 99)}",
                f"{last}{first[0]}{self.rng.integers(1, 999)}",
                f"{self.pick(HANDLE_WORDS)}{self.pick(HANDLE_WORDS)}",
                f"{self.pick(HANDLE_WORDS)}_{first}{self.rng.integers(1, 99)}")[style]  # fmt: skip

    def email(self, first: str, last: str, local: str | None = None) -> str:
        local = local or self.handle(first, last)
        domain = self.pick(DOMAINS, DOMAIN_WEIGHTS)
        email = f"{local}@{domain}"
        # One inbox, one person: Gmail ignores dots, so john.smith@ and johnsmith@ are one.
        while _inbox(email) in self.used_emails:
            email = f"{local}{self.rng.integers(1, 9999)}@{domain}"
        self.used_emails.add(_inbox(email))
        return email

    def typo(self, name: str) -> str:
        """One keyboard slip: a letter swapped for another, dropped, or two letters swapped."""
        i = int(self.rng.integers(1, len(name) - 1))
        kind = int(self.rng.integers(3))
        if kind == 0:
            letter = self.pick([c for c in "aeioulnrst" if c != name[i]])
            return name[:i] + letter + name[i + 1:]
        if kind == 1:
            return name[:i] + name[i + 1:]
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]

    def person(self) -> dict:
        first, last = self.first_name(), self.last_name()
        street, zip_code, city = self.home()
        return {
            "first_name": first, "last_name": last,
            "email": self.email(first, last) if self.rng.random() < 0.9 else None,
            "phone": self.phone() if self.rng.random() < 0.85 else None,
            "address": street, "zip": zip_code, "city": city, "country_code": "us",
        }  # fmt: skip

    def noisy_copy(self, rec: dict) -> tuple[dict, str]:
        """A second record of the same person, and the noise it carries (a `+`-joined list)."""
        new = dict(rec)
        noise = []
        # Most second records come through another channel with another email form, so the
        # exact match on email did not link them; a few kept the very email.
        r = self.rng.random()
        if new["email"] and r < 0.3:
            local, domain = new["email"].split("@")
            if domain == "gmail.com" and self.rng.random() < 0.6:
                cut = int(self.rng.integers(1, len(local)))
                local = local.replace(".", "") if "." in local else local[:cut] + "." + local[cut:]
                noise.append("gmail_dots")
            else:
                local = f"{local}+{self.pick(['shop', 'news', 'promo'])}"
                noise.append("plus_tag")
            new["email"] = f"{local}@{domain}"
        elif r < 0.55:
            # Another provider; many people keep their handle when they move to one.
            keep = new["email"] and self.rng.random() < 0.4
            new["email"] = self.email(new["first_name"], new["last_name"],
                                      new["email"].split("@")[0] if keep else None)
            noise.append("other_email")
        elif r < 0.7:
            new["email"] = None
            noise.append("no_email")
        ops = ["nickname", "first_typo", "last_typo", "moved", "moved_away", "street_words",
               "street_typo", "no_phone", "area_code", "new_phone", "none"]  # fmt: skip
        op = self.pick(ops, p=[0.2, 0.13, 0.1, 0.1, 0.05, 0.1, 0.07, 0.06, 0.03, 0.05, 0.11])
        if op == "nickname" and self.nicknames[new["first_name"]]:
            new["first_name"] = self.pick(self.nicknames[new["first_name"]])
        elif op == "first_typo" and len(new["first_name"]) >= 4:
            new["first_name"] = self.typo(new["first_name"])
        elif op == "last_typo" and len(new["last_name"]) >= 4:
            new["last_name"] = self.typo(new["last_name"])
        elif op == "moved":
            # A move within the same town; the phone goes along.
            new["address"], new["zip"], new["city"] = self.home(CITIES.index(rec["city"]))
        elif op == "moved_away":
            # To another town, with the same mobile number.
            new["address"], new["zip"], new["city"] = self.home()
        elif op == "street_words":
            number, name, kind = new["address"].split(" ")
            short = {"street": "St.", "avenue": "Ave", "road": "Rd", "lane": "Ln",
                     "drive": "Dr", "court": "Ct", "place": "Pl"}[kind]  # fmt: skip
            new["address"] = f"{number} {name.title()} {short}"
        elif op == "street_typo":
            number, name, kind = new["address"].split(" ")
            new["address"] = f"{number} {self.typo(name) if len(name) >= 4 else name} {kind}"
        elif op == "area_code" and new["phone"]:
            # The same line under another area code (a number copied from an old form).
            new["phone"] = f"+1{self.rng.integers(201, 990)}{new['phone'][-7:]}"
        elif op == "new_phone" and new["phone"]:
            new["phone"] = self.phone()
        elif op == "no_phone":
            new["phone"] = None
        else:
            op = "none"
        noise.append(op)
        return new, "+".join(noise)

    def housemate(self, rec: dict) -> dict:
        """Someone else at the same home: same last name, address and landline, a first name
        that is neither the same nor a nickname of it, nor one keystroke from it where one
        of the two is a name the nicknames list does not know (jean and sean would read as
        a typo)."""
        known = known_first_names()
        while True:
            first = self.first_name()
            other = rec["first_name"]
            typo = _edits(first, other) <= 1 and not (first in known and other in known)
            if not nickname_equivalent(first, other) and not typo:
                break
        return {
            **rec, "first_name": first,
            "email": self.email(first, rec["last_name"]) if self.rng.random() < 0.8 else None,
        }  # fmt: skip

    def namesake(self, rec: dict, same_zip: bool) -> dict:
        """A stranger with the same first and last name: elsewhere, or in the same zip."""
        other = self.person()
        if same_zip:
            street, _, _ = self.home()
            other.update(address=street, zip=rec["zip"], city=rec["city"])
        else:
            while other["zip"] == rec["zip"]:
                other.update(zip(("address", "zip", "city"), self.home(), strict=True))
        other["email"] = self.email(rec["first_name"], rec["last_name"])
        return {**other, "first_name": rec["first_name"], "last_name": rec["last_name"]}


def population(seed: int = 0, n_people: int = 3000, duplicate_share: float = 0.4,
               household_share: float = 0.1, namesake_share: float = 0.05) -> pl.DataFrame:
    """Records with the matcher's input columns and the truth: `person` (the same person's
    records share it), `kind` (original, duplicate, housemate, namesake, namesake_same_zip),
    `noise` (what a duplicate carries, `+`-joined) and `based_on` (the person a housemate
    lives with or a namesake shares a name with). `cluster` is what exact matching gives:
    records with the very same email are one cluster, the others stand alone (null). Rows
    are shuffled; record keys are r0000000, r0000001... in the shuffled order."""
    w = _World(seed)
    rows = []
    for person in range(n_people):
        rows.append({**w.person(), "person": person, "kind": "original", "noise": None,
                     "based_on": None})  # fmt: skip
    originals = list(rows)
    for rec in originals:
        if w.rng.random() < duplicate_share:
            copy, noise = w.noisy_copy(rec)
            rows.append({**copy, "person": rec["person"], "kind": "duplicate", "noise": noise,
                         "based_on": None})  # fmt: skip
    next_person = n_people
    for rec in originals:
        r = w.rng.random()
        if r < household_share:
            rows.append({**w.housemate(rec), "person": next_person, "kind": "housemate",
                         "noise": None, "based_on": rec["person"]})  # fmt: skip
            next_person += 1
        elif r < household_share + namesake_share:
            same_zip = w.rng.random() < 0.3
            rows.append({**w.namesake(rec, same_zip), "person": next_person,
                         "kind": "namesake_same_zip" if same_zip else "namesake",
                         "noise": None, "based_on": rec["person"]})  # fmt: skip
            next_person += 1
    order = w.rng.permutation(len(rows))
    frame = pl.DataFrame([rows[i] for i in order], schema={
        "first_name": pl.String, "last_name": pl.String, "email": pl.String, "phone": pl.String,
        "address": pl.String, "zip": pl.String, "city": pl.String, "country_code": pl.String,
        "person": pl.Int64, "kind": pl.String, "noise": pl.String, "based_on": pl.Int64,
    })  # fmt: skip
    frame = frame.with_columns(record_key=pl.format("r{}", pl.int_range(pl.len()).cast(pl.String)
                                                    .str.zfill(7)))  # fmt: skip
    cluster = (frame.filter(pl.col("email").is_not_null())
               .group_by("email").agg(pl.col("record_key").min().alias("cluster"))
               .filter(pl.col("cluster").is_not_null()))  # fmt: skip
    sizes = frame.group_by("email").len()
    cluster = cluster.join(sizes, on="email").filter(pl.col("len") > 1).drop("len")
    return frame.join(cluster, on="email", how="left").select(
        "record_key", "cluster", "first_name", "last_name", "email", "phone", "address", "zip",
        "city", "country_code", "person", "kind", "noise", "based_on",
    )


def records(*rows: dict) -> pl.DataFrame:
    """Matcher input from a few fields per record, the rest null."""
    return pl.DataFrame([{c: row.get(c) for c in INPUT_COLUMNS} for row in rows],
                        schema=dict.fromkeys(INPUT_COLUMNS, pl.String))  # fmt: skip


def true_pairs(records: pl.DataFrame) -> pl.DataFrame:
    """Every pair of records of the same person (record_key_l < record_key_r), with whether
    exact matching already put them in one cluster."""
    side = records.select("record_key", "person", "cluster")
    return (
        side.join(side, on="person", suffix="_r")
        .filter(pl.col("record_key") < pl.col("record_key_r"))
        .select(record_key_l="record_key", record_key_r="record_key_r",
                same_cluster=(pl.col("cluster") == pl.col("cluster_r")).fill_null(False))
    )  # fmt: skip
