/*
 * cmd_status.c — `flsync status`: the sync status from fl_status_get(),
 * readable at a glance (per stream: last success as an age, rows, last error;
 * the action queue; rate-limit budgets; webhook health), or as one JSON
 * object with --json; with --all, one line per account of flsyncd's
 * configuration file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flconf.h"
#include "pgmirror.h"
#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync status [--json] [--db PATH]\n"
		"       flsync status --all [--config FILE] [--json]\n"
		"\n"
		"Show how fresh the database is: whether flsyncd is syncing it (its pid)\n"
		"and when its next pass is due; for each sync stream when it last\n"
		"succeeded (an age on this machine's clock, however far the API's is),\n"
		"how many rows it stored, its last error; the write actions\n"
		"waiting, sending and failed; each API endpoint's remaining rate-limit\n"
		"budget as flsyncd last recorded it; webhook health (the last delivery,\n"
		"deliveries and duplicates in the last hour, an inactive webhook's reason,\n"
		"rows polling found that no delivery announced); the change feed's newest\n"
		"seq.  When\n"
		"the account's sign-in has ended (the token service refused the refresh\n"
		"token), the first line says NEEDS LOGIN and what to run.\n"
		"\n"
		"  --json          one JSON object (times as unix seconds) for scripts\n"
		"  --all           one line per [account NAME] of flsyncd's configuration (with\n"
		"                  no configuration file, or no accounts in it, one line for\n"
		"                  the --db database):\n"
		"                  its state (ok, FAILING, NEEDS LOGIN, never synced), last\n"
		"                  pass, rows, actions pending and failed, the flsyncd syncing\n"
		"                  it, and the first stream error\n"
		"  --config FILE   flsyncd's configuration file (default:\n"
		"                  $XDG_CONFIG_HOME/flsync/flsyncd.conf)\n"
		"\n"
		"Examples:\n"
		"  flsync status\n"
		"  flsync status --json | jq '.actions.failed'\n"
		"  flsync status --all\n");
}

/*
 * flsyncd's "auth" row says the sign-in ended (the token service refused
 * the refresh token), unless the token has worked since: the message, or NULL.
 */
static const char *needs_login(const struct fl_status *s)
{
	for (int64_t i = 0; i < s->streams_count; i++) {
		const struct fl_stream_status *x = &s->streams[i];

		if (x->stream && strcmp(x->stream, "auth") == 0 && x->last_error &&
		    x->last_error_at >= x->last_success)
			return x->last_error;
	}
	return NULL;
}

static void json_str_or_null(const char *s)
{
	if (s)
		tool_json_string(stdout, s, strlen(s));
	else
		fputs("null", stdout);
}

/*
 * Reconciliation's rows per stream ("reconcile:STREAM" in sync_state):
 * what each round repaired, where the current round is.  Calls fn for each.
 */
static void each_reconciled(struct fl_db *db, void (*fn)(void *ctx, const char *stream, int64_t repaired,
							  int64_t position), void *ctx)
{
	struct fl_stmt *st = NULL;
	int row = 0;

	if (fl_stmt_prepare(db, "SELECT substr(stream, 11), rows_synced, cursor FROM sync_state "
			    "WHERE stream LIKE 'reconcile:%' ORDER BY stream", &st) != FL_OK)
		return;
	while (fl_stmt_step(st, &row) == FL_OK && row)
		fn(ctx, fl_stmt_column_text(st, 0, NULL), fl_stmt_column_int64(st, 1), fl_stmt_column_int64(st, 2));
	fl_stmt_finalize(st);
}

static void reconciled_json(void *ctx, const char *stream, int64_t repaired, int64_t position)
{
	int *n = ctx;

	fputs((*n)++ ? ",{\"stream\":" : "{\"stream\":", stdout);
	json_str_or_null(stream);
	printf(",\"repaired\":%lld,\"position\":%lld}", (long long)repaired, (long long)position);
}

