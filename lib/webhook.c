/*
 * webhook.c — the webhook settings and the API calls around them: Create
 * Webhook and Get Webhooks (recorded in the webhooks table for flsync
 * status), the secret path made once at random and kept in webhook_state,
 * and the listener's address, so `flsync webhook url` can name the URL from
 * another process.  Receiving deliveries is webhook_receive.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include "api.h"
#include "auth_token.h"
#include "flsync.h"
#include "store.h"

#define WEBHOOKS_PATH "/api/users/0.1/webhooks/"
#define SELF_PATH "/api/users/0.1/self/"

/* ---- webhook_state ----------------------------------------------------------------- */

/* text (or NULL) and num of one key; *found false when there is no row. */
static int state_get(struct fl_db *db, const char *key, char **text, int64_t *num, bool *found)
{
	sqlite3_stmt *st;
	int src;

	*found = false;
	if (text)
		*text = NULL;
	if (sqlite3_prepare_v2(db->sql, "SELECT text, num FROM webhook_state WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_error(db, "read webhook setting %s", key);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		*found = true;
		if (num)
			*num = sqlite3_column_int64(st, 1);
		if (text && t && !(*text = strdup((const char *)t))) {
			sqlite3_finalize(st);
			return error_set(&db->err, FL_ERR_NOMEM, "out of memory reading webhook setting %s", key);
		}
	} else if (src != SQLITE_DONE) {
		store_error(db, "read webhook setting %s", key);
		sqlite3_finalize(st);
		return db->err.rc;
	}
	sqlite3_finalize(st);
	return FL_OK;
}

static int state_put(struct fl_db *db, const char *key, const char *text, int64_t num)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "INSERT INTO webhook_state(key, text, num) VALUES (?1, ?2, ?3) "
			       "ON CONFLICT(key) DO UPDATE SET text = excluded.text, num = excluded.num",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "write webhook setting %s", key);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, num);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "write webhook setting %s", key);
	sqlite3_finalize(st);
	return rc;
}

/* ---- the secret path and the listen address -------------------------------------- */

static bool path_ok(const char *p)
{
	if (!*p || strlen(p) > 512)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 127 || *p == '?' || *p == '#')
			return false;
	return true;
}

FL_API int fl_webhook_path(struct fl_db *db, const char *given, char **out)
{
	char *path = NULL;
	bool found;
	int rc;

	if (out)
		*out = NULL;
	if (!db || !out)
		return db ? error_set(&db->err, FL_ERR_MISUSE, "fl_webhook_path: out is NULL") : FL_ERR_MISUSE;
	error_clear(&db->err);
	if (given) {
		size_t n = strlen(given);

		if (!path_ok(given))
			return error_set(&db->err, FL_ERR_INVALID,
					 "webhook path '%.100s': printable ASCII without spaces, '?' or '#', at most 512 bytes",
					 given);
		path = malloc(n + 2);
		if (!path)
			return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		snprintf(path, n + 2, "%s%s", given[0] == '/' ? "" : "/", given);
		rc = state_put(db, "secret_path", path, 1);
		if (rc) {
			free(path);
			return rc;
		}
		*out = path;
		return FL_OK;
	}
	if ((rc = store_begin(db)))
		return rc;
	rc = state_get(db, "secret_path", &path, NULL, &found);
	if (!rc && !path) {
		unsigned char r[16];

		/* The reference documents no signature: this path is the only secret. */
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
			rc = error_set(&db->err, FL_ERR_IO, "no random bytes for the webhook path");
		} else if (!(path = malloc(34))) {
			rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		} else {
			path[0] = '/';
			for (size_t i = 0; i < sizeof r; i++)
				snprintf(path + 1 + 2 * i, 3, "%02x", r[i]);
			rc = state_put(db, "secret_path", path, 0);
		}
	}
	if (!rc)
		rc = store_commit(db);
	if (rc) {
		store_rollback(db);
		free(path);
		return rc;
	}
	*out = path;
	return FL_OK;
}

