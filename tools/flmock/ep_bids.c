/*
 * ep_bids.c — bid endpoints: Get Bids (time filter on created time), Get Bid
 * by ID, Create Bid and Perform Bid Action, with the award life cycle of the
 * reference's Business Terminology: the owner awards (award_status
 * "pending") or revokes a pending award; the bidder accepts ("awarded") or
 * rejects it; a bidder retracts a bid that has no award outstanding.
 */
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

/* CSR index: bids grouped by project index, rebuilt when either array grew. */
const uint32_t *bids_of_project(struct world *w, const struct project *p, size_t *n)
{
	size_t np = w->projects.n, i, pi = (size_t)(p - w->projects.v);

	if (w->bid_index_n != w->bids.n || w->bid_index_np != np || !w->bid_start) {
		uint32_t *start = calloc(np + 2, sizeof *start);
		uint32_t *list = malloc((w->bids.n ? w->bids.n : 1) * sizeof *list);
		uint32_t *fill = calloc(np + 1, sizeof *fill);

		if (!start || !list || !fill)
			abort();
		for (i = 0; i < w->bids.n; i++) {
			const struct project *bp = world_project(w, w->bids.v[i].project_id);

			start[(size_t)(bp - w->projects.v) + 1]++;
		}
		for (i = 0; i < np; i++)
			start[i + 1] += start[i];
		for (i = 0; i < w->bids.n; i++) {
			size_t k = (size_t)(world_project(w, w->bids.v[i].project_id) - w->projects.v);

			list[start[k] + fill[k]++] = (uint32_t)i;
		}
		free(fill);
		free(w->bid_start);
		free(w->bid_list);
		w->bid_start = start;
		w->bid_list = list;
		w->bid_index_n = w->bids.n;
		w->bid_index_np = np;
	}
	*n = w->bid_start[pi + 1] - w->bid_start[pi];
	return w->bid_list + w->bid_start[pi];
}

static const char *paid_name(int s)
{
	static const char *const n[] = { "unpaid", "partly_paid", "fully_paid" };

	return n[s];
}

static const char *complete_name(int s)
{
	static const char *const n[] = { "pending", "incomplete", "complete" };

	return n[s];
}

static const char *frontend_name(int s)
{
	static const char *const n[] = { "active", "in_progress", "complete" };

	return n[s];
}

/* 0/1/2 for the complete, frontend and paid status families */
static int progress(const struct bid *b)
{
	if (b->award_status != AW_AWARDED)
		return 0;
	return b->paid_full ? 2 : 1;
}

struct bid_filter {
	struct idset projects, bidders, owners;
	uint32_t award, paid, complete, frontend;
	int64_t from, to;
};

