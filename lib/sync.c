/*
 * sync.c — the pass scheduler: the streams, each started once the streams
 * whose rows it needs have finished (self first, the queue of actions next,
 * then everything read from the API side by side; stubs read by id,
 * milestones of touched projects and users after what they need).  Each
 * stream runs on a thread of the pass;
 * one at a time holds the database (the writer lock), letting go while it
 * waits for the network, so requests overlap and SQLite stays one writer.
 * A rate-limited stream is deferred while the others run; each stream's
 * outcome is recorded in sync_state; the connection is tuned for the pass
 * and checkpointed after it; the limiter's state saved for `flsync status`.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idset.h"
#include "sync_internal.h"

/* ---- the pass ----------------------------------------------------------- */

/* The streams, by their place in streams[]. */
enum {
	S_SELF, S_ACTIONS, S_HINTS, S_REFERENCE, S_PROJECTS, S_MARKET, S_BIDS, S_BIDS_RECEIVED,
	S_REVIEWS_TO, S_REVIEWS_FROM, S_PROJECTS_REFRESH, S_BIDS_REFRESH, S_MILESTONES, S_MILESTONE_REQUESTS,
	S_THREADS, S_MESSAGES, S_USERS, S_REFRESH
};
#define B(s) (1u << (s))

/* What a stream needs stored before it starts (the pass's own work, read from the tables). */
#define AFTER_START (B(S_SELF) | B(S_ACTIONS))
/* Every read that notes a project (a stub to read, or one whose milestones to read again). */
#define AFTER_PROJECTS (AFTER_START | B(S_HINTS) | B(S_PROJECTS) | B(S_MARKET) | B(S_BIDS) | \
			B(S_BIDS_RECEIVED) | B(S_REVIEWS_TO) | B(S_REVIEWS_FROM))

struct stream_def {
	const char *name;
	int (*run)(struct sync_run *run);
	unsigned after;     /* starts once these have finished (B() of their places) */
};

/*
 * The account first (everything filters on it), the queue next (reads see
 * what it wrote); then every read of the API side by side, and as soon as
 * what they need is stored: stubs of projects and bids read by id, the
 * milestones of touched projects, the users everything names, and the
 * daily refresh of every record last, behind the pass's own reads.  In
 * this order one at a time (sync.max_in_flight 1); side by side, a stream's
 * requests go before those of the streams after it, so what others wait
 * for comes first and the long reads nothing waits for (threads,
 * messages) fill the slots left.
 */
static const struct stream_def streams[] = {
	[S_SELF] = { "self", stream_self, 0 },
	[S_ACTIONS] = { "actions", stream_actions, B(S_SELF) },
	[S_HINTS] = { "webhook_hints", stream_webhook_hints, AFTER_START },
	[S_REFERENCE] = { "reference", stream_reference, AFTER_START },
	[S_PROJECTS] = { "projects", stream_projects_own, AFTER_START },
	[S_MARKET] = { "projects_market", stream_projects_market, AFTER_START },
	[S_BIDS] = { "bids", stream_bids_own, AFTER_START },
	[S_BIDS_RECEIVED] = { "bids_received", stream_bids_on_own_projects, AFTER_START },
	[S_REVIEWS_TO] = { "reviews_to", stream_reviews_to, AFTER_START },
	[S_REVIEWS_FROM] = { "reviews_from", stream_reviews_from, AFTER_START },
	[S_PROJECTS_REFRESH] = { "projects_refresh", stream_projects_refresh, AFTER_PROJECTS },
	[S_BIDS_REFRESH] = { "bids_refresh", stream_bids_refresh, AFTER_PROJECTS },
	[S_MILESTONES] = { "milestones", stream_milestones,
			   AFTER_PROJECTS | B(S_PROJECTS_REFRESH) | B(S_BIDS_REFRESH) },
	[S_MILESTONE_REQUESTS] = { "milestone_requests", stream_milestone_requests,
				   AFTER_PROJECTS | B(S_PROJECTS_REFRESH) | B(S_BIDS_REFRESH) },
	[S_THREADS] = { "threads", stream_threads, AFTER_START },
	[S_MESSAGES] = { "messages", stream_messages, AFTER_START },
	[S_USERS] = { "users", stream_users, B(S_USERS) - 1 },
	[S_REFRESH] = { "refresh", stream_refresh, B(S_REFRESH) - 1 },
};
#define NSTREAMS (sizeof streams / sizeof streams[0])

