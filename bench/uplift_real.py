"""`python -m bench.uplift_real`: the uplift learner on a real randomised test, Kevin
Hillstrom's e-mail experiment (shared/data/real/hillstrom: 64,000 customers randomised to a
men's e-mail, a women's e-mail or none; visits, conversions and spend over two weeks).

Treated is either e-mail, held out is no e-mail (a third of the units, as the test ran it).
The units are split in two by a hash of their row number: the learner fits on one half, and
every ranking is measured on the other: the learners (X and two-model), targeting by churn
risk (recency, months since the last purchase, highest first: the longest gone), the
opposite (most recent first), and at random (its Qini is 0 in expectation; the spread of 200
random orders is the noise a difference must clear), by `uplift.evaluate_targeting`, the
figures the pipeline records. Prints Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from pipelines.experiments import learner
from pipelines.experiments.uplift import evaluate_targeting

FILE = "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
FEATURES: tuple[str, ...] = (
    "recency", "history", "mens", "womens", "newbie",
    "zip_urban", "zip_rural", "channel_web", "channel_phone",
)  # fmt: skip
OUTCOMES = ("visit", "conversion", "spend")
# The audience size an `uplift_decile >= 8` audience takes: the top three tenths.
TOP_SHARE = 0.3


def load(path: Path) -> pl.DataFrame:
    """The test's units with the features the learner reads, `is_treated` and the outcomes;
    `customer_key` is the row number (the file has no customer id)."""
    frame = pl.read_csv(path, schema_overrides={"history": pl.Float64, "spend": pl.Float64})
    return frame.with_row_index("row", offset=1).select(
        customer_key=pl.col("row").cast(pl.String),
        is_treated=pl.col("segment") != "No E-Mail",
        recency=pl.col("recency"),
        history=pl.col("history"),
        mens=pl.col("mens"),
        womens=pl.col("womens"),
        newbie=pl.col("newbie"),
        zip_urban=pl.col("zip_code") == "Urban",
        zip_rural=pl.col("zip_code") == "Rural",
        channel_web=pl.col("channel") == "Web",
        channel_phone=pl.col("channel") == "Phone",
        visit=pl.col("visit"),
        conversion=pl.col("conversion"),
        spend=pl.col("spend"),
    )


def split(units: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fit, measure): halves by a hash of the unit's key, the same halves on every run."""
    half = pl.col("customer_key").hash(seed=31) % 2 == 0
    return units.filter(half), units.filter(~half)


def compare(
    units: pl.DataFrame, outcome: str, threads: int = 1, methods: tuple[str, ...] = ("x", "t")
) -> dict[str, dict]:
    """Each ranking's Qini, AUUC and gain in the top `TOP_SHARE` on the measured half, per
    person and in the outcome's unit: the learners `methods` (`learner.fit`), churn risk,
    most recent first and random."""
    fit_on, measure = split(units)
    y = measure.get_column(outcome).cast(pl.Float64).to_numpy()
    t = measure.get_column("is_treated").to_numpy()
    rankings = {}
    for method in methods:
        model = learner.fit(fit_on, FEATURES, outcome, method=method, threads=threads)
        rankings[f"{method.upper()}-learner"] = model.predict(measure)[0]
    recency = measure.get_column("recency").cast(pl.Float64).to_numpy()
    rankings["churn risk (recency, longest gone first)"] = recency
    rankings["most recent first"] = -recency
    figures = evaluate_targeting(y, t, rankings, TOP_SHARE, random_orders=200)
    figures["_units"] = {"fit": fit_on.height, "measured": measure.height,
                         "average_effect": float(y[t].mean() - y[~t].mean())}
    return figures


def markdown(results: dict[str, dict[str, dict]]) -> str:
    lines = []
    for outcome, figures in results.items():
        units = figures["_units"]
        lines += [
            f"**{outcome}** (fit on {units['fit']:,} units, measured on {units['measured']:,}; "
            f"average effect on the measured half {units['average_effect']:+.5f} per unit)",
            "",
            "| ranking | Qini | AUUC | gain, top 30% |",
            "|---|---:|---:|---:|",
        ]
        for name, f in figures.items():
            if name.startswith("_"):
                continue
            spread = f" (sd {f['qini_sd']:.5f})" if "qini_sd" in f else ""
            lines.append(f"| {name} | {f['qini']:+.5f}{spread} | {f['auuc']:.5f} | "
                         f"{f['gain_top']:+.5f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
                        / "real" / "hillstrom" / FILE)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    units = load(args.data)
    print(markdown({o: compare(units, o, args.threads) for o in OUTCOMES}))


if __name__ == "__main__":
    main()
