/*
 * syncd.h — what flsyncd's files share: exit codes, the configuration
 * (config.c), the progress display and log (progress.c) and the pass loop
 * with its signals (loop.c).  flsyncd is a plain user of libflsync's public
 * API: nothing here sees the library's insides.
 */
#ifndef FL_SYNCD_H
#define FL_SYNCD_H

#include <stdbool.h>
#include <stdint.h>

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

/* ---- config.c ---------------------------------------------------------- */

/* One setting the library takes (fl_sync_set_option()), with where it was written. */
struct syncd_setting {
	char *name;              /* "cadence.lookback" */
	char *value;
	long line;
};

struct syncd_config {
	char *path;              /* the file read, NULL when there was none */
	struct syncd_setting *settings; /* the library's, in file order */
	int n_settings;
	int64_t interval_s;      /* [cadence] interval: seconds between passes */
};

/*
 * The default config file, $XDG_CONFIG_HOME/flsync/flsyncd.conf or
 * ~/.config/flsync/flsyncd.conf; NULL without a home.  Caller frees.
 */
char *syncd_config_default_path(void);

/*
 * Read path into out (defaults first, then the file's values).  A missing
 * file is an error only when required.  Returns 0, or SYNCD_EXIT_USAGE after
 * printing "FILE:LINE: what is wrong" to stderr; out is then empty.
 */
int syncd_config_load(const char *path, bool required, struct syncd_config *out);
void syncd_config_free(struct syncd_config *cfg);

/*
 * Give sync the library's settings of cfg, all or nothing.  Returns 0, or
 * SYNCD_EXIT_USAGE after printing "FILE:LINE: what is wrong"; sync then keeps
 * what it had.
 */
int syncd_config_apply(const struct syncd_config *cfg, struct fl_sync *sync);

/* ---- progress.c -------------------------------------------------------- */

struct syncd_progress;

/* Monotonic milliseconds. */
int64_t syncd_now_ms(void);

/* display: redraw per-stream rows in place on stderr; verbose: log lines. */
struct syncd_progress *syncd_progress_new(bool display, bool verbose);
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

/* ---- loop.c ------------------------------------------------------------ */

struct syncd_run {
	struct fl_db *db;
	struct fl_sync *sync;
	struct syncd_progress *progress;
	struct syncd_config cfg;
	const char *config_path;  /* what SIGHUP re-reads */
	bool config_required;     /* --config was given */
	int64_t interval_s;       /* --interval, or -1 to take the config's */
	bool once;
};

/*
 * Route SIGTERM/SIGINT to the stop flag and SIGHUP to a reload, SIGUSR1 to
 * an early pass.  The stop flag is what passes are cancelled by.
 */
void syncd_signals_install(void);
const volatile sig_atomic_t *syncd_stop_flag(void);

/* Prove the token, then run passes; returns the exit code. */
int syncd_loop(struct syncd_run *run);

#endif
