"""The columns the probabilistic matcher compares, derived from a person record.

The input is already normalised upstream (trimmed, lowercased names and emails, E.164 phones);
this adds the forms under which two spellings of one person's details compare equal:

- the email's canonical local part: no `+tag`, and for Gmail no dots (Gmail ignores both, so
  `jo.smith+shop@gmail.com` is `josmith@gmail.com`'s inbox). For comparing only: exports keep
  the address as typed (pipelines.normalize.rules.email says why);
- whether the email's local part only spells the name (`john.smith`, `jsmith`, `smithj73`):
  then two records agreeing on it agree on the name again, which the names already count;
- the phone's last 7 digits, the subscriber number a person gives with or without an area or
  country code;
- the first name's relatives in the `nicknames` package's list: the names it is a nickname
  of or has as nicknames, and its formal names, so that `bob` is `robert` and `liz` is
  `beth`; and whether the list knows the name at all (a typo seldom spells another name);
- zip in upper case without spaces, city and street line lower-cased with single spaces, the
  street line's common words in their postal abbreviations.
"""

from __future__ import annotations

from functools import cache

import polars as pl
from nicknames import NickNamer
from text_unidecode import unidecode

INPUT_COLUMNS = ("record_key", "cluster", "first_name", "last_name", "email", "phone", "address",
                 "zip", "city", "country_code")  # fmt: skip

# Gmail's own domains: the only ones known to ignore dots in the local part. Most providers
# honour `+tags`, and one that does not still names the same person by the address before it.
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")

# The street words that are written both ways often enough to split a match: the USPS suffix
# and unit abbreviations people actually type. A tiny map rather than an address parser
# (libpostal needs a 2 GB model; usaddress tags US lines only): street lines are compared by
# Jaro-Winkler as well, which absorbs the rarer spellings, and the map only has to turn the
# frequent `12 Main Street` / `12 main st.` into one string.
STREET_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "lane": "ln",
    "court": "ct", "place": "pl", "boulevard": "blvd", "highway": "hwy", "parkway": "pkwy",
    "terrace": "ter", "square": "sq", "circle": "cir", "apartment": "apt", "suite": "ste",
    "north": "n", "south": "s", "east": "e", "west": "w",
}  # fmt: skip


def check_records(records: pl.DataFrame) -> None:
    """Raise ValueError naming what is wrong when `records` is not the matcher's input: a
    missing or non-String column, or a null or repeated record_key."""
    missing = [c for c in INPUT_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"identity matching: records lack column(s) {', '.join(missing)}; "
                         f"expected {', '.join(INPUT_COLUMNS)}")  # fmt: skip
    typed = [f"{c} ({records.schema[c]})" for c in INPUT_COLUMNS
             if records.schema[c] not in (pl.String, pl.Null)]  # fmt: skip
    if typed:
        raise ValueError(f"identity matching: column(s) {', '.join(typed)} must be String; "
                         "cast them upstream")  # fmt: skip
    if records["record_key"].null_count():
        raise ValueError("identity matching: record_key is null in "
                         f"{records['record_key'].null_count()} row(s); every record needs one")
    repeated = records["record_key"].filter(records["record_key"].is_duplicated())
    if len(repeated):
        raise ValueError(f"identity matching: record_key {repeated.min()!r} appears more than "
                         "once; record keys must be unique")  # fmt: skip


@cache
def _nick_namer() -> NickNamer:
    return NickNamer()


@cache
def known_first_names() -> frozenset[str]:
    """Every name the nicknames list knows (about 2,200, formal and nickname): a spelling
    outside it is more likely a typo than another person's name."""
    namer = _nick_namer()
    return frozenset(namer.nickname_lookup) | frozenset(namer.canonical_lookup)


def formal_names(name: str) -> list[str]:
    """The name and the formal names it is a nickname of that are at least as long, sorted:
    two nicknames of one formal name meet here (`liz` and `beth` at `elizabeth`, `bob` and
    `rob` at `robert`).

    Only as long or longer: the list links names both ways and loosely (it gives `bill` the
    nicknames `robert` and `william`), so meeting at any listed relative would make robert
    and william one name through bill."""
    formal = {c for c in _nick_namer().canonicals_of(name) if len(c) >= len(name)}
    return sorted({name} | formal)


def relatives(name: str) -> list[str]:
    """The names the list gives as this name's nicknames or as the names it is a nickname
    of, sorted: directly related, whatever their length (`ann` and `nancy`)."""
    namer = _nick_namer()
    return sorted(namer.nicknames_of(name) | namer.canonicals_of(name))


def nickname_equivalent(a: str, b: str) -> bool:
    """Whether two first names can be one person's: the same, directly related in the
    nicknames list, or nicknames of one formal name. NICKNAME_SQL says the same in SQL."""
    return a == b or b in relatives(a) or bool(set(formal_names(a)) & set(formal_names(b)))


# nickname_equivalent over a pair of comparison_columns rows (Splink's _l and _r columns).
NICKNAME_SQL = ('(list_has_any("first_name_formal_l", "first_name_formal_r") '
                'or list_contains("first_name_relatives_l", "first_name_r"))')


