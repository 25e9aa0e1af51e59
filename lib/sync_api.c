/*
 * sync_api.c — struct fl_sync, the public face of the sync: one account's
 * API origin, token source, options, HTTP connection and rate budgets kept
 * from pass to pass; proving the token (fl_sync_check); one pass under the
 * database's sync lock (fl_sync_run) with its outcome told as one FL_* code,
 * the sign-in's end recorded for flsync status.  The pass itself is sync.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth_state.h"
#include "store.h"
#include "sync.h"
#include "sync_lock.h"

#define SELF_PATH "/api/users/0.1/self/"
#define SELF_ATTEMPTS 5 /* 429s waited out by fl_sync_check() */

struct fl_sync {
	char *api_url;
	struct token_source *tokens;  /* NULL until a token is set */
	struct http_client *http;     /* signs with tokens */
	struct ratelimit *rl;
	double rl_scale;              /* the rate_scale rl was made with */
	struct sync_settings settings;
	fl_sync_progress_fn progress;
	void *progress_ctx;
	fl_sync_log_fn log;
	void *log_ctx;
	const volatile sig_atomic_t *cancel;
	struct sync_lock lock;        /* held by fl_sync_lock() */
	struct fl_sync_report report;
	char report_error[FL_ERRMSG_MAX];
	struct fl_error err;
	int64_t checked_date, checked_ms; /* the server's clock as fl_sync_check saw it, and when */
};

static bool sync_api_url_ok(const char *url)
{
	return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
	       url[strcspn(url, "://") + 3] != '\0';
}

FL_API int fl_sync_new(const char *api_url, struct fl_sync **out)
{
	struct fl_sync *s;

	if (!out)
		return FL_ERR_MISUSE;
	*out = NULL;
	if (!sync_api_url_ok(api_url))
		return FL_ERR_MISUSE;
	if (!(s = calloc(1, sizeof *s)))
		return FL_ERR_NOMEM;
	s->lock.fd = -1;
	sync_settings_default(&s->settings);
	if (!(s->api_url = strdup(api_url)) ||
	    ratelimit_new(s->settings.rate_scale, &s->rl, &s->err) != FL_OK) {
		fl_sync_free(s);
		return FL_ERR_NOMEM;
	}
	s->rl_scale = s->settings.rate_scale;
	s->report.error = s->report_error;
	*out = s;
	return FL_OK;
}

FL_API void fl_sync_free(struct fl_sync *s)
{
	if (!s)
		return;
	sync_lock_drop(&s->lock);
	http_client_free(s->http);
	token_source_free(s->tokens);
	ratelimit_free(s->rl);
	sync_settings_free(&s->settings);
	free(s->api_url);
	free(s);
}

FL_API const char *fl_sync_errmsg(const struct fl_sync *s)
{
	return s ? s->err.msg : "no sync handle";
}

/* Sign with ts from now on (it is s's then, whatever the outcome). */
static int sync_api_use_tokens(struct fl_sync *s, struct token_source *ts)
{
	struct http_config hc = { .base_url = s->api_url, .tokens = ts };
	struct http_client *http = NULL;

	if (http_client_new(&hc, &http, &s->err) != FL_OK) {
		token_source_free(ts);
		return s->err.rc;
	}
	http_client_free(s->http);
	token_source_free(s->tokens);
	s->http = http;
	s->tokens = ts;
	error_clear(&s->err);
	return FL_OK;
}

FL_API int fl_sync_set_token(struct fl_sync *s, const char *token)
{
	struct token_source *ts = NULL;

	if (!s || !token)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "no token given") : FL_ERR_MISUSE;
	if (!*token || strpbrk(token, "\r\n"))
		return error_set(&s->err, FL_ERR_INVALID, "the token is empty or holds a line break");
	if (token_source_new_static(token, &ts, &s->err) != FL_OK)
		return s->err.rc;
	return sync_api_use_tokens(s, ts);
}

FL_API int fl_sync_set_token_file(struct fl_sync *s, const char *token_file)
{
	struct token_source *ts = NULL;

	if (!s || !token_file)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "no token file given") : FL_ERR_MISUSE;
	if (token_source_open_file(token_file, &ts, &s->err) != FL_OK)
		return s->err.rc;
	if (token_source_needs_login(ts)) {
		error_set(&s->err, FL_ERR_AUTH, "%s", token_source_needs_login(ts));
		token_source_free(ts);
		return FL_ERR_AUTH;
	}
	return sync_api_use_tokens(s, ts);
}

