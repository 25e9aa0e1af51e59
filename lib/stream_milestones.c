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
static const char *const mreq_statuses[] = { "deleted", "rejected", "pending", "created", NULL };

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

static int refs(struct sync_run *run, const struct json_item *it)
{
	int64_t v;
	int rc = FL_OK;

	if (json_int(it, "project_id", &v))
		rc = sync_ref(run, REF_PROJECT, v);
	if (!rc && json_int(it, "bid_id", &v))
		rc = sync_ref(run, REF_BID, v);
	if (!rc && json_int(it, "bidder_id", &v))
		rc = sync_ref(run, REF_USER, v);
	if (!rc && json_int(it, "project_owner_id", &v))
		rc = sync_ref(run, REF_USER, v);
	if (!rc && json_int(it, "currency.id", &v))
		rc = sync_ref(run, REF_CURRENCY, v);
	return rc;
}

/*
 * Parameters 2-7, alike in milestones and milestone requests: the project,
 * the bid, both parties, the currency and the amount.
 */
static void bind_parties(sqlite3_stmt *st, const struct json_item *it)
{
	sync_bind_int(st, 2, it, "project_id");
	sync_bind_int(st, 3, it, "bid_id");
	sync_bind_int(st, 4, it, "bidder_id");
	sync_bind_int(st, 5, it, "project_owner_id");
	sync_bind_int(st, 6, it, "currency.id");
	sync_bind_real(st, 7, it, "amount");
}

int row_milestone(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (!mine(run, it))
		return FL_OK;
	if (!item_id(it, "transaction_id", &id) && !item_id(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a milestone without a transaction_id");
	if ((rc = refs(run, it)))
		return rc;
	if (sync_same_raw(run, SLOT_MILESTONE, "milestones", id, it))
		return FL_OK;
	rc = sync_stmt(run, SLOT_MILESTONE,
		"INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, "
		"status, reason, description, is_from_prepaid, time_created, local_state, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, ?14) "
		"ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, bid_id = excluded.bid_id, "
		"bidder_id = excluded.bidder_id, project_owner_id = excluded.project_owner_id, "
		"currency_id = excluded.currency_id, amount = excluded.amount, status = excluded.status, "
		"reason = excluded.reason, description = excluded.description, "
		"is_from_prepaid = excluded.is_from_prepaid, time_created = excluded.time_created, "
		"local_state = NULL, raw = excluded.raw, synced_at = excluded.synced_at "
		"WHERE milestones.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	bind_parties(st, it);
	sync_bind_enum(st, 8, it, "status", milestone_statuses);
	sync_bind_text(st, 9, it, "reason");
	if (json_get(it, "description"))
		sync_bind_text(st, 10, it, "description");
	else
		sync_bind_text(st, 10, it, "other_reason");
	sync_bind_bool(st, 11, it, "is_from_prepaid");
	sync_bind_int(st, 12, it, "time_created");
	sync_bind_raw(st, 13, it);
	sqlite3_bind_int64(st, 14, run->server_now);
	return sync_upsert(run, SLOT_MILESTONE, st, "store milestone", id);
}

int row_milestone_request(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (!mine(run, it))
		return FL_OK;
	if (!item_id(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a milestone request without an id");
	if ((rc = refs(run, it)))
		return rc;
	if (sync_same_raw(run, SLOT_MREQ, "milestone_requests", id, it))
		return FL_OK;
	rc = sync_stmt(run, SLOT_MREQ,
		"INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, "
		"amount, status, description, time_requested, local_state, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12) "
		"ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, bid_id = excluded.bid_id, "
		"bidder_id = excluded.bidder_id, project_owner_id = excluded.project_owner_id, "
		"currency_id = excluded.currency_id, amount = excluded.amount, status = excluded.status, "
		"description = excluded.description, time_requested = excluded.time_requested, "
		"local_state = NULL, raw = excluded.raw, synced_at = excluded.synced_at "
		"WHERE milestone_requests.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	bind_parties(st, it);
	sync_bind_enum(st, 8, it, "status", mreq_statuses);
	sync_bind_text(st, 9, it, "description");
	sync_bind_int(st, 10, it, "time_requested");
	sync_bind_raw(st, 11, it);
	sqlite3_bind_int64(st, 12, run->server_now);
	return sync_upsert(run, SLOT_MREQ, st, "store milestone request", id);
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
