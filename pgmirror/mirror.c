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
 *
 * The COPY stream and the reads of SQLite rows it is fed from are copy.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define IDS_PER_READ 5000       /* ids per SQLite read of changed rows */

/* ---- the changed ids ---------------------------------------------------- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static void ids_add(struct ids *s, int64_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xrealloc(s->v, sizeof *s->v * s->cap);
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
static bool account_exec(struct pgm_sink *s, const char *sql, const char *account, const char *what, int64_t *out_n)
{
	const char *params[1] = { account };
	PGresult *r = pgm_params(s, sql, strstr(sql, "$1") ? 1 : 0, params, what);

	if (r && out_n)
		*out_n += strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return r != NULL;
}

/* Every row of t for the account, anew. */
static bool copy_whole(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pgm_table *t,
		       struct pgm_report *rep)
{
	/* sync_state's sink rows say what PostgreSQL holds: sink_position is their mirror. */
	const char *where = !strcmp(t->name, "sync_state") ? "stream NOT LIKE 'sink.%'" : NULL;
	char *ident = pgm_ident2(s->schema, t->name), *sql = xasprintf("DELETE FROM %s WHERE account = $1", ident);
	char *cols = pgm_column_list(t, true, "");
	struct copy c;
	/* A replacement, not a deletion: the rows come back but for those SQLite no longer has. */
	bool ok = account_exec(s, sql, account, "empty the account's rows before a full copy", NULL);

	free(sql);
	if (ok && pgm_copy_begin(&c, s, ident, cols)) {
		pgm_copy_rows(db, &c, account, t, where, NULL);
		ok = pgm_copy_end(&c);
		rep->rows += c.rows;
	} else {
		ok = false;
	}
	free(cols);
	free(ident);
	return ok;
}

