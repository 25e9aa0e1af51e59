/*
 * test_enqueue.c — the write queue's library side, against a fresh database
 * with a hand-made account: every kind enqueues and shows its optimistic
 * effect; bad input is refused with FL_ERR_INVALID, a message naming the
 * field, and nothing written; local references wait on the action that
 * creates the object; cancel undoes and cascades; retry re-applies;
 * fl_action_get/foreach report every field; message.send gets a stable
 * client_message_id.
 *
 * Fixture (ids are small on purpose: the API's are large, locals negative):
 *   users 100 (self), 200, 300; currency 1; job 3
 *   project 1000 owned by 200 (self bid 5000 on it, milestone request 8000 by self)
 *   project 2000 owned by self (bid 6000 by 200, milestone 7000 on that bid)
 *   project 3000 owned by 300 (no bids)
 *   thread 9000 between self and 200 about project 2000
 */
#include <check.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../check_main.h"
#include "actions.h"
#include "flsync.h"
#include "store.h"
#include "testutil.h"

#define SELF 100

static char *dir, *path;
static struct fl_db *db;

static const char fixture_sql[] =
	"INSERT INTO currencies(id, code) VALUES (1, 'USD');"
	"INSERT INTO jobs(id, name) VALUES (3, 'C Programming');"
	"INSERT INTO users(id, is_self, raw) VALUES (100, 1, '{}');"
	"INSERT INTO users(id, is_self, raw) VALUES (200, 0, '{}');"
	"INSERT INTO users(id, is_self, raw) VALUES (300, 0, '{}');"
	"INSERT INTO projects(id, owner_id, title, type, status, currency_id, budget_minimum, budget_maximum,"
	" time_submitted, time_updated, raw) VALUES"
	" (1000, 200, 'their project', 'fixed', 'active', 1, 10, 100, 1, 1, '{}'),"
	" (2000, 100, 'my project', 'fixed', 'active', 1, 10, 100, 1, 1, '{}'),"
	" (3000, 300, 'third project', 'fixed', 'active', 1, 10, 100, 1, 1, '{}');"
	"INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, description,"
	" award_status, frontend_bid_status, retracted, highlighted, shortlisted, time_submitted, raw) VALUES"
	" (5000, 1000, 100, 200, 50, 5, 'my bid', 'pending', 'active', 0, 0, 0, 1, '{}'),"
	" (6000, 2000, 200, 100, 70, 7, 'their bid', NULL, 'active', 0, 0, 0, 1, '{}');"
	"INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,"
	" status, description, time_created, raw) VALUES"
	" (7000, 2000, 6000, 200, 100, 1, 35, 'frozen', 'first half', 1, '{}');"
	"INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id,"
	" amount, status, description, time_requested, raw) VALUES"
	" (8000, 1000, 5000, 100, 200, 1, 25, 'pending', 'please', 1, '{}');"
	"INSERT INTO threads(id, thread_type, context_type, context_id, owner_id, folder, is_read, is_muted,"
	" time_created, time_updated, raw) VALUES (9000, 'private_chat', 'project', 2000, 100, 'inbox', 0, 0,"
	" 1, 1, '{}');"
	"INSERT INTO thread_members(thread_id, user_id) VALUES (9000, 100), (9000, 200);";

static void exec(const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, &err);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "?");
	sqlite3_free(err);
}

/* One integer of one row; LLONG_MIN-ish sentinel when no row or NULL. */
#define NOROW (-999999999LL)
static long long qint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long qint(const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *st;
	long long v = NOROW;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	ck_assert_msg(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db->sql));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One text value of one row into a static buffer; "(null)" when none. */
static const char *qtext(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *qtext(const char *fmt, ...)
{
	static char out[4][1024];
	static int slot;
	char sql[1024], *o = out[slot++ % 4];
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	snprintf(o, 1024, "(null)");
	ck_assert_msg(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db->sql));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(o, 1024, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return o;
}

static void setup(void)
{
	dir = tu_tmpdir();
	path = tu_path(dir, "flsync.db");
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	exec(fixture_sql);
}

static void teardown(void)
{
	fl_db_close(db);
	db = NULL;
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* Enqueue that must succeed; returns the id, *ref (if given) the local ref. */
static int64_t enq_ok(const char *kind, const char *json, char **ref)
{
	int64_t id = -1;
	char *r = NULL;
	int rc = fl_action_enqueue(db, kind, json, &id, &r);

	ck_assert_msg(rc == FL_OK, "%s %s: rc %d (%s)", kind, json, rc, fl_errmsg(db));
	ck_assert_int_gt(id, 0);
	if (ref)
		*ref = r;
	else
		free(r);
	return id;
}

/* Everything a refused enqueue must leave untouched, as one number per table. */
static const char *const counted[] = {
	"actions", "users", "projects", "project_jobs", "bids", "milestones", "milestone_requests",
	"reviews", "threads", "thread_members", "messages",
};
#define NCOUNTED (sizeof counted / sizeof counted[0])

static void snapshot(long long out[NCOUNTED])
{
	for (size_t i = 0; i < NCOUNTED; i++)
		out[i] = qint("SELECT count(*) FROM %s", counted[i]);
}

/* A refused enqueue: rc, a message naming `field`, nothing queued or changed. */
static void enq_refused(int want_rc, const char *kind, const char *json, const char *field)
{
	long long before[NCOUNTED], after[NCOUNTED];
	const char *changes = "SELECT count(*) FROM ("
		"SELECT 1 FROM projects WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM bids WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM milestones WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM milestone_requests WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM reviews WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM threads WHERE local_state IS NOT NULL UNION ALL "
		"SELECT 1 FROM messages WHERE local_state IS NOT NULL)";
	long long pending_before = qint("%s", changes);
	int64_t id = 77;
	char *ref = (char *)"x";
	int rc;

	snapshot(before);
	rc = fl_action_enqueue(db, kind, json, &id, &ref);
	ck_assert_msg(rc == want_rc, "%s %s: rc %d, want %d (%s)", kind ? kind : "(null)", json ? json : "(null)",
		      rc, want_rc, fl_errmsg(db));
	ck_assert_int_eq(id, 0);
	ck_assert_ptr_null(ref);
	if (field)
		ck_assert_msg(strstr(fl_errmsg(db), field), "%s %s: message \"%s\" does not name %s", kind, json,
			      fl_errmsg(db), field);
	snapshot(after);
	for (size_t i = 0; i < NCOUNTED; i++)
		ck_assert_msg(before[i] == after[i], "%s %s: %s went from %lld to %lld rows", kind, json,
			      counted[i], before[i], after[i]);
	ck_assert_int_eq(qint("%s", changes), pending_before);
}

static void check_pending(const char *table, long long id, const char *kind)
{
	ck_assert_str_eq(qtext("SELECT local_state FROM %s WHERE id = %lld", table, id), "pending");
	ck_assert_str_eq(qtext("SELECT local_action FROM %s WHERE id = %lld", table, id), kind);
}

/* A creating kind's row: id -action, local_id local:<noun>:<action>, pending. */
static void check_local_row(const char *table, const char *noun, int64_t action, const char *kind,
			    const char *ref)
{
	char want[64];

	snprintf(want, sizeof want, "local:%s:%lld", noun, (long long)action);
	ck_assert_str_eq(ref, want);
	ck_assert_int_eq(qint("SELECT count(*) FROM %s WHERE id = %lld", table, -(long long)action), 1);
	ck_assert_str_eq(qtext("SELECT local_id FROM %s WHERE id = %lld", table, -(long long)action), want);
	check_pending(table, -(long long)action, kind);
	ck_assert_str_eq(qtext("SELECT local_ref FROM actions WHERE id = %lld", (long long)action), want);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)action), "queued");
}

