/*
 * fixture_case.c — the cli suite's Check fixture (see fixture_case.h).
 */
#include <check.h>
#include <stdlib.h>

#include "fixture.h"
#include "fixture_case.h"
#include "testutil.h"

static char *dir, *path;

void fixture_case_setup(void)
{
	const char *sql = getenv("FL_CLI_FIXTURE_SQL");

	ck_assert_msg(sql != NULL, "FL_CLI_FIXTURE_SQL is not set (run through meson test)");
	dir = tu_tmpdir();
	path = tu_path(dir, "flsync.db");
	ck_assert_int_eq(fixture_make(path, sql), 0);
}

void fixture_case_teardown(void)
{
	tu_rmtree(dir);
	free(path);
	free(dir);
	dir = path = NULL;
}

const char *fixture_case_path(void)
{
	return path;
}

const char *fixture_case_dir(void)
{
	return dir;
}

struct fl_db *fixture_case_open(int flags)
{
	struct fl_db *db = NULL;

	ck_assert_msg(fl_db_open(path, flags, &db) == FL_OK, "%s", fl_db_open_errmsg());
	return db;
}

int64_t fixture_case_int(struct fl_db *db, const char *sql)
{
	struct fl_stmt *st;
	int row;
	int64_t n;

	ck_assert_int_eq(fl_stmt_prepare(db, sql, &st), FL_OK);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	ck_assert_int_eq(row, 1);
	n = fl_stmt_column_int64(st, 0);
	fl_stmt_finalize(st);
	return n;
}