/* The rows of t whose ids changed: upserted when SQLite has them, deleted when not. */
static bool copy_changed(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pgm_table *t,
			 const struct ids *ids, struct pgm_report *rep)
{
	char *ident = pgm_ident2(s->schema, t->name), *cols = pgm_column_list(t, true, ""), *sql, *tmp, *set = NULL;
	struct copy c;
	size_t at, len;
	FILE *f;
	bool ok;
	int i;

	char what_delete[96], what_upsert[96];

	snprintf(what_delete, sizeof what_delete, "%s: delete the rows SQLite no longer has", t->name);
	snprintf(what_upsert, sizeof what_upsert, "%s: upsert the changed rows", t->name);
	tmp = xasprintf("\"fl_rows_%s\"", t->name);
	sql = xasprintf("CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s) ON COMMIT DROP; TRUNCATE %s; "
			"CREATE TEMP TABLE IF NOT EXISTS fl_ids (id bigint PRIMARY KEY) ON COMMIT DROP; TRUNCATE fl_ids",
			tmp, ident, tmp);
	ok = pgm_exec(s, sql, t->name);
	free(sql);
	/* The ids that changed, and the rows SQLite has for them now. */
	if (ok && pgm_copy_begin(&c, s, "fl_ids", "id")) {
		for (at = 0; at < ids->n; at++) {
			char num[24];
			int n = snprintf(num, sizeof num, "%lld\n", (long long)ids->v[at]);

			pgm_copy_put(&c, num, (size_t)n);
		}
		ok = pgm_copy_end(&c);
	} else {
		ok = false;
	}
	if (ok && pgm_copy_begin(&c, s, tmp, cols)) {
		for (at = 0; at < ids->n && !c.failed; at += IDS_PER_READ) {
			char *json = ids_json(ids, at, IDS_PER_READ);

			pgm_copy_rows(db, &c, account, t, "id IN (SELECT value FROM json_each(?1))", json);
			free(json);
		}
		ok = pgm_copy_end(&c);
	} else {
		ok = false;
	}
	if (ok) {
		sql = xasprintf("DELETE FROM %s t USING fl_ids i WHERE t.account = $1 AND t.id = i.id "
				"AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.id = i.id)", ident, tmp);
		ok = account_exec(s, sql, account, what_delete, &rep->deleted);
		free(sql);
	}
	if (ok) {
		/* Unchanged rows are left alone: no dead tuples for a re-read that found nothing new. */
		char *old = pgm_column_list(t, false, "t."), *new = pgm_column_list(t, false, "excluded.");

		f = open_memstream(&set, &len);
		for (i = 0; i < t->ncols; i++)
			fprintf(f, "%s\"%s\" = excluded.\"%s\"", i ? ", " : "", t->cols[i].name, t->cols[i].name);
		fclose(f);
		sql = xasprintf("INSERT INTO %s AS t SELECT * FROM %s ON CONFLICT (account, id) DO UPDATE SET %s "
				"WHERE (%s) IS DISTINCT FROM (%s)", ident, tmp, set, old, new);
		ok = account_exec(s, sql, account, what_upsert, &rep->rows);
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
static bool copy_links(struct pgm_sink *s, struct fl_db *db, const char *account, const struct pgm_table *t,
		       const char *parent, const struct ids *ids, struct pgm_report *rep)
{
	char *ident = pgm_ident2(s->schema, t->name), *cols = pgm_column_list(t, true, ""), *sql, *where;
	struct copy c;
	size_t at;
	bool ok;

	/* fl_ids holds the parents' ids: copy_changed() of the parent table just filled it. */
	sql = xasprintf("DELETE FROM %s l USING fl_ids i WHERE l.account = $1 AND l.\"%s\" = i.id", ident, parent);
	ok = account_exec(s, sql, account, "replace link rows", NULL); /* replaced below */
	free(sql);
	where = xasprintf("\"%s\" IN (SELECT value FROM json_each(?1))", parent);
	if (ok && pgm_copy_begin(&c, s, ident, cols)) {
		for (at = 0; at < ids->n && !c.failed; at += IDS_PER_READ) {
			char *json = ids_json(ids, at, IDS_PER_READ);

			pgm_copy_rows(db, &c, account, t, where, json);
			free(json);
		}
		ok = pgm_copy_end(&c);
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

/*
 * The change feed's newest seq (0 when empty).  pgmirror reads the file
 * through flsync.h alone, so this is fl_stmt, not store.h's store_int.
 */
static int64_t newest_seq(struct pgm_sink *s, struct fl_db *db, bool *ok)
{
	struct fl_stmt *st;
	int row = 0, rc;
	int64_t v = 0;

	if ((rc = fl_stmt_prepare(db, "SELECT coalesce(max(seq), 0) FROM changes", &st))) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
		return 0;
	}
	if ((rc = fl_stmt_step(st, &row)) == FL_OK && row)
		v = fl_stmt_column_int64(st, 0);
	else if (rc) {
		*ok = false;
		pgm_db_fail(s, db, rc, "read the change feed");
	}
	fl_stmt_finalize(st);
	return v;
}

static const struct pgm_table *table_named(const struct pgm_table *tables, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(tables[i].name, name))
			return &tables[i];
	return NULL;
}

/* The ids each table's changes name, in (from, to]. */
static bool read_changes(struct pgm_sink *s, struct fl_db *db, int64_t from, int64_t to, const struct pgm_table *tables, int n,
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
		fp = xstrdup(fl_stmt_column_text(st, 0, NULL));
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
	return PQntuples(r) && !PQgetisnull(r, 0, col) ? xstrdup(PQgetvalue(r, 0, col)) : NULL;
}

/* One run of pgm_mirror_rows: what it reads on each side, and what it holds. */
struct mirror {
	struct pgm_sink *s;
	struct fl_db *db;
	const struct pgm_run *run;
	const char *file_id;
	const struct pgm_table *tables;
	int n;
	char *pos_ident;            /* the schema's sink_position table */
	int64_t pos;                /* PostgreSQL's feed position for the account; -1: none */
	char *their_file, *their_fp, *their_source; /* ... and whose it is */
	int64_t latest, horizon;    /* the SQLite file's feed */
	char *our_fp, *latest_fp;   /* the changes at pos and at latest in this file */
	struct ids *changed;        /* per table: the ids its changes in (pos, latest] name */
};

/*
 * One run per account at a time, across machines; under a lease, the
 * holder must hold it now (its row stays locked to the end of the
 * transaction, so nobody takes it over meanwhile).  *rc: PGM_LEASE.
 */
static bool lock_account(struct mirror *m, int *rc)
{
	char *key = xasprintf("flsync %s %s", m->s->schema, m->run->account);
	bool ok = account_exec(m->s, "SELECT pg_advisory_xact_lock(hashtext($1))", key, "lock the account", NULL);
	int lrc;

	free(key);
	if (ok && m->run->holder && (lrc = pgm_lease_check(m->s, m->run->account, m->run->holder)) != PGM_OK) {
		*rc = lrc;
		ok = false;
	}
	return ok;
}

/*
 * The account's feed position in PostgreSQL, read after the lock is held
 * by a statement of its own: a statement that waited for the lock would
 * have read it from before the wait.
 */
static bool read_position(struct mirror *m)
{
	const char *params[1] = { m->run->account };
	char *sql = xasprintf("SELECT seq, file_id, fingerprint, source || ', ' || updated_at FROM %s WHERE account = $1",
			      m->pos_ident);
	PGresult *r = pgm_params(m->s, sql, 1, params, "read the feed position");

	free(sql);
	if (r && PQntuples(r)) {
		m->pos = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		m->their_file = value(r, 1);
		m->their_fp = value(r, 2);
		m->their_source = value(r, 3);
	}
	PQclear(r);
	return r != NULL;
}

/*
 * Seqs belong to one file.  Another file mirrored under this account (a
 * second machine, a second person on the default name) must not be
 * followed from its position: refuse, unless told to take over.
 */
static bool same_file(struct mirror *m, int *rc)
{
	if (!m->their_file || !strcmp(m->their_file, m->file_id) || m->run->take_over)
		return true;
	pgm_fail(m->s, "account %s in schema %s is mirrored from another database file (%s); "
		 "give this one another --account, or --take-over to replace that mirror with this file's rows",
		 m->run->account, m->s->schema, m->their_source ? m->their_source : "unknown");
	*rc = PGM_REFUSED;
	return false;
}

/* The SQLite file's feed, in the open snapshot: its newest change, its horizon, the changes at pos and latest. */
static bool read_feed(struct mirror *m, bool ok)
{
	int horizon_rc;

	m->latest = ok ? newest_seq(m->s, m->db, &ok) : 0;
	/* Pruned past pos: a change after it may be gone (coalescing leaves holes that lose nothing). */
	if (ok && (horizon_rc = fl_changes_horizon(m->db, &m->horizon)) != FL_OK)
		ok = pgm_db_fail(m->s, m->db, horizon_rc, "read the change feed's horizon");
	m->our_fp = ok && m->pos > 0 ? fingerprint(m->s, m->db, m->pos, &ok) : NULL;
	m->latest_fp = ok && m->latest > 0 ? fingerprint(m->s, m->db, m->latest, &ok) : NULL;
	return ok;
}

/*
 * A full copy when there is no position yet, when it is another file's,
 * when the feed was pruned past it, when this file never reached it, or
 * when the change at it is not the one mirrored (the file was restored from
 * a backup, or made anew, and went on).
 */
static bool full_copy_needed(const struct mirror *m)
{
	return m->pos < 0 || (m->their_file && strcmp(m->their_file, m->file_id) != 0) || m->pos > m->latest ||
	       (m->pos < m->latest && m->pos < m->horizon) ||
	       (m->our_fp && m->their_fp && strcmp(m->our_fp, m->their_fp) != 0) ||
	       (m->pos > 0 && !m->our_fp && m->pos == m->latest);
}

/* Every table whole. */
static bool copy_all(struct mirror *m, struct pgm_report *out)
{
	bool ok = true;
	int i;

	for (i = 0; ok && i < m->n; i++)
		ok = copy_whole(m->s, m->db, m->run->account, &m->tables[i], out);
	return ok;
}

/* The rows the feed names in (pos, latest], table by table; a parent's link rows with it. */
static bool copy_feed(struct mirror *m, struct pgm_report *out)
{
	const struct pgm_table *jobs = table_named(m->tables, m->n, "project_jobs");
	const struct pgm_table *members = table_named(m->tables, m->n, "thread_members");
	const char *account = m->run->account;
	bool ok = read_changes(m->s, m->db, m->pos, m->latest, m->tables, m->n, m->changed);
	int i;

	for (i = 0; ok && i < m->n; i++) {
		const struct pgm_table *t = &m->tables[i];
		const struct ids *ids = &m->changed[i];

		if (t == jobs || t == members)
			continue;
		if (!strcmp(t->name, "sync_state")) {
			struct pgm_report scratch = { 0 }; /* not in the feed: copied every run, not counted */

			ok = copy_whole(m->s, m->db, account, t, &scratch);
			continue;
		}
		if (!t->by_id && ids->n) {
			ok = copy_whole(m->s, m->db, account, t, out); /* the feed names its rows by rowid */
			continue;
		}
		if (!ids->n)
			continue;
		ok = copy_changed(m->s, m->db, account, t, ids, out);
		if (ok && !strcmp(t->name, "projects") && jobs)
			ok = copy_links(m->s, m->db, account, jobs, "project_id", ids, out);
		if (ok && !strcmp(t->name, "threads") && members)
			ok = copy_links(m->s, m->db, account, members, "thread_id", ids, out);
	}
	return ok;
}

/* The account's new feed position in PostgreSQL, in the run's transaction. */
static bool write_position(struct mirror *m)
{
	char host[256] = "", seqtext[24];
	const char *params[5];
	char *source, *sql;
	PGresult *r;

	gethostname(host, sizeof host - 1);
	source = xasprintf("flsync %s on %s: %s", fl_libversion(), host, m->run->db_path ? m->run->db_path : "?");
	snprintf(seqtext, sizeof seqtext, "%lld", (long long)m->latest);
	params[0] = m->run->account;
	params[1] = seqtext;
	params[2] = source;
	params[3] = m->file_id;
	params[4] = m->latest_fp;
	sql = xasprintf("INSERT INTO %s(account, seq, updated_at, source, file_id, fingerprint) "
			"VALUES ($1, $2, now(), $3, $4, $5) "
			"ON CONFLICT (account) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at, "
			"source = excluded.source, file_id = excluded.file_id, fingerprint = excluded.fingerprint",
			m->pos_ident);
	r = pgm_params(m->s, sql, 5, params, "write the feed position");
	free(source);
	free(sql);
	PQclear(r);
	return r != NULL;
}

/* What PostgreSQL now holds, in the file's sync_state: the feed is never pruned past it (fl_changes_prune). */
static void record_position(struct mirror *m)
{
	char *stream = xasprintf("sink.postgres.%s", m->s->schema);
	struct fl_stmt *st;
	int row;

	if (fl_stmt_prepare(m->db, "UPDATE sync_state SET cursor = ?2, last_success = ?3 WHERE stream = ?1", &st) == FL_OK) {
		fl_stmt_bind_text(st, 1, stream, -1);
		fl_stmt_bind_int64(st, 2, m->latest);
		fl_stmt_bind_int64(st, 3, (int64_t)time(NULL));
		if (fl_stmt_step(st, &row) != FL_OK)
			pgm_warn(m->s, "warning: could not record the sink's position in the database: %s",
				 fl_errmsg(m->db));
		fl_stmt_finalize(st);
	}
	free(stream);
}

static void mirror_free(struct mirror *m)
{
	int i;

	for (i = 0; i < m->n; i++)
		free(m->changed[i].v);
	free(m->changed);
	free(m->their_file);
	free(m->their_fp);
	free(m->their_source);
	free(m->our_fp);
	free(m->latest_fp);
	free(m->pos_ident);
}

int pgm_mirror_rows(struct pgm_sink *s, struct fl_db *db, const struct pgm_run *run, const char *file_id,
		    const struct pgm_table *tables, int n, struct pgm_report *out)
{
	struct mirror m = { .s = s, .db = db, .run = run, .file_id = file_id, .tables = tables, .n = n, .pos = -1 };
	int rc = PGM_FAIL;
	bool ok, sqlite_open;

	memset(out, 0, sizeof *out);
	m.changed = calloc((size_t)n, sizeof *m.changed);
	if (!m.changed) {
		pgm_fail(s, "out of memory");
		return PGM_FAIL;
	}
	m.pos_ident = pgm_ident2(s->schema, "sink_position");

	/* The PostgreSQL side: the account locked, its position read, and it is this file's. */
	ok = pgm_exec(s, "BEGIN", "begin") && lock_account(&m, &rc) && read_position(&m) && same_file(&m, &rc);
	/* The SQLite side: one snapshot for the feed and the rows. */
	ok = ok && pgm_db_exec(s, db, "BEGIN");
	sqlite_open = ok;
	ok = read_feed(&m, ok);
	out->from_seq = m.pos;
	out->to_seq = m.latest;
	out->full = full_copy_needed(&m);

	if (ok)
		ok = out->full ? copy_all(&m, out) : copy_feed(&m, out);
	ok = ok && write_position(&m);
	ok = ok ? pgm_exec(s, "COMMIT", "commit") : (pgm_exec(s, "ROLLBACK", "roll back"), false);
	if (sqlite_open && !pgm_db_exec(s, db, "COMMIT"))
		ok = false;
	if (ok) {
		record_position(&m);
		rc = PGM_OK;
	}
	mirror_free(&m);
	return rc;
}

char *pgm_file_id(struct pgm_sink *s, struct fl_db *db)
{
	char *stream = xasprintf("sink.postgres.%s", s->schema), *id = NULL, hex[33];
	unsigned char raw[16];
	struct fl_stmt *st;
	int row = 0, rc, i;

	rc = fl_stmt_prepare(db, "SELECT json_extract(cursor_extra, '$.file_id') FROM sync_state WHERE stream = ?1", &st);
	if (rc == FL_OK) {
		fl_stmt_bind_text(st, 1, stream, -1);
		if ((rc = fl_stmt_step(st, &row)) == FL_OK && row && fl_stmt_column_type(st, 0) == FL_TYPE_TEXT)
			id = xstrdup(fl_stmt_column_text(st, 0, NULL));
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
		id = xstrdup(hex);
out:
	free(stream);
	return id;
}
