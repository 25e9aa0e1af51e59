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

void ep_projects_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset ids = { 0 }, owners = { 0 };
	struct pager pg = { 0 };
	struct proj_opts po;
	int64_t from, to;
	uint32_t fstatus = 0;
	size_t lo, hi, i;

	if (!req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &from, &to) ||
	    !req_ids(r, "projects", &ids) || !req_ids(r, "owners", &owners) ||
	    !req_enums(r, "frontend_project_status", frontend_name, 4, &fstatus))
		goto out;
	proj_opts(r, &po);
	world_time_range(w->projects.v, w->projects.n, sizeof *w->projects.v,
			 offsetof(struct project, time_submitted), from, to, &lo, &hi);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "projects");
	if (!ids.on && !owners.on && !fstatus) {
		/* No filter but the window: the page is a slice. */
		pg.seen = hi - lo;
		for (i = lo + pg.offset; i < hi && i < lo + pg.offset + pg.limit; i++)
			out_project(&r->jw, w, &w->projects.v[i], &po);
	} else if (ids.on) {
		/* Ids ascend with created time, so this is already in window order. */
		for (i = 0; i < ids.n; i++) {
			const struct project *p = world_project(w, ids.v[i]);

			if (!p || (i && ids.v[i] == ids.v[i - 1]) || !in_window(p->time_submitted, from, to) ||
			    (owners.on && !idset_has(&owners, p->owner_id)) ||
			    (fstatus && !(fstatus & (1u << p->status))))
				continue;
			if (pager_take(&pg))
				out_project(&r->jw, w, p, &po);
		}
	} else {
		for (i = lo; i < hi; i++) {
			const struct project *p = &w->projects.v[i];

			if ((owners.on && !idset_has(&owners, p->owner_id)) ||
			    (fstatus && !(fstatus & (1u << p->status))))
				continue;
			if (pager_take(&pg))
				out_project(&r->jw, w, p, &po);
		}
	}
	jw_end_arr(&r->jw);
	jw_kint(&r->jw, "total_count", (int64_t)pg.seen);
	jw_knull(&r->jw, "users");
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

static bool search_match(struct search *s, const struct world *w, const struct project *p)
{
	size_t i, hits = 0;

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

void ep_projects_active(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset jobs = { 0 };
	struct pager pg = { 0 };
	struct search q;
	struct proj_opts po;
	const struct time_index *ti;
	int64_t from, to;
	uint32_t types = 0;
	size_t lo, hi, i;

	search_init(&q, r);
	if (!req_page(r, &pg.offset, &pg.limit) || !req_window(r, "from_time", "to_time", &from, &to) ||
	    !req_ids(r, "jobs", &jobs) || !req_enums(r, "project_types", type_name, 2, &types))
		goto out;
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
	jw_obj(&r->jw);
	jw_karr(&r->jw, "projects");
	for (i = lo; i < ti->n; i++) {
		const struct project *p = &w->projects.v[ti->ix[i]];

		if (p->time_updated >= to)
			break;
		if (p->status != PS_ACTIVE || p->deleted || (jobs.on && !has_job(p, &jobs)) ||
		    (types && !(types & (1u << p->hourly))) || !country_wanted(r, p) || !search_match(&q, w, p))
			continue;
		if (pager_take(&pg))
			out_project(&r->jw, w, p, &po);
	}
	jw_end_arr(&r->jw);
	jw_kint(&r->jw, "total_count", (int64_t)pg.seen);
	jw_knull(&r->jw, "users");
	jw_end_obj(&r->jw);
out:
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

	if (!p) {
		req_not_found(r);
		return;
	}
	if (!req_page(r, &pg.offset, &pg.limit))
		return;
	ix = bids_of_project(w, p, &n);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "bids");
	for (i = 0; i < n; i++) {
		const struct bid *b = &w->bids.v[ix[i]];

		if (shortlisted_only && !b->shortlisted)
			continue;
		if (pager_take(&pg))
			out_bid(&r->jw, w, b);
	}
	jw_end_arr(&r->jw);
	jw_knull(&r->jw, "users");
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
void ep_project_mreqs(struct fm_req *r) { scoped(r, ep_mreqs_list); }

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

static bool own_title_taken(struct world *w, const char *title)
{
	size_t i;
	bool taken = false;

	for (i = 0; i < w->projects.n && !taken; i++) {
		const struct project *p = &w->projects.v[i];
		char *t;

		if (p->owner_id != w->self_id)
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

/* Validation order follows the reference's list of Create New Project responses. */
void ep_project_create(struct fm_req *r)
{
	struct world *w = r->w;
	struct project tmp = { 0 }, *p;
	const char *title = req_param(r, "title"), *desc = req_param(r, "description");
	const char *type = req_param(r, "type"), *lang = req_param(r, "language");

	if (!title || !*title)
		{
			perr(r, "EMPTY_PROJECT_TITLE", "The project has an empty title.");
			return;
		}
	if (!desc || !*desc)
		{
			perr(r, "EMPTY_PROJECT_DESCRIPTION", "The project has an empty description.");
			return;
		}
	if (has_contact(title))
		{
			perr(r, "CONTACT_DETAILS_IN_PROJECT_TITLE", "You are not allowed to include contact details in the title.");
			return;
		}
	if (has_contact(desc))
		{
			perr(r, "CONTACT_DETAILS_IN_PROJECT_DESCRIPTION",
			    "You are not allowed to include contact details in the description.");
			return;
		}
	if (!parse_currency(r, &tmp) || !parse_budget(r, &tmp) || !parse_jobs(r, &tmp))
		return;
	if (type && strcmp(type, "fixed") != 0 && strcmp(type, "hourly") != 0) {
		req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "You have provided an incorrect enum.");
		return;
	}
	if (lang && strlen(lang) != 2)
		{
			perr(r, "INVALID_PROJECT_LANGUAGE_CODE", "Invalid language code.");
			return;
		}
	if (own_title_taken(w, title)) {
		perr(r, "DUPLICATE_PROJECT", "You have already posted a project with this name.");
		r->status = 409;
		return;
	}
	p = world_add_project(w);
	if (!p)
		abort();
	tmp.id = p->id;
	*p = tmp;
	p->owner_id = w->self_id;
	p->time_submitted = p->time_updated = w->now;
	p->hourly = type && strcmp(type, "hourly") == 0;
	p->status = PS_ACTIVE;
	p->country = world_self(w)->country;
	p->title = strdup(title);
	p->description = strdup(desc);
	if (!p->title || !p->description)
		abort();
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
	if (p->owner_id != w->self_id) {
		req_error(r, 403, "AuthorisationExceptionCodes.PERMISSION_DENIED", "Only the project owner can invite.");
		return;
	}
	if (!fid || !world_user(w, fid) || fid == w->self_id) {
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
