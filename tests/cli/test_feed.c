/*
 * test_feed.c — the change feed's retention through the library on the
 * fixture database: named consumers (register, ack, position, unregister,
 * their failure paths), the horizon and FL_ERR_PRUNED, fl_changes_trim
 * (coalescing spares a held position, pruning stops at the oldest one and at
 * keep_seconds), a deletion made by hand moving the horizon, fl_db_compact
 * and fl_feed_status_get; read-only handles refused where they must be.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture_case.h"
#include "flsync.h"
#include "testutil.h"

static void exec(struct fl_db *db, const char *sql)
{
	struct fl_stmt *st;
	int row;

	ck_assert_msg(fl_stmt_prepare(db, sql, &st) == FL_OK, "%s: %s", sql, fl_errmsg(db));
	ck_assert_msg(fl_stmt_step(st, &row) == FL_OK, "%s: %s", sql, fl_errmsg(db));
	fl_stmt_finalize(st);
}

static int count_fn(void *ctx, const struct fl_change *c)
{
	(void)c;
	++*(int64_t *)ctx;
	return 0;
}

static int64_t since(struct fl_db *db, int64_t from, int *rc)
{
	int64_t n = 0;

	*rc = fl_changes_since(db, from, 0, count_fn, &n, NULL);
	return n;
}

static void flip(struct fl_db *db, int n)
{
	while (n-- > 0)
		exec(db, "UPDATE threads SET is_read = 1 - is_read WHERE id = 502");
}

START_TEST(consumers)
{
	struct fl_db *db = fixture_case_open(0), *ro = fixture_case_open(FL_OPEN_READONLY);
	int64_t latest, pos;
	char long_name[80];

	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	ck_assert_int_eq(fl_changes_position(db, "app", &pos), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(pos, 0);
	ck_assert_int_eq(fl_changes_ack(db, "app", latest), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(fl_changes_register(db, "app", latest), FL_OK);
	ck_assert_int_eq(fl_changes_position(ro, "app", &pos), FL_OK);
	ck_assert_int_eq(pos, latest);
	/* bad input */
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	ck_assert_int_eq(fl_changes_register(db, "", 0), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(db, NULL, 0), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(db, long_name, 0), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(db, "sink.postgres.x", 0), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(db, "app", latest + 1), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(db, "app", -1), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(NULL, "app", 0), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_position(db, "app", NULL), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_changes_register(ro, "other", 0), FL_ERR_READONLY);
	ck_assert_int_eq(fl_changes_unregister(ro, "app"), FL_ERR_READONLY);
	/* what failed changed nothing */
	ck_assert_int_eq(fl_changes_position(db, "app", &pos), FL_OK);
	ck_assert_int_eq(pos, latest);
	/* back in time is allowed while the feed holds it */
	ck_assert_int_eq(fl_changes_ack(db, "app", 1), FL_OK);
	ck_assert_int_eq(fl_changes_unregister(db, "app"), FL_OK);
	ck_assert_int_eq(fl_changes_unregister(db, "app"), FL_ERR_NOT_FOUND);
	ck_assert_msg(strstr(fl_errmsg(db), "app"), "%s", fl_errmsg(db));
	fl_db_close(ro);
	fl_db_close(db);
}
END_TEST

START_TEST(prune_stops_at_a_consumer)
{
	struct fl_db *db = fixture_case_open(0);
	int64_t latest, mid, deleted, horizon, n;
	int rc;

	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	mid = latest / 2;
	ck_assert_int_eq(fl_changes_register(db, "app", mid), FL_OK);
	ck_assert_int_eq(fl_changes_prune(db, latest + 1, &deleted), FL_OK);
	ck_assert_int_eq(deleted, mid - 1);
	ck_assert_int_eq(fl_changes_horizon(db, &horizon), FL_OK);
	ck_assert_int_eq(horizon, mid - 1);
	n = since(db, mid, &rc);
	ck_assert_int_eq(rc, FL_OK);
	ck_assert_int_eq(n, latest - mid);
	since(db, mid - 2, &rc);
	ck_assert_int_eq(rc, FL_ERR_PRUNED);
	ck_assert_msg(strstr(fl_errmsg(db), "re-read everything"), "%s", fl_errmsg(db));
	/* a position already pruned cannot be held */
	ck_assert_int_eq(fl_changes_register(db, "late", 1), FL_ERR_PRUNED);
	ck_assert_int_eq(fl_changes_ack(db, "app", 1), FL_ERR_PRUNED);
	fl_db_close(db);
}
END_TEST

