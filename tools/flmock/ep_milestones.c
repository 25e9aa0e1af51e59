/*
 * ep_milestones.c — milestones and milestone requests: Get Milestones and
 * Get Milestone Requests (no time filter, objects keyed by id, id order),
 * Create a Milestone, Milestone Action (release, request_release, cancel),
 * Create a Milestone Request and Milestone Request Action (accept, reject,
 * delete).  The employer funds and releases; the freelancer requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flmock.h"

struct ms_filter {
	struct idset projects, owners, bidders, users, bids;
	uint32_t statuses;
};

static bool filter_parse(struct fm_req *r, struct ms_filter *f, const char *(*status)(int), int nstatus)
{
	return req_ids(r, "projects", &f->projects) && req_ids(r, "project_owners", &f->owners) &&
	       req_ids(r, "bidders", &f->bidders) && req_ids(r, "users", &f->users) &&
	       req_ids(r, "bids", &f->bids) && req_enums(r, "statuses", status, nstatus, &f->statuses);
}

static void filter_free(struct ms_filter *f)
{
	idset_free(&f->projects);
	idset_free(&f->owners);
	idset_free(&f->bidders);
	idset_free(&f->users);
	idset_free(&f->bids);
}

static bool filter_match(const struct ms_filter *f, int64_t project, int64_t owner, int64_t bidder,
			 int64_t bid, int status)
{
	return (!f->projects.on || idset_has(&f->projects, project)) &&
	       (!f->owners.on || idset_has(&f->owners, owner)) &&
	       (!f->bidders.on || idset_has(&f->bidders, bidder)) &&
	       (!f->users.on || idset_has(&f->users, owner) || idset_has(&f->users, bidder)) &&
	       (!f->bids.on || idset_has(&f->bids, bid)) &&
	       (!f->statuses || (f->statuses & (1u << status)));
}

static void key_id(struct jw *w, int64_t id)
{
	char k[24];

	snprintf(k, sizeof k, "%lld", (long long)id);
	jw_key(w, k);
}

/* What the two keyed lists differ in: their records and their serialiser. */
struct keyed_list {
	const char *key;                        /* "milestones", "milestone_requests" */
	const char *(*status_name)(int);
	int nstatus;
	size_t n;
	/* record i's project, owner, bidder, bid, id and status */
	void (*fields)(struct world *w, size_t i, int64_t f[5], int *status);
	void (*emit)(struct jw *jw, struct world *w, size_t i);
};

/* Objects keyed by id string, in id order (no time filter, see Get Milestones). */
static void keyed_list(struct fm_req *r, const struct keyed_list *k)
{
	struct ms_filter f = { 0 };
	struct pager pg = { 0 };
	struct userset us;
	size_t i;

	if (!req_page(r, &pg.offset, &pg.limit) || !filter_parse(r, &f, k->status_name, k->nstatus))
		goto out;
	userset_init(&us, r);
	jw_obj(&r->jw);
	jw_kobj(&r->jw, k->key);
	for (i = 0; i < k->n; i++) {
		int64_t fl[5];
		int status;

		k->fields(r->w, i, fl, &status);
		/* Only the bidder and the project holder can see them (UNAUTHORIZED_MILESTONE_VIEW). */
		if ((fl[1] != r->self && fl[2] != r->self) ||
		    !filter_match(&f, fl[0], fl[1], fl[2], fl[3], status) || !pager_take(&pg))
			continue;
		key_id(&r->jw, fl[4]);
		k->emit(&r->jw, r->w, i);
		userset_add(&us, fl[2]);
		userset_add(&us, fl[1]);
	}
	jw_end_obj(&r->jw);
	userset_emit(&us, r);
	jw_end_obj(&r->jw);
out:
	filter_free(&f);
}

static void milestone_fields(struct world *w, size_t i, int64_t f[5], int *status)
{
	const struct milestone *m = &w->milestones.v[i];

	f[0] = m->project_id, f[1] = m->project_owner_id, f[2] = m->bidder_id, f[3] = m->bid_id, f[4] = m->id;
	*status = m->status;
}

static void milestone_emit(struct jw *jw, struct world *w, size_t i)
{
	out_milestone(jw, w, &w->milestones.v[i]);
}

static void milestone_request_fields(struct world *w, size_t i, int64_t f[5], int *status)
{
	const struct milestone_request *m = &w->milestone_requests.v[i];

	f[0] = m->project_id, f[1] = m->project_owner_id, f[2] = m->bidder_id, f[3] = m->bid_id, f[4] = m->id;
	*status = m->status;
}

