/*
 * query.c — fl_stmt: parameter-bound queries with typed column access, a thin
 * and checked layer over sqlite3_stmt.  Errors land on the owning fl_db.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct fl_stmt {
	struct fl_db *db;      /* owner; errors are recorded on it */
	sqlite3_stmt *st;      /* the compiled statement */
	int has_row;           /* the last step produced a row */
};

/* True if text holds nothing but spaces, ';' and SQL comments. */
static int only_trailing_noise(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == ';')
			p++;
		if (p[0] == '-' && p[1] == '-') {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			if (!end)
				return 1; /* an unterminated comment is still a comment to SQLite */
			p = end + 2;
		} else {
			return *p == '\0';
		}
	}
}

FL_API int fl_stmt_prepare(struct fl_db *db, const char *sql, struct fl_stmt **out)
{
	struct fl_stmt *s;
	const char *tail = NULL;
	int rc;

	if (!out)
		return db ? error_set(&db->err, FL_ERR_MISUSE, "fl_stmt_prepare: out is NULL")
			  : FL_ERR_MISUSE;
	*out = NULL;
	if (!db)
		return FL_ERR_MISUSE;
	if (!sql)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_stmt_prepare: sql is NULL");
	s = calloc(1, sizeof *s);
	if (!s)
		return error_set(&db->err, FL_ERR_NOMEM, "prepare query: out of memory");
	s->db = db;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &s->st, &tail) != SQLITE_OK) {
		rc = store_error(db, "prepare query");
		goto fail;
	}
	if (!s->st) {
		rc = error_set(&db->err, FL_ERR_INVALID, "prepare query: the SQL holds no statement");
		goto fail;
	}
	if (tail && !only_trailing_noise(tail)) {
		rc = error_set(&db->err, FL_ERR_INVALID,
			       "prepare query: the SQL holds more than one statement (the second starts at \"%.40s\"); run them one at a time",
			       tail + strspn(tail, " \t\r\n;"));
		goto fail;
	}
	error_clear(&db->err);
	*out = s;
	return FL_OK;
fail:
	sqlite3_finalize(s->st);
	free(s);
	return rc;
}

static int bind_result(struct fl_stmt *s, int src, int idx)
{
	if (src == SQLITE_OK) {
		error_clear(&s->db->err);
		return FL_OK;
	}
	if (src == SQLITE_RANGE)
		return error_set(&s->db->err, FL_ERR_MISUSE,
				 "bind parameter %d: the query has %d parameter(s)", idx,
				 sqlite3_bind_parameter_count(s->st));
	if (src == SQLITE_NOMEM || src == SQLITE_TOOBIG)
		return error_set(&s->db->err, FL_ERR_NOMEM, "bind parameter %d: out of memory", idx);
	return error_set(&s->db->err, FL_ERR_MISUSE,
			 "bind parameter %d: the query is running; reset it first", idx);
}

FL_API int fl_stmt_bind_int64(struct fl_stmt *s, int idx, int64_t value)
{
	if (!s)
		return FL_ERR_MISUSE;
	return bind_result(s, sqlite3_bind_int64(s->st, idx, value), idx);
}

FL_API int fl_stmt_bind_double(struct fl_stmt *s, int idx, double value)
{
	if (!s)
		return FL_ERR_MISUSE;
	return bind_result(s, sqlite3_bind_double(s->st, idx, value), idx);
}

FL_API int fl_stmt_bind_text(struct fl_stmt *s, int idx, const char *value, int len)
{
	if (!s)
		return FL_ERR_MISUSE;
	if (!value)
		return bind_result(s, sqlite3_bind_null(s->st, idx), idx);
	return bind_result(s, sqlite3_bind_text(s->st, idx, value, len, SQLITE_TRANSIENT), idx);
}

FL_API int fl_stmt_bind_null(struct fl_stmt *s, int idx)
{
	if (!s)
		return FL_ERR_MISUSE;
	return bind_result(s, sqlite3_bind_null(s->st, idx), idx);
}

