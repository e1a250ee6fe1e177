{#
    The health of each export source as of the run date, from the ingest ledger: the newest
    file loaded and its export date (the dated folder it came in, `<source>/<YYYY-MM-DD>/`;
    the day it was loaded for a file outside one), how many days old that is, and what the
    files of the last 7 days brought: rows loaded, rows quarantined and the share of rows read
    that were quarantined (a rejected file's rows count as read, none as loaded).

    Stale: the newest export is at least twice the source's usual gap between exports old
    (the median gap between its export dates; a day when it has had one): a source that
    delivers daily is stale once a day is missing, one that delivers weekly once a week is.
    A source's own rhythm, because shops export some feeds weekly and a fixed threshold would
    call those stale every other day.

    gate_tables: the marts tables built from the source (its descendants in dbt's graph), for
    the report to match with the quality gate's results of the run. Identity resolution joins
    every source into the customer tables, so most sources reach most marts tables: the list
    says which published tables carry the source's rows, not which hold only them. Files dated after
    the run date (a later day's exports seen by a rerun of an older one) are left out.
#}
{% set gate = {} %}
{% if execute %}
    {% set sources_of = {} %}
    {# A unit test's graph holds no sources: no gate tables there. #}
    {% for s in graph.get('sources', {}).values() %}
        {% do sources_of.update({s.unique_id: [s.source_name]}) %}
    {% endfor %}
    {% set models = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'model') | list %}
    {# Propagate each source to its descendants; the graph is at most a few levels deep. #}
    {% for _ in range(20) %}
        {% for node in models %}
            {% set found = [] %}
            {% for parent in node.depends_on.nodes %}
                {% for name in sources_of.get(parent, []) %}
                    {% if name not in found %}{% do found.append(name) %}{% endif %}
                {% endfor %}
            {% endfor %}
            {% do sources_of.update({node.unique_id: found | sort}) %}
        {% endfor %}
    {% endfor %}
    {% for node in models | sort(attribute='unique_id') %}
        {% if node.config.materialized in ('table', 'incremental') and node.schema == 'marts' %}
            {% for name in sources_of.get(node.unique_id, []) %}
                {% do gate.update({name: gate.get(name, []) + [node.schema ~ '.' ~ (node.alias or node.name)]}) %}
            {% endfor %}
        {% endif %}
    {% endfor %}
{% endif %}
with loads as (
    select
        *,
        coalesce(
            try_cast(regexp_extract(file_path, '(\d{4}-\d{2}-\d{2})[/\\][^/\\]+$', 1) as date),
            cast(timezone('UTC', loaded_at) as date)
        ) as export_date
    from {{ ref('stg_audit__loads') }}
),

dated as (
    select * from loads where export_date <= date '{{ as_of_date() }}'
),

done as (
    select * from dated where status in ('loaded', 'empty')
),

newest as (
    select
        source,
        file_path as last_file_path,
        export_date as last_export_date
    from done
    qualify row_number() over (
        partition by source order by export_date desc, loaded_at desc, file_path desc) = 1
),

export_days as (
    select distinct source, export_date from done
),

gaps as (
    select
        source,
        date_diff('day', lag(export_date) over (partition by source order by export_date),
            export_date) as gap_days
    from export_days
),

rhythm as (
    select source, cast(median(gap_days) as double) as usual_gap_days
    from gaps
    where gap_days is not null
    group by source
),

last_week as (
    select
        source,
        cast(count(*) as integer) as files,
        cast(count(*) filter (where status = 'rejected') as integer) as rejected_files,
        cast(sum(rows_read) as bigint) as rows_read,
        cast(sum(rows_loaded) as bigint) as rows_loaded,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined
    from dated
    where export_date > date '{{ as_of_date() }}' - 7
    group by source
),

sources as (
    select distinct source from dated
),

gate as (
    {% if gate %}
    select * from (values
        {% for name, tables in gate | dictsort %}
        ('{{ name }}', [{% for t in tables %}'{{ t }}'{{ ',' if not loop.last }}{% endfor %}]::varchar[]){{ ',' if not loop.last }}
        {% endfor %}
    ) as t (source, gate_tables)
    {% else %}
    select cast(null as varchar) as source, cast(null as varchar[]) as gate_tables where false
    {% endif %}
),

final as (
    select
        sources.source,
        newest.last_file_path,
        newest.last_export_date,
        cast(date_diff('day', newest.last_export_date, date '{{ as_of_date() }}') as integer)
            as days_stale,
        coalesce(rhythm.usual_gap_days, 1.0) as usual_gap_days,
        coalesce(
            date_diff('day', newest.last_export_date, date '{{ as_of_date() }}')
                >= 2 * coalesce(rhythm.usual_gap_days, 1.0),
            true) as is_stale,
        coalesce(last_week.files, 0) as files_last_7_days,
        coalesce(last_week.rejected_files, 0) as rejected_files_last_7_days,
        coalesce(last_week.rows_read, 0) as rows_read_last_7_days,
        coalesce(last_week.rows_loaded, 0) as rows_loaded_last_7_days,
        coalesce(last_week.rows_quarantined, 0) as rows_quarantined_last_7_days,
        cast(last_week.rows_quarantined as double) / nullif(last_week.rows_read, 0)
            as share_quarantined_last_7_days,
        coalesce(gate.gate_tables, cast([] as varchar[])) as gate_tables,
        cast(date '{{ as_of_date() }}' as date) as as_of_date
    from sources
    left join newest using (source)
    left join rhythm using (source)
    left join last_week using (source)
    left join gate using (source)
)

select * from final
