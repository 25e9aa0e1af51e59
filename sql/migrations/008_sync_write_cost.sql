-- 008_sync_write_cost.sql — what a synced row costs to write, cut with
-- nothing given up: the full-text indexes kept in step once per sync batch
-- instead of once per row, the change feed's CHECK written so that it
-- builds no temporary table, and a record of the indexes a first sync
-- builds after its load.
--
-- ---- Full-text indexes, once per batch --------------------------------------
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

-- ---- The change feed's CHECK ---------------------------------------------------
--
-- SQLite evaluates a CHECK of the form x IN ('a', 'b', 'c') (more than two
-- constants) by building a temporary b-tree of the list each time the
-- statement runs: for `changes`, once for every change row every trigger
-- writes, a page zeroed and a pager opened per row (a sixth of a first
-- sync's instructions under callgrind).  The same test as a chain of
-- equalities builds nothing and accepts and rejects exactly the same values
-- (NULL cannot occur: op is NOT NULL).  SQLite cannot alter a CHECK in
-- place, so the table is rebuilt with its rows, seqs kept.  legacy_alter_table
-- lets the rename leave alone the triggers that name `changes` (they insert
-- into whatever table has that name, which is the rebuilt one once renamed);
-- without it the rename fails on them while no `changes` exists.

PRAGMA legacy_alter_table = ON;
CREATE TABLE changes_rebuilt (
	seq    INTEGER PRIMARY KEY,     -- only grows: see 003
	tbl    TEXT NOT NULL,           -- the entity table
	row_id INTEGER NOT NULL,        -- its id (reviews: rowid)
	op     TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'),
	at     INTEGER NOT NULL         -- unix seconds of the write
) STRICT;
INSERT INTO changes_rebuilt(seq, tbl, row_id, op, at) SELECT seq, tbl, row_id, op, at FROM changes;
DROP TABLE changes;
ALTER TABLE changes_rebuilt RENAME TO changes;
PRAGMA legacy_alter_table = OFF;

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