/* ---- every kind: a valid enqueue and its optimistic effect ---------------- */

START_TEST(bid_create_effect)
{
	char *ref;
	int64_t id = enq_ok("bid.create", "{\"project_id\": 3000, \"amount\": 42.5, \"period\": 4, "
			    "\"milestone_percentage\": 50, \"description\": \"I can do it\"}", &ref);

	check_local_row("bids", "bid", id, "bid.create", ref);
	ck_assert_int_eq(qint("SELECT project_id FROM bids WHERE id = %lld", -(long long)id), 3000);
	ck_assert_int_eq(qint("SELECT bidder_id FROM bids WHERE id = %lld", -(long long)id), SELF);
	ck_assert_int_eq(qint("SELECT project_owner_id FROM bids WHERE id = %lld", -(long long)id), 300);
	ck_assert_str_eq(qtext("SELECT amount FROM bids WHERE id = %lld", -(long long)id), "42.5");
	ck_assert_int_eq(qint("SELECT period FROM bids WHERE id = %lld", -(long long)id), 4);
	ck_assert_str_eq(qtext("SELECT description FROM bids WHERE id = %lld", -(long long)id), "I can do it");
	/* shows among the project's bids at once */
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE project_id = 3000 AND local_state = 'pending'"), 1);
	free(ref);
}
END_TEST

START_TEST(bid_update_effect)
{
	enq_ok("bid.update", "{\"bid_id\": 5000, \"amount\": 99, \"description\": \"better\"}", NULL);
	check_pending("bids", 5000, "bid.update");
	ck_assert_int_eq(qint("SELECT amount FROM bids WHERE id = 5000"), 99);
	ck_assert_int_eq(qint("SELECT period FROM bids WHERE id = 5000"), 5); /* not given: unchanged */
	ck_assert_str_eq(qtext("SELECT description FROM bids WHERE id = 5000"), "better");
}
END_TEST

/* The bid actions: each changes its columns and marks the bid. */
static const struct {
	const char *kind;
	int64_t bid;
	const char *check;   /* SQL that must give 1 afterwards */
} bid_actions[] = {
	{ "bid.revoke", 5000, "SELECT award_status = 'revoked' FROM bids WHERE id = 5000" },
	{ "bid.accept", 5000, "SELECT frontend_bid_status = 'in progress' AND time_accepted > 0 FROM bids WHERE id = 5000" },
	{ "bid.reject", 5000, "SELECT award_status = 'rejected' FROM bids WHERE id = 5000" },
	{ "bid.retract", 5000, "SELECT retracted = 1 FROM bids WHERE id = 5000" },
	{ "bid.highlight", 5000, "SELECT highlighted = 1 FROM bids WHERE id = 5000" },
	{ "bid.shortlist", 6000, "SELECT shortlisted = 1 FROM bids WHERE id = 6000" },
	{ "bid.award", 6000, "SELECT time_awarded > 0 FROM bids WHERE id = 6000" },
};

START_TEST(bid_action_effect)
{
	char json[64];

	snprintf(json, sizeof json, "{\"bid_id\": %lld}", (long long)bid_actions[_i].bid);
	enq_ok(bid_actions[_i].kind, json, NULL);
	check_pending("bids", bid_actions[_i].bid, bid_actions[_i].kind);
	ck_assert_msg(qint("%s", bid_actions[_i].check) == 1, "%s: %s", bid_actions[_i].kind, bid_actions[_i].check);
}
END_TEST

/*
 * The reference (Perform Bid Action): "Project owners can award the bid
 * (which sets the award_status to pending) ... Bid owners can accept the bid
 * (which sets the award_status to awarded)".  The optimistic row should say
 * what the server's row will.
 */
START_TEST(bid_award_accept_follow_reference)
{
	enq_ok("bid.award", "{\"bid_id\": 6000}", NULL);
	ck_assert_str_eq(qtext("SELECT award_status FROM bids WHERE id = 6000"), "pending");
	enq_ok("bid.accept", "{\"bid_id\": 5000}", NULL);
	ck_assert_str_eq(qtext("SELECT award_status FROM bids WHERE id = 5000"), "awarded");
}
END_TEST

START_TEST(milestone_create_effect)
{
	char *ref;
	int64_t id = enq_ok("milestone.create", "{\"project_id\": 2000, \"bidder_id\": 200, \"bid_id\": 6000, "
			    "\"amount\": 20, \"description\": \"second half\", \"reason\": \"partial_payment\"}", &ref);
	long long lid = -(long long)id;

	check_local_row("milestones", "milestone", id, "milestone.create", ref);
	ck_assert_int_eq(qint("SELECT project_id FROM milestones WHERE id = %lld", lid), 2000);
	ck_assert_int_eq(qint("SELECT bid_id FROM milestones WHERE id = %lld", lid), 6000);
	ck_assert_int_eq(qint("SELECT bidder_id FROM milestones WHERE id = %lld", lid), 200);
	ck_assert_int_eq(qint("SELECT amount FROM milestones WHERE id = %lld", lid), 20);
	ck_assert_int_eq(qint("SELECT currency_id FROM milestones WHERE id = %lld", lid), 1);
	ck_assert_str_eq(qtext("SELECT reason FROM milestones WHERE id = %lld", lid), "partial_payment");
	ck_assert_str_eq(qtext("SELECT description FROM milestones WHERE id = %lld", lid), "second half");
	free(ref);
}
END_TEST

START_TEST(milestone_action_effects)
{
	enq_ok("milestone.release", "{\"milestone_id\": 7000, \"amount\": 35}", NULL);
	check_pending("milestones", 7000, "milestone.release"); /* shows as releasing */
	ck_assert_str_eq(qtext("SELECT status FROM milestones WHERE id = 7000"), "frozen");

	exec("INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount,"
	     " status, time_created, raw) VALUES (7001, 1000, 5000, 100, 200, 1, 10, 'frozen', 1, '{}'),"
	     " (7002, 2000, 6000, 200, 100, 1, 10, 'frozen', 1, '{}')");
	enq_ok("milestone.request_release", "{\"milestone_id\": 7001}", NULL);
	check_pending("milestones", 7001, "milestone.request_release");
	ck_assert_str_eq(qtext("SELECT status FROM milestones WHERE id = 7001"), "requested_release");
	enq_ok("milestone.cancel", "{\"milestone_id\": 7002}", NULL);
	check_pending("milestones", 7002, "milestone.cancel");
}
END_TEST

