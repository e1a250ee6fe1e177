"""The whole daily DAG, run by Airflow (`airflow dags test`) on an `xs` simulated shop.

Every component is real: Airflow runs the tasks, DuckDB stores, dbt builds, XGBoost scores,
Great Expectations gates publishing. The metadata DB and data home are temporary.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

import polars as pl
import pytest

from pipelines import airflow_env, daily, reuse
from pipelines.config import REPO_ROOT, Settings
from pipelines.ingest.sources import source_names
from pipelines.quality import kept as kept_verdicts
from pipelines.quality import suite_tables
from pipelines.warehouse import RUN_LOGS, connect, published_hashes
from simulator import simulate, truth_dir
from tests.browser.harness import chromium

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Years before the DAG was written: any day a shop's history covers must run (Airflow creates
# no task for a day before a DAG's start date, and still calls the run a success).
DAY = date(2019, 10, 31)


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(home=root / "data")
        self.env = airflow_env.airflow_env(
            {
                "MARKETING_HOME": str(self.settings.home),
                # Airflow's state under the data folder, as for a user (never the caller's).
                "AIRFLOW_HOME": "",
                "GX_ANALYTICS_ENABLED": "false",
            }
        )

    def run_dag(self, **extra_env: str) -> subprocess.CompletedProcess:
        command = [
            airflow_env.airflow_executable(),
            "dags",
            "test",
            "marketing_daily",
            DAY.isoformat(),
        ]
        return subprocess.run(
            command, env={**self.env, **extra_env}, capture_output=True, text=True, check=False
        )

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """`marketing run` as a user types it: the DAG through Airflow, then its checks."""
        command = [str(Path(sys.executable).parent / "marketing"), "run", *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True,
                              check=False)

    def asset_events(self) -> int:
        """How many times Airflow recorded the Asset `marketing_published` as updated."""
        import sqlite3

        con = sqlite3.connect(self.settings.home / "airflow" / "airflow.db")
        try:
            return con.execute(
                "select count(*) from asset_event e join asset a on a.id = e.asset_id "
                "where a.name = 'marketing_published'").fetchall()[0][0]
        finally:
            con.close()

    def query(self, sql: str, published: bool = True) -> list[tuple]:
        path = self.settings.published_db if published else self.settings.work_db
        con = connect(self.settings, path=path, read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("daily"))
    simulate(w.settings, scale="xs", seed=42, end_date=DAY)
    # The pipeline must never read the simulator's hidden truth: the first run goes without it,
    # moved out of the home (tests run as root here, where `chmod 000` would not stop a read).
    truth, away = truth_dir(w.settings), w.settings.home.parent / "truth-away"
    w.truth_files = sum(1 for f in truth.rglob("*") if f.is_file())
    truth.rename(away)
    try:
        first = w.run_cli("--date", DAY.isoformat())
        w.truth_during_first_run = truth.exists()
    finally:
        away.rename(truth)  # the tests below compare the published tables with it
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    w.first_output = first.stdout
    return w


def test_the_first_run_publishes_without_the_simulators_hidden_truth(world):
    assert world.truth_files > 0  # there was a truth to hide
    assert not world.truth_during_first_run  # the run did not recreate or wait for it
    assert f"marketing_daily {DAY}: done;" in world.first_output
    assert ", published as run " in world.first_output
    assert world.query("select count(*) from meta.runs") >= [(1,)]


def test_first_run_publishes_the_customer_view_scores_exports_and_report(world):
    loaded = world.query("select count(*), sum(rows_loaded) from audit.loads "
                         "where status = 'loaded'", published=False)[0]
    assert loaded[0] > 0
    # The sensor for the day's exports, an ingest task per source, then the 15 steps.
    tasks = 1 + len(source_names()) + 15
    assert (f"marketing_daily {DAY}: done; {tasks} tasks succeeded, {loaded[0]} new files "
            f"loaded ({loaded[1]:,} rows), published as run ") in world.first_output
    tables = {
        t
        for (t,) in world.query(
            "select table_schema || '.' || table_name from information_schema.tables"
        )
    }
    assert {
        "marts.dim_customers",
        "marts.fct_orders",
        "ml.scores",
        "ml.forecast",
        "ml.forecast_total",
        "reports.rpt_forecast_weekly",
        "reports.rpt_source_health",
        "ml.model_runs",
        "ml.personas",
        "ml.experiment_assignments",
        "ml.recommendations",
        "ml.content_lines",
        "reports.rpt_personalisation",
        "reports.rpt_content",
        "ml.send_times",
        "reports.rpt_personas",
        "reports.rpt_customer_groups",
        "reports.rpt_rfm_grid",
        "reports.rpt_email_send_hours",
        "meta.runs",
    } <= tables
    assert "ml.churn_scores" not in tables
    # Persona tables the report models read, but analysts do not: not published.
    assert "ml.persona_profiles" not in tables
    assert "raw.shop__orders" not in tables  # raw data stays in the work file
    # The ledger's per-file counts reach analysts through rpt_source_health; the quarantined
    # rows' raw text never leaves the work file.
    assert "raw.quarantine" not in tables and "audit.loads" not in tables
    # One row per person some source can name, by the simulator's hidden truth. No customer
    # holds two people's emails; only the people the exports cannot tie together (two
    # addresses no record shows together, a company mailbox colleagues share) may be counted
    # twice, or, known only through a shared mailbox, not at all.
    truth = pl.read_parquet(truth_dir(world.settings) / "identifiers.parquet")
    emails = truth.filter(pl.col("identifier_type") == "email")
    known = emails["person_id"].n_unique()
    hidden = pl.read_parquet(truth_dir(world.settings) / "customers.parquet")
    loose = hidden.filter(pl.col("second_email").is_not_null()
                          | pl.col("role_email").is_not_null()).height  # fmt: skip
    (customers,) = world.query("select count(*) from marts.dim_customers")[0]
    assert known - loose <= customers <= known + loose
    resolved = pl.DataFrame(
        world.query("select identifier, customer_key from intermediate.int_identity__identifiers"
                    " where identifier_type = 'email' and customer_key is not null",
                    published=False),
        schema=["identifier_value", "customer_key"], orient="row",
    )  # fmt: skip
    owners = resolved.join(emails.filter(~pl.col("is_shared")), on="identifier_value")
    assert owners.height > known / 2
    assert owners.group_by("customer_key").agg(pl.col("person_id").n_unique())[
        "person_id"].max() == 1
    for fact in (
        "fct_sessions",
        "fct_order_lines",
        "fct_email_events",
        "fct_ad_conversions",
        "fct_ad_attributed_orders",
        "fct_leads",
        "fct_survey_responses",
        "customer_rfm",
    ):
        assert world.query(f"select count(*) > 0 from marts.{fact}") == [(True,)], fact
    scored, low, high = world.query(
        "select count(*), min(score), max(score) from ml.scores where model = 'churn'"
    )[0]
    assert scored > 300 and 0 <= low < high <= 1
    valued, lowest = world.query(
        "select count(*), min(score) from ml.scores where model = 'ltv'"
    )[0]
    assert valued >= scored and lowest >= 0
    leads, lead_low, lead_high = world.query(
        "select count(*), min(score), max(score) from ml.scores where model = 'lead'"
    )[0]
    assert leads > 0 and 0 <= lead_low <= lead_high <= 1
    runs = dict(world.query("select model, scored_rows from ml.model_runs"))
    assert (runs["churn"], runs["ltv"], runs["lead"]) == (scored, valued, leads)
    # No experiment has completed on a first run: no uplift scores and no uplift run.
    assert "uplift" not in runs
    assert world.query("select count(*) from ml.scores where model = 'uplift'") == [(0,)]
    skus, weeks, lowest_units = world.query(
        "select count(distinct sku), count(distinct week_start), min(units_forecast) "
        "from ml.forecast"
    )[0]
    assert skus > 0 and weeks == 8 and lowest_units >= 0
    assert runs["forecast_units"] == world.query("select count(*) from ml.forecast")[0][0]
    manifest = json.loads(
        (world.settings.exports_dir / DAY.isoformat() / "manifest.json").read_text()
    )
    exported = manifest["files"][0]
    csv_text = (world.settings.exports_dir / DAY.isoformat() / exported["path"]).read_text()
    assert csv_text.splitlines()[0] == ("Email Address,First Name,Last Name,Tags,SENDHOUR,TZ,"
                                        "RECO1,RECO2,RECO3")
    assert len(csv_text.splitlines()) - 1 == exported["rows"] > 0
    # The first export: everyone is an add, nobody a remove.
    kinds: dict[tuple, int] = {}
    for f in manifest["files"]:
        key = (f["audience"], f["platform"], f["kind"])
        kinds[key] = kinds.get(key, 0) + f["rows"]
    assert kinds[exported["audience"], exported["platform"], "adds"] == exported["rows"]
    assert (exported["audience"], exported["platform"], "removes") not in kinds
    assert manifest["changes"][exported["audience"]][exported["platform"]]["removes"] == 0
    # Ad platforms get the churn-risk audience too, hashed, consent applied.
    assert kinds["churn_risk", "meta", "full"] > 0 and kinds["churn_risk", "google", "full"] > 0
    assert manifest["deltas_since"][exported["audience"]]["mailchimp"] is None
    # Nobody unsubscribed or cleaned is in the email export.
    emails = {line.split(",")[0] for line in csv_text.splitlines()[1:]}
    blocked = {
        e
        for (e,) in world.query(
            "select email from marts.dim_customers "
            "where mailchimp_status in ('unsubscribed', 'cleaned')"
        )
    }
    assert blocked and not emails & blocked
    # Every buyer whose orders net to more than nothing has a persona; every persona has a
    # card, in the warehouse and the report.
    buyers = world.query(
        "select count(*) from marts.dim_customers where orders_count > 0 and revenue > 0")
    assert world.query("select count(*) from ml.personas") == buyers
    cards = world.query("select persona_name, customers from reports.rpt_personas")
    assert 1 <= len(cards) <= 12 and sum(n for _, n in cards) == buyers[0][0]
    assert world.query(
        "select count(distinct grouping) from reports.rpt_customer_groups") == [(2,)]
    report = (world.settings.reports_dir / DAY.isoformat() / "index.html").read_text()
    assert "Churn risk" in report and "<svg" in report and 'href="quality/index.html"' in report
    assert "Personas" in report and all(name in report for name, _ in cards)
    # One Mailchimp audience per persona, tagged with its name; hot leads go to the CRM.
    persona_files = {
        f["audience"]: f for f in manifest["files"]
        if f["audience"].startswith("persona__") and f["platform"] == "mailchimp"
        and f["kind"] == "full"
    }
    assert len(persona_files) == len(cards)
    first = next(iter(persona_files.values()))
    tags = (world.settings.exports_dir / DAY.isoformat() / first["path"]).read_text()
    assert any(name.replace(",", " ") in tags for name, _ in cards)
    assert ("hot_leads", "crm", "full") in kinds
    assert {"high_value_at_risk", "top_ltv_seed"} <= {s for s, _, _ in kinds}
    docs = (world.settings.reports_dir / DAY.isoformat() / "quality" / "index.html").read_text()
    assert "dim_customers" in docs and "export_mailchimp__churn_risk" in docs
    # churn_risk holds a tenth out (audiences.yml): the manifest counts both arms as the
    # published assignments record them, and no held-out person is in its Mailchimp file.
    experiment = manifest["audiences"]["churn_risk"]["experiment"]
    assert experiment["id"] == "churn_risk__h10" and experiment["held_out"] > 0
    assert world.query(
        "select count(*) filter (where arm = 'treatment'), count(*) filter (where arm = "
        "'holdout') from ml.experiment_assignments where audience = 'churn_risk' "
        "and left_on is null") == [(experiment["treated"], experiment["held_out"])]
    mailchimp = {line.split(",")[0].strip("'\"") for line in (
        world.settings.exports_dir / DAY.isoformat() / "mailchimp" / "churn_risk.csv"
    ).read_text().lower().splitlines()[1:]}
    held = world.query(
        "select c.email from ml.experiment_assignments as a join marts.dim_customers as c "
        "using (customer_key) where a.audience = 'churn_risk' and a.arm = 'holdout' "
        "and c.email is not null")
    assert held and not {email.strip().lower() for (email,) in held} & mailchimp
    # Its readout on day one: no outcome window has ended, so every outcome is "too few",
    # and the sentence says what it needs; the A/B sends read out beside it.
    readouts = world.query("select outcome, treated_n, holdout_n, verdict, summary "
                           "from reports.rpt_experiments where experiment_id = "
                           "'churn_risk__h10' order by outcome")
    assert [r[:4] for r in readouts] == [(o, 0, 0, "too_few") for o in (
        "churned", "email_clicks", "orders", "revenue")]
    assert all(r[4].startswith("Too few people to conclude on Churn risk") for r in readouts)
    assert "What marketing really caused" in report and "Too few people" in report
    assert world.query("select count(distinct test_id) > 0, bool_and(verdict in "
                       "('winner', 'no_winner', 'too_few')) from reports.rpt_ab_tests "
                       "where platform = 'mailchimp'") == [(True, True)]


def test_personalisation_files_parse_hold_no_raw_email_and_honour_consent(world):
    from pipelines.activation import normalize
    from pipelines.quality.gate import read_export_file

    day_dir = world.settings.exports_dir / DAY.isoformat()
    manifest = json.loads((day_dir / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    site = ["site/personas.csv", "site/personas.json", "site/lookup.csv", "site/lookup.json"]
    assert set(site) <= set(listed)
    creative = [p for p in listed if p.startswith(("meta_dynamic_creative/", "google_rsa/"))]
    assert any(p.startswith("meta_dynamic_creative/") for p in creative)
    # Every file parses, with the rows the manifest says (the JSON as the CSV's twin).
    frames = {p: read_export_file(day_dir / p) for p in [*site, *creative]}
    assert all(frames[p].height == listed[p]["rows"] for p in frames)
    assert json.loads((day_dir / "site/lookup.json").read_text())["columns"] == \
        frames["site/lookup.csv"].columns
    personas = {n for (n,) in world.query("select persona from reports.rpt_personalisation")}
    assert set(frames["site/personas.csv"].get_column("persona")) == personas
    # No raw email in any of them.
    emails = {e.strip().lower() for (e,) in world.query(
        "select email from marts.dim_customers where email is not null")}
    for p in [*site, *creative]:
        text = (day_dir / p).read_text().lower()
        assert not any(e in text for e in emails), p
    # Consent: nobody the site rules hold back is in the lookup, by hashed email or device.
    lookup = frames["site/lookup.csv"]
    assert lookup.height > 0
    denied = pl.DataFrame(world.query(
        "select c.customer_key, c.email from marts.dim_customers as c "
        "where not coalesce(c.ad_storage_consent, false) or ((coalesce(c.is_eea, true) "
        "or upper(c.country_code) in ('GB', 'CH')) "
        "and not coalesce(c.ad_personalization_consent, false))"),
        schema=["customer_key", "email"], orient="row")
    assert denied.height > 0  # there is consent to honour
    hashed = normalize.sha256_columns(
        denied.with_columns(h=normalize.email(pl.col("email"))), ["h"]).get_column("h")
    keys = set(lookup.get_column("key"))
    assert not keys & set(hashed.drop_nulls())
    devices = {d for (d,) in world.query(
        "select s.user_pseudo_id from marts.fct_sessions as s where s.customer_key in "
        f"({', '.join(repr(k) for k in denied.get_column('customer_key'))})")}
    assert not keys & devices
    assert listed["site/lookup.csv"]["suppressed"]
    report = (world.settings.reports_dir / DAY.isoformat() / "index.html").read_text()
    assert "Personalisation: what to show, when to send, what to say" in report


# The report's sections, in page order: the contract of pipelines/report/sections.py.
REPORT_SECTIONS = ("overview", "sales", "customers", "winback", "personas", "email",
                   "personalisation", "ads", "experiments", "forecast", "models",
                   "data-health", "coverage", "exports")
# Markup in names, the way a shop's or an ad platform's export can carry it.
HOSTILE_PREFIX = "<script>alert('report')</script>"
HOSTILE_SUFFIX = "<img src=x onerror=alert('img')>"
# The published columns that hold names a person typed: customers', campaigns', products',
# personas', ad sets', categories, subject lines. Keys and codes are left alone, so every
# join and lookup the report makes still matches.
NAME_COLUMN = re.compile(r"(^|_)(first_name|last_name|name|title|campaign|product|persona|"
                         r"subject|subject_line|ad_set|adset|creative|headline|category|label)$")


@pytest.mark.browser
def test_the_report_of_the_simulated_day_renders_offline_with_every_section(world):
    day = world.settings.reports_dir / DAY.isoformat()
    source = (day / "index.html").read_text(encoding="utf-8")
    # One self-contained file: nothing fetched, no web font, no script from elsewhere.
    assert not re.search(r"<script\b[^>]*\bsrc=|@font-face|@import", source)
    assert [href for href in re.findall(r"<link\b[^>]*\bhref=[\"']([^\"']*)", source)
            if not href.startswith("quality/")] == []
    with chromium() as browser:
        visit = browser.visit(day / "index.html", name="report-simulated-day")
        assert visit.problems() == []
        assert visit.screenshot.stat().st_size > 10_000
        # Every section of the contract, once, in the contract's order down the page.
        found = browser.evaluate(
            "keys => keys.map(k => { const all = document.querySelectorAll('#' + k);"
            " return [all.length, all.length ? all[0].getBoundingClientRect().top + scrollY"
            " : null]; })", list(REPORT_SECTIONS))
        assert [k for k, (count, _) in zip(REPORT_SECTIONS, found, strict=True)
                if count != 1] == []
        tops = [top for _, top in found]
        assert tops == sorted(tops)
        # No id twice (nav anchors, charts' ids): a chart's ids start with its own name.
        assert browser.evaluate(
            "() => { const seen = {}; document.querySelectorAll('[id]').forEach(e =>"
            " { seen[e.id] = (seen[e.id] || 0) + 1; });"
            " return Object.keys(seen).filter(k => seen[k] > 1); }") == []
        # The quality pages it links to, offline too: every suite page, styled by the
        # Bootstrap shipped beside them.
        quality = day / "quality"
        index = browser.visit(quality / "index.html", name="quality-index-simulated-day",
                              allow=(quality,))
        assert index.problems() == []
        pages = browser.evaluate("[...document.querySelectorAll('td a')].map(a => a.href)")
        assert len(pages) == len(list((quality / "validations").glob("*.html"))) > 10
        for number, url in enumerate(pages):
            page = browser.visit(Path(unquote(urlparse(url).path)), allow=(quality,),
                                 screenshot=number == 0, name="quality-page-simulated-day")
            assert page.problems() == [], url
            assert browser.evaluate("getComputedStyle(document.querySelector("
                                    "'.container-fluid.pl-5')).paddingLeft") == "48px", url


@pytest.mark.browser
def test_names_holding_markup_show_as_text_in_the_report(world, tmp_path):
    """Every name column of the day's publication rewritten to hold a script and an image
    with an onerror handler, then the report built from it: no dialog, no element injected,
    the names shown as text. A copy of the published file, not a second DAG run (CI time)."""
    import duckdb

    from pipelines import daily

    settings = Settings(home=tmp_path / "data")
    settings.published_db.parent.mkdir(parents=True)
    shutil.copyfile(world.settings.published_db, settings.published_db)
    shutil.copytree(world.settings.exports_dir / DAY.isoformat(),
                    settings.exports_dir / DAY.isoformat())
    con = duckdb.connect(str(settings.published_db))
    try:
        columns = con.sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' and table_schema not in ('information_schema', "
            "'pg_catalog') and table_name in (select table_name from information_schema.tables"
            " where table_type = 'BASE TABLE')").fetchall()
        rewritten = [c for c in columns if NAME_COLUMN.search(c[2])]
        for schema, table, column in rewritten:
            con.execute(f'update "{schema}"."{table}" set "{column}" = ? || "{column}" || ? '
                        f'where "{column}" is not null', [HOSTILE_PREFIX, HOSTILE_SUFFIX])
        (run_id,) = con.sql("select run_id from meta.runs order by published_at desc "
                            "limit 1").fetchall()[0]
        personas = [n for (n,) in con.sql("select persona_name from reports.rpt_personas")
                    .fetchall()]
        campaigns = [t for (t,) in con.sql("select distinct campaign_title from "
                                           "reports.rpt_email_send_hours").fetchall()]
    finally:
        con.close()
    tables = {f"{s}.{t}" for s, t, _ in rewritten}
    assert {"marts.dim_customers", "reports.rpt_personas",
            "reports.rpt_email_send_hours"} <= tables
    path = Path(daily.report(settings, DAY, run_id)["path"])
    source = path.read_text(encoding="utf-8")
    assert HOSTILE_PREFIX not in source and HOSTILE_SUFFIX not in source
    with chromium() as browser:
        visit = browser.visit(path, name="report-hostile-names")
        assert visit.problems() == []  # no alert() ran, no image was fetched
        assert browser.evaluate(
            "[...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x'"
            " || i.hasAttribute('onerror')).length") == 0
        assert browser.evaluate("[...document.scripts].filter(s => s.text.includes('alert'))"
                                ".length") == 0
        text = browser.evaluate("document.body.innerText")
        # Chart labels too (SVG text, which innerText leaves out): the campaigns' titles.
        chart_text = browser.evaluate(
            "[...document.querySelectorAll('svg text')].map(t => t.textContent).join(' ')")
    assert personas and all(name in text for name in personas)
    assert text.count(HOSTILE_PREFIX) >= len(personas)
    assert campaigns and "<script>" in chart_text  # a long label is cut at its end


def test_every_dbt_unit_test_passes_on_the_built_warehouse(world):
    """The daily build leaves dbt's unit tests out (pipelines.transform.DAILY_EXCLUDE): they
    run here, once, each model's SQL on its fixture rows."""
    import yaml

    from pipelines.transform import unit_tests

    declared = sum(len(yaml.safe_load(f.read_text()).get("unit_tests") or [])
                   for f in (REPO_ROOT / "dbt_project" / "models").rglob("*.yml"))
    result = unit_tests(world.settings, DAY)
    assert declared > 60
    assert result.status_counts == {"pass": declared}, result.status_counts
    assert all(n.startswith("unit_test.") for n in result.timings)
    # The daily runs' own results hold no unit test.
    for target in ("target", "target_reports"):
        results = json.loads((world.settings.home / "dbt" / target / "run_results.json")
                             .read_text())["results"]
        assert results and not [r for r in results if r["unique_id"].startswith("unit_test.")]


