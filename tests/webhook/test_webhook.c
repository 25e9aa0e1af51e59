/*
 * test_webhook.c — libflsync's webhook side against a temporary database
 * and flmock: the listener's check (method, path, size, JSON), the secret
 * path and the URL, receiving (raw rows, SHA-256 duplicates counted and
 * never acted on twice, hints coalesced by thread/bid/project, unmappable
 * deliveries turned into an early pass), the health figures; then sync
 * passes (sync_pass, as flsyncd runs them): a hint makes exactly its
 * targeted read (flmock's request counts), and after flmock's duplicated,
 * reordered and delayed deliveries the database equals a clean sync.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "flsync.h"
#include "hookrecv.h"
#include "mockutil.h"
#include "ratelimit.h"
#include "store.h"
#include "sync.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir();
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

static struct fl_db *open_db(const char *name)
{
	char *path = tu_path(dir, name);
	struct fl_db *db = NULL;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	free(path);
	return db;
}

static int64_t scalar(struct fl_db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int receive(struct fl_db *db, const char *body)
{
	int outcome = 0;

	ck_assert_int_eq(fl_webhook_receive(db, body, strlen(body), 0, &outcome), FL_OK);
	return outcome;
}

/* ---- without the API ----------------------------------------------------------------- */

START_TEST(check_before_answering)
{
	static const char ok[] = "{\"type\":\"message.received\"}";
	char *big = malloc(FL_WEBHOOK_MAX_BODY + 2);

	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", ok, strlen(ok)), 200);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret?x=1", "/s3cret", ok, strlen(ok)), 200);
	ck_assert_int_eq(fl_webhook_check("GET", "/s3cret", "/s3cret", NULL, 0), 405);
	ck_assert_int_eq(fl_webhook_check("PUT", "/s3cret", "/s3cret", ok, strlen(ok)), 405);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cre", "/s3cret", ok, strlen(ok)), 404);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cretx", "/s3cret", ok, strlen(ok)), 404);
	ck_assert_int_eq(fl_webhook_check("POST", "/", "/s3cret", ok, strlen(ok)), 404);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "", ok, strlen(ok)), 404);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", "", 0), 400);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", "{\"a\":", 5), 400);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", "{} {}", 5), 400);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", "<html>", 6), 400);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", "[1,2]", 5), 200);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', FL_WEBHOOK_MAX_BODY + 1);
	big[0] = '1';
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", big, FL_WEBHOOK_MAX_BODY + 1), 413);
	ck_assert_int_eq(fl_webhook_check("POST", "/s3cret", "/s3cret", big, FL_WEBHOOK_MAX_BODY), 200);
	free(big);
}
END_TEST

START_TEST(path_and_url)
{
	struct fl_db *db = open_db("a.db");
	char *p1 = NULL, *p2 = NULL, *url = NULL;

	ck_assert_int_eq(fl_webhook_url(db, &url), FL_ERR_STATE);
	ck_assert_ptr_null(url);
	ck_assert_int_eq(fl_webhook_path(db, NULL, &p1), FL_OK);
	ck_assert_int_eq(strlen(p1), 33);
	ck_assert_int_eq(p1[0], '/');
	fl_db_close(db);
	/* Made once, kept: another handle gets the same path. */
	db = open_db("a.db");
	ck_assert_int_eq(fl_webhook_path(db, NULL, &p2), FL_OK);
	ck_assert_str_eq(p1, p2);
	ck_assert_int_eq(fl_webhook_url(db, &url), FL_ERR_STATE); /* no listener yet */
	ck_assert_int_eq(fl_webhook_set_listen(db, "127.0.0.1", 8123), FL_OK);
	ck_assert_int_eq(fl_webhook_url(db, &url), FL_OK);
	{
		char want[128];

		snprintf(want, sizeof want, "http://127.0.0.1:8123%s", p1);
		ck_assert_str_eq(url, want);
	}
	fl_free(url);
	ck_assert_int_eq(fl_webhook_set_listen(db, "::1", 9000), FL_OK);
	ck_assert_int_eq(fl_webhook_url(db, &url), FL_OK);
	ck_assert_ptr_nonnull(strstr(url, "http://[::1]:9000/"));
	fl_free(url);
	ck_assert_int_eq(fl_webhook_set_listen(db, "127.0.0.1", 0), FL_ERR_INVALID);
	ck_assert_int_eq(fl_webhook_set_listen(db, "", 80), FL_ERR_INVALID);
	/* A path the daemon is given wins, and is what the URL names. */
	fl_free(p2);
	ck_assert_int_eq(fl_webhook_path(db, "hooks/fl", &p2), FL_OK);
	ck_assert_str_eq(p2, "/hooks/fl");
	ck_assert_int_eq(fl_webhook_url(db, &url), FL_OK);
	ck_assert_str_eq(url, "http://[::1]:9000/hooks/fl");
	fl_free(url);
	fl_free(p2);
	ck_assert_int_eq(fl_webhook_path(db, NULL, &p2), FL_OK);
	ck_assert_str_eq(p2, "/hooks/fl");
	fl_free(p2);
	ck_assert_int_eq(fl_webhook_path(db, "has space", &p2), FL_ERR_INVALID);
	ck_assert_int_eq(fl_webhook_path(db, "a?b", &p2), FL_ERR_INVALID);
	fl_free(p1);
	fl_db_close(db);
}
END_TEST

