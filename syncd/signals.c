/*
 * signals.c — flsyncd's signals and configuration reload.  SIGTERM/SIGINT
 * (stop), SIGHUP (re-read the configuration) and SIGUSR1 (a whole pass
 * now: flsync ui's "sync now") are blocked in every thread and taken by
 * one thread of their own with sigwait(), which only tells the scheduler
 * (schedule.c) under its mutex: no handler runs inside a pass, and a signal
 * that arrives while a round runs is acted on after it.  The reload itself
 * runs in the scheduler, between rounds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"

static void signals_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/*
 * Blocked before main() runs, as the program's constructors do: a SIGHUP or
 * SIGTERM sent while flsyncd starts up (opening databases, before the signal
 * thread waits) stays pending and is taken by that thread, instead of ending
 * the process by its default action.  Only the dynamic loader's few
 * milliseconds after exec remain without it.
 */
__attribute__((constructor)) static void signals_block_early(void)
{
	sigset_t block;

	signals_set(&block);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
}

static void *signals_thread(void *arg)
{
	sigset_t set;
	bool stopping = false;

	(void)arg;
	signals_set(&set);
	for (;;) {
		int sig = 0;

		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			syncd_schedule_signal(SYNCD_SIGNAL_RELOAD);
		} else if (sig == SIGUSR1) {
			syncd_schedule_signal(SYNCD_SIGNAL_EARLY);
		} else if (!stopping) {
			sigset_t again;

			stopping = true;
			syncd_schedule_signal(SYNCD_SIGNAL_STOP);
			/*
			 * A second SIGTERM/SIGINT ends the process at once (SQLite rolls
			 * the open batch back): default action, unblocked here only.
			 */
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			sigemptyset(&again);
			sigaddset(&again, SIGTERM);
			sigaddset(&again, SIGINT);
			sigdelset(&set, SIGTERM);
			sigdelset(&set, SIGINT);
			pthread_sigmask(SIG_UNBLOCK, &again, NULL);
		}
	}
	return NULL;
}

void syncd_signals_install(void)
{
	sigset_t block;
	pthread_t t;

	syncd_schedule_init();
	/* Threads made from now on inherit the mask: only the signal thread takes them. */
	signals_set(&block);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	if (pthread_create(&t, NULL, signals_thread, NULL) != 0) {
		fprintf(stderr, "flsyncd: cannot start the signal thread: %s\n", strerror(errno));
		exit(SYNCD_EXIT_FAIL);
	}
	pthread_detach(t);
}

/*
 * Re-read the configuration; a broken file keeps the old one, for every
 * account.  It is judged whole on a handle of its own first; an account in
 * the middle of a round takes it when the round ends.
 */
void syncd_reload(struct syncd_run *run)
{
	struct syncd_account probe = { 0 };
	struct flconf cfg;
	char err[768];
	bool ok = true;

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
	syncd_apply_settings(run);
	syncd_info(run->log, "SIGHUP: re-read %s", cfg.path ? cfg.path : "no config file (defaults)");
}

/* Accounts between rounds take the settings a reload left them. */
void syncd_apply_settings(struct syncd_run *run)
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
