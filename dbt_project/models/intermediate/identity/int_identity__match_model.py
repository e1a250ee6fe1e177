"""The probabilistic matcher's models (pipelines.identity.linking.train_if_due): trained by EM
on the person records when none exists, when the records have grown by a quarter since, or
when the latest is four weeks old; each with the threshold its full match chose for a target
precision. Reads its own previous contents; a rerun of a day forgets that day's training. On
a day no training is due, only the records are counted: their exact clusters are not needed."""


def model(dbt, session):
    from pipelines.identity.linking import (
        matcher_records,
        models_before,
        strong_edges,
        train_if_due,
        training_due,
    )
    from pipelines.identity.state import decision_day, previous

    day = decision_day(dbt.ref("int_identity__runs").pl())
    history = previous(session, dbt.this)
    person_records = dbt.ref("int_identity__person_records")
    past = models_before(history, day)
    if not training_due(past, len(person_records), day):
        return past.to_arrow()
    weak = list(dbt.config.get("weak_types"))
    records = matcher_records(person_records.pl(), strong_edges(dbt.ref("int_identity__edges"),
                                                                weak), weak)  # fmt: skip
    models, _ = train_if_due(history, records, day)
    return models.to_arrow()
