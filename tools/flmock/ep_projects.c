/*
 * ep_projects.c — project endpoints: Get Projects (time filter on created
 * time), Search for Projects /projects/active/ (on last-updated time, active
 * and undeleted only), Get Project by ID, Get Project Bids, the project's
 * milestones and milestone requests, Create New Project and Invite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flmock.h"

static void proj_opts(const struct fm_req *r, struct proj_opts *o)
{
	o->full_description = req_flag(r, "full_description");
	o->job_details = req_flag(r, "job_details");
	o->upgrade_details = req_flag(r, "upgrade_details");
}

static const char *frontend_name(int s)
{
	static const char *const n[] = { "open", "closed", "work_in_progress", "complete" };

	return n[s];
}

static bool in_window(int64_t t, int64_t from, int64_t to)
{
	return t >= from && t < to;
}

/* A project of a list page; its owner goes into the page's users. */
static void emit_project(struct fm_req *r, struct userset *us, const struct project *p, const struct proj_opts *po)
{
	userset_add(us, p->owner_id);
	out_project(&r->jw, r->w, p, po);
}

void ep_projects_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset ids = { 0 }, owners = { 0 };
	struct pager pg = { 0 };
	struct proj_opts po;
	struct userset us;
	int64_t from, to;
	uint32_t fstatus = 0;
	size_t lo, hi, i;

	if (!req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &from, &to) ||
	    !req_ids(r, "projects", &ids) || !req_ids(r, "owners", &owners) ||
	    !req_enums(r, "frontend_project_status", frontend_name, 4, &fstatus))
		goto out;
	proj_opts(r, &po);
	userset_init(&us, r);
	world_time_range(w->projects.v, w->projects.n, sizeof *w->projects.v,
			 offsetof(struct project, time_submitted), from, to, &lo, &hi);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "projects");
	if (!ids.on && !owners.on && !fstatus) {
		/* No filter but the window: the page is a slice. */
		pg.seen = hi - lo;
		for (i = lo + pg.offset; i < hi && i < lo + pg.offset + pg.limit; i++)
			emit_project(r, &us, &w->projects.v[i], &po);
	} else if (ids.on) {
		/* Ids ascend with created time, so this is already in window order. */
		for (i = 0; i < ids.n; i++) {
			const struct project *p = world_project(w, ids.v[i]);

			if (!p || (i && ids.v[i] == ids.v[i - 1]) || !in_window(p->time_submitted, from, to) ||
			    (owners.on && !idset_has(&owners, p->owner_id)) ||
			    (fstatus && !(fstatus & (1u << p->status))))
				continue;
			if (pager_take(&pg))
				emit_project(r, &us, p, &po);
		}
	} else {
		for (i = lo; i < hi; i++) {
			const struct project *p = &w->projects.v[i];

			if ((owners.on && !idset_has(&owners, p->owner_id)) ||
			    (fstatus && !(fstatus & (1u << p->status))))
				continue;
			if (pager_take(&pg))
				emit_project(r, &us, p, &po);
		}
	}
	jw_end_arr(&r->jw);
	jw_kint(&r->jw, "total_count", (int64_t)pg.seen);
	userset_emit(&us, r);
	jw_knull(&r->jw, "selected_bids");
	jw_end_obj(&r->jw);
out:
	idset_free(&ids);
	idset_free(&owners);
}

/* Search terms: all must appear (any, with or_search_query) in title or description. */
struct search {
	char *terms[16];
	size_t n;
	bool any;
	struct fm_buf text;
};

static void search_init(struct search *s, const struct fm_req *r)
{
	const char *q = req_param(r, "query");
	char *copy, *save = NULL, *t;

	memset(s, 0, sizeof *s);
	s->any = req_flag(r, "or_search_query");
	if (!q || !*q)
		return;
	copy = strdup(q);
	if (!copy)
		abort();
	for (t = strtok_r(copy, " ", &save); t && s->n < 16; t = strtok_r(NULL, " ", &save)) {
		s->terms[s->n] = strdup(t);
		if (!s->terms[s->n])
			abort();
		s->n++;
	}
	free(copy);
}

