/*
 * stream_users.c — the account itself (GET /self/) and every user the other
 * streams reference: stubs (raw IS NULL) are fetched in users[] batches, and
 * known users are re-read on the slower users_refresh_s cadence.  Also the
 * reference data: currencies, jobs and their categories.
 */
#include <stdio.h>
#include <string.h>

#include "sync_internal.h"

/* A user's row: one line a column (sync_columns.c); is_self is the caller's (args[0]). */
static const struct sync_column user_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "username", COL_TEXT, .path = "username" },
	{ "display_name", COL_TEXT, .path = "display_name" },
	{ "role", COL_TEXT, .path = "role" },
	{ "chosen_role", COL_TEXT, .path = "chosen_role" },
	{ "registration_date", COL_INT, .path = "registration_date" },
	{ "country", COL_TEXT, .path = "location.country.name" },
	{ "city", COL_TEXT, .path = "location.city" },
	{ "primary_currency_id", COL_INT, .path = "primary_currency.id", .ref = REF_CURRENCY },
	/* Only a read of self makes a row self (row_self moves the flag). */
	{ "is_self", COL_ARG, .key = 0, .set = "is_self = max(is_self, excluded.is_self)" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity user_entity = {
	.table = "users", .conflict = "id", .cols = user_cols, .where = " OR users.is_self < excluded.is_self",
	.slot = SLOT_USER, .what = "store user",
};

static int store_user_row(struct sync_run *run, const struct json_item *it, bool self)
{
	int64_t id, is_self = self;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a user without an id");
	return sync_entity_store(run, &user_entity, &id, &is_self, it);
}

int row_user(struct sync_run *run, const struct json_item *it)
{
	return store_user_row(run, it, false);
}

static int row_self(struct sync_run *run, const struct json_item *it)
{
	int64_t id;
	sqlite3_stmt *st;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "GET /self/ returned no user id");
	/* Only one row is self: an account switch moves the flag. */
	rc = sync_stmt(run, SLOT_USER_SELF, "UPDATE users SET is_self = 0 WHERE is_self = 1 AND id <> ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sync_step_aux(run, st, "unmark previous self", id);
	if (rc)
		return rc;
	run->self_id = id;
	return store_user_row(run, it, true);
}

int stream_self(struct sync_run *run)
{
	struct api_result res;
	int rc = sync_get(run, "/api/users/0.1/self/", NULL, row_self, &res);

	if (rc)
		return rc;
	if (!run->self_id)
		return error_set(&run->err, FL_ERR_PARSE, "GET /api/users/0.1/self/ returned no user");
	if (!run->server_now)
		return error_set(&run->err, FL_ERR_PARSE,
				 "GET /api/users/0.1/self/: the response has no Date header: the server's clock is unknown");
	return FL_OK;
}

int stream_users(struct sync_run *run)
{
	char sql[256];
	int64_t asked;
	int rc;

	/* First the users only known by id, then the stale ones. */
	rc = sync_by_ids(run, "SELECT id FROM users WHERE raw IS NULL ORDER BY id",
			 "/api/users/0.1/users/", "users[]", "users", row_user, true, 0, &asked);
	if (rc)
		return rc;
	snprintf(sql, sizeof sql,
		 "SELECT id FROM users WHERE raw IS NOT NULL AND is_self = 0 AND synced_at < %lld ORDER BY synced_at",
		 (long long)(run->server_now - run->opt->users_refresh_s));
	rc = sync_by_ids(run, sql, "/api/users/0.1/users/", "users[]", "users", row_user, true, 0, &asked);
	if (rc || asked == 0)
		return rc;
	/* Unchanged rows are not rewritten by the upsert: note that they were checked. */
	snprintf(sql, sizeof sql,
		 "UPDATE users SET synced_at = %lld WHERE raw IS NOT NULL AND is_self = 0 AND synced_at < %lld",
		 (long long)run->server_now, (long long)(run->server_now - run->opt->users_refresh_s));
	rc = sync_tx_begin(run);
	if (!rc && store_exec(run->db, sql, "note checked users"))
		rc = error_copy(&run->err, &run->db->err);
	return rc;
}

/* ---- reference data ------------------------------------------------------ */

/* Reference rows: one line a column (sync_columns.c). */
static const struct sync_column currency_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "code", COL_TEXT, .path = "code" },
	{ "name", COL_TEXT, .path = "name" },
	{ "sign", COL_TEXT, .path = "sign" },
	{ "country", COL_TEXT, .path = "country" },
	{ "exchange_rate", COL_REAL, .path = "exchange_rate" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity currency_entity = {
	.table = "currencies", .conflict = "id", .cols = currency_cols, .slot = SLOT_CURRENCY,
	.what = "store currency",
};

static const struct sync_column category_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "name", COL_TEXT, .path = "name" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity category_entity = {
	.table = "job_categories", .conflict = "id", .cols = category_cols, .slot = SLOT_CATEGORY,
	.what = "store category",
};

static const struct sync_column job_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "name", COL_TEXT, .path = "name" },
	{ "seo_url", COL_TEXT, .path = "seo_url" },
	{ "category_id", COL_INT, .path = "category.id" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity job_entity = {
	.table = "jobs", .conflict = "id", .cols = job_cols, .slot = SLOT_JOB, .what = "store job",
};

static int row_currency(struct sync_run *run, const struct json_item *it)
{
	int64_t id;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a currency without an id");
	return sync_entity_store(run, &currency_entity, &id, NULL, it);
}

static int row_category(struct sync_run *run, const struct json_item *it)
{
	int64_t id;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a category without an id");
	return sync_entity_store(run, &category_entity, &id, NULL, it);
}

static int row_job(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id, cat;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a job without an id");
	if (json_int(it, "category.id", &cat)) {
		/* The job carries its category's name; /categories/ owns the row's raw. */
		rc = sync_stmt(run, SLOT_JOB_CATEGORY,
			"INSERT INTO job_categories(id, name) VALUES (?1, ?2) "
			"ON CONFLICT(id) DO UPDATE SET name = coalesce(job_categories.name, excluded.name)", &st);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, cat);
		sync_bind_text(st, 2, it, "category.name");
		rc = sync_step_aux(run, st, "store job category", cat);
		if (rc)
			return rc;
	}
	return sync_entity_store(run, &job_entity, &id, NULL, it);
}

int stream_reference(struct sync_run *run)
{
	struct sync_cursor cur;
	struct api_result res;
	int rc = sync_state_load(run, "reference", &cur);

	if (rc)
		return rc;
	if (cur.last_success && run->server_now - cur.last_success < run->opt->reference_refresh_s)
		return FL_OK;
	rc = sync_get(run, "/api/projects/0.1/currencies/", "currencies", row_currency, &res);
	if (!rc)
		rc = sync_get(run, "/api/projects/0.1/categories/", "categories", row_category, &res);
	if (!rc)
		rc = sync_get(run, "/api/projects/0.1/jobs/", "jobs", row_job, &res);
	return rc;
}
