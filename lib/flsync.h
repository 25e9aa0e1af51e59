/*
 * flsync.h — the public interface of libflsync.
 *
 * libflsync keeps a local, normalised SQLite copy of one Freelancer.com
 * account's working data (projects, bids, milestones, reviews, threads,
 * messages and the users they reference).  flsyncd fills the database; any
 * program may open it through this library, query it and queue write
 * actions.
 *
 * Conventions, for every function below:
 *
 *   - A function that can fail returns an int result code: FL_OK (0) on
 *     success, one of the FL_ERR_* codes otherwise.  The numbers never change;
 *     new codes are only ever appended.
 *   - Results come back through out-parameters named out / out_*.  On failure
 *     an out-parameter is set to NULL (or 0) before the function returns.
 *   - fl_strerror(rc) gives a static description of a code; fl_errmsg(db)
 *     gives the detailed message of the last failed call on that handle.
 *   - A returned "char *" belongs to the caller and is freed with fl_free();
 *     a returned "const char *" is borrowed, for as long as the function's
 *     documentation says.
 *   - The library never aborts, never exits and never prints.  Out of memory
 *     is reported as FL_ERR_NOMEM.
 *   - Handles are not thread-safe: use one handle per thread.  Distinct
 *     handles may be used from distinct threads at the same time, on the same
 *     database file too (SQLite's WAL mode lets readers run beside a writer).
 */
#ifndef FLSYNC_H
#define FLSYNC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FL_BUILDING_LIBRARY)
#define FL_API __attribute__((visibility("default")))
#else
#define FL_API
#endif

/*
 * Result codes.  Append only: a code's number is part of the ABI and of the
 * exit status contract of the tools.
 */
enum fl_code {
	FL_OK = 0,           /* success */
	FL_ERR_NOMEM = 1,    /* out of memory */
	FL_ERR_MISUSE = 2,   /* bad argument or call sequence (a bug in the caller) */
	FL_ERR_DB = 3,       /* SQLite reported an error; fl_errmsg() has its text */
	FL_ERR_SCHEMA = 4,   /* the database was written by a newer flsync, or its schema is damaged */
	FL_ERR_BUSY = 5,     /* the database stayed locked by another process past the busy timeout */
	FL_ERR_READONLY = 6, /* the database (or its directory) cannot be written */
	FL_ERR_IO = 7,       /* a file could not be opened, read or written (disk full, permissions) */
	FL_ERR_NETWORK = 8,  /* connection failed, was reset, or TLS failed */
	FL_ERR_TIMEOUT = 9,  /* the server did not answer in time, or a wait ran out */
	FL_ERR_HTTP = 10,    /* the server answered with an HTTP error and no API error envelope */
	FL_ERR_API = 11,     /* the API answered with an error envelope (error_code, message) */
	FL_ERR_PARSE = 12,   /* the response body was not the JSON the API sends */
	FL_ERR_TOO_BIG = 13, /* a response exceeded a size or nesting cap */
	FL_ERR_RATE_LIMITED = 14, /* HTTP 429: the endpoint's rate limit was reached */
	FL_ERR_NOT_FOUND = 15,    /* the requested object does not exist */
	FL_ERR_ABORTED = 16,      /* a callback asked to stop */
	FL_ERR_LOCKED = 17,       /* another flsyncd already syncs this database */
	FL_ERR_INVALID = 18,      /* input refused by validation (an action's kind or parameters, a query) */
	FL_ERR_STATE = 19,        /* not possible in the object's current state (cancel a sent action) */
	FL_ERR_AUTH = 20,         /* the API refused the token, or the sign-in has ended (flsync auth login) */
	FL_ERR_PRUNED = 21,       /* the change feed no longer holds the changes asked for: re-read everything */
};

/*
 * fl_strerror — a static, human-readable description of a result code.
 * Never returns NULL; unknown codes give "unknown error".  Thread-safe.
 */
FL_API const char *fl_strerror(int rc);

/*
 * fl_libversion — the library's version string, e.g. "0.1.0".  Static.
 */
FL_API const char *fl_libversion(void);

/*
 * fl_free — release memory the library returned as "char *" or as an array.
 * NULL is accepted and ignored.
 */
FL_API void fl_free(void *p);

/* ---------------------------------------------------------------------------
 * Database handles
 */

/* An open flsync database.  Opaque. */
struct fl_db;

/* Flags for fl_db_open(). */
enum fl_open_flags {
	FL_OPEN_READONLY = 0x01, /* query only; never creates, migrates or writes */
	FL_OPEN_CREATE = 0x02,   /* create the file if it does not exist */
};

/*
 * fl_db_open — open (and, with FL_OPEN_CREATE, create) the database at path.
 *
 * A read-write open brings the schema up to date: every migration the
 * library embeds and the file lacks is applied, all in one transaction, and
 * PRAGMA user_version records the result.  A file whose user_version is newer
 * than this library knows is refused with FL_ERR_SCHEMA and left untouched.
 * A read-only open never migrates: an older schema is refused with
 * FL_ERR_SCHEMA too.
 *
 * The connection runs in WAL mode with foreign keys enforced and a busy
 * timeout (see fl_db_busy_timeout()).
 *
 * On success *out is the new handle, to be closed with fl_db_close().  On
 * failure *out is NULL and, where a handle could be made at all, the detail
 * is lost with it: use fl_db_open_errmsg() for the message of the last failed
 * open in this thread.
 *
 * Returns FL_OK, FL_ERR_MISUSE, FL_ERR_NOMEM, FL_ERR_IO (cannot open or
 * create the file), FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_SCHEMA or FL_ERR_DB.
 */
FL_API int fl_db_open(const char *path, int flags, struct fl_db **out);

/*
 * fl_db_readonly — how db was opened: 0 read-write; FL_DB_READONLY
 * (FL_OPEN_READONLY: reads see what writers commit meanwhile);
 * FL_DB_SNAPSHOT (FL_OPEN_READONLY on a file whose directory cannot hold
 * the WAL index, a read-only backup or share: the file is read as it
 * stands, immutable, and commits still in its "-wal" file, or made later,
 * are not seen); -1 when db is NULL.
 *
 * A read-only open of a read-only file or directory never writes: the file
 * is opened read-only ("file:...?mode=ro"), falling back to
 * "immutable=1" when SQLite cannot read it that way, and runs no PRAGMA
 * that writes.
 */
enum fl_db_readonly_kind {
	FL_DB_READONLY = 1,
	FL_DB_SNAPSHOT = 2,
};
FL_API int fl_db_readonly(struct fl_db *db);

/*
 * fl_db_open_errmsg — the message of the last fl_db_open() that failed in
 * the calling thread, or "" if none did.  Borrowed until the next
 * fl_db_open() in this thread.
 */
FL_API const char *fl_db_open_errmsg(void);

/*
 * fl_db_close — close a handle and free it.  NULL is accepted.  Any
 * statement or transaction still open on the handle is finalised/rolled back.
 */
FL_API void fl_db_close(struct fl_db *db);

/*
 * fl_errmsg — the detailed message of the last failed call on db, or "" if
 * the last call succeeded.  Borrowed until the next call on db.
 */
FL_API const char *fl_errmsg(const struct fl_db *db);

/*
 * fl_db_schema_version — the schema version this database is at (its
 * PRAGMA user_version), or -1 on error.
 */
FL_API int fl_db_schema_version(struct fl_db *db);

/*
 * fl_schema_version — the newest schema version this library knows.
 */
FL_API int fl_schema_version(void);

/*
 * fl_db_busy_timeout — how long, in milliseconds, a call waits for a lock
 * held by another connection before it fails with FL_ERR_BUSY.  The default
 * is 5000.  Returns FL_OK or FL_ERR_MISUSE.
 */
FL_API int fl_db_busy_timeout(struct fl_db *db, int ms);

/* ---------------------------------------------------------------------------
 * Write actions
 *
 * A program queues write actions (place a bid, release a milestone, send a
 * message, ...) while online or not; flsyncd replays them against the API in
 * order, inside its rate limits, and records each outcome.  Enqueueing writes
 * the action and its optimistic local effect in one transaction, so queries
 * see a pending bid among the project's bids, a sent message in its thread,
 * a released milestone as releasing, at once.  Rows written that way carry
 * local_state 'pending' (then 'failed' if the API rejects the action) and a
 * local_id until the server's own row replaces them.
 *
 * Kinds and their parameters follow the API reference, with its parameter
 * names: bid.create, bid.update, bid.award, bid.revoke, bid.accept,
 * bid.reject, bid.retract, bid.highlight, bid.shortlist, milestone.create,
 * milestone.release, milestone.request_release, milestone.cancel,
 * milestone_request.create, milestone_request.accept,
 * milestone_request.reject, milestone_request.delete, review.post,
 * thread.create, message.send, thread.read, thread.archive, thread.mute,
 * project.create, project.invite.  The object acted on is a parameter
 * (bid_id, milestone_id, thread_id, ...).  Where an action names an object
 * created by another queued action, the id is that action's local reference
 * (the string fl_action_enqueue() returns in out_local_ref, e.g.
 * "local:thread:12"): the action waits for the other and runs with the
 * server's id.
 * ------------------------------------------------------------------------- */

