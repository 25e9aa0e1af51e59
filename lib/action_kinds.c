/*
 * action_kinds.c — every write action flsync can queue: its parameters as
 * the API reference names and types them (Create Bid, Perform Bid Action,
 * Create a Milestone, Milestone Action, Create a Milestone Request, Milestone
 * Request Action, Post a Review, Create New Thread, Add New Message, Update
 * Threads, Create New Project, Invite Freelancers To A Project), the
 * optimistic effect it has on the local tables, and how it is sent.
 * Validation runs on SQLite's JSON functions, over the caller's JSON as is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"

static const char *const reasons[] = { "full_payment", "partial_payment", "task_description", "other", NULL };
static const char *const roles[] = { "freelancer", "employer", NULL };
static const char *const context_types[] = { "project", "contest", "general", NULL };
static const char *const thread_types[] = { "private_chat", "primary", NULL };

#define END { NULL, FT_BOOL, false, NULL, NULL, NULL, 0, 0 }
#define BID_ID { "bid_id", FT_ID, true, "bid", NULL, NULL, 0, 0 }
#define MILESTONE_ID { "milestone_id", FT_ID, true, "milestone", NULL, NULL, 0, 0 }
#define MILESTONE_REQUEST_ID { "milestone_request_id", FT_ID, true, "milestone_request", NULL, NULL, 0, 0 }
#define THREAD_ID { "thread_id", FT_ID, true, "thread", NULL, NULL, 0, 0 }

static const struct field_spec f_bid_create[] = {
	{ "project_id", FT_ID, true, "project", "projects", NULL, 0, 0 },
	{ "bidder_id", FT_ID, false, NULL, "users", NULL, 0, 0 },
	{ "amount", FT_AMOUNT, true, NULL, NULL, NULL, 0, 0 },
	{ "period", FT_INT, true, NULL, NULL, NULL, 1, 3650 },
	{ "milestone_percentage", FT_INT, true, NULL, NULL, NULL, 0, 100 },
	{ "description", FT_TEXT, false, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_bid_update[] = {
	BID_ID,
	{ "amount", FT_AMOUNT, false, NULL, NULL, NULL, 0, 0 },
	{ "period", FT_INT, false, NULL, NULL, NULL, 1, 3650 },
	{ "milestone_percentage", FT_INT, false, NULL, NULL, NULL, 0, 100 },
	{ "description", FT_TEXT, false, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_bid_action[] = { BID_ID, END };
static const struct field_spec f_milestone_create[] = {
	{ "project_id", FT_ID, true, "project", "projects", NULL, 0, 0 },
	{ "bidder_id", FT_ID, true, NULL, "users", NULL, 0, 0 },
	{ "amount", FT_AMOUNT, true, NULL, NULL, NULL, 0, 0 },
	{ "description", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	{ "reason", FT_ENUM, false, NULL, NULL, reasons, 0, 0 },
	{ "bid_id", FT_ID, false, "bid", "bids", NULL, 0, 0 },
	{ "request_id", FT_ID, false, "milestone_request", NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_milestone_release[] = {
	MILESTONE_ID,
	{ "amount", FT_AMOUNT, true, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_milestone_action[] = { MILESTONE_ID, END };
static const struct field_spec f_milestone_request_create[] = {
	{ "project_id", FT_ID, true, "project", "projects", NULL, 0, 0 },
	{ "bid_id", FT_ID, true, "bid", "bids", NULL, 0, 0 },
	{ "amount", FT_AMOUNT, true, NULL, NULL, NULL, 0, 0 },
	{ "description", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_milestone_request_action[] = { MILESTONE_REQUEST_ID, END };
static const struct field_spec f_milestone_request_reject[] = {
	MILESTONE_REQUEST_ID,
	{ "reason", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_review_post[] = {
	{ "project_id", FT_ID, true, NULL, "projects", NULL, 0, 0 },
	{ "to_user_id", FT_ID, true, NULL, "users", NULL, 0, 0 },
	{ "from_user_id", FT_ID, false, NULL, "users", NULL, 0, 0 },
	{ "role", FT_ENUM, true, NULL, NULL, roles, 0, 0 },
	{ "rating", FT_NUMBER, true, NULL, NULL, NULL, 0, 5 },
	{ "comment", FT_TEXT, false, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_thread_create[] = {
	{ "members", FT_IDS, true, NULL, "users", NULL, 0, 0 },
	{ "context_type", FT_ENUM, true, NULL, NULL, context_types, 0, 0 },
	{ "context", FT_ID, false, NULL, NULL, NULL, 0, 0 },
	{ "type", FT_ENUM, true, NULL, NULL, thread_types, 0, 0 },
	{ "message", FT_TEXT, false, NULL, NULL, NULL, 0, 0 },
	END,
};
static const struct field_spec f_message_send[] = {
	{ "thread_id", FT_ID, true, "thread", "threads", NULL, 0, 0 },
	{ "message", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	{ "client_message_id", FT_INT, false, NULL, NULL, NULL, 1, 9.0e15 },
	END,
};
static const struct field_spec f_thread_action[] = { THREAD_ID, END };
static const struct field_spec f_project_create[] = {
	{ "title", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	{ "description", FT_TEXT, true, NULL, NULL, NULL, 0, 0 },
	{ "currency", FT_OBJ_ID, true, NULL, "currencies", NULL, 0, 0 },
	{ "budget", FT_BUDGET, true, NULL, NULL, NULL, 0, 0 },
	{ "jobs", FT_JOBS, true, NULL, "jobs", NULL, 0, 0 },
	END,
};
static const struct field_spec f_project_invite[] = {
	{ "project_id", FT_ID, true, "project", NULL, NULL, 0, 0 },
	{ "freelancer_id", FT_ID, true, NULL, NULL, NULL, 0, 0 },
	END,
};

/* Parameter x of the action, as queued with its local references resolved (:p). */
#define PARAM(x) "json_extract(:p, '$." x "')"

