/*
 * account.c — one account's sync inside flsyncd: its handle with the
 * file's settings and its own, its token, its sync lock and database, and
 * one round — a whole pass, the deliveries' targeted reads, or the queue
 * alone (the token proven by GET self before the first) — told as an exit
 * code.  Each account has its own handle, so its own rate budgets:
 * the API's limits are per user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "syncd.h"

#define ACCOUNT_SETTINGS_MAX 4096

/* A check's or pass's result as an exit code. */
static int account_exit_code(int rc)
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
	case FL_ERR_NOMEM:
		return SYNCD_EXIT_DB;
	case FL_ERR_LOCKED:
		return SYNCD_EXIT_LOCKED;
	case FL_ERR_AUTH:
		return SYNCD_EXIT_AUTH;
	default:
		return SYNCD_EXIT_FAIL;
	}
}

bool syncd_account_configure(struct syncd_account *a, const struct flconf *cfg)
{
	int n = cfg->n_settings + a->n_settings, bad = -1, rc;
	const char **names, **values;
	const struct flconf_setting *s;
	char err[768];

	a->feed_keep_s = cfg->feed_keep_s;
	if (n > ACCOUNT_SETTINGS_MAX) {
		syncd_error(a->progress, "%s: more than %d settings", cfg->path, ACCOUNT_SETTINGS_MAX);
		return false;
	}
	names = calloc((size_t)n + 1, sizeof *names);
	values = calloc((size_t)n + 1, sizeof *values);
	if (!names || !values)
		abort();
	for (int i = 0; i < n; i++) {
		s = i < cfg->n_settings ? &cfg->settings[i] : &a->settings[i - cfg->n_settings];
		names[i] = s->name;
		values[i] = s->value;
	}
	rc = fl_sync_configure(a->sync, n, names, values, &bad);
	free(names);
	free(values);
	if (rc == FL_OK)
		return true;
	if (bad < 0) {
		syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
		return false;
	}
	s = bad < cfg->n_settings ? &cfg->settings[bad] : &a->settings[bad - cfg->n_settings];
	flconf_setting_error(cfg, s, rc, fl_sync_errmsg(a->sync), err, sizeof err);
	syncd_error(a->progress, "%s", err);
	return false;
}

/* Sign with the token file (refreshed when it can be) or FLSYNC_TOKEN. */
static int account_token(struct syncd_account *a)
{
	const char *env = getenv("FLSYNC_TOKEN");

	if (a->token_file) {
		if (fl_sync_set_token_file(a->sync, a->token_file) != FL_OK) {
			syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
			return SYNCD_EXIT_AUTH;
		}
		return SYNCD_EXIT_OK;
	}
	if (env && *env) {
		if (fl_sync_set_token(a->sync, env) != FL_OK) {
			syncd_error(a->progress, "FLSYNC_TOKEN: %s", fl_sync_errmsg(a->sync));
			return SYNCD_EXIT_AUTH;
		}
		return SYNCD_EXIT_OK;
	}
	if (a->name)
		syncd_error(a->progress, "no API token: give [account %s] a token_file "
			    "(flsync auth login --token-file FILE), or set FLSYNC_TOKEN", a->name);
	else
		syncd_error(a->progress, "no API token: set FLSYNC_TOKEN, use --token-file, "
			    "or sign in with flsync auth login --token-file FILE");
	return SYNCD_EXIT_AUTH;
}

/* After every page: the display, and the lease's heartbeat. */
static void account_progress(void *ctx, const struct fl_sync_progress *sp)
{
	struct syncd_account *a = ctx;

	syncd_progress_update(a->progress, sp);
	syncd_sink_beat(a);
}

int syncd_account_setup(struct syncd_account *a, const struct flconf *cfg)
{
	if (fl_sync_new(a->api, &a->sync) != FL_OK) {
		syncd_error(a->progress, "the API wants an http or https origin, e.g. "
			    "https://www.freelancer.com, not %s", a->api);
		return SYNCD_EXIT_USAGE;
	}
	if (!syncd_account_configure(a, cfg))
		return SYNCD_EXIT_USAGE;
	fl_sync_set_progress(a->sync, account_progress, a);
	fl_sync_set_log(a->sync, syncd_progress_log, a->progress);
	fl_sync_set_cancel(a->sync, &a->cancel);
	if (cfg->sink_postgres)
		syncd_sink_open(a, cfg);
	return account_token(a);
}

