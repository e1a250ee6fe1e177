"""`bench.seeds` prints each world's quality and the mean over worlds."""

from __future__ import annotations

from bench.seeds import COLUMNS, markdown


def _run(seed: int, model: float, oracle: float) -> dict:
    run = {"seed": seed, "churn": {}, "ltv": {}, "lead": {}, "forecast": {}}
    for _, section, key in COLUMNS:
        run.setdefault(section, {})[key] = 0.5
    run["churn"].update(model_auc=model, hazard_oracle_auc=oracle, gap=oracle - model)
    return run


def test_table_has_a_row_per_seed_and_the_mean_of_each_column():
    table = markdown("s", [_run(1, 0.80, 0.83), _run(2, 0.81, 0.85)])
    rows = table.splitlines()
    assert rows[-3].startswith("| 1 | 0.8000 | 0.8300 | 0.0300 | 0.5000 |")
    assert rows[-2].startswith("| 2 | 0.8100 | 0.8500 | 0.0400 |")
    assert rows[-1].startswith("| **mean** | 0.8050 | 0.8400 | 0.0350 | 0.5000 |")
    assert "over 2 simulated worlds" in rows[0]
    # A header cell per column, and the separator matches it.
    assert rows[2].count("|") == rows[3].count("|") == len(COLUMNS) + 2
