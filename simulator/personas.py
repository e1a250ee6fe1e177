"""The world's personas: the reference seven, or `k` of them for worlds that test whether the
pipeline finds a number of personas it was not built around.

Fewer than seven are a seeded sample of the reference personas; more than seven add variants
of seeded reference personas, each a distinct behaviour group: the same cadence and value, but
another favourite category mix, first-visit channel mix, hour of day, main device and price
point, which are among the habits a persona is told apart by.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator import reference as ref

STREAM_PERSONAS = 12
MIN_PERSONAS, MAX_PERSONAS = 3, 10


def world_personas(k: int, seed: int) -> tuple[ref.Persona, ...]:
    """`k` personas (3-10) for the world of `seed`; the reference seven when `k` is 7.

    Shares are the reference shares (a variant takes its base's), normalised where drawn.
    ValueError when `k` is outside 3-10.
    """
    if not MIN_PERSONAS <= k <= MAX_PERSONAS:
        raise ValueError(f"personas must be from {MIN_PERSONAS} to {MAX_PERSONAS}, got {k}")
    base = ref.PERSONAS
    if k == len(base):
        return base
    rng = np.random.default_rng([seed, STREAM_PERSONAS, k])
    if k < len(base):
        keep = np.sort(rng.choice(len(base), k, replace=False))
        return tuple(base[i] for i in keep)
    sources = rng.choice(len(base), k - len(base), replace=False)
    return (*base, *(_variant(base[i], rng) for i in sources))


def _variant(p: ref.Persona, rng: np.random.Generator) -> ref.Persona:
    """A new behaviour group from `p`: its category and channel mixes rotated, its hour moved
    by 6-10 hours (within waking hours), its main device and price point mirrored."""
    shift = int(rng.integers(1, len(p.categories)))
    turn = int(rng.integers(1, len(p.channels)))
    hour = 7 + (p.send_hour - 7 + int(rng.integers(6, 11))) % 16
    return dataclasses.replace(
        p,
        name=f"{p.name}_variant",
        categories=p.categories[shift:] + p.categories[:shift],
        channels=p.channels[turn:] + p.channels[:turn],
        send_hour=hour,
        mobile_share=round(1.0 - p.mobile_share, 2),
        price_tier=round(1.0 - p.price_tier, 2),
    )
