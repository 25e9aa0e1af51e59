/*
 * schedule.c — flsyncd's scheduler: what runs next for each account, and
 * when.  It is the only place that decides.
 *
 * Each account has one queue of reasons to run: a bitmask of pending
 * reasons (SCHED_*), set by whoever has a reason — the interval coming
 * round (here), a webhook delivery (webhook.c), an action ready to send
 * (the account's queue watcher, below), SIGUSR1 or a reload (signals.c) —
 * under one mutex, with one condition variable that wakes the scheduler.
 * When a round starts, the scheduler takes the account's whole mask and
 * clears it in the same critical section, so whatever arrives while the
 * round runs sets its bit again and causes another round after it: no
 * reason is ever lost, however the arrivals and the round interleave.
 *
 * What a round runs follows from the reasons it took:
 *   a whole pass (fl_sync_run) when any of SCHED_PASS (the interval or a
 *     back-off came round), SCHED_EARLY (a delivery nothing maps, SIGUSR1,
 *     a reload), SCHED_RECONCILE or SCHED_REFRESH (room for a deep re-read
 *     and a daily refresh as ordinary passes) is among them; it covers the
 *     hints and the queue too;
 *   else the deliveries' targeted reads and the queue (fl_sync_run_hints)
 *     for SCHED_HINTS;
 *   else the queue alone (fl_sync_run_actions) for SCHED_ACTIONS.
 * Only whole passes move the account's next poll (an interval later, or a
 * back-off after a failure); the short rounds leave it as it was.
 *
 * Each account's rounds run on a thread of their own, at most
 * max_parallel accounts at once, taken round robin so none starves; the
 * first passes are staggered so that N accounts never fire together.  An
 * account that fails, is rate-limited or loses its sign-in never holds up
 * the others.  Each account also has a queue watcher thread: it sleeps in
 * fl_actions_wait() on its own database handle, so an action queued by
 * any process wakes it within moments, posts SCHED_ACTIONS, and waits for
 * a round that started after its post to end before it looks again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncd.h"

#define STAGGER_MAX_MS 50        /* between the first passes of two accounts */
#define BACKOFF_BASE_S 30        /* after a failed pass, doubled per failure in a row */
#define WATCH_SLICE_MS 1000      /* a queue watcher looks at the stop flag this often */
#define WATCH_BACKOFF_MAX_S 60   /* after rounds that failed, between the watcher's posts */

static pthread_mutex_t sched_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sched_cv;       /* CLOCK_MONOTONIC: a reason was posted, a round ended */
static volatile sig_atomic_t stop_requested; /* SIGTERM/SIGINT: finish the batch, exit 0 */
static bool reload_requested;         /* SIGHUP: re-read the config between rounds */
static bool early_requested;          /* SIGUSR1: a whole pass now, every account */

void syncd_schedule_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sched_cv, &ca);
	pthread_condattr_destroy(&ca);
}

const volatile sig_atomic_t *syncd_stop_flag(void)
{
	return &stop_requested;
}

void syncd_schedule_signal(enum syncd_signal what)
{
	pthread_mutex_lock(&sched_mu);
	if (what == SYNCD_SIGNAL_STOP)
		stop_requested = 1;
	else if (what == SYNCD_SIGNAL_RELOAD)
		reload_requested = true;
	else
		early_requested = true;
	pthread_cond_broadcast(&sched_cv);
	pthread_mutex_unlock(&sched_mu);
}

void syncd_schedule_post(struct syncd_account *a, unsigned reasons)
{
	pthread_mutex_lock(&sched_mu);
	a->pending |= reasons;
	pthread_cond_broadcast(&sched_cv);
	pthread_mutex_unlock(&sched_mu);
}

/* Wait on the scheduler's condition until deadline (monotonic ms); the mutex is held. */
static void sched_wait_until(int64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L };

	pthread_cond_timedwait(&sched_cv, &sched_mu, &ts);
}

/* ---- the queue watcher ---------------------------------------------------- */

/* Post SCHED_ACTIONS and wait for a round that started after it to end; its exit code. */
static int sched_watch_round(struct syncd_account *a)
{
	long target;
	int code = SYNCD_EXIT_OK;

	pthread_mutex_lock(&sched_mu);
	a->pending |= SCHED_ACTIONS;
	target = a->rounds_started + 1;
	pthread_cond_broadcast(&sched_cv);
	while (a->rounds_done < target && !stop_requested && a->state != ACCOUNT_STOPPED)
		pthread_cond_wait(&sched_cv, &sched_mu);
	if (a->rounds_done >= target)
		code = a->round_code;
	pthread_mutex_unlock(&sched_mu);
	return code;
}