START_TEST(trim_coalesces_and_prunes)
{
	struct fl_db *db = fixture_case_open(0), *ro = fixture_case_open(FL_OPEN_READONLY);
	struct fl_trim_report r;
	int64_t start, pos, n;
	int rc;

	ck_assert_int_eq(fl_changes_trim(ro, 0, &r), FL_ERR_READONLY);
	ck_assert_int_eq(fl_changes_latest(db, &start), FL_OK);
	flip(db, 3);
	ck_assert_int_eq(fl_changes_latest(db, &pos), FL_OK);
	ck_assert_int_eq(fl_changes_register(db, "app", pos), FL_OK);
	flip(db, 3);
	/* keep everything younger than a day: only coalescing; the change at the position stays */
	ck_assert_int_eq(fl_changes_trim(db, 86400, &r), FL_OK);
	ck_assert_int_eq(r.pruned, 0);
	ck_assert_int_eq(r.held, pos);
	ck_assert_int_ge(r.coalesced, 4);
	ck_assert_int_eq(fixture_case_int(db, "SELECT count(*) FROM changes WHERE tbl = 'threads' AND row_id = 502"), 2);
	n = since(db, pos, &rc);
	ck_assert_int_eq(rc, FL_OK);
	ck_assert_int_eq(n, 1);
	n = since(db, start, &rc);
	ck_assert_int_eq(rc, FL_OK);
	ck_assert_int_eq(n, 2);
	/* a second run finds nothing new */
	ck_assert_int_eq(fl_changes_trim(db, 86400, &r), FL_OK);
	ck_assert_int_eq(r.coalesced, 0);
	/* keep = 0: up to the consumer */
	ck_assert_int_eq(fl_changes_trim(db, 0, &r), FL_OK);
	ck_assert_int_gt(r.pruned, 0);
	ck_assert_int_eq(fixture_case_int(db, "SELECT min(seq) FROM changes"), pos);
	ck_assert_int_eq(fl_changes_unregister(db, "app"), FL_OK);
	ck_assert_int_eq(fl_changes_trim(db, 0, &r), FL_OK);
	ck_assert_int_eq(r.held, -1);
	ck_assert_int_eq(fixture_case_int(db, "SELECT count(*) FROM changes"), 1);
	ck_assert_int_eq(fl_changes_trim(NULL, 0, &r), FL_ERR_MISUSE);
	fl_db_close(ro);
	fl_db_close(db);
}
END_TEST

