/*
 * pg_schema.c — the PostgreSQL mirror's schema, made from the SQLite file's
 * own: each mirrored table with the same columns (INTEGER bigint, REAL
 * double precision, TEXT text, BLOB bytea) behind an `account` column that
 * leads its primary key; columns a newer SQLite schema has are added; the
 * sink's positions; and the views of pg/views.sql, recreated when their
 * text changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "tool.h"

extern const struct tool_asset pg_assets[];
extern const size_t pg_assets_count;

const char *const pg_tables[] = {
	"currencies", "job_categories", "jobs", "users", "projects", "project_jobs", "bids",
	"milestones", "milestone_requests", "reviews", "threads", "thread_members", "messages",
	"actions", "sync_state",
};
const int pg_table_count = (int)(sizeof pg_tables / sizeof *pg_tables);

static char *quote(const char *s)
{
	size_t n = 2, i;
	char *q, *p;

	for (i = 0; s[i]; i++)
		n += s[i] == '"' ? 2 : 1;
	q = p = tool_xmalloc(n + 1);
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

char *pg_ident2(const char *schema, const char *name)
{
	char *a = quote(schema), *b = quote(name), *r = tool_xasprintf("%s.%s", a, b);

	free(a);
	free(b);
	return r;
}

bool pg_exec(PGconn *pg, const char *sql, const char *what)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "flsync: pgsync: %s: %s", what, PQerrorMessage(pg));
	PQclear(r);
	return ok;
}

bool pg_table_read(struct fl_db *db, const char *name, struct pg_table *out)
{
	struct fl_stmt *st;
	char *sql = tool_xasprintf("SELECT name, upper(type), pk FROM pragma_table_info('%s') ORDER BY cid", name);
	int row, rc;

	memset(out, 0, sizeof *out);
	out->name = name;
	rc = fl_stmt_prepare(db, sql, &st);
	free(sql);
	if (rc) {
		tool_db_fail(db, rc, "read the schema");
		return false;
	}
	while ((rc = fl_stmt_step(st, &row)) == FL_OK && row) {
		const char *col = fl_stmt_column_text(st, 0, NULL), *type = fl_stmt_column_text(st, 1, NULL);
		int64_t pk = fl_stmt_column_int64(st, 2);

		out->cols = tool_xrealloc(out->cols, sizeof *out->cols * (size_t)(out->ncols + 1));
		out->cols[out->ncols].name = tool_xstrdup(col ? col : "");
		out->cols[out->ncols].type = !type ? 't'
			: strstr(type, "INT") ? 'i'
			: strstr(type, "REAL") || strstr(type, "FLOA") || strstr(type, "DOUB") ? 'r'
			: strstr(type, "BLOB") ? 'b' : 't';
		if (pk > 0) {
			out->pk = tool_xrealloc(out->pk, sizeof *out->pk * (size_t)(pk > out->npk ? pk : out->npk));
			if (pk > out->npk)
				out->npk = (int)pk;
			out->pk[pk - 1] = out->cols[out->ncols].name;
		}
		out->ncols++;
	}
	fl_stmt_finalize(st);
	if (rc || out->ncols == 0 || out->npk == 0) {
		fprintf(stderr, "flsync: pgsync: table %s: %s\n", name,
			rc ? fl_errmsg(db) : out->ncols ? "it has no primary key" : "no such table in the database");
		pg_table_free(out);
		return false;
	}
	/* The feed names rows by id, except reviews (rowid) and the two link tables (none). */
	out->by_id = out->npk == 1 && !strcmp(out->pk[0], "id");
	return true;
}

void pg_table_free(struct pg_table *t)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		free(t->cols[i].name);
	free(t->cols);
	free(t->pk);
	memset(t, 0, sizeof *t);
}

static const char *pg_type(char t)
{
	switch (t) {
	case 'i': return "bigint";
	case 'r': return "double precision";
	case 'b': return "bytea";
	default: return "text";
	}
}

