"""The key registry (pipelines.identity.keys): every identifier's customer_key over time, one
row per identifier and stretch (valid_from, valid_to null while current), with how it changed.

It reads its own previous contents: the keys people had yesterday are what today's keys are
decided from, so this table is the identity's memory and is never rebuilt from scratch. A rerun
of a day first forgets what any run for that day or later wrote (pipelines.identity.keys). Only
the clusters that are not exactly one key's identifiers are decided (assign_changed)."""


def model(dbt, session):
    from pipelines.identity.keys import assign_changed
    from pipelines.identity.state import decision_day, existing

    day = decision_day(dbt.ref("int_identity__runs").pl())
    return assign_changed(session, existing(session, dbt.this), dbt.ref("int_identity__clusters"),
                          dbt.ref("int_identity__links"), day)  # fmt: skip