/* Whether the watcher goes on: flsyncd runs and the account still syncs. */
static bool sched_watch_alive(struct syncd_account *a)
{
	bool alive;

	pthread_mutex_lock(&sched_mu);
	alive = !stop_requested && a->state != ACCOUNT_STOPPED;
	pthread_mutex_unlock(&sched_mu);
	return alive;
}

/* Sleep s seconds, or until flsyncd stops. */
static void sched_watch_nap(int64_t s)
{
	int64_t deadline = syncd_now_ms() + s * 1000;

	pthread_mutex_lock(&sched_mu);
	while (!stop_requested && syncd_now_ms() < deadline)
		sched_wait_until(deadline);
	pthread_mutex_unlock(&sched_mu);
}

static void *sched_watcher(void *arg)
{
	struct syncd_account *a = arg;
	struct fl_db *db = NULL;
	int64_t backoff = 0, ready = 0, left = 0, since;
	bool said = false;

	if (fl_db_open(a->db_path, FL_OPEN_READONLY, &db) != FL_OK) {
		syncd_error(a->progress, "queued actions: cannot watch the queue: %s; they are sent "
			    "by the next pass", fl_db_open_errmsg());
		return NULL;
	}
	while (sched_watch_alive(a)) {
		int rc = fl_actions_wait(db, said ? 0 : WATCH_SLICE_MS, &ready);

		if (rc == FL_ERR_TIMEOUT) {
			if (said)
				sched_watch_nap(1); /* no watch: look once a second */
			continue;
		}
		if (rc != FL_OK) {
			/* The inotify limits, say: look once a second instead. */
			if (!said)
				syncd_error(a->progress, "queued actions: %s; looking once a second instead",
					    fl_errmsg(db));
			said = true;
			sched_watch_nap(1);
			continue;
		}
		syncd_info(a->progress, "queued actions: %lld ready to send", (long long)ready);
		since = (int64_t)time(NULL);
		sched_watch_round(a);
		/*
		 * Judged by the queue, not by the round (a whole pass may fail on
		 * another stream): what it could send is sent, or went back to wait
		 * for its back-off or budget, and what was queued meanwhile goes at
		 * once.  What the round left ready and untouched (something it waits
		 * on is not sent yet, say) is not tried again at once: don't spin.
		 */
		if (fl_actions_untouched(db, since, &left) != FL_OK || left == 0) {
			backoff = 0;
			continue;
		}
		backoff = backoff ? backoff * 2 : 1;
		if (backoff > WATCH_BACKOFF_MAX_S)
			backoff = WATCH_BACKOFF_MAX_S;
		sched_watch_nap(backoff);
	}
	fl_db_close(db);
	return NULL;
}

/* Start an account's queue watcher once its database exists (not with --once). */
static void sched_watcher_start(struct syncd_run *run, struct syncd_account *a)
{
	if (run->once || a->watcher_started || !a->db || a->state == ACCOUNT_STOPPED)
		return;
	if (pthread_create(&a->watcher, NULL, sched_watcher, a) != 0) {
		syncd_error(a->progress, "queued actions: cannot start the watcher: %s", strerror(errno));
		return;
	}
	a->watcher_started = true;
}

/* ---- rounds ---------------------------------------------------------------- */

static int64_t sched_interval_ms(const struct syncd_run *run)
{
	return (run->interval_s > 0 ? run->interval_s : run->cfg.interval_s) * 1000;
}

/* Between an account's passes: with deliveries coming, [webhook] poll_interval if set. */
static int64_t sched_account_interval_ms(const struct syncd_run *run, const struct syncd_account *a)
{
	if (a->webhooks && run->cfg.webhook_poll_s > 0 && run->interval_s <= 0)
		return run->cfg.webhook_poll_s * 1000;
	return sched_interval_ms(run);
}

/* What the reasons a round took make it. */
static enum syncd_round sched_round_kind(unsigned reasons)
{
	if (reasons & SCHED_WHOLE)
		return SYNCD_ROUND_PASS;
	if (reasons & SCHED_HINTS)
		return SYNCD_ROUND_HINTS;
	return SYNCD_ROUND_ACTIONS;
}

/*
 * An account's worker: every round of the account runs on it, one after
 * another, and it lives until the run ends, so no thread (stack, malloc
 * state) is made and let go per round.  With flsyncd's one malloc arena
 * the daemon's RSS measured the same either way (docs/internals/pass.md,
 * Memory): the arena is what keeps it to its heap and caches.  It waits
 * (on the scheduler's mutex) for sched_start to mark the account running.
 */
