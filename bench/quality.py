"""Quality figures against the simulator's hidden truth (never read by the pipeline itself)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from pipelines.config import REPO_ROOT
from pipelines.normalize import udfs

DBT_PROJECT = REPO_ROOT / "dbt_project"


def oracle_churn_probability(
    people: pl.DataFrame, end: datetime, horizon_days: int = 90
) -> pl.Series:
    """P(no order in the horizon | the hidden state at the end date).

    Gone already: 1. Otherwise ordering (rate r) and leaving (hazard h) compete as exponential
    clocks: P(no order) = h/(r+h) * (1 - e^-(r+h)T) + e^-(r+h)T. Seasonality is ignored.
    """
    gone = pl.col("left_at").is_not_null() & (pl.col("left_at") <= end)
    total = pl.col("purchase_rate") + pl.col("churn_hazard")
    stay_quiet = (-total * horizon_days).exp()
    p = pl.col("churn_hazard") / total * (1 - stay_quiet) + stay_quiet
    return people.select(pl.when(gone).then(1.0).otherwise(p).alias("oracle")).to_series()


def hazard_churn_probability(
    purchase_rate: np.ndarray, hazard: np.ndarray, days_quiet: np.ndarray, horizon_days: int = 90
) -> np.ndarray:
    """P(no order in the horizon | each person's true purchase rate and leaving hazard, and
    the days since their last order): the best a model could do that knew everyone's hidden
    rates but, like the data, not whether they have left.

    Alive and quiet for s days: e^-(r+h)s; gone and quiet: h/(r+h) (1 - e^-(r+h)s). Alive now,
    an order comes in the horizon with probability r/(r+h) (1 - e^-(r+h)T). Seasonality is
    ignored.
    """
    total = purchase_rate + hazard
    alive_quiet = np.exp(-total * days_quiet)
    gone_quiet = hazard / total * (1 - alive_quiet)
    alive = alive_quiet / (alive_quiet + gone_quiet)
    return 1 - alive * purchase_rate / total * (1 - np.exp(-total * horizon_days))


def published_version(published: Path, model: str) -> str:
    """What scored `model` in the published run: a model version, or the rival that beat it
    on the holdout (then "the model's" figure below is that rival's)."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        rows = con.sql("select version from ml.model_runs where model = ? "
                       "order by as_of_date desc limit 1", params=[model]).fetchall()
    finally:
        con.close()
    return rows[0][0] if rows else "none"


def _features_on(work: Path, day: date) -> pl.DataFrame:
    """The day's customer features with BG/NBD + Gamma-Gamma, as the models' rivals read them."""
    from pipelines.ml.features import read_features, with_btyd

    con = duckdb.connect(str(work), read_only=True)
    try:
        features = read_features(con).filter(pl.col("as_of_date") == day)
    finally:
        con.close()
    return with_btyd(features)


def _rival_figures(rivals, frame: pl.DataFrame, figure) -> dict[str, float]:
    """Each rival's figure (`figure(scores)`) on the rows of `frame`; NaN scores (a rule that
    cannot score someone, BG/NBD unfit) count as the lowest, as they never publish anyway."""
    out = {}
    for rival in rivals:
        score = np.asarray(rival.score(frame), dtype=float)
        known = score[np.isfinite(score)]
        score = np.where(np.isfinite(score), score, (known.min() - 1) if known.size else 0.0)
        out[rival.name] = float(figure(score))
    return out


def strongest(rivals: dict[str, float]) -> tuple[str, float]:
    """The rival with the best figure (higher is better for AUC and Spearman)."""
    name = max(rivals, key=lambda k: rivals[k])
    return name, rivals[name]


