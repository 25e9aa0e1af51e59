/*
 * fixture.h — the cli suite's database: created with fl_db_open() (so the
 * migrations apply as in real use), then filled from tests/cli/fixture.sql.
 */
#ifndef FL_CLI_FIXTURE_H
#define FL_CLI_FIXTURE_H

/* Create the database at db_path from the SQL file sql_path; 0 on success, else prints why. */
int fixture_make(const char *db_path, const char *sql_path);

#endif
