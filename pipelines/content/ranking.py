"""Ranking candidate lines by what worked in the shop's own history: a ridge regression of a
send's open rate (email subjects, Mailchimp) or an ad's click-through rate (Meta headline and
primary text) on features of the text, with the evidence in words.

The model is judged against a length-only rival on held-out text (`holdout`): folds are
grouped by the text, so a subject line seen in training is never scored in the test, and the
score is the Spearman correlation of predicted and observed rates pooled over the folds (and
the AUC of telling the above-median sends). Where the history is too thin, or the model does
not beat the rival on it, lines are ranked with no prediction and the evidence says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from pipelines.content.generate import FIRST_NAME_TAG

MIN_TEXTS = 20  # distinct texts below which no model is fitted: fewer make a noisy holdout
FOLDS = 5
ALPHA = 3.0  # ridge penalty on standardised features: a handful of texts, many sends each

_URGENCY = re.compile(r"\b(last chance|ends?|ending|tonight|now|today|hours?|final|hurry|"
                      r"this week|while it lasts|before)\b", re.IGNORECASE)
_OFFER = re.compile(r"\d+\s*%|\boff\b|\bcode\b|\bfree\b|\bsave\b|\bsale\b", re.IGNORECASE)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_SHOUT = re.compile(r"!|\b[A-Z]{3,}\b")

# Feature name -> the words a marketer reads for it: (when the line has it, when it has not);
# a count is read with its value.
FEATURES: dict[str, tuple[str, str]] = {
    "length": ("{} characters", "{} characters"),
    "words": ("{} words", "{} words"),
    "question": ("asks a question", "no question"),
    "number": ("has a number", "no number"),
    "personalised": ("uses the first name", "no first name"),
    "you": ("speaks to the reader (you, your)", "does not say you"),
    "urgency": ("has urgency (ends, now, this week)", "no urgency"),
    "offer": ("names an offer (off, code, free)", "no offer"),
    "emoji": ("has an emoji", "no emoji"),
    "shouting": ("shouts (! or capitals)", "no shouting"),
}


def features(texts: list[str]) -> np.ndarray:
    """One row of FEATURES per text."""
    rows = []
    for text in texts:
        # The merge tag becomes a name on sending: counted as personalisation, not as words.
        plain = text.replace(f"{FIRST_NAME_TAG}, ", "").replace(FIRST_NAME_TAG, "")
        rows.append([
            len(plain), len(plain.split()), text.rstrip().endswith("?"),
            bool(re.search(r"\d", plain)), FIRST_NAME_TAG in text,
            bool(re.search(r"\b(you|your|you're)\b", plain, re.IGNORECASE)),
            bool(_URGENCY.search(plain)), bool(_OFFER.search(plain)), bool(_EMOJI.search(plain)),
            bool(_SHOUT.search(plain)),
        ])
    return np.asarray(rows, dtype=float)


def _logit(rate: np.ndarray) -> np.ndarray:
    rate = np.clip(rate, 1e-4, 1 - 1e-4)
    return np.log(rate / (1 - rate))


@dataclass
class TextModel:
    """A fitted model of a rate from text. `columns`: the feature indices used (all, or length
    alone for the rival); `base_rate`: the history's mean rate."""

    kind: str
    columns: list[int]
    mean: np.ndarray
    scale: np.ndarray
    ridge: Ridge
    base_rate: float
    low: np.ndarray
    high: np.ndarray

    def _x(self, texts: list[str]) -> np.ndarray:
        # A line outside the history's range (longer than any subject sent) is read at the
        # range's edge: a linear model says nothing about what it never saw.
        x = np.clip(features(texts)[:, self.columns], self.low, self.high)
        return (x - self.mean) / self.scale

    def predict(self, texts: list[str]) -> np.ndarray:
        """The predicted rate per text."""
        return 1 / (1 + np.exp(-self.ridge.predict(self._x(texts))))

    def evidence(self, text: str, limit: int = 3) -> str:
        """The largest contributions to `text`'s prediction, in words (percentage points of
        the rate against the history's average line)."""
        raw = features([text])[0][self.columns]
        parts = self.ridge.coef_ * self._x([text])[0]
        names = [list(FEATURES)[c] for c in self.columns]
        order = np.argsort(-np.abs(parts))
        base = _logit(np.array([self.base_rate]))[0]
        words = []
        for i in order[:limit]:
            if abs(parts[i]) < 1e-3:
                continue
            shift = 1 / (1 + np.exp(-(base + parts[i]))) - self.base_rate
            has, lacks = FEATURES[names[i]]
            said = (has if raw[i] else lacks).format(int(raw[i]))
            words.append(f"{said} {shift * 100:+.1f} pts")
        return ", ".join(words) or "no feature sets it apart from the average line"