static void search_free(struct search *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->terms[i]);
	buf_free(&s->text);
}

/* *score: how many of the terms the project holds (its relevance to the query). */
static bool search_match(struct search *s, const struct world *w, const struct project *p, size_t *score)
{
	size_t i, hits = 0;

	*score = 0;
	if (!s->n)
		return true;
	s->text.len = 0;
	if (p->title)
		buf_puts(&s->text, p->title);
	else
		text_emit(&s->text, w->cfg.seed, TX_TITLE, p->id);
	buf_putc(&s->text, '\n');
	if (p->description)
		buf_puts(&s->text, p->description);
	else
		text_emit(&s->text, w->cfg.seed, TX_DESC, p->id);
	for (i = 0; i < s->n; i++)
		hits += text_matches(s->text.data, s->terms[i]);
	*score = hits;
	return s->any ? hits > 0 : hits == s->n;
}

static bool has_job(const struct project *p, const struct idset *jobs)
{
	int i;

	for (i = 0; i < p->njobs; i++)
		if (idset_has(jobs, ref_jobs[p->jobs[i]].id))
			return true;
	return false;
}

static bool country_wanted(const struct fm_req *r, const struct project *p)
{
	size_t i;
	bool any = false;

	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].key, "countries[]") != 0)
			continue;
		any = true;
		if (strcasecmp(r->params[i].val, ref_countries[p->country].code) == 0)
			return true;
	}
	return !any;
}

static const char *type_name(int t)
{
	return t ? "hourly" : "fixed";
}

/*
 * Search for Projects sorts by sort_field, descending unless reverse_sort
 * ("Results appear in ascending order instead of descending").  Without a
 * sort_field it "searches by score, otherwise by most recently posted": by
 * relevance to the query (how many of its terms a project holds) when there
 * is one, else by time_submitted.  Ties go by id, in the same direction, so
 * reverse_sort gives exactly the reverse order and pages stay stable.
 */
enum sort_key { SORT_SCORE, SORT_SUBMITTED, SORT_UPDATED, SORT_BID_COUNT, SORT_BID_AVG };

static const char *const sort_fields[] = { "score", "time_submitted", "time_updated", "bid_count", "bid_avg", NULL };

struct ranked {
	double key;
	int64_t id;
	uint32_t ix;               /* index into w->projects */
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

static double sort_value(enum sort_key k, const struct project *p, size_t score)
{
	switch (k) {
	case SORT_SCORE: return (double)score;
	case SORT_SUBMITTED: return (double)p->time_submitted;
	case SORT_UPDATED: return (double)p->time_updated;
	case SORT_BID_COUNT: return (double)p->bid_count;
	case SORT_BID_AVG: return p->bid_count ? p->bid_total / p->bid_count : 0;
	}
	return 0;
}

void ep_projects_active(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset jobs = { 0 };
	struct pager pg = { 0 };
	struct userset us;
	struct search q;
	struct proj_opts po;
	const struct time_index *ti;
	struct ranked *hits = NULL;
	size_t nhits = 0, cap = 0, score;
	const char *field = req_enum_name(r, "sort_field", sort_fields);
	bool reverse = req_flag(r, "reverse_sort");
	enum sort_key key;
	int64_t from, to;
	uint32_t types = 0;
	size_t lo, hi, i;

	search_init(&q, r);
	userset_init(&us, r);
	if (r->error_code || !req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &from, &to) ||
	    !req_ids(r, "jobs", &jobs) || !req_enums(r, "project_types", type_name, 2, &types))
		goto out;
	key = SORT_SUBMITTED;
	for (i = 0; field && sort_fields[i]; i++)
		if (sort_fields[i] == field)
			key = (enum sort_key)i;
	if (!field && q.n)
		key = SORT_SCORE;
	proj_opts(r, &po);
	ti = world_projects_by_update(w);
	/* Binary search over the index by each record's updated time. */
	for (lo = 0, hi = ti->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->projects.v[ti->ix[mid]].time_updated < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < ti->n; i++) {
		const struct project *p = &w->projects.v[ti->ix[i]];

		if (p->time_updated >= to)
			break;
		if (p->status != PS_ACTIVE || p->deleted || (jobs.on && !has_job(p, &jobs)) ||
		    (types && !(types & (1u << p->hourly))) || !country_wanted(r, p) || !search_match(&q, w, p, &score))
			continue;
		if (nhits == cap) {
			cap = cap ? cap * 2 : 1024;
			hits = realloc(hits, cap * sizeof *hits);
			if (!hits)
				abort();
		}
		hits[nhits].key = sort_value(key, p, score);
		hits[nhits].id = p->id;
		hits[nhits].ix = ti->ix[i];
		nhits++;
	}
	if (nhits)
		qsort(hits, nhits, sizeof *hits, cmp_ranked);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "projects");
	for (i = pg.offset; i < nhits && i < pg.offset + pg.limit; i++) {
		const struct project *p = &w->projects.v[hits[reverse ? nhits - 1 - i : i].ix];

		userset_add(&us, p->owner_id);
		out_project(&r->jw, w, p, &po);
	}
	jw_end_arr(&r->jw);
	jw_kint(&r->jw, "total_count", (int64_t)nhits);
	userset_emit(&us, r);
	jw_end_obj(&r->jw);