START_TEST(milestone_request_effects)
{
	char *ref;
	int64_t id = enq_ok("milestone_request.create", "{\"project_id\": 1000, \"bid_id\": 5000, \"amount\": 15, "
			    "\"description\": \"next part\"}", &ref);
	long long lid = -(long long)id;

	check_local_row("milestone_requests", "milestone_request", id, "milestone_request.create", ref);
	ck_assert_int_eq(qint("SELECT bidder_id FROM milestone_requests WHERE id = %lld", lid), SELF);
	ck_assert_int_eq(qint("SELECT project_owner_id FROM milestone_requests WHERE id = %lld", lid), 200);
	ck_assert_int_eq(qint("SELECT amount FROM milestone_requests WHERE id = %lld", lid), 15);
	free(ref);

	exec("INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id,"
	     " amount, status, time_requested, raw) VALUES (8001, 2000, 6000, 200, 100, 1, 5, 'pending', 1, '{}'),"
	     " (8002, 2000, 6000, 200, 100, 1, 5, 'pending', 1, '{}')");
	enq_ok("milestone_request.accept", "{\"milestone_request_id\": 8001}", NULL);
	check_pending("milestone_requests", 8001, "milestone_request.accept");
	enq_ok("milestone_request.reject", "{\"milestone_request_id\": 8002, \"reason\": \"not yet\"}", NULL);
	check_pending("milestone_requests", 8002, "milestone_request.reject");
	ck_assert_str_eq(qtext("SELECT status FROM milestone_requests WHERE id = 8002"), "rejected");
	enq_ok("milestone_request.delete", "{\"milestone_request_id\": 8000}", NULL);
	check_pending("milestone_requests", 8000, "milestone_request.delete");
	ck_assert_str_eq(qtext("SELECT status FROM milestone_requests WHERE id = 8000"), "deleted");
}
END_TEST

START_TEST(review_post_effect)
{
	char *ref;
	int64_t id = enq_ok("review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": \"freelancer\", "
			    "\"rating\": 4.5, \"comment\": \"great work\"}", &ref);

	ck_assert_ptr_nonnull(ref);
	ck_assert_int_eq(qint("SELECT count(*) FROM reviews WHERE project_id = 2000 AND from_user_id = 100 "
			      "AND to_user_id = 200 AND local_state = 'pending' AND local_action = 'review.post' "
			      "AND rating = 4.5 AND role = 'freelancer' AND description = 'great work'"), 1);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)id), "queued");
	free(ref);
}
END_TEST

START_TEST(thread_create_effect)
{
	char *ref;
	int64_t id = enq_ok("thread.create", "{\"members\": [200, 300], \"context_type\": \"project\", "
			    "\"context\": 2000, \"type\": \"private_chat\", \"message\": \"hello\"}", &ref);
	long long lid = -(long long)id;

	check_local_row("threads", "thread", id, "thread.create", ref);
	ck_assert_str_eq(qtext("SELECT context_type FROM threads WHERE id = %lld", lid), "project");
	ck_assert_int_eq(qint("SELECT context_id FROM threads WHERE id = %lld", lid), 2000);
	ck_assert_str_eq(qtext("SELECT thread_type FROM threads WHERE id = %lld", lid), "private_chat");
	ck_assert_str_eq(qtext("SELECT group_concat(user_id) FROM (SELECT user_id FROM thread_members "
			       "WHERE thread_id = %lld ORDER BY user_id)", lid), "100,200,300");
	free(ref);
}
END_TEST

START_TEST(message_send_effect)
{
	char *ref;
	int64_t id = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"on my way\"}", &ref);
	long long lid = -(long long)id;

	check_local_row("messages", "message", id, "message.send", ref);
	ck_assert_int_eq(qint("SELECT thread_id FROM messages WHERE id = %lld", lid), 9000);
	ck_assert_int_eq(qint("SELECT from_user_id FROM messages WHERE id = %lld", lid), SELF);
	ck_assert_str_eq(qtext("SELECT message FROM messages WHERE id = %lld", lid), "on my way");
	/* appears in its thread */
	ck_assert_int_eq(qint("SELECT count(*) FROM messages WHERE thread_id = 9000 AND local_state = 'pending'"), 1);
	free(ref);
}
END_TEST

START_TEST(thread_action_effects)
{
	enq_ok("thread.read", "{\"thread_id\": 9000}", NULL);
	check_pending("threads", 9000, "thread.read");
	ck_assert_int_eq(qint("SELECT is_read FROM threads WHERE id = 9000"), 1);
	ck_assert_int_gt(qint("SELECT time_read FROM threads WHERE id = 9000"), 0);
	enq_ok("thread.archive", "{\"thread_id\": 9000}", NULL);
	check_pending("threads", 9000, "thread.archive");
	ck_assert_str_eq(qtext("SELECT folder FROM threads WHERE id = 9000"), "archived");
	enq_ok("thread.mute", "{\"thread_id\": 9000}", NULL);
	check_pending("threads", 9000, "thread.mute");
	ck_assert_int_eq(qint("SELECT is_muted FROM threads WHERE id = 9000"), 1);
	ck_assert_int_eq(qint("SELECT count(*) FROM actions WHERE state = 'queued'"), 3);
}
END_TEST

START_TEST(project_create_effect)
{
	char *ref;
	int64_t id = enq_ok("project.create", "{\"title\": \"Logo\", \"description\": \"A logo for a bakery\", "
			    "\"currency\": {\"id\": 1}, \"budget\": {\"minimum\": 30, \"maximum\": 250}, "
			    "\"jobs\": [{\"id\": 3}]}", &ref);
	long long lid = -(long long)id;

	check_local_row("projects", "project", id, "project.create", ref);
	ck_assert_int_eq(qint("SELECT owner_id FROM projects WHERE id = %lld", lid), SELF);
	ck_assert_str_eq(qtext("SELECT title FROM projects WHERE id = %lld", lid), "Logo");
	ck_assert_int_eq(qint("SELECT currency_id FROM projects WHERE id = %lld", lid), 1);
	ck_assert_int_eq(qint("SELECT budget_minimum FROM projects WHERE id = %lld", lid), 30);
	ck_assert_int_eq(qint("SELECT budget_maximum FROM projects WHERE id = %lld", lid), 250);
	ck_assert_int_eq(qint("SELECT job_id FROM project_jobs WHERE project_id = %lld", lid), 3);
	free(ref);
}
END_TEST

/* A job the database has not synced yet (the jobs list is refreshed daily). */
START_TEST(project_create_unknown_job)
{
	int64_t id = 0;
	int rc = fl_action_enqueue(db, "project.create", "{\"title\": \"Logo\", \"description\": \"A logo\", "
				   "\"currency\": {\"id\": 1}, \"budget\": {\"minimum\": 30}, \"jobs\": [{\"id\": 77}]}",
				   &id, NULL);

	ck_assert_msg(rc == FL_OK || rc == FL_ERR_INVALID || rc == FL_ERR_NOT_FOUND,
		      "project.create with a job not in the jobs table: rc %d (%s), want queued or a refusal "
		      "naming jobs", rc, fl_errmsg(db));
	if (rc)
		ck_assert_msg(strstr(fl_errmsg(db), "jobs"), "message \"%s\" does not name jobs", fl_errmsg(db));
}
END_TEST

/* message.send into a thread the database does not have (yet): queued, or refused by name. */
START_TEST(message_send_unknown_thread)
{
	int64_t id = 0;
	int rc = fl_action_enqueue(db, "message.send", "{\"thread_id\": 123456, \"message\": \"hi\"}", &id, NULL);

	ck_assert_msg(rc == FL_OK || rc == FL_ERR_INVALID || rc == FL_ERR_NOT_FOUND,
		      "message.send into an unknown thread: rc %d (%s), want queued or a refusal naming thread_id",
		      rc, fl_errmsg(db));
	if (rc)
		ck_assert_msg(strstr(fl_errmsg(db), "thread_id"), "message \"%s\" does not name thread_id",
			      fl_errmsg(db));
}
END_TEST

