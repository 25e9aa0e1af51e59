/*
 * test_read.c — the library's read side on a fixture database: fl_stmt
 * (binding, stepping, typed columns, errors), readers beside a writer (never
 * blocked; a blocked write fails with FL_ERR_BUSY after the timeout), the
 * change feed (exactly the rows written, nothing for an unchanged upsert,
 * pruning, waiting for a commit by another process), and fl_status_get.
 */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "fixture_case.h"
#include "flsync.h"
#include "testutil.h"

static sqlite3 *raw_open(void)
{
	sqlite3 *raw;

	ck_assert_int_eq(sqlite3_open(fixture_case_path(), &raw), SQLITE_OK);
	sqlite3_busy_timeout(raw, 5000);
	return raw;
}

static void raw_exec(sqlite3 *raw, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(raw, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

/* ---- queries ---------------------------------------------------------------- */

START_TEST(query_rows_and_types)
{
	struct fl_db *db = fixture_case_open(FL_OPEN_READONLY);
	struct fl_stmt *st;
	const char *t;
	int row, len, n = 0;

	ck_assert_int_eq(fl_stmt_prepare(db,
		"SELECT id, title, budget_maximum, bid_avg * 0 + NULL AS none_here, x'00ff' AS b "
		"FROM projects WHERE owner_id = ?1 AND budget_maximum > :min ORDER BY id;  -- trailing comment",
		&st), FL_OK);
	ck_assert_int_eq(fl_stmt_param_count(st), 2);
	ck_assert_int_eq(fl_stmt_param_index(st, ":min"), 2);
	ck_assert_int_eq(fl_stmt_param_index(st, ":nope"), 0);
	ck_assert_int_eq(fl_stmt_column_count(st), 5);
	ck_assert_str_eq(fl_stmt_column_name(st, 1), "title");
	ck_assert_str_eq(fl_stmt_column_name(st, 3), "none_here");
	ck_assert_ptr_null(fl_stmt_column_name(st, 5));
	ck_assert_int_eq(fl_stmt_bind_int64(st, 1, 2001), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_double(st, 2, 100.5), FL_OK);

	while (fl_stmt_step(st, &row) == FL_OK && row) {
		n++;
		ck_assert_int_eq(fl_stmt_column_type(st, 0), FL_TYPE_INTEGER);
		ck_assert_int_eq(fl_stmt_column_type(st, 1), FL_TYPE_TEXT);
		ck_assert_int_eq(fl_stmt_column_type(st, 2), FL_TYPE_REAL);
		ck_assert_int_eq(fl_stmt_column_type(st, 3), FL_TYPE_NULL);
		ck_assert_int_eq(fl_stmt_column_type(st, 4), FL_TYPE_BLOB);
		ck_assert_ptr_null(fl_stmt_column_text(st, 3, &len));
		ck_assert_int_eq(len, 0);
		ck_assert_int_eq(((const unsigned char *)fl_stmt_column_blob(st, 4, &len))[1], 0xff);
		ck_assert_int_eq(len, 2);
		/* out of range reads as NULL */
		ck_assert_int_eq(fl_stmt_column_type(st, 9), FL_TYPE_NULL);
		ck_assert_int_eq(fl_stmt_column_int64(st, -1), 0);
	}
	ck_assert_int_eq(n, 2); /* 101 (max 750) and 105 (max 200) */
	ck_assert_int_eq(row, 0);

	/* reset keeps bindings; rebinding changes the result */
	ck_assert_int_eq(fl_stmt_reset(st), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_double(st, 2, 500), FL_OK);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_int_eq(fl_stmt_column_int64(st, 0), 101);
	ck_assert_double_eq(fl_stmt_column_double(st, 2), 750.0);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(row, 0);
	fl_stmt_finalize(st);

	/* unicode text comes back whole, with its byte length */
	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT message FROM messages WHERE id = ?", &st), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_text(st, 1, "60007", -1), FL_OK); /* text compares with the integer key */
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(row, 1);
	t = fl_stmt_column_text(st, 0, &len);
	ck_assert_str_eq(t, "Ça marche — 了解しました 👍");
	ck_assert_int_eq(len, (int)strlen("Ça marche — 了解しました 👍"));
	fl_stmt_finalize(st);

	/* NULL binds */
	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT ?1 IS NULL, ?2 IS NULL", &st), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_null(st, 1), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_text(st, 2, NULL, 0), FL_OK);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(fl_stmt_column_int64(st, 0), 1);
	ck_assert_int_eq(fl_stmt_column_int64(st, 1), 1);
	ck_assert_int_eq(fl_stmt_clear_bindings(st), FL_OK);
	fl_stmt_finalize(st);
	fl_stmt_finalize(NULL);
	fl_db_close(db);
}
END_TEST

START_TEST(query_errors)
{
	struct fl_db *db = fixture_case_open(FL_OPEN_READONLY);
	struct fl_stmt *st = (struct fl_stmt *)1;
	int row;

	ck_assert_int_eq(fl_stmt_prepare(db, "SELEC id FROM projects", &st), FL_ERR_DB);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(fl_errmsg(db), "syntax error"), "%s", fl_errmsg(db));
	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT * FROM no_such_table", &st), FL_ERR_DB);
	ck_assert_msg(strstr(fl_errmsg(db), "no such table: no_such_table"), "%s", fl_errmsg(db));
	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT 1; SELECT 2", &st), FL_ERR_INVALID);
	ck_assert_msg(strstr(fl_errmsg(db), "more than one statement"), "%s", fl_errmsg(db));
	ck_assert_int_eq(fl_stmt_prepare(db, "  -- nothing\n", &st), FL_ERR_INVALID);
	ck_assert_int_eq(fl_stmt_prepare(db, NULL, &st), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_stmt_prepare(NULL, "SELECT 1", &st), FL_ERR_MISUSE);

	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT ?", &st), FL_OK);
	ck_assert_str_eq(fl_errmsg(db), "");
	ck_assert_int_eq(fl_stmt_bind_int64(st, 2, 1), FL_ERR_MISUSE);
	ck_assert_msg(strstr(fl_errmsg(db), "1 parameter"), "%s", fl_errmsg(db));
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(fl_stmt_bind_int64(st, 1, 1), FL_ERR_MISUSE); /* running */
	fl_stmt_finalize(st);

	/* a write through a read-only handle */
	ck_assert_int_eq(fl_stmt_prepare(db, "DELETE FROM projects", &st), FL_OK);
	ck_assert_int_eq(fl_stmt_readonly(st), 0);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_ERR_READONLY);
	ck_assert_int_eq(row, 0);
	fl_stmt_finalize(st);
	ck_assert_int_eq(fixture_case_int(db, "SELECT count(*) FROM projects"), 5);

	/* a run-time error carries SQLite's message */
	ck_assert_int_eq(fl_stmt_prepare(db, "SELECT * FROM messages_fts WHERE messages_fts MATCH 'a AND'", &st), FL_OK);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_ERR_DB);
	ck_assert_msg(strstr(fl_errmsg(db), "fts5: syntax error"), "%s", fl_errmsg(db));
	fl_stmt_finalize(st);
	fl_db_close(db);
}
END_TEST

