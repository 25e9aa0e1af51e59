/*
 * schema.c — the PostgreSQL mirror's schema, made from the SQLite file's
 * own: each mirrored table with the same columns (INTEGER bigint, REAL
 * double precision, TEXT text, BLOB bytea) behind an `account` column that
 * leads its primary key, typed for BI tools where SQLite has no type: unix
 * times as timestamptz, 0/1 flags as boolean, JSON as jsonb (the tables
 * below say which columns); columns a newer SQLite schema has are added,
 * and columns of a mirror made before they were typed are converted in
 * place (the views, which depend on them, dropped first and made again);
 * the sink's positions, the account leases; and the views of views.sql,
 * recreated when their text changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* views.sql, built in by embed_sql.py */
extern const char *const pgm_views_sql;
extern const size_t pgm_views_sql_len;

const char *const pgm_tables[] = {
	"currencies", "job_categories", "jobs", "users", "projects", "project_jobs", "bids",
	"milestones", "milestone_requests", "reviews", "threads", "thread_members", "messages",
	"actions", "sync_state",
};
const int pgm_table_count = (int)(sizeof pgm_tables / sizeof *pgm_tables);

/* Integer columns that hold unix seconds: timestamptz in the mirror. */
static const char *const time_columns[] = {
	"synced_at", "registration_date", "time_submitted", "time_updated", "time_awarded", "time_accepted",
	"time_created", "time_requested", "time_read", "created_at", "updated_at", "next_attempt",
	"last_started", "last_success", "last_error_at", NULL,
};
/* Integer columns that are 0/1 flags (CHECK (c IN (0, 1)) in SQLite): boolean. */
static const char *const flag_columns[] = {
	"deleted", "is_self", "hireme", "nonpublic", "retracted", "highlighted", "shortlisted",
	"is_from_prepaid", "is_read", "is_muted", NULL,
};
/* Text columns that hold JSON (the API's objects, an action's parameters and outcome): jsonb. */
static const char *const json_columns[] = { "raw", "params", "result", "undo", NULL };

/* The views of views.sql, all of them, dropped together before columns change type. */
static const char views_drop_sql[] =
	"DROP VIEW IF EXISTS insight_contested, insight_accounts, insight_response_monthly, "
	"insight_cashflow_monthly, insight_clients, insight_win_rate, insight_bids, report_response_monthly, "
	"report_response_times, report_reviews_monthly, report_milestones_monthly, report_bids_monthly, "
	"pending_actions, unread_threads, milestone_balances, my_active_bids, open_projects_with_bids, self";

static bool named(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

/* The mirror's type of a column SQLite declares as type. */
static char column_type(const char *name, const char *type)
{
	char t = !type ? 't'
		: strstr(type, "INT") ? 'i'
		: strstr(type, "REAL") || strstr(type, "FLOA") || strstr(type, "DOUB") ? 'r'
		: strstr(type, "BLOB") ? 'b' : 't';

	if (t == 'i' && named(time_columns, name))
		return 'T';
	if (t == 'i' && named(flag_columns, name))
		return 'B';
	if (t == 't' && named(json_columns, name))
		return 'J';
	return t;
}

bool pgm_table_read(struct pgm_sink *s, struct fl_db *db, const char *name, struct pgm_table *out)
{
	struct fl_stmt *st;
	char *sql = xasprintf("SELECT name, upper(type), pk FROM pragma_table_info('%s') ORDER BY cid", name);
	int row, rc;

	memset(out, 0, sizeof *out);
	out->name = name;
	rc = fl_stmt_prepare(db, sql, &st);
	free(sql);
	if (rc)
		return pgm_db_fail(s, db, rc, "read the schema");
	while ((rc = fl_stmt_step(st, &row)) == FL_OK && row) {
		const char *col = fl_stmt_column_text(st, 0, NULL), *type = fl_stmt_column_text(st, 1, NULL);
		int64_t pk = fl_stmt_column_int64(st, 2);

		out->cols = xrealloc(out->cols, sizeof *out->cols * (size_t)(out->ncols + 1));
		out->cols[out->ncols].name = xstrdup(col ? col : "");
		out->cols[out->ncols].type = column_type(out->cols[out->ncols].name, type);
		if (pk > 0) {
			out->pk = xrealloc(out->pk, sizeof *out->pk * (size_t)(pk > out->npk ? pk : out->npk));
			if (pk > out->npk)
				out->npk = (int)pk;
			out->pk[pk - 1] = out->cols[out->ncols].name;
		}
		out->ncols++;
	}
	fl_stmt_finalize(st);
	if (rc || out->ncols == 0 || out->npk == 0) {
		pgm_fail(s, "table %s: %s", name,
			rc ? fl_errmsg(db) : out->ncols ? "it has no primary key" : "no such table in the database");
		pgm_table_free(out);
		return false;
	}
	/* The feed names rows by id, except reviews (rowid) and the two link tables (none). */
	out->by_id = out->npk == 1 && !strcmp(out->pk[0], "id");
	return true;
}

void pgm_table_free(struct pgm_table *t)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		free(t->cols[i].name);
	free(t->cols);
	free(t->pk);
	memset(t, 0, sizeof *t);
}

