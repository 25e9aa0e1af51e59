-- 014_insight_views.sql — the insight_* views: what a freelancer or an
-- agency asks of its history (which jobs, budgets, prices and speeds win,
-- which clients pay and come back, the cash flow, how fast it answers),
-- once, in SQL, for every tool, `flsync report`, `flsync ui` and the
-- PostgreSQL mirror (pgmirror/views.sql has the same with `account`).
--
-- Money: every *_usd column is in US dollars, converted with
-- currencies.exchange_rate (the API's rate to USD: amount * rate).  A
-- currency without a rate (or with 0) is never dropped silently: a row's
-- *_usd is NULL and rate_missing is 1; a sum leaves it out and counts it
-- in `unconverted`.  Months are UTC ('YYYY-MM'); placed_on is the local
-- date.  Rows written by queued actions (local_state) are not history yet.

-- One row per bid the account placed.
CREATE VIEW insight_bids AS
SELECT b.id AS bid_id, b.project_id, p.owner_id AS client_id,
       b.time_submitted AS placed_at,
       date(b.time_submitted, 'unixepoch', 'localtime') AS placed_on,
       b.amount, c.code AS currency,
       b.amount * nullif(c.exchange_rate, 0) AS amount_usd,
       p.budget_minimum * nullif(c.exchange_rate, 0) AS budget_min_usd,
       p.budget_maximum * nullif(c.exchange_rate, 0) AS budget_max_usd,
       p.bid_count,
       nullif(p.bid_avg, 0) * nullif(c.exchange_rate, 0) AS bid_avg_usd,
       b.amount / nullif(p.bid_avg, 0) AS price_position,
       b.time_submitted - p.time_submitted AS time_to_bid_s,
       CASE WHEN coalesce(b.retracted, 0) = 1 THEN 'retracted'
            WHEN b.award_status = 'awarded' THEN 'won'
            WHEN b.award_status IN ('revoked', 'canceled', 'rejected') THEN 'lost'
            WHEN (p.deleted = 1 OR coalesce(p.status, 'active') <> 'active')
                 AND coalesce(b.award_status, '') <> 'pending' THEN 'lost'
            ELSE 'open' END AS outcome,
       b.award_status, p.status AS project_status,
       (nullif(c.exchange_rate, 0) IS NULL) AS rate_missing
FROM bids b
JOIN self s ON b.bidder_id = s.id
LEFT JOIN projects p ON p.id = b.project_id
LEFT JOIN currencies c ON c.id = p.currency_id
WHERE b.deleted = 0 AND b.local_state IS NULL;

-- Win rate by job, budget, price position, speed and month, with the Wilson
-- 95% interval of won / decided (z = 1.96), so that a bucket of three bids
-- does not pose as a fact.  A bid without the figure a dimension needs (no
-- bid_avg, no rate, no project) counts in that dimension's bucket
-- 'unknown'; a bid counts under each job of its project.  Retracted and
-- open bids count in bids, not in decided.  sort orders the buckets.
CREATE VIEW insight_win_rate AS
WITH b AS (SELECT * FROM insight_bids),
d AS (
	SELECT 1 AS dim_order, 'job' AS dimension, coalesce(j.name, '#' || pj.job_id) AS bucket, 0 AS sort, b.outcome
	FROM b JOIN project_jobs pj ON pj.project_id = b.project_id LEFT JOIN jobs j ON j.id = pj.job_id
	UNION ALL
	SELECT 2, 'budget',
	       CASE WHEN budget_max_usd IS NULL THEN 'unknown' WHEN budget_max_usd < 100 THEN '<100'
	            WHEN budget_max_usd < 500 THEN '100-500' WHEN budget_max_usd < 1000 THEN '500-1000'
	            WHEN budget_max_usd < 5000 THEN '1000-5000' ELSE '5000+' END,
	       CASE WHEN budget_max_usd IS NULL THEN 9 WHEN budget_max_usd < 100 THEN 1
	            WHEN budget_max_usd < 500 THEN 2 WHEN budget_max_usd < 1000 THEN 3
	            WHEN budget_max_usd < 5000 THEN 4 ELSE 5 END, outcome
	FROM b
	UNION ALL
	SELECT 3, 'price',
	       CASE WHEN price_position IS NULL THEN 'unknown' WHEN price_position < 0.8 THEN '<0.8'
	            WHEN price_position < 1.0 THEN '0.8-1.0' WHEN price_position < 1.2 THEN '1.0-1.2' ELSE '>=1.2' END,
	       CASE WHEN price_position IS NULL THEN 9 WHEN price_position < 0.8 THEN 1
	            WHEN price_position < 1.0 THEN 2 WHEN price_position < 1.2 THEN 3 ELSE 4 END, outcome
	FROM b
	UNION ALL
	SELECT 4, 'speed',
	       CASE WHEN time_to_bid_s IS NULL THEN 'unknown' WHEN time_to_bid_s < 3600 THEN '<1h'
	            WHEN time_to_bid_s < 21600 THEN '1-6h' WHEN time_to_bid_s < 86400 THEN '6-24h' ELSE '>=24h' END,
	       CASE WHEN time_to_bid_s IS NULL THEN 9 WHEN time_to_bid_s < 3600 THEN 1
	            WHEN time_to_bid_s < 21600 THEN 2 WHEN time_to_bid_s < 86400 THEN 3 ELSE 4 END, outcome
	FROM b
	UNION ALL
	SELECT 5, 'month', coalesce(strftime('%Y-%m', placed_at, 'unixepoch'), 'unknown'), 0, outcome
	FROM b),
g AS (
	SELECT dim_order, dimension, bucket, min(sort) AS sort, count(*) AS bids,
	       sum(outcome IN ('won', 'lost')) AS decided, sum(outcome = 'won') AS won,
	       sum(outcome = 'lost') AS lost, sum(outcome = 'open') AS open, sum(outcome = 'retracted') AS retracted
	FROM d
	GROUP BY dim_order, dimension, bucket)
SELECT dimension, bucket, bids, decided, won,
       CASE WHEN decided > 0 THEN 1.0 * won / decided END AS win_rate,
       CASE WHEN decided > 0 THEN max(0.0, (won + 1.9208 - 1.96 * sqrt(1.0 * won * (decided - won) / decided + 0.9604))
                                           / (decided + 3.8416)) END AS ci_low,
       CASE WHEN decided > 0 THEN min(1.0, (won + 1.9208 + 1.96 * sqrt(1.0 * won * (decided - won) / decided + 0.9604))
                                           / (decided + 3.8416)) END AS ci_high,
       lost, open, retracted, sort
FROM g
ORDER BY dim_order, sort, bucket;

-- One row per user who owns a project the account bid on.  last_message_at
-- is the newest message in a thread they are a member of (a reply still
-- queued included: each thread's newest is read from its index alone).
CREATE VIEW insight_clients AS
WITH b AS (SELECT bid_id, project_id, client_id, outcome FROM insight_bids WHERE client_id IS NOT NULL),
per AS (
	SELECT client_id, count(DISTINCT project_id) AS projects, count(*) AS bids, sum(outcome = 'won') AS won
	FROM b GROUP BY client_id),
earned AS (
	SELECT b.client_id, round(sum(m.amount * nullif(c.exchange_rate, 0)), 2) AS earned_usd,
	       sum(nullif(c.exchange_rate, 0) IS NULL) AS unconverted
	FROM b
	JOIN milestones m ON m.bid_id = b.bid_id AND m.status = 'cleared' AND m.local_state IS NULL
	LEFT JOIN currencies c ON c.id = m.currency_id
	GROUP BY b.client_id),
rev AS (
	SELECT r.from_user_id AS client_id, count(*) AS reviews, round(avg(r.rating), 2) AS avg_rating
	FROM reviews r JOIN self s ON r.to_user_id = s.id
	WHERE r.local_state IS NULL AND r.from_user_id IN (SELECT client_id FROM per)
	GROUP BY r.from_user_id)
SELECT per.client_id, u.username, u.country,
       json_extract(u.raw, '$.status.payment_verified') AS payment_verified,
       per.projects, per.bids, per.won,
       coalesce(e.earned_usd, 0) AS earned_usd,
       coalesce(rev.reviews, 0) AS reviews, rev.avg_rating,
       (SELECT max((SELECT max(m.time_created) FROM messages m WHERE m.thread_id = tm.thread_id))
        FROM thread_members tm WHERE tm.user_id = per.client_id) AS last_message_at,
       coalesce(e.unconverted, 0) AS unconverted
FROM per
LEFT JOIN users u ON u.id = per.client_id
LEFT JOIN earned e ON e.client_id = per.client_id
LEFT JOIN rev ON rev.client_id = per.client_id
ORDER BY earned_usd DESC, per.won DESC, per.bids DESC, per.client_id;

-- Money per month (UTC): earned (milestones cleared where the account is
-- the bidder, by the milestone's time), in escrow (the account's milestones
-- as bidder still pending or requested for release), paid out (cleared
-- milestones on the account's own projects), requested (the account's
-- milestone requests still open, by the request's time).
CREATE VIEW insight_cashflow_monthly AS
WITH x AS (
	SELECT strftime('%Y-%m', m.time_created, 'unixepoch') AS month,
	       nullif(c.exchange_rate, 0) AS rate, m.amount,
	       CASE WHEN m.bidder_id = s.id AND m.status = 'cleared' THEN 'earned'
	            WHEN m.bidder_id = s.id AND m.status IN ('pending', 'requested_release') THEN 'escrow'
	            WHEN m.project_owner_id = s.id AND m.status = 'cleared' THEN 'paid' END AS kind
	FROM milestones m
	JOIN self s ON s.id IN (m.bidder_id, m.project_owner_id)
	LEFT JOIN currencies c ON c.id = m.currency_id
	WHERE m.time_created IS NOT NULL AND m.local_state IS NULL
	UNION ALL
	SELECT strftime('%Y-%m', r.time_requested, 'unixepoch'), nullif(c.exchange_rate, 0), r.amount, 'requested'
	FROM milestone_requests r
	JOIN self s ON r.bidder_id = s.id
	LEFT JOIN currencies c ON c.id = r.currency_id
	WHERE r.status = 'pending' AND r.time_requested IS NOT NULL AND r.local_state IS NULL)
SELECT month,
       round(coalesce(sum(CASE WHEN kind = 'earned' THEN amount * rate END), 0), 2) AS earned_usd,
       round(coalesce(sum(CASE WHEN kind = 'escrow' THEN amount * rate END), 0), 2) AS in_escrow_usd,
       round(coalesce(sum(CASE WHEN kind = 'paid' THEN amount * rate END), 0), 2) AS paid_out_usd,
       round(coalesce(sum(CASE WHEN kind = 'requested' THEN amount * rate END), 0), 2) AS requested_usd,
       sum(rate IS NULL) AS unconverted
FROM x
WHERE kind IS NOT NULL
GROUP BY month
ORDER BY month;

-- Reply times per month of the reply (report_response_times has each):
-- from another member's message to the account's next message in the same
-- thread.  The median is the mean of the middle two of an even count; p90
-- is the nearest rank, the ceil(0.9 n)-th smallest.
CREATE VIEW insight_response_monthly AS
WITH r AS (
	SELECT strftime('%Y-%m', replied_at, 'unixepoch') AS month, seconds,
	       row_number() OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch') ORDER BY seconds) AS rn,
	       count(*) OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch')) AS n
	FROM report_response_times)
SELECT month, max(n) AS replies,
       avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN seconds END) AS median_reply_s,
       max(CASE WHEN rn = (9 * n + 9) / 10 THEN seconds END) AS p90_reply_s
FROM r
GROUP BY month
ORDER BY month;
