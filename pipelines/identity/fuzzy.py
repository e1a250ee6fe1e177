"""Probabilistic matching (Fellegi-Sunter, by Splink on DuckDB) of the person records that exact
identifiers left apart: the same person under a nickname, a typo, a Gmail alias, a new address.

`train` fits the model on the records themselves, without labels: u (how often two different
people agree on a field by chance) from random pairs, m (how often one person's two records
agree) by expectation maximisation over blocked pairs, and the prior (how many pairs are the
same person) from deterministic rules. `match` scores candidate pairs, drops those that a
guard says are two people, picks a threshold for a target precision and explains each
accepted pair in words.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException

from pipelines.identity.features import NICKNAME_SQL, comparison_columns

log = logging.getLogger(__name__)

# The share of accepted pairs that should be the same person, by the model's own reckoning.
TARGET_PRECISION = 0.995
# No threshold below this, whatever the target allows: below it one accepted pair in ten is
# two people by the model's own reckoning, and merging two people costs more (their orders,
# consents and erasures become one) than missing a link does.
MIN_THRESHOLD = 0.9
# Random pairs for the u probabilities; more than the data has gives all of them.
U_MAX_PAIRS = 2e6
# m of an else level that no pair of one person's records showed (_fill_unobserved), and u of
# a level that no random pair showed: rare, as Splink reads them while it trains.
UNOBSERVED_ELSE_M = 1e-3
UNOBSERVED_U = 1e-6
# The share of all true pairs that PRIOR_RULES are taken to find. They need one inbox, or the
# full name with the phone or the street line; 0.80-0.81 of the true pairs of the synthetic
# population (tests/unit/fuzzy_world.py, 4.6k and 100k records), where the prior then came
# within 2% of the truth. The prior moves in proportion: 0.4 bits for 0.8 against 0.6.
PRIOR_RECALL = 0.8

# Candidate pairs: any two records that agree on one of these is scored. Each catches the
# duplicates that the others miss: a nickname or first-name typo (last name + zip), a
# last-name typo (first name + zip), a move within town (last name + city), a move out of
# town (email local part, phone number).
PREDICTION_RULES = (
    block_on("first_name", "zip"),
    block_on("last_name", "zip"),
    block_on("last_name", "city"),
    block_on("email_local"),
    block_on("phone_last7"),
)
# Expectation maximisation: each session estimates m for the comparisons its rule does not
# block on, so the two together train every comparison. Both are blocks where most pairs are
# one person: EM has two classes, and in a looser block (pairs that share an email's local
# part, often just the name; or a phone, which a household shares) the same-name strangers or
# the housemates become its "match" class, and m for a disagreeing phone or address comes out
# several times too high (measured on tests/unit/fuzzy_world.py against m from the truth).
EM_RULES = (
    block_on("email"),
    block_on("first_name", "last_name", "zip"),
)
# Rules precise enough to count matches by: the prior is what they find, over PRIOR_RECALL.
PRIOR_RULES = (
    block_on("email"),
    block_on("first_name", "last_name", "phone"),
    block_on("first_name", "last_name", "address", "zip"),
)


@dataclass(frozen=True)
class Level:
    """A comparison level and how a pair's evidence names it (None: it says nothing)."""

    creator: cll.ComparisonLevelCreator
    evidence: str | None = None
    # Whether the phrase shows the two values, as "nickname (bob~robert)".
    shows_values: bool = False


def _both(col: str) -> str:
    return f'("{col}_l" is not null and "{col}_r" is not null)'


# Neither zip nor city says the two are in different towns.
_same_town = ('coalesce("zip_l" = "zip_r", true) and coalesce("city_l" = "city_r", true)')


