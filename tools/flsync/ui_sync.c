/*
 * ui_sync.c — "sync now" for `flsync ui`: when flsyncd syncs the database,
 * ask it for a pass at once (SIGUSR1, see flsyncd(8)); when nobody does and
 * the app was given an API (--api, with FLSYNC_TOKEN or --token-file), run a
 * pass here through the public sync API, on a thread of its own with its own
 * database handle, so pages keep answering and see its rows arrive.
 * With an API, a queue watcher thread also sends what is queued (by the
 * app, flsync queue add, any program) within moments while no flsyncd
 * does: it sleeps in fl_actions_wait() and runs fl_sync_run_actions().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flconf.h"
#include "ui.h"

struct ui_syncer {
	char *db_path;
	struct fl_sync *sync;         /* NULL: no --api, only flsyncd can sync */
	pthread_mutex_t mu;           /* guards everything below */
	pthread_t thread;
	pthread_t watcher;            /* the queue watcher, with an API */
	bool watching;
	bool joinable;                /* a pass thread to join */
	bool running;
	volatile sig_atomic_t cancel; /* set when the app stops */
	int64_t feed_keep_s;          /* [feed] keep of flsyncd.conf; -1: prune nothing */
	long passes;
	int last_rc;
	int64_t last_rows, last_at;   /* the last pass's rows and end (unix seconds) */
	char last_msg[512];
};

static void *ui_syncer_watch(void *arg);

/*
 * The change feed's retention after a pass run here: [feed] keep of the
 * flsyncd.conf flsyncd reads by default (30 days without one).  A file that
 * does not load prunes nothing: what it asks to keep is unknown.
 */
static int64_t config_feed_keep(void)
{
	char *path = flconf_default_path(), err[512];
	struct flconf cfg;
	int64_t keep = -1;

	if (flconf_load(path, false, &cfg, err, sizeof err) == 0)
		keep = cfg.feed_keep_s;
	else
		fprintf(stderr, "flsync ui: %s (the change feed is not pruned after a pass here)\n", err);
	flconf_free(&cfg);
	free(path);
	return keep;
}

int ui_syncer_new(const char *db_path, const char *api, const char *token_file,
		  struct ui_syncer **out, char *err, size_t errlen)
{
	struct ui_syncer *s = xmalloc(sizeof *s);
	const char *env = getenv("FLSYNC_TOKEN");
	int rc = FL_OK;

	memset(s, 0, sizeof *s);
	s->db_path = xstrdup(db_path);
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	if (!api)
		return FL_OK;
	if (fl_sync_new(api, &s->sync) != FL_OK) {
		snprintf(err, errlen, "--api wants an http or https origin, not %s", api);
		return FL_ERR_MISUSE;
	}
	if (token_file)
		rc = fl_sync_set_token_file(s->sync, token_file);
	else if (env && *env)
		rc = fl_sync_set_token(s->sync, env);
	else {
		snprintf(err, errlen, "--api needs a token: set FLSYNC_TOKEN or use --token-file");
		return FL_ERR_MISUSE;
	}
	if (rc != FL_OK) {
		snprintf(err, errlen, "%s", fl_sync_errmsg(s->sync));
		return rc;
	}
	fl_sync_set_cancel(s->sync, &s->cancel);
	s->feed_keep_s = config_feed_keep();
	s->watching = pthread_create(&s->watcher, NULL, ui_syncer_watch, s) == 0;
	return rc;
}

void ui_syncer_free(struct ui_syncer *s)
{
	if (!s)
		return;
	s->cancel = 1; /* a pass in flight stops at its next batch */
	pthread_mutex_lock(&s->mu);
	if (s->joinable) {
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	} else {
		pthread_mutex_unlock(&s->mu);
	}
	if (s->watching)
		pthread_join(s->watcher, NULL); /* it looks at cancel every second */
	fl_sync_free(s->sync);
	pthread_mutex_destroy(&s->mu);
	free(s->db_path);
	free(s);
}

