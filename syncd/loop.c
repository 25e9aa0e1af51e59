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

#include "api.h"
#include "auth_state.h"
#include "syncd.h"

#define SELF_PATH "/api/users/0.1/self/"
#define SELF_ATTEMPTS 5      /* 429s tolerated on the first request */

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
	if (syncd_config_load(run->config_path, run->config_required, &cfg) != 0) {
		syncd_error(run->progress, "SIGHUP: keeping the previous configuration");
		return;
	}
	if (cfg.rate_scale != run->cfg.rate_scale) {
		struct ratelimit *rl = NULL;
		struct fl_error err = { 0 };

		if (ratelimit_new(cfg.rate_scale, &rl, &err) != FL_OK) {
			syncd_error(run->progress, "SIGHUP: %s; keeping the previous configuration",
				    err.msg);
			syncd_config_free(&cfg);
			return;
		}
		ratelimit_free(run->rl);
		run->rl = rl;
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
	int64_t deadline = ratelimit_now_ms() + ms, left;
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop_requested && !reload_requested && !pass_requested &&
	       (left = deadline - ratelimit_now_ms()) > 0) {
		struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };

		pselect(0, NULL, NULL, NULL, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static bool loop_auth_refused(long status)
{
	return status == 401 || status == 403;
}

/*
 * The API refused the token.  When the sign-in has ended (the token service
 * refused the refresh token) say what to run, and record it in sync_state
 * for flsync status.  True when it has ended.
 */
static bool loop_signin_ended(struct syncd_run *run)
{
	const char *msg = token_source_needs_login(run->tokens);

	if (!msg)
		return false;
	syncd_error(run->progress, "%s", msg);
	if (auth_state_record(run->db, msg, (int64_t)time(NULL)) != FL_OK)
		syncd_error(run->progress, "%s", fl_errmsg(run->db));
	return true;
}

/*
 * GET /self/ proves the API answers and accepts the token before any pass.
 * Returns an exit code: OK, AUTH (refused), or FAIL.
 */
static int loop_check_self(struct syncd_run *run)
{
	char ep[96];
	int rc = FL_OK;

	ratelimit_endpoint("GET", SELF_PATH, ep, sizeof ep);
	for (int attempt = 0; attempt < SELF_ATTEMPTS && !stop_requested; attempt++) {
		struct api_result res;
		struct fl_error err = { 0 };
		int64_t wait = ratelimit_delay_ms(run->rl, ep, ratelimit_now_ms());

		if (wait > 0) {
			syncd_info(run->progress, "waiting %.1f s for the rate limit of %s",
				   (double)wait / 1000.0, ep);
			loop_sleep_ms(wait);
			if (stop_requested)
				break;
		}
		ratelimit_sent(run->rl, ep, ratelimit_now_ms());
		rc = api_call(run->http, "GET", SELF_PATH, NULL, NULL, 0, NULL, NULL, NULL, NULL,
			      &res, &err);
		ratelimit_observe(run->rl, ep, &res.http, ratelimit_now_ms());
		if (rc == FL_OK) {
			syncd_info(run->progress, "API answers; token accepted");
			if (auth_state_record(run->db, NULL, (int64_t)time(NULL)) != FL_OK)
				syncd_error(run->progress, "%s", fl_errmsg(run->db));
			return SYNCD_EXIT_OK;
		}
		syncd_error(run->progress, "%s", err.msg);
		if (loop_signin_ended(run))
			return SYNCD_EXIT_AUTH;
		if ((res.http.status == 401 || res.http.status == 403) && rc != FL_ERR_NETWORK &&
		    rc != FL_ERR_TIMEOUT)
			return SYNCD_EXIT_AUTH;
		if (rc != FL_ERR_RATE_LIMITED)
			return SYNCD_EXIT_FAIL;
	}
	return stop_requested ? SYNCD_EXIT_OK : SYNCD_EXIT_FAIL;
}

/* A pass's result as an exit code. */
static int loop_exit_code(int rc, const struct sync_report *rep, const struct fl_error *err)
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
	default:
		/* A 401 whose token refresh could not reach the token service may mend. */
		if (loop_auth_refused(rep->first_http_status) && rc != FL_ERR_NETWORK &&
		    rc != FL_ERR_TIMEOUT)
			return SYNCD_EXIT_AUTH;
		return SYNCD_EXIT_FAIL;
	}
}

static int loop_pass(struct syncd_run *run, long pass)
{
	struct sync_options opt;
	struct sync_report rep;
	struct fl_error err = { 0 };
	int rc;

	syncd_config_options(&run->cfg, &opt);
	opt.stop = &stop_requested;
	opt.progress = syncd_progress_update;
	opt.log = syncd_progress_log;
	opt.ctx = run->progress;
	memset(&rep, 0, sizeof rep);

	syncd_info(run->progress, "pass %ld started", pass);
	syncd_progress_begin(run->progress);
	rc = sync_pass(run->db, run->http, run->rl, &opt, &rep, &err);
	syncd_progress_end(run->progress, &rep, rc, run->once);
	if (rc != FL_OK && rc != FL_ERR_ABORTED)
		syncd_error(run->progress, "pass %ld failed (%d streams failed): %s", pass,
			    rep.streams_failed, err.msg[0] ? err.msg : rep.first_error);
	if (token_source_path(run->tokens)) {
		unsigned refreshed, adopted;

		token_source_counts(run->tokens, &refreshed, &adopted);
		syncd_info(run->progress, "token file %s: %u refreshes so far, %u tokens taken from another process's refresh",
			   token_source_path(run->tokens), refreshed, adopted);
	}
	if (rc != FL_OK && rc != FL_ERR_ABORTED && loop_signin_ended(run))
		return SYNCD_EXIT_AUTH;
	return loop_exit_code(rc, &rep, &err);
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
			code = loop_check_self(run);
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
