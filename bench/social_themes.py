"""`python -m bench.social_themes --scale s`: does the report find the post theme each persona
responds to best?

On the bench world of `bench/__main__.py` (its social exports included): the daily run's steps
the figures need (every ingest, the transform, the personas, then the report model and its
parents), then the found personas are matched to the simulator's hidden ones (one to
one, most shared customers: `bench.quality.persona_matches`), and each hidden persona's
favourite theme (the truth's `social_theme_affinity`) is compared with the theme its matched
persona ranks first in `reports.rpt_social_persona_content`. The same model is then built again
with the hidden personas in place of the found ones (on a copy of the warehouse): what the
report would find were the personas right, which tells the social figures' own error from the
persona model's. Writes `bench/results/social-themes-<scale>-seed<seed>-<commit>.md` and
`.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl

from bench import commit
from bench.__main__ import DAY, empty_home, run_stage, world
from bench.quality import persona_matches
from pipelines.config import REPO_ROOT, Settings
from pipelines.ingest.sources import source_names
from pipelines.transform import run_dbt

REPORT_MODEL = "rpt_social_persona_content"


def run(home) -> None:
    """What the figures need of the daily run, each step in its own process as the bench
    runs them; the report model with its parents that read the personas."""
    for source in source_names():
        run_stage(home, "ingest", source, "social")
    for step in ("transform", "find_personas"):
        run_stage(home, step, None, "social")
    # `run`, not `build`: the model's tests read report models this bench does not build.
    run_dbt(Settings(home=home), ["run", "--select", f"stg_ml__personas {REPORT_MODEL}"], DAY)


def with_hidden_personas(root: Path, home: Path) -> Path:
    """A home whose warehouse is a copy of `home`'s with ml.personas holding each customer's
    hidden persona (known by email), the report model built on it. Returns the home."""
    oracle = root / "social-hidden"
    shutil.rmtree(oracle, ignore_errors=True)
    (oracle / "warehouse").mkdir(parents=True)
    settings = Settings(home=oracle)
    shutil.copy(Settings(home=home).work_db, settings.work_db)
    hidden = pl.read_parquet(root / "world" / "truth" / "customers.parquet").select(
        "email", "persona")
    names = sorted(hidden["persona"].unique().to_list())
    hidden = hidden.with_columns(
        persona_id=pl.col("persona").replace_strict({n: i + 1 for i, n in enumerate(names)}))
    con = duckdb.connect(str(settings.work_db))
    try:
        con.register("hidden", hidden.to_arrow())
        con.execute(
            "create or replace table ml.personas as "
            "select c.customer_key, h.persona_id, h.persona as persona_name "
            "from marts.dim_customers c join hidden h using (email) "
            "where c.customer_key in (select customer_key from ml.personas)")
    finally:
        con.close()
    run_dbt(settings, ["run", "--select", f"stg_ml__personas {REPORT_MODEL}"], DAY)
    return oracle


def identity_matches(work: Path) -> pl.DataFrame:
    """Each hidden persona matched to itself (the personas of `with_hidden_personas`)."""
    con = duckdb.connect(str(work), read_only=True)
    try:
        return con.sql("select distinct persona_name as hidden, persona_id, "
                       "persona_name as found from ml.personas").pl()
    finally:
        con.close()


def found_themes(work) -> pl.DataFrame:
    """Each found persona's themes as the report ranks them."""
    con = duckdb.connect(str(work), read_only=True)
    try:
        return con.sql(
            "select persona_id, item as theme, engagers, opportunities, engagements, rate, "
            f"rate_index, rank from reports.{REPORT_MODEL} where aspect = 'theme'"
        ).pl()
    finally:
        con.close()


def compare(matches: pl.DataFrame, themes: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per hidden persona: its favourite theme, the matched persona's first theme, the rank the
    matched persona gives the favourite, and the evidence (engagers, engagements)."""
    favourite = truth.filter("is_favourite").select(hidden="persona", favourite="theme")
    first = themes.filter(pl.col("rank") == 1).select(
        "persona_id", found_theme="theme", engagers="engagers", engagements="engagements",
        index="rate_index")  # fmt: skip
    favourite_rank = themes.select("persona_id", "theme", favourite_rank="rank")
    return (
        favourite.join(matches.select("hidden", "persona_id", "found"), on="hidden", how="left")
        .join(first, on="persona_id", how="left")
        .join(favourite_rank, left_on=["persona_id", "favourite"],
              right_on=["persona_id", "theme"], how="left")
        .with_columns(found_it=pl.col("found_theme") == pl.col("favourite"))
        .sort("hidden")
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.social_themes")
    parser.add_argument("--scale", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="read the last run's warehouse")
    args = parser.parse_args()
    root = world(args.scale, args.seed, identity_noise=False)
    home = root / "social"
    if not args.reuse:
        home = empty_home(root, "social")
        run(home)
    truth = root / "world" / "truth"
    affinity = pl.read_parquet(truth / "social_theme_affinity.parquet")
    work = Settings(home=home).work_db
    table = compare(persona_matches(work, truth), found_themes(work), affinity)
    oracle = Settings(home=with_hidden_personas(root, home)).work_db
    ceiling = compare(identity_matches(oracle), found_themes(oracle), affinity)
    found = int(table["found_it"].fill_null(False).sum())
    found_hidden = int(ceiling["found_it"].fill_null(False).sum())
    lines = [f"### Social themes at scale `{args.scale}`, seed {args.seed}, commit {commit()}", "",
             f"The favourite theme of {found} of {table.height} hidden personas is the theme "
             f"their matched persona ranks first ({found_hidden} of {ceiling.height} with the "
             "hidden personas in place of the found ones).", "",
             "| hidden persona | favourite | matched persona | its first theme | engagers | "
             "engagements | index | rank of the favourite | with the hidden personas: first "
             "theme, rank of the favourite |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    hidden_rows = {r["hidden"]: r for r in ceiling.iter_rows(named=True)}
    for r in table.iter_rows(named=True):
        h = hidden_rows.get(r["hidden"], {})
        lines.append(f"| {r['hidden']} | {r['favourite']} | {r['found']} | {r['found_theme']} | "
                     f"{r['engagers']} | {r['engagements']} | {r['index']} | "
                     f"{r['favourite_rank']} | {h.get('found_theme')}, "
                     f"{h.get('favourite_rank')} |")
    out = (REPO_ROOT / "bench" / "results"
           / f"social-themes-{args.scale}-seed{args.seed}-{commit()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(
        {"scale": args.scale, "seed": args.seed, "found": found, "personas": table.height,
         "found_with_hidden_personas": found_hidden, "rows": table.to_dicts(),
         "rows_with_hidden_personas": ceiling.to_dicts()}, indent=2, default=str))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