/* ---- readers beside a writer -------------------------------------------- */

START_TEST(reader_not_blocked_by_writer)
{
	struct fl_db *reader = fixture_case_open(FL_OPEN_READONLY);
	struct fl_db *writer = fixture_case_open(0);
	sqlite3 *raw = raw_open();
	struct fl_stmt *st;
	int row, rc;
	int64_t n;

	/* another connection (flsyncd, say) in the middle of a write transaction */
	raw_exec(raw, "BEGIN IMMEDIATE");
	raw_exec(raw, "INSERT INTO projects(id, title) VALUES (999, 'uncommitted')");

	/* readers see the last commit at once */
	ck_assert_int_eq(fixture_case_int(reader, "SELECT count(*) FROM projects"), 5);
	ck_assert_int_eq(fixture_case_int(writer, "SELECT count(*) FROM projects"), 5);
	ck_assert_int_eq(fl_changes_since(reader, 0, 0, NULL, NULL, NULL), FL_ERR_MISUSE);

	/* a write waits the busy timeout, then says why */
	ck_assert_int_eq(fl_db_busy_timeout(writer, 150), FL_OK);
	ck_assert_int_eq(fl_stmt_prepare(writer, "UPDATE projects SET title = 'x' WHERE id = 101", &st), FL_OK);
	rc = fl_stmt_step(st, &row);
	ck_assert_int_eq(rc, FL_ERR_BUSY);
	ck_assert_msg(strstr(fl_errmsg(writer), "busy timeout (150 ms)"), "%s", fl_errmsg(writer));
	fl_stmt_finalize(st);
	ck_assert_int_eq(fl_changes_prune(writer, 1, &n), FL_ERR_BUSY);

	/* the writer commits: readers see it on their next read, and the write goes through */
	raw_exec(raw, "COMMIT");
	sqlite3_close(raw);
	ck_assert_int_eq(fixture_case_int(reader, "SELECT count(*) FROM projects"), 6);
	ck_assert_int_eq(fl_stmt_prepare(writer, "UPDATE projects SET title = 'x' WHERE id = 101", &st), FL_OK);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	fl_stmt_finalize(st);
	fl_db_close(reader);
	fl_db_close(writer);
}
END_TEST

