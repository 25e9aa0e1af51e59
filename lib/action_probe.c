/*
 * action_probe.c — reading a queued action's effect back from the server
 * and comparing it with what was sent.  action_replay.c asks before it sends again
 * after an uncertain send (a crash while 'sending', a lost reply), and after
 * the API answered one of the "already" errors: the object the API has is
 * read, stored when asked, and judged the same as the action's (the effect
 * is there) or different (something else is there, and the action failed).
 *
 * What "the same" means per kind, from the reference's parameters:
 *   bid.create                 the bidder's bid on the project, with the amount,
 *                              period, milestone_percentage and description sent
 *   review.post                the review of (project, from, to), with the role
 *                              and the comment sent (the rating flsync sends is
 *                              not an API parameter: Post a Review rates through
 *                              reputation_data, so it is not compared)
 *   project.create             the account's project of that title, with the
 *                              description, currency and budget sent
 *   milestone.create           an unclaimed milestone of the description sent,
 *                              with the amount sent
 *   milestone_request.create   before a resend: an unclaimed request of the
 *                              description sent; after MILESTONE_REQUEST_PENDING:
 *                              the bid's pending request; both with the amount sent
 *   bid.* / milestone.* / milestone_request.* / thread.* actions
 *                              the target in the state the action sets
 *   project.invite             no read exists for invitations, and one holds
 *                              nothing but (project, freelancer): the API's
 *                              FREELANCER_ALREADY_INVITED is itself the answer
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"
#include "action_replay.h"

struct probe_ctx {
	struct result_ctx *res;
	struct sync_run *run;
	const struct pending *p;
	int64_t id;                       /* the target's id (state changes), else 0 */
	const char *field, *want, *want2; /* state check: field's text is want or want2 */
	const char *match_field, *match_value; /* candidates only with this text field */
	int64_t bid_id;                   /* candidates only on this bid (milestone requests) */
	const char *status;               /* candidates only in this status */
	bool unclaimed;                   /* skip objects a done action of the kind already claims */
	bool (*same)(struct probe_ctx *pc, const struct json_item *it);
	enum probe_outcome outcome;
};

sync_store_fn replay_table_store(const char *table)
{
	if (!table)
		return NULL;
	if (!strcmp(table, "bids")) return row_bid;
	if (!strcmp(table, "projects")) return row_project;
	if (!strcmp(table, "milestones")) return row_milestone;
	if (!strcmp(table, "milestone_requests")) return row_milestone_request;
	if (!strcmp(table, "reviews")) return row_review;
	if (!strcmp(table, "threads")) return row_thread;
	if (!strcmp(table, "messages")) return row_message;
	return NULL;
}

/* ---- comparisons ------------------------------------------------------------ */

static bool field_is(const struct json_item *it, const char *field, const char *want)
{
	const struct json_field *f;

	if (!field)
		return true;
	f = json_get(it, field);
	if (!want)
		return f && f->type != JSON_NULL && strcmp(f->text, "false") && strcmp(f->text, "0");
	return f && strcmp(f->text, want) == 0;
}

/* The parameter `param` as sent, as text (malloc'd), or NULL when not sent. */
static char *sent_text(struct probe_ctx *pc, const char *param)
{
	char path[80];

	snprintf(path, sizeof path, "$.%s", param);
	return replay_query_text(pc->run, "SELECT json_extract(?1, ?2) WHERE json_type(?1, ?2) NOT IN ('null', "
				 "'object', 'array')", pc->p->resolved, path);
}

/*
 * The number sent as `param` equals the object's `field` within tol.  Not
 * sent: nothing to compare.  optional: an object without the field (or
 * null there) is not held against it.
 */
static bool same_number(struct probe_ctx *pc, const struct json_item *it, const char *param, const char *field,
			double tol, bool optional)
{
	char *s = sent_text(pc, param);
	double got;
	bool ok;

	if (!s)
		return true;
	if (!json_real(it, field, &got))
		ok = optional;
	else
		ok = fabs(strtod(s, NULL) - got) <= tol;
	free(s);
	return ok;
}

/* The text sent as `param` is the object's `field`, byte for byte.  Not sent: nothing to compare. */
static bool same_text(struct probe_ctx *pc, const struct json_item *it, const char *param, const char *field)
{
	char *s = sent_text(pc, param);
	const char *got;
	size_t len;
	bool ok;

	if (!s)
		return true;
	ok = json_str(it, field, &got, &len) && len == strlen(s) && memcmp(got, s, len) == 0;
	free(s);
	return ok;
}