/* CREATE TABLE for t, and ALTER TABLE ADD COLUMN for what PostgreSQL lacks. */
static bool table_sync(PGconn *pg, const char *schema, const struct pg_table *t)
{
	char *ident = pg_ident2(schema, t->name), *sql;
	FILE *f;
	size_t len;
	const char *params[2] = { schema, t->name };
	PGresult *r;
	int i;
	bool ok;

	f = open_memstream(&sql, &len);
	fprintf(f, "CREATE TABLE IF NOT EXISTS %s (account text NOT NULL", ident);
	for (i = 0; i < t->ncols; i++) {
		char *c = quote(t->cols[i].name);

		fprintf(f, ", %s %s", c, pg_type(t->cols[i].type));
		free(c);
	}
	fputs(", PRIMARY KEY (account", f);
	for (i = 0; i < t->npk; i++) {
		char *c = quote(t->pk[i]);

		fprintf(f, ", %s", c);
		free(c);
	}
	fputs("))", f);
	fclose(f);
	ok = pg_exec(pg, sql, t->name);
	free(sql);
	if (!ok)
		goto out;
	r = PQexecParams(pg, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "flsync: pgsync: read the columns of %s: %s", t->name, PQerrorMessage(pg));
		PQclear(r);
		ok = false;
		goto out;
	}
	for (i = 0; ok && i < t->ncols; i++) {
		int j, have = 0;

		for (j = 0; j < PQntuples(r) && !have; j++)
			have = !strcmp(PQgetvalue(r, j, 0), t->cols[i].name);
		if (!have) {
			char *c = quote(t->cols[i].name);

			sql = tool_xasprintf("ALTER TABLE %s ADD COLUMN %s %s", ident, c, pg_type(t->cols[i].type));
			ok = pg_exec(pg, sql, t->name);
			free(sql);
			free(c);
		}
	}
	PQclear(r);
out:
	free(ident);
	return ok;
}

/* A short fingerprint of the views' text (FNV-1a), to know when to recreate them. */
static char *views_version(const struct tool_asset *a)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < a->len; i++)
		h = (h ^ a->data[i]) * 1099511628211ull;
	return tool_xasprintf("%016llx", (unsigned long long)h);
}

bool pg_schema_sync(PGconn *pg, const char *schema, const struct pg_table *tables, int n)
{
	const struct tool_asset *views = NULL;
	char *qs = quote(schema), *sql, *version = NULL, *meta = pg_ident2(schema, "mirror_meta");
	const char *params[1];
	PGresult *r;
	size_t i;
	bool ok;
	int t;

	for (i = 0; i < pg_assets_count; i++)
		if (!strcmp(pg_assets[i].path, "/views.sql"))
			views = &pg_assets[i];
	ok = pg_exec(pg, "BEGIN", "begin");
	/* One machine at a time changes the schema; the others wait here. */
	ok = ok && pg_exec(pg, "SELECT pg_advisory_xact_lock(7270121901)", "lock the schema");
	sql = tool_xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs);
	ok = ok && pg_exec(pg, sql, "create the schema");
	free(sql);
	for (t = 0; ok && t < n; t++)
		ok = table_sync(pg, schema, &tables[t]);
	/*
	 * Each account's feed position, the file it belongs to (seqs mean
	 * nothing in another file) and the change it points at, to notice a
	 * file restored from a backup or made anew.
	 */
	sql = tool_xasprintf("CREATE TABLE IF NOT EXISTS %s.sink_position (account text PRIMARY KEY, "
			     "seq bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), source text); "
			     "ALTER TABLE %s.sink_position ADD COLUMN IF NOT EXISTS file_id text, "
			     "ADD COLUMN IF NOT EXISTS fingerprint text", qs, qs);
	ok = ok && pg_exec(pg, sql, "create sink_position");
	free(sql);
	sql = tool_xasprintf("CREATE TABLE IF NOT EXISTS %s (key text PRIMARY KEY, value text NOT NULL)", meta);
	ok = ok && pg_exec(pg, sql, "create mirror_meta");
	free(sql);
	if (ok && views) {
		version = views_version(views);
		sql = tool_xasprintf("SELECT 1 FROM %s WHERE key = 'views' AND value = $1", meta);
		params[0] = version;
		r = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
		free(sql);
		ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			fprintf(stderr, "flsync: pgsync: read mirror_meta: %s", PQerrorMessage(pg));
		if (ok && PQntuples(r) == 0) {
			sql = tool_xasprintf("SET LOCAL search_path TO %s", qs);
			ok = pg_exec(pg, sql, "set the search path") && pg_exec(pg, (const char *)views->data, "create the views");
			free(sql);
			if (ok) {
				PGresult *w;

				sql = tool_xasprintf("INSERT INTO %s(key, value) VALUES ('views', $1) "
						     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", meta);
				w = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
				ok = PQresultStatus(w) == PGRES_COMMAND_OK;
				if (!ok)
					fprintf(stderr, "flsync: pgsync: write mirror_meta: %s", PQerrorMessage(pg));
				PQclear(w);
				free(sql);
			}
		}
		PQclear(r);
	}
	ok = ok ? pg_exec(pg, "COMMIT", "commit the schema") : (pg_exec(pg, "ROLLBACK", "roll back"), false);
	free(version);
	free(meta);
	free(qs);
	return ok;
}
