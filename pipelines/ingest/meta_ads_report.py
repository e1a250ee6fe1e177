"""Meta Ads Manager's CSV report export, turned into the Insights rows the `meta_ads` source
loads (`ads_insights_*.ndjson`, one JSON object per ad and reporting period).

A shop without access to the Insights API still has Ads Manager: Reports > Export table data
> CSV, at the ad level. Its headers are the column names Ads Manager shows ("Reporting
starts", "Ad ID", "Amount spent (USD)", "Link clicks", "Purchases", "Results" with "Result
indicator"), in whichever set and order the user picked. This module maps them to the
Insights API's field names, so the rows go through the one ingest (ledger, quarantine) and the
one staging model of Meta ads; nothing else in the product knows about the CSV.

The report must name each ad by its id (add the "Ad ID" column): GA4 sessions are matched to
ads by it. Break the report down by day ("Breakdown > By time > Day") for daily figures; a row
of a longer period is reported on its first day. Other breakdowns (age, gender) are kept as
the `age` and `gender` fields when each ad still has one row per period; a report that splits
an ad's period over several rows is refused, since the product reads one row per ad and day.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.ingest.files import BOM, inspect_file

log = logging.getLogger(__name__)

# Ads Manager column (lowercase, currency suffix removed) -> Insights field, kept as text.
TEXT_FIELDS = {
    "account id": "account_id",
    "account name": "account_name",
    "campaign id": "campaign_id",
    "campaign name": "campaign_name",
    "ad set id": "adset_id",
    "ad set name": "adset_name",
    "ad id": "ad_id",
    "ad name": "ad_name",
    "objective": "objective",
    "attribution setting": "attribution_setting",
    "age": "age",
    "gender": "gender",
}
NUMBER_FIELDS = {
    "amount spent": "spend",
    "impressions": "impressions",
    "reach": "reach",
    "frequency": "frequency",
    "clicks (all)": "clicks",
    "link clicks": "inline_link_clicks",
}
# Result columns -> the action type Insights lists them under in `actions`.
ACTION_COLUMNS = {
    "purchases": "purchase",
    "website purchases": "offsite_conversion.fb_pixel_purchase",
    "leads": "lead",
    "website leads": "offsite_conversion.fb_pixel_lead",
    "adds to cart": "add_to_cart",
    "landing page views": "landing_page_view",
}
# Value columns -> the action type Insights lists them under in `action_values`.
VALUE_COLUMNS = {
    "purchases conversion value": "purchase",
    "website purchases conversion value": "offsite_conversion.fb_pixel_purchase",
}
DATE_COLUMNS = ("reporting starts", "reporting ends", "day")
CURRENCY_SUFFIX = re.compile(r"^(.*\S)\s+\(([A-Z]{3})\)$")
# "1,234.56": thousands separated, as a spreadsheet saves a number it formatted.
GROUPED_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
PLAIN_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


class ReportError(ValueError):
    """The report cannot be converted; the message names the file, row and reason."""


@dataclass
class Conversion:
    """What a report became: the file written, its rows, and what was left out."""

    path: Path
    rows: int
    first_day: date
    last_day: date
    currency: str
    summary_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    multi_day_rows: int = 0


def _column_key(header: str) -> tuple[str, str | None]:
    """The lowercase column name without its currency suffix, and the currency."""
    match = CURRENCY_SUFFIX.match(header.strip())
    if match:
        return match.group(1).lower(), match.group(2)
    return header.strip().lower(), None


def _number(text: str, where: str) -> str | None:
    """The cell as Insights writes a number (text, no separators); None when blank."""
    value = text.strip()
    if not value:
        return None
    if GROUPED_NUMBER.match(value):
        value = value.replace(",", "")
    if not PLAIN_NUMBER.match(value):
        raise ReportError(f"{where} is not a number: {text!r}")
    return value


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{where} is not a date (YYYY-MM-DD): {text!r}") from None


def convert_meta_ads_report(
    report: Path, landing_dir: Path, export_date: date | None = None,
    currency: str | None = None,
) -> Conversion:
    """Write `report` (an Ads Manager CSV export) as Insights rows to
    `<landing_dir>/meta_ads/<export date>/ads_insights_<first>_<last>.ndjson`; the export
    date defaults to the report's last day. The same report always gives the same bytes,
    so converting it again loads nothing twice. Raises ReportError naming the file, row and
    reason; nothing is written then."""
    if not report.is_file():
        raise ReportError(f"{report}: no such file")
    encoding = inspect_file(report, "csv").encoding
    with report.open(newline="", encoding=encoding) as fh:
        records = list(csv.reader(fh))
    if not records:
        raise ReportError(f"{report}: the file is empty")
    header = [records[0][0].removeprefix(BOM), *records[0][1:]]
    columns, ignored, currency = _read_header(report, header, currency)

    rows: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    summary_rows = 0
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise ReportError(f"{report} row {line}: {len(record)} fields where the header "
                              f"has {len(header)}")
        cells = {key: record[index].strip() for key, index in columns.items()}
        if not any(cells.get(k) for k in ("ad id", "ad name", "ad set name", "campaign name")):
            summary_rows += 1  # the totals row Ads Manager adds on request
            continue
        where = f"{report} row {line}"
        row = _insights_row(cells, header, columns, where, currency)
        key = (row["ad_id"], row["date_start"])
        if key in seen:
            raise ReportError(
                f"{where}: ad {key[0]} already has a row for {key[1]} (row {seen[key]}); "
                f"export without breakdowns other than Day, one row per ad and period")
        seen[key] = line
        rows.append(row)
    if not rows:
        raise ReportError(f"{report}: the report has no ad rows")

    first = min(date.fromisoformat(r["date_start"]) for r in rows)
    last = max(date.fromisoformat(r["date_stop"]) for r in rows)
    folder = landing_dir / "meta_ads" / (export_date or last).isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"ads_insights_{first:%Y%m%d}_{last:%Y%m%d}.ndjson"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    partial = target.with_name("." + target.name + ".part")  # hidden: ingest skips it
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    multi_day = sum(r["date_stop"] > r["date_start"] for r in rows)
    if multi_day:
        log.warning("%s: %d rows cover more than one day; each is reported on its first day. "
                    "Export with a Day breakdown for daily figures.", report, multi_day)
    return Conversion(target, len(rows), first, last, rows[0]["account_currency"],
                      summary_rows, ignored, multi_day)


def _read_header(report: Path, header: list[str], currency: str | None
                 ) -> tuple[dict[str, int], list[str], str | None]:
    """The known columns by key and place, the others, and the report's currency."""
    known = {*TEXT_FIELDS, *NUMBER_FIELDS, *ACTION_COLUMNS, *VALUE_COLUMNS, *DATE_COLUMNS,
             "results", "result indicator", "currency"}
    columns: dict[str, int] = {}
    currencies: set[str] = set()
    ignored = []
    for index, name in enumerate(header):
        key, named_currency = _column_key(name)
        if key not in known:
            ignored.append(name)
            continue
        if key in columns:
            raise ReportError(f"{report}: the column {name!r} appears more than once")
        columns[key] = index
        if named_currency:
            currencies.add(named_currency)
    if "results" in columns and "result indicator" not in columns:
        # Without the indicator the results cannot be told apart (purchases, leads, clicks).
        ignored.append(header[columns.pop("results")])
    missing = [c for c in ("ad id", "amount spent") if c not in columns]
    if "day" not in columns:
        missing += [c for c in ("reporting starts", "reporting ends") if c not in columns]
    if missing:
        raise ReportError(
            f"{report}: the report lacks the column(s) {missing}; export it at the ad level "
            f"with the Ad ID, Amount spent and reporting dates (or a Day breakdown)")
    if len(currencies) > 1:
        raise ReportError(f"{report}: amounts in several currencies {sorted(currencies)}")
    currency = currency or (currencies.pop() if currencies else None)
    if currency is None and "currency" not in columns:
        raise ReportError(f"{report}: no currency in the headers or a Currency column; "
                          f"give it with --currency")
    return columns, ignored, currency


