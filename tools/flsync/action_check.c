/*
 * action_check.c — what a person queues that the API will surely refuse,
 * caught before it is queued: a second bid on a project the account has a
 * bid on (the API answers DUPLICATE_BID), a thread id no synced thread has.
 * The library queues actions on objects it has not synced (a program may
 * know better, and the API decides); flsync queue add and flsync ui act for
 * a person, who is better served by a reason now than a failure later.
 */
#include <string.h>

#include "tool.h"

/* One integer of a query on (params ?1, ...); -1 when no row or an error. */
static int64_t ask_int(struct fl_db *db, const char *sql, const char *params)
{
	struct fl_stmt *st;
	int64_t v = -1;
	int row = 0;

	if (fl_stmt_prepare(db, sql, &st) != FL_OK)
		return -1;
	fl_stmt_bind_text(st, 1, params, -1);
	if (fl_stmt_step(st, &row) == FL_OK && row && fl_stmt_column_type(st, 0) != FL_TYPE_NULL)
		v = fl_stmt_column_int64(st, 0);
	fl_stmt_finalize(st);
	return v;
}

/* A message.send, thread.read, ... on a thread id (a number, not a local reference) nobody synced. */
static bool unknown_thread(struct fl_db *db, const char *params, char *why, size_t n)
{
	int64_t id = ask_int(db, "SELECT json_extract(?1, '$.thread_id') WHERE json_valid(?1) "
			     "AND json_type(?1, '$.thread_id') = 'integer'", params);

	if (id <= 0 || ask_int(db, "SELECT EXISTS (SELECT 1 FROM threads WHERE id = "
			       "json_extract(?1, '$.thread_id') AND (raw IS NOT NULL OR local_state IS NOT NULL))",
			       params) != 0)
		return false;
	snprintf(why, n, "no thread %lld in the database: flsyncd has synced none with that id, so the API "
		 "would refuse it; see the threads with flsync query 'SELECT id, context_type, context_id "
		 "FROM threads'", (long long)id);
	return true;
}

/* A bid.create on a project the account already has a live bid on. */
static bool second_bid(struct fl_db *db, const char *params, char *why, size_t n)
{
	int64_t project = ask_int(db, "SELECT json_extract(?1, '$.project_id') WHERE json_valid(?1) "
				  "AND json_type(?1, '$.project_id') = 'integer'", params);
	int64_t bid;

	if (project <= 0)
		return false;
#define LIVE_BID "FROM bids b WHERE b.project_id = json_extract(?1, '$.project_id') " \
	"AND b.bidder_id = (SELECT id FROM users WHERE is_self = 1) AND b.deleted = 0 " \
	"AND coalesce(b.retracted, 0) = 0 AND coalesce(b.local_state, '') <> 'failed'"
	if (ask_int(db, "SELECT EXISTS (SELECT 1 " LIVE_BID ")", params) != 1)
		return false;
	/* A queued bid's row has the id -action (a local id). */
	bid = ask_int(db, "SELECT b.id " LIVE_BID " ORDER BY b.local_state IS NULL DESC, b.id DESC LIMIT 1", params);
	if (bid < 0)
		snprintf(why, n, "a bid on project %lld is already queued (action %lld): the API takes one bid "
			 "per project and answers a second with DUPLICATE_BID; cancel that action first",
			 (long long)project, (long long)-bid);
	else
		snprintf(why, n, "you already bid on project %lld (bid %lld): the API takes one bid per project "
			 "and answers a second with DUPLICATE_BID; change that bid instead (bid.update with "
			 "bid_id %lld)", (long long)project, (long long)bid,
			 (long long)bid);
	return true;
}

/* The kinds checked, and how. */
static const struct {
	const char *kind;
	bool (*refused)(struct fl_db *db, const char *params, char *why, size_t n);
} checks[] = {
	{ "bid.create", second_bid },
	{ "message.send", unknown_thread },
	{ "thread.read", unknown_thread },
	{ "thread.archive", unknown_thread },
	{ "thread.mute", unknown_thread },
};

bool tool_action_refused(struct fl_db *db, const char *kind, const char *params, char *why, size_t n)
{
	for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
		if (!strcmp(checks[i].kind, kind) && checks[i].refused(db, params, why, n))
			return true;
	return false;
}