/* Amounts are money with two decimals: a cent apart is a different amount. */
#define AMOUNT_TOL 0.005

static bool same_bid(struct probe_ctx *pc, const struct json_item *it)
{
	return same_number(pc, it, "amount", "amount", AMOUNT_TOL, false) &&
	       same_number(pc, it, "period", "period", 0, false) &&
	       same_number(pc, it, "milestone_percentage", "milestone_percentage", 0, true) &&
	       same_text(pc, it, "description", "description");
}

static bool same_review(struct probe_ctx *pc, const struct json_item *it)
{
	return same_text(pc, it, "role", "role") && same_text(pc, it, "comment", "description");
}

static bool same_project(struct probe_ctx *pc, const struct json_item *it)
{
	return same_text(pc, it, "description", "description") &&
	       same_number(pc, it, "currency.id", "currency.id", 0, false) &&
	       same_number(pc, it, "budget.minimum", "budget.minimum", AMOUNT_TOL, false) &&
	       same_number(pc, it, "budget.maximum", "budget.maximum", AMOUNT_TOL, true);
}

static bool same_amount(struct probe_ctx *pc, const struct json_item *it)
{
	return same_number(pc, it, "amount", "amount", AMOUNT_TOL, false) &&
	       same_text(pc, it, "description", "description");
}

static bool same_state(struct probe_ctx *pc, const struct json_item *it)
{
	return field_is(it, pc->field, pc->want) || (pc->want2 && field_is(it, pc->field, pc->want2));
}

/* ---- reading ------------------------------------------------------------------ */

/* A done action of this kind already took the object with this id. */
static bool claimed(struct probe_ctx *pc, int64_t id)
{
	char idtext[32], *hit;

	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	hit = replay_query_text(pc->run, "SELECT id FROM actions WHERE state = 'done' AND kind = ?2 AND "
				"coalesce(json_extract(result, '$.id'), json_extract(result, '$.transaction_id')) = "
				"CAST(?1 AS INTEGER)", idtext, pc->p->kind);
	free(hit);
	return hit != NULL;
}

static int on_probe(void *ctx, const struct json_item *it)
{
	struct probe_ctx *pc = ctx;
	int64_t id = 0, bid = 0;
	bool same;
	int rc;

	if (pc->outcome == PROBE_SAME)
		return FL_OK;
	if (!json_int(it, "id", &id))
		json_int(it, "transaction_id", &id);
	if (pc->id && id != pc->id)
		return FL_OK;
	if (pc->match_field && !field_is(it, pc->match_field, pc->match_value ? pc->match_value : ""))
		return FL_OK;
	if (pc->bid_id && (!json_int(it, "bid_id", &bid) || bid != pc->bid_id))
		return FL_OK;
	if (pc->status && !field_is(it, "status", pc->status))
		return FL_OK;
	if (pc->unclaimed && claimed(pc, id))
		return FL_OK;
	same = pc->same ? pc->same(pc, it) : true;
	if (!same && pc->outcome == PROBE_DIFFERENT) {
		/* The first candidate's copy is kept; this one is only stored. */
		return pc->res->store ? pc->res->store(pc->run, it) : FL_OK;
	}
	pc->outcome = same ? PROBE_SAME : PROBE_DIFFERENT;
	rc = replay_on_result(pc->res, it);
	return rc;
}

/*
 * Sleep ms before a read-back's next try, waking early when the pass stops.
 * The writer is kept: the read-back's transaction is open, and what other
 * streams stored in it would go with its rollback.
 */
