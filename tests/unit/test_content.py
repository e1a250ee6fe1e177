"""The content step's parts: the brand file's loader, the checks, the offline generator's
coverage, the HTTP backend and its fallback, the ranking against length alone, the store."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.content import backend, store
from pipelines.content.brand import DEFAULT_BRAND_FILE, BrandFileError, load_brand
from pipelines.content.checks import Checker, load_settings
from pipelines.content.generate import FIRST_NAME_TAG, PersonaContext, candidates, load_templates
from pipelines.content.lines import best_offer, build
from pipelines.content.names import FORMATS, GOALS
from pipelines.content.ranking import holdout, train_ranker

DAY = dt.date(2026, 3, 2)
PRODUCTS = ("Kenya AA 250g", "House Blend 250g", "Pour-Over Dripper")


@pytest.fixture(scope="module")
def brand():
    return load_brand(DEFAULT_BRAND_FILE)


@pytest.fixture(scope="module")
def settings():
    return load_settings()


def _contexts(brand, names=("Coffee explorers", "Gift buyers", "all")):
    out = {}
    for name in names:
        cats = ["Coffee Beans", "Brewing Gear"]
        out[name] = {goal: PersonaContext(name, cats, list(PRODUCTS), "orders 38% vs 15%",
                                          best_offer(brand, DAY, cats, goal)) for goal in GOALS}
    return out


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brand.yml"
    path.write_text(text)
    return path


# --- the brand file ---------------------------------------------------------------------

def test_shipped_brand_file_loads(brand):
    assert brand.name == "Bright Brew"
    assert {o.code for o in brand.offers} >= {"WELCOME10", "FREESHIP"}
    assert best_offer(brand, DAY, ["Brewing Gear"], "acquisition").code == "WELCOME10"
    assert best_offer(brand, DAY, ["Brewing Gear"], "winback").code == "MISSYOU10"
    assert best_offer(brand, DAY, ["Brewing Gear"], "retention").code == "FREESHIP"
    assert best_offer(brand, DAY, ["Coffee Beans"], "retention") is None
    assert best_offer(brand, dt.date(2040, 1, 1), ["Coffee Beans"], "winback") is None


def test_a_brand_file_that_does_not_parse_names_file_and_line(tmp_path):
    path = _write(tmp_path, "name: Shop\nurl: https://x.example/\nvoice:\n  adjectives: [warm\n"
                            "ctas: [Buy]\n")
    with pytest.raises(BrandFileError, match=rf"{path} line 5: the brand file does not parse"):
        load_brand(path)


def test_a_schema_error_names_the_line_of_the_bad_value(tmp_path):
    text = DEFAULT_BRAND_FILE.read_text().replace("    discount_percent: 10\n    valid_from",
                                                  "    discount_percent: 10\n    amount: 5\n"
                                                  "    valid_from", 1)
    path = _write(tmp_path, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "code: WELCOME10" in t)
    with pytest.raises(BrandFileError, match=rf"line {line}: offers.0: .*exactly one of"):
        load_brand(path)
    bad_url = _write(tmp_path, DEFAULT_BRAND_FILE.read_text().replace(
        "url: https://shop.example.com/", "url: shop dot com"))
    url_line = next(i for i, t in enumerate(bad_url.read_text().splitlines(), 1)
                    if t.startswith("url:"))
    with pytest.raises(BrandFileError, match=rf"line {url_line}: url:"):
        load_brand(bad_url)


def test_unknown_keys_and_a_non_mapping_are_refused(tmp_path):
    with pytest.raises(BrandFileError, match="line 1: the brand file must be a mapping"):
        load_brand(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(BrandFileError, match="slogan"):
        load_brand(_write(tmp_path, DEFAULT_BRAND_FILE.read_text() + "slogan: Hi\n"))


# --- the checks -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fmt", "reason"), [
    ("A" * 31, "google_headline", "too long"),
    ("x" * 126, "meta_primary_text", "too long"),
    ("Cheap beans for you", "email_subject", "banned word"),
    ("Now only 9.99 EUR", "email_subject", "price not in brand.yml"),
    ("Now only $9", "email_subject", "price not in brand.yml"),
    ("25% off this week", "email_subject", "percentage not in brand.yml"),
    ("The best coffee in town", "email_subject", "claim not in brand.yml"),
    ("Write to anna@example.com", "email_preview", "personal data (email address)"),
    ("Call +44 20 7946 0958", "email_preview", "personal data (phone number)"),
    ("Anna Berg loves Kenya AA 250g", "social_post", "personal data (a customer's name)"),
    ("<b>Fresh</b> coffee", "email_subject", "markup"),
    ("Kenya AA <img src=x onerror=alert(1)", "email_subject", "markup"),  # an unclosed tag
    ("10% off - ends Sunday", "email_subject", "deadline or stock claim not in brand.yml"),
    ("Kenya AA 250g is back in stock", "email_subject",
     "deadline or stock claim not in brand.yml"),
    ("Order while stocks last", "meta_headline", "deadline or stock claim not in brand.yml"),
    ("Hello {{ name }}", "email_subject", "markup"),
    ("Two\nlines", "meta_headline", "control characters or line breaks"),
    ("", "email_subject", "empty"),
])
def test_each_check_drops_its_line(brand, settings, text, fmt, reason):
    checker = Checker(brand, settings, names=frozenset({"anna berg"}), allowed_text=PRODUCTS)
    assert checker.reason(text, fmt) == reason


@pytest.mark.parametrize(("text", "fmt"), [
    ("10% off your first order", "email_subject"),
    ("Roasted in small batches every week", "google_description"),
    ("Kenya AA 250g and House Blend 250g", "email_preview"),
    (f"{FIRST_NAME_TAG}, your next bag is ready", "email_subject"),
    ("Title: Brew\n1. Why\n2. How", "blog_outline"),
])
def test_lines_from_the_brand_file_pass(brand, settings, text, fmt):
    assert Checker(brand, settings, allowed_text=PRODUCTS).reason(text, fmt) is None


HOSTILE = """
name: "<script>alert(1)</script> Shop"
url: https://evil.example/
voice:
  adjectives: [loud]
  sentences: ["Only 9.99 EUR, the best coffee ever!", "Call 555-123-4567 now"]
