"""Audience exports end to end on a small warehouse: consent, erasure, deltas, parts, manifest."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from audiences import audiences_file, customer_frame, erasure_requests, write_warehouse

from pipelines.activation import normalize
from pipelines.activation.export import (
    ExportError,
    build_exports,
    publish_exports,
    staging_dir,
)
from pipelines.activation.suppression import ErasureFileError, read_store
from pipelines.config import Settings
from pipelines.quality.gate import validate_exports

DAY = date(2026, 10, 31)
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> Settings:
    """1,000 people in one audience exported to every platform, with the erasure file dropped."""
    configured = dataclasses.replace(settings, audiences_file=audiences_file(tmp_path))
    people = customer_frame(1000)
    write_warehouse(configured, people)
    configured.erasure_file.parent.mkdir(parents=True)
    configured.erasure_file.write_text(erasure_requests(people))
    return configured


def export_day(settings: Settings, day: date, publish: bool = True) -> tuple[Path, dict]:
    manifest = build_exports(settings, day, f"run-{day}")
    folder = publish_exports(settings, day) if publish else staging_dir(settings, day)
    return folder, manifest


def read(
    folder: Path, manifest: dict, platform: str, kind: str = "full", audience: str = "churn_risk"
) -> pl.DataFrame:
    files = [
        f
        for f in manifest["files"]
        if f["platform"] == platform and f["kind"] == kind and f["audience"] == audience
    ]
    if not files and kind != "full":
        # No change, no file: the manifest says how many came and went.
        assert manifest["changes"][audience][platform][kind] == 0, (platform, kind, audience)
        full = read(folder, manifest, platform, "full", audience)
        return full.clear()
    assert files, (platform, kind, audience)
    return pl.concat([pl.read_csv(folder / f["path"], infer_schema=False) for f in files])


def people_in(frame: pl.DataFrame, platform: str, people: pl.DataFrame) -> set[str]:
    """The customer keys a file's rows stand for, matched on any identifier it carries."""
    keys = people.get_column("customer_key").to_list()
    emails = [e.strip().lower() for e in people.get_column("email")]
    if platform == "mailchimp":
        found = set(frame.get_column("Email Address").to_list())
        return {k for k, e in zip(keys, emails, strict=True) if e in found}
    if platform == "crm":
        found = set(frame.get_column("Record ID").to_list())
        ids = people.get_column("hubspot_record_id").to_list()
        return {k for k, r in zip(keys, ids, strict=True) if r in found}
    email_col, phone_col = ("email", "phone") if platform == "meta" else ("Email", "Phone")
    phones = people.get_column("phone_e164").to_list()
    phone_values = [p.lstrip("+") for p in phones] if platform == "meta" else phones
    by_email = dict(zip(normalize.sha256_hex(emails), keys, strict=True))
    by_phone = dict(zip(normalize.sha256_hex(phone_values), keys, strict=True))
    found = {by_email.get(h) for h in frame.get_column(email_col)}
    found |= {by_phone.get(h) for h in frame.get_column(phone_col)}
    if platform == "meta":
        shop_ids = people.get_column("shop_customer_id").to_list()
        by_key = dict(zip(normalize.sha256_hex(shop_ids), keys, strict=True))
        found |= {by_key.get(h) for h in frame.get_column("external_id")}
    return found - {None}


def keys_of(people: pl.DataFrame, *groups: str) -> set[str]:
    from audiences import group_of

    n = people.height
    return {k for i, k in enumerate(people.get_column("customer_key")) if group_of(i, n) in groups}


