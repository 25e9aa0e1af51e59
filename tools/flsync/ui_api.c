/*
 * ui_api.c — the JSON endpoints of `flsync ui`: each GET reads the database
 * through prepared statements (rows out as JSON by output.c's writer), each
 * POST queues, cancels or retries an action through the library, whose
 * validation is the one that counts, or asks flsyncd for a pass.  Requests
 * name objects by id only; text never becomes SQL.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "tool.h"
#include "ui.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 500

#define SELF "(SELECT id FROM users WHERE is_self = 1)"
#define PAGED " LIMIT :limit OFFSET :offset"
#define NAME(u, id) "coalesce(" u ".display_name, " u ".username, 'user ' || " id ")"

/* ---- writing answers ----------------------------------------------------- */

struct out {
	FILE *f;
	char *buf;
	size_t len;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	if (!o->f)
		abort(); /* out of memory: the tool aborts (util/xalloc.h) */
}

static void out_close(struct out *o, struct ui_reply *rep, unsigned status)
{
	fclose(o->f);
	rep->status = status;
	rep->body = o->buf;
	rep->len = o->len;
}

static void out_discard(struct out *o)
{
	fclose(o->f);
	free(o->buf);
}

unsigned ui_error(struct ui_reply *out, unsigned status, const char *fmt, ...)
{
	struct out o;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	out_open(&o);
	fputs("{\"error\":", o.f);
	tool_json_string(o.f, msg, strlen(msg));
	fputs("}\n", o.f);
	free(msg);
	out_close(&o, out, status);
	return status;
}

/* The HTTP status for a library code. */
static unsigned status_of(int rc)
{
	switch (rc) {
	case FL_ERR_INVALID:
	case FL_ERR_MISUSE:
		return 400;
	case FL_ERR_READONLY:
		return 403;
	case FL_ERR_NOT_FOUND:
		return 404;
	case FL_ERR_STATE:
		return 409;
	case FL_ERR_BUSY:
		return 503;
	default:
		return 500;
	}
}

/* ---- reading parameters ---------------------------------------------------- */

/* An integer parameter; false (and a 400 in rep) when present but not one, or required and absent. */
static bool arg_int(const struct ui_args *a, const char *name, bool required, int64_t def, int64_t min,
		    int64_t max, int64_t *v, struct ui_reply *rep)
{
	const char *s = a->get(a->ctx, name);

	*v = def;
	if (!s || !*s) {
		if (required)
			ui_error(rep, 400, "the parameter %s is missing", name);
		return !required;
	}
	if (!tool_parse_int64(s, v) || *v < min || *v > max) {
		ui_error(rep, 400, "the parameter %s must be a whole number from %lld to %lld", name,
			 (long long)min, (long long)max);
		return false;
	}
	return true;
}

/* ---- rows as JSON ---------------------------------------------------------- */

struct bind {
	const char *name; /* ":id" */
	int64_t i;
	const char *s;    /* text instead of i when set */
};

/*
 * Write `"key":[rows]` of sql (with binds) to o; FL_OK, or the error with
 * its message in rep.
 */
static int rows(struct fl_db *db, struct out *o, const char *key, const char *sql,
		const struct bind *b, int nb, struct ui_reply *rep, int64_t *out_n)
{
	struct fl_stmt *st;
	int64_t n = 0;
	int rc, i;

	if ((rc = fl_stmt_prepare(db, sql, &st))) {
		ui_error(rep, 500, "%s: %s", key, fl_errmsg(db));
		return rc;
	}
	for (i = 0; i < nb; i++) {
		int idx = fl_stmt_param_index(st, b[i].name);

		if (idx > 0)
			rc = b[i].s ? fl_stmt_bind_text(st, idx, b[i].s, -1) : fl_stmt_bind_int64(st, idx, b[i].i);
	}
	if (key) {
		tool_json_string(o->f, key, strlen(key));
		putc(':', o->f);
	}
	if (!rc)
		rc = tool_write_all(db, st, o->f, FMT_JSON, &n);
	if (rc)
		ui_error(rep, status_of(rc), "%s: %s", key ? key : "read", fl_errmsg(db));
	fl_stmt_finalize(st);
	if (out_n)
		*out_n = n;
	return rc;
}

