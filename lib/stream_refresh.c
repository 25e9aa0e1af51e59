/*
 * stream_refresh.c — everything refreshed: every record the account holds
 * (projects, bids, milestones, milestone requests, reviews, threads,
 * messages) is read again by id at least once every opt->refresh_all_s
 * (cadence.refresh_all, 1d; 0 never), so that a change no window on time
 * sees (a record the API changed without moving its time, one that fell out
 * of every window, one older than reconciliation's week) is repaired.
 *
 * Each table is read in key order, 100 keys a request, by the filter the
 * API offers for it: projects[], bids[], threads[] and messages[] by their
 * own ids; milestones, milestone requests and reviews by projects[] of the
 * projects they are on (reviews to and from the account apart, their
 * filters being AND'd).  A table's round has the sync_state row
 * "refresh:TABLE": cursor is the last key read, cursor_extra
 * {"began":B,"due":D,"done":0|1} when the round began and when the next is
 * due (its deadline), rows_synced the rows the rounds repaired (inserted or
 * changed: the store functions skip rows whose raw is unchanged), and
 * last_success when a round last completed.
 *
 * It runs last in the pass, behind the pass's own reads, and paces itself:
 * with R requests left in the round, D seconds to its deadline and gap
 * seconds since the previous pass, a pass spends max(opt->reconcile_budget,
 * R * gap / D) requests on a table, and all R when the next pass, as far
 * off as the previous one plus a quarter, would come at or after the
 * deadline.  A round starts at the pass nearest its due time, and the next
 * is due a period after this one was.  A small account's tables are read
 * whole in one pass.
 */
#include <stdio.h>
#include <string.h>

#include "sync_internal.h"

#define REFRESH_PREFIX "refresh:"
#define REFRESH_KEYS_PER_REQUEST 100
#define REFRESH_BUDGET_DEFAULT 16

struct refresh_table {
	const char *name;        /* "refresh:NAME" in sync_state */
	const char *keys;        /* SELECT DISTINCT key FROM ... (:self bound), keys > the cursor */
	const char *key_col;     /* the key's column, for keys > cursor */
	const char *base_query;  /* the path and its fixed filters */
	const char *self_filter; /* a filter given the account's id, or NULL */
	const char *param;       /* the id-list filter */
	const char *collection;
	sync_store_fn store;
	bool one_per_id;         /* one result per key: a batch is one page */
};

#define PROJECT_READ "/api/projects/0.1/projects/?full_description=true&job_details=true&upgrade_details=true"

static const struct refresh_table tables[] = {
	{ "projects", "SELECT id FROM projects", "id", PROJECT_READ, NULL, "projects[]", "projects",
	  row_project, true },
	{ "bids", "SELECT id FROM bids", "id", "/api/projects/0.1/bids/", NULL, "bids[]", "bids", row_bid, true },
	{ "milestones", "SELECT DISTINCT project_id FROM milestones WHERE project_id IS NOT NULL", "project_id",
	  "/api/projects/0.1/milestones/", NULL, "projects[]", "milestones", row_milestone, false },
	{ "milestone_requests",
	  "SELECT DISTINCT project_id FROM milestone_requests WHERE project_id IS NOT NULL", "project_id",
	  "/api/projects/0.1/milestone_requests/", NULL, "projects[]", "milestone_requests",
	  row_milestone_request, false },
	{ "reviews_to", "SELECT DISTINCT project_id FROM reviews WHERE to_user_id = :self", "project_id",
	  "/api/projects/0.1/reviews/?ratings=true", "to_users[]", "projects[]", "reviews", row_review, false },
	{ "reviews_from", "SELECT DISTINCT project_id FROM reviews WHERE from_user_id = :self", "project_id",
	  "/api/projects/0.1/reviews/?ratings=true", "from_users[]", "projects[]", "reviews", row_review, false },
	{ "threads", "SELECT id FROM threads", "id", "/api/messages/0.1/threads/", NULL, "threads[]", "threads",
	  row_thread, true },
	{ "messages", "SELECT id FROM messages", "id", "/api/messages/0.1/messages/", NULL, "messages[]",
	  "messages", row_message, true },
};
#define NTABLES (sizeof tables / sizeof tables[0])

struct refresh_round {
	int64_t began, due;
	int64_t done;
};

static bool extra_int(const char *extra, const char *key, int64_t *out)
{
	char pat[32];
	const char *p;
	long long v;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(extra, pat);
	if (!p || sscanf(p + strlen(pat), "%lld", &v) != 1)
		return false;
	*out = v;
	return true;
}

/* One number from sql (with :self bound), or -1 when the statement fails. */
static int64_t refresh_number(struct sync_run *run, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "refresh: count keys");
		error_copy(&run->err, &run->db->err);
		return -1;
	}
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":self"), run->self_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else {
		store_error(run->db, "refresh: count keys");
		error_copy(&run->err, &run->db->err);
	}
	sqlite3_finalize(st);
	return n;
}

