/*
 * ep_reference.c — the reference tables: Get Currencies, Get Jobs (with the
 * jobs[], job_names[] and seo_urls[] filters) and Get Categories.
 */
#include <string.h>
#include <strings.h>

#include "flmock.h"

void ep_currencies(struct fm_req *r)
{
	size_t i;

	jw_obj(&r->jw);
	jw_karr(&r->jw, "currencies");
	for (i = 0; i < ref_ncurrencies; i++)
		out_currency(&r->jw, (int)i);
	jw_end_arr(&r->jw);
	jw_end_obj(&r->jw);
}

/* A string list parameter "key[]" holds `val` (or was not given at all). */
static bool listed(const struct fm_req *r, const char *key, const char *val)
{
	size_t i;
	bool given = false;

	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].key, key) != 0)
			continue;
		given = true;
		if (strcasecmp(r->params[i].val, val) == 0)
			return true;
	}
	return !given;
}

void ep_jobs(struct fm_req *r)
{
	struct idset ids;
	size_t i;

	if (!req_ids(r, "jobs", &ids))
		return;
	jw_arr(&r->jw);
	for (i = 0; i < ref_njobs; i++) {
		const struct job *j = &ref_jobs[i];

		if ((ids.on && !idset_has(&ids, j->id)) || !listed(r, "job_names[]", j->name) ||
		    !listed(r, "seo_urls[]", j->seo_url))
			continue;
		out_job(&r->jw, j);
	}
	jw_end_arr(&r->jw);
	idset_free(&ids);
}

void ep_categories(struct fm_req *r)
{
	struct idset ids;
	size_t i, j;
	bool jobs = req_flag(r, "job_details");

	if (!req_ids(r, "categories", &ids))
		return;
	jw_obj(&r->jw);
	jw_karr(&r->jw, "categories");
	for (i = 0; i < ref_ncategories; i++) {
		const struct category *c = &ref_categories[i];

		if (ids.on && !idset_has(&ids, c->id))
			continue;
		jw_obj(&r->jw);
		jw_kint(&r->jw, "id", c->id);
		jw_kstr(&r->jw, "name", c->name);
		if (jobs) {
			jw_karr(&r->jw, "jobs");
			for (j = 0; j < ref_njobs; j++)
				if (ref_jobs[j].category_id == c->id)
					out_job(&r->jw, &ref_jobs[j]);
			jw_end_arr(&r->jw);
		}
		jw_end_obj(&r->jw);
	}
	jw_end_arr(&r->jw);
	jw_end_obj(&r->jw);
	idset_free(&ids);
}