START_TEST(receive_hints_and_duplicates)
{
	struct fl_db *db = open_db("r.db");
	struct fl_webhook_status *ws = NULL;
	int64_t reads = -1, passes = -1;
	int due = -1, outcome;
	char body[256];

	ck_assert_int_eq(fl_webhook_pass_due(db, &due), FL_OK);
	ck_assert_int_eq(due, 0);
	/* A message: that thread's messages. */
	ck_assert_int_eq(receive(db, "{\"id\":\"e1\",\"type\":\"message.received\",\"timestamp\":1767225700,"
				     "\"data\":{\"thread_id\":42,\"message_id\":7}}"),
			 FL_WEBHOOK_HINT);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_hints WHERE kind = 'thread' AND id = 42"), 1);
	ck_assert_int_eq(scalar(db, "SELECT since FROM webhook_hints WHERE kind = 'thread'"), 1767225700);
	/* The same body again: a counted duplicate, no second hint event. */
	ck_assert_int_eq(receive(db, "{\"id\":\"e1\",\"type\":\"message.received\",\"timestamp\":1767225700,"
				     "\"data\":{\"thread_id\":42,\"message_id\":7}}"),
			 FL_WEBHOOK_DUPLICATE);
	ck_assert_int_eq(scalar(db, "SELECT events FROM webhook_hints WHERE kind = 'thread' AND id = 42"), 1);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_deliveries"), 2);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_deliveries WHERE duplicate = 1 AND body IS NULL"), 1);
	ck_assert_int_eq(scalar(db, "SELECT length(sha256) FROM webhook_deliveries LIMIT 1"), 64);
	/* Ten events for one thread make one hint. */
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof body,
			 "{\"id\":\"m%d\",\"type\":\"attachment.received\",\"timestamp\":%d,\"data\":{\"thread_id\":42,"
			 "\"message_id\":%d}}", i, 1767225600 + i, 100 + i);
		ck_assert_int_eq(receive(db, body), FL_WEBHOOK_HINT);
	}
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_hints"), 1);
	ck_assert_int_eq(scalar(db, "SELECT events FROM webhook_hints"), 11);
	ck_assert_int_eq(scalar(db, "SELECT since FROM webhook_hints"), 1767225600);
	/* Bids, milestones, milestone requests, completed projects; ids as strings too, or at the top. */
	ck_assert_int_eq(receive(db, "{\"type\":\"bid.awarded\",\"data\":{\"bid_id\":\"9\",\"project_id\":3}}"),
			 FL_WEBHOOK_HINT);
	ck_assert_int_eq(receive(db, "{\"type\":\"BID.REVOKED\",\"bid_id\":9}"), FL_WEBHOOK_HINT);
	ck_assert_int_eq(receive(db, "{\"type\":\"milestone.released\",\"data\":{\"milestone_id\":5,\"project_id\":3}}"),
			 FL_WEBHOOK_HINT);
	ck_assert_int_eq(receive(db, "{\"type\":\"milestone_request.created\",\"data\":{\"request_id\":6,"
				     "\"project_id\":3}}"),
			 FL_WEBHOOK_HINT);
	ck_assert_int_eq(receive(db, "{\"type\":\"project.completed\",\"data\":{\"project_id\":3}}"), FL_WEBHOOK_HINT);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_hints WHERE kind = 'bid' AND id = 9 AND events = 2"), 1);
	ck_assert_int_eq(scalar(db, "SELECT events FROM webhook_hints WHERE kind = 'milestones' AND id = 3"), 2);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_hints WHERE kind = 'project' AND id = 3"), 1);
	ck_assert_int_eq(fl_webhook_hints_pending(db, &reads, &passes), FL_OK);
	ck_assert_int_eq(reads, 4);
	ck_assert_int_eq(passes, 0);
	/* What cannot be mapped asks for an early pass, coalesced too. */
	ck_assert_int_eq(receive(db, "{\"type\":\"account.upgraded\",\"data\":{\"user_id\":1}}"), FL_WEBHOOK_PASS);
	ck_assert_int_eq(receive(db, "{\"type\":\"message.received\",\"data\":{\"message_id\":1}}"), FL_WEBHOOK_PASS);
	ck_assert_int_eq(receive(db, "{\"type\":\"bid.awarded\",\"data\":{\"bid_id\":-4}}"), FL_WEBHOOK_PASS);
	ck_assert_int_eq(receive(db, "[1,2,3]"), FL_WEBHOOK_PASS);
	ck_assert_int_eq(receive(db, "\"just a string\""), FL_WEBHOOK_PASS);
	ck_assert_int_eq(receive(db, "{\"event\":{\"nested\":true}}"), FL_WEBHOOK_PASS);
	ck_assert_int_eq(fl_webhook_hints_pending(db, &reads, &passes), FL_OK);
	ck_assert_int_eq(reads, 4);
	ck_assert_int_eq(passes, 1);
	ck_assert_int_eq(fl_webhook_pass_due(db, &due), FL_OK);
	ck_assert_int_eq(due, 1);
	/* Bad input is refused and leaves nothing. */
	ck_assert_int_eq(fl_webhook_receive(db, "{nope", 5, 0, &outcome), FL_ERR_PARSE);
	ck_assert_int_eq(outcome, 0);
	ck_assert_int_eq(fl_webhook_receive(db, "", 0, 0, &outcome), FL_ERR_PARSE);
	ck_assert_int_eq(fl_webhook_receive(db, "{}", FL_WEBHOOK_MAX_BODY + 1, 0, &outcome), FL_ERR_TOO_BIG);
	ck_assert_int_eq(fl_webhook_receive(NULL, "{}", 2, 0, &outcome), FL_ERR_MISUSE);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM webhook_deliveries"), 2 + 10 + 5 + 6);
	/* The health figures. */
	ck_assert_int_eq(fl_webhook_status_get(db, &ws), FL_OK);
	ck_assert_int_eq(ws->deliveries_hour, 23);
	ck_assert_int_eq(ws->duplicates_hour, 1);
	ck_assert_int_eq(ws->unmapped_hour, 6);
	ck_assert_int_eq(ws->hints_pending, 5);
	ck_assert_int_gt(ws->last_delivery, 0);
	ck_assert_ptr_null(ws->inactive_reason);
	fl_webhook_status_free(ws);
	fl_db_close(db);
}
END_TEST

