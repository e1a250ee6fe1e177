"""The probabilistic matcher's models (pipelines.identity.linking.train_if_due): trained by EM
on the person records when none exists, when the records have grown by a quarter since, or
when the latest is four weeks old; each with the threshold its full match chose for a target
precision. Reads its own previous contents; a rerun of a day forgets that day's training."""


def model(dbt, session):
    import datetime as dt

    from pipelines.identity.linking import matcher_records, train_if_due
    from pipelines.identity.state import previous

    as_of_text = dbt.config.get("as_of_date")
    day = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    records = matcher_records(dbt.ref("int_identity__person_records").pl(),
                              dbt.ref("int_identity__edges").pl(),
                              list(dbt.config.get("weak_types")))  # fmt: skip
    models, _ = train_if_due(previous(session, dbt.this), records, day)
    return models.to_arrow()
