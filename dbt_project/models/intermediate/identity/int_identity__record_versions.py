"""Every version of every person record (record_key, fingerprint) with the run date it was
first seen (pipelines.identity.linking.versions): the records new or changed on a day are
those first seen that day, and only they are matched again. Reads its own previous contents;
a rerun of a day forgets that day's versions first."""


def model(dbt, session):
    import datetime as dt

    from pipelines.identity.linking import versions
    from pipelines.identity.state import previous

    as_of_text = dbt.config.get("as_of_date")
    day = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    records = dbt.ref("int_identity__person_records").pl()
    ledger, _ = versions(previous(session, dbt.this), records, day)
    return ledger.to_arrow()
