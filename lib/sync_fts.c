/*
 * sync_fts.c — the full-text indexes (projects_fts, messages_fts) kept in
 * step once per sync batch, in bulk, just before the batch commits.
 *
 * Migration 008 makes the per-row FTS triggers stand aside while the table
 * sync_batch holds a row, which it only ever does inside this engine's open
 * transaction.  Meanwhile the TEMP triggers made here (they live on this
 * connection only) note each projects or messages row a statement inserts,
 * updates (in an indexed column) or deletes, keeping for each row the first
 * thing learnt in the batch: either "not in the index" (first seen inserted)
 * or the values the index holds for it (first seen updated or deleted: the
 * values it had when the batch began, which the committed index holds).  At
 * commit those values are deleted from the index and each noted row that
 * still exists is indexed with its values now, two INSERT ... SELECT per
 * table: what the per-row triggers did, without a segment per row.
 */
#include "sync_internal.h"

/* One row a table's batch touched: indexed = the index holds it with these values. */
#define NOTE_TABLE(t, cols) \
	"CREATE TEMP TABLE IF NOT EXISTS fts_" t "_noted(id INTEGER PRIMARY KEY, indexed INTEGER NOT NULL, " cols ");"

static const char setup_sql[] =
	NOTE_TABLE("projects", "title, description")
	NOTE_TABLE("messages", "message")
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_projects_note_insert AFTER INSERT ON main.projects "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_projects_noted(id, indexed) VALUES (new.id, 0) ON CONFLICT(id) DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_projects_note_update AFTER UPDATE OF title, description ON main.projects "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_projects_noted(id, indexed, title, description) VALUES (old.id, 1, old.title, old.description) "
	"ON CONFLICT(id) DO NOTHING; "
	"INSERT INTO fts_projects_noted(id, indexed) VALUES (new.id, 0) ON CONFLICT(id) DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_projects_note_delete AFTER DELETE ON main.projects "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_projects_noted(id, indexed, title, description) VALUES (old.id, 1, old.title, old.description) "
	"ON CONFLICT(id) DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_messages_note_insert AFTER INSERT ON main.messages "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_messages_noted(id, indexed) VALUES (new.id, 0) ON CONFLICT(id) DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_messages_note_update AFTER UPDATE OF message ON main.messages "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_messages_noted(id, indexed, message) VALUES (old.id, 1, old.message) "
	"ON CONFLICT(id) DO NOTHING; "
	"INSERT INTO fts_messages_noted(id, indexed) VALUES (new.id, 0) ON CONFLICT(id) DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS fts_messages_note_delete AFTER DELETE ON main.messages "
	"WHEN EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO fts_messages_noted(id, indexed, message) VALUES (old.id, 1, old.message) "
	"ON CONFLICT(id) DO NOTHING; END;";

static const char teardown_sql[] =
	"DROP TRIGGER IF EXISTS temp.fts_projects_note_insert;"
	"DROP TRIGGER IF EXISTS temp.fts_projects_note_update;"
	"DROP TRIGGER IF EXISTS temp.fts_projects_note_delete;"
	"DROP TRIGGER IF EXISTS temp.fts_messages_note_insert;"
	"DROP TRIGGER IF EXISTS temp.fts_messages_note_update;"
	"DROP TRIGGER IF EXISTS temp.fts_messages_note_delete;"
	"DROP TABLE IF EXISTS temp.fts_projects_noted;"
	"DROP TABLE IF EXISTS temp.fts_messages_noted;";

/*
 * The deletes go first: a row noted as indexed leaves the index with the
 * values it was indexed with, then every noted row still present goes in
 * with what it holds now.  CROSS JOIN keeps the small noted table outside,
 * so the rows are read and indexed in id order.
 */
static const char flush_sql[] =
	"INSERT INTO main.projects_fts(projects_fts, rowid, title, description) "
	"SELECT 'delete', id, title, description FROM temp.fts_projects_noted WHERE indexed;"
	"INSERT INTO main.projects_fts(rowid, title, description) "
	"SELECT p.id, p.title, p.description FROM temp.fts_projects_noted n CROSS JOIN main.projects p ON p.id = n.id;"
	"DELETE FROM temp.fts_projects_noted;"
	"INSERT INTO main.messages_fts(messages_fts, rowid, message) "
	"SELECT 'delete', id, message FROM temp.fts_messages_noted WHERE indexed;"
	"INSERT INTO main.messages_fts(rowid, message) "
	"SELECT m.id, m.message FROM temp.fts_messages_noted n CROSS JOIN main.messages m ON m.id = n.id;"
	"DELETE FROM temp.fts_messages_noted;"
	"DELETE FROM main.sync_batch;";

int sync_fts_setup(struct sync_run *run)
{
	return sync_exec(run, setup_sql, "prepare batched full-text upkeep");
}

void sync_fts_teardown(struct sync_run *run)
{
	sqlite3_exec(run->db->sql, teardown_sql, NULL, NULL, NULL);
}

int sync_fts_begin(struct sync_run *run)
{
	return sync_exec(run, "INSERT INTO main.sync_batch(id) VALUES (1)", "open a sync batch");
}

int sync_fts_flush(struct sync_run *run)
{
	return sync_exec(run, flush_sql, "bring the full-text indexes up to date");
}
