"""Alerts to the people who run the pipeline: a run that failed, a publication the quality gate
blocked, checks that passed with warnings. Each says what happened, why, and what was kept.

Configured in one place, Airflow's connections (Admin > Connections in the UI, or environment
variables), so the secrets they hold live where Airflow keeps secrets:

- `marketing_alerts_smtp`: an SMTP server, e.g.
  `AIRFLOW_CONN_MARKETING_ALERTS_SMTP='smtp://user:password@mail.example.com:587?from=pipeline%40example.com&to=data%40example.com,ops%40example.com&starttls=true'`
- `marketing_alerts_webhook`: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat,
  Teams' Slack-compatible connector), which receives `{"text": ...}`, e.g.
  `AIRFLOW_CONN_MARKETING_ALERTS_WEBHOOK='{"conn_type": "http", "host": "https://chat.example.com/hooks/marketing-alerts"}'`

Without either, an alert goes to the task log only. A connection that cannot be reached is
logged (never its password or URL) and does not fail the run a second time.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage

from pipelines.config import Settings

log = logging.getLogger(__name__)

SMTP_CONNECTION = "marketing_alerts_smtp"
WEBHOOK_CONNECTION = "marketing_alerts_webhook"
TIMEOUT_S = 20


@dataclass(frozen=True)
class Alert:
    """`kind`: failure, blocked (the quality gate stopped publishing) or warning."""

    kind: str
    logical_date: date
    headline: str
    details: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        label = {"failure": "FAILED", "blocked": "NOT PUBLISHED", "warning": "warnings"}[self.kind]
        return f"[marketing] {self.logical_date} {label}: {self.headline}"

    def text(self) -> str:
        return "\n".join([self.subject, "", *self.details])


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    login: str | None = None
    password: str | None = None
    starttls: bool = False


def kept(settings: Settings) -> str:
    """What analysts and marketers still have: the last publication, or none."""
    from pipelines.warehouse import last_publication

    try:
        last = last_publication(settings)
    except Exception as error:  # a broken file must not hide the alert itself
        return f"the published warehouse could not be read ({error})"
    if last is None:
        return "nothing has been published yet"
    return (f"the last publication stays: run {last.run_id} for {last.logical_date} in "
            f"{settings.published_db}, with its exports in "
            f"{settings.exports_dir / last.logical_date.isoformat()}")


def send(alert: Alert, smtp: SmtpTarget | None, webhook: str | None) -> list[str]:
    """Send `alert` to each configured target; returns where it went. A target that fails is
    logged and skipped."""
    sent = []
    log.warning("%s", alert.text())
    if smtp is not None:
        try:
            _send_mail(alert, smtp)
            sent.append("email")
        except (OSError, smtplib.SMTPException) as error:
            log.error("alert e-mail to %s:%s not sent: %s", smtp.host, smtp.port,
                      type(error).__name__)
    if webhook:
        try:
            _post(alert, webhook)
            sent.append("webhook")
        except OSError as error:
            log.error("alert webhook not reached: %s", type(error).__name__)
    return sent


def notify(alert: Alert) -> list[str]:
    """Send `alert` to the targets in Airflow's connections (see the module docstring)."""
    return send(alert, smtp_target(), webhook_url())


def _send_mail(alert: Alert, target: SmtpTarget) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message.set_content(alert.text())
    send_mail(message, target)


def send_mail(message: EmailMessage, target: SmtpTarget) -> None:
    """Send `message` through `target` (raises OSError or SMTPException when it cannot)."""
    with smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_S) as server:
        if target.starttls:
            server.starttls()
        if target.login:
            server.login(target.login, target.password or "")
        server.send_message(message)


def _post(alert: Alert, url: str) -> None:
    body = json.dumps({"text": alert.text()}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
        answer.read()


def _connection(conn_id: str):
    """The Airflow connection `conn_id`, or None when it is not defined."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # Airflow raises its own not-found error; any failure means "none"
        return None


def smtp_target() -> SmtpTarget | None:
    conn = _connection(SMTP_CONNECTION)
    if conn is None or not conn.host:
        return None
    extra = conn.extra_dejson
    recipients = extra.get("to") or ""
    if isinstance(recipients, str):
        recipients = [r.strip() for r in recipients.split(",")]
    sender = extra.get("from") or (conn.login if "@" in (conn.login or "") else None)
    if not sender or not recipients:
        log.error("connection %s needs `from` and `to` in its extra; no e-mail sent",
                  SMTP_CONNECTION)
        return None
    return SmtpTarget(
        host=conn.host, port=int(conn.port or 25), sender=sender,
        recipients=tuple(r for r in recipients if r), login=conn.login or None,
        password=conn.password or None,
        starttls=str(extra.get("starttls", "false")).lower() in ("1", "true", "yes"),
    )


def webhook_url() -> str | None:
    conn = _connection(WEBHOOK_CONNECTION)
    if conn is None or not conn.host:
        return None
    if "://" in conn.host:
        return conn.host
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "https"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.lstrip('/')}" if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}"


def for_failure(settings: Settings, logical_date: date, task_id: str,
                error: BaseException | None) -> Alert:
    """The alert for a task that failed for good (no retry left, or none allowed)."""
    from pipelines.quality.gate import QualityGateError

    message = str(error) if error is not None else "see the task log"
    cause = error.__cause__ if error is not None and error.__cause__ else error
    if isinstance(cause, QualityGateError):
        first = message.splitlines()[0] if message else "the quality gate failed"
        return Alert("blocked", logical_date, "the quality gate blocked publishing",
                     [first, *message.splitlines()[1:12], "", f"Kept: {kept(settings)}.",
                      f"What failed: {settings.reports_dir / logical_date.isoformat()}"
                      "/quality/index.html"])
    return Alert("failure", logical_date, f"{task_id} failed",
                 [f"{task_id}: {message.splitlines()[0] if message else ''}",
                  *message.splitlines()[1:12], "", f"Kept: {kept(settings)}."])
