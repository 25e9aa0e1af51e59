/*
 * syncd.h — what flsyncd's files share: exit codes, one account's sync
 * (account.c), the scheduler that runs the accounts' passes with its
 * signals (loop.c), and the progress display and log (progress.c).
 * flsyncd is a plain user of libflsync's public API: nothing here sees the
 * library's insides.  The configuration file is conf/flconf.h's.
 */
#ifndef FL_SYNCD_H
#define FL_SYNCD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "flconf.h"
#include "flsync.h"

/* Exit codes: documented in flsyncd --help; scripts act on them. */
enum {
	SYNCD_EXIT_OK = 0,
	SYNCD_EXIT_FAIL = 1,   /* the pass failed (network, API, server errors) */
	SYNCD_EXIT_USAGE = 2,  /* bad command line or configuration */
	SYNCD_EXIT_DB = 3,     /* the database cannot be opened or written */
	SYNCD_EXIT_AUTH = 4,   /* no token, or the API refused it */
	SYNCD_EXIT_LOCKED = 5, /* another flsyncd syncs this database */
};

/* ---- progress.c -------------------------------------------------------- */

struct syncd_progress;

/* Monotonic milliseconds. */
int64_t syncd_now_ms(void);

/*
 * display: redraw per-stream rows in place on stderr; verbose: log lines.
 * prefix (may be NULL) starts every line, e.g. "[alice] " for an account.
 */
struct syncd_progress *syncd_progress_new(bool display, bool verbose, const char *prefix);
void syncd_progress_free(struct syncd_progress *p);

/* A pass begins: forget the last pass's streams, start the clock. */
void syncd_progress_begin(struct syncd_progress *p);

/* A pass ended: erase the display; print the summary line if asked. */
void syncd_progress_end(struct syncd_progress *p, const struct fl_sync_report *r, int rc,
			bool summary);

/* fl_sync_set_progress() and fl_sync_set_log(); ctx is the struct syncd_progress. */
void syncd_progress_update(void *ctx, const struct fl_sync_progress *sp);
void syncd_progress_log(void *ctx, const char *line);