/* ---- against flmock ----------------------------------------------------------------- */

struct syncer {
	struct fl_db *db;
	struct http_client *http;
	struct ratelimit *rl;
	struct sync_options opt;
};

static void syncer_open(struct syncer *s, struct mock *m, const char *name)
{
	struct http_config hc = { .base_url = m->url, .token = "demo" };
	struct fl_error err;

	memset(s, 0, sizeof *s);
	s->db = open_db(name);
	ck_assert_int_eq(http_client_new(&hc, &s->http, &err), FL_OK);
	ck_assert_int_eq(ratelimit_new(1.0, &s->rl, &err), FL_OK);
	sync_options_default(&s->opt);
}

static void syncer_close(struct syncer *s)
{
	http_client_free(s->http);
	ratelimit_free(s->rl);
	fl_db_close(s->db);
}

static void pass(struct syncer *s)
{
	struct fl_sync_report rep;
	struct fl_error err;
	int rc = sync_pass(s->db, s->http, s->rl, &s->opt, &rep, &err);

	ck_assert_msg(rc == FL_OK, "sync pass: %s", err.msg);
}

/* Requests flmock answered on one endpoint ("GET /api/..."), every status. */
static long long served(struct mock *m, const char *endpoint)
{
	struct resp r;
	yajl_val v, e;
	long long n = 0;

	mock_get(m, "/_mock/stats", &r);
	v = resp_json(&r);
	e = jget(jget(v, "endpoints", NULL), endpoint, NULL);
	for (size_t i = 0; e && YAJL_IS_OBJECT(e) && i < e->u.object.len; i++)
		n += YAJL_IS_INTEGER(e->u.object.values[i]) ? YAJL_GET_INTEGER(e->u.object.values[i]) : 0;
	yajl_tree_free(v);
	resp_free(&r);
	return n;
}