FL_API int fl_sync_set_option(struct fl_sync *s, const char *name, const char *value)
{
	if (!s)
		return FL_ERR_MISUSE;
	if (sync_settings_set(&s->settings, name, value, &s->err) != FL_OK)
		return s->err.rc;
	error_clear(&s->err);
	return FL_OK;
}

FL_API int fl_sync_configure(struct fl_sync *s, int n, const char *const *names,
			     const char *const *values, int *out_bad)
{
	struct sync_settings next;

	if (out_bad)
		*out_bad = -1;
	if (!s || n < 0 || (n > 0 && (!names || !values)))
		return s ? error_set(&s->err, FL_ERR_MISUSE, "fl_sync_configure: bad arguments")
			 : FL_ERR_MISUSE;
	sync_settings_default(&next);
	for (int i = 0; i < n; i++) {
		if (sync_settings_set(&next, names[i], values[i], &s->err) != FL_OK) {
			if (out_bad)
				*out_bad = i;
			sync_settings_free(&next);
			return s->err.rc;
		}
	}
	sync_settings_free(&s->settings);
	s->settings = next;
	error_clear(&s->err);
	return FL_OK;
}

FL_API void fl_sync_set_progress(struct fl_sync *s, fl_sync_progress_fn fn, void *ctx)
{
	if (s) {
		s->progress = fn;
		s->progress_ctx = ctx;
	}
}

FL_API void fl_sync_set_log(struct fl_sync *s, fl_sync_log_fn fn, void *ctx)
{
	if (s) {
		s->log = fn;
		s->log_ctx = ctx;
	}
}

FL_API void fl_sync_set_cancel(struct fl_sync *s, const volatile sig_atomic_t *flag)
{
	if (s)
		s->cancel = flag;
}

FL_API const struct fl_sync_report *fl_sync_report(const struct fl_sync *s)
{
	return s ? &s->report : NULL;
}

FL_API const char *fl_sync_needs_login(const struct fl_sync *s)
{
	return s && s->tokens ? token_source_needs_login(s->tokens) : NULL;
}

FL_API int fl_sync_set_next_pass(struct fl_sync *s, int64_t at)
{
	if (!s || at < 0)
		return FL_ERR_MISUSE;
	return sync_lock_note_next(&s->lock, at);
}

FL_API int fl_sync_lock(struct fl_sync *s, const char *db_path)
{
	struct sync_lock lk;

	if (!s || !db_path || !*db_path)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "no database path to lock") : FL_ERR_MISUSE;
	if (sync_lock_covers(&s->lock, db_path)) {
		error_clear(&s->err);
		return FL_OK;
	}
	if (sync_lock_take(&lk, db_path, &s->err) != FL_OK)
		return s->err.rc;
	sync_lock_drop(&s->lock);
	s->lock = lk;
	error_clear(&s->err);
	return FL_OK;
}

FL_API void fl_sync_unlock(struct fl_sync *s)
{
	if (s)
		sync_lock_drop(&s->lock);
}

