"""`python -m bench.forecast` (`make bench-forecast`): the units forecast beside its rivals, on
its own rolling-origin backtest and against the weeks that really followed.

- **A simulated shop** (`--scale`, `--seed`, `--history-days`: two years by default, the bench
  world; three years is a world of its own): the daily run's ingest and transform as of the
  bench's day, then the forecast, each method's rolling-origin figures and what publishes.
  The simulator then plays the forecast's weeks (on a copy of the world), the run takes them
  in, and every method's forecast made on the bench's day meets the units really sold: WAPE
  over product-weeks, bias, WAPE of the weekly total, and the weekly totals themselves.
- **Online Retail II** as of `--real-cutoff` (2010-10-01, before its autumn peak), from the
  converted orders file (`bench/realshops.py`, no returns), met by the weeks after the cutoff
  that the file holds.

Writes bench/results/forecast-<scale>-<commit>.json and .md and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from bench import commit, mark_world_complete, realshops, world_is_current
from bench.__main__ import DAY, STEPS, run_stage, world
from pipelines.config import REPO_ROOT, Settings
from pipelines.forecast import interval, units
from pipelines.ml import metrics

RESULTS = REPO_ROOT / "bench" / "results"


def order_lines(home: Path, day: date) -> pl.DataFrame:
    """Ingest and transform the home's landing folder as of `day` (each step in its own
    process) and read the order lines as the forecast step does."""
    for step, arg in STEPS:
        if step in ("ingest", "transform"):
            run_stage(home, step, arg, "bench_forecast", day)
    con = duckdb.connect(str(Settings(home=home).work_db), read_only=True)
    try:
        return con.sql(
            "select sku, order_date, cast(quantity as double) as quantity "
            "from marts.fct_order_lines where not is_cancelled and not is_return").pl()
    finally:
        con.close()


def sim_world(scale: str, seed: int, history_days: int) -> Path:
    """The bench's world for two years of history; a world of its own (cached) for others."""
    if history_days == 730:
        return world(scale, seed)
    from simulator import simulate

    root = REPO_ROOT / "data" / "bench" / f"{scale}-seed{seed}-{history_days}d"
    if not world_is_current(root):
        shutil.rmtree(root, ignore_errors=True)
        simulate(Settings(home=root / "world"), scale=scale, seed=seed, end_date=DAY,
                 history_days=history_days)
        mark_world_complete(root)
    return root


def scored(result: units.Forecast, lines_after: pl.DataFrame, day: date, weeks: int) -> dict:
    """Each method's forecast made on `day` against the units sold in the `weeks` after it
    (a product sold then but not forecast counts as forecast 0)."""
    end = day + timedelta(days=7 * weeks)
    series, _ = units.forecast_level(lines_after, end)
    skus, y = units.weekly_units(series, end)
    truth = y[:, -weeks:]
    out = {"actual_weekly": np.nansum(truth, axis=0).round(1).tolist(), "methods": {}}
    for name in sorted(result.rows["model"].unique()):
        rows = result.rows.filter(pl.col("model") == name)
        forecast = np.zeros_like(truth)
        # A product sold after but not forecast has no interval (NaN): left out of coverage.
        low, high = np.full_like(truth, np.nan), np.full_like(truth, np.nan)
        index = {s: i for i, s in enumerate(skus)}
        for sku, week, value, lo, hi in rows.select(
                "sku", "week_start", "units_forecast", "units_low", "units_high").iter_rows():
            if sku in index:
                at = (index[sku], (week - day).days // 7)
                forecast[at] = value
                low[at] = np.nan if lo is None else lo
                high[at] = np.nan if hi is None else hi
        known = ~np.isnan(truth)
        a, f = truth[known], forecast[known]
        total = result.total.filter(pl.col("model") == name).sort("week_start")
        total_low = total["units_low"].fill_null(np.nan).to_numpy()
        total_high = total["units_high"].fill_null(np.nan).to_numpy()
        out["methods"][name] = {
            "wape": metrics.wape(a, f),
            "bias": float(f.sum() / a.sum() - 1),
            "total_wape": metrics.wape(np.nansum(truth, axis=0), forecast.sum(axis=0)),
            "weekly": rows.group_by("week_start").agg(pl.col("units_forecast").sum())
            .sort("week_start")["units_forecast"].round(1).to_list(),
            # Out of sample: the share of product-weeks, and of the shop's weekly totals,
            # inside the 80% interval.
            "coverage": interval.covered(truth, low, high),
            "total_coverage": interval.covered(np.nansum(truth, axis=0), total_low, total_high),
            "weekly_low": total["units_low"].round(1).to_list(),
            "weekly_high": total["units_high"].round(1).to_list(),
        }
    return out


def one_shop(name: str, lines: pl.DataFrame, lines_after: pl.DataFrame, day: date,
             weeks: int) -> dict:
    start = time.perf_counter()
    result = units.forecast_units(lines, day, weeks)
    return {"shop": name, "day": day.isoformat(), "seconds": time.perf_counter() - start,
            "note": result.note, "backtest": result.metrics,
            "after": scored(result, lines_after, day, weeks)}


def simulated(scale: str, seed: int, history_days: int, weeks: int) -> dict:
    root = sim_world(scale, seed, history_days)
    work = root / "forecast"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root / "world", work / "world")
    homes = [work / "before", work / "after"]
    for home in homes:
        home.mkdir()
        (home / "landing").symlink_to(work / "world" / "landing")
    before = order_lines(homes[0], DAY)
    from simulator import continue_days

    continue_days(Settings(home=work / "world"), 7 * weeks)
    after = order_lines(homes[1], DAY + timedelta(days=7 * weeks))
    out = one_shop(f"simulated {scale}, seed {seed}, {history_days} days", before, after, DAY,
                   weeks)
    shutil.rmtree(work)
    return out


