-- views.sql — the SQLite file's views, for the PostgreSQL mirror, with the
-- account each row belongs to.  Run by `flsync pgsync` with search_path set
-- to the mirror's schema, whenever this text changes.  Columns keep the
-- SQLite views' names and values (a time shown as SQLite's datetime() text
-- stays that text, UTC); each such column has a twin ending in _tz, the
-- same time as timestamptz, for BI tools.  Each view groups and joins
-- within one account.  The tables are typed for BI (schema.c): times are
-- timestamptz, 0/1 flags boolean, raw jsonb; so are the insight_* views'
-- columns (a unix time of SQLite's is a timestamptz here, a 0/1 a boolean).

-- CREATE OR REPLACE, never DROP ... CASCADE: views people built on these
-- stay.  A later version that changes a view's columns must say how: the
-- typing of the tables (flsync 0.1 with migration 011) dropped and made
-- them anew, once, with the columns it converted (schema.c).

CREATE OR REPLACE VIEW self AS
SELECT account, id, username FROM users WHERE is_self;

CREATE OR REPLACE VIEW open_projects_with_bids AS
SELECT p.account, p.id, p.title, p.status, p.owner_id,
       p.owner_id = (SELECT s.id FROM self s WHERE s.account = p.account) AS is_mine,
       c.code AS currency, p.budget_minimum, p.budget_maximum,
       count(b.id) AS bids, round(avg(b.amount)::numeric, 2)::double precision AS avg_bid,
       min(b.amount) AS lowest_bid,
       to_char(p.time_submitted AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS submitted,
       p.time_submitted AS submitted_tz
FROM projects p
LEFT JOIN bids b ON b.account = p.account AND b.project_id = p.id AND NOT b.deleted
                AND NOT coalesce(b.retracted, false)
LEFT JOIN currencies c ON c.account = p.account AND c.id = p.currency_id
WHERE NOT p.deleted AND p.raw IS NOT NULL AND coalesce(p.status, 'active') = 'active'
GROUP BY p.account, p.id, c.code;

CREATE OR REPLACE VIEW my_active_bids AS
SELECT b.account, b.id, b.project_id, p.title AS project_title, p.status AS project_status,
       b.amount, c.code AS currency, b.period,
       coalesce(b.award_status, 'open') AS award_status, b.frontend_bid_status,
       b.local_state, to_char(b.time_submitted AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS submitted,
       b.time_submitted AS submitted_tz
FROM bids b
JOIN self s ON s.account = b.account AND b.bidder_id = s.id
LEFT JOIN projects p ON p.account = b.account AND p.id = b.project_id
LEFT JOIN currencies c ON c.account = b.account AND c.id = p.currency_id
WHERE NOT b.deleted AND NOT coalesce(b.retracted, false)
  AND NOT coalesce(p.deleted, false)
  AND CASE coalesce(b.award_status, 'open')
        WHEN 'open' THEN coalesce(p.status, 'active') = 'active'
        WHEN 'pending' THEN coalesce(p.status, 'active') IN ('active', 'frozen')
        WHEN 'awarded' THEN coalesce(p.status, 'active') NOT IN ('closed', 'complete')
                            AND coalesce(b.complete_status, '') <> 'complete'
        ELSE false
      END;

CREATE OR REPLACE VIEW milestone_balances AS
SELECT m.account, m.project_id, p.title AS project_title, c.code AS currency,
       sum(CASE WHEN m.status IN ('pending', 'frozen', 'requested_release', 'disputed') THEN m.amount ELSE 0 END) AS in_escrow,
       sum(CASE WHEN m.status = 'cleared' THEN m.amount ELSE 0 END) AS released,
       sum(CASE WHEN m.status = 'canceled' THEN m.amount ELSE 0 END) AS cancelled,
       count(*) AS milestones
FROM milestones m
LEFT JOIN projects p ON p.account = m.account AND p.id = m.project_id
LEFT JOIN currencies c ON c.account = m.account AND c.id = m.currency_id
GROUP BY m.account, m.project_id, m.currency_id, p.title, c.code;

CREATE OR REPLACE VIEW unread_threads AS
SELECT t.account, t.id, t.context_type, t.context_id, pr.title AS project_title,
       to_char(t.time_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS updated,
       t.time_updated AS updated_tz,
       lm.message AS last_message,
       CASE WHEN lm.from_user_id = (SELECT s.id FROM self s WHERE s.account = t.account) THEN 'You'
            ELSE coalesce(u.display_name, u.username, 'user ' || lm.from_user_id) END AS last_from
FROM threads t
LEFT JOIN projects pr ON pr.account = t.account AND t.context_type = 'project' AND pr.id = t.context_id
LEFT JOIN LATERAL (SELECT m.message, m.from_user_id FROM messages m WHERE m.account = t.account
                   AND m.thread_id = t.id ORDER BY m.time_created DESC, m.id DESC LIMIT 1) lm ON true
LEFT JOIN users u ON u.account = t.account AND u.id = lm.from_user_id
WHERE NOT t.is_read AND t.raw IS NOT NULL;

CREATE OR REPLACE VIEW pending_actions AS
SELECT a.account, a.id, a.kind, a.state, a.attempts, a.local_ref, a.depends_on,
       a.error_code, a.error_message,
       to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS queued_at,
       CASE WHEN a.next_attempt > a.updated_at THEN to_char(a.next_attempt AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') END AS retry_at,
       a.created_at AS queued_at_tz,
       CASE WHEN a.next_attempt > a.updated_at THEN a.next_attempt END AS retry_at_tz
FROM actions a
WHERE a.state IN ('queued', 'sending', 'failed');

CREATE OR REPLACE VIEW report_bids_monthly AS
WITH b AS (
	SELECT b.account, to_char(b.time_submitted AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
	       (coalesce(b.award_status, '') = 'awarded'
	        OR coalesce(b.frontend_bid_status, '') IN ('in progress', 'complete'))::int AS won
	FROM bids b
	JOIN self s ON s.account = b.account AND b.bidder_id = s.id
	WHERE b.time_submitted IS NOT NULL AND NOT b.deleted AND b.local_state IS NULL)
SELECT account, month, count(*) AS placed, sum(won) AS won,
       round(100.0 * sum(won) / count(*), 1)::double precision AS win_rate_pct
FROM b
GROUP BY account, month;

CREATE OR REPLACE VIEW report_milestones_monthly AS
SELECT m.account, to_char(m.time_created AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
       m.currency_id, coalesce(c.code, '#' || m.currency_id) AS currency,
       round(sum(CASE WHEN m.bidder_id = s.id AND m.status = 'cleared' THEN m.amount ELSE 0 END)::numeric, 2)::double precision AS earned,
       round(sum(CASE WHEN m.project_owner_id = s.id AND m.status = 'cleared' THEN m.amount ELSE 0 END)::numeric, 2)::double precision AS paid,
       round(sum(CASE WHEN coalesce(m.status, '') <> 'canceled' THEN m.amount ELSE 0 END)::numeric, 2)::double precision AS created,
       round(sum(CASE WHEN m.status IN ('pending', 'frozen', 'requested_release', 'disputed') THEN m.amount ELSE 0 END)::numeric, 2)::double precision AS in_escrow,
       count(*) AS milestones
FROM milestones m
JOIN self s ON s.account = m.account AND s.id IN (m.bidder_id, m.project_owner_id)
LEFT JOIN currencies c ON c.account = m.account AND c.id = m.currency_id
WHERE m.time_created IS NOT NULL AND m.local_state IS NULL
GROUP BY m.account, month, m.currency_id, c.code;

CREATE OR REPLACE VIEW report_reviews_monthly AS
SELECT r.account, to_char(r.time_submitted AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
       count(*) AS reviews,
       round(avg(r.rating)::numeric, 2)::double precision AS avg_rating,
       min(r.rating) AS min_rating,
       max(r.rating) AS max_rating
FROM reviews r
JOIN self s ON s.account = r.account AND r.to_user_id = s.id
WHERE r.time_submitted IS NOT NULL AND r.rating IS NOT NULL AND r.local_state IS NULL
GROUP BY r.account, month;

CREATE OR REPLACE VIEW report_response_times AS
WITH m AS (
	SELECT mm.account, mm.thread_id, mm.id, extract(epoch FROM mm.time_created)::bigint AS t,
	       coalesce((mm.from_user_id = s.id)::int, 0) AS mine
	FROM messages mm
	LEFT JOIN self s ON s.account = mm.account
	WHERE mm.thread_id IS NOT NULL AND mm.time_created IS NOT NULL AND mm.local_state IS NULL),
g AS (
	SELECT account, thread_id, id, t, mine,
	       sum(mine) OVER (PARTITION BY account, thread_id ORDER BY t, id ROWS UNBOUNDED PRECEDING) - mine AS grp
	FROM m)
SELECT account, thread_id,
       max(CASE WHEN mine = 1 THEN id END) AS reply_id,
       min(CASE WHEN mine = 0 THEN t END) AS asked_at,
       max(CASE WHEN mine = 1 THEN t END) AS replied_at,
       max(CASE WHEN mine = 1 THEN t END) - min(CASE WHEN mine = 0 THEN t END) AS seconds
FROM g
GROUP BY account, thread_id, grp
HAVING min(CASE WHEN mine = 0 THEN t END) IS NOT NULL AND max(CASE WHEN mine = 1 THEN t END) IS NOT NULL;

CREATE OR REPLACE VIEW report_response_monthly AS
SELECT account, to_char(to_timestamp(replied_at) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
       count(*) AS replies,
       round(avg(seconds) / 3600.0, 2)::double precision AS avg_hours,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) / 3600.0)::numeric, 2)::double precision AS median_hours,
       round(100.0 * sum((seconds <= 3600)::int) / count(*), 1)::double precision AS within_1h_pct
FROM report_response_times
GROUP BY account, month;

-- ---- insight_* (sql/migrations/014_insight_views.sql), per account --------
-- The same rows and figures as in each account's SQLite file, typed: times
-- timestamptz (placed_at, last_message_at), flags boolean, money double
-- precision in USD (amount * currencies.exchange_rate; NULL and
-- rate_missing without a rate).

CREATE OR REPLACE VIEW insight_bids AS
SELECT b.account, b.id AS bid_id, b.project_id, p.owner_id AS client_id,
       b.time_submitted AS placed_at, b.time_submitted::date AS placed_on,
       b.amount, c.code AS currency,
       b.amount * nullif(c.exchange_rate, 0) AS amount_usd,
       p.budget_minimum * nullif(c.exchange_rate, 0) AS budget_min_usd,
       p.budget_maximum * nullif(c.exchange_rate, 0) AS budget_max_usd,
       p.bid_count,
       nullif(p.bid_avg, 0) * nullif(c.exchange_rate, 0) AS bid_avg_usd,
       b.amount / nullif(p.bid_avg, 0) AS price_position,
       extract(epoch FROM b.time_submitted - p.time_submitted)::bigint AS time_to_bid_s,
       CASE WHEN coalesce(b.retracted, false) THEN 'retracted'
            WHEN b.award_status = 'awarded' THEN 'won'
            WHEN b.award_status IN ('revoked', 'canceled', 'rejected') THEN 'lost'
            WHEN (coalesce(p.deleted, false) OR coalesce(p.status, 'active') <> 'active')
                 AND coalesce(b.award_status, '') <> 'pending' THEN 'lost'
            ELSE 'open' END AS outcome,
       b.award_status, p.status AS project_status,
       nullif(c.exchange_rate, 0) IS NULL AS rate_missing
FROM bids b
JOIN self s ON s.account = b.account AND b.bidder_id = s.id
LEFT JOIN projects p ON p.account = b.account AND p.id = b.project_id
LEFT JOIN currencies c ON c.account = b.account AND c.id = p.currency_id
WHERE NOT b.deleted AND b.local_state IS NULL;

CREATE OR REPLACE VIEW insight_win_rate AS
WITH b AS (SELECT * FROM insight_bids),
d AS (
	SELECT b.account, 1 AS dim_order, 'job' AS dimension, coalesce(j.name, '#' || pj.job_id) AS bucket, 0 AS sort, b.outcome
	FROM b JOIN project_jobs pj ON pj.account = b.account AND pj.project_id = b.project_id
	LEFT JOIN jobs j ON j.account = b.account AND j.id = pj.job_id
	UNION ALL
	SELECT account, 2, 'budget',
	       CASE WHEN budget_max_usd IS NULL THEN 'unknown' WHEN budget_max_usd < 100 THEN '<100'
	            WHEN budget_max_usd < 500 THEN '100-500' WHEN budget_max_usd < 1000 THEN '500-1000'
	            WHEN budget_max_usd < 5000 THEN '1000-5000' ELSE '5000+' END,
	       CASE WHEN budget_max_usd IS NULL THEN 9 WHEN budget_max_usd < 100 THEN 1
	            WHEN budget_max_usd < 500 THEN 2 WHEN budget_max_usd < 1000 THEN 3
	            WHEN budget_max_usd < 5000 THEN 4 ELSE 5 END, outcome
	FROM b
	UNION ALL
	SELECT account, 3, 'price',
	       CASE WHEN price_position IS NULL THEN 'unknown' WHEN price_position < 0.8 THEN '<0.8'
	            WHEN price_position < 1.0 THEN '0.8-1.0' WHEN price_position < 1.2 THEN '1.0-1.2' ELSE '>=1.2' END,
	       CASE WHEN price_position IS NULL THEN 9 WHEN price_position < 0.8 THEN 1
	            WHEN price_position < 1.0 THEN 2 WHEN price_position < 1.2 THEN 3 ELSE 4 END, outcome
	FROM b
	UNION ALL
	SELECT account, 4, 'speed',
	       CASE WHEN time_to_bid_s IS NULL THEN 'unknown' WHEN time_to_bid_s < 3600 THEN '<1h'
	            WHEN time_to_bid_s < 21600 THEN '1-6h' WHEN time_to_bid_s < 86400 THEN '6-24h' ELSE '>=24h' END,
	       CASE WHEN time_to_bid_s IS NULL THEN 9 WHEN time_to_bid_s < 3600 THEN 1
	            WHEN time_to_bid_s < 21600 THEN 2 WHEN time_to_bid_s < 86400 THEN 3 ELSE 4 END, outcome
	FROM b
	UNION ALL
	SELECT account, 5, 'month', coalesce(to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM'), 'unknown'), 0, outcome
	FROM b),
g AS (
	SELECT account, dim_order, dimension, bucket, min(sort) AS sort, count(*) AS bids,
	       count(*) FILTER (WHERE outcome IN ('won', 'lost')) AS decided, count(*) FILTER (WHERE outcome = 'won') AS won,
	       count(*) FILTER (WHERE outcome = 'lost') AS lost, count(*) FILTER (WHERE outcome = 'open') AS open,
	       count(*) FILTER (WHERE outcome = 'retracted') AS retracted
	FROM d
	GROUP BY account, dim_order, dimension, bucket)
SELECT account, dimension, bucket, bids, decided, won,
       CASE WHEN decided > 0 THEN won::float8 / decided END AS win_rate,
       CASE WHEN decided > 0 THEN greatest(0.0, (won + 1.9208 - 1.96 * sqrt(won::float8 * (decided - won) / decided + 0.9604))
                                               / (decided + 3.8416)) END AS ci_low,
       CASE WHEN decided > 0 THEN least(1.0, (won + 1.9208 + 1.96 * sqrt(won::float8 * (decided - won) / decided + 0.9604))
                                            / (decided + 3.8416)) END AS ci_high,
       lost, open, retracted, sort
FROM g
ORDER BY account, dim_order, sort, bucket;

CREATE OR REPLACE VIEW insight_clients AS
WITH b AS (SELECT account, bid_id, project_id, client_id, outcome FROM insight_bids WHERE client_id IS NOT NULL),
per AS (
	SELECT account, client_id, count(DISTINCT project_id) AS projects, count(*) AS bids,
	       count(*) FILTER (WHERE outcome = 'won') AS won
	FROM b GROUP BY account, client_id),
earned AS (
	SELECT b.account, b.client_id, round(sum(m.amount * nullif(c.exchange_rate, 0))::numeric, 2)::float8 AS earned_usd,
	       count(*) FILTER (WHERE nullif(c.exchange_rate, 0) IS NULL) AS unconverted
	FROM b
	JOIN milestones m ON m.account = b.account AND m.bid_id = b.bid_id AND m.status = 'cleared' AND m.local_state IS NULL
	LEFT JOIN currencies c ON c.account = m.account AND c.id = m.currency_id
	GROUP BY b.account, b.client_id),
rev AS (
	SELECT r.account, r.from_user_id AS client_id, count(*) AS reviews,
	       round(avg(r.rating)::numeric, 2)::float8 AS avg_rating
	FROM reviews r JOIN self s ON s.account = r.account AND r.to_user_id = s.id
	WHERE r.local_state IS NULL
	GROUP BY r.account, r.from_user_id)
SELECT per.account, per.client_id, u.username, u.country,
       (u.raw #>> '{status,payment_verified}')::boolean AS payment_verified,
       per.projects, per.bids, per.won,
       coalesce(e.earned_usd, 0) AS earned_usd,
       coalesce(rev.reviews, 0) AS reviews, rev.avg_rating,
       (SELECT max(m.time_created) FROM thread_members tm
        JOIN messages m ON m.account = tm.account AND m.thread_id = tm.thread_id
        WHERE tm.account = per.account AND tm.user_id = per.client_id) AS last_message_at,
       coalesce(e.unconverted, 0) AS unconverted
FROM per
LEFT JOIN users u ON u.account = per.account AND u.id = per.client_id
LEFT JOIN earned e ON e.account = per.account AND e.client_id = per.client_id
LEFT JOIN rev ON rev.account = per.account AND rev.client_id = per.client_id
ORDER BY per.account, coalesce(e.earned_usd, 0) DESC, per.won DESC, per.bids DESC, per.client_id;

CREATE OR REPLACE VIEW insight_cashflow_monthly AS
WITH x AS (
	SELECT m.account, to_char(m.time_created AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
	       nullif(c.exchange_rate, 0) AS rate, m.amount,
	       CASE WHEN m.bidder_id = s.id AND m.status = 'cleared' THEN 'earned'
	            WHEN m.bidder_id = s.id AND m.status IN ('pending', 'requested_release') THEN 'escrow'
	            WHEN m.project_owner_id = s.id AND m.status = 'cleared' THEN 'paid' END AS kind
	FROM milestones m
	JOIN self s ON s.account = m.account AND s.id IN (m.bidder_id, m.project_owner_id)
	LEFT JOIN currencies c ON c.account = m.account AND c.id = m.currency_id
	WHERE m.time_created IS NOT NULL AND m.local_state IS NULL
	UNION ALL
	SELECT r.account, to_char(r.time_requested AT TIME ZONE 'UTC', 'YYYY-MM'), nullif(c.exchange_rate, 0), r.amount,
	       'requested'
	FROM milestone_requests r
	JOIN self s ON s.account = r.account AND r.bidder_id = s.id
	LEFT JOIN currencies c ON c.account = r.account AND c.id = r.currency_id
	WHERE r.status = 'pending' AND r.time_requested IS NOT NULL AND r.local_state IS NULL)
SELECT account, month,
       round(coalesce(sum(amount * rate) FILTER (WHERE kind = 'earned'), 0)::numeric, 2)::float8 AS earned_usd,
       round(coalesce(sum(amount * rate) FILTER (WHERE kind = 'escrow'), 0)::numeric, 2)::float8 AS in_escrow_usd,
       round(coalesce(sum(amount * rate) FILTER (WHERE kind = 'paid'), 0)::numeric, 2)::float8 AS paid_out_usd,
       round(coalesce(sum(amount * rate) FILTER (WHERE kind = 'requested'), 0)::numeric, 2)::float8 AS requested_usd,
       count(*) FILTER (WHERE rate IS NULL) AS unconverted
FROM x
WHERE kind IS NOT NULL
GROUP BY account, month
ORDER BY account, month;

CREATE OR REPLACE VIEW insight_response_monthly AS
SELECT account, to_char(to_timestamp(replied_at) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
       count(*) AS replies,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_reply_s,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_reply_s
FROM report_response_times
GROUP BY account, month
ORDER BY account, month;

-- One row per account of the mirror: its bids and win rate, all told and
-- over the last 30 and 365 days (by when the bid was placed), and what it
-- earned (milestones cleared to it, by the milestone's time) in USD.
CREATE OR REPLACE VIEW insight_accounts AS
WITH b AS (
	SELECT account,
	       count(*) AS bids,
	       count(*) FILTER (WHERE outcome IN ('won', 'lost')) AS decided,
	       count(*) FILTER (WHERE outcome = 'won') AS won,
	       count(*) FILTER (WHERE placed_at >= now() - interval '30 days') AS bids_30d,
	       count(*) FILTER (WHERE outcome IN ('won', 'lost') AND placed_at >= now() - interval '30 days') AS decided_30d,
	       count(*) FILTER (WHERE outcome = 'won' AND placed_at >= now() - interval '30 days') AS won_30d,
	       count(*) FILTER (WHERE placed_at >= now() - interval '365 days') AS bids_365d,
	       count(*) FILTER (WHERE outcome IN ('won', 'lost') AND placed_at >= now() - interval '365 days') AS decided_365d,
	       count(*) FILTER (WHERE outcome = 'won' AND placed_at >= now() - interval '365 days') AS won_365d
	FROM insight_bids GROUP BY account),
e AS (
	SELECT m.account,
	       round(coalesce(sum(m.amount * nullif(c.exchange_rate, 0)) FILTER (WHERE m.time_created >= now() - interval '30 days'), 0)::numeric, 2)::float8 AS earned_usd_30d,
	       round(coalesce(sum(m.amount * nullif(c.exchange_rate, 0)) FILTER (WHERE m.time_created >= now() - interval '365 days'), 0)::numeric, 2)::float8 AS earned_usd_365d,
	       round(coalesce(sum(m.amount * nullif(c.exchange_rate, 0)), 0)::numeric, 2)::float8 AS earned_usd
	FROM milestones m
	JOIN self s ON s.account = m.account AND m.bidder_id = s.id
	LEFT JOIN currencies c ON c.account = m.account AND c.id = m.currency_id
	WHERE m.status = 'cleared' AND m.local_state IS NULL
	GROUP BY m.account)
SELECT s.account, s.username,
       coalesce(b.bids, 0) AS bids, coalesce(b.decided, 0) AS decided, coalesce(b.won, 0) AS won,
       b.won::float8 / nullif(b.decided, 0) AS win_rate,
       coalesce(b.bids_30d, 0) AS bids_30d, coalesce(b.won_30d, 0) AS won_30d,
       b.won_30d::float8 / nullif(b.decided_30d, 0) AS win_rate_30d,
       coalesce(b.bids_365d, 0) AS bids_365d, coalesce(b.won_365d, 0) AS won_365d,
       b.won_365d::float8 / nullif(b.decided_365d, 0) AS win_rate_365d,
       coalesce(e.earned_usd_30d, 0) AS earned_usd_30d, coalesce(e.earned_usd_365d, 0) AS earned_usd_365d,
       coalesce(e.earned_usd, 0) AS earned_usd
FROM self s
LEFT JOIN b ON b.account = s.account
LEFT JOIN e ON e.account = s.account
ORDER BY s.account;

-- Projects that two or more of the team's accounts bid on (retracted bids
-- aside): the duplicate bids an agency means to avoid.
CREATE OR REPLACE VIEW insight_contested AS
SELECT b.project_id, max(p.title) AS title, count(DISTINCT b.account) AS accounts,
       string_agg(DISTINCT b.account, ', ' ORDER BY b.account) AS account_names,
       count(*) AS bids, min(b.amount_usd) AS lowest_usd, max(b.amount_usd) AS highest_usd,
       min(b.placed_at) AS first_bid_at, max(b.placed_at) AS last_bid_at,
       bool_or(b.outcome = 'won') AS won_by_one
FROM insight_bids b
LEFT JOIN projects p ON p.account = b.account AND p.id = b.project_id
WHERE b.outcome <> 'retracted'
GROUP BY b.project_id
HAVING count(DISTINCT b.account) >= 2
ORDER BY max(b.placed_at) DESC, b.project_id;