#define MESSAGES "GET /api/messages/0.1/messages/"
#define BIDS "GET /api/projects/0.1/bids/"
#define PROJECTS "GET /api/projects/0.1/projects/"
#define MILESTONES "GET /api/projects/0.1/milestones/"
#define MILESTONE_REQUESTS "GET /api/projects/0.1/milestone_requests/"
#define THREADS "GET /api/messages/0.1/threads/"

struct counts {
	long long messages, bids, projects, milestones, milestone_requests, threads, hint_requests;
};

static void count(struct mock *m, struct syncer *s, struct counts *c)
{
	c->messages = served(m, MESSAGES);
	c->bids = served(m, BIDS);
	c->projects = served(m, PROJECTS);
	c->milestones = served(m, MILESTONES);
	c->milestone_requests = served(m, MILESTONE_REQUESTS);
	c->threads = served(m, THREADS);
	c->hint_requests = scalar(s->db, "SELECT coalesce((SELECT requests FROM sync_state WHERE stream = 'webhook_hints'), 0)");
}

/* The extra requests of pass b over pass a (both from "before" counts). */
static void delta(const struct counts *before, const struct counts *after, struct counts *d)
{
	d->messages = after->messages - before->messages;
	d->bids = after->bids - before->bids;
	d->projects = after->projects - before->projects;
	d->milestones = after->milestones - before->milestones;
	d->milestone_requests = after->milestone_requests - before->milestone_requests;
	d->threads = after->threads - before->threads;
	d->hint_requests = after->hint_requests - before->hint_requests;
}

static void measured_pass(struct mock *m, struct syncer *s, struct counts *d)
{
	struct counts a, b;

	count(m, s, &a);
	pass(s);
	count(m, s, &b);
	delta(&a, &b, d);
}

