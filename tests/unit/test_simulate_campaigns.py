"""The simulator closes the loop: published audience files are campaigns whose hidden effect
changes the saved future, exactly as the truth says, once."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.config import Settings
from simulator import campaigns as cp
from simulator import continue_days, simulate, truth_dir
from tests.unit import simworld as sw

END = sw.END
WINDOW = 28
DAY = 86_400


def _publish(home: Path, people: pl.DataFrame, date: dt.date = END) -> pl.DataFrame:
    """An exports folder as the pipeline publishes it: a `winback` audience (two in three
    customer) in a Mailchimp file and, for half of them, a Meta file; an experiment entry
    with a 28-day window; and a CRM file, which is no campaign. Returns the chosen people."""
    chosen = people.filter(pl.col("account_ts") >= 0, pl.col("person_id") % 3 != 0)
    day = home / "exports" / date.isoformat()
    day.mkdir(parents=True)
    chosen.select(pl.col("shop_email").str.to_uppercase().alias("Email Address"),
                  pl.lit("x").alias("First Name"), pl.lit("y").alias("Last Name"),
                  pl.lit("winback").alias("Tags")).write_csv(day / "mc.csv")  # fmt: skip
    meta = chosen.filter(pl.col("person_id") % 4 == 0)
    meta.select(pl.col("h_em").alias("email"), pl.lit(None, pl.String).alias("phone"),
                pl.col("h_external_id").alias("external_id")).write_csv(day / "meta.csv")
    pl.DataFrame({"Record ID": ["1"]}).write_csv(day / "crm.csv")
    files = [
        {"path": "mc.csv", "platform": "mailchimp", "audience": "winback", "kind": "full"},
        {"path": "meta.csv", "platform": "meta", "audience": "winback", "kind": "full",
         "part": 1},
        {"path": "crm.csv", "platform": "crm", "audience": "winback", "kind": "full"},
    ]  # fmt: skip
    experiment = {"id": "winback__h50", "name": "winback", "holdout_share": 0.5,
                  "outcome_days": WINDOW, "treated": chosen.height, "held_out": 0}
    manifest = {"files": files, "audiences": {"winback": {"experiment": experiment}}}
    (day / "manifest.json").write_text(json.dumps(manifest))
    return chosen


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """Three copies of one world: `plain` continued without exports, `crm` with an exports
    folder holding no campaign file, `treated` with the winback audience published."""
    root = tmp_path_factory.mktemp("campaigns")
    base = Settings(home=root / "base")
    simulate(base, scale="xs", seed=11, end_date=END, history_days=200, max_days=40)
    out = {}
    for name in ("plain", "crm", "treated"):
        shutil.copytree(base.home, root / name, symlinks=True)
        out[name] = Settings(home=root / name)
    people = pl.read_parquet(truth_dir(base) / "state" / "people.parquet")
    _publish(out["treated"].home, people)
    crm = out["crm"].home / "exports" / END.isoformat()
    crm.mkdir(parents=True)
    pl.DataFrame({"Record ID": ["1"]}).write_csv(crm / "crm.csv")
    (crm / "manifest.json").write_text(json.dumps({"files": [
        {"path": "crm.csv", "platform": "crm", "audience": "x", "kind": "full"}]}))
    for settings in out.values():
        continue_days(settings, WINDOW + 1)
    return out


def _state(settings: Settings, name: str) -> pl.DataFrame:
    return pl.read_parquet(truth_dir(settings) / "state" / f"{name}.parquet")


def test_without_campaign_files_the_world_is_unchanged(worlds: dict[str, Settings]) -> None:
    plain, crm = (sw.file_hashes(worlds[n].home) for n in ("plain", "crm"))
    ours = {k: v for k, v in crm.items() if not k.startswith("exports/")}
    assert ours == plain
    assert pl.read_parquet(truth_dir(worlds["plain"]) / "experiments.parquet").height == 0


def _future(settings: Settings) -> pl.DataFrame:
    start = int(dt.datetime.combine(END + dt.timedelta(days=1), dt.time(),
                                    dt.UTC).timestamp())  # fmt: skip
    return _state(settings, "orders").filter(pl.col("ts") >= start).select(
        "person_id", "ts", "total", "refund", "test", "cancel_ts")


def test_treated_people_change_as_the_truth_says(worlds: dict[str, Settings]) -> None:
    treated = cp.load_people(truth_dir(worlds["treated"]) / "state")
    people = _state(worlds["treated"], "people")
    chosen = people.filter(pl.col("account_ts") >= 0, pl.col("person_id") % 3 != 0)
    # Every chosen person was found from their file's identifiers, but for an address that
    # several people use (a shared mailbox: whose it is cannot be told); nobody else.
    emails = pl.concat([people.select("person_id", pl.col(c).str.to_lowercase().alias("e"))
                        for c in ("shop_email", "mc_email", "email", "hs_email")]).drop_nulls()
    shared = emails.unique().filter(pl.col("e").is_duplicated())["e"]
    mine = chosen.filter(~pl.col("shop_email").str.to_lowercase().is_in(shared.implode())
                         | (pl.col("person_id") % 4 == 0))
    assert set(mine["person_id"]) <= set(treated["person_id"]) <= set(chosen["person_id"])
    assert mine.height > 0.9 * chosen.height
    kinds = dict(zip(treated["person_id"], treated["kinds"], strict=True))
    assert all("meta" in kinds[p] for p in chosen.filter(pl.col("person_id") % 4 == 0)
               ["person_id"])  # fmt: skip
    before, after = _future(worlds["plain"]), _future(worlds["treated"])
    keys = ["person_id", "ts", "total"]
    added = after.join(before, on=keys, how="anti")
    removed = before.join(after, on=keys, how="anti")
    others = ~pl.col("person_id").is_in(treated["person_id"].implode())
    # Nobody outside the campaign changed.
    assert added.filter(others).height == 0 and removed.filter(others).height == 0
    response = dict(zip(treated["person_id"], treated["response"], strict=True))
    hi = int(dt.datetime.combine(END + dt.timedelta(days=WINDOW + 1), dt.time(),
                                 dt.UTC).timestamp())  # fmt: skip
    # Extra orders only for a positive response, inside the window; drops only for a
    # negative one, never a test or cancelled order.
    assert all(response[p] > 0 for p in added["person_id"])
    assert added["ts"].max() < hi and added.height > 0
    assert all(response[p] < 0 for p in removed["person_id"])
    assert removed.height > 0 and not removed["test"].any()
    assert (removed["cancel_ts"] < 0).all() and removed["ts"].max() < hi
    # The realised change is a draw around the truth's expectation: the extra orders are
    # Poisson with the recorded mean (4 standard deviations), the drops binomial.
    lam = treated.filter(pl.col("response") > 0)["orders"].sum()
    assert abs(added.height - lam) < 4 * np.sqrt(lam) + 1
    drop = -treated.filter(pl.col("response") < 0)["orders"].sum()
    assert abs(removed.height - drop) < 4 * np.sqrt(drop) + 1


def test_true_lift_matches_a_recomputation(worlds: dict[str, Settings]) -> None:
    # From the world without the campaign: each treated person's expected change in orders
    # in (E, E+W] is lambda = r W/28 for r > 0 and -q n for r < 0, with n their live repeat
    # orders in the window and q = min(0.8, -5 r); people who never bought do not respond.
    home = worlds["treated"]
    treated = cp.load_people(truth_dir(home) / "state")
    orders = _state(worlds["plain"], "orders").filter(~pl.col("test"), pl.col("cancel_ts") < 0)
    people = _state(worlds["plain"], "people").select("person_id", "first_order_ts")
    lo = int(dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
    hi = lo + WINDOW * DAY
    n = (orders.filter(pl.col("ts").is_between(lo, hi, closed="left"))
         .join(people, on="person_id").filter(pl.col("ts") > pl.col("first_order_ts"))
         .group_by("person_id").len())  # fmt: skip
    bought = orders.filter(pl.col("ts") < lo)["person_id"].unique()
    frame = treated.join(n, on="person_id", how="left").with_columns(pl.col("len").fill_null(0))
    r = frame["response"].to_numpy()
    customer = frame["person_id"].is_in(bought.implode()).to_numpy()
    q = np.where(r < 0, np.minimum(0.8, -5 * r), 0.0)
    expected = np.where(customer, np.maximum(r, 0) * WINDOW / 28 - q * frame["len"], 0.0)
    truth = pl.read_parquet(truth_dir(home) / "experiments.parquet")
    row = truth.filter(pl.col("outcome") == "orders").row(0, named=True)
    assert row["experiment_id"] == "winback__h50" and row["treated"] == treated.height
    assert row["platforms"] == "mailchimp,meta" and row["started_on"] == END
    assert row["true_lift"] == pytest.approx(float(expected.mean()), rel=1e-9, abs=1e-12)
    assert set(truth["outcome"]) == {"orders", "revenue", "churned", "email_clicks"}


def test_the_send_reaches_the_subscribed_and_shows_in_mailchimp(
    worlds: dict[str, Settings],
) -> None:
    home = worlds["treated"]
    campaigns = _state(home, "campaigns")
    sent = campaigns.filter(pl.col("title") == "Winback")
    assert sent.height == 1
    activity = _state(home, "activity").filter(pl.col("camp_idx") == sent["camp_idx"][0])
    treated = cp.load_people(truth_dir(home) / "state")
    assert activity["person_id"].is_in(treated["person_id"].implode()).all()
    clicks = activity.filter(pl.col("action") == cp.CLICK).height
    expected = treated["email_clicks"].sum()
    assert abs(clicks - expected) < 4 * np.sqrt(expected) + 1
    day = END + dt.timedelta(days=1)
    rows = sw.read_csv(home.landing_dir / "mailchimp" / day.isoformat() / "campaigns.csv")
    assert sent["campaign_id"][0] in set(rows["campaign_id"])


def test_a_campaign_is_applied_once(worlds: dict[str, Settings]) -> None:
    home = worlds["treated"]
    before = {n: _state(home, n) for n in ("orders", "activity", "campaigns")}
    people = cp.load_people(truth_dir(home) / "state")
    continue_days(home, 1)
    assert cp.load_people(truth_dir(home) / "state").equals(people)
    for name, frame in before.items():
        assert _state(home, name).equals(frame), name


def test_opens_come_at_each_readers_hidden_hour(worlds: dict[str, Settings]) -> None:
    """Every send's opens, the engine's and a published campaign's, come at the reader's
    usual local hour (`send_hour_local`, the truth's send_times) but for prefetched opens in
    the first minutes; a send-time model has something to learn."""
    home = worlds["treated"]
    people = _state(home, "people").select("person_id", "send_hour_local", "gmtoff")
    campaigns = _state(home, "campaigns").select("camp_idx", "title", "send_ts")
    opens = (_state(home, "activity").filter(pl.col("action") == cp.OPEN)
             .join(campaigns, on="camp_idx").join(people, on="person_id")
             .filter(pl.col("ts") - pl.col("send_ts") > 2400))  # past any prefetch
    local = (pl.col("ts") + pl.col("gmtoff") * 3600) % DAY / 3600
    off = (local - pl.col("send_hour_local")).abs()
    near = opens.with_columns(near=pl.min_horizontal(off, 24 - off) <= 1)
    winback = near.filter(pl.col("title") == "Winback")
    assert winback.height > 20
    assert winback["near"].mean() > 0.97
    assert near.filter(pl.col("title") != "Winback")["near"].mean() > 0.97
    truth = pl.read_parquet(truth_dir(home) / "send_times.parquet")
    assert truth.columns == ["person_id", "email", "timezone", "best_hour_local"]
    assert truth.join(people, on="person_id").filter(
        pl.col("best_hour_local") != pl.col("send_hour_local")).is_empty()