out:
	free(hits);
	free(us.ids);
	search_free(&q);
	idset_free(&jobs);
}

void ep_project_get(struct fm_req *r)
{
	const struct project *p = world_project(r->w, r->path_id);
	struct proj_opts po;

	if (!p) {
		req_not_found(r);
		return;
	}
	proj_opts(r, &po);
	out_project(&r->jw, r->w, p, &po);
}

void ep_project_bids(struct fm_req *r)
{
	struct world *w = r->w;
	const struct project *p = world_project(w, r->path_id);
	struct pager pg = { 0 };
	const uint32_t *ix;
	size_t n, i;
	bool shortlisted_only = req_flag(r, "is_shortlisted");
	struct userset us;

	if (!p) {
		req_not_found(r);
		return;
	}
	if (!req_page(r, &pg.offset, &pg.limit))
		return;
	userset_init(&us, r);
	ix = bids_of_project(w, p, &n);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "bids");
	for (i = 0; i < n; i++) {
		const struct bid *b = &w->bids.v[ix[i]];

		if (shortlisted_only && !b->shortlisted)
			continue;
		if (pager_take(&pg)) {
			userset_add(&us, b->bidder_id);
			out_bid(&r->jw, w, b);
		}
	}
	jw_end_arr(&r->jw);
	userset_emit(&us, r);
	jw_knull(&r->jw, "shortlisted_bids");
	jw_knull(&r->jw, "recommended_bid");
	jw_end_obj(&r->jw);
}

/* The project-scoped lists are the global ones with projects[] = {id}. */
static void scoped(struct fm_req *r, handler_fn *list)
{
	char id[32];
	int n;

	if (!world_project(r->w, r->path_id)) {
		req_not_found(r);
		return;
	}
	n = snprintf(id, sizeof id, "%lld", (long long)r->path_id);
	req_add_param(r, "projects[]", 10, id, (size_t)n);
	list(r);
}

void ep_project_milestones(struct fm_req *r) { scoped(r, ep_milestones_list); }
void ep_project_milestone_requests(struct fm_req *r) { scoped(r, ep_milestone_requests_list); }

/* ---- writes ------------------------------------------------------------------ */

static bool perr(struct fm_req *r, const char *code, const char *msg)
{
	return req_fail(r, 400, "Project", code, msg);
}

/* Contact details: an e-mail address (an '@' with a dot after it). */
static bool has_contact(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at > s && strchr(at, '.');
}

