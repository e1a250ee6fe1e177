{#
    The habits the persona cards draw, one row per persona, habit and item: when its customers
    usually shop (habit `hour`, item the local hour "00"-"23", share of its customers whose
    usual hour it is), what they buy (habit `category`, share of its revenue) and how they
    arrive (habit `channel`, share of its visits), what they write about in comments, messages
    and survey answers (habit `topic`, a keyword and the share of its texts that use it) and how
    it feels (habit `feeling`: positive, neutral, negative, shares of its texts). Categories and
    channels are the persona's five largest; `position` orders the items as drawn (hours by the
    clock, topics by their class-based TF-IDF, feelings positive first, the rest largest first).
#}
with personas as (
    select * from {{ ref('stg_ml__personas') }}
),

hours as (
    select * from {{ ref('stg_ml__persona_shop_hours') }}
),

topics as (
    select * from {{ ref('stg_ml__persona_topics') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

hour_shares as (
    select
        persona_id,
        'hour' as habit,
        lpad(cast(local_hour as varchar), 2, '0') as item,
        local_hour as position,
        cast(customers as double) as amount,
        customers / sum(customers) over (partition by persona_id) as share
    from hours
),

category_amounts as (
    select personas.persona_id, order_lines.category as item,
        sum(order_lines.line_amount_reporting) as amount
    from order_lines
    inner join personas on personas.customer_key = order_lines.customer_key
    where not order_lines.is_cancelled and order_lines.category is not null
    group by personas.persona_id, order_lines.category
    having sum(order_lines.line_amount_reporting) > 0
),

channel_amounts as (
    select personas.persona_id, sessions.channel as item, count(*) as amount
    from sessions
    inner join personas on personas.customer_key = sessions.customer_key
    where sessions.channel is not null
    group by personas.persona_id, sessions.channel
),

ranked as (
    select
        persona_id, habit, item, amount,
        amount / sum(amount) over (partition by persona_id, habit) as share,
        row_number() over (partition by persona_id, habit order by amount desc, item) as position
    from (
        select persona_id, 'category' as habit, item, cast(amount as double) as amount
        from category_amounts
        union all
        select persona_id, 'channel' as habit, item, cast(amount as double) as amount
        from channel_amounts
    ) as amounts
),

pictured as (
    select persona_id, habit, item, position, amount, share from hour_shares
    union all
    select persona_id, habit, item, position, amount, share from ranked
    where position <= 5
    union all
    select persona_id, if(kind = 'keyword', 'topic', 'feeling'), item, rank, documents, share
    from topics
),

final as (
    select
        cast(persona_id as integer) as persona_id,
        habit,
        item,
        cast(position as integer) as position,
        round(amount, 2) as amount,
        round(share, 4) as share
    from pictured
)

select * from final
