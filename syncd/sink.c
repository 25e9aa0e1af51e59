/*
 * sink.c — flsyncd's [sink] postgres: after each pass an account's change
 * feed is mirrored into PostgreSQL (pgmirror, exactly once), and the
 * account's lease there keeps two machines from syncing it at once.  The
 * lease is taken before the account's pass (a daemon that does not get it
 * skips the account and says who has it), beaten while the pass runs (from
 * its progress, on the pass's own thread, at a third of the stale age),
 * checked again by the mirror's own transaction, and given up when
 * flsyncd stops.  A lease lost in the middle of a pass stops that pass at
 * its next batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgmirror.h"
#include "syncd.h"

struct syncd_sink {
	struct pgm_sink *pg;
	char *account;           /* the name in PostgreSQL */
	char holder[256];
	double stale_s;
	bool leased;             /* we hold the lease */
	bool lost;               /* ... and lost it during this pass */
	int64_t beat_ms;         /* the last heartbeat, monotonic */
};

static void sink_log(void *ctx, const char *msg)
{
	struct syncd_account *a = ctx;

	syncd_info(a->progress, "postgres: %s", msg);
}

int syncd_sink_open(struct syncd_account *a, const struct flconf *cfg)
{
	struct pgm_config pc = {
		.conninfo = cfg->sink_postgres, .schema = cfg->sink_schema, .application = "flsyncd",
		.lease_stale_s = (double)cfg->lease_stale_s, .log = sink_log, .log_ctx = a,
	};
	struct syncd_sink *k = calloc(1, sizeof *k);

	if (!k)
		abort();
	k->stale_s = (double)cfg->lease_stale_s;
	if (cfg->holder)
		snprintf(k->holder, sizeof k->holder, "%s", cfg->holder);
	else
		pgm_default_holder(k->holder, sizeof k->holder);
	a->sink = k;
	/* A server down now may be up at the pass: the sink connects again then. */
	if (pgm_open(&pc, &k->pg) != PGM_OK) {
		if (!k->pg)
			abort();
		syncd_error(a->progress, "postgres: %s (trying again at each pass)", pgm_errmsg(k->pg));
	}
	return SYNCD_EXIT_OK;
}

/* The account's name in PostgreSQL: its [account NAME], else what the file says. */
static const char *sink_account(struct syncd_account *a)
{
	struct syncd_sink *k = a->sink;

	if (!k->account)
		k->account = a->name ? strdup(a->name) : pgm_default_account(a->db, a->db_path);
	if (!k->account)
		abort();
	return k->account;
}

int syncd_sink_take(struct syncd_account *a)
{
	struct syncd_sink *k = a->sink;
	struct pgm_lease_info info;
	int rc;

	if (!k)
		return SYNCD_EXIT_OK;
	k->lost = false;
	rc = pgm_lease_take(k->pg, sink_account(a), k->holder, &info);
	if (rc == PGM_LEASE) {
		if (k->leased)
			syncd_error(a->progress, "postgres: the lease of %s went to %s", k->account, info.holder);
		k->leased = false;
		syncd_error(a->progress, "postgres: %s holds the lease of %s (heartbeat %.0f s ago): "
			    "another machine syncs it, skipped", info.holder, k->account, info.age_s);
		return SYNCD_EXIT_LOCKED;
	}
	if (rc != PGM_OK) {
		syncd_error(a->progress, "postgres: cannot take the lease of %s: %s; not syncing it now",
			    k->account, pgm_errmsg(k->pg));
		return rc == PGM_USAGE ? SYNCD_EXIT_USAGE : SYNCD_EXIT_FAIL;
	}
	if (!k->leased)
		syncd_info(a->progress, "postgres: took the lease of %s as %s%s%s", k->account, k->holder,
			   info.taken_over ? ", over from " : "", info.taken_over ? info.holder : "");
	k->leased = true;
	k->beat_ms = syncd_now_ms();
	return SYNCD_EXIT_OK;
}

void syncd_sink_beat(struct syncd_account *a)
{
	struct syncd_sink *k = a->sink;
	int64_t now = syncd_now_ms();

	if (!k || !k->leased || k->lost || (double)(now - k->beat_ms) < k->stale_s * 1000.0 / 3.0)
		return;
	k->beat_ms = now;
	switch (pgm_lease_renew(k->pg, k->account, k->holder)) {
	case PGM_OK:
		return;
	case PGM_LEASE:
		/* Another machine has it now: stop at the next batch, write nothing more. */
		syncd_error(a->progress, "postgres: the lease of %s was taken over; stopping this pass",
			    k->account);
		k->lost = true;
		k->leased = false;
		a->cancel = 1;
		return;
	default:
		/* The mirror's own check decides; the next beat tries again. */
		syncd_error(a->progress, "postgres: heartbeat of %s failed: %s", k->account, pgm_errmsg(k->pg));
	}
}

int syncd_sink_mirror(struct syncd_account *a)
{
	struct syncd_sink *k = a->sink;
	struct pgm_run run = { .account = NULL, .db_path = a->db_path };
	struct pgm_report rep;
	int rc;

	if (!k || k->lost || !k->leased || !a->db)
		return SYNCD_EXIT_OK;
	run.account = sink_account(a);
	run.holder = k->holder;
	rc = pgm_mirror(k->pg, a->db, &run, &rep);
	if (rc == PGM_REFUSED) {
		/* The account was mirrored from another machine's file: this one holds the lease now. */
		run.take_over = true;
		syncd_info(a->progress, "postgres: %s was mirrored from another file; taking it over",
			   run.account);
		rc = pgm_mirror(k->pg, a->db, &run, &rep);
	}
	if (rc == PGM_LEASE) {
		k->leased = false;
		syncd_error(a->progress, "postgres: %s", pgm_errmsg(k->pg));
		return SYNCD_EXIT_LOCKED;
	}
	if (rc != PGM_OK) {
		syncd_error(a->progress, "postgres: mirror of %s failed: %s", run.account, pgm_errmsg(k->pg));
		return SYNCD_EXIT_FAIL;
	}
	k->beat_ms = syncd_now_ms(); /* the mirror's transaction beat the lease */
	syncd_info(a->progress, "postgres: %s%lld rows, %lld deleted, feed %lld -> %lld, %.2f s",
		   rep.full ? "copied in full: " : "", (long long)rep.rows, (long long)rep.deleted,
		   (long long)rep.from_seq, (long long)rep.to_seq, rep.seconds);
	return SYNCD_EXIT_OK;
}

void syncd_sink_close(struct syncd_account *a)
{
	struct syncd_sink *k = a->sink;

	if (!k)
		return;
	if (k->leased && k->account && pgm_lease_release(k->pg, k->account, k->holder) == PGM_OK)
		syncd_info(a->progress, "postgres: gave up the lease of %s", k->account);
	pgm_close(k->pg);
	free(k->account);
	free(k);
	a->sink = NULL;
}