FL_API int fl_webhook_set_listen(struct fl_db *db, const char *host, int port)
{
	int rc;

	if (!db)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (!host || !*host || strlen(host) > 255 || strpbrk(host, " /?#@") || port < 1 || port > 65535)
		return error_set(&db->err, FL_ERR_INVALID, "webhook listen address %.100s:%d: a host and a port 1-65535",
				 host ? host : "(none)", port);
	if ((rc = store_begin(db)))
		return rc;
	rc = state_put(db, "listen_host", host, 0);
	if (!rc)
		rc = state_put(db, "listen_port", NULL, port);
	if (!rc)
		rc = store_commit(db);
	if (rc)
		store_rollback(db);
	return rc;
}

FL_API int fl_webhook_url(struct fl_db *db, char **out)
{
	char *host = NULL, *path = NULL, *url = NULL;
	int64_t port = 0;
	bool fh = false, fp = false, fpath = false;
	int rc;

	if (out)
		*out = NULL;
	if (!db || !out)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	rc = state_get(db, "listen_host", &host, NULL, &fh);
	if (!rc)
		rc = state_get(db, "listen_port", NULL, &port, &fp);
	if (!rc)
		rc = state_get(db, "secret_path", &path, NULL, &fpath);
	if (rc)
		goto out;
	if (!host || !fp || port <= 0) {
		rc = error_set(&db->err, FL_ERR_STATE,
			       "no webhook listener recorded in this database: start flsyncd with --webhook-listen HOST:PORT");
		goto out;
	}
	if (!path) {
		rc = error_set(&db->err, FL_ERR_STATE, "no webhook path made yet: start flsyncd with --webhook-listen");
		goto out;
	}
	{
		bool v6 = strchr(host, ':') != NULL && host[0] != '[';
		size_t n = strlen(host) + strlen(path) + 32;

		url = malloc(n);
		if (!url) {
			rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
			goto out;
		}
		snprintf(url, n, "http://%s%s%s:%lld%s", v6 ? "[" : "", host, v6 ? "]" : "", (long long)port, path);
	}
	*out = url;
out:
	free(host);
	free(path);
	return rc;
}

/* ---- API calls ----------------------------------------------------------------- */

struct hook_list {
	struct fl_webhook_list pub;
	struct fl_webhook *v;
	size_t n, cap;
	char **strings;            /* everything the entries point at */
	size_t ns, scap;
};

FL_API void fl_webhook_list_free(struct fl_webhook_list *list)
{
	struct hook_list *l = (struct hook_list *)list;

	if (!l)
		return;
	for (size_t i = 0; i < l->ns; i++)
		free(l->strings[i]);
	free(l->strings);
	free(l->v);
	free(l);
}

static const char *keep(struct hook_list *l, const char *s, size_t n)
{
	char *c;

	if (l->ns == l->scap) {
		size_t ncap = l->scap ? l->scap * 2 : 16;
		char **nv = realloc(l->strings, ncap * sizeof *nv);

		if (!nv)
			return NULL;
		l->strings = nv;
		l->scap = ncap;
	}
	c = strndup(s, n);
	if (c)
		l->strings[l->ns++] = c;
	return c;
}

/* One webhook from the fields under prefix ("" or "webhooks.N."); false when it has no id. */
static int take_hook(struct hook_list *l, const struct json_item *it, const char *prefix, bool *any)
{
	char path[64];
	struct fl_webhook h = { 0 };
	const char *s;
	size_t n;
	bool b;

	*any = false;
	snprintf(path, sizeof path, "%sid", prefix);
	if (!json_int(it, path, &h.id))
		return FL_OK;
	*any = true;
	snprintf(path, sizeof path, "%sdeveloper_id", prefix);
	json_int(it, path, &h.developer_id);
	snprintf(path, sizeof path, "%suser_id", prefix);
	json_int(it, path, &h.user_id);
	snprintf(path, sizeof path, "%stime_created", prefix);
	json_int(it, path, &h.time_created);
	snprintf(path, sizeof path, "%sinactive", prefix);
	if (json_bool(it, path, &b))
		h.inactive = b;
	snprintf(path, sizeof path, "%surl", prefix);
	if (json_str(it, path, &s, &n) && !(h.url = keep(l, s, n)))
		return FL_ERR_NOMEM;
	if (!h.url && !(h.url = keep(l, "", 0)))
		return FL_ERR_NOMEM;
	snprintf(path, sizeof path, "%sinactive_reason", prefix);
	if (json_str(it, path, &s, &n) && !(h.inactive_reason = keep(l, s, n)))
		return FL_ERR_NOMEM;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct fl_webhook *nv = realloc(l->v, ncap * sizeof *nv);

		if (!nv)
			return FL_ERR_NOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = h;
	return FL_OK;
}