/* ---- one writer at a time ------------------------------------------------ */

void sync_yield(struct sync_run *run)
{
	pthread_mutex_unlock(&run->sh->writer);
}

int sync_resume(struct sync_run *run)
{
	pthread_mutex_lock(&run->sh->writer);
	if (sync_fatal(run->sh))
		return error_set(&run->err, FL_ERR_ABORTED, "stopped: the batch was lost");
	return FL_OK;
}

static void run_free(struct sync_run *run)
{
	struct sync_shared *sh = run->sh;

	sync_fetch_stop(run);
	for (size_t i = 0; i < sizeof sh->stmts / sizeof sh->stmts[0]; i++) {
		sqlite3_finalize(sh->stmts[i]);
		sqlite3_finalize(sh->probes[i]);
	}
	for (size_t i = 0; i < sizeof sh->stubbed / sizeof sh->stubbed[0]; i++)
		idset_free(sh->stubbed[i]);
	sqlite3_exec(run->db->sql, "DROP TABLE IF EXISTS temp.touched_projects", NULL, NULL, NULL);
	sync_fts_teardown(run);
	sync_replies_teardown(run);
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


/* ---- streams side by side ------------------------------------------------ */

enum task_state { TASK_WAITING, TASK_RUNNING, TASK_ENDED, TASK_FINISHED };

struct task {
	const struct stream_def *def;
	struct sync_run run;             /* the stream's own (a copy of the pass's base) */
	struct sync_stream_stats stats;
	enum task_state state;
	int64_t not_before;              /* a rate-limited stream comes back then */
	int rc;
	pthread_t thread;
	struct sched *sched;
};

struct sched {
	struct sync_run *base;
	struct task tasks[NSTREAMS];
	pthread_mutex_t mu;
	pthread_cond_t cv;               /* a task ended */
	int running;
	int64_t self_id, server_now, pass_started;
	bool self_early;                 /* the account and the clock known: self runs beside the reads */
	char first_error[FL_ERRMSG_MAX]; /* the first failing stream's error */
};

/* What a stream left in the batch: kept when whole; a lost batch stops the pass. */
static int stream_close(struct sync_run *run, int rc)
{
	struct sync_shared *sh = run->sh;
	int crc;

	if (sync_fatal(sh))
		return rc ? rc : error_set(&run->err, FL_ERR_ABORTED, "stopped: the batch was lost");
	if (rc == FL_ERR_DB || rc == FL_ERR_IO || rc == FL_ERR_READONLY || rc == FL_ERR_NOMEM ||
	    rc == FL_ERR_BUSY) {
		/* The database failed: what no commit covers goes, for every stream. */
		sync_tx_rollback(run);
		sync_set_fatal(sh);
		return rc;
	}
	/* Every page is stored whole (a failed one rolled back to its savepoint). */
	crc = sync_tx_maybe_commit(run, true);
	if (crc) {
		sync_set_fatal(sh);
		return rc ? rc : crc;
	}
	return rc;
}

/* Run one stream to its end, an error, or a rate-limit pause; holds the writer meanwhile. */
static void *task_main(void *arg)
{
	struct task *t = arg;
	struct sync_run *run = &t->run;
	int rc;

	pthread_mutex_lock(&run->sh->writer);
	error_clear(&run->err);
	rc = sync_fatal(run->sh) ? error_set(&run->err, FL_ERR_ABORTED, "stopped: the batch was lost")
			    : t->def->run(run);
	rc = stream_close(run, rc);
	if (rc == FL_ERR_RATE_LIMITED) {
		sync_log(run, "%s: %s", t->def->name, run->err.msg);
	} else if (rc != FL_ERR_ABORTED) {
		sync_state_finish(run, t->def->name, rc, rc ? run->err.msg : NULL);
		sync_progress(run, true, rc ? run->err.msg : NULL);
		if (rc)
			sync_log(run, "%s failed: %s", t->def->name, run->err.msg);
	} else {
		sync_progress(run, true, NULL);
	}
	if (!run->sh->server_now && run->server_now)
		run->sh->server_now = run->server_now;
	pthread_mutex_unlock(&run->sh->writer);

	pthread_mutex_lock(&t->sched->mu);
	t->rc = rc;
	t->state = TASK_ENDED;
	t->sched->running--;
	pthread_cond_broadcast(&t->sched->cv);
	pthread_mutex_unlock(&t->sched->mu);
	return NULL;
}

/* Start t on a thread of its own (with the signals blocked: they are the application's). */
static int task_start(struct sched *sc, struct task *t)
{
	sigset_t all, old;
	int rc;

	t->run = *sc->base;
	t->run.self_id = sc->self_id;
	t->run.server_now = sc->server_now;
	t->run.pass_started = sc->pass_started;
	error_clear(&t->run.err);
	t->stats.name = t->def->name;
	t->stats.total = -1;
	t->run.cur = &t->stats;
	t->run.prio = (int)(t - sc->tasks);
	t->state = TASK_RUNNING;
	sc->running++;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, task_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		t->state = TASK_WAITING;
		sc->running--;
		return error_set(&sc->base->err, FL_ERR_NOMEM, "no thread could be started for %s", t->def->name);
	}
	return FL_OK;
}