def _levels() -> dict[str, tuple[str, list[Level]]]:
    """Per comparison: the column whose values evidence shows, and its levels from the most
    to the least alike (a null level first, an else level last)."""
    return {
        "first_name": ("first_name", [
            Level(cll.NullLevel("first_name")),
            Level(cll.ExactMatchLevel("first_name", term_frequency_adjustments=True),
                  "first name exact"),
            Level(cll.CustomLevel(NICKNAME_SQL, "Nickname-equivalent first_name"),
                "first name nickname", shows_values=True),
            Level(cll.JaroWinklerLevel("first_name", 0.92), "first name similar",
                  shows_values=True),
            Level(cll.JaroWinklerLevel("first_name", 0.8), "first name alike", shows_values=True),
            Level(cll.ElseLevel()),
        ]),
        "last_name": ("last_name", [
            Level(cll.NullLevel("last_name")),
            Level(cll.ExactMatchLevel("last_name", term_frequency_adjustments=True),
                  "last name exact"),
            Level(cll.JaroWinklerLevel("last_name", 0.88), "last name similar",
                  shows_values=True),
            Level(cll.ElseLevel()),
        ]),
        "email": ("email_local", [
            Level(cll.NullLevel("email_local")),
            Level(cll.ExactMatchLevel("email"), "same inbox (email without +tag, Gmail dots)"),
            # Two alike handles that each only spell their record's name (john.smith@ and
            # johnsmith@ at two providers) agree on the name again, which first and last name
            # already count, and a same-name stranger picks the same handle as often as not.
            # This level holds a Bayes factor of 1, where "local part exact" would count the
            # name twice. Handles that differ still count against, as any other.
            Level(cll.CustomLevel('"email_spells_name_l" and "email_spells_name_r" and '
                                  'levenshtein("email_local_l", "email_local_r") <= 1',
                                  "Alike local parts that spell the name").configure(
                m_probability=0.5, u_probability=0.5, fix_m_probability=True,
                fix_u_probability=True)),
            Level(cll.ExactMatchLevel("email_local", term_frequency_adjustments=True),
                  "email local part exact"),
            Level(cll.LevenshteinLevel("email_local", 1), "email local part one edit",
                  shows_values=True),
            Level(cll.ElseLevel()),
        ]),
        "phone": ("phone", [
            Level(cll.NullLevel("phone_last7")),
            Level(cll.ExactMatchLevel("phone"), "phone exact"),
            Level(cll.ExactMatchLevel("phone_last7"), "phone last 7"),
            Level(cll.ElseLevel()),
        ]),
        # Street line, zip and city as one comparison: they are one fact (a street line
        # implies its zip and town), and scored apart the model counts a shared home three
        # times and a same-zip stranger's other street barely at all: most people's second
        # record in the same zip is at the same street line, so "same zip, another street"
        # is weak evidence, which only a level of its own can learn.
        "place": ("address", [
            Level(cll.CustomLevel(f"not ({_both('address')} or {_both('zip')} or "
                                  f"{_both('city')})", "No place field on both").configure(
                is_null_level=True)),
            Level(cll.CustomLevel(f'"address_l" = "address_r" and {_same_town}',
                                  "Exact match on address in the same town"), "address exact"),
            # Jaro-Winkler reads a long street name and not the house number: 326 and 137
            # washington ave score 0.93. The numbers must agree but for one slip.
            Level(cll.CustomLevel(
                f'jaro_winkler_similarity("address_l", "address_r") >= 0.9 and {_same_town} '
                'and coalesce(damerau_levenshtein("address_number_l", "address_number_r") <= 1, '
                "true)", "Similar address in the same town"),
                "address similar", shows_values=True),
            Level(cll.CustomLevel(f'"zip_l" = "zip_r" and not {_both("address")}',
                                  "Exact match on zip, a street line missing").configure(
                tf_adjustment_column="zip", tf_adjustment_weight=1.0,
                disable_tf_exact_match_detection=True), "zip exact"),
            Level(cll.CustomLevel('"zip_l" = "zip_r"', "Exact match on zip, another street"
                                  ).configure(tf_adjustment_column="zip", tf_adjustment_weight=1.0,
                                              disable_tf_exact_match_detection=True),
                  "zip exact (another street)"),
            Level(cll.CustomLevel('"city_l" = "city_r"', "Exact match on city").configure(
                tf_adjustment_column="city", tf_adjustment_weight=1.0,
                disable_tf_exact_match_detection=True), "city exact"),
            Level(cll.ElseLevel()),
        ]),
    }  # fmt: skip