START_TEST(hint_makes_exactly_its_read)
{
	struct mock m;
	struct syncer s;
	struct counts base, d;
	int64_t thread, bid, project;
	char body[256];

	mock_must_start(&m, NULL);
	syncer_open(&s, &m, "s.db");
	pass(&s); /* the first, full sync */
	measured_pass(&m, &s, &base); /* an incremental pass with nothing new: the baseline */
	ck_assert_int_eq(base.hint_requests, 0);

	thread = scalar(s.db, "SELECT id FROM threads ORDER BY id LIMIT 1");
	bid = scalar(s.db, "SELECT id FROM bids WHERE bidder_id = (SELECT id FROM users WHERE is_self = 1) LIMIT 1");
	project = scalar(s.db, "SELECT project_id FROM milestones LIMIT 1");
	ck_assert_int_gt(thread, 0);
	ck_assert_int_gt(bid, 0);
	ck_assert_int_gt(project, 0);

	/* One thread's delivery, twice: one targeted read of its messages and one of the thread, nothing else. */
	snprintf(body, sizeof body, "{\"id\":\"a\",\"type\":\"message.received\",\"data\":{\"thread_id\":%lld}}",
		 (long long)thread);
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_HINT);
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_DUPLICATE);
	measured_pass(&m, &s, &d);
	ck_assert_int_eq(d.hint_requests, 2);
	ck_assert_int_eq(d.messages, base.messages + 1);
	ck_assert_int_eq(d.threads, base.threads + 1);
	ck_assert_int_eq(d.bids, base.bids);
	ck_assert_int_eq(d.milestones, base.milestones);
	ck_assert_int_eq(scalar(s.db, "SELECT count(*) FROM webhook_hints"), 0);

	/* The same body once more: a duplicate, never read again. */
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_DUPLICATE);
	measured_pass(&m, &s, &d);
	ck_assert_int_eq(d.hint_requests, 0);
	ck_assert_int_eq(d.messages, base.messages);

	/* Ten events of one thread, a bid's and a project's milestones: one read each. */
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof body, "{\"id\":\"t%d\",\"type\":\"message.received\",\"data\":{\"thread_id\":%lld}}",
			 i, (long long)thread);
		ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_HINT);
	}
	snprintf(body, sizeof body, "{\"type\":\"bid.accepted\",\"data\":{\"bid_id\":%lld}}", (long long)bid);
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_HINT);
	snprintf(body, sizeof body, "{\"type\":\"milestone.created\",\"data\":{\"project_id\":%lld}}", (long long)project);
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_HINT);
	snprintf(body, sizeof body, "{\"type\":\"project.completed\",\"data\":{\"project_id\":%lld}}", (long long)project);
	ck_assert_int_eq(receive(s.db, body), FL_WEBHOOK_HINT);
	measured_pass(&m, &s, &d);
	ck_assert_int_eq(d.hint_requests, 6);
	ck_assert_int_eq(d.messages, base.messages + 1);
	ck_assert_int_eq(d.threads, base.threads + 1);
	ck_assert_int_eq(d.bids, base.bids + 1);
	ck_assert_int_eq(d.projects, base.projects + 1);
	ck_assert_int_eq(d.milestones, base.milestones + 1);
	ck_assert_int_eq(d.milestone_requests, base.milestone_requests + 1);
	ck_assert_int_eq(scalar(s.db, "SELECT count(*) FROM webhook_hints"), 0);

	/* An unmappable delivery: no read of its own, the pass itself takes it. */
	ck_assert_int_eq(receive(s.db, "{\"type\":\"something.new\"}"), FL_WEBHOOK_PASS);
	measured_pass(&m, &s, &d);
	ck_assert_int_eq(d.hint_requests, 0);
	ck_assert_int_eq(scalar(s.db, "SELECT count(*) FROM webhook_hints"), 0);
	syncer_close(&s);
	mock_stop(&m);
}
END_TEST

/* The receiver's callback: what flsyncd's listener does after answering 2xx. */
struct listener {
	pthread_mutex_t mu;
	struct fl_db *db;
	int failures;
};

static void on_delivery(void *ctx, const char *body, size_t len)
{
	struct listener *l = ctx;

	pthread_mutex_lock(&l->mu);
	if (fl_webhook_check("POST", "/hook", "/hook", body, len) != 200 ||
	    fl_webhook_receive(l->db, body, len, 0, NULL) != FL_OK)
		l->failures++;
	pthread_mutex_unlock(&l->mu);
}

static int64_t received(struct listener *l)
{
	int64_t n;

	pthread_mutex_lock(&l->mu);
	n = scalar(l->db, "SELECT count(*) FROM webhook_deliveries");
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Every table's rows as the API sent them, in one digest-like string per table. */
static char *table_text(struct fl_db *db, const char *sql)
{
	sqlite3_stmt *st;
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);
			size_t n = t ? strlen(t) : 4;

			while (len + n + 2 >= cap) {
				cap *= 2;
				out = realloc(out, cap);
				ck_assert_ptr_nonnull(out);
			}
			memcpy(out + len, t ? t : "NULL", n);
			len += n;
			out[len++] = c + 1 < sqlite3_column_count(st) ? '|' : '\n';
		}
	}
	sqlite3_finalize(st);
	out[len] = '\0';
	return out;
}

