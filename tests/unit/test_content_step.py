"""The generate_content step and `marketing content` on a tiny work file: personas, what they
bought and a Mailchimp history; the step writes ml.content_lines for the day, a rerun writes
the same rows, and a broken brand file stops it with its line."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest

from pipelines import daily
from pipelines.cli import main
from pipelines.config import Settings
from pipelines.content import store
from pipelines.content.brand import BrandFileError
from pipelines.content.generate import FIRST_NAME_TAG

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.delenv("MARKETING_BRAND_FILE", raising=False)
    monkeypatch.delenv("MARKETING_LLM_URL", raising=False)
    monkeypatch.setenv("MARKETING_HOME", str(tmp_path))
    s = Settings(home=tmp_path)
    s.work_db.parent.mkdir(parents=True)
    con = duckdb.connect(str(s.work_db))
    con.execute("create schema marts; create schema ml; create schema staging")
    con.execute("create table marts.fct_order_lines (customer_key varchar, order_date date, "
                "ordered_at timestamp, sku varchar, category varchar, product_name varchar, "
                "quantity integer)")
    con.execute("insert into marts.fct_order_lines values "
                "('c1', '2026-02-20', '2026-02-20', 'KEN', 'Coffee Beans', 'Kenya AA 250g', 3), "
                "('c1', '2026-02-21', '2026-02-21', 'POD', 'Brewing Gear', 'Pour-Over Dripper', "
                "1), ('c2', '2026-02-25', '2026-02-25', 'EG', 'Loose Leaf Tea', 'Earl Grey 100g', "
                "4), ('c2', '2025-01-01', '2025-01-01', 'SB', 'Snacks', 'Shortbread', 9)")
    con.execute("create table marts.dim_customers as select 'c1' as customer_key, "
                "'Anna' as first_name, 'Berg' as last_name")
    con.execute("create table ml.personas as select * from (values ('c1', 1, 'Coffee fans'), "
                "('c2', 2, 'Tea drinkers')) t(customer_key, persona_id, persona_name)")
    con.execute("create table ml.persona_profiles as select * from (values "
                "(1, 'Coffee fans', 'buy beans every 3 weeks'), (2, 'Tea drinkers', "
                "'mostly tea')) t(persona_id, persona_name, what_sets_it_apart)")
    # 30 subjects sent weekly; the first-name tag and a question lift the open rate.
    rng = np.random.default_rng(1)
    con.execute("create table staging.stg_mailchimp__campaigns (campaign_id varchar, "
                "subject_line varchar, emails_sent integer, sent_at timestamp)")
    con.execute("create table marts.fct_email_events (campaign_id varchar, email varchar, "
                "action varchar)")
    words = ["fresh", "roast", "origin", "morning", "beans", "kettle"]
    for i in range(60):
        text = " ".join(rng.choice(words, 3)) + f" {i % 30}"
        text = (f"{FIRST_NAME_TAG}, " if i % 30 < 12 else "") + text + ("?" if i % 3 else "")
        rate = 0.25 + 0.15 * (FIRST_NAME_TAG in text) + 0.05 * text.endswith("?")
        sent = 2000
        con.execute("insert into staging.stg_mailchimp__campaigns values (?, ?, ?, ?)",
                    [f"k{i}", text, sent, dt.datetime(2025, 1, 1) + dt.timedelta(days=7 * i)])
        opened = int(rng.binomial(sent, rate))
        con.execute("insert into marts.fct_email_events select ?, 'p' || i || '@x.example', "
                    "'open' from range(?) t(i)", [f"k{i}", opened])
    con.close()
    return s


def test_the_step_writes_the_days_lines_and_a_rerun_writes_the_same(settings):
    summary = daily.generate_content(settings, DAY, "run-1")
    assert summary["personas"] == 3 and summary["backend"] == "offline"
    assert summary["ranking"]["email_subject"]["model_spearman"] > (
        summary["ranking"]["email_subject"]["length_spearman"])
    with duckdb.connect(str(settings.work_db)) as con:
        first = store.read(con, DAY)
    assert set(first["persona"]) == {"Coffee fans", "Tea drinkers", "all"}
    subjects = first.filter(first["format"] == "email_subject")
    assert subjects["predicted"].null_count() == 0
    assert "open rate model" in subjects["evidence"][0]
    # The best subject carries what the history rewarded.
    best = subjects.filter(subjects["rank"] == 1)["text"].to_list()
    assert all(FIRST_NAME_TAG in t for t in best)
    tea = first.filter(first["persona"] == "Tea drinkers", first["format"] == "product_copy")
    assert tea["text"].str.contains("Earl Grey 100g").all()
    assert not first["text"].str.contains("Shortbread").any()  # bought before the window
    daily.generate_content(settings, DAY, "run-2")
    with duckdb.connect(str(settings.work_db)) as con:
        assert store.read(con, DAY).equals(first)


def test_a_broken_brand_file_stops_the_step_and_the_command(settings, monkeypatch, capsys):
    bad = settings.home / "brand.yml"
    bad.write_text("name: Shop\nurl: [unclosed\n")
    with pytest.raises(BrandFileError, match=rf"{bad} line \d: the brand file does not parse"):
        daily.generate_content(settings, DAY, "run-1")
    assert main(["content", "--date", DAY.isoformat()]) == 1
    assert f"no content: {bad}" in capsys.readouterr().err


def test_the_command_prints_the_lines_asked_with_their_evidence(settings, capsys):
    assert main(["content", "--date", DAY.isoformat(), "--persona", "Tea drinkers",
                 "--goal", "winback", "--format", "email_subject", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "Tea drinkers / winback / email_subject" in out
    assert out.count("why: predicted") == 2 and "Coffee fans" not in out
    assert main(["content", "--date", DAY.isoformat(), "--persona", "Nobody"]) == 1
    assert "no persona named ['Nobody']" in capsys.readouterr().err


def test_the_products_most_recommended_to_a_persona_lead_its_copy(settings):
    with duckdb.connect(str(settings.work_db)) as con:
        con.execute("create table ml.recommendations as select * from (values "
                    "('c2', 1, 'POD'), ('c2', 2, 'EG'), ('c1', 1, 'KEN')) "
                    "t(customer_key, rank, product_id)")
    summary = daily.generate_content(settings, DAY, "run-1")
    assert summary["recommendations_used"] is True
    with duckdb.connect(str(settings.work_db)) as con:
        lines = store.read(con, DAY)
    tea = lines.filter(lines["persona"] == "Tea drinkers", lines["format"] == "product_copy")
    assert tea["text"].str.starts_with("Pour-Over Dripper").any()
    assert not tea["text"].str.contains("Kenya AA 250g").any()