static void reconciled_text(void *ctx, const char *stream, int64_t repaired, int64_t position)
{
	int *n = ctx;

	(void)position;
	if (repaired)
		printf("%s %s %lld", (*n)++ ? "," : ":", stream, (long long)repaired);
}

/*
 * The refresh of every record's rows per table ("refresh:TABLE" in
 * sync_state): what it repaired, when its last round completed, where the
 * current one is.  Calls fn for each.
 */
static void each_refreshed(struct fl_db *db, void (*fn)(void *ctx, const char *table, int64_t repaired,
							 int64_t completed, int64_t position), void *ctx)
{
	struct fl_stmt *st = NULL;
	int row = 0;

	if (fl_stmt_prepare(db, "SELECT substr(stream, 9), rows_synced, coalesce(last_success, 0), cursor "
			    "FROM sync_state WHERE stream LIKE 'refresh:%' ORDER BY stream", &st) != FL_OK)
		return;
	while (fl_stmt_step(st, &row) == FL_OK && row)
		fn(ctx, fl_stmt_column_text(st, 0, NULL), fl_stmt_column_int64(st, 1), fl_stmt_column_int64(st, 2),
		   fl_stmt_column_int64(st, 3));
	fl_stmt_finalize(st);
}

static void refreshed_json(void *ctx, const char *table, int64_t repaired, int64_t completed, int64_t position)
{
	int *n = ctx;

	fputs((*n)++ ? ",{\"table\":" : "{\"table\":", stdout);
	json_str_or_null(table);
	printf(",\"repaired\":%lld,\"last_complete\":%lld,\"position\":%lld}", (long long)repaired,
	       (long long)completed, (long long)position);
}

static void refreshed_text(void *ctx, const char *table, int64_t repaired, int64_t completed, int64_t position)
{
	int *n = ctx;

	(void)completed;
	(void)position;
	if (repaired)
		printf("%s %s %lld", (*n)++ ? "," : ":", table, (long long)repaired);
}

static void print_webhooks_json(const struct fl_webhook_status *w)
{
	printf("\"webhooks\":{\"last_delivery\":%lld,\"deliveries_hour\":%lld,\"duplicates_hour\":%lld,"
	       "\"unmapped_hour\":%lld,\"deliveries_total\":%lld,\"hints_pending\":%lld,\"known\":%lld,"
	       "\"active\":%lld,\"inactive_reason\":",
	       (long long)w->last_delivery, (long long)w->deliveries_hour, (long long)w->duplicates_hour,
	       (long long)w->unmapped_hour, (long long)w->deliveries_total, (long long)w->hints_pending,
	       (long long)w->webhooks_known, (long long)w->webhooks_active);
	json_str_or_null(w->inactive_reason);
	printf(",\"listed_at\":%lld,\"lost_last\":%lld,\"lost_total\":%lld,\"lost_checked_at\":%lld},",
	       (long long)w->listed_at, (long long)w->lost_last, (long long)w->lost_total,
	       (long long)w->lost_checked_at);
}

/* Webhook health: deliveries, duplicates, the last list's verdict, the lost-delivery signal. */
static void print_webhooks_text(const struct fl_webhook_status *w, int64_t now)
{
	char age[32], listed[32];

	printf("\n");
	if (!w->webhooks_known && !w->deliveries_total) {
		printf("webhooks  none registered (flsync webhook register URL)\n");
		return;
	}
	tool_age(w->last_delivery, now, age, sizeof age);
	printf("webhooks  last delivery %s; %lld deliveries in the last hour, %lld duplicates, %lld unmapped; "
	       "%lld hints pending\n",
	       age, (long long)w->deliveries_hour, (long long)w->duplicates_hour, (long long)w->unmapped_hour,
	       (long long)w->hints_pending);
	tool_age(w->listed_at, now, listed, sizeof listed);
	printf("          %lld of %lld active as listed %s", (long long)w->webhooks_active, (long long)w->webhooks_known,
	       listed);
	if (w->inactive_reason) {
		printf("; inactive_reason: ");
		tool_text(stdout, w->inactive_reason);
	}
	printf("\n          lost deliveries: %lld in the last pass checked, %lld in all "
	       "(rows polling found that no delivery announced)\n",
	       (long long)w->lost_last, (long long)w->lost_total);
}

