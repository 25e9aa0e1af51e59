/*
 * stream_hints.c — the "webhook_hints" stream, early in every pass: the
 * targeted reads webhook deliveries asked for (webhook_receive.c), ahead of
 * window polling and through the same fetch helper, so within the same rate
 * budgets.  Hints are read in batches of up to 100 ids a request:
 *   thread      GET messages/?threads[]=…&from_updated_time=(earliest event − margin),
 *               and threads/?threads[]=… (a new thread, updated times, read state)
 *   bid         GET bids/?bids[]=…
 *   project     GET projects/?projects[]=…
 *   milestones  GET milestones/?projects[]=… and milestone_requests/?projects[]=…
 * and each batch's hints are deleted in the transaction that stores its
 * rows; a hint a newer delivery bumped meanwhile (gen) stays for the next
 * pass.  "pass" hints are taken here by a whole pass: the rest of it is
 * the early incremental pass they asked for; a round of targeted reads
 * (hints_only) leaves them for the pass, even those that came during it.
 *
 * Before reading, the stream counts the lost-delivery signal: rows the
 * previous pass's polling stored (the change feed since the last count) for
 * a thread, bid, project's milestones or completed project that no delivery
 * announced, while webhooks are active.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_internal.h"

#define HINTS_PER_REQUEST 100
/* The Search projection every projects read asks for (as stream_projects.c). */
#define HINT_PROJECT_DETAILS "full_description=true&job_details=true&upgrade_details=true"
/* Messages are re-read from this long before the earliest event: clocks and indexing lag. */
#define THREAD_MARGIN_S 600

struct hint {
	int64_t id, gen, since;
};

struct hint_list {
	struct hint *v;
	size_t n, cap;
};

/* Every pending hint of a kind, oldest first: a snapshot, so new deliveries wait for the next pass. */
static int load_hints(struct sync_run *run, const char *kind, struct hint_list *out)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(run->db->sql,
			       "SELECT id, gen, since FROM webhook_hints WHERE kind = ?1 ORDER BY first_received, id",
			       -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "list webhook hints");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 64;
			struct hint *nv = realloc(out->v, ncap * sizeof *nv);

			if (!nv) {
				sqlite3_finalize(st);
				return error_set(&run->err, FL_ERR_NOMEM, "out of memory listing webhook hints");
			}
			out->v = nv;
			out->cap = ncap;
		}
		out->v[out->n].id = sqlite3_column_int64(st, 0);
		out->v[out->n].gen = sqlite3_column_int64(st, 1);
		out->v[out->n].since = sqlite3_column_int64(st, 2);
		out->n++;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return sync_fail_db(run, "list webhook hints");
	return FL_OK;
}

/* Delete the hints [from, to) of the list, each only if no delivery bumped it since. */
static int drop_hints(struct sync_run *run, const char *kind, const struct hint_list *l, size_t from, size_t to)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(run->db->sql, "DELETE FROM webhook_hints WHERE kind = ?1 AND id = ?2 AND gen = ?3", -1,
			       &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "delete webhook hints");
	for (size_t i = from; i < to && !rc; i++) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l->v[i].id);
		sqlite3_bind_int64(st, 3, l->v[i].gen);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sync_fail_db(run, "delete webhook hint");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* GET base + ids [+ &from_updated_time], paging by offset until a short page unless one_page. */