/* ---- the change feed ----------------------------------------------------- */

struct seen {
	int n;
	struct { int64_t seq; char table[32]; int64_t id; enum fl_change_op op; } c[64];
};

static int collect(void *ctx, const struct fl_change *c)
{
	struct seen *s = ctx;

	ck_assert_int_lt(s->n, 64);
	s->c[s->n].seq = c->seq;
	snprintf(s->c[s->n].table, sizeof s->c[s->n].table, "%s", c->table);
	s->c[s->n].id = c->row_id;
	s->c[s->n].op = c->op;
	ck_assert_int_gt(c->at, 1700000000);
	s->n++;
	return 0;
}

static int stop_after_one(void *ctx, const struct fl_change *c)
{
	(void)c;
	++*(int *)ctx;
	return 42;
}

/* The changes since `since`, checked to come in seq order. */
static struct seen since(struct fl_db *db, int64_t from, int64_t *newest)
{
	struct seen s;
	int i;

	memset(&s, 0, sizeof s);
	ck_assert_msg(fl_changes_since(db, from, 0, collect, &s, newest) == FL_OK, "%s", fl_errmsg(db));
	for (i = 1; i < s.n; i++)
		ck_assert_int_gt(s.c[i].seq, s.c[i - 1].seq);
	return s;
}

/* The sync engine's upsert of a bid (lib/stream_bids.c's shape). */
#define UPSERT_BID \
	"INSERT INTO bids(id, project_id, bidder_id, amount, award_status, raw, synced_at) " \
	"VALUES (?1, 105, 2004, ?2, NULL, ?3, ?4) " \
	"ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, bidder_id = excluded.bidder_id, " \
	"amount = excluded.amount, award_status = excluded.award_status, raw = excluded.raw, " \
	"synced_at = excluded.synced_at WHERE bids.raw IS NOT excluded.raw"

static void upsert_bid(struct fl_db *db, int64_t id, double amount, const char *raw, int64_t synced)
{
	struct fl_stmt *st;
	int row;

	ck_assert_int_eq(fl_stmt_prepare(db, UPSERT_BID, &st), FL_OK);
	fl_stmt_bind_int64(st, 1, id);
	fl_stmt_bind_double(st, 2, amount);
	fl_stmt_bind_text(st, 3, raw, -1);
	fl_stmt_bind_int64(st, 4, synced);
	ck_assert_msg(fl_stmt_step(st, &row) == FL_OK, "%s", fl_errmsg(db));
	fl_stmt_finalize(st);
}

