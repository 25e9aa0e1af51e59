/*
 * copy.c — the COPY stream into PostgreSQL and the SQLite reads that feed
 * it: values in COPY's text format (text escaped, invalid UTF-8 replaced,
 * JSON kept valid, unix seconds and flags typed as the mirror's columns),
 * handed to libpq a chunk at a time, and the rows of a table read through
 * flsync.h's prepared statements.  mirror.c decides what to copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define COPY_CHUNK (256 * 1024) /* bytes handed to libpq at a time */

/* ---- COPY text format --------------------------------------------------- */

static void put(struct copy *c, const char *s, size_t n)
{
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
}

static void flush(struct copy *c, bool all)
{
	if (c->failed || (!all && c->len < COPY_CHUNK) || c->len == 0)
		return;
	if (PQputCopyData(c->pg, c->buf, (int)c->len) != 1) {
		pgm_fail(c->s, "COPY: %s", PQerrorMessage(c->pg));
		c->failed = true;
	}
	c->len = 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/*
 * Text for COPY: backslash, tab, newline and CR escaped.  PostgreSQL text
 * holds neither NUL nor invalid UTF-8, which SQLite may: those become
 * U+FFFD.
 */
static void put_text(struct copy *c, const unsigned char *s, size_t n)
{
	size_t i = 0, run = 0, k;

	while (i < n) {
		unsigned char ch = s[i];
		const char *esc = ch == '\\' ? "\\\\" : ch == '\t' ? "\\t" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : NULL;

		if (esc || ch == 0 || !(k = utf8_len(s + i, n - i))) {
			put(c, (const char *)s + run, i - run);
			if (esc)
				put(c, esc, 2);
			else
				put(c, "\xEF\xBF\xBD", 3);
			run = ++i;
			continue;
		}
		i += k;
	}
	put(c, (const char *)s + run, n - run);
}

/* The UTF-16 unit of the escape \uXXXX at s[i], or -1 when none is there. */
static long json_unit(const unsigned char *s, size_t n, size_t i)
{
	long u = 0;

	if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	for (size_t k = i + 2; k < i + 6; k++) {
		int d = s[k] >= '0' && s[k] <= '9' ? s[k] - '0' : s[k] >= 'a' && s[k] <= 'f' ? s[k] - 'a' + 10
			: s[k] >= 'A' && s[k] <= 'F' ? s[k] - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		u = u * 16 + d;
	}
	return u;
}

/*
 * JSON text for a jsonb column: as put_text, and the escapes jsonb refuses
 * become \ufffd: \u0000, and a UTF-16 surrogate not in a pair (SQLite's
 * json_valid takes "\ud83d" alone, a text cut in the middle of an emoji).
 * An escaped backslash before "u" is not an escape: escapes are read in
 * pairs.
 */
static void put_json(struct copy *c, const unsigned char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i + 1 < n; i++) {
		long u, next;

		if (s[i] != '\\')
			continue;
		u = json_unit(s, n, i);
		if (u >= 0xD800 && u <= 0xDBFF && (next = json_unit(s, n, i + 6)) >= 0xDC00 && next <= 0xDFFF) {
			i += 11; /* a pair: one character */
			continue;
		}
		if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) {
			put_text(c, s + from, i - from);
			put(c, "\\\\ufffd", 7);
			from = i + 6;
			i += 5;
			continue;
		}
		i++;
	}
	put_text(c, s + from, n - from);
}

/* An integer of SQLite as the column's text for COPY: unix seconds as a UTC time, a flag as it is. */
static void put_int(struct copy *c, int64_t v, char type)
{
	char num[64];
	struct tm tm;
	time_t t = (time_t)v;
	int n;

	if (type == 'T' && gmtime_r(&t, &tm) && tm.tm_year + 1900 > 0 && tm.tm_year + 1900 < 100000)
		n = (int)strftime(num, sizeof num, "%Y-%m-%d %H:%M:%S+00", &tm);
	else if (type == 'T')
		n = snprintf(num, sizeof num, "%s", v < 0 ? "-infinity" : "infinity");
	else
		n = snprintf(num, sizeof num, "%lld", (long long)v);
	put(c, num, (size_t)n);
}