def _settings() -> SettingsCreator:
    comparisons = [
        cl.CustomComparison([lv.creator for lv in levels], output_column_name=name)
        for name, (_, levels) in _levels().items()
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=list(PREDICTION_RULES),
        # A starting value; train estimates it from PRIOR_RULES.
        probability_two_random_records_match=1e-4,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        # For the guard on first names (GUARDS), which no comparison reads.
        additional_columns_to_retain=["first_name_known"],
    )


def _linker(frame: pl.DataFrame, settings: SettingsCreator | dict[str, Any]
            ) -> tuple[Linker, DuckDBAPI, duckdb.DuckDBPyConnection]:  # fmt: skip
    """A Linker over `frame` on a DuckDB connection of its own (the caller closes it)."""
    con = duckdb.connect()
    db = DuckDBAPI(connection=con)
    table = db.register(frame.to_arrow(), table_name="people")
    # Splink's INFO lines are a page per step, and its warnings name every level one EM
    # session did not see even when the other did; _fill_unobserved warns about the levels
    # that no session saw.
    return Linker(table, settings, log_level=logging.ERROR), db, con


def train(records: pl.DataFrame, seed: int = 0, *, u_max_pairs: float = U_MAX_PAIRS,
          prior_recall: float = PRIOR_RECALL) -> dict:  # fmt: skip
    """Fit the model on `records` (record_key, cluster, first_name, last_name, email, phone,
    address, zip, city, country_code; all String) and return it as a Splink settings dict with
    trained m and u probabilities (JSON-serialisable; `match` takes it back).

    Raises ValueError when the records hold too few pairs of one person to learn from (no
    two share an inbox, say): a shop that small is better matched with a model trained on a
    larger one."""
    frame = comparison_columns(records)
    linker, _, con = _linker(frame, _settings())
    too_few = (f"identity matching: {records.height} records are too few to train on: {{}}; "
               "train on more records, or match with a model trained on more")  # fmt: skip
    try:
        linker.training.estimate_probability_two_random_records_match(
            list(PRIOR_RULES), recall=prior_recall)
        if not linker.misc.save_model_to_json()["probability_two_random_records_match"]:
            raise ValueError(too_few.format("no two share an inbox, or a full name with a "
                                            "phone or a street line"))  # fmt: skip
        linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        for rule in EM_RULES:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            except EMTrainingException as exc:
                sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
                raise ValueError(too_few.format(f"no pair of them has {sql}")) from exc
        model = linker.misc.save_model_to_json()
    finally:
        con.close()
    _fill_unobserved(model)
    _make_stable(model)
    log.info("identity matching: trained on %d records, prior %.3g",
             records.height, model["probability_two_random_records_match"])
    return model


def _fill_unobserved(model: dict) -> None:
    """Give every level that no training pair showed explicit m and u, in place.

    Splink scores a level it never observed as one in a million while it trains, but saves
    it without m or u, and a model loaded from that dict scores it with Splink's default
    starting values instead (m 0.0125, u 0.063 for one level here): the same model would
    score differently after a round trip. So the values are written down:
    - a level of agreement that no pair of one person's records showed (a phone's last 7
      digits when no duplicate had another area code) says nothing: m = u, a Bayes factor
      of 1, rather than one in a million, which would make agreeing there count against;
    - an else level that no such pair showed (no duplicate with another first name) means
      that disagreeing there is rare for one person: m = UNOBSERVED_ELSE_M;
    - a u that random pairs never showed is rare among different people: UNOBSERVED_U,
      Splink's own reading while it trains.
    """
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            filled = []
            if "u_probability" not in level:
                level["u_probability"] = UNOBSERVED_U
                filled.append("u")
            if "m_probability" not in level:
                is_else = level["sql_condition"].strip().upper() == "ELSE"
                level["m_probability"] = UNOBSERVED_ELSE_M if is_else else level["u_probability"]
                filled.append("m")
            if filled:
                log.warning("identity matching: no training pair at level %r of %s; its %s "
                            "set as unobserved", level["label_for_charts"],
                            comparison["output_column_name"], " and ".join(filled))  # fmt: skip