words_to_use: [cheap, fresh]
words_to_avoid: [cheap, free, miracle]
claims: ["<b>Best</b> coffee", "{long_claim}", "Cheap and cheerful beans"]
offers:
  - code: FREE50
    description: "Free miracle 50% off <i>everything</i>"
    terms: "Cheap! 5 USD minimum, see {{{{ terms }}}}"
    discount_percent: 50
    valid_from: 2020-01-01
    valid_to: 2030-12-31
  - code: SAVE5
    description: A cheap 5 EUR off
    terms: Orders over 30 EUR
    amount: 5
    valid_from: 2020-01-01
    valid_to: 2030-12-31
ctas: ["{long_cta}", "<a href='x'>Go</a>", Shop now]
"""


def test_with_a_hostile_brand_file_every_kept_line_passes(tmp_path, settings):
    text = HOSTILE.format(long_claim="Fresh " * 80, long_cta="Click here " * 40)
    brand = load_brand(_write(tmp_path, text))
    checker = Checker(brand, settings, names=frozenset({"anna berg"}), allowed_text=PRODUCTS)
    result = build(brand, settings, load_templates(), checker, _contexts(brand), {}, DAY)
    assert result.lines.height > 0 and sum(result.dropped.values()) > 0
    assert {"banned word", "markup", "too long"} <= set(result.dropped)
    for row in result.lines.iter_rows(named=True):
        line = row["text"]
        assert checker.reason(line, row["format"]) is None
        assert len(line) <= settings.limits[row["format"]]
        assert "<" not in line and "{{" not in line
        assert not any(f" {w} " in f" {line.lower()} " for w in ("cheap", "free", "miracle"))
        assert "9.99" not in line and "555" not in line


# --- the offline generator ----------------------------------------------------------------

def test_markup_in_the_shops_names_is_escaped_and_never_shipped(brand, settings):
    # An unclosed tag, as a shop export can carry in a product name: no whole <...> to see.
    hostile = "Kenya AA <img src=x onerror=alert(1)"
    ctx = PersonaContext("Gift <b>buyers", ["Mugs & Cups"], [hostile, *PRODUCTS], "")
    texts = [t for _, t in candidates(brand, load_templates(), ctx, "retention", 8)]
    assert any("&lt;img src=x" in t for t in texts)
    assert not any("<" in t or ">" in t for t in texts)
    checker = Checker(brand, settings, allowed_text=(hostile, *PRODUCTS))
    result = build(brand, settings, load_templates(), checker, {"Gift <b>buyers": {
        goal: ctx for goal in GOALS}}, {}, DAY)
    kept = result.lines.get_column("text").to_list()
    assert kept and result.dropped["markup"] > 0
    assert not any("img" in t or "&lt;" in t or "<" in t for t in kept)
    assert any("mugs & cups" in t.lower() for t in kept)  # plain text keeps its ampersand


def test_every_format_and_persona_gets_lines_for_every_goal(brand, settings):
    checker = Checker(brand, settings, allowed_text=PRODUCTS)
    contexts = _contexts(brand)
    result = build(brand, settings, load_templates(), checker, contexts, {}, DAY)
    counts = result.lines.group_by("persona", "goal", "format").len()
    assert counts.height == len(contexts) * len(GOALS) * len(FORMATS)
    assert counts["len"].min() >= 2 and counts["len"].max() <= settings.keep_per_format
    # A persona's name is the team's label: only the sales sheet shows it.
    named = result.lines.filter(pl.col("text").str.contains("Coffee explorers", literal=True))
    assert set(named["format"]) == {"sales_sheet"}
    offered = result.lines.filter(pl.col("offer_code").is_not_null())
    assert set(offered.select("goal", "offer_code").unique().iter_rows()) == {
        ("acquisition", "WELCOME10"), ("winback", "MISSYOU10"), ("promotion", "FREESHIP"),
        ("retention", "FREESHIP")}
    # The same inputs give the same lines: a rerun writes the same rows.
    again = build(brand, settings, load_templates(), checker, contexts, {}, DAY)
    assert again.lines.equals(result.lines)


def test_candidates_vary_across_personas(brand, settings):
    checker = Checker(brand, settings, allowed_text=PRODUCTS)
    lines = build(brand, settings, load_templates(), checker, _contexts(brand), {}, DAY).lines
    subjects = lines.filter(pl.col("format") == "email_subject", pl.col("goal") == "winback")
    per = subjects.group_by("persona").agg(pl.col("text"))
    sets = [set(t) for t in per["text"]]
    assert sets[0] != sets[1]


# --- the HTTP backend -----------------------------------------------------------------------

def _server(answer: bytes | None, delay: float = 0.0):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                         "body": json.loads(self.rfile.read(int(self.headers["Content-Length"])))})
            time.sleep(delay)
            if answer is None:
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            """Quiet: the test checks what arrived."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def _chat(content: dict) -> bytes:
    return json.dumps({"choices": [{"message": {"content": json.dumps(content)}}]}).encode()