/* An action's life. */
enum fl_action_state {
	FL_ACTION_QUEUED = 0,    /* waiting to be sent (or to be retried after a transient failure) */
	FL_ACTION_SENDING = 1,   /* handed to the API; outcome not yet recorded */
	FL_ACTION_DONE = 2,      /* the API confirmed it; result holds what it returned */
	FL_ACTION_FAILED = 3,    /* the API rejected it (error_code, error_message) or retries ran out */
	FL_ACTION_CANCELLED = 4, /* cancelled before it was sent */
};

/* What fl_action_get() and fl_action_foreach() report of an action. */
struct fl_action_info {
	int64_t id;                 /* the action's id, in queue order */
	const char *kind;           /* "bid.create", ... */
	enum fl_action_state state;
	const char *params;         /* the parameters, a JSON object */
	const char *local_ref;      /* local id of the object it creates, or NULL */
	int64_t depends_on;         /* the action it waits for, or 0 */
	int attempts;               /* times it was sent */
	int http_status;            /* last HTTP status, 0 if none */
	const char *error_code;     /* the API's error_code, or NULL */
	const char *error_message;  /* the API's message or a transport error, or NULL */
	const char *result;         /* the API's result (JSON) once done, or NULL */
	int64_t created_at;         /* unix seconds */
	int64_t updated_at;
	int64_t next_attempt;       /* unix seconds before which it will not be sent */
};

/*
 * fl_action_enqueue — queue an action of `kind` with parameters
 * `params_json` (a JSON object, API parameter names).
 *
 * The kind and the parameters are validated against the API reference
 * (required fields, types, enums, positive amounts, ...); anything wrong is
 * refused with FL_ERR_INVALID, a message naming the field, and nothing
 * queued.  On success the action and its optimistic effect are committed
 * together; *out_id is its id and, for actions that create an object,
 * *out_local_ref (when out_local_ref is not NULL) is that object's local
 * reference, owned by the caller (fl_free()); otherwise NULL.
 *
 * Returns FL_OK, FL_ERR_INVALID, FL_ERR_NOT_FOUND (a referenced local
 * object or action does not exist), FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB,
 * FL_ERR_NOMEM or FL_ERR_MISUSE.
 */
FL_API int fl_action_enqueue(struct fl_db *db, const char *kind, const char *params_json,
			     int64_t *out_id, char **out_local_ref);

/*
 * fl_action_cancel — cancel a queued action and undo its optimistic effect.
 * Actions waiting on it are cancelled too.  Returns FL_OK, FL_ERR_NOT_FOUND,
 * FL_ERR_STATE (already sending, done, failed or cancelled), or a database code.
 */
FL_API int fl_action_cancel(struct fl_db *db, int64_t id);

/*
 * fl_action_retry — queue a failed action again (its optimistic effect comes
 * back; attempts restart).  Returns FL_OK, FL_ERR_NOT_FOUND, FL_ERR_STATE
 * (not failed), or a database code.
 */
FL_API int fl_action_retry(struct fl_db *db, int64_t id);

/*
 * fl_action_get — one action.  *out is the caller's, freed with
 * fl_action_free().  Returns FL_OK, FL_ERR_NOT_FOUND, or a database code.
 */
FL_API int fl_action_get(struct fl_db *db, int64_t id, struct fl_action_info **out);
FL_API void fl_action_free(struct fl_action_info *info);

/*
 * fl_action_foreach — call fn for each action in queue order, all of them
 * (state < 0) or those in one state.  The info passed to fn is borrowed for
 * the call.  fn returns 0 to go on, anything else to stop; that value is
 * then returned.  Returns FL_OK or a database code otherwise.
 */
FL_API int fl_action_foreach(struct fl_db *db, int state,
			     int (*fn)(void *ctx, const struct fl_action_info *info), void *ctx);

/* The name of a state ("queued", "sending", ...), static. */
FL_API const char *fl_action_state_name(enum fl_action_state state);

/*
 * fl_actions_ready — how many actions a round would send now (*out_ready):
 * queued (or left 'sending' by a stopped process), past their next_attempt,
 * and not waiting for an action that is not done yet; and when the next
 * back-off ends (*out_next_at, unix seconds, 0 when none waits for one).
 * Either may be NULL.  Works on read-only handles.  Returns FL_OK,
 * FL_ERR_BUSY, FL_ERR_DB or FL_ERR_MISUSE.
 */
FL_API int fl_actions_ready(struct fl_db *db, int64_t *out_ready, int64_t *out_next_at);

/*
 * fl_action_request — the request a round would send for action id now,
 * without sending it (a dry run): *out_method ("POST", "PUT"), *out_path
 * (the path and query string, e.g. "/api/projects/0.1/bids/"), *out_body
 * (the JSON or form body, NULL when none), each the caller's, freed with
 * fl_free().  *out_waiting (may be NULL) is 1 when the action waits for
 * another that creates an object it names: the request then shows the
 * local reference's place, not yet the server's id.  Works on read-only
 * handles.  Returns FL_OK, FL_ERR_NOT_FOUND (no such action, or it is not
 * waiting to be sent now: done, failed, cancelled, or in a back-off),
 * FL_ERR_INVALID (it depends on an action that failed or was cancelled),
 * FL_ERR_BUSY, FL_ERR_DB, FL_ERR_NOMEM or FL_ERR_MISUSE.
 */
FL_API int fl_action_request(struct fl_db *db, int64_t id, char **out_method, char **out_path, char **out_body,
			     int *out_waiting);

/*
 * fl_actions_untouched — how many of the actions ready now were queued and
 * last changed before `since` (unix seconds): after a round that began at
 * since, the ready actions it did not move on (sent, failed, or put back
 * to wait for a back-off or a budget), so a program that sends the queue
 * when it is ready can tell a round that made no headway from new actions
 * queued meanwhile, and back off instead of trying again at once.
 * Returns FL_OK, FL_ERR_BUSY, FL_ERR_DB or FL_ERR_MISUSE.
 */
FL_API int fl_actions_untouched(struct fl_db *db, int64_t since, int64_t *out);

/*
 * fl_actions_wait — block until an action is ready to send
 * (fl_actions_ready() > 0), queued by this process or any other (flsync
 * queue add, flsync ui, a program), or a back-off ends, or timeout_ms
 * milliseconds have passed (timeout_ms < 0: no limit; 0: look once).
 * *out_ready (when not NULL) is then the count fl_actions_ready() gives.
 *
 * It does not poll: it sleeps on the same watch of the database file as
 * fl_changes_wait() (kept by the handle until fl_db_close(), with the same
 * settling looks after a write and the same 30 s safety look), and wakes
 * on its own when the earliest back-off ends.  A write that queued nothing
 * (a sync's batches) costs one indexed look-up.  Returns at once while an
 * action is ready: a daemon sends them (fl_sync_run_actions()) before it
 * waits again.  Same rules as fl_changes_wait(): outside a transaction of
 * the handle's own, one thread per handle, read-only handles are fine.
 *
 * Returns FL_OK (an action is ready), FL_ERR_TIMEOUT (none in time),
 * FL_ERR_IO (the watch could not be set up), FL_ERR_MISUSE, FL_ERR_BUSY,
 * FL_ERR_DB or FL_ERR_NOMEM.
 */
FL_API int fl_actions_wait(struct fl_db *db, int timeout_ms, int64_t *out_ready);

/* ---------------------------------------------------------------------------
 * Reading: queries, the change feed, sync status
 * (this section is maintained by the read-side work; keep the above stable)
 * ------------------------------------------------------------------------- */

/*
 * Reads never wait for flsyncd: the database is in WAL mode, so a query sees
 * the last committed state while a sync pass writes.  Where a call does need
 * a lock another connection holds (a write on a read-write handle, or the
 * rare moments SQLite needs one to read, such as recovering a crashed
 * writer's log), it waits at most the handle's busy timeout
 * (fl_db_busy_timeout()) and then fails with FL_ERR_BUSY and a message that
 * says so; it never hangs.
 *
 * Errors of the calls below are recorded on the handle the statement or
 * call belongs to: read them with fl_errmsg(db).
 */

/* ---- Queries ---------------------------------------------------------- */

/* A prepared query on an fl_db.  Opaque. */
struct fl_stmt;

/* The type of a column's value in the current row (SQLite's storage classes). */
enum fl_type {
	FL_TYPE_INTEGER = 1,
	FL_TYPE_REAL = 2,
	FL_TYPE_TEXT = 3,
	FL_TYPE_BLOB = 4,
	FL_TYPE_NULL = 5,
};

/*
 * fl_stmt_prepare — compile one SQL statement for db.
 *
 * sql is one statement, optionally followed by ';', spaces and comments;
 * anything more is refused with FL_ERR_INVALID (run statements one at a
 * time).  Parameters are written ?, ?NNN, :name, @name or $name and bound
 * with fl_stmt_bind_*() before the first fl_stmt_step().  On a handle opened
 * FL_OPEN_READONLY a statement that would write fails when stepped, with
 * FL_ERR_READONLY.
 *
 * On success *out is the statement, to be freed with fl_stmt_finalize()
 * before db is closed.  On failure *out is NULL.
 *
 * Returns FL_OK, FL_ERR_INVALID (empty or several statements), FL_ERR_DB
 * (a syntax error, an unknown table or column: fl_errmsg() has SQLite's
 * message), FL_ERR_BUSY (the schema was locked past the busy timeout),
 * FL_ERR_NOMEM or FL_ERR_MISUSE.
 */
