/*
 * actions.h — the write queue's internals, shared by actions.c (the public
 * enqueue/cancel/retry/inspect calls and the optimistic effects),
 * action_kinds.c (what each kind takes and how it is sent) and action_replay.c
 * (sending queued actions to the API).
 */
#ifndef FL_ACTIONS_H
#define FL_ACTIONS_H

#include <stdbool.h>

#include "store.h"

enum field_type {
	FT_ID,      /* a positive integer id, or a local reference where ref allows */
	FT_INT,     /* an integer in [min, max] */
	FT_AMOUNT,  /* a number > 0 */
	FT_NUMBER,  /* a number in [min, max] */
	FT_TEXT,    /* a non-empty string */
	FT_ENUM,    /* one of values */
	FT_IDS,     /* a non-empty array of positive integer ids */
	FT_OBJ_ID,  /* an object with a positive integer "id" ({"id": 1}) */
	FT_BUDGET,  /* {"minimum": >0, "maximum": >= minimum (optional)} */
	FT_JOBS,    /* a non-empty array of {"id": positive integer} */
	FT_BOOL,
};

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	const char *ref;            /* the noun of local references it accepts ("bid"), or NULL */
	const char *fk;             /* table whose row it names (a stub is made when unknown), or NULL */
	const char *const *values;  /* FT_ENUM */
	double min, max;            /* FT_INT / FT_NUMBER range */
};

enum body_kind { BODY_JSON, BODY_FORM, BODY_NONE };

struct kind_spec {
	const char *kind;             /* "bid.create" */
	const char *creates;          /* noun of what it creates ("bid"), or NULL */
	const char *table;            /* the entity table its effect touches, or NULL */
	const char *target;           /* parameter naming the row acted on ("bid_id"), or NULL */
	const struct field_spec *fields; /* terminated by a NULL name */
	const char *insert_sql;       /* optimistic row of a creating kind (see actions.c) */
	const char *set_cols;         /* columns an updating kind changes, comma separated */
	const char *set_sql;          /* "award_status = 'awarded', time_awarded = :now" */
	/* how replay sends it */
	const char *method;           /* "POST" / "PUT" */
	const char *path;             /* "/api/projects/0.1/bids/{bid_id}/" */
	const char *action;           /* "award" for ?action=award, or NULL */
	enum body_kind body;
	const char *result_collection;/* where the created object is in result: NULL = result itself */
	/* what enqueue fills in */
	const char *acting_user;      /* the parameter naming the acting user, the account by default */
	bool client_message_id;       /* a stable client_message_id: a resend after a crash returns the original */
};

/* The spec of kind, or NULL when there is no such kind. */
const struct kind_spec *action_kind(const char *kind);

/*
 * An "already" error: the API refused the action because its effect, or
 * one like it, is there already (DUPLICATE_BID, REVIEW_ALREADY_RATED_USER,
 * FREELANCER_ALREADY_INVITED, ...).  On a first send it is a failure the
 * user must see; only after an uncertain send is what is there compared
 * with what was sent.
 */
struct already_spec {
	const char *kind;             /* "bid.create" */
	const char *code;             /* the code without its namespace: "DUPLICATE_BID" */
	const char *differs;          /* the failure when what is there is not what was sent */
	bool one_only;                /* the API keeps one such object: a different one found
	                                 before a resend fails the action without sending */
};

/*
 * The "already" error of kind that error_code ("ProjectExceptionCodes.
 * DUPLICATE_BID" or the bare code) is, or NULL when it is none.
 */
const struct already_spec *action_already(const char *kind, const char *error_code);

/* The kind's first "already" entry (its wording and one_only), or NULL when it has none. */
const struct already_spec *action_already_any(const char *kind);

/*
 * Check params (already known to be a JSON object) against spec.  On failure
 * returns FL_ERR_INVALID with a message naming the field in err.
 */
int action_validate(struct fl_db *db, const struct kind_spec *spec, const char *params,
		    struct fl_error *err);

/*
 * After the API refused an action (error_code, with or without namespace)
 * that names a project in its resolved params: what the refusal says of the
 * project, stored (PROJECT_DELETED marks it deleted), and a read of it by id
 * asked for.  Other refusals: nothing to do.  Runs in the caller's transaction.
 */
int action_refused(struct fl_db *db, const char *resolved, const char *error_code);

/* Take back action id's optimistic effect (none recorded: nothing to do). */
int action_undo(struct fl_db *db, int64_t id);

/*
 * Set action id to state ('cancelled' or 'failed'), undoing its effect, after
 * doing the same to every queued action that depends on it (their rows point
 * at its local row).  why, when not NULL, is kept as the error message of
 * actions that have none.
 */
int action_end_tree(struct fl_db *db, int64_t id, const char *state, const char *why);

/* Parse "local:<noun>:<action id>"; true when s is one. */
bool action_local_ref(const char *s, const char *noun, int64_t *out_action);

/* Local object id of the object action `id` creates (negative: never an API id). */
static inline int64_t action_local_id(int64_t id) { return -id; }

#endif
