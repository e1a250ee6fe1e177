"""The exports section: per platform a short list of the day's audiences (people in the file,
who was held back and why, the file to upload), the manifest's warnings, and every file's
path collapsed for those who need them."""

from __future__ import annotations

from pipelines.report.sections import ReportInputs, Section, render_part
from pipelines.report.winback import report_link

TITLE = "Exports ready to upload"

PLATFORMS = {"mailchimp": "Mailchimp", "meta": "Meta", "google": "Google Ads",
             "crm": "CRM (HubSpot)"}

# Why people were held back of a file (pipelines/activation/consent.py's reasons).
REASONS = {
    "erasure_request": "asked to be erased",
    "no_email": "no e-mail address",
    "unsubscribed": "unsubscribed",
    "cleaned": "address bounced (cleaned)",
    "invalid_email": "address not valid",
    "no_email_consent": "no consent to e-mail",
    "ccpa_opt_out": "opted out of sharing (CCPA)",
    "eea_without_consent": "in the EEA or UK without ad consent",
    "no_ad_consent": "no ad consent",
    "no_email_or_phone": "no e-mail or phone",
    "no_record_id": "no CRM record",
    "no_storage_consent": "no storage consent",
}


def people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def held_back(suppressed: dict[str, int], holdout: int) -> str:
    """"12 people: 10 no consent to e-mail, 2 unsubscribed; 5 held out to measure the
    campaign", or "nobody"."""
    counts = [(REASONS.get(k, k.replace("_", " ")), v) for k, v in suppressed.items() if v]
    parts = []
    if counts:
        total = sum(v for _, v in counts)
        parts.append(f"{people(total)}: " + ", ".join(
            f"{v:,} {why}" for why, v in sorted(counts, key=lambda c: (-c[1], c[0]))))
    if holdout:
        parts.append(f"{holdout:,} held out to measure the campaign")
    return "; ".join(parts) or "nobody"


def platform_lists(inputs: ReportInputs) -> list[dict]:
    """Per platform, its audiences' full files: people, held back and the file link (the
    first part where a platform takes parts)."""
    manifest = inputs.manifest
    experiments = {name: (entry.get("experiment") or {}).get("held_out", 0)
                   for name, entry in (manifest.get("audiences") or {}).items()}
    grouped: dict[str, dict[str, dict]] = {}
    for entry in manifest.get("files", []):
        if entry.get("kind") != "full" or entry.get("platform") not in PLATFORMS:
            continue
        rows = grouped.setdefault(entry["platform"], {})
        audience = entry["audience"]
        row = rows.setdefault(audience, {"audience": audience, "people": 0, "files": [],
                                         "held_back": held_back(entry.get("suppressed") or {},
                                                                experiments.get(audience, 0))})
        row["people"] += entry["rows"]
        row["files"].append(report_link(inputs, entry["path"]))
    return [{"platform": PLATFORMS[p], "audiences": sorted(rows.values(),
                                                            key=lambda r: r["audience"])}
            for p, rows in sorted(grouped.items(), key=lambda kv: list(PLATFORMS).index(kv[0]))]


def section(inputs: ReportInputs) -> Section | None:
    files = inputs.manifest.get("files", [])
    warnings = inputs.manifest.get("warnings", [])
    if not files and not warnings:
        return None
    paths = [{"path": f["path"], "link": report_link(inputs, f["path"]), "rows": f["rows"]}
             for f in files]
    return Section(key="exports", title="Exports ready to upload", order=99,
                   html=render_part("exports.html.j2", platforms=platform_lists(inputs),
                                    warnings=warnings, paths=paths, people=people))