def fit(texts: list[str], rates: np.ndarray, weights: np.ndarray, kind: str,
        length_only: bool = False) -> TextModel:
    """A ridge regression of logit(rate) on the texts' standardised features, each send
    weighted by its size (sqrt, so a big list does not drown the rest)."""
    columns = [0] if length_only else list(range(len(FEATURES)))
    x = features(texts)[:, columns]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    ridge = Ridge(alpha=ALPHA).fit((x - mean) / scale, _logit(rates), sample_weight=weights)
    base = float(np.average(rates, weights=weights))
    return TextModel(kind, columns, mean, scale, ridge, base, x.min(axis=0), x.max(axis=0))


def history_ok(history: pl.DataFrame) -> bool:
    return history.height > 0 and history["text"].n_unique() >= MIN_TEXTS


def holdout(history: pl.DataFrame, kind: str, folds: int = FOLDS) -> dict:
    """The model and the length-only rival on held-out texts. `history`: text, trials,
    successes (one row per send or ad). Returns spearman and auc for each, the sends and texts
    scored; empty figures when the history is too thin."""
    if not history_ok(history):
        return {"kind": kind, "sends": history.height,
                "texts": history["text"].n_unique() if history.height else 0,
                "model_spearman": None, "length_spearman": None, "model_auc": None,
                "length_auc": None}
    texts = history["text"].to_list()
    rates = (history["successes"] / history["trials"]).to_numpy()
    weights = np.sqrt(history["trials"].to_numpy().astype(float))
    groups = history["text"].to_numpy()
    k = min(folds, history["text"].n_unique())
    model_pred, length_pred = np.zeros(len(texts)), np.zeros(len(texts))
    for train, test in GroupKFold(n_splits=k).split(texts, rates, groups):
        tr = [texts[i] for i in train]
        te = [texts[i] for i in test]
        model_pred[test] = fit(tr, rates[train], weights[train], kind).predict(te)
        length_pred[test] = fit(tr, rates[train], weights[train], kind, True).predict(te)
    above = rates > np.median(rates)
    two_classes = 0 < above.sum() < len(above)
    return {
        "kind": kind, "sends": len(texts), "texts": int(history["text"].n_unique()),
        "model_spearman": float(spearmanr(model_pred, rates).statistic),
        "length_spearman": float(spearmanr(length_pred, rates).statistic),
        "model_auc": float(roc_auc_score(above, model_pred)) if two_classes else None,
        "length_auc": float(roc_auc_score(above, length_pred)) if two_classes else None,
    }


@dataclass
class Ranker:
    """The fitted model for one kind of text, or none, with the reason in words."""

    kind: str
    model: TextModel | None
    note: str

    def score(self, texts: list[str]) -> list[tuple[float | None, str]]:
        """(predicted rate or None, evidence) per text."""
        if self.model is None:
            return [(None, self.note) for _ in texts]
        predicted = self.model.predict(texts)
        return [(float(p), f"predicted {p:.1%} ({self.model.evidence(t)}); {self.note}")
                for p, t in zip(predicted, texts, strict=True)]


def train_ranker(history: pl.DataFrame, kind: str) -> tuple[Ranker, dict]:
    """The model used to rank `kind` lines, with its holdout against the length-only rival.
    The model ranks only where it beat the rival on held-out texts; otherwise lines keep the
    generator's order and the evidence says why."""
    what = "open rate" if kind == "email_subject" else "click-through rate"
    check = holdout(history, kind)
    if check["model_spearman"] is None:
        return Ranker(kind, None, f"not ranked: the history has {check['texts']} distinct "
                      f"texts with a {what} (needs {MIN_TEXTS})"), check
    verdict = (f"on held-out texts Spearman {check['model_spearman']:.2f} vs "
               f"{check['length_spearman']:.2f} for length alone")
    if not check["model_spearman"] > check["length_spearman"]:
        return Ranker(kind, None, f"not ranked: the text model did not beat length alone "
                      f"({verdict})"), check
    texts = history["text"].to_list()
    rates = (history["successes"] / history["trials"]).to_numpy()
    weights = np.sqrt(history["trials"].to_numpy().astype(float))
    return Ranker(kind, fit(texts, rates, weights, kind),
                  f"{what} model from {check['sends']} sends, {verdict}"), check
