"""`python -m bench.personas_compare --data orii|sim|olist`: the persona model beside other
clustering families, on real and simulated customers.

For each family the number of personas is chosen the way the segment step chooses it (k in
3-10 on a sample of at most 4,000 customers: silhouette on the standardised profile, bootstrap
stability, and the family's own criterion), then the model is fitted on every customer. Per
family it prints:

- stability: mean adjusted Rand index between the model at the chosen k and the same model
  fitted on bootstrap resamples (8), on the selection sample;
- later behaviour: how much of the customers' behaviour after the cutoff the persona split
  explains, as epsilon squared (between-persona share of the variance, corrected for the number
  of personas, so a split into more groups gains nothing by chance; 0 for a split that
  predicts nothing): no order in the next 90 days (churn), log(1 + orders) and
  log(1 + spend) in the next 90 days (the simulator: its hidden next-365-day value);
- fit time: choosing k and fitting on everyone, seconds on this machine.

Beside the families, the RFM segments of the same cutoff (the shop's rule-of-thumb groups,
`marts.customer_rfm`) on the same behaviour. Families: the latent class model
(`pipelines.personas`), scikit-learn's GaussianMixture (diagonal covariances) and KMeans on the
standardised profile (`pipelines.personas.profile`, the matrix the persona model starts from:
z-scored log figures, shares, one-hot categories).

Data: `orii` is UCI Online Retail II (../shared/data/real/online_retail_ii), lines with a
customer id and a positive quantity, converted to the generic orders file under /tmp and run
through ingest and transform as of the cutoff (default 2010-09-09), outcomes from the lines
after it; `sim` is the benchmark's simulated world (`--scale`, `--seed`), outcomes from its
hidden truth; `olist` only counts its repeat customers (a 4,000-order sample of mostly one-time
buyers: too few to tell habits apart). Writes bench/results/personas-<data>-<commit>.json/.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from bench import commit
from pipelines.config import REPO_ROOT, PersonaSettings, Settings
from pipelines.personas import mixture
from pipelines.personas.features import build_features
from pipelines.personas.model import ModelSpec, fit
from pipelines.personas.personas import eligible_customers
from pipelines.personas.profile import build_profile
from pipelines.personas.select import KScore, choose_k, sample_rows
from pipelines.personas.tasks import read_inputs, read_rfm

log = logging.getLogger(__name__)


ORII = Path("/work/shared/data/real/online_retail_ii/online_retail_II_2009_2010.parquet")
OLIST = Path("/work/shared/data/real/olist")
HORIZON_DAYS = 90
OUTCOMES = ("churn", "log_orders", "log_spend")


@dataclass
class Case:
    """Customers as of a cutoff: their persona features, RFM segment and later behaviour."""

    name: str
    features: pl.DataFrame
    rfm: pl.DataFrame  # customer_key, rfm_segment
    outcomes: pl.DataFrame  # customer_key, churn, log_orders, log_spend (nulls where unknown)
    note: str


# --- the data ------------------------------------------------------------------------------


def _steps(home: Path, day: date, steps: list[str]) -> None:
    """The daily steps up to the warehouse, as `python -m bench` runs them (own processes)."""
    from bench.__main__ import run_stage
    from pipelines.ingest.sources import source_names

    for step in steps:
        if step == "ingest":
            for source in source_names():
                run_stage(home, "ingest", source, "personas-compare", day)
        else:
            run_stage(home, step, None, "personas-compare", day)


def _marts(settings: Settings, day: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        inputs = read_inputs(con)
        rfm = read_rfm(con)
        keys = con.sql(
            "select customer_key, shop_customer_id, email from marts.dim_customers"
        ).pl()
    finally:
        con.close()
    return build_features(inputs, day), rfm, keys


def orii_case(cutoff: date, root: Path) -> Case:
    """Online Retail II as of `cutoff`: the lines up to it as a generic orders file."""
    home = root / f"orii-{cutoff}"
    settings = Settings(home=home)
    landing = home / "landing" / "orders" / cutoff.isoformat()
    lines = (
        pl.read_parquet(ORII)
        .filter(pl.col("Customer ID").is_not_null() & (pl.col("Quantity") > 0))
        .with_columns(at=pl.col("InvoiceDate").str.to_datetime("%Y-%m-%d %H:%M:%S"))
    )
    end = datetime.combine(cutoff, dt_time.max)
    if not (home / ".complete").exists():
        landing.mkdir(parents=True, exist_ok=True)
        lines.filter(pl.col("at") <= end).select(
            order_id=pl.col("Invoice"),
            order_date=pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S"),
            amount=(pl.col("Quantity") * pl.col("Price")).round(2),
            customer_id=pl.col("Customer ID").cast(pl.Int64).cast(pl.String),
            email=pl.lit(""),
            currency=pl.lit("GBP"),
            product_id=pl.col("StockCode"),
            quantity=pl.col("Quantity"),
        ).write_csv(landing / "orders.csv")
        _steps(home, cutoff, ["ingest", "transform"])
        (home / ".complete").touch()
    features, rfm, keys = _marts(settings, cutoff)
    after = lines.filter((pl.col("at") > end) & (pl.col("at") <= end + timedelta(HORIZON_DAYS)))
    customer = pl.col("Customer ID").cast(pl.Int64).cast(pl.String)
    later = after.group_by(shop_customer_id=customer).agg(
        orders=pl.col("Invoice").n_unique(), spend=(pl.col("Quantity") * pl.col("Price")).sum()
    )
    outcomes = (
        keys.join(later, on="shop_customer_id", how="left")
        .select(
            "customer_key",
            churn=pl.col("orders").is_null().cast(pl.Float64),
            log_orders=pl.col("orders").fill_null(0).log1p(),
            log_spend=pl.col("spend").fill_null(0).clip(0).log1p(),
        )
    )
    note = (
        f"Online Retail II, lines with a customer id and a positive quantity up to {cutoff}; "
        f"behaviour over the next {HORIZON_DAYS} days"
    )
    return Case("orii", features, rfm, outcomes, note)


def sim_case(scale: str, seed: int) -> Case:
    """The benchmark's simulated world at its run date, outcomes from its hidden truth."""
    from bench.__main__ import DAY, empty_home, world

    root = world(scale, seed)
    home = root / "personas-compare"
    if not (home / ".complete").exists():
        home = empty_home(root, "personas-compare")
        _steps(home, DAY, ["ingest", "transform"])
        (home / ".complete").touch()
    features, rfm, keys = _marts(Settings(home=home), DAY)
    truth = pl.read_parquet(root / "world" / "truth" / "customers.parquet").filter(
        pl.col("persona") != "staff"
    )
    outcomes = (
        keys.filter(pl.col("email").is_not_null())
        .join(truth.select("email", "persona", "churned_next_90d", "value_next_365d"),
              on="email")
        .unique("customer_key", keep="first", maintain_order=True)
        .select(
            "customer_key",
            "persona",
            churn=pl.col("churned_next_90d").cast(pl.Float64),
            log_orders=pl.lit(None, dtype=pl.Float64),
            log_spend=pl.col("value_next_365d").clip(0).log1p(),
        )
    )
    note = (
        f"simulated shop, scale {scale}, seed {seed}, as of {DAY}; behaviour from the hidden "
        "truth (no order in the next 90 days; spend over the next 365 days)"
    )
    return Case(f"sim-{scale}", features, rfm, outcomes, note)


