-- 016_reply_times.sql — the account's replies and the waits they ended,
-- kept as messages are stored, so that insight_response_monthly (and
-- report_response_times) read a table instead of numbering every message of
-- every thread each time: 1.2 s (p50) on a 400,000-message world before,
-- microseconds after a sync batch now.
--
-- reply_times has one row per message of the account in a thread (the
-- messages report_response_times has always counted: a thread, a time, no
-- local_state), with the wait it ended: the first message of another member
-- since the account's previous message in the thread (by time, then id),
-- NULL when there is none (the message follows one of the account's own).
-- A row with a wait is a reply of report_response_times, the same figures.
-- insight_response_monthly's rows are kept too, per month (reply_months,
-- at the end of this file): a month goes stale when its rows change and is
-- computed again at the end of each sync batch (or when read, till then).
--
-- Who keeps it:
-- - any writer but the sync engine's batch (queued actions, the sqlite3
--   shell): the triggers below, per message, over the message's
--   neighbourhood only (a message changes at most the wait of the first two
--   of the account's messages at or after it: its own and the next), a few
--   index seeks whatever the thread's length;
-- - the sync engine's batch (sync_batch holds a row): TEMP triggers note the
--   threads touched, and the batch recomputes those threads whole just
--   before it commits, writing the rows that differ (lib/sync_replies.c);
-- - a first sync that set the messages indexes aside: once, whole, when it
--   builds them again (lib/sync_indexes.c), in the same transaction;
-- - a change of the account (users.is_self): whole, by the triggers on users.

CREATE TABLE reply_times (
	id         INTEGER PRIMARY KEY,   -- the account's message (messages.id)
	thread_id  INTEGER NOT NULL,
	replied_at INTEGER NOT NULL,      -- its time_created
	asked_id   INTEGER,               -- the message of another member that opened the wait, NULL: none
	asked_at   INTEGER,               -- its time_created
	seconds    INTEGER,               -- the wait: replied_at - asked_at
	month      TEXT NOT NULL,         -- of the reply, UTC: YYYY-MM
	CHECK (seconds IS replied_at - asked_at),
	CHECK (month = strftime('%Y-%m', replied_at, 'unixepoch'))
) STRICT;
CREATE INDEX reply_times_thread ON reply_times(thread_id, replied_at);
CREATE INDEX reply_times_month ON reply_times(month, seconds) WHERE seconds IS NOT NULL;

-- Every thread's rows from scratch (numbered as report_response_times always
-- did: a message's group is how many of the account's messages precede it,
-- so a reply and the messages it answers share one; the wait opens at the
-- group's first message when that one is another member's).  The engine's
-- per-thread recompute is this with the threads it touched (sync_replies.c).
CREATE VIEW reply_times_fresh AS
SELECT max(CASE WHEN mine THEN id END) AS id, thread_id,
       max(CASE WHEN mine THEN t END) AS replied_at,
       max(CASE WHEN opens THEN id END) AS asked_id,
       max(CASE WHEN opens THEN t END) AS asked_at
FROM (SELECT thread_id, id, t, mine,
             sum(mine) OVER w - mine AS grp,
             NOT mine AND coalesce(lag(mine) OVER w, 1) AS opens
      FROM (SELECT thread_id, id, time_created AS t,
                   coalesce(from_user_id = (SELECT id FROM users WHERE is_self = 1), 0) AS mine
            FROM messages
            WHERE thread_id IS NOT NULL AND time_created IS NOT NULL AND local_state IS NULL)
      WINDOW w AS (PARTITION BY thread_id ORDER BY t, id))
GROUP BY thread_id, grp
HAVING max(mine) = 1;

INSERT INTO reply_times(id, thread_id, replied_at, asked_id, asked_at, seconds, month)
SELECT id, thread_id, replied_at, asked_id, asked_at, replied_at - asked_at,
       strftime('%Y-%m', replied_at, 'unixepoch')
FROM reply_times_fresh;