def test_consent_groups_are_in_no_export_and_the_manifest_counts_them_by_reason(world):
    people = customer_frame(1000)
    folder, manifest = export_day(world, DAY)
    assert manifest["suppressed"]["churn_risk"] == {
        "mailchimp": {"erasure_request": 20, "unsubscribed": 100, "no_email_consent": 60},
        "meta": {
            "erasure_request": 20,
            "ccpa_opt_out": 10,
            "eea_without_consent": 50,
            "no_ad_consent": 100,
        },
        "google": {
            "erasure_request": 20,
            "ccpa_opt_out": 10,
            "eea_without_consent": 50,
            "no_ad_consent": 100,
        },
        "crm": {"erasure_request": 20},
    }
    barred = keys_of(people, "unsubscribed", "eea_no_consent", "erased", "ccpa")
    # The CRM file updates the business's own HubSpot records: only erasure applies there.
    barred_from = {
        "mailchimp": barred,
        "meta": barred,
        "google": barred,
        "crm": keys_of(people, "erased"),
    }
    ok = keys_of(people, "ok")
    for platform, expected_rows in (
        ("mailchimp", 820),
        ("meta", 820),
        ("google", 820),
        ("crm", 980),
    ):
        for kind in ("full", "adds"):
            rows = read(folder, manifest, platform, kind)
            assert rows.height == expected_rows
            present = people_in(rows, platform, people)
            assert not present & barred_from[platform], (platform, kind)
        if platform != "crm":
            assert people_in(read(folder, manifest, platform), platform, people) == ok
    on_file = {(f["platform"], f["kind"]): f["suppressed"] for f in manifest["files"]}
    assert on_file["meta", "full"] == manifest["suppressed"]["churn_risk"]["meta"]


def test_ad_files_hold_no_email_address_or_raw_phone(world):
    people = customer_frame(1000)
    folder, manifest = export_day(world, DAY)
    phones = set(people.get_column("phone_raw")) | set(people.get_column("phone_e164"))
    digits = {re.sub(r"\D", "", p) for p in phones}
    ad_files = [f for f in manifest["files"] if f["platform"] in ("meta", "google")]
    assert len(ad_files) == 4  # full and adds each; nobody left, so no removes file
    for f in ad_files:
        text = (folder / f["path"]).read_text()
        assert "@" not in text, f["path"]
        for digit_run in digits:
            assert digit_run not in text, f["path"]  # in no form, not even inside a cell
        for row in csv.reader(text.splitlines()[1:]):
            for cell in row:
                # A hash, or Google's plain country and (US) zip: nothing else.
                assert (
                    not cell
                    or re.fullmatch(r"[0-9a-f]{64}", cell)
                    or re.fullmatch(r"[A-Z]{2}|\d{5}", cell)
                ), (f["path"], cell)
                assert cell not in phones


def test_a_formula_in_a_name_comes_out_harmless(world):
    people = customer_frame(20).with_columns(
        first_name=pl.when(pl.col("customer_key") == "k000019")
        .then(pl.lit('=HYPERLINK("http://x","click")'))
        .otherwise(pl.col("first_name")),
        last_name=pl.when(pl.col("customer_key") == "k000019")
        .then(pl.lit("+cmd|' /C calc'!A0"))
        .otherwise(pl.col("last_name")),
    )
    write_warehouse(world, people)
    world.erasure_file.unlink()
    folder, manifest = export_day(world, DAY)
    mailchimp = read(folder, manifest, "mailchimp")
    row = mailchimp.filter(pl.col("Email Address") == "person19@example.com")
    assert row.get_column("First Name").to_list() == ['\'=HYPERLINK("http://x","click")']
    assert row.get_column("Last Name").to_list() == ["'+cmd|' /C calc'!A0"]
    meta = read(folder, manifest, "meta")
    assert normalize.sha256_hex(["hyperlinkhttpxclick"])[0] in meta.get_column("fn").to_list()
    for f in manifest["files"]:
        with (folder / f["path"]).open(newline="") as fh:
            for row in csv.reader(fh):
                assert not any(cell.startswith(FORMULA) for cell in row), f["path"]


def test_an_erasure_is_taken_in_hashed_the_file_emptied_and_kept_out_the_next_day(world):
    people = customer_frame(1000)
    request_text = world.erasure_file.read_text()
    erased = keys_of(people, "erased")
    _, manifest = export_day(world, DAY)
    assert manifest["erasure"] == {"new_hashed_identifiers": 20, "hashed_identifiers": 20}
    # The plain request is gone; only hashes are kept.
    assert world.erasure_file.read_text() == "email,phone,country\n"
    store_text = world.suppression_store.read_text()
    for line in request_text.splitlines()[1:]:
        for value in line.replace('"', "").split(","):
            if value and value != "US":
                assert value not in store_text and value.lower() not in store_text
    store = read_store(world)
    assert store.get_column("sha256").str.contains(r"^[0-9a-f]{64}$").all()
    assert sorted(set(store.get_column("identifier_type"))) == ["email", "phone"]

    tomorrow, manifest2 = export_day(world, DAY + timedelta(days=1))
    assert manifest2["erasure"] == {"new_hashed_identifiers": 0, "hashed_identifiers": 20}
    for platform in ("mailchimp", "meta", "google", "crm"):
        assert manifest2["suppressed"]["churn_risk"][platform]["erasure_request"] == 20
        for kind in ("full", "adds", "removes"):
            rows = read(tomorrow, manifest2, platform, kind)
            assert not people_in(rows, platform, people) & erased, (platform, kind)


