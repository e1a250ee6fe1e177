"""The key registry (pipelines.identity.keys): every identifier's customer_key over time, one
row per identifier and stretch (valid_from, valid_to null while current), with how it changed.

It reads its own previous contents: the keys people had yesterday are what today's keys are
decided from, so this table is the identity's memory and is never rebuilt from scratch. A rerun
of a day first forgets what any run for that day or later wrote (pipelines.identity.keys)."""


def model(dbt, session):
    from pipelines.identity.keys import assign
    from pipelines.identity.state import decision_day, previous

    day = decision_day(dbt.ref("int_identity__runs").pl())
    history = previous(session, dbt.this)
    clusters = dbt.ref("int_identity__clusters").pl()
    links = dbt.ref("int_identity__links").pl()
    return assign(history, clusters, links, day).to_arrow()
