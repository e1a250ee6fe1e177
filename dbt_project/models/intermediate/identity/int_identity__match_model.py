"""The probabilistic matcher's models (pipelines.identity.linking.train_if_due): trained by EM
on the person records when none exists, when the records have grown by a quarter since, or
when the latest is four weeks old; each with the threshold its full match chose for a target
precision. Reads its own previous contents; a rerun of a day forgets that day's training."""


def model(dbt, session):
    from pipelines.identity.linking import matcher_records, train_if_due
    from pipelines.identity.state import decision_day, previous

    day = decision_day(dbt.ref("int_identity__runs").pl())
    history = previous(session, dbt.this)
    records = matcher_records(dbt.ref("int_identity__person_records").pl(),
                              dbt.ref("int_identity__edges").pl(),
                              list(dbt.config.get("weak_types")))  # fmt: skip
    models, _ = train_if_due(history, records, day)
    return models.to_arrow()