def _insights_row(cells: dict[str, str], header: list[str], columns: dict[str, int],
                  where: str, currency: str | None) -> dict:
    """One report row as an Insights row: text fields, numbers as text, actions."""
    if not cells["ad id"]:
        raise ReportError(f"{where}: the Ad ID is blank")
    if cells.get("day"):
        start = stop = _day(cells["day"], f"{where}: Day")
    else:
        start = _day(cells.get("reporting starts", ""), f"{where}: Reporting starts")
        stop = _day(cells.get("reporting ends", ""), f"{where}: Reporting ends")
    if stop < start:
        raise ReportError(f"{where}: Reporting ends is before Reporting starts")
    row: dict = {"date_start": start.isoformat(), "date_stop": stop.isoformat()}
    row.update({target: cells[name] for name, target in TEXT_FIELDS.items() if cells.get(name)})
    row["account_currency"] = cells.get("currency") or currency

    def number(name: str) -> str | None:
        return _number(cells[name], f"{where}: {header[columns[name]]!r}") \
            if name in cells else None

    for name, target in NUMBER_FIELDS.items():
        if (value := number(name)) is not None:
            row[target] = value
    row.setdefault("spend", "0")  # Ads Manager leaves the amount blank for no spend
    actions = [{"action_type": t, "value": v} for name, t in ACTION_COLUMNS.items()
               if (v := number(name)) is not None]
    # "Results" count the campaign's goal, named by "Result indicator" (`actions:<type>`),
    # unless a column of its own already gives that action.
    indicator, results = cells.get("result indicator", ""), number("results")
    action_type = indicator.removeprefix("actions:")
    if results is not None and indicator.startswith("actions:") \
            and all(a["action_type"] != action_type for a in actions):
        actions.append({"action_type": action_type, "value": results})
    if actions:
        row["actions"] = actions
    values = [{"action_type": t, "value": v} for name, t in VALUE_COLUMNS.items()
              if (v := number(name)) is not None]
    if values:
        row["action_values"] = values
    return row
