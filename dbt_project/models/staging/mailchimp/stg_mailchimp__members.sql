with source as (
    select * from {{ source('mailchimp', 'members') }}
),

renamed as (
    select
        {{ normalize_email('"Email Address"') }} as email,
        -- Mailchimp's member id is the MD5 of the lowercased email.
        md5({{ normalize_email('"Email Address"') }}) as mailchimp_member_id,
        -- The member's unique email id, which link tracking adds to URLs as mc_eid.
        lower({{ clean_text('"EUID"') }}) as mailchimp_email_id,
        -- The status is only in the file name: one file per status in an audience export.
        regexp_extract(
            _file, '(nonsubscribed|unsubscribed|subscribed|cleaned)[^/]*$', 1
        ) as status,
        {{ clean_text('"First Name"') }} as first_name,
        {{ clean_text('"Last Name"') }} as last_name,
        {{ clean_text('"Phone Number"') }} as phone_raw,
        {{ phone_e164('"Phone Number"', '"CC"') }} as phone_e164,
        upper({{ clean_text('"CC"') }}) as country_code,
        -- The member's IANA time zone, which Mailchimp infers from where they open email.
        {{ clean_text('"TIMEZONE"') }} as timezone,
        cast(nullif(trim("MEMBER_RATING"), '') as integer) as member_rating,
        {{ clean_text('"TAGS"') }} as tags,
        {{ utc_from_naive('"OPTIN_TIME"', '%Y-%m-%d %H:%M:%S') }} as opted_in_at,
        {{ utc_from_naive('"LAST_CHANGED"', '%Y-%m-%d %H:%M:%S') }} as last_changed_at,
        {{ utc_from_naive('"UNSUB_TIME"', '%Y-%m-%d %H:%M:%S') }} as unsubscribed_at,
        {{ utc_from_naive('"CLEAN_TIME"', '%Y-%m-%d %H:%M:%S') }} as cleaned_at,
        {{ export_date_from_path('_file') }} as export_date,
        _file as source_file,
        _row as source_row
    from source
),

latest_export as (
    -- Each audience export is a full snapshot: the newest says the member's status now.
    select *
    from renamed
    where email is not null
    qualify row_number() over (
        partition by email
        order by export_date desc nulls last, last_changed_at desc nulls last, source_file desc
    ) = 1
)

select * from latest_export
