/*
 * internal.h — what pgmirror's files share: the sink (connection, schema,
 * the last error), table shapes read from the SQLite file, and helpers
 * (errors, identifiers, statements; allocation is util/xalloc.h's).
 * schema.c creates and migrates the mirror's schema, mirror.c moves one
 * account's rows through copy.c's COPY stream, lease.c keeps account
 * leases, sink.c opens sinks and runs a mirror.
 */
#ifndef PGMIRROR_INTERNAL_H
#define PGMIRROR_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pgmirror.h"
#include "xalloc.h"   /* xmalloc, xrealloc, xstrdup, xasprintf */

struct pgm_sink {
	PGconn *pg;
	char *conninfo;
	char *schema;
	char *application;
	double lease_stale_s;
	pgm_log_fn *log;
	void *log_ctx;
	bool leases_ready;         /* the leases table is known to be there */
	char err[1024];            /* the first failure of the current call */
};

/* The tables mirrored, in an order that suits foreign readers (parents first). */
extern const char *const pgm_tables[];
extern const int pgm_table_count;

/* A mirrored table's shape, read from the SQLite file. */
struct pgm_column {
	char *name;
	char type;        /* 'i' integer, 'r' real, 't' text, 'b' blob; typed for BI:
	                     'T' unix seconds as timestamptz, 'B' a 0/1 flag as boolean,
	                     'J' JSON text as jsonb */
};
struct pgm_table {
	const char *name;
	struct pgm_column *cols;
	int ncols;
	char **pk;         /* the SQLite primary key's columns */
	int npk;
	bool by_id;        /* the change feed names rows by this table's id */
};

/* ---- util.c --------------------------------------------------------------- */

/* Record a failure (the first of a call is kept); always false. */
bool pgm_fail(struct pgm_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "what: <libflsync's message>"; always false. */
bool pgm_db_fail(struct pgm_sink *s, struct fl_db *db, int rc, const char *what);
void pgm_warn(struct pgm_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "name" quoted for PostgreSQL, and "schema"."name" (caller frees). */
char *pgm_quote(const char *s);
char *pgm_ident2(const char *schema, const char *name);

/* Run sql (no parameters); false with "what: <server's message>". */
bool pgm_exec(struct pgm_sink *s, const char *sql, const char *what);
/*
 * Run sql with n text parameters; its result when the status is ok
 * (PQclear it), else NULL with "what: <server's message>".
 */
PGresult *pgm_params(struct pgm_sink *s, const char *sql, int n, const char *const *params, const char *what);
/* Run sql (no result rows wanted) on db; false with the message. */
bool pgm_db_exec(struct pgm_sink *s, struct fl_db *db, const char *sql);

/* ---- sink.c ----------------------------------------------------------------- */

/* A usable, idle connection: made, or made again after it was lost. */
bool pgm_connected(struct pgm_sink *s);

/* ---- schema.c --------------------------------------------------------------- */

/* Read table `name`'s shape from db. */
bool pgm_table_read(struct pgm_sink *s, struct fl_db *db, const char *name, struct pgm_table *out);
void pgm_table_free(struct pgm_table *t);

/*
 * Create the schema, every table in tables[] (adding columns the SQLite
 * file has and PostgreSQL lacks), the sink's position table, the leases and
 * the views, under an advisory lock so that machines sharing the database
 * do not race.  Runs in its own transaction.
 */
bool pgm_schema_sync(struct pgm_sink *s, const struct pgm_table *tables, int n);
/* The leases table alone (lease.c calls it before a first take). */
bool pgm_schema_leases(struct pgm_sink *s);

/* ---- copy.c ------------------------------------------------------------------ */

/* A COPY ... FROM STDIN under way: its buffer, and whether a row failed. */
struct copy {
	struct pgm_sink *s;
	PGconn *pg;
	char *buf;
	size_t len, cap;
	bool failed;
	int64_t rows;
};

/* Start COPY target (columns) FROM STDIN. */
bool pgm_copy_begin(struct copy *c, struct pgm_sink *s, const char *target, const char *columns);
/* End the COPY; false when it or any row failed. */
bool pgm_copy_end(struct copy *c);
/* One line of COPY text as it is (a number and its newline, say). */
void pgm_copy_put(struct copy *c, const char *s, size_t n);
/* Copy the rows of `SELECT cols FROM t WHERE where` (binding ?1 to arg, when set) into c. */
bool pgm_copy_rows(struct fl_db *db, struct copy *c, const char *account, const struct pgm_table *t,
		   const char *where, const char *arg);
/* The column list of t, quoted: "account", "id", ... (with_account) or without; each after prefix. */
char *pgm_column_list(const struct pgm_table *t, bool with_account, const char *prefix);

/* ---- mirror.c ----------------------------------------------------------------- */

/*
 * Bring the account's rows up to date from db's change feed, in one
 * PostgreSQL transaction that also moves the account's feed position, so a
 * crash anywhere leaves PostgreSQL at the old position or the new, never
 * between.  file_id names this database file (pgm_file_id()): the position
 * is followed only from the same file, and only while the change it points
 * at is the one mirrored; otherwise everything is copied anew.  Another
 * file's mirror of the account is refused (PGM_REFUSED) unless take_over.
 * With a holder, the account's lease is checked (and its heartbeat moved)
 * in the same transaction: PGM_LEASE when holder does not hold it.  Then
 * records the confirmed position in db's sync_state.
 */
int pgm_mirror_rows(struct pgm_sink *s, struct fl_db *db, const struct pgm_run *run, const char *file_id,
		    const struct pgm_table *tables, int n, struct pgm_report *out);

/*
 * This file's identity for the mirror in the schema, made (random) and kept
 * in its sync_state row "sink.postgres.SCHEMA" on first use; caller frees.
 * NULL when the file cannot be written.
 */
char *pgm_file_id(struct pgm_sink *s, struct fl_db *db);

/* ---- lease.c -------------------------------------------------------------------- */

/*
 * Inside an open transaction: holder still holds the account's lease (its
 * row is locked until the transaction ends, and its heartbeat moves), else
 * PGM_LEASE naming who does.  PGM_FAIL on a server error.
 */
int pgm_lease_check(struct pgm_sink *s, const char *account, const char *holder);

#endif
