"""
### marketing_daily

The daily marketing run for one day of data (the logical date, in UTC):

0. **exports_arrived**: waits until exports dated the run's day or later are in the landing
   folder (a sensor that frees its slot between checks); skips the run after 20 hours.
1. **ingest_&lt;source&gt;**: new export files under `data/landing/<source>/` go into DuckDB's `raw`
   schema; every file is in the ledger `audit.loads`, bad rows in `raw.quarantine`.
2. **transform**: `dbt build` makes the unified customer view (`marts.dim_customers`), the facts
   and the model features, and runs dbt's tests; a rerun keeps the last build when nothing it
   reads has changed.
3. **score_churn**, **score_ltv**, **score_lead**: XGBoost models score customers and open
   leads into `ml.scores` (churn risk, next year's value, conversion within 60 days), each with
   three reasons in words. A model retrains on a schedule and replaces the one in use only
   when it beats its baseline and the old version. **forecast_units**: weekly units per
   product (or the shop's total, without product ids) for the next 8 weeks into
   `ml.forecast`: the model and its simple rivals over a rolling-origin backtest; the best
   publishes, the model only when it beats the strongest rival.
4. **find_personas**: every customer who has ordered gets a persona (`ml.personas`), found by a
   mixture model, matched to yesterday's so ids and names last (kept as they are when nothing
   they are found from has changed since the last run).
5. **optimise_ads**: per Meta ad set a response curve (saturation with carry-over) fitted to
   its daily spend and reconciled conversions; the daily budgets that maximise the expected
   return within `ads.yml`'s bounds, with bids (`ml.ad_budget_plan`). Skipped without Meta Ads.
6. **run_experiments**: people who entered an audience with a holdout (audiences.yml) today
   are assigned to its treatment or holdout arm by a hash, for good
   (`ml.experiment_assignments`); those erased, unsubscribed or merged since are marked as
   having left.
7. **personalize**: each person's top 10 products with a reason in words
   (`ml.recommendations`): bought with what they bought or looked at, shifted by place and
   season, due to restock, or their persona's favourites; never out of the catalogue. And
   each contact's best local hour and weekday for email (`ml.send_times`), from their clicks
   and opens (prefetched opens discounted), shrunk toward their persona's when they are few.
8. **generate_content**: checked copy per persona, campaign goal and format (email subjects
   and bodies, Meta and Google ad text, social posts, product copy, blog outlines, a sales
   sheet) from `brand.yml` and each persona's traits and products, ranked by a model of the
   shop's own campaign history (`ml.content_lines`).
9. **transform_reports**: `dbt build --select tag:report`, the report models that read the
   scores and personas (`reports.rpt_personas`, `reports.rpt_customer_groups`); kept, like the
   transform, when nothing it reads has changed.
10. **export**: takes in erasure requests (kept only hashed), then builds per-audience upload
   files for Mailchimp, Meta, Google and the CRM, with adds and removes, into a staging folder;
   held-out people are in no file of their audience.
11. **audit**: Great Expectations checks every table and export file to publish (what the last
   audit validated, unchanged, keeps its verdicts); a failure stops the run here and the last
   good publication and exports stay as they were.
12. **publish**: the audited tables replace `data/warehouse/marketing.duckdb` in one atomic step,
   then the audited exports move to `data/exports/<date>/` (updates the Asset
   `marketing_published`).
13. **report**: the HTML report for the day, with the persona cards.

A task that fails for good, a publication the quality gate blocks and checks that fail at
warning level are sent as alerts (e-mail, a Slack-compatible webhook; `pipelines/alerts.py`).
Every task that writes DuckDB runs in the one-slot pool `duckdb_writer`. A task is retried
only for errors a retry can fix (the file system, a DuckDB lock); bad input or a failed check
fails it at once with its message. Logic lives in
`pipelines/`; this file only wires it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.ingest.sources import source_names

PUBLISHED = Asset("marketing_published")
WRITER_POOL = "duckdb_writer"


def _run(step: str, *args: str):
    """Call `pipelines.daily.<step>` for this run's logical date and run id. An error that a
    retry cannot fix (bad input, a failed check, a setting) fails the task at once, with its
    message; only the others are retried."""
    from pipelines import daily
    from pipelines.config import Settings

    context = get_current_context()
    logical = context.get("logical_date") or context["dag_run"].run_after
    try:
        return getattr(daily, step)(Settings.from_env(), *args, logical.date(),
                                    context["run_id"])
    except Exception as error:
        if daily.retry_can_fix(error):
            raise
        raise AirflowFailException(f"{step}: {error}") from error


def _alert_failure(context) -> None:
    """A task failed for good: tell the people who run the pipeline why and what was kept."""
    from pipelines import alerts
    from pipelines.config import Settings

    logical = context.get("logical_date") or context["dag_run"].run_after
    alerts.notify(alerts.for_failure(Settings.from_env(), logical.date(),
                                     context["task_instance"].task_id, context.get("exception")))


@dag(
    dag_id="marketing_daily",
    # One run per day of data: the run for day D starts when D is over.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # Airflow creates no task for a logical date before the start date (and still calls the run
    # a success), so the start date must not limit which days of a shop's history can be run
    # or backfilled. With catchup off, the scheduler still only starts the newest interval.
    start_date=pendulum.datetime(1970, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["marketing", "daily"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "pool": WRITER_POOL,
        "on_failure_callback": _alert_failure,
    },
    doc_md=__doc__,
)
def marketing_daily() -> None:
    # The run for day D waits (without holding a worker or the writer slot) until exports
    # dated D or later are in the landing folder, and is skipped, every task with it, if none
    # arrive within 20 hours: a day with no data is never run on the days before it. Its
    # retries are for Airflow's own hiccups (a task started before the API server answers).
    @task.sensor(poke_interval=600, timeout=20 * 3600, mode="reschedule", soft_fail=True,
                 pool="default_pool")
    def exports_arrived() -> bool:
        return _run("exports_arrived")

    @task
    def ingest(source: str) -> dict:
        return _run("ingest", source)

    @task
    def transform() -> dict:
        return _run("transform")

    @task
    def score_churn() -> dict:
        return _run("score_churn")

    @task
    def score_ltv() -> dict:
        return _run("score_ltv")

    @task
    def score_lead() -> dict:
        return _run("score_lead")

    @task
    def forecast_units() -> dict:
        return _run("forecast_units")

    @task
    def find_personas() -> dict:
        return _run("find_personas")

    @task
    def optimise_ads() -> dict:
        return _run("optimise_ads")

    @task
    def run_experiments() -> dict:
        return _run("run_experiments")

    @task
    def personalize() -> dict:
        return _run("personalize")

    @task
    def generate_content() -> dict:
        return _run("generate_content")

    @task
    def transform_reports() -> dict:
        return _run("transform_reports")

    @task(retries=0)
    def audit() -> dict:
        return _run("audit")

    @task(outlets=[PUBLISHED])
    def publish() -> dict:
        return _run("publish")

    @task
    def export() -> dict:
        return _run("export")

    @task
    def report() -> dict:
        return _run("report")

    loads = [ingest.override(task_id=f"ingest_{s}")(s) for s in source_names()]
    built = transform()
    published = publish()
    scored = [score_churn(), score_ltv(), score_lead(), forecast_units()]
    personas = find_personas()
    exported = export()
    exports_arrived() >> loads
    loads >> built >> scored
    planned = optimise_ads()
    assigned = run_experiments()
    personalized = personalize()
    written = generate_content()
    scored >> personas >> planned >> assigned >> personalized >> written
    written >> transform_reports() >> exported
    exported >> audit() >> published
    published >> report()


marketing_daily()