def test_second_run_publishes_the_same_content_and_loads_no_file_twice(world):
    before = published_hashes(world.settings)
    # A person in the first run's email export asks to be erased before the rerun.
    day_dir = world.settings.exports_dir / DAY.isoformat()
    manifest = json.loads((day_dir / "manifest.json").read_text())
    first = next(f for f in manifest["files"] if f["platform"] == "mailchimp")
    erased = (day_dir / first["path"]).read_text().splitlines()[1].split(",")[0]
    ((erased_key,),) = world.query(
        f"select customer_key from marts.dim_customers where email = '{erased.lower()}'")
    keyed = {f"{schema}.{table}" for schema, table in world.query(
        "select table_schema, table_name from information_schema.columns "
        "where column_name = 'customer_key'")}
    others = {t: world.query(f"select count(*) from {t} where customer_key is distinct from "
                             f"'{erased_key}'")[0][0] for t in keyed if t in before}
    left_before = dict(world.query(
        "select experiment_id || '/' || outcome, left_n from reports.rpt_experiments"))
    world.settings.erasure_file.parent.mkdir(parents=True, exist_ok=True)
    world.settings.erasure_file.write_text(f"email\n{erased.upper()}\n")
    again = world.run_dag()
    assert again.returncode == 0, again.stdout[-6000:]
    rerun = json.loads((day_dir / "manifest.json").read_text())
    assert rerun["erasure"]["new_hashed_identifiers"] == 1
    assert rerun["suppressed"][first["audience"]]["mailchimp"]["erasure_request"] == 1
    assert all(erased not in (day_dir / f["path"]).read_text() for f in rerun["files"])
    assert world.settings.erasure_file.read_text() == "email,phone,country\n"
    assert erased not in world.settings.suppression_store.read_text()
    assert erased not in again.stdout + again.stderr
    # The erased person leaves every experiment they were in, on the run that took their
    # request in: its readouts count one more who left, and nothing else changes.
    joined = {e for e, reason, left_on in world.query(
        "select experiment_id, left_reason, left_on from ml.experiment_assignments "
        f"where customer_key = '{erased_key}'", published=False)
        if reason == "erased" and left_on == DAY}
    assert len(joined) == len(world.query(
        "select 1 from ml.experiment_assignments "
        f"where customer_key = '{erased_key}'", published=False))
    left_after = dict(world.query(
        "select experiment_id || '/' || outcome, left_n from reports.rpt_experiments"))
    assert left_after == {k: n + (k.split("/")[0] in joined) for k, n in left_before.items()}
    # The same content, less the erased person in every table that names people.
    after = published_hashes(world.settings)
    moved = {"reports.rpt_experiments"} if joined else set()
    assert {t: h for t, h in after.items() if t not in keyed | moved} == {
        t: h for t, h in before.items() if t not in keyed | moved}
    for table, count in others.items():
        assert world.query(f"select count(*), count(*) filter (where customer_key = "
                           f"'{erased_key}') from {table}") == [(count, 0)], table
    assert set(after) == set(before) == {
        t for t in suite_tables(world.settings.expectations_dir) if t not in RUN_LOGS
    }
    assert world.query("select count(*) from meta.runs") == [(2,)]
    # The same data gives the same model versions, so the rerun scores with them as they are.
    for model, versions, trained in world.query(
        "select model, count(distinct version), list(trained order by trained) "
        "from ml.model_runs where model <> 'forecast_units' group by model"
    ):
        assert versions == 1, model
        assert trained in ([False, False], [False, True]), model
    loads = world.query(
        "select sha256, count(*) from audit.loads where status = 'loaded' group by sha256 "
        "having count(*) > 1",
        published=False,
    )
    assert loads == []
    assert world.query("select count(distinct run_id) from audit.loads", published=False) == [(1,)]


