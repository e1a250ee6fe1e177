"""How often the chosen send hour is right: the share of contacts whose `best_hour_local` is
within one hour (on the 24-hour circle) of the hour they really read email at, for contacts
with many opens and for the thinner ones. The true hours come from outside the pipeline (a
synthetic world's truth, or a send-time test); the bench harness reads them and calls this."""

from __future__ import annotations

import polars as pl

THICK_OPENS = 10.0  # "contacts with 10 or more opens"
TOLERANCE_HOURS = 1


def circular_distance(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Hours between two hours of the day the short way round (0-12)."""
    d = (a - b).abs() % 24
    return pl.min_horizontal(d, 24 - d)


def hour_accuracy(send_times: pl.DataFrame, emails: pl.DataFrame, truth: pl.DataFrame,
                  raw_opens: pl.DataFrame | None = None) -> dict:
    """Accuracy of `send_times` (ml.send_times rows: customer_key, best_hour_local, opens,
    evidence) against `truth` (email, best_hour_local), matched through `emails`
    (customer_key, email; lowercased before matching). Returns per group (`thick`: opens >= 10
    in the table's weighted count, `thin`: fewer, `no_opens`) the contacts, the share within one
    hour and the share exactly right; with `raw_opens` (customer_key, raw_opens: every open
    event, machine ones included) the same split by raw opens too (`raw_thick`, `raw_thin`)."""
    matched = (
        send_times.join(emails.select("customer_key", pl.col("email").str.to_lowercase()),
                        on="customer_key")
        .join(truth.select(pl.col("email").str.to_lowercase(),
                           pl.col("best_hour_local").alias("true_hour")), on="email")
        .unique("customer_key")
        .with_columns(off=circular_distance(pl.col("best_hour_local"), pl.col("true_hour")))
    )
    if raw_opens is not None:
        matched = matched.join(raw_opens, on="customer_key", how="left").with_columns(
            pl.col("raw_opens").fill_null(0))
    groups = {
        "all": pl.lit(True),
        "thick": pl.col("opens") >= THICK_OPENS,
        "thin": (pl.col("opens") < THICK_OPENS) & (pl.col("opens") > 0),
        "no_opens": pl.col("opens") == 0,
    }
    if raw_opens is not None:
        groups["raw_thick"] = pl.col("raw_opens") >= THICK_OPENS
        groups["raw_thin"] = pl.col("raw_opens") < THICK_OPENS
    out = {}
    for name, condition in groups.items():
        part = matched.filter(condition)
        out[name] = {
            "contacts": part.height,
            "within_1h": round(float((part["off"] <= TOLERANCE_HOURS).mean()), 4)
            if part.height else None,
            "exact": round(float((part["off"] == 0).mean()), 4) if part.height else None,
        }
    return out


def rival_hours(contacts: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """The simple rivals' hours per contact (customer_key, `list`, `persona`, `naive`), from
    the same inputs as `sendtime.best_send_times`: `list`, the hour most reads of the whole list
    fall in (one send time for everyone, what a shop does without the model); `persona`, the
    hour most reads of the contact's persona fall in (the persona card's rule: reads in the
    prefetch window left out), the list's without a persona; `naive`, the hour the contact
    opened or clicked in most often, every event counted alike (the list's without any)."""
    from pipelines.personalize.sendtime import PREFETCH_SECONDS, local_parts, with_zones

    zoned = with_zones(contacts.unique("customer_key"))
    local = local_parts(events.with_columns(delay=(pl.col("action_at") - pl.col("sent_at"))
                                            .dt.total_seconds()), "action_at", zoned)

    def mode(frame: pl.DataFrame, by: list[str], name: str) -> pl.DataFrame:
        counted = frame.group_by(*by, "local_hour").len()
        order = [False] * len(by) + [True, False]  # most reads, then the earlier hour
        return (counted.sort([*by, "len", "local_hour"], descending=order)
                .group_by(by, maintain_order=True).agg(pl.col("local_hour").first().alias(name)))

    list_hour = mode(local.with_columns(all=pl.lit(1)), ["all"], "list")["list"][0]
    human = local.filter(pl.col("delay").is_null() | (pl.col("delay") >= PREFETCH_SECONDS)
                         | (pl.col("action") == "click"))
    personas = mode(human.join(zoned.select("customer_key", "persona_name"), on="customer_key")
                    .filter(pl.col("persona_name").is_not_null()), ["persona_name"], "persona")
    naive = mode(local, ["customer_key"], "naive")
    return (zoned.select("customer_key", "persona_name")
            .join(personas, on="persona_name", how="left")
            .join(naive, on="customer_key", how="left")
            .select("customer_key", pl.lit(list_hour, pl.Int32).alias("list"),
                    pl.col("persona").fill_null(list_hour).cast(pl.Int32),
                    pl.col("naive").fill_null(list_hour).cast(pl.Int32)))
