"""Pairs of person records that the probabilistic matcher takes for one person
(pipelines.identity.linking.links), with their probability, the fields that agreed, the run
date found and the date they ended. On a day the matcher was trained every record is matched;
on the others only the records new or changed that day (int_identity__record_versions), at the
threshold of the latest model's full match. Reads its own previous contents; a rerun of a day
forgets that day's findings first."""


def model(dbt, session):
    import polars as pl

    from pipelines.identity.linking import links, matcher_records, strong_edges
    from pipelines.identity.state import decision_day, previous

    day = decision_day(dbt.ref("int_identity__runs").pl())
    history = previous(session, dbt.this)
    weak = list(dbt.config.get("weak_types"))
    records = matcher_records(dbt.ref("int_identity__person_records").pl(),
                              strong_edges(dbt.ref("int_identity__edges"), weak), weak)
    ledger = dbt.ref("int_identity__record_versions").pl()
    new = ledger.filter(pl.col("seen_on") == day)["record_key"].unique().sort()
    models = dbt.ref("int_identity__match_model").pl()
    return links(history, records, models, new, day).to_arrow()