/* ---- the GET endpoints ---------------------------------------------------- */

static const char threads_sql[] =
	"SELECT t.id, coalesce(pr.title, 'Thread ' || t.id) AS title, t.context_type, t.context_id, "
	"t.is_read, t.is_muted, t.folder, t.time_updated, t.local_state, "
	"(SELECT group_concat(" NAME("u", "tm.user_id") ", ', ') FROM thread_members tm "
	" LEFT JOIN users u ON u.id = tm.user_id WHERE tm.thread_id = t.id AND tm.user_id IS NOT " SELF ") AS members, "
	"lm.message AS last_message, lm.from_user_id IS " SELF " AS last_mine, "
	NAME("lu", "lm.from_user_id") " AS last_sender, "
	"CASE WHEN t.is_read = 1 THEN 0 ELSE (SELECT count(*) FROM messages m WHERE m.thread_id = t.id "
	" AND m.time_created > coalesce(t.time_read, 0) AND m.from_user_id IS NOT " SELF ") END AS unread "
	"FROM threads t LEFT JOIN projects pr ON t.context_type = 'project' AND pr.id = t.context_id "
	/* the newest message and who sent it: the inbox line says "You:" for the account's own */
	"LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.thread_id = t.id "
	" ORDER BY m.time_created DESC, m.id DESC LIMIT 1) "
	"LEFT JOIN users lu ON lu.id = lm.from_user_id "
	"%s ORDER BY t.time_updated DESC, t.id DESC LIMIT :limit OFFSET :offset";

static const char messages_sql[] =
	"SELECT m.id, m.from_user_id, " NAME("u", "m.from_user_id") " AS sender, "
	"m.from_user_id IS " SELF " AS mine, m.message, m.time_created, m.local_state, "
	"a.id AS action_id, a.state AS action_state, a.error_message "
	"FROM (SELECT * FROM messages WHERE thread_id = :id ORDER BY time_created DESC, id DESC LIMIT 200) m "
	"LEFT JOIN users u ON u.id = m.from_user_id "
	"LEFT JOIN actions a ON m.local_id IS NOT NULL AND a.local_ref = m.local_id "
	"ORDER BY m.time_created, m.id";

static const char projects_sql[] =
	"SELECT p.id, p.title, p.status, p.type, c.code AS currency, p.budget_minimum, p.budget_maximum, "
	"p.time_submitted, p.local_state, p.preview_description, %s"
	"(SELECT count(*) FROM bids b WHERE b.project_id = p.id AND b.deleted = 0) AS bids, "
	"p.owner_id IS " SELF " AS mine, "
	"EXISTS (SELECT 1 FROM bids b WHERE b.project_id = p.id AND b.deleted = 0 AND b.bidder_id IS " SELF ") AS my_bid "
	"FROM projects p LEFT JOIN currencies c ON c.id = p.currency_id WHERE p.deleted = 0 AND %s "
	"ORDER BY p.time_submitted DESC, p.id DESC LIMIT :limit OFFSET :offset";

static const char bids_sql[] =
	"SELECT b.id, b.project_id, p.title AS project_title, b.bidder_id, " NAME("u", "b.bidder_id") " AS bidder, "
	"b.amount, c.code AS currency, b.period, b.description, b.award_status, "
	"b.retracted, b.local_state, b.local_action, b.time_submitted "
	"FROM bids b LEFT JOIN projects p ON p.id = b.project_id LEFT JOIN currencies c ON c.id = p.currency_id "
	"LEFT JOIN users u ON u.id = b.bidder_id WHERE b.deleted = 0 AND %s "
	"ORDER BY %s%s"; /* where, order, PAGED or "" */