START_TEST(project_invite_queued)
{
	int64_t id = enq_ok("project.invite", "{\"project_id\": 2000, \"freelancer_id\": 300}", NULL);
	struct fl_action_info *a;

	ck_assert_int_eq(fl_action_get(db, id, &a), FL_OK);
	ck_assert_str_eq(a->kind, "project.invite");
	ck_assert_int_eq(a->state, FL_ACTION_QUEUED);
	ck_assert_ptr_null(a->local_ref);
	fl_action_free(a);
	/* and it can be cancelled though it has no local effect */
	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)id), "cancelled");
}
END_TEST

/* An action on a row not in the database is queued with no local effect. */
START_TEST(action_on_unknown_row)
{
	int64_t id = enq_ok("bid.retract", "{\"bid_id\": 123456789}", NULL);

	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE id = 123456789"), 0);
	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
}
END_TEST

/* ---- validation ------------------------------------------------------------ */

static const char bid_ok[] =
	"{\"project_id\": 3000, \"amount\": 10, \"period\": 3, \"milestone_percentage\": 50}";

START_TEST(refuse_kind_and_shape)
{
	enq_refused(FL_ERR_INVALID, "bid.explode", bid_ok, "bid.explode");
	enq_refused(FL_ERR_INVALID, "", bid_ok, NULL);
	enq_refused(FL_ERR_INVALID, "bid.create", "[1, 2]", "object");
	enq_refused(FL_ERR_INVALID, "bid.create", "42", "object");
	enq_refused(FL_ERR_INVALID, "bid.create", "\"text\"", "object");
	enq_refused(FL_ERR_INVALID, "bid.create", "null", "object");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000,", "JSON");
	enq_refused(FL_ERR_INVALID, "bid.create", "", "JSON");
	enq_refused(FL_ERR_INVALID, "bid.create", "{'project_id': 3000}", "JSON");
	enq_refused(FL_ERR_MISUSE, NULL, bid_ok, NULL);
	enq_refused(FL_ERR_MISUSE, "bid.create", NULL, NULL);
	ck_assert_int_eq(fl_action_enqueue(NULL, "bid.create", bid_ok, &(int64_t){0}, NULL), FL_ERR_MISUSE);
	ck_assert_int_eq(fl_action_enqueue(db, "bid.create", bid_ok, NULL, NULL), FL_ERR_MISUSE);
}
END_TEST

START_TEST(refuse_missing_required)
{
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"amount\": 10, \"period\": 3, \"milestone_percentage\": 50}",
		    "project_id");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"period\": 3, \"milestone_percentage\": 50}",
		    "amount");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"milestone_percentage\": 50}",
		    "period");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3}",
		    "milestone_percentage");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": null, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "project_id");
	enq_refused(FL_ERR_INVALID, "bid.award", "{}", "bid_id");
	enq_refused(FL_ERR_INVALID, "bid.update", "{\"bid_id\": 5000}", "amount");
	enq_refused(FL_ERR_INVALID, "milestone.create", "{\"project_id\": 2000, \"amount\": 5, \"description\": \"x\"}",
		    "bidder_id");
	enq_refused(FL_ERR_INVALID, "milestone.create", "{\"project_id\": 2000, \"bidder_id\": 200, \"amount\": 5}",
		    "description");
	enq_refused(FL_ERR_INVALID, "milestone.release", "{\"milestone_id\": 7000}", "amount");
	enq_refused(FL_ERR_INVALID, "milestone_request.reject", "{\"milestone_request_id\": 8000}", "reason");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"rating\": 5}",
		    "role");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": "
		    "\"freelancer\"}", "rating");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": 9000}", "message");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"message\": \"hi\"}", "thread_id");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"context_type\": \"project\", \"type\": \"private_chat\"}",
		    "members");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": "
		    "{\"id\": 1}, \"budget\": {\"minimum\": 5}}", "jobs");
	enq_refused(FL_ERR_INVALID, "project.invite", "{\"project_id\": 2000}", "freelancer_id");
}
END_TEST

START_TEST(refuse_wrong_types_and_ranges)
{
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": \"3000\", \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "project_id");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000.5, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "project_id");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": -3, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "project_id");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": \"10\", \"period\": 3, "
		    "\"milestone_percentage\": 50}", "amount");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": -10, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "amount");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 0, \"period\": 3, "
		    "\"milestone_percentage\": 50}", "amount");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 2.5, "
		    "\"milestone_percentage\": 50}", "period");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 0, "
		    "\"milestone_percentage\": 50}", "period");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 101}", "milestone_percentage");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": -1}", "milestone_percentage");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": true}", "milestone_percentage");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50, \"description\": 7}", "description");
	enq_refused(FL_ERR_INVALID, "bid.create", "{\"project_id\": 3000, \"amount\": 10, \"period\": 3, "
		    "\"milestone_percentage\": 50, \"description\": \"   \"}", "description");
	enq_refused(FL_ERR_INVALID, "bid.award", "{\"bid_id\": [5000]}", "bid_id");
	enq_refused(FL_ERR_INVALID, "bid.award", "{\"bid_id\": \"five\"}", "bid_id");
	enq_refused(FL_ERR_INVALID, "milestone.release", "{\"milestone_id\": 7000, \"amount\": -35}", "amount");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": "
		    "\"freelancer\", \"rating\": 6}", "rating");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": "
		    "\"freelancer\", \"rating\": \"5\"}", "rating");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": 9000, \"message\": \"\"}", "message");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": 9000, \"message\": \"hi\", "
		    "\"client_message_id\": \"abc\"}", "client_message_id");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"members\": 200, \"context_type\": \"project\", "
		    "\"type\": \"private_chat\"}", "members");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"members\": [200, \"x\"], \"context_type\": \"project\", "
		    "\"type\": \"private_chat\"}", "members");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": 1, "
		    "\"budget\": {\"minimum\": 5}, \"jobs\": [{\"id\": 3}]}", "currency");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": "
		    "{\"id\": 1}, \"budget\": {\"minimum\": 0}, \"jobs\": [{\"id\": 3}]}", "budget");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": "
		    "{\"id\": 1}, \"budget\": {\"minimum\": 5}, \"jobs\": [3]}", "jobs");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": "
		    "{\"id\": 1}, \"budget\": {\"minimum\": 5}, \"jobs\": []}", "jobs");
}
END_TEST

START_TEST(refuse_bad_enums)
{
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": "
		    "\"boss\", \"rating\": 5}", "role");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": 1, "
		    "\"rating\": 5}", "role");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"members\": [200], \"context_type\": \"chat\", "
		    "\"type\": \"private_chat\"}", "context_type");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"members\": [200], \"context_type\": \"project\", "
		    "\"type\": \"group\"}", "type");
	enq_refused(FL_ERR_INVALID, "milestone.create", "{\"project_id\": 2000, \"bidder_id\": 200, \"amount\": 5, "
		    "\"description\": \"x\", \"reason\": \"because\"}", "reason");
	enq_refused(FL_ERR_INVALID, "thread.create", "{\"members\": [], \"context_type\": \"project\", "
		    "\"type\": \"private_chat\"}", "members");
	enq_refused(FL_ERR_INVALID, "project.create", "{\"title\": \"t\", \"description\": \"d\", \"currency\": "
		    "{\"id\": 1}, \"budget\": {\"minimum\": 50, \"maximum\": 20}, \"jobs\": [{\"id\": 3}]}", "budget");
}
END_TEST