/* Optimistic rows: :id is the local id, :p the parameters with local refs resolved. */
#define LOCAL_COLS "local_state, local_id, local_action"
#define LOCAL_VALS "'pending', :local, :kind"

static const char bid_insert[] =
	"INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, description, "
	"award_status, time_submitted, " LOCAL_COLS ") VALUES (:id, " PARAM("project_id") ", "
	"coalesce(" PARAM("bidder_id") ", :self), (SELECT owner_id FROM projects WHERE id = " PARAM("project_id") "), "
	PARAM("amount") ", " PARAM("period") ", " PARAM("description") ", 'pending', :now, " LOCAL_VALS ")";

static const char milestone_insert[] =
	"INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, "
	"status, reason, description, time_created, " LOCAL_COLS ") VALUES (:id, " PARAM("project_id") ", "
	PARAM("bid_id") ", " PARAM("bidder_id") ", :self, (SELECT currency_id FROM projects WHERE id = "
	PARAM("project_id") "), " PARAM("amount") ", 'pending', " PARAM("reason") ", " PARAM("description") ", :now, "
	LOCAL_VALS ")";

static const char milestone_request_insert[] =
	"INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, "
	"amount, status, description, time_requested, " LOCAL_COLS ") VALUES (:id, " PARAM("project_id") ", "
	PARAM("bid_id") ", :self, (SELECT owner_id FROM projects WHERE id = " PARAM("project_id") "), "
	"(SELECT currency_id FROM projects WHERE id = " PARAM("project_id") "), " PARAM("amount") ", 'pending', "
	PARAM("description") ", :now, " LOCAL_VALS ")";

static const char review_insert[] =
	"INSERT INTO reviews(project_id, from_user_id, to_user_id, role, rating, description, "
	"time_submitted, local_state, local_action) VALUES (" PARAM("project_id") ", coalesce("
	PARAM("from_user_id") ", :self), " PARAM("to_user_id") ", " PARAM("role") ", " PARAM("rating") ", "
	PARAM("comment") ", :now, 'pending', :kind)";