/*
 * The result: one webhook (Create Webhook, and Get Webhooks as the
 * reference's example shows it) or {"webhooks": [...]}.
 */
static int on_result(void *ctx, const struct json_item *it)
{
	struct hook_list *l = ctx;
	bool any;
	int rc = take_hook(l, it, "", &any);

	for (int i = 0; !rc && !any; i++) {
		char prefix[32];
		bool more;

		snprintf(prefix, sizeof prefix, "webhooks.%d.", i);
		rc = take_hook(l, it, prefix, &more);
		if (!more)
			break;
	}
	return rc;
}

static int on_self(void *ctx, const struct json_item *it)
{
	json_int(it, "id", (int64_t *)ctx);
	return FL_OK;
}

static int client_open(struct fl_db *db, const struct fl_webhook_api *api, struct token_source **ts,
		       struct http_client **out)
{
	struct http_config hc = { 0 };
	int rc;

	*ts = NULL;
	*out = NULL;
	if (!api || !api->api || !*api->api || (!api->token && !api->token_file))
		return error_set(&db->err, FL_ERR_MISUSE, "webhooks: an API origin and a token (or token file) are needed");
	hc.base_url = api->api;
	if (api->token) {
		hc.token = api->token;
	} else {
		rc = token_source_open_file(api->token_file, ts, &db->err);
		if (rc)
			return rc;
		hc.tokens = *ts;
	}
	rc = http_client_new(&hc, out, &db->err);
	if (rc) {
		token_source_free(*ts);
		*ts = NULL;
	}
	return rc;
}

/* One call, again once after a 401 when the token file can be refreshed. */
static int call(struct fl_db *db, struct http_client *c, const char *method, const char *path, const char *body,
		json_item_fn fn, void *ctx)
{
	struct api_result res;
	int rc;

	for (int attempt = 0;; attempt++) {
		rc = api_call(c, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0, NULL,
			      NULL, fn, ctx, &res, &db->err);
		if (rc && res.http.status == 401 && attempt == 0 && http_can_reauth(c) &&
		    http_reauth(c, &db->err) == FL_OK)
			continue;
		break;
	}
	return rc;
}