def _make_stable(model: dict) -> None:
    """Make the model a function of the records alone, in place: drop Splink's random
    linker_uid (it names cache tables; a loaded model gets a new one) and round m and u to 12
    significant digits. DuckDB sums in parallel in whatever order its threads finish, so EM's
    sums differ in the last bits from run to run (seen: 0.17693522906839526 then ...23), and
    a model that moves in the 17th digit cannot be compared or cached by content."""
    model.pop("linker_uid", None)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if isinstance(level.get(key), float):
                    level[key] = float(f"{level[key]:.12g}")


@dataclass(frozen=True)
class MatchResult:
    """The accepted pairs and how they were chosen.

    pairs: record_key_l < record_key_r, match_probability, match_weight, evidence (the fields
        that agreed and how); sorted by record_key_l, record_key_r.
    threshold: the lowest match_probability accepted.
    expected_precision: the mean match_probability of the accepted pairs, the share of them
        the model expects to be one person (None when none was accepted).
    guarded: pairs at or above the threshold that a guard turned away, by guard
        (`GUARDS`' names), so that a run's log shows how often each one decides.
    """

    pairs: pl.DataFrame
    threshold: float
    expected_precision: float | None
    guarded: dict[str, int]


def choose_threshold(probabilities: pl.Series, target_precision: float = TARGET_PRECISION,
                     floor: float = MIN_THRESHOLD) -> tuple[float, float | None]:  # fmt: skip
    """The lowest threshold, not below `floor`, at which the pairs at or above it have a mean
    match probability of at least `target_precision`; and that mean (None when no pair
    qualifies: the threshold is then 1.0, above every pair that could).

    There are no labels in production, so precision cannot be measured; but each pair's
    probability is the model's own estimate that it is one person, so the accepted pairs are
    expected to hold sum(1 - p) pairs of two people, and their mean p is the expected
    precision. Lowering the threshold adds pairs in falling order of p, each lowering the
    mean, so the lowest threshold that still meets the target accepts the most pairs at that
    precision: recall is bought until the errors it brings reach the target. The floor keeps a
    model that is wrong about its own calibration from accepting coin flips."""
    p = probabilities.filter(probabilities >= floor).sort(descending=True)
    if not len(p):
        return 1.0, None
    # Mean of every pair at or above each distinct p (ties enter together).
    means = (pl.DataFrame({"p": p})
             .with_columns(mean=pl.col("p").cum_sum() / pl.int_range(1, pl.len() + 1))
             .group_by("p", maintain_order=True).last()
             .filter(pl.col("mean") >= target_precision))  # fmt: skip
    if not means.height:
        return 1.0, None
    # The means fall as p falls, so the last that meets the target is at the lowest p.
    p_low, mean = means.row(-1)
    return float(p_low), float(mean)


def _prediction_rules(model: dict) -> list[dict[str, str]]:
    """The model's candidate rules, less the pairs exact matching already joined: a condition
    inside the blocking join, so those pairs are never compared at all."""
    extra = "(l.cluster is null or r.cluster is null or l.cluster <> r.cluster)"
    return [{**rule, "blocking_rule": f"({rule['blocking_rule']}) and {extra}"}
            for rule in model["blocking_rules_to_generate_predictions"]]  # fmt: skip


