/*
 * stream_users.c — the account itself (GET /self/) and every user the other
 * streams reference: stubs (raw IS NULL) are fetched in users[] batches, and
 * known users are re-read on the slower users_refresh_s cadence.  Also the
 * reference data: currencies, jobs and their categories.
 */
#include <stdio.h>
#include <string.h>

#include "sync_internal.h"

#define USER_UPSERT \
	"INSERT INTO users(id, username, display_name, role, chosen_role, registration_date, " \
	"country, city, primary_currency_id, is_self, raw, synced_at) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) " \
	"ON CONFLICT(id) DO UPDATE SET username = excluded.username, " \
	"display_name = excluded.display_name, role = excluded.role, " \
	"chosen_role = excluded.chosen_role, registration_date = excluded.registration_date, " \
	"country = excluded.country, city = excluded.city, " \
	"primary_currency_id = excluded.primary_currency_id, is_self = max(is_self, excluded.is_self), " \
	"raw = excluded.raw, synced_at = excluded.synced_at " \
	"WHERE users.raw IS NOT excluded.raw OR users.is_self < excluded.is_self"

static int store_user_row(struct sync_run *run, const struct json_item *it, bool self)
{
	sqlite3_stmt *st;
	int64_t id, currency;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a user without an id");
	if (json_int(it, "primary_currency.id", &currency) && (rc = sync_ref(run, REF_CURRENCY, currency)))
		return rc;
	rc = sync_stmt(run, SLOT_USER, USER_UPSERT, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sync_bind_text(st, 2, it, "username");
	sync_bind_text(st, 3, it, "display_name");
	sync_bind_text(st, 4, it, "role");
	sync_bind_text(st, 5, it, "chosen_role");
	sync_bind_int(st, 6, it, "registration_date");
	sync_bind_text(st, 7, it, "location.country.name");
	sync_bind_text(st, 8, it, "location.city");
	sync_bind_int(st, 9, it, "primary_currency.id");
	sqlite3_bind_int(st, 10, self);
	sync_bind_raw(st, 11, it);
	sqlite3_bind_int64(st, 12, run->server_now);
	return sync_step(run, st, "store user", id);
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

static int row_currency(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc = sync_stmt(run, SLOT_CURRENCY,
		"INSERT INTO currencies(id, code, name, sign, country, exchange_rate, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET "
		"code = excluded.code, name = excluded.name, sign = excluded.sign, "
		"country = excluded.country, exchange_rate = excluded.exchange_rate, "
		"raw = excluded.raw, synced_at = excluded.synced_at WHERE currencies.raw IS NOT excluded.raw", &st);

	if (rc)
		return rc;
	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a currency without an id");
	sqlite3_bind_int64(st, 1, id);
	sync_bind_text(st, 2, it, "code");
	sync_bind_text(st, 3, it, "name");
	sync_bind_text(st, 4, it, "sign");
	sync_bind_text(st, 5, it, "country");
	sync_bind_real(st, 6, it, "exchange_rate");
	sync_bind_raw(st, 7, it);
	sqlite3_bind_int64(st, 8, run->server_now);
	return sync_step(run, st, "store currency", id);
}

static int row_category(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc = sync_stmt(run, SLOT_CATEGORY,
		"INSERT INTO job_categories(id, name, raw, synced_at) VALUES (?1, ?2, ?3, ?4) "
		"ON CONFLICT(id) DO UPDATE SET name = excluded.name, raw = excluded.raw, "
		"synced_at = excluded.synced_at WHERE job_categories.raw IS NOT excluded.raw", &st);

	if (rc)
		return rc;
	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a category without an id");
	sqlite3_bind_int64(st, 1, id);
	sync_bind_text(st, 2, it, "name");
	sync_bind_raw(st, 3, it);
	sqlite3_bind_int64(st, 4, run->server_now);
	return sync_step(run, st, "store category", id);
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
	rc = sync_stmt(run, SLOT_JOB,
		"INSERT INTO jobs(id, name, seo_url, category_id, raw, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		"ON CONFLICT(id) DO UPDATE SET name = excluded.name, seo_url = excluded.seo_url, "
		"category_id = excluded.category_id, raw = excluded.raw, synced_at = excluded.synced_at "
		"WHERE jobs.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sync_bind_text(st, 2, it, "name");
	sync_bind_text(st, 3, it, "seo_url");
	sync_bind_int(st, 4, it, "category.id");
	sync_bind_raw(st, 5, it);
	sqlite3_bind_int64(st, 6, run->server_now);
	return sync_step(run, st, "store job", id);
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