/* Write the round's state; rows repaired are added, and a completed round's time kept. */
static int refresh_save(struct sync_run *run, const char *name, int64_t cursor, const struct refresh_round *r,
			int64_t repaired)
{
	char extra[128];
	sqlite3_stmt *st;
	int rc;

	snprintf(extra, sizeof extra, "{\"began\":%lld,\"due\":%lld,\"done\":%lld}", (long long)r->began,
		 (long long)r->due, (long long)r->done);
	rc = sync_state_cursor(run, name, cursor, extra);
	if (rc || (!repaired && !r->done))
		return rc;
	if (sqlite3_prepare_v2(run->db->sql,
			       "UPDATE sync_state SET rows_synced = rows_synced + ?2, "
			       "last_success = CASE WHEN ?3 THEN ?4 ELSE last_success END WHERE stream = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "count refreshed rows of %s", name);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, repaired);
	sqlite3_bind_int(st, 3, r->done != 0);
	sqlite3_bind_int64(st, 4, run->server_now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(run->db, "count refreshed rows of %s", name);
		rc = error_copy(&run->err, &run->db->err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Requests this pass may spend on a round with `left` requests to go: the rule above. */
static int64_t refresh_budget(struct sync_run *run, const struct refresh_round *r, int64_t left, int64_t gap)
{
	int64_t now = run->server_now, floor = run->opt->reconcile_budget > 0 ?
		run->opt->reconcile_budget : REFRESH_BUDGET_DEFAULT, share;

	if (now + gap + gap / 4 >= r->due)
		return left;
	share = (int64_t)((double)left * (double)gap / (double)(r->due - now) + 0.999);
	return share > floor ? share : floor;
}

/* Read the next keys of table t after *cursor, as many as budget requests hold. */
static int refresh_read(struct sync_run *run, const struct refresh_table *t, int64_t *cursor, int64_t budget)
{
	char sql[512], last_sql[640], base[256];
	int64_t asked, last;
	int rc;

	if (t->self_filter)
		snprintf(base, sizeof base, "%s&%s=%lld", t->base_query, t->self_filter, (long long)run->self_id);
	else
		snprintf(base, sizeof base, "%s", t->base_query);
	snprintf(sql, sizeof sql, "%s %s %s > %lld ORDER BY 1 LIMIT %lld", t->keys,
		 strstr(t->keys, "WHERE") ? "AND" : "WHERE", t->key_col, (long long)*cursor,
		 (long long)(budget * REFRESH_KEYS_PER_REQUEST));
	/* The last key, before the reads store rows: what they add is fresh already. */
	snprintf(last_sql, sizeof last_sql, "SELECT coalesce(max(%s), %lld) FROM (%s)", t->key_col,
		 (long long)*cursor, sql);
	last = refresh_number(run, last_sql);
	if (last < 0)
		return FL_ERR_DB;
	rc = sync_by_ids(run, sql, base, t->param, t->collection, t->store, t->one_per_id, 0, &asked);
	if (!rc)
		*cursor = last;
	return rc;
}

/* Requests left in t's round after cursor: a key batch is one request at least. */
static int64_t refresh_left(struct sync_run *run, const struct refresh_table *t, int64_t cursor)
{
	char sql[512];
	int64_t keys;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM (%s %s %s > %lld)", t->keys,
		 strstr(t->keys, "WHERE") ? "AND" : "WHERE", t->key_col, (long long)cursor);
	keys = refresh_number(run, sql);
	return keys < 0 ? -1 : (keys + REFRESH_KEYS_PER_REQUEST - 1) / REFRESH_KEYS_PER_REQUEST;
}

/* This pass's share of table t's round, when one is running or due. */
static int refresh_table(struct sync_run *run, const struct refresh_table *t, int64_t gap)
{
	struct sync_cursor cur;
	struct refresh_round r = { 0 };
	char name[64];
	int64_t pos, left, budget, rows_before = run->cur ? run->cur->rows : 0;
	int rc;

	snprintf(name, sizeof name, REFRESH_PREFIX "%s", t->name);
	if ((rc = sync_state_load(run, name, &cur)))
		return rc;
	if (!extra_int(cur.extra, "began", &r.began) || !extra_int(cur.extra, "due", &r.due) ||
	    !extra_int(cur.extra, "done", &r.done)) {
		/* Never refreshed: everything was just read; the first round is due a period on. */
		r.due = run->server_now + run->opt->refresh_all_s;
		r.done = 1;
		return refresh_save(run, name, 0, &r, 0);
	}
	pos = cur.cursor;
	if (r.done) {
		/* Due before the next pass is halfway here; the schedule kept, as reconciliation's. */
		if (run->server_now + gap / 2 < r.due)
			return FL_OK;
		r.began = run->server_now;
		r.due = r.due + run->opt->refresh_all_s > run->server_now ? r.due + run->opt->refresh_all_s
									   : run->server_now + run->opt->refresh_all_s;
		r.done = 0;
		pos = 0;
	}
	if ((left = refresh_left(run, t, pos)) < 0)
		return FL_ERR_DB;
	budget = refresh_budget(run, &r, left, gap);
	if (left > 0 && (rc = refresh_read(run, t, &pos, budget)))
		return rc;
	if (left <= budget)
		r.done = refresh_left(run, t, pos) == 0;
	rows_before = run->cur ? run->cur->rows - rows_before : 0;
	if (rows_before > 0 || r.done)
		sync_log(run, "refresh: %s: %lld rows repaired%s", t->name, (long long)rows_before,
			 r.done ? "; round complete" : "");
	return refresh_save(run, name, pos, &r, rows_before);
}

int stream_refresh(struct sync_run *run)
{
	struct sync_cursor prev;
	int64_t gap = 0;
	int rc = FL_OK;

	if (run->opt->refresh_all_s <= 0)
		return FL_OK;
	/* The time since the previous pass: this stream's last success. */
	if ((rc = sync_state_load(run, "refresh", &prev)))
		return rc;
	if (prev.last_success > 0 && prev.last_success < run->server_now)
		gap = run->server_now - prev.last_success;
	for (size_t i = 0; i < NTABLES && !rc; i++) {
		rc = refresh_table(run, &tables[i], gap);
		if (!rc)
			rc = sync_tx_maybe_commit(run, false);
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	return rc;
}
