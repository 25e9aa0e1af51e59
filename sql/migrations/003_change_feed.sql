-- 003_change_feed.sql — the change feed, persisted rate-limit budgets, and
-- the report views.
--
-- Change feed.  Every insert, update and delete on an entity table appends a
-- row to `changes` (seq, tbl, row_id, op, at), so a program that remembers
-- the last seq it saw can ask what changed since (fl_changes_since()) and
-- refresh only that.  seq is the rowid, max + 1 on each insert: it only
-- grows because fl_changes_prune() always keeps the newest change (delete
-- from `changes` only through it), and a rolled-back transaction takes its
-- seqs with it, so seqs have no holes except those pruning makes at the
-- front.  Not AUTOINCREMENT: that updates sqlite_sequence on every row and
-- measured twice the triggers' cost (bench_query).
--
-- The triggers run on every row flsyncd writes, so they stay lean: one
-- INSERT, no lookups.  A statement that fires a trigger needs a statement
-- journal; with PRAGMA temp_store = MEMORY (as the sync engine sets) it
-- stays in memory and a one-row upsert pays ~3-5 us more (+17-31% on a bulk
-- insert); with journals on disk it was +200% (bench_query --triggers).
-- Updates are recorded by AFTER UPDATE OF <every column
-- but synced_at>: the users stream refreshes synced_at alone on rows it
-- re-read unchanged, and that is not a change.  The sync engine's upserts
-- skip unchanged rows (WHERE raw IS NOT excluded.raw), so a re-sync that
-- finds nothing new records nothing.  A migration that adds a column to an
-- entity table must re-create that table's _changes_update trigger with it.
--
-- Keys: row_id is the table's id; reviews, which have no id, give their
-- rowid (stable while the row lives; VACUUM may renumber it, so a program
-- that VACUUMs should re-read reviews).  project_jobs and thread_members have
-- no change rows of their own: the engine rewrites them only together with
-- their project or thread, whose change row covers them.  An update that
-- changes an id (a local row given its server id) records a delete of the
-- old id and an update of the new one.
--
-- Nothing here uses a function that only flsync defines: the sqlite3 shell
-- and sqlite-utils can write to the database and the feed stays right.

CREATE TABLE changes (
	seq    INTEGER PRIMARY KEY,     -- only grows: see above
	tbl    TEXT NOT NULL,           -- the entity table
	row_id INTEGER NOT NULL,        -- its id (reviews: rowid)
	op     TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
	at     INTEGER NOT NULL         -- unix seconds of the write
) STRICT;