static const char thread_insert[] =
	"INSERT INTO threads(id, thread_type, context_type, context_id, owner_id, folder, is_read, "
	"is_muted, time_created, time_updated, " LOCAL_COLS ") VALUES (:id, " PARAM("type") ", "
	PARAM("context_type") ", " PARAM("context") ", :self, 'sent', 1, 0, :now, :now, " LOCAL_VALS ");"
	"INSERT INTO thread_members(thread_id, user_id) SELECT :id, value FROM json_each(:p, '$.members') "
	"UNION SELECT :id, :self WHERE :self IS NOT NULL";

static const char message_insert[] =
	"INSERT INTO messages(id, thread_id, from_user_id, message, message_source, client_message_id, "
	"time_created, time_updated, " LOCAL_COLS ") VALUES (:id, " PARAM("thread_id") ", :self, "
	PARAM("message") ", 'default_msg', CAST(" PARAM("client_message_id") " AS TEXT), :now, :now, "
	LOCAL_VALS ")";

static const char project_insert[] =
	"INSERT INTO projects(id, owner_id, title, description, preview_description, type, status, "
	"currency_id, budget_minimum, budget_maximum, time_submitted, time_updated, " LOCAL_COLS ") "
	"VALUES (:id, :self, " PARAM("title") ", " PARAM("description") ", substr(" PARAM("description") ", 1, 200), "
	"'fixed', 'active', " PARAM("currency.id") ", " PARAM("budget.minimum") ", " PARAM("budget.maximum") ", "
	":now, :now, " LOCAL_VALS ");"
	"INSERT INTO project_jobs(project_id, job_id) SELECT :id, json_extract(value, '$.id') "
	"FROM json_each(:p, '$.jobs')";

#define BID_PATH "/api/projects/0.1/bids/{bid_id}/"
#define MILESTONE_PATH "/api/projects/0.1/milestones/{milestone_id}/"
#define MILESTONE_REQUEST_PATH "/api/projects/0.1/milestone_requests/{milestone_request_id}/"

#define BID_ACTION(k, act, cols, set) \
	{ .kind = "bid." k, .table = "bids", .target = "bid_id", .fields = f_bid_action, .set_cols = cols, \
	  .set_sql = set, .method = "PUT", .path = BID_PATH, .action = act, .body = BODY_NONE }

