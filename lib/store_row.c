/*
 * store_row.c — the one way to run a single statement with typed binds (by
 * position or by name): for its first row's first column, as an int64 or as
 * text, or for its effect alone; failures named and recorded on the handle.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

void store_bind(sqlite3_stmt *st, const struct store_bind *b, size_t n)
{
	int pos = 0;

	for (size_t k = 0; k < n; k++) {
		int i = b[k].name ? sqlite3_bind_parameter_index(st, b[k].name) : ++pos;

		if (i == 0)
			continue; /* a name the statement does not use */
		if (b[k].type == STORE_INT)
			sqlite3_bind_int64(st, i, b[k].i);
		else if (b[k].type == STORE_TEXT && b[k].s)
			sqlite3_bind_text(st, i, b[k].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i);
	}
}

/* Prepare sql with its binds and step it once: SQLITE_ROW, SQLITE_DONE or an error code. */
static int one_row(struct fl_db *db, const char *sql, const struct store_bind *b, size_t n,
		   sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db->sql, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return SQLITE_ERROR;
	}
	store_bind(*st, b, n);
	return sqlite3_step(*st);
}

int store_int(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n,
	      int64_t *out, bool *found)
{
	sqlite3_stmt *st;
	int src = one_row(db, sql, b, n, &st);

	*out = 0;
	if (found)
		*found = false;
	if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		if (found)
			*found = true;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		int rc = store_error(db, "%s", what);

		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return FL_OK;
}

int store_text(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n,
	       char **out)
{
	sqlite3_stmt *st;
	int src = one_row(db, sql, b, n, &st), rc = FL_OK;

	*out = NULL;
	if (src == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	    !(*out = strdup((const char *)sqlite3_column_text(st, 0))))
		rc = error_set(&db->err, FL_ERR_NOMEM, "%s: out of memory", what);
	else if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = store_error(db, "%s", what);
	sqlite3_finalize(st);
	return rc;
}

int store_step(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n)
{
	sqlite3_stmt *st;
	int src = one_row(db, sql, b, n, &st), rc = FL_OK;

	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = store_error(db, "%s", what);
	sqlite3_finalize(st);
	return rc;
}
