"""A shop whose only export is a generic orders CSV still gets churn and lifetime value scores
(from trained models, or from the simple rival that ranks the holdout better) and a units
forecast, validated and published; lead scoring has no leads and says so."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from pipelines import daily
from pipelines.config import Settings
from pipelines.ingest.sources import source_names
from pipelines.simulate import simulate
from pipelines.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = date(2026, 10, 31)


def test_orders_csv_alone_is_enough_for_churn_and_lifetime_value(tmp_path):
    settings = Settings(home=tmp_path / "data", duckdb_memory_limit="1GB")
    simulate(settings, scale="xs", seed=5, end_date=DAY, orders_format="generic")
    for folder in settings.landing_dir.iterdir():
        if folder.name != "orders":
            shutil.rmtree(folder)

    for source in source_names():
        daily.ingest(settings, source, DAY, "generic")
    daily.transform(settings, DAY, "generic")
    churn = daily.score_churn(settings, DAY, "generic")
    ltv = daily.score_ltv(settings, DAY, "generic")
    lead = daily.score_lead(settings, DAY, "generic")
    forecast = daily.forecast_units(settings, DAY, "generic")
    personas = daily.segment(settings, DAY, "generic")
    for step in ("transform_reports", "export", "audit", "publish"):
        getattr(daily, step)(settings, DAY, "generic")

    # Two years of orders are enough to learn from: both models train and are measured.
    assert churn["trained"] and ltv["trained"], (churn, ltv)
    assert lead["scored"] == 0 and lead["version"] == "stage_rate", lead
    assert forecast["mape"] < forecast["baseline_mape"], forecast
    con = connect(settings, path=settings.published_db, read_only=True)
    try:
        counts = dict(con.sql("select model, count(*) from ml.scores group by model").fetchall())
        runs = con.sql(
            "select model, metric, model_value, baseline_value, published_value, version, "
            "candidate_version, metrics from ml.model_runs "
            "where model in ('churn', 'ltv') order by model"
        ).fetchall()
        forecast_rows = con.sql("select count(*) from ml.forecast").fetchall()[0][0]
    finally:
        con.close()
    assert counts["churn"] == churn["scored"] > 100
    assert counts["ltv"] == ltv["scored"] >= counts["churn"]
    assert "lead" not in counts
    assert [(model, metric) for model, metric, *_ in runs] == [
        ("churn", "auc"),
        ("ltv", "spearman"),
    ]
    for model, metric, value, baseline, published, version, candidate, metrics in runs:
        # What publishes is the best ranking measured on the holdout: the model if it beats
        # every rival that can score, else the strongest of them; never an unmeasured figure.
        rivals = {
            name: figures[metric]
            for name, figures in json.loads(metrics)["rivals"].items()
            if metric in figures and "cannot_publish" not in figures
        }
        assert baseline == max(rivals.values()), model
        assert published == max(value, baseline), model
        assert version == (candidate if value > baseline else max(rivals, key=rivals.get))
    assert forecast_rows == forecast["rows"] > 0
    # Orders alone still sort buyers into personas (no visits, email or survey to go on).
    assert 3 <= personas["k"] <= 10 and personas["customers"] > 100, personas
