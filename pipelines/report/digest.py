"""The weekly digest: this week's actions and each section's headline sentences, as a short
inline-styled HTML e-mail body (every value escaped) and as plain text. Written beside the
report every run (`reports/<date>/digest.html`, `digest.txt`); the report step e-mails it on
the digest weekday when an SMTP target is configured."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from pipelines.alerts import SmtpTarget, send_mail, smtp_target
from pipelines.config import WEEKDAYS, Settings
from pipelines.report.sections import Action, Section, actions, render_part

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    html: str


def _link(action: Action) -> str | None:
    """The action's link from the digest's folder (the report's): a section anchor points into
    the report file."""
    if action.link is None:
        return None
    return f"index.html{action.link}" if action.link.startswith("#") else action.link


def digest(logical_date: date, sections: list[Section]) -> Digest:
    """The digest of a report built from `sections` (in page order)."""
    todo = [{"text": a.text, "link": _link(a)} for a in actions(sections)]
    # A section's headline that only repeats one of its actions is said once, as the action.
    said = {a["text"].rstrip(".") for a in todo}
    headlines = [{"title": s.title, "lines": lines} for s in sections
                 if (lines := [line for line in s.digest if line.rstrip(".") not in said])]
    subject = f"Marketing this week ({logical_date.isoformat()})"
    text = [subject, "", "This week:"]
    text += [f"- {a['text']}" + (f" ({a['link']})" if a["link"] else "") for a in todo] or [
        "- nothing needs doing"]
    for h in headlines:
        text += ["", f"{h['title']}:", *(f"- {line}" for line in h["lines"])]
    text += ["", "The full report: index.html in the report folder for this date."]
    html = render_part("digest.html.j2", subject=subject, actions=todo, headlines=headlines)
    return Digest(subject=subject, text="\n".join(text) + "\n", html=str(html))


def write_digest(folder: Path, logical_date: date, sections: list[Section]) -> Digest:
    """Write `digest.html` and `digest.txt` into the report's folder; return the digest."""
    made = digest(logical_date, sections)
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in (("digest.html", made.html), ("digest.txt", made.text)):
        tmp = folder / f"{name}.tmp"
        tmp.write_text(body)
        tmp.replace(folder / name)
    return made


def message(made: Digest, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """The digest as a multipart/alternative e-mail: plain text, then HTML."""
    mail = EmailMessage()
    mail["Subject"] = made.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail.set_content(made.text)
    mail.add_alternative(made.html, subtype="html")
    return mail


def read_digest(folder: Path) -> Digest:
    """The digest written into a report folder (its subject is the text's first line)."""
    text = (folder / "digest.txt").read_text()
    return Digest(subject=text.split("\n", 1)[0], text=text,
                  html=(folder / "digest.html").read_text())


def mail_digest(settings: Settings, logical_date: date, folder: Path,
                find_target: Callable[[], SmtpTarget | None] = smtp_target) -> str:
    """E-mail the digest in `folder` to the SMTP target `find_target` gives (Airflow's
    alerts connection by default) on the digest weekday; returns what happened,
    in words, for the step's summary. A server that cannot be reached is logged and said, and
    does not fail the run (the report and digest files are written)."""
    day = WEEKDAYS[settings.digest_weekday].capitalize()
    if logical_date.weekday() != settings.digest_weekday:
        return f"not sent: the digest goes out on {day}s"
    target = find_target()
    if target is None:
        return "not sent: no SMTP connection configured (marketing_alerts_smtp)"
    try:
        send_mail(message(read_digest(folder), target.sender, target.recipients), target)
    except (OSError, smtplib.SMTPException) as error:
        log.error("digest e-mail to %s:%s not sent: %s", target.host, target.port,
                  type(error).__name__)
        return f"not sent: the SMTP server did not take it ({type(error).__name__})"
    count = len(target.recipients)
    return f"sent to {count} recipient{'s' if count != 1 else ''}"