static int read_batch(struct sync_run *run, const char *base, const char *param, const struct hint_list *l,
		      size_t from, size_t to, int64_t from_time, const char *collection, sync_store_fn fn,
		      bool one_page)
{
	struct api_result res;
	struct buf q;
	int rc = FL_OK;

	buf_init(&q, 4096);
	buf_puts(&q, base);
	for (size_t i = from; i < to; i++)
		if (!buf_printf(&q, "%s%s=%lld", (i == from && !strchr(base, '?')) ? "?" : "&", param,
				(long long)l->v[i].id)) {
			buf_free(&q);
			return error_set(&run->err, FL_ERR_NOMEM, "webhook hint query too long");
		}
	if (from_time > 0 && !buf_printf(&q, "&from_updated_time=%lld", (long long)from_time)) {
		buf_free(&q);
		return error_set(&run->err, FL_ERR_NOMEM, "webhook hint query too long");
	}
	for (int64_t offset = 0;; offset += HINTS_PER_REQUEST) {
		size_t len = q.len;

		if (!buf_printf(&q, "&limit=%d&offset=%lld", HINTS_PER_REQUEST, (long long)offset)) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "webhook hint query too long");
			break;
		}
		rc = sync_get(run, q.data, collection, fn, &res);
		if (rc || one_page || res.env.items < HINTS_PER_REQUEST)
			break;
		q.len = len;
		q.data[len] = '\0';
	}
	buf_free(&q);
	return rc;
}

/* A permanent refusal (an API error, a 4xx other than 429): retrying cannot help. */
static bool refused(const struct sync_run *run, int rc)
{
	return (rc == FL_ERR_API || rc == FL_ERR_NOT_FOUND || rc == FL_ERR_HTTP) && run->last_status >= 400 &&
	       run->last_status < 500 && run->last_status != 429;
}

/* The targeted reads of one kind, a transaction per batch of hints. */
static int read_kind(struct sync_run *run, const char *kind)
{
	struct hint_list l = { 0 };
	int rc = load_hints(run, kind, &l);

	for (size_t i = 0; !rc && i < l.n; i += HINTS_PER_REQUEST) {
		size_t end = i + HINTS_PER_REQUEST < l.n ? i + HINTS_PER_REQUEST : l.n;

		if ((rc = sync_tx_begin(run)))
			break;
		if (strcmp(kind, "thread") == 0) {
			int64_t since = INT64_MAX;

			for (size_t j = i; j < end; j++)
				if (l.v[j].since < since)
					since = l.v[j].since;
			since -= run->opt->lookback_s > THREAD_MARGIN_S ? run->opt->lookback_s : THREAD_MARGIN_S;
			rc = read_batch(run, "/api/messages/0.1/messages/", "threads[]", &l, i, end, since > 0 ? since : 1,
					"messages", row_message, false);
			/* And the threads: a new one, and every thread's updated time and read state. */
			if (!rc)
				rc = read_batch(run, "/api/messages/0.1/threads/", "threads[]", &l, i, end, 0,
						"threads", row_thread, true);
		} else if (strcmp(kind, "bid") == 0) {
			rc = read_batch(run, "/api/projects/0.1/bids/", "bids[]", &l, i, end, 0, "bids", row_bid, true);
		} else if (strcmp(kind, "project") == 0) {
			rc = read_batch(run, "/api/projects/0.1/projects/?" HINT_PROJECT_DETAILS, "projects[]", &l, i, end, 0,
					"projects", row_project, true);
		} else {
			rc = read_batch(run, "/api/projects/0.1/milestones/", "projects[]", &l, i, end, 0, "milestones",
					row_milestone, false);
			if (!rc)
				rc = read_batch(run, "/api/projects/0.1/milestone_requests/", "projects[]", &l, i, end, 0,
						"milestone_requests", row_milestone_request, false);
		}
		if (refused(run, rc)) {
			/*
			 * The ids came from a delivery, which anyone who knows the path
			 * can send: a read the API refuses for good must not stay
			 * pending and fail every pass.  Polling still covers them.
			 */
			sync_log(run, "webhook_hints: %s read refused, its %zu hint%s dropped: %s", kind, end - i,
				 end - i == 1 ? "" : "s", run->err.msg);
			error_clear(&run->err);
			rc = FL_OK;
		}
		if (!rc)
			rc = drop_hints(run, kind, &l, i, end);
		if (!rc)
			rc = sync_tx_maybe_commit(run, true);
		sync_progress(run, false, NULL);
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	if (!rc && l.n)
		sync_log(run, "webhook_hints: %zu %s hint%s read", l.n, kind, l.n == 1 ? "" : "s");
	free(l.v);
	return rc;
}

/* ---- the lost-delivery signal --------------------------------------------------- */

static int state_num(struct sync_run *run, const char *key, int64_t *out, bool *found)
{
	if (store_int(run->db, "read webhook state", "SELECT num FROM webhook_state WHERE key = ?1",
		      STORE_BINDS(BIND_TEXT(key)), out, found))
		return error_copy(&run->err, &run->db->err);
	return FL_OK;
}

static int state_set(struct sync_run *run, const char *key, int64_t num)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(run->db->sql,
			       "INSERT INTO webhook_state(key, num) VALUES (?1, ?2) "
			       "ON CONFLICT(key) DO UPDATE SET num = excluded.num", -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "write webhook state");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, num);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sync_fail_db(run, "write webhook state");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Distinct (kind, id) among the changes (:prev, :cur] whose rows a delivery
 * should have announced — new messages of the account's threads (an edit is
 * no event the reference lists), awards and acceptances, new milestones and
 * milestone requests, own projects completed — that happened after :since
 * (server clock), with no delivery seen for them since :seen (local clock).
 */