static const char milestones_sql[] =
	"SELECT m.id, m.project_id, p.title AS project_title, m.bid_id, m.amount, c.code AS currency, m.status, "
	"m.description, m.local_state, m.local_action, m.time_created, "
	"m.project_owner_id IS " SELF " AS can_release "
	"FROM milestones m LEFT JOIN projects p ON p.id = m.project_id LEFT JOIN currencies c ON c.id = m.currency_id "
	"WHERE m.project_owner_id IS " SELF " OR m.bidder_id IS " SELF " "
	"ORDER BY m.time_created DESC, m.id DESC LIMIT :limit OFFSET :offset";

static const char actions_sql[] =
	"SELECT id, kind, state, params, local_ref, depends_on, attempts, http_status, error_code, error_message, "
	"created_at, updated_at, next_attempt FROM actions "
	"WHERE state IN ('queued', 'sending', 'failed') OR updated_at > CAST(strftime('%s', 'now') AS INTEGER) - 86400 "
	"ORDER BY id DESC LIMIT :limit OFFSET :offset";

/*
 * The market searches flsyncd has run ([search] query and jobs): each has a
 * stream of its own, "projects_market:QUERY" or "projects_market job N";
 * the bare "projects_market" row is the scheduler's, there with no search.
 */
static const char market_searches_sql[] =
	"SELECT stream FROM sync_state WHERE stream LIKE 'projects\\_market:%' ESCAPE '\\' "
	"OR stream LIKE 'projects\\_market %' ESCAPE '\\' ORDER BY stream LIMIT :limit OFFSET :offset";

/* A page of rows: offset and limit from the request. */
static bool page(const struct ui_args *a, struct bind *b, struct ui_reply *rep)
{
	b[0].name = ":limit";
	b[1].name = ":offset";
	b[0].s = b[1].s = NULL;
	return arg_int(a, "limit", false, PAGE_DEFAULT, 1, PAGE_MAX, &b[0].i, rep) &&
	       arg_int(a, "offset", false, 0, 0, INT64_MAX / 2, &b[1].i, rep);
}

/* {"KEY": [rows]} for one paged query. */
static void list(struct fl_db *db, const struct ui_args *a, const char *key, const char *sql,
		 struct ui_reply *rep)
{
	struct bind b[2];
	struct out o;

	if (!page(a, b, rep))
		return;
	out_open(&o);
	putc('{', o.f);
	if (rows(db, &o, key, sql, b, 2, rep, NULL)) {
		out_discard(&o);
		return;
	}
	fputs("}\n", o.f);
	out_close(&o, rep, 200);
}

/* The inbox without archived threads, or (folder=archived) the archived ones alone. */
static void threads_list(struct fl_db *db, const struct ui_args *a, struct ui_reply *rep)
{
	const char *folder = a->get(a->ctx, "folder");
	char sql[4096];

	if (folder && *folder && strcmp(folder, "archived") && strcmp(folder, "inbox")) {
		ui_error(rep, 400, "the parameter folder must be inbox or archived");
		return;
	}
	snprintf(sql, sizeof sql, threads_sql,
		 folder && !strcmp(folder, "archived") ? "WHERE t.folder = 'archived'"
						       : "WHERE t.folder IS NOT 'archived'");
	list(db, a, "threads", sql, rep);
}

static void get_self(struct fl_db *db, struct ui_reply *rep)
{
	struct out o;

	out_open(&o);
	putc('{', o.f);
	if (rows(db, &o, "self", "SELECT id, username, display_name FROM users WHERE is_self = 1", NULL, 0, rep, NULL))
		goto fail;
	putc(',', o.f);
	if (rows(db, &o, "counts",
		 "SELECT (SELECT count(*) FROM threads WHERE is_read = 0 AND folder IS NOT 'archived') AS unread_threads, "
		 "(SELECT count(*) FROM actions WHERE state IN ('queued', 'sending')) AS pending_actions, "
		 "(SELECT count(*) FROM actions WHERE state = 'failed') AS failed_actions, "
		 "(SELECT coalesce(max(seq), 0) FROM changes) AS changes_latest",
		 NULL, 0, rep, NULL))
		goto fail;
	fputs("}\n", o.f);
	out_close(&o, rep, 200);
	return;
fail:
	out_discard(&o);
}

