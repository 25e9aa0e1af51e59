/*
 * stream_milestones.c — milestones and milestone requests.  Neither endpoint
 * has a time filter (see Get Milestones, Get Milestone Requests): each pass
 * reads them by projects[] batches for the account's projects touched in the
 * pass, and on the slower milestones_all_s cadence lists all of the
 * account's (bidders[]=self, then project_owners[]=self), which also finds
 * new ones on projects nothing else touched.  Only the account's own are
 * kept: a project's other freelancers' milestones are not its business.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync_internal.h"

static const char *const milestone_statuses[] = {
	"disputed", "requested_release", "pending", "frozen", "cleared", "canceled", NULL };
static const char *const milestone_request_statuses[] = { "deleted", "rejected", "pending", "created", NULL };

/* Ids of id-keyed maps: the field, or else the map key. */
static bool item_id(const struct json_item *it, const char *field, int64_t *out)
{
	char *end;

	if (json_int(it, field, out))
		return true;
	if (!it->key)
		return false;
	*out = strtoll(it->key, &end, 10);
	return *end == '\0' && *out > 0;
}

/* The account is the milestone's freelancer or its employer. */
static bool mine(const struct sync_run *run, const struct json_item *it)
{
	int64_t v;

	return (json_int(it, "bidder_id", &v) && v == run->self_id) ||
	       (json_int(it, "project_owner_id", &v) && v == run->self_id);
}

/*
 * The rows: one line a column (sync_columns.c).  Milestones and milestone
 * requests share their first columns: the project, the bid, both parties,
 * the currency and the amount, each a stub row when not known yet.
 */
#define PARTIES \
	{ "id", COL_KEY, .set = "" }, \
	{ "project_id", COL_INT, .path = "project_id", .ref = REF_PROJECT }, \
	{ "bid_id", COL_INT, .path = "bid_id", .ref = REF_BID }, \
	{ "bidder_id", COL_INT, .path = "bidder_id", .ref = REF_USER }, \
	{ "project_owner_id", COL_INT, .path = "project_owner_id", .ref = REF_USER }, \
	{ "currency_id", COL_INT, .path = "currency.id", .ref = REF_CURRENCY }, \
	{ "amount", COL_REAL, .path = "amount" }

static const struct sync_column milestone_cols[] = {
	PARTIES,
	{ "status", COL_ENUM, .path = "status", .values = milestone_statuses },
	{ "reason", COL_TEXT, .path = "reason" },
	{ "description", COL_TEXT, .path = "description", .alt = "other_reason" },
	{ "is_from_prepaid", COL_BOOL, .path = "is_from_prepaid" },
	{ "time_created", COL_INT, .path = "time_created" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity milestone_entity = {
	.table = "milestones", .conflict = "id", .cols = milestone_cols, .slot = SLOT_MILESTONE,
	.what = "store milestone", .look = true,
};

static const struct sync_column milestone_request_cols[] = {
	PARTIES,
	{ "status", COL_ENUM, .path = "status", .values = milestone_request_statuses },
	{ "description", COL_TEXT, .path = "description" },
	{ "time_requested", COL_INT, .path = "time_requested" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity milestone_request_entity = {
	.table = "milestone_requests", .conflict = "id", .cols = milestone_request_cols, .slot = SLOT_MILESTONE_REQUEST,
	.what = "store milestone request", .look = true,
};

int row_milestone(struct sync_run *run, const struct json_item *it)
{
	int64_t id;

	if (!mine(run, it))
		return FL_OK;
	if (!item_id(it, "transaction_id", &id) && !item_id(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a milestone without a transaction_id");
	return sync_entity_store(run, &milestone_entity, &id, NULL, it);
}

int row_milestone_request(struct sync_run *run, const struct json_item *it)
{
	int64_t id;

	if (!mine(run, it))
		return FL_OK;
	if (!item_id(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a milestone request without an id");
	return sync_entity_store(run, &milestone_request_entity, &id, NULL, it);
}

/*
 * The account's projects touched in this pass; on the slow cadence, instead,
 * everything of the account's, by both filters (they are AND'd, see Filters).
 */
static int by_projects(struct sync_run *run, const char *stream, const char *path,
		       const char *collection, sync_store_fn fn)
{
	struct sync_cursor cur;
	int64_t asked;
	int rc = sync_state_load(run, stream, &cur);

	if (rc)
		return rc;
	if (!cur.last_success || run->server_now - cur.last_success >= run->opt->milestones_all_s) {
		static const char *const filters[] = { "bidders[]", "project_owners[]" };
		char base[2][256];
		const char *bases[2];

		for (int i = 0; i < 2; i++) {
			snprintf(base[i], sizeof base[i], "%s?%s=%lld", path, filters[i], (long long)run->self_id);
			bases[i] = base[i];
		}
		return sync_paged_all(run, bases, 2, collection, fn);
	}
	return sync_by_ids(run,
		"SELECT t.id FROM temp.touched_projects t JOIN projects p ON p.id = t.id "
		"WHERE p.owner_id = :self OR t.id IN (SELECT project_id FROM bids WHERE bidder_id = :self) "
		"ORDER BY 1 DESC", path, "projects[]", collection, fn, false, 0, &asked);
}

int stream_milestones(struct sync_run *run)
{
	return by_projects(run, "milestones", "/api/projects/0.1/milestones/", "milestones", row_milestone);
}

int stream_milestone_requests(struct sync_run *run)
{
	return by_projects(run, "milestone_requests", "/api/projects/0.1/milestone_requests/",
			   "milestone_requests", row_milestone_request);
}
