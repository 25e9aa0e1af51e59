/*
 * pgmirror.h — the PostgreSQL mirror of flsync databases, as a library for
 * the programs that run it (`flsync pgsync` once, flsyncd after each pass).
 *
 * It reads an account's SQLite file only through libflsync's public API and
 * writes PostgreSQL through libpq.  A sink is one PostgreSQL connection and
 * one schema; pgm_mirror() brings one account's rows up to date in one
 * PostgreSQL transaction (exactly once: a crash anywhere leaves the mirror
 * at the old position or the new).  Account leases (lease.c) keep two
 * machines from syncing the same account: a mirror run given a holder
 * writes only while that holder holds the account's lease, checked in the
 * same transaction.
 *
 * Every call returns a PGM_* code; pgm_errmsg() says what failed.  Nothing
 * here prints, exits or aborts but on exhausted memory; notices (the run
 * goes on) go to the log callback.  A sink is used by one thread at a time.
 */
#ifndef PGMIRROR_H
#define PGMIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flsync.h"

enum {
	PGM_OK = 0,
	PGM_FAIL = 1,       /* the run failed: nothing of it is kept (PostgreSQL, SQLite, network) */
	PGM_USAGE = 2,      /* a bad argument (schema or account name, stale age) */
	PGM_LEASE = 3,      /* another holder has the account's lease: not synced, nothing written */
	PGM_REFUSED = 4,    /* the account is mirrored from another database file (see take_over) */
};

/*
 * What a run says along the way without failing: a lease taken over from a
 * stale holder, "warning: could not record the sink's position ...".
 */
typedef void pgm_log_fn(void *ctx, const char *msg);

struct pgm_config {
	const char *conninfo;      /* a libpq connection string or URI */
	const char *schema;        /* NULL: "flsync" */
	const char *application;   /* application_name; NULL: "flsync" */
	double lease_stale_s;      /* a lease whose heartbeat is older may be taken over; 0: 60 */
	pgm_log_fn *log;           /* NULL: such messages are dropped */
	void *log_ctx;
};

struct pgm_sink;

/*
 * Connect and check the server (a UTF8 database).  *out is set even on
 * failure (NULL only when out of memory), so pgm_errmsg() can say why; close
 * it either way.  A lost connection is made again by the next call.
 */
int pgm_open(const struct pgm_config *cfg, struct pgm_sink **out);
void pgm_close(struct pgm_sink *s);
const char *pgm_errmsg(const struct pgm_sink *s);  /* "" when the last call succeeded */
const char *pgm_schema(const struct pgm_sink *s);

/* One run's options. */
struct pgm_run {
	const char *account;       /* whose rows (required): the value of every row's `account` */
	const char *db_path;       /* where the rows come from, for the record (may be NULL) */
	bool take_over;            /* mirror this file under an account another file was mirrored as */
	const char *holder;        /* NULL: no lease; else write only while this holder holds the lease */
};

/* What one run did. */
struct pgm_report {
	bool full;                 /* copied everything (first run, or the feed was pruned past the sink) */
	int64_t from_seq, to_seq;  /* the feed position before and after */
	int64_t rows;              /* rows written (copied or upserted) */
	int64_t deleted;           /* rows deleted in PostgreSQL */
	double seconds;
};

/*
 * Bring run->account's rows in the sink's schema up to date from db's
 * change feed (creating and migrating the schema first), then record in db
 * (sync_state "sink.postgres.SCHEMA") what PostgreSQL confirmed, which
 * fl_changes_prune() never prunes past.  db must be open read-write.
 * PGM_LEASE (with who holds it in the message) when run->holder is set and
 * does not hold the account's lease at the moment of writing.
 */
int pgm_mirror(struct pgm_sink *s, struct fl_db *db, const struct pgm_run *run, struct pgm_report *out);

/*
 * The default account name for a file: the self user's username as the
 * database knows it, else the file's name without ".db".  Caller frees;
 * NULL when out of memory.
 */
char *pgm_default_account(struct fl_db *db, const char *db_path);

/* ---- account leases (lease.c) --------------------------------------------- */

/* Who holds a lease, as pgm_lease_take() found it. */
struct pgm_lease_info {
	char holder[256];          /* "" when nobody does */
	double age_s;              /* seconds since its heartbeat, by PostgreSQL's clock */
	bool taken_over;           /* we took it from a stale holder (named in holder) */
};

/*
 * Take the account's lease for holder, or renew it if holder has it; a
 * lease whose heartbeat is older than the sink's lease_stale_s is taken
 * over.  PostgreSQL's clock (now()) decides, never the local one.  PGM_OK
 * when holder now holds it; PGM_LEASE when another does (info says who and
 * how long ago it beat), or is taking or renewing it at this moment.  info
 * may be NULL.
 */
int pgm_lease_take(struct pgm_sink *s, const char *account, const char *holder, struct pgm_lease_info *info);
/* The heartbeat: PGM_OK, or PGM_LEASE when holder no longer holds the lease. */
int pgm_lease_renew(struct pgm_sink *s, const char *account, const char *holder);
/* Give the lease up (nothing when holder does not hold it). */
int pgm_lease_release(struct pgm_sink *s, const char *account, const char *holder);
/*
 * Who holds the account's lease, read without taking or locking it (for a
 * status display): info->holder "" when nobody does.  PGM_OK or PGM_FAIL.
 */
int pgm_lease_get(struct pgm_sink *s, const char *account, struct pgm_lease_info *info);
/* "hostname:pid" into buf: a holder id that is stable for this process. */
void pgm_default_holder(char *buf, size_t n);

#endif