/* A sink's position goes with fl_changes_unregister too; its row (the mirror's identity) stays. */
START_TEST(sink_unregistered)
{
	struct fl_db *db = fixture_case_open(0);
	struct fl_trim_report r;
	int64_t pos;
	char sql[200];

	flip(db, 2);
	ck_assert_int_eq(fl_changes_latest(db, &pos), FL_OK);
	flip(db, 2);
	snprintf(sql, sizeof sql, "INSERT INTO sync_state(stream, cursor, cursor_extra) "
		 "VALUES ('sink.postgres.t', %lld, '{\"file_id\":\"f\"}')", (long long)pos);
	exec(db, sql);
	ck_assert_int_eq(fl_changes_trim(db, 0, &r), FL_OK);
	ck_assert_int_eq(r.held, pos);
	ck_assert_int_eq(fl_changes_unregister(db, "sink.postgres.t"), FL_OK);
	ck_assert_int_eq(fixture_case_int(db, "SELECT count(*) FROM sync_state WHERE stream = 'sink.postgres.t' "
				       "AND cursor IS NULL AND json_extract(cursor_extra, '$.file_id') = 'f'"), 1);
	ck_assert_int_eq(fl_changes_unregister(db, "sink.postgres.t"), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(fl_changes_unregister(db, "sink.postgres.none"), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(fl_changes_trim(db, 0, &r), FL_OK);
	ck_assert_int_eq(r.held, -1);
	ck_assert_int_eq(fixture_case_int(db, "SELECT count(*) FROM changes"), 1);
	fl_db_close(db);
}
END_TEST

START_TEST(deleted_by_hand_moves_the_horizon)
{
	struct fl_db *db = fixture_case_open(0);
	int64_t latest, horizon;
	int rc;

	ck_assert_int_eq(fl_changes_latest(db, &latest), FL_OK);
	flip(db, 2);
	/* the older flip is covered by the newer: deleting it loses nothing */
	exec(db, "DELETE FROM changes WHERE seq = (SELECT min(seq) FROM changes WHERE tbl = 'threads' AND row_id = 502 "
		 "AND seq > (SELECT max(seq) FROM changes) - 2)");
	ck_assert_int_eq(fl_changes_horizon(db, &horizon), FL_OK);
	ck_assert_int_eq(horizon, 0);
	since(db, 0, &rc);
	ck_assert_int_eq(rc, FL_OK);
	/* a change nothing covers: the horizon moves to it */
	exec(db, "DELETE FROM changes WHERE seq = 3");
	ck_assert_int_eq(fl_changes_horizon(db, &horizon), FL_OK);
	ck_assert_int_eq(horizon, 3);
	since(db, 2, &rc);
	ck_assert_int_eq(rc, FL_ERR_PRUNED);
	since(db, 3, &rc);
	ck_assert_int_eq(rc, FL_OK);
	fl_db_close(db);
}
END_TEST

START_TEST(compact_and_status)
{
	struct fl_db *db = fixture_case_open(0), *ro = fixture_case_open(FL_OPEN_READONLY);
	struct fl_compact_report c;
	struct fl_feed_status *f = NULL;
	struct stat st;
	char *wal = tu_path(fixture_case_dir(), "flsync.db-wal");

	ck_assert_int_eq(fl_db_compact(ro, &c), FL_ERR_READONLY);
	exec(db, "CREATE TABLE scratch (b BLOB)");
	exec(db, "INSERT INTO scratch SELECT zeroblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
		 "SELECT i + 1 FROM n WHERE i < 300) SELECT i FROM n)");
	exec(db, "DROP TABLE scratch");
	ck_assert_int_gt(fixture_case_int(db, "PRAGMA freelist_count"), 250);
	ck_assert_int_eq(fl_db_compact(db, &c), FL_OK);
	ck_assert_int_gt(c.pages_freed, 250);
	ck_assert_int_eq(c.vacuumed, 0); /* a new file has incremental vacuum from the start */
	ck_assert_int_eq(c.checkpointed, 1);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(fixture_case_int(db, "PRAGMA freelist_count"), 0);
	/* inside a transaction: refused */
	exec(db, "BEGIN");
	ck_assert_int_eq(fl_db_compact(db, &c), FL_ERR_MISUSE);
	exec(db, "COMMIT");

	ck_assert_int_eq(fl_changes_register(db, "app", 5), FL_OK);
	ck_assert_int_eq(fl_feed_status_get(ro, &f), FL_OK);
	ck_assert_int_gt(f->file_bytes, 0);
	ck_assert_uint_eq(f->file_mode, 0600);
	ck_assert_int_eq(f->auto_vacuum, 2);
	ck_assert_int_eq(f->rows, fixture_case_int(db, "SELECT count(*) FROM changes"));
	ck_assert_int_eq(f->held, 5);
	ck_assert_str_eq(f->held_by, "app");
	ck_assert_int_eq(f->consumers, 1);
	fl_feed_status_free(f);
	fl_feed_status_free(NULL);
	ck_assert_int_eq(fl_feed_status_get(ro, NULL), FL_ERR_MISUSE);
	free(wal);
	fl_db_close(ro);
	fl_db_close(db);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");

	tcase_add_checked_fixture(tc, fixture_case_setup, fixture_case_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, consumers);
	tcase_add_test(tc, prune_stops_at_a_consumer);
	tcase_add_test(tc, trim_coalesces_and_prunes);
	tcase_add_test(tc, sink_unregistered);
	tcase_add_test(tc, deleted_by_hand_moves_the_horizon);
	tcase_add_test(tc, compact_and_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(suite());
}
