/*
 * mirror.c — one account's rows into PostgreSQL, exactly once.
 *
 * One PostgreSQL transaction per run holds everything: the rows (COPY into
 * temporary tables, then one INSERT ... ON CONFLICT DO UPDATE per table),
 * the deletions, and the account's new feed position.  The SQLite side is
 * read in one snapshot, so the rows and the feed position agree.  A crash of
 * either side, or of the network, at any point leaves PostgreSQL at the old
 * position (nothing of the run is there) or the new one (all of it is), and
 * the next run goes on from there.
 *
 * What changed comes from the change feed: every entity row by its id
 * (reviews by rowid, so reviews are copied whole when one changed), and a
 * project's or thread's change covers its project_jobs or thread_members.
 * A first run, or one whose position the feed has been pruned past, copies
 * everything.  sync_state, which the feed does not cover, is copied whole.
 *
 * With a lease holder, the account's lease row is checked and locked in
 * the same transaction before anything is written (lease.c): a holder that
 * lost its lease while it slept writes nothing over its successor's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define COPY_CHUNK (256 * 1024) /* bytes handed to libpq at a time */
#define IDS_PER_READ 5000       /* ids per SQLite read of changed rows */

/* ---- COPY text format --------------------------------------------------- */

struct copy {
	struct pgm_sink *s;
	PGconn *pg;
	char *buf;
	size_t len, cap;
	bool failed;
	int64_t rows;
};