static const char lost_sql[] =
	"SELECT count(*) FROM (SELECT DISTINCT kind, key FROM ("
	" SELECT 'thread' AS kind, m.thread_id AS key FROM changes c JOIN messages m ON m.id = c.row_id"
	"  WHERE c.tbl = 'messages' AND c.op = 'insert' AND c.seq > :prev AND c.seq <= :cur"
	"  AND m.local_state IS NULL AND m.time_updated >= :since"
	" UNION ALL SELECT 'bid', b.id FROM changes c JOIN bids b ON b.id = c.row_id"
	"  WHERE c.tbl = 'bids' AND c.op <> 'delete' AND c.seq > :prev AND c.seq <= :cur"
	"  AND b.local_state IS NULL AND (b.time_awarded >= :since OR b.time_accepted >= :since)"
	"  AND (b.bidder_id = :self OR b.project_owner_id = :self)"
	" UNION ALL SELECT 'milestones', x.project_id FROM changes c JOIN milestones x ON x.id = c.row_id"
	"  WHERE c.tbl = 'milestones' AND c.op = 'insert' AND c.seq > :prev AND c.seq <= :cur"
	"  AND x.local_state IS NULL AND x.time_created >= :since"
	" UNION ALL SELECT 'milestones', x.project_id FROM changes c JOIN milestone_requests x ON x.id = c.row_id"
	"  WHERE c.tbl = 'milestone_requests' AND c.op = 'insert' AND c.seq > :prev AND c.seq <= :cur"
	"  AND x.local_state IS NULL AND x.time_requested >= :since"
	" UNION ALL SELECT 'project', p.id FROM changes c JOIN projects p ON p.id = c.row_id"
	"  WHERE c.tbl = 'projects' AND c.op <> 'delete' AND c.seq > :prev AND c.seq <= :cur"
	"  AND p.local_state IS NULL AND p.status = 'complete' AND p.owner_id = :self AND p.time_updated >= :since"
	") k WHERE NOT EXISTS (SELECT 1 FROM webhook_seen s WHERE s.kind = k.kind AND s.id = k.key"
	"  AND s.received_at >= :seen))";

static int count_lost(struct sync_run *run, int64_t prev, int64_t cur, int64_t since, int64_t seen, int64_t *out)
{
	sqlite3_stmt *st;
	int src;

	*out = 0;
	if (sqlite3_prepare_v2(run->db->sql, lost_sql, -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "count lost webhook deliveries");
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":prev"), prev);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":cur"), cur);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), since);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":seen"), seen);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":self"), run->self_id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return sync_fail_db(run, "count lost webhook deliveries");
	return FL_OK;
}

/*
 * Count, then move the marks on: lost_seq (the change feed's end now),
 * lost_at / lost_at_prev (local clock of this and the previous count: a
 * delivery the previous pass's reads took was received after lost_at_prev),
 * lost_srv / lost_srv_prev (the server clock of the same two counts).
 */
