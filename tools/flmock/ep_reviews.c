/*
 * ep_reviews.c — Get Project Reviews (time filter on created time) and Post
 * a Review: once per reviewer per project, on a completed project, by self,
 * about the other party (the owner about the accepted freelancer, or back).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flmock.h"

void ep_reviews_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset projects = { 0 }, from_users = { 0 }, to_users = { 0 };
	struct pager pg = { 0 };
	const char *role = req_param(r, "role");
	int want = -1; /* -1 both, 1 reviews of freelancers, 0 of employers */
	int64_t from, to;
	size_t lo, hi, i;
	struct userset us;

	userset_init(&us, r);
	if (role)
		want = strcasecmp(role, "freelancer") == 0 || strcmp(role, "false") == 0 ? 1 : 0;
	if (!req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &from, &to) ||
	    !req_ids(r, "projects", &projects) || !req_ids(r, "from_users", &from_users) ||
	    !req_ids(r, "to_users", &to_users))
		goto out;
	world_time_range(w->reviews.v, w->reviews.n, sizeof *w->reviews.v,
			 offsetof(struct review, time_submitted), from, to, &lo, &hi);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "reviews");
	for (i = lo; i < hi; i++) {
		const struct review *rv = &w->reviews.v[i];

		if ((projects.on && !idset_has(&projects, rv->project_id)) ||
		    (from_users.on && !idset_has(&from_users, rv->from_user_id)) ||
		    (to_users.on && !idset_has(&to_users, rv->to_user_id)) ||
		    (want >= 0 && rv->to_freelancer != (want == 1)))
			continue;
		if (pager_take(&pg)) {
			userset_add(&us, rv->from_user_id);
			userset_add(&us, rv->to_user_id);
			out_review(&r->jw, w, rv);
		}
	}
	jw_end_arr(&r->jw);
	userset_emit(&us, r);
	jw_knull(&r->jw, "projects");
	jw_end_obj(&r->jw);
out:
	free(us.ids);
	idset_free(&projects);
	idset_free(&from_users);
	idset_free(&to_users);
}

static bool perr(struct fm_req *r, const char *code, const char *msg)
{
	return req_fail(r, 400, "Project", code, msg);
}

/* The accepted bid of a project, or NULL. */
static const struct bid *accepted_bid(struct world *w, const struct project *p)
{
	size_t n, i;
	const uint32_t *ix = bids_of_project(w, p, &n);

	for (i = 0; i < n; i++)
		if (w->bids.v[ix[i]].award_status == AW_AWARDED)
			return &w->bids.v[ix[i]];
	return NULL;
}

/* Mean of reputation_data.category_ratings.*, each 1..10; false if out of range. */
static bool ratings(const struct fm_req *r, double *out)
{
	static const char prefix[] = "reputation_data.category_ratings.";
	double sum = 0;
	int n = 0;
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		double v;
		char *end;

		if (strncmp(r->params[i].key, prefix, sizeof prefix - 1) != 0)
			continue;
		v = strtod(r->params[i].val, &end);
		if (*end || v < 1 || v > 10)
			return false;
		sum += v;
		n++;
	}
	*out = n ? sum / n : 5;
	if (*out > 5)
		*out = 5;
	*out = (double)(int)(*out * 10 + 0.5) / 10;
	return true;
}

static bool check_review(struct fm_req *r, const struct project *p, const struct bid **out_bid,
			 int64_t from_id, int64_t to_id, const char *role)
{
	struct world *w = r->w;
	const struct bid *b;
	size_t i;

	if (!p)
		return perr(r, "REVIEW_PROJECT_ID_INVALID", "The project id is invalid.");
	if (from_id != r->self)
		return perr(r, "REVIEW_FROM_USER_ID_INVALID", "You can only post reviews as yourself.");
	if (!role || (strcasecmp(role, "freelancer") != 0 && strcasecmp(role, "employer") != 0))
		return perr(r, "REVIEW_TYPE_INVALID", "role must be 'freelancer' or 'employer'.");
	b = accepted_bid(w, p);
	if (!b || p->status != PS_COMPLETE)
		return perr(r, "REVIEW_PROJECT_UNPAID", "The project has not been completed and paid.");
	if (!((from_id == p->owner_id && to_id == b->bidder_id && (role[0] | 0x20) == 'f') ||
	      (from_id == b->bidder_id && to_id == p->owner_id && (role[0] | 0x20) == 'e')))
		return perr(r, "REVIEW_TO_USER_ID_INVALID", "The reviewed user is not the other party of this project.");
	for (i = 0; i < w->reviews.n; i++)
		if (w->reviews.v[i].project_id == p->id && w->reviews.v[i].from_user_id == from_id)
			return perr(r, "REVIEW_ALREADY_RATED_USER", "You have already reviewed this user for this project.");
	*out_bid = b;
	return true;
}

void ep_review_post(struct fm_req *r)
{
	struct world *w = r->w;
	int64_t pid = 0, from_id = 0, to_id = 0;
	const char *role = req_param(r, "role"), *comment = req_param(r, "comment");
	const struct project *p;
	const struct bid *b = NULL;
	struct review *rv;
	double rating = 5;

	if (!req_int(r, "project_id", &pid) || !req_int(r, "from_user_id", &from_id) ||
	    !req_int(r, "to_user_id", &to_id))
		return;
	p = world_project(w, pid);
	if (!check_review(r, p, &b, from_id, to_id, role))
		return;
	if (!ratings(r, &rating)) {
		perr(r, "REVIEW_RATING_INVALID", "Ratings must be between 1 and 10.");
		return;
	}
	if (comment && strlen(comment) > 2000) {
		perr(r, "REVIEW_COMMENT_INVALID", "The comment is too long.");
		return;
	}
	rv = world_add_review(w);
	if (!rv)
		abort();
	rv->project_id = p->id;
	rv->from_user_id = from_id;
	rv->to_user_id = to_id;
	rv->to_freelancer = (role[0] | 0x20) == 'f';
	rv->time_submitted = w->now;
	rv->rating = rating;
	rv->bid_amount = rv->paid_amount = b->amount;
	rv->currency = p->currency;
	rv->description = strdup(comment ? comment : "");
	if (!rv->description)
		abort();
	r->object_id = rv->id;
	out_review(&r->jw, w, rv);
}