static const char *sql_type(char t)
{
	switch (t) {
	case 'i': return "bigint";
	case 'r': return "double precision";
	case 'b': return "bytea";
	case 'T': return "timestamp with time zone";
	case 'B': return "boolean";
	case 'J': return "jsonb";
	default: return "text";
	}
}

/* The escapes of a UTF-16 surrogate, high and low, in JSON text (PostgreSQL regular expressions). */
#define JSON_HIGH "\\\\u[dD][89abAB][0-9a-fA-F]{2}"
#define JSON_LOW "\\\\u[dD][c-fC-F][0-9a-fA-F]{2}"
#define JSON_EVEN "(?<=(?:^|[^\\\\])(?:\\\\\\\\)*)"

/* How column q of a mirror made before the types converts to type to, or NULL when it cannot. */
static char *column_cast(const char *have, char to, const char *q)
{
	if (!strcmp(have, "bigint") && to == 'T')
		return xasprintf("to_timestamp(%s)", q);
	if (!strcmp(have, "bigint") && to == 'B')
		return xasprintf("%s <> 0", q);
	/*
	 * jsonb holds no NUL character and no UTF-16 surrogate out of a pair
	 * (SQLite's json_valid takes both): their escapes become U+FFFD, as in
	 * new rows.  An escape is a "\\u" after an even run of backslashes.
	 */
	if (!strcmp(have, "text") && to == 'J')
		return xasprintf("regexp_replace(regexp_replace(replace(%s, '\\u0000', '\\ufffd'), "
				     "'" JSON_EVEN JSON_HIGH "(?!" JSON_LOW ")', '\\ufffd', 'g'), "
				     "'" JSON_EVEN "(?<!" JSON_HIGH ")" JSON_LOW "', '\\ufffd', 'g')::jsonb", q);
	return NULL;
}

/*
 * Column c of t exists as PostgreSQL type have: convert it when the mirror
 * now types it (the views go first: they depend on it).
 */
static bool column_retype(struct pgm_sink *s, const char *ident, const struct pgm_column *c, const char *have,
			  bool *views_dropped)
{
	const char *want = sql_type(c->type);
	char *q = pgm_quote(c->name), *expr, *sql;
	bool ok;

	if (!strcmp(have, want) || !(expr = column_cast(have, c->type, q))) {
		free(q);
		return true;
	}
	if (!*views_dropped && !(*views_dropped = pgm_exec(s, views_drop_sql, "drop the views to convert the columns"))) {
		free(q);
		free(expr);
		return false;
	}
	sql = xasprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s", ident, q, want, expr);
	ok = pgm_exec(s, sql, c->name);
	free(sql);
	free(expr);
	free(q);
	return ok;
}

