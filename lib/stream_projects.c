/*
 * stream_projects.c — projects: the account's own (GET /projects/ with
 * owners[], windows on created time), market searches from the config
 * (GET /projects/active/, windows on last-updated time), and freshness: own
 * projects, projects the account bid on, and projects known only by id are
 * re-read by projects[] batches until final; ones that vanish are marked
 * deleted.  The jobs of each changed project land in project_jobs.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "sync_internal.h"

/* Projections every project read asks for. */
#define PROJECT_DETAILS "full_description=true&job_details=true&upgrade_details=true"

static const char *const project_types[] = { "fixed", "hourly", NULL };

/* A project's row: one line a column (sync_columns.c). */
static const struct sync_column project_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "owner_id", COL_INT, .path = "owner_id", .ref = REF_USER },
	{ "title", COL_TEXT, .path = "title" },
	{ "seo_url", COL_TEXT, .path = "seo_url" },
	{ "preview_description", COL_TEXT, .path = "preview_description" },
	/* A read without full_description keeps the description stored. */
	{ "description", COL_TEXT, .path = "description", .set = "description = coalesce(excluded.description, projects.description)" },
	{ "type", COL_ENUM, .path = "type", .values = project_types },
	{ "status", COL_TEXT, .path = "status" },
	{ "sub_status", COL_TEXT, .path = "sub_status" },
	{ "frontend_project_status", COL_TEXT, .path = "frontend_project_status" },
	{ "currency_id", COL_INT, .path = "currency.id", .ref = REF_CURRENCY },
	{ "budget_minimum", COL_REAL, .path = "budget.minimum" },
	{ "budget_maximum", COL_REAL, .path = "budget.maximum" },
	{ "bid_count", COL_INT, .path = "bid_stats.bid_count" },
	{ "bid_avg", COL_REAL, .path = "bid_stats.bid_avg" },
	{ "language", COL_TEXT, .path = "language" },
	{ "hireme", COL_BOOL, .path = "hireme" },
	{ "nonpublic", COL_BOOL, .path = "nonpublic" },
	{ "time_submitted", COL_INT, .path = "time_submitted" },
	{ "time_updated", COL_INT, .path = "time_updated" },
	{ "deleted", COL_BOOL, .path = "deleted", .value = "coalesce(?, 0)" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity project_entity = {
	.table = "projects", .conflict = "id", .cols = project_cols, .where = " " NEWER_OR_SAME("projects"),
	.slot = SLOT_PROJECT, .what = "store project", .look = true,
};

int row_project(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id, job;
	char path[32];
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a project without an id");
	rc = sync_entity_store(run, &project_entity, &id, NULL, it);
	if (rc || !run->changed)
		return rc;

	/* A changed project: its milestones may have changed too, and its jobs. */
	rc = sync_touch_project(run, id);
	if (rc || !json_get(it, "jobs.0.id"))
		return rc;
	rc = sync_stmt(run, SLOT_PROJECT_JOBS_DEL, "DELETE FROM project_jobs WHERE project_id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sync_step_aux(run, st, "clear jobs of project", id)))
		return rc;
	for (int i = 0;; i++) {
		snprintf(path, sizeof path, "jobs.%d.id", i);
		if (!json_int(it, path, &job))
			break;
		if ((rc = sync_ref(run, REF_JOB, job)))
			return rc;
		rc = sync_stmt(run, SLOT_PROJECT_JOB,
			       "INSERT INTO project_jobs(project_id, job_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
			       &st);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, job);
		if ((rc = sync_step_aux(run, st, "store job of project", id)))
			return rc;
	}
	return FL_OK;
}

static bool project_created(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_submitted", out);
}

static bool project_updated(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_updated", out) || json_int(it, "time_submitted", out);
}

int stream_projects_own(struct sync_run *run)
{
	char base[256];
	struct sync_window_spec spec = {
		.stream = "projects", .base_query = base, .collection = "projects",
		.from_param = "from_time", .to_param = "to_time",
		.store = row_project, .time = project_created,
	};

	snprintf(base, sizeof base, "/api/projects/0.1/projects/?owners[]=%lld&" PROJECT_DETAILS,
		 (long long)run->self_id);
	return sync_window(run, &spec);
}

/* One window stream per configured search: its cursor is its own. */
int stream_projects_market(struct sync_run *run)
{
	const struct sync_options *o = run->opt;
	struct buf base, name;
	int rc = FL_OK;

	if (o->n_market_queries == 0 && o->n_market_jobs == 0)
		return FL_OK;
	buf_init(&base, 4096);
	buf_init(&name, 512);
	for (int i = 0; !rc && i < (o->n_market_queries ? o->n_market_queries : 1); i++) {
		const char *query = o->n_market_queries ? o->market_queries[i] : NULL;
		struct sync_window_spec spec = {
			.collection = "projects", .from_param = "from_time", .to_param = "to_time",
			.store = row_project, .time = project_updated,
		};
		char *esc = query ? curl_easy_escape(NULL, query, 0) : NULL;

		buf_reset(&base);
		buf_reset(&name);
		/*
		 * Search for Projects sorts descending by score or by time posted
		 * unless told otherwise; the windows page by last-updated time,
		 * ascending, so ask for exactly that order.
		 */
		buf_puts(&base, "/api/projects/0.1/projects/active/?" PROJECT_DETAILS
			 "&sort_field=time_updated&reverse_sort=true");
		buf_puts(&name, "projects_market");
		if (esc) {
			buf_printf(&base, "&query=%s", esc);
			buf_printf(&name, ":%s", query);
		}
		curl_free(esc);
		for (int j = 0; j < o->n_market_jobs; j++) {
			buf_printf(&base, "&jobs[]=%lld", (long long)o->market_jobs[j]);
			buf_printf(&name, "%sjob %lld", j ? "," : " ", (long long)o->market_jobs[j]);
		}
		if (!base.data || !name.data) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "out of memory");
			break;
		}
		spec.stream = name.data;
		spec.base_query = base.data;
		rc = sync_window(run, &spec);
	}
	buf_free(&base);
	buf_free(&name);
	return rc;
}

int stream_projects_refresh(struct sync_run *run)
{
	/*
	 * Final: closed or complete.  Stubs (raw IS NULL) are fetched for the
	 * first time.  Rows this pass's windows just stored are fresh already.
	 * Stubs have no time yet: id DESC orders them as the projects_time
	 * index always did, whether or not a first sync has it (sync_indexes.c).
	 */
	return sync_by_ids_vanish(run,
		"SELECT id FROM projects WHERE deleted = 0 AND (raw IS NULL OR "
		"((owner_id = :self OR id IN (SELECT project_id FROM bids WHERE bidder_id = :self)) "
		"AND coalesce(status, '') NOT IN ('closed', 'complete') AND synced_at < :now)) "
		"ORDER BY time_submitted DESC, id DESC",
		"/api/projects/0.1/projects/?" PROJECT_DETAILS, "projects[]", "projects", row_project,
		"id", "projects", "UPDATE projects SET deleted = 1 WHERE id = ?1 AND deleted = 0", 0);
}
