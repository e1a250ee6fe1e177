"""A small customer audience with known consent groups, written as the warehouse holds it.

The frame has the columns of `marts.dim_customers` the exports read (`phone_e164`,
`hubspot_record_id`, `is_eea`, `ad_storage_consent`, `ccpa_opt_out`, ...), the churn scores,
and the two Google consent signals the ad exports need, `ad_user_data_consent` and
`ad_personalization_consent`, which dim_customers does not carry yet. `phone_raw` (as the person
typed it) is for the tests only and is not written to the warehouse.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.warehouse import connect

# Share of people per group, by position: disjoint, so each is counted under one reason.
GROUPS = (("unsubscribed", 0.10), ("eea_no_consent", 0.05), ("erased", 0.02), ("ccpa", 0.01))
# National formats people type, all for country US.
PHONE_STYLES = ("({a}) {b}-{c}", "{a}-{b}-{c}", "+1 {a} {b} {c}", "{a}.{b}.{c}")


def group_of(i: int, n: int) -> str:
    start = 0
    for name, share in GROUPS:
        end = start + round(share * n)
        if start <= i < end:
            return name
        start = end
    return "ok"


def customer_frame(n: int = 1000, decile: int = 9) -> pl.DataFrame:
    """`n` people, all in churn decile `decile`; groups as in GROUPS, by position.

    - unsubscribed: Mailchimp status unsubscribed, and no ad consent either.
    - eea_no_consent: in the EEA (DE), ad_user_data given but ad_personalization missing; not
      emailable.
    - erased: fine on every consent; `erasure_requests` lists them.
    - ccpa: a CCPA opt-out in California; not emailable.
    - ok: every consent, emailable.
    """
    rows = []
    for i in range(n):
        group = group_of(i, n)
        a, b, c = 200 + i % 700, f"{i % 1000:03d}", f"{i % 10000:04d}"
        eea = group == "eea_no_consent"
        rows.append(
            {
                "customer_key": f"k{i:06d}",
                "email": f" Person{i}@Example.com " if i % 7 == 0 else f"person{i}@example.com",
                "first_name": f"Ann{'é' if i % 5 == 0 else ''}",
                "last_name": f"O'Neil-{chr(97 + i % 26)}",
                "shop_customer_id": str(5000 + i),
                "mailchimp_status": "unsubscribed"
                if group == "unsubscribed"
                else ("nonsubscribed" if group in ("eea_no_consent", "ccpa") else "subscribed"),
                "is_emailable": group in ("ok", "erased"),
                "country_code": "DE" if eea else "US",
                "region_code": None if eea else ("CA" if group == "ccpa" else "NY"),
                "city": "Berlin" if eea else "New York",
                "zip": "10115" if eea else f"{10001 + i % 90:05d}",
                "phone_raw": (
                    f"030 {i:07d}"
                    if eea
                    else PHONE_STYLES[i % len(PHONE_STYLES)].format(a=a, b=b, c=c)
                ),
                "phone_e164": f"+4930{i:07d}" if eea else f"+1{a}{b}{c}",
                "hubspot_record_id": str(90_000 + i),
                "is_eea": eea,
                "ad_storage_consent": group != "unsubscribed",
                "ad_user_data_consent": group != "unsubscribed",
                "ad_personalization_consent": group not in ("unsubscribed", "eea_no_consent"),
                "ccpa_opt_out": group == "ccpa",
                "lifecycle_stage": "customer",
                "lead_status": None,
                "churn_probability": 0.5 + (i % 50) / 100,
                "churn_decile": decile,
                "reason_1": "no order for 120 days",
                "reason_2": "2 orders",
                "reason_3": None,
            }
        )
    return pl.DataFrame(rows)


def erasure_requests(people: pl.DataFrame) -> str:
    """The erasure file for the `erased` group: half by email, half by phone (national form)."""
    n = people.height
    lines = ["email,phone,country"]
    for i, row in enumerate(people.iter_rows(named=True)):
        if group_of(i, n) == "erased":
            if i % 2:
                lines.append(f"{row['email'].strip().upper()},,")
            else:
                lines.append(f',"{row["phone_raw"]}",US')
    return "\n".join(lines) + "\n"


def write_warehouse(settings: Settings, people: pl.DataFrame, path: Path | None = None) -> None:
    """Write `people` as marts.dim_customers, their churn scores as the `churn` rows of
    ml.scores and, when they have a `persona_name`, ml.personas into the work (or given) file."""
    scores = people.select(
        "customer_key",
        pl.lit(date(2026, 10, 31)).alias("as_of_date"),
        pl.lit("churn").alias("model"),
        pl.lit("v1").alias("version"),
        pl.col("churn_probability").alias("score"),
        pl.col("churn_decile").cast(pl.Int32).alias("decile"),
        "reason_1",
        "reason_2",
        pl.col("reason_3").cast(pl.String),
    )
    # Every third person has bought and so has an RFM segment.
    rfm = people.select("customer_key").gather_every(3).with_columns(
        rfm_segment=pl.lit("champions"))
    # phone_raw is how the person typed it (for the tests); the mart holds phone_e164.
    customers = people.drop(
        "churn_probability", "churn_decile", "reason_1", "reason_2", "reason_3", "phone_raw",
        "persona_name", strict=False,
    )
    con = connect(settings, path=path)
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists ml")
        con.register("customers_frame", customers.to_arrow())
        con.register("scores_frame", scores.to_arrow())
        con.execute("create or replace table marts.dim_customers as select * from customers_frame")
        con.execute("create or replace table ml.scores as select * from scores_frame")
        con.register("rfm_frame", rfm.to_arrow())
        con.execute(
            "create or replace table marts.customer_rfm as select * from rfm_frame")
        if "persona_name" in people.columns:
            # As the audience task writes them: a persona for everyone it could place.
            personas = people.filter(pl.col("persona_name").is_not_null()).select(
                "customer_key",
                pl.col("persona_name").rank("dense").cast(pl.Int32).alias("persona_id"),
                "persona_name",
            )
            con.register("personas_frame", personas.to_arrow())
            con.execute("create or replace table ml.personas as select * from personas_frame")
    finally:
        con.close()


def audiences_file(tmp: Path, text: str | None = None) -> Path:
    path = tmp / "audiences.yml"
    path.write_text(
        text
        or (
            "audiences:\n"
            "  - name: churn_risk\n"
            "    rules: [{column: churn_decile, op: '>=', value: 8}]\n"
            "    platforms: [mailchimp, meta, google, crm]\n"
            "    crm: {score: churn_score,\n"
            "          reasons: [churn_reason_1, churn_reason_2, churn_reason_3]}\n"
        )
    )
    return path
