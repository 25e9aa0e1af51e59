/*
 * sync.c — the pass scheduler: every stream in order (self first, users
 * last), a rate-limited stream deferred while the others run, each stream's
 * outcome recorded in sync_state, the connection tuned for the pass and
 * checkpointed after it, the limiter's state saved for `flsync status`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "idset.h"
#include "sync_internal.h"

static int exec(struct sync_run *run, const char *sql, const char *what)
{
	if (store_exec(run->db, sql, what))
		return error_copy(&run->err, &run->db->err);
	return FL_OK;
}

/* ---- the pass ----------------------------------------------------------- */

void sync_options_default(struct sync_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->safety_lag_s = 30;
	opt->lookback_s = 120;
	opt->page_limit = 100;
	opt->batch_rows = 5000;
	opt->batch_ms = 1000;
	opt->max_window_pages = 100;
	opt->read_ahead = 2;
	opt->users_refresh_s = 86400;
	opt->reference_refresh_s = 86400;
	opt->milestones_all_s = 3600;
	opt->reconcile_every_s = 86400;
	opt->reconcile_lookback_s = 7 * 86400;
	opt->reconcile_slices = 24;
	opt->mass_delete_ratio = 0.2;
	opt->max_attempts = 5;
	opt->retry_base_ms = 500;
}

struct stream_def {
	const char *name;
	int (*run)(struct sync_run *run);
};

/* In order: self first (everything filters on it), users last (they are referenced). */
static const struct stream_def streams[] = {
	{ "self", stream_self },
	{ "webhook_hints", stream_webhook_hints },
	{ "reference", stream_reference },
	{ "actions", stream_actions },
	{ "projects", stream_projects_own },
	{ "projects_market", stream_projects_market },
	{ "bids", stream_bids_own },
	{ "bids_received", stream_bids_on_own_projects },
	{ "projects_refresh", stream_projects_refresh },
	{ "bids_refresh", stream_bids_refresh },
	{ "reviews_to", stream_reviews_to },
	{ "reviews_from", stream_reviews_from },
	{ "threads", stream_threads },
	{ "messages", stream_messages },
	{ "milestones", stream_milestones },
	{ "milestone_requests", stream_milestone_requests },
	{ "users", stream_users },
};
#define NSTREAMS (sizeof streams / sizeof streams[0])

static void run_free(struct sync_run *run)
{
	for (size_t i = 0; i < sizeof run->stmts / sizeof run->stmts[0]; i++) {
		sqlite3_finalize(run->stmts[i]);
		sqlite3_finalize(run->probes[i]);
	}
	idset_free(run->stubbed_users);
	idset_free(run->stubbed_projects);
	idset_free(run->stubbed_currencies);
	idset_free(run->stubbed_jobs);
	idset_free(run->stubbed_bids);
	idset_free(run->stubbed_threads);
	sqlite3_exec(run->db->sql, "DROP TABLE IF EXISTS temp.touched_projects", NULL, NULL, NULL);
	sync_fts_teardown(run);
}

/*
 * What the limiter knows of each endpoint, for `flsync status`: a snapshot
 * into ratelimit_state at the end of every pass.  Best effort: a failure here
 * loses a status display, never data.
 */
