-- 008_fts_in_batches.sql — the full-text indexes kept in step once per
-- sync batch instead of once per row.
--
-- Why: FTS5 writes its pending terms out as a new segment at every statement
-- savepoint, and a trigger makes every upsert a statement with a savepoint,
-- so the per-row triggers of 002 wrote one tiny segment per row and spent
-- the rest merging them: 52k messages cost 3.2 s of CPU that way and 0.26 s
-- as one INSERT ... SELECT per 5,000-row batch.
--
-- How: sync_batch holds a row only inside the sync engine's own open
-- transaction.  The engine inserts it when a batch begins and deletes it, after
-- bringing both indexes up to date in bulk, just before the batch commits.  No
-- other connection ever sees the row (it is never committed), so for every
-- other writer (queued actions, the sqlite3 shell, sqlite-utils) the triggers
-- below fire exactly as 002's did; for the engine's batch they stand aside and
-- the engine's own TEMP triggers note each row touched, with the values the
-- index holds for it, for the bulk update at commit (lib/sync_fts.c).  The
-- index is consistent at every commit, as before; a crash rolls the batch
-- back, row and flag alike.

CREATE TABLE sync_batch (
	id INTEGER PRIMARY KEY CHECK (id = 1)   -- present only inside the engine's open batch
) STRICT;

DROP TRIGGER projects_fts_insert;
DROP TRIGGER projects_fts_delete;
DROP TRIGGER projects_fts_update;
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO projects_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO projects_fts(projects_fts, rowid, title, description)
	VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, description ON projects
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO projects_fts(projects_fts, rowid, title, description)
	VALUES ('delete', old.id, old.title, old.description);
	INSERT INTO projects_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO messages_fts(rowid, message) VALUES (new.id, new.message);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF message ON messages
WHEN NOT EXISTS (SELECT 1 FROM sync_batch) BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, message) VALUES ('delete', old.id, old.message);
	INSERT INTO messages_fts(rowid, message) VALUES (new.id, new.message);
END;