static void milestone_request_emit(struct jw *jw, struct world *w, size_t i)
{
	out_milestone_request(jw, w, &w->milestone_requests.v[i]);
}

void ep_milestones_list(struct fm_req *r)
{
	const struct keyed_list k = { "milestones", out_milestone_status, 6, r->w->milestones.n,
				      milestone_fields, milestone_emit };

	keyed_list(r, &k);
}

void ep_milestone_requests_list(struct fm_req *r)
{
	const struct keyed_list k = { "milestone_requests", out_milestone_request_status, 4,
				      r->w->milestone_requests.n,
				      milestone_request_fields, milestone_request_emit };

	keyed_list(r, &k);
}

/* ---- writes --------------------------------------------------------------------- */

static bool perr(struct fm_req *r, int status, const char *code, const char *msg)
{
	return req_fail(r, status, "Project", code, msg);
}

/* The bidder's live award on a project: pending or accepted. */
static struct bid *awarded_bid(struct world *w, const struct project *p, int64_t bidder)
{
	size_t n, i;
	const uint32_t *ix = bids_of_project(w, p, &n);

	for (i = 0; i < n; i++) {
		struct bid *b = &w->bids.v[ix[i]];

		if (b->bidder_id == bidder && (b->award_status == AW_PENDING || b->award_status == AW_AWARDED))
			return b;
	}
	return NULL;
}

/* MilestoneReason as a name ("task_description") or its number (2). */
static int parse_reason(const char *s)
{
	static const char *const names[] = { "full_payment", "partial_payment", "task_description", "other" };
	int i;

	if (!s)
		return 2;
	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	i = atoi(s);
	return i >= 0 && i < 4 ? i : -1;
}

/* Accepting a request turns it into a milestone on the same bid. */
static bool take_request(struct fm_req *r, int64_t req_id, const struct bid *b)
{
	struct milestone_request *q = world_milestone_request(r->w, req_id);

	if (!q || q->bid_id != b->id || q->status != MR_PENDING)
		return perr(r, 400, "INVALID_MILESTONE_REQUEST", "A milestone request with that ID does not exist.");
	q->status = MR_CREATED;
	return true;
}