static bool bid_matches(const struct bid_filter *f, const struct bid *b)
{
	int pg = progress(b);

	return b->time_submitted >= f->from && b->time_submitted < f->to &&
	       (!f->projects.on || idset_has(&f->projects, b->project_id)) &&
	       (!f->bidders.on || idset_has(&f->bidders, b->bidder_id)) &&
	       (!f->owners.on || idset_has(&f->owners, b->project_owner_id)) &&
	       (!f->award || (f->award & (1u << b->award_status))) &&
	       (!f->paid || (f->paid & (1u << (b->paid_full ? 2 : 0)))) &&
	       (!f->complete || (f->complete & (1u << pg))) &&
	       (!f->frontend || (f->frontend & (1u << pg)));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Candidate bid indices in id order, from bids[] or else projects[]. */
static uint32_t *candidates(struct world *w, const struct idset *ids, const struct bid_filter *f, size_t *n)
{
	uint32_t *c;
	size_t i, k = 0;

	if (ids->on) {
		c = malloc((ids->n ? ids->n : 1) * sizeof *c);
		if (!c)
			abort();
		for (i = 0; i < ids->n; i++) {
			const struct bid *b = world_bid(w, ids->v[i]);

			if (b && (!k || w->bids.v[c[k - 1]].id != b->id))
				c[k++] = (uint32_t)(b - w->bids.v);
		}
	} else {
		size_t total = 0, m;

		for (i = 0; i < f->projects.n; i++) {
			const struct project *p = world_project(w, f->projects.v[i]);

			if (p && (!i || f->projects.v[i] != f->projects.v[i - 1])) {
				bids_of_project(w, p, &m);
				total += m;
			}
		}
		c = malloc((total ? total : 1) * sizeof *c);
		if (!c)
			abort();
		for (i = 0; i < f->projects.n; i++) {
			const struct project *p = world_project(w, f->projects.v[i]);
			const uint32_t *ix;

			if (!p || (i && f->projects.v[i] == f->projects.v[i - 1]))
				continue;
			ix = bids_of_project(w, p, &m);
			memcpy(c + k, ix, m * sizeof *c);
			k += m;
		}
		qsort(c, k, sizeof *c, cmp_u32);
	}
	*n = k;
	return c;
}

/* A bid of a list page; its bidder and the project's owner go into the page's users. */
static void emit_bid(struct fm_req *r, struct userset *us, const struct bid *b)
{
	userset_add(us, b->bidder_id);
	userset_add(us, b->project_owner_id);
	out_bid(&r->jw, r->w, b);
}

void ep_bids_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct bid_filter f = { 0 };
	struct idset ids = { 0 };
	struct pager pg = { 0 };
	uint32_t *c = NULL;
	size_t n = 0, i;
	struct userset us;

	if (!req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &f.from, &f.to) ||
	    !req_ids(r, "bids", &ids) || !req_ids(r, "projects", &f.projects) || !req_ids(r, "bidders", &f.bidders) ||
	    !req_ids(r, "project_owners", &f.owners) ||
	    !req_enums(r, "award_statuses", out_award_status, 6, &f.award) ||
	    !req_enums(r, "paid_statuses", paid_name, 3, &f.paid) ||
	    !req_enums(r, "complete_statuses", complete_name, 3, &f.complete) ||
	    !req_enums(r, "frontend_bid_statuses", frontend_name, 3, &f.frontend))
		goto out;
	userset_init(&us, r);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "bids");
	if (ids.on || f.projects.on) {
		c = candidates(w, &ids, &f, &n);
		for (i = 0; i < n && !pager_full(&pg); i++) {
			const struct bid *b = &w->bids.v[c[i]];

			if (bid_matches(&f, b) && pager_take(&pg))
				emit_bid(r, &us, b);
		}
	} else {
		size_t lo, hi;
		bool sliced = !f.bidders.on && !f.owners.on && !f.award && !f.paid && !f.complete && !f.frontend;

		world_time_range(w->bids.v, w->bids.n, sizeof *w->bids.v, offsetof(struct bid, time_submitted),
				 f.from, f.to, &lo, &hi);
		/* Only the window: the page is a slice of the id-ordered array. */
		for (i = sliced ? lo + pg.offset : lo;
		     i < hi && (sliced ? i < lo + pg.offset + pg.limit : !pager_full(&pg)); i++) {
			const struct bid *b = &w->bids.v[i];

			if (sliced || (bid_matches(&f, b) && pager_take(&pg)))
				emit_bid(r, &us, b);
		}
	}
	jw_end_arr(&r->jw);
	userset_emit(&us, r);
	jw_knull(&r->jw, "projects");
	jw_end_obj(&r->jw);
out:
	free(c);
	idset_free(&ids);
	idset_free(&f.projects);
	idset_free(&f.bidders);
	idset_free(&f.owners);
}

void ep_bid_get(struct fm_req *r)
{
	const struct bid *b = world_bid(r->w, r->path_id);

	if (!b) {
		req_not_found(r);
		return;
	}
	out_bid(&r->jw, r->w, b);
}

/* ---- writes -------------------------------------------------------------------- */

static bool perr(struct fm_req *r, int status, const char *code, const char *msg)
{
	return req_fail(r, status, "Project", code, msg);
}

static bool has_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at > s && strchr(at, '.');
}

