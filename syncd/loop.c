/*
 * loop.c — flsyncd's scheduler: each account's passes on a thread of their
 * own, at most max_parallel at once, the first ones staggered so that N
 * accounts never fire together, the next one an interval after each
 * account's last (sooner after a failure's back-off, at once on SIGUSR1);
 * an account that fails, is rate-limited or loses its sign-in never holds
 * up the others.  The signals that stop it (SIGTERM, SIGINT), reload the
 * configuration (SIGHUP) or ask for a pass now (SIGUSR1) only set flags:
 * they are blocked everywhere but in the scheduler's wait, which a pass
 * thread ending also wakes (a self-pipe).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "syncd.h"

#define STAGGER_MAX_MS 50        /* between the first passes of two accounts */
#define BACKOFF_BASE_S 30        /* after a failed pass, doubled per failure in a row */

static volatile sig_atomic_t stop_requested;   /* SIGTERM/SIGINT: finish the batch, exit 0 */
static volatile sig_atomic_t reload_requested; /* SIGHUP: re-read the config between passes */
static volatile sig_atomic_t pass_requested;   /* SIGUSR1: start the next passes now (flsync ui's "sync now") */
static int wake_pipe[2] = { -1, -1 };          /* a pass thread ended */

static void loop_on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void loop_on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void loop_on_usr1(int sig)
{
	(void)sig;
	pass_requested = 1;
}

const volatile sig_atomic_t *syncd_stop_flag(void)
{
	return &stop_requested;
}

static void loop_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

void syncd_signals_install(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/*
	 * One SIGTERM/SIGINT asks for a clean stop; SA_RESETHAND lets a second
	 * one end the process at once (SQLite rolls the open batch back).
	 */
	sa.sa_handler = loop_on_stop;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = loop_on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = loop_on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	/* Threads made from now on inherit the mask: only pselect() below takes them. */
	loop_signal_set(&block);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "flsyncd: cannot make the scheduler's pipe: %s\n", strerror(errno));
		exit(SYNCD_EXIT_FAIL);
	}
}

void syncd_loop_wake(void)
{
	char byte = 1;

	if (write(wake_pipe[1], &byte, 1) < 0) {
		/* The pipe is full: the scheduler is woken already. */
	}
}

static void loop_apply_settings(struct syncd_run *run);

/*
 * Re-read the configuration; a broken file keeps the old one, for every
 * account.  It is judged whole on a handle of its own first; an account in
 * the middle of a pass takes it when the pass ends.
 */
static void loop_reload(struct syncd_run *run)
{
	struct syncd_account probe = { 0 };
	struct flconf cfg;
	char err[768];
	bool ok = true;

	reload_requested = 0;
	if (flconf_load(run->config_path, run->config_required, &cfg, err, sizeof err) != 0) {
		syncd_error(run->log, "%s", err);
		syncd_error(run->log, "SIGHUP: keeping the previous configuration");
		return;
	}
	probe.progress = run->log;
	for (int i = 0; i < run->n_accounts && ok; i++) {
		struct syncd_account *a = &run->accounts[i];
		const struct flconf_account *ca = a->name ? flconf_account(&cfg, a->name) : NULL;

		if (fl_sync_new(a->api, &probe.sync) != FL_OK)
			break;
		probe.settings = ca ? ca->settings : NULL;
		probe.n_settings = ca ? ca->n_settings : 0;
		ok = syncd_account_configure(&probe, &cfg);
		fl_sync_free(probe.sync);
		probe.sync = NULL;
	}
	if (!ok) {
		syncd_error(run->log, "SIGHUP: keeping the previous configuration");
		flconf_free(&cfg);
		return;
	}
	/* Accounts come and go with a restart; their settings change now. */
	for (int i = 0; i < run->n_accounts; i++) {
		struct syncd_account *a = &run->accounts[i];
		const struct flconf_account *ca = a->name ? flconf_account(&cfg, a->name) : NULL;

		if (a->name && !ca)
			syncd_error(run->log, "SIGHUP: [account %s] is gone from the file; it syncs "
				    "until flsyncd restarts", a->name);
		/* The old file's settings go with it; --db's account has none of its own. */
		a->settings = ca ? ca->settings : NULL;
		a->n_settings = ca ? ca->n_settings : 0;
		a->reconfigure = true;
	}
	for (int i = 0; i < cfg.n_accounts; i++)
		if (run->accounts[0].name && !flconf_account(&run->cfg, cfg.accounts[i].name))
			syncd_error(run->log, "SIGHUP: [account %s] is new; restart flsyncd to sync it",
				    cfg.accounts[i].name);
	flconf_free(&run->cfg);
	run->cfg = cfg;
	loop_apply_settings(run);
	syncd_info(run->log, "SIGHUP: re-read %s", cfg.path ? cfg.path : "no config file (defaults)");
}