FL_API int fl_stmt_prepare(struct fl_db *db, const char *sql, struct fl_stmt **out);

/*
 * fl_stmt_bind_int64, _double, _text, _null — bind parameter idx (the first
 * is 1) to a value.  Text is UTF-8; len is its length in bytes, or -1 when
 * it is NUL-terminated; the library copies it.  A NULL text binds NULL.
 * Bindings stay until re-bound or cleared (fl_stmt_clear_bindings()), also
 * across fl_stmt_reset().
 *
 * Returns FL_OK, FL_ERR_MISUSE (idx out of range, or the statement is
 * running: reset it first) or FL_ERR_NOMEM.
 */
FL_API int fl_stmt_bind_int64(struct fl_stmt *st, int idx, int64_t value);
FL_API int fl_stmt_bind_double(struct fl_stmt *st, int idx, double value);
FL_API int fl_stmt_bind_text(struct fl_stmt *st, int idx, const char *value, int len);
FL_API int fl_stmt_bind_null(struct fl_stmt *st, int idx);

/*
 * fl_stmt_param_count — the number of parameters (the largest index).
 * fl_stmt_param_index — the index of a named parameter, its prefix included
 * (":id"), or 0 if there is none of that name.
 * fl_stmt_clear_bindings — set every parameter back to NULL.  Returns FL_OK.
 */
FL_API int fl_stmt_param_count(struct fl_stmt *st);
FL_API int fl_stmt_param_index(struct fl_stmt *st, const char *name);
FL_API int fl_stmt_clear_bindings(struct fl_stmt *st);

/*
 * fl_stmt_step — advance to the next row.  *out_row is 1 when a row is
 * ready for the fl_stmt_column_*() calls, 0 when the statement has finished
 * (stepping again after that starts it over).  On failure *out_row is 0 and
 * the statement must be reset before it is stepped again.
 *
 * Returns FL_OK, FL_ERR_BUSY (a lock was held past the busy timeout),
 * FL_ERR_READONLY (a write on a read-only handle or file), FL_ERR_DB (a
 * constraint or run-time error, with SQLite's message), FL_ERR_IO,
 * FL_ERR_NOMEM or FL_ERR_MISUSE.
 */
FL_API int fl_stmt_step(struct fl_stmt *st, int *out_row);

/*
 * fl_stmt_reset — rewind the statement so it can be stepped again from the
 * start (bindings are kept), ending the read it held.  Returns FL_OK.
 */
FL_API int fl_stmt_reset(struct fl_stmt *st);

/*
 * fl_stmt_finalize — free a statement.  NULL is accepted.
 */
FL_API void fl_stmt_finalize(struct fl_stmt *st);

/*
 * Columns of the result.  fl_stmt_column_count() and fl_stmt_column_name()
 * work from prepare on; the value calls only while fl_stmt_step() has a row.
 * Columns are numbered from 0; an index out of range reads as NULL (type
 * FL_TYPE_NULL, 0, 0.0, NULL text) and names as NULL.
 *
 * fl_stmt_column_type — the type of the value in the current row.
 * fl_stmt_column_int64, _double — the value converted as SQLite converts
 *   (text "12" gives 12, NULL gives 0).
 * fl_stmt_column_text — the value as UTF-8 text, NUL-terminated; *out_len
 *   (if out_len is not NULL) its length in bytes.  NULL for a NULL value.
 *   Borrowed until the next step, reset or finalize of st.
 * fl_stmt_column_blob — the value's bytes (NULL for an empty or NULL value),
 *   borrowed likewise.
 * fl_stmt_column_name — the column's name (its AS alias if given); borrowed
 *   until st is finalized.
 */
FL_API int fl_stmt_column_count(struct fl_stmt *st);
FL_API const char *fl_stmt_column_name(struct fl_stmt *st, int col);
FL_API enum fl_type fl_stmt_column_type(struct fl_stmt *st, int col);
FL_API int64_t fl_stmt_column_int64(struct fl_stmt *st, int col);
FL_API double fl_stmt_column_double(struct fl_stmt *st, int col);
FL_API const char *fl_stmt_column_text(struct fl_stmt *st, int col, int *out_len);
FL_API const void *fl_stmt_column_blob(struct fl_stmt *st, int col, int *out_len);

/*
 * fl_stmt_readonly — 1 if the statement makes no direct change to the
 * database (a SELECT), 0 otherwise.  The CLI uses it to refuse writes.
 */
FL_API int fl_stmt_readonly(struct fl_stmt *st);

/* ---- The change feed -------------------------------------------------- */

/*
 * Every insert, update or delete of a row of an entity table (currencies,
 * job_categories, jobs, users, projects, bids, milestones,
 * milestone_requests, reviews, threads, messages) and of the actions queue,
 * by flsyncd, a queued action or anyone with the sqlite3 shell, is numbered
 * by a sequence number (seq) that only grows.  A program remembers the
 * newest seq it has handled and asks for what changed since.  Rows are
 * identified by their id (reviews, which have none, by their rowid).  A row
 * changed several times appears several times until flsyncd coalesces them
 * after its pass (fl_changes_trim()): then once, as its newest change.
 * Changes of project_jobs and thread_members come with a change of their
 * project or thread.  The feed is kept for [feed] keep (30 days) and for as
 * long as a registered consumer (fl_changes_register()) has not read it.
 */

enum fl_change_op {
	FL_CHANGE_INSERT = 0,
	FL_CHANGE_UPDATE = 1,
	FL_CHANGE_DELETE = 2,
};

/* One change, as fl_changes_since() reports it. */
struct fl_change {
	int64_t seq;              /* its sequence number, > 0 */
	const char *table;        /* the table ("bids"), borrowed for the callback */
	int64_t row_id;           /* the row's id (reviews: rowid) */
	enum fl_change_op op;
	int64_t at;               /* unix seconds of the write */
};

/* "insert", "update" or "delete"; static. */
FL_API const char *fl_change_op_name(enum fl_change_op op);

/*
 * fl_changes_since — call fn for each change with seq > since, in seq
 * order, at most limit of them (limit <= 0: all).  All of them come from
 * one snapshot of the database, so a sync committing meanwhile is either
 * wholly in or wholly out.  The change passed to fn is borrowed for the
 * call; fn returns 0 to go on, anything else to stop, and that value is then
 * returned (so fn should not return a value that is also an FL_* code the
 * caller tests for).
 *
 * *out_newest (when out_newest is not NULL) is the newest seq in the
 * database in that snapshot (0 if nothing ever changed): when every change
 * was delivered it is the `since` of the next call; when limit cut the list
 * short, continue from the seq of the last change fn saw.
 *
 * When changes after `since` have already been pruned (since is older than
 * fl_changes_horizon()), nothing is delivered and FL_ERR_PRUNED is
 * returned, with a message saying so: the program re-reads what it shows
 * and goes on from fl_changes_latest().  A program registered with
 * fl_changes_register() is never pruned past; one that is not may be, once
 * its position is older than flsyncd's retention ([feed] keep).
 *
 * The feed may be coalesced (fl_changes_trim()): of several changes of one
 * row, only the newest is kept (an insert followed by updates stays an
 * insert, unless a registered consumer has read the insert but not the
 * updates: that consumer is told an update), so a seq may be missing
 * anywhere.  Every reader still sees every row that changed after its
 * `since` at least once: whoever had not seen the older change sees the
 * newer one.  So an op is a hint, not a history: an "insert" may come for
 * a row the reader already has (the row deleted and inserted again), and
 * an "update" for a row it has never seen (an unregistered or paging
 * reader behind a consumer); a reader stores what it reads as an upsert.
 *
 * Returns FL_OK, the value fn returned, FL_ERR_PRUNED, FL_ERR_BUSY,
 * FL_ERR_DB, FL_ERR_NOMEM or FL_ERR_MISUSE (db or fn NULL, since < 0).
 */
FL_API int fl_changes_since(struct fl_db *db, int64_t since, int64_t limit,
			    int (*fn)(void *ctx, const struct fl_change *change), void *ctx,
			    int64_t *out_newest);

/*
 * fl_changes_latest — the newest seq ever given (0 if none), where a
 * program that has just read everything starts following the feed.
 * Returns FL_OK or a database code; *out is 0 on failure.
 */
FL_API int fl_changes_latest(struct fl_db *db, int64_t *out);