static void put(struct copy *c, const char *s, size_t n)
{
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2;
		c->buf = pgm_xrealloc(c->buf, c->cap);
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
static void put_row(struct copy *c, const char *account, struct fl_stmt *st, const struct pg_table *t)
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
static bool copy_begin(struct copy *c, struct pgm_sink *s, const char *target, const char *columns)
{
	char *sql = pgm_xasprintf("COPY %s (%s) FROM STDIN", target, columns);
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
static bool copy_end(struct copy *c)
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
static char *column_list(const struct pg_table *t, bool with_account, const char *prefix)
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
static char *select_list(const struct pg_table *t)
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
static bool copy_rows(struct fl_db *db, struct copy *c, const char *account, const struct pg_table *t,
		      const char *where, const char *arg)
{
	char *cols = select_list(t), *sql;
	struct fl_stmt *st;
	int rc, row;

	sql = pgm_xasprintf("SELECT %s FROM \"%s\"%s%s", cols, t->name, where ? " WHERE " : "", where ? where : "");
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

/* ---- the changed ids ---------------------------------------------------- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static void ids_add(struct ids *s, int64_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = pgm_xrealloc(s->v, sizeof *s->v * s->cap);
	}
	s->v[s->n++] = id;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void ids_sort(struct ids *s)
{
	size_t i, j = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof *s->v, cmp64);
	for (i = 0; i < s->n; i++)
		if (!j || s->v[i] != s->v[j - 1])
			s->v[j++] = s->v[i];
	s->n = j;
}

/* A JSON array of ids [from, from + n). */
static char *ids_json(const struct ids *s, size_t from, size_t n)
{
	char *out = NULL;
	size_t len, i;
	FILE *f = open_memstream(&out, &len);

	putc('[', f);
	for (i = from; i < from + n && i < s->n; i++)
		fprintf(f, i > from ? ",%lld" : "%lld", (long long)s->v[i]);
	putc(']', f);
	fclose(f);
	return out;
}

/* ---- PostgreSQL helpers ------------------------------------------------- */

/* Run sql with $1 = account when it has $1; rows affected added to *out_n when wanted. */
static bool pg_run(struct pgm_sink *s, const char *sql, const char *account, const char *what, int64_t *out_n)
{
	const char *params[1] = { account };
	PGresult *r = pg_params(s, sql, strstr(sql, "$1") ? 1 : 0, params, what);

	if (r && out_n)
		*out_n += strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return r != NULL;
}

/* Every row of t for the account, anew. */
static bool copy_whole(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pg_table *t,
		       struct pgm_report *rep)
{
	/* sync_state's sink rows say what PostgreSQL holds: sink_position is their mirror. */
	const char *where = !strcmp(t->name, "sync_state") ? "stream NOT LIKE 'sink.%'" : NULL;
	char *ident = pg_ident2(s->schema, t->name), *sql = pgm_xasprintf("DELETE FROM %s WHERE account = $1", ident);
	char *cols = column_list(t, true, "");
	struct copy c;
	/* A replacement, not a deletion: the rows come back but for those SQLite no longer has. */
	bool ok = pg_run(s, sql, account, "empty the account's rows before a full copy", NULL);

	free(sql);
	if (ok && copy_begin(&c, s, ident, cols)) {
		copy_rows(db, &c, account, t, where, NULL);
		ok = copy_end(&c);
		rep->rows += c.rows;
	} else {
		ok = false;
	}
	free(cols);
	free(ident);
	return ok;
}

/* The rows of t whose ids changed: upserted when SQLite has them, deleted when not. */
static bool copy_changed(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pg_table *t,
			 const struct ids *ids, struct pgm_report *rep)
{
	char *ident = pg_ident2(s->schema, t->name), *cols = column_list(t, true, ""), *sql, *tmp, *set = NULL;
	struct copy c;
	size_t at, len;
	FILE *f;
	bool ok;
	int i;

	char what_delete[96], what_upsert[96];

	snprintf(what_delete, sizeof what_delete, "%s: delete the rows SQLite no longer has", t->name);
	snprintf(what_upsert, sizeof what_upsert, "%s: upsert the changed rows", t->name);
	tmp = pgm_xasprintf("\"fl_rows_%s\"", t->name);
	sql = pgm_xasprintf("CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s) ON COMMIT DROP; TRUNCATE %s; "
			     "CREATE TEMP TABLE IF NOT EXISTS fl_ids (id bigint PRIMARY KEY) ON COMMIT DROP; TRUNCATE fl_ids",
			     tmp, ident, tmp);
	ok = pg_exec(s, sql, t->name);
	free(sql);
	/* The ids that changed, and the rows SQLite has for them now. */
	if (ok && copy_begin(&c, s, "fl_ids", "id")) {
		for (at = 0; at < ids->n; at++) {
			char num[24];
			int n = snprintf(num, sizeof num, "%lld\n", (long long)ids->v[at]);

			put(&c, num, (size_t)n);
			flush(&c, false);
		}
		ok = copy_end(&c);
	} else {
		ok = false;
	}
	if (ok && copy_begin(&c, s, tmp, cols)) {
		for (at = 0; at < ids->n && !c.failed; at += IDS_PER_READ) {
			char *json = ids_json(ids, at, IDS_PER_READ);

			copy_rows(db, &c, account, t, "id IN (SELECT value FROM json_each(?1))", json);
			free(json);
		}
		ok = copy_end(&c);
	} else {
		ok = false;
	}
	if (ok) {
		sql = pgm_xasprintf("DELETE FROM %s t USING fl_ids i WHERE t.account = $1 AND t.id = i.id "
				     "AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.id = i.id)", ident, tmp);
		ok = pg_run(s, sql, account, what_delete, &rep->deleted);
		free(sql);
	}
	if (ok) {
		/* Unchanged rows are left alone: no dead tuples for a re-read that found nothing new. */
		char *old = column_list(t, false, "t."), *new = column_list(t, false, "excluded.");

		f = open_memstream(&set, &len);
		for (i = 0; i < t->ncols; i++)
			fprintf(f, "%s\"%s\" = excluded.\"%s\"", i ? ", " : "", t->cols[i].name, t->cols[i].name);
		fclose(f);
		sql = pgm_xasprintf("INSERT INTO %s AS t SELECT * FROM %s ON CONFLICT (account, id) DO UPDATE SET %s "
				     "WHERE (%s) IS DISTINCT FROM (%s)", ident, tmp, set, old, new);
		ok = pg_run(s, sql, account, what_upsert, &rep->rows);
		free(sql);
		free(old);
		free(new);
	}
	free(set);
	free(tmp);
	free(cols);
	free(ident);
	return ok;
}

/* A link table's rows for the parents in ids (project_jobs by project_id, thread_members by thread_id), anew. */
static bool copy_links(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pg_table *t,
		       const char *parent, const struct ids *ids, struct pgm_report *rep)
{
	char *ident = pg_ident2(s->schema, t->name), *cols = column_list(t, true, ""), *sql, *where;
	struct copy c;
	size_t at;
	bool ok;

	/* fl_ids holds the parents' ids: copy_changed() of the parent table just filled it. */
	sql = pgm_xasprintf("DELETE FROM %s l USING fl_ids i WHERE l.account = $1 AND l.\"%s\" = i.id", ident, parent);
	ok = pg_run(s, sql, account, "replace link rows", NULL); /* replaced below */
	free(sql);
	where = pgm_xasprintf("\"%s\" IN (SELECT value FROM json_each(?1))", parent);
	if (ok && copy_begin(&c, s, ident, cols)) {
		for (at = 0; at < ids->n && !c.failed; at += IDS_PER_READ) {
			char *json = ids_json(ids, at, IDS_PER_READ);

			copy_rows(db, &c, account, t, where, json);
			free(json);
		}
		ok = copy_end(&c);
		rep->rows += c.rows;
	} else {
		ok = false;
	}
	free(where);
	free(cols);
	free(ident);
	return ok;
}

/* ---- one run ------------------------------------------------------------- */

static int64_t one_int(struct pgm_sink *s, struct fl_db *db, const char *sql, int64_t arg, bool *ok)
{
	struct fl_stmt *st;
	int row = 0, rc;
	int64_t v = 0;

	if ((rc = fl_stmt_prepare(db, sql, &st))) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
		return 0;
	}
	if (fl_stmt_param_count(st) > 0)
		fl_stmt_bind_int64(st, 1, arg);
	if ((rc = fl_stmt_step(st, &row)) == FL_OK && row)
		v = fl_stmt_column_int64(st, 0);
	else if (rc) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
	}
	fl_stmt_finalize(st);
	return v;
}

static const struct pg_table *table_named(const struct pg_table *tables, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(tables[i].name, name))
			return &tables[i];
	return NULL;
}