def churn_auc(published: Path, work: Path, truth: Path, end: datetime) -> dict:
    """AUC of the published churn scores, of every rival the promotion gate compares it with
    (recency, BG/NBD p_alive, the order count: scored on the same day's features) and of two
    oracles (the true probability from the hidden state, whether gone included; and from the
    hidden rates with the observed recency), all on the same customers, against whether they
    really churned."""
    from pipelines.ml.baseline import CHURN_RIVALS

    con = duckdb.connect(str(published), read_only=True)
    scored = con.sql(
        "select c.customer_key, c.email, s.score as churn_probability, c.days_since_last_order "
        "from ml.scores s join marts.dim_customers c using (customer_key) "
        "where s.model = 'churn'"
    ).pl()
    con.close()
    features = _features_on(work, end.date())
    people = pl.read_parquet(truth / "customers.parquet")
    people = people.with_columns(oracle=oracle_churn_probability(people, end)).select(
        "email", "churned_next_90d", "oracle", "purchase_rate", "churn_hazard"
    )
    joined = (scored.join(features.drop("days_since_last_order", strict=False),
                          on="customer_key", how="inner")
              .join(people, on="email", how="inner"))
    y = joined.get_column("churned_next_90d").cast(pl.Int8).to_numpy()
    rates = hazard_churn_probability(
        joined.get_column("purchase_rate").to_numpy(),
        joined.get_column("churn_hazard").to_numpy(),
        joined.get_column("days_since_last_order").cast(pl.Float64).to_numpy(),
    )
    rivals = _rival_figures(CHURN_RIVALS, joined, lambda s: roc_auc_score(y, s))
    return {
        "customers": joined.height,
        "model_auc": float(roc_auc_score(y, joined.get_column("churn_probability").to_numpy())),
        "published": published_version(published, "churn"),
        "rivals": rivals,
        "recency_auc": rivals["recency_rule"],
        "oracle_auc": float(roc_auc_score(y, joined.get_column("oracle").to_numpy())),
        "hazard_oracle_auc": float(roc_auc_score(y, rates)),
    }


def ltv_spearman(published: Path, work: Path, truth: Path, day: date) -> dict:
    """Spearman correlation of the published lifetime values, and of every rival the
    promotion gate compares them with (BG/NBD + Gamma-Gamma fit on the same day's features,
    the order count, spend in the last 365 and 90 days), with what each customer really spent
    in the next year; and the totals predicted against the truth's."""
    from pipelines.ml.ltv import RIVALS

    con = duckdb.connect(str(published), read_only=True)
    scored = con.sql(
        "select c.customer_key, c.email, s.score from ml.scores s "
        "join marts.dim_customers c using (customer_key) where s.model = 'ltv'"
    ).pl()
    con.close()
    features = _features_on(work, day)
    people = pl.read_parquet(truth / "customers.parquet").select("email", "value_next_365d")
    joined = scored.join(features, on="customer_key", how="inner").join(
        people, on="email", how="inner"
    )
    actual = joined.get_column("value_next_365d").to_numpy()
    rivals = _rival_figures(RIVALS, joined, lambda s: spearmanr(actual, s).statistic)
    return {
        "customers": joined.height,
        "model_spearman": float(spearmanr(actual, joined.get_column("score")).statistic),
        "published": published_version(published, "ltv"),
        "rivals": rivals,
        "bgnbd_spearman": rivals["bgnbd_gamma_gamma"],
        "model_total": float(joined.get_column("score").sum()),
        "bgnbd_total": float(joined.get_column("expected_value_365d").sum()),
        "actual_total": float(actual.sum()),
    }


