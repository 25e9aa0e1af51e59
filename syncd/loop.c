/*
 * loop.c — flsyncd's scheduler: prove the token, run a pass, sleep the
 * interval, repeat; the signals that stop it (SIGTERM, SIGINT) or reload
 * its configuration (SIGHUP); and the mapping of a pass's result onto the
 * exit codes.  Handlers only set flags; the loop does the work.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "syncd.h"

static volatile sig_atomic_t stop_requested;   /* SIGTERM/SIGINT: finish the batch, exit 0 */
static volatile sig_atomic_t reload_requested; /* SIGHUP: re-read the config between passes */
static volatile sig_atomic_t pass_requested;   /* SIGUSR1: start the next pass now (flsync ui's "sync now") */

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

void syncd_signals_install(void)
{
	struct sigaction sa;

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
}

/* Re-read the configuration; a broken file keeps the old one. */
static void loop_reload(struct syncd_run *run)
{
	struct syncd_config cfg;

	reload_requested = 0;
	if (syncd_config_load(run->config_path, run->config_required, &cfg) != 0 ||
	    syncd_config_apply(&cfg, run->sync) != 0) {
		syncd_error(run->progress, "SIGHUP: keeping the previous configuration");
		syncd_config_free(&cfg);
		/* The library kept its options; the daemon's own stay too. */
		return;
	}
	syncd_config_free(&run->cfg);
	run->cfg = cfg;
	syncd_info(run->progress, "SIGHUP: re-read %s", cfg.path ? cfg.path
		   : "no config file (defaults)");
}

/*
 * Sleep ms, or less if a signal arrives.  The signals are blocked between
 * testing the flags and pselect(), which unblocks them atomically, so one
 * arriving in between still wakes it.
 */
static void loop_sleep_ms(int64_t ms)
{
	int64_t deadline = syncd_now_ms() + ms, left;
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop_requested && !reload_requested && !pass_requested &&
	       (left = deadline - syncd_now_ms()) > 0) {
		struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };

		pselect(0, NULL, NULL, NULL, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A check's or pass's result as an exit code. */
static int loop_exit_code(int rc)
{
	switch (rc) {
	case FL_OK:
	case FL_ERR_ABORTED:
		return SYNCD_EXIT_OK;
	case FL_ERR_DB:
	case FL_ERR_IO:
	case FL_ERR_READONLY:
	case FL_ERR_BUSY:
	case FL_ERR_SCHEMA:
		return SYNCD_EXIT_DB;
	case FL_ERR_LOCKED:
		return SYNCD_EXIT_LOCKED;
	case FL_ERR_AUTH:
		return SYNCD_EXIT_AUTH;
	default:
		return SYNCD_EXIT_FAIL;
	}
}

/* GET self proves the API answers and accepts the token before any pass. */
static int loop_check(struct syncd_run *run)
{
	int rc = fl_sync_check(run->sync, run->db);

	if (rc != FL_OK && rc != FL_ERR_ABORTED)
		syncd_error(run->progress, "%s", fl_sync_errmsg(run->sync));
	return loop_exit_code(rc);
}

static int loop_pass(struct syncd_run *run, long pass)
{
	const struct fl_sync_report *rep;
	int rc;

	syncd_info(run->progress, "pass %ld started", pass);
	syncd_progress_begin(run->progress);
	rc = fl_sync_run(run->sync, run->db);
	rep = fl_sync_report(run->sync);
	syncd_progress_end(run->progress, rep, rc, run->once);
	if (rc == FL_ERR_AUTH && fl_sync_needs_login(run->sync))
		syncd_error(run->progress, "%s", fl_sync_errmsg(run->sync));
	else if (rc != FL_OK && rc != FL_ERR_ABORTED)
		syncd_error(run->progress, "pass %ld failed (%d streams failed): %s", pass,
			    rep->streams_failed, fl_sync_errmsg(run->sync));
	return loop_exit_code(rc);
}

int syncd_loop(struct syncd_run *run)
{
	bool token_proven = false;
	int code = SYNCD_EXIT_OK;

	for (long pass = 1; !stop_requested; pass++) {
		int64_t interval;

		if (reload_requested)
			loop_reload(run);
		if (pass_requested) {
			pass_requested = 0;
			if (pass > 1)
				syncd_info(run->progress, "SIGUSR1: starting a pass now");
		}
		if (!token_proven) {
			/* Unreachable now may answer later, but not in --once. */
			code = loop_check(run);
			if (code == SYNCD_EXIT_AUTH || (code != SYNCD_EXIT_OK && run->once))
				return code;
			token_proven = code == SYNCD_EXIT_OK;
		}
		if (stop_requested)
			break;
		if (token_proven) {
			code = loop_pass(run, pass);
			if (run->once)
				return code;
			/*
			 * Failed passes are retried next interval, but a refused
			 * token or a broken database will not mend by waiting.
			 */
			if (code == SYNCD_EXIT_AUTH || code == SYNCD_EXIT_LOCKED ||
			    code == SYNCD_EXIT_DB)
				return code;
		}
		if (stop_requested)
			break;
		interval = run->interval_s > 0 ? run->interval_s : run->cfg.interval_s;
		syncd_info(run->progress, "next pass in %lld s", (long long)interval);
		loop_sleep_ms(interval * 1000);
	}
	syncd_info(run->progress, "stopping on signal");
	return SYNCD_EXIT_OK;
}