static void print_json(struct fl_db *db, const char *path, const struct fl_status *s,
		       const struct fl_webhook_status *w, int64_t now)
{
	int n = 0;
	int64_t i;

	int64_t pid = 0, next = 0;

	fl_sync_lock_holder(path, &pid);
	if (pid > 0)
		fl_sync_lock_next_pass(path, &next);
	printf("{\"database\":");
	json_str_or_null(path);
	printf(",\"schema_version\":%d,\"read_only\":%s,\"now\":%lld,\"flsyncd_pid\":%lld,\"next_pass\":%lld,"
	       "\"needs_login\":", s->schema_version, tool_readonly_word(db, path) ? "true" : "false", (long long)now,
	       (long long)(pid > 0 ? pid : 0), (long long)next);
	json_str_or_null(needs_login(s));
	printf(",\"reconciliation\":{\"repaired\":%lld,\"last_repair\":%lld,\"streams\":[",
	       (long long)s->repaired, (long long)s->reconciled_at);
	each_reconciled(db, reconciled_json, &n);
	n = 0;
	printf("]},\"refresh\":{\"repaired\":%lld,\"last_complete\":%lld,\"tables\":[",
	       (long long)s->refresh_repaired, (long long)s->refreshed_at);
	each_refreshed(db, refreshed_json, &n);
	printf("]},\"streams\":[");
	for (i = 0; i < s->streams_count; i++) {
		const struct fl_stream_status *x = &s->streams[i];

		printf("%s{\"stream\":", i ? "," : "");
		json_str_or_null(x->stream);
		printf(",\"cursor\":%lld,\"last_started\":%lld,\"last_success\":%lld,\"last_error\":",
		       (long long)x->cursor, (long long)x->last_started, (long long)x->last_success);
		json_str_or_null(x->last_error);
		printf(",\"last_error_at\":%lld,\"failures\":%lld,\"rows_synced\":%lld,\"requests\":%lld,"
		       "\"server_success\":%lld}",
		       (long long)x->last_error_at, (long long)x->failures, (long long)x->rows_synced,
		       (long long)x->requests, (long long)x->server_success);
	}
	printf("],\"actions\":{\"queued\":%lld,\"sending\":%lld,\"done\":%lld,\"failed\":%lld,\"cancelled\":%lld,\"pending\":%lld},",
	       (long long)s->actions_queued, (long long)s->actions_sending, (long long)s->actions_done,
	       (long long)s->actions_failed, (long long)s->actions_cancelled,
	       (long long)(s->actions_queued + s->actions_sending));
	printf("\"rate_limits\":[");
	for (i = 0; i < s->endpoints_count; i++) {
		const struct fl_ratelimit_status *x = &s->endpoints[i];

		printf("%s{\"endpoint\":", i ? "," : "");
		json_str_or_null(x->endpoint);
		printf(",\"limit\":%lld,\"window_s\":%lld,\"remaining\":%lld,\"paused_until\":%lld,\"updated_at\":%lld}",
		       (long long)x->limit, (long long)x->window_s, (long long)x->remaining,
		       (long long)x->paused_until, (long long)x->updated_at);
	}
	printf("],");
	print_webhooks_json(w);
	tool_status_file_json(db);
	printf("\"changes_latest\":%lld}\n", (long long)s->changes_latest);
}

/* A stored error on one line, cut to fit a terminal row. */
static void short_error(const char *e, char *buf, size_t n)
{
	const char *src = e ? e : "-";
	size_t len = strlen(src);

	if (len >= n)
		len = n - 1;
	memcpy(buf, src, len);
	buf[len] = '\0';
	tool_blank_controls(buf);
	if (strlen(buf) >= n - 1 && n > 4)
		memcpy(buf + n - 4, "...", 4);
}