CREATE TRIGGER currencies_changes_insert AFTER INSERT ON currencies BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('currencies', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER currencies_changes_update AFTER UPDATE OF
	id, code, name, sign, country, exchange_rate, raw
ON currencies BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('currencies', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER currencies_changes_delete AFTER DELETE ON currencies BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('currencies', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER job_categories_changes_insert AFTER INSERT ON job_categories BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('job_categories', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER job_categories_changes_update AFTER UPDATE OF
	id, name, raw
ON job_categories BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('job_categories', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER job_categories_changes_delete AFTER DELETE ON job_categories BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('job_categories', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER jobs_changes_insert AFTER INSERT ON jobs BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('jobs', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER jobs_changes_update AFTER UPDATE OF
	id, name, seo_url, category_id, raw
ON jobs BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('jobs', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER jobs_changes_delete AFTER DELETE ON jobs BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('jobs', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER users_changes_insert AFTER INSERT ON users BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('users', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER users_changes_update AFTER UPDATE OF
	id, username, display_name, role, chosen_role, registration_date, country,
	city, primary_currency_id, is_self, raw
ON users BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('users', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER users_changes_delete AFTER DELETE ON users BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('users', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER projects_changes_insert AFTER INSERT ON projects BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('projects', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER projects_changes_update AFTER UPDATE OF
	id, owner_id, title, seo_url, preview_description, description, type,
	status, sub_status, frontend_project_status, currency_id, budget_minimum,
	budget_maximum, bid_count, bid_avg, language, hireme, nonpublic,
	time_submitted, time_updated, deleted, local_state, local_id, raw
ON projects BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('projects', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER projects_changes_delete AFTER DELETE ON projects BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('projects', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER bids_changes_insert AFTER INSERT ON bids BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('bids', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER bids_changes_update AFTER UPDATE OF
	id, project_id, bidder_id, project_owner_id, amount, period, description,
	award_status, paid_status, complete_status, frontend_bid_status, retracted,
	highlighted, shortlisted, time_submitted, time_awarded, time_accepted,
	deleted, local_state, local_id, raw
ON bids BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('bids', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER bids_changes_delete AFTER DELETE ON bids BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('bids', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER milestones_changes_insert AFTER INSERT ON milestones BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestones', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER milestones_changes_update AFTER UPDATE OF
	id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,
	status, reason, description, is_from_prepaid, time_created, local_state,
	local_id, raw
ON milestones BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestones', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER milestones_changes_delete AFTER DELETE ON milestones BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestones', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER milestone_requests_changes_insert AFTER INSERT ON milestone_requests BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestone_requests', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER milestone_requests_changes_update AFTER UPDATE OF
	id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,
	status, description, time_requested, local_state, local_id, raw
ON milestone_requests BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestone_requests', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER milestone_requests_changes_delete AFTER DELETE ON milestone_requests BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestone_requests', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER reviews_changes_insert AFTER INSERT ON reviews BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('reviews', new.rowid, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER reviews_changes_update AFTER UPDATE OF
	project_id, from_user_id, to_user_id, role, status, rating, description,
	paid_amount, bid_amount, currency_id, review_type, rating_communication,
	rating_expertise, rating_hire_again, rating_quality, rating_professionalism,
	time_submitted, local_state, raw
ON reviews BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('reviews', new.rowid, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER reviews_changes_delete AFTER DELETE ON reviews BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('reviews', old.rowid, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER threads_changes_insert AFTER INSERT ON threads BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('threads', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER threads_changes_update AFTER UPDATE OF
	id, thread_type, context_type, context_id, owner_id, folder, is_read,
	is_muted, time_created, time_updated, time_read, local_state, local_id, raw
ON threads BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('threads', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER threads_changes_delete AFTER DELETE ON threads BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('threads', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER messages_changes_insert AFTER INSERT ON messages BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('messages', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER messages_changes_update AFTER UPDATE OF
	id, thread_id, from_user_id, message, message_source, client_message_id,
	parent_id, time_created, time_updated, remove_reason, local_state, local_id,
	raw
ON messages BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('messages', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER messages_changes_delete AFTER DELETE ON messages BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('messages', old.id, 'delete', strftime('%s', 'now'));
END;

CREATE TRIGGER projects_changes_rekey AFTER UPDATE OF id ON projects WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('projects', old.id, 'delete', strftime('%s', 'now'));
END;
CREATE TRIGGER bids_changes_rekey AFTER UPDATE OF id ON bids WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('bids', old.id, 'delete', strftime('%s', 'now'));
END;
CREATE TRIGGER milestones_changes_rekey AFTER UPDATE OF id ON milestones WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestones', old.id, 'delete', strftime('%s', 'now'));
END;
CREATE TRIGGER milestone_requests_changes_rekey AFTER UPDATE OF id ON milestone_requests WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('milestone_requests', old.id, 'delete', strftime('%s', 'now'));
END;
CREATE TRIGGER threads_changes_rekey AFTER UPDATE OF id ON threads WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('threads', old.id, 'delete', strftime('%s', 'now'));
END;
CREATE TRIGGER messages_changes_rekey AFTER UPDATE OF id ON messages WHEN old.id IS NOT new.id BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('messages', old.id, 'delete', strftime('%s', 'now'));
END;

-- The write queue is in the feed too: an app showing it refreshes on these.
CREATE TRIGGER actions_changes_insert AFTER INSERT ON actions BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('actions', new.id, 'insert', strftime('%s', 'now'));
END;
CREATE TRIGGER actions_changes_update AFTER UPDATE ON actions BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('actions', new.id, 'update', strftime('%s', 'now'));
END;
CREATE TRIGGER actions_changes_delete AFTER DELETE ON actions BEGIN
	INSERT INTO changes(tbl, row_id, op, at) VALUES ('actions', old.id, 'delete', strftime('%s', 'now'));
END;

-- Rate-limit budgets, as flsyncd last knew them, for `flsync status` and
-- fl_status_get(): one row per endpoint family ("POST /api/projects/0.1/bids/",
-- numeric ids as {id}).  flsyncd keeps its limiter in memory and writes this
-- table from it (at the end of each batch and pass); remaining is as of
-- updated_at.  paused_until is the unix second a 429 pause ends, NULL if none.
CREATE TABLE ratelimit_state (
	endpoint     TEXT PRIMARY KEY,
	limit_n      INTEGER,           -- requests allowed per window, NULL unknown
	window_s     INTEGER,           -- window length in seconds, NULL unknown
	remaining    INTEGER,           -- requests left in the window, NULL unknown
	paused_until INTEGER,           -- unix seconds, NULL when not paused
	updated_at   INTEGER NOT NULL   -- unix seconds of this snapshot
) STRICT;

-- ---- Report views ---------------------------------------------------------
-- `flsync report` draws its charts from these; they are meant for analysts
-- too (sqlite3, sqlite-utils, a spreadsheet via `flsync export`).  Months are
-- 'YYYY-MM' in UTC.  Rows written by queued actions the server has not yet
-- confirmed (local_state IS NOT NULL) are left out.

-- The account's bids per month: placed, won (awarded, or work started), win rate.
CREATE VIEW report_bids_monthly AS
SELECT strftime('%Y-%m', b.time_submitted, 'unixepoch') AS month,
       count(*) AS placed,
       sum(b.award_status = 'awarded' OR coalesce(b.frontend_bid_status, '') IN ('in progress', 'complete')) AS won,
       round(100.0 * sum(b.award_status = 'awarded' OR coalesce(b.frontend_bid_status, '') IN ('in progress', 'complete'))
             / count(*), 1) AS win_rate_pct
FROM bids b
JOIN self s ON b.bidder_id = s.id
WHERE b.time_submitted IS NOT NULL AND b.deleted = 0 AND b.local_state IS NULL
GROUP BY month
ORDER BY month;

-- Milestone money per month (of creation) and currency: earned (cleared to
-- the account as freelancer), paid (cleared by the account as employer),
-- created (every milestone made that month, not cancelled), in escrow now.
CREATE VIEW report_milestones_monthly AS
SELECT strftime('%Y-%m', m.time_created, 'unixepoch') AS month,
       m.currency_id, coalesce(c.code, '#' || m.currency_id) AS currency,
       round(sum(CASE WHEN m.bidder_id = s.id AND m.status = 'cleared' THEN m.amount ELSE 0 END), 2) AS earned,
       round(sum(CASE WHEN m.project_owner_id = s.id AND m.status = 'cleared' THEN m.amount ELSE 0 END), 2) AS paid,
       round(sum(CASE WHEN coalesce(m.status, '') <> 'canceled' THEN m.amount ELSE 0 END), 2) AS created,
       round(sum(CASE WHEN m.status IN ('pending', 'frozen', 'requested_release', 'disputed') THEN m.amount ELSE 0 END), 2) AS in_escrow,
       count(*) AS milestones
FROM milestones m
JOIN self s ON s.id IN (m.bidder_id, m.project_owner_id)
LEFT JOIN currencies c ON c.id = m.currency_id
WHERE m.time_created IS NOT NULL AND m.local_state IS NULL
GROUP BY month, m.currency_id
ORDER BY month, currency;

-- Each reply of the account in a thread and how long the counterpart waited
-- for it: from the first counterpart message after the account's previous
-- message to the account's next one.  Messages are numbered by how many of
-- the account's own messages precede them (a reply counts itself), so a
-- reply and the counterpart messages it answers share one group.
CREATE VIEW report_response_times AS
WITH m AS (
	SELECT thread_id, id, time_created AS t,
	       coalesce(from_user_id = (SELECT id FROM self), 0) AS mine
	FROM messages
	WHERE thread_id IS NOT NULL AND time_created IS NOT NULL AND local_state IS NULL),
g AS (
	SELECT thread_id, id, t, mine,
	       sum(mine) OVER (PARTITION BY thread_id ORDER BY t, id ROWS UNBOUNDED PRECEDING) - mine AS grp
	FROM m)
SELECT thread_id,
       max(CASE WHEN mine THEN id END) AS reply_id,
       min(CASE WHEN NOT mine THEN t END) AS asked_at,
       max(CASE WHEN mine THEN t END) AS replied_at,
       max(CASE WHEN mine THEN t END) - min(CASE WHEN NOT mine THEN t END) AS seconds
FROM g
GROUP BY thread_id, grp
HAVING asked_at IS NOT NULL AND replied_at IS NOT NULL;

-- Response times per month of the reply: count, mean, median, share within an hour.
CREATE VIEW report_response_monthly AS
WITH r AS (
	SELECT strftime('%Y-%m', replied_at, 'unixepoch') AS month, seconds,
	       row_number() OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch') ORDER BY seconds) AS rn,
	       count(*) OVER (PARTITION BY strftime('%Y-%m', replied_at, 'unixepoch')) AS n
	FROM report_response_times)
SELECT month, max(n) AS replies,
       round(avg(seconds) / 3600.0, 2) AS avg_hours,
       round(avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN seconds END) / 3600.0, 2) AS median_hours,
       round(100.0 * sum(seconds <= 3600) / count(*), 1) AS within_1h_pct
FROM r
GROUP BY month
ORDER BY month;

-- Reviews the account received, per month: count and mean rating (out of 5).
CREATE VIEW report_reviews_monthly AS
SELECT strftime('%Y-%m', r.time_submitted, 'unixepoch') AS month,
       count(*) AS reviews,
       round(avg(r.rating), 2) AS avg_rating,
       min(r.rating) AS min_rating,
       max(r.rating) AS max_rating
FROM reviews r
JOIN self s ON r.to_user_id = s.id
WHERE r.time_submitted IS NOT NULL AND r.rating IS NOT NULL AND r.local_state IS NULL
GROUP BY month
ORDER BY month;