/* bid.create and review.post need the account: without it (no sync yet) they are refused. */
START_TEST(refuse_without_account)
{
	exec("UPDATE users SET is_self = 0 WHERE id = 100");
	enq_refused(FL_ERR_INVALID, "bid.create", bid_ok, "bidder_id");
	enq_refused(FL_ERR_INVALID, "review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": "
		    "\"freelancer\", \"rating\": 5}", "from_user_id");
	/* naming them explicitly works */
	enq_ok("bid.create", "{\"project_id\": 3000, \"bidder_id\": 100, \"amount\": 10, \"period\": 3, "
	       "\"milestone_percentage\": 50}", NULL);
}
END_TEST

/* ---- local references ------------------------------------------------------- */

START_TEST(local_thread_reference)
{
	char *tref, json[128];
	int64_t t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
			   "\"type\": \"private_chat\"}", &tref);
	int64_t m;
	struct fl_action_info *a;

	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"first!\"}", tref);
	m = enq_ok("message.send", json, NULL);
	ck_assert_int_eq(fl_action_get(db, m, &a), FL_OK);
	ck_assert_int_eq(a->depends_on, t);
	/* the stored params keep the reference: replay maps it to the server id */
	ck_assert_ptr_nonnull(strstr(a->params, tref));
	fl_action_free(a);
	ck_assert_int_eq(qint("SELECT depends_on FROM actions WHERE id = %lld", (long long)m), t);
	ck_assert_int_eq(qint("SELECT thread_id FROM messages WHERE id = %lld", -(long long)m), -(long long)t);
	/* a thread action into it waits too */
	snprintf(json, sizeof json, "{\"thread_id\": \"%s\"}", tref);
	m = enq_ok("thread.mute", json, NULL);
	ck_assert_int_eq(qint("SELECT depends_on FROM actions WHERE id = %lld", (long long)m), t);
	ck_assert_int_eq(qint("SELECT is_muted FROM threads WHERE id = %lld", -(long long)t), 1);
	free(tref);
}
END_TEST

START_TEST(local_bid_reference)
{
	char *bref, json[256];
	int64_t b = enq_ok("bid.create", bid_ok, &bref);
	int64_t m;

	snprintf(json, sizeof json, "{\"project_id\": 3000, \"bid_id\": \"%s\", \"amount\": 5, "
		 "\"description\": \"part one\"}", bref);
	m = enq_ok("milestone_request.create", json, NULL);
	ck_assert_int_eq(qint("SELECT depends_on FROM actions WHERE id = %lld", (long long)m), b);
	ck_assert_int_eq(qint("SELECT bid_id FROM milestone_requests WHERE id = %lld", -(long long)m), -(long long)b);
	free(bref);
}
END_TEST

START_TEST(local_reference_missing)
{
	enq_refused(FL_ERR_NOT_FOUND, "message.send", "{\"thread_id\": \"local:thread:999\", \"message\": \"x\"}",
		    "local:thread:999");
	/* an action that exists but creates something else */
	enq_ok("bid.create", bid_ok, NULL); /* action 1: local:bid:1 */
	enq_refused(FL_ERR_NOT_FOUND, "message.send", "{\"thread_id\": \"local:thread:1\", \"message\": \"x\"}",
		    "thread_id");
	/* a reference of the wrong noun is a bad value */
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": \"local:bid:1\", \"message\": \"x\"}",
		    "thread_id");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": \"local:thread:0\", \"message\": \"x\"}",
		    "thread_id");
	enq_refused(FL_ERR_INVALID, "message.send", "{\"thread_id\": \"local:thread:1x\", \"message\": \"x\"}",
		    "thread_id");
}
END_TEST

START_TEST(local_reference_cancelled_or_failed)
{
	char *tref, json[128];
	int64_t t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
			   "\"type\": \"private_chat\"}", &tref);

	ck_assert_int_eq(fl_action_cancel(db, t), FL_OK);
	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"x\"}", tref);
	enq_refused(FL_ERR_INVALID, "message.send", json, "thread_id");
	free(tref);

	t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
		   "\"type\": \"private_chat\"}", &tref);
	ck_assert_int_eq(action_undo(db, t), FL_OK);
	exec("UPDATE actions SET state = 'failed', error_code = 'X' WHERE kind = 'thread.create' AND state = 'queued'");
	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"x\"}", tref);
	enq_refused(FL_ERR_INVALID, "message.send", json, "thread_id");
	free(tref);
}
END_TEST

/* Once the creating action is done, a reference resolves to the server's id, with no wait. */
START_TEST(local_reference_done)
{
	char *tref, json[128];
	int64_t t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
			   "\"type\": \"private_chat\"}", &tref);
	int64_t m;

	exec("INSERT INTO threads(id, thread_type, context_type, owner_id, raw) VALUES (9100, 'private_chat', "
	     "'general', 100, '{}')");
	exec("UPDATE actions SET state = 'done', result = '{\"id\": 9100}' WHERE kind = 'thread.create'");
	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"x\"}", tref);
	m = enq_ok("message.send", json, NULL);
	ck_assert_int_eq(qint("SELECT coalesce(depends_on, 0) FROM actions WHERE id = %lld", (long long)m), 0);
	ck_assert_int_eq(qint("SELECT thread_id FROM messages WHERE id = %lld", -(long long)m), 9100);
	(void)t;
	free(tref);
}
END_TEST

/* ---- cancel ------------------------------------------------------------------- */

START_TEST(cancel_undoes_created_row)
{
	char *ref;
	int64_t id = enq_ok("bid.create", bid_ok, &ref);

	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE id = %lld", -(long long)id), 0);
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE local_id = '%s'", ref), 0);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)id), "cancelled");
	free(ref);

	id = enq_ok("review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": \"freelancer\", "
		    "\"rating\": 5}", NULL);
	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_int_eq(qint("SELECT count(*) FROM reviews"), 0);
	/* and the same review can be queued again */
	enq_ok("review.post", "{\"project_id\": 2000, \"to_user_id\": 200, \"role\": \"freelancer\", "
	       "\"rating\": 4}", NULL);
}
END_TEST