def lead_auc(published: Path, work: Path, truth: Path, day: date,
             click_levels: tuple[int, int], horizon_days: int = 60) -> dict:
    """AUC of the published lead scores, and of the model's rivals (the click-level rate and
    a logistic regression) learnt on the same training cutoffs, against whether each open
    lead really ordered in the next 60 days."""
    from datetime import timedelta

    from pipelines.ml import lead

    con = duckdb.connect(str(published), read_only=True)
    scored = con.sql(
        "select c.customer_key, c.email, s.score from ml.scores s "
        "join marts.dim_customers c using (customer_key) where s.model = 'lead'"
    ).pl()
    con.close()
    con = duckdb.connect(str(work), read_only=True)
    try:
        leads, events = lead.read_inputs(con)
        cutoffs = [d for (d,) in con.sql(
            "select distinct as_of_date from marts.customer_features").fetchall()]
    finally:
        con.close()
    training = [c for c in cutoffs if c <= day - timedelta(days=2 * horizon_days)]
    rows = lead.labelled_rows(leads, events, training, horizon_days, click_levels=click_levels)
    rate, logistic = lead.click_baseline(rows), lead.logistic_rival(rows)
    current = lead.features_at(leads, events, day, click_levels=click_levels)
    current = current.with_columns(click_rate=pl.Series(rate.score(current)),
                                   logistic=pl.Series(logistic.score(current)))
    people = pl.read_parquet(truth / "customers.parquet").filter(pl.col("is_lead")).select(
        "email", "converted_within_60d")
    joined = (scored.join(current.select("customer_key", "click_rate", "logistic"),
                          on="customer_key")
              .join(people, on="email", how="inner"))
    y = joined.get_column("converted_within_60d").cast(pl.Int8).to_numpy()
    return {
        "leads": joined.height,
        "converted": int(y.sum()),
        "model_auc": float(roc_auc_score(y, joined.get_column("score").to_numpy())),
        "published": published_version(published, "lead"),
        "click_level_auc": float(roc_auc_score(y, joined.get_column("click_rate").to_numpy())),
        "logistic_auc": float(roc_auc_score(y, joined.get_column("logistic").to_numpy())),
    }


# The units forecast's methods as the bench names them (the model as `model`).
FORECAST_METHODS = {"model": "xgboost", "seasonal_level": "seasonal_level",
                    "seasonal_naive": "seasonal_naive", "recent_mean": "recent_mean"}


def forecast_backtest(published: Path) -> dict:
    """The units forecast's rolling-origin backtest as the run recorded it, flat:
    `<method>_<figure>` (wape, mape, bias, total_wape) for every method, NaN for one the
    history left out (`not_backtested` says why), the windows, what published and the
    strongest rival."""
    import json

    con = duckdb.connect(str(published), read_only=True)
    try:
        (metrics,) = con.sql(
            "select metrics from ml.model_runs where model = 'forecast_units'").fetchall()[0]
    finally:
        con.close()
    figures = json.loads(metrics)
    measured = {**figures.get("rivals", {}), "xgboost": figures.get("candidate", {})}
    flat = {
        "windows": figures.get("windows", 0),
        "backtest_from": figures.get("backtest_from"),
        "history_weeks": figures.get("history_weeks"),
        "published": figures.get("published", {}).get("name"),
        "strongest_rival": figures.get("baseline", {}).get("name"),
        "not_backtested": figures.get("not_backtested", {}),
    }
    for label, method in FORECAST_METHODS.items():
        for key in ("wape", "mape", "bias", "total_wape"):
            flat[f"{label}_{key}"] = measured.get(method, {}).get(key, float("nan"))
    return flat


# The simulator's identifier types, as identity resolution names the same values.
TRUTH_TYPES = {
    "email": "email", "shop_customer_id": "shop_customer_id",
    "hubspot_record_id": "hubspot_record_id", "ga4_user_pseudo_id": "ga4_user_pseudo_id",
    "capi_em_sha256": "email_sha256", "capi_ph_sha256": "phone_sha256",
    "capi_external_id": "external_id_sha256", "fbp": "fbp", "phone_e164": "phone",
}  # fmt: skip