def olist_repeaters() -> dict:
    """How many Olist customers (customer_unique_id) ordered more than once."""
    orders = pl.read_csv(OLIST / "olist_orders_dataset.csv")
    customers = pl.read_csv(OLIST / "olist_customers_dataset.csv")
    per = orders.join(customers, on="customer_id").group_by("customer_unique_id").len()
    return {
        "customers": per.height,
        "repeat_customers": per.filter(pl.col("len") > 1).height,
        "orders": orders.height,
    }


# --- the families --------------------------------------------------------------------------


@dataclass
class Fitted:
    labels: np.ndarray
    predict: Callable[[], np.ndarray]  # labels of the selection sample under this model
    criterion: float | None  # lower is better (BIC); None: the family has none


class Family:
    name = ""

    def prepare(self, frame: pl.DataFrame) -> None: ...

    def fit(self, rows: np.ndarray | None, k: int, seed: int) -> Fitted: ...


class LatentClass(Family):
    name = "latent class (EM, ours)"

    def __init__(self, params: PersonaSettings) -> None:
        self.params = params

    def prepare(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.spec = ModelSpec.from_frame(frame)
        self.terms = self.spec.terms()
        self.data = mixture.prepare(self.terms, frame)

    def fit(self, rows: np.ndarray | None, k: int, seed: int) -> Fitted:
        frame = self.frame if rows is None else self.frame[rows]
        seeds = self.params.seeds if rows is None else (seed,)
        result = fit(self.spec, frame, k, seeds, max_iter=self.params.max_iter)

        def predict() -> np.ndarray:
            return mixture.predict(self.terms, self.data, result.weights, result.params).argmax(1)

        return Fitted(result.labels, predict, mixture.bic(self.terms, result, frame.height))


class OnProfile(Family):
    """A scikit-learn model on the standardised profile matrix."""

    def prepare(self, frame: pl.DataFrame) -> None:
        self.x = build_profile(frame).matrix

    def fit(self, rows: np.ndarray | None, k: int, seed: int) -> Fitted:
        x = self.x if rows is None else self.x[rows]
        model = self.model(k, seed).fit(x)
        criterion = model.bic(x) if hasattr(model, "bic") else None
        return Fitted(model.predict(x), lambda: model.predict(self.x), criterion)


class GaussianMixtureDiag(OnProfile):
    name = "GaussianMixture (diag, sklearn)"

    def model(self, k: int, seed: int):
        return GaussianMixture(k, covariance_type="diag", n_init=2, random_state=seed,
                               reg_covar=1e-4)


class KMeansProfile(OnProfile):
    name = "KMeans (sklearn)"

    def model(self, k: int, seed: int):
        return KMeans(k, n_init=4, random_state=seed)


def score(family: Family, frame: pl.DataFrame, k: int, bootstraps: int, seed: int) -> KScore:
    """Silhouette, bootstrap stability and the family's criterion at k on `frame`."""
    family.prepare(frame)
    reference = family.fit(None, k, seed)
    profile = build_profile(frame).matrix
    labels = reference.labels
    silhouette = (
        float(silhouette_score(profile, labels, sample_size=min(2000, len(labels)),
                               random_state=seed))
        if len(np.unique(labels)) > 1 else -1.0
    )
    rng = np.random.default_rng(seed)
    agreement = []
    for b in range(bootstraps):
        rows = np.sort(rng.integers(0, frame.height, frame.height))
        again = family.fit(rows, k, seed + 1 + b).predict()
        agreement.append(adjusted_rand_score(labels, again))
    criterion = reference.criterion
    # KMeans has no likelihood: among stable, separated ks the best silhouette wins.
    bic = criterion if criterion is not None else -silhouette
    return KScore(k, silhouette, float(np.mean(agreement)), 0.0, float(bic))


def epsilon_squared(labels: np.ndarray, y: np.ndarray) -> float | None:
    """Between-group share of y's variance, corrected for the number of groups (epsilon
    squared: (SS_between - (k - 1) MS_within) / SS_total); None when y is unknown."""
    known = ~np.isnan(y)
    labels, y = labels[known], y[known]
    if len(y) < 10 or np.var(y) == 0:
        return None
    groups = np.unique(labels)
    total = float(((y - y.mean()) ** 2).sum())
    within = sum(float(((y[labels == g] - y[labels == g].mean()) ** 2).sum()) for g in groups)
    k, n = len(groups), len(y)
    if n <= k:
        return None
    return (total - within - (k - 1) * within / (n - k)) / total


def behaviour(case: Case, keys: pl.Series, labels: np.ndarray) -> dict:
    frame = pl.DataFrame({"customer_key": keys, "label": labels}).join(
        case.outcomes, on="customer_key", how="left"
    )
    out: dict[str, float | None] = {}
    for outcome in OUTCOMES:
        y = frame.get_column(outcome).cast(pl.Float64).fill_null(float("nan")).to_numpy()
        out[outcome] = epsilon_squared(frame.get_column("label").to_numpy(), y)
    # The simulator's hidden personas: how many of them the split finds (ARI).
    hidden = frame.filter(pl.col("persona").is_not_null()) if "persona" in frame.columns else None
    out["hidden_ari"] = (
        adjusted_rand_score(hidden.get_column("persona").to_numpy(),
                            hidden.get_column("label").to_numpy())
        if hidden is not None and hidden.height else None
    )
    return out


def compare(case: Case, params: PersonaSettings, families: list[Family]) -> dict:
    features = eligible_customers(case.features)
    sample = features[sample_rows(features.height, params.selection_sample, params.seeds[0])]
    rows = []
    for family in families:
        start = time.perf_counter()
        with threadpool_limits(limits=1):
            scores = [
                score(family, sample, k, params.bootstraps, params.seeds[0])
                for k in range(params.k_min, params.k_max + 1)
            ]
            selection = choose_k(scores, params.min_stability)
            select_seconds = time.perf_counter() - start
            k = selection.k
            start = time.perf_counter()
            family.prepare(features)
            labels = family.fit(None, k, params.seeds[0]).labels
            fit_seconds = time.perf_counter() - start
        chosen = next(s for s in selection.scores if s.k == k)
        rows.append({
            "family": family.name,
            "k": k,
            "structure": selection.found,
            "rule": selection.rule,
            "stability": chosen.stability,
            "silhouette": chosen.silhouette,
            "select_seconds": select_seconds,
            "fit_seconds": fit_seconds,
            "behaviour": behaviour(case, features.get_column("customer_key"), labels),
            "sizes": sorted(np.bincount(labels).tolist(), reverse=True),
            "scores": [s.__dict__ for s in selection.scores],
        })
        log.info("%s: %s", family.name, rows[-1])
    rfm = features.select("customer_key").join(case.rfm, on="customer_key", how="left")
    codes = rfm.get_column("rfm_segment").fill_null("none").cast(pl.Categorical).to_physical()
    rows.append({
        "family": "RFM segments (rival)",
        "k": int(codes.n_unique()),
        "behaviour": behaviour(case, rfm.get_column("customer_key"), codes.to_numpy()),
    })
    return {"case": case.name, "note": case.note, "customers": features.height,
            "left_out": case.features.height - features.height, "rows": rows}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:.{digits}f}")