-- ---- per message, for every writer but the engine's batch ---------------------
--
-- Each trigger (1) drops the message's own row, (2) adds it back when the
-- message is the account's and counts, (3) recomputes the wait of the first
-- two of the account's messages at or after the message's old place and its
-- new one: the wait of a reply r opens at the first message after the
-- account's message before r (the smallest integers: none before it), if
-- that comes before r.  The seeks are messages_thread and reply_times_thread.

CREATE TRIGGER reply_times_insert AFTER INSERT ON messages
WHEN new.thread_id IS NOT NULL AND new.time_created IS NOT NULL AND new.local_state IS NULL
     AND NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO reply_times(id, thread_id, replied_at, month)
	SELECT new.id, new.thread_id, new.time_created, strftime('%Y-%m', new.time_created, 'unixepoch')
	WHERE new.from_user_id = (SELECT id FROM users WHERE is_self = 1)
	ON CONFLICT(id) DO UPDATE SET thread_id = excluded.thread_id, replied_at = excluded.replied_at,
		month = excluded.month, asked_id = NULL, asked_at = NULL, seconds = NULL;
	UPDATE reply_times SET (asked_id, asked_at, seconds) = (
		SELECT m.id, m.time_created, reply_times.replied_at - m.time_created FROM messages m
		WHERE m.thread_id = reply_times.thread_id AND m.local_state IS NULL
		  AND (m.time_created, m.id) < (reply_times.replied_at, reply_times.id)
		  AND (m.time_created, m.id) > (
			coalesce((SELECT p.replied_at FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808),
			coalesce((SELECT p.id FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808))
		ORDER BY m.time_created, m.id LIMIT 1)
	WHERE id IN (SELECT id FROM reply_times WHERE thread_id = new.thread_id
		     AND (replied_at, id) >= (new.time_created, new.id) ORDER BY replied_at, id LIMIT 2);
END;

CREATE TRIGGER reply_times_delete AFTER DELETE ON messages
WHEN old.thread_id IS NOT NULL AND old.time_created IS NOT NULL AND old.local_state IS NULL
     AND NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	DELETE FROM reply_times WHERE id = old.id;
	UPDATE reply_times SET (asked_id, asked_at, seconds) = (
		SELECT m.id, m.time_created, reply_times.replied_at - m.time_created FROM messages m
		WHERE m.thread_id = reply_times.thread_id AND m.local_state IS NULL
		  AND (m.time_created, m.id) < (reply_times.replied_at, reply_times.id)
		  AND (m.time_created, m.id) > (
			coalesce((SELECT p.replied_at FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808),
			coalesce((SELECT p.id FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808))
		ORDER BY m.time_created, m.id LIMIT 1)
	WHERE id IN (SELECT id FROM reply_times WHERE thread_id = old.thread_id
		     AND (replied_at, id) >= (old.time_created, old.id) ORDER BY replied_at, id LIMIT 2);
END;

CREATE TRIGGER reply_times_update AFTER UPDATE OF id, thread_id, from_user_id, time_created, local_state ON messages
WHEN (old.id IS NOT new.id OR old.thread_id IS NOT new.thread_id OR old.from_user_id IS NOT new.from_user_id
      OR old.time_created IS NOT new.time_created OR old.local_state IS NOT new.local_state)
     AND NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	DELETE FROM reply_times WHERE id = old.id;
	INSERT INTO reply_times(id, thread_id, replied_at, month)
	SELECT new.id, new.thread_id, new.time_created, strftime('%Y-%m', new.time_created, 'unixepoch')
	WHERE new.thread_id IS NOT NULL AND new.time_created IS NOT NULL AND new.local_state IS NULL
	  AND new.from_user_id = (SELECT id FROM users WHERE is_self = 1)
	ON CONFLICT(id) DO UPDATE SET thread_id = excluded.thread_id, replied_at = excluded.replied_at,
		month = excluded.month, asked_id = NULL, asked_at = NULL, seconds = NULL;
	UPDATE reply_times SET (asked_id, asked_at, seconds) = (
		SELECT m.id, m.time_created, reply_times.replied_at - m.time_created FROM messages m
		WHERE m.thread_id = reply_times.thread_id AND m.local_state IS NULL
		  AND (m.time_created, m.id) < (reply_times.replied_at, reply_times.id)
		  AND (m.time_created, m.id) > (
			coalesce((SELECT p.replied_at FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808),
			coalesce((SELECT p.id FROM reply_times p WHERE p.thread_id = reply_times.thread_id
				  AND (p.replied_at, p.id) < (reply_times.replied_at, reply_times.id)
				  ORDER BY p.replied_at DESC, p.id DESC LIMIT 1), -9223372036854775808))
		ORDER BY m.time_created, m.id LIMIT 1)
	WHERE id IN (SELECT id FROM reply_times WHERE thread_id = old.thread_id
		     AND (replied_at, id) >= (old.time_created, old.id) ORDER BY replied_at, id LIMIT 2)
	   OR id IN (SELECT id FROM reply_times WHERE thread_id = new.thread_id
		     AND (replied_at, id) >= (new.time_created, new.id) ORDER BY replied_at, id LIMIT 2);
END;

-- ---- a change of the account: every row again ----------------------------------

CREATE TRIGGER reply_times_self_insert AFTER INSERT ON users WHEN new.is_self = 1 BEGIN
	DELETE FROM reply_times;
	INSERT INTO reply_times(id, thread_id, replied_at, asked_id, asked_at, seconds, month)
	SELECT id, thread_id, replied_at, asked_id, asked_at, replied_at - asked_at,
	       strftime('%Y-%m', replied_at, 'unixepoch')
	FROM reply_times_fresh;
END;
CREATE TRIGGER reply_times_self_update AFTER UPDATE OF id, is_self ON users
WHEN (old.is_self = 1 OR new.is_self = 1) AND (old.is_self IS NOT new.is_self OR old.id IS NOT new.id) BEGIN
	DELETE FROM reply_times;
	INSERT INTO reply_times(id, thread_id, replied_at, asked_id, asked_at, seconds, month)
	SELECT id, thread_id, replied_at, asked_id, asked_at, replied_at - asked_at,
	       strftime('%Y-%m', replied_at, 'unixepoch')
	FROM reply_times_fresh;
END;
CREATE TRIGGER reply_times_self_delete AFTER DELETE ON users WHEN old.is_self = 1 BEGIN
	DELETE FROM reply_times;
END;

-- ---- the views, over the table: the same rows and figures -------------------------

DROP VIEW report_response_monthly;
DROP VIEW report_response_times;
CREATE VIEW report_response_times AS
SELECT thread_id, id AS reply_id, asked_at, replied_at, seconds
FROM reply_times
WHERE seconds IS NOT NULL;

-- Response times per month of the reply: count, mean, median, share within an hour.
CREATE VIEW report_response_monthly AS
WITH r AS (
	SELECT month, seconds,
	       row_number() OVER (PARTITION BY month ORDER BY seconds) AS rn,
	       count(*) OVER (PARTITION BY month) AS n
	FROM reply_times
	WHERE seconds IS NOT NULL)
SELECT month, max(n) AS replies,
       round(avg(seconds) / 3600.0, 2) AS avg_hours,
       round(avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN seconds END) / 3600.0, 2) AS median_hours,
       round(100.0 * sum(seconds <= 3600) / count(*), 1) AS within_1h_pct
FROM r
GROUP BY month
ORDER BY month;

-- ---- per month: the figures, kept ---------------------------------------------
--
-- reply_months holds insight_response_monthly's row of each month whose
-- figures are known; a month whose reply_times rows changed since is in
-- reply_months_stale instead (the triggers below move it there, for every
-- writer), and the view computes it from reply_times when read.  The sync
-- engine computes the stale months again at each batch's end
-- (sync_replies.c: a count, then the middle and 90th rows read off
-- reply_times_month by offset), so a read after a pass reads a dozen rows.
-- Every month with a reply is in exactly one of the two.

CREATE TABLE reply_months (
	month          TEXT PRIMARY KEY,  -- YYYY-MM, UTC, of the replies
	replies        INTEGER NOT NULL,  -- the month's replies (reply_times rows with a wait)
	median_reply_s REAL NOT NULL,     -- the mean of the middle two of an even count
	p90_reply_s    INTEGER NOT NULL   -- the ceil(0.9 n)-th smallest wait
) STRICT, WITHOUT ROWID;
CREATE TABLE reply_months_stale (
	month TEXT PRIMARY KEY            -- figures to compute again: reply_times changed in it
) STRICT, WITHOUT ROWID;

-- Reply times per month of the reply: from another member's message to the
-- account's next message in the same thread.  The median is the mean of the
-- middle two of an even count; p90 is the nearest rank, the ceil(0.9 n)-th
-- smallest.  Kept months from reply_months; the stale ones from reply_times:
-- one pass over reply_times_month (a covering index, in order) numbers their
-- waits by month then seconds, and each month's count and the counts before
-- it say which numbers are its middle and 90th.
DROP VIEW insight_response_monthly;
CREATE VIEW insight_response_monthly AS
WITH c AS (
	SELECT month, count(*) AS n
	FROM reply_times
	WHERE seconds IS NOT NULL AND month IN (SELECT month FROM reply_months_stale)
	GROUP BY month),
p AS (
	SELECT month, n, sum(n) OVER (ORDER BY month ROWS UNBOUNDED PRECEDING) - n AS before
	FROM c),
k AS (
	SELECT before + (n + 1) / 2 AS g FROM p
	UNION SELECT before + (n + 2) / 2 FROM p
	UNION SELECT before + (9 * n + 9) / 10 FROM p),
r AS MATERIALIZED (
	SELECT g, seconds
	FROM (SELECT seconds, row_number() OVER (ORDER BY month, seconds) AS g
	      FROM reply_times
	      WHERE seconds IS NOT NULL AND month IN (SELECT month FROM reply_months_stale))
	WHERE g IN k)
SELECT month, replies, median_reply_s, p90_reply_s
FROM reply_months
UNION ALL
SELECT month, n,
       (SELECT avg(seconds) FROM r WHERE g IN (before + (n + 1) / 2, before + (n + 2) / 2)),
       (SELECT seconds FROM r WHERE g = before + (9 * n + 9) / 10)
FROM p
ORDER BY month;

INSERT INTO reply_months_stale(month) SELECT DISTINCT month FROM reply_times WHERE seconds IS NOT NULL;
INSERT INTO reply_months(month, replies, median_reply_s, p90_reply_s) SELECT * FROM insight_response_monthly;
DELETE FROM reply_months_stale;

-- Only a wait counts in the figures: a row without one changes none.
CREATE TRIGGER reply_months_insert AFTER INSERT ON reply_times WHEN new.seconds IS NOT NULL BEGIN
	INSERT INTO reply_months_stale(month) VALUES (new.month) ON CONFLICT DO NOTHING;
	DELETE FROM reply_months WHERE month = new.month;
END;
CREATE TRIGGER reply_months_update AFTER UPDATE ON reply_times
WHEN old.seconds IS NOT new.seconds OR (old.month IS NOT new.month AND new.seconds IS NOT NULL) BEGIN
	INSERT INTO reply_months_stale(month) VALUES (old.month) ON CONFLICT DO NOTHING;
	INSERT INTO reply_months_stale(month) VALUES (new.month) ON CONFLICT DO NOTHING;
	DELETE FROM reply_months WHERE month IN (old.month, new.month);
END;
CREATE TRIGGER reply_months_delete AFTER DELETE ON reply_times WHEN old.seconds IS NOT NULL BEGIN
	INSERT INTO reply_months_stale(month) VALUES (old.month) ON CONFLICT DO NOTHING;
	DELETE FROM reply_months WHERE month = old.month;
END;