/* The ids each table's changes name, in (from, to]. */
static bool read_changes(struct pgm_sink *s, struct fl_db *db, int64_t from, int64_t to, const struct pg_table *tables, int n,
			 struct ids *per_table)
{
	struct fl_stmt *st;
	int row, rc, i;

	rc = fl_stmt_prepare(db, "SELECT tbl, row_id FROM changes WHERE seq > ?1 AND seq <= ?2 ORDER BY tbl", &st);
	if (rc)
		return pgm_db_fail(s, db, rc, "read the change feed");
	fl_stmt_bind_int64(st, 1, from);
	fl_stmt_bind_int64(st, 2, to);
	while ((rc = fl_stmt_step(st, &row)) == FL_OK && row) {
		const char *tbl = fl_stmt_column_text(st, 0, NULL);

		for (i = 0; tbl && i < n; i++)
			if (!strcmp(tables[i].name, tbl)) {
				ids_add(&per_table[i], fl_stmt_column_int64(st, 1));
				break;
			}
	}
	fl_stmt_finalize(st);
	if (rc)
		return pgm_db_fail(s, db, rc, "read the change feed");
	for (i = 0; i < n; i++)
		ids_sort(&per_table[i]);
	return true;
}

/* The change at seq as "tbl:row_id:op:at", or NULL when the feed does not hold it (caller frees). */
static char *fingerprint(struct pgm_sink *s, struct fl_db *db, int64_t seq, bool *ok)
{
	struct fl_stmt *st;
	char *fp = NULL;
	int row = 0, rc;

	if ((rc = fl_stmt_prepare(db, "SELECT tbl || ':' || row_id || ':' || op || ':' || at FROM changes WHERE seq = ?1",
				  &st))) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
		return NULL;
	}
	fl_stmt_bind_int64(st, 1, seq);
	if ((rc = fl_stmt_step(st, &row)) == FL_OK && row)
		fp = pgm_xstrdup(fl_stmt_column_text(st, 0, NULL));
	else if (rc) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
	}
	fl_stmt_finalize(st);
	return fp;
}

/* A value of the one-row result r, or NULL (caller frees). */
static char *value(PGresult *r, int col)
{
	return PQntuples(r) && !PQgetisnull(r, 0, col) ? pgm_xstrdup(PQgetvalue(r, 0, col)) : NULL;
}