/* Every table of a's database as b's: the same rows, byte for byte (but for when each was stored). */
static void assert_same_rows(struct fl_db *a_db, struct fl_db *b_db)
{
	static const char *const tables[] = {
		"SELECT id, raw, deleted FROM projects ORDER BY id",
		"SELECT id, raw, deleted FROM bids ORDER BY id",
		"SELECT id, raw FROM milestones ORDER BY id",
		"SELECT id, raw FROM milestone_requests ORDER BY id",
		"SELECT raw FROM reviews ORDER BY raw",
		"SELECT id, raw FROM threads ORDER BY id",
		"SELECT thread_id, user_id FROM thread_members ORDER BY 1, 2",
		"SELECT id, raw FROM messages ORDER BY id",
		"SELECT id, raw FROM users ORDER BY id",
	};

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char *a = table_text(a_db, tables[i]), *b = table_text(b_db, tables[i]);
		size_t at = 0;

		while (a[at] && a[at] == b[at])
			at++;
		while (at > 0 && a[at - 1] != '\n')
			at--;
		ck_assert_msg(strcmp(a, b) == 0, "%s differs from a clean sync (%zu vs %zu bytes) at:\n%.300s\nvs\n%.300s",
			      tables[i], strlen(a), strlen(b), a + at, b + at);
		free(a);
		free(b);
	}
}

/* Until flmock has sent everything and the listener stored it. */
static void drain(struct mock *m, struct hookrecv *h, struct listener *l)
{
	for (int i = 0; i < 3000; i++) {
		struct resp st;
		yajl_val v;
		long long pending, delivered;

		mock_get(m, "/_mock/webhooks", &st);
		v = resp_json(&st);
		pending = jint(v, "pending");
		delivered = jint(v, "delivered");
		yajl_tree_free(v);
		resp_free(&st);
		if (pending == 0 && delivered == (long long)hookrecv_count(h) && received(l) >= delivered)
			return;
		usleep(10000);
	}
	ck_abort_msg("deliveries did not settle");
}