/* One object and its children: {"KEY": [row], "CHILD": [rows]}; 404 when the object is not there. */
static void get_one(struct fl_db *db, const struct ui_args *a, const char *what, const char *sql,
		    const char *child, const char *child_sql, struct ui_reply *rep)
{
	struct bind b[3];
	struct out o;
	int64_t n;

	if (!arg_int(a, "id", true, 0, INT64_MIN, INT64_MAX, &b[0].i, rep))
		return;
	b[0].name = ":id";
	b[0].s = NULL;
	b[1] = (struct bind){ ":limit", 1, NULL };
	b[2] = (struct bind){ ":offset", 0, NULL };
	out_open(&o);
	putc('{', o.f);
	if (rows(db, &o, what, sql, b, 3, rep, &n))
		goto fail;
	if (n == 0) {
		ui_error(rep, 404, "no %s with id %lld", what, (long long)b[0].i);
		goto fail;
	}
	putc(',', o.f);
	if (rows(db, &o, child, child_sql, b, 1, rep, NULL))
		goto fail;
	fputs("}\n", o.f);
	out_close(&o, rep, 200);
	return;
fail:
	out_discard(&o);
}

static void get_search(struct fl_db *db, const struct ui_args *a, struct ui_reply *rep)
{
	const char *q = a->get(a->ctx, "q"), *in = a->get(a->ctx, "in");
	bool projects = !in || !*in || !strcmp(in, "projects"), messages = !in || !*in || !strcmp(in, "messages");
	struct out o;
	int64_t limit, n;
	char why[200];
	int rc;

	if (!q || !*q) {
		ui_error(rep, 400, "the parameter q (what to search for) is missing");
		return;
	}
	if (!projects && !messages) {
		ui_error(rep, 400, "the parameter in must be projects or messages");
		return;
	}
	if (!arg_int(a, "limit", false, 50, 1, PAGE_MAX, &limit, rep))
		return;
	if (tool_search_tables(q, &projects, &messages, why, sizeof why) != FL_OK) {
		ui_error(rep, 400, "%s", why);
		return;
	}
	out_open(&o);
	fputs("{\"results\":", o.f);
	/* Matches are marked with two private-use characters the page turns into <mark>. */
	rc = tool_search(db, q, projects, messages, limit, TOOL_MARK_ON, TOOL_MARK_OFF, o.f, FMT_JSON, &n);
	if (rc) {
		out_discard(&o);
		if (rc == FL_ERR_INVALID)
			ui_error(rep, 400, "too many separate parts in the search text");
		else
			ui_error(rep, status_of(rc), "search: %s", fl_errmsg(db));
		return;
	}
	fputs("}\n", o.f);
	out_close(&o, rep, 200);
}

static void get_status(struct fl_db *db, struct ui_syncer *sync, struct ui_reply *rep)
{
	struct fl_status *s;
	struct out o;
	int64_t i;
	int rc = fl_status_get(db, &s);

	if (rc) {
		ui_error(rep, status_of(rc), "status: %s", fl_errmsg(db));
		return;
	}
	out_open(&o);
	fprintf(o.f, "{\"schema_version\":%d,\"changes_latest\":%lld,", s->schema_version,
		(long long)s->changes_latest);
	ui_syncer_json(sync, o.f);
	fputc(',', o.f);
	fprintf(o.f, "\"actions\":{\"queued\":%lld,\"sending\":%lld,\"done\":%lld,\"failed\":%lld,\"cancelled\":%lld},",
		(long long)s->actions_queued, (long long)s->actions_sending, (long long)s->actions_done,
		(long long)s->actions_failed, (long long)s->actions_cancelled);
	fputs("\"streams\":[", o.f);
	for (i = 0; i < s->streams_count; i++) {
		const struct fl_stream_status *t = &s->streams[i];

		fputs(i ? ",{\"stream\":" : "{\"stream\":", o.f);
		tool_json_string(o.f, t->stream, strlen(t->stream));
		fprintf(o.f, ",\"cursor\":%lld,\"last_started\":%lld,\"last_success\":%lld,\"last_error\":",
			(long long)t->cursor, (long long)t->last_started, (long long)t->last_success);
		if (t->last_error)
			tool_json_string(o.f, t->last_error, strlen(t->last_error));
		else
			fputs("null", o.f);
		fprintf(o.f, ",\"last_error_at\":%lld,\"failures\":%lld,\"rows_synced\":%lld,\"requests\":%lld}",
			(long long)t->last_error_at, (long long)t->failures, (long long)t->rows_synced,
			(long long)t->requests);
	}
	fputs("]}\n", o.f);
	fl_status_free(s);
	out_close(&o, rep, 200);
}