int syncd_account_open(struct syncd_account *a)
{
	int rc;

	if (a->db)
		return SYNCD_EXIT_OK;
	/* The lock comes first: even a migration must not race another flsyncd. */
	rc = fl_sync_lock(a->sync, a->db_path);
	if (rc == FL_ERR_LOCKED) {
		int64_t pid = 0;

		fl_sync_lock_holder(a->db_path, &pid);
		if (pid > 0)
			syncd_error(a->progress, "another flsyncd is syncing %s (pid %lld)", a->db_path,
				    (long long)pid);
		else
			syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
		return SYNCD_EXIT_LOCKED;
	}
	if (rc != FL_OK) {
		syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
		return SYNCD_EXIT_DB;
	}
	a->db_made = access(a->db_path, F_OK) != 0 && errno == ENOENT;
	if (fl_db_open(a->db_path, FL_OPEN_CREATE, &a->db) != FL_OK) {
		syncd_error(a->progress, "%s", fl_db_open_errmsg());
		fl_sync_unlock(a->sync);
		a->db_made = false;
		return SYNCD_EXIT_DB;
	}
	if (a->db_made) {
		struct stat st;

		a->db_made = stat(a->db_path, &st) == 0;
		a->db_dev = st.st_dev;
		a->db_ino = a->db_made ? st.st_ino : 0;
	}
	return SYNCD_EXIT_OK;
}

/*
 * Whether a table holds a row, other than what the schema itself seeds
 * (full-text shadow tables, feed_state) and the check's own note of the
 * refusal (sync_state's "auth" row): anything else — a queued action, a
 * stream's state, a row some program wrote — is data to keep.
 */
static const char seeded_sql[] =
	"SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	"AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\' "
	"AND name <> 'feed_state'";

static bool db_has_rows(sqlite3 *sql)
{
	sqlite3_stmt *st = NULL;
	bool rows = true;
	int rc;

	if (sqlite3_prepare_v2(sql, seeded_sql, -1, &st, NULL) != SQLITE_OK)
		return true;
	rows = false;
	while (!rows && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *q = sqlite3_mprintf("SELECT 1 FROM main.\"%w\" %s LIMIT 1", name,
					  name && strcmp(name, "sync_state") == 0 ? "WHERE stream <> 'auth'" : "");
		sqlite3_stmt *one = NULL;

		if (!q || sqlite3_prepare_v2(sql, q, -1, &one, NULL) != SQLITE_OK ||
		    sqlite3_step(one) != SQLITE_DONE)
			rows = true;
		sqlite3_finalize(one);
		sqlite3_free(q);
	}
	if (!rows && rc != SQLITE_DONE)
		rows = true;
	sqlite3_finalize(st);
	return rows;
}

/*
 * Remove the file this round made if it is still that file and holds no
 * data; the write lock is held meanwhile, so no other program adds a row
 * between the look and the unlink.  True if it was removed.
 */
