/*
 * sync_internal.h — what the sync engine's parts share with each other and
 * with the stream files (stream_*.c): the state of one pass; fetching pages
 * with retries and rate limits (sync_fetch.c), and reading them ahead on a
 * thread of their own (sync_pipe.c); batched transactions,
 * statements and binds (sync_batch.c); the two paging shapes every stream is
 * built from, time windows (sync_window.c) and id batches (sync_ids.c); the
 * scheduler that runs them is sync.c.
 */
#ifndef FL_SYNC_INTERNAL_H
#define FL_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "buf.h"
#include "store.h"
#include "sync.h"

struct sync_run;

/* The kinds of rows a stored row may name before they are read (stub rows, sync_ref). */
enum sync_ref { REF_NONE, REF_USER, REF_PROJECT, REF_CURRENCY, REF_JOB, REF_BID, REF_THREAD, REF_COUNT };

/* Stores one item of a page; returns FL_OK or an FL_* code (with run->err set). */
typedef int (*sync_store_fn)(struct sync_run *run, const struct json_item *it);

/* The time of an item in a windowed stream's own clock (created/updated). */
typedef bool (*sync_time_fn)(const struct json_item *it, int64_t *out);

/* Per-stream counters for this pass. */
struct sync_stream_stats {
	const char *name;
	int64_t rows;
	int64_t requests;
	int64_t total;
};

/*
 * What the streams of a pass share.  Streams run side by side on threads
 * of the pass (sync.c), but one at a time touches the database: each holds
 * `writer` while it runs and lets go only while it waits for the network
 * (sync_yield/sync_resume), so everything below, the connection and its
 * transaction are the writer's alone.
 */
struct sync_fetch;
struct sync_shared {
	pthread_mutex_t writer;
	bool fatal;                      /* the batch was lost: every stream stops */
	struct sync_fetch *fetch;        /* the requests in flight (sync_pipe.c) */

	/* batching */
	bool in_tx;
	int64_t batch_rows;              /* rows in the open transaction */
	int64_t batch_started_ms;
	int64_t rows_total, requests_total;
	int64_t server_now;              /* the first stream to learn the server's clock tells */
	int64_t feed_seq;                /* the change feed's end before any stream stored (-1 unknown) */

	/* a small set of ids already given stub rows in this pass, by kind (enum sync_ref) */
	struct idset *stubbed[REF_COUNT];

	sqlite3_stmt *stmts[64];         /* prepared statements by slot (see sync.c) */
	sqlite3_stmt *probes[64];        /* by an upsert's slot: does its row hold this raw already? */
	int unchanged_streak[64];        /* by an upsert's slot: rows in a row it left unchanged */
};

/* One stream's run: what it reads and where it is; the rest is shared. */
struct sync_run {
	struct fl_db *db;
	struct http_client *http;
	struct ratelimit *rl;
	const struct sync_options *opt;
	struct sync_shared *sh;
	struct fl_error err;             /* the current failure */
	int64_t self_id;                 /* the account's user id */
	int64_t server_now;              /* server clock (Date) at the pass's start */
	int64_t pass_started;            /* same, as written to sync_state */
	int64_t local_started;           /* the pass's start on the local clock (sync_state's local_*) */

	/* the stream running now */
	struct sync_stream_stats *cur;
	int prio;                        /* its requests go before those of higher ones */

	bool changed;                    /* the last sync_step() changed a row */
	long last_status;                /* HTTP status of the last response, 0 if none */
	struct ids_ctx *ids;             /* the id batch being read, if any */
};

/*
 * A stream waits for the network: other streams may store meanwhile
 * (sync_yield); it takes the database back with sync_resume, which says
 * FL_ERR_ABORTED (run->err set) when the pass has stopped meanwhile.
 */
void sync_yield(struct sync_run *run);
int sync_resume(struct sync_run *run);

/* The batch was lost: every stream stops (read from any thread of the pass). */
static inline bool sync_fatal(const struct sync_shared *sh)
{
	return __atomic_load_n(&sh->fatal, __ATOMIC_ACQUIRE);
}

static inline void sync_set_fatal(struct sync_shared *sh)
{
	__atomic_store_n(&sh->fatal, true, __ATOMIC_RELEASE);
}