static void exec(struct fl_db *db, const char *sql)
{
	struct fl_stmt *st;
	int row;

	ck_assert_msg(fl_stmt_prepare(db, sql, &st) == FL_OK, "%s: %s", sql, fl_errmsg(db));
	ck_assert_msg(fl_stmt_step(st, &row) == FL_OK, "%s: %s", sql, fl_errmsg(db));
	fl_stmt_finalize(st);
}

START_TEST(change_feed_exact)
{
	struct fl_db *db = fixture_case_open(0);
	struct fl_db *ro = fixture_case_open(FL_OPEN_READONLY);
	int64_t latest, newest, rowid;
	struct seen s;

	/* the fixture's own inserts are in the feed */
	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	ck_assert_int_gt(latest, 40);
	s = since(ro, latest - 1, &newest);
	ck_assert_int_eq(newest, latest);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.c[0].seq, latest);

	/* nothing since the newest */
	s = since(ro, latest, &newest);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(newest, latest);

	/* an insert, an unchanged re-sync, a changed re-sync */
	upsert_bid(db, 9100, 150, "{\"id\":9100,\"amount\":150}", 1714001000);
	upsert_bid(db, 9100, 150, "{\"id\":9100,\"amount\":150}", 1714002000);
	upsert_bid(db, 9100, 140, "{\"id\":9100,\"amount\":140}", 1714003000);
	/* synced_at alone is no change (the users stream's refresh marks) */
	exec(db, "UPDATE users SET synced_at = 1714009999 WHERE id = 2001");
	/* a review: keyed by rowid */
	exec(db, "INSERT INTO reviews(project_id, from_user_id, to_user_id, rating, raw) VALUES (105, 2001, 1001, 3.5, '{}')");
	rowid = fixture_case_int(db, "SELECT rowid FROM reviews WHERE project_id = 105 AND from_user_id = 2001");
	/* an action's optimistic change, and a delete */
	exec(db, "UPDATE milestones SET status = 'requested_release', local_state = 'pending' WHERE id = 7003");
	exec(db, "DELETE FROM bids WHERE id = 9005");

	s = since(ro, latest, &newest);
	ck_assert_int_eq(s.n, 5);
	ck_assert_str_eq(s.c[0].table, "bids");
	ck_assert_int_eq(s.c[0].id, 9100);
	ck_assert_int_eq(s.c[0].op, FL_CHANGE_INSERT);
	ck_assert_str_eq(s.c[1].table, "bids");
	ck_assert_int_eq(s.c[1].id, 9100);
	ck_assert_int_eq(s.c[1].op, FL_CHANGE_UPDATE);
	ck_assert_str_eq(s.c[2].table, "reviews");
	ck_assert_int_eq(s.c[2].id, rowid);
	ck_assert_int_eq(s.c[2].op, FL_CHANGE_INSERT);
	ck_assert_str_eq(s.c[3].table, "milestones");
	ck_assert_int_eq(s.c[3].id, 7003);
	ck_assert_int_eq(s.c[3].op, FL_CHANGE_UPDATE);
	ck_assert_str_eq(s.c[4].table, "bids");
	ck_assert_int_eq(s.c[4].id, 9005);
	ck_assert_int_eq(s.c[4].op, FL_CHANGE_DELETE);
	ck_assert_int_eq(newest, s.c[4].seq);
	ck_assert_str_eq(fl_change_op_name(FL_CHANGE_DELETE), "delete");

	/* a limit, and continuing from the last seq seen */
	{
		struct seen part;
		int got = 0;

		memset(&part, 0, sizeof part);
		ck_assert_int_eq(fl_changes_since(ro, latest, 2, collect, &part, &newest), FL_OK);
		ck_assert_int_eq(part.n, 2);
		ck_assert_int_eq(newest, s.c[4].seq);
		part = since(ro, part.c[1].seq, NULL);
		ck_assert_int_eq(part.n, 3);
		ck_assert_int_eq(part.c[0].seq, s.c[2].seq);
		/* a callback that stops: its value comes back */
		ck_assert_int_eq(fl_changes_since(ro, latest, 0, stop_after_one, &got, NULL), 42);
		ck_assert_int_eq(got, 1);
	}

	/* an update of local_action alone is a change too (migration 009) */
	exec(db, "UPDATE milestones SET local_action = 'milestone.release' WHERE id = 7003");
	{
		struct seen r = since(ro, newest, &newest);

		ck_assert_int_eq(r.n, 1);
		ck_assert_str_eq(r.c[0].table, "milestones");
		ck_assert_int_eq(r.c[0].id, 7003);
		ck_assert_int_eq(r.c[0].op, FL_CHANGE_UPDATE);
	}

	/* a local row given its server id: the old id goes, the new one changes */
	exec(db, "UPDATE bids SET id = 9200, local_id = NULL WHERE id = 9100");
	{
		struct seen r = since(ro, newest, NULL);
		int i, del = 0, upd = 0;

		ck_assert_int_eq(r.n, 2);
		for (i = 0; i < r.n; i++) {
			del += r.c[i].op == FL_CHANGE_DELETE && r.c[i].id == 9100;
			upd += r.c[i].op == FL_CHANGE_UPDATE && r.c[i].id == 9200;
		}
		ck_assert_int_eq(del, 1);
		ck_assert_int_eq(upd, 1);
	}
	fl_db_close(ro);
	fl_db_close(db);
}
END_TEST

