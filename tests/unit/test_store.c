/*
 * test_store.c — opening databases: migrations from empty, idempotent
 * re-opens, newer schemas refused untouched, foreign files refused, read-only
 * and locked databases, and the schema's own constraints.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flsync.h"
#include "store.h"
#include "testutil.h"

static char *dir, *path;

static void setup(void)
{
	dir = tu_tmpdir();
	path = tu_path(dir, "flsync.db");
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* A raw sqlite3 connection, for looking at what the library did. */
static sqlite3 *raw_open(void)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static long long raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *v = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static const char *const contract_tables[] = {
	"users", "currencies", "jobs", "projects", "project_jobs", "bids", "milestones",
	"milestone_requests", "reviews", "threads", "thread_members", "messages",
	"actions", "sync_state",
};

START_TEST(create_from_empty)
{
	struct fl_db *db;
	sqlite3 *raw;
	char sql[256], *mode;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	ck_assert_int_eq(fl_db_schema_version(db), fl_schema_version());
	ck_assert_int_ge(fl_schema_version(), 1);
	ck_assert_str_eq(fl_errmsg(db), "");
	fl_db_close(db);

	raw = raw_open();
	for (size_t i = 0; i < sizeof contract_tables / sizeof *contract_tables; i++) {
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='%s'",
			 contract_tables[i]);
		ck_assert_msg(raw_int(raw, sql) == 1, "table %s missing", contract_tables[i]);
	}
	mode = raw_text(raw, "PRAGMA journal_mode");
	ck_assert_str_eq(mode, "wal");
	free(mode);
	ck_assert_int_eq(raw_int(raw, "PRAGMA user_version"), fl_schema_version());
	/* The lookups apps make are indexed. */
	ck_assert_int_eq(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE type='index' AND name IN "
				 "('bids_project','bids_bidder','messages_thread','projects_owner',"
				 "'projects_status','projects_time','milestones_project')"), 7);
	ck_assert_int_eq(raw_int(raw, "PRAGMA integrity_check = 1") == -1, 0);
	sqlite3_close(raw);
}
END_TEST

START_TEST(reopen_is_idempotent)
{
	struct fl_db *db;
	sqlite3 *raw;
	long long objects;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	fl_db_close(db);
	raw = raw_open();
	objects = raw_int(raw, "SELECT count(*) FROM sqlite_schema");
	ck_assert_int_eq(sqlite3_exec(raw, "INSERT INTO users(id, username) VALUES (3000000001, 'keep')",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fl_db_open(path, 0, &db), FL_OK);
		ck_assert_int_eq(fl_db_schema_version(db), fl_schema_version());
		fl_db_close(db);
	}
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &db), FL_OK);
	fl_db_close(db);

	raw = raw_open();
	ck_assert_int_eq(raw_int(raw, "SELECT count(*) FROM sqlite_schema"), objects);
	ck_assert_int_eq(raw_int(raw, "SELECT count(*) FROM users WHERE username='keep'"), 1);
	sqlite3_close(raw);
}
END_TEST

START_TEST(newer_schema_refused_untouched)
{
	struct fl_db *db = (struct fl_db *)1;
	sqlite3 *raw;
	char sql[64], *mode;
	struct stat before, after;

	/* A database "from the future": rollback journal, higher version. */
	raw = raw_open();
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", fl_schema_version() + 1);
	ck_assert_int_eq(sqlite3_exec(raw, "CREATE TABLE future(x); INSERT INTO future VALUES (1);",
				      NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(stat(path, &before), 0);

	ck_assert_int_eq(fl_db_open(path, 0, &db), FL_ERR_SCHEMA);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), "newer") ? fl_db_open_errmsg() :
				 strstr(fl_db_open_errmsg(), "upgrade flsync"));
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), path));
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &db), FL_ERR_SCHEMA);

	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_eq(before.st_size, after.st_size);
	ck_assert_int_eq(before.st_mtime, after.st_mtime);
	raw = raw_open();
	mode = raw_text(raw, "PRAGMA journal_mode");
	ck_assert_str_eq(mode, "delete");
	free(mode);
	ck_assert_int_eq(raw_int(raw, "PRAGMA user_version"), fl_schema_version() + 1);
	ck_assert_int_eq(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name='users'"), 0);
	sqlite3_close(raw);
}
END_TEST