static bool account_unlink_if_empty(struct syncd_account *a)
{
	static const char *const suffixes[] = { "-wal", "-shm", "" };
	sqlite3 *sql = NULL;
	struct stat st;
	bool gone = false;

	if (sqlite3_open_v2(a->db_path, &sql, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(sql, 1000);
	if (sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (stat(a->db_path, &st) != 0 || st.st_dev != a->db_dev || st.st_ino != a->db_ino ||
	    db_has_rows(sql))
		goto out;
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		char *path = NULL;

		if (asprintf(&path, "%s%s", a->db_path, suffixes[i]) >= 0) {
			unlink(path);
			free(path);
		}
	}
	gone = true;
out:
	sqlite3_close_v2(sql); /* rolls the empty transaction back */
	return gone;
}

/*
 * A token the API refused in the round that made the database leaves no
 * empty file behind: the file (schema only, nothing synced) goes, so the
 * next try with the right token starts as clean as this one did.  A file
 * that is no longer the one made, or holds any row, stays.
 */
static void account_forget_new_db(struct syncd_account *a)
{
	fl_db_close(a->db);
	a->db = NULL;
	if (account_unlink_if_empty(a))
		syncd_error(a->progress, "%s was not kept: it was made for this run and nothing was synced",
			    a->db_path);
}

/* GET self proves the API answers and accepts the token before any pass. */
static int account_check(struct syncd_account *a)
{
	int rc = fl_sync_check(a->sync, a->db);

	if (rc != FL_OK && rc != FL_ERR_ABORTED)
		syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
	if (rc == FL_OK)
		a->token_proven = true;
	else if (rc == FL_ERR_AUTH && a->db_made)
		account_forget_new_db(a);
	/* Only the round that made the file may take it back: later, others may have written to it. */
	a->db_made = false;
	return account_exit_code(rc);
}

/* Log a round's start; run it. */
static int account_run(struct syncd_account *a, enum syncd_round kind, long pass)
{
	switch (kind) {
	case SYNCD_ROUND_HINTS:
		syncd_info(a->progress, "webhook deliveries: their targeted reads started");
		return fl_sync_run_hints(a->sync, a->db);
	case SYNCD_ROUND_ACTIONS:
		syncd_info(a->progress, "queued actions: sending");
		return fl_sync_run_actions(a->sync, a->db);
	case SYNCD_ROUND_PASS:
		break;
	}
	syncd_info(a->progress, "pass %ld started", pass);
	return fl_sync_run(a->sync, a->db);
}

int syncd_account_round(struct syncd_account *a, bool once, enum syncd_round kind)
{
	const struct fl_sync_report *rep;
	long pass = a->passes + 1;
	int rc, code;

	code = syncd_account_open(a);
	if (code)
		return code;
	if (!a->token_proven) {
		code = account_check(a);
		if (code || !a->token_proven)
			return code;
	}
	/* Another machine may sync this account into the same PostgreSQL: one at a time. */
	code = syncd_sink_take(a);
	if (code)
		return code;
	syncd_progress_begin(a->progress);
	rc = account_run(a, kind, pass);
	rep = fl_sync_report(a->sync);
	syncd_progress_end(a->progress, rep, rc, once);
	if (rc == FL_ERR_AUTH && fl_sync_needs_login(a->sync))
		syncd_error(a->progress, "%s", fl_sync_errmsg(a->sync));
	else if (rc != FL_OK && rc != FL_ERR_ABORTED)
		syncd_error(a->progress, "pass %ld failed (%d streams failed): %s", pass,
			    rep->streams_failed, fl_sync_errmsg(a->sync));
	code = account_exit_code(rc);
	/* What the pass committed goes to PostgreSQL, even when a stream failed. */
	if (rc != FL_ERR_ABORTED || !*syncd_stop_flag()) {
		int sink = syncd_sink_mirror(a);

		if (!code)
			code = sink;
	}
	/* Then the feed is trimmed (never past the sink's new position) and the file kept compact. */
	if (kind == SYNCD_ROUND_PASS && rc != FL_ERR_ABORTED)
		syncd_feed_trim(a);
	return code;
}

void syncd_account_free(struct syncd_account *a)
{
	syncd_sink_close(a);
	fl_db_close(a->db);
	fl_sync_free(a->sync); /* and its lock */
	syncd_progress_free(a->progress);
	free(a->name);
	free(a->db_path);
	free(a->api);
	free(a->token_file);
	memset(a, 0, sizeof *a);
}

void syncd_account_webhook_check(struct syncd_account *a)
{
	int64_t now = fl_sync_report(a->sync)->server_now;
	struct fl_webhook_api api = { .api = a->api, .token_file = a->token_file,
				      .token = a->token_file ? NULL : getenv("FLSYNC_TOKEN") };
	struct fl_webhook_list *list = NULL, *made = NULL;
	const struct fl_webhook *dead = NULL;
	bool active = false;

	if (a->webhook_check_s <= 0 || now <= 0 || (a->webhook_checked &&
						      now - a->webhook_checked < a->webhook_check_s))
		return;
	a->webhook_checked = now;
	if (fl_webhook_list(a->db, &api, &list) != FL_OK) {
		syncd_error(a->progress, "webhooks: cannot list them: %s", fl_errmsg(a->db));
		return;
	}
	for (int64_t i = 0; i < list->count; i++) {
		if (list->webhooks[i].inactive && !dead)
			dead = &list->webhooks[i];
		active |= !list->webhooks[i].inactive;
	}
	if (!list->count)
		syncd_info(a->progress, "webhooks: none registered with the API (flsync webhook register URL)");
	else if (!active && dead) {
		syncd_error(a->progress, "webhooks: the API made %s inactive (%s): registering it again",
			    dead->url, dead->inactive_reason ? dead->inactive_reason : "no reason given");
		if (fl_webhook_register(a->db, &api, dead->developer_id, dead->url, &made) != FL_OK)
			syncd_error(a->progress, "webhooks: cannot register %s again: %s", dead->url,
				    fl_errmsg(a->db));
		fl_webhook_list_free(made);
	}
	fl_webhook_list_free(list);
}