/*
 * fl_changes_wait — block until a change newer than `since` is committed,
 * by this process or any other (flsyncd, another program, the sqlite3
 * shell), or until timeout_ms milliseconds have passed (timeout_ms < 0:
 * no limit; 0: look once).  *out_latest (when not NULL) is then the newest
 * seq, as fl_changes_latest() gives it: the `since` of the next
 * fl_changes_since() call is the seq the program had handled, not this one.
 *
 * It does not poll.  The first call sets up an inotify watch on the
 * database's directory, kept by the handle until fl_db_close(); the thread
 * then sleeps in the kernel until the database file or its WAL is written,
 * and reads the feed's newest seq (one index lookup) only then, and a few
 * times more within the next ~5 s, because a commit becomes visible a
 * moment after its last write to the file (after an fsync, for writers with
 * synchronous=FULL).  Writes to other files of the directory do not wake
 * it.  As a safety net it also looks once every 30 s.  While nothing is
 * written it uses next to no CPU; writes to the file during a sync cost
 * those lookups.  Wake-up latency after another process's commit
 * and idle CPU are measured by bench_changes_wait (see the README).
 *
 * A signal that interrupts the wait makes it look at the feed and go on
 * waiting for the rest of the time.  Call it outside any transaction of
 * the handle's own (a transaction's snapshot never sees new commits).  Like
 * every call on one handle, not thread-safe: an app waits on a handle of its
 * own in the thread that waits.  Works on read-only handles.
 *
 * Returns FL_OK (a newer change exists), FL_ERR_TIMEOUT (none came in
 * time; *out_latest is still set), FL_ERR_IO (the watch could not be set up,
 * e.g. the inotify limits are reached: the message says which),
 * FL_ERR_MISUSE (db NULL, since < 0, an in-memory database, inside a
 * transaction), FL_ERR_BUSY, FL_ERR_DB or FL_ERR_NOMEM.
 */
FL_API int fl_changes_wait(struct fl_db *db, int64_t since, int timeout_ms, int64_t *out_latest);

/*
 * fl_changes_prune — delete the changes with seq < before (programs that
 * still need them then get FL_ERR_PRUNED from fl_changes_since()),
 * except the newest change, which is always kept: it carries the sequence
 * on, and those a reader still needs: a consumer registered with
 * fl_changes_register(), or a sync_state row whose stream starts with
 * "sink." (flsync pgsync writes "sink.postgres.SCHEMA", whose cursor is the
 * newest seq that sink has): neither the change at such a position nor
 * anything after it is deleted.
 * *out_deleted (when not NULL) is how many were deleted.  Needs a
 * read-write handle.  Returns FL_OK, FL_ERR_READONLY, FL_ERR_BUSY,
 * FL_ERR_DB or FL_ERR_MISUSE.
 */
FL_API int fl_changes_prune(struct fl_db *db, int64_t before, int64_t *out_deleted);

/*
 * Named consumers.  A program that follows the feed across restarts (a
 * mirror, an indexer, a notifier) registers under a name of its choosing;
 * from then on the feed is never pruned past its position, however long it
 * stays away, until it unregisters.  Its position is the newest seq it has
 * handled; it reads with fl_changes_since(db, position, ...) and moves the
 * position on with fl_changes_ack() once what it read is safely handled.
 * The first time (fl_changes_position() says FL_ERR_NOT_FOUND), it reads
 * everything it needs from the tables, then registers at the
 * fl_changes_latest() it took before that read.  A registered program that
 * is gone for good holds the feed (and the file's size) until
 * fl_changes_unregister(): `flsync status` shows the oldest position held,
 * `flsync feed list` lists them all and `flsync feed unregister NAME` lets
 * one go.
 * Names are 1 to 64 bytes, any text; "sink.*" belongs to the PostgreSQL
 * sinks (held in sync_state, not here).
 */

/*
 * fl_changes_register — register name at position (the newest seq it has
 * handled; 0 <= position <= fl_changes_latest()), or move it there if it is
 * registered already.  A position older than fl_changes_horizon() cannot
 * be held (those changes are gone): FL_ERR_PRUNED, and nothing changes.
 * Needs a read-write handle.  Returns FL_OK, FL_ERR_PRUNED, FL_ERR_MISUSE
 * (db or name NULL, a bad name or position), FL_ERR_READONLY, FL_ERR_BUSY,
 * FL_ERR_DB.
 */
FL_API int fl_changes_register(struct fl_db *db, const char *name, int64_t position);

/*
 * fl_changes_ack — a registered consumer has handled every change up to
 * position (usually the *out_newest of its last fl_changes_since()): the
 * changes up to there may be pruned.  A position back in time is allowed
 * while the feed still holds it.  Returns FL_OK, FL_ERR_NOT_FOUND (name is
 * not registered), FL_ERR_PRUNED, FL_ERR_MISUSE, FL_ERR_READONLY,
 * FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_changes_ack(struct fl_db *db, const char *name, int64_t position);

/*
 * fl_changes_position — *out_position is the position name holds.
 * Works on read-only handles.  Returns FL_OK, FL_ERR_NOT_FOUND (not
 * registered; *out_position is 0), FL_ERR_MISUSE, FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_changes_position(struct fl_db *db, const char *name, int64_t *out_position);

/*
 * fl_changes_unregister — forget name: the feed no longer waits for it.
 * name may also be a PostgreSQL sink's ("sink.postgres.SCHEMA", as
 * `flsync feed list` shows it): the sink's position is forgotten, and its
 * next run, if it has one (flsyncd's [sink], flsync pgsync), records it
 * again, copying in full if the feed was pruned past it meanwhile.  Returns FL_OK, FL_ERR_NOT_FOUND (it holds no position),
 * FL_ERR_MISUSE, FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_changes_unregister(struct fl_db *db, const char *name);

/*
 * fl_changes_horizon — *out is the oldest `since` fl_changes_since() still
 * serves: every change after it that matters is kept (0 when nothing was
 * ever pruned).  Works on read-only handles.  Returns FL_OK or a database
 * code; *out is 0 on failure.
 */
FL_API int fl_changes_horizon(struct fl_db *db, int64_t *out);

/* What fl_changes_trim() did. */
struct fl_trim_report {
	int64_t coalesced;        /* changes deleted because a newer one of the same row covers them */
	int64_t pruned;           /* changes deleted because they were older than keep_seconds */
	int64_t held;             /* the oldest position held (registered consumers and sinks), -1 none */
};

/*
 * fl_changes_trim — what flsyncd does to the feed at the end of a pass:
 * coalesce, then prune.  Coalescing deletes each change that a newer
 * change of the same row covers (but the change at a registered consumer's
 * or a sink's position, which stays as it is); it looks only at the rows
 * changed since its last run, so it costs what the pass changed.
 * Pruning deletes the changes written more than keep_seconds ago (by their
 * `at`; keep_seconds < 0: none), never the newest one, never one after the
 * oldest position held (see fl_changes_prune()).  Both work in slices of a
 * few thousand changes, a short write transaction each with a pause
 * between them, so another writer gets the lock between two slices rather
 * than waiting for the whole feed; a call stops
 * starting slices after about a second, and what a long history (a file
 * made before pruning) leaves is done by the next calls, each going on
 * where the last stopped.  What a slice did stays done if a later one
 * fails.  The pages freed come back to the file with fl_db_compact().
 * *out (when not NULL) says what was done.  Needs a read-write handle.
 * Returns FL_OK, FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB, FL_ERR_MISUSE.
 */
FL_API int fl_changes_trim(struct fl_db *db, int64_t keep_seconds, struct fl_trim_report *out);

/* What fl_db_compact() did. */
struct fl_compact_report {
	int64_t pages_freed;      /* free pages given back to the file system */
	int vacuumed;             /* 1 when a whole VACUUM ran (once, to turn on incremental vacuum) */
	int checkpointed;         /* 1 when the WAL was checkpointed and truncated to 0 bytes */
};

/*
 * fl_db_compact — keep the file compact after deletions: free pages are
 * given back (PRAGMA incremental_vacuum) when there are enough of them (an
 * eighth of the file, or 8 MB), and the WAL is checkpointed and truncated
 * when no reader holds it (else checkpointed as far as readers allow,
 * without waiting for them).  A database made before incremental vacuum
 * was turned on at creation (flsync before schema 11) is converted by one
 * VACUUM the first time a quarter of it is free: that rewrites the file
 * once, taking the write lock for as long (readers go on reading, in WAL
 * mode); the copy is built in a temporary file, so it needs free disk
 * space about twice the file's size.  A VACUUM that fails (but for a busy
 * lock) is recorded as the "vacuum" row of sync_state (fl_status_get(),
 * `flsync status`) and not tried again for a day; the WAL is checkpointed
 * even then.  Call it outside any transaction, on a read-write handle.  *out
 * may be NULL.  Returns FL_OK, FL_ERR_READONLY, FL_ERR_BUSY (another writer
 * held the lock), FL_ERR_IO, FL_ERR_DB, FL_ERR_MISUSE.
 */
FL_API int fl_db_compact(struct fl_db *db, struct fl_compact_report *out);

/* The file and the feed, for `flsync status`. */
struct fl_feed_status {
	int64_t file_bytes;       /* the database file's size */
	int64_t wal_bytes;        /* its -wal file's size, 0 if none */
	int64_t free_pages;       /* pages free inside the file */
	int64_t page_size;
	int auto_vacuum;          /* 0 none, 1 full, 2 incremental */
	unsigned file_mode;       /* the file's permission bits (0600) */
	int64_t rows;             /* changes in the feed */
	int64_t latest;           /* as fl_changes_latest() */
	int64_t horizon;          /* as fl_changes_horizon() */
	int64_t held;             /* the oldest position held, -1 when none is */
	const char *held_by;      /* whose it is ("myapp", "sink.postgres.flsync"), NULL when none */
	int64_t consumers;        /* registered consumers and sinks */
};