def _found(row: dict) -> str:
    return "" if "structure" not in row else ("yes" if row["structure"] else "no")


def markdown(result: dict) -> str:
    lines = [
        f"{result['note']}: {result['customers']:,} customers with positive net spend "
        f"({result['left_out']} left out).",
        "",
        "| family | k | structure found | stability (ARI) | silhouette | churn eps2 | "
        "orders eps2 | spend eps2 | ARI vs hidden personas | choose k s | fit s | sizes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        b = r["behaviour"]
        lines.append(
            f"| {r['family']} | {r['k']} | {_found(r)} | "
            f"{_fmt(r.get('stability'))} | {_fmt(r.get('silhouette'))} | "
            f"{_fmt(b['churn'])} | {_fmt(b['log_orders'])} | {_fmt(b['log_spend'])} | "
            f"{_fmt(b['hidden_ari'])} | "
            f"{_fmt(r.get('select_seconds'), 1)} | {_fmt(r.get('fit_seconds'), 1)} | "
            f"{', '.join(map(str, r.get('sizes', [])))} |"
        )
    lines += ["", "Stability and silhouette by k (family: k stability/silhouette):", ""]
    for r in result["rows"]:
        if "scores" in r:
            cells = ", ".join(
                f"{s['k']} {s['stability']:.2f}/{s['silhouette']:.2f}" for s in r["scores"]
            )
            lines.append(f"- {r['family']}: {cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.personas_compare")
    parser.add_argument("--data", choices=("orii", "sim", "olist"), default="orii")
    parser.add_argument("--cutoff", type=date.fromisoformat, default=date(2010, 9, 9))
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--families", default="latent,gmm,kmeans")
    parser.add_argument("--root", type=Path, default=Path("/tmp/personas-compare"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.data == "olist":
        print(json.dumps(olist_repeaters()))
        return
    case = orii_case(args.cutoff, args.root) if args.data == "orii" else sim_case(
        args.scale, args.seed)
    params = PersonaSettings()
    known = {"latent": LatentClass(params), "gmm": GaussianMixtureDiag(), "kmeans": KMeansProfile()}
    result = compare(case, params, [known[f] for f in args.families.split(",")])
    text = markdown(result)
    out = REPO_ROOT / "bench" / "results" / f"personas-{case.name}-{commit()}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
