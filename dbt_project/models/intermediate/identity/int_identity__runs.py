"""The days identity has been decided for, one row each: the day this run decides as of is the
run's own, or the latest day already decided when that is later (pipelines.identity.state.
effective_day). Every model that keeps identity's memory (record versions, the matcher's models
and links, the key registry) reads its day here, so they all agree on it."""


def model(dbt, session):
    import datetime as dt

    import polars as pl

    from pipelines.identity.state import effective_day, previous

    as_of_text = dbt.config.get("as_of_date")
    day = dt.date.fromisoformat(as_of_text) if as_of_text else dt.date.today()
    history = previous(session, dbt.this)
    day = effective_day(history, "decided_on", day)
    days = {d for d in (history["decided_on"].to_list() if history is not None else [])
            if d < day} | {day}  # fmt: skip
    return pl.DataFrame({"decided_on": sorted(days)}, schema={"decided_on": pl.Date}).to_arrow()