int pg_mirror(struct pgm_sink *s, struct fl_db *db, const struct pgm_run *run, const char *file_id,
	      const struct pg_table *tables, int n, struct pgm_report *out)
{
	const char *account = run->account;
	char *pos_ident = pg_ident2(s->schema, "sink_position"), *sql, seqtext[24];
	char *their_file = NULL, *their_fp = NULL, *their_source = NULL, *our_fp = NULL, *latest_fp = NULL;
	struct ids *changed = calloc((size_t)n, sizeof *changed);
	const struct pg_table *links[2];
	int64_t pos = -1, latest, horizon = 0;
	bool ok = true, sqlite_open = false;
	int rc = PGM_FAIL, horizon_rc, i;
	PGresult *r;

	memset(out, 0, sizeof *out);
	if (!changed) {
		pgm_fail(s, "out of memory");
		free(pos_ident);
		return PGM_FAIL;
	}
	links[0] = table_named(tables, n, "project_jobs");
	links[1] = table_named(tables, n, "thread_members");

	ok = pg_exec(s, "BEGIN", "begin");
	/*
	 * One run per account at a time, across machines.  The position is
	 * read after the lock is held, by a statement of its own: a statement
	 * that waited for the lock would have read it from before the wait.
	 */
	if (ok) {
		char *key = pgm_xasprintf("flsync %s %s", s->schema, account);

		ok = pg_run(s, "SELECT pg_advisory_xact_lock(hashtext($1))", key, "lock the account", NULL);
		free(key);
	}
	/*
	 * Under a lease, the holder must hold it now; its row stays locked to
	 * the end of this transaction, so nobody takes it over meanwhile.
	 */
	if (ok && run->holder) {
		int lrc = pg_lease_check(s, account, run->holder);

		if (lrc != PGM_OK) {
			rc = lrc;
			ok = false;
		}
	}
	if (ok) {
		const char *params[1] = { account };

		sql = pgm_xasprintf("SELECT seq, file_id, fingerprint, source || ', ' || updated_at FROM %s WHERE account = $1",
				    pos_ident);
		r = pg_params(s, sql, 1, params, "read the feed position");
		free(sql);
		ok = r != NULL;
		if (ok && PQntuples(r)) {
			pos = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			their_file = value(r, 1);
			their_fp = value(r, 2);
			their_source = value(r, 3);
		}
		PQclear(r);
	}
	/*
	 * Seqs belong to one file.  Another file mirrored under this account
	 * (a second machine, a second person on the default name) must not be
	 * followed from its position: refuse, unless told to take over.
	 */
	if (ok && their_file && strcmp(their_file, file_id) != 0 && !run->take_over) {
		pgm_fail(s, "account %s in schema %s is mirrored from another database file (%s); "
			 "give this one another --account, or --take-over to replace that mirror with this file's rows",
			 account, s->schema, their_source ? their_source : "unknown");
		rc = PGM_REFUSED;
		ok = false;
	}

	/* The SQLite side: one snapshot for the feed and the rows. */
	ok = ok && pgm_db_exec(s, db, "BEGIN");
	sqlite_open = ok;
	latest = ok ? one_int(s, db, "SELECT coalesce(max(seq), 0) FROM changes", 0, &ok) : 0;
	/* Pruned past pos: a change after it may be gone (coalescing leaves holes that lose nothing). */
	if (ok && (horizon_rc = fl_changes_horizon(db, &horizon)) != FL_OK)
		ok = pgm_db_fail(s, db, horizon_rc, "read the change feed's horizon");
	our_fp = ok && pos > 0 ? fingerprint(s, db, pos, &ok) : NULL;
	latest_fp = ok && latest > 0 ? fingerprint(s, db, latest, &ok) : NULL;
	out->from_seq = pos;
	out->to_seq = latest;
	/*
	 * A full copy when there is no position yet, when it is another
	 * file's, when the feed was pruned past it, when this file never
	 * reached it, or when the change at it is not the one mirrored (the
	 * file was restored from a backup, or made anew, and went on).
	 */
	out->full = pos < 0 || (their_file && strcmp(their_file, file_id) != 0) || pos > latest ||
		    (pos < latest && pos < horizon) ||
		    (our_fp && their_fp && strcmp(our_fp, their_fp) != 0) || (pos > 0 && !our_fp && pos == latest);

	if (ok && out->full) {
		for (i = 0; ok && i < n; i++)
			ok = copy_whole(s, db, account, &tables[i], out);
	} else if (ok) {
		ok = read_changes(s, db, pos, latest, tables, n, changed);
		for (i = 0; ok && i < n; i++) {
			const struct pg_table *t = &tables[i];

			if (t == links[0] || t == links[1])
				continue;
			if (!strcmp(t->name, "sync_state")) {
				struct pgm_report scratch = { 0 }; /* not in the feed: copied every run, not counted */

				ok = copy_whole(s, db, account, t, &scratch);
				continue;
			}
			if (!t->by_id && changed[i].n) {
				ok = copy_whole(s, db, account, t, out); /* the feed names its rows by rowid */
				continue;
			}
			if (!changed[i].n)
				continue;
			ok = copy_changed(s, db, account, t, &changed[i], out);
			if (ok && !strcmp(t->name, "projects") && links[0])
				ok = copy_links(s, db, account, links[0], "project_id", &changed[i], out);
			if (ok && !strcmp(t->name, "threads") && links[1])
				ok = copy_links(s, db, account, links[1], "thread_id", &changed[i], out);
		}
	}
	if (ok) {
		char host[256] = "";
		char *source;
		const char *params[5];

		gethostname(host, sizeof host - 1);
		source = pgm_xasprintf("flsync %s on %s: %s", fl_libversion(), host, run->db_path ? run->db_path : "?");
		snprintf(seqtext, sizeof seqtext, "%lld", (long long)latest);
		params[0] = account;
		params[1] = seqtext;
		params[2] = source;
		params[3] = file_id;
		params[4] = latest_fp;
		sql = pgm_xasprintf("INSERT INTO %s(account, seq, updated_at, source, file_id, fingerprint) "
				    "VALUES ($1, $2, now(), $3, $4, $5) "
				    "ON CONFLICT (account) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at, "
				    "source = excluded.source, file_id = excluded.file_id, fingerprint = excluded.fingerprint",
				    pos_ident);
		r = pg_params(s, sql, 5, params, "write the feed position");
		free(source);
		ok = r != NULL;
		PQclear(r);
		free(sql);
	}
	ok = ok ? pg_exec(s, "COMMIT", "commit") : (pg_exec(s, "ROLLBACK", "roll back"), false);
	if (sqlite_open && !pgm_db_exec(s, db, "COMMIT"))
		ok = false;
	if (ok) {
		/* What PostgreSQL now holds: the feed is never pruned past it (fl_changes_prune). */
		struct fl_stmt *st;
		int row;
		char *stream = pgm_xasprintf("sink.postgres.%s", s->schema);

		if (fl_stmt_prepare(db, "UPDATE sync_state SET cursor = ?2, last_success = ?3 WHERE stream = ?1", &st) == FL_OK) {
			fl_stmt_bind_text(st, 1, stream, -1);
			fl_stmt_bind_int64(st, 2, latest);
			fl_stmt_bind_int64(st, 3, (int64_t)time(NULL));
			if (fl_stmt_step(st, &row) != FL_OK)
				pgm_warn(s, "warning: could not record the sink's position in the database: %s", fl_errmsg(db));
			fl_stmt_finalize(st);
		}
		free(stream);
		rc = PGM_OK;
	}
	for (i = 0; i < n; i++)
		free(changed[i].v);
	free(changed);
	free(their_file);
	free(their_fp);
	free(their_source);
	free(our_fp);
	free(latest_fp);
	free(pos_ident);
	return rc;
}