# Pairs that are two people whatever their score, as SQL over a scored pair. The model
# multiplies its fields' evidence as if independent; these are the cases where that is known
# to mislead, and where merging two people would cost most.
GUARDS = {
    # Both first names given, neither the same nor nickname-equivalent, and not one typo
    # apart: a household (address, landline and last name shared) or twins. One typo apart
    # is one edit (Damerau-Levenshtein) where one spelling is no name the nicknames list
    # knows (robret, jhon); carl/carol, gary/mary or christina/christine are one edit apart
    # too, and are two people's names (Jaro-Winkler even calls daniel/danielle closer than
    # most typos). The model alone scores such a household as one person (p = 1.0, +28 bits
    # on the test population: a shared phone and home outweigh the first names). Resolution
    # upstream keeps people apart on the same grounds.
    "first names differ": f"""
        first_name_l is not null and first_name_r is not null
        and not {NICKNAME_SQL}
        and (damerau_levenshtein(first_name_l, first_name_r) > 1
             or (first_name_known_l and first_name_known_r))""",
    # Both give an email, a phone and a street line, and all three differ: nothing left but
    # the name and the place, which a namesake in the same zip shares. EM prices the three
    # disagreements at about -4 bits together on the test population (email -2.2, phone
    # -3.5, another street in the same zip +1.6), and a name seen once in the data gets some
    # +14 bits from term frequencies: two rare-named namesakes in one zip score p = 0.96
    # without this guard. A person who changed all three at once is rarer than a namesake,
    # and a later record that carries one old detail still links them.
    "contacts differ": """
        email_l is not null and email_r is not null and email_l <> email_r
        and phone_last7_l is not null and phone_last7_r is not null
        and phone_last7_l <> phone_last7_r
        and address_l is not null and address_r is not null
        and jaro_winkler_similarity(address_l, address_r) < 0.9""",
}


def _evidence() -> pl.Expr:
    """The fields that agreed and how, in words, from the gamma_ columns."""
    parts = []
    for name, (shown, levels) in _levels().items():
        ranked = [lv for lv in levels if not getattr(lv.creator, "is_null_level", False)]
        # Splink numbers non-null levels from len-1 (most alike) down to 0 (else).
        for gamma, lv in zip(range(len(ranked) - 1, -1, -1), ranked, strict=True):
            if lv.evidence is None:
                continue
            text = (pl.format(f"{lv.evidence} ({{}}~{{}})", f"{shown}_l", f"{shown}_r")
                    if lv.shows_values else pl.lit(lv.evidence))  # fmt: skip
            parts.append(pl.when(pl.col(f"gamma_{name}") == gamma).then(text))
    return pl.concat_str(parts, separator=", ", ignore_nulls=True)


def _oriented(pairs: pl.DataFrame) -> pl.DataFrame:
    """Pairs with record_key_l < record_key_r, each pair's _l and _r columns swapped where
    they were the other way round (predict_between puts its left input on the left)."""
    swap = pl.col("record_key_l") > pl.col("record_key_r")
    sides = {c: c[:-2] + ("_r" if c.endswith("_l") else "_l")
             for c in pairs.columns if c.endswith(("_l", "_r"))}  # fmt: skip
    swapped = pairs.filter(swap).rename(sides).select(pairs.columns)
    return pl.concat([pairs.filter(~swap), swapped])


def _score(frame: pl.DataFrame, model: dict, new: pl.Series | None,
           lowest: float) -> pl.DataFrame:  # fmt: skip
    """Scored candidate pairs at or above `lowest`, oriented, with `guard` (the GUARDS name
    that turns the pair away, or null).

    With `new`, the old records are linked to the new ones (predict_between) and the new
    ones among themselves (predict_within), so that no pair of two old records is even
    blocked; term frequencies come from all records, as in a full run, so every pair scores
    exactly as it would there. On 100k records with 1k new the whole match took 1.8 s
    (median of 3; `make bench-identity`), against 2.6 s for the scoring alone done as a full
    run whose blocking adds "and (l.is_new or r.is_new)" to each rule: DuckDB still joins
    every block of old records before it filters."""
    settings = copy.deepcopy(model)
    settings["blocking_rules_to_generate_predictions"] = _prediction_rules(model)
    guards = ", ".join(f"case when {sql} then '{name}' end" for name, sql in GUARDS.items())
    linker, db, con = _linker(frame, settings)
    try:
        if new is None:
            tables = [linker.inference.predict(threshold_match_probability=lowest,
                                               warning_mode="never")]  # fmt: skip
        else:
            is_new = pl.col("record_key").is_in(new.implode())
            old_records = db.register(frame.filter(~is_new).to_arrow(), table_name="old")
            new_records = db.register(frame.filter(is_new).to_arrow(), table_name="new")
            for column in _tf_columns(model):
                linker.table_management.compute_tf_table(column)
            tables = [
                linker.inference.predict_between(old_records, new_records, warning_mode="never",
                                                 threshold_match_probability=lowest),
                linker.inference.predict_within(new_records, warning_mode="never",
                                                threshold_match_probability=lowest),
            ]  # fmt: skip
        scored = pl.concat([
            con.sql(f"select *, coalesce({guards}) as guard from {t.physical_name}").pl()
            for t in tables
        ], how="diagonal_relaxed")  # fmt: skip
    finally:
        con.close()
    return _oriented(scored)


