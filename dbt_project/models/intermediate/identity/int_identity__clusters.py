"""Identity resolution (pipelines.identity.clusters): identifiers as nodes, record links as
edges, people as components, with the guards against identifiers several people share.

It reads its own previous contents: only the components of the identifier graph that changed
since the last run are resolved again (pipelines.identity.clusters.resolve_changed), and the
others keep their rows, which is what resolving them again would give. A table from before
the model kept its graph components is resolved again whole."""


def model(dbt, session):
    from pipelines.identity.clusters import resolve_changed
    from pipelines.identity.state import existing

    # Shown-together links and the probabilistic matcher's, alike: a person's two shop accounts
    # the matcher joined are one pass-1 component, as if one record showed both.
    return resolve_changed(
        session,
        dbt.ref("int_identity__nodes"),
        dbt.ref("int_identity__links"),
        existing(session, dbt.this, "resolved_by"),
        weak_types=list(dbt.config.get("weak_types")),
        max_people=int(dbt.config.get("max_people_per_identifier")),
        max_cluster_size=int(dbt.config.get("max_cluster_size")),
    )