/*
 * What reconciliation found that polling had missed: the rows its re-reads
 * inserted or changed, per stream, and when a round last did.  Late data
 * exists when this is not zero.  Then what the refresh of every record by
 * id repaired, per table, and when every table was last read whole.
 */
static void print_repaired(struct fl_db *db, const struct fl_status *s, int64_t now)
{
	char age[32];
	int n = 0;

	tool_age(s->reconciled_at, now, age, sizeof age);
	printf("\nrepaired  %lld rows found late by reconciliation (last %s)", (long long)s->repaired,
	       s->reconciled_at ? age : "never");
	each_reconciled(db, reconciled_text, &n);
	n = 0;
	tool_age(s->refreshed_at, now, age, sizeof age);
	printf("\nrefreshed %lld rows repaired by re-reading every record (all last read %s)",
	       (long long)s->refresh_repaired, s->refreshed_at ? age : "never");
	each_refreshed(db, refreshed_text, &n);
	printf("\n");
}

/* "in 4m" / "now" for a time ahead of now. */
static void time_ahead(int64_t t, int64_t now, char *buf, size_t n)
{
	int64_t d = t - now;

	if (d <= 0)
		snprintf(buf, n, "now");
	else if (d < 120)
		snprintf(buf, n, "in %llds", (long long)d);
	else if (d < 7200)
		snprintf(buf, n, "in %lldm", (long long)(d / 60));
	else
		snprintf(buf, n, "in %lldh", (long long)(d / 3600));
}

/* The program holding the sync lock, by its pid's name (Linux's /proc), else "flsyncd". */
static const char *syncer_name(int64_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%lld/comm", (long long)pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	return !strcmp(comm, "flsync\n") ? "flsync ui" : "flsyncd";
}

/* Who syncs the database: flsyncd's pid and when its next pass is due, from the sync lock. */
static void print_syncer(const char *path, int64_t now)
{
	int64_t pid = 0, next = 0;
	char when[32];

	if (fl_sync_lock_holder(path, &pid) != FL_OK) {
		printf("flsyncd   unknown (the sync lock %s.lock cannot be read)\n", path);
		return;
	}
	if (pid == 0) {
		printf("flsyncd   not running: nothing syncs this database (start flsyncd --db %s)\n", path);
		return;
	}
	fl_sync_lock_next_pass(path, &next);
	if (pid < 0) {
		printf("flsyncd   starting (it has not written its pid yet)\n");
	} else if (next > 0) {
		time_ahead(next, now, when, sizeof when);
		printf("flsyncd   %s, pid %lld, syncs this database; next pass %s%s\n", syncer_name(pid),
		       (long long)pid, when, next <= now ? " (or running)" : "");
	} else {
		printf("flsyncd   %s, pid %lld, syncs this database; %s\n", syncer_name(pid), (long long)pid,
		       strcmp(syncer_name(pid), "flsyncd") ? "it runs passes when asked"
							   : "its first pass is running");
	}
}

/* The widest of header and every stream name, for the STREAM column. */
static int stream_width(const struct fl_status *s)
{
	int w = 6;

	for (int64_t i = 0; i < s->streams_count; i++)
		if ((int)strlen(s->streams[i].stream) > w)
			w = (int)strlen(s->streams[i].stream);
	return w;
}