START_TEST(change_feed_prune)
{
	struct fl_db *db = fixture_case_open(0);
	struct fl_db *ro = fixture_case_open(FL_OPEN_READONLY);
	int64_t latest, deleted, newest;
	struct seen s;

	ck_assert_int_eq(fl_changes_latest(ro, &latest), FL_OK);
	ck_assert_int_eq(fl_changes_prune(ro, latest, &deleted), FL_ERR_READONLY);
	ck_assert_int_eq(fl_changes_prune(db, latest - 2, &deleted), FL_OK);
	ck_assert_int_eq(deleted, latest - 3);
	/* still holds latest-2 .. latest: following from latest-3 works */
	s = since(ro, latest - 3, &newest);
	ck_assert_int_eq(s.n, 3);
	/* a reader further behind learns it missed changes */
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_changes_since(ro, 5, 0, collect, &s, &newest), FL_ERR_PRUNED);
	ck_assert_int_eq(s.n, 0);
	ck_assert_msg(strstr(fl_errmsg(ro), "pruned"), "%s", fl_errmsg(ro));

	/* prune everything: the newest change stays, so new changes continue after it */
	ck_assert_int_eq(fl_changes_prune(db, latest + 1, &deleted), FL_OK);
	ck_assert_int_eq(deleted, 2);
	ck_assert_int_eq(fl_changes_latest(ro, &newest), FL_OK);
	ck_assert_int_eq(newest, latest);
	s = since(ro, latest, NULL);
	ck_assert_int_eq(s.n, 0);
	s = since(ro, latest - 1, NULL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(fl_changes_since(ro, latest - 2, 0, collect, &s, NULL), FL_ERR_PRUNED);
	exec(db, "UPDATE threads SET is_read = 1 WHERE id = 502");
	s = since(ro, latest, NULL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.c[0].seq, latest + 1);
	ck_assert_str_eq(s.c[0].table, "threads");
	fl_db_close(ro);
	fl_db_close(db);
}
END_TEST

/*
 * Another process: after delay_ms, run sql in its own connection (and
 * close it), then exit.  Returns its pid.
 */
static pid_t commit_held(int delay_ms, const char *sql, int hold_ms)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000 };
		struct timespec hold = { hold_ms / 1000, (long)(hold_ms % 1000) * 1000000 };
		sqlite3 *raw;
		int ok;

		nanosleep(&ts, NULL);
		if (sqlite3_open(fixture_case_path(), &raw) != SQLITE_OK)
			_exit(1);
		sqlite3_busy_timeout(raw, 5000);
		ok = sqlite3_exec(raw, sql, NULL, NULL, NULL) == SQLITE_OK;
		nanosleep(&hold, NULL); /* the connection stays open: its close writes nothing yet */
		_exit(ok && sqlite3_close(raw) == SQLITE_OK ? 0 : 2);
	}
	return pid;
}