def test_a_person_erased_after_a_publish_leaves_ad_platforms_through_hashed_removes(world):
    people = customer_frame(1000)
    world.erasure_file.unlink()
    export_day(world, DAY)
    target = people.row(900, named=True)  # an "ok" person, published on DAY
    world.erasure_file.write_text(f"email\n {target['email'].upper()}\n")
    folder, manifest = export_day(world, DAY + timedelta(days=1))
    for platform in ("meta", "google"):
        removes = read(folder, manifest, platform, "removes")
        assert people_in(removes, platform, people) == {target["customer_key"]}
    for platform in ("mailchimp", "crm"):
        assert read(folder, manifest, platform, "removes").height == 0
        assert target["customer_key"] not in people_in(
            read(folder, manifest, platform), platform, people
        )


def test_deltas_against_the_last_published_export(world):
    world.erasure_file.unlink()
    people = customer_frame(1000)
    first, _ = export_day(world, DAY)
    # Next day: k000900 leaves the audience, k000901 changes name, a newcomer arrives.
    newcomer = customer_frame(1001).tail(1)
    changed = pl.concat([people, newcomer]).with_columns(
        churn_decile=pl.when(pl.col("customer_key") == "k000900")
        .then(2)
        .otherwise(pl.col("churn_decile")),
        first_name=pl.when(pl.col("customer_key") == "k000901")
        .then(pl.lit("Bea"))
        .otherwise(pl.col("first_name")),
    )
    write_warehouse(world, changed)
    folder, manifest = export_day(world, DAY + timedelta(days=1))
    assert manifest["deltas_since"]["churn_risk"]["meta"] == DAY.isoformat()

    mailchimp_adds = read(folder, manifest, "mailchimp", "adds")
    assert mailchimp_adds.get_column("Email Address").to_list() == [
        "person901@example.com",
        "person1000@example.com",
    ]
    assert read(folder, manifest, "mailchimp", "removes").get_column("Email Address").to_list() == [
        "person900@example.com"
    ]
    # Ad rows have no stable id: a changed row leaves as the old row and comes as the new one.
    for platform in ("meta", "google"):
        adds, removes = (read(folder, manifest, platform, k) for k in ("adds", "removes"))
        assert people_in(adds, platform, changed) == {"k000901", "k001000"}
        assert people_in(removes, platform, changed) == {"k000900", "k000901"}
        old = read(first, json.loads((first / "manifest.json").read_text()), platform)
        full = read(folder, manifest, platform)
        assert set(full.rows()) == (set(old.rows()) - set(removes.rows())) | set(adds.rows())
    assert read(folder, manifest, "crm", "adds").get_column("Record ID").to_list() == [
        "91000"
    ]  # the name is not in the CRM file, so k000901's row did not change


def test_a_manifest_published_before_the_rename_is_still_the_baseline(world):
    """Exports published when audiences were called segments list `segment` in the manifest;
    the next day's adds and removes are still computed against them."""
    world.erasure_file.unlink()
    first, _ = export_day(world, DAY)
    manifest_path = first / "manifest.json"
    old = json.loads(manifest_path.read_text())
    for f in old["files"]:
        f["segment"] = f.pop("audience")
    manifest_path.write_text(json.dumps(old))
    write_warehouse(world, customer_frame(1000).filter(pl.col("customer_key") != "k000999"))
    folder, manifest = export_day(world, DAY + timedelta(days=1))
    assert manifest["deltas_since"]["churn_risk"]["mailchimp"] == DAY.isoformat()
    assert read(folder, manifest, "mailchimp", "adds").height == 0
    assert read(folder, manifest, "mailchimp", "removes").get_column(
        "Email Address").to_list() == ["person999@example.com"]


