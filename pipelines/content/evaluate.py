"""The content ranking's evaluation for the benchmark: on a warehouse's campaign history, the
text model against a length-only rival on held-out texts (`ranking.holdout`: folds grouped by
the text, Spearman and AUC of the predicted against the observed rate)."""

from __future__ import annotations

from datetime import date

from pipelines.config import Settings
from pipelines.content import inputs
from pipelines.content.ranking import holdout
from pipelines.warehouse import work_connection


def subject_line_holdout(settings: Settings, as_of: date) -> dict:
    """Email subject lines -> open rate, and Meta headlines and primary text -> click-through
    rate, each against length alone on held-out texts, from the work file's history up to
    `as_of`. Returns {"email_subject": {...}, "meta_headline": {...},
    "meta_primary_text": {...}}, each with sends, texts, model_spearman, length_spearman,
    model_auc and length_auc (None where the history is too thin)."""
    day = as_of.isoformat()
    with work_connection(settings) as con:
        histories = {
            "email_subject": inputs.email_history(con, day),
            "meta_headline": inputs.ad_history(con, "headline", day),
            "meta_primary_text": inputs.ad_history(con, "primary_text", day),
        }
    return {kind: holdout(history, kind) for kind, history in histories.items()}
