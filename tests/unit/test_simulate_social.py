"""The simulated social media source (`simulator.social`): files as in the contract
(`simulator/SOCIAL_FORMATS.md`), consistent metrics, hidden theme affinities that show in the
engagement, customer links, daily exports, and no change to any other source's bytes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import simworld as sw

from pipelines.config import Settings
from simulator import continue_days, simulate, social
from simulator.exports import Exporter

FILES = {social.FB_POSTS_FILE, social.IG_POSTS_FILE, social.COMMENTS_FILE,
         social.REACTIONS_FILE, social.MESSAGES_FILE, social.AUDIENCE_FILE}  # fmt: skip
FB_COMMENT_KEYS = {"platform", "id", "post_id", "message", "created_time", "from", "like_count"}
IG_COMMENT_KEYS = {"platform", "id", "media", "text", "timestamp", "username", "from",
                   "like_count"}  # fmt: skip
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> sw.SimWorld:
    return sw.main_world(tmp_path_factory.getbasetemp())


def _posts(path: Path) -> tuple[list[str], list[list[str]]]:
    assert path.read_bytes().startswith(social.BOM)
    header, rows = sw.csv_rows(path)
    return [header[0].removeprefix("\ufeff"), *header[1:]], rows


def _clean(header: list[str], rows: list[list[str]]) -> list[dict[str, str]]:
    """Rows with the right field count and numeric metrics (defect rows left out)."""
    metrics = header[header.index("Views"):]
    out = [dict(zip(header, r, strict=True)) for r in rows if len(r) == len(header)]
    return [r for r in out if all(r[m].isdigit() for m in metrics)]


def _lines(path: Path) -> list[dict]:
    return list(sw.ndjson(path))


def test_files_match_the_contract(w: sw.SimWorld) -> None:
    for day in (sw.END, sw.END + dt.timedelta(days=1)):
        folder = w.folder("social", day)
        assert {p.name for p in folder.iterdir()} == FILES
    folder = w.folder("social")
    header, rows = _posts(folder / social.FB_POSTS_FILE)
    assert tuple(header) == social.FB_POST_COLUMNS
    assert any("\n" in r[4] for r in rows) and any("," in r[4] for r in rows)  # captions
    fb = _clean(header, rows)
    assert {r["Post type"] for r in fb} == set(social.FB_FORMATS)
    assert all(len(r["Post ID"]) in (15, 16) and r["Date"] == "Lifetime" for r in fb)
    assert all(dt.datetime.strptime(r["Publish time"], "%m/%d/%Y %H:%M") for r in fb)
    assert all(bool(r["Duration (sec)"]) == (r["Post type"] in ("Videos", "Reels")) for r in fb)
    assert all("#" in r["Description"] for r in fb)
    # A comment may be on a post whose row is a defect (a metric that is no number).
    fb_ids = {r[0] for r in rows if len(r) == len(header)}
    header, rows = _posts(folder / social.IG_POSTS_FILE)
    assert tuple(header) == social.IG_POST_COLUMNS
    ig = _clean(header, rows)
    ig_ids = {r[0] for r in rows if len(r) == len(header)}
    assert {r["Post type"] for r in ig} == set(social.IG_FORMATS)
    assert all(len(r["Post ID"]) in (17, 18) for r in ig)

    comments = _lines(folder / social.COMMENTS_FILE)
    page_id = fb[0]["Page ID"]
    for c in comments:
        keys = set(c) - {"customer"}
        if c["platform"] == "facebook":
            assert keys == FB_COMMENT_KEYS and set(c["from"]) == {"id", "name"}
            post = c["post_id"].removeprefix(f"{page_id}_")
            assert post in fb_ids and c["id"].startswith(f"{post}_")
            dt.datetime.strptime(c["created_time"], GRAPH_TIME)
        else:
            assert keys == IG_COMMENT_KEYS and c["from"]["username"] == c["username"]
            assert c["media"]["id"] in ig_ids and len(c["id"]) == 18
            dt.datetime.strptime(c["timestamp"], GRAPH_TIME)
        assert set(c.get("customer", {})) <= {"email", "hubspot_record_id"}
    assert {c["platform"] for c in comments} == {"facebook", "instagram"}
    reactions = _lines(folder / social.REACTIONS_FILE)
    assert reactions and all(set(r) == {"post_id", "id", "name", "type", "created_time"}
                             and r["type"] in social.REACTIONS for r in reactions)  # fmt: skip
    messages = _lines(folder / social.MESSAGES_FILE)
    assert messages and all(m["conversation_id"].startswith("t_") and m["id"].startswith("m_")
                            for m in messages)  # fmt: skip
    page_lines = [m for m in messages if m["from"]["id"] in (page_id, ig[0]["Account ID"])]
    assert page_lines and len(page_lines) < len(messages)  # both directions
    audience = _lines(folder / social.AUDIENCE_FILE)
    assert [a["name"] for a in audience] == ["page_fans_gender_age", "page_fans_city",
                                             "page_fans_country", *["follower_demographics"] * 4]
    assert [a.get("breakdown") for a in audience[3:]] == ["age", "gender", "city", "country"]
    ages = audience[0]["values"][0]["value"]
    assert all(k.split(".")[0] in social.GENDERS and k.split(".")[1] in social.AGE_BANDS
               for k in ages)  # fmt: skip
    assert sum(ages.values()) == sum(audience[2]["values"][0]["value"].values())


def test_metrics_are_consistent(w: sw.SimWorld) -> None:
    folder = w.folder("social")
    fb = _clean(*_posts(folder / social.FB_POSTS_FILE))
    ig = _clean(*_posts(folder / social.IG_POSTS_FILE))
    for r in fb + ig:
        assert int(r["Views"]) >= int(r["Reach"]) >= 0
    for r in fb:
        assert int(r["Reactions, Comments and Shares"]) == sum(
            int(r[k]) for k in ("Reactions", "Comments", "Shares"))
        assert int(r["Total clicks"]) == int(r["Link clicks"]) + int(r["Other clicks"])
        assert int(r["Reach"]) >= int(r["Reactions"])
    comments = {c["id"]: c for c in _lines(folder / social.COMMENTS_FILE)
                if c["platform"] == "facebook"}  # fmt: skip
    per_post = Counter(c["post_id"].split("_")[1] for c in comments.values())
    in_csv = {r["Post ID"]: int(r["Comments"]) for r in fb}
    assert sum(per_post.values()) > 20
    assert all(in_csv[p] >= n for p, n in per_post.items() if p in in_csv)
    reactions = {(r["post_id"], r["id"]) for r in _lines(folder / social.REACTIONS_FILE)}
    per_post = Counter(p.split("_")[1] for p, _ in reactions)
    assert all(int(r["Reactions"]) >= per_post[r["Post ID"]] for r in fb)
    # A few % of reach engage.
    reach = sum(int(r["Reach"]) for r in fb)
    assert 0.01 < sum(int(r["Reactions"]) for r in fb) / reach < 0.15
    # Lifetime totals grow: a post in the next day's file has totals at least as high.
    nxt = {r["Post ID"]: r for r in _clean(*_posts(
        w.folder("social", sw.END + dt.timedelta(days=1)) / social.FB_POSTS_FILE))}
    common = [r for r in fb if r["Post ID"] in nxt]
    assert common
    for r in common:
        for k in ("Views", "Reach", "Reactions", "Comments", "Shares"):
            assert int(nxt[r["Post ID"]][k]) >= int(r[k])


def test_truth_tables(w: sw.SimWorld) -> None:
    posts = sw.truth(w, "social_posts")
    assert posts.columns == ["platform", "post_id", "theme", "format", "product",
                             "published_at"]  # fmt: skip
    assert set(posts["theme"]) == set(social.THEMES)
    weeks = (sw.CONTINUED + 365) / 7
    counts = dict(posts.group_by("platform").len().iter_rows())
    assert 3 * weeks < counts["facebook"] < 5 * weeks
    assert 4 * weeks < counts["instagram"] < 6 * weeks
    affinity = sw.truth(w, "social_theme_affinity")
    assert affinity.columns == ["persona", "theme", "multiplier", "is_favourite"]
    assert affinity.height == 7 * len(social.THEMES)
    per_persona = affinity.group_by("persona").agg(pl.col("is_favourite").sum())
    assert per_persona["is_favourite"].to_list() == [1] * 7
    favourite = dict(affinity.filter("is_favourite").select("persona", "theme").iter_rows())
    assert favourite["bargain_hunter"] == "sale" and favourite["office_buyer"] == "how_to"
    authors = sw.truth(w, "social_authors")
    assert {"platform", "user_id", "username", "name", "person_id"} <= set(authors.columns)
    assert authors["person_id"].null_count() > 0 and authors["person_id"].drop_nulls().len() > 0
    assert authors.select(pl.struct("platform", "user_id").is_unique().all()).item()


def test_each_persona_engages_most_with_its_favourite_theme(w: sw.SimWorld) -> None:
    affinity = sw.truth(w, "social_theme_affinity")
    favourite = dict(affinity.filter("is_favourite").select("persona", "theme").iter_rows())
    rates = (
        sw.truth(w, "social_engagements")
        .group_by("persona", "theme")
        .agg(pl.col("engaged_posts").sum() / pl.col("posts_reached").sum())
        .sort("persona", "engaged_posts", descending=[False, True])
    )
    top = dict(rates.group_by("persona", maintain_order=True).first()
               .select("persona", "theme").iter_rows())  # fmt: skip
    assert top == favourite


def test_linked_customers_are_that_person(w: sw.SimWorld) -> None:
    people = pl.read_parquet(w.truth / "state" / "people.parquet").select(
        "person_id", "shop_email", "hubspot_record_id")
    authors = sw.truth(w, "social_authors").join(people, on="person_id", how="left")
    by_id = {(r["platform"], r["user_id"]): r for r in authors.iter_rows(named=True)}
    linked: set[tuple[str, str]] = set()
    seen = 0
    folder = w.folder("social")
    lines = _lines(folder / social.COMMENTS_FILE) + _lines(folder / social.MESSAGES_FILE)
    for line in sorted(lines, key=lambda x: x.get("created_time") or x["timestamp"]):
        key = (line["platform"], line["from"]["id"])
        if key not in by_id:  # the page's own replies
            continue
        author = by_id[key]
        if "customer" not in line:
            assert key not in linked  # once linked, every later line carries it
            continue
        linked.add(key)
        seen += 1
        customer = line["customer"]
        assert author["person_id"] is not None
        if "email" in customer:
            assert customer["email"] == author["shop_email"]
        if "hubspot_record_id" in customer:
            assert customer["hubspot_record_id"] == author["hubspot_record_id"]
    assert seen >= 3


def test_a_continued_day_follows_the_daily_rules(w: sw.SimWorld) -> None:
    day = sw.END + dt.timedelta(days=2)
    folder = w.folder("social", day)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    for name in (social.FB_POSTS_FILE, social.IG_POSTS_FILE):
        rows = _clean(*_posts(folder / name))
        assert rows
        for r in rows:
            local = dt.datetime.strptime(r["Publish time"], "%m/%d/%Y %H:%M").date()
            assert day - dt.timedelta(days=29) <= local < day
    for c in _lines(folder / social.COMMENTS_FILE):
        t = dt.datetime.strptime(c.get("created_time") or c["timestamp"], GRAPH_TIME)
        assert start - dt.timedelta(days=2) <= t < start
    for r in _lines(folder / social.REACTIONS_FILE):
        t = dt.datetime.strptime(r["created_time"], GRAPH_TIME)
        assert start - dt.timedelta(days=1) <= t < start
    for m in _lines(folder / social.MESSAGES_FILE):
        t = dt.datetime.strptime(m["created_time"], GRAPH_TIME)
        assert start - dt.timedelta(days=1) <= t < start
    assert len(_lines(folder / social.AUDIENCE_FILE)) == 7
    # The backfill and the daily files never hold the same comment twice.
    ids = [c["id"] for d in range(sw.CONTINUED + 1)
           for c in {x["id"]: x for x in _lines(w.folder("social", sw.END + dt.timedelta(days=d))
                                                / social.COMMENTS_FILE)}.values()]  # fmt: skip
    assert len(ids) == len(set(ids))


def test_same_seed_same_bytes_and_other_sources_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The social source draws from its own streams: two runs give the same bytes, and
    without it every other file is byte for byte what it is with it."""
    homes = {k: tmp_path / k for k in ("a", "b", "without")}

    def make(home: Path) -> dict[str, str]:
        simulate(Settings(home=home), scale="xs", seed=3, end_date=sw.END, history_days=90,
                 max_days=1)  # fmt: skip
        continue_days(Settings(home=home), 1)
        return sw.file_hashes(home / "landing")

    a, b = make(homes["a"]), make(homes["b"])
    assert a == b and any(k.startswith("social/") for k in a)
    with monkeypatch.context() as m:
        m.setattr(Exporter, "_social", lambda self, *args: None)
        m.setattr(social, "write_truth", lambda *args: {})
        without = make(homes["without"])
    assert without == {k: v for k, v in a.items() if not k.startswith("social/")}


def test_affinities_of_other_persona_counts_are_seeded() -> None:
    names = ["loyalist", "loyalist_variant", "office_buyer_variant"]
    one, two = social.persona_affinity(1, names), social.persona_affinity(1, names)
    assert (one == two).all()
    assert one[0].argmax() != one[1].argmax()  # a variant's favourite differs from its base's
    assert sorted(one[1]) == sorted(social.THEME_AFFINITY["loyalist"])