def test_a_run_that_was_not_published_is_not_a_baseline(world):
    world.erasure_file.unlink()
    export_day(world, DAY)
    write_warehouse(world, customer_frame(1000).filter(pl.col("customer_key") != "k000999"))
    export_day(world, DAY + timedelta(days=1), publish=False)  # the audit stopped it
    write_warehouse(world, customer_frame(1000))
    folder, manifest = export_day(world, DAY + timedelta(days=2))
    assert manifest["deltas_since"]["churn_risk"]["mailchimp"] == DAY.isoformat()
    for platform in ("mailchimp", "meta", "google", "crm"):
        for kind in ("adds", "removes"):
            assert read(folder, manifest, platform, kind).height == 0, (platform, kind)


def test_a_rerun_of_a_day_writes_the_same_bytes(world):
    world.erasure_file.unlink()
    export_day(world, DAY)
    _, first = export_day(world, DAY + timedelta(days=1))
    _, again = export_day(world, DAY + timedelta(days=1))
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in again["files"]]


def test_meta_files_come_in_parts_of_the_configured_size(world):
    world.erasure_file.unlink()
    small = dataclasses.replace(world, meta_part_rows=300)
    _, manifest = export_day(small, DAY)
    parts = [f for f in manifest["files"] if f["platform"] == "meta" and f["kind"] == "full"]
    assert [(f["part"], f["parts"], f["rows"]) for f in parts] == [
        (1, 3, 300),
        (2, 3, 300),
        (3, 3, 240),
    ]
    assert [Path(f["path"]).name for f in parts] == [
        "churn_risk.part-001.csv",
        "churn_risk.part-002.csv",
        "churn_risk.part-003.csv",
    ]
    adds = [f for f in manifest["files"] if f["platform"] == "meta" and f["kind"] == "adds"]
    assert [f["rows"] for f in adds] == [300, 300, 240]
    # Nobody leaves on a first export: no header-only removes file, the manifest says nobody.
    removes = [f for f in manifest["files"] if f["platform"] == "meta" and f["kind"] == "removes"]
    assert removes == [] and manifest["changes"]["churn_risk"]["meta"] == {"adds": 840,
                                                                            "removes": 0}
    others = [f for f in manifest["files"] if f["platform"] != "meta"]
    assert all(f["parts"] == 1 and "part-" not in f["path"] for f in others)


@pytest.mark.slow
def test_meta_parts_at_the_real_10000_row_limit(settings, tmp_path):
    configured = dataclasses.replace(
        settings,
        audiences_file=audiences_file(
            tmp_path,
            "audiences:\n  - name: big\n    rules: [{column: churn_decile, op: '>=', "
            "value: 8}]\n    platforms: [meta]\n",
        ),
    )
    assert configured.meta_part_rows == 10_000
    people = customer_frame(10_001).with_columns(
        mailchimp_status=pl.lit("subscribed"),
        is_eea=False,
        ad_storage_consent=True,
        ad_user_data_consent=True,
        ad_personalization_consent=True,
        ccpa_opt_out=False,
    )
    write_warehouse(configured, people)
    folder, manifest = export_day(configured, DAY)
    full = [f for f in manifest["files"] if f["kind"] == "full"]
    assert [(f["part"], f["rows"]) for f in full] == [(1, 10_000), (2, 1)]
    assert sum(1 for _ in (folder / full[0]["path"]).open()) == 10_001  # header + 10,000