def _nickname_sets(first_names: pl.Series) -> pl.DataFrame:
    names = first_names.drop_nulls().unique().sort()
    return pl.DataFrame({
        "first_name": names,
        "first_name_formal": pl.Series([formal_names(n) for n in names],
                                       dtype=pl.List(pl.String)),
        "first_name_relatives": pl.Series([relatives(n) for n in names],
                                          dtype=pl.List(pl.String)),
        "first_name_known": names.is_in(pl.Series(sorted(known_first_names())).implode()),
    })  # fmt: skip


def _words(col: str) -> pl.Expr:
    """Lower case, punctuation as spaces, one space between words; null when empty."""
    text = (pl.col(col).str.to_lowercase().str.replace_all(r"[.,;#/\\]", " ")
            .str.replace_all(r"\s+", " ").str.strip_chars())  # fmt: skip
    return pl.when(text != "").then(text)


def ascii_folded(names: pl.Series) -> pl.Series:
    """`names` as people spell them in an email handle: accents and letters outside ASCII
    folded by text-unidecode (søren -> soren, straße -> strasse, łukasz -> lukasz)."""
    unique = names.drop_nulls().unique()
    return names.replace_strict(unique, [unidecode(v) for v in unique], default=None,
                                return_dtype=pl.String)


def _spells_name(local: pl.Expr, first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """Whether the local part's letters are the name in one of the usual handle shapes
    (first last, last first, initial and last, first and initial, last and initial, or one
    of the two); digits and separators do not count. The name is folded to ASCII first, as
    a handle is: søren.russo@ spells Søren Russo."""
    letters = local.str.replace_all("[^a-z]", "")
    f, s = (name.map_batches(ascii_folded, return_dtype=pl.String).str.replace_all("[^a-z]", "")
            for name in (first, last))
    shapes = [f + s, s + f, f.str.slice(0, 1) + s, f + s.str.slice(0, 1),
              s + f.str.slice(0, 1), f, s]  # fmt: skip
    return pl.any_horizontal([letters == s for s in shapes]).fill_null(False)


def comparison_columns(records: pl.DataFrame) -> pl.DataFrame:
    """One row per record with the columns the matcher compares: record_key, cluster,
    first_name, first_name_formal and first_name_relatives (lists, see NICKNAME_SQL),
    first_name_known, last_name, email_local, email_domain, email
    (canonical), email_spells_name, phone, phone_last7, address, address_number (its leading
    house number), zip, city; sorted by record_key."""
    check_records(records)
    # In steps, each reading the one before: an expression used in several outputs of one
    # select is computed once per use (the email's split three times over).
    derived = (
        records.lazy()
        .select(
            "record_key", "cluster",
            first_name=_words("first_name"),
            last_name=_words("last_name"),
            email=pl.col("email").str.strip_chars().str.to_lowercase(),
            digits=pl.col("phone").str.replace_all(r"\D", ""),
            address=_words("address").str.split(" ")
            .list.eval(pl.element().replace(STREET_WORDS)).list.join(" "),
            zip=pl.col("zip").str.to_uppercase().str.replace_all(r"\s+", "").replace("", None),
            city=_words("city"),
        )
        .with_columns(at=pl.col("email").str.find("@", literal=True))
        .with_columns(
            email_domain=pl.col("email").str.slice(pl.col("at") + 1)
            .replace({"googlemail.com": "gmail.com"}),
            email_local=pl.col("email").str.slice(0, pl.col("at")).str.replace(r"\+.*$", ""),
        )
        .with_columns(
            email_local=pl.when(pl.col("email_domain").is_in(GMAIL_DOMAINS))
            .then(pl.col("email_local").str.replace_all(".", "", literal=True))
            .otherwise(pl.col("email_local")),
        )
        .with_columns(valid=pl.col("at").is_not_null() & (pl.col("email_local") != "")
                      & (pl.col("email_domain") != ""))
        .with_columns(
            email_local=pl.when("valid").then("email_local"),
            email_domain=pl.when("valid").then("email_domain"),
            email=pl.when("valid").then(pl.format("{}@{}", "email_local", "email_domain")),
            phone=pl.when(pl.col("digits").str.len_chars() >= 7)
            .then(pl.lit("+") + pl.col("digits")),
            phone_last7=pl.when(pl.col("digits").str.len_chars() >= 7)
            .then(pl.col("digits").str.slice(-7)),
            address_number=pl.col("address").str.extract(r"^(\d+)\b"),
        )
        .collect()
    )  # fmt: skip
    nicks = _nickname_sets(derived["first_name"])
    return (derived.join(nicks, on="first_name", how="left")
            .with_columns(email_spells_name=pl.when(pl.col("email").is_not_null()).then(
                _spells_name(pl.col("email_local"), pl.col("first_name"), pl.col("last_name"))))
            .select("record_key", "cluster", "first_name", "first_name_formal",
                    "first_name_relatives",
                    "first_name_known", "last_name",
                    "email_local", "email_domain", "email", "email_spells_name", "phone",
                    "phone_last7", "address", "address_number", "zip", "city")
            .sort("record_key"))  # fmt: skip
