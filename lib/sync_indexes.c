/*
 * sync_indexes.c — a first sync into an empty database loads its tables
 * without their secondary indexes and builds them after the load.
 *
 * An index built once over loaded rows (a sort) costs far less than one
 * kept up row by row through the load (docs/internals/performance.md).
 * The indexes set aside are recorded, with their CREATE statements, in
 * sync_deferred_indexes (migration 008) in
 * the same transaction that drops them, so a crash or a kill mid-load
 * leaves a record: the next pass builds them again before it syncs.  Only
 * plain (non-UNIQUE) indexes go: every constraint stays enforced throughout.
 * Readers beside the first sync see every committed row; their queries
 * scan instead of seeking until the indexes are back at the end of the pass.
 */
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"

/*
 * Empty and never synced: no cursors, no queued actions, no rows in any table
 * whose indexes would be set aside (a database with rows keeps its indexes:
 * an incremental pass seeks by them).
 */
static const char empty_sql[] =
	"SELECT NOT EXISTS (SELECT 1 FROM sync_state) AND NOT EXISTS (SELECT 1 FROM actions) "
	"AND NOT EXISTS (SELECT 1 FROM projects) AND NOT EXISTS (SELECT 1 FROM project_jobs) "
	"AND NOT EXISTS (SELECT 1 FROM bids) AND NOT EXISTS (SELECT 1 FROM milestones) "
	"AND NOT EXISTS (SELECT 1 FROM milestone_requests) AND NOT EXISTS (SELECT 1 FROM reviews) "
	"AND NOT EXISTS (SELECT 1 FROM threads) AND NOT EXISTS (SELECT 1 FROM thread_members) "
	"AND NOT EXISTS (SELECT 1 FROM messages) AND NOT EXISTS (SELECT 1 FROM sync_deferred_indexes)";

static const char record_sql[] =
	"INSERT INTO sync_deferred_indexes(name, sql) SELECT name, sql FROM sqlite_schema "
	"WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' "
	"AND tbl_name IN ('projects', 'project_jobs', 'bids', 'milestones', 'milestone_requests', "
	"'reviews', 'threads', 'thread_members', 'messages', 'changes')";

struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

/* Column 0 of every row of sql, as strings. */
static int read_names(struct sync_run *run, const char *sql, struct names *out, const char *what)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "%s", what);
		return error_copy(&run->err, &run->db->err);
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		char **nv = realloc(out->v, (out->n + 1) * sizeof *nv);

		if (!nv || !s || !(nv[out->n] = strdup((const char *)s))) {
			if (nv)
				out->v = nv;
			sqlite3_finalize(st);
			return error_set(&run->err, FL_ERR_NOMEM, "%s: out of memory", what);
		}
		out->v = nv;
		out->n++;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		store_error(run->db, "%s", what);
		return error_copy(&run->err, &run->db->err);
	}
	return FL_OK;
}

/* Run "<verb> <name>" style statements built by fmt (%w: a quoted identifier). */
static int exec_each(struct sync_run *run, const char *fmt, const struct names *ns, const char *what)
{
	for (size_t i = 0; i < ns->n; i++) {
		char *sql = sqlite3_mprintf(fmt, ns->v[i]);
		int rc;

		if (!sql)
			return error_set(&run->err, FL_ERR_NOMEM, "%s: out of memory", what);
		rc = sync_exec(run, sql, what);
		sqlite3_free(sql);
		if (rc)
			return rc;
	}
	return FL_OK;
}

int sync_indexes_defer(struct sync_run *run, bool *deferred)
{
	struct names ns = { 0 };
	sqlite3_stmt *st;
	bool empty = false;
	int rc;

	*deferred = false;
	rc = sync_exec(run, "BEGIN IMMEDIATE", "set indexes aside for a first sync");
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(run->db->sql, empty_sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "check for an empty database");
		rc = error_copy(&run->err, &run->db->err);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		empty = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	if (!empty)
		goto out;
	rc = sync_exec(run, record_sql, "record the indexes set aside");
	if (!rc)
		rc = read_names(run, "SELECT name FROM sync_deferred_indexes ORDER BY name", &ns,
				"list the indexes set aside");
	if (!rc)
		rc = exec_each(run, "DROP INDEX main.\"%w\"", &ns, "set an index aside");
out:
	if (!rc)
		rc = sync_exec(run, "COMMIT", "set indexes aside for a first sync");
	if (rc)
		store_rollback(run->db);
	else if (ns.n > 0) {
		*deferred = true;
		sync_log(run, "empty database: %zu indexes are built after the first load", ns.n);
	}
	names_free(&ns);
	return rc;
}

int sync_indexes_restore(struct sync_run *run)
{
	struct names names = { 0 }, sqls = { 0 };
	int rc;

	rc = read_names(run, "SELECT name FROM sync_deferred_indexes", &names, "list the indexes set aside");
	if (rc || names.n == 0)
		goto done;
	/* One of that name made meanwhile (by hand, or a later migration) stands. */
	rc = read_names(run, "SELECT sql FROM sync_deferred_indexes WHERE name NOT IN "
			"(SELECT name FROM sqlite_schema WHERE type = 'index') ORDER BY name", &sqls,
			"list the indexes to build");
	/*
	 * A build's sort keeps up to cache_size bytes in memory before it
	 * spills a sorted run, on top of the page cache: 8 MB past the pass's
	 * peak RSS on a million-record world.  A 2 MB cache for the builds
	 * (they read each table once, in order) and sorted runs in temporary
	 * files, not memory, keep the builds under the load's own peak.
	 * Changing temp_store drops this connection's TEMP objects, so this runs
	 * before the pass makes them or after it is done with them (sync.c), and
	 * never inside a transaction.
	 */
	if (!rc)
		rc = sync_exec(run, "PRAGMA temp_store = FILE; PRAGMA cache_size = -2000", "build the indexes set aside");
	if (!rc)
		rc = sync_exec(run, "BEGIN IMMEDIATE", "build the indexes set aside");
	if (rc)
		goto done;
	for (size_t i = 0; !rc && i < sqls.n; i++)
		rc = sync_exec(run, sqls.v[i], "build an index set aside");
	/* The batches left reply_times alone while the messages had no index. */
	if (!rc)
		rc = sync_replies_rebuild(run);
	if (!rc)
		rc = sync_exec(run, "DELETE FROM sync_deferred_indexes", "build the indexes set aside");
	if (!rc)
		rc = sync_exec(run, "COMMIT", "build the indexes set aside");
	if (rc)
		store_rollback(run->db);
	else
		sync_log(run, "built %zu indexes after the load", sqls.n);
	if (sync_exec(run, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8000", "build the indexes set aside") && !rc)
		rc = run->err.rc;
done:
	names_free(&names);
	names_free(&sqls);
	return rc;
}