def _pairs(frame: pl.DataFrame, keys: list[str]) -> int:
    n = frame.group_by(keys).len().get_column("len").cast(pl.Int64)
    return int((n * (n - 1) // 2).sum())


def _pairwise(frame: pl.DataFrame, cluster: str) -> dict:
    predicted = _pairs(frame, [cluster])
    actual = _pairs(frame, ["person_id"])
    both = _pairs(frame, [cluster, "person_id"])
    return {
        "precision": both / predicted if predicted else 1.0,
        "recall": both / actual if actual else 1.0,
    }


def _link_components(ours: pl.DataFrame, edges: pl.DataFrame,
                     name: str = "link_component") -> pl.DataFrame:
    """Each identifier's connected component (column `name`) over every link of `edges`, with
    no guard against shared identifiers: over the record links, the most any method working
    from the exports' links could join."""
    keys = ["identifier_type", "identifier"]
    index = ours.select(keys).unique().with_row_index("node")
    linked = {"identifier_type": "linked_type", "identifier": "linked_identifier"}
    e = edges.join(index, on=keys).join(index.rename({**linked, "node": "other"}),
                                        on=list(linked.values()))  # fmt: skip
    n = index.height
    graph = coo_matrix((np.ones(e.height), (e["node"].to_numpy(), e["other"].to_numpy())),
                       shape=(n, n))  # fmt: skip
    return index.with_columns(pl.Series(name, connected_components(graph)[1])).drop("node")


# Blocking keys of the probabilistic matcher's candidate pairs, as in
# pipelines.identity.fuzzy.PREDICTION_RULES (which holds Splink rules, not column lists): two
# person records that agree on every column of one are a pair it scores.
EVIDENCE_RULES = (
    ("first_name", "zip"),
    ("last_name", "zip"),
    ("last_name", "city"),
    ("email_local",),
    ("phone_last7",),
)


def _evidence_edges(person_records: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Links between the hub identifiers of person records of one true person that share
    evidence the matcher's candidate rules look at (EVIDENCE_RULES, mirroring
    pipelines.identity.fuzzy.PREDICTION_RULES, on features.comparison_columns): the same
    canonical email local part, the same phone's last 7 digits, the same first name and zip,
    last name and zip, or last name and city. `people` (identifier_type, identifier,
    person_id) gives each record's person by its hub; a record whose hub is nobody's alone
    draws none. Records of two people that agree (a household's last name and zip) are never
    linked: this is the evidence a perfect matcher would follow."""
    from pipelines.identity.features import INPUT_COLUMNS, comparison_columns

    keys = ["identifier_type", "identifier"]
    hubs = person_records.select(
        "record_key", identifier_type="hub_type", identifier="hub"
    ).join(people.select(*keys, "person_id"), on=keys)
    columns = comparison_columns(
        person_records.with_columns(cluster=pl.lit(None, pl.String))
        .select(*INPUT_COLUMNS).cast(pl.String)
    ).join(hubs, on="record_key").sort("record_key")
    schema = {k: pl.String for k in ("identifier_type", "identifier", "linked_type",
                                     "linked_identifier")}  # fmt: skip
    out = [pl.DataFrame(schema=schema)]
    for rule in EVIDENCE_RULES:
        # A star from each group's first hub: the same components as every pair in it.
        grouped = columns.drop_nulls(list(rule)).with_columns(
            linked_type=pl.col("identifier_type").first().over("person_id", *rule),
            linked_identifier=pl.col("identifier").first().over("person_id", *rule),
        )
        out.append(grouped.select(*schema))
    return pl.concat(out).unique()


def _joined_pairs(frame: pl.DataFrame, within: list[str], also: list[str]) -> tuple[int, int]:
    """Of the pairs in one group of every `within` column, how many, and how many are also in
    one group of every `also` column."""
    return _pairs(frame, within), _pairs(frame, within + also)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _evidence_figures(joined: pl.DataFrame, cluster: str) -> dict:
    """Of the same-person pairs that the evidence ceiling joins, the share `cluster` joins
    too (`recall_of_evidence`); and of those only fuzzy evidence joins (the exact links'
    ceiling keeps them apart), how many the resolution recovers."""
    within = ["evidence_component", "person_id"]
    evidence, covered = _joined_pairs(joined, within, [cluster])
    exact, exact_covered = _joined_pairs(joined, [*within, "link_component"], [cluster])
    return {
        "recall_of_evidence": _share(covered, evidence),
        "fuzzy_only_recovered": covered - exact_covered,
        "fuzzy_only_share": _share(covered - exact_covered, evidence - exact),
    }


def _deterministic(nodes: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Identity resolution as int_identity__clusters does it, over the exact links alone
    (int_identity__edges, no probabilistic links) with dbt_project.yml's settings: each node's
    cluster anchor as `deterministic` (null when unassigned)."""
    import yaml

    from pipelines.identity import clusters as model

    config = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    # Its warnings (a cluster split back into its parts) are the dbt run's to give, not the
    # bench's to repeat once per cluster.
    logger = logging.getLogger(model.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        resolved = model.resolve(
            nodes, edges.select("identifier_type", "identifier", "linked_type",
                                "linked_identifier"),
            weak_types=list(config["identity_weak_types"]),
            max_people=int(config["identity_max_people_per_identifier"]),
            max_cluster_size=int(config["identity_max_cluster_size"]),
        )  # fmt: skip
    finally:
        logger.setLevel(level)
    return model.anchors(resolved).select("identifier_type", "identifier",
                                          deterministic="anchor")  # fmt: skip


def identity_pairs(work: Path, truth: Path) -> dict:
    """Pairwise precision and recall of identity resolution against the true people, beside a
    naive match on exact email (each record joins the person of the email it carries), the
    ceiling of the links (every chain of records followed, with no guard), resolution from
    the exact links alone (no probabilistic links) and the ceiling of the evidence.

    Read from the work file and the truth's identifiers; `identity_scores` says what each
    figure is."""
    con = udfs.register(duckdb.connect(str(work), read_only=True))
    try:
        tables = {
            "ours": con.sql("select identifier_type, identifier, customer_key "
                            "from intermediate.int_identity__identifiers").pl(),
            "edges": con.sql("select identifier_type, identifier, linked_type, "
                             "linked_identifier from intermediate.int_identity__edges").pl(),
            "records": con.sql("select record_key, identifier_type, identifier "
                               "from intermediate.int_identity__records").pl(),
            "nodes": con.sql("select * from intermediate.int_identity__nodes").pl(),
            "person_records": con.sql(
                "select * from intermediate.int_identity__person_records").pl(),
        }  # fmt: skip
    finally:
        con.close()
    return identity_scores(tables, pl.read_parquet(truth / "identifiers.parquet"))


def identity_scores(tables: dict[str, pl.DataFrame], truth_ids: pl.DataFrame) -> dict:
    """Identity figures from the identity tables of a work file (`tables`: ours, edges,
    records, nodes, person_records, as `identity_pairs` reads them) and the truth's
    identifiers (identifier_type, identifier_value, person_id).

    The pairs are over identifiers that belong to one person. Those several people share (a
    household's landline, a company mailbox colleagues use) have no one right person: they
    are counted apart (`shared`: how many the pipeline still gave to a customer), and a
    resolution that merged the people through one shows as lost precision on their other
    identifiers. `merged_customers` counts customers holding more than one person's
    identifiers, `split_people` people whose identifiers are in more than one customer.

    - `precision`, `recall`: our resolution (customer_key).
    - `links_ceiling`: every exact record link followed, no guard. Its recall is what the
      exports' links allow: a device that never logged in, bought or came from a Meta ad the
      Pixel saw again is in no record with anything else, so no method working from the
      exports can place it; its precision is what following every link costs.
    - `email_match`: naive exact-email match.
    - `deterministic`: int_identity__clusters' `resolve` over the exact links alone, without
      the probabilistic matcher's links; with its `recall_of_evidence` and `fuzzy_only_share`
      as below.
    - `evidence_ceiling`: the most any matcher could join: components over every exact link
      plus, between the person records of one true person, every pair that shares evidence a
      candidate rule of the matcher looks at (`_evidence_edges`). Its precision is the links
      ceiling's but for true same-person links that join two impure components.
    - `recall_of_evidence`: of the same-person pairs the evidence ceiling joins, the share our
      resolution joins (the issue's "recall of the pairs that share any matching evidence").
    - `fuzzy_only`: the same-person pairs the evidence ceiling joins but the links ceiling
      does not (only fuzzy evidence joins them): `pairs`, the share our resolution recovers
      (`share`, `recovered`) and the share deterministic resolution does
      (`deterministic_share`, zero but for a chain through another pair's links).
    """
    ours, edges, records = tables["ours"], tables["edges"], tables["records"]
    all_ids = (
        truth_ids
        .filter(pl.col("identifier_type").is_in(list(TRUTH_TYPES)))
        .with_columns(pl.col("identifier_type").replace_strict(TRUTH_TYPES))
        .rename({"identifier_value": "identifier"})
    )  # fmt: skip
    keys = ["identifier_type", "identifier"]
    # A value two truth types name alike (an email typed the same in two places) is one node.
    people_per_id = all_ids.group_by(keys).agg(pl.col("person_id").n_unique().alias("people"))
    true_ids = all_ids.join(people_per_id.filter(pl.col("people") == 1), on=keys,
                            how="semi").unique(keys).select(*keys, "person_id")  # fmt: skip
    shared_ids = people_per_id.filter(pl.col("people") > 1).join(ours, on=keys, how="inner")
    # Unassigned (shared) identifiers are each their own cluster.
    alone = pl.lit("?") + pl.col("identifier_type") + ":" + pl.col("identifier")
    joined = (ours.join(true_ids, on=keys)
              .join(_deterministic(tables["nodes"], edges), on=keys, how="left")
              .with_columns(customer_key=pl.coalesce("customer_key", alone),
                            deterministic=pl.coalesce("deterministic", alone)))  # fmt: skip
    email_of = records.filter(pl.col("identifier_type") == "email").select(
        "record_key", email="identifier"
    )
    naive = records.join(email_of, on="record_key").group_by(keys).agg(pl.col("email").min())
    evidence = pl.concat([edges.select("identifier_type", "identifier", "linked_type",
                                       "linked_identifier"),
                          _evidence_edges(tables["person_records"], true_ids)])  # fmt: skip
    joined = (
        joined.join(naive, on=keys, how="left")
        .with_columns(email_match=pl.coalesce(
            "email", pl.col("identifier_type") + ":" + pl.col("identifier")))
        .join(_link_components(ours, edges), on=keys, how="left")
        .join(_link_components(ours, evidence, "evidence_component"), on=keys, how="left")
    )  # fmt: skip
    clusters = joined.filter(~pl.col("customer_key").str.starts_with("?"))
    mine = _evidence_figures(joined, "customer_key")
    exact = _evidence_figures(joined, "deterministic")
    fuzzy_pairs = (_pairs(joined, ["evidence_component", "person_id"])
                   - _pairs(joined, ["evidence_component", "person_id", "link_component"]))
    return {
        "identifiers": joined.height,
        "unmatched_identifiers": ours.height - joined.height - shared_ids.height,
        "shared": {"identifiers": shared_ids.height,
                   "assigned": int(shared_ids["customer_key"].is_not_null().sum())},
        "merged_customers": int(
            (clusters.group_by("customer_key").agg(pl.col("person_id").n_unique())
             ["person_id"] > 1).sum()),
        "split_people": int(
            (clusters.group_by("person_id").agg(pl.col("customer_key").n_unique())
             ["customer_key"] > 1).sum()),
        **_pairwise(joined, "customer_key"),
        "links_ceiling": _pairwise(joined, "link_component"),
        "email_match": _pairwise(joined, "email_match"),
        "deterministic": {**_pairwise(joined, "deterministic"),
                          "recall_of_evidence": exact["recall_of_evidence"],
                          "fuzzy_only_share": exact["fuzzy_only_share"]},
        "evidence_ceiling": _pairwise(joined, "evidence_component"),
        "recall_of_evidence": mine["recall_of_evidence"],
        "fuzzy_only": {"pairs": fuzzy_pairs,
                       "recovered": mine["fuzzy_only_recovered"],
                       "share": mine["fuzzy_only_share"],
                       "deterministic_share": exact["fuzzy_only_share"]},
    }


def _persona_overlap(published: Path, truth: Path) -> tuple[pl.DataFrame, list, list, tuple]:
    """Found and hidden personas of the customers both know (joined by email), the hidden
    names (staff aside), the found ids, and the one-to-one match with most shared customers
    (Hungarian assignment: rows index the names, columns the ids)."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        found = con.sql(
            "select c.email, p.persona_id, p.persona_name from ml.personas p "
            "join marts.dim_customers c using (customer_key) where c.email is not null"
        ).pl()
    finally:
        con.close()
    hidden = pl.read_parquet(truth / "customers.parquet").select("email", "persona")
    joined = found.join(hidden, on="email", how="inner")
    true_names = sorted(p for p in joined.get_column("persona").unique() if p != "staff")
    found_ids = sorted(joined.get_column("persona_id").unique().to_list())
    table = (joined.group_by("persona", "persona_id").len()
             .filter(pl.col("persona") != "staff"))
    overlap = [[0] * len(found_ids) for _ in true_names]
    for persona, persona_id, n in table.iter_rows():
        overlap[true_names.index(persona)][found_ids.index(persona_id)] = n
    return joined, true_names, found_ids, linear_sum_assignment(overlap, maximize=True)


def persona_matches(published: Path, truth: Path) -> pl.DataFrame:
    """hidden (persona name), persona_id and found (its name): each hidden persona with the
    found persona matched to it; null where none is (more hidden than found)."""
    joined, true_names, found_ids, (rows, cols) = _persona_overlap(published, truth)
    names = dict(joined.select("persona_id", "persona_name").unique().iter_rows())
    matched = {true_names[r]: found_ids[c] for r, c in zip(rows, cols, strict=True)}
    return pl.DataFrame({
        "hidden": true_names,
        "persona_id": [matched.get(n) for n in true_names],
        "found": [names.get(matched.get(n)) for n in true_names],
    }, schema={"hidden": pl.String, "persona_id": pl.Int64, "found": pl.String})


def personas(published: Path, truth: Path) -> dict:
    """Published personas against the simulator's hidden personas, over the customers both
    know (joined by email): adjusted Rand index, and per hidden persona the size of the found
    persona matched to it (one-to-one, most shared customers: Hungarian assignment) with the
    relative size error. The shop's own staff accounts are in the ARI but have no size row."""
    joined, true_names, found_ids, (rows, cols) = _persona_overlap(published, truth)
    ari = adjusted_rand_score(joined.get_column("persona").to_numpy(),
                              joined.get_column("persona_id").to_numpy())
    true_size = dict(joined.group_by("persona").len().iter_rows())
    found_size = dict(joined.group_by("persona_id").len().iter_rows())
    names = dict(joined.select("persona_id", "persona_name").unique().iter_rows())
    sizes = []
    for i, persona in enumerate(true_names):
        match = [found_ids[c] for r, c in zip(rows, cols, strict=True) if r == i]
        size = found_size[match[0]] if match else 0
        sizes.append({
            "hidden": persona, "true_size": true_size[persona],
            "found": names[match[0]] if match else None, "found_size": size,
            "size_error": abs(size - true_size[persona]) / true_size[persona],
        })
    return {"customers": joined.height, "k": len(found_ids), "ari": float(ari),
            "sizes": sizes, "max_size_error": max(s["size_error"] for s in sizes)}