/* Every stream has finished. */
static bool all_finished(const struct sched *sc)
{
	for (size_t i = 0; i < NSTREAMS; i++)
		if (sc->tasks[i].state != TASK_FINISHED)
			return false;
	return true;
}

/* What stream i needs has finished. */
static bool task_may_start(const struct sched *sc, size_t i)
{
	unsigned after = streams[i].after;

	if (sc->self_early && i != S_USERS && i != S_REFRESH)
		after &= ~B(S_SELF);
	for (size_t j = 0; j < NSTREAMS; j++)
		if ((after & B(j)) && sc->tasks[j].state != TASK_FINISHED)
			return false;
	return true;
}

/*
 * Start what may start now, at most as many streams as requests may be in
 * flight (one at a time with one); when to look again.
 */
static int64_t start_due(struct sched *sc, int most)
{
	int64_t now = sync_now_ms(), soonest = INT64_MAX;

	for (size_t i = 0; i < NSTREAMS; i++) {
		struct task *t = &sc->tasks[i];

		if (t->state != TASK_WAITING || !task_may_start(sc, i))
			continue;
		if (t->not_before > now) {
			soonest = t->not_before < soonest ? t->not_before : soonest;
			continue;
		}
		if (sc->running >= most)
			break;
		if (task_start(sc, t))
			break;
	}
	return soonest;
}

/* An ended task: deferred by a rate limit, or finished (into the report). */
static void task_collect(struct sched *sc, struct task *t, struct fl_sync_report *out, int *first_rc)
{
	int rc = t->rc;

	pthread_join(t->thread, NULL);
	if (rc == FL_ERR_RATE_LIMITED && !sync_fatal(sc->base->sh)) {
		t->state = TASK_WAITING;
		t->not_before = sync_now_ms() + 1000; /* not a failure: come back after the others */
		return;
	}
	t->state = TASK_FINISHED;
	if (t == &sc->tasks[0]) {
		sc->self_id = t->run.self_id;
		sc->server_now = t->run.server_now;
		sc->pass_started = t->run.pass_started;
	}
	if (rc == FL_OK) {
		out->streams_ok++;
		return;
	}
	if (rc == FL_ERR_ABORTED && (sync_stopping(sc->base) || sync_fatal(sc->base->sh))) {
		/* Stopped by the caller, or by another stream's failure, which the report names. */
		if (*first_rc == FL_OK && sync_stopping(sc->base)) {
			*first_rc = FL_ERR_ABORTED;
			snprintf(sc->first_error, sizeof sc->first_error, "stopped");
		}
		return;
	}
	out->streams_failed++;
	if (*first_rc == FL_OK) {
		*first_rc = rc;
		out->http_status = t->run.last_status;
		snprintf(sc->first_error, sizeof sc->first_error, "%s: %.480s", t->def->name, t->run.err.msg);
	}
	if (t == &sc->tasks[0])
		sync_set_fatal(sc->base->sh); /* no self: nothing else can work */
}