static pid_t commit_later(int delay_ms, const char *sql)
{
	return commit_held(delay_ms, sql, 0);
}

static void reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the committing process failed (%d)", status);
}

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(change_feed_wait)
{
	struct fl_db *ro = fixture_case_open(FL_OPEN_READONLY);
	struct fl_db *rw = fixture_case_open(0);
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	int64_t latest, got;
	pid_t pid;

	ck_assert_int_eq(fl_changes_latest(ro, &latest), FL_OK);
	ck_assert_int_gt(latest, 1);

	/* something newer already there: at once */
	ck_assert_int_eq(fl_changes_wait(ro, latest - 1, 10000, &got), FL_OK);
	ck_assert_int_eq(got, latest);
	/* nothing newer: the timeout, with the newest seq; 0 looks once */
	ck_assert_int_eq(fl_changes_wait(ro, latest, 30, &got), FL_ERR_TIMEOUT);
	ck_assert_int_eq(got, latest);
	ck_assert_int_eq(fl_changes_wait(ro, latest, 0, &got), FL_ERR_TIMEOUT);

	/* another process commits a change: the wait ends with its seq */
	pid = commit_later(100, "UPDATE threads SET is_read = 1 - is_read WHERE id = 502");
	ck_assert_msg(fl_changes_wait(ro, latest, 20000, &got) == FL_OK, "%s", fl_errmsg(ro));
	ck_assert_int_eq(got, latest + 1);
	reap(pid);
	latest = got;

	/* the commit itself wakes it, not the writer's close, which comes long after */
	pid = commit_held(50, "UPDATE threads SET is_read = 1 - is_read WHERE id = 502", 8000);
	ck_assert_msg(fl_changes_wait(ro, latest, 4000, &got) == FL_OK, "%s", fl_errmsg(ro));
	ck_assert_int_eq(got, latest + 1);
	reap(pid);
	latest = got;

	/* a write that is no change (sync_state is not in the feed) wakes it, but it waits on */
	pid = commit_later(50, "INSERT INTO sync_state(stream, cursor) VALUES ('test.wait', 1) "
			       "ON CONFLICT(stream) DO UPDATE SET cursor = cursor + 1");
	ck_assert_int_eq(fl_changes_wait(ro, latest, 600, &got), FL_ERR_TIMEOUT);
	ck_assert_int_eq(got, latest);
	reap(pid);

	/* a signal in the middle does not end the wait; the next commit does */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: poll() sees EINTR */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	pid = commit_later(250, "UPDATE threads SET is_read = 1 - is_read WHERE id = 502");
	ck_assert_msg(fl_changes_wait(ro, latest, 20000, &got) == FL_OK, "%s", fl_errmsg(ro));
	ck_assert_int_eq(got, latest + 1);
	reap(pid);
	signal(SIGALRM, SIG_DFL);

	/* a commit through another handle of this process wakes it too */
	exec(rw, "UPDATE threads SET is_read = 1 - is_read WHERE id = 502");
	ck_assert_int_eq(fl_changes_wait(ro, latest + 1, 20000, &got), FL_OK);
	ck_assert_int_eq(got, latest + 2);

	/* misuse: inside a transaction the snapshot never moves */
	exec(ro, "BEGIN");
	ck_assert_int_eq(fl_changes_wait(ro, got, 10, NULL), FL_ERR_MISUSE);
	ck_assert_msg(strstr(fl_errmsg(ro), "transaction"), "%s", fl_errmsg(ro));
	exec(ro, "COMMIT");
	ck_assert_int_eq(fl_changes_wait(ro, -1, 10, NULL), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_wait(NULL, 0, 10, NULL), FL_ERR_MISUSE);
	fl_db_close(ro);
	fl_db_close(rw);
}
END_TEST