/* ---- clock and requests (sync_fetch.c) ---------------------------------- */

/* Monotonic milliseconds (the limiter's clock). */
int64_t sync_now_ms(void);
/* True once the caller asked the pass to stop (opt->stop). */
bool sync_stopping(const struct sync_run *run);

/*
 * One GET read whole before anything of it is stored: its items parsed and
 * copied, its -v lines kept, so that it can be read on one thread and
 * stored on another (sync_pipe.c).  A page that failed holds no items.
 */
struct sync_page_store;
#define SYNC_PLAN_STATE_MAX 256

struct sync_page {
	char *query;                     /* the request (path and query string) */
	int rc;                          /* FL_OK, or why the read failed (err) */
	struct fl_error err;
	struct api_result res;           /* headers and envelope of the last try */
	int requests;                    /* requests made, retries included */
	struct buf notes;                /* -v lines, '\n' ended, logged when taken */
	struct json_item *items;         /* the page's items, in order */
	size_t nitems;
	size_t bytes;                    /* memory the page holds */
	unsigned char state[SYNC_PLAN_STATE_MAX]; /* the plan's state after this page */
	struct sync_page *next;          /* the read-ahead queue */
	struct sync_page_store *store;   /* the copies items point into */
	char endpoint[128];              /* the rate budget it counts against */
	int attempt;                     /* tries so far */
	bool last;                       /* the last page of its chain */
	void *chain;                     /* the chain it was read for (sync_pipe.c) */
};

struct sync_page *sync_page_new(void);
void sync_page_free(struct sync_page *pg);
/* Make pg, new or used, the empty page of query (FL_ERR_NOMEM when it cannot). */
int sync_page_reset(struct sync_page *pg, const char *query);

/*
 * A try of pg->query (sync_pipe.c sends it).  sync_page_start asks the rate
 * limiter: with *wait_ms 0 the request is counted as sent and may go now
 * (the page is cleared for it, its items to be copied by sync_page_item as
 * they arrive); with *wait_ms > 0 it must wait that long first; a wait past
 * 2 s fails it at once (FL_ERR_RATE_LIMITED in pg->rc) so the pass reads
 * other streams meanwhile.  sync_page_ended takes the try's outcome (the
 * api_xfer_end() code, pg->err and pg->res filled): the limiter learns from
 * it; network errors, 5xx and mangled bodies are tried again after
 * *retry_ms (jittered back-off) up to opt->max_attempts, each try starting
 * the page afresh; otherwise pg->rc is the page's verdict (*retry_ms -1).
 */
int sync_page_start(const struct sync_run *run, struct sync_page *pg, int64_t *wait_ms);
int sync_page_item(void *ctx, const struct json_item *it);
int sync_page_ended(const struct sync_run *run, struct sync_page *pg, int rc, int64_t *retry_ms);

/*
 * Account for a read page (requests, status, the server's clock, its -v
 * lines, its error into run->err), then store each of its items with fn
 * (may be NULL) in the open batch.  res (may be NULL) gets the page's
 * result.  Returns the read's failure or the first store failure.
 */
int sync_page_take(struct sync_run *run, const struct sync_page *pg, sync_store_fn fn,
		   struct api_result *res);

