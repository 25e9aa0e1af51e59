/*
 * util.c — pgmirror's small helpers: the sink's error message and warnings,
 * allocation, PostgreSQL identifiers, and running a statement on either
 * side with its failure named.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void vformat(char *buf, size_t n, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
	size_t len;

	vsnprintf(buf, n, fmt, ap);
	/* libpq's messages end in a newline: one line per message here. */
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
}

bool pgm_fail(struct pgm_sink *s, const char *fmt, ...)
{
	va_list ap;

	/* The first failure is the cause; what fails after it follows from it. */
	if (s->err[0])
		return false;
	va_start(ap, fmt);
	vformat(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return false;
}

bool pgm_db_fail(struct pgm_sink *s, struct fl_db *db, int rc, const char *what)
{
	const char *msg = fl_errmsg(db);

	return pgm_fail(s, "%s: %s", what, msg && *msg ? msg : fl_strerror(rc));
}

void pgm_warn(struct pgm_sink *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!s->log)
		return;
	va_start(ap, fmt);
	vformat(buf, sizeof buf, fmt, ap);
	va_end(ap);
	s->log(s->log_ctx, buf);
}

char *pgm_quote(const char *s)
{
	size_t n = 2, i;
	char *q, *p;

	for (i = 0; s[i]; i++)
		n += s[i] == '"' ? 2 : 1;
	q = p = xmalloc(n + 1);
	*p++ = '"';
	for (i = 0; s[i]; i++) {
		if (s[i] == '"')
			*p++ = '"';
		*p++ = s[i];
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

char *pgm_ident2(const char *schema, const char *name)
{
	char *a = pgm_quote(schema), *b = pgm_quote(name), *r = xasprintf("%s.%s", a, b);

	free(a);
	free(b);
	return r;
}

bool pgm_exec(struct pgm_sink *s, const char *sql, const char *what)
{
	PGresult *r = PQexec(s->pg, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		pgm_fail(s, "%s: %s", what, PQerrorMessage(s->pg));
	PQclear(r);
	return ok;
}

PGresult *pgm_params(struct pgm_sink *s, const char *sql, int n, const char *const *params, const char *what)
{
	PGresult *r = PQexecParams(s->pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pgm_fail(s, "%s: %s", what, PQerrorMessage(s->pg));
	PQclear(r);
	return NULL;
}

bool pgm_db_exec(struct pgm_sink *s, struct fl_db *db, const char *sql)
{
	struct fl_stmt *st;
	int rc, row;

	rc = fl_stmt_prepare(db, sql, &st);
	if (rc)
		return pgm_db_fail(s, db, rc, sql);
	do
		rc = fl_stmt_step(st, &row);
	while (!rc && row);
	fl_stmt_finalize(st);
	return rc ? pgm_db_fail(s, db, rc, sql) : true;
}