static void sync_api_log(struct fl_sync *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sync_api_log(struct fl_sync *s, const char *fmt, ...)
{
	char line[FL_ERRMSG_MAX + 128];
	va_list ap;

	if (!s->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	s->log(s->log_ctx, line);
}

static bool sync_api_cancelled(const struct fl_sync *s)
{
	return s->cancel && *s->cancel;
}

/* Sleep ms in short naps, waking early when cancelled. */
static void sync_api_nap(const struct fl_sync *s, int64_t ms)
{
	int64_t deadline = ratelimit_now_ms() + ms, left;

	while (!sync_api_cancelled(s) && (left = deadline - ratelimit_now_ms()) > 0) {
		int64_t step = left < 100 ? left : 100;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/* The rate budgets follow limits.rate_scale; a change starts them afresh. */
static int sync_api_ratelimit(struct fl_sync *s)
{
	struct ratelimit *rl = NULL;

	if (s->settings.rate_scale == s->rl_scale)
		return FL_OK;
	if (ratelimit_new(s->settings.rate_scale, &rl, &s->err) != FL_OK)
		return s->err.rc;
	ratelimit_free(s->rl);
	s->rl = rl;
	s->rl_scale = s->settings.rate_scale;
	return FL_OK;
}

/* The sign-in has ended: say so in the database for flsync status. */
static int sync_api_signin_ended(struct fl_sync *s, struct fl_db *db)
{
	const char *msg = fl_sync_needs_login(s);

	if (auth_state_record(db, msg, (int64_t)time(NULL)) != FL_OK)
		sync_api_log(s, "%s", fl_errmsg(db));
	return error_set(&s->err, FL_ERR_AUTH, "%s", msg);
}

static bool sync_api_refused(long status, int rc)
{
	return (status == 401 || status == 403) && rc != FL_ERR_NETWORK && rc != FL_ERR_TIMEOUT;
}

/* A refused token will not mend by waiting: flsync status says what to run. */
static void sync_api_record_refusal(struct fl_sync *s, struct fl_db *db)
{
	char msg[FL_ERRMSG_MAX + 64];

	snprintf(msg, sizeof msg, "%.*s; sign in again (flsync auth login, or flsync auth token)",
		 FL_ERRMSG_MAX - 1, s->err.msg);
	if (auth_state_record(db, msg, (int64_t)time(NULL)) != FL_OK)
		sync_api_log(s, "%s", fl_errmsg(db));
}

FL_API int fl_sync_check(struct fl_sync *s, struct fl_db *db)
{
	char ep[96];
	int rc = FL_ERR_RATE_LIMITED;

	if (!s || !db)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "fl_sync_check: no database") : FL_ERR_MISUSE;
	if (!s->http)
		return error_set(&s->err, FL_ERR_MISUSE, "no API token: set one before syncing");
	if (sync_api_ratelimit(s) != FL_OK)
		return s->err.rc;
	for (int attempt = 0; attempt < SELF_ATTEMPTS; attempt++) {
		struct api_result res;
		int64_t wait = api_limit_delay(s->rl, "GET", SELF_PATH, ep, sizeof ep);

		if (wait > 0) {
			sync_api_log(s, "waiting %.1f s for the rate limit of %s", (double)wait / 1000.0, ep);
			sync_api_nap(s, wait);
		}
		if (sync_api_cancelled(s))
			return error_set(&s->err, FL_ERR_ABORTED, "stopped");
		rc = api_call_limited(s->rl, ep, s->http, "GET", SELF_PATH, NULL, NULL, 0, NULL, NULL, NULL, &res,
				      &s->err);
		if (rc == FL_OK) {
			sync_api_log(s, "API answers; token accepted");
			s->checked_date = res.http.date;
			s->checked_ms = ratelimit_now_ms();
			if (auth_state_record(db, NULL, (int64_t)time(NULL)) != FL_OK)
				return error_copy(&s->err, &db->err);
			error_clear(&s->err);
			return FL_OK;
		}
		if (fl_sync_needs_login(s))
			return sync_api_signin_ended(s, db);
		if (sync_api_refused(res.http.status, rc)) {
			error_prefix(&s->err, "the API refused the token (see flsync auth status; flsync auth "
				     "login or flsync auth token signs in again)");
			s->err.rc = FL_ERR_AUTH;
			sync_api_record_refusal(s, db);
			return FL_ERR_AUTH;
		}
		if (rc != FL_ERR_RATE_LIMITED)
			return rc;
		sync_api_log(s, "%s", s->err.msg);
	}
	return rc;
}

static void sync_api_progress(void *ctx, const struct fl_sync_progress *p)
{
	struct fl_sync *s = ctx;

	s->progress(s->progress_ctx, p);
}

static void sync_api_pass_log(void *ctx, const char *line)
{
	struct fl_sync *s = ctx;

	s->log(s->log_ctx, line);
}

/* A database code: the pass could not store, so nothing else matters. */
static bool sync_api_db_code(int rc)
{
	return rc == FL_ERR_DB || rc == FL_ERR_IO || rc == FL_ERR_READONLY || rc == FL_ERR_BUSY ||
	       rc == FL_ERR_SCHEMA || rc == FL_ERR_NOMEM || rc == FL_ERR_LOCKED;
}

/* What a round runs: every stream, the hints' reads and the queue, or the queue alone. */
enum sync_api_scope { SCOPE_PASS, SCOPE_HINTS, SCOPE_ACTIONS };

static int sync_api_run(struct fl_sync *s, struct fl_db *db, enum sync_api_scope scope);

FL_API int fl_sync_run(struct fl_sync *s, struct fl_db *db)
{
	return sync_api_run(s, db, SCOPE_PASS);
}

FL_API int fl_sync_run_hints(struct fl_sync *s, struct fl_db *db)
{
	int64_t reads = 0, passes = 0;

	if (!s || !db)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "fl_sync_run_hints: no database") : FL_ERR_MISUSE;
	/* A delivery nothing could be made of asked for a whole early pass. */
	if (fl_webhook_hints_pending(db, &reads, &passes) != FL_OK)
		return error_copy(&s->err, &db->err);
	return sync_api_run(s, db, passes == 0 ? SCOPE_HINTS : SCOPE_PASS);
}

FL_API int fl_sync_run_actions(struct fl_sync *s, struct fl_db *db)
{
	if (!s || !db)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "fl_sync_run_actions: no database") : FL_ERR_MISUSE;
	return sync_api_run(s, db, SCOPE_ACTIONS);
}

static int sync_api_run(struct fl_sync *s, struct fl_db *db, enum sync_api_scope scope)
{
	struct sync_lock pass_lock = { .fd = -1 };
	struct sync_options opt;
	const char *path;
	int64_t started = ratelimit_now_ms();
	int rc;

	if (!s || !db)
		return s ? error_set(&s->err, FL_ERR_MISUSE, "fl_sync_run: no database") : FL_ERR_MISUSE;
	memset(&s->report, 0, sizeof s->report);
	s->report_error[0] = '\0';
	s->report.error = s->report_error;
	if (!s->http)
		return error_set(&s->err, FL_ERR_MISUSE, "no API token: set one before syncing");
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&s->err, FL_ERR_READONLY, "a pass needs a read-write database handle");
	if (sync_api_ratelimit(s) != FL_OK)
		return s->err.rc;
	/* A temporary or in-memory database has no file another process could sync. */
	path = sqlite3_db_filename(db->sql, "main");
	if (path && *path && !sync_lock_covers(&s->lock, path) &&
	    sync_lock_take(&pass_lock, path, &s->err) != FL_OK) {
		snprintf(s->report_error, sizeof s->report_error, "%s", s->err.msg);
		return s->err.rc;
	}

	sync_settings_options(&s->settings, &opt);
	opt.hints_only = scope == SCOPE_HINTS;
	opt.actions_only = scope == SCOPE_ACTIONS;
	/*
	 * A check a moment ago told the server's clock: the pass right after it
	 * need not wait for its own (once: later passes ask the server again).
	 */
	if (scope == SCOPE_PASS && s->checked_date > 0 && ratelimit_now_ms() - s->checked_ms < 10000) {
		opt.clock_date = s->checked_date;
		opt.clock_ms = s->checked_ms;
	}
	s->checked_date = 0;
	opt.stop = s->cancel;
	opt.progress = s->progress ? sync_api_progress : NULL;
	opt.log = s->log ? sync_api_pass_log : NULL;
	opt.ctx = s;
	error_clear(&s->err);
	rc = sync_pass(db, s->http, s->rl, &opt, &s->report, &s->err);
	sync_lock_drop(&pass_lock);
	/* The pass's own message, before a refused sign-in below words it anew. */
	snprintf(s->report_error, sizeof s->report_error, "%s", rc == FL_OK ? "" : s->err.msg);
	s->report.error = s->report_error;
	if (rc != FL_OK && !s->err.msg[0])
		error_set(&s->err, rc, "the pass failed");
	if (token_source_path(s->tokens)) {
		unsigned refreshed, adopted;

		token_source_counts(s->tokens, &refreshed, &adopted);
		sync_api_log(s, "token file %s: %u refreshes so far, %u tokens taken from another process's refresh",
			     token_source_path(s->tokens), refreshed, adopted);
	}
	if (rc != FL_OK && rc != FL_ERR_ABORTED && !sync_api_db_code(rc)) {
		if (fl_sync_needs_login(s))
			rc = sync_api_signin_ended(s, db);
		else if (sync_api_refused(s->report.http_status, rc)) {
			rc = FL_ERR_AUTH;
			sync_api_record_refusal(s, db);
		}
	}
	s->report.elapsed_ms = ratelimit_now_ms() - started;
	if (rc == FL_OK)
		s->report_error[0] = '\0';
	else if (!s->report_error[0])
		snprintf(s->report_error, sizeof s->report_error, "%s", s->err.msg);
	if (rc == FL_OK)
		error_clear(&s->err);
	else if (s->err.rc != rc)
		s->err.rc = rc;
	return rc;
}
