/*
 * stream_bids.c — bids: the account's own (bidders[]) and those on its
 * projects (project_owners[]), both in windows on created time; bids not yet
 * final (awarded, pending, unpaid) are re-read by bids[] batches each pass,
 * newest first, since a created-time window never sees them change.
 */
#include <stdio.h>

#include "sync_internal.h"

static const char *const award_statuses[] = { "awarded", "rejected", "revoked", "pending", "canceled", NULL };
static const char *const paid_statuses[] = { "unpaid", "partly paid", "fully paid", NULL };
static const char *const complete_statuses[] = { "pending", "incomplete", "complete", NULL };
static const char *const frontend_statuses[] = { "active", "in progress", "complete", NULL };

/* A bid's row: one line a column (sync_columns.c); the stubs it names in the order of the columns. */
static const struct sync_column bid_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "bidder_id", COL_INT, .path = "bidder_id", .ref = REF_USER },
	{ "project_owner_id", COL_INT, .path = "project_owner_id", .ref = REF_USER },
	{ "project_id", COL_INT, .path = "project_id", .ref = REF_PROJECT },
	{ "amount", COL_REAL, .path = "amount" },
	{ "period", COL_INT, .path = "period" },
	{ "description", COL_TEXT, .path = "description" },
	{ "award_status", COL_ENUM, .path = "award_status", .values = award_statuses },
	{ "paid_status", COL_ENUM, .path = "paid_status", .values = paid_statuses },
	{ "complete_status", COL_ENUM, .path = "complete_status", .values = complete_statuses },
	{ "frontend_bid_status", COL_ENUM, .path = "frontend_bid_status", .values = frontend_statuses },
	{ "retracted", COL_BOOL, .path = "retracted" },
	{ "highlighted", COL_BOOL, .path = "highlighted" },
	{ "shortlisted", COL_BOOL, .path = "shortlisted" },
	{ "time_submitted", COL_INT, .path = "time_submitted" },
	{ "time_awarded", COL_INT, .path = "time_awarded" },
	{ "time_accepted", COL_INT, .path = "time_accepted" },
	{ "deleted", COL_FIXED, .value = "0", .set = "deleted = 0" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity bid_entity = {
	.table = "bids", .conflict = "id", .cols = bid_cols, .slot = SLOT_BID, .what = "store bid", .look = true,
};

int row_bid(struct sync_run *run, const struct json_item *it)
{
	int64_t id, v;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a bid without an id");
	rc = sync_entity_store(run, &bid_entity, &id, NULL, it);
	/* A changed bid may come with milestone changes on its project. */
	if (!rc && run->changed && json_int(it, "project_id", &v))
		rc = sync_touch_project(run, v);
	return rc;
}

static bool bid_created(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_submitted", out);
}

static int bids_window(struct sync_run *run, const char *stream, const char *filter)
{
	char base[256];
	struct sync_window_spec spec = {
		.stream = stream, .base_query = base, .collection = "bids",
		.from_param = "from_time", .to_param = "to_time",
		.store = row_bid, .time = bid_created,
	};

	snprintf(base, sizeof base, "/api/projects/0.1/bids/?%s=%lld", filter, (long long)run->self_id);
	return sync_window(run, &spec);
}

int stream_bids_own(struct sync_run *run)
{
	return bids_window(run, "bids", "bidders[]");
}

int stream_bids_on_own_projects(struct sync_run *run)
{
	return bids_window(run, "bids_received", "project_owners[]");
}

int stream_bids_refresh(struct sync_run *run)
{
	return sync_by_ids_vanish(run,
		"SELECT id FROM bids WHERE deleted = 0 AND (bidder_id = :self OR project_owner_id = :self) "
		"AND synced_at < :now AND coalesce(retracted, 0) = 0 "
		"AND coalesce(award_status, 'pending') IN ('pending', 'awarded') "
		"AND coalesce(complete_status, '') <> 'complete' AND coalesce(paid_status, '') <> 'fully paid' "
		"ORDER BY time_submitted DESC",
		"/api/projects/0.1/bids/", "bids[]", "bids", row_bid,
		"id", "bids", "UPDATE bids SET deleted = 1 WHERE id = ?1 AND deleted = 0", 0);
}