/*
 * fl_feed_status_get — the figures above, from one snapshot.  *out is
 * freed with fl_feed_status_free(); NULL on failure.  Works on read-only
 * handles.  Returns FL_OK, FL_ERR_IO (the file cannot be examined),
 * FL_ERR_BUSY, FL_ERR_DB, FL_ERR_NOMEM, FL_ERR_MISUSE.
 */
FL_API int fl_feed_status_get(struct fl_db *db, struct fl_feed_status **out);
FL_API void fl_feed_status_free(struct fl_feed_status *status);

/* ---- Sync status ------------------------------------------------------ */

/*
 * One sync stream's state (a sync_state row).  Times are unix seconds, 0 =
 * never.  last_started, last_success and last_error_at are on the local
 * clock (what an age shown to a person is measured against); the API's
 * clock, which the windows use, can be far from it (a row written before
 * schema 11 has only the API's until its next pass).  cursor and
 * server_success are on the API's clock.
 */
struct fl_stream_status {
	const char *stream;       /* "projects.own", "bids", ... */
	int64_t cursor;           /* stream time covered up to (exclusive), 0 if none; API clock */
	int64_t last_started;     /* local clock */
	int64_t last_success;     /* local clock */
	const char *last_error;   /* the last failure's message, or NULL */
	int64_t last_error_at;    /* local clock */
	int64_t failures;         /* consecutive failures */
	int64_t rows_synced;
	int64_t requests;
	int64_t server_success;   /* last_success on the API's clock (the pass's start there) */
};

/* One endpoint's rate-limit budget, as flsyncd last recorded it. */
struct fl_ratelimit_status {
	const char *endpoint;     /* "POST /api/projects/0.1/bids/" */
	int64_t limit;            /* requests per window, -1 unknown */
	int64_t window_s;         /* window length, seconds, -1 unknown */
	int64_t remaining;        /* requests left when recorded, -1 unknown */
	int64_t paused_until;     /* unix seconds a 429 pause ends, 0 if none */
	int64_t updated_at;       /* unix seconds when recorded */
};

/* The whole status, from one snapshot of the database. */
struct fl_status {
	int schema_version;
	int64_t streams_count;
	const struct fl_stream_status *streams;      /* in stream-name order */
	int64_t endpoints_count;
	const struct fl_ratelimit_status *endpoints; /* in endpoint order */
	int64_t actions_queued;   /* waiting to be sent */
	int64_t actions_sending;  /* sent, outcome not recorded yet */
	int64_t actions_done;
	int64_t actions_failed;
	int64_t actions_cancelled;
	int64_t changes_latest;   /* as fl_changes_latest() */
	int64_t repaired;         /* rows deep reconciliation found that polling had missed, in all */
	int64_t reconciled_at;    /* when a round last repaired something (local clock), 0 never */
	int64_t refresh_repaired; /* rows the re-read of every record by id (cadence.refresh_all) found
	                             changed or missing, in all */
	int64_t refreshed_at;     /* when every table had last completed such a round (local clock: the
	                             oldest of their last), 0 never */
};

/*
 * fl_status_get — read the sync status: every stream, every endpoint's
 * budget, the actions by state, what reconciliation and the refresh of
 * every record repaired (their own rows, "reconcile:STREAM" and
 * "refresh:TABLE" in sync_state, are not among the streams).  *out is the caller's, freed (with every
 * string and array in it) by fl_status_free(); NULL on failure.  Works on
 * read-only handles.  Returns FL_OK, FL_ERR_BUSY, FL_ERR_DB, FL_ERR_NOMEM
 * or FL_ERR_MISUSE.
 */
FL_API int fl_status_get(struct fl_db *db, struct fl_status **out);
FL_API void fl_status_free(struct fl_status *status);

/* ==== Running the sync ================================================ */

/*
 * A struct fl_sync is one account's sync: the API origin, the token, the
 * options, and what lives from pass to pass (the HTTP connection, the rate
 * budgets the API's limits allow, a refreshed token).  Make one per account
 * and keep it for as long as the program syncs; a new handle knows nothing
 * of the requests an old one made.  flsyncd is a plain user of these calls.
 *
 * A pass (fl_sync_run()) brings every stream up to the server's clock:
 * the account, reference data, queued actions replayed against the API,
 * projects, bids, reviews, threads, messages, milestones and their requests,
 * and the users they name.  Rows commit in batches, each together with the
 * stream cursors it covers, so a pass stopped at any point (a cancel, a
 * crash, a full disk) leaves the database consistent and the next pass goes
 * on from there.  A pass runs under the database's sync lock, which keeps
 * two processes (an app and flsyncd, say) from syncing one file at once.
 *
 * A handle is used from one thread at a time, like every handle here;
 * only the cancel flag may be set from anywhere (another thread, a signal
 * handler).  The calls that make requests block: a pass takes as long as the
 * API and its rate limits need.  The token is never logged, stored in the
 * database or shown in a message.
 */
struct fl_sync;

/*
 * fl_sync_new — a sync of the API at api_url, its origin (e.g.
 * "https://www.freelancer.com"; "/api/<service>/0.1/..." is appended), with
 * every option at its default and no token yet.  *out is freed with
 * fl_sync_free(); NULL on failure.  Returns FL_OK, FL_ERR_MISUSE (not an
 * http or https URL) or FL_ERR_NOMEM.
 */
FL_API int fl_sync_new(const char *api_url, struct fl_sync **out);

/* Frees sync, releasing its sync lock if it holds one; NULL is fine. */
FL_API void fl_sync_free(struct fl_sync *sync);

/*
 * fl_sync_errmsg — the message of the last failed call on sync ("" after a
 * success), naming what failed.  Borrowed until the next call on sync.
 */
FL_API const char *fl_sync_errmsg(const struct fl_sync *sync);

/*
 * fl_sync_set_token — sign requests with token, a personal or OAuth access
 * token that is never refreshed.  It is copied.  Returns FL_OK,
 * FL_ERR_INVALID (empty, or a line break in it) or FL_ERR_NOMEM.
 *
 * fl_sync_set_token_file — sign requests with the token in token_file, as
 * flsync auth login or flsync auth token wrote it: refreshed in place before
 * it expires and once after a 401, single-flight with every other process
 * using the file.  Returns FL_OK; FL_ERR_IO (missing or unreadable);
 * FL_ERR_INVALID (group or others may read it, or it is not a token file);
 * FL_ERR_AUTH (its sign-in has ended: fl_sync_needs_login() says so);
 * FL_ERR_NOMEM.  Either call replaces the token a previous one set.
 */
FL_API int fl_sync_set_token(struct fl_sync *sync, const char *token);
FL_API int fl_sync_set_token_file(struct fl_sync *sync, const char *token_file);

/*
 * Options, by name; every value is text, as a configuration file has it.
 * Durations are whole seconds, or take a unit: "90", "90s", "15m", "2h",
 * "1d".  The names, with their defaults:
 *
 *   search.query            a search of active market projects, kept beside
 *                           the account's own data; each setting adds one (none)
 *   search.jobs             job ids ("3, 17") that filter those searches; adds (none)
 *   cadence.users           re-read known users this often (1d)
 *   cadence.reference       re-read currencies, jobs and categories (1d)
 *   cadence.milestones_all  re-read every milestone not yet final (1h)
 *   cadence.reconcile       a deep re-read of each windowed stream this often,
 *                           on the server's clock; 0 never (1d)
 *   cadence.reconcile_lookback  ... of this much below where it has synced
 *                           to: records the API returns late are found (7d)
 *   cadence.reconcile_slices    ... read first in slices of the lookback over
 *                           this many (24), a slice doubling while it fits
 *                           one page
 *   cadence.reconcile_budget    requests a pass spends on a stream's round
 *                           at least (16): a pass reads slices until it has
 *                           spent that and reached the share of the round its
 *                           cadence will have used by the next pass (the time
 *                           since the previous pass on); it finishes the round
 *                           when the next pass might come after the round's
 *                           deadline (its next due time).  A small account's
 *                           week is done in the pass that finds it due; a
 *                           large one spreads over the passes, due rounds
 *                           complete within the cadence however they are spaced.
 *                           The refresh below takes this much per table too
 *   cadence.refresh_all     re-read every stored record (projects, bids,
 *                           milestones, milestone requests, reviews, threads,
 *                           messages) by id at least this often, last in the
 *                           pass and paced like reconciliation; changed rows
 *                           are counted as repaired; 0 never (1d)
 *   cadence.safety_lag      windows end this long before the server's now (30s)
 *   cadence.lookback        each pass re-reads this much before its cursor (2m)
 *   limits.rate_scale       multiplies every documented rate limit (1.0)
 *   sync.page_limit         results per page, 1-100 (100, the API's cap)
 *   sync.batch_rows         rows per transaction (5000)
 *   sync.batch_ms           or this many milliseconds per transaction (1000)
 *   sync.max_window_pages   a window that needs more pages is split (100)
 *   sync.read_ahead         pages each sub-window reads ahead of storing,
 *                           0-16 (0 as 1) (2)
 *   sync.max_in_flight      requests of a pass in flight at once, 1-64: the
 *                           streams side by side, a windowed stream's span
 *                           in sub-windows, id batches likewise, the rate
 *                           budgets shared; 1 one request at a time, the
 *                           streams in order (6)
 *   sync.mass_delete_ratio  refuse to mark more than this share of a table
 *                           gone in one pass (0.2)
 *   sync.max_attempts       tries of a request, and sends of a queued action,
 *                           on network and server errors (5)
 *   sync.retry_base_ms      the first back-off, doubled per try with jitter (500)
 *
 * fl_sync_option_name(i) gives the i-th name (from 0), NULL past the last.
 */