static const struct bid *bid_by(struct world *w, const struct project *p, int64_t bidder)
{
	size_t n, i;
	const uint32_t *ix = bids_of_project(w, p, &n);

	for (i = 0; i < n; i++)
		if (w->bids.v[ix[i]].bidder_id == bidder)
			return &w->bids.v[ix[i]];
	return NULL;
}

static bool check_new_bid(struct fm_req *r, const struct project *p, int64_t bidder, double amount,
			  int64_t period, int64_t pct, const char *desc)
{
	struct world *w = r->w;

	if (bidder != r->self)
		return req_fail(r, 403, "Authorisation", "PERMISSION_DENIED", "You can only bid as yourself.");
	/* The bid's own fields first, then its project's state. */
	if (!(amount > 0))
		return perr(r, 400, "BID_AMOUNT_INVALID", "The amount of your bid is invalid.");
	if (period < 1 || period > 365)
		return perr(r, 400, "BID_PERIOD_INVALID", "The period of your bid is invalid");
	if (pct < 0 || pct > 100)
		return perr(r, 400, "BID_MILESTONE_INVALID", "The bid you are making has incorrect fields.");
	if (desc && has_email(desc))
		return perr(r, 400, "BID_DESCRIPTION_CONTAINS_EMAIL", "You are not allowed to post email addresses in your bid description.");
	if (desc && strlen(desc) > 5000)
		return perr(r, 400, "BID_DESCRIPTION_LENGTH_INVALID", "The length of your bid description is invalid.");
	if (!p)
		return perr(r, 400, "INVALID_PROJECT", "A project with that ID cannot be found.");
	if (p->deleted)
		return perr(r, 400, "PROJECT_DELETED", "The owner/admin has deleted the project and it is no longer open for bidding.");
	if (p->status != PS_ACTIVE)
		return perr(r, 400, "PROJECT_NOT_ACTIVE", "Bids cannot be placed on a project unless it is in the active state.");
	if (p->owner_id == bidder)
		return perr(r, 400, "BIDDER_OWNS_PROJECT", "You cannot place a bid on your own project.");
	if (bid_by(w, p, bidder))
		return perr(r, 409, "DUPLICATE_BID", "You have already placed a bid on this project.");
	return true;
}

void ep_bid_create(struct fm_req *r)
{
	struct world *w = r->w;
	int64_t pid = 0, bidder = 0, period = 0, pct = 100;
	double amount = 0;
	const char *desc = req_param(r, "description");
	struct project *p;
	struct bid *b;

	if (!req_param(r, "project_id") || !req_param(r, "bidder_id") || !req_param(r, "amount") ||
	    !req_param(r, "period")) {
		perr(r, 400, "BID_FIELDS_MISSING", "project_id, bidder_id, amount and period are required.");
		return;
	}
	if (!req_int(r, "project_id", &pid) || !req_int(r, "bidder_id", &bidder) ||
	    !req_double(r, "amount", &amount) || !req_int(r, "period", &period) ||
	    !req_int(r, "milestone_percentage", &pct))
		return;
	p = world_project(w, pid);
	if (!check_new_bid(r, p, bidder, amount, period, pct, desc))
		return;
	b = world_new_bid(w, p, bidder, amount, (int)period, (int)pct, desc);
	r->object_id = b->id;
	out_bid(&r->jw, w, b);
}

static bool owner_only(struct fm_req *r, const struct bid *b)
{
	if (b->project_owner_id == r->self)
		return true;
	return req_fail(r, 403, "Authorisation", "PERMISSION_DENIED", "Only the project owner can do this.");
}

static bool bidder_only(struct fm_req *r, const struct bid *b)
{
	if (b->bidder_id == r->self)
		return true;
	return req_fail(r, 403, "Authorisation", "PERMISSION_DENIED", "Only the bidder can do this.");
}

static bool pending_only(struct fm_req *r, const struct bid *b)
{
	if (b->award_status == AW_PENDING)
		return true;
	return perr(r, 400, "PENDING_BID_REQUIRED", "You are not allowed to perform the action on a non-pending bid.");
}