FL_API int fl_stmt_param_count(struct fl_stmt *s)
{
	return s ? sqlite3_bind_parameter_count(s->st) : 0;
}

FL_API int fl_stmt_param_index(struct fl_stmt *s, const char *name)
{
	return s && name ? sqlite3_bind_parameter_index(s->st, name) : 0;
}

FL_API int fl_stmt_clear_bindings(struct fl_stmt *s)
{
	if (!s)
		return FL_ERR_MISUSE;
	sqlite3_clear_bindings(s->st);
	return FL_OK;
}

FL_API int fl_stmt_step(struct fl_stmt *s, int *out_row)
{
	int src;

	if (out_row)
		*out_row = 0;
	if (!s || !out_row)
		return s ? error_set(&s->db->err, FL_ERR_MISUSE, "fl_stmt_step: out_row is NULL")
			 : FL_ERR_MISUSE;
	src = sqlite3_step(s->st);
	s->has_row = src == SQLITE_ROW;
	if (src == SQLITE_ROW || src == SQLITE_DONE) {
		*out_row = s->has_row;
		error_clear(&s->db->err);
		return FL_OK;
	}
	/*
	 * With prepare_v2 the step's own code is the detailed one.  Reset after
	 * recording it, so the statement gives up its read at once, whatever the
	 * caller does next.
	 */
	src = store_error(s->db, "run query");
	sqlite3_reset(s->st);
	return src;
}

FL_API int fl_stmt_reset(struct fl_stmt *s)
{
	if (!s)
		return FL_ERR_MISUSE;
	/* The code sqlite3_reset() returns repeats the last step's error, reported there. */
	sqlite3_reset(s->st);
	s->has_row = 0;
	return FL_OK;
}

FL_API void fl_stmt_finalize(struct fl_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->st);
	free(s);
}

FL_API int fl_stmt_column_count(struct fl_stmt *s)
{
	return s ? sqlite3_column_count(s->st) : 0;
}

FL_API const char *fl_stmt_column_name(struct fl_stmt *s, int col)
{
	if (!s || col < 0 || col >= sqlite3_column_count(s->st))
		return NULL;
	return sqlite3_column_name(s->st, col);
}

/* A column readable in the current row. */
static int readable(struct fl_stmt *s, int col)
{
	return s && s->has_row && col >= 0 && col < sqlite3_data_count(s->st);
}

FL_API enum fl_type fl_stmt_column_type(struct fl_stmt *s, int col)
{
	if (!readable(s, col))
		return FL_TYPE_NULL;
	switch (sqlite3_column_type(s->st, col)) {
	case SQLITE_INTEGER: return FL_TYPE_INTEGER;
	case SQLITE_FLOAT: return FL_TYPE_REAL;
	case SQLITE_TEXT: return FL_TYPE_TEXT;
	case SQLITE_BLOB: return FL_TYPE_BLOB;
	default: return FL_TYPE_NULL;
	}
}

FL_API int64_t fl_stmt_column_int64(struct fl_stmt *s, int col)
{
	return readable(s, col) ? sqlite3_column_int64(s->st, col) : 0;
}

FL_API double fl_stmt_column_double(struct fl_stmt *s, int col)
{
	return readable(s, col) ? sqlite3_column_double(s->st, col) : 0.0;
}

FL_API const char *fl_stmt_column_text(struct fl_stmt *s, int col, int *out_len)
{
	const char *text = NULL;

	if (readable(s, col))
		text = (const char *)sqlite3_column_text(s->st, col);
	if (out_len)
		*out_len = text ? sqlite3_column_bytes(s->st, col) : 0;
	return text;
}

FL_API const void *fl_stmt_column_blob(struct fl_stmt *s, int col, int *out_len)
{
	const void *blob = NULL;

	if (readable(s, col))
		blob = sqlite3_column_blob(s->st, col);
	if (out_len)
		*out_len = blob ? sqlite3_column_bytes(s->st, col) : 0;
	return blob;
}

FL_API int fl_stmt_readonly(struct fl_stmt *s)
{
	return s ? sqlite3_stmt_readonly(s->st) != 0 : 0;
}
