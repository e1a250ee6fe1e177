"""Alerts reach a real SMTP server (aiosmtpd) and a real HTTP webhook receiver on localhost,
configured through Airflow connections; they say why and what was kept, and never leak the
connection's password."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines import alerts
from pipelines.quality.gate import QualityGateError
from pipelines.warehouse import connect, publish
from tests.conftest import free_port

DAY = date(2010, 12, 9)


@pytest.fixture
def connections(monkeypatch, smtp_server, webhook_server):
    port, _ = smtp_server
    url, _ = webhook_server
    monkeypatch.setenv("AIRFLOW_CONN_MARKETING_ALERTS_SMTP",
                       f"smtp://pipeline:s3cret-pass@127.0.0.1:{port}?from=pipeline%40shop.example"
                       "&to=data%40shop.example,ops%40shop.example")
    monkeypatch.setenv("AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK",
                       json.dumps({"conn_type": "http", "host": url}))


def test_a_blocked_publication_is_mailed_and_posted_with_why_and_what_was_kept(
        settings, smtp_server, webhook_server, connections, caplog):
    con = connect(settings)
    con.execute("create schema marts; create table marts.t as select 1 as x")
    con.close()
    publish(settings, ["marts.t"], "run-good", date(2010, 12, 8), {}, {})
    gate = QualityGateError("quality gate failed for run r (2010-12-09): 1 error-severity "
                            "expectation(s) failed; nothing was published.\n"
                            "marts.dim_customers: expect_column_values_to_not_be_null(email)")
    error = RuntimeError("audit: " + str(gate))
    error.__cause__ = gate
    sent = alerts.notify(alerts.for_failure(settings, DAY, "audit", error))
    assert sent == ["email", "webhook"]
    (recipients, mail), = smtp_server[1].messages
    assert recipients == ["data@shop.example", "ops@shop.example"]
    subject = mail["Subject"].strip()
    assert subject == "[marketing] 2010-12-09 NOT PUBLISHED: the quality gate blocked publishing"
    body = mail.get_content()
    assert "expect_column_values_to_not_be_null(email)" in body
    assert "Kept: the last publication stays: run run-good for 2010-12-08" in body
    (posted,) = webhook_server[1]
    assert posted["text"].splitlines()[0] == subject
    assert "s3cret-pass" not in caplog.text + body + posted["text"]


def test_a_failed_task_names_the_task_and_its_error(settings, smtp_server, connections):
    alert = alerts.for_failure(settings, DAY, "transform",
                               RuntimeError("transform: dbt build failed (exit 1):\n"
                                            "test.non_negative_amount: fail: Got 3 results"))
    assert alerts.notify(alert)[0] == "email"
    (_, mail), = smtp_server[1].messages
    assert mail["Subject"].strip() == "[marketing] 2010-12-09 FAILED: transform failed"
    assert "test.non_negative_amount: fail: Got 3 results" in mail.get_content()
    assert "Kept: nothing has been published yet." in mail.get_content()


def test_an_unreachable_target_is_logged_without_its_secret_and_does_not_raise(
        settings, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_MARKETING_ALERTS_SMTP",
                       f"smtp://pipeline:s3cret-pass@127.0.0.1:{free_port()}"
                       "?from=a%40shop.example&to=b%40shop.example")
    monkeypatch.setenv("AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{free_port()}/hook?token=s3cret-tok"}))
    assert alerts.notify(alerts.Alert("warning", DAY, "2 checks failed at warning level")) == []
    assert "not sent" in caplog.text and "not reached" in caplog.text
    assert "s3cret" not in caplog.text


def test_without_connections_an_alert_only_goes_to_the_log(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_MARKETING_ALERTS_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK", raising=False)
    assert alerts.notify(alerts.Alert("warning", DAY, "1 check failed at warning level")) == []
    assert "[marketing] 2010-12-09 warnings: 1 check failed at warning level" in caplog.text
