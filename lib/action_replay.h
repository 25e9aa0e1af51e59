/*
 * action_replay.h — what action_replay.c (sending queued actions) and action_probe.c
 * (reading an action's effect back from the server and comparing it with
 * what was sent) share: the action being sent, the collector of a result
 * object, and the probe's entry point.
 */
#ifndef FL_ACTION_REPLAY_H
#define FL_ACTION_REPLAY_H

#include "actions.h"
#include "buf.h"
#include "sync_internal.h"

struct pending {
	int64_t id;
	char kind[40];
	char *params;             /* as queued, with local references */
	char *resolved;           /* local references replaced by server ids */
	int attempts;
	bool was_sending;         /* found in 'sending': the request may have gone out */
	const struct kind_spec *spec;
};

/* Collects a result object: its raw JSON and id, stored through store when set. */
struct result_ctx {
	struct sync_run *run;
	sync_store_fn store;
	struct buf raw;           /* the result object's JSON */
	int64_t id;               /* its id (transaction_id for milestones) */
};

/* json_item_fn over a result_ctx: keeps the item's raw and id, and stores it. */
int replay_on_result(void *ctx, const struct json_item *it);

/* A text value from one row of sql with ?1 = a and ?2 = b (b may be NULL); malloc'd, NULL if none. */
char *replay_query_text(struct sync_run *run, const char *sql, const char *a, const char *b);

/* Integer parameter `name` of the JSON object params; 0 when absent. */
int64_t replay_param_int(struct sync_run *run, const char *params, const char *name);

/* The row store of objects of the table ("bids" -> row_bid), or NULL. */
sync_store_fn replay_table_store(const char *table);

enum probe_mode {
	PROBE_BEFORE_RESEND,      /* the send was uncertain: is its effect on the server? */
	PROBE_AFTER_ALREADY,      /* the API answered "already": what is there? */
};

enum probe_outcome {
	PROBE_NONE,               /* nothing of the kind found */
	PROBE_SAME,               /* found, and it holds what was sent (or the target is in the state set) */
	PROBE_DIFFERENT,          /* found, but not what was sent */
};

/*
 * Read action p's object back from the server, inside the open
 * transaction.  res collects the object found (res->store, when set, stores
 * every candidate read); *out says whether it is what p sent.  Returns
 * FL_OK, or the request's error (in run->err).
 */
int action_probe(struct sync_run *run, const struct pending *p, enum probe_mode mode,
		 struct result_ctx *res, enum probe_outcome *out);

#endif