START_TEST(foreign_files_refused)
{
	struct fl_db *db;
	sqlite3 *raw;
	FILE *f;
	char *other = tu_path(dir, "other.db"), *junk = tu_path(dir, "junk.db"),
	     *missing = tu_path(dir, "missing.db");

	/* Another application's SQLite database is left alone. */
	ck_assert_int_eq(sqlite3_open(other, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "CREATE TABLE users(name TEXT)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(fl_db_open(other, 0, &db), FL_ERR_SCHEMA);
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), "not an flsync database"));

	/* Not SQLite at all. */
	f = fopen(junk, "w");
	fputs("this is not a database, just some text that is long enough to have a header....", f);
	fclose(f);
	ck_assert_int_eq(fl_db_open(junk, 0, &db), FL_ERR_DB);
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), "not a database"));

	/* Missing, without FL_OPEN_CREATE. */
	ck_assert_int_eq(fl_db_open(missing, 0, &db), FL_ERR_IO);
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), missing));
	ck_assert_int_eq(access(missing, F_OK), -1);
	ck_assert_int_eq(fl_db_open(missing, FL_OPEN_READONLY, &db), FL_ERR_IO);

	/* Misuse is caught, not crashed on. */
	ck_assert_int_eq(fl_db_open(NULL, 0, &db), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_db_open(path, 0, NULL), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY | FL_OPEN_CREATE, &db), FL_ERR_MISUSE);
	fl_db_close(NULL);
	free(other);
	free(junk);
	free(missing);
}
END_TEST

START_TEST(readonly)
{
	struct fl_db *db;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	fl_db_close(db);

	/* A read-only handle refuses writes with FL_ERR_READONLY. */
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &db), FL_OK);
	ck_assert_int_eq(store_exec(db, "INSERT INTO users(id) VALUES (1)", "insert user"),
			 FL_ERR_READONLY);
	ck_assert_ptr_nonnull(strstr(fl_errmsg(db), "insert user"));
	fl_db_close(db);

	/* A file nobody may write: as root permissions do not bind, so only as a user. */
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(path, 0444), 0);
		ck_assert_int_eq(fl_db_open(path, 0, &db), FL_ERR_READONLY);
		ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), "read-only"));
		ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &db), FL_OK);
		fl_db_close(db);
		chmod(path, 0644);
	}
}
END_TEST

START_TEST(readers_not_blocked_by_writer)
{
	struct fl_db *db, *reader;
	sqlite3 *raw;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	/* A writer holds the write lock mid-transaction. */
	ck_assert_int_eq(store_begin(db), FL_OK);
	ck_assert_int_eq(store_exec(db, "INSERT INTO users(id) VALUES (7)", "insert"), FL_OK);

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &reader), FL_OK);
	fl_db_close(reader);
	ck_assert_int_eq(fl_db_open(path, 0, &reader), FL_OK); /* up to date: no write needed */

	/* A second writer fails with FL_ERR_BUSY after its timeout, not a hang. */
	ck_assert_int_eq(fl_db_busy_timeout(reader, 100), FL_OK);
	ck_assert_int_eq(store_begin(reader), FL_ERR_BUSY);
	ck_assert_ptr_nonnull(strstr(fl_errmsg(reader), "locked"));
	fl_db_close(reader);

	ck_assert_int_eq(store_commit(db), FL_OK);
	fl_db_close(db);
	raw = raw_open();
	ck_assert_int_eq(raw_int(raw, "SELECT count(*) FROM users WHERE id = 7"), 1);
	sqlite3_close(raw);
}
END_TEST