START_TEST(cancel_restores_columns)
{
	const char *before = qtext("SELECT json_array(amount, period, description, award_status, retracted, "
				   "highlighted, local_state, local_action) FROM bids WHERE id = 5000");
	char saved[512];
	int64_t a, b, c;

	snprintf(saved, sizeof saved, "%s", before);
	a = enq_ok("bid.update", "{\"bid_id\": 5000, \"amount\": 77, \"period\": 9, \"description\": \"new\"}", NULL);
	ck_assert_int_eq(fl_action_cancel(db, a), FL_OK);
	ck_assert_str_eq(qtext("SELECT json_array(amount, period, description, award_status, retracted, "
			       "highlighted, local_state, local_action) FROM bids WHERE id = 5000"), saved);

	/* thread flags, and a stack of two actions on one row undone newest first */
	b = enq_ok("thread.archive", "{\"thread_id\": 9000}", NULL);
	c = enq_ok("thread.mute", "{\"thread_id\": 9000}", NULL);
	ck_assert_int_eq(fl_action_cancel(db, c), FL_OK);
	ck_assert_int_eq(qint("SELECT is_muted FROM threads WHERE id = 9000"), 0);
	ck_assert_str_eq(qtext("SELECT folder FROM threads WHERE id = 9000"), "archived");
	check_pending("threads", 9000, "thread.archive");
	ck_assert_int_eq(fl_action_cancel(db, b), FL_OK);
	ck_assert_str_eq(qtext("SELECT folder FROM threads WHERE id = 9000"), "inbox");
	ck_assert_str_eq(qtext("SELECT coalesce(local_state, 'NULL') || coalesce(local_action, 'NULL') "
			       "FROM threads WHERE id = 9000"), "NULLNULL");

	a = enq_ok("milestone.request_release", "{\"milestone_id\": 7000}", NULL);
	ck_assert_int_eq(fl_action_cancel(db, a), FL_OK);
	ck_assert_str_eq(qtext("SELECT status FROM milestones WHERE id = 7000"), "frozen");
	ck_assert_int_eq(qint("SELECT local_state IS NULL AND local_action IS NULL FROM milestones WHERE id = 7000"), 1);
}
END_TEST

START_TEST(cancel_cascades)
{
	char *tref, json[128];
	int64_t t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
			   "\"type\": \"private_chat\"}", &tref);
	int64_t m1, m2, other;

	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"one\"}", tref);
	m1 = enq_ok("message.send", json, NULL);
	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"two\"}", tref);
	m2 = enq_ok("message.send", json, NULL);
	other = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"unrelated\"}", NULL);

	ck_assert_int_eq(fl_action_cancel(db, t), FL_OK);
	ck_assert_int_eq(qint("SELECT count(*) FROM actions WHERE id IN (%lld, %lld, %lld) AND state = 'cancelled'",
			      (long long)t, (long long)m1, (long long)m2), 3);
	ck_assert_int_eq(qint("SELECT count(*) FROM messages WHERE id IN (%lld, %lld)", -(long long)m1,
			      -(long long)m2), 0);
	ck_assert_int_eq(qint("SELECT count(*) FROM threads WHERE id = %lld", -(long long)t), 0);
	ck_assert_int_eq(qint("SELECT count(*) FROM thread_members WHERE thread_id = %lld", -(long long)t), 0);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)other), "queued");
	ck_assert_int_eq(qint("SELECT count(*) FROM messages WHERE id = %lld", -(long long)other), 1);
	ck_assert_int_eq(qint("PRAGMA foreign_key_check"), NOROW);
	free(tref);
}
END_TEST

START_TEST(cancel_wrong_state)
{
	int64_t id = enq_ok("bid.highlight", "{\"bid_id\": 5000}", NULL);

	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_int_eq(fl_action_cancel(db, id), FL_ERR_STATE);          /* cancelled already */
	ck_assert_ptr_nonnull(strstr(fl_errmsg(db), "cancelled"));
	ck_assert_int_eq(fl_action_cancel(db, 424242), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(fl_action_cancel(NULL, id), FL_ERR_MISUSE);

	id = enq_ok("bid.highlight", "{\"bid_id\": 5000}", NULL);
	exec("UPDATE actions SET state = 'sending' WHERE state = 'queued'");
	ck_assert_int_eq(fl_action_cancel(db, id), FL_ERR_STATE);
	ck_assert_int_eq(qint("SELECT highlighted FROM bids WHERE id = 5000"), 1); /* untouched */
	exec("UPDATE actions SET state = 'done' WHERE id = (SELECT max(id) FROM actions)");
	ck_assert_int_eq(fl_action_cancel(db, id), FL_ERR_STATE);
	exec("UPDATE actions SET state = 'failed' WHERE id = (SELECT max(id) FROM actions)");
	ck_assert_int_eq(fl_action_cancel(db, id), FL_ERR_STATE);
}
END_TEST

/* ---- retry -------------------------------------------------------------------- */

START_TEST(retry_wrong_state)
{
	int64_t id = enq_ok("bid.highlight", "{\"bid_id\": 5000}", NULL);

	ck_assert_int_eq(fl_action_retry(db, id), FL_ERR_STATE);            /* queued */
	ck_assert_int_eq(qint("SELECT highlighted FROM bids WHERE id = 5000"), 1);
	exec("UPDATE actions SET state = 'sending' WHERE state = 'queued'");
	ck_assert_int_eq(fl_action_retry(db, id), FL_ERR_STATE);
	exec("UPDATE actions SET state = 'done'");
	ck_assert_int_eq(fl_action_retry(db, id), FL_ERR_STATE);
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)id), "done");
	ck_assert_int_eq(fl_action_retry(db, 424242), FL_ERR_NOT_FOUND);
	ck_assert_int_eq(fl_action_retry(NULL, id), FL_ERR_MISUSE);
}
END_TEST

/* What the replayer does with a rejection: the effect undone, the action failed with the API's words. */
static void fail_like_replay(int64_t id)
{
	char sql[256];

	ck_assert_int_eq(action_undo(db, id), FL_OK);
	snprintf(sql, sizeof sql, "UPDATE actions SET state = 'failed', attempts = 1, http_status = 409, "
		 "error_code = 'SOME_ERROR', error_message = 'no' WHERE id = %lld", (long long)id);
	exec(sql);
}

START_TEST(retry_reapplies_created_row)
{
	char *ref;
	int64_t id = enq_ok("bid.create", bid_ok, &ref);
	struct fl_action_info *a;

	fail_like_replay(id);
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE id = %lld", -(long long)id), 0);
	ck_assert_int_eq(fl_action_retry(db, id), FL_OK);
	check_local_row("bids", "bid", id, "bid.create", ref);
	ck_assert_int_eq(fl_action_get(db, id, &a), FL_OK);
	ck_assert_int_eq(a->state, FL_ACTION_QUEUED);
	ck_assert_int_eq(a->attempts, 0);
	ck_assert_int_eq(a->http_status, 0);
	ck_assert_ptr_null(a->error_code);
	ck_assert_ptr_null(a->error_message);
	ck_assert_int_eq(a->next_attempt, 0);
	fl_action_free(a);
	/* and the re-applied effect can be cancelled again */
	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE id = %lld", -(long long)id), 0);
	free(ref);
}
END_TEST

START_TEST(retry_reapplies_columns)
{
	int64_t id = enq_ok("milestone_request.reject", "{\"milestone_request_id\": 8000, \"reason\": \"no\"}", NULL);

	fail_like_replay(id);
	ck_assert_str_eq(qtext("SELECT status FROM milestone_requests WHERE id = 8000"), "pending");
	ck_assert_int_eq(qint("SELECT local_state IS NULL FROM milestone_requests WHERE id = 8000"), 1);
	ck_assert_int_eq(fl_action_retry(db, id), FL_OK);
	ck_assert_str_eq(qtext("SELECT status FROM milestone_requests WHERE id = 8000"), "rejected");
	check_pending("milestone_requests", 8000, "milestone_request.reject");
	ck_assert_str_eq(qtext("SELECT state FROM actions WHERE id = %lld", (long long)id), "queued");
	/* its new undo takes it back to the server's values, not the pending ones */
	ck_assert_int_eq(fl_action_cancel(db, id), FL_OK);
	ck_assert_str_eq(qtext("SELECT status FROM milestone_requests WHERE id = 8000"), "pending");
	ck_assert_int_eq(qint("SELECT local_state IS NULL FROM milestone_requests WHERE id = 8000"), 1);
}
END_TEST

