"""Who to win back: the people in the day's win-back file (consent, erasure and holdout already
applied there), the most expected spend first, capped; the action names how many and links
the file."""

from __future__ import annotations

import polars as pl

from pipelines.report import winback
from tests.unit.report_inputs import DAY, ESCAPED, HOSTILE, inputs, text


def customers(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_key": [f"k{i:02d}" for i in range(n)],
        "first_name": [HOSTILE] + [f"Ann{i}" for i in range(1, n)],
        "last_name": ["Lee"] * n,
        "email": [f"Person{i}@Example.com" for i in range(n)],
        "phone_e164": [None] * n, "shop_customer_id": [str(i) for i in range(n)],
        "country_code": ["GB"] * n, "revenue": [100.0 + i for i in range(n)],
        "orders_count": [1] * n, "is_emailable": [True] * n,
    })


def scores(n: int) -> pl.DataFrame:
    keys = [f"k{i:02d}" for i in range(n)]
    return pl.DataFrame({
        "customer_key": keys * 2, "model": ["churn"] * n + ["ltv"] * n,
        "score": [0.9] * n + [float(10 * i) for i in range(n)],
        "decile": [9] * n + [5] * n,
        "reason_1": ["1 visit in 90 days"] * n * 2, "reason_2": [HOSTILE] * n * 2,
        "reason_3": [None] * n * 2,
    })


def export(settings, emails: list[str], audience: str = "high_value_at_risk") -> dict:
    path = f"mailchimp/{audience}.csv"
    target = settings.exports_dir / DAY.isoformat() / path
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"Email Address": emails, "First Name": ["x"] * len(emails)}).write_csv(target)
    return {"files": [
        {"audience": audience, "platform": "mailchimp", "kind": "adds", "rows": 2,
         "path": f"mailchimp/{audience}__adds.csv"},
        {"audience": audience, "platform": "mailchimp", "kind": "full", "rows": len(emails),
         "path": path},
    ]}


def test_the_action_links_the_file_and_the_page_names_only_its_people(settings):
    n = 30
    # Everyone is at risk, but k29 and k28 (the most expected spend) are held out of the file.
    in_file = [f"person{i}@example.com" for i in range(n - 2)]
    tables = {"marts.dim_customers": customers(n), "ml.scores": scores(n)}
    part = winback.section(inputs(settings, tables, manifest=export(settings, in_file)))
    action, = part.actions
    assert action.text == "Win back 28 high-value customers at risk"
    assert action.link == "../../exports/2026-10-31/mailchimp/high_value_at_risk.csv"
    assert action.rank == 10
    page = text(part.html)
    assert "Ann29" not in page and "Ann28" not in page  # held out: never named to contact
    names = [f"Ann{i} Lee" for i in range(27, 12, -1)]  # 15, most expected spend first
    assert all(name in page for name in names) and "Ann12 Lee" not in page
    assert page.index("Ann27 Lee") < page.index("Ann26 Lee")
    assert "<script" not in part.html and ESCAPED in part.html
    assert part.digest == ("Win back 28 high-value customers at risk: the 15 with the most "
                           "expected spend are named in the report, the rest are in the file.",)


def test_one_person_is_one_customer_and_the_wider_audience_stands_in(settings):
    tables = {"marts.dim_customers": customers(3), "ml.scores": scores(3)}
    manifest = export(settings, ["person2@example.com"], audience="churn_risk")
    part = winback.section(inputs(settings, tables, manifest=manifest))
    assert part.actions[0].text == "Win back 1 customer at risk"
    assert part.digest == ()  # everyone in the file is named: the action says it all
    assert "Ann2 Lee" in text(part.html) and "Ann1 Lee" not in text(part.html)


def test_without_a_file_the_riskiest_are_listed_and_no_action_is_made(settings):
    tables = {"marts.dim_customers": customers(3), "ml.scores": scores(3)}
    part = winback.section(inputs(settings, tables))
    assert part.actions == () and "no win-back file was exported today" in text(part.html)
    assert winback.section(inputs(settings, {"marts.dim_customers": customers(3)})) is None
