"""`python -m bench.real` (`make bench-real`): the daily run on whole real shops, and its scores
against what really happened after a cutoff, beside the strongest simple rivals.

For each orders shop of `shared/data/real` (Online Retail II, Olist; `bench/realshops.py`):

1. **The whole set** as of its last day, each step in its own process as `make bench` runs
   them: seconds per step, what was published (orders, credit notes, guest share, personas).
2. **A cutoff** `--horizon-days` before the last day: the landing folder gets only the lines up
   to the cutoff (what the shop had then), the run scores, and the scores meet the lines after
   the cutoff, which the run never saw:
   - churn: among customers with a purchase in the year before the cutoff, who buys nothing
     in the horizon; AUC of the published churn score beside recency (days since the last
     purchase), frequency (purchase days), spend in the last 365 days, and BG/NBD's
     P(alive) fit on purchase days;
   - value: each buyer's net spend in the horizon; Spearman of the published value score
     beside purchase days, spend in the last 90 and 365 days, and BG/NBD + Gamma-Gamma.
   The rivals are computed here from the converted file alone, never from the pipeline's
   tables, so a bug in the pipeline's features cannot flatter both sides.

Writes bench/results/real-<commit>.json and .md and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from bench import commit, realshops
from bench.__main__ import STEPS, run_stage
from pipelines.config import REPO_ROOT, Settings
from pipelines.ml import btyd

RESULTS = REPO_ROOT / "bench" / "results"


def _steps(home: Path, day: date, run_id: str) -> list:
    """The daily run's steps in the DAG's order, each in its own process: the work's seconds
    (imports apart), peak memory and summary of each."""
    stages = []
    for step, arg in STEPS:
        result = run_stage(home, step, arg, run_id, day)
        stages.append({"stage": f"{step}_{arg}" if arg else step,
                       "seconds": round(result["seconds"], 1),
                       "peak_rss_mb": round(result["peak_rss_mb"]),
                       "result": result["result"]})
    return stages


def purchases(path: Path, cancelled: tuple[str, ...]) -> pl.DataFrame:
    """Each customer's orders from the converted file alone: day, net value, whether the
    order is a purchase (a positive line, not cancelled). Guests (no customer) left out."""
    columns = duckdb.sql(f"select * from read_csv('{path}', all_varchar=true) limit 0").columns
    amount = "try_cast(amount as decimal(18, 2))" if "amount" in columns else "null"
    unit = ("cast(round(try_cast(unit_price as double) * try_cast(quantity as integer), 2) "
            "as decimal(18, 2))") if "unit_price" in columns else "null"
    status = ("coalesce(lower(status) in ({}), false)".format(
        ", ".join(f"'{s}'" for s in cancelled)) if cancelled and "status" in columns
        else "false")
    return duckdb.sql(f"""
        with lines as (
            select order_id, trim(customer_id) as customer_id,
                   cast(cast(order_date as timestamp) as date) as day,
                   coalesce({amount}, {unit}) as line, {status} as cancelled
            from read_csv('{path}', all_varchar=true)
        )
        select customer_id, order_id, min(day) as day, cast(sum(line) as double) as value,
               bool_or(line > 0) and not bool_or(cancelled) as is_purchase,
               bool_or(cancelled) as cancelled
        from lines where customer_id is not null and customer_id <> ''
        group by customer_id, order_id
    """).pl().filter(~pl.col("cancelled"))


def rivals_and_truth(orders: pl.DataFrame, cutoff: date, horizon: int) -> pl.DataFrame:
    """Per customer who bought by the cutoff: the rivals' inputs at the cutoff and what they
    did in the horizon after it."""
    before = orders.filter(pl.col("day") <= cutoff)
    after = orders.filter((pl.col("day") > cutoff)
                          & (pl.col("day") <= cutoff + timedelta(days=horizon)))
    bought = before.filter(pl.col("is_purchase"))
    days = bought.group_by("customer_id").agg(
        first=pl.col("day").min(), last=pl.col("day").max(),
        purchase_days=pl.col("day").n_unique(),
        repeat_value=pl.col("value").sum())
    spend = before.group_by("customer_id").agg(
        spend_365=pl.col("value").filter(pl.col("day") > cutoff - timedelta(days=365)).sum(),
        spend_90=pl.col("value").filter(pl.col("day") > cutoff - timedelta(days=90)).sum())
    future = after.group_by("customer_id").agg(
        future_value=pl.col("value").sum(),
        future_purchases=pl.col("is_purchase").sum())
    frame = (days.join(spend, on="customer_id", how="left")
             .join(future, on="customer_id", how="left")
             .with_columns(pl.col("future_value", "future_purchases").fill_null(0),
                           recency=(pl.lit(cutoff) - pl.col("last")).dt.total_days(),
                           tenure=(pl.lit(cutoff) - pl.col("first")).dt.total_days()))
    x = (frame.get_column("purchase_days") - 1).cast(pl.Float64).to_numpy()
    T = frame.get_column("tenure").cast(pl.Float64).to_numpy()
    t_x = T - frame.get_column("recency").cast(pl.Float64).to_numpy()
    mean_value = (frame.get_column("repeat_value") / frame.get_column("purchase_days")).to_numpy()
    try:
        fit = btyd.fit_bgnbd(x, t_x, T)
        spend_fit = btyd.fit_gamma_gamma(x, np.clip(mean_value, 0.01, None))
        expected = fit.expected_purchases(x, t_x, T, float(horizon))
        frame = frame.with_columns(
            p_alive=pl.Series(fit.p_alive(x, t_x, T)),
            bgnbd_value=pl.Series(expected * spend_fit.expected_value(
                x, np.clip(mean_value, 0.01, None))))
    except btyd.FitError:
        frame = frame.with_columns(p_alive=pl.lit(None, pl.Float64),
                                   bgnbd_value=pl.lit(None, pl.Float64))
    return frame


def published_scores(settings: Settings) -> pl.DataFrame:
    """The run's churn and value scores by the shop's customer id."""
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        return con.sql("""
            select c.shop_customer_id as customer_id, s.model, s.score, s.version
            from ml.scores s join marts.dim_customers c using (customer_key)
            where s.model in ('churn', 'ltv') and c.shop_customer_id is not null
        """).pl()
    finally:
        con.close()


def _auc(y: np.ndarray, score: pl.Series) -> float | None:
    score = score.cast(pl.Float64)
    keep = score.is_not_null().to_numpy() & np.isfinite(score.fill_null(0).to_numpy())
    if keep.sum() < 10 or len(set(y[keep])) < 2:
        return None
    return float(roc_auc_score(y[keep], score.to_numpy()[keep]))


def _spearman(y: np.ndarray, score: pl.Series) -> float | None:
    score = score.cast(pl.Float64)
    keep = score.is_not_null().to_numpy()
    if keep.sum() < 10:
        return None
    return float(spearmanr(score.to_numpy()[keep], y[keep]).statistic)


def evaluate(frame: pl.DataFrame, scores: pl.DataFrame, cutoff: date) -> dict:
    """Churn AUC and value Spearman of the published scores and of each rival."""
    churn = scores.filter(pl.col("model") == "churn").select(
        "customer_id", churn=pl.col("score"), churn_by=pl.col("version"))
    value = scores.filter(pl.col("model") == "ltv").select(
        "customer_id", ltv=pl.col("score"), ltv_by=pl.col("version"))
    joined = frame.join(churn, on="customer_id", how="left").join(value, on="customer_id",
                                                                  how="left")
    active = joined.filter(pl.col("recency") <= 365)
    y_churn = (active.get_column("future_purchases") == 0).to_numpy().astype(int)
    churn_figures = {
        "customers": active.height, "churned": int(y_churn.sum()),
        "published_by": active.get_column("churn_by").drop_nulls().mode().to_list()[:1],
        "published": _auc(y_churn, active.get_column("churn")),
        "recency": _auc(y_churn, active.get_column("recency")),
        "purchase_days": _auc(y_churn, -active.get_column("purchase_days").cast(pl.Float64)),
        "spend_365d": _auc(y_churn, -active.get_column("spend_365").cast(pl.Float64)),
        "bgnbd_p_alive": _auc(y_churn, -active.get_column("p_alive").cast(pl.Float64)),
    }
    y_value = joined.get_column("future_value").to_numpy()
    value_figures = {
        "customers": joined.height,
        "buyers_after": int((joined.get_column("future_purchases") > 0).sum()),
        "published_by": joined.get_column("ltv_by").drop_nulls().mode().to_list()[:1],
        "published": _spearman(y_value, joined.get_column("ltv")),
        "purchase_days": _spearman(y_value, joined.get_column("purchase_days")),
        "spend_90d": _spearman(y_value, joined.get_column("spend_90")),
        "spend_365d": _spearman(y_value, joined.get_column("spend_365")),
        "bgnbd_gamma_gamma": _spearman(y_value, joined.get_column("bgnbd_value")),
    }
    return {"cutoff": cutoff.isoformat(), "churn": churn_figures, "value": value_figures}


def run_shop(shop: realshops.Shop, horizon: int, root: Path) -> dict:
    cancelled = ("canceled", "unavailable") if shop.name == "olist" else ()
    whole = root / shop.name / "whole"
    shutil.rmtree(whole, ignore_errors=True)
    path = realshops.land(shop, whole)
    full_run = _steps(whole, shop.last_day, "bench_real_whole")
    con = duckdb.connect(str(Settings(home=whole).published_db), read_only=True)
    try:
        published = dict(zip(("orders", "credit_notes", "guest_orders"), con.sql(
            "select count(*) filter (where is_purchase), count(*) filter (where not "
            "is_purchase and not is_cancelled), count(*) filter (where is_guest) "
            "from marts.fct_orders").fetchall()[0], strict=True))
        published["guest_revenue_share"] = con.sql(
            "select sum(guest_revenue) / sum(revenue) from reports.rpt_daily_sales"
        ).fetchall()[0][0]
    finally:
        con.close()
    cutoff = shop.last_day - timedelta(days=horizon)
    home = root / shop.name / "cutoff"
    shutil.rmtree(home, ignore_errors=True)
    realshops.land(shop, home, until=cutoff)
    _steps(home, cutoff, "bench_real_cutoff")
    frame = rivals_and_truth(purchases(path, cancelled), cutoff, horizon)
    quality = evaluate(frame, published_scores(Settings(home=home)), cutoff)
    return {"shop": shop.name, "lines": _lines(path), "full_run": full_run,
            "published": {k: (float(v) if v is not None else None) for k, v in
                          published.items()}, "quality": quality}


def _lines(path: Path) -> int:
    return duckdb.sql(f"select count(*) from read_csv('{path}')").fetchall()[0][0]


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(runs: list[dict], sha: str, horizon: int) -> str:
    lines = [f"### Real shops, commit {sha} (horizon {horizon} days after the cutoff)", ""]
    for r in runs:
        p, q = r["published"], r["quality"]
        total = sum(s["seconds"] for s in r["full_run"])
        lines += [
            f"**{r['shop']}**: {r['lines']:,} lines; whole run {total:.0f} s (steps in their "
            f"own processes); {p['orders']:,.0f} purchases, {p['credit_notes']:,.0f} credit "
            f"notes, guest share of revenue {_fmt(p['guest_revenue_share'])}.",
            "",
            "| stage | seconds | peak RSS MB |", "|---|---:|---:|",
            *[f"| {s['stage']} | {s['seconds']} | {s['peak_rss_mb']} |" for s in r["full_run"]],
            "",
            f"Cutoff {q['cutoff']}: churn among {q['churn']['customers']:,} customers who "
            f"bought in the year before ({q['churn']['churned']:,} bought nothing after); "
            f"value over {q['value']['customers']:,} buyers "
            f"({q['value']['buyers_after']:,} bought after).",
            "",
            "| churn AUC | published (" + ", ".join(q["churn"]["published_by"]) + ") | recency "
            "| purchase days | spend 365 d | BG/NBD P(alive) |",
            "|---|---:|---:|---:|---:|---:|",
            "| | " + " | ".join(_fmt(q["churn"][k]) for k in (
                "published", "recency", "purchase_days", "spend_365d", "bgnbd_p_alive")) + " |",
            "",
            "| value Spearman | published (" + ", ".join(q["value"]["published_by"]) + ") "
            "| purchase days | spend 90 d | spend 365 d | BG/NBD + Gamma-Gamma |",
            "|---|---:|---:|---:|---:|---:|",
            "| | " + " | ".join(_fmt(q["value"][k]) for k in (
                "published", "purchase_days", "spend_90d", "spend_365d",
                "bgnbd_gamma_gamma")) + " |",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", nargs="+", default=sorted(realshops.SHOPS))
    parser.add_argument("--horizon-days", type=int, default=90)
    args = parser.parse_args(argv)
    if not (realshops.real_data_root() / "README.md").exists():
        raise SystemExit(f"no real data at {realshops.real_data_root()}; set "
                         "MARKETING_REAL_DATA")
    root = REPO_ROOT / "data" / "bench" / "real"
    runs = [run_shop(realshops.SHOPS[name], args.horizon_days, root) for name in args.shops]
    sha = commit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"real-{sha}.json").write_text(json.dumps(runs, indent=2, default=str))
    text = markdown(runs, sha, args.horizon_days)
    (RESULTS / f"real-{sha}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
