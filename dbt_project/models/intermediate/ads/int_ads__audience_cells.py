"""Which audiences respond to which Meta campaign (pipelines.ads.audiences.audience_cells)."""


def model(dbt, session):
    from pipelines.ads.audiences import audience_cells

    people = dbt.ref("int_ads__audience_people").pl()
    return audience_cells(people).to_arrow()
