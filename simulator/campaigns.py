"""The campaigns the business ran, read back from the exports the pipeline published, and their
hidden true effect on the saved world's future.

`continue_days` calls `apply_published` before it writes the next days: every Mailchimp or
Meta audience file in `exports/<date>/` (dates up to the world's current end) is a campaign the
business ran. Each person in such a file (mapped back to the true person through the world's
own identifiers: Mailchimp's email, Meta's SHA-256 of the shop's customer id, email or phone,
a value that is not one person's is not used) receives the campaign once, from the first
export date they appear in, for the experiment's `outcome_days` (28 without an experiment).

The hidden effect: per persona and campaign kind (email, meta) a response in orders per 28
days, drawn from the seed (about a third negative), scaled per person (email: their open rate
against the list's; meta: a person-level draw) and per campaign (a draw keyed by the audience
and experiment, so experiments differ). Only customers (a real order before entering) respond
in orders. A positive response r adds Poisson(r * days / 28) orders, each a copy of one of the
person's own earlier baskets; a negative one drops each of their repeat orders in the window
with probability min(0.8, -r * NEGATIVE_SCALE). A Mailchimp campaign is also a send: a
campaign row, and opens and clicks at the person's own rates.

Each campaign is applied to the world as it stands (the counterfactual without it), so the
expected effects of campaigns add up and the truth is exact: for every treated person the
expected change in contract 5's outcomes is computed from the same probabilities and saved in
`state/campaign_people.parquet`, which also marks what was applied (never applied twice).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from simulator import identity_noise
from simulator.engine import ACTIONS, PURCHASE, SESSION_KINDS
from simulator.exports import Tables
from simulator.plan import SEND_HOUR_UTC
from simulator.population import DAY, STAFF, rng_for
from simulator.reference import CHANNELS
from simulator.writers import member_status

logger = logging.getLogger(__name__)

STREAM_CAMPAIGNS = 13
PEOPLE_FILE = "campaign_people.parquet"
KINDS: tuple[str, ...] = ("email", "meta")
PLATFORM_KIND = {"mailchimp": "email", "meta": "meta"}
DEFAULT_OUTCOME_DAYS = 28
EFFECT_DAYS = 28  # responses are stated per 28 days
NEGATIVE_SCALE = 5.0  # a response of -0.1 orders per 28 days drops half the repeat orders
MAX_DROP = 0.8
PROVISIONAL = 10**15  # numbers of the extra orders before the future is renumbered
# Persona responses per kind: Normal(mean, sd) orders per 28 days, drawn once per world.
RESPONSE_MEAN = {"email": 0.05, "meta": 0.03}
RESPONSE_SD = {"email": 0.08, "meta": 0.06}
CAMPAIGN_SD = 0.35  # log-scale spread of one campaign's strength around the persona's
PERSON_SD = 0.5  # log-scale spread of the meta response between people
# The saved tables a campaign changes.
CHANGED_TABLES: tuple[str, ...] = ("orders", "lines", "sessions", "activity", "campaigns",
                                   "attribution", "surveys")  # fmt: skip
DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OUTCOMES: tuple[str, ...] = ("orders", "revenue", "churned", "email_clicks")
DIRECT = CHANNELS.index("direct")
BROWSE = SESSION_KINDS.index("browse")
OPEN, CLICK = ACTIONS.index("open"), ACTIONS.index("click")
PEOPLE_SCHEMA = {
    "campaign": pl.String, "audience": pl.String, "experiment_id": pl.String,
    "platforms": pl.String, "person_id": pl.Int64, "kinds": pl.String,
    "entered_on": pl.Date, "outcome_days": pl.Int64, "applied_from": pl.Date,
    "response": pl.Float64, "orders": pl.Float64, "revenue": pl.Float64,
    "churned": pl.Float64, "email_clicks": pl.Float64,
}  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """One person in one platform's full file of one audience on one export date."""

    audience: str
    experiment_id: str | None
    outcome_days: int
    platform: str
    date: dt.date
    person_id: int