static bool own_title_taken(struct world *w, int64_t self, const char *title)
{
	size_t i;
	bool taken = false;

	for (i = 0; i < w->projects.n && !taken; i++) {
		const struct project *p = &w->projects.v[i];
		char *t;

		if (p->owner_id != self)
			continue;
		t = p->title ? NULL : text_make(w->cfg.seed, TX_TITLE, p->id);
		taken = strcmp(p->title ? p->title : t, title) == 0;
		free(t);
	}
	return taken;
}

/* Jobs from "jobs[].id" (JSON) or "jobs[]" (form); false after an error. */
static bool parse_jobs(struct fm_req *r, struct project *p)
{
	size_t i;

	p->njobs = 0;
	for (i = 0; i < r->nparams; i++) {
		const char *k = r->params[i].key;
		int id = atoi(r->params[i].val);
		size_t j;

		if (strcmp(k, "jobs[].id") != 0 && strcmp(k, "jobs[]") != 0)
			continue;
		for (j = 0; j < ref_njobs && ref_jobs[j].id != id; j++)
			;
		if (j == ref_njobs) {
			perr(r, "INVALID_PROJECT_JOB_ID", "Job ID can not be found.");
			return false;
		}
		if (p->njobs == MAX_JOBS) {
			perr(r, "PROJECT_EXCEED_MAX_JOBS", "You have selected more than the maximum skill number.");
			return false;
		}
		p->jobs[p->njobs++] = (uint8_t)j;
	}
	if (!p->njobs) {
		perr(r, "PROJECT_MISSING_JOBS", "Atleast one skill should be selected on the project.");
		return false;
	}
	return true;
}

static bool parse_budget(struct fm_req *r, struct project *p)
{
	double min = -1, max = -1;

	if (!req_param(r, "budget.minimum")) {
		perr(r, "MINIMUM_PROJECT_BUDGET_MISSING", "The minimum budget has not been set.");
		return false;
	}
	if (!req_double(r, "budget.minimum", &min) || !req_double(r, "budget.maximum", &max)) {
		perr(r, "INVALID_MINIMUM_PROJECT_BUDGET", "The minimum budget is invalid.");
		return false;
	}
	if (min < 0) {
		perr(r, "NEGATIVE_MINIMUM_PROJECT_BUDGET", "The minimum budget is less than zero.");
		return false;
	}
	if (req_param(r, "budget.maximum") && max < 0) {
		perr(r, "NEGATIVE_MAXIMUM_PROJECT_BUDGET", "The maximum budget is less than zero.");
		return false;
	}
	if (req_param(r, "budget.maximum") && max < min) {
		perr(r, "PROJECT_MAXIMUM_BUDGET_LESS_THAN_MINIMUM_BUDGET",
		     "The maximum budget for the project is less than the minimum budget for the project.");
		return false;
	}
	p->budget_min = min;
	p->budget_max = max < 0 ? min : max;
	return true;
}

static bool parse_currency(struct fm_req *r, struct project *p)
{
	const char *v = req_param(r, "currency.id");
	size_t i;

	if (!v)
		v = req_param(r, "currency_id");
	for (i = 0; v && i < ref_ncurrencies; i++)
		if (ref_currencies[i].id == atoi(v)) {
			p->currency = (uint8_t)i;
			return true;
		}
	perr(r, "INVALID_PROJECT_CURRENCY", "Invalid currency parameter.");
	return false;
}

/* The hourly commitment (hourly_project_info.commitment): hours as sent, and its interval. */
static const char *const intervals[] = { "week", "hour", "day", "month", NULL };