/* A retried dependent waits again on its (retried) parent. */
START_TEST(retry_dependent)
{
	char *tref, json[128];
	int64_t t = enq_ok("thread.create", "{\"members\": [300], \"context_type\": \"general\", "
			   "\"type\": \"private_chat\"}", &tref);
	int64_t m;

	snprintf(json, sizeof json, "{\"thread_id\": \"%s\", \"message\": \"x\"}", tref);
	m = enq_ok("message.send", json, NULL);
	fail_like_replay(m);
	ck_assert_int_eq(fl_action_retry(db, m), FL_OK);
	ck_assert_int_eq(qint("SELECT depends_on FROM actions WHERE id = %lld", (long long)m), t);
	ck_assert_int_eq(qint("SELECT thread_id FROM messages WHERE id = %lld", -(long long)m), -(long long)t);
	free(tref);
}
END_TEST

/* ---- inspection --------------------------------------------------------------- */

START_TEST(get_every_field)
{
	char *ref;
	int64_t before = (int64_t)time(NULL);
	int64_t id = enq_ok("milestone.create", "{\"project_id\": 2000, \"bidder_id\": 200, \"amount\": 20, "
			    "\"description\": \"d\"}", &ref);
	struct fl_action_info *a = (struct fl_action_info *)1;

	ck_assert_int_eq(fl_action_get(db, id, &a), FL_OK);
	ck_assert_int_eq(a->id, id);
	ck_assert_str_eq(a->kind, "milestone.create");
	ck_assert_int_eq(a->state, FL_ACTION_QUEUED);
	ck_assert_int_eq(qint("SELECT json_extract('%s', '$.amount')", a->params), 20);
	ck_assert_int_eq(qint("SELECT json_extract('%s', '$.bidder_id')", a->params), 200);
	ck_assert_str_eq(a->local_ref, ref);
	ck_assert_int_eq(a->depends_on, 0);
	ck_assert_int_eq(a->attempts, 0);
	ck_assert_int_eq(a->http_status, 0);
	ck_assert_ptr_null(a->error_code);
	ck_assert_ptr_null(a->error_message);
	ck_assert_ptr_null(a->result);
	ck_assert_int_ge(a->created_at, before);
	ck_assert_int_le(a->created_at, (int64_t)time(NULL));
	ck_assert_int_eq(a->updated_at, a->created_at);
	ck_assert_int_le(a->next_attempt, a->created_at);
	fl_action_free(a);

	exec("UPDATE actions SET state = 'failed', attempts = 3, http_status = 409, error_code = 'MILESTONE_BAD', "
	     "error_message = 'Not allowed: \"quoted\"', result = '{\"id\": 5}', updated_at = 1700000123, "
	     "next_attempt = 1700000999, depends_on = NULL");
	ck_assert_int_eq(fl_action_get(db, id, &a), FL_OK);
	ck_assert_int_eq(a->state, FL_ACTION_FAILED);
	ck_assert_int_eq(a->attempts, 3);
	ck_assert_int_eq(a->http_status, 409);
	ck_assert_str_eq(a->error_code, "MILESTONE_BAD");
	ck_assert_str_eq(a->error_message, "Not allowed: \"quoted\"");
	ck_assert_str_eq(a->result, "{\"id\": 5}");
	ck_assert_int_eq(a->updated_at, 1700000123);
	ck_assert_int_eq(a->next_attempt, 1700000999);
	ck_assert_str_eq(a->kind, "milestone.create");
	ck_assert_str_eq(a->local_ref, ref);
	fl_action_free(a);

	a = (struct fl_action_info *)1;
	ck_assert_int_eq(fl_action_get(db, 424242, &a), FL_ERR_NOT_FOUND);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(fl_action_get(db, id, NULL), FL_ERR_MISUSE);
	fl_action_free(NULL);
	free(ref);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(fl_action_state_name(FL_ACTION_QUEUED), "queued");
	ck_assert_str_eq(fl_action_state_name(FL_ACTION_SENDING), "sending");
	ck_assert_str_eq(fl_action_state_name(FL_ACTION_DONE), "done");
	ck_assert_str_eq(fl_action_state_name(FL_ACTION_FAILED), "failed");
	ck_assert_str_eq(fl_action_state_name(FL_ACTION_CANCELLED), "cancelled");
	ck_assert_ptr_nonnull(fl_action_state_name((enum fl_action_state)99));
}
END_TEST

struct seen {
	int n;
	int64_t ids[16];
	int states[16];
	int stop_at;
};