static void probe_nap(struct sync_run *run, int64_t ms)
{
	while (ms > 0 && !sync_stopping(run)) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* As a page's retries (sync_fetch.c): before try `attempt` (2, 3, ...), base * 2^(attempt-2), +-50%. */
static int64_t probe_backoff_ms(const struct sync_run *run, int attempt)
{
	int64_t ms = run->opt->retry_base_ms > 0 ? run->opt->retry_base_ms : 500;

	for (int i = 2; i < attempt && ms < 60000; i++)
		ms *= 2;
	return ms / 2 + (int64_t)(rand() % (int)(ms + 1));
}

/*
 * One read-back, tried like every other read: a network failure, a timeout,
 * a 5xx, a mangled body or a 429 goes again after a back-off (a 429 after
 * what the rate limit says, when that is short), up to sync.max_attempts
 * tries.  Not found is an answer (nothing there).
 */
static int probe_get(struct probe_ctx *pc, const char *path, const char *collection)
{
	struct sync_run *run = pc->run;
	int max = run->opt->max_attempts > 0 ? run->opt->max_attempts : 5;
	char endpoint[128];
	int rc = FL_OK;

	ratelimit_endpoint("GET", path, endpoint, sizeof endpoint);
	for (int attempt = 1;; attempt++) {
		struct api_result res;
		struct fl_error err = { 0 };
		int64_t wait = ratelimit_delay_ms(run->rl, endpoint, ratelimit_now_ms());

		if (wait > 2000)
			return error_set(&run->err, FL_ERR_RATE_LIMITED, "GET %s: rate limit of %s: next request "
					 "in %lld ms", path, endpoint, (long long)wait);
		probe_nap(run, wait);
		if (sync_stopping(run))
			return error_set(&run->err, FL_ERR_ABORTED, "stopped");
		pc->outcome = PROBE_NONE; /* a try cut short judged nothing */
		ratelimit_sent(run->rl, endpoint, ratelimit_now_ms());
		rc = api_call(run->http, "GET", path, NULL, NULL, 0, collection, NULL, on_probe, pc, &res, &err);
		run->sh->requests_total++;
		if (run->cur)
			run->cur->requests++;
		ratelimit_observe(run->rl, endpoint, &res.http, ratelimit_now_ms());
		if (rc == FL_OK || rc == FL_ERR_NOT_FOUND)
			return FL_OK;
		if (!api_transient(rc, &res) || attempt >= max)
			return error_copy(&run->err, &err);
		sync_log(run, "read-back GET %s: retrying after: %s", path, err.msg);
		if (rc != FL_ERR_RATE_LIMITED)
			probe_nap(run, probe_backoff_ms(run, attempt + 1));
	}
}

static int64_t or_self(const struct sync_run *run, int64_t id)
{
	return id ? id : run->self_id;
}

/* The state each state-changing kind sets, as the API shows it (Perform Bid Action, Milestone Action, ...). */
static const struct {
	const char *kind, *field, *want, *want2;
} states[] = {
	/* award -> pending; the bidder's accept -> awarded, which is an award too */
	{ "bid.award", "award_status", "pending", "awarded" }, { "bid.revoke", "award_status", "revoked", NULL },
	{ "bid.reject", "award_status", "rejected", NULL }, { "bid.accept", "award_status", "awarded", NULL },
	{ "bid.retract", "retracted", "true", NULL }, { "bid.highlight", "highlighted", "true", NULL },
	{ "bid.shortlist", "shortlisted", "true", NULL },
	{ "milestone.release", "status", "cleared", NULL },
	{ "milestone.request_release", "status", "requested_release", NULL },
	{ "milestone.cancel", "status", "canceled", NULL },
	{ "milestone_request.accept", "status", "created", NULL },
	{ "milestone_request.reject", "status", "rejected", NULL },
	{ "milestone_request.delete", "status", "deleted", NULL },
	{ "thread.read", "is_read", "true", NULL }, { "thread.mute", "is_muted", "true", NULL },
	{ "thread.archive", "folder", "archived", NULL },
};

int action_probe(struct sync_run *run, const struct pending *p, enum probe_mode mode,
		 struct result_ctx *res, enum probe_outcome *out)
{
	struct probe_ctx pc = { .res = res, .run = run, .p = p };
	const char *k = p->kind;
	char path[512], *text = NULL;
	int64_t project = replay_param_int(run, p->resolved, "project_id");
	int rc = FL_OK;

	*out = PROBE_NONE;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (!strcmp(states[i].kind, k)) {
			pc.field = states[i].field;
			pc.want = states[i].want;
			pc.want2 = states[i].want2;
			pc.same = same_state;
		}

	if (!strcmp(k, "bid.create")) {
		snprintf(path, sizeof path, "/api/projects/0.1/bids/?projects[]=%lld&bidders[]=%lld",
			 (long long)project, (long long)or_self(run, replay_param_int(run, p->resolved, "bidder_id")));
		pc.same = same_bid;
		rc = probe_get(&pc, path, "bids");
	} else if (!strcmp(k, "review.post")) {
		snprintf(path, sizeof path, "/api/projects/0.1/reviews/?projects[]=%lld&from_users[]=%lld&to_users[]=%lld",
			 (long long)project, (long long)or_self(run, replay_param_int(run, p->resolved, "from_user_id")),
			 (long long)replay_param_int(run, p->resolved, "to_user_id"));
		pc.same = same_review;
		rc = probe_get(&pc, path, "reviews");
	} else if (!strcmp(k, "project.create")) {
		/* Duplicates are by title (DUPLICATE_PROJECT): the account's recent projects of it. */
		text = replay_query_text(run, "SELECT json_extract(?1, '$.title')", p->resolved, NULL);
		snprintf(path, sizeof path, "/api/projects/0.1/projects/?owners[]=%lld&from_time=%lld&limit=100&"
			 "full_description=true&job_details=true&upgrade_details=true",
			 (long long)run->self_id, (long long)(run->server_now - 7 * 86400));
		pc.match_field = "title";
		pc.match_value = text;
		pc.same = same_project;
		rc = probe_get(&pc, path, "projects");
	} else if (!strcmp(k, "milestone.create") ||
		   (!strcmp(k, "milestone_request.create") && mode == PROBE_BEFORE_RESEND)) {
		/* Many may exist: ours is one of its description that no done action already claims. */
		bool ms = !strcmp(k, "milestone.create");

		text = replay_query_text(run, "SELECT json_extract(?1, '$.description')", p->resolved, NULL);
		snprintf(path, sizeof path, "/api/projects/0.1/%s/?projects[]=%lld&limit=100",
			 ms ? "milestones" : "milestone_requests", (long long)project);
		pc.match_field = "description";
		pc.match_value = text;
		pc.unclaimed = true;
		pc.same = same_amount;
		rc = probe_get(&pc, path, ms ? "milestones" : "milestone_requests");
	} else if (!strcmp(k, "milestone_request.create")) {
		/* MILESTONE_REQUEST_PENDING: "There is already a milestone request pending for this bid." */
		snprintf(path, sizeof path, "/api/projects/0.1/milestone_requests/?projects[]=%lld&limit=100",
			 (long long)project);
		pc.bid_id = replay_param_int(run, p->resolved, "bid_id");
		pc.status = "pending";
		pc.same = same_amount;
		rc = probe_get(&pc, path, "milestone_requests");
	} else if (!strcmp(k, "project.invite")) {
		/* No read exists; the API's "already invited" is the answer (see the top of the file). */
		if (mode == PROBE_AFTER_ALREADY)
			pc.outcome = PROBE_SAME;
	} else if (!strncmp(k, "bid.", 4) && strcmp(k, "bid.update")) {
		pc.id = replay_param_int(run, p->resolved, "bid_id");
		snprintf(path, sizeof path, "/api/projects/0.1/bids/?bids[]=%lld", (long long)pc.id);
		rc = probe_get(&pc, path, "bids");
	} else if (!strncmp(k, "milestone.", 10) || !strncmp(k, "milestone_request.", 18)) {
		bool ms = k[9] == '.';
		char sql[160], idtext[32], *proj;

		pc.id = replay_param_int(run, p->resolved, ms ? "milestone_id" : "milestone_request_id");
		snprintf(sql, sizeof sql, "SELECT project_id FROM %s WHERE id = CAST(?1 AS INTEGER)",
			 ms ? "milestones" : "milestone_requests");
		snprintf(idtext, sizeof idtext, "%lld", (long long)pc.id);
		proj = replay_query_text(run, sql, idtext, NULL);
		if (proj) {
			snprintf(path, sizeof path, "/api/projects/0.1/%s/?projects[]=%s&limit=100",
				 ms ? "milestones" : "milestone_requests", proj);
			rc = probe_get(&pc, path, ms ? "milestones" : "milestone_requests");
		}
		free(proj);
	} else if (!strncmp(k, "thread.", 7) && strcmp(k, "thread.create")) {
		pc.id = replay_param_int(run, p->resolved, "thread_id");
		snprintf(path, sizeof path, "/api/messages/0.1/threads/?threads[]=%lld", (long long)pc.id);
		rc = probe_get(&pc, path, "threads");
	}
	/* message.send, thread.create, bid.update: the server dedups a resend. */
	free(text);
	*out = pc.outcome;
	return rc;
}
