/*
 * syncd.h — what flsyncd's files share: exit codes, one account's sync
 * (account.c), the scheduler that decides every account's rounds
 * (schedule.c), the signals and reload (signals.c), the webhook listener
 * (webhook.c), and the progress display and log (progress.c).
 * flsyncd is a plain user of libflsync's public API: nothing here sees the
 * library's insides.  The configuration file is conf/flconf.h's.
 */
#ifndef FL_SYNCD_H
#define FL_SYNCD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
/* The start of a log line on stderr: the local time (not under systemd) and "flsyncd: ". */
void syncd_log_start(void);
void syncd_info(struct syncd_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- account.c --------------------------------------------------------- */

/* Where an account stands between passes. */
enum syncd_account_state {
	ACCOUNT_IDLE,     /* waits for its next pass */
	ACCOUNT_RUNNING,  /* a round runs on its worker thread */
	ACCOUNT_FINISHED, /* its worker ended the round; the scheduler has not yet seen it */
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
	bool db_made;             /* this round created the database file (removed again if the token fails) */
	dev_t db_dev;             /* ... and the file it made, to remove no other */
	ino_t db_ino;

	/* scheduling (schedule.c; what the scheduler's mutex guards) */
	enum syncd_account_state state;
	unsigned pending;         /* SCHED_* reasons to run, taken and cleared when a round starts */
	unsigned round;           /* the reasons the round running (or last run) took */
	long rounds_started;      /* rounds started so far ... */
	long rounds_done;         /* ... and ended: the queue watcher waits on these */
	int round_code;           /* exit code of the last round that ended */
	int64_t due_ms;           /* monotonic time of its next poll (a whole pass) */
	int64_t hold_ms;          /* no round before this (a thread could not start) */
	long passes;
	int failures;             /* whole passes failed in a row, for the back-off */
	int code;                 /* exit code of its last round (or why it stopped) */
	bool ran;                 /* at least one round ended (--once) */
	bool once;                /* --once: print the pass's summary */
	bool reconfigure;         /* a reload's settings wait for the round to end */
	pthread_t watcher;        /* its queue watcher */
	bool watcher_started;
	bool webhooks;            /* deliveries come to the listener for it */
	int64_t webhook_check_s;  /* how often its webhook is checked still active, 0 never */
	int64_t webhook_checked;  /* when it last was, on the server's clock */
	struct syncd_sink *sink;  /* [sink] postgres: its mirror and lease, NULL without */
	int64_t feed_keep_s;      /* [feed] keep: the change feed's retention */
	volatile sig_atomic_t cancel; /* stops its pass: flsyncd stops, or the lease was lost */
	pthread_t thread;         /* its worker: runs every round of the account, lives until exit */
	bool thread_started;
	bool thread_quit;         /* the run ends: the worker returns instead of waiting */
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

/* What a round runs (schedule.c decides). */
enum syncd_round {
	SYNCD_ROUND_PASS,    /* a whole pass: fl_sync_run() */
	SYNCD_ROUND_HINTS,   /* deliveries' targeted reads and the queue: fl_sync_run_hints() */
	SYNCD_ROUND_ACTIONS, /* the queue alone: fl_sync_run_actions() */
};

/* One round (and the token check before the first).  Returns its exit code. */
int syncd_account_round(struct syncd_account *a, bool once, enum syncd_round kind);

void syncd_account_free(struct syncd_account *a);

/*
 * After a pass, on a slow cadence (server clock): list the account's
 * webhooks, and register again one the API has made inactive.
 */
void syncd_account_webhook_check(struct syncd_account *a);

/* ---- sink.c ------------------------------------------------------------ */

struct syncd_sink;

/*
 * After a pass (feed.c): coalesce and prune the change feed behind [feed]
 * keep, never past a held position, then give free pages back and
 * truncate the WAL.  Failures are logged; they never fail the pass.
 */
void syncd_feed_trim(struct syncd_account *a);

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

/* ---- the run ----------------------------------------------------------- */

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

/* ---- signals.c --------------------------------------------------------- */

/*
 * Block SIGTERM/SIGINT (a stop), SIGHUP (a reload) and SIGUSR1 (a whole
 * pass now) in every thread, and start the one thread that takes them
 * (sigwait) and tells the scheduler.  After the first stop, a second
 * SIGTERM/SIGINT ends the process at once.
 */
void syncd_signals_install(void);

/* Re-read the configuration (SIGHUP); called by the scheduler between rounds, its mutex held. */
void syncd_reload(struct syncd_run *run);
/* Accounts between rounds take the settings a reload left them (scheduler's mutex held). */
void syncd_apply_settings(struct syncd_run *run);

/* ---- schedule.c -------------------------------------------------------- */

/* An account's reasons to run (struct syncd_account.pending), a bitmask. */
enum {
	SCHED_PASS = 1u << 0,      /* its interval (or back-off) came round */
	SCHED_EARLY = 1u << 1,     /* a whole pass now: a delivery nothing maps, SIGUSR1, a reload */
	SCHED_RECONCILE = 1u << 2, /* a deep re-read, run as an ordinary pass */
	SCHED_REFRESH = 1u << 3,   /* a daily refresh, run as an ordinary pass */
	SCHED_HINTS = 1u << 4,     /* webhook deliveries wait for their targeted reads */
	SCHED_ACTIONS = 1u << 5,   /* queued actions are ready to send */
};
/* The reasons that make a round a whole pass. */
#define SCHED_WHOLE (SCHED_PASS | SCHED_EARLY | SCHED_RECONCILE | SCHED_REFRESH)

enum syncd_signal { SYNCD_SIGNAL_STOP, SYNCD_SIGNAL_RELOAD, SYNCD_SIGNAL_EARLY };

/* Before any thread: the scheduler's condition variable. */
void syncd_schedule_init(void);
/* The stop flag (SIGTERM/SIGINT): what every round is cancelled by. */
const volatile sig_atomic_t *syncd_stop_flag(void);
/* From the signal thread: a stop, a reload, a whole pass now. */
void syncd_schedule_signal(enum syncd_signal what);
/* From any thread: a's reasons to run gain reasons; a round follows, after the running one. */
void syncd_schedule_post(struct syncd_account *a, unsigned reasons);

/* Run the accounts' rounds until stopped (or one pass each, --once); returns the exit code. */
int syncd_loop(struct syncd_run *run);

#endif