/* ---- the POST endpoints --------------------------------------------------- */

/*
 * The library queues actions on objects it has not synced (the API decides
 * about those); the app acts only on what it shows, so an id it names must
 * be in the database.  False, with a 404 in rep, when one is not; malformed
 * params are left to the library's validation.
 */
static bool objects_known(struct fl_db *db, const char *params, struct ui_reply *rep)
{
	static const struct { const char *key, *table, *noun; } refs[] = {
		{ "thread_id", "threads", "thread" },
		{ "bid_id", "bids", "bid" },
		{ "project_id", "projects", "project" },
		{ "milestone_id", "milestones", "milestone" },
		{ "milestone_request_id", "milestone_requests", "milestone request" },
	};
	size_t i;

	for (i = 0; i < sizeof refs / sizeof *refs; i++) {
		char sql[256];
		struct fl_stmt *st;
		int row = 0;
		int64_t id = 0;
		bool known = true;

		snprintf(sql, sizeof sql,
			 "SELECT json_extract(?1, '$.%s'), EXISTS (SELECT 1 FROM %s WHERE id = json_extract(?1, '$.%s')) "
			 "WHERE json_valid(?1) AND json_type(?1, '$.%s') = 'integer'",
			 refs[i].key, refs[i].table, refs[i].key, refs[i].key);
		if (fl_stmt_prepare(db, sql, &st))
			continue;
		fl_stmt_bind_text(st, 1, params, -1);
		if (fl_stmt_step(st, &row) == FL_OK && row) {
			id = fl_stmt_column_int64(st, 0);
			known = fl_stmt_column_int64(st, 1) != 0;
		}
		fl_stmt_finalize(st);
		if (!known) {
			ui_error(rep, 404, "no %s with id %lld in the database", refs[i].noun, (long long)id);
			return false;
		}
	}
	return true;
}

static void post_enqueue(struct fl_db *db, const struct ui_args *a, struct ui_reply *rep)
{
	const char *kind = a->get(a->ctx, "kind"), *params = a->get(a->ctx, "params");
	char *ref = NULL, why[512];
	struct out o;
	int64_t id;
	int rc;

	if (!kind || !*kind || !params || !*params) {
		ui_error(rep, 400, "the fields kind and params (a JSON object) are needed");
		return;
	}
	if (!objects_known(db, params, rep))
		return;
	if (tool_action_refused(db, kind, params, why, sizeof why)) {
		ui_error(rep, 409, "%s", why);
		return;
	}
	rc = fl_action_enqueue(db, kind, params, &id, &ref);
	if (rc) {
		ui_error(rep, status_of(rc), "%s", fl_errmsg(db));
		return;
	}
	out_open(&o);
	fprintf(o.f, "{\"id\":%lld,\"local_ref\":", (long long)id);
	if (ref)
		tool_json_string(o.f, ref, strlen(ref));
	else
		fputs("null", o.f);
	fputs("}\n", o.f);
	fl_free(ref);
	out_close(&o, rep, 201);
}