START_TEST(change_feed_prune_keeps_what_a_sink_needs)
{
	struct fl_db *db = fixture_case_open(0);
	int64_t latest, deleted, newest;
	struct seen s;
	char sql[160];

	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	ck_assert_int_gt(latest, 5);
	/* a PostgreSQL mirror has everything up to latest - 3, another sink up to latest - 1 */
	snprintf(sql, sizeof sql, "INSERT INTO sync_state(stream, cursor) VALUES ('sink.postgres.flsync', %lld), "
		 "('sink.other', %lld)", (long long)(latest - 3), (long long)(latest - 1));
	exec(db, sql);
	ck_assert_int_eq(fl_changes_prune(db, latest + 1, &deleted), FL_OK);
	ck_assert_int_eq(deleted, latest - 4);
	/* the slower sink goes on from where it is, and its last change is still there */
	s = since(db, latest - 3, &newest);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(newest, latest);
	ck_assert_int_eq(fixture_case_int(db, "SELECT min(seq) FROM changes"), latest - 3);
	/* once it has caught up, the rest may go (but the newest) */
	exec(db, "UPDATE sync_state SET cursor = (SELECT max(seq) FROM changes) WHERE stream LIKE 'sink.%'");
	ck_assert_int_eq(fl_changes_prune(db, latest + 1, &deleted), FL_OK);
	ck_assert_int_eq(deleted, 3);
	fl_db_close(db);
}
END_TEST

/* ---- status ------------------------------------------------------------ */

START_TEST(status_snapshot)
{
	struct fl_db *db = fixture_case_open(FL_OPEN_READONLY);
	struct fl_status *s = NULL;
	int64_t latest;

	ck_assert_int_eq(fl_status_get(db, NULL), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_status_get(db, &s), FL_OK);
	ck_assert_int_eq(s->schema_version, fl_schema_version());
	ck_assert_int_eq(s->streams_count, 3);
	ck_assert_str_eq(s->streams[0].stream, "bids");
	ck_assert_int_eq(s->streams[0].rows_synced, 7);
	ck_assert_ptr_null(s->streams[0].last_error);
	ck_assert_str_eq(s->streams[1].stream, "messages");
	ck_assert_str_eq(s->streams[1].last_error, "HTTP 503 from /api/messages/0.1/messages/");
	ck_assert_int_eq(s->streams[1].failures, 2);
	ck_assert_int_eq(s->streams[1].last_success, 1713990000);
	ck_assert_int_eq(s->endpoints_count, 2);
	ck_assert_str_eq(s->endpoints[0].endpoint, "GET /api/projects/0.1/bids/");
	ck_assert_int_eq(s->endpoints[0].remaining, 187);
	ck_assert_int_eq(s->endpoints[0].paused_until, 0);
	ck_assert_int_eq(s->endpoints[1].paused_until, 1714000900);
	ck_assert_int_eq(s->endpoints[1].limit, 500);
	ck_assert_int_eq(s->actions_queued, 1);
	ck_assert_int_eq(s->actions_failed, 1);
	ck_assert_int_eq(s->actions_done, 1);
	ck_assert_int_eq(s->actions_sending + s->actions_cancelled, 0);
	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	ck_assert_int_eq(s->changes_latest, latest);
	fl_status_free(s);
	fl_status_free(NULL);
	fl_db_close(db);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		query_rows_and_types,
		query_errors,
		reader_not_blocked_by_writer,
		change_feed_exact,
		change_feed_prune,
		change_feed_wait,
		change_feed_prune_keeps_what_a_sink_needs,
		status_snapshot,
		NULL,
	};
	const struct check_case cases[] = {
		{ "read", tests, .setup = fixture_case_setup, .teardown = fixture_case_teardown, .timeout = 60 },
	};

	return check_run(check_suite("read", cases, sizeof cases / sizeof cases[0]));
}
