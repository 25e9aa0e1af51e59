-- 008_sync_write_cost.sql — what a synced row costs to write, cut with
-- nothing given up: the full-text indexes kept in step once per sync batch
-- instead of once per row, CHECKs written so that they build no temporary
-- table per row, and a record of the indexes a first sync builds after its
-- load.
--
-- ---- Full-text indexes, once per batch --------------------------------------
--
-- Why: FTS5 writes its pending terms out as a new segment at every statement
-- savepoint, and a trigger makes every upsert a statement with a savepoint,
-- so the per-row triggers of 002 wrote one tiny segment per row and spent
-- the rest merging them: indexing 52k messages took 2.7 s of CPU that way
-- and 0.26 s as one INSERT ... SELECT per 5,000-row batch.
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

-- ---- CHECKs that build no temporary table ----------------------------------
--
-- SQLite evaluates a CHECK of the form x IN ('a', 'b', 'c') (more than two
-- constants) by building a temporary b-tree of the list every time the
-- statement runs: a pager opened and pages zeroed for every row written,
-- before the upsert even finds the row unchanged.  For `changes` that was
-- once per change row, for bids four times per bid (callgrind: a re-read of
-- unchanged bids spent 154k instructions a row, most of them there).  The
-- same test as a chain of equalities builds nothing and accepts and rejects
-- exactly the same values (a NULL passes both: NULL IN (...) and NULL = ...
-- are both NULL).  A CHECK cannot be altered in place; SQLite's documented
-- procedure for changing one that existing rows satisfy (they do: the values
-- allowed are the same) is to rewrite the table's CREATE statement in
-- sqlite_schema.  The rest of this migration changes the schema too, so its
-- version cookie moves and every other connection reloads it;
-- writable_schema = RESET makes this one reload it as well.  Each replace()
-- is a no-op on a table whose text differs (edited by hand): the old CHECK
-- then stays, as correct as before.

PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (op IN (''insert'', ''update'', ''delete''))',
	'CHECK (op = ''insert'' OR op = ''update'' OR op = ''delete'')')
WHERE type = 'table' AND name = 'changes';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (award_status IN (''awarded'', ''rejected'', ''revoked'', ''pending'', ''canceled''))',
	'CHECK (award_status = ''awarded'' OR award_status = ''rejected'' OR award_status = ''revoked'' OR award_status = ''pending'' OR award_status = ''canceled'')')
WHERE type = 'table' AND name = 'bids';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (paid_status IN (''unpaid'', ''partly paid'', ''fully paid''))',
	'CHECK (paid_status = ''unpaid'' OR paid_status = ''partly paid'' OR paid_status = ''fully paid'')')
WHERE type = 'table' AND name = 'bids';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (complete_status IN (''pending'', ''incomplete'', ''complete''))',
	'CHECK (complete_status = ''pending'' OR complete_status = ''incomplete'' OR complete_status = ''complete'')')
WHERE type = 'table' AND name = 'bids';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (frontend_bid_status IN (''active'', ''in progress'', ''complete''))',
	'CHECK (frontend_bid_status = ''active'' OR frontend_bid_status = ''in progress'' OR frontend_bid_status = ''complete'')')
WHERE type = 'table' AND name = 'bids';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (status IN (''disputed'', ''requested_release'', ''pending'', ''frozen'', ''cleared'', ''canceled''))',
	'CHECK (status = ''disputed'' OR status = ''requested_release'' OR status = ''pending'' OR status = ''frozen'' OR status = ''cleared'' OR status = ''canceled'')')
WHERE type = 'table' AND name = 'milestones';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (status IN (''deleted'', ''rejected'', ''pending'', ''created''))',
	'CHECK (status = ''deleted'' OR status = ''rejected'' OR status = ''pending'' OR status = ''created'')')
WHERE type = 'table' AND name = 'milestone_requests';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (context_type IN (''project'', ''contest'', ''general''))',
	'CHECK (context_type = ''project'' OR context_type = ''contest'' OR context_type = ''general'')')
WHERE type = 'table' AND name = 'threads';
PRAGMA writable_schema = RESET;

-- ---- Indexes built after a first load ------------------------------------------
--
-- A first sync into an empty database drops the plain secondary indexes of
-- the bulk tables and builds them after the load (lib/sync_indexes.c); each
-- is recorded here, with its CREATE statement, in the transaction that drops
-- it, and the row goes in the transaction that builds it again.  A row left
-- here (a crash mid-load) is built by the next pass before it syncs.

CREATE TABLE sync_deferred_indexes (
	name TEXT PRIMARY KEY,          -- the index
	sql  TEXT NOT NULL              -- its CREATE INDEX statement, as sqlite_schema had it
) STRICT;