static bool award(struct fm_req *r, struct bid *b, struct project *p)
{
	struct world *w = r->w;
	size_t n, i;
	const uint32_t *ix;

	if (!owner_only(r, b))
		return false;
	if (b->retracted)
		return perr(r, 400, "BID_RETRACTED", "This bid has been retracted.");
	if (p->deleted || p->status != PS_ACTIVE)
		return perr(r, 400, "PROJECT_CLOSED", "This project is already closed, you cannot award it to a freelancer.");
	if (b->award_status == AW_PENDING || b->award_status == AW_AWARDED)
		return perr(r, 400, "FREELANCER_ALREADY_AWARDED", "You have already awarded your project.");
	ix = bids_of_project(w, p, &n);
	for (i = 0; i < n; i++) {
		int s = w->bids.v[ix[i]].award_status;

		if (s == AW_PENDING || s == AW_AWARDED)
			return perr(r, 403, "MAXIMUM_AWARDED_BIDDERS_REACHED", "Already reached maximum awarded bidders.");
	}
	b->award_status = AW_PENDING;
	b->time_awarded = w->now;
	return true;
}

static bool retract(struct fm_req *r, struct bid *b, struct project *p)
{
	if (!bidder_only(r, b))
		return false;
	if (b->retracted)
		return perr(r, 409, "BID_ALREADY_RETRACTED", "This bid has already been retracted.");
	if (p->status != PS_ACTIVE || p->deleted)
		return perr(r, 400, "PROJECT_NOT_ACTIVE", "The project is no longer open.");
	if (b->award_status == AW_PENDING || b->award_status == AW_AWARDED)
		return perr(r, 400, "BID_AWARD_PENDING", "You must respond to a pending bid award before you can perform any more bid actions.");
	b->retracted = true;
	world_bid_removed(r->w, p, b);
	return true;
}

static bool highlight(struct fm_req *r, struct bid *b, struct project *p)
{
	size_t n, i, count = 0;
	const uint32_t *ix;

	if (!bidder_only(r, b))
		return false;
	if (b->retracted)
		return perr(r, 400, "BID_RETRACTED", "This bid has been retracted.");
	if (b->highlighted)
		return perr(r, 409, "BID_ALREADY_HIGHLIGHTED", "This bid is already highlighted.");
	ix = bids_of_project(r->w, p, &n);
	for (i = 0; i < n; i++)
		count += r->w->bids.v[ix[i]].highlighted;
	if (count >= 10)
		return perr(r, 409, "PROJECT_MAX_HIGHLIGHTS", "The number of highlighted bids on this project has been exceeded.");
	b->highlighted = true;
	return true;
}

static bool respond(struct fm_req *r, struct bid *b, struct project *p, bool accept)
{
	if (!bidder_only(r, b) || !pending_only(r, b))
		return false;
	if (accept && (p->status != PS_ACTIVE || p->deleted))
		return perr(r, 400, "PROJECT_CLOSED", "This project is already closed.");
	if (accept) {
		b->award_status = AW_AWARDED;
		b->time_accepted = r->w->now;
		p->status = PS_FROZEN;
	} else {
		b->award_status = AW_REJECTED;
	}
	return true;
}

/*
 * Update Existing Bid: the same PUT without an action, with a Bid struct's
 * description, amount, period or milestone_percentage.  Only the bidder,
 * only while the bid is live on an active project.
 */
