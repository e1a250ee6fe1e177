{#
    The day the run is for (the DAG's logical date), as 'YYYY-MM-DD'. The pipeline passes it in
    MARKETING_AS_OF_DATE rather than in --vars: dbt parses the whole project again whenever a
    var changes (about 3 s a run), but only the files that read an env var when it changes.
    `--vars '{as_of_date: ...}'` still wins, for a run by hand; with neither, today.
#}
{% macro as_of_date() %}
    {{ return(var("as_of_date", env_var("MARKETING_AS_OF_DATE", modules.datetime.date.today().isoformat()))) }}
{% endmacro %}

{#
    The end of the run's date (midnight after it, UTC): what happened before it is known to
    the run; what is dated at or after it is not yet.
#}
{% macro end_of_as_of_date() %}
    (cast(date '{{ as_of_date() }}' + 1 as timestamp) at time zone 'UTC')
{%- endmacro %}
