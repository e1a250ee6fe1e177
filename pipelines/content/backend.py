"""The optional HTTP backend: any OpenAI-compatible `/v1/chat/completions` endpoint (a local
llama.cpp or Ollama server, or a hosted one), off unless env `MARKETING_LLM_URL` is set.

It asks for candidate lines per format as JSON; the same checks judge them as the offline
ones. A timeout, an HTTP error or an answer that is not the JSON asked for returns None, and
the caller falls back to offline generation; the log says why, never with the key.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from pipelines.content.brand import Brand
from pipelines.content.checks import ContentSettings
from pipelines.content.generate import FIRST_NAME_TAG, PersonaContext
from pipelines.content.names import FORMATS

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LlmConfig:
    url: str
    model: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/v1/chat/completions"


def config_from_env() -> LlmConfig | None:
    """The backend from env MARKETING_LLM_URL / _MODEL / _API_KEY / _TIMEOUT_S; None (offline)
    when no URL is set."""
    url = os.environ.get("MARKETING_LLM_URL", "").strip()
    if not url:
        return None
    return LlmConfig(url=url, model=os.environ.get("MARKETING_LLM_MODEL", "").strip() or "local",
                     api_key=os.environ.get("MARKETING_LLM_API_KEY") or None,
                     timeout_s=float(os.environ.get("MARKETING_LLM_TIMEOUT_S",
                                                    DEFAULT_TIMEOUT_S)))


def prompt(brand: Brand, ctx: PersonaContext, goal: str, settings: ContentSettings) -> str:
    """The request in words: the brand's rules, the persona and the formats with limits."""
    offer = (f"{ctx.offer.description} (code {ctx.offer.code}; {ctx.offer.terms})"
             if ctx.offer else "none: mention no discount")
    limits = ", ".join(f"{f} <= {settings.limits[f]} characters" for f in FORMATS)
    return (
        f"Write marketing copy for {brand.name} ({brand.url}). Voice: "
        f"{', '.join(brand.voice.adjectives)}. {' '.join(brand.voice.sentences)}\n"
        f"Use words like: {', '.join(brand.words_to_use)}. Never use: "
        f"{', '.join(brand.words_to_avoid)}.\n"
        f"The only claims allowed, verbatim: {'; '.join(brand.claims) or 'none'}. "
        "No prices, no percentages except the offer's, no names, emails or phone numbers.\n"
        f"Audience: the persona '{ctx.persona}' ({ctx.traits}; a team label: never write it "
        "in the copy, except in the sales_sheet); they buy "
        f"{', '.join(ctx.categories)}; feature {', '.join(ctx.products)}. Goal: {goal}. "
        f"Offer: {offer}. Calls to action: {', '.join(brand.ctas)}. The first-name merge "
        f"tag is {FIRST_NAME_TAG}.\n"
        f"Limits: {limits}.\nAnswer with one JSON object whose keys are the formats "
        f"({', '.join(FORMATS)}) and whose values are lists of three strings each.")


def generate(config: LlmConfig, brand: Brand, ctx: PersonaContext, goal: str,
             settings: ContentSettings) -> list[tuple[str, str]] | None:
    """`(format, text)` candidates from the endpoint, or None when it failed (logged)."""
    body = json.dumps({
        "model": config.model, "temperature": 0.7,
        "messages": [
            {"role": "system", "content": "You write short marketing copy and answer in JSON."},
            {"role": "user", "content": prompt(brand, ctx, goal, settings)}],
    }).encode()
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(config.endpoint, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s) as response:
            answer = json.loads(response.read().decode("utf-8"))
        content = answer["choices"][0]["message"]["content"]
        start, end = content.find("{"), content.rfind("}")
        lines = json.loads(content[start:end + 1])
        if not isinstance(lines, dict):
            raise ValueError("the answer is not a JSON object")
    except (OSError, TimeoutError, urllib.error.URLError, ValueError, KeyError, IndexError,
            TypeError) as error:
        log.warning("content backend %s failed for persona %r, goal %s (%s: %s); using the "
                    "offline generator", config.endpoint, ctx.persona, goal,
                    type(error).__name__, error)
        return None
    out = [(fmt, str(text).strip()) for fmt in FORMATS
           for text in (lines.get(fmt) or []) if isinstance(text, str | int | float)]
    if not out:
        log.warning("content backend %s answered no line in the formats asked for persona "
                    "%r, goal %s; using the offline generator", config.endpoint, ctx.persona,
                    goal)
        return None
    return out
