"""The key registry (pipelines.identity.keys): every identifier's customer_key over time, one
row per identifier and stretch (valid_from, valid_to null while current), with how it changed.

It reads its own previous contents: the keys people had yesterday are what today's keys are
decided from, so this table is the identity's memory and is never rebuilt from scratch. A rerun
of a day first forgets what any run for that day or later wrote (pipelines.identity.keys)."""


def model(dbt, session):
    import datetime as dt

    from pipelines.identity.keys import assign
    from pipelines.identity.state import previous

    as_of_text = dbt.config.get("as_of_date")
    day = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    clusters = dbt.ref("int_identity__clusters").pl()
    links = dbt.ref("int_identity__links").pl()
    return assign(previous(session, dbt.this), clusters, links, day).to_arrow()