static void *sched_thread(void *arg)
{
	struct syncd_account *a = arg;

	pthread_mutex_lock(&sched_mu);
	for (;;) {
		enum syncd_round kind;
		bool once;
		int code;

		while (a->state != ACCOUNT_RUNNING && !a->thread_quit)
			pthread_cond_wait(&sched_cv, &sched_mu);
		if (a->state != ACCOUNT_RUNNING)
			break;
		kind = sched_round_kind(a->round);
		once = a->once;
		pthread_mutex_unlock(&sched_mu);
		code = syncd_account_round(a, once, kind);
		if (code == SYNCD_EXIT_OK && a->webhooks && !stop_requested)
			syncd_account_webhook_check(a);
		pthread_mutex_lock(&sched_mu);
		a->code = code;
		a->round_code = code;
		a->rounds_done = a->rounds_started; /* the queue watcher waits on this */
		a->state = ACCOUNT_FINISHED;
		pthread_cond_broadcast(&sched_cv);
	}
	pthread_mutex_unlock(&sched_mu);
	return NULL;
}

/* The run ends (the mutex is not held): every worker returns, and is joined. */
static void sched_workers_end(struct syncd_run *run)
{
	pthread_mutex_lock(&sched_mu);
	for (int i = 0; i < run->n_accounts; i++)
		run->accounts[i].thread_quit = true;
	pthread_cond_broadcast(&sched_cv);
	pthread_mutex_unlock(&sched_mu);
	for (int i = 0; i < run->n_accounts; i++)
		if (run->accounts[i].thread_started) {
			pthread_join(run->accounts[i].thread, NULL);
			run->accounts[i].thread_started = false;
		}
}

/* Whether an account's code means it will not sync again in this run. */
static bool sched_fatal(int code)
{
	return code == SYNCD_EXIT_AUTH || code == SYNCD_EXIT_DB || code == SYNCD_EXIT_USAGE;
}

/* A round ended (the mutex is held): when the account polls next, if ever. */
static void sched_finished(struct syncd_run *run, struct syncd_account *a)
{
	int64_t interval = sched_account_interval_ms(run, a), wait;
	bool whole = a->round & SCHED_WHOLE;

	a->ran = true;
	a->state = ACCOUNT_IDLE;
	if (!whole && !sched_fatal(a->code))
		return; /* targeted reads and the queue leave the polling schedule as it was */
	/* A pass cut short by a stop is no pass: don't count it. */
	if (whole && (!stop_requested || a->code != SYNCD_EXIT_OK))
		a->passes++;
	if (a->code == SYNCD_EXIT_OK) {
		a->failures = 0;
		wait = interval;
	} else if (sched_fatal(a->code) || run->once) {
		a->state = ACCOUNT_STOPPED;
		if (run->n_accounts > 1 && !run->once) {
			syncd_error(a->progress, "this account stops syncing until flsyncd restarts");
			/* Another program (flsync ui) may sync it, and send its queue, meanwhile. */
			fl_sync_unlock(a->sync);
		}
		return;
	} else {
		/* Locked, or the network or the API failed: back off, never past the interval. */
		int shift = a->failures < 10 ? a->failures : 10;

		a->failures++;
		wait = (int64_t)BACKOFF_BASE_S * 1000 << shift;
		if (wait > interval)
			wait = interval;
	}
	a->due_ms = syncd_now_ms() + wait;
	if (!run->once && !stop_requested) {
		syncd_info(a->progress, "next pass in %lld s", (long long)((wait + 999) / 1000));
		/* For flsync status: best effort, the lock's pid line stays whatever happens. */
		fl_sync_set_next_pass(a->sync, (int64_t)time(NULL) + (wait + 999) / 1000);
	}
}

/* Start a round for a (the mutex is held): take its reasons and clear them, at once. */
static bool sched_start(struct syncd_account *a)
{
	a->round = a->pending;
	a->pending = 0;
	a->rounds_started++;
	a->cancel = 0; /* a lost lease stopped the last round only */
	if (!a->thread_started) {
		if (pthread_create(&a->thread, NULL, sched_thread, a) != 0) {
			syncd_error(a->progress, "cannot start the account's thread: %s", strerror(errno));
			a->pending |= a->round; /* try again in a second */
			a->rounds_started--;
			a->hold_ms = syncd_now_ms() + 1000;
			return false;
		}
		a->thread_started = true;
	}
	a->state = ACCOUNT_RUNNING;
	pthread_cond_broadcast(&sched_cv); /* its worker takes the round */
	return true;
}