/* Run the streams to their ends; returns the first failure's code. */
static int run_streams(struct sched *sc, struct fl_sync_report *out)
{
	struct sync_run *base = sc->base;
	int most = base->opt->max_in_flight > 1 ? base->opt->max_in_flight : 1;
	int first_rc = FL_OK;

	pthread_mutex_lock(&sc->mu);
	for (;;) {
		bool stop = sync_fatal(base->sh) || first_rc == FL_ERR_ABORTED || sync_stopping(base);
		int64_t soonest = INT64_MAX, now;
		struct timespec ts;

		for (size_t i = 0; i < NSTREAMS; i++)
			if (sc->tasks[i].state == TASK_ENDED)
				task_collect(sc, &sc->tasks[i], out, &first_rc);
		stop = sync_fatal(base->sh) || first_rc == FL_ERR_ABORTED || sync_stopping(base);
		if (!stop)
			soonest = start_due(sc, most);
		if (sc->running == 0 && (stop || all_finished(sc)))
			break;
		if (sc->running == 0 && soonest == INT64_MAX) {
			error_set(&base->err, FL_ERR_NOMEM, "no thread could be started for the streams");
			if (first_rc == FL_OK)
				first_rc = FL_ERR_NOMEM;
			break;
		}
		now = sync_now_ms();
		if (soonest > now + 100)
			soonest = now + 100; /* look at the stop flag meanwhile */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (soonest - now) / 1000;
		ts.tv_nsec += (long)((soonest - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
	}
	pthread_mutex_unlock(&sc->mu);
	if (first_rc == FL_OK && sync_stopping(base)) {
		first_rc = FL_ERR_ABORTED;
		snprintf(sc->first_error, sizeof sc->first_error, "stopped");
	}
	return first_rc;
}

/* The change feed's end before the streams store anything (the webhook signal counts from it). */
static int64_t pass_feed_end(struct sync_run *run)
{
	sqlite3_stmt *st;
	int64_t seq = -1;

	if (sqlite3_prepare_v2(run->db->sql, "SELECT coalesce(max(seq), 0) FROM changes", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return seq;
}

/* The connection tuned, indexes set aside on a first load, the pass's TEMP objects. */
static int pass_prepare(struct sync_run *run, bool *indexes_deferred)
{
	struct sync_shared *sh = run->sh;
	int rc;

	for (size_t i = 0; i < sizeof sh->stubbed / sizeof sh->stubbed[0]; i++)
		if (!(sh->stubbed[i] = idset_new()))
			return error_set(&run->err, FL_ERR_NOMEM, "sync: out of memory");
	/*
	 * Statement journals and the temp tables stay in memory (on disk they
	 * cost 5x the whole pass); an 8 MB cache holds a batch without
	 * spilling; checkpoints wait for the end of the pass, up to 100,000
	 * pages of WAL (+30% on bulk loads; docs/internals/performance.md).
	 */
	rc = sync_exec(run, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8000; "
		  "PRAGMA wal_autocheckpoint = 100000", "tune connection for the pass");
	if (rc)
		return rc;
	/*
	 * Indexes a crashed first sync left aside come back before anything
	 * reads them; both steps come before the TEMP objects are made (a
	 * build changes temp_store, which drops them).
	 */
	rc = sync_indexes_restore(run);
	if (!rc)
		rc = sync_indexes_defer(run, indexes_deferred);
	if (!rc)
		rc = sync_exec(run, "CREATE TEMP TABLE IF NOT EXISTS touched_projects(id INTEGER PRIMARY KEY);"
			  "DELETE FROM temp.touched_projects", "prepare pass");
	if (!rc)
		rc = sync_fts_setup(run);
	if (!rc)
		rc = sync_replies_setup(run);
	if (!rc)
		rc = sync_fetch_start(run);
	sh->feed_seq = pass_feed_end(run);
	return rc;
}

int sync_pass(struct fl_db *db, struct http_client *http, struct ratelimit *rl,
	      const struct sync_options *opt, struct fl_sync_report *out, struct fl_error *err)
{
	struct sync_shared sh = { .writer = PTHREAD_MUTEX_INITIALIZER };
	struct sync_run run = { .db = db, .http = http, .rl = rl, .opt = opt, .sh = &sh,
				.local_started = (int64_t)time(NULL) };
	struct sched *sc = calloc(1, sizeof *sc);
	int rc, first_rc = FL_OK;
	bool indexes_deferred = false;

	memset(out, 0, sizeof *out);
	if (!sc)
		return error_set(err, FL_ERR_NOMEM, "sync: out of memory");
	sc->base = &run;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cv, NULL);
	for (size_t i = 0; i < NSTREAMS; i++) {
		sc->tasks[i].def = &streams[i];
		sc->tasks[i].sched = sc;
	}
	rc = pass_prepare(&run, &indexes_deferred);
	if (rc)
		goto out;
	/*
	 * Targeted reads and the queue only (hints_only), or the queue alone
	 * (actions_only): the account first unless a pass has stored it (the
	 * requests' own responses then tell the server's clock).
	 */
	if (opt->hints_only || opt->actions_only) {
		for (size_t i = 1; i < NSTREAMS; i++)
			if (strcmp(streams[i].name, "actions") != 0 &&
			    (opt->actions_only || strcmp(streams[i].name, "webhook_hints") != 0))
				sc->tasks[i].state = TASK_FINISHED;
		if ((sc->self_id = sync_known_self(&run)) > 0)
			sc->tasks[0].state = TASK_FINISHED;
	}
	/*
	 * The account stored and the server's clock known a moment ago (a
	 * check): the windows need not wait for self's request, which runs
	 * beside them and still refreshes the account.
	 */
	if (!opt->hints_only && !opt->actions_only && opt->clock_date > 0 &&
	    (sc->self_id = sync_known_self(&run)) > 0) {
		sc->server_now = sc->pass_started = opt->clock_date + (sync_now_ms() - opt->clock_ms) / 1000;
		sc->self_early = true;
		sync_log(&run, "the server's clock from the check: self is read beside the windows");
	}
	first_rc = run_streams(sc, out);
out:
	sync_tx_rollback(&run); /* nothing should be open; never leave a transaction */
	if (indexes_deferred && sync_indexes_restore(&run) != FL_OK) {
		/* The rows are stored; the next pass builds the indexes again. */
		sync_log(&run, "%s", run.err.msg);
		if (first_rc == FL_OK && rc == FL_OK) {
			first_rc = run.err.rc;
			snprintf(sc->first_error, sizeof sc->first_error, "%.500s", run.err.msg);
		}
	}
	save_ratelimits(&run);
	sync_exec(&run, "PRAGMA wal_checkpoint(PASSIVE); PRAGMA wal_autocheckpoint = 1000", "checkpoint");
	out->rows = sh.rows_total;
	out->requests = sh.requests_total;
	out->server_now = sh.server_now ? sh.server_now : sc->server_now;
	out->max_in_flight = sync_fetch_max_in_flight(&run);
	run_free(&run);
	if (first_rc != FL_OK)
		error_set(err, first_rc, "%s", sc->first_error);
	pthread_cond_destroy(&sc->cv);
	pthread_mutex_destroy(&sc->mu);
	free(sc);
	if (first_rc != FL_OK)
		return first_rc;
	if (rc)
		return error_copy(err, &run.err);
	error_clear(err);
	return FL_OK;
}