static int lost_deliveries(struct sync_run *run)
{
	int64_t prev = 0, at = 0, at_prev = 0, srv = 0, srv_prev = 0, total = 0, lost = 0, now = (int64_t)time(NULL), cur;
	bool have_prev, have_at, have_at_prev, have_srv, have_srv_prev, have_total;
	int64_t active;
	int rc;

	/* Where the feed ended before this pass's streams (side by side with this one) stored. */
	cur = run->sh->feed_seq;
	if (cur < 0)
		return sync_fail_db(run, "read the change feed's end");
	if (store_int(run->db, "ask whether webhooks are active",
		      "SELECT EXISTS (SELECT 1 FROM webhooks WHERE inactive = 0) OR EXISTS (SELECT 1 FROM "
		      "webhook_deliveries WHERE received_at >= strftime('%s', 'now') - 86400)", NULL, 0, &active,
		      NULL))
		return error_copy(&run->err, &run->db->err);
	if ((rc = state_num(run, "lost_seq", &prev, &have_prev)) || (rc = state_num(run, "lost_at", &at, &have_at)) ||
	    (rc = state_num(run, "lost_at_prev", &at_prev, &have_at_prev)) ||
	    (rc = state_num(run, "lost_srv", &srv, &have_srv)) ||
	    (rc = state_num(run, "lost_srv_prev", &srv_prev, &have_srv_prev)) ||
	    (rc = state_num(run, "lost_total", &total, &have_total)))
		return rc;
	/*
	 * The changes since the last count were stored by the previous pass,
	 * which read what happened since the count before it: that count's
	 * server time bounds the rows' own times, its local time the deliveries.
	 */
	if (have_prev && have_srv_prev && have_at_prev && active && cur > prev) {
		rc = count_lost(run, prev, cur, srv_prev - run->opt->lookback_s, at_prev, &lost);
		if (rc)
			return rc;
		if (lost)
			sync_log(run, "webhook_hints: %lld row group%s polled that no delivery announced", (long long)lost,
				 lost == 1 ? "" : "s");
	}
	if ((rc = sync_tx_begin(run)))
		return rc;
	if (have_prev && active) {
		if ((rc = state_set(run, "lost_last", lost)) || (rc = state_set(run, "lost_total", total + lost)) ||
		    (rc = state_set(run, "lost_checked_at", now)))
			return rc;
	}
	if ((have_at && (rc = state_set(run, "lost_at_prev", at))) ||
	    (have_srv && (rc = state_set(run, "lost_srv_prev", srv))) || (rc = state_set(run, "lost_at", now)) ||
	    (rc = state_set(run, "lost_seq", cur)) || (rc = state_set(run, "lost_srv", run->server_now)))
		return rc;
	/* Old deliveries and announcements go: the counts look back an hour, the signal two passes. */
	rc = sync_exec(run,
		  "DELETE FROM webhook_deliveries WHERE received_at < strftime('%s', 'now') - 7 * 86400;"
		  "DELETE FROM webhook_seen WHERE received_at < strftime('%s', 'now') - 2 * 86400",
		  "prune old webhook deliveries");
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	return rc;
}

int stream_webhook_hints(struct sync_run *run)
{
	static const char *const kinds[] = { "thread", "bid", "project", "milestones" };
	/* The lost-delivery signal judges polling, so only whole passes count it. */
	int rc = run->opt->hints_only ? FL_OK : lost_deliveries(run);

	for (size_t i = 0; !rc && i < sizeof kinds / sizeof kinds[0]; i++)
		rc = read_kind(run, kinds[i]);
	if (!rc && !run->opt->hints_only) {
		/* This pass is the early pass they asked for (a round of targeted reads is not). */
		struct hint_list l = { 0 };

		rc = load_hints(run, "pass", &l);
		if (!rc && l.n && !(rc = sync_tx_begin(run)) && !(rc = drop_hints(run, "pass", &l, 0, l.n)))
			rc = sync_tx_maybe_commit(run, true);
		free(l.v);
	}
	return rc;
}