/* Add a -v line (printf style) to pg, logged when it is taken. */
void sync_page_note(struct sync_page *pg, const struct sync_run *run, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read path_query and store each item of collection with fn (a one-page pipe). */
int sync_get(struct sync_run *run, const char *path_query, const char *collection,
	     sync_store_fn fn, struct api_result *res);

/*
 * Requests side by side (sync_pipe.c).  A plan says which page follows
 * which, from the pages alone (it runs on the fetching thread, never from
 * what storing them did; it may add -v lines to prev with sync_page_note):
 * next moves its state past prev (NULL: the start) and says whether a page
 * follows (false with err set when the plan fails); query writes the
 * request of the state's next page.  A plan that can be read in parts has
 * split: it moves the last 1/parts of what state has left to read into
 * right (a state of its own), or says false when that is not worth a
 * request.  A plan's state is at most SYNC_PLAN_STATE_MAX bytes.
 *
 * sync_pipe_start reads a plan as chains: the plan's state, split where
 * requests would otherwise sit idle, each chain read page after page, the
 * chains side by side with every other stream's, up to opt->max_in_flight
 * requests at once, each chain at most opt->read_ahead pages (1 when 0)
 * ahead of the stream storing them, and no page is asked for while every
 * stream's pages waiting to be taken hold SYNC_PIPE_BYTES (each stream
 * takes its own, so that always ends).  sync_pipe_take takes the next
 * page read, of whichever chain: its chain's state after it into state,
 * its items stored with fn (sync_page_take), its result into res (may be
 * NULL); *more is false once every chain's last page was taken.  It returns
 * the page's failure, or one of the reading side that no page carries (the
 * plan's, out of memory), with run->err set.  sync_pipe_frontier says how
 * far the chains' pages taken so far reach without a gap: false when all
 * were taken, else the state, after its last page taken (or before its
 * first), of the first chain not taken whole; every chain before it was.
 * sync_pipe_end stops reading, waits for the requests in flight to be
 * given up and frees what was read; requests made for pages never taken
 * are counted in run.
 */
#define SYNC_PIPE_BYTES ((size_t)1 << 20)

struct sync_plan {
	bool (*next)(void *state, struct sync_page *prev, struct fl_error *err);
	bool (*query)(const void *state, struct buf *q, struct fl_error *err);
	bool (*split)(void *state, void *right, int parts);  /* NULL: one chain */
	void *state;
	size_t state_size;
};

struct sync_pipe;
int sync_pipe_start(struct sync_run *run, const char *collection, const struct sync_plan *plan,
		    struct sync_pipe **out);
int sync_pipe_take(struct sync_pipe *p, sync_store_fn fn, void *state, struct api_result *res, bool *more);
bool sync_pipe_frontier(struct sync_pipe *p, void *state);
void sync_pipe_end(struct sync_pipe *p);

/*
 * The pass's fetcher: a thread driving a curl multi handle (one connection
 * pool for the account, HTTP/2 multiplexed where offered) for every pipe.
 * sync_fetch_start makes it for run's pass (in run->sh->fetch); its
 * figures are the most requests it had in flight at once.
 */
int sync_fetch_start(struct sync_run *run);
void sync_fetch_stop(struct sync_run *run);
int sync_fetch_max_in_flight(const struct sync_run *run);

/* ---- transactions (sync_batch.c) --------------------------------------- */

/* Make sure a transaction is open. */
int sync_tx_begin(struct sync_run *run);
/* Commit if the batch is full (rows or time); force commits regardless. */
int sync_tx_maybe_commit(struct sync_run *run, bool force);
/* True when the open batch is full: so many rows or so much time. */
bool sync_batch_full(const struct sync_run *run);
void sync_tx_rollback(struct sync_run *run);

/*
 * Full-text upkeep per batch (sync_fts.c, migration 008): setup makes this
 * connection's TEMP triggers that note the rows a batch touches; begin marks
 * the open transaction as a batch (the per-row FTS triggers stand aside);
 * flush indexes the noted rows in bulk and clears the mark, just before the
 * commit.  A rollback undoes the notes and the mark with the rows.
 */
int sync_fts_setup(struct sync_run *run);
void sync_fts_teardown(struct sync_run *run);
int sync_fts_begin(struct sync_run *run);
int sync_fts_flush(struct sync_run *run);

/*
 * reply_times upkeep per batch (sync_replies.c, migration 016): setup makes
 * the TEMP triggers that note the threads a batch touches; flush makes those
 * threads' rows again, before the FTS flush clears the batch's mark; rebuild
 * makes every row again (after a first load's indexes are built).
 */
int sync_replies_setup(struct sync_run *run);
void sync_replies_teardown(struct sync_run *run);
int sync_replies_flush(struct sync_run *run);
int sync_replies_rebuild(struct sync_run *run);

/*
 * Indexes built after a first load (sync_indexes.c): defer sets the plain
 * secondary indexes of the bulk tables aside when the database is empty and
 * never synced (*deferred tells); restore builds every index set aside, by
 * this pass or by one a crash interrupted.
 */
int sync_indexes_defer(struct sync_run *run, bool *deferred);
int sync_indexes_restore(struct sync_run *run);

/*
 * SQL on the pass's connection, failures into run->err: sync_exec runs
 * statements that return no rows; sync_exec_binds one statement with binds
 * (store.h); sync_fail_db records the connection's error naming what.
 */
int sync_exec(struct sync_run *run, const char *sql, const char *what);
int sync_exec_binds(struct sync_run *run, const char *what, const char *sql, const struct store_bind *b,
		    size_t n);
int sync_fail_db(struct sync_run *run, const char *what);

/* ---- sync_state -------------------------------------------------------- */

struct sync_cursor {
	bool has_cursor;
	int64_t cursor;
	int64_t last_success;
	char extra[512];                 /* cursor_extra, "" if NULL */
};

int sync_state_load(struct sync_run *run, const char *stream, struct sync_cursor *out);
/* Write the cursor (inside the open transaction, with the rows it covers). */
int sync_state_cursor(struct sync_run *run, const char *stream, int64_t cursor, const char *extra);
int sync_state_finish(struct sync_run *run, const char *stream, int rc, const char *error);

/* ---- paging shapes ----------------------------------------------------- */

/*
 * A time-windowed stream: items of `collection` from base_query (a path with
 * its fixed filters and projections) whose time (fn_time) lies in [from, to),
 * with from/to passed as from_param/to_param.  Resumes from the stream's
 * cursor minus the lookback; advances the cursor with each committed batch.
 */
struct sync_window_spec {
	const char *stream;              /* sync_state key */
	const char *base_query;          /* e.g. "/api/projects/0.1/bids/?bidders[]=42" */
	const char *collection;          /* "bids" */
	const char *from_param, *to_param; /* "from_time"/"to_time" or *_updated_time */
	sync_store_fn store;
	sync_time_fn time;
};
int sync_window(struct sync_run *run, const struct sync_window_spec *spec);
/*
 * The planner of [from, to) of spec, as sync_window reads it (and the unit
 * tests drive it): its state in state (SYNC_PLAN_STATE_MAX bytes, aligned),
 * the plan in sp.  sync_window_covered says how far a window's cursor may
 * go once everything before the state given (a frontier) is stored.
 */
void sync_window_plan(const struct sync_run *run, const struct sync_window_spec *spec, int64_t from, int64_t to,
		      struct sync_plan *sp, void *state);
int64_t sync_window_covered(const void *state, int64_t from);

/*
 * Every item of base_query (no time filter), paged by offset until a short
 * page; commits batches as it goes.  sync_paged_all reads each of n bases
 * so, side by side.
 */
int sync_paged(struct sync_run *run, const char *base_query, const char *collection,
	       sync_store_fn fn);
int sync_paged_all(struct sync_run *run, const char *const *bases, size_t n, const char *collection,
		   sync_store_fn fn);

/*
 * Read the ids that sql selects (one int64 column; :self and :now, the
 * server's clock at the pass's start, are bound), in batches of up to 100,
 * as base_query + "&<param>=<id>" for each, storing items with fn.  With
 * one_per_id (users[], bids[], projects[] of projects) a batch is one page;
 * otherwise (milestones of projects[]) each batch pages until a short page.
 * Returns the number of ids asked for in *out_asked.
 */
int sync_by_ids(struct sync_run *run, const char *sql, const char *base_query,
		const char *param, const char *collection, sync_store_fn fn,
		bool one_per_id, int max_requests, int64_t *out_asked);

/*
 * As sync_by_ids, and ids asked for but not returned are "vanished": unless
 * they are more than opt->mass_delete_ratio of table's rows (the mass-delete
 * guard, which fails the stream instead), mark_sql runs for each, with the id
 * bound to ?1.  id_path names the item field that holds the id.
 */
int sync_by_ids_vanish(struct sync_run *run, const char *sql, const char *base_query,
		       const char *param, const char *collection, sync_store_fn fn,
		       const char *id_path, const char *table, const char *mark_sql,
		       int max_requests);

/* ---- storage helpers --------------------------------------------------- */

/* Prepared-statement slots: one per statement, kept for the whole pass. */
enum sync_slot {
	SLOT_REF, /* SLOT_REF + kind: sync_ref's, by enum sync_ref */
	SLOT_TOUCH = SLOT_REF + REF_COUNT, SLOT_CURSOR,
	SLOT_USER, SLOT_USER_SELF, SLOT_CURRENCY, SLOT_JOB, SLOT_CATEGORY, SLOT_JOB_CATEGORY,
	SLOT_PROJECT, SLOT_PROJECT_JOBS_DEL, SLOT_PROJECT_JOB,
	SLOT_BID, SLOT_MILESTONE, SLOT_MILESTONE_REQUEST, SLOT_REVIEW,
	SLOT_THREAD, SLOT_THREAD_MEMBERS_DEL, SLOT_THREAD_MEMBER, SLOT_MESSAGE,
	SLOT_COUNT
};

/* A prepared statement kept for the pass, in slot (0..63). */
int sync_stmt(struct sync_run *run, int slot, const char *sql, sqlite3_stmt **out);

/*
 * Bind a field of it as int / real / text / bool (0/1), or NULL when absent
 * or null.  Text and raw are bound without a copy (SQLITE_STATIC): the item
 * lives until its store function returns, every statement is stepped there,
 * and sync_step clears its bindings.
 */
void sync_bind_int(sqlite3_stmt *st, int col, const struct json_item *it, const char *path);
void sync_bind_real(sqlite3_stmt *st, int col, const struct json_item *it, const char *path);
void sync_bind_text(sqlite3_stmt *st, int col, const struct json_item *it, const char *path);
void sync_bind_bool(sqlite3_stmt *st, int col, const struct json_item *it, const char *path);
void sync_bind_raw(sqlite3_stmt *st, int col, const struct json_item *it);
/*
 * Bind an enum field, or NULL when its value is not one of allowed (NULL
 * terminated): the API may grow values the schema's CHECK does not know yet;
 * the row is still stored, and raw keeps the value.
 */
void sync_bind_enum(sqlite3_stmt *st, int col, const struct json_item *it, const char *path,
		    const char *const *allowed);

/* Step an upsert; counts a changed row; errors name what (e.g. "store bid 12"). */
int sync_step(struct sync_run *run, sqlite3_stmt *st, const char *what, int64_t id);

/*
 * For upserts whose update asks `WHERE table.raw IS NOT excluded.raw` (and
 * perhaps more): sync_same_raw is true when table's row id holds it's raw
 * text exactly, so the upsert would change nothing and the caller may skip
 * it (run->changed is then false).  It looks only while the slot's recent
 * upserts all changed nothing (a re-read), so a first sync never pays for
 * the look; sync_upsert is sync_step keeping that count.
 */
bool sync_same_raw(struct sync_run *run, int slot, const char *table, int64_t id,
		   const struct json_item *it);
int sync_upsert(struct sync_run *run, int slot, sqlite3_stmt *st, const char *what, int64_t id);
/* Step a statement on a row's satellites (project_jobs, thread_members): not counted. */
int sync_step_aux(struct sync_run *run, sqlite3_stmt *st, const char *what, int64_t id);

/*
 * Make sure a referenced row of kind exists (a stub with raw NULL until
 * fetched); each id once a pass.  id <= 0 names nothing.
 */
int sync_ref(struct sync_run *run, enum sync_ref kind, int64_t id);

/* Note a project whose milestones should be re-read in this pass. */
int sync_touch_project(struct sync_run *run, int64_t id);

/* Sleep ms, waking early when asked to stop; other streams store meanwhile. */
void sync_nap(struct sync_run *run, int64_t ms);

/* Log a -v line (printf style). */
void sync_log(struct sync_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report progress of the current stream. */
void sync_progress(struct sync_run *run, bool done, const char *error);

/* ---- entities as data (sync_columns.c) --------------------------------------- */

/*
 * What a column of an entity's row holds: the row's key (given by the
 * caller: a computed id, a review's three), a field of the item by its JSON
 * path, the item's raw text, the pass's server clock, a value the caller
 * gives (arg), or a fixed SQL expression (value, no bind).
 */
enum sync_col_kind {
	COL_KEY,        /* keys[key] */
	COL_INT, COL_REAL, COL_TEXT, COL_BOOL,
	COL_ENUM,       /* text, NULL unless one of values */
	COL_NUMTEXT,    /* text, or a number's text (client_message_id is either) */
	COL_RAW,        /* the item's JSON */
	COL_NOW,        /* run->server_now */
	COL_ARG,        /* args[key] */
	COL_FIXED,      /* value alone */
};

/*
 * One column, one line: its name, kind and JSON path (alt: the path read
 * when path is absent); ref: a stub row of that kind for its value before
 * the row is written; value: the VALUES expression when
 * not a plain bind ('?' stands for the bind); set: the update rule, NULL
 * for "name = excluded.name", "" for none (keys, columns an update keeps),
 * else the whole assignment.
 */
struct sync_column {
	const char *name;
	enum sync_col_kind kind;
	const char *path, *alt;
	const char *const *values;       /* COL_ENUM */
	int key;                         /* COL_KEY, COL_ARG */
	enum sync_ref ref;               /* REF_NONE (the default): none */
	const char *value, *set;
};

/*
 * An entity: its table, the conflict target, the columns (ended by a NULL
 * name), the condition the update adds after "WHERE table.raw IS NOT
 * excluded.raw", its statement slot and what a failure names ("store bid").
 * look: a re-read looks at the stored raw before it writes (sync_same_raw).
 */
struct sync_entity {
	const char *table, *conflict;
	const struct sync_column *cols;
	const char *where;
	int slot;
	const char *what;
	bool look;
};

/*
 * Store item it as e's row: stub rows for the columns that name one, then
 * (unless a re-read finds its raw stored already) the upsert made from the
 * columns, prepared once a pass.  keys[0] names the row in errors.
 */
int sync_entity_store(struct sync_run *run, const struct sync_entity *e, const int64_t *keys,
		      const int64_t *args, const struct json_item *it);
/* The upsert's SQL for e, malloc'd (NULL when out of memory): for the tests and the record. */
char *sync_entity_sql(const struct sync_entity *e);

/* ---- the streams (stream_*.c) ------------------------------------------- */

int stream_self(struct sync_run *run);
int stream_webhook_hints(struct sync_run *run); /* stream_hints.c: targeted reads webhooks asked for */
int stream_reference(struct sync_run *run);
int stream_projects_own(struct sync_run *run);
int stream_projects_market(struct sync_run *run);
int stream_projects_refresh(struct sync_run *run);
int stream_bids_own(struct sync_run *run);
int stream_bids_on_own_projects(struct sync_run *run);
int stream_bids_refresh(struct sync_run *run);
int stream_milestones(struct sync_run *run);
int stream_milestone_requests(struct sync_run *run);
int stream_reviews_to(struct sync_run *run);
int stream_reviews_from(struct sync_run *run);
int stream_threads(struct sync_run *run);
int stream_messages(struct sync_run *run);
int stream_users(struct sync_run *run);
int stream_refresh(struct sync_run *run); /* stream_refresh.c: every record re-read by id, paced (last) */
int stream_actions(struct sync_run *run);   /* action_replay.c: send queued write actions */

/* Store functions shared between streams of one family. */
int row_project(struct sync_run *run, const struct json_item *it);
int row_bid(struct sync_run *run, const struct json_item *it);
int row_user(struct sync_run *run, const struct json_item *it);
int row_milestone(struct sync_run *run, const struct json_item *it);
int row_milestone_request(struct sync_run *run, const struct json_item *it);
int row_review(struct sync_run *run, const struct json_item *it);
int row_thread(struct sync_run *run, const struct json_item *it);
int row_message(struct sync_run *run, const struct json_item *it);

/*
 * The upsert condition that keeps the fresher row, for entities that carry
 * a last-updated time (projects, threads): a read the API served from
 * before the stored one (a stale cache, a slow replica, a page read while
 * the row changed) never overwrites it.  Rows with a local_state are the
 * queue's optimistic ones, timed by the local clock: the server's row
 * replaces them as always.
 */
#define NEWER_OR_SAME(t) \
	"AND (" t ".local_state IS NOT NULL OR " t ".time_updated IS NULL OR excluded.time_updated IS NULL " \
	"OR excluded.time_updated >= " t ".time_updated)"

#endif