def _key(*parts: object) -> int:
    """A stable 63-bit integer of the parts (for generator seeds)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def persona_responses(seed: int, personas: list[str]) -> dict[tuple[str, str], float]:
    """The hidden response of each persona to each campaign kind (orders per 28 days)."""
    out = {}
    for kind in KINDS:
        for name in sorted(personas):
            rng = rng_for(seed, STREAM_CAMPAIGNS, _key("persona", kind, name) % 2**32)
            out[(name, kind)] = float(rng.normal(RESPONSE_MEAN[kind], RESPONSE_SD[kind]))
    return out


def person_scale(seed: int, people: pl.DataFrame, kind: str) -> np.ndarray:
    """How strongly each person responds relative to their persona (mean about 1): to email
    by how often they open (who never opens is not reached), to ads by a person-level draw."""
    if kind == "email":
        rate = people["open_rate"].to_numpy()
        return np.clip(rate / max(float(rate.mean()), 1e-9), 0.0, 3.0)
    rng = rng_for(seed, STREAM_CAMPAIGNS, _key("person", kind) % 2**32)
    return np.exp(rng.normal(-PERSON_SD**2 / 2, PERSON_SD, people.height))


def campaign_strength(seed: int, campaign: str, kind: str) -> float:
    """One campaign's strength around its personas' responses (log-normal, mean 1)."""
    rng = rng_for(seed, STREAM_CAMPAIGNS, _key("campaign", campaign, kind) % 2**32)
    return float(np.exp(rng.normal(-CAMPAIGN_SD**2 / 2, CAMPAIGN_SD)))


def responses(seed: int, people: pl.DataFrame, kind: str) -> np.ndarray:
    """Every person's response to a campaign of `kind` of average strength (orders per 28
    days; 0 for staff), in people order."""
    table = persona_responses(seed, people["persona"].unique().to_list())
    base = np.array([table[(p, kind)] for p in people["persona"].to_list()])
    staff = people["role"].to_numpy() == STAFF
    return np.where(staff, 0.0, base * person_scale(seed, people, kind))


# ----------------------------------------------------------------- reading the exports
def read_uploads(exports_dir: Path, until: dt.date, people: pl.DataFrame) -> list[Upload]:
    """Every person in a Mailchimp or Meta full file published up to `until`."""
    if not exports_dir.is_dir():
        return []
    lookup = _Lookup(people)
    out: list[Upload] = []
    for day in sorted(p for p in exports_dir.iterdir() if DAY_DIR.match(p.name)):
        date = dt.date.fromisoformat(day.name)
        path = day / "manifest.json"
        if date > until or not path.is_file():
            continue
        manifest = json.loads(path.read_text())
        experiments = _experiments(manifest)
        files: dict[tuple[str, str], list[Path]] = {}
        for f in manifest.get("files", []):
            audience = f.get("audience", f.get("segment"))
            if f.get("kind", "full") != "full" or f.get("platform") not in PLATFORM_KIND:
                continue
            files.setdefault((audience, f["platform"]), []).append(day / f["path"])
        for (audience, platform), paths in sorted(files.items()):
            frame = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(paths)],
                              how="diagonal")  # fmt: skip
            experiment = experiments.get(audience) or {}
            days = int(experiment.get("outcome_days") or DEFAULT_OUTCOME_DAYS)
            for person in lookup.people(platform, frame):
                out.append(Upload(audience, experiment.get("id"), days, platform, date, person))
    return out


def _experiments(manifest: dict) -> dict[str, dict]:
    """The `experiment` entry of each audience the manifest lists (contract 4), by name."""
    entries = manifest.get("audiences") or {}
    if isinstance(entries, list):
        entries = {e.get("name", e.get("audience")): e for e in entries}
    return {name: e["experiment"] for name, e in entries.items()
            if isinstance(e, dict) and e.get("experiment")}  # fmt: skip


class _Lookup:
    """Identifier values that belong to exactly one person, per platform."""

    def __init__(self, people: pl.DataFrame) -> None:
        def unique(cols: list[str], norm: bool) -> dict[str, int]:
            seen: dict[str, set[int]] = {}
            for col in cols:
                values = people.select("person_id", pl.col(col).alias("v")).drop_nulls()
                if norm:
                    values = values.with_columns(pl.col("v").str.strip_chars().str.to_lowercase())
                for pid, v in values.iter_rows():
                    seen.setdefault(v, set()).add(pid)
            return {v: next(iter(ids)) for v, ids in seen.items() if len(ids) == 1}

        emails = ["shop_email", "mc_email", "email", "hs_email"]
        self.email = unique(emails + (["acct2_email"] if "acct2_email" in people.columns
                                      else []), norm=True)  # fmt: skip
        self.external = unique(["h_external_id"], norm=False)
        self.h_email = unique(["h_em"], norm=False)
        self.h_phone = unique(["h_ph"], norm=False)

    def people(self, platform: str, frame: pl.DataFrame) -> list[int]:
        found: list[int] = []
        if platform == "mailchimp":
            for value in frame["Email Address"].to_list():
                pid = self.email.get((value or "").strip().lower())
                if pid is not None:
                    found.append(pid)
        else:
            cols = [(c, m) for c, m in (("external_id", self.external), ("email", self.h_email),
                                        ("phone", self.h_phone)) if c in frame.columns]  # fmt: skip
            for row in frame.select([c for c, _ in cols]).iter_rows():
                pid = next((m[v] for (_, m), v in zip(cols, row, strict=True) if v in m), None)
                if pid is not None:
                    found.append(pid)
        return sorted(set(found))


# ----------------------------------------------------------------- applying
def load_people(state_dir: Path) -> pl.DataFrame:
    """The treated people of every campaign applied so far (empty when none)."""
    path = state_dir / PEOPLE_FILE
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=PEOPLE_SCHEMA)


def apply_published(
    exports_dir: Path, state_dir: Path, tables: Tables, current_end: dt.date, max_day: int
) -> tuple[Tables, int]:
    """Apply every campaign in the published exports not applied yet to the world's future
    (days after `current_end`, up to day index `max_day`); save the treated people beside the
    state. Returns the tables and how many people were newly treated."""
    uploads = read_uploads(exports_dir, current_end, tables.people)
    if not uploads:
        return tables, 0
    done = load_people(state_dir)
    applied = set(zip(done["campaign"].to_list(), done["person_id"].to_list(), strict=True))
    entries: dict[tuple[str, int], dict] = {}
    for u in sorted(uploads, key=lambda u: (u.date, u.audience, u.platform, u.person_id)):
        campaign = f"{u.audience}|{u.experiment_id or ''}"
        if (campaign, u.person_id) in applied:
            continue
        entry = entries.setdefault((campaign, u.person_id), {
            "campaign": campaign, "audience": u.audience, "experiment_id": u.experiment_id,
            "person_id": u.person_id, "entered_on": u.date, "outcome_days": u.outcome_days,
            "platforms": set(),
        })  # fmt: skip
        if u.date == entry["entered_on"]:
            entry["platforms"].add(u.platform)
    if not entries:
        return tables, 0
    new = []
    by_campaign: dict[str, list[dict]] = {}
    for entry in entries.values():
        by_campaign.setdefault(entry["campaign"], []).append(entry)
    for campaign in sorted(by_campaign):
        group = sorted(by_campaign[campaign], key=lambda e: (e["entered_on"], e["person_id"]))
        tables, frame = _apply_campaign(tables, campaign, group, current_end, max_day)
        new.append(frame)
    treated = pl.concat([done, *new], how="vertical_relaxed")
    treated.write_parquet(state_dir / PEOPLE_FILE)
    return tables, sum(f.height for f in new)


def _apply_campaign(
    t: Tables, campaign: str, group: list[dict], current_end: dt.date, max_day: int
) -> tuple[Tables, pl.DataFrame]:
    """Apply one campaign to the people of `group` (one entry date each); returns the
    changed tables and the treated people's rows (PEOPLE_SCHEMA)."""
    w = t.window
    rng = rng_for(t.seed, STREAM_CAMPAIGNS, _key("apply", campaign, current_end) % 2**32)
    people = t.people
    idx = np.array([e["person_id"] for e in group], dtype=np.int64) - 1
    pid = idx + 1
    entered = [e["entered_on"] for e in group]
    days = np.array([e["outcome_days"] for e in group], dtype=np.int64)
    start = w.history_start_ts
    e_day = np.array([w.day_of(d) for d in entered], dtype=np.int64)
    win_lo = start + (e_day + 1) * DAY  # the window (E, E+W] in timestamps [lo, hi)
    win_hi = start + (np.minimum(e_day + days, max_day) + 1) * DAY
    app_lo = np.maximum(win_lo, start + (w.day_of(current_end) + 1) * DAY)
    app_days = np.maximum(0, (win_hi - app_lo) // DAY)
    # An email reaches the people subscribed when it is sent; an ad the people Meta matched.
    in_file = {k: np.array([any(PLATFORM_KIND[p] == k for p in e["platforms"]) for e in group])
               for k in KINDS}  # fmt: skip
    send_ts = app_lo + SEND_HOUR_UTC * 3600
    status = member_status(t.mc_events, int(send_ts.min())).select("person_id", "status")
    subscribed = (pl.DataFrame({"person_id": pid}).join(status, on="person_id", how="left")
                  ["status"].fill_null(-1).to_numpy() == 0)  # fmt: skip
    reached = {"email": in_file["email"] & subscribed & (send_ts < w.reveal_end_ts),
               "meta": in_file["meta"]}  # fmt: skip
    kinds = [[k for k in KINDS if reached[k][i]] for i in range(len(group))]
    strength = {k: campaign_strength(t.seed, campaign, k) for k in KINDS}
    response = sum(np.where(reached[k], responses(t.seed, people, k)[idx] * strength[k], 0.0)
                   for k in KINDS)  # fmt: skip

    orders = t.orders
    live = orders.filter(~pl.col("test") & (pl.col("cancel_ts") < 0))
    first = people.select("person_id", "first_order_ts")
    # Baskets a person may repeat: their own live orders before entering.
    entered_ts = pl.DataFrame({"person_id": pid, "lo": win_lo})
    baskets = (live.join(entered_ts, on="person_id").filter(pl.col("ts") < pl.col("lo"))
               .select("person_id", "order_idx", "total"))  # fmt: skip
    basket_mean = baskets.group_by("person_id").agg(pl.col("total").mean() / 100)
    mean_value = (pl.DataFrame({"person_id": pid}).join(basket_mean, on="person_id", how="left")
                  ["total"].fill_null(0.0).to_numpy())  # fmt: skip
    customer = mean_value > 0
    # The window's orders in the world as it stands: all of them, and the droppable ones.
    window = (
        live.join(pl.DataFrame({"person_id": pid, "lo": win_lo, "hi": win_hi,
                                "alo": app_lo}), on="person_id")
        .filter((pl.col("ts") >= pl.col("lo")) & (pl.col("ts") < pl.col("hi")))
        .join(first, on="person_id", how="left")
        .with_columns(droppable=(pl.col("ts") >= pl.col("alo"))
                      & (pl.col("ts") > pl.col("first_order_ts")),
                      net=(pl.col("total") - pl.col("refund")) / 100)
    )  # fmt: skip
    counts = window.group_by("person_id").agg(
        n=pl.len(), nd=pl.col("droppable").sum(), vd=pl.col("net").filter("droppable").sum()
    )
    c = pl.DataFrame({"person_id": pid}).join(counts, on="person_id", how="left").fill_null(0)
    n_all, n_drop, v_drop = (c["n"].to_numpy(), c["nd"].to_numpy(), c["vd"].to_numpy())

    positive = customer & (response > 0)
    negative = customer & (response < 0)
    lam = np.where(positive, response * app_days / EFFECT_DAYS, 0.0)
    q = np.where(negative, np.minimum(MAX_DROP, -response * NEGATIVE_SCALE), 0.0)
    q = np.where(app_days > 0, q, 0.0)
    exp_orders = lam - q * n_drop
    exp_revenue = lam * mean_value - q * v_drop
    exp_churn = np.where(positive & (n_all == 0), -(1 - np.exp(-lam)), 0.0) + np.where(
        negative & (n_drop > 0) & (n_drop == n_all), q ** np.maximum(n_drop, 1), 0.0
    )

    # Draws: extra orders, dropped orders, the send.
    n_extra = rng.poisson(lam)
    drop_ids = window.filter(pl.col("droppable")).select("person_id", "order_idx")
    q_of = pl.DataFrame({"person_id": pid, "q": q})
    drop_ids = drop_ids.join(q_of, on="person_id").sort("order_idx")
    dropped = drop_ids.filter(pl.Series(rng.random(drop_ids.height)) < drop_ids["q"])
    extra = _extra_orders(rng, baskets, pid, n_extra, app_lo, win_hi)
    t = _rewrite_orders(t, extra, dropped["order_idx"], current_end, rng)

    exp_clicks = np.zeros(len(group))
    if reached["email"].any():
        t, exp_clicks = _send(t, campaign, pid, reached["email"], send_ts, rng)

    frame = pl.DataFrame({
        "campaign": [campaign] * len(group),
        "audience": [e["audience"] for e in group],
        "experiment_id": [e["experiment_id"] for e in group],
        "platforms": [",".join(sorted(e["platforms"])) for e in group],
        "person_id": pid,
        "kinds": [",".join(ks) for ks in kinds],
        "entered_on": entered,
        "outcome_days": days,
        "applied_from": [w.date_of(int((a - start) // DAY)) for a in app_lo],
        "response": response,
        "orders": exp_orders,
        "revenue": exp_revenue,
        "churned": exp_churn,
        "email_clicks": exp_clicks,
    }, schema=PEOPLE_SCHEMA)  # fmt: skip
    logger.info("campaign %s: %d people, %d extra orders, %d dropped, expected lift %.4f "
                "orders per person", campaign, len(group), int(n_extra.sum()), dropped.height,
                float(exp_orders.mean()))  # fmt: skip
    return t, frame


def _extra_orders(
    rng: np.random.Generator,
    baskets: pl.DataFrame,
    pid: np.ndarray,
    n_extra: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> pl.DataFrame:
    """The extra orders: person_id, ts and the order_idx of the basket each copies."""
    who = np.repeat(np.arange(len(pid)), n_extra)
    if not len(who):
        return pl.DataFrame(schema={"person_id": pl.Int64, "ts": pl.Int64,
                                    "template": pl.Int64})  # fmt: skip
    ts = lo[who] + (rng.random(len(who)) * (hi[who] - lo[who])).astype(np.int64)
    own = baskets.group_by("person_id").agg(pl.col("order_idx").sort())
    lists = dict(zip(own["person_id"].to_list(), own["order_idx"].to_list(), strict=True))
    template = [lists[int(pid[i])][int(rng.integers(0, len(lists[int(pid[i])])))] for i in who]
    return pl.DataFrame({"person_id": pid[who], "ts": ts, "template": template})


def _rewrite_orders(
    t: Tables, extra: pl.DataFrame, dropped: pl.Series, current_end: dt.date,
    rng: np.random.Generator,
) -> Tables:  # fmt: skip
    """Add the extra orders (copies of their templates), remove the dropped ones, and
    renumber the future orders in time order (order_idx stays the row position; the orders
    not yet exported get new numbers), updating lines, sessions, attribution and surveys."""
    if not extra.height and not dropped.len():
        return t
    w = t.window
    cut = w.history_start_ts + (w.day_of(current_end) + 1) * DAY
    orders = t.orders
    past = orders.filter(pl.col("ts") < cut)
    n_past = past.height
    future = orders.filter((pl.col("ts") >= cut) & ~pl.col("order_idx").is_in(dropped.implode()))
    tmpl = orders.join(extra.with_row_index("k").rename({"template": "order_idx"}),
                       on="order_idx", how="inner", suffix="_new").sort("k")  # fmt: skip
    new = tmpl.select(
        pl.col("person_id"),
        pl.col("ts_new").alias("ts"),
        ((pl.col("ts_new") - w.history_start_ts) // DAY).cast(pl.Int32).alias("day"),
        pl.lit(DIRECT, pl.Int8).alias("channel"),
        pl.lit(-1, pl.Int16).alias("ad"),
        pl.lit(-1, pl.Int16).alias("camp"),
        "code", "subtotal", "shipping", "tax", "total", "discount",
        pl.lit(0, pl.Int64).alias("refund"),
        pl.lit(-1, pl.Int64).alias("refund_ts"),
        pl.lit(-1, pl.Int64).alias("cancel_ts"),
        (pl.col("ts_new") + 20).alias("paid_ts"),
        (pl.col("ts_new") + DAY).alias("fulfilled_ts"),
        "payment", "method",
        pl.lit(False).alias("test"),
        "email_kind", "accepts",
        pl.lit(False).alias("late"),
        (PROVISIONAL + pl.col("k").cast(pl.Int64)).alias("order_idx"),
        "other_email", "shopify_id",
        # A noisy world's copies are placed as their basket was (account, typed address).
        *[c for c in identity_noise.ORDER_COLUMNS if c in orders.columns],
    )  # fmt: skip
    future = pl.concat([future, new.cast(future.schema)]).sort("ts", "person_id",
                                                                 maintain_order=True)
    remap = future.select(pl.col("order_idx").alias("old"),
                          (n_past + pl.int_range(pl.len())).cast(pl.Int64).alias("new"))
    # Shopify ids keep growing in creation order.
    last_id = int(past["shopify_id"].cast(pl.Int64).max() or 5_100_000_000_000)
    ids = last_id + np.cumsum(rng.integers(1, 2000, future.height))
    future = future.with_columns(order_idx=remap["new"], shopify_id=pl.Series(ids).cast(pl.String))
    orders = pl.concat([past, future])

    def move(frame: pl.DataFrame, col: str, keep_dropped: bool) -> pl.DataFrame:
        """Renumber `col` of a table that points at orders; rows of new orders are added by
        the caller."""
        joined = frame.join(remap.rename({"old": col}), on=col, how="left", maintain_order="left")
        mapped = pl.when(pl.col(col) < n_past).then(pl.col(col)).otherwise(pl.col("new"))
        out = joined.with_columns(mapped.alias(col)).drop("new")
        return out if keep_dropped else out.filter(pl.col(col).is_not_null())

    lines = t.lines
    provisional = (PROVISIONAL + pl.col("k").cast(pl.Int64)).alias("provisional")
    new_lines = (lines.join(tmpl.select("order_idx", provisional), on="order_idx")
                 .with_columns(order_idx=pl.col("provisional")).drop("provisional"))  # fmt: skip
    lines = pl.concat([lines, new_lines.select(lines.columns)])
    lines = move(lines, "order_idx", keep_dropped=False).sort("order_idx", "line_no")
    attribution = t.attribution.filter(~pl.col("order_idx").is_in(dropped.implode()))
    attribution = move(attribution, "order_idx", keep_dropped=True)
    surveys = t.surveys.filter(~pl.col("order_idx").is_in(dropped.implode()))
    surveys = move(surveys, "order_idx", keep_dropped=True)
    sessions = _rewrite_sessions(t.sessions.collect(), remap, dropped, new, lines, n_past, cut,
                                 w.history_start_ts)
    t.orders, t.lines, t.attribution, t.surveys = orders, lines, attribution, surveys
    t.sessions = sessions.lazy()
    return t


def _rewrite_sessions(
    sessions: pl.DataFrame, remap: pl.DataFrame, dropped: pl.Series, new: pl.DataFrame,
    lines: pl.DataFrame, n_past: int, cut: int, start: int,
) -> pl.DataFrame:  # fmt: skip
    """A dropped order's purchase session becomes an abandoned checkout; each extra order gets
    a purchase session on the person's last device and cookie before it; order numbers
    follow the renumbering."""
    gone = pl.col("order_idx").is_in(dropped.implode())
    sessions = sessions.with_columns(
        kind=pl.when(gone).then(pl.lit(BROWSE, pl.Int8)).otherwise(pl.col("kind")),
        cart=pl.col("cart") | gone,
        checkout=pl.col("checkout") | gone,
        order_idx=pl.when(gone).then(pl.lit(-1, pl.Int64)).otherwise(pl.col("order_idx")),
    )
    sessions = sessions.join(remap.rename({"old": "order_idx"}), on="order_idx", how="left",
                             maintain_order="left")  # fmt: skip
    sessions = sessions.with_columns(
        order_idx=pl.when(pl.col("order_idx") < n_past).then(pl.col("order_idx"))
        .otherwise(pl.col("new"))
    ).drop("new")  # fmt: skip
    if new.height:
        mapped = new.join(remap.rename({"old": "order_idx"}), on="order_idx").select(
            "person_id", "ts", pl.col("new").alias("order_idx"))
        main = lines.filter(pl.col("line_no") == 0).select("order_idx", "product_idx")
        last = (sessions.filter(pl.col("ts") < cut).sort("ts")
                .group_by("person_id").agg(pl.all().last()))  # fmt: skip
        uid0 = int(sessions["session_uid"].max() or 0) + 1
        made = (
            mapped.join(last.drop("ts", "order_idx", "product_idx", "day"), on="person_id")
            .join(main, on="order_idx", how="left")
            .sort("ts", "person_id")
            .with_columns(
                session_uid=uid0 + pl.int_range(pl.len(), dtype=pl.Int64),
                ts=pl.col("ts") - 300,
                channel=pl.lit(DIRECT, pl.Int8), ad_idx=pl.lit(-1, pl.Int16),
                camp_idx=pl.lit(-1, pl.Int16), kind=pl.lit(PURCHASE, pl.Int8),
                views_item=pl.lit(True), cart=pl.lit(True), checkout=pl.lit(True),
                n_pages=pl.lit(3, pl.Int16), session_number=pl.col("session_number") + 1,
            )
        )  # fmt: skip
        made = made.with_columns(day=(pl.col("ts") - start) // DAY)
        sessions = pl.concat([sessions, made.select(sessions.columns).cast(sessions.schema)])
    # Sorted by day (the saved file is read by day), then time; past rows keep their order.
    past = sessions.filter(pl.col("ts") < cut)
    future = sessions.filter(pl.col("ts") >= cut).sort("day", "ts", maintain_order=True)
    return pl.concat([past, future])


def _send(
    t: Tables, campaign: str, pid: np.ndarray, reached: np.ndarray, send_ts: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Tables, np.ndarray]:  # fmt: skip
    """A Mailchimp send to the campaign's reached recipients: a campaign row and each one's
    open and click at their own rates. Returns the expected clicks per treated person."""
    w = t.window
    first_send = int(send_ts[reached].min())
    people = t.people
    p_open = people["open_rate"].to_numpy()[pid - 1]
    p_click = np.clip(people["click_rate"].to_numpy()[pid - 1], 0, 1)
    expected = np.where(reached, p_open * p_click, 0.0)
    k = len(pid)
    opened = reached & (rng.random(k) < p_open)
    clicked = opened & (rng.random(k) < p_click)
    # People read at their usual local hour (as the engine's sends): the wait until that hour
    # after the send, give or take 20 minutes. The draws are those an unrelated delay took
    # before, so the rest of the random stream, and every other table, is unchanged.
    jitter = rng.integers(600, 6 * 3600, k)
    hour = people["send_hour_local"].to_numpy()[pid - 1].astype(np.int64)
    target = np.mod((hour - people["gmtoff"].to_numpy()[pid - 1]) * 3600, DAY)
    wait = np.mod(target - np.mod(send_ts, DAY), DAY) + np.mod(jitter, 2400) - 1200
    open_ts = send_ts + np.maximum(60, wait)
    click_ts = open_ts + rng.integers(5, 600, k)
    camp_idx = t.campaigns.height
    title = campaign.split("|")[0].replace("_", " ").capitalize()
    digest = hashlib.sha256(f"{t.seed}|{campaign}|{first_send}".encode()).hexdigest()[:10]
    row = pl.DataFrame({
        "camp_idx": [camp_idx], "title": [title], "subject_line": [f"{title}: picked for you"],
        "variant": [""], "ab_group": [-1], "day": [int((first_send - w.history_start_ts) // DAY)],
        "send_ts": [first_send], "code": [None], "path": ["/"], "lapsed_only": [False],
        "appeal": [1.0], "campaign_id": [digest], "emails_sent": [int(reached.sum())],
    }).cast(t.campaigns.schema)  # fmt: skip
    activity = pl.DataFrame({
        "camp_idx": np.full(int(opened.sum() + clicked.sum()), camp_idx),
        "person_id": np.concatenate([pid[opened], pid[clicked]]),
        "action": np.concatenate([np.full(opened.sum(), OPEN), np.full(clicked.sum(), CLICK)]),
        "ts": np.concatenate([open_ts[opened], click_ts[clicked]]),
    }).cast(t.activity.schema)  # fmt: skip
    cut = int(send_ts.min()) - SEND_HOUR_UTC * 3600
    old = t.activity
    t.campaigns = pl.concat([t.campaigns, row])
    t.activity = pl.concat([
        old.filter(pl.col("ts") < cut),
        pl.concat([old.filter(pl.col("ts") >= cut), activity]).sort("ts", maintain_order=True),
    ])  # fmt: skip
    return t, expected
