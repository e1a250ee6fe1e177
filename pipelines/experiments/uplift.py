"""Uplift targeting: who responds to a campaign, learnt from past holdouts.

The units of experiments whose outcome window is complete (`intermediate.
int_experiments__units`: the assignments of `ml.experiment_assignments` with their outcomes)
train the X-learner (`learner.py`) on the churn model's features as of each unit's entry (the
newest feature snapshot on or before that day, so nothing after it is seen), the outcome being
orders in the window per 28 days. Units are split by a hash of the person: 70% fit, 30% are
measured, where the learner's Qini is set beside targeting by churn risk (the churn model in
use, else days since the last order) and at random (`evaluate_targeting`).

Every customer of today's snapshot gets `ml.scores` model `uplift`: expected incremental orders
over 28 days if treated, deciles, and the features that raise it in words; so an audience may
select `uplift_decile >= 8`. With no completed experiment there are no uplift scores, and the
step says so.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.experiments import learner as xl
from pipelines.experiments.qini import qini, true_gain
from pipelines.ml import registry
from pipelines.ml.churn import MODEL_FEATURES as CHURN_MODEL_FEATURES
from pipelines.ml.explain import reason_columns
from pipelines.ml.features import btyd_enrich, feature_matrix
from pipelines.ml.scores import REASONS, long_scores

log = logging.getLogger(__name__)

MODEL = "uplift"
# The churn model's features: who is drifting away, how they buy, how they engage.
FEATURES: tuple[str, ...] = CHURN_MODEL_FEATURES
HORIZON_DAYS = 28
UNITS_TABLE = "intermediate.int_experiments__units"
UNIT_COLUMNS = ("experiment_id", "customer_key", "arm", "entered_on", "outcome_days", "orders")
# Share of people whose units are measured, not fitted.
MEASURE_SHARE = 0.3
# The fewest units per arm on the fitting side: each arm's outcome model and its early
# stopping (a fifth of them) need some dozens of people, and with a 10% holdout an audience
# of 1,000 gives 70 held-out units to fit; fewer and the effect model learns noise.
MIN_UNITS_PER_ARM = 50
# Targeting a third of the audience or less is what `uplift_decile >= 8` does.
TOP_SHARE = 0.3


def read_units(con) -> pl.DataFrame | None:
    """The units whose outcome window had closed when the units table was built (its own
    `is_complete`, the flag the readouts count by) and who did not leave the experiment, or
    None when the table is not there (no experiment yet). The table is built after this step,
    by the day before's run: a window that ends today holds only yesterday's orders, so
    completeness is the table's, not today's date."""
    schema, table = UNITS_TABLE.split(".")
    present = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0]
    if not present:
        return None
    units = con.sql(f"select * from {UNITS_TABLE}").pl()
    missing = [c for c in (*UNIT_COLUMNS, "is_complete", "left_on") if c not in units.columns]
    if missing:
        raise ValueError(f"{UNITS_TABLE} lacks the columns the uplift model reads: {missing}")
    return units.filter(pl.col("is_complete") & pl.col("left_on").is_null())


def with_entry_features(units: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """`units` with `FEATURES` as of each unit's entry: from the newest snapshot of
    `marts.customer_features` on or before `entered_on` (snapshots are `feature_step_days`
    apart, so a unit's features may be up to that much older than its entry, never newer),
    the outcome carried to `HORIZON_DAYS` (`orders_28d`) and `is_treated`."""
    cutoffs = sorted(features.get_column("as_of_date").unique().to_list())
    entries = sorted(units.get_column("entered_on").unique().to_list())
    snapshot = {e: max((c for c in cutoffs if c <= e), default=None) for e in entries}
    used = {c for c in snapshot.values() if c is not None}
    enriched, _ = btyd_enrich(features.filter(pl.col("as_of_date").is_in(sorted(used))))
    mapping = pl.DataFrame(
        {"entered_on": list(snapshot), "as_of_date": list(snapshot.values())},
        schema={"entered_on": pl.Date, "as_of_date": pl.Date},
    )
    # Only the unit's key, arm, entry and outcome: the readouts' units also carry outcomes
    # named like features (revenue), which must never stand in for them.
    return (
        units.select(UNIT_COLUMNS)
        .join(mapping, on="entered_on", how="left")
        .join(
            enriched.select("customer_key", "as_of_date", *FEATURES),
            on=["customer_key", "as_of_date"],
            how="left",
        )
        .with_columns(
            is_treated=pl.col("arm") == "treatment",
            orders_28d=pl.col("orders").cast(pl.Float64) * HORIZON_DAYS
            / pl.col("outcome_days").cast(pl.Float64),
        )
    )


def measured_part(units: pl.DataFrame) -> pl.Series:
    """True for the units that are measured, not fitted: a hash of the person, so one person
    is never on both sides, whatever the experiment."""
    return units.get_column("customer_key").cast(pl.String).hash(seed=41) % 1000 < int(
        MEASURE_SHARE * 1000
    )


def evaluate_targeting(
    outcome: np.ndarray, treated: np.ndarray, rankings: dict[str, np.ndarray],
    share: float = TOP_SHARE, random_orders: int = 100, versus: str | None = None,
    resamples: int = 200,
) -> dict[str, dict[str, float]]:
    """Each ranking's Qini, AUUC and incremental outcome per unit from treating its top
    `share`, measured on experiment units (`outcome`, `treated`), and random targeting's
    (the mean and spread of `random_orders` random rankings; its Qini is 0 in expectation).
    Higher scores are targeted first. With `versus` (one of `rankings`), every other ranking
    also gets `versus_<name>`: its Qini less that one's and the 90% interval of the difference
    over `resamples` bootstrap resamples of the units, because a ranking that follows the
    outcome's level varies far more than random orders do, and small experiments tell rankings
    apart only when that interval excludes 0. What the benchmark and `ml.model_runs` report."""
    figures = {}
    for name, score in rankings.items():
        curve = qini(outcome, treated, score)
        figures[name] = {"qini": curve.qini, "auuc": curve.auuc, "gain_top": curve.gain_at(share)}
    rng = np.random.default_rng(0)
    if versus is not None:
        y, t = np.asarray(outcome, dtype=float), np.asarray(treated, dtype=bool)
        draws = [rng.integers(0, len(y), len(y)) for _ in range(resamples)]
        draws = [d for d in draws if t[d].any() and not t[d].all()]
        for name, score in rankings.items():
            if name == versus:
                continue
            other, mine = np.asarray(rankings[versus], float), np.asarray(score, float)
            differences = [qini(y[d], t[d], mine[d]).qini - qini(y[d], t[d], other[d]).qini
                           for d in draws]
            low, high = np.quantile(differences, [0.05, 0.95])
            figures[name][f"versus_{versus}"] = {
                "difference": figures[name]["qini"] - figures[versus]["qini"],
                "low": float(low), "high": float(high)}
    noise = [qini(outcome, treated, rng.random(len(outcome))) for _ in range(random_orders)]
    figures["random"] = {
        "qini": float(np.mean([c.qini for c in noise])),
        "qini_sd": float(np.std([c.qini for c in noise])),
        "auuc": float(np.mean([c.auuc for c in noise])),
        "gain_top": float(np.mean([c.gain_at(share) for c in noise])),
    }
    return figures


def true_gains(
    effect: np.ndarray, rankings: dict[str, np.ndarray], share: float = TOP_SHARE
) -> dict[str, float]:
    """Where each person's true effect is known (a synthetic world's truth): the summed effect of
    treating the top `share` by each ranking, and the expected gain of picking as many at
    random, so targeting rules are compared at the same audience size."""
    gains = {name: true_gain(effect, score, share) for name, score in rankings.items()}
    gains["random"] = float(np.asarray(effect, dtype=float).mean() * round(share * len(effect)))
    return gains


def churn_ranking(frame: pl.DataFrame, models_dir: Path) -> tuple[str, np.ndarray]:
    """Churn risk of `frame`'s rows as targeting by churn alone ranks them: the churn model
    in use when there is one that can score these features, else days since the last order
    (its strongest simple rival)."""
    card = registry.current(models_dir, "churn")
    if card is not None and not registry.mismatches(
        card, {f: str(frame.schema[f]) for f in frame.columns}
    ):
        import xgboost as xgb

        _, booster = registry.load(models_dir, "churn", card.version)
        matrix = xgb.DMatrix(
            feature_matrix(frame, tuple(card.features)).to_numpy(),
            feature_names=list(card.features),
            missing=np.nan,
        )
        return f"churn model {card.version}", registry.calibrate(card, booster.predict(matrix))
    recency = frame.get_column("days_since_last_order").cast(pl.Float64).fill_null(np.inf)
    return "days since the last order", np.nan_to_num(recency.to_numpy(), posinf=1e9)


def train(
    units: pl.DataFrame, models_dir: Path, logical_date: date, threads: int
) -> tuple[registry.ModelCard, xl.Learner]:
    """Fit the learner on the fitting part of `units` (with entry features), measure it on
    the rest beside churn risk and random targeting, and register it (or load the version
    already trained on the same units). Raises ValueError when an arm has too few units."""
    units = units.sort(["experiment_id", "customer_key"])
    version = registry.version_for(
        MODEL, FEATURES, xl.PARAMS, xl.ROUNDS,
        units.select("experiment_id", "customer_key", "arm", "orders_28d").hash_rows(seed=1)
        .to_list(),
    )
    if registry.model_dir(models_dir, MODEL, version).exists():
        return _load(models_dir, version)
    measured = measured_part(units)
    fit_on, measure = units.filter(~measured), units.filter(measured)
    for name, part in (("fitting", fit_on), ("measured", measure)):
        counts = part.get_column("is_treated").value_counts()
        arms = dict(zip(counts.get_column("is_treated"), counts.get_column("count"), strict=True))
        if min(arms.get(True, 0), arms.get(False, 0)) < MIN_UNITS_PER_ARM:
            raise ValueError(
                f"the {name} part of the completed experiments has {arms.get(True, 0)} treated "
                f"and {arms.get(False, 0)} held-out units; the uplift model needs at least "
                f"{MIN_UNITS_PER_ARM} of each"
            )
    model = xl.fit(fit_on, FEATURES, "orders_28d", threads=threads)
    churn_name, churn_score = churn_ranking(measure, models_dir)
    figures = evaluate_targeting(
        measure.get_column("orders_28d").to_numpy(),
        measure.get_column("is_treated").to_numpy(),
        {"uplift": model.predict(measure)[0], "churn": churn_score},
        versus="churn",
    )
    figures["churn"]["ranking"] = churn_name
    card = registry.ModelCard(
        model=MODEL,
        version=version,
        features=list(FEATURES),
        feature_types=registry.feature_types(units, FEATURES),
        training_cutoffs=sorted({d.isoformat() for d in fit_on.get_column("entered_on")}),
        validation_cutoff=max(units.get_column("entered_on")).isoformat(),
        params={**xl.PARAMS, "treated_share": model.treated_share, "method": model.method},
        metrics={
            **figures,
            "fit_units": fit_on.height,
            "measured_units": measure.height,
            "experiments": units.get_column("experiment_id").n_unique(),
            "split": f"by person, {MEASURE_SHARE:.0%} measured",
        },
        trained_for=logical_date.isoformat(),
        kind="regression",
        label_days=HORIZON_DAYS,
        horizon_days=HORIZON_DAYS,
    )
    registry.save_boosters(models_dir, card, model.boosters)
    return card, model


def in_use(
    models_dir: Path, logical_date: date, retrain_every_days: int
) -> tuple[registry.ModelCard, xl.Learner] | None:
    """The version in use and its learner while it is younger than `retrain_every_days` (and
    not trained for a later day, as in a backfill), else None: time to train (as it is when
    its features no longer match today's, which `score` checks)."""
    chosen = registry.decision(models_dir, MODEL)
    if not chosen or not chosen.get("version") or not chosen.get("decided_for"):
        return None
    age = (logical_date - date.fromisoformat(chosen["decided_for"])).days
    if not 0 <= age < retrain_every_days:
        return None
    if not registry.model_dir(models_dir, MODEL, chosen["version"]).exists():
        return None
    return _load(models_dir, chosen["version"])


def _load(models_dir: Path, version: str) -> tuple[registry.ModelCard, xl.Learner]:
    card, boosters = registry.load_boosters(models_dir, MODEL, version)
    return card, xl.Learner(
        boosters, tuple(card.features), card.params["treated_share"], card.params["method"]
    )


def score(
    units: pl.DataFrame | None,
    features: pl.DataFrame,
    logical_date: date,
    models_dir: Path,
    threads: int = 1,
    retrain_every_days: int = 7,
) -> tuple[pl.DataFrame, registry.ModelCard | None, str]:
    """`ml.scores` rows of model `uplift` for every customer of today's snapshot, the card of
    the version that scored, and a note; no rows (and no card) when no completed experiment
    can train the model, the note saying why. The version in use keeps scoring until it is
    `retrain_every_days` old, as the other models do, so audiences on its deciles stay put
    while units complete day by day."""
    if units is None or units.height == 0:
        why = ("no experiment has completed its outcome window yet"
               if units is not None else f"there is no {UNITS_TABLE} (no experiment has run)")
        return long_scores(MODEL, "none", logical_date, pl.Series([], dtype=pl.String),
                           pl.Series([], dtype=pl.Float64), []), None, (
            f"no uplift scores: {why}, so an audience that selects on uplift_decile is empty")
    today, _ = btyd_enrich(features.filter(pl.col("as_of_date") == logical_date))
    today = today.sort("customer_key")
    schema = {f: str(today.schema[f]) for f in today.columns}
    kept = in_use(models_dir, logical_date, retrain_every_days)
    try:
        card, model = (
            kept if kept and not registry.mismatches(kept[0], schema)
            else train(with_entry_features(units, features), models_dir, logical_date, threads)
        )
    except ValueError as exc:
        return long_scores(MODEL, "none", logical_date, pl.Series([], dtype=pl.String),
                           pl.Series([], dtype=pl.Float64), []), None, f"no uplift scores: {exc}"
    registry.set_current(models_dir, MODEL, card.version, decided_for=card.trained_for)
    registry.check_features(card, schema)
    uplift, contributions = model.predict(today)
    reasons = reason_columns(contributions, today, FEATURES, REASONS, direction="up")
    rows = long_scores(MODEL, card.version, logical_date, today.get_column("customer_key"),
                       pl.Series(uplift, dtype=pl.Float64), reasons)
    return rows, card, describe(card)


def describe(card: registry.ModelCard) -> str:
    """The version's figures in one sentence: its Qini beside churn-risk targeting's, whether
    the 90% interval of their difference says one ranks better, and random's."""
    m = card.metrics
    gap = m["uplift"].get("versus_churn")
    if gap is None:  # a version trained before the interval was recorded
        gap = {"low": float("nan"), "high": float("nan")}
    verdict = ("ranks better than" if gap["low"] > 0 else "ranks worse than" if gap["high"] < 0
               else "cannot yet be told apart from")
    return (
        f"uplift model {card.version} from {m['experiments']} experiment(s), "
        f"{m['fit_units']:,} units fitted; on {m['measured_units']:,} held-out units its Qini "
        f"{m['uplift']['qini']:+.4f} {verdict} targeting by churn risk "
        f"({m['churn']['ranking']}, {m['churn']['qini']:+.4f}; difference 90% interval "
        f"{gap['low']:+.4f} to {gap['high']:+.4f}); random {m['random']['qini']:+.4f} "
        f"(sd {m['random']['qini_sd']:.4f})"
    )


def score_uplift(settings, logical_date: date, run_id: str) -> dict:
    """The `run_experiments` step's first part: learn the uplift model from the completed
    experiments and replace model `uplift`'s rows in `ml.scores`; returns the summary."""
    from pipelines.ml.features import read_features
    from pipelines.ml.tasks import _prepare, record_run
    from pipelines.warehouse import work_connection

    with work_connection(settings) as con:
        units = read_units(con)
        # Without a completed unit there is nothing to learn, and nothing else to read.
        features = read_features(con) if units is not None and units.height else pl.DataFrame()
    rows, card, note = score(units, features, logical_date, settings.models_dir,
                             settings.ml_threads, settings.retrain_every_days)
    log.info("%s", note)
    with work_connection(settings) as con:
        _prepare(con)
        con.execute("begin")
        con.execute("delete from ml.scores where model = ?", [MODEL])
        if card is not None:
            con.register("uplift_frame", rows.to_arrow())
            con.execute("insert into ml.scores by name select * from uplift_frame")
            con.unregister("uplift_frame")
            m = card.metrics
            record_run(con, run_id, MODEL, logical_date, {
                "version": card.version, "trained": card.trained_for == logical_date.isoformat(),
                "scored_rows": rows.height, "metrics": m, "note": note,
                "candidate_version": card.version, "promoted": True, "metric": "qini",
                "model_value": m["uplift"]["qini"], "baseline": "churn",
                "baseline_value": m["churn"]["qini"], "published_value": m["uplift"]["qini"],
            })
        con.execute("commit")
    return {"model": MODEL, "version": card.version if card else None, "scored": rows.height,
            "qini": card.metrics["uplift"]["qini"] if card else None,
            "churn_qini": card.metrics["churn"]["qini"] if card else None, "note": note}