static int collect(void *ctx, const struct fl_action_info *a)
{
	struct seen *s = ctx;

	ck_assert_ptr_nonnull(a->kind);
	ck_assert_ptr_nonnull(a->params);
	if (s->n < 16) {
		s->ids[s->n] = a->id;
		s->states[s->n] = a->state;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 1234 : 0;
}

START_TEST(foreach_filters)
{
	int64_t a = enq_ok("bid.highlight", "{\"bid_id\": 5000}", NULL);
	int64_t b = enq_ok("thread.mute", "{\"thread_id\": 9000}", NULL);
	int64_t c = enq_ok("bid.create", bid_ok, NULL);
	int64_t d = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"m\"}", NULL);
	struct seen s = { 0 };
	char sql[128];

	ck_assert_int_eq(fl_action_cancel(db, b), FL_OK);
	snprintf(sql, sizeof sql, "UPDATE actions SET state = 'done' WHERE id = %lld", (long long)c);
	exec(sql);
	snprintf(sql, sizeof sql, "UPDATE actions SET state = 'sending' WHERE id = %lld", (long long)d);
	exec(sql);

	ck_assert_int_eq(fl_action_foreach(db, -1, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 4);
	ck_assert_int_eq(s.ids[0], a); /* queue order */
	ck_assert_int_eq(s.ids[1], b);
	ck_assert_int_eq(s.ids[2], c);
	ck_assert_int_eq(s.ids[3], d);
	ck_assert_int_eq(s.states[1], FL_ACTION_CANCELLED);

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_action_foreach(db, FL_ACTION_QUEUED, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.ids[0], a);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_action_foreach(db, FL_ACTION_CANCELLED, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.ids[0], b);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_action_foreach(db, FL_ACTION_DONE, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.ids[0], c);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_action_foreach(db, FL_ACTION_SENDING, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.ids[0], d);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(fl_action_foreach(db, FL_ACTION_FAILED, collect, &s), FL_OK);
	ck_assert_int_eq(s.n, 0);

	/* fn's non-zero value stops the walk and is returned */
	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	ck_assert_int_eq(fl_action_foreach(db, -1, collect, &s), 1234);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(fl_action_foreach(db, -1, NULL, NULL), FL_ERR_MISUSE);
}
END_TEST

/* ---- what a queue watcher sees ---------------------------------------------------- */

START_TEST(ready_and_untouched)
{
	int64_t a = enq_ok("bid.highlight", "{\"bid_id\": 5000}", NULL);
	int64_t b = enq_ok("thread.mute", "{\"thread_id\": 9000}", NULL);
	int64_t ready = -1, next = -1, untouched = -1, now = (int64_t)time(NULL);
	char sql[160];

	ck_assert_int_eq(fl_actions_ready(db, &ready, &next), FL_OK);
	ck_assert_int_eq(ready, 2);
	ck_assert_int_eq(next, 0);
	/* Both queued before now + 10 and not changed since: a round then would have left them. */
	ck_assert_int_eq(fl_actions_untouched(db, now + 10, &untouched), FL_OK);
	ck_assert_int_eq(untouched, 2);
	/* Queued at or after since: new, not left behind. */
	ck_assert_int_eq(fl_actions_untouched(db, now - 10, &untouched), FL_OK);
	ck_assert_int_eq(untouched, 0);
	/* One put back to wait for its budget: not ready, so not left behind either. */
	snprintf(sql, sizeof sql, "UPDATE actions SET next_attempt = %lld WHERE id = %lld",
		 (long long)(now + 3600), (long long)a);
	exec(sql);
	ck_assert_int_eq(fl_actions_ready(db, &ready, &next), FL_OK);
	ck_assert_int_eq(ready, 1);
	ck_assert_int_eq(next, now + 3600);
	ck_assert_int_eq(fl_actions_untouched(db, now + 10, &untouched), FL_OK);
	ck_assert_int_eq(untouched, 1);
	/* Touched by a round that began at since: not left behind. */
	snprintf(sql, sizeof sql, "UPDATE actions SET updated_at = %lld WHERE id = %lld",
		 (long long)(now + 20), (long long)b);
	exec(sql);
	ck_assert_int_eq(fl_actions_untouched(db, now + 10, &untouched), FL_OK);
	ck_assert_int_eq(untouched, 0);
	ck_assert_int_eq(fl_actions_untouched(NULL, now, &untouched), FL_ERR_MISUSE);
}
END_TEST

/* ---- message.send's client_message_id -------------------------------------------- */

START_TEST(client_message_id_stable)
{
	int64_t m1 = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"a\"}", NULL);
	int64_t m2 = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"b\"}", NULL);
	int64_t m3 = enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"c\", \"client_message_id\": 12345}",
			    NULL);
	struct fl_action_info *a, *b;
	long long c1, c2;

	c1 = qint("SELECT json_extract(params, '$.client_message_id') FROM actions WHERE id = %lld", (long long)m1);
	c2 = qint("SELECT json_extract(params, '$.client_message_id') FROM actions WHERE id = %lld", (long long)m2);
	ck_assert_int_gt(c1, 0);
	ck_assert_int_gt(c2, 0);
	ck_assert_int_ne(c1, c2);
	ck_assert_str_eq(qtext("SELECT json_type(params, '$.client_message_id') FROM actions WHERE id = %lld",
			       (long long)m1), "integer");
	/* the local message carries it */
	ck_assert_int_eq(qint("SELECT client_message_id FROM messages WHERE id = %lld", -(long long)m1), c1);
	/* the caller's own is kept */
	ck_assert_int_eq(qint("SELECT json_extract(params, '$.client_message_id') FROM actions WHERE id = %lld",
			      (long long)m3), 12345);
	ck_assert_str_eq(qtext("SELECT client_message_id FROM messages WHERE id = %lld", -(long long)m3), "12345");
	/* stable: reading again, and across a retry, gives the same */
	ck_assert_int_eq(fl_action_get(db, m1, &a), FL_OK);
	fail_like_replay(m1);
	ck_assert_int_eq(fl_action_retry(db, m1), FL_OK);
	ck_assert_int_eq(fl_action_get(db, m1, &b), FL_OK);
	ck_assert_str_eq(a->params, b->params);
	ck_assert_int_eq(qint("SELECT client_message_id FROM messages WHERE id = %lld", -(long long)m1), c1);
	fl_action_free(a);
	fl_action_free(b);
	/* many in a row all differ */
	for (int i = 0; i < 50; i++)
		enq_ok("message.send", "{\"thread_id\": 9000, \"message\": \"burst\"}", NULL);
	ck_assert_int_eq(qint("SELECT count(DISTINCT json_extract(params, '$.client_message_id')) FROM actions "
			      "WHERE kind = 'message.send'"), 53);
}
END_TEST

/* Reopening the database keeps the queue and the effects. */
START_TEST(durable_across_reopen)
{
	int64_t id = enq_ok("bid.create", bid_ok, NULL);
	struct fl_action_info *a;

	fl_db_close(db);
	ck_assert_int_eq(fl_db_open(path, 0, &db), FL_OK);
	ck_assert_int_eq(fl_action_get(db, id, &a), FL_OK);
	ck_assert_int_eq(a->state, FL_ACTION_QUEUED);
	fl_action_free(a);
	ck_assert_int_eq(qint("SELECT count(*) FROM bids WHERE id = %lld", -(long long)id), 1);
}
END_TEST

/* A read-only handle cannot queue. */
START_TEST(readonly_handle)
{
	struct fl_db *ro;
	int64_t id = 5;
	int rc;

	ck_assert_int_eq(fl_db_open(path, FL_OPEN_READONLY, &ro), FL_OK);
	rc = fl_action_enqueue(ro, "bid.highlight", "{\"bid_id\": 5000}", &id, NULL);
	ck_assert_msg(rc == FL_ERR_READONLY, "rc %d (%s)", rc, fl_errmsg(ro));
	ck_assert_int_eq(id, 0);
	fl_db_close(ro);
	ck_assert_int_eq(qint("SELECT count(*) FROM actions"), 0);
}
END_TEST

int main(void)
{
	const TTest *effects_tests[] = {
		bid_create_effect,
		bid_update_effect,
		bid_award_accept_follow_reference,
		milestone_create_effect,
		milestone_action_effects,
		milestone_request_effects,
		review_post_effect,
		thread_create_effect,
		message_send_effect,
		thread_action_effects,
		project_create_effect,
		project_create_unknown_job,
		message_send_unknown_thread,
		project_invite_queued,
		action_on_unknown_row,
		NULL,
	};
	const TTest *validation_tests[] = {
		refuse_kind_and_shape,
		refuse_missing_required,
		refuse_wrong_types_and_ranges,
		refuse_bad_enums,
		refuse_without_account,
		NULL,
	};
	const TTest *references_tests[] = {
		local_thread_reference,
		local_bid_reference,
		local_reference_missing,
		local_reference_cancelled_or_failed,
		local_reference_done,
		NULL,
	};
	const TTest *cancel_retry_tests[] = {
		cancel_undoes_created_row,
		cancel_restores_columns,
		cancel_cascades,
		cancel_wrong_state,
		retry_wrong_state,
		retry_reapplies_created_row,
		retry_reapplies_columns,
		retry_dependent,
		NULL,
	};
	const TTest *inspect_tests[] = {
		get_every_field,
		state_names,
		foreach_filters,
		ready_and_untouched,
		client_message_id_stable,
		durable_across_reopen,
		readonly_handle,
		NULL,
	};
	const struct check_case cases[] = {
		{ "effects", effects_tests, .setup = setup, .teardown = teardown, .loop = bid_action_effect,
		  .loop_end = (int)(sizeof bid_actions / sizeof bid_actions[0]) },
		{ "validation", validation_tests, .setup = setup, .teardown = teardown },
		{ "references", references_tests, .setup = setup, .teardown = teardown },
		{ "cancel_retry", cancel_retry_tests, .setup = setup, .teardown = teardown },
		{ "inspect", inspect_tests, .setup = setup, .teardown = teardown },
	};

	return check_run(check_suite("enqueue", cases, sizeof cases / sizeof cases[0]));
}
