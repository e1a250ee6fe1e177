"""Placements, creatives and creative fatigue in the simulated Meta Ads export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import simworld as sw

from pipelines.config import Settings
from simulator import continue_days, creative, simulate
from simulator.truth import AD_CREATIVES_FILE, AD_FATIGUE_FILE, AD_PLACEMENTS_FILE

ADDITIVE = ("impressions", "clicks", "inline_link_clicks", "spend")


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.main_world(tmp_path_factory.getbasetemp())


def _insights(paths: list[Path]) -> pl.DataFrame:
    """Every parsable Insights row of `paths` with its file, the additive figures as numbers
    and the purchase and lead actions summed."""
    rows = []
    for path in paths:
        for row in sw.ndjson(path):
            actions = {a["action_type"]: float(a["value"]) for a in row.get("actions", [])}
            values = {a["action_type"]: float(a["value"]) for a in row.get("action_values", [])}
            rows.append({
                "file": f"{path.parent.name}/{path.name.split('_', 2)[-1]}",
                "date": row["date_start"], "ad_id": row["ad_id"],
                "placement": f"{row.get('publisher_platform')}/{row.get('platform_position')}",
                **{k: float(row[k]) for k in ADDITIVE},
                "purchases": actions.get("purchase", 0.0), "leads": actions.get("lead", 0.0),
                "link_click": actions.get("link_click", 0.0),
                "purchase_value": values.get("purchase", 0.0),
            })  # fmt: skip
    return pl.DataFrame(rows)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def test_placement_rows_add_up_to_the_ad_row(w: sw.SimWorld) -> None:
    ads = _insights(sorted(w.landing.glob("meta_ads/*/ads_insights_*.ndjson")))
    placements = _insights(sorted(w.landing.glob("meta_ads/*/placement_insights_*.ndjson")))
    assert placements["placement"].n_unique() == len(creative.PLACEMENTS)
    figures = [*ADDITIVE, "purchases", "leads", "link_click", "purchase_value"]
    summed = placements.group_by("file", "date", "ad_id").agg(pl.col(figures).sum())
    both = ads.join(summed, on=["file", "date", "ad_id"], how="left", suffix="_placements")
    exact = pl.all_horizontal(
        (pl.col(c) - pl.col(f"{c}_placements")).abs() < 0.005 for c in figures  # cents
    )
    # A malformed placement line (a defect the loader quarantines) leaves its ad row short:
    # every other ad row is matched exactly by its placement rows.
    broken = sum(1 for p in w.landing.glob("meta_ads/*/placement_insights_*.ndjson")
                 for line in p.read_text().splitlines() if not _parses(line))  # fmt: skip
    assert both.filter(~exact.fill_null(False)).height <= broken
    assert both.filter(exact).height > 0.99 * ads.height
    # The split follows each placement's true multipliers: cost per impression by placement.
    truth = sw.truth(w, "ad_placements")
    by = placements.group_by("placement").agg(pl.col("spend", "impressions").sum())
    cpm = by.with_columns(cpm=pl.col("spend") / pl.col("impressions")).join(
        truth.select(pl.concat_str("publisher_platform", "platform_position", separator="/")
                     .alias("placement"), "cost_multiplier"), on="placement")  # fmt: skip
    corr = np.corrcoef(cpm["cpm"].to_numpy(), cpm["cost_multiplier"].to_numpy())[0, 1]
    assert corr > 0.9


def test_creative_fields_as_the_marketing_api_lists_them(w: sw.SimWorld) -> None:
    path = w.folder("meta_ads", sw.END) / f"ad_creatives_{sw.END:%Y%m%d}.ndjson"
    ads = [json.loads(line) for line in path.read_text().splitlines()]
    truth = sw.truth(w, "ad_creatives")
    assert sorted(a["id"] for a in ads) == sorted(truth["ad_id"].to_list())
    for ad in ads:
        assert ad["status"] in ("ACTIVE", "PAUSED")
        assert set(ad["creative"]) >= {"id", "title", "body", "call_to_action_type"}
        assert ad["creative"]["call_to_action_type"] in ("SHOP_NOW", "SIGN_UP", "LEARN_MORE")
    ids = dict(zip(truth["ad_id"], truth["creative_id"], strict=True))
    assert all(ids[a["id"]] == a["creative"]["id"] for a in ads)
    # Each continued day lists the ads again, with that day's status.
    for day in (sw.END + dt.timedelta(days=k) for k in range(1, sw.CONTINUED + 1)):
        assert (w.folder("meta_ads", day) / f"ad_creatives_{day:%Y%m%d}.ndjson").exists()


def test_fatigue_truth(w: sw.SimWorld) -> None:
    for name in (AD_PLACEMENTS_FILE, AD_CREATIVES_FILE, AD_FATIGUE_FILE):
        assert (w.truth / name).exists()
    ads = sw.truth(w, "ad_creatives")
    path = sw.truth(w, "ad_fatigue").join(ads.select("ad_id", "is_fatiguing"), on="ad_id")
    fresh = path.filter(~pl.col("is_fatiguing"))
    assert (fresh["ctr_multiplier"] == 1.0).all()
    worn = path.filter(pl.col("is_fatiguing"))
    assert worn.height and worn["ctr_multiplier"].min() < 0.6
    assert worn["ctr_multiplier"].min() >= creative.FATIGUE_FLOOR
    # Within a run the multiplier only falls; a new run starts fresh.
    step = worn.sort("ad_id", "date").with_columns(
        d=pl.col("ctr_multiplier").diff().over("ad_id", "run"),
        first=pl.col("cumulative_frequency") == 0,
    )  # fmt: skip
    assert (step["d"].drop_nulls() <= 1e-12).all()
    assert (step.filter("first")["ctr_multiplier"] == 1.0).all()


def test_fatigue_shows_in_the_reported_ctr(w: sw.SimWorld) -> None:
    ads = _insights(sorted(w.landing.glob("meta_ads/*/ads_insights_*.ndjson")))
    ads = ads.unique(["date", "ad_id"], keep="last")
    path = sw.truth(w, "ad_fatigue").with_columns(pl.col("date").cast(pl.String))
    both = ads.join(path, on=["date", "ad_id"]).with_columns(
        worn=pl.col("ctr_multiplier") < 0.7)
    sums = both.group_by("ad_id", "worn").agg(pl.col("clicks", "impressions").sum())
    fresh = sums.filter(~pl.col("worn")).select(
        "ad_id", ctr=pl.col("clicks") / pl.col("impressions"))
    worn = sums.filter("worn").join(fresh, on="ad_id")
    # Clicks of worn days against what the ads' fresh CTR would have brought, pooled.
    expected = (worn["impressions"] * worn["ctr"]).sum()
    assert worn.height >= 2 and worn["clicks"].sum() < 0.75 * expected


def test_the_rest_of_the_world_is_unchanged(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Placements, creatives and fatigue draw from streams of their own: without fatigue
    (the one thing that reaches an existing file) every existing file is byte for byte what
    it was, and with it only the click figures of fatiguing ads change."""
    homes = {"with": tmp_path / "with", "without": tmp_path / "without"}
    simulate(Settings(home=homes["with"]), scale="xs", seed=3, end_date=sw.END,
             history_days=120, max_days=2)  # fmt: skip
    continue_days(Settings(home=homes["with"]), 2)
    with monkeypatch.context() as m:
        m.setattr(creative, "fatigued_delivery", lambda seed, ads, daily: daily)
        simulate(Settings(home=homes["without"]), scale="xs", seed=3, end_date=sw.END,
                 history_days=120, max_days=2)  # fmt: skip
        continue_days(Settings(home=homes["without"]), 2)
    new, old = (sw.file_hashes(h / "landing") for h in (homes["with"], homes["without"]))
    assert new.keys() == old.keys()
    changed = {k for k in new if new[k] != old[k]}
    assert changed and all("/ads_insights_" in k or "/placement_insights_" in k for k in changed)
    fatiguing = set(sw.truth(sw.SimWorld(Settings(home=homes["with"]), {}, {}), "ad_creatives")
                    .filter("is_fatiguing")["ad_id"])  # fmt: skip
    clicks = ("clicks", "inline_link_clicks", "cpc", "ctr", "actions")
    for key in (k for k in changed if "/ads_insights_" in k):
        lines = [(homes[h] / "landing" / key).read_text().splitlines() for h in homes]
        assert len(lines[0]) == len(lines[1])
        for a, b in zip(*lines, strict=True):
            if a == b:
                continue
            try:
                ra, rb = json.loads(a), json.loads(b)
            except json.JSONDecodeError:  # a malformed-line defect, broken the same way
                continue
            assert ra["ad_id"] in fatiguing
            assert {k for k in ra.keys() | rb.keys() if ra.get(k) != rb.get(k)} <= set(clicks)
            assert int(ra["clicks"]) <= int(rb["clicks"])
