"""Every version of every person record (record_key, fingerprint) with the run date it was
first seen (pipelines.identity.linking.versions): the records new or changed on a day are
those first seen that day, and only they are matched again. Reads its own previous contents;
a rerun of a day forgets that day's versions first."""


def model(dbt, session):
    from pipelines.identity.linking import versions
    from pipelines.identity.state import decision_day, previous

    day = decision_day(dbt.ref("int_identity__runs").pl())
    history = previous(session, dbt.this)
    records = dbt.ref("int_identity__person_records").pl()
    ledger, _ = versions(history, records, day)
    return ledger.to_arrow()