FL_API const char *fl_sync_option_name(int i);

/*
 * fl_duration_parse — seconds from a duration as the options take it
 * ("90", "90s", "15m", "2h", "1d"), for programs whose own settings follow
 * the same rules.  Returns FL_OK, FL_ERR_INVALID (*out_seconds is then 0)
 * or FL_ERR_MISUSE.
 */
FL_API int fl_duration_parse(const char *text, int64_t *out_seconds);

/*
 * fl_sync_set_option — set one option.  Returns FL_OK, FL_ERR_NOT_FOUND (no
 * option has that name), FL_ERR_INVALID (the value is not one the option
 * takes; fl_sync_errmsg() says what it wants) or FL_ERR_NOMEM.  A change
 * applies from the next pass.
 */
FL_API int fl_sync_set_option(struct fl_sync *sync, const char *name, const char *value);

/*
 * fl_sync_configure — replace the whole configuration at once: every option
 * back to its default, then names[i] = values[i] for i < n, in order.  All
 * or nothing: when one setting is refused nothing changes, *out_bad (if not
 * NULL) is its index, and the code is fl_sync_set_option()'s.  *out_bad is
 * -1 on success.  This is how a daemon re-reads its configuration file.
 */
FL_API int fl_sync_configure(struct fl_sync *sync, int n, const char *const *names,
			     const char *const *values, int *out_bad);

/* What a progress callback is told, after every page of every stream. */
struct fl_sync_progress {
	const char *stream;     /* "projects", "bids", "messages", ... */
	int64_t rows;           /* rows this stream stored in this pass */
	int64_t total;          /* the total the API announced, -1 unknown */
	int64_t requests;       /* requests this stream made in this pass */
	int done;               /* 1 when the stream finished (or failed) */
	const char *error;      /* the stream's error when it failed, else NULL */
};

/*
 * fl_sync_set_progress — call fn(ctx, p) after every page and when each
 * stream ends; p and its strings are borrowed for the call.  The callback
 * must not use sync or the pass's database handle.  Streams run side by
 * side on threads of the pass: the callbacks come from those threads, one
 * call at a time, never two at once.
 *
 * fl_sync_set_log — call fn(ctx, line) with what a verbose log shows: each
 * stream, each request's endpoint and outcome, waits for a rate limit,
 * token refreshes.  Lines name endpoints and files, never a token.
 *
 * NULL fn turns either off.
 */
typedef void (*fl_sync_progress_fn)(void *ctx, const struct fl_sync_progress *p);
typedef void (*fl_sync_log_fn)(void *ctx, const char *line);
FL_API void fl_sync_set_progress(struct fl_sync *sync, fl_sync_progress_fn fn, void *ctx);
FL_API void fl_sync_set_log(struct fl_sync *sync, fl_sync_log_fn fn, void *ctx);

/*
 * fl_sync_set_cancel — the caller's cancel flag, or NULL for none.  When
 * *flag becomes non-zero, a pass (or fl_sync_check()) stops at the next batch
 * boundary, keeping everything it committed, and returns FL_ERR_ABORTED;
 * waits for a rate limit or a retry end early too.  The flag belongs to the
 * caller, who may set it from any thread or a signal handler, and clears it;
 * the library only reads it.  It must outlive its use by sync.
 */
FL_API void fl_sync_set_cancel(struct fl_sync *sync, const volatile sig_atomic_t *flag);

/*
 * fl_sync_check — prove that the API answers and accepts the token: GET
 * the account (self), waiting out up to five 429s.  Records the outcome of
 * the sign-in in db for fl_status_get() and flsync status.  Returns FL_OK;
 * FL_ERR_AUTH (the API refused the token, or the sign-in has ended); no token
 * set: FL_ERR_MISUSE; FL_ERR_ABORTED; the request's failure (FL_ERR_NETWORK,
 * FL_ERR_TIMEOUT, FL_ERR_HTTP, FL_ERR_API, FL_ERR_PARSE, FL_ERR_RATE_LIMITED);
 * FL_ERR_DB and friends when db cannot record it.
 */
FL_API int fl_sync_check(struct fl_sync *sync, struct fl_db *db);

/*
 * fl_sync_run — run one pass into db (a read-write handle).  The sync lock
 * of db's file is taken for the pass, unless sync already holds it
 * (fl_sync_lock()).  A rate limit never fails a stream: it waits.  A failing
 * stream does not stop the others, except when the account itself (self) or
 * the database fails.
 *
 * Returns FL_OK when every stream succeeded; FL_ERR_ABORTED when the cancel
 * flag was set; FL_ERR_LOCKED when another process (or another handle)
 * holds the sync lock; FL_ERR_AUTH when the API refused the token and no
 * refresh mended it, or the sign-in has ended (fl_sync_needs_login());
 * otherwise the first failing stream's code (FL_ERR_NETWORK, FL_ERR_API,
 * FL_ERR_DB, FL_ERR_IO, FL_ERR_READONLY, ...).  fl_sync_errmsg() names the
 * stream and what failed, and fl_sync_report() has the figures, whatever
 * the outcome.
 */
FL_API int fl_sync_run(struct fl_sync *sync, struct fl_db *db);

/*
 * fl_sync_run_hints — the short pass webhook deliveries ask for: the
 * account (its id and the server's clock), the targeted reads their hints
 * name (fl_webhook_receive()) and the queued actions (as
 * fl_sync_run_actions()), nothing else, so a delivery costs a request or
 * two rather than a whole pass.  When a delivery asked for an early pass
 * (FL_WEBHOOK_PASS) before it started, it is a whole pass, as
 * fl_sync_run(); one that arrives while it runs is left for that pass
 * (fl_webhook_pass_due() still says so).  Codes, lock and report as
 * fl_sync_run().
 */
FL_API int fl_sync_run_hints(struct fl_sync *sync, struct fl_db *db);

/*
 * fl_sync_run_actions — the short round that sends the queue: the account
 * (GET self, only when no pass has stored it yet) and the "actions" stream
 * of a pass, nothing else.  Each queued action is sent exactly once, oldest
 * first, each after the actions it depends on, within the write endpoints'
 * rate budgets (a 429 waits, as in a pass); one waiting on a back-off
 * (next_attempt) or on an action not yet done stays queued.  A program that
 * queues with fl_action_enqueue() and syncs itself calls it right after;
 * flsyncd calls it whenever fl_actions_wait() says an action is ready, so a
 * queued action leaves within a second.  Codes, lock and report as
 * fl_sync_run(); an action the API refused is not a failure of the round:
 * it is recorded on the action (FL_ACTION_FAILED, error_code,
 * error_message: fl_action_get()).
 */
FL_API int fl_sync_run_actions(struct fl_sync *sync, struct fl_db *db);

/* The figures of the last pass. */
struct fl_sync_report {
	int64_t rows;            /* rows stored (inserted or changed) */
	int64_t requests;        /* HTTP requests made, retries included */
	int64_t server_now;      /* the server's clock when the pass began, unix seconds */
	int64_t elapsed_ms;      /* wall time of the pass */
	int streams_ok;
	int streams_failed;
	long http_status;        /* the first failing stream's last HTTP status, 0 if none */
	const char *error;       /* the first failure's message, "" if none */
	int max_in_flight;       /* the most requests it had in flight at once */
};

/*
 * fl_sync_report — the last pass's figures (all zero before the first).
 * Borrowed until the next fl_sync_run() or fl_sync_free().
 */
FL_API const struct fl_sync_report *fl_sync_report(const struct fl_sync *sync);

/*
 * fl_sync_needs_login — why the account's sign-in has ended (its token file
 * was refused a refresh: run flsync auth login), or NULL while it has not.
 * Borrowed until the next call on sync.
 */
FL_API const char *fl_sync_needs_login(const struct fl_sync *sync);

/*
 * The sync lock: an advisory lock on the file "<database>.lock" beside the
 * database, which names the holder's process id.  It dies with the process
 * that holds it, however the process ends.
 *
 * fl_sync_lock — take the lock of the database at db_path for sync, and keep
 * it until fl_sync_unlock() or fl_sync_free(); fl_sync_run() on that file then
 * uses it.  Take it before fl_db_open() to keep even the schema migration from
 * racing another syncer.  Never waits.  Returns FL_OK (also when sync holds it
 * already), FL_ERR_LOCKED (another process or handle holds it: the message
 * names its pid), FL_ERR_READONLY (this user may not make the lock file: its
 * directory is read-only), FL_ERR_IO (the lock file cannot be made otherwise,
 * e.g. its directory is missing) or FL_ERR_NOMEM.
 */