void ep_milestone_create(struct fm_req *r)
{
	struct world *w = r->w;
	int64_t pid = 0, bidder = 0, req_id = 0;
	double amount = 0;
	const char *desc = req_param(r, "description");
	int reason = parse_reason(req_param(r, "reason"));
	struct project *p;
	struct bid *b;
	struct milestone *m;

	if (!req_param(r, "project_id") || !req_param(r, "bidder_id") || !req_param(r, "amount") || !desc || !*desc) {
		req_error(r, 400, "RestExceptionCodes.BAD_REQUEST", "bidder_id, amount, project_id and description are required.");
		return;
	}
	if (!req_int(r, "project_id", &pid) || !req_int(r, "bidder_id", &bidder) ||
	    !req_double(r, "amount", &amount) || !req_int(r, "request_id", &req_id))
		return;
	if (reason < 0) {
		req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	p = world_project(w, pid);
	if (!p) {
		req_not_found(r);
		return;
	}
	if (p->owner_id != r->self) {
		perr(r, 401, "UNAUTHORIZED_MILESTONE", "You do not have access to this milestone.");
		return;
	}
	b = awarded_bid(w, p, bidder);
	if (!b) {
		perr(r, 400, "PROJECT_NOT_AWARDED", "The project has not been awarded.");
		return;
	}
	if (!(amount > 0)) {
		perr(r, 400, "INVALID_MILESTONE_AMOUNT", "You have used an amount less than or equal to zero.");
		return;
	}
	if (req_id && !take_request(r, req_id, b))
		return;
	m = world_new_milestone(w, b, amount, reason, desc);
	r->object_id = m->id;
	event_milestone(w, "milestone.created", m);
	out_milestone(&r->jw, w, m);
}

/* A project completes when its released milestones cover the bid amount. */
static void settle_payment(struct world *w, struct bid *b)
{
	double paid = 0;
	size_t i;
	struct project *p = world_project(w, b->project_id);

	for (i = 0; i < w->milestones.n; i++)
		if (w->milestones.v[i].bid_id == b->id && w->milestones.v[i].status == MS_CLEARED)
			paid += w->milestones.v[i].amount;
	/* Only completion shows on the project: only then is it an update. */
	if (paid >= b->amount && b->award_status == AW_AWARDED && p->status != PS_COMPLETE) {
		b->paid_full = true;
		p->status = PS_COMPLETE;
		world_touch_project(w, p, w->now);
		event_project_completed(w, p, b);
	}
}

static bool release(struct fm_req *r, struct milestone *m, struct bid *b)
{
	double amount = 0;

	if (m->project_owner_id != r->self)
		return perr(r, 401, "UNAUTHORIZED_MILESTONE", "You do not have access to this milestone.");
	if (m->status != MS_FROZEN && m->status != MS_REQUESTED && m->status != MS_PENDING)
		return perr(r, 400, "INVALID_MILESTONE_REQUEST", "This milestone cannot be released in its state.");
	if (!b || b->award_status != AW_AWARDED)
		return perr(r, 400, "PROJECT_NOT_ACCEPTED",
			    "This Milestone Payment can only be released after freelancer accepted the project.");
	if (!req_param(r, "amount")) {
		req_error(r, 400, "RestExceptionCodes.BAD_REQUEST", "amount is required when action is release");
		return false;
	}
	if (!req_double(r, "amount", &amount))
		return false;
	if (!(amount > 0))
		return perr(r, 400, "INVALID_MILESTONE_AMOUNT", "You have used an amount less than or equal to zero.");
	if (amount > m->amount + 1e-9)
		return perr(r, 400, "MILESTONE_AMOUNT_GREATER_THAN_ORIGINAL",
			    "You can't release an amount greater than the original milestone amount.");
	if (amount < m->amount - 1e-9) {
		/* A partial release: the released part becomes its own cleared milestone. */
		struct milestone *part;
		int64_t keep = m->id;

		m->amount -= amount;
		part = world_new_milestone(r->w, b, amount, 1, NULL);
		part->status = MS_CLEARED;
		event_milestone(r->w, "milestone.partially_released", world_milestone(r->w, keep));
	} else {
		m->status = MS_CLEARED;
		event_milestone(r->w, "milestone.released", m);
	}
	settle_payment(r->w, b);
	return true;
}

static bool cancel(struct fm_req *r, struct milestone *m, const struct bid *b)
{
	bool owner = m->project_owner_id == r->self, bidder = m->bidder_id == r->self;

	if (!owner && !bidder)
		return perr(r, 401, "UNAUTHORIZED_MILESTONE", "You do not have access to this milestone.");
	/* "an employer can cancel a milestone as long as a freelancer has not accepted the project" */
	if (!bidder && b && b->award_status == AW_AWARDED)
		return perr(r, 401, "UNAUTHORIZED_MILESTONE", "The freelancer has accepted the project.");
	if (m->status != MS_FROZEN && m->status != MS_REQUESTED && m->status != MS_PENDING)
		return perr(r, 400, "INVALID_MILESTONE_REQUEST", "This milestone cannot be cancelled in its state.");
	m->status = MS_CANCELED;
	event_milestone(r->w, "milestone.cancelled", m);
	return true;
}

void ep_milestone_action(struct fm_req *r)
{
	struct world *w = r->w;
	struct milestone *m = world_milestone(w, r->path_id);
	static const char *const actions[] = { "release", "request_release", "cancel", NULL };
	const char *action = req_enum_name(r, "action", actions);
	struct bid *b;
	int64_t id;
	bool ok;

	if (!action && !r->error_code) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "action is required");
		return;
	}
	if (!m) {
		perr(r, 404, "INVALID_MILESTONE", "A milestone by this ID does not exist.");
		return;
	}
	if (r->error_code)
		return; /* an action that is none of the enum's */
	id = m->id;
	b = world_bid(w, m->bid_id);
	if (strcmp(action, "release") == 0) {
		ok = release(r, m, b);
	} else if (strcmp(action, "request_release") == 0) {
		ok = m->bidder_id == r->self ||
		     perr(r, 401, "UNAUTHORIZED_MILESTONE", "Only the freelancer can request a release.");
		if (ok && m->status == MS_REQUESTED)
			ok = perr(r, 409, "MILESTONE_ALREADY_REQUESTED", "This milestone has already been requested.");
		else if (ok && m->status != MS_FROZEN)
			ok = perr(r, 400, "INVALID_MILESTONE_REQUEST", "This milestone cannot be requested in its state.");
		if (ok) {
			m->status = MS_REQUESTED;
			event_milestone(w, "milestone.release_requested", m);
		}
	} else if (strcmp(action, "cancel") == 0) {
		ok = cancel(r, m, b);
	} else {
		req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	if (ok)
		r->object_id = id;
}