static void update_bid(struct fm_req *r, struct bid *b)
{
	struct world *w = r->w;
	struct project *p = world_project(w, b->project_id);
	const char *desc = req_param(r, "description");
	double amount = b->amount;
	int64_t period = b->period, pct = b->milestone_percentage;

	if (!req_double(r, "amount", &amount) || !req_int(r, "period", &period) ||
	    !req_int(r, "milestone_percentage", &pct))
		return;
	if (b->bidder_id != r->self || b->retracted || b->award_status != AW_NONE) {
		perr(r, 400, "INVALID_BID", "This bid cannot be updated.");
		return;
	}
	if (!(amount > 0)) {
		perr(r, 400, "BID_AMOUNT_INVALID", "The amount of your bid is invalid.");
		return;
	}
	if (period < 1 || period > 365) {
		perr(r, 400, "BID_PERIOD_INVALID", "The period of your bid is invalid");
		return;
	}
	if (pct < 0 || pct > 100) {
		perr(r, 400, "BID_MILESTONE_INVALID", "The bid you are making has incorrect fields.");
		return;
	}
	if (desc && (has_email(desc) || strlen(desc) > 5000)) {
		perr(r, 400, has_email(desc) ? "BID_DESCRIPTION_CONTAINS_EMAIL" : "BID_DESCRIPTION_LENGTH_INVALID",
		     "The description of your bid is invalid.");
		return;
	}
	if (!p || p->deleted || p->status != PS_ACTIVE) {
		perr(r, 400, "PROJECT_NOT_ACTIVE", "Bids cannot be changed unless the project is active.");
		return;
	}
	if (desc) {
		char *copy = strdup(desc);

		if (!copy)
			abort();
		free(b->description);
		b->description = copy;
	}
	if (amount != b->amount) {
		/* bid_stats.bid_avg moves with it: the project visibly changes. */
		p->bid_total += amount - b->amount;
		world_touch_project(w, p, w->now);
	}
	b->amount = amount;
	b->period = (uint16_t)period;
	b->milestone_percentage = (uint8_t)pct;
	r->object_id = b->id;
	out_bid(&r->jw, w, b);
}

void ep_bid_action(struct fm_req *r)
{
	struct world *w = r->w;
	struct bid *b = world_bid(w, r->path_id);
	static const char *const actions[] = { "award", "revoke", "accept", "reject", "deny", "retract", "highlight",
					       "shortlist", "unshortlist", NULL };
	const char *action = req_enum_name(r, "action", actions);
	struct project *p;
	int status_before;
	bool ok;

	if (!b) {
		perr(r, 404, "BID_DOESNT_EXIST", "This bid does not exist.");
		return;
	}
	if (r->error_code)
		return; /* an action that is none of the enum's */
	if (!action) {
		if (req_param(r, "amount") || req_param(r, "description") || req_param(r, "period") ||
		    req_param(r, "milestone_percentage"))
			update_bid(r, b);
		else
			req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "action is required");
		return;
	}
	p = world_project(w, b->project_id);
	status_before = p->status;
	if (strcmp(action, "award") == 0) {
		ok = award(r, b, p);
	} else if (strcmp(action, "revoke") == 0) {
		ok = owner_only(r, b) && pending_only(r, b);
		if (ok)
			b->award_status = AW_REVOKED;
	} else if (strcmp(action, "accept") == 0) {
		ok = respond(r, b, p, true);
	} else if (strcmp(action, "reject") == 0 || strcmp(action, "deny") == 0) {
		ok = respond(r, b, p, false);
	} else if (strcmp(action, "retract") == 0) {
		ok = retract(r, b, p);
	} else if (strcmp(action, "highlight") == 0) {
		ok = highlight(r, b, p);
	} else if (strcmp(action, "shortlist") == 0 || strcmp(action, "unshortlist") == 0) {
		ok = owner_only(r, b);
		if (ok)
			b->shortlisted = action[0] == 's';
	} else {
		req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	if (!ok)
		return;
	/* time_updated follows the project object's own fields: accepting freezes it. */
	if (p->status != status_before)
		world_touch_project(w, p, w->now);
	r->object_id = b->id;
	if (strcmp(action, "award") == 0 || strcmp(action, "revoke") == 0 || strcmp(action, "accept") == 0)
		event_bid(w, action[0] == 'a' ? (action[1] == 'w' ? "bid.awarded" : "bid.accepted") : "bid.revoked", b);
	else if (strcmp(action, "reject") == 0 || strcmp(action, "deny") == 0)
		event_bid(w, "bid.denied", b);
}