START_TEST(migration_waits_for_lock)
{
	struct fl_db *db;
	sqlite3 *raw;

	/* An empty file locked by another writer: migrating must wait, then fail cleanly. */
	raw = raw_open();
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA journal_mode=WAL; BEGIN IMMEDIATE;", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(fl_db_open(path, 0, &db), FL_ERR_BUSY);
	ck_assert_ptr_nonnull(strstr(fl_db_open_errmsg(), "migrate"));
	ck_assert_int_eq(sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(raw_int(raw, "PRAGMA user_version"), 0);
	sqlite3_close(raw);

	ck_assert_int_eq(fl_db_open(path, 0, &db), FL_OK);
	fl_db_close(db);
}
END_TEST

static int exec_rc(struct fl_db *db, const char *sql)
{
	return store_exec(db, sql, "test statement");
}

START_TEST(schema_constraints)
{
	struct fl_db *db;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);

	/* Enums listed by the reference are checked. */
	ck_assert_int_eq(exec_rc(db, "INSERT INTO bids(id, award_status) VALUES (1, 'bogus')"), FL_ERR_DB);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO bids(id, award_status, paid_status) VALUES (1, 'awarded', 'partly paid')"), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO milestones(id, status) VALUES (1, 'released')"), FL_ERR_DB);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO milestones(id, status) VALUES (1, 'cleared')"), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO threads(id, thread_type) VALUES (1, 'group')"), FL_ERR_DB);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO actions(kind, params, created_at, updated_at) VALUES ('bid.explode', '{}', 0, 0)"), FL_ERR_DB);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO actions(kind, params, created_at, updated_at) VALUES ('bid.create', 'not json', 0, 0)"), FL_ERR_DB);

	/* 64-bit ids; STRICT types. */
	ck_assert_int_eq(exec_rc(db, "INSERT INTO users(id) VALUES (9223372036854775807)"), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO users(id, registration_date) VALUES (2, 'yesterday')"), FL_ERR_DB);

	/* Foreign keys hold at commit (deferred): a dangling reference is refused. */
	ck_assert_int_eq(store_begin(db), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO bids(id, project_id) VALUES (5, 424242)"), FL_OK);
	ck_assert_int_eq(store_commit(db), FL_ERR_DB);
	ck_assert_ptr_nonnull(strstr(fl_errmsg(db), "FOREIGN KEY"));
	store_rollback(db);
	/* ... and satisfied later in the same transaction, it is fine. */
	ck_assert_int_eq(store_begin(db), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO bids(id, project_id) VALUES (5, 424242)"), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO projects(id) VALUES (424242)"), FL_OK);
	ck_assert_int_eq(store_commit(db), FL_OK);

	/* Reviews are keyed by their natural key; upserts update in place. */
	ck_assert_int_eq(exec_rc(db, "INSERT INTO users(id) VALUES (10), (11)"), FL_OK);
	ck_assert_int_eq(exec_rc(db,
		"INSERT INTO reviews(project_id, from_user_id, to_user_id, rating) VALUES (424242, 10, 11, 4.5) "
		"ON CONFLICT(project_id, from_user_id, to_user_id) DO UPDATE SET rating = excluded.rating"), FL_OK);
	ck_assert_int_eq(exec_rc(db,
		"INSERT INTO reviews(project_id, from_user_id, to_user_id, rating) VALUES (424242, 10, 11, 5) "
		"ON CONFLICT(project_id, from_user_id, to_user_id) DO UPDATE SET rating = excluded.rating"), FL_OK);
	ck_assert_int_eq(exec_rc(db, "INSERT INTO reviews(project_id, from_user_id, to_user_id) VALUES (424242, 10, 11)"), FL_ERR_DB);
	fl_db_close(db);
}
END_TEST

START_TEST(strerror_covers_codes)
{
	for (int rc = FL_OK; rc <= FL_ERR_STATE; rc++)
		ck_assert_str_ne(fl_strerror(rc), "unknown error");
	ck_assert_str_eq(fl_strerror(-1), "unknown error");
	ck_assert_str_eq(fl_strerror(9999), "unknown error");
	ck_assert_ptr_nonnull(fl_libversion());
	fl_free(NULL);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("open");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, create_from_empty);
	tcase_add_test(tc, reopen_is_idempotent);
	tcase_add_test(tc, newer_schema_refused_untouched);
	tcase_add_test(tc, foreign_files_refused);
	tcase_add_test(tc, readonly);
	tcase_add_test(tc, readers_not_blocked_by_writer);
	tcase_add_test(tc, migration_waits_for_lock);
	tcase_add_test(tc, schema_constraints);
	tcase_add_test(tc, strerror_covers_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_suite());
}