def test_the_backend_lines_are_checked_and_kept(brand, settings):
    answer = {"email_subject": ["Fresh Kenya AA 250g for your mornings",
                                "The best coffee ever, 40% off"],
              "meta_headline": ["Brew Kenya AA 250g today"]}
    server, seen = _server(_chat(answer))
    try:
        config = backend.LlmConfig(f"http://127.0.0.1:{server.server_port}", "m", "sk-secret",
                                   timeout_s=5)
        checker = Checker(brand, settings, allowed_text=PRODUCTS)
        result = build(brand, settings, load_templates(), checker,
                       _contexts(brand, ("Coffee explorers",)), {}, DAY, llm=config,
                       goals=("launch",))
    finally:
        server.shutdown()
    assert seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer sk-secret"
    assert seen[0]["body"]["model"] == "m"
    http = result.lines.filter(pl.col("backend") == "http")
    assert set(http["text"]) == {"Fresh Kenya AA 250g for your mornings",
                                 "Brew Kenya AA 250g today"}
    assert result.backend_failures == 0
    assert result.dropped["percentage not in brand.yml"] >= 1


@pytest.mark.parametrize(("answer", "delay"), [(None, 0.0), (b"not json", 0.0),
                                               (_chat({"email_subject": ["x"]}), 3.0)])
def test_a_failing_or_slow_backend_falls_back_offline_and_logs_without_the_key(
        brand, settings, caplog, answer, delay):
    server, seen = _server(answer, delay)
    try:
        config = backend.LlmConfig(f"http://127.0.0.1:{server.server_port}/", "m",
                                   "sk-secret-key", timeout_s=0.5)
        checker = Checker(brand, settings, allowed_text=PRODUCTS)
        with caplog.at_level(logging.WARNING, logger="pipelines.content.backend"):
            result = build(brand, settings, load_templates(), checker,
                           _contexts(brand, ("Coffee explorers",)), {}, DAY, llm=config,
                           goals=("launch",))
    finally:
        server.shutdown()
    assert seen and result.backend_failures == 1
    assert set(result.lines["backend"]) == {"offline"}
    assert set(result.lines["format"]) == set(FORMATS)
    assert "using the offline generator" in caplog.text
    assert "sk-secret-key" not in caplog.text


def test_the_backend_is_off_unless_its_url_is_set(monkeypatch):
    monkeypatch.delenv("MARKETING_LLM_URL", raising=False)
    assert backend.config_from_env() is None
    monkeypatch.setenv("MARKETING_LLM_URL", "http://localhost:8080")
    monkeypatch.setenv("MARKETING_LLM_MODEL", "llama")
    config = backend.config_from_env()
    assert config.endpoint == "http://localhost:8080/v1/chat/completions"
    assert config.model == "llama" and config.api_key is None


