"""How many personas: silhouette, stability across bootstrap resamples and fit, for k in a range.

For each k the model is fitted on a sample of customers and scored three ways:

- silhouette on the standardised profile: are customers nearer their own persona than the next?
- stability: fitted again on bootstrap resamples, how well do the resampled models reproduce
  the personas (mean adjusted Rand index)? Personas that do not come back are noise.
- BIC: how well the model explains the customers, less a charge for every parameter.

A k is admissible when its personas are stable (stability >= min_stability) and separated
(silhouette > 0: on average customers sit nearer their own persona than any other). Among
admissible ks the best BIC wins. Silhouette alone cannot choose here: customer personas overlap
(a bargain hunter and a regular share most habits), and on overlapping groups silhouette falls
as k grows whatever the truth (on the simulated shop from 0.10 at k=3 to 0.03 at k=7, where
the hidden personas are 7), so it would always pick the smallest k.

If no k is admissible the data shows no persona structure the model can stand behind: the
selection says so (`found` is False) and the caller falls back to the RFM segments rather than
invent personas that a resample of the same customers would redraw.

Stability is a mean over resamples, each of which moves by 0.05-0.2 in ARI (measured on the
simulated shop and on Online Retail II), so it is estimated until the decision it feeds is
clear: after MIN_BOOTSTRAPS resamples, more are drawn (up to `bootstraps`) only while the mean
lies within two standard errors of the bar. A k far above or below the bar costs four fits,
one near it up to `bootstraps`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

from pipelines.personas import mixture
from pipelines.personas.model import ModelSpec, fit
from pipelines.personas.profile import build_profile

log = logging.getLogger(__name__)

# Resamples before the stability of a k may be judged: fewer leave its spread unknown.
MIN_BOOTSTRAPS = 4
# Standard errors between the mean agreement and the bar that settle the decision (about 95%).
DECISIVE_SE = 2.0


@dataclass(frozen=True)
class KScore:
    k: int
    silhouette: float
    stability: float
    loglik: float
    bic: float
    resamples: int = 0


@dataclass(frozen=True)
class Selection:
    k: int
    scores: list[KScore]
    rule: str
    found: bool = True


def choose_k(scores: list[KScore], min_stability: float) -> Selection:
    """The best (lowest) BIC among admissible ks (stability >= `min_stability` and silhouette
    > 0), the smaller k on a tie. When no k is admissible, `found` is False (the most stable k
    is named, for the record). Raises ValueError on an empty list."""
    if not scores:
        raise ValueError("choose_k needs at least one scored k")
    admissible = [s for s in scores if s.stability >= min_stability and s.silhouette > 0]
    if admissible:
        best = min(admissible, key=lambda s: (round(s.bic, 3), s.k))
        rule = f"best BIC among ks with stability >= {min_stability} and silhouette > 0"
    else:
        best = max(scores, key=lambda s: (round(s.stability, 6), -s.k))
        rule = (
            f"no k had stability >= {min_stability} and silhouette > 0 (the most stable, "
            f"k={best.k}, reached {best.stability:.2f})"
        )
        return Selection(best.k, sorted(scores, key=lambda s: s.k), rule, found=False)
    return Selection(best.k, sorted(scores, key=lambda s: s.k), rule)


def decided(agreement: list[float], bar: float) -> bool:
    """Whether the mean of the resamples' agreement lies DECISIVE_SE standard errors or more
    from `bar` (after at least MIN_BOOTSTRAPS resamples)."""
    if len(agreement) < MIN_BOOTSTRAPS:
        return False
    spread = float(np.std(agreement, ddof=1)) / np.sqrt(len(agreement))
    return abs(float(np.mean(agreement)) - bar) > DECISIVE_SE * spread


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a sample of at most `size` of `n` rows (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def score_k(
    spec: ModelSpec,
    frame: pl.DataFrame,
    k: int,
    seeds: tuple[int, ...],
    bootstraps: int,
    seed: int,
    max_iter: int,
    min_stability: float = 0.8,
    silhouette_sample: int = 2000,
) -> KScore:
    """Silhouette and bootstrap stability of the k-persona model fitted on `frame`: up to
    `bootstraps` resamples, fewer once the stability is clearly above or below
    `min_stability` (`decided`)."""
    reference = fit(spec, frame, k, seeds, max_iter=max_iter)
    profile = build_profile(frame).matrix
    labels = reference.labels
    if len(np.unique(labels)) < 2:
        silhouette = -1.0
    else:
        silhouette = float(
            silhouette_score(
                profile, labels, sample_size=min(silhouette_sample, len(labels)), random_state=seed
            )
        )
    rng = np.random.default_rng(seed)
    terms = spec.terms()
    data = mixture.prepare(terms, frame)
    agreement = []
    for b in range(bootstraps):
        rows = np.sort(rng.integers(0, frame.height, frame.height))
        resampled = fit(spec, frame[rows], k, (seeds[0] + 1 + b,), max_iter=max_iter)
        again = mixture.predict(terms, data, resampled.weights, resampled.params).argmax(axis=1)
        agreement.append(adjusted_rand_score(labels, again))
        if decided(agreement, min_stability):
            break
    stability = float(np.mean(agreement)) if agreement else 1.0
    score = mixture.bic(terms, reference, frame.height)
    return KScore(k, silhouette, stability, reference.loglik, score, len(agreement))


def _one_thread() -> None:
    # As in the task's own process: one BLAS and OpenMP thread, so sums add in one order.
    threadpool_limits(limits=1)


def score_ks(score: Callable[[int], KScore], ks: list[int], workers: int) -> list[KScore]:
    """`score(k)` for every k, in `workers` processes when more than one (each k is scored
    independently and from its own seeds, so the scores do not depend on the process that
    computes them); in order of k."""
    workers = min(workers, len(ks))
    if workers <= 1:
        return [score(k) for k in ks]
    # Spawned, not forked: the task's process holds DuckDB's and Polars' threads.
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            # The largest k takes longest: started first, it does not finish alone at the end.
            scored = list(pool.map(score, sorted(ks, reverse=True)))
    except BrokenProcessPool as exc:
        # A spawned process imports the main module again; a script that runs the pipeline
        # without an `if __name__ == "__main__":` guard cannot start one.
        log.warning("personas: scoring in one process, the worker processes failed (%s)", exc)
        return [score(k) for k in ks]
    return sorted(scored, key=lambda s: s.k)


def default_workers() -> int:
    """One process per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def select_k(
    spec: ModelSpec,
    frame: pl.DataFrame,
    k_min: int,
    k_max: int,
    seeds: tuple[int, ...],
    bootstraps: int,
    sample_size: int,
    min_stability: float,
    seed: int,
    max_iter: int,
    workers: int = 1,
) -> Selection:
    """Score every k in [k_min, k_max] on a sample of `frame`, in up to `workers` processes,
    and choose one (choose_k). Raises ValueError when the range is empty or the frame has
    fewer customers than k_min."""
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"persona k range must have 2 <= k_min <= k_max, got {k_min}-{k_max}")
    if frame.height < k_min:
        raise ValueError(f"{frame.height} customers cannot make {k_min} personas")
    sample = frame[sample_rows(frame.height, sample_size, seed)]
    top = min(k_max, sample.height - 1) if sample.height > k_min else k_min
    score = partial(
        score_k,
        spec,
        sample,
        seeds=seeds,
        bootstraps=bootstraps,
        seed=seed,
        max_iter=max_iter,
        min_stability=min_stability,
    )
    scores = score_ks(score, list(range(k_min, top + 1)), workers)
    for s in scores:
        log.info(
            "k=%d silhouette=%.4f stability=%.4f (%d resamples) loglik=%.4f bic=%.1f",
            s.k,
            s.silhouette,
            s.stability,
            s.resamples,
            s.loglik,
            s.bic,
        )
    return choose_k(scores, min_stability)