static void *ui_syncer_pass(void *arg)
{
	struct ui_syncer *s = arg;
	struct fl_db *db = NULL;
	char msg[sizeof s->last_msg];
	int64_t rows = 0;
	int rc;

	rc = fl_db_open(s->db_path, 0, &db);
	if (rc != FL_OK) {
		snprintf(msg, sizeof msg, "%s", fl_db_open_errmsg());
	} else {
		rc = fl_sync_run(s->sync, db);
		rows = fl_sync_report(s->sync)->rows;
		snprintf(msg, sizeof msg, "%s", rc == FL_OK ? "" : fl_sync_errmsg(s->sync));
		/* As flsyncd does after a pass, with its [feed] keep. */
		if (rc != FL_ERR_ABORTED && (fl_changes_trim(db, s->feed_keep_s, NULL) != FL_OK ||
					     fl_db_compact(db, NULL) != FL_OK))
			fprintf(stderr, "flsync ui: keeping the file compact: %s\n", fl_errmsg(db));
		fl_db_close(db);
	}
	pthread_mutex_lock(&s->mu);
	s->running = false;
	s->passes++;
	s->last_rc = rc;
	s->last_rows = rows;
	s->last_at = (int64_t)time(NULL);
	snprintf(s->last_msg, sizeof s->last_msg, "%s", msg);
	pthread_mutex_unlock(&s->mu);
	if (rc != FL_OK)
		fprintf(stderr, "flsync ui: pass failed: %s\n", msg);
	return NULL;
}

unsigned ui_syncer_start(struct ui_syncer *s, char *msg, size_t msglen, long *out_pid)
{
	int64_t pid = 0;

	*out_pid = 0;
	if (fl_sync_lock_holder(s->db_path, &pid) != FL_OK) {
		snprintf(msg, msglen, "cannot read the sync lock of %s", s->db_path);
		return 500;
	}
	if (pid > 0 && pid != (int64_t)getpid()) {
		if (kill((pid_t)pid, SIGUSR1) != 0) {
			snprintf(msg, msglen, "cannot signal flsyncd (pid %lld): %s", (long long)pid,
				 strerror(errno));
			return 500;
		}
		*out_pid = (long)pid;
		snprintf(msg, msglen, "flsyncd starts a pass now");
		return 202;
	}
	if (pid < 0) {
		snprintf(msg, msglen, "another process is starting to sync %s: try again in a moment",
			 s->db_path);
		return 409;
	}
	if (!s->sync) {
		snprintf(msg, msglen, "no flsyncd is syncing %s: start one (flsyncd --db %s --api URL), "
			 "or start flsync ui with --api URL to sync from here", s->db_path, s->db_path);
		return 409;
	}
	pthread_mutex_lock(&s->mu);
	if (s->running) {
		pthread_mutex_unlock(&s->mu);
		snprintf(msg, msglen, "a pass is already running");
		return 409;
	}
	if (s->joinable) {
		pthread_join(s->thread, NULL); /* the last pass, over */
		s->joinable = false;
	}
	if (pthread_create(&s->thread, NULL, ui_syncer_pass, s) != 0) {
		pthread_mutex_unlock(&s->mu);
		snprintf(msg, msglen, "cannot start a pass: %s", strerror(errno));
		return 500;
	}
	s->joinable = s->running = true;
	pthread_mutex_unlock(&s->mu);
	snprintf(msg, msglen, "a pass started here");
	return 202;
}

void ui_syncer_json(struct ui_syncer *s, FILE *f)
{
	int64_t pid = 0, next = 0;

	fl_sync_lock_holder(s->db_path, &pid);
	if (pid > 0 && pid != (int64_t)getpid())
		fl_sync_lock_next_pass(s->db_path, &next);
	pthread_mutex_lock(&s->mu);
	fprintf(f, "\"flsyncd_pid\":%lld,\"next_pass\":%lld,\"sync\":{\"here\":%s,\"running\":%s,\"passes\":%ld,"
		"\"last_at\":%lld,\"last_rows\":%lld,\"last_error\":",
		(long long)(pid > 0 && pid != (int64_t)getpid() ? pid : 0), (long long)next, s->sync ? "true" : "false",
		s->running ? "true" : "false", s->passes, (long long)s->last_at,
		(long long)s->last_rows);
	if (s->passes && s->last_rc != FL_OK)
		tool_json_string(f, s->last_msg, strlen(s->last_msg));
	else
		fputs("null", f);
	fputs("}", f);
	pthread_mutex_unlock(&s->mu);
}