char *pg_file_id(struct pgm_sink *s, struct fl_db *db)
{
	char *stream = pgm_xasprintf("sink.postgres.%s", s->schema), *id = NULL, hex[33];
	unsigned char raw[16];
	struct fl_stmt *st;
	int row = 0, rc, i;

	rc = fl_stmt_prepare(db, "SELECT json_extract(cursor_extra, '$.file_id') FROM sync_state WHERE stream = ?1", &st);
	if (rc == FL_OK) {
		fl_stmt_bind_text(st, 1, stream, -1);
		if ((rc = fl_stmt_step(st, &row)) == FL_OK && row && fl_stmt_column_type(st, 0) == FL_TYPE_TEXT)
			id = pgm_xstrdup(fl_stmt_column_text(st, 0, NULL));
		fl_stmt_finalize(st);
	}
	if (rc) {
		pgm_db_fail(s, db, rc, "read the mirror's record");
		goto out;
	}
	if (id)
		goto out;
	if (getentropy(raw, sizeof raw) != 0) {
		pgm_fail(s, "no randomness for the file's identity");
		goto out;
	}
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	rc = fl_stmt_prepare(db, "INSERT INTO sync_state(stream, cursor_extra) VALUES (?1, json_object('file_id', ?2)) "
			     "ON CONFLICT(stream) DO UPDATE SET cursor_extra = json_set(coalesce(cursor_extra, '{}'), '$.file_id', ?2)",
			     &st);
	if (rc == FL_OK) {
		fl_stmt_bind_text(st, 1, stream, -1);
		fl_stmt_bind_text(st, 2, hex, -1);
		rc = fl_stmt_step(st, &row);
		fl_stmt_finalize(st);
	}
	if (rc)
		pgm_db_fail(s, db, rc, "record the file's identity for the mirror");
	else
		id = pgm_xstrdup(hex);
out:
	free(stream);
	return id;
}