/* CREATE TABLE for t, ALTER TABLE ADD COLUMN for what PostgreSQL lacks, and the typing of older mirrors. */
static bool table_sync(struct pgm_sink *s, const struct pgm_table *t, bool *views_dropped)
{
	char *ident = pgm_ident2(s->schema, t->name), *sql;
	FILE *f;
	size_t len;
	const char *params[2] = { s->schema, t->name };
	char what[96];
	PGresult *r;
	int i;
	bool ok;

	f = open_memstream(&sql, &len);
	fprintf(f, "CREATE TABLE IF NOT EXISTS %s (account text NOT NULL", ident);
	for (i = 0; i < t->ncols; i++) {
		char *c = pgm_quote(t->cols[i].name);

		fprintf(f, ", %s %s", c, sql_type(t->cols[i].type));
		free(c);
	}
	fputs(", PRIMARY KEY (account", f);
	for (i = 0; i < t->npk; i++) {
		char *c = pgm_quote(t->pk[i]);

		fprintf(f, ", %s", c);
		free(c);
	}
	fputs("))", f);
	fclose(f);
	ok = pgm_exec(s, sql, t->name);
	free(sql);
	if (!ok)
		goto out;
	snprintf(what, sizeof what, "read the columns of %s", t->name);
	r = pgm_params(s, "SELECT column_name, data_type FROM information_schema.columns "
		       "WHERE table_schema = $1 AND table_name = $2", 2, params, what);
	if (!r) {
		ok = false;
		goto out;
	}
	for (i = 0; ok && i < t->ncols; i++) {
		int j, have = 0;

		for (j = 0; j < PQntuples(r) && !have; j++)
			if ((have = !strcmp(PQgetvalue(r, j, 0), t->cols[i].name)))
				ok = column_retype(s, ident, &t->cols[i], PQgetvalue(r, j, 1), views_dropped);
		if (!have) {
			char *c = pgm_quote(t->cols[i].name);

			sql = xasprintf("ALTER TABLE %s ADD COLUMN %s %s", ident, c, sql_type(t->cols[i].type));
			ok = pgm_exec(s, sql, t->name);
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
static char *views_version(void)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < pgm_views_sql_len; i++)
		h = (h ^ (unsigned char)pgm_views_sql[i]) * 1099511628211ull;
	return xasprintf("%016llx", (unsigned long long)h);
}

/* The leases: who syncs each account, and since when its heartbeat has not moved. */
static bool leases_sync(struct pgm_sink *s, const char *qs)
{
	char *sql = xasprintf("CREATE TABLE IF NOT EXISTS %s.leases (account text PRIMARY KEY, holder text NOT NULL, "
			      "heartbeat timestamptz NOT NULL, taken_at timestamptz NOT NULL, "
			      "generation bigint NOT NULL DEFAULT 1)", qs);
	bool ok = pgm_exec(s, sql, "create leases");

	free(sql);
	return ok;
}

bool pgm_schema_leases(struct pgm_sink *s)
{
	char *qs = pgm_quote(s->schema), *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs);
	bool ok = pgm_exec(s, "BEGIN", "begin");

	ok = ok && pgm_exec(s, "SELECT pg_advisory_xact_lock(7270121901)", "lock the schema");
	ok = ok && pgm_exec(s, sql, "create the schema") && leases_sync(s, qs);
	ok = ok ? pgm_exec(s, "COMMIT", "commit the schema") : (pgm_exec(s, "ROLLBACK", "roll back"), false);
	free(sql);
	free(qs);
	return ok;
}

bool pgm_schema_sync(struct pgm_sink *s, const struct pgm_table *tables, int n)
{
	char *qs = pgm_quote(s->schema), *sql, *version = NULL, *meta = pgm_ident2(s->schema, "mirror_meta");
	const char *params[1];
	PGresult *r;
	bool ok, views_dropped = false;
	int t;

	ok = pgm_exec(s, "BEGIN", "begin");
	/* One machine at a time changes the schema; the others wait here. */
	ok = ok && pgm_exec(s, "SELECT pg_advisory_xact_lock(7270121901)", "lock the schema");
	sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs);
	ok = ok && pgm_exec(s, sql, "create the schema");
	free(sql);
	for (t = 0; ok && t < n; t++)
		ok = table_sync(s, &tables[t], &views_dropped);
	/*
	 * Each account's feed position, the file it belongs to (seqs mean
	 * nothing in another file) and the change it points at, to notice a
	 * file restored from a backup or made anew.
	 */
	sql = xasprintf("CREATE TABLE IF NOT EXISTS %s.sink_position (account text PRIMARY KEY, "
			"seq bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), source text); "
			"ALTER TABLE %s.sink_position ADD COLUMN IF NOT EXISTS file_id text, "
			"ADD COLUMN IF NOT EXISTS fingerprint text", qs, qs);
	ok = ok && pgm_exec(s, sql, "create sink_position");
	free(sql);
	ok = ok && leases_sync(s, qs);
	sql = xasprintf("CREATE TABLE IF NOT EXISTS %s (key text PRIMARY KEY, value text NOT NULL)", meta);
	ok = ok && pgm_exec(s, sql, "create mirror_meta");
	free(sql);
	if (ok) {
		version = views_version();
		sql = xasprintf("SELECT 1 FROM %s WHERE key = 'views' AND value = $1", meta);
		params[0] = version;
		r = pgm_params(s, sql, 1, params, "read mirror_meta");
		free(sql);
		ok = r != NULL;
		if (ok && (PQntuples(r) == 0 || views_dropped)) {
			sql = xasprintf("SET LOCAL search_path TO %s", qs);
			ok = pgm_exec(s, sql, "set the search path") && pgm_exec(s, pgm_views_sql, "create the views");
			free(sql);
			if (ok) {
				PGresult *w;

				sql = xasprintf("INSERT INTO %s(key, value) VALUES ('views', $1) "
						"ON CONFLICT (key) DO UPDATE SET value = excluded.value", meta);
				w = pgm_params(s, sql, 1, params, "write mirror_meta");
				ok = w != NULL;
				PQclear(w);
				free(sql);
			}
		}
		PQclear(r);
	}
	ok = ok ? pgm_exec(s, "COMMIT", "commit the schema") : (pgm_exec(s, "ROLLBACK", "roll back"), false);
	free(version);
	free(meta);
	free(qs);
	return ok;
}