static void post_action(struct fl_db *db, const struct ui_args *a, bool cancel, struct ui_reply *rep)
{
	struct out o;
	int64_t id;
	int rc;

	if (!arg_int(a, "id", true, 0, 1, INT64_MAX, &id, rep))
		return;
	rc = cancel ? fl_action_cancel(db, id) : fl_action_retry(db, id);
	if (rc) {
		ui_error(rep, status_of(rc), "%s", fl_errmsg(db));
		return;
	}
	out_open(&o);
	fprintf(o.f, "{\"id\":%lld,\"state\":\"%s\"}\n", (long long)id, cancel ? "cancelled" : "queued");
	out_close(&o, rep, 200);
}

/* One action's outcome, for the app's toast: sent, failed with the API's reason, or why it waits. */
static void get_action(struct fl_db *db, struct ui_syncer *sync, const struct ui_args *args,
		       struct ui_reply *rep)
{
	struct fl_action_info *a = NULL;
	char why[512] = "";
	struct out o;
	int64_t id;
	int rc;

	if (!arg_int(args, "id", true, 0, 1, INT64_MAX, &id, rep))
		return;
	rc = fl_action_get(db, id, &a);
	if (rc) {
		ui_error(rep, status_of(rc), "%s", fl_errmsg(db));
		return;
	}
	if (a->state == FL_ACTION_QUEUED || a->state == FL_ACTION_SENDING)
		ui_syncer_why(sync, a, why, sizeof why);
	out_open(&o);
	fprintf(o.f, "{\"id\":%lld,\"kind\":", (long long)a->id);
	tool_json_string(o.f, a->kind, strlen(a->kind));
	fprintf(o.f, ",\"state\":\"%s\",\"http_status\":%d,\"error_code\":", fl_action_state_name(a->state),
		a->http_status);
	if (a->error_code)
		tool_json_string(o.f, a->error_code, strlen(a->error_code));
	else
		fputs("null", o.f);
	fputs(",\"error_message\":", o.f);
	if (a->error_message)
		tool_json_string(o.f, a->error_message, strlen(a->error_message));
	else
		fputs("null", o.f);
	fputs(",\"why\":", o.f);
	if (*why)
		tool_json_string(o.f, why, strlen(why));
	else
		fputs("null", o.f);
	fputs("}\n", o.f);
	fl_action_free(a);
	out_close(&o, rep, 200);
}

/* "Sync now": flsyncd's next pass at once, or a pass here (ui_sync.c). */
static void post_sync(struct ui_syncer *sync, struct ui_reply *rep)
{
	char msg[512];
	long pid = 0;
	unsigned status = ui_syncer_start(sync, msg, sizeof msg, &pid);
	struct out o;

	if (status != 202) {
		ui_error(rep, status, "%s", msg);
		return;
	}
	out_open(&o);
	fprintf(o.f, "{\"flsyncd_pid\":%ld,\"message\":", pid);
	tool_json_string(o.f, msg, strlen(msg));
	fputs("}\n", o.f);
	out_close(&o, rep, 202);
}

/* ---- the routes --------------------------------------------------------- */

/* One request, as every route takes it. */
struct call {
	struct fl_db *db;
	struct ui_syncer *sync;
	const struct ui_args *args;
	struct ui_reply *rep;
};

struct route;
typedef void route_fn(const struct call *c, const struct route *r);

/* /api/NAME: its handler, and what a shared handler reads of the entry. */
struct route {
	const char *name;
	route_fn *fn;
	const char *key;    /* api_list: the rows' JSON key */
	const char *sql;    /* api_list: the query */
	const char *where;  /* api_projects, api_bids: which rows */
	const char *order;  /* api_bids: their order */
};

static void api_list(const struct call *c, const struct route *r)
{
	list(c->db, c->args, r->key, r->sql, c->rep);
}

static void api_self(const struct call *c, const struct route *r)
{
	get_self(c->db, c->rep);
}

static void api_threads(const struct call *c, const struct route *r)
{
	threads_list(c->db, c->args, c->rep);
}