static void print_streams(const struct fl_status *s, int64_t now)
{
	char age[32], err_age[32], err[72];
	int w = stream_width(s);

	if (s->streams_count == 0) {
		printf("streams   none has run yet: start flsyncd\n");
		return;
	}
	printf("%-*s  %-12s %10s %9s  %s\n", w, "STREAM", "LAST SUCCESS", "ROWS", "REQUESTS", "LAST ERROR");
	for (int64_t i = 0; i < s->streams_count; i++) {
		const struct fl_stream_status *x = &s->streams[i];
		char what[192];  /* room for the short error, its age and the flags */

		tool_age(x->last_success, now, age, sizeof age);
		short_error(x->last_error, err, sizeof err);
		if (x->last_error) {
			tool_age(x->last_error_at, now, err_age, sizeof err_age);
			snprintf(what, sizeof what, "%s%s (%s%s)", x->failures ? "FAILING: " : "", err, err_age,
				 x->failures > 1 ? ", repeated" : "");
		} else {
			snprintf(what, sizeof what, "-");
		}
		printf("%-*s  %-12s %10lld %9lld  %s\n", w, x->stream, age, (long long)x->rows_synced,
		       (long long)x->requests, what);
	}
}

/* The rate-limit budgets, each column as wide as its widest cell. */
static void print_rate_limits(const struct fl_status *s, int64_t now)
{
	char (*budget)[48];
	int we = 8, wb = 9;
	int64_t i;

	if (s->endpoints_count == 0) {
		printf("rate limits  not recorded yet (flsyncd records them as it runs)\n");
		return;
	}
	budget = xmalloc((size_t)s->endpoints_count * sizeof *budget);

	for (i = 0; i < s->endpoints_count; i++) {
		const struct fl_ratelimit_status *x = &s->endpoints[i];

		if (x->remaining < 0)
			snprintf(budget[i], sizeof budget[i], "?");
		else if (x->limit < 0)
			snprintf(budget[i], sizeof budget[i], "%lld", (long long)x->remaining);
		else
			snprintf(budget[i], sizeof budget[i], "%lld/%lld per %llds", (long long)x->remaining,
				 (long long)x->limit, (long long)x->window_s);
		if ((int)strlen(budget[i]) > wb)
			wb = (int)strlen(budget[i]);
		if ((int)strlen(x->endpoint) > we)
			we = (int)strlen(x->endpoint);
	}
	printf("%-*s  %-*s  %-10s %s\n", we, "ENDPOINT", wb, "REMAINING", "AS OF", "PAUSED");
	for (i = 0; i < s->endpoints_count; i++) {
		const struct fl_ratelimit_status *x = &s->endpoints[i];
		char age[32], paused[32];

		tool_age(x->updated_at, now, age, sizeof age);
		if (x->paused_until > now)
			snprintf(paused, sizeof paused, "for %llds", (long long)(x->paused_until - now));
		else
			snprintf(paused, sizeof paused, "-");
		printf("%-*s  %-*s  %-10s %s\n", we, x->endpoint, wb, budget[i], age, paused);
	}
	free(budget);
}

static void print_text(struct fl_db *db, const char *path, const struct fl_status *s,
		       const struct fl_webhook_status *w, int64_t now)
{
	const char *ro = tool_readonly_word(db, path);

	printf("database  %s (schema %d%s%s)\n", path, s->schema_version, ro ? ", " : "", ro ? ro : "");
	print_syncer(path, now);
	printf("\n");
	if (needs_login(s))
		printf("sign-in   NEEDS LOGIN: %s\n\n", needs_login(s));
	print_streams(s, now);
	print_repaired(db, s, now);
	printf("\nactions   %lld pending (%lld queued, %lld sending), %lld failed, %lld done, %lld cancelled\n",
	       (long long)(s->actions_queued + s->actions_sending), (long long)s->actions_queued,
	       (long long)s->actions_sending, (long long)s->actions_failed, (long long)s->actions_done,
	       (long long)s->actions_cancelled);
	if (s->actions_failed)
		printf("          see them with: flsync queue list --state failed\n");
	printf("\n");
	print_rate_limits(s, now);
	print_webhooks_text(w, now);
	tool_status_file_text(db); /* the file, and the feed with its newest seq */
}

/* One account's line for --all. */
struct account_line {
	const char *state;        /* "ok", "FAILING", "NEEDS LOGIN", "never synced", "unreadable" */
	int64_t last_pass;        /* the newest stream success, 0 never */
	int64_t rows, pending, failed;
	int64_t syncer;           /* pid holding the sync lock, 0 none, -1 unknown */
	char error[200];          /* the first failing stream's error, or why unreadable */
};

