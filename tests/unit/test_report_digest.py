"""The weekly digest: the week's actions and each section's headlines, written every run as
an inline-styled HTML body and as text, and e-mailed on the digest weekday as a multipart
message, every value escaped in the HTML part."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pipelines.alerts import SmtpTarget
from pipelines.report.digest import mail_digest, write_digest
from pipelines.report.sections import Action, Section, render_part
from tests.conftest import free_port
from tests.unit.report_inputs import ESCAPED, HOSTILE

MONDAY, TUESDAY = date(2026, 11, 2), date(2026, 11, 3)


def sections() -> list[Section]:
    body = render_part("coverage.html.j2", notes=[])
    return [
        Section(key="winback", title="Who to win back", order=35, html=body,
                actions=(Action(f"Win back 40 customers: {HOSTILE}", "../../exports/x.csv",
                                rank=10),),
                digest=(f"40 customers at risk, {HOSTILE} first",)),
        Section(key="ads", title="Ads", order=60, html=body,
                actions=(Action("Move GBP 40/day to B", "#ads", rank=20),),
                digest=("Spend GBP 1,200 last week", "Move GBP 40/day to B.")),
        Section(key="models", title="Models", order=80, html=body),
    ]


def test_the_digest_lists_actions_by_rank_then_headlines_and_escapes_the_html(tmp_path):
    made = write_digest(tmp_path, MONDAY, sections())
    assert (tmp_path / "digest.txt").read_text() == made.text
    assert (tmp_path / "digest.html").read_text() == made.html
    lines = made.text.splitlines()
    assert lines[0] == "Marketing this week (2026-11-02)"
    assert lines[3] == f"- Win back 40 customers: {HOSTILE} (../../exports/x.csv)"
    assert lines[4] == "- Move GBP 40/day to B (index.html#ads)"
    assert "Who to win back:" in lines and "Models:" not in lines  # no headline, no heading
    assert lines.count("- Move GBP 40/day to B.") == 0  # said once, as the action
    assert "- Spend GBP 1,200 last week" in lines
    assert "<script" not in made.html and made.html.count(ESCAPED) == 2
    assert 'href="index.html#ads"' in made.html and "<style" not in made.html


def target(port: int) -> SmtpTarget:
    return SmtpTarget(host="127.0.0.1", port=port, sender="pipeline@example.com",
                      recipients=("a@example.com", "b@example.com"), login="pipeline",
                      password="s3cret-pass")


def test_the_digest_is_mailed_on_the_digest_weekday_with_both_parts(settings, tmp_path,
                                                                    smtp_server):
    port, inbox = smtp_server
    write_digest(tmp_path, MONDAY, sections())
    assert mail_digest(settings, MONDAY, tmp_path, lambda: target(port)) == (
        "sent to 2 recipients")
    (recipients, mail), = inbox.messages
    assert recipients == ["a@example.com", "b@example.com"]
    assert mail["Subject"] == "Marketing this week (2026-11-02)"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"Win back 40 customers: {HOSTILE}" in text
    assert "<script" not in html and ESCAPED in html


def test_other_days_and_no_server_send_nothing_and_say_why(settings, tmp_path, smtp_server):
    port, inbox = smtp_server
    write_digest(tmp_path, TUESDAY, sections())
    assert mail_digest(settings, TUESDAY, tmp_path, lambda: target(port)) == (
        "not sent: the digest goes out on Mondays")
    tuesdays = replace(settings, digest_weekday=1)
    assert mail_digest(tuesdays, TUESDAY, tmp_path, lambda: None) == (
        "not sent: no SMTP connection configured (marketing_alerts_smtp)")
    assert inbox.messages == []
    closed = target(free_port())  # nothing listens there
    assert mail_digest(tuesdays, TUESDAY, tmp_path, lambda: closed) == (
        "not sent: the SMTP server did not take it (ConnectionRefusedError)")


def test_the_digest_weekday_is_a_weekday_name(monkeypatch):
    import pytest

    from pipelines.config import Settings

    monkeypatch.delenv("MARKETING_DIGEST_WEEKDAY", raising=False)
    assert Settings.from_env().digest_weekday == 0  # Monday
    monkeypatch.setenv("MARKETING_DIGEST_WEEKDAY", " Friday ")
    assert Settings.from_env().digest_weekday == 4
    monkeypatch.setenv("MARKETING_DIGEST_WEEKDAY", "Fri")
    with pytest.raises(ValueError, match="MARKETING_DIGEST_WEEKDAY='fri' must be a weekday"):
        Settings.from_env()