def _tf_columns(model: dict) -> list[str]:
    return sorted({level["tf_adjustment_column"] for c in model["comparisons"]
                   for level in c["comparison_levels"] if level.get("tf_adjustment_column")})


def match(records: pl.DataFrame, model: dict, new: pl.Series | None = None, *,
          threshold: float | None = None, target_precision: float = TARGET_PRECISION,
          floor: float = MIN_THRESHOLD) -> MatchResult:  # fmt: skip
    """Score the pairs of `records` that may be one person and return those accepted.

    `new`: record_keys (String) of the records that are new or changed since the last run.
    When given, only pairs with at least one of them are scored (the daily incremental run:
    new records against everything); pairs of two old records keep yesterday's decision.
    Keys rather than a mask aligned to `records`: the caller has the keys, and no row order
    can then shift them onto the wrong records.

    Pairs whose records are already in the same exact-match `cluster` are never scored, and
    pairs a guard (`GUARDS`) turns away are never accepted.

    `threshold`: accept pairs at or above it. When None it is chosen from the scored pairs by
    `choose_threshold(target_precision, floor)`. An incremental run that must decide exactly
    as the full run did passes the full run's threshold; then it returns exactly the full
    run's pairs that have a new record.
    """
    frame = comparison_columns(records)
    if new is not None:
        if new.dtype != pl.String:
            raise ValueError(f"identity matching: `new` must be record_keys (String), not "
                             f"{new.dtype}")  # fmt: skip
        unknown = new.filter(~new.is_in(frame["record_key"].implode()))
        if len(unknown):
            raise ValueError(f"identity matching: new record_key {unknown[0]!r} is not among "
                             "the records; pass all records and the keys of the new ones")
    lowest = floor if threshold is None else threshold
    scored = _score(frame, model, new, lowest)
    kept = scored.filter(pl.col("guard").is_null())
    if threshold is None:
        threshold, _ = choose_threshold(kept["match_probability"], target_precision, floor)
    accepted = kept.filter(pl.col("match_probability") >= threshold)
    guarded = dict.fromkeys(GUARDS, 0) | dict(
        scored.filter(pl.col("guard").is_not_null() & (pl.col("match_probability") >= threshold))
        .group_by("guard").len().iter_rows())  # fmt: skip
    pairs = accepted.select(
        "record_key_l", "record_key_r", "match_probability", "match_weight",
        evidence=_evidence(),
    ).sort("record_key_l", "record_key_r")
    # From the sorted pairs: a float sum depends on its order, and the pairs arrive in the
    # order DuckDB's threads finish.
    expected = float(pairs["match_probability"].mean()) if pairs.height else None
    log.info("identity matching: %d pairs accepted at p >= %.4f (expected precision %s); "
             "turned away: %s", pairs.height, threshold,
             "n/a" if expected is None else f"{expected:.4f}", guarded)  # fmt: skip
    return MatchResult(pairs=pairs, threshold=threshold, expected_precision=expected,
                       guarded=guarded)  # fmt: skip