static void quiet_advance(struct mock *m, long long seconds)
{
	char path[96];
	struct resp r;

	snprintf(path, sizeof path, "/_mock/advance?seconds=%lld&quiet=300", seconds);
	mock_call(m, "POST", path, NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
}

/* Register h's URL for the account of s; the one webhook listed is it. */
static void register_hook(struct syncer *s, struct mock *m, struct hookrecv *h)
{
	struct fl_webhook_api api = { .api = m->url, .token = "demo" };
	struct fl_webhook_list *list = NULL;

	ck_assert_int_eq(fl_webhook_register(s->db, &api, 0, hookrecv_url(h), &list), FL_OK);
	ck_assert_int_eq(list->count, 1);
	ck_assert_str_eq(list->webhooks[0].url, hookrecv_url(h));
	ck_assert_int_eq(list->webhooks[0].developer_id, mock_self(m)); /* 0: the account's own id */
	fl_webhook_list_free(list);
}

/* flmock's delivery counters: it duplicated, reordered and delayed, and the library counted each duplicate once. */
static void assert_faults_counted(struct mock *m, struct fl_db *db)
{
	struct fl_webhook_status *ws = NULL;
	struct resp r;
	yajl_val v;

	ck_assert_int_eq(fl_webhook_status_get(db, &ws), FL_OK);
	mock_get(m, "/_mock/webhooks", &r);
	v = resp_json(&r);
	ck_assert_int_gt(jint(v, "duplicated"), 0);
	ck_assert_int_eq(ws->duplicates_hour, jint(v, "duplicated"));
	ck_assert_int_gt(jint(v, "reordered"), 0);
	ck_assert_int_gt(jint(v, "delayed"), 0);
	yajl_tree_free(v);
	resp_free(&r);
	ck_assert_int_eq(ws->webhooks_active, 1);
	fl_webhook_status_free(ws);
}

START_TEST(faulty_deliveries_equal_a_clean_sync)
{
	const char *args[] = { "--webhook-faults", "dup=0.3,reorder=0.3,delay=0.3,delay_ms=300", NULL };
	struct listener l = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct hookrecv *h;
	struct syncer s, clean;
	struct mock m;
	int64_t reads = 0, passes = 0;

	mock_must_start(&m, args);
	syncer_open(&s, &m, "hooked.db");
	l.db = open_db("hooked.db"); /* the listener's own handle, as in flsyncd */
	h = hookrecv_start(on_delivery, &l);
	ck_assert_ptr_nonnull(h);
	register_hook(&s, &m, h);
	pass(&s);

	/* Two hours of activity, delivered with duplicates, reordering and delays. */
	/* (none in the last 300 s: both syncs' windows end a safety lag before now) */
	quiet_advance(&m, 7200);
	drain(&m, h, &l);
	ck_assert_int_eq(l.failures, 0);
	ck_assert_int_gt(received(&l), 0);
	ck_assert_int_eq(received(&l), (int64_t)hookrecv_count(h));
	ck_assert_int_eq(fl_webhook_hints_pending(s.db, &reads, &passes), FL_OK);
	ck_assert_int_gt(reads, 0);
	assert_faults_counted(&m, s.db);

	pass(&s);
	ck_assert_int_eq(scalar(s.db, "SELECT count(*) FROM webhook_hints"), 0);
	ck_assert_int_gt(scalar(s.db, "SELECT requests FROM sync_state WHERE stream = 'webhook_hints'"), 0);

	/* A clean sync of the same world, from nothing. */
	syncer_open(&clean, &m, "clean.db");
	pass(&clean);
	assert_same_rows(s.db, clean.db);
	hookrecv_stop(h);
	fl_db_close(l.db);
	syncer_close(&clean);
	syncer_close(&s);
	mock_stop(&m);
}
END_TEST

START_TEST(dropped_deliveries_are_counted)
{
	struct listener l = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct fl_webhook_status *ws = NULL;
	struct hookrecv *h;
	struct syncer s;
	struct mock m;
	struct resp r;

	mock_must_start(&m, NULL);
	syncer_open(&s, &m, "lost.db");
	l.db = open_db("lost.db");
	h = hookrecv_start(on_delivery, &l);
	ck_assert_ptr_nonnull(h);
	register_hook(&s, &m, h);
	pass(&s);
	pass(&s); /* the first count's marks are set */

	/* Every change announced: polling finds nothing a delivery did not say. */
	quiet_advance(&m, 3 * 3600);
	drain(&m, h, &l);
	pass(&s);
	pass(&s);
	ck_assert_int_eq(fl_webhook_status_get(s.db, &ws), FL_OK);
	ck_assert_int_gt(ws->deliveries_total, 0);
	ck_assert_int_eq(ws->lost_last, 0);
	ck_assert_int_eq(ws->lost_total, 0);
	ck_assert_int_gt(ws->lost_checked_at, 0);
	fl_webhook_status_free(ws);

	/* Every delivery dropped: the next poll repairs the rows, and the signal counts them. */
	mock_call(&m, "POST", "/_mock/webhooks?spec=drop=1", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	quiet_advance(&m, 3 * 3600);
	drain(&m, h, &l);
	ck_assert_int_eq(scalar(s.db, "SELECT count(*) FROM webhook_hints"), 0);
	pass(&s); /* polling brings the rows */
	pass(&s); /* and the count sees them */
	ck_assert_int_eq(fl_webhook_status_get(s.db, &ws), FL_OK);
	ck_assert_int_gt(ws->lost_last, 0);
	ck_assert_int_eq(ws->lost_total, ws->lost_last);
	fl_webhook_status_free(ws);
	hookrecv_stop(h);
	fl_db_close(l.db);
	syncer_close(&s);
	mock_stop(&m);
}
END_TEST

int main(void)
{
	const TTest *receive_tests[] = {
		check_before_answering,
		path_and_url,
		receive_hints_and_duplicates,
		NULL,
	};
	const TTest *sync_tests[] = {
		hint_makes_exactly_its_read,
		faulty_deliveries_equal_a_clean_sync,
		dropped_deliveries_are_counted,
		NULL,
	};
	const struct check_case cases[] = {
		{ "receive", receive_tests, .setup = setup, .teardown = teardown },
		{ "sync", sync_tests, .setup = setup, .teardown = teardown, .timeout = 240 },
	};

	return mock_run_suite(check_suite("webhook", cases, sizeof cases / sizeof cases[0]));
}