FL_API int fl_sync_lock(struct fl_sync *sync, const char *db_path);
FL_API void fl_sync_unlock(struct fl_sync *sync);

/*
 * fl_sync_lock_holder — who holds the sync lock of the database at db_path,
 * without taking it: *out_pid is 0 when nobody does, the holder's process id
 * (this process's own when one of its handles holds it), or -1 when the
 * holder has not yet written its id.  Returns FL_OK, or FL_ERR_IO when the
 * lock file exists but cannot be read.  A program that finds flsyncd
 * holding the lock may send it SIGUSR1 to have it start a pass at once.
 */
FL_API int fl_sync_lock_holder(const char *db_path, int64_t *out_pid);

/*
 * fl_sync_set_next_pass — record, beside the sync lock this handle holds
 * (fl_sync_lock()), when its next pass is due: unix seconds on the local
 * clock, 0 for unknown.  A daemon calls it after each pass so that
 * fl_sync_lock_next_pass() (flsync status, flsync ui) can tell.  Returns
 * FL_OK, FL_ERR_MISUSE, FL_ERR_STATE (no lock held), FL_ERR_IO.
 */
FL_API int fl_sync_set_next_pass(struct fl_sync *sync, int64_t at);

/*
 * fl_sync_lock_next_pass — when the holder of the sync lock of the database
 * at db_path said its next pass is due (*out_at, unix seconds, local clock),
 * or 0 when nobody holds the lock or the holder did not say.  Returns
 * FL_OK, FL_ERR_MISUSE, FL_ERR_NOMEM, or FL_ERR_IO when the lock file
 * exists but cannot be read.
 */
FL_API int fl_sync_lock_next_pass(const char *db_path, int64_t *out_at);

/*
 * fl_sync_resync — ask for a re-read of a windowed stream (projects, bids,
 * bids_received, reviews_to, reviews_from, threads, messages, a market
 * search; NULL: all of them): its cursor goes back to since (unix seconds;
 * 0 is the beginning) unless it is there already, its rows stay, and the
 * next pass reads the span again, storing what it finds new or changed.
 * *out_streams (if not NULL) is how many streams moved.  Returns FL_OK,
 * FL_ERR_NOT_FOUND (no such stream has synced: the message lists those
 * there are), FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB, FL_ERR_MISUSE.
 */
FL_API int fl_sync_resync(struct fl_db *db, const char *stream, int64_t since, int64_t *out_streams);

/* ==== Signing in: OAuth login and the token file ====================== */

/*
 * flsyncd signs its requests with the token in a token file (flsyncd
 * --token-file FILE).  These calls make that file: by an OAuth 2.0 login
 * (the authorization-code flow with a random state and PKCE), or from a
 * personal access token; and read what it holds, never the token itself.
 *
 * The token file is a JSON object (README, "The token file"): the access
 * token, the refresh token, when the access token expires, the token URL,
 * the client id, and the path of the file holding the client secret, never
 * the secret.  It is written atomically with mode 0600; a file its group or
 * others may read is refused.  flsyncd refreshes it in place.
 *
 * These calls keep no handle between calls except struct fl_login; their
 * messages (fl_auth_errmsg()) are per thread.  They make network requests
 * (the token service, GET self) and may block for up to a minute.
 */

/* The defaults, as the Freelancer OAuth service's public clients show them. */
#define FL_AUTH_DEFAULT_API "https://www.freelancer.com"
#define FL_AUTH_DEFAULT_ORIGIN "https://accounts.freelancer.com"
#define FL_AUTH_SANDBOX_API "https://www.freelancer-sandbox.com"
#define FL_AUTH_SANDBOX_ORIGIN "https://accounts.freelancer-sandbox.com"
#define FL_AUTH_DEFAULT_REDIRECT "http://127.0.0.1:8976/callback"
#define FL_AUTH_DEFAULT_SCOPE "basic"

/* Where and as whom to log in; NULL fields take the defaults. */
struct fl_login_options {
	const char *api;                /* API origin checked with GET self (FL_AUTH_DEFAULT_API) */
	const char *auth;               /* OAuth origin: /oauth/authorise and /oauth/token under it
	                                   (FL_AUTH_DEFAULT_ORIGIN; the sandbox's when api is the sandbox) */
	const char *client_id;          /* the registered app's client id (required) */
	const char *client_secret_file; /* a file holding its secret (mode 0600); NULL: a public client */
	const char *redirect_uri;       /* as registered with the app (FL_AUTH_DEFAULT_REDIRECT) */
	const char *scope;              /* space-separated: "basic", numeric advanced scopes
	                                   ("basic 1 6"); FL_AUTH_DEFAULT_SCOPE */
};

/* One login in progress: its state, PKCE verifier and authorization URL. */
struct fl_login;

/*
 * fl_login_begin — start a login: a random state and PKCE verifier (S256),
 * and the authorization URL to open in a browser.  The options are copied.
 * *out is freed with fl_login_free(); NULL on failure.  Returns FL_OK,
 * FL_ERR_MISUSE (no client id, a URL that is not http(s)), FL_ERR_IO (no
 * random bytes), FL_ERR_NOMEM.
 */
FL_API int fl_login_begin(const struct fl_login_options *opt, struct fl_login **out);

/* The authorization URL; borrowed until fl_login_free(). */
FL_API const char *fl_login_url(const struct fl_login *login);

/*
 * fl_login_finish — complete a login with what came back: the URL the
 * browser was redirected to (or its query string), or the bare code.  The
 * state in it must be this login's: a reply with another state, or a URL
 * without one, is refused (FL_ERR_INVALID) and nothing is exchanged.  The
 * code is exchanged at the token endpoint, the access token checked with GET
 * self, and token_file written (replacing any).  Returns FL_OK; FL_ERR_INVALID
 * (state mismatch, no code); FL_ERR_API (the service refused: an error in
 * the redirect, invalid_grant, invalid_client, or the API refused the new
 * token); FL_ERR_NETWORK, FL_ERR_TIMEOUT, FL_ERR_HTTP, FL_ERR_PARSE (the
 * service or the API failed); FL_ERR_IO (the client secret or token file);
 * FL_ERR_NOMEM.  A login is finished once: a second call is FL_ERR_MISUSE.
 */
FL_API int fl_login_finish(struct fl_login *login, const char *reply, const char *token_file);

/* The account the login signed in as (after fl_login_finish() succeeded). */
FL_API int64_t fl_login_user_id(const struct fl_login *login);
FL_API const char *fl_login_username(const struct fl_login *login); /* borrowed; NULL if unknown */

/* Wipes and frees a login; NULL is fine. */
FL_API void fl_login_free(struct fl_login *login);

/*
 * fl_token_save — check token (a personal access token) with GET self on
 * api (NULL: FL_AUTH_DEFAULT_API) and write it to token_file as a record
 * that cannot be refreshed.  Returns FL_OK, FL_ERR_API (the API refused it),
 * FL_ERR_INVALID (empty, or a line break in it), FL_ERR_NETWORK,
 * FL_ERR_TIMEOUT, FL_ERR_HTTP, FL_ERR_PARSE, FL_ERR_IO, FL_ERR_NOMEM.
 */
FL_API int fl_token_save(const char *token_file, const char *api, const char *token);

/* What a token file says, without its tokens. */
struct fl_token_info {
	int bare;                   /* 1: a bare token, not a record (nothing else is known) */
	int refreshable;            /* 1: it holds a refresh token */
	int64_t expires_at;         /* unix seconds the access token expires, 0 unknown */
	int64_t obtained_at;        /* unix seconds it was issued, 0 unknown */
	int64_t user_id;            /* the account, 0 unknown */
	const char *username;       /* NULL unknown */
	const char *scope;          /* granted scopes, space-separated; NULL unknown */
	const char *api;            /* API origin it was checked against; NULL unknown */
	const char *token_url;      /* NULL for a record without refresh */
	const char *client_id;      /* NULL likewise */
	const char *client_secret_file; /* NULL for a public client */
	const char *needs_login;    /* why the sign-in ended (run flsync auth login), NULL if it has not */
};

/*
 * fl_token_info_read — read token_file (the safety rules apply: an unsafe
 * mode is refused with FL_ERR_INVALID).  *out is freed with
 * fl_token_info_free(); NULL on failure.  Returns FL_OK, FL_ERR_IO
 * (missing or unreadable), FL_ERR_INVALID, FL_ERR_NOMEM.
 */
FL_API int fl_token_info_read(const char *token_file, struct fl_token_info **out);
FL_API void fl_token_info_free(struct fl_token_info *info);

/*
 * fl_token_refresh — renew the access token in token_file now, as flsyncd
 * does before it expires (single-flight with every other process using the
 * file).  Returns FL_OK, FL_ERR_STATE (nothing to refresh, or the sign-in has
 * ended), FL_ERR_API (the token service refused: invalid_grant ends the
 * sign-in and marks the file), FL_ERR_NETWORK, FL_ERR_TIMEOUT, FL_ERR_HTTP,
 * FL_ERR_IO, FL_ERR_INVALID, FL_ERR_NOMEM.
 */