def test_the_rerun_kept_the_first_build_and_building_again_makes_the_same_tables(world):
    """Nothing the main dbt build reads changed between the two runs above (an erasure is
    taken in by the export), so the second kept the first run's build. Building again with
    reuse switched off writes the same tables: keeping it was exact."""
    first, second = (r for (r,) in world.query(
        "select run_id from meta.runs order by published_at"))
    # The audit kept the verdicts of what the rerun left as it was (tables checked against
    # nothing earlier, export files the erasure did not touch) and validated the rest again.
    audits = dict(world.query(f"select run_id, count(*) from {kept_verdicts.TABLE} "
                              "group by run_id", published=False))
    assert set(audits) == {first, second}, audits

    def kept() -> tuple[str, str]:
        return world.query(f"select run_id, output_key from {reuse.TABLE} "
                           "where step = 'transform'", published=False)[0]

    run_id, output_key = kept()
    assert run_id == first
    again = daily.transform(world.settings, DAY, "again")
    assert again["reused"] == first
    rebuilt = daily.transform(replace(world.settings, reuse=False), DAY, "rebuilt")
    assert "reused" not in rebuilt
    assert rebuilt["status"] == again["status"]
    assert kept() == ("rebuilt", output_key)


def test_a_failing_expectation_stops_publishing_and_keeps_the_last_publication(
    world, tmp_path: Path, smtp_server, webhook_server
):
    before = published_hashes(world.settings)
    runs_before = world.query("select count(*) from meta.runs")
    assets_before = world.asset_events()
    assert assets_before >= 1  # the publishes so far updated the Asset
    published_exports = world.settings.exports_dir / DAY.isoformat()
    exports_before = sorted(p.read_bytes() for p in published_exports.rglob("*") if p.is_file())
    strict = tmp_path / "expectations"
    shutil.copytree(world.settings.expectations_dir, strict)
    suite = json.loads((strict / "dim_customers.json").read_text())
    suite["expectations"].append(
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": 1, "max_value": 10},
            "meta": {"severity": "error"},
        }
    )
    (strict / "dim_customers.json").write_text(json.dumps(suite))

    port, inbox = smtp_server
    url, posted = webhook_server
    failed = world.run_dag(
        MARKETING_EXPECTATIONS_DIR=str(strict),
        AIRFLOW_CONN_MARKETING_ALERTS_SMTP=f"smtp://pipeline:s3cret-pass@127.0.0.1:{port}"
        "?from=pipeline%40shop.example&to=data%40shop.example",
        AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK=json.dumps({"conn_type": "http", "host": url}),
    )

    assert failed.returncode != 0
    # The people who run it are told why, and what analysts and marketers still have.
    (_, mail), = inbox.messages
    assert mail["Subject"].strip() == (
        f"[marketing] {DAY} NOT PUBLISHED: the quality gate blocked publishing")
    body = mail.get_content()
    assert "expect_table_row_count_to_be_between" in body
    assert "Kept: the last publication stays: run manual__" in body
    (post,) = posted
    assert post["text"].splitlines()[0] == mail["Subject"].strip()
    assert "expect_table_row_count_to_be_between" in post["text"]
    assert "s3cret-pass" not in failed.stdout + failed.stderr + body
    assert "expect_table_row_count_to_be_between" in failed.stdout + failed.stderr
    assert published_hashes(world.settings) == before
    assert world.query("select count(*) from meta.runs") == runs_before
    assert world.asset_events() == assets_before  # downstream DAGs are not triggered
    exports_after = sorted(p.read_bytes() for p in published_exports.rglob("*") if p.is_file())
    assert exports_after == exports_before
    recorded = world.query(
        "select count(*) from audit.validations where not success "
        "and expectation_type = 'expect_table_row_count_to_be_between'",
        published=False,
    )
    assert recorded == [(1,)]


def test_the_published_file_is_readable_while_the_work_file_is_held_by_a_writer(world):
    writer = connect(world.settings)  # holds the work file's write lock
    try:
        writer.execute("create or replace table main.lock_probe as select 1 as x")
        reader = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
                "print(con.sql('select count(*) from marts.dim_customers').fetchall()[0][0])",
                str(world.settings.published_db),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert reader.returncode == 0, reader.stderr
        published = world.query("select count(*) from marts.dim_customers")[0][0]
        assert int(reader.stdout.strip()) == published > 0
    finally:
        writer.execute("drop table if exists main.lock_probe")
        writer.close()


def test_docs_serve_answers_on_localhost(world):
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [str(Path(sys.executable).parent / "marketing"), "docs", "--serve",
               "--port", str(port), "--date", DAY.isoformat()]
    server = subprocess.Popen(command, env=world.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        page = ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = answer.read().decode()
                    break
            except OSError:
                time.sleep(1)
        assert 'ng-app="dbt"' in page, f"docs server exited with {server.poll()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/manifest.json", timeout=5) as a:
            assert "model.marketing.dim_customers" in a.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