static bool parse_commitment(struct fm_req *r, struct project *p)
{
	const char *interval;
	int64_t hours = 0;

	if (!p->hourly)
		return true;
	if (!req_param(r, "hourly_project_info.commitment.hours"))
		return true; /* none given: the world's own */
	if (!req_int(r, "hourly_project_info.commitment.hours", &hours))
		return false;
	if (hours < 0)
		return perr(r, "NEGATIVE_PROJECT_COMMITMENT_HOURS_AMOUNT", "The commitment hours are negative for the project.");
	if (hours == 0 || hours > 65535)
		return perr(r, "INVALID_PROJECT_COMMITMENT_HOURS_AMOUNT", "The commitment hours are invalid for the project.");
	interval = req_enum_name(r, "hourly_project_info.commitment.interval", intervals);
	if (r->error_code)
		return perr(r, "INVALID_PROJECT_PERIOD_INTERVAL", "Invalid invoice period interval.");
	p->commitment_hours = (uint16_t)hours;
	p->commitment_interval = 0;
	for (size_t i = 0; interval && intervals[i]; i++)
		if (intervals[i] == interval)
			p->commitment_interval = (uint8_t)i;
	return true;
}

/*
 * A hire-me project (QuickHire, see Business Terminology): hireme with
 * hireme_initial_bid, the bid of the freelancer hired, which is placed and
 * awarded with the project.  The HIREME_* checks follow the Exceptions list.
 */
struct hireme {
	int64_t bidder;
	double amount;
	int64_t period;
	const char *description;
};

static bool parse_hireme(struct fm_req *r, const struct project *p, struct hireme *h)
{
	struct world *w = r->w;
	const struct user *u;

	if (!req_param(r, "hireme_initial_bid.bidder_id") && !req_param(r, "hireme_initial_bid.amount") &&
	    !req_param(r, "hireme_initial_bid.period"))
		return perr(r, "HIREME_INITIAL_BID_MISSING", "A hire-me project needs its initial bid (hireme_initial_bid).");
	if (!req_int(r, "hireme_initial_bid.bidder_id", &h->bidder))
		return false;
	if (h->bidder == r->self)
		return perr(r, "HIREME_SAME_SELLER_BUYER", "You cannot hire yourself.");
	u = h->bidder > 0 ? world_user(w, h->bidder) : NULL;
	if (!u)
		return perr(r, "HIREME_INVALID_SELLER_ID", "The seller ID is invalid.");
	if (!req_param(r, "hireme_initial_bid.amount"))
		return perr(r, "HIREME_BID_MISSING_AMOUNT", "You have not provided a budget for a hire-me project.");
	if (!req_double(r, "hireme_initial_bid.amount", &h->amount))
		return false;
	if (h->amount < 0)
		return perr(r, "HIREME_NEGATIVE_BID_AMOUNT", "The budget of the project is negative.");
	if (h->amount < p->budget_min)
		return perr(r, "HIREME_BID_AMOUNT_TOO_SMALL", "Budget is smaller than the minimum budget.");
	if (req_param(r, "budget.maximum") && h->amount > p->budget_max)
		return perr(r, "HIREME_BID_AMOUNT_TOO_BIG", "Budget is larger than the maximum budget.");
	h->period = p->hourly ? 1 : 0;
	if (!req_int(r, "hireme_initial_bid.period", &h->period))
		return false;
	if (h->period < 1 || h->period > 365)
		return perr(r, "HIREME_INVALID_PERIOD", "Project period is incorrect for fixed type project.");
	h->description = req_param(r, "hireme_initial_bid.description");
	return true;
}