def test_the_manifest_lists_every_file_with_rows_and_checksum(world):
    folder, manifest = export_day(world, DAY)
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")}
    # 4 platforms x full and adds: on a first export nobody leaves, and no header-only removes
    # file is written.
    assert listed == on_disk and len(listed) == 8
    for f in manifest["files"]:
        data = (folder / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert len(data.decode().splitlines()) - 1 == f["rows"]
        assert {"audience", "platform", "kind", "part", "parts"} <= set(f)


@pytest.mark.slow
def test_every_file_passes_its_platforms_suite(world):
    export_day(world, DAY, publish=False)
    outcomes = validate_exports(staging_dir(world, DAY), world.expectations_dir / "exports")
    assert outcomes and not [o.describe() for o in outcomes if o.blocking]
    assert {o.table.split("/")[1] for o in outcomes} == {"mailchimp", "meta", "google", "crm"}


def test_an_ad_platform_without_the_consent_columns_refuses_with_what_is_missing(world):
    people = customer_frame(10).drop("is_eea", "ad_user_data_consent")
    write_warehouse(world, people)
    with pytest.raises(
        ExportError,
        match=r"meta, which needs the columns "
        r"\['is_eea', 'ad_user_data_consent'\]",
    ):
        build_exports(world, DAY, "r")


def test_an_erasure_file_with_a_bad_row_is_refused_without_showing_the_value(world):
    world.erasure_file.write_text(
        "email,phone,country\nbob@example.com,,\n,call me maybe,\njane.doe@example,,\n"
    )
    with pytest.raises(ErasureFileError) as err:
        build_exports(world, DAY, "r")
    message = str(err.value)
    assert "line 3: the phone cannot be read" in message
    assert "line 4: the email is not an email address" in message
    assert "call me" not in message and "jane.doe" not in message and "bob" not in message
    assert "bob@example.com" in world.erasure_file.read_text()  # kept for fixing
    assert not world.suppression_store.exists()


def test_an_erasure_file_without_a_header_is_refused_without_echoing_it(world):
    world.erasure_file.write_text("jane@example.com\nbob@example.com\n")
    with pytest.raises(ErasureFileError, match="header naming the columns") as err:
        build_exports(world, DAY, "r")
    assert "jane" not in str(err.value)


def test_split_by_makes_one_audience_per_value_with_the_persona_tag(settings, tmp_path):
    configured = dataclasses.replace(
        settings,
        audiences_file=audiences_file(
            tmp_path,
            "audiences:\n  - name: persona\n    split_by: persona_name\n"
            "    platforms: [mailchimp, meta]\n",
        ),
    )
    people = customer_frame(60).with_columns(
        persona_name=pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit("Loyal Regulars"))
        .when(pl.int_range(pl.len()) % 3 == 1)
        .then(pl.lit("Bargain, Hunters"))
        .otherwise(None)
    )
    write_warehouse(configured, people)
    folder, manifest = export_day(configured, DAY)
    assert set(manifest["suppressed"]) == {"persona__bargain_hunters", "persona__loyal_regulars"}
    loyal = read(folder, manifest, "mailchimp", audience="persona__loyal_regulars")
    assert set(loyal.get_column("Tags")) == {"persona__loyal_regulars,Loyal Regulars"}
    hunters = read(folder, manifest, "mailchimp", audience="persona__bargain_hunters")
    assert set(hunters.get_column("Tags")) == {"persona__bargain_hunters,Bargain  Hunters"}
    assert loyal.height + hunters.height < 60


