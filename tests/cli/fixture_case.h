/*
 * fixture_case.h — the cli suite's Check fixture for its C tests: each test
 * gets its own copy of the fixture database (fixture.h) in a temporary
 * directory, removed after it.
 */
#ifndef FL_CLI_FIXTURE_CASE_H
#define FL_CLI_FIXTURE_CASE_H

#include <stdint.h>

#include "flsync.h"

/* The Check fixture pair: the database made from $FL_CLI_FIXTURE_SQL, and its removal. */
void fixture_case_setup(void);
void fixture_case_teardown(void);

/* The test's database file, and its directory (valid between setup and teardown). */
const char *fixture_case_path(void);
const char *fixture_case_dir(void);

/* The database opened with fl_db_open(flags); the test fails when it cannot be. */
struct fl_db *fixture_case_open(int flags);

/* The first column of sql's one row, as an integer; the test fails on no row or an error. */
int64_t fixture_case_int(struct fl_db *db, const char *sql);

#endif