static void account_read(const char *db_path, struct account_line *l)
{
	struct fl_status *s = NULL;
	struct fl_db *db = NULL;
	struct stat st;
	int rc;

	memset(l, 0, sizeof *l);
	fl_sync_lock_holder(db_path, &l->syncer);
	if (stat(db_path, &st) != 0 && errno == ENOENT) {
		l->state = "never synced";
		return;
	}
	rc = fl_db_open(db_path, FL_OPEN_READONLY, &db);
	if (rc == FL_OK)
		rc = fl_status_get(db, &s);
	if (rc != FL_OK) {
		l->state = "unreadable";
		snprintf(l->error, sizeof l->error, "%s", db ? fl_errmsg(db) : fl_db_open_errmsg());
		fl_db_close(db);
		return;
	}
	l->state = s->streams_count ? "ok" : "never synced";
	for (int64_t i = 0; i < s->streams_count; i++) {
		const struct fl_stream_status *x = &s->streams[i];

		if (!strcmp(x->stream, "auth"))
			continue;
		if (x->last_success > l->last_pass)
			l->last_pass = x->last_success;
		l->rows += x->rows_synced;
		if (x->failures && x->last_error && !l->error[0]) {
			l->state = "FAILING";
			snprintf(l->error, sizeof l->error, "%s: %s", x->stream, x->last_error);
		}
	}
	if (needs_login(s)) {
		l->state = "NEEDS LOGIN";
		snprintf(l->error, sizeof l->error, "%s", needs_login(s));
	}
	l->pending = s->actions_queued + s->actions_sending;
	l->failed = s->actions_failed;
	fl_status_free(s);
	fl_db_close(db);
}

/*
 * Without --config and without a configuration file (or one without
 * [account NAME] sections), flsyncd syncs one database, the --db one: its
 * line, named "default".
 */
static void single_account(struct tool_ctx *ctx, struct flconf *cfg)
{
	tool_ctx_init(ctx);
	cfg->accounts = xmalloc(sizeof *cfg->accounts);
	memset(cfg->accounts, 0, sizeof *cfg->accounts);
	cfg->accounts[0].name = xstrdup("default");
	cfg->accounts[0].db = xstrdup(ctx->db_path);
	cfg->n_accounts = 1;
}