/* Validation order follows the reference's list of Create New Project responses. */
void ep_project_create(struct fm_req *r)
{
	static const char *const types[] = { "fixed", "hourly", NULL };
	struct world *w = r->w;
	struct project tmp = { 0 }, *p;
	struct hireme h = { 0 };
	const char *title = req_param(r, "title"), *desc = req_param(r, "description");
	const char *type = req_enum_name(r, "type", types), *lang = req_param(r, "language");
	bool hireme = req_flag(r, "hireme");

	if (r->error_code)
		return; /* a type that is neither fixed nor hourly, in any case */
	if (!title || !*title)
		{
			perr(r, hireme ? "HIREME_EMPTY_PROJECT_TITLE" : "EMPTY_PROJECT_TITLE", "The project has an empty title.");
			return;
		}
	if (!desc || !*desc)
		{
			perr(r, hireme ? "HIREME_EMPTY_PROJECT_DESCRIPTION" : "EMPTY_PROJECT_DESCRIPTION",
			     "The project has an empty description.");
			return;
		}
	if (has_contact(title))
		{
			perr(r, hireme ? "HIREME_CONTACT_DETAILS_IN_PROJECT_TITLE" : "CONTACT_DETAILS_IN_PROJECT_TITLE",
			     "You are not allowed to include contact details in the title.");
			return;
		}
	if (has_contact(desc))
		{
			perr(r, hireme ? "HIREME_CONTACT_DETAILS_IN_PROJECT_DESCRIPTION" : "CONTACT_DETAILS_IN_PROJECT_DESCRIPTION",
			    "You are not allowed to include contact details in the description.");
			return;
		}
	tmp.hourly = type && strcmp(type, "hourly") == 0;
	if (!parse_currency(r, &tmp) || !parse_budget(r, &tmp) || !parse_jobs(r, &tmp) || !parse_commitment(r, &tmp))
		return;
	if (lang && strlen(lang) != 2)
		{
			perr(r, "INVALID_PROJECT_LANGUAGE_CODE", "Invalid language code.");
			return;
		}
	if (hireme && !parse_hireme(r, &tmp, &h))
		return;
	if (own_title_taken(w, r->self, title)) {
		if (hireme)
			perr(r, "HIREME_DUPLICATE_PROJECT_TITLE", "Duplicate project. You have already posted a project with this name.");
		else
			perr(r, "DUPLICATE_PROJECT", "You have already posted a project with this name.");
		r->status = 409;
		return;
	}
	p = world_add_project(w);
	if (!p)
		abort();
	tmp.id = p->id;
	*p = tmp;
	p->owner_id = r->self;
	p->time_submitted = p->time_updated = w->now;
	p->status = PS_ACTIVE;
	p->hireme = hireme;
	p->country = world_user(w, r->self)->country;
	p->title = strdup(title);
	p->description = strdup(desc);
	if (!p->title || !p->description)
		abort();
	if (hireme) {
		/* "A bid is automatically placed and awarded"; the freelancer then accepts it. */
		struct bid *b = world_new_bid(w, p, h.bidder, h.amount, (int)h.period, 100, h.description);

		b->award_status = AW_PENDING;
		b->time_awarded = w->now;
	}
	r->object_id = p->id;
	{
		struct proj_opts po = { true, true, true };

		out_project(&r->jw, w, p, &po);
	}
}

void ep_project_invite(struct fm_req *r)
{
	struct world *w = r->w;
	const struct project *p = world_project(w, r->path_id);
	int64_t fid = 0;
	size_t i, count = 0;
	struct invite *inv;

	if (!p) {
		req_not_found(r);
		return;
	}
	if (!req_int(r, "freelancer_id", &fid))
		return;
	if (p->owner_id != r->self) {
		req_error(r, 403, "AuthorisationExceptionCodes.PERMISSION_DENIED", "Only the project owner can invite.");
		return;
	}
	if (!fid || !world_user(w, fid) || fid == r->self) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "freelancer_id must be another user's id");
		return;
	}
	for (i = 0; i < w->invites.n; i++) {
		if (w->invites.v[i].project_id != p->id)
			continue;
		if (w->invites.v[i].user_id == fid)
			{
			perr(r, "FREELANCER_ALREADY_INVITED", "You have already invited the freelancer to the project.");
			return;
		}
		count++;
	}
	if (count >= 20)
		{
			perr(r, "INVITATION_LIMIT_REACHED", "You have reached the limit of invitations for this project.");
			return;
		}
	w->invites.v = array_reserve(w->invites.v, w->invites.n + 1, &w->invites.cap, sizeof *w->invites.v);
	inv = &w->invites.v[w->invites.n++];
	inv->project_id = p->id;
	inv->user_id = fid;
	r->object_id = p->id;
}
