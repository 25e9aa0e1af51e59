-- 002_search_and_views.sql — full-text search over projects and messages,
-- and the views a person opening the file in sqlite3 reaches for first.
--
-- The FTS5 tables are external-content tables over the entity tables, kept in
-- step by triggers, so every writer (flsyncd, queued actions, a person with
-- the sqlite3 shell) updates them alike.

CREATE VIRTUAL TABLE projects_fts USING fts5(
	title, description,
	content = 'projects', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN
	INSERT INTO projects_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN
	INSERT INTO projects_fts(projects_fts, rowid, title, description)
	VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, description ON projects BEGIN
	INSERT INTO projects_fts(projects_fts, rowid, title, description)
	VALUES ('delete', old.id, old.title, old.description);
	INSERT INTO projects_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;

CREATE VIRTUAL TABLE messages_fts USING fts5(
	message,
	content = 'messages', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts(rowid, message) VALUES (new.id, new.message);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF message ON messages BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, message) VALUES ('delete', old.id, old.message);
	INSERT INTO messages_fts(rowid, message) VALUES (new.id, new.message);
END;

-- The account's own user id, for the views below.
CREATE VIEW self AS SELECT id, username FROM users WHERE is_self = 1;

-- Open projects (not closed, not deleted) with what their bids say.
CREATE VIEW open_projects_with_bids AS
SELECT p.id, p.title, p.status, p.owner_id, p.owner_id = (SELECT id FROM self) AS is_mine,
       c.code AS currency, p.budget_minimum, p.budget_maximum,
       count(b.id) AS bids, round(avg(b.amount), 2) AS avg_bid, min(b.amount) AS lowest_bid,
       datetime(p.time_submitted, 'unixepoch') AS submitted
FROM projects p
LEFT JOIN bids b ON b.project_id = p.id AND b.deleted = 0 AND coalesce(b.retracted, 0) = 0
LEFT JOIN currencies c ON c.id = p.currency_id
WHERE p.deleted = 0 AND p.raw IS NOT NULL AND coalesce(p.status, 'active') NOT IN ('closed', 'complete')
GROUP BY p.id;

-- The account's bids that are still in play, with their project.
CREATE VIEW my_active_bids AS
SELECT b.id, b.project_id, p.title AS project_title, p.status AS project_status,
       b.amount, c.code AS currency, b.period,
       coalesce(b.award_status, 'pending') AS award_status, b.frontend_bid_status,
       b.local_state, datetime(b.time_submitted, 'unixepoch') AS submitted
FROM bids b
JOIN self s ON b.bidder_id = s.id
LEFT JOIN projects p ON p.id = b.project_id
LEFT JOIN currencies c ON c.id = p.currency_id
WHERE b.deleted = 0 AND coalesce(b.retracted, 0) = 0
  AND coalesce(b.award_status, 'pending') IN ('pending', 'awarded')
  AND coalesce(b.complete_status, '') <> 'complete';

-- Money in milestones per project and currency: funded, released, cancelled.
CREATE VIEW milestone_balances AS
SELECT m.project_id, p.title AS project_title, c.code AS currency,
       sum(CASE WHEN m.status IN ('pending', 'frozen', 'requested_release', 'disputed') THEN m.amount ELSE 0 END) AS in_escrow,
       sum(CASE WHEN m.status = 'cleared' THEN m.amount ELSE 0 END) AS released,
       sum(CASE WHEN m.status = 'canceled' THEN m.amount ELSE 0 END) AS cancelled,
       count(*) AS milestones
FROM milestones m
LEFT JOIN projects p ON p.id = m.project_id
LEFT JOIN currencies c ON c.id = m.currency_id
GROUP BY m.project_id, m.currency_id;

-- Threads with unread messages, with the newest message.
CREATE VIEW unread_threads AS
SELECT t.id, t.context_type, t.context_id, pr.title AS project_title,
       datetime(t.time_updated, 'unixepoch') AS updated,
       (SELECT m.message FROM messages m WHERE m.thread_id = t.id
        ORDER BY m.time_created DESC, m.id DESC LIMIT 1) AS last_message
FROM threads t
LEFT JOIN projects pr ON t.context_type = 'project' AND pr.id = t.context_id
WHERE t.is_read = 0 AND t.raw IS NOT NULL;