FL_API int fl_token_refresh(const char *token_file);

/*
 * The message of this thread's last failed fl_login_*, fl_token_* call ("" after a
 * success); borrowed until the next such call in this thread.  It names
 * files and URLs, never a token, code or secret.
 */
FL_API const char *fl_auth_errmsg(void);

/* ==== Webhooks ========================================================== */

/*
 * The API POSTs a JSON event to a registered URL when something happens to
 * the account (a message, an award, a milestone, a completed project; see
 * the reference's Webhooks section).  flsync treats a delivery as a hint,
 * never as data: it is stored raw and turned into a targeted read (that
 * thread's new messages, that bid, that project's milestones and requests,
 * that project), coalesced, which the next sync pass performs ahead of
 * window polling and within the rate budgets.  A well-formed delivery that
 * cannot be mapped asks for an early incremental pass instead.  Polling
 * stays the source of truth.
 *
 * The reference documents no signature, so the URL's path is the secret:
 * fl_webhook_path() makes a random one once and keeps it in the database.
 *
 * A listener (flsyncd --webhook-listen) uses these calls per request:
 *   1. fl_webhook_check(): method, path, size and JSON, without touching the
 *      database; answer its status (a 4xx is never acted on);
 *   2. answer 2xx at once;
 *   3. fl_webhook_receive() with the body;
 *   4. fl_webhook_pass_due() tells when to start an early pass.
 */

/* The cap on a delivery's body (1 MiB); a bigger one gets 413. */
#define FL_WEBHOOK_MAX_BODY (1024 * 1024)

/* Where the API is and how to sign requests, as flsync auth and queue take them. */
struct fl_webhook_api {
	const char *api;        /* origin, e.g. https://www.freelancer.com or http://127.0.0.1:PORT */
	const char *token;      /* a bare access token, or NULL to use token_file */
	const char *token_file; /* a token file as flsync auth writes (refreshed as needed) */
};

/* One webhook as Create Webhook / Get Webhooks return it. */
struct fl_webhook {
	int64_t id;
	int64_t developer_id;
	int64_t user_id;          /* 0 when the API did not say */
	const char *url;
	int inactive;             /* 1: the API stopped delivering to it */
	const char *inactive_reason; /* why, NULL when active or not said */
	int64_t time_created;     /* unix seconds, 0 unknown */
};

struct fl_webhook_list {
	int64_t count;
	const struct fl_webhook *webhooks;
};
FL_API void fl_webhook_list_free(struct fl_webhook_list *list);

/*
 * fl_webhook_register — POST /api/users/0.1/webhooks/ (Create Webhook; the
 * API allows 10 an hour) for url, as developer_id (0: the account's own id,
 * asked with GET self).  The webhook is recorded in the database for
 * fl_webhook_status_get().  *out (one webhook) is freed with
 * fl_webhook_list_free(); NULL on failure.  Returns FL_OK, FL_ERR_MISUSE,
 * FL_ERR_API (the API refused: fl_errmsg(db) has its error_code and
 * message), FL_ERR_RATE_LIMITED, FL_ERR_NETWORK, FL_ERR_TIMEOUT,
 * FL_ERR_HTTP, FL_ERR_PARSE, FL_ERR_IO (the token file), FL_ERR_DB,
 * FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_NOMEM.
 */
FL_API int fl_webhook_register(struct fl_db *db, const struct fl_webhook_api *api, int64_t developer_id,
			       const char *url, struct fl_webhook_list **out);

/*
 * fl_webhook_list — GET /api/users/0.1/webhooks/ (Get Webhooks; 500 an
 * hour): the account's webhooks, each active or with its inactive_reason.
 * The database's record of them is replaced by what the API said.  Same
 * codes as fl_webhook_register().
 */
FL_API int fl_webhook_list(struct fl_db *db, const struct fl_webhook_api *api, struct fl_webhook_list **out);

/*
 * fl_webhook_path — the secret path deliveries must come to, "/" and 32
 * random hex digits, made once and kept in the database; or, when given
 * (flsyncd --webhook-path), that path ("/" added in front if missing), which
 * is then recorded so fl_webhook_url() names it.  A given path must be
 * printable ASCII without spaces, '?' or '#'.  *out is freed with fl_free().
 * Needs a read-write handle.  Returns FL_OK, FL_ERR_INVALID, FL_ERR_IO (no
 * random bytes), FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB, FL_ERR_NOMEM.
 */
FL_API int fl_webhook_path(struct fl_db *db, const char *given, char **out);

/*
 * fl_webhook_set_listen — record the address the listener is bound to
 * (host as given: a name, an IPv4 or an IPv6 address; port 1-65535), so
 * another process can print the URL.  Returns FL_OK, FL_ERR_INVALID,
 * FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_webhook_set_listen(struct fl_db *db, const char *host, int port);

/*
 * fl_webhook_url — "http://HOST:PORT/PATH" from the recorded listen address
 * and secret path (an IPv6 host in brackets).  *out is freed with
 * fl_free().  Returns FL_OK, FL_ERR_STATE (no listener was ever recorded, or
 * no path made), FL_ERR_DB, FL_ERR_NOMEM.  Works on read-only handles.
 */
FL_API int fl_webhook_url(struct fl_db *db, char **out);

/*
 * fl_webhook_check — what a listener answers a request before any work,
 * without touching a database: 405 for a method other than POST, 404 for a
 * path other than secret_path (compared in constant time; a query string
 * after '?' is ignored), 413 for a body over FL_WEBHOOK_MAX_BODY, 400 for a
 * body that is not one well-formed JSON value, else 200.  body may be NULL
 * when len is 0.  Thread-safe.
 */
FL_API int fl_webhook_check(const char *method, const char *path, const char *secret_path, const char *body,
			    size_t len);

/* What fl_webhook_receive() made of a delivery. */
enum fl_webhook_outcome {
	FL_WEBHOOK_HINT = 1,      /* mapped to a targeted read (coalesced with pending ones) */
	FL_WEBHOOK_PASS = 2,      /* well-formed but unmappable: an early incremental pass */
	FL_WEBHOOK_DUPLICATE = 3, /* the same body came before: counted, not acted on */
};

/*
 * fl_webhook_receive — store one delivery (already answered 2xx): its body
 * raw with its SHA-256 and received_at (unix seconds; 0: now), and, unless
 * the same body was stored before, the hint it maps to, in one
 * transaction.  *out_outcome (may be NULL) says which.  An unmappable
 * delivery is also counted (fl_webhook_status_get()).  Returns FL_OK,
 * FL_ERR_TOO_BIG, FL_ERR_PARSE (not JSON: fl_webhook_check() would have
 * answered 400; nothing is stored), FL_ERR_READONLY, FL_ERR_BUSY,
 * FL_ERR_DB, FL_ERR_NOMEM, FL_ERR_MISUSE.
 */
FL_API int fl_webhook_receive(struct fl_db *db, const char *body, size_t len, int64_t received_at,
			      int *out_outcome);

/*
 * fl_webhook_hints_pending — how many hints wait for a pass: targeted reads
 * in *out_reads, early-pass requests in *out_passes (either may be NULL).
 * Works on read-only handles.  Returns FL_OK, FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_webhook_hints_pending(struct fl_db *db, int64_t *out_reads, int64_t *out_passes);

/*
 * fl_webhook_pass_due — *out_due is 1 when deliveries left hints that no
 * pass has taken yet (a daemon then starts a pass early, whatever its
 * interval), else 0.  Returns FL_OK, FL_ERR_BUSY, FL_ERR_DB.
 */
FL_API int fl_webhook_pass_due(struct fl_db *db, int *out_due);

/* Webhook health, for flsync status.  Times are unix seconds (local clock), 0 = never. */
struct fl_webhook_status {
	int64_t last_delivery;      /* when the last delivery arrived */
	int64_t deliveries_hour;    /* deliveries in the last hour, duplicates included */
	int64_t duplicates_hour;    /* of which duplicates */
	int64_t unmapped_hour;      /* of which could not be mapped (an early pass instead) */
	int64_t deliveries_total;
	int64_t hints_pending;      /* targeted reads and pass requests waiting */
	int64_t webhooks_known;     /* webhooks the last register/list saw */
	int64_t webhooks_active;    /* of which active */
	const char *inactive_reason; /* the last list's reason for an inactive one, NULL if none */
	int64_t listed_at;          /* when the last register/list ran, 0 never */
	int64_t lost_last;          /* rows polling brought that no delivery announced, last pass checked */
	int64_t lost_total;         /* the same, summed over every pass */
	int64_t lost_checked_at;    /* when that was last counted, 0 never */
};

/*
 * fl_webhook_status_get — the figures above from one snapshot.  *out is
 * freed with fl_webhook_status_free(); NULL on failure.  Works on read-only
 * handles.  Returns FL_OK, FL_ERR_BUSY, FL_ERR_DB, FL_ERR_NOMEM, FL_ERR_MISUSE.
 */
FL_API int fl_webhook_status_get(struct fl_db *db, struct fl_webhook_status **out);
FL_API void fl_webhook_status_free(struct fl_webhook_status *status);

#ifdef __cplusplus
}
#endif

#endif /* FLSYNC_H */