/* Signals and reasons seen (the mutex is held): SIGHUP, SIGUSR1, a stop. */
static void sched_requests(struct syncd_run *run)
{
	bool early = early_requested;

	early_requested = false;
	if (reload_requested) {
		reload_requested = false;
		syncd_reload(run);
		early = true; /* a re-read file starts the next passes */
	}
	if (early) {
		syncd_info(run->log, "starting a pass now");
		for (int i = 0; i < run->n_accounts; i++)
			run->accounts[i].pending |= SCHED_EARLY;
	}
	/* A stop reaches every round through its account's cancel flag. */
	if (stop_requested)
		for (int i = 0; i < run->n_accounts; i++)
			run->accounts[i].cancel = 1;
}

/*
 * Start what is due, round robin from where the last start left off (the
 * mutex is held).  Returns whether any account may still run; *soonest is
 * when the next poll falls due.
 */
static bool sched_start_due(struct syncd_run *run, int max_parallel, int *running, int *next,
			    int64_t *soonest)
{
	int64_t now = syncd_now_ms();
	int start = *next;
	bool alive = false;

	for (int k = 0; k < run->n_accounts && !stop_requested; k++) {
		int i = (start + k) % run->n_accounts;
		struct syncd_account *a = &run->accounts[i];

		if (a->state != ACCOUNT_IDLE || (run->once && a->ran))
			continue;
		alive = true;
		if (a->due_ms <= now)
			a->pending |= SCHED_PASS;
		if (run->once)
			a->pending &= SCHED_WHOLE; /* --once: one whole pass, nothing else */
		if (a->pending && a->hold_ms <= now && *running >= max_parallel)
			continue; /* due, and no room: a round's end makes room and wakes us */
		if (!a->pending || a->hold_ms > now) {
			if (a->due_ms < *soonest)
				*soonest = a->due_ms;
			if (a->pending && a->hold_ms > now && a->hold_ms < *soonest)
				*soonest = a->hold_ms;
			continue;
		}
		if (sched_start(a)) {
			(*running)++;
			*next = (i + 1) % run->n_accounts;
		}
	}
	return alive;
}

/* The exit code of a run: 0 when every account's last pass was, else the first account's failure. */
static int sched_result(const struct syncd_run *run)
{
	for (int i = 0; i < run->n_accounts; i++)
		if (run->accounts[i].code != SYNCD_EXIT_OK)
			return run->accounts[i].code;
	return SYNCD_EXIT_OK;
}

/* Staggered first passes: within one interval, at most STAGGER_MAX_MS apart. */
static void sched_first_passes(struct syncd_run *run)
{
	int64_t start = syncd_now_ms(), stagger;

	stagger = run->n_accounts > 1 ? sched_interval_ms(run) / run->n_accounts : 0;
	if (stagger > STAGGER_MAX_MS)
		stagger = STAGGER_MAX_MS;
	for (int i = 0; i < run->n_accounts; i++) {
		run->accounts[i].due_ms = start + i * stagger;
		run->accounts[i].once = run->once;
	}
}

int syncd_loop(struct syncd_run *run)
{
	int running = 0, next = 0;
	bool stopped;

	sched_first_passes(run);
	pthread_mutex_lock(&sched_mu);
	for (int i = 0; i < run->n_accounts; i++)
		sched_watcher_start(run, &run->accounts[i]);
	for (;;) {
		int max_parallel;
		int64_t soonest = syncd_now_ms() + 3600 * 1000;
		bool alive;

		sched_requests(run);
		for (int i = 0; i < run->n_accounts; i++) {
			struct syncd_account *a = &run->accounts[i];

			if (a->state == ACCOUNT_FINISHED) {
				running--;
				sched_finished(run, a);
				sched_watcher_start(run, a);
			}
		}
		syncd_apply_settings(run);
		if (stop_requested && running == 0)
			break;
		max_parallel = run->cfg.max_parallel > 0 ? run->cfg.max_parallel : 1;
		alive = sched_start_due(run, max_parallel, &running, &next, &soonest);
		if (!alive && running == 0)
			break; /* --once done, or every account stopped */
		/*
		 * Whatever was posted since the look above is seen before sleeping:
		 * same mutex.  While stopping, sleep until the rounds running end.
		 */
		if (!reload_requested && !early_requested)
			sched_wait_until(soonest);
	}
	stopped = stop_requested;
	pthread_cond_broadcast(&sched_cv); /* watchers waiting on a round see the end */
	pthread_mutex_unlock(&sched_mu);
	for (int i = 0; i < run->n_accounts; i++)
		if (run->accounts[i].watcher_started)
			pthread_join(run->accounts[i].watcher, NULL);
	sched_workers_end(run);
	if (stopped) {
		syncd_info(run->log, "stopping on signal");
		return SYNCD_EXIT_OK;
	}
	return sched_result(run);
}
