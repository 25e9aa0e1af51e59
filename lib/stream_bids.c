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

int row_bid(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id, v;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a bid without an id");
	if (json_int(it, "bidder_id", &v) && (rc = sync_ref(run, REF_USER, v)))
		return rc;
	if (json_int(it, "project_owner_id", &v) && (rc = sync_ref(run, REF_USER, v)))
		return rc;
	if (json_int(it, "project_id", &v) && (rc = sync_ref(run, REF_PROJECT, v)))
		return rc;
	if (sync_same_raw(run, SLOT_BID, "bids", id, it))
		return FL_OK;
	rc = sync_stmt(run, SLOT_BID,
		"INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, description, "
		"award_status, paid_status, complete_status, frontend_bid_status, retracted, highlighted, "
		"shortlisted, time_submitted, time_awarded, time_accepted, deleted, local_state, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0, NULL, ?18, ?19) "
		"ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, bidder_id = excluded.bidder_id, "
		"project_owner_id = excluded.project_owner_id, amount = excluded.amount, period = excluded.period, "
		"description = excluded.description, award_status = excluded.award_status, "
		"paid_status = excluded.paid_status, complete_status = excluded.complete_status, "
		"frontend_bid_status = excluded.frontend_bid_status, retracted = excluded.retracted, "
		"highlighted = excluded.highlighted, shortlisted = excluded.shortlisted, "
		"time_submitted = excluded.time_submitted, time_awarded = excluded.time_awarded, "
		"time_accepted = excluded.time_accepted, deleted = 0, local_state = NULL, raw = excluded.raw, "
		"synced_at = excluded.synced_at WHERE bids.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sync_bind_int(st, 2, it, "project_id");
	sync_bind_int(st, 3, it, "bidder_id");
	sync_bind_int(st, 4, it, "project_owner_id");
	sync_bind_real(st, 5, it, "amount");
	sync_bind_int(st, 6, it, "period");
	sync_bind_text(st, 7, it, "description");
	sync_bind_enum(st, 8, it, "award_status", award_statuses);
	sync_bind_enum(st, 9, it, "paid_status", paid_statuses);
	sync_bind_enum(st, 10, it, "complete_status", complete_statuses);
	sync_bind_enum(st, 11, it, "frontend_bid_status", frontend_statuses);
	sync_bind_bool(st, 12, it, "retracted");
	sync_bind_bool(st, 13, it, "highlighted");
	sync_bind_bool(st, 14, it, "shortlisted");
	sync_bind_int(st, 15, it, "time_submitted");
	sync_bind_int(st, 16, it, "time_awarded");
	sync_bind_int(st, 17, it, "time_accepted");
	sync_bind_raw(st, 18, it);
	sqlite3_bind_int64(st, 19, run->server_now);
	rc = sync_upsert(run, SLOT_BID, st, "store bid", id);
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