/* The daemon's own lines: always (error) or only with -v (info). */
void syncd_error(struct syncd_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void syncd_info(struct syncd_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- account.c --------------------------------------------------------- */

/* Where an account stands between passes. */
enum syncd_account_state {
	ACCOUNT_IDLE,     /* waits for its next pass */
	ACCOUNT_RUNNING,  /* a pass runs on its thread */
	ACCOUNT_FINISHED, /* its thread ended the pass; the scheduler has not yet seen it */
	ACCOUNT_STOPPED,  /* will not sync again in this run (its code says why) */
};

struct syncd_account {
	/* what it is */
	char *name;               /* NULL for the single account of --db */
	char *db_path;
	char *api;
	char *token_file;         /* NULL: FLSYNC_TOKEN */
	const struct flconf_setting *settings; /* its own, after the file's general ones */
	int n_settings;

	/* what it has */
	struct fl_sync *sync;
	struct fl_db *db;         /* opened once it holds the lock */
	struct syncd_progress *progress;
	bool token_proven;        /* GET self succeeded once */

	/* scheduling (loop.c) */
	enum syncd_account_state state;
	int64_t due_ms;           /* monotonic time of its next pass */
	long passes;
	int failures;             /* in a row, for the back-off */
	int code;                 /* exit code of its last pass (or why it stopped) */
	bool ran;                 /* at least one pass ended (--once) */
	bool once;                /* --once: print the pass's summary */
	bool reconfigure;         /* a reload's settings wait for the pass to end */
	bool again;               /* a pass was asked for while one ran */
	int webhook_due;          /* set by the webhook writer: a delivery asks for a pass (atomic) */
	bool hints_wanted;        /* deliveries wait for their targeted reads */
	bool hints_pass;          /* the pass running is only those reads (fl_sync_run_hints) */
	bool webhooks;            /* deliveries come to the listener for it */
	int64_t webhook_check_s;  /* how often its webhook is checked still active, 0 never */
	int64_t webhook_checked;  /* when it last was, on the server's clock */
	struct syncd_sink *sink;  /* [sink] postgres: its mirror and lease, NULL without */
	volatile sig_atomic_t cancel; /* stops its pass: flsyncd stops, or the lease was lost */
	pthread_t thread;
};

/*
 * Make the account's sync: the handle, the file's settings and its own,
 * the token.  Returns an exit code after printing what is wrong.
 */
int syncd_account_setup(struct syncd_account *a, const struct flconf *cfg);

/*
 * Take the account's sync lock and open its database.  Returns an exit
 * code: OK, LOCKED (another process syncs it: try again later), DB.
 */
int syncd_account_open(struct syncd_account *a);

/* Give the account the re-read file's settings, all or nothing; false if refused (printed). */
bool syncd_account_configure(struct syncd_account *a, const struct flconf *cfg);

/*
 * One pass (and the token check before the first); with hints, only the
 * targeted reads webhook deliveries asked for.  Returns its exit code.
 */
int syncd_account_pass(struct syncd_account *a, bool once, bool hints);

void syncd_account_free(struct syncd_account *a);

/*
 * After a pass, on a slow cadence (server clock): list the account's
 * webhooks, and register again one the API has made inactive.
 */
void syncd_account_webhook_check(struct syncd_account *a);

/* ---- sink.c ------------------------------------------------------------ */

struct syncd_sink;

/* The account's PostgreSQL mirror and lease (cfg's [sink]); connects again at each pass if down. */
int syncd_sink_open(struct syncd_account *a, const struct flconf *cfg);
/* Before a pass: OK (the lease is ours), LOCKED (another machine's: logged), FAIL. */
int syncd_sink_take(struct syncd_account *a);
/* During a pass, from its progress: renew the lease now and then; a lost one cancels the pass. */
void syncd_sink_beat(struct syncd_account *a);
/* After a pass: mirror the account's changes; OK, LOCKED (lost the lease), FAIL. */
int syncd_sink_mirror(struct syncd_account *a);
/* Give up the lease, disconnect. */
void syncd_sink_close(struct syncd_account *a);

/* ---- webhook.c --------------------------------------------------------- */

struct syncd_webhook;
struct syncd_run;

/*
 * Listen on listen_on (HOST:PORT) for the accounts' deliveries, each at its
 * secret path (given_path for a single account, else made and kept in its
 * database), recorded for flsync webhook url.  Returns an exit code after
 * printing what is wrong.
 */
int syncd_webhook_start(struct syncd_run *run, const char *listen_on, const char *given_path,
			struct syncd_webhook **out);
/* Stop listening; what was answered 2xx is stored first.  NULL is fine. */
void syncd_webhook_stop(struct syncd_webhook *wh);

/* ---- loop.c ------------------------------------------------------------ */

struct syncd_run {
	struct syncd_account *accounts;
	int n_accounts;
	struct flconf cfg;
	const char *config_path;  /* what SIGHUP re-reads */
	bool config_required;     /* --config was given */
	int64_t interval_s;       /* --interval, or -1 to take the config's */
	bool once;
	struct syncd_progress *log; /* the daemon's own lines */
	struct syncd_webhook *webhook; /* the listener, NULL without one */
};

/*
 * Route SIGTERM/SIGINT to the stop flag, SIGHUP to a reload, SIGUSR1 to an
 * early pass; block them everywhere but in the scheduler's wait, so that
 * pass threads never take them.  The stop flag is what passes are
 * cancelled by.
 */
void syncd_signals_install(void);
const volatile sig_atomic_t *syncd_stop_flag(void);

/* Wake the scheduler (from any thread): an account's webhook_due was set. */
void syncd_loop_wake(void);

/* Run the accounts' passes until stopped (or once each); returns the exit code. */
int syncd_loop(struct syncd_run *run);

#endif
