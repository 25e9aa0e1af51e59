-- views.sql — the SQLite file's views, for the PostgreSQL mirror, with the
-- account each row belongs to.  Run by `flsync pgsync` with search_path set
-- to the mirror's schema, whenever this text changes.  Columns keep the
-- SQLite views' names and values (a time shown as SQLite's datetime() text
-- stays that text, UTC); each such column has a twin ending in _tz, the
-- same time as timestamptz, for BI tools.  Each view groups and joins
-- within one account.

-- CREATE OR REPLACE, never DROP ... CASCADE: views people built on these
-- stay.  A later version that changes a view's columns must say how.

CREATE OR REPLACE VIEW self AS
SELECT account, id, username FROM users WHERE is_self = 1;

CREATE OR REPLACE VIEW open_projects_with_bids AS
SELECT p.account, p.id, p.title, p.status, p.owner_id,
       p.owner_id = (SELECT s.id FROM self s WHERE s.account = p.account) AS is_mine,
       c.code AS currency, p.budget_minimum, p.budget_maximum,
       count(b.id) AS bids, round(avg(b.amount)::numeric, 2)::double precision AS avg_bid,
       min(b.amount) AS lowest_bid,
       to_char(to_timestamp(p.time_submitted) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS submitted,
       to_timestamp(p.time_submitted) AS submitted_tz
FROM projects p
LEFT JOIN bids b ON b.account = p.account AND b.project_id = p.id AND b.deleted = 0
                AND coalesce(b.retracted, 0) = 0
LEFT JOIN currencies c ON c.account = p.account AND c.id = p.currency_id
WHERE p.deleted = 0 AND p.raw IS NOT NULL AND coalesce(p.status, 'active') = 'active'
GROUP BY p.account, p.id, c.code;

CREATE OR REPLACE VIEW my_active_bids AS
SELECT b.account, b.id, b.project_id, p.title AS project_title, p.status AS project_status,
       b.amount, c.code AS currency, b.period,
       coalesce(b.award_status, 'open') AS award_status, b.frontend_bid_status,
       b.local_state, to_char(to_timestamp(b.time_submitted) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS submitted,
       to_timestamp(b.time_submitted) AS submitted_tz
FROM bids b
JOIN self s ON s.account = b.account AND b.bidder_id = s.id
LEFT JOIN projects p ON p.account = b.account AND p.id = b.project_id
LEFT JOIN currencies c ON c.account = b.account AND c.id = p.currency_id
WHERE b.deleted = 0 AND coalesce(b.retracted, 0) = 0
  AND coalesce(p.deleted, 0) = 0
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
       to_char(to_timestamp(t.time_updated) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS updated,
       to_timestamp(t.time_updated) AS updated_tz,
       lm.message AS last_message,
       CASE WHEN lm.from_user_id = (SELECT s.id FROM self s WHERE s.account = t.account) THEN 'You'
            ELSE coalesce(u.display_name, u.username, 'user ' || lm.from_user_id) END AS last_from
FROM threads t
LEFT JOIN projects pr ON pr.account = t.account AND t.context_type = 'project' AND pr.id = t.context_id
LEFT JOIN LATERAL (SELECT m.message, m.from_user_id FROM messages m WHERE m.account = t.account
                   AND m.thread_id = t.id ORDER BY m.time_created DESC, m.id DESC LIMIT 1) lm ON true
LEFT JOIN users u ON u.account = t.account AND u.id = lm.from_user_id
WHERE t.is_read = 0 AND t.raw IS NOT NULL;

CREATE OR REPLACE VIEW pending_actions AS
SELECT a.account, a.id, a.kind, a.state, a.attempts, a.local_ref, a.depends_on,
       a.error_code, a.error_message,
       to_char(to_timestamp(a.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS queued_at,
       CASE WHEN a.next_attempt > a.updated_at THEN to_char(to_timestamp(a.next_attempt) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') END AS retry_at,
       to_timestamp(a.created_at) AS queued_at_tz,
       CASE WHEN a.next_attempt > a.updated_at THEN to_timestamp(a.next_attempt) END AS retry_at_tz
FROM actions a
WHERE a.state IN ('queued', 'sending', 'failed');

CREATE OR REPLACE VIEW report_bids_monthly AS
WITH b AS (
	SELECT b.account, to_char(to_timestamp(b.time_submitted) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
	       (coalesce(b.award_status, '') = 'awarded'
	        OR coalesce(b.frontend_bid_status, '') IN ('in progress', 'complete'))::int AS won
	FROM bids b
	JOIN self s ON s.account = b.account AND b.bidder_id = s.id
	WHERE b.time_submitted IS NOT NULL AND b.deleted = 0 AND b.local_state IS NULL)
SELECT account, month, count(*) AS placed, sum(won) AS won,
       round(100.0 * sum(won) / count(*), 1)::double precision AS win_rate_pct
FROM b
GROUP BY account, month;

CREATE OR REPLACE VIEW report_milestones_monthly AS
SELECT m.account, to_char(to_timestamp(m.time_created) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
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
SELECT r.account, to_char(to_timestamp(r.time_submitted) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
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
	SELECT mm.account, mm.thread_id, mm.id, mm.time_created AS t,
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