/* Record what the API said: a list replaces every row; a register adds its one. */
static int record(struct fl_db *db, const struct hook_list *l, bool replace)
{
	sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = store_begin(db);

	if (rc)
		return rc;
	if (replace && (rc = store_exec(db, "DELETE FROM webhooks", "forget listed webhooks")))
		goto fail;
	if (sqlite3_prepare_v2(db->sql,
			       "INSERT INTO webhooks(id, developer_id, user_id, url, inactive, inactive_reason, "
			       "time_created, listed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
			       "ON CONFLICT(id) DO UPDATE SET developer_id = excluded.developer_id, "
			       "user_id = excluded.user_id, url = excluded.url, inactive = excluded.inactive, "
			       "inactive_reason = excluded.inactive_reason, time_created = excluded.time_created, "
			       "listed_at = excluded.listed_at",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = store_error(db, "record webhooks");
		goto fail;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct fl_webhook *h = &l->v[i];

		sqlite3_bind_int64(st, 1, h->id);
		sqlite3_bind_int64(st, 2, h->developer_id);
		if (h->user_id)
			sqlite3_bind_int64(st, 3, h->user_id);
		sqlite3_bind_text(st, 4, h->url, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, h->inactive ? 1 : 0);
		if (h->inactive_reason)
			sqlite3_bind_text(st, 6, h->inactive_reason, -1, SQLITE_STATIC);
		if (h->time_created)
			sqlite3_bind_int64(st, 7, h->time_created);
		sqlite3_bind_int64(st, 8, now);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = store_error(db, "record webhook %lld", (long long)h->id);
			goto fail;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!replace && (rc = state_put(db, "registered_at", NULL, now)))
		goto fail;
	if ((rc = state_put(db, "listed_at", NULL, now)))
		goto fail;
	return store_commit(db);
fail:
	sqlite3_finalize(st);
	store_rollback(db);
	return rc;
}

static int finish(struct fl_db *db, struct hook_list *l, int rc, struct fl_webhook_list **out)
{
	if (rc) {
		fl_webhook_list_free(&l->pub);
		return rc;
	}
	l->pub.count = (int64_t)l->n;
	l->pub.webhooks = l->v;
	*out = &l->pub;
	(void)db;
	return FL_OK;
}

/* The JSON body of Create Webhook: developer_id and url (yajl escapes it). */
static int create_body(struct fl_db *db, int64_t developer_id, const char *url, struct buf *out)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *data;
	size_t len;
	bool ok;

	if (!g)
		return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
	ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
	     yajl_gen_string(g, (const unsigned char *)"developer_id", 12) == yajl_gen_status_ok &&
	     yajl_gen_integer(g, (long long)developer_id) == yajl_gen_status_ok &&
	     yajl_gen_string(g, (const unsigned char *)"url", 3) == yajl_gen_status_ok &&
	     yajl_gen_string(g, (const unsigned char *)url, strlen(url)) == yajl_gen_status_ok &&
	     yajl_gen_map_close(g) == yajl_gen_status_ok && yajl_gen_get_buf(g, &data, &len) == yajl_gen_status_ok &&
	     buf_append(out, data, len);
	yajl_gen_free(g);
	if (!ok)
		return error_set(&db->err, FL_ERR_INVALID, "webhook URL '%.200s' cannot be sent as JSON (not UTF-8?)", url);
	return FL_OK;
}

FL_API int fl_webhook_register(struct fl_db *db, const struct fl_webhook_api *api, int64_t developer_id,
			       const char *url, struct fl_webhook_list **out)
{
	struct token_source *ts = NULL;
	struct http_client *c = NULL;
	struct hook_list *l;
	struct buf body;
	int rc;

	if (out)
		*out = NULL;
	if (!db || !out)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (!url || !*url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return error_set(&db->err, FL_ERR_MISUSE, "webhook URL '%.200s': an http:// or https:// URL is needed",
				 url ? url : "");
	if (!(l = calloc(1, sizeof *l)))
		return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
	buf_init(&body, 256);
	rc = client_open(db, api, &ts, &c);
	if (!rc && developer_id <= 0) {
		rc = call(db, c, "GET", SELF_PATH, NULL, on_self, &developer_id);
		if (!rc && developer_id <= 0)
			rc = error_set(&db->err, FL_ERR_PARSE, "GET %s answered without the account's id", SELF_PATH);
	}
	if (!rc)
		rc = create_body(db, developer_id, url, &body);
	if (!rc)
		rc = call(db, c, "POST", WEBHOOKS_PATH, body.data, on_result, l);
	if (!rc && l->n != 1)
		rc = error_set(&db->err, FL_ERR_PARSE, "POST %s answered without the new webhook", WEBHOOKS_PATH);
	if (!rc)
		rc = record(db, l, false);
	buf_free(&body);
	http_client_free(c);
	token_source_free(ts);
	return finish(db, l, rc, out);
}

FL_API int fl_webhook_list(struct fl_db *db, const struct fl_webhook_api *api, struct fl_webhook_list **out)
{
	struct token_source *ts = NULL;
	struct http_client *c = NULL;
	struct hook_list *l;
	int rc;

	if (out)
		*out = NULL;
	if (!db || !out)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (!(l = calloc(1, sizeof *l)))
		return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
	rc = client_open(db, api, &ts, &c);
	if (!rc)
		rc = call(db, c, "GET", WEBHOOKS_PATH, NULL, on_result, l);
	if (!rc)
		rc = record(db, l, true);
	http_client_free(c);
	token_source_free(ts);
	return finish(db, l, rc, out);
}