/*
 * Wait until deadline (monotonic ms), a signal, or a pass thread's end.
 * The signals stay blocked but for the pselect() itself, which unblocks
 * them atomically, so one arriving just before it still wakes it.
 */
static void loop_wait(int64_t deadline, int running)
{
	sigset_t none;
	int64_t left = deadline - syncd_now_ms();
	char drain[64];
	fd_set rd;

	sigemptyset(&none);
	if ((stop_requested && !running) || reload_requested || pass_requested)
		return;
	if (left < 0)
		left = 0;
	{
		struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };

		FD_ZERO(&rd);
		FD_SET(wake_pipe[0], &rd);
		if (pselect(wake_pipe[0] + 1, &rd, NULL, NULL, &ts, &none) > 0)
			while (read(wake_pipe[0], drain, sizeof drain) > 0)
				;
	}
}

/* Accounts between passes take the settings a reload left them. */
static void loop_apply_settings(struct syncd_run *run)
{
	for (int i = 0; i < run->n_accounts; i++) {
		struct syncd_account *a = &run->accounts[i];

		if (a->reconfigure && a->state != ACCOUNT_RUNNING && a->state != ACCOUNT_FINISHED) {
			a->reconfigure = false;
			if (a->sync)
				syncd_account_configure(a, &run->cfg);
		}
	}
}

static int64_t loop_interval_ms(const struct syncd_run *run)
{
	return (run->interval_s > 0 ? run->interval_s : run->cfg.interval_s) * 1000;
}

/* Between an account's passes: with deliveries coming, [webhook] poll_interval if set. */
static int64_t loop_account_interval_ms(const struct syncd_run *run, const struct syncd_account *a)
{
	if (a->webhooks && run->cfg.webhook_poll_s > 0 && run->interval_s <= 0)
		return run->cfg.webhook_poll_s * 1000;
	return loop_interval_ms(run);
}

static void *loop_thread(void *arg)
{
	struct syncd_account *a = arg;

	a->code = syncd_account_pass(a, a->once, a->hints_pass);
	if (a->code == SYNCD_EXIT_OK && a->webhooks && !stop_requested)
		syncd_account_webhook_check(a);
	/* The scheduler reads what the pass wrote only after it sees this. */
	__atomic_store_n(&a->state, ACCOUNT_FINISHED, __ATOMIC_RELEASE);
	syncd_loop_wake();
	return NULL;
}

/* Whether the deliveries waiting ask for targeted reads only, no whole early pass. */
static bool loop_hints_only(struct syncd_account *a)
{
	int64_t reads = 0, passes = 0;

	/* Between passes the scheduler may use the account's handle. */
	return a->db && fl_webhook_hints_pending(a->db, &reads, &passes) == FL_OK && passes == 0;
}

/* Whether an account's code means it will not sync again in this run. */
static bool loop_fatal(int code)
{
	return code == SYNCD_EXIT_AUTH || code == SYNCD_EXIT_DB || code == SYNCD_EXIT_USAGE;
}

/* A pass ended: when the account syncs next, if ever. */
static void loop_finished(struct syncd_run *run, struct syncd_account *a)
{
	int64_t interval = loop_account_interval_ms(run, a), wait;

	pthread_join(a->thread, NULL);
	a->ran = true;
	if (a->hints_pass && a->code == SYNCD_EXIT_OK) {
		/* Targeted reads leave the polling schedule as it was. */
		if (a->again)
			a->due_ms = syncd_now_ms();
		a->again = false;
		a->state = ACCOUNT_IDLE;
		return;
	}
	/* A pass cut short by a stop is no pass: don't count it. */
	if (!a->hints_pass && (!stop_requested || a->code != SYNCD_EXIT_OK))
		a->passes++;
	if (a->code == SYNCD_EXIT_OK) {
		a->failures = 0;
		wait = interval;
	} else if (loop_fatal(a->code) || run->once) {
		a->state = ACCOUNT_STOPPED;
		if (run->n_accounts > 1 && !run->once)
			syncd_error(a->progress, "this account stops syncing until flsyncd restarts");
		return;
	} else {
		/* Locked, or the network or the API failed: back off, never past the interval. */
		int shift = a->failures < 10 ? a->failures : 10;

		a->failures++;
		wait = (int64_t)BACKOFF_BASE_S * 1000 << shift;
		if (wait > interval)
			wait = interval;
	}
	if (a->again)
		wait = 0;
	a->again = false;
	a->state = ACCOUNT_IDLE;
	a->due_ms = syncd_now_ms() + wait;
	if (!run->once && !stop_requested)
		syncd_info(a->progress, "next pass in %lld s", (long long)((wait + 999) / 1000));
}

