"""The models section in plain words: per model, whether it ranks (or forecasts) better than
the simplest rule a marketer would use, by how much, on how many customers and over which
period; when it does not, that the rule is used. Metric names, versions and notes are for
analysts, in a collapsed <details>. Reads ml.model_runs (the run's rows, else each model's
newest)."""

from __future__ import annotations

import json

import polars as pl

from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Models"
KEY, ORDER = "models", 80

# What each model predicts, and who a pair or a ranking is about.
MODELS: dict[str, dict[str, str]] = {
    "churn": {"title": "Who will leave", "outcome": "whether they ordered in the {days} after",
              "ranks": "ranks who will leave", "pair": "one who left and one who stayed",
              "who": "customers"},
    "lead": {"title": "Which leads will buy", "outcome": "whether they bought in the {days} after",
             "ranks": "ranks which leads will buy", "pair": "one lead who bought and one who "
             "did not", "who": "leads"},
    "ltv": {"title": "What customers will spend", "outcome": "what they spent in the {days} after",
            "ranks": "orders customers by what they will spend", "who": "customers"},
    "forecast_units": {"title": "Units sold per week", "outcome": "units sold per week",
                       "who": "weeks"},
    "uplift": {"title": "Who an offer moves", "outcome": "extra orders if targeted",
               "who": "experiment customers"},
}
# The rivals in words a marketer uses (the code's names are for analysts).
RIVALS: dict[str, str] = {
    "recency_rule": "days since the last order",
    "bgnbd_p_alive": "each customer's own buying rhythm",
    "order_count": "the number of orders so far",
    "bgnbd_gamma_gamma": "each customer's own buying rhythm and order value",
    "spend_365d": "spend in the last year",
    "spend_90d": "spend in the last 90 days",
    "click_level_rate": "how much the lead clicks our emails",
    "logistic_regression": "a simple statistical model on the same facts",
    "seasonal_level": "last year's same weeks scaled by this year's level",
    "seasonal_naive": "the same week last year",
    "recent_mean": "the mean of the last 13 weeks",
    "churn": "targeting by churn risk",
}
# Figures where lower is better.
LOWER_IS_BETTER = {"wape"}


def _days(days: int | None) -> str:
    if not days:
        return "outcome window"
    return "year" if days == 365 else f"{days} days"


def rival_words(name: str | None) -> str:
    return RIVALS.get(name or "", (name or "the baseline").replace("_", " "))