# --- the ranking --------------------------------------------------------------------------

def _history(seed: int, n_texts: int = 40, sends: int = 4) -> pl.DataFrame:
    """Subject lines whose open rate rises with a question and the first-name tag and falls
    a little with length; each sent a few times to lists of a few thousand."""
    rng = np.random.default_rng(seed)
    words = ["fresh", "roast", "origin", "brew", "cup", "morning", "beans", "kettle", "ritual"]
    rows = []
    for _ in range(n_texts):
        text = " ".join(rng.choice(words, rng.integers(2, 9)))
        if rng.random() < 0.4:
            text = f"{FIRST_NAME_TAG}, {text}"
        if rng.random() < 0.4:
            text += "?"
        logit = -1.2 + 0.5 * (FIRST_NAME_TAG in text) + 0.4 * text.endswith("?") \
            - 0.004 * len(text) + rng.normal(0, 0.05)
        for _ in range(sends):
            trials = int(rng.integers(2000, 4000))
            rate = 1 / (1 + np.exp(-logit))
            rows.append({"text": text, "trials": trials,
                         "successes": int(rng.binomial(trials, rate))})
    return pl.DataFrame(rows)


def test_the_text_model_beats_length_alone_on_held_out_texts():
    wins = 0
    for seed in range(3):
        check = holdout(_history(seed), "email_subject")
        assert check["texts"] >= 30
        wins += check["model_spearman"] > check["length_spearman"] + 0.2
        assert check["model_auc"] > check["length_auc"]
    assert wins == 3


def test_the_ranker_explains_itself_and_refuses_thin_history():
    ranker, check = train_ranker(_history(7), "email_subject")
    assert ranker.model is not None and check["model_spearman"] > 0.5
    (p1, why1), (p2, _) = ranker.score([f"{FIRST_NAME_TAG}, fresh brew?", "fresh brew"])
    assert p1 > p2 and "uses the first name" in why1 and "beat" not in why1
    thin, _ = train_ranker(_history(7, n_texts=5), "email_subject")
    assert thin.model is None and "needs" in thin.note
    assert thin.score(["a"]) == [(None, thin.note)]


def test_length_only_history_is_not_ranked_by_the_text_model():
    """Where only length moves the rate, the text model has nothing to add: whichever way
    the holdout falls, a model that does not beat length alone ranks nothing."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(30):
        text = "w" * int(rng.integers(10, 60)) + (" ?" if i % 2 else "")
        rate = 0.4 - 0.004 * len(text)
        rows.append({"text": text, "trials": 5000, "successes": int(rng.binomial(5000, rate))})
    ranker, check = train_ranker(pl.DataFrame(rows), "email_subject")
    if check["model_spearman"] <= check["length_spearman"]:
        assert ranker.model is None and "did not beat length alone" in ranker.note
    else:
        assert ranker.model is not None


# --- the store ----------------------------------------------------------------------------

def test_the_store_replaces_the_days_rows(brand, settings):
    checker = Checker(brand, settings, allowed_text=PRODUCTS)
    lines = build(brand, settings, load_templates(), checker,
                  _contexts(brand, ("Coffee explorers",)), {}, DAY, goals=("launch",)).lines
    con = duckdb.connect()
    store.write(con, DAY, lines)
    store.write(con, DAY, lines.head(5))
    other = lines.head(3).with_columns(as_of_date=pl.lit(DAY + dt.timedelta(days=1)))
    store.write(con, DAY + dt.timedelta(days=1), other)
    assert store.read(con, DAY).height == 5
    assert store.read(con).height == 8
    assert store.read(con, DAY).equals(lines.head(5).sort(store.KEY))
    with pytest.raises(ValueError, match="another day"):
        store.write(con, DAY, other)


def test_only_the_offers_own_last_day_is_said_and_passes(brand, settings):
    from pipelines.content.lines import offer_ends

    offer = brand.offers[0].model_copy(update={"valid_to": DAY + dt.timedelta(days=10)})
    assert offer_ends(offer, DAY) == f"ends {offer.valid_to.day} {offer.valid_to:%B}"
    assert offer_ends(offer, DAY - dt.timedelta(days=30)) == ""  # too far off to say
    assert offer_ends(None, DAY) == ""
    line = f"{offer.description} - {offer_ends(offer, DAY)}"
    checker = Checker(brand, settings, allowed_text=(*PRODUCTS, offer_ends(offer, DAY)))
    assert checker.reason(line, "email_subject") is None
    # Any other day is invented: dropped.
    assert Checker(brand, settings, allowed_text=PRODUCTS).reason(
        f"{offer.description} - ends 1 April", "email_subject") is not None