def online_retail(cutoff: date, weeks: int, folder: Path) -> list[dict]:
    path = realshops.online_retail_orders(folder / "orders.csv")
    lines = duckdb.sql(f"""
        select product_id as sku, cast(cast(order_date as timestamp) as date) as order_date,
               cast(quantity as double) as quantity
        from read_csv('{path}', all_varchar=true)
        where cast(quantity as double) >= 0 and cast(unit_price as double) >= 0
    """).pl()
    known = pl.col("order_date") <= cutoff
    shops = [one_shop("Online Retail II, per product", lines.filter(known), lines, cutoff,
                      weeks)]
    total = lines.with_columns(sku=pl.lit(None, pl.String))
    shops.append(one_shop("Online Retail II, shop total", total.filter(known), total, cutoff,
                          weeks))
    return shops


TITLES = {"xgboost": "model", "seasonal_level": "seasonal level", "seasonal_naive":
          "seasonal naive", "recent_mean": "recent mean"}


def markdown(shops: list[dict], sha: str) -> str:
    lines = [f"Units forecast, rolling-origin backtest and the weeks that followed (commit {sha})",
             ""]
    for shop in shops:
        bt = shop["backtest"]
        measured = {**bt.get("rivals", {}),
                    **({"xgboost": bt["candidate"]} if "candidate" in bt else {})}
        lines += [
            f"**{shop['shop']}**, as of {shop['day']} ({bt['history_weeks']} weeks of history, "
            f"{bt['windows']} windows since {bt['backtest_from']}; {shop['seconds']:.1f} s). "
            f"Publishes **{bt['published']['name']}**; strongest rival "
            f"{bt['baseline'].get('name')}.",
            "",
            "| method | backtest WAPE | MAPE | bias | weekly-total WAPE | after: WAPE | bias | "
            "weekly-total WAPE | 80% interval held: product-weeks | weekly totals |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, title in TITLES.items():
            after = shop["after"]["methods"].get(name)
            if name in measured:
                f = measured[name]
                left = (f"{f['wape']:.3f} | {f['mape']:.3f} | {f['bias']:+.3f} | "
                        f"{f['total_wape']:.3f}")
            elif name in bt.get("not_backtested", {}):
                left = "not backtested | | |"
            else:
                continue
            right = (f"{after['wape']:.3f} | {after['bias']:+.3f} | {after['total_wape']:.3f} | "
                     f"{after['coverage']:.0%} | {after['total_coverage']:.0%}"
                     if after else "not formed | | | |")
            lines.append(f"| {title} | {left} | {right} |")
        lines += ["", "Weekly totals after: actual "
                  + ", ".join(f"{v:,.0f}" for v in shop["after"]["actual_weekly"]) + "; "
                  + "; ".join(f"{TITLES[n]} " + ", ".join(f"{v:,.0f}" for v in m["weekly"])
                              for n, m in shop["after"]["methods"].items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--history-days", type=int, nargs="+", default=[730])
    parser.add_argument("--real-cutoff", type=date.fromisoformat, default=date(2010, 10, 1))
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args(argv)
    shops = [simulated(args.scale, args.seed, days, args.weeks) for days in args.history_days]
    if (realshops.real_data_root() / "README.md").exists():
        folder = REPO_ROOT / "data" / "bench" / "forecast-real"
        folder.mkdir(parents=True, exist_ok=True)
        shops += online_retail(args.real_cutoff, args.weeks, folder)
    sha = commit()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"forecast-{args.scale}-{sha}"
    out.with_suffix(".json").write_text(json.dumps(shops, indent=2, default=str))
    text = markdown(shops, sha)
    out.with_suffix(".md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