static const struct kind_spec kinds[] = {
	{ .kind = "bid.create", .creates = "bid", .table = "bids", .fields = f_bid_create,
	  .insert_sql = bid_insert, .method = "POST", .path = "/api/projects/0.1/bids/",
	  .body = BODY_JSON, .acting_user = "bidder_id" },
	{ .kind = "bid.update", .table = "bids", .target = "bid_id", .fields = f_bid_update,
	  .set_cols = "amount,period,description",
	  .set_sql = "amount = coalesce(" PARAM("amount") ", amount), period = coalesce(" PARAM("period") ", period), "
		     "description = coalesce(" PARAM("description") ", description)",
	  .method = "PUT", .path = BID_PATH, .body = BODY_JSON },
	/* Perform Bid Action: award sets pending, the bidder's accept sets awarded, deny rejected. */
	BID_ACTION("award", "award", "award_status,time_awarded", "award_status = 'pending', time_awarded = :now"),
	BID_ACTION("revoke", "revoke", "award_status", "award_status = 'revoked'"),
	BID_ACTION("accept", "accept", "award_status,frontend_bid_status,time_accepted",
		   "award_status = 'awarded', frontend_bid_status = 'in progress', time_accepted = :now"),
	BID_ACTION("reject", "reject", "award_status", "award_status = 'rejected'"),
	BID_ACTION("retract", "retract", "retracted", "retracted = 1"),
	BID_ACTION("highlight", "highlight", "highlighted", "highlighted = 1"),
	BID_ACTION("shortlist", "shortlist", "shortlisted", "shortlisted = 1"),
	{ .kind = "milestone.create", .creates = "milestone", .table = "milestones",
	  .fields = f_milestone_create, .insert_sql = milestone_insert, .method = "POST",
	  .path = "/api/projects/0.1/milestones/", .body = BODY_JSON },
	{ .kind = "milestone.release", .table = "milestones", .target = "milestone_id",
	  .fields = f_milestone_release, .set_cols = "", .set_sql = "", .method = "PUT",
	  .path = MILESTONE_PATH, .action = "release", .body = BODY_NONE },
	{ .kind = "milestone.request_release", .table = "milestones", .target = "milestone_id",
	  .fields = f_milestone_action, .set_cols = "status",
	  .set_sql = "status = 'requested_release'", .method = "PUT", .path = MILESTONE_PATH,
	  .action = "request_release", .body = BODY_NONE },
	{ .kind = "milestone.cancel", .table = "milestones", .target = "milestone_id",
	  .fields = f_milestone_action, .set_cols = "", .set_sql = "", .method = "PUT",
	  .path = MILESTONE_PATH, .action = "cancel", .body = BODY_NONE },
	{ .kind = "milestone_request.create", .creates = "milestone_request",
	  .table = "milestone_requests", .fields = f_milestone_request_create, .insert_sql = milestone_request_insert,
	  .method = "POST", .path = "/api/projects/0.1/milestone_requests/", .body = BODY_JSON },
	{ .kind = "milestone_request.accept", .table = "milestone_requests",
	  .target = "milestone_request_id", .fields = f_milestone_request_action, .set_cols = "", .set_sql = "",
	  .method = "PUT", .path = MILESTONE_REQUEST_PATH, .action = "accept", .body = BODY_NONE },
	{ .kind = "milestone_request.reject", .table = "milestone_requests",
	  .target = "milestone_request_id", .fields = f_milestone_request_reject, .set_cols = "status",
	  .set_sql = "status = 'rejected'", .method = "PUT", .path = MILESTONE_REQUEST_PATH, .action = "reject",
	  .body = BODY_NONE },
	{ .kind = "milestone_request.delete", .table = "milestone_requests",
	  .target = "milestone_request_id", .fields = f_milestone_request_action, .set_cols = "status",
	  .set_sql = "status = 'deleted'", .method = "PUT", .path = MILESTONE_REQUEST_PATH, .action = "delete",
	  .body = BODY_NONE },
	{ .kind = "review.post", .creates = "review", .table = "reviews", .fields = f_review_post,
	  .insert_sql = review_insert, .method = "POST", .path = "/api/projects/0.1/reviews/",
	  .body = BODY_JSON, .acting_user = "from_user_id" },
	{ .kind = "thread.create", .creates = "thread", .table = "threads",
	  .fields = f_thread_create, .insert_sql = thread_insert, .method = "POST",
	  .path = "/api/messages/0.1/threads/", .body = BODY_FORM },
	{ .kind = "message.send", .creates = "message", .table = "messages",
	  .fields = f_message_send, .insert_sql = message_insert, .method = "POST",
	  .path = "/api/messages/0.1/threads/{thread_id}/messages/", .body = BODY_FORM,
	  .client_message_id = true },
	{ .kind = "thread.read", .table = "threads", .target = "thread_id",
	  .fields = f_thread_action, .set_cols = "is_read,time_read",
	  .set_sql = "is_read = 1, time_read = :now", .method = "PUT",
	  .path = "/api/messages/0.1/threads/", .action = "read", .body = BODY_NONE },
	{ .kind = "thread.archive", .table = "threads", .target = "thread_id",
	  .fields = f_thread_action, .set_cols = "folder", .set_sql = "folder = 'archived'",
	  .method = "PUT", .path = "/api/messages/0.1/threads/", .action = "archive",
	  .body = BODY_NONE },
	{ .kind = "thread.mute", .table = "threads", .target = "thread_id",
	  .fields = f_thread_action, .set_cols = "is_muted", .set_sql = "is_muted = 1",
	  .method = "PUT", .path = "/api/messages/0.1/threads/", .action = "mute",
	  .body = BODY_NONE },
	{ .kind = "project.create", .creates = "project", .table = "projects",
	  .fields = f_project_create, .insert_sql = project_insert, .method = "POST",
	  .path = "/api/projects/0.1/projects/", .body = BODY_JSON },
	{ .kind = "project.invite", .fields = f_project_invite, .method = "POST",
	  .path = "/api/projects/0.1/projects/{project_id}/invite/", .body = BODY_JSON },
};

