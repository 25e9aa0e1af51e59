/*
 * fixture.c — builds the cli suite's database (see fixture.h).  Also a
 * program, cli_fixture DB SQL, that the command-line tests use.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "flsync.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int fixture_make(const char *db_path, const char *sql_path)
{
	struct fl_db *db;
	sqlite3 *raw = NULL;
	char *sql, *err = NULL;
	int rc = 1;

	if (fl_db_open(db_path, FL_OPEN_CREATE, &db) != FL_OK) {
		fprintf(stderr, "fixture: %s\n", fl_db_open_errmsg());
		return 1;
	}
	fl_db_close(db);
	sql = slurp(sql_path);
	if (!sql) {
		fprintf(stderr, "fixture: cannot read %s\n", sql_path);
		return 1;
	}
	if (sqlite3_open(db_path, &raw) != SQLITE_OK ||
	    sqlite3_exec(raw, "PRAGMA foreign_keys = ON; BEGIN", NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(raw, sql, NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(raw, "COMMIT", NULL, NULL, &err) != SQLITE_OK)
		fprintf(stderr, "fixture: %s: %s\n", sql_path, err ? err : sqlite3_errmsg(raw));
	else
		rc = 0;
	sqlite3_free(err);
	sqlite3_close(raw);
	free(sql);
	return rc;
}

#ifdef FIXTURE_MAIN
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cli_fixture DB SQL\n");
		return 2;
	}
	return fixture_make(argv[1], argv[2]);
}
#endif