/* Take the handle for a round of the queue: false while a pass runs or flsyncd syncs. */
static bool ui_syncer_claim(struct ui_syncer *s)
{
	int64_t pid = 0;
	bool ok;

	if (fl_sync_lock_holder(s->db_path, &pid) != FL_OK || (pid != 0 && pid != (int64_t)getpid()))
		return false; /* flsyncd sends the queue itself */
	pthread_mutex_lock(&s->mu);
	ok = !s->running;
	if (ok)
		s->running = true;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* One round of the queue on the watcher's handle; its code. */
static int ui_syncer_send(struct ui_syncer *s, struct fl_db *db)
{
	int rc = fl_sync_run_actions(s->sync, db);

	if (rc != FL_OK && rc != FL_ERR_ABORTED)
		fprintf(stderr, "flsync ui: sending the queue failed: %s\n", fl_sync_errmsg(s->sync));
	pthread_mutex_lock(&s->mu);
	s->running = false;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void ui_syncer_nap(const struct ui_syncer *s, int64_t ms)
{
	for (; ms > 0 && !s->cancel; ms -= 100) {
		struct timespec ts = { 0, 100 * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/* The queue watcher: while nobody else syncs, what is queued leaves within moments. */
static void *ui_syncer_watch(void *arg)
{
	struct ui_syncer *s = arg;
	struct fl_db *db = NULL;
	int64_t backoff_ms = 0, ready = 0, left = 0, since;

	if (fl_db_open(s->db_path, 0, &db) != FL_OK) {
		fprintf(stderr, "flsync ui: cannot watch the queue: %s\n", fl_db_open_errmsg());
		return NULL;
	}
	while (!s->cancel) {
		int rc = fl_actions_wait(db, 1000, &ready);

		if (rc == FL_ERR_TIMEOUT)
			continue;
		if (rc != FL_OK || !ui_syncer_claim(s)) {
			/* No watch, or not ours to send (flsyncd, or our own pass, has it): look again later. */
			ui_syncer_nap(s, rc != FL_OK ? 1000 : 2000);
			continue;
		}
		/* Sent, or back to wait for its back-off: on at once.  Left untouched: back off. */
		since = (int64_t)time(NULL);
		ui_syncer_send(s, db);
		if (fl_actions_untouched(db, since, &left) != FL_OK || left == 0) {
			backoff_ms = 0;
			continue;
		}
		backoff_ms = backoff_ms ? backoff_ms * 2 : 1000;
		if (backoff_ms > 60000)
			backoff_ms = 60000;
		ui_syncer_nap(s, backoff_ms);
	}
	fl_db_close(db);
	return NULL;
}

bool ui_syncer_sends(struct ui_syncer *s)
{
	return s->sync != NULL;
}

void ui_syncer_why(struct ui_syncer *s, const struct fl_action_info *a, char *out, size_t len)
{
	int64_t pid = 0, now = (int64_t)time(NULL);

	fl_sync_lock_holder(s->db_path, &pid);
	if (pid == (int64_t)getpid())
		pid = 0;
	if (a->state == FL_ACTION_SENDING)
		snprintf(out, len, "being sent");
	else if (pid <= 0 && !s->sync)
		snprintf(out, len, "no flsyncd is syncing this database and flsync ui has no --api: "
			 "it is sent when one syncs");
	else if (a->next_attempt > now)
		snprintf(out, len, "a try failed (%s): tried again in %lld s",
			 a->error_message ? a->error_message : "no answer", (long long)(a->next_attempt - now));
	else if (a->depends_on)
		snprintf(out, len, "waiting for action %lld, which it depends on", (long long)a->depends_on);
	else
		snprintf(out, len, "waiting for %s and the API's rate budget", pid > 0 ? "flsyncd" : "this app");
}