@pytest.mark.slow
def test_the_cli_exports_one_audience_and_platform_on_demand(world, monkeypatch, capsys):
    from pipelines import cli

    write_warehouse(world, customer_frame(1000), path=world.published_db)
    world.work_db.unlink()  # on demand reads the published file by default
    monkeypatch.setenv("MARKETING_HOME", str(world.home))
    monkeypatch.setenv("MARKETING_AUDIENCES_FILE", str(world.audiences_file))
    code = cli.main(
        ["export", "--audience", "churn_risk", "--platform", "meta", "--date", DAY.isoformat()]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    folder = world.exports_dir / "on-demand" / DAY.isoformat() / "churn_risk.meta"
    assert f"into {folder}" in out
    assert "meta/churn_risk.part-001.csv: 820 rows (full)" in out
    assert (
        "meta/churn_risk: held back erasure_request 20, ccpa_opt_out 10, "
        "eea_without_consent 50, no_ad_consent 100; adds/removes since no earlier "
        "published export"
    ) in out
    assert sorted(p.name for p in (folder / "meta").iterdir()) == [
        "churn_risk.adds.part-001.csv",
        "churn_risk.part-001.csv",
    ]
    assert not (world.exports_dir / DAY.isoformat()).exists()  # the daily publication is apart
    assert "@" not in out


def test_the_cli_names_the_audiences_there_are(world, monkeypatch, capsys):
    from pipelines import cli

    monkeypatch.setenv("MARKETING_HOME", str(world.home))
    monkeypatch.setenv("MARKETING_AUDIENCES_FILE", str(world.audiences_file))
    code = cli.main(
        [
            "export",
            "--audience",
            "nope",
            "--platform",
            "meta",
            "--source",
            "work",
            "--date",
            DAY.isoformat(),
        ]
    )
    assert code == 1
    assert "no audience 'nope' with platform meta" in capsys.readouterr().err


def test_nothing_personal_is_logged(world, caplog):
    people = customer_frame(1000)
    with caplog.at_level("DEBUG"):
        export_day(world, DAY)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "erasure requests: 20 taken in" in logged and "held back" in logged
    assert "@" not in logged
    for phone in people.get_column("phone_raw").head(200):
        assert phone not in logged and re.sub(r"\D", "", phone) not in logged


def test_an_audience_below_a_platforms_minimum_is_flagged(world):
    world.erasure_file.unlink()
    small = dataclasses.replace(world, min_audience={"meta": 10_000, "google": 50})
    _, manifest = export_day(small, DAY)
    assert manifest["warnings"] == [
        "meta/churn_risk: 840 people, fewer than the 10,000 matched people Meta needs before "
        "an audience serves (fewer still will match); upload it to grow it, but do not expect "
        "it to run yet"
    ]


def test_an_audience_on_uplift_before_any_experiment_is_empty_with_a_warning(world, tmp_path):
    world.erasure_file.unlink()
    text = world.audiences_file.read_text() + (
        "  - name: uplift_targets\n"
        "    rules: [{column: uplift_decile, op: '>=', value: 8}]\n"
        "    platforms: [mailchimp]\n"
    )
    configured = dataclasses.replace(world, audiences_file=audiences_file(tmp_path, text))
    folder, manifest = export_day(configured, DAY)
    assert read(folder, manifest, "mailchimp", audience="uplift_targets").height == 0
    assert read(folder, manifest, "mailchimp").height > 0  # churn_risk as before
    assert manifest["warnings"] == [
        "uplift_targets: no customer has a value in uplift_decile (a score no model has "
        "written yet; uplift needs a completed experiment), so the audience is empty"
    ]


def test_mailchimp_files_carry_send_times_and_recommendations_and_pass_the_suite(world):
    """With the personalize step's tables, Mailchimp rows gain SENDHOUR (UTC), TZ, RECO1-3 and
    the send-time group tag; people the step has no row for keep blank merge fields."""
    from pipelines.personalize import sendtime_store
    from pipelines.personalize.sendtime import SCHEMA
    from pipelines.warehouse import work_connection

    keys = customer_frame(1000)["customer_key"].to_list()[::2]
    send = pl.DataFrame({
        "customer_key": keys, "as_of_date": [DAY] * len(keys),
        "timezone": ["America/New_York"] * len(keys), "best_hour_local": [9] * len(keys),
        "best_weekday": [2] * len(keys), "send_hour_utc": [14] * len(keys),
        "evidence": ["own"] * len(keys), "opens": [3.0] * len(keys), "clicks": [1] * len(keys),
        "weight_own": [0.7] * len(keys), "send_group": ["send-14utc"] * len(keys)},
        schema=SCHEMA)
    recos = pl.DataFrame({"customer_key": [k for k in keys for _ in range(4)],
                          "as_of_date": [DAY] * 4 * len(keys), "rank": [1, 2, 3, 4] * len(keys),
                          "product_id": ["K1", "D2", "F3", "X4"] * len(keys)})
    lines = pl.DataFrame({"sku": ["K1", "D2", "F3"], "ordered_at": [DAY] * 3,
                          "product_name": ["Kenya AA 250g", "=Decaf", "French press"]})
    with work_connection(world) as con:
        sendtime_store.write(con, send)
        con.register("recos", recos.to_arrow())
        con.register("lines", lines.to_arrow())
        con.execute("create table ml.recommendations as select * from recos")
        con.execute("create table marts.fct_order_lines as select * from lines")
    folder, manifest = export_day(world, DAY, publish=False)
    rows = read(folder, manifest, "mailchimp")
    assert rows.columns[-5:] == ["SENDHOUR", "TZ", "RECO1", "RECO2", "RECO3"]
    sent = rows.filter(pl.col("SENDHOUR").is_not_null())
    assert sent.height > 0 and set(sent["SENDHOUR"]) == {"14"}
    assert all(t.split(",")[-1] == "send-14utc" for t in sent["Tags"])
    assert set(sent["TZ"]) == {"America/New_York"}
    blank = rows.filter(pl.col("SENDHOUR").is_null())
    assert blank.height > 0 and blank["TZ"].null_count() == blank.height
    assert not any("send-" in t for t in blank["Tags"])
    assert set(sent["RECO1"]) == {"Kenya AA 250g"} and set(sent["RECO3"]) == {"French press"}
    assert not any(v.startswith("=") for v in sent["RECO2"])  # a name is never a formula
    assert blank["RECO1"].null_count() == blank.height
    outcomes = validate_exports(folder, world.expectations_dir / "exports")
    assert not [o.describe() for o in outcomes if o.blocking]