static int status_all(struct tool_ctx *ctx, const char *config_arg, bool json)
{
	char *path = config_arg ? xstrdup(config_arg) : flconf_default_path(), err[768];
	struct pgm_sink *sink = NULL;
	struct flconf cfg;
	int64_t now = (int64_t)time(NULL);
	int wname = 7;

	if (!path && config_arg)
		return tool_fail("status: out of memory");
	if (flconf_load(path, config_arg != NULL, &cfg, err, sizeof err) != 0) {
		free(path);
		return tool_fail("status: %s", err);
	}
	free(path);
	if (cfg.n_accounts == 0 && config_arg) {
		tool_fail("status: %s has no [account NAME] sections", cfg.path);
		flconf_free(&cfg);
		return TOOL_FAIL;
	}
	if (cfg.n_accounts == 0)
		single_account(ctx, &cfg);
	/* The ACCOUNT column as wide as the longest name: the others stay in line. */
	for (int i = 0; i < cfg.n_accounts; i++)
		if ((int)strlen(cfg.accounts[i].name) > wname)
			wname = (int)strlen(cfg.accounts[i].name);
	/* With a team database, who holds each account's lease there. */
	if (cfg.sink_postgres) {
		struct pgm_config pc = { .conninfo = cfg.sink_postgres, .schema = cfg.sink_schema,
					 .application = "flsync status" };

		if (pgm_open(&pc, &sink) != PGM_OK) {
			fprintf(stderr, "flsync: status: PostgreSQL: %s (leases not shown)\n",
				sink ? pgm_errmsg(sink) : "out of memory");
			pgm_close(sink);
			sink = NULL;
		}
	}
	if (json)
		fputs("{\"accounts\":[", stdout);
	else
		printf("%-*s %-13s %-14s %12s %8s %7s  %-12s %s%s\n", wname, "ACCOUNT", "STATE", "LAST PASS",
		       "ROWS", "PENDING", "FAILED", "SYNCED BY", sink ? "LEASE  " : "", "ERROR");
	for (int i = 0; i < cfg.n_accounts; i++) {
		const struct flconf_account *a = &cfg.accounts[i];
		struct account_line l;
		struct pgm_lease_info li;
		char age[32], by[32], err_short[120], lease[300];

		account_read(a->db, &l);
		lease[0] = '\0';
		if (sink && pgm_lease_get(sink, a->name, &li) == PGM_OK)
			snprintf(lease, sizeof lease, "%s", li.holder[0] ? li.holder : "free");
		if (json) {
			fputs(i ? ",{\"account\":" : "{\"account\":", stdout);
			json_str_or_null(a->name);
			fputs(",\"database\":", stdout);
			json_str_or_null(a->db);
			fputs(",\"state\":", stdout);
			json_str_or_null(l.state);
			printf(",\"last_pass\":%lld,\"rows\":%lld,\"actions_pending\":%lld,"
			       "\"actions_failed\":%lld,\"flsyncd_pid\":%lld,\"error\":",
			       (long long)l.last_pass, (long long)l.rows, (long long)l.pending,
			       (long long)l.failed, (long long)l.syncer);
			json_str_or_null(l.error[0] ? l.error : NULL);
			if (sink) {
				fputs(",\"lease\":", stdout);
				json_str_or_null(lease[0] ? lease : NULL);
				if (lease[0] && strcmp(lease, "free"))
					printf(",\"lease_age_s\":%.0f", li.age_s);
			}
			fputc('}', stdout);
			continue;
		}
		tool_age(l.last_pass, now, age, sizeof age);
		if (l.syncer > 0)
			snprintf(by, sizeof by, "pid %lld", (long long)l.syncer);
		else
			snprintf(by, sizeof by, "%s", l.syncer < 0 ? "starting" : "-");
		short_error(l.error[0] ? l.error : NULL, err_short, sizeof err_short);
		printf("%-*s %-13s %-14s %12lld %8lld %7lld  %-12s ", wname, a->name, l.state, age,
		       (long long)l.rows, (long long)l.pending, (long long)l.failed, by);
		if (sink)
			printf("%s  ", lease[0] ? lease : "?");
		printf("%s\n", l.error[0] ? err_short : "-");
	}
	if (json)
		fputs("]}\n", stdout);
	pgm_close(sink);
	flconf_free(&cfg);
	return TOOL_OK;
}

int tool_cmd_status(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	struct fl_webhook_status *w = NULL;
	struct fl_status *s;
	struct fl_db *db;
	bool json = false, all = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'c':
			config = optarg;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "status", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("status", "status: unexpected argument %s", argv[optind]);
	if (config && !all)
		return tool_usage_error("status", "status: --config goes with --all");
	if (all)
		return status_all(ctx, config, json);
	ctx->ro_shown = true; /* the database line says it */
	db = tool_open(ctx, false);
	if (!db)
		return TOOL_FAIL;
	tool_status_warn_private(ctx->db_path);
	rc = fl_status_get(db, &s);
	if (!rc && (rc = fl_webhook_status_get(db, &w)))
		fl_status_free(s);
	if (rc) {
		tool_db_fail(db, rc, "read status");
		fl_db_close(db);
		return TOOL_FAIL;
	}
	if (json)
		print_json(db, ctx->db_path, s, w, (int64_t)time(NULL));
	else
		print_text(db, ctx->db_path, s, w, (int64_t)time(NULL));
	fl_webhook_status_free(w);
	fl_status_free(s);
	fl_db_close(db);
	return TOOL_OK;
}
