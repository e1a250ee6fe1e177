"""Offline copy: every format's templates (templates.yml, Jinja2) expanded over grammar-style
alternatives for one persona and campaign goal. No network; the same inputs give the same
candidates (the draw of alternatives is seeded by persona, goal and format)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from pipelines.content.brand import Brand, Offer
from pipelines.content.names import FORMATS, GOALS

TEMPLATES_FILE = Path(__file__).with_name("templates.yml")
# Mailchimp fills this merge tag with the recipient's first name when it sends; the copy holds
# the tag, never a name.
FIRST_NAME_TAG = "*|FNAME|*"


def plain_text(value: object) -> object:
    """A value a template prints, its angle brackets escaped (`<` as `&lt;`, `>` as `&gt;`):
    markup in a product or persona name (`<img src=x onerror=...`) is inert text, and the
    markup check then drops the line. `&` and quotes stay as typed ("Mugs & Cups")."""
    return value.replace("<", "&lt;").replace(">", "&gt;") if isinstance(value, str) else value


@dataclass(frozen=True)
class PersonaContext:
    """What the copy for one persona is built from."""

    persona: str
    categories: list[str]
    products: list[str]
    traits: str = ""
    offer: Offer | None = None
    offer_ends: str = ""  # "ends 31 December" when the offer's last day is near, else ""


@dataclass
class Templates:
    slots: dict[str, dict[str, list[str]] | list[str]]
    formats: dict[str, list[str]]
    # The lines are plain text for CSV uploads, Mailchimp and ad platforms, not HTML, so
    # HTML escaping is the wrong escape here: it would ship "Mugs &amp; Cups". The plain-text
    # escape is `plain_text`, applied to every value a template prints (names and categories
    # from the shop's exports): no angle bracket from data reaches a line as markup, so no
    # line can open a tag where it is later pasted into a page; the checks then drop such a
    # line, and the report HTML-escapes every value where it writes HTML.
    env: SandboxedEnvironment = field(default_factory=lambda: SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, finalize=plain_text,
        keep_trailing_newline=False))

    def slot_choices(self, goal: str) -> dict[str, list[str]]:
        """Each slot's alternatives for `goal`."""
        return {name: (alts[goal] if isinstance(alts, dict) else alts)
                for name, alts in self.slots.items()}


def load_templates(path: Path = TEMPLATES_FILE) -> Templates:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [f for f in FORMATS if not raw["formats"].get(f)]
    if missing:
        raise ValueError(f"{path}: no templates for {missing}")
    for name, alts in raw["slots"].items():
        if isinstance(alts, dict) and set(alts) != set(GOALS):
            raise ValueError(f"{path}: slot {name!r} must list alternatives for {list(GOALS)}")
    return Templates(slots=raw["slots"], formats=raw["formats"])


def _rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _padded(items: list[str], n: int, fallback: str) -> list[str]:
    """`items` cycled to `n` entries (a persona with one product still names three)."""
    items = [i for i in items if i] or [fallback]
    return [items[i % len(items)] for i in range(n)]


def candidates(brand: Brand, templates: Templates, ctx: PersonaContext, goal: str,
               expansions: int) -> list[tuple[str, str]]:
    """`(format, text)` candidates for the persona and goal: each template rendered with up to
    `expansions` draws of its alternatives, duplicates removed, in a stable order."""
    choices = templates.slot_choices(goal)
    products = _padded(ctx.products, 3, next((c for c in ctx.categories if c), brand.name))
    # A shop without product categories (Online Retail II) has null ones: say "favourites".
    category = next((c for c in ctx.categories if c), "favourites").lower()
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for fmt in FORMATS:
        rng = _rng(brand.name, ctx.persona, goal, fmt)
        templates_of = [templates.env.from_string(t) for t in templates.formats[fmt]]
        usable = [True] * len(templates_of)
        # Round by round over the templates, so the first lines of a format (the ones shown
        # where no model ranks them) come from different templates.
        for _ in range(expansions):
            for i, template in enumerate(templates_of):
                if not usable[i]:
                    continue
                picked = {name: rng.choice(alts) for name, alts in choices.items()}
                context = {
                    "brand": {"name": brand.name, "url": brand.url}, "persona": ctx.persona,
                    "category": category, "product": products[0], "product_2": products[1],
                    "product_3": products[2], "offer": ctx.offer, "traits": ctx.traits,
                    "claim": rng.choice(brand.claims) if brand.claims else brand.name,
                    "word": rng.choice(brand.words_to_use) if brand.words_to_use else "",
                    "cta": rng.choice(brand.ctas), "fname": FIRST_NAME_TAG, "s": picked,
                    "offer_ends": ctx.offer_ends,
                }
                try:
                    text = " ".join(template.render(context).split(" ")).strip()
                except TemplateError:
                    usable[i] = False  # the template needs what this persona lacks (an offer)
                    continue
                if (fmt, text) not in seen:
                    seen.add((fmt, text))
                    out.append((fmt, text))
    return out