const struct kind_spec *action_kind(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

/*
 * The "already" errors the reference lists for the endpoints of our kinds
 * (Create Bid, Perform Bid Action, Create a Milestone Request, Post a Review,
 * Create New Project, Invite Freelancers To A Project, and the Exceptions
 * list), with what flsync says when what the API has is not what was sent.
 * RESOURCE_EXISTS ("The resource already exists.") may come from any create.
 */
static const struct already_spec already[] = {
	{ "bid.create", "DUPLICATE_BID", "a different bid already exists", true },
	{ "bid.create", "RESOURCE_EXISTS", "a different bid already exists", true },
	{ "review.post", "REVIEW_ALREADY_RATED_USER", "a different review already exists", true },
	{ "review.post", "RESOURCE_EXISTS", "a different review already exists", true },
	{ "project.create", "DUPLICATE_PROJECT", "a different project with this title already exists", true },
	{ "project.create", "HIREME_DUPLICATE_PROJECT_TITLE", "a different project with this title already exists", true },
	{ "project.create", "RESOURCE_EXISTS", "a different project with this title already exists", true },
	{ "project.invite", "FREELANCER_ALREADY_INVITED", "the freelancer was not found invited", true },
	{ "milestone_request.create", "MILESTONE_REQUEST_PENDING",
	  "a different milestone request is already pending for this bid", false },
	{ "milestone_request.create", "RESOURCE_EXISTS",
	  "a different milestone request is already pending for this bid", false },
	{ "milestone.create", "RESOURCE_EXISTS", "a different milestone already exists", false },
	{ "bid.award", "FREELANCER_ALREADY_AWARDED", "another bid on the project is already awarded", false },
	{ "bid.award", "MAXIMUM_AWARDED_BIDDERS_REACHED", "another bid on the project is already awarded", false },
	{ "bid.retract", "BID_ALREADY_RETRACTED", "the bid was not found retracted", false },
	{ "bid.highlight", "BID_ALREADY_HIGHLIGHTED", "the bid was not found highlighted", false },
	{ "milestone.request_release", "MILESTONE_ALREADY_REQUESTED",
	  "the milestone's release was not found requested", false },
};

const struct already_spec *action_already(const char *kind, const char *error_code)
{
	const char *code, *dot;

	if (!kind || !error_code || !*error_code)
		return NULL;
	dot = strrchr(error_code, '.');
	code = dot ? dot + 1 : error_code;
	for (size_t i = 0; i < sizeof already / sizeof already[0]; i++)
		if (!strcmp(already[i].kind, kind) && !strcmp(already[i].code, code))
			return &already[i];
	return NULL;
}

/*
 * Refusals that tell what became of the action's project (Create Bid's
 * exceptions): the local row learns it in the transaction that fails the
 * action, and the project is read again by id early in the next pass (a
 * "project" hint), so a project known as open stops being shown so.
 */
static const struct {
	const char *code;             /* without its namespace */
	const char *sql;              /* ?1: the project's id; NULL: the read by id alone */
} refusals[] = {
	{ "PROJECT_DELETED", "UPDATE projects SET deleted = 1 WHERE id = ?1 AND deleted = 0" },
	{ "PROJECT_NOT_ACTIVE", NULL },
};

int action_refused(struct fl_db *db, const char *resolved, const char *error_code)
{
	const char *dot = error_code ? strrchr(error_code, '.') : NULL;
	const char *code = dot ? dot + 1 : error_code;
	int64_t project = 0;
	int rc;

	for (size_t i = 0; code && i < sizeof refusals / sizeof refusals[0]; i++) {
		if (strcmp(refusals[i].code, code) != 0)
			continue;
		rc = store_int(db, "read the refused action's project", "SELECT json_extract(?1, '$.project_id')",
			       STORE_BINDS(BIND_TEXT(resolved)), &project, NULL);
		if (rc || project <= 0)
			return rc;
		if (refusals[i].sql && (rc = store_step(db, "mark the refused action's project",
							refusals[i].sql, STORE_BINDS(BIND_INT(project)))))
			return rc;
		return store_step(db, "ask for the refused action's project",
				  "INSERT INTO webhook_hints(kind, id, since, events, first_received, gen) "
				  "VALUES ('project', ?1, CAST(strftime('%s', 'now') AS INTEGER), 1, "
				  "CAST(strftime('%s', 'now') AS INTEGER), 1) "
				  "ON CONFLICT(kind, id) DO UPDATE SET gen = gen + 1",
				  STORE_BINDS(BIND_INT(project)));
	}
	return FL_OK;
}

const struct already_spec *action_already_any(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof already / sizeof already[0]; i++)
		if (!strcmp(already[i].kind, kind))
			return &already[i];
	return NULL;
}

