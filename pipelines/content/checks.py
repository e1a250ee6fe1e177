"""The checks every line passes before it is kept: the platform's length limit, no word the
brand avoids, no price, percentage or claim that brand.yml does not hold, no personal data,
no markup. A failing line is dropped and its reason counted (`check_lines`), so a run says how
many candidates each rule removed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.content.brand import Brand
from pipelines.content.names import FORMATS

SETTINGS_FILE = Path(__file__).with_name("content.yml")

# Formats of one line: a line break in them is a generator or backend fault, not a layout.
ONE_LINE = frozenset(FORMATS[:9])

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Seven or more digits in a row, allowing the separators phone numbers are written with.
_PHONE = re.compile(r"\+?\d[\d ().-]{5,}\d")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(%|percent\b|per cent\b)", re.IGNORECASE)
_PRICE = re.compile(
    r"([$€£¥₹]\s*\d)|(\d[\d.,]*\s*(?:[$€£¥₹]|\b(?:EUR|USD|GBP|CHF|JPY|AUD|CAD|dollars?|euros?|"
    r"pounds?)\b))|\b(?:EUR|USD|GBP|CHF|JPY|AUD|CAD)\s*\d", re.IGNORECASE)
# Any angle bracket, not only a whole tag: an unclosed `<img ... onerror=` joins the markup
# that follows it where a line is pasted into a page. Plain copy never needs one.
_MARKUP = re.compile(r"[<>]|&[a-z]+;|\{\{|\}\}|\{%|https?://\S*[\"']", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Deadlines, scarcity and novelty a line could invent ("ends Sunday", "while stocks last",
# "back in stock", "just landed"): claims only brand.yml can make. An offer's own last day is
# allowed text (stripped before this check).
_DEADLINE = re.compile(
    r"\b(?:ends?|until|till|expires?)\s+(?:today|tonight|tomorrow|midnight|soon|this week"
    r"|the weekend|(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d)"
    r"|\b(?:today|tonight|this week|this weekend) only\b|\blast chance\b|\bhurry\b"
    r"|\bwhile (?:it|stocks?|supplies) lasts?\b|\blimited (?:time|run|stock|edition)\b"
    r"|\b(?:back|low) in stock\b|\bselling fast\b|\bbefore the weekend\b|\bjust landed\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class ContentSettings:
    limits: dict[str, int]
    claim_markers: list[str]
    keep_per_format: int
    expansions_per_template: int


def load_settings(path: Path = SETTINGS_FILE) -> ContentSettings:
    """content.yml: the limits per format, the claim markers and the counts kept."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [f for f in FORMATS if f not in raw.get("limits", {})]
    if missing:
        raise ValueError(f"{path}: limits lacks {missing}")
    return ContentSettings(limits={k: int(v) for k, v in raw["limits"].items()},
                           claim_markers=[str(m).lower() for m in raw["claim_markers"]],
                           keep_per_format=int(raw["keep_per_format"]),
                           expansions_per_template=int(raw["expansions_per_template"]))


def _words(text: str) -> str:
    """Lowercase text with every non-word run as one space, padded, for whole-word search."""
    return f" {re.sub(r'[^0-9a-z#%]+', ' ', text.lower())} "


@dataclass
class Checker:
    """The checks for one brand. `names`: customers' names that must never appear (lowercase
    full names and surnames of the shop's customers); `allowed_text`: product names and
    offer codes, which may carry numbers that are not prices."""

    brand: Brand
    settings: ContentSettings
    names: frozenset[str] = frozenset()
    allowed_text: tuple[str, ...] = ()
    _percents: frozenset[float] = field(init=False)
    _names: frozenset[str] = field(init=False)
    _allowed: re.Pattern[str] | None = field(init=False)

    def __post_init__(self) -> None:
        # Names as the line's words are read, so a name is found as a run of 2-4 words with
        # one set lookup each (a list of 100,000 customers costs no more than one of ten).
        self._names = frozenset(n for n in (_words(x).strip() for x in self.names)
                                if len(n.split()) >= 2)
        offers = [part for o in self.brand.offers for part in (o.code, o.description, o.terms)]
        allowed = sorted({a for a in (*self.brand.claims, *self.allowed_text, *offers) if a},
                         key=len, reverse=True)
        self._allowed = (re.compile("|".join(re.escape(a) for a in allowed), re.IGNORECASE)
                         if allowed else None)
        self._percents = frozenset(float(o.discount_percent) for o in self.brand.offers
                                   if o.discount_percent is not None)

    def _strip_allowed(self, text: str) -> str:
        """`text` without the brand's own claims, offers (code, description, terms) and the
        product names: what is left is what the generator or backend wrote itself."""
        return self._allowed.sub(" ", text) if self._allowed is not None else text

    def reason(self, text: str, fmt: str) -> str | None:
        """Why `text` may not be shown as `fmt`, or None when it passes every check."""
        if fmt not in self.settings.limits:
            return "unknown format"
        if not text or not text.strip():
            return "empty"
        if len(text) > self.settings.limits[fmt]:
            return "too long"
        if _CONTROL.search(text) or (fmt in ONE_LINE and "\n" in text):
            return "control characters or line breaks"
        if _MARKUP.search(text):
            return "markup"
        if _EMAIL.search(text):
            return "personal data (email address)"
        words = _words(text)
        if any(_words(w).strip() and _words(w) in words for w in self.brand.words_to_avoid):
            return "banned word"
        if self._names:
            tokens = words.split()
            runs = {" ".join(tokens[i:i + n]) for n in (2, 3, 4)
                    for i in range(len(tokens) - n + 1)}
            if runs & self._names:
                return "personal data (a customer's name)"
        own = self._strip_allowed(text)
        if _PHONE.search(own):
            return "personal data (phone number)"
        if _PRICE.search(own):
            return "price not in brand.yml"
        for match in _PERCENT.finditer(own):
            if float(match.group(1).replace(",", ".")) not in self._percents:
                return "percentage not in brand.yml"
        own_words = _words(own)
        if any(_words(m) in own_words for m in self.settings.claim_markers):
            return "claim not in brand.yml"
        if _DEADLINE.search(own):
            return "deadline or stock claim not in brand.yml"
        return None


def check_lines(lines: list[tuple[str, str]], checker: Checker
                ) -> tuple[list[tuple[str, str]], Counter[str]]:
    """`(format, text)` pairs that pass, in their order, and the count of dropped lines by
    reason."""
    kept, dropped = [], Counter()
    for fmt, text in lines:
        why = checker.reason(text, fmt)
        if why is None:
            kept.append((fmt, text))
        else:
            dropped[why] += 1
    return kept, dropped