void ep_milestone_request_create(struct fm_req *r)
{
	struct world *w = r->w;
	int64_t pid = 0, bid_id = 0;
	double amount = 0;
	const char *desc = req_param(r, "description");
	struct project *p;
	struct bid *b;
	struct milestone_request *q;
	size_t i;

	if (!req_param(r, "project_id") || !req_param(r, "bid_id") || !req_param(r, "amount")) {
		req_error(r, 400, "RestExceptionCodes.BAD_REQUEST", "project_id, bid_id, description and amount are required.");
		return;
	}
	if (!req_int(r, "project_id", &pid) || !req_int(r, "bid_id", &bid_id) || !req_double(r, "amount", &amount))
		return;
	p = world_project(w, pid);
	b = world_bid(w, bid_id);
	if (!p) {
		req_not_found(r);
		return;
	}
	if (!b || b->project_id != p->id) {
		perr(r, 400, "BID_DOES_NOT_BELONG_TO_PROJECT", "The given bid is not from the given project.");
		return;
	}
	if (b->bidder_id != r->self) {
		perr(r, 401, "UNAUTHORIZED_MILESTONE_REQUEST", "You do not have permission to perform this action.");
		return;
	}
	if (b->award_status != AW_AWARDED) {
		perr(r, 400, "PROJECT_NOT_AWARDED", "The project has not been awarded.");
		return;
	}
	if (!desc || !*desc) {
		perr(r, 400, "EMPTY_MILESTONE_REQUEST_DESCRIPTION", "Your milestone request description is empty.");
		return;
	}
	if (strlen(desc) > 1000) {
		perr(r, 400, "MILESTONE_REQUEST_DESCRIPTION_INVALID_LENGTH", "The description exceeds the maximum length allowed.");
		return;
	}
	if (!(amount > 0)) {
		perr(r, 400, "NEGATIVE_MILESTONE_REQUEST_AMOUNT", "Invalid amount - amount must be a positive number.");
		return;
	}
	for (i = 0; i < w->milestone_requests.n; i++)
		if (w->milestone_requests.v[i].bid_id == b->id && w->milestone_requests.v[i].status == MR_PENDING) {
			perr(r, 409, "MILESTONE_REQUEST_PENDING", "There is already a milestone request pending for this bid.");
			return;
		}
	q = world_new_milestone_request(w, b, amount, desc);
	event_milestone_request(w, q);
	r->object_id = q->id;
	out_milestone_request(&r->jw, w, q);
}

void ep_milestone_request_action(struct fm_req *r)
{
	struct world *w = r->w;
	struct milestone_request *q = world_milestone_request(w, r->path_id);
	static const char *const actions[] = { "accept", "reject", "delete", NULL };
	const char *action = req_enum_name(r, "action", actions);
	bool owner_action;

	if (!action && !r->error_code) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "action is required");
		return;
	}
	if (!q) {
		perr(r, 404, "INVALID_MILESTONE_REQUEST", "A milestone request with that ID does not exist.");
		return;
	}
	if (r->error_code)
		return; /* an action that is none of the enum's */
	if (strcmp(action, "accept") != 0 && strcmp(action, "reject") != 0 && strcmp(action, "delete") != 0) {
		req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	owner_action = action[0] != 'd';
	if ((owner_action ? q->project_owner_id : q->bidder_id) != r->self) {
		perr(r, 401, "UNAUTHORIZED_MILESTONE_REQUEST", "You do not have permission to perform this action.");
		return;
	}
	if (q->status != MR_PENDING) {
		perr(r, 400, "INVALID_MILESTONE_REQUEST", "This milestone request is no longer pending.");
		return;
	}
	if (action[0] == 'r' && !req_param(r, "reason")) {
		perr(r, 400, "INVALID_REJECT_PARAMETER", "A reason is required when rejecting a milestone request.");
		return;
	}
	r->object_id = q->id;
	if (action[0] == 'd') {
		q->status = MR_DELETED;
	} else if (action[0] == 'r') {
		q->status = MR_REJECTED;
	} else {
		int64_t qid = q->id;
		struct bid *b = world_bid(w, q->bid_id);
		/* The milestone keeps the request's text, seed-derived or stored. */
		char *gen = q->description ? NULL : text_make(w->cfg.seed, TX_MILESTONE, q->id);
		struct milestone *m = world_new_milestone(w, b, q->amount, 2, q->description ? q->description : gen);

		free(gen);
		q = world_milestone_request(w, qid);
		q->status = MR_CREATED;
		event_milestone(w, "milestone.created", m);
		out_milestone(&r->jw, w, m);
	}
}