bool action_local_ref(const char *s, const char *noun, int64_t *out_action)
{
	size_t n = strlen(noun);
	char *end;
	long long id;

	if (!s || strncmp(s, "local:", 6) != 0 || strncmp(s + 6, noun, n) != 0 || s[6 + n] != ':')
		return false;
	id = strtoll(s + 7 + n, &end, 10);
	if (*end || id <= 0)
		return false;
	*out_action = id;
	return true;
}

/* ---- validation -------------------------------------------------------- */

/*
 * One question to SQLite about params: the type of a path, a value, a count.
 * Returns the first column as text (copied into out) and its type.
 */
static int ask(struct fl_db *db, const char *sql, const char *params, const char *path,
	       char *out, size_t outsz, int *out_type)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	out[0] = '\0';
	*out_type = SQLITE_NULL;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "validate parameters");
	sqlite3_bind_text(st, 1, params, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out_type = sqlite3_column_type(st, 0);
		if (sqlite3_column_text(st, 0))
			snprintf(out, outsz, "%s", sqlite3_column_text(st, 0));
	} else {
		rc = store_error(db, "validate parameters");
	}
	sqlite3_finalize(st);
	return rc;
}

static int json_kind(struct fl_db *db, const char *params, const char *path, char *out, size_t outsz)
{
	int type;

	return ask(db, "SELECT json_type(?1, ?2)", params, path, out, outsz, &type);
}

static int bad(struct fl_error *err, const char *kind, const char *field, const char *why)
{
	return error_set(err, FL_ERR_INVALID, "%s: parameter %s %s", kind, field, why);
}

/* A number at path: its value in *out; false when not a number. */
static bool number_at(struct fl_db *db, const char *params, const char *path, double *out)
{
	char t[32], v[64];
	int type;

	if (json_kind(db, params, path, t, sizeof t) || (strcmp(t, "integer") && strcmp(t, "real")))
		return false;
	if (ask(db, "SELECT json_extract(?1, ?2)", params, path, v, sizeof v, &type))
		return false;
	*out = strtod(v, NULL);
	return true;
}

static bool positive_int_at(struct fl_db *db, const char *params, const char *path)
{
	char t[32];
	double v;

	return !json_kind(db, params, path, t, sizeof t) && strcmp(t, "integer") == 0 &&
	       number_at(db, params, path, &v) && v > 0;
}

