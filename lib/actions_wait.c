/*
 * actions_wait.c — how a daemon learns that the write queue has something
 * to send: fl_actions_ready() counts the actions a round would send now,
 * and fl_actions_wait() sleeps on the database file's watch (watch.c, as
 * fl_changes_wait()) until one is ready, queued by any process, or until
 * the earliest back-off ends.
 */
#include <time.h>

#include "store.h"
#include "watch.h"

/*
 * Ready: what action_replay.c's stream would take now (queued or left 'sending',
 * due) and not wait on (its dependency is over: done, or failed/cancelled,
 * which fails it).  The partial index actions_due covers the scan.
 */
#define READY_SQL                                                                              \
	"SELECT count(*) FROM actions a WHERE a.state IN ('queued', 'sending') "                 \
	"AND a.next_attempt <= ?1 AND (a.depends_on IS NULL OR (SELECT d.state FROM actions d "  \
	"WHERE d.id = a.depends_on) NOT IN ('queued', 'sending'))"
#define UNTOUCHED_SQL READY_SQL " AND a.created_at < ?2 AND a.updated_at < ?2"
#define NEXT_SQL                                                                                \
	"SELECT coalesce(min(next_attempt), 0) FROM actions WHERE state IN ('queued', 'sending') " \
	"AND next_attempt > ?1"

static int actions_one2(struct fl_db *db, const char *sql, int64_t now, int64_t since, int64_t *out);

static int actions_one(struct fl_db *db, const char *sql, int64_t now, int64_t *out)
{
	return actions_one2(db, sql, now, 0, out);
}

static int actions_one2(struct fl_db *db, const char *sql, int64_t now, int64_t since, int64_t *out)
{
	sqlite3_stmt *st;
	int src;

	*out = 0;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read the queue of actions");
	sqlite3_bind_int64(st, 1, now);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, since);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return store_error(db, "read the queue of actions");
	return FL_OK;
}

FL_API int fl_actions_ready(struct fl_db *db, int64_t *out_ready, int64_t *out_next_at)
{
	int64_t now = (int64_t)time(NULL), ready = 0, next = 0;
	int rc;

	if (out_ready)
		*out_ready = 0;
	if (out_next_at)
		*out_next_at = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = actions_one(db, READY_SQL, now, &ready)) ||
	    (out_next_at && (rc = actions_one(db, NEXT_SQL, now, &next))))
		return rc;
	if (out_ready)
		*out_ready = ready;
	if (out_next_at)
		*out_next_at = next;
	error_clear(&db->err);
	return FL_OK;
}

FL_API int fl_actions_untouched(struct fl_db *db, int64_t since, int64_t *out)
{
	int rc;

	if (out)
		*out = 0;
	if (!db || !out)
		return FL_ERR_MISUSE;
	if ((rc = actions_one2(db, UNTOUCHED_SQL, (int64_t)time(NULL), since, out)))
		return rc;
	error_clear(&db->err);
	return FL_OK;
}

struct actions_look {
	struct fl_db *db;
	int64_t ready;
};

/* fl_actions_wait()'s look: any ready, else when the next back-off ends. */
static int actions_look(void *ctx, bool *done, int64_t *wake_ms)
{
	struct actions_look *l = ctx;
	int64_t next = 0;
	int rc = fl_actions_ready(l->db, &l->ready, &next);

	*done = rc == FL_OK && l->ready > 0;
	if (rc == FL_OK && next > 0) {
		/* Unix seconds: look at the start of the second it ends in. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		*wake_ms = (next - (int64_t)ts.tv_sec) * 1000 - ts.tv_nsec / 1000000;
		if (*wake_ms < 0)
			*wake_ms = 0;
	}
	return rc;
}

FL_API int fl_actions_wait(struct fl_db *db, int timeout_ms, int64_t *out_ready)
{
	struct actions_look l = { .db = db };
	int rc;

	if (out_ready)
		*out_ready = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (!sqlite3_get_autocommit(db->sql))
		return error_set(&db->err, FL_ERR_MISUSE,
				 "fl_actions_wait: called inside an open transaction, which never sees new commits");
	if (timeout_ms == 0) {
		/* One look needs no watch. */
		if ((rc = fl_actions_ready(db, &l.ready, NULL)))
			return rc;
		rc = l.ready > 0 ? FL_OK : FL_ERR_TIMEOUT;
	} else {
		/* Watch first, then look: a commit between the two still wakes the wait. */
		if (!db->watch && (rc = watch_open(sqlite3_db_filename(db->sql, "main"), &db->watch, &db->err)))
			return rc;
		rc = watch_until(db->watch, timeout_ms, actions_look, &l, &db->err);
		if (rc != FL_OK && rc != FL_ERR_TIMEOUT)
			return rc;
	}
	if (out_ready)
		*out_ready = l.ready;
	error_clear(&db->err);
	return rc;
}