/* The exit code of a run: 0 when every account's last pass was, else the first account's failure. */
static int loop_result(const struct syncd_run *run)
{
	for (int i = 0; i < run->n_accounts; i++)
		if (run->accounts[i].code != SYNCD_EXIT_OK)
			return run->accounts[i].code;
	return SYNCD_EXIT_OK;
}

int syncd_loop(struct syncd_run *run)
{
	int max_parallel = run->cfg.max_parallel > 0 ? run->cfg.max_parallel : 1;
	int64_t start = syncd_now_ms(), stagger;
	int running = 0, next = 0;

	/* Staggered first passes: within one interval, at most STAGGER_MAX_MS apart. */
	stagger = run->n_accounts > 1 ? loop_interval_ms(run) / run->n_accounts : 0;
	if (stagger > STAGGER_MAX_MS)
		stagger = STAGGER_MAX_MS;
	for (int i = 0; i < run->n_accounts; i++) {
		run->accounts[i].due_ms = start + i * stagger;
		run->accounts[i].once = run->once;
	}

	for (;;) {
		int64_t now = syncd_now_ms(), soonest = now + 3600 * 1000;
		bool alive = false;

		if (reload_requested) {
			loop_reload(run);
			pass_requested = 1; /* a re-read file starts the next passes */
		}
		max_parallel = run->cfg.max_parallel > 0 ? run->cfg.max_parallel : 1;
		if (pass_requested) {
			pass_requested = 0;
			syncd_info(run->log, "starting a pass now");
			for (int i = 0; i < run->n_accounts; i++) {
				struct syncd_account *a = &run->accounts[i];

				if (a->state == ACCOUNT_IDLE && a->due_ms > now)
					a->due_ms = now;
				else if (a->state == ACCOUNT_RUNNING || a->state == ACCOUNT_FINISHED)
					a->again = true; /* right after the one running */
			}
		}
		for (int i = 0; i < run->n_accounts; i++) {
			struct syncd_account *a = &run->accounts[i];

			if (__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) == ACCOUNT_FINISHED) {
				running--;
				loop_finished(run, a);
			}
			/*
			 * Deliveries coalesce: however many came, one round of
			 * targeted reads now, or one right after the pass running.
			 */
			if (__atomic_exchange_n(&a->webhook_due, 0, __ATOMIC_ACQ_REL) && !run->once)
				a->hints_wanted = true;
		}
		loop_apply_settings(run);
		/* A stop reaches every pass through its account's cancel flag. */
		if (stop_requested)
			for (int i = 0; i < run->n_accounts; i++)
				run->accounts[i].cancel = 1;
		if (stop_requested && running == 0)
			break;
		/* Round robin from where the last start left off, so no account starves. */
		for (int k = 0; k < run->n_accounts && !stop_requested; k++) {
			int i = (next + k) % run->n_accounts;
			struct syncd_account *a = &run->accounts[i];

			if (a->state != ACCOUNT_IDLE || (run->once && a->ran))
				continue;
			alive = true;
			if ((a->due_ms > now && !a->hints_wanted) || running >= max_parallel) {
				if (a->due_ms < soonest)
					soonest = a->due_ms;
				continue;
			}
			/*
			 * A whole pass when one is due (it reads the hints too) or a
			 * delivery asked for one, else the hints alone.
			 */
			a->hints_pass = a->due_ms > now && loop_hints_only(a);
			a->hints_wanted = false;
			a->cancel = 0; /* a lost lease stopped the last pass only */
			a->state = ACCOUNT_RUNNING;
			if (pthread_create(&a->thread, NULL, loop_thread, a) != 0) {
				syncd_error(a->progress, "cannot start a pass thread: %s", strerror(errno));
				a->state = ACCOUNT_IDLE;
				a->due_ms = now + 1000;
				continue;
			}
			running++;
			next = (i + 1) % run->n_accounts;
		}
		if (!alive && running == 0)
			break; /* --once done, or every account stopped */
		loop_wait(running >= max_parallel || stop_requested ? now + 3600 * 1000 : soonest, running);
	}
	if (stop_requested) {
		syncd_info(run->log, "stopping on signal");
		return SYNCD_EXIT_OK;
	}
	return loop_result(run);
}