/* FT_ENUM: one of f->values. */
static int check_enum(struct fl_db *db, const struct kind_spec *spec, const struct field_spec *f,
		      const char *params, const char *path, const char *t, struct fl_error *err)
{
	char sub[128], v[256];
	int type;

	if (strcmp(t, "text") != 0)
		return bad(err, spec->kind, f->name, "must be a string");
	ask(db, "SELECT json_extract(?1, ?2)", params, path, v, sizeof v, &type);
	for (const char *const *e = f->values; *e; e++)
		if (strcmp(*e, v) == 0)
			return FL_OK;
	snprintf(sub, sizeof sub, "must be one of:");
	for (const char *const *e = f->values; *e; e++) {
		size_t len = strlen(sub);
		snprintf(sub + len, sizeof sub - len, " %s", *e);
	}
	return bad(err, spec->kind, f->name, sub);
}

/* FT_IDS: a non-empty array of positive integer ids. */
static int check_ids(struct fl_db *db, const struct kind_spec *spec, const struct field_spec *f,
		     const char *params, const char *path, const char *t, struct fl_error *err)
{
	char bad_ids[32], len[32];
	int type;

	if (strcmp(t, "array") != 0)
		return bad(err, spec->kind, f->name, "must be an array of user ids");
	ask(db, "SELECT count(*) FROM json_each(?1, ?2) WHERE type <> 'integer' OR value <= 0",
	    params, path, bad_ids, sizeof bad_ids, &type);
	ask(db, "SELECT json_array_length(?1, ?2)", params, path, len, sizeof len, &type);
	if (atoi(bad_ids) != 0 || atoi(len) == 0)
		return bad(err, spec->kind, f->name, "must be a non-empty array of positive integer ids");
	return FL_OK;
}

/* FT_BUDGET: {"minimum": > 0, "maximum": >= minimum (optional)}. */
static int check_budget(struct fl_db *db, const struct kind_spec *spec, const struct field_spec *f,
			const char *params, const char *path, const char *t, struct fl_error *err)
{
	char sub[128], mt[32];
	double min, num;

	snprintf(sub, sizeof sub, "%s.minimum", path);
	if (strcmp(t, "object") != 0 || !number_at(db, params, sub, &min) || !(min > 0))
		return bad(err, spec->kind, f->name, "must be an object with a minimum greater than 0");
	snprintf(sub, sizeof sub, "%s.maximum", path);
	if (json_kind(db, params, sub, mt, sizeof mt) == FL_OK && mt[0] && strcmp(mt, "null") != 0 &&
	    (!number_at(db, params, sub, &num) || num < min))
		return bad(err, spec->kind, f->name, "maximum must be a number not below minimum");
	return FL_OK;
}

/* FT_JOBS: a non-empty array of {"id": positive integer}. */
static int check_jobs(struct fl_db *db, const struct kind_spec *spec, const struct field_spec *f,
		      const char *params, const char *path, const char *t, struct fl_error *err)
{
	char v[32];
	int type, n;

	if (strcmp(t, "array") != 0)
		return bad(err, spec->kind, f->name, "must be an array of {\"id\": job id}");
	ask(db, "SELECT count(*) FROM json_each(?1, ?2) WHERE json_type(value, '$.id') IS NOT 'integer' "
		"OR json_extract(value, '$.id') <= 0", params, path, v, sizeof v, &type);
	n = atoi(v);
	ask(db, "SELECT json_array_length(?1, ?2)", params, path, v, sizeof v, &type);
	if (n != 0 || atoi(v) == 0)
		return bad(err, spec->kind, f->name, "must be a non-empty array of {\"id\": job id}");
	return FL_OK;
}