/* One row of st (the columns of t in table order) behind the account, as a COPY line. */
static void put_row(struct copy *c, const char *account, struct fl_stmt *st, const struct pgm_table *t)
{
	char num[40];
	int i, n;

	put_text(c, (const unsigned char *)account, strlen(account));
	for (i = 0; i < t->ncols; i++) {
		put(c, "\t", 1);
		switch (fl_stmt_column_type(st, i)) {
		case FL_TYPE_NULL:
			put(c, "\\N", 2);
			break;
		case FL_TYPE_INTEGER:
			put_int(c, fl_stmt_column_int64(st, i), t->cols[i].type);
			break;
		case FL_TYPE_REAL:
			/* 17 significant digits read back as the same double. */
			n = snprintf(num, sizeof num, "%.17g", fl_stmt_column_double(st, i));
			put(c, num, (size_t)n);
			break;
		case FL_TYPE_BLOB: {
			const unsigned char *b = fl_stmt_column_blob(st, i, &n);
			int j;

			put(c, "\\\\x", 3);
			for (j = 0; j < n; j++) {
				char hex[3];

				snprintf(hex, sizeof hex, "%02x", b[j]);
				put(c, hex, 2);
			}
			break;
		}
		default: {
			const char *v = fl_stmt_column_text(st, i, &n);

			if (t->cols[i].type == 'J')
				put_json(c, (const unsigned char *)v, v ? (size_t)n : 0);
			else
				put_text(c, (const unsigned char *)v, v ? (size_t)n : 0);
			break;
		}
		}
	}
	put(c, "\n", 1);
	c->rows++;
	flush(c, false);
}

/* Start COPY target (columns) FROM STDIN. */
bool pgm_copy_begin(struct copy *c, struct pgm_sink *s, const char *target, const char *columns)
{
	char *sql = xasprintf("COPY %s (%s) FROM STDIN", target, columns);
	PGresult *r = PQexec(s->pg, sql);
	bool ok = PQresultStatus(r) == PGRES_COPY_IN;

	if (!ok)
		pgm_fail(s, "%s: %s", sql, PQerrorMessage(s->pg));
	PQclear(r);
	free(sql);
	memset(c, 0, sizeof *c);
	c->s = s;
	c->pg = s->pg;
	c->failed = !ok;
	return ok;
}

/* End the COPY; false when it or any row failed. */
bool pgm_copy_end(struct copy *c)
{
	PGresult *r;
	bool ok;

	flush(c, true);
	free(c->buf);
	c->buf = NULL;
	if (PQputCopyEnd(c->pg, c->failed ? "flsync: the rows could not be read" : NULL) != 1) {
		pgm_fail(c->s, "end COPY: %s", PQerrorMessage(c->pg));
		return false;
	}
	r = PQgetResult(c->pg);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK && !c->failed;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		pgm_fail(c->s, "COPY: %s", PQerrorMessage(c->pg));
	PQclear(r);
	while ((r = PQgetResult(c->pg)))
		PQclear(r);
	return ok;
}

/* ---- reading SQLite ----------------------------------------------------- */

/* The column list of t, quoted: "account", "id", ... (with_account) or without. */
char *pgm_column_list(const struct pgm_table *t, bool with_account, const char *prefix)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	int i;

	if (with_account)
		fprintf(f, "%saccount", prefix);
	for (i = 0; i < t->ncols; i++)
		fprintf(f, "%s%s\"%s\"", i || with_account ? ", " : "", prefix, t->cols[i].name);
	fclose(f);
	return s;
}

/*
 * The columns of t to read from SQLite: JSON text that is not valid JSON
 * (a hand-edited row) goes as a JSON string of itself, never lost, never
 * failing the run.
 */
static char *select_list(const struct pgm_table *t)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	int i;

	for (i = 0; i < t->ncols; i++) {
		const char *n = t->cols[i].name;

		if (t->cols[i].type == 'J')
			fprintf(f, "%sCASE WHEN \"%s\" IS NULL OR json_valid(\"%s\") THEN \"%s\" ELSE json_quote(\"%s\") END",
				i ? ", " : "", n, n, n, n);
		else
			fprintf(f, "%s\"%s\"", i ? ", " : "", n);
	}
	fclose(f);
	return s;
}

/* Copy the rows of `SELECT cols FROM t WHERE where` (binding ?1 to arg, when set) into c. */
bool pgm_copy_rows(struct fl_db *db, struct copy *c, const char *account, const struct pgm_table *t,
		      const char *where, const char *arg)
{
	char *cols = select_list(t), *sql;
	struct fl_stmt *st;
	int rc, row;

	sql = xasprintf("SELECT %s FROM \"%s\"%s%s", cols, t->name, where ? " WHERE " : "", where ? where : "");
	free(cols);
	rc = fl_stmt_prepare(db, sql, &st);
	free(sql);
	if (rc) {
		pgm_db_fail(c->s, db, rc, t->name);
		c->failed = true;
		return false;
	}
	if (arg)
		fl_stmt_bind_text(st, 1, arg, -1);
	while (!c->failed && (rc = fl_stmt_step(st, &row)) == FL_OK && row)
		put_row(c, account, st, t);
	fl_stmt_finalize(st);
	if (rc) {
		pgm_db_fail(c->s, db, rc, t->name);
		c->failed = true;
	}
	return !c->failed;
}

/* One line of COPY text as it is (a number and its newline, say). */
void pgm_copy_put(struct copy *c, const char *s, size_t n)
{
	put(c, s, n);
	flush(c, false);
}
