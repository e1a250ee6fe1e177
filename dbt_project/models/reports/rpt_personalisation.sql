{#
    One row per persona: what to show (the hero category and the products its customers are
    recommended most, weighed by how much more than the shop's), when to send (the hour and weekday most of its contacts are best
    reached), and what to say (the offer, a headline and the three best email subjects), from
    the newest day of recommendations, send times and checked copy.
#}
with personas as (
    select * from {{ ref('stg_ml__personas') }}
),

profiles as (
    select * from {{ ref('stg_ml__persona_profiles') }}
),

recommendations as (
    select * from {{ ref('stg_ml__recommendations') }}
),

send_times as (
    select * from {{ ref('stg_ml__send_times') }}
),

content_lines as (
    select * from {{ ref('stg_ml__content_lines') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

offers as (
    select * from {{ ref('int_content__offers') }}
),

-- The catalogue as the orders name it: a product's newest name and category (the names
-- the recommendations' exports use, pipelines.personalize.store.top_products).
products as (
    select
        sku as product_id,
        arg_max(product_name, ordered_at) as product_name,
        arg_max(category, ordered_at) as category
    from order_lines
    where sku is not null
    group by sku
),

newest_recommendations as (
    select * from recommendations
    where as_of_date = (select max(as_of_date) from recommendations)
),

newest_send_times as (
    select * from send_times
    where as_of_date = (select max(as_of_date) from send_times)
),

newest_lines as (
    select * from content_lines
    where as_of_date = (select max(as_of_date) from content_lines)
),

sizes as (
    select persona_id, count(*) as customers from personas group by persona_id
),

-- What each persona's customers see first: their top three recommendations.
shown as (
    select personas.persona_id, newest_recommendations.product_id, newest_recommendations.score
    from newest_recommendations
    inner join personas on personas.customer_key = newest_recommendations.customer_key
    where newest_recommendations.rank <= 3
),

-- Of everyone's top threes, the share holding each product; a persona's share over it is the
-- product's lift: how much more the persona is shown it than the shop is.
overall_reach as (
    select
        product_id,
        count(*) / (select count(distinct customer_key) from newest_recommendations)
            as overall_share
    from newest_recommendations
    where rank <= 3
    group by product_id
),

persona_reach as (
    select
        shown.persona_id,
        shown.product_id,
        count(*) as people,
        sum(shown.score) as score,
        count(*) / max(sizes.customers) as persona_share
    from shown
    inner join sizes on sizes.persona_id = shown.persona_id
    group by shown.persona_id, shown.product_id
),

-- Featured: products both common in the persona's lists and more common there than in the
-- shop's (share x lift), so that personas shown the same best-seller still differ.
product_reach as (
    select
        persona_reach.persona_id,
        persona_reach.product_id,
        products.product_name,
        products.category,
        persona_reach.people,
        row_number() over (
            partition by persona_reach.persona_id
            order by
                persona_reach.persona_share * persona_reach.persona_share
                / overall_reach.overall_share desc,
                persona_reach.people desc,
                persona_reach.score desc,
                persona_reach.product_id
        ) as reach_rank
    from persona_reach
    inner join overall_reach on overall_reach.product_id = persona_reach.product_id
    inner join products on products.product_id = persona_reach.product_id
),

featured as (
    select
        persona_id,
        string_agg(product_name, ', ' order by reach_rank) as featured_products,
        string_agg(product_id, ',' order by reach_rank) as featured_product_ids
    from product_reach
    where reach_rank <= 3
    group by persona_id
),

-- The category most of the featured products belong to (ties: the first featured's).
hero as (
    select
        persona_id,
        category as hero_category,
        row_number() over (
            partition by persona_id order by count(*) desc, min(reach_rank), category
        ) as category_rank
    from product_reach
    where reach_rank <= 3 and category is not null
    group by persona_id, category
),

-- The hour and weekday most of the persona's contacts are best reached at (ties: earlier).
hours as (
    select
        personas.persona_id,
        newest_send_times.best_hour_local,
        row_number() over (
            partition by personas.persona_id
            order by count(*) desc, newest_send_times.best_hour_local
        ) as hour_rank,
        count(*) as contacts
    from newest_send_times
    inner join personas on personas.customer_key = newest_send_times.customer_key
    group by personas.persona_id, newest_send_times.best_hour_local
),

weekdays as (
    select
        personas.persona_id,
        newest_send_times.best_weekday,
        row_number() over (
            partition by personas.persona_id
            order by count(*) desc, newest_send_times.best_weekday
        ) as weekday_rank
    from newest_send_times
    inner join personas on personas.customer_key = newest_send_times.customer_key
    where newest_send_times.best_weekday is not null
    group by personas.persona_id, newest_send_times.best_weekday
),

timed as (
    select
        personas.persona_id,
        count(*) as contacts_timed,
        avg(case when newest_send_times.evidence = 'own' then 1.0 else 0.0 end) as own_share
    from newest_send_times
    inner join personas on personas.customer_key = newest_send_times.customer_key
    group by personas.persona_id
),

-- The persona's own lines, else the lines written for everyone.
persona_lines as (
    select
        profiles.persona_id,
        newest_lines.goal,
        newest_lines.format,
        newest_lines.rank,
        newest_lines.text,
        newest_lines.predicted,
        newest_lines.offer_code,
        case when newest_lines.persona = profiles.persona_name then 0 else 1 end as generic
    from profiles
    inner join newest_lines
        on newest_lines.persona in (profiles.persona_name, 'all')
),

-- One row per distinct subject: the same line often ranks first for several goals, and three
-- copies of one line are not three subjects to choose from.
distinct_subjects as (
    select persona_id, text, generic, rank, predicted, goal
    from persona_lines
    where format = 'email_subject'
    qualify row_number() over (
        partition by persona_id, text
        order by generic, rank, predicted desc nulls last, goal
    ) = 1
),

subjects as (
    select
        persona_id,
        text,
        row_number() over (
            partition by persona_id
            order by generic, rank, predicted desc nulls last, goal, text
        ) as subject_rank
    from distinct_subjects
),

headlines as (
    select
        persona_id,
        text as headline,
        row_number() over (
            partition by persona_id
            order by generic, rank, predicted desc nulls last, goal, text
        ) as headline_rank
    from persona_lines
    where format = 'meta_headline'
),

-- The offer the persona's best lines use most often.
persona_offers as (
    select
        persona_id,
        offer_code,
        row_number() over (
            partition by persona_id order by min(generic), count(*) desc, min(rank), offer_code
        ) as offer_rank
    from persona_lines
    where offer_code is not null
    group by persona_id, offer_code
),

final as (
    select
        profiles.persona_id,
        profiles.persona_name as persona,
        cast(sizes.customers as integer) as customers,
        hero.hero_category,
        featured.featured_products,
        featured.featured_product_ids,
        persona_offers.offer_code,
        offers.offer_description,
        offers.offer_terms,
        headlines.headline,
        hours.best_hour_local,
        weekdays.best_weekday,
        cast(coalesce(timed.contacts_timed, 0) as integer) as contacts_timed,
        round(timed.own_share, 4) as own_evidence_share,
        subject_1.text as subject_1,
        subject_2.text as subject_2,
        subject_3.text as subject_3
    from profiles
    inner join sizes on sizes.persona_id = profiles.persona_id
    left join hero on hero.persona_id = profiles.persona_id and hero.category_rank = 1
    left join featured on featured.persona_id = profiles.persona_id
    left join persona_offers
        on persona_offers.persona_id = profiles.persona_id and persona_offers.offer_rank = 1
    left join offers on offers.offer_code = persona_offers.offer_code
    left join headlines
        on headlines.persona_id = profiles.persona_id and headlines.headline_rank = 1
    left join hours on hours.persona_id = profiles.persona_id and hours.hour_rank = 1
    left join weekdays on weekdays.persona_id = profiles.persona_id and weekdays.weekday_rank = 1
    left join timed on timed.persona_id = profiles.persona_id
    left join subjects as subject_1
        on subject_1.persona_id = profiles.persona_id and subject_1.subject_rank = 1
    left join subjects as subject_2
        on subject_2.persona_id = profiles.persona_id and subject_2.subject_rank = 2
    left join subjects as subject_3
        on subject_3.persona_id = profiles.persona_id and subject_3.subject_rank = 3
)

select * from final