static int check_field(struct fl_db *db, const struct kind_spec *spec, const struct field_spec *f,
		       const char *params, struct fl_error *err)
{
	char path[96], sub[128], t[32], v[256];
	double num;
	int64_t action;
	int type;

	snprintf(path, sizeof path, "$.%s", f->name);
	if (json_kind(db, params, path, t, sizeof t))
		return error_copy(err, &db->err);
	if (!t[0] || strcmp(t, "null") == 0)
		return f->required ? bad(err, spec->kind, f->name, "is required") : FL_OK;

	switch (f->type) {
	case FT_ID:
		if (strcmp(t, "text") == 0 && f->ref) {
			ask(db, "SELECT json_extract(?1, ?2)", params, path, v, sizeof v, &type);
			if (action_local_ref(v, f->ref, &action))
				return FL_OK;
			snprintf(sub, sizeof sub, "must be an id or a local %s reference (local:%s:N), not \"%.40s\"",
				 f->ref, f->ref, v);
			return bad(err, spec->kind, f->name, sub);
		}
		if (!positive_int_at(db, params, path))
			return bad(err, spec->kind, f->name, "must be a positive integer id");
		return FL_OK;
	case FT_INT:
		if (strcmp(t, "integer") != 0 || !number_at(db, params, path, &num))
			return bad(err, spec->kind, f->name, "must be an integer");
		if (num < f->min || num > f->max) {
			snprintf(sub, sizeof sub, "must be between %.0f and %.0f", f->min, f->max);
			return bad(err, spec->kind, f->name, sub);
		}
		return FL_OK;
	case FT_AMOUNT:
		if (!number_at(db, params, path, &num) || !(num > 0))
			return bad(err, spec->kind, f->name, "must be a number greater than 0");
		return FL_OK;
	case FT_NUMBER:
		if (!number_at(db, params, path, &num) || num < f->min || num > f->max) {
			snprintf(sub, sizeof sub, "must be a number from %g to %g", f->min, f->max);
			return bad(err, spec->kind, f->name, sub);
		}
		return FL_OK;
	case FT_TEXT:
		if (strcmp(t, "text") != 0)
			return bad(err, spec->kind, f->name, "must be a string");
		ask(db, "SELECT length(trim(json_extract(?1, ?2)))", params, path, v, sizeof v, &type);
		if (atoi(v) == 0)
			return bad(err, spec->kind, f->name, "must not be empty");
		return FL_OK;
	case FT_ENUM:
		return check_enum(db, spec, f, params, path, t, err);
	case FT_IDS:
		return check_ids(db, spec, f, params, path, t, err);
	case FT_OBJ_ID:
		snprintf(sub, sizeof sub, "%s.id", path);
		if (strcmp(t, "object") != 0 || !positive_int_at(db, params, sub))
			return bad(err, spec->kind, f->name, "must be an object with a positive integer id, like {\"id\": 1}");
		return FL_OK;
	case FT_BUDGET:
		return check_budget(db, spec, f, params, path, t, err);
	case FT_JOBS:
		return check_jobs(db, spec, f, params, path, t, err);
	case FT_BOOL:
		if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
			return bad(err, spec->kind, f->name, "must be true or false");
		return FL_OK;
	}
	return FL_OK;
}

int action_validate(struct fl_db *db, const struct kind_spec *spec, const char *params,
		    struct fl_error *err)
{
	int rc;

	for (const struct field_spec *f = spec->fields; f->name; f++) {
		rc = check_field(db, spec, f, params, err);
		if (rc)
			return rc;
	}
	if (strcmp(spec->kind, "bid.update") == 0) {
		char t[4][32];
		int type = 0;
		const char *paths[] = { "$.amount", "$.period", "$.milestone_percentage", "$.description" };
		bool any = false;

		for (int i = 0; i < 4; i++) {
			ask(db, "SELECT json_type(?1, ?2)", params, paths[i], t[i], sizeof t[i], &type);
			any |= t[i][0] && strcmp(t[i], "null") != 0;
		}
		if (!any)
			return error_set(err, FL_ERR_INVALID,
					 "bid.update: give at least one of amount, period, milestone_percentage, description");
	}
	return FL_OK;
}