static void save_ratelimits(struct sync_run *run)
{
	struct ratelimit_state states[64];
	int64_t now_ms_ = sync_now_ms(), now_unix = (int64_t)time(NULL);
	size_t n = ratelimit_snapshot(run->rl, states, 64, now_ms_);
	sqlite3_stmt *st;

	if (n == 0 || sqlite3_prepare_v2(run->db->sql,
			"INSERT INTO ratelimit_state(endpoint, limit_n, window_s, remaining, paused_until, updated_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(endpoint) DO UPDATE SET limit_n = excluded.limit_n, "
			"window_s = excluded.window_s, remaining = excluded.remaining, "
			"paused_until = excluded.paused_until, updated_at = excluded.updated_at", -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_exec(run->db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		for (size_t i = 0; i < n; i++) {
			const struct ratelimit_state *r = &states[i];

			sqlite3_bind_text(st, 1, r->endpoint, -1, SQLITE_STATIC);
			if (r->limit >= 0)
				sqlite3_bind_int64(st, 2, r->limit);
			if (r->window_s >= 0)
				sqlite3_bind_int64(st, 3, r->window_s);
			if (r->remaining >= 0)
				sqlite3_bind_int64(st, 4, r->remaining);
			/* The limiter's clock is monotonic: translate a pause to wall time. */
			if (r->paused_until_ms > now_ms_)
				sqlite3_bind_int64(st, 5, now_unix + (r->paused_until_ms - now_ms_ + 999) / 1000);
			sqlite3_bind_int64(st, 6, now_unix);
			sqlite3_step(st);
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
		}
		if (sqlite3_exec(run->db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			sqlite3_exec(run->db->sql, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
}

/* The account's id as a pass stored it (users.is_self), or 0. */
static int64_t sync_known_self(struct sync_run *run)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(run->db->sql, "SELECT id FROM users WHERE is_self = 1 AND raw IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		run->self_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return run->self_id;
}

/* Run one stream to its end, an error, or a rate-limit pause. */
static int run_stream(struct sync_run *run, const struct stream_def *def)
{
	int rc = def->run(run);

	if (rc == FL_OK || rc == FL_ERR_RATE_LIMITED || rc == FL_ERR_ABORTED ||
	    rc == FL_ERR_API || rc == FL_ERR_HTTP || rc == FL_ERR_PARSE || rc == FL_ERR_NETWORK ||
	    rc == FL_ERR_TIMEOUT || rc == FL_ERR_NOT_FOUND || rc == FL_ERR_TOO_BIG) {
		/* What was stored is whole and its cursors agree with it: keep it. */
		int crc = sync_tx_maybe_commit(run, true);
		if (crc)
			return crc;
	} else {
		sync_tx_rollback(run);
	}
	return rc;
}

int sync_pass(struct fl_db *db, struct http_client *http, struct ratelimit *rl,
	      const struct sync_options *opt, struct sync_report *out, struct fl_error *err)
{
	struct sync_run run = { .db = db, .http = http, .rl = rl, .opt = opt };
	struct sync_stream_stats stats[NSTREAMS];
	int64_t not_before[NSTREAMS];
	bool finished[NSTREAMS] = { false };
	size_t left = NSTREAMS;
	int rc = FL_OK, first_rc = FL_OK;
	bool indexes_deferred = false;

	memset(out, 0, sizeof *out);
	memset(stats, 0, sizeof stats);
	memset(not_before, 0, sizeof not_before);
	run.stubbed_users = idset_new();
	run.stubbed_projects = idset_new();
	run.stubbed_currencies = idset_new();
	run.stubbed_jobs = idset_new();
	run.stubbed_bids = idset_new();
	run.stubbed_threads = idset_new();
	if (!run.stubbed_users || !run.stubbed_projects || !run.stubbed_currencies || !run.stubbed_jobs ||
	    !run.stubbed_bids || !run.stubbed_threads) {
		run_free(&run);
		return error_set(err, FL_ERR_NOMEM, "sync: out of memory");
	}
	/*
	 * Statement journals and the temp tables stay in memory (on disk they
	 * cost 5x the whole pass); an 8 MB cache holds a batch without
	 * spilling; checkpoints wait for the end of the pass, up to 100,000
	 * pages of WAL (PERFORMANCE.md: +30% on bulk loads).
	 */
	rc = exec(&run, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8000; "
		  "PRAGMA wal_autocheckpoint = 100000", "tune connection for the pass");
	if (rc)
		goto out;
	/*
	 * Indexes a crashed first sync left aside come back before anything
	 * reads them; both steps come before the TEMP objects are made (a
	 * build changes temp_store, which drops them).
	 */
	rc = sync_indexes_restore(&run);
	if (!rc)
		rc = sync_indexes_defer(&run, &indexes_deferred);
	if (!rc)
		rc = exec(&run, "CREATE TEMP TABLE IF NOT EXISTS touched_projects(id INTEGER PRIMARY KEY);"
			  "DELETE FROM temp.touched_projects", "prepare pass");
	if (!rc)
		rc = sync_fts_setup(&run);
	if (rc)
		goto out;

	/*
	 * Targeted reads and the queue only (hints_only), or the queue alone
	 * (actions_only): the account first unless a pass has stored it (the
	 * requests' own responses then tell the server's clock).
	 */
	if (opt->hints_only || opt->actions_only) {
		for (size_t i = 1; i < NSTREAMS; i++) {
			if (strcmp(streams[i].name, "actions") != 0 &&
			    (opt->actions_only || strcmp(streams[i].name, "webhook_hints") != 0)) {
				finished[i] = true;
				left--;
			}
		}
		if (sync_known_self(&run) > 0) {
			finished[0] = true;
			left--;
		}
	}
	while (left > 0) {
		int64_t soonest = INT64_MAX;
		bool ran = false;

		for (size_t i = 0; i < NSTREAMS; i++) {
			/* Until self is known (a 429 defers it too), nothing else may run. */
			bool blocked = i > 0 && !finished[0];
			int64_t at = blocked ? not_before[0] : not_before[i];

			if (finished[i] || blocked || at > sync_now_ms()) {
				if (!finished[i] && at < soonest)
					soonest = at;
				continue;
			}
			ran = true;
			stats[i].name = streams[i].name;
			stats[i].total = -1;
			run.cur = &stats[i];
			error_clear(&run.err);
			rc = run_stream(&run, &streams[i]);
			if (rc == FL_ERR_RATE_LIMITED) {
				/* Not a failure: come back after the others. */
				sync_log(&run, "%s: %s", streams[i].name, run.err.msg);
				not_before[i] = sync_now_ms() + 1000;
				continue;
			}
			finished[i] = true;
			left--;
			if (rc == FL_ERR_ABORTED) {
				sync_progress(&run, true, NULL);
				first_rc = FL_ERR_ABORTED;
				snprintf(out->first_error, sizeof out->first_error, "stopped");
				goto out;
			}
			sync_state_finish(&run, streams[i].name, rc, rc ? run.err.msg : NULL);
			sync_progress(&run, true, rc ? run.err.msg : NULL);
			if (rc == FL_OK) {
				out->streams_ok++;
				continue;
			}
			out->streams_failed++;
			sync_log(&run, "%s failed: %s", streams[i].name, run.err.msg);
			if (first_rc == FL_OK) {
				first_rc = rc;
				out->first_http_status = run.last_status;
				snprintf(out->first_error, sizeof out->first_error, "%s: %.480s",
					 streams[i].name, run.err.msg);
			}
			if (i == 0 || rc == FL_ERR_DB || rc == FL_ERR_IO || rc == FL_ERR_READONLY ||
			    rc == FL_ERR_NOMEM || rc == FL_ERR_BUSY)
				goto out; /* no self, or no database: nothing else can work */
		}
		if (!ran && left > 0)
			sync_nap(&run, soonest - sync_now_ms());
		if (sync_stopping(&run)) {
			first_rc = FL_ERR_ABORTED;
			snprintf(out->first_error, sizeof out->first_error, "stopped");
			break;
		}
	}
out:
	sync_tx_rollback(&run); /* nothing should be open; never leave a transaction */
	if (indexes_deferred && sync_indexes_restore(&run) != FL_OK) {
		/* The rows are stored; the next pass builds the indexes again. */
		sync_log(&run, "%s", run.err.msg);
		if (first_rc == FL_OK && rc == FL_OK) {
			first_rc = run.err.rc;
			snprintf(out->first_error, sizeof out->first_error, "%.500s", run.err.msg);
		}
	}
	save_ratelimits(&run);
	exec(&run, "PRAGMA wal_checkpoint(PASSIVE); PRAGMA wal_autocheckpoint = 1000", "checkpoint");
	out->rows = run.rows_total;
	out->requests = run.requests_total;
	out->server_now = run.server_now;
	run_free(&run);
	if (first_rc != FL_OK)
		return error_set(err, first_rc, "%s", out->first_error);
	if (rc)
		return error_copy(err, &run.err);
	error_clear(err);
	return FL_OK;
}