def latest_runs(model_runs: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """Each model's row for `run_id`; a model with no row in this run gets its newest one.
    Rows are taken whole (a model's columns never come from two runs)."""
    ordered = model_runs.with_columns(mine=pl.col("run_id") == run_id).sort(
        ["model", "mine", "as_of_date", "run_id"], nulls_last=False)
    return ordered.group_by("model", maintain_order=True).tail(1).drop("mine").sort("model")


def verdict(metric: str, value: float, rival_value: float, rival: str, words: dict,
            gap: dict | None = None) -> tuple[bool, str]:
    """Whether the model beats its strongest rival on `metric`, and the sentence saying so."""
    if metric == "auc":
        diff = round(100 * (value - rival_value))
        pair = words.get("pair", "two cases")
        if diff >= 1:
            return True, (f"{words['ranks'].capitalize()} better than '{rival}' by {diff} in "
                          f"100 pairs: of 100 pairs of {pair}, it picks the right one "
                          f"{round(100 * value)} times, the rule {round(100 * rival_value)}")
        return False, (f"Does not rank better than '{rival}' ({round(100 * value)} against "
                       f"{round(100 * rival_value)} right in 100 pairs of {pair})")
    if metric == "spearman":
        diff = value - rival_value
        if diff >= 0.01:
            return True, (f"{words['ranks'].capitalize()} better than '{rival}' by {diff:.2f} "
                          f"on a scale where 1 is the true order and 0 is chance ({value:.2f} "
                          f"against {rival_value:.2f})")
        return False, (f"Does not order customers by spend better than '{rival}' "
                       f"({value:.2f} against {rival_value:.2f}, where 1 is the true order)")
    if metric in LOWER_IS_BETTER:
        if value < rival_value - 0.005:
            return True, (f"Forecasts weekly units closer than '{rival}': off by {value:.0%} "
                          f"of the units sold against {rival_value:.0%}")
        return False, (f"Does not forecast weekly units closer than '{rival}' (off by "
                       f"{value:.0%} of the units sold against {rival_value:.0%})")
    if metric == "qini":
        low, high = (gap or {}).get("low"), (gap or {}).get("high")
        if low is not None and low > 0:
            return True, f"Finds the customers an offer moves better than '{rival}'"
        if high is not None and high < 0:
            return False, f"Finds the customers an offer moves worse than '{rival}'"
        return False, (f"Cannot yet be told apart from '{rival}' at finding the customers an "
                       "offer moves")
    won = value > rival_value
    return won, (f"{'Beats' if won else 'Does not beat'} '{rival}' on held-out data "
                 f"({value:.3f} against {rival_value:.3f})")


def sentence(model: str, figures: dict) -> dict:
    """One model's verdict in words (see module docstring): better than its strongest rival
    or not, on whom and when, and what scores."""
    words = MODELS.get(model, {"title": model.replace("_", " "), "who": "rows"})
    value, rival_value = figures["model_value"], figures["baseline_value"]
    rule = figures["published"] if figures["published"] in RIVALS else None
    period, checked = figures["period"], figures["rows"]
    basis = f"Checked {period}." if period else ""
    if checked:
        basis = f"Checked on {checked:,} {words['who']}" + (f" {period}." if period else ".")
    if value is None:
        text = (f"Too few known outcomes yet to check a model; the rule '{rival_words(rule)}' "
                "scores." if rule else
                "Nothing could be measured this run (the reason is below, for analysts).")
        return {"title": words["title"], "verdict": text, "basis": basis, "uses_rule": bool(rule)}
    if rival_value is None:
        won, text = True, "No simple rule could be measured beside it"
    else:
        won, text = verdict(figures["metric"], value, rival_value,
                            rival_words(figures["baseline"]), words, figures.get("gap"))
    if rule:
        text += f"; so the rule '{rival_words(rule)}' scores today."
    elif not won and model == "forecast_units":
        text += ("; the model is used all the same, as it follows last year's seasons and the "
                 "rule does not.")
    elif not won:
        text += "; the model is kept all the same (why is below, for analysts)."
    else:
        text += "."
    return {"title": words["title"], "verdict": text, "basis": basis, "uses_rule": bool(rule)}


def figures_of(run: dict) -> dict:
    """What a model_runs row says, from its columns and its metrics JSON."""
    metrics = json.loads(run.get("metrics") or "{}")
    candidate = metrics.get("candidate") or {}
    published = (metrics.get("published") or {}).get("name") or metrics.get("chosen")
    checked = (candidate.get("holdout_rows") or candidate.get("rows")
               or metrics.get("measured_units"))
    days = metrics.get("label_days")
    model = run["model"]
    outcome = MODELS.get(model, {}).get("outcome", "")
    measured_on = metrics.get("measured_on")
    period = ""
    if measured_on:
        period = f"as of {measured_on}, against {outcome.format(days=_days(days))}"
    elif model == "forecast_units" and metrics.get("windows"):
        checked = None
        period = (f"on {metrics['windows']} past stretches of {metrics.get('horizon_weeks')} "
                  f"weeks since {metrics.get('backtest_from')}, over "
                  f"{metrics.get('skus', 0):,} products")
    elif model == "uplift" and metrics.get("experiments"):
        period = f"held out of {metrics['experiments']} finished experiments"
    return {
        "metric": run.get("metric") or "",
        "model_value": run.get("model_value"),
        "baseline": run.get("baseline"),
        "baseline_value": run.get("baseline_value"),
        "previous_value": run.get("previous_value"),
        "published": published,
        "rows": int(checked) if checked else None,
        "period": period,
        "note": run.get("note") or "",
        "gap": (metrics.get("uplift") or {}).get("versus_churn"),
    }


def summaries(model_runs: pl.DataFrame, run_id: str) -> list[dict]:
    """Per model (see `latest_runs`): its verdict in words and, for analysts, every figure."""
    out = []
    for run in latest_runs(model_runs, run_id).to_dicts():
        figures = figures_of(run)
        out.append({
            **sentence(run["model"], figures),
            "model": run["model"],
            "version": run.get("version") or "",
            "as_of_date": run.get("as_of_date"),
            "trained": run.get("trained"),
            **{k: figures[k] for k in ("metric", "model_value", "baseline", "baseline_value",
                                       "previous_value", "note")},
        })
    return out


def section(inputs: ReportInputs) -> Section | None:
    runs = inputs.table("ml.model_runs")
    if runs is None or runs.is_empty():
        return None
    models = summaries(runs, inputs.run_id)
    html = render_part("models.html.j2", models=models)
    digest = tuple(f"{m['title']}: {m['verdict']}" for m in models if m["model"] == "churn")
    return Section(key=KEY, title=TITLE, order=ORDER, html=html, digest=digest)