static void api_thread(const struct call *c, const struct route *r)
{
	char sql[4096];

	snprintf(sql, sizeof sql, threads_sql, "WHERE t.id = :id");
	get_one(c->db, c->args, "thread", sql, "messages", messages_sql, c->rep);
}

static void api_projects(const struct call *c, const struct route *r)
{
	char sql[4096];

	snprintf(sql, sizeof sql, projects_sql, "", r->where);
	list(c->db, c->args, "projects", sql, c->rep);
}

static void api_project(const struct call *c, const struct route *r)
{
	char sql[4096], bids[2048];

	/* the whole description on the project's own page; lists have the preview */
	snprintf(sql, sizeof sql, projects_sql, "p.description, ", "p.id = :id");
	/* every bid of the project: the child query's page is the whole list */
	snprintf(bids, sizeof bids, bids_sql, "b.project_id = :id", "b.time_submitted, b.id", "");
	get_one(c->db, c->args, "project", sql, "bids", bids, c->rep);
}

static void api_bids(const struct call *c, const struct route *r)
{
	char sql[4096];

	snprintf(sql, sizeof sql, bids_sql, r->where, r->order, PAGED);
	list(c->db, c->args, "bids", sql, c->rep);
}

static void api_action(const struct call *c, const struct route *r)
{
	get_action(c->db, c->sync, c->args, c->rep);
}

static void api_search(const struct call *c, const struct route *r)
{
	get_search(c->db, c->args, c->rep);
}

static void api_status(const struct call *c, const struct route *r)
{
	get_status(c->db, c->sync, c->rep);
}

static void api_insight(const struct call *c, const struct route *r)
{
	ui_insight(c->db, c->args, c->rep);
}

static void api_enqueue(const struct call *c, const struct route *r)
{
	post_enqueue(c->db, c->args, c->rep);
}

static void api_cancel(const struct call *c, const struct route *r)
{
	post_action(c->db, c->args, true, c->rep);
}

static void api_retry(const struct call *c, const struct route *r)
{
	post_action(c->db, c->args, false, c->rep);
}

static void api_sync(const struct call *c, const struct route *r)
{
	post_sync(c->sync, c->rep);
}

static const struct route get_routes[] = {
	{ .name = "self", .fn = api_self },
	{ .name = "threads", .fn = api_threads },
	{ .name = "market_searches", .fn = api_list, .key = "searches", .sql = market_searches_sql },
	{ .name = "thread", .fn = api_thread },
	{ .name = "projects", .fn = api_projects, .where = "p.owner_id IS " SELF },
	{ .name = "market", .fn = api_projects,
	  .where = "p.owner_id IS NOT " SELF " AND coalesce(p.status, 'active') = 'active'" },
	{ .name = "project", .fn = api_project },
	{ .name = "bids", .fn = api_bids, .where = "b.bidder_id IS " SELF, .order = "b.time_submitted DESC, b.id DESC" },
	{ .name = "milestones", .fn = api_list, .key = "milestones", .sql = milestones_sql },
	{ .name = "actions", .fn = api_list, .key = "actions", .sql = actions_sql },
	{ .name = "action", .fn = api_action },
	{ .name = "search", .fn = api_search },
	{ .name = "status", .fn = api_status },
	{ .name = "insight", .fn = api_insight },
	{ .name = NULL },
};

static const struct route post_routes[] = {
	{ .name = "enqueue", .fn = api_enqueue },
	{ .name = "cancel", .fn = api_cancel },
	{ .name = "retry", .fn = api_retry },
	{ .name = "sync", .fn = api_sync },
	{ .name = NULL },
};

void ui_api(struct fl_db *db, struct ui_syncer *sync, const char *name, int post,
	    const struct ui_args *args, struct ui_reply *out)
{
	const struct call c = { db, sync, args, out };
	const struct route *r;

	for (r = post ? post_routes : get_routes; r->name; r++) {
		if (!strcmp(name, r->name)) {
			r->fn(&c, r);
			return;
		}
	}
	ui_error(out, 404, post ? "no such action: %s" : "no such endpoint: %s", name);
}
