"""The social source on hand-made exports in Meta's shapes: Business Suite's post CSVs (with a
BOM, multiline captions, restated totals) and the Graph API's comments, reactions, messages and
follower demographics. Loads are idempotent with defects quarantined; the marts have one row
per post and per engagement, and a commenter the shop's inbox linked to a customer is that
customer, while one nothing links stays nobody."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import source_names
from tests.conftest import query, write_landing

pytestmark = [pytest.mark.integration]

DAY = date(2026, 10, 31)
PAGE = "104928371"
FB_HEADER = ('\ufeffPost ID,Page ID,Page name,Title,Description,Duration (sec),Publish time,'
             'Permalink,Post type,Data comment,Date,Views,Reach,"Reactions, Comments and '
             'Shares",Reactions,Comments,Shares,Total clicks,Link clicks,Other clicks,'
             '3-second video views\r\n')
IG_HEADER = ('\ufeffPost ID,Account ID,Account username,Account name,Description,'
             'Duration (sec),Publish time,Permalink,Post type,Data comment,Date,Views,Reach,'
             'Likes,Shares,Follows,Comments,Saves\r\n')


def fb_row(post: str, caption: str, when: str, kind: str, views: str, reach: int,
           reactions: int, comments: int) -> str:  # fmt: skip
    caption = '"' + caption.replace('"', '""') + '"'
    return (f"{post},{PAGE},Fern & Co,,{caption},,{when},https://www.facebook.com/{PAGE}/posts/"
            f"{post},{kind},,Lifetime,{views},{reach},{reactions + comments},{reactions},"
            f"{comments},0,12,9,3,\r\n")


def lines(*objects: dict) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def fb_comment(cid: str, post: str, user: str, name: str, text: str, when: str,
               customer: dict | None = None) -> dict:  # fmt: skip
    row = {"platform": "facebook", "id": f"{post}_{cid}", "post_id": f"{PAGE}_{post}",
           "message": text, "created_time": when, "from": {"id": user, "name": name},
           "like_count": 1}
    return row | ({"customer": customer} if customer else {})


def exports(settings: Settings) -> None:
    """Two export folders: the 30th (the history) and the 31st (a day, restating a post)."""
    first, second = "2026-10-30", "2026-10-31"
    write_landing(settings, "social", first, "facebook_posts.csv", FB_HEADER
                  + fb_row("9001", "New in: the linen shirt.\nShop now, while it lasts #newin",
                           "10/28/2026 09:30", "Photos", "900", 700, 40, 3)
                  + fb_row("9002", "Our care tips #howto", "10/29/2026 18:05", "Reels", "400",
                           300, 20, 1)
                  # A defect: a metric that is not a number.
                  + fb_row("9003", "Broken row", "10/29/2026 19:00", "Photos", "n/a", 1, 1, 0),
                  encoding="utf-8")  # fmt: skip
    write_landing(settings, "social", second, "facebook_posts.csv", FB_HEADER
                  + fb_row("9002", "Our care tips #howto", "10/29/2026 18:05", "Reels", "650",
                           480, 31, 2))  # fmt: skip
    write_landing(settings, "social", first, "instagram_posts.csv", IG_HEADER
                  + '17900000000000001,17841400000000000,fernandco,Fern & Co,"Big sale, 30% '
                    'off #sale",,10/29/2026 12:00,https://www.instagram.com/p/x/,IG carousel,,'
                    'Lifetime,1500,1200,80,4,2,6,15\r\n')  # fmt: skip
    write_landing(settings, "social", first, "comments.ndjson", lines(
        fb_comment("1", "9001", "u-ann", "Ann Lee", "Love it 😍", "2026-10-28T10:00:00+0000",
                   {"email": " Ann@Example.com ", "hubspot_record_id": "77"}),
        fb_comment("2", "9001", "u-bob", "Bob", "Too expensive", "2026-10-28T11:00:00+0000"),
        {"platform": "instagram", "id": "18000000000000001",
         "media": {"id": "17900000000000001"}, "text": "Ordered two!",
         "timestamp": "2026-10-29T13:00:00+0000", "username": "cara.k",
         "from": {"id": "ig-cara", "username": "cara.k"}, "like_count": 0},
    ) + "{not json\n")
    write_landing(settings, "social", second, "comments.ndjson", lines(
        # The same comment again (a connector's overlap) and a later one by Ann.
        fb_comment("1", "9001", "u-ann", "Ann Lee", "Love it 😍", "2026-10-28T10:00:00+0000",
                   {"email": "ann@example.com", "hubspot_record_id": "77"}),
        fb_comment("3", "9002", "u-ann", "Ann Lee", "Great tips", "2026-10-30T08:00:00+0000",
                   {"email": "ann@example.com", "hubspot_record_id": "77"}),
        # The Page answering is no person's engagement.
        fb_comment("4", "9002", PAGE, "Fern & Co", "Thank you!", "2026-10-30T09:00:00+0000"),
    ))
    write_landing(settings, "social", first, "reactions.ndjson", lines(
        {"post_id": f"{PAGE}_9001", "id": "u-ann", "name": "Ann Lee", "type": "LOVE",
         "created_time": "2026-10-28T10:01:00+0000"},
        {"post_id": f"{PAGE}_9001", "id": "u-dan", "name": "Dan", "type": "LIKE",
         "created_time": "2026-10-28T12:00:00+0000"},
    ))
    write_landing(settings, "social", first, "messages.ndjson", lines(
        {"platform": "facebook", "conversation_id": "t_1", "id": "m_1",
         "created_time": "2026-10-29T15:00:00+0000", "from": {"id": "u-bob", "name": "Bob"},
         "message": "Where is my order?"},
        {"platform": "facebook", "conversation_id": "t_1", "id": "m_2",
         "created_time": "2026-10-29T15:05:00+0000", "from": {"id": PAGE, "name": "Fern & Co"},
         "message": "Let me check"},
    ))
    write_landing(settings, "social", second, "audience.ndjson", lines(
        {"platform": "facebook", "name": "page_fans_gender_age", "period": "lifetime",
         "values": [{"value": {"F.25-34": 120, "M.35-44": 45},
                     "end_time": "2026-10-31T07:00:00+0000"}],
         "id": f"{PAGE}/insights/page_fans_gender_age/lifetime"},
        {"platform": "facebook", "name": "page_fans_country", "period": "lifetime",
         "values": [{"value": {"DE": 150, "AT": 15}, "end_time": "2026-10-31T07:00:00+0000"}]},
        {"platform": "instagram", "name": "follower_demographics", "period": "lifetime",
         "breakdown": "age", "total_value": {"breakdowns": [{"dimension_keys": ["age"],
          "results": [{"dimension_values": ["25-34"], "value": 300},
                      {"dimension_values": ["18-24"], "value": 90}]}]}},
    ))
    # A CRM contact the inbox's link points at.
    write_landing(settings, "hubspot", first, "contacts.csv",
                  "Record ID,First Name,Last Name,Email,Create Date\n"
                  "77,Ann,Lee,ann@example.com,2026-01-05 10:00\n")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("social") / "data",
                        duckdb_memory_limit="1GB", duckdb_threads=1)
    exports(settings)
    for source in source_names():
        daily.ingest(settings, source, DAY, "social-1")
    daily.transform(settings, DAY, "social-1")
    return settings


def test_bad_lines_are_quarantined_with_their_reason(shop: Settings) -> None:
    rows = query(shop, "select entity, reason from raw.quarantine where source = 'social' "
                       "order by entity")  # fmt: skip
    assert [entity for entity, _ in rows] == ["comments", "facebook_posts"]
    assert "Views" in dict(rows)["facebook_posts"]


def test_a_rerun_loads_nothing_twice(shop: Settings) -> None:
    before = query(shop, "select count(*) from raw.social__comments")[0][0]
    summary = daily.ingest(shop, "social", DAY, "social-2")
    assert query(shop, "select count(*) from raw.social__comments")[0][0] == before
    assert summary["files"] == 0
    assert "0 files loaded" in summary["summary"] and "8 already loaded" in summary["summary"]


def test_posts_keep_the_newest_totals_a_format_and_a_theme(shop: Settings) -> None:
    rows = query(shop, "select platform, post_id, published_at, post_format, theme, reach, "
                       "engagements, published_hour_local from marts.fct_social_posts "
                       "order by post_id")  # fmt: skip
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("facebook", f"{PAGE}_9001", "photo", "new_arrivals", 700, 43),
        ("facebook", f"{PAGE}_9002", "reel", "how_to", 480, 33),  # restated on the 31st
        # Likes 80, comments 6, shares 4 and saves 15; the 2 follows are no engagement.
        ("instagram", "17900000000000001", "carousel", "sale", 1200, 105),
    ]
    assert str(rows[0][2]).startswith("2026-10-28 09:30:00")
    assert rows[0][7] == 9


def test_engagements_name_the_linked_customer_and_nobody_else(shop: Settings) -> None:
    rows = query(shop, """
        select e.engagement_type, e.social_user_id, e.post_theme, c.customer_key is not null,
            e.customer_key = c.customer_key
        from marts.fct_social_engagements as e
        left join (select customer_key from marts.dim_customers
                   where customer_key in (select customer_key from intermediate.
                       int_identity__identifiers where identifier = 'ann@example.com')) as c
            on true
        order by e.engagement_id""")  # fmt: skip
    by_user = {}
    for kind, user, theme, _, same in rows:
        by_user.setdefault(user, []).append((kind, theme, same))
    # Ann's comments and her reaction (which carries no link itself) are hers.
    assert sorted(by_user["u-ann"]) == [("comment", "how_to", True),
                                        ("comment", "new_arrivals", True),
                                        ("reaction", "new_arrivals", True)]
    # Bob, Dan and Cara are linked to nobody: no key is guessed for them.
    keys = dict(query(shop, "select social_user_id, max(customer_key) from "
                            "marts.fct_social_engagements group by all"))  # fmt: skip
    assert keys["u-bob"] is None and keys["u-dan"] is None and keys["ig-cara"] is None
    assert PAGE not in by_user  # the Page's own reply is nobody's engagement
    assert sorted(kind for kind, _, _ in by_user["u-bob"]) == ["comment", "message"]


def test_follower_demographics_are_one_row_per_segment(shop: Settings) -> None:
    rows = query(shop, "select platform, breakdown, segment, followers "
                       "from staging.stg_social__audience order by all")  # fmt: skip
    assert rows == [("facebook", "country", "AT", 15), ("facebook", "country", "DE", 150),
                    ("facebook", "gender_age", "F.25-34", 120),
                    ("facebook", "gender_age", "M.35-44", 45),
                    ("instagram", "age", "18-24", 90), ("instagram", "age", "25-34", 300)]
