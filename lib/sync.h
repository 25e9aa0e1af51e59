/*
 * sync.h — one sync pass: every stream (own projects, market projects, bids,
 * milestones, milestone requests, reviews, threads, messages, users,
 * currencies, jobs) brought up to the server's clock, each with its cursor
 * in sync_state, committed in batches together with the rows they cover.
 */
#ifndef FL_SYNC_H
#define FL_SYNC_H

#include <signal.h>
#include <stdint.h>

#include "flsync.h"
#include "http.h"
#include "ratelimit.h"

struct sync_options {
	int64_t safety_lag_s;         /* windows end this long before server now (default 30) */
	int64_t lookback_s;           /* each pass re-reads this much before the cursor (default 120) */
	int page_limit;               /* results per page (default 100, the API's cap) */
	int batch_rows;               /* rows per transaction (default 5000) */
	int batch_ms;                 /* or this long per transaction (default 1000) */
	int max_window_pages;         /* a window needing more pages is split (default 100) */
	int read_ahead;               /* pages a chain reads ahead of storing (default 2; 0 as 1) */
	int max_in_flight;            /* requests side by side (default 6; 1 one at a time, streams in order) */
	const char *const *market_queries; /* searches of /projects/active/ (query=...) */
	int n_market_queries;
	const int64_t *market_jobs;   /* jobs[] filter for market searches */
	int n_market_jobs;
	int64_t users_refresh_s;      /* re-read known users this often (default 86400) */
	int64_t reference_refresh_s;  /* currencies, jobs, categories (default 86400) */
	int64_t milestones_all_s;     /* re-read all non-final milestones this often (default 3600) */
	int64_t reconcile_every_s;    /* a deep re-read of each windowed stream this often, server clock (86400; 0 never) */
	int64_t reconcile_lookback_s; /* ... of this much below its cursor (7 days) */
	int reconcile_slices;         /* ... whose first slice is the lookback over this many (24) */
	int reconcile_budget;         /* requests a pass spends on a stream's round at least, more when its
	                                 deadline needs (16; 0 is 16; see sync_window.c) */
	int64_t refresh_all_s;        /* re-read every stored record by id this often (86400; 0 never) */
	double mass_delete_ratio;     /* refuse to mark more than this share of a table gone (0.2) */
	int max_attempts;             /* tries of one request, and sends of one queued action, on network/5xx errors (default 5) */
	int retry_base_ms;            /* first back-off, doubled per try with jitter (default 500) */
	bool hints_only;              /* run only self, the webhook hints' targeted reads and the queued actions */
	bool actions_only;            /* run only self (unless stored) and the queued actions */
	int64_t clock_date;           /* the server's clock (a Date) a moment ago, 0 unknown ... */
	int64_t clock_ms;             /* ... at this monotonic time: self then runs beside the reads */
	const volatile sig_atomic_t *stop; /* when set, finish the current batch and return FL_ERR_ABORTED */
	fl_sync_progress_fn progress; /* after every page and at each stream's end */
	void (*log)(void *ctx, const char *line); /* -v lines; never contain the token */
	void *ctx;                    /* for progress and log */
};

/* Defaults for every field above (the options[] table of sync_options.c). */
void sync_options_default(struct sync_options *opt);

/*
 * The options with the arrays they own, as fl_sync_set_option() fills them
 * (sync_options.c).  sync_settings_options() lends the arrays to a
 * struct sync_options for one pass.
 */
struct sync_settings {
	struct sync_options opt;
	char **queries;          /* search.query, in the order given */
	int n_queries;
	int64_t *jobs;           /* search.jobs */
	int n_jobs;
	double rate_scale;       /* limits.rate_scale */
};

void sync_settings_default(struct sync_settings *s);
void sync_settings_free(struct sync_settings *s); /* and back to the defaults */
/* Set one option by its public name; FL_ERR_NOT_FOUND, FL_ERR_INVALID as fl_sync_set_option(). */
int sync_settings_set(struct sync_settings *s, const char *name, const char *value,
		      struct fl_error *err);
void sync_settings_options(const struct sync_settings *s, struct sync_options *out);
/* The default of the option of that public name; false for the lists and unknown names. */
bool sync_option_default(const char *name, double *out);

/*
 * Run one pass.  Returns FL_OK when every stream succeeded, FL_ERR_ABORTED
 * when *opt->stop was set (everything committed so far is kept), or the
 * first failing stream's code (the other streams still ran; out counts
 * which failed).  A 429 never fails a stream: it waits.  err gets the
 * message (the first failing stream's, "stream: why").  out is filled but
 * for elapsed_ms and error, which are the caller's (error is NULL).
 */
int sync_pass(struct fl_db *db, struct http_client *http, struct ratelimit *rl,
	      const struct sync_options *opt, struct fl_sync_report *out, struct fl_error *err);

#endif
