/*
 * action_replay.c — sending queued write actions to the API, as the "actions"
 * stream of a sync pass: oldest first, each once its dependencies are done,
 * inside the same per-endpoint rate limits as reads.  Each action is marked
 * 'sending' in a committed transaction before its request; its outcome and
 * the server's object (replacing the optimistic row) are committed together.
 * An action that was sent before (a crash, a lost reply) is reconciled with
 * the server before it is sent again, so each takes effect exactly once.
 * An "already" error is a failure on a first send; only after an uncertain
 * send is what the server has compared with what was sent (action_probe.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "action_replay.h"

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

static void pending_free(struct pending *p)
{
	free(p->params);
	free(p->resolved);
	memset(p, 0, sizeof *p);
}

char *replay_query_text(struct sync_run *run, const char *sql, const char *a, const char *b)
{
	char *out;

	store_text(run->db, "read the queue", sql, STORE_BINDS(BIND_TEXT(a), BIND_TEXT(b)), &out);
	return out;
}

int64_t replay_param_int(struct sync_run *run, const char *params, const char *name)
{
	char path[80], *v;
	int64_t out;

	snprintf(path, sizeof path, "$.%s", name);
	v = replay_query_text(run, "SELECT json_extract(?1, ?2)", params, path);
	out = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	return out;
}

/* ---- loading and resolving ------------------------------------------------ */

static int next_due(struct sync_run *run, int64_t after, struct pending *out, bool *found)
{
	sqlite3_stmt *st;
	int src;

	*found = false;
	if (sqlite3_prepare_v2(run->db->sql,
			       "SELECT id, kind, params, attempts, state FROM actions WHERE state IN ('queued', 'sending') "
			       "AND next_attempt <= ?1 AND id > ?2 ORDER BY id LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "read the queue");
	sqlite3_bind_int64(st, 1, unix_now());
	sqlite3_bind_int64(st, 2, after);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		snprintf(out->kind, sizeof out->kind, "%s", sqlite3_column_text(st, 1));
		out->params = strdup((const char *)sqlite3_column_text(st, 2));
		out->attempts = sqlite3_column_int(st, 3);
		out->was_sending = strcmp((const char *)sqlite3_column_text(st, 4), "sending") == 0;
		out->spec = action_kind(out->kind);
		*found = out->params != NULL;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return sync_fail_db(run, "read the queue");
	return FL_OK;
}

enum resolution { RESOLVED, WAITING, BROKEN };

/*
 * Replace local references by the server ids their actions produced.
 * WAITING: a creating action is not done yet; BROKEN: it failed or was
 * cancelled (why in run->err).
 */
static enum resolution resolve(struct sync_run *run, struct pending *p)
{
	char *cur = strdup(p->params);

	for (const struct field_spec *f = p->spec->fields; cur && f->name; f++) {
		char path[80], *v, *state, *server, *next;
		int64_t action;

		if (f->type != FT_ID || !f->ref)
			continue;
		snprintf(path, sizeof path, "$.%s", f->name);
		v = replay_query_text(run, "SELECT json_extract(?1, ?2) WHERE json_type(?1, ?2) = 'text'", cur, path);
		if (!v || !action_local_ref(v, f->ref, &action)) {
			free(v);
			continue;
		}
		state = replay_query_text(run, "SELECT state FROM actions WHERE local_ref = ?1", v, NULL);
		server = replay_query_text(run, "SELECT coalesce(json_extract(result, '$.id'), "
				    "json_extract(result, '$.transaction_id')) FROM actions WHERE local_ref = ?1 "
				    "AND state = 'done'", v, NULL);
		if (!state || !strcmp(state, "failed") || !strcmp(state, "cancelled") ||
		    (!strcmp(state, "done") && !server)) {
			error_set(&run->err, FL_ERR_INVALID, "%s %s was never created (its action is %s)",
				  f->name, v, state ? state : "missing");
			free(v); free(state); free(server); free(cur);
			return BROKEN;
		}
		if (strcmp(state, "done") != 0) {
			free(v); free(state); free(server); free(cur);
			return WAITING;
		}
		{
			sqlite3_stmt *st;
			next = NULL;
			if (sqlite3_prepare_v2(run->db->sql, "SELECT json_set(?1, ?2, ?3)", -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_text(st, 1, cur, -1, SQLITE_STATIC);
				sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 3, strtoll(server, NULL, 10));
				if (sqlite3_step(st) == SQLITE_ROW)
					next = strdup((const char *)sqlite3_column_text(st, 0));
				sqlite3_finalize(st);
			}
		}
		free(v); free(state); free(server); free(cur);
		cur = next;
	}
	if (!cur) {
		error_set(&run->err, FL_ERR_NOMEM, "out of memory");
		return BROKEN;
	}
	p->resolved = cur;
	return RESOLVED;
}

/* ---- requests --------------------------------------------------------------- */

/* The store for a kind's result object, or NULL when it creates nothing. */
static sync_store_fn result_store(const struct kind_spec *spec)
{
	if (!spec->creates)
		return NULL;
	if (!strcmp(spec->creates, "bid")) return row_bid;
	if (!strcmp(spec->creates, "project")) return row_project;
	if (!strcmp(spec->creates, "milestone")) return row_milestone;
	if (!strcmp(spec->creates, "milestone_request")) return row_milestone_request;
	if (!strcmp(spec->creates, "review")) return row_review;
	if (!strcmp(spec->creates, "thread")) return row_thread;
	if (!strcmp(spec->creates, "message")) return row_message;
	return NULL;
}

/* Update Threads acts on threads[] given in the query (thread.read/archive/mute). */
static bool update_threads(const struct kind_spec *spec)
{
	return spec->action && !strcmp(spec->path, "/api/messages/0.1/threads/");
}

/* Path with {param} filled from the resolved parameters, the action and query parameters. */
static int build_request(struct sync_run *run, const struct pending *p, struct buf *path, struct buf *body,
			 const char **content_type)
{
	const struct kind_spec *spec = p->spec;
	const char *s = spec->path;
	sqlite3_stmt *st;
	bool in_path[16] = { false };
	int i = 0;

	/* {name} segments come from the parameters, and are not sent again. */
	while (*s) {
		if (*s == '{') {
			const char *end = strchr(s, '}');
			char name[64];

			snprintf(name, sizeof name, "%.*s", (int)(end - s - 1), s + 1);
			buf_printf(path, "%lld", (long long)replay_param_int(run, p->resolved, name));
			for (i = 0; spec->fields[i].name && i < 16; i++)
				if (!strcmp(spec->fields[i].name, name))
					in_path[i] = true;
			s = end + 1;
		} else {
			buf_append(path, s++, 1);
		}
	}
	if (spec->action)
		http_query_add(path, "action", spec->action);
	if (update_threads(spec))
		http_query_add_int(path, "threads[]", replay_param_int(run, p->resolved, "thread_id"));

	if (spec->body == BODY_JSON) {
		/* The parameters as given, less the ones in the path. */
		char *json = strdup(p->resolved);
		for (i = 0; json && spec->fields[i].name && i < 16; i++) {
			char jpath[80], *next;
			if (!in_path[i])
				continue;
			snprintf(jpath, sizeof jpath, "$.%s", spec->fields[i].name);
			next = replay_query_text(run, "SELECT json_remove(?1, ?2)", json, jpath);
			free(json);
			json = next;
		}
		if (!json)
			return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
		buf_puts(body, json);
		free(json);
		*content_type = "application/json";
		return FL_OK;
	}
	/* Form and query parameters: arrays repeat as name[]=v. */
	if (sqlite3_prepare_v2(run->db->sql,
			       "SELECT e.key, coalesce(a.value, e.value) FROM json_each(?1) e "
			       "LEFT JOIN json_each(CASE WHEN e.type = 'array' THEN e.value ELSE '[]' END) a "
			       "WHERE e.type NOT IN ('object', 'null')", -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "encode parameters");
	sqlite3_bind_text(st, 1, p->resolved, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *val = (const char *)sqlite3_column_text(st, 1);
		bool skip = false;
		char name[80];

		for (i = 0; spec->fields[i].name && i < 16; i++)
			if (in_path[i] && !strcmp(spec->fields[i].name, key))
				skip = true;
		if (skip || !key || !val || (update_threads(spec) && !strcmp(key, "thread_id")))
			continue;
		snprintf(name, sizeof name, "%s%s", key, !strcmp(key, "members") ? "[]" : "");
		if (spec->body == BODY_FORM) {
			char *k = curl_easy_escape(NULL, name, 0), *v = curl_easy_escape(NULL, val, 0);
			buf_printf(body, "%s%s=%s", body->len ? "&" : "", k, v);
			curl_free(k);
			curl_free(v);
		} else {
			http_query_add(path, name, val);
		}
	}
	sqlite3_finalize(st);
	*content_type = spec->body == BODY_FORM ? "application/x-www-form-urlencoded" : NULL;
	return FL_OK;
}

int replay_on_result(void *ctx, const struct json_item *it)
{
	struct result_ctx *rc = ctx;
	int r;

	if (!json_int(it, "id", &rc->id))
		json_int(it, "transaction_id", &rc->id);
	buf_reset(&rc->raw);
	buf_append(&rc->raw, it->raw, it->raw_len);
	if (!rc->store)
		return FL_OK;
	r = rc->store(rc->run, it);
	if (r)
		return r;
	return FL_OK;
}

/* ---- outcomes --------------------------------------------------------------- */

static int set_state(struct sync_run *run, int64_t id, const char *state, long http_status,
		     const char *code, const char *message, const char *result, int64_t next_attempt)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(run->db->sql,
			       "UPDATE actions SET state = ?2, http_status = ?3, error_code = ?4, error_message = ?5, "
			       "result = coalesce(?6, result), next_attempt = ?7, updated_at = ?8 WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return sync_fail_db(run, "record the action's outcome");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	if (http_status)
		sqlite3_bind_int64(st, 3, http_status);
	sqlite3_bind_text(st, 4, code && *code ? code : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, message && *message ? message : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, result, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, next_attempt);
	sqlite3_bind_int64(st, 8, unix_now());
	src = sqlite3_step(st);
	sqlite3_finalize(st);
	return src == SQLITE_DONE ? FL_OK : sync_fail_db(run, "record the action's outcome");
}

/*
 * The server's object (already stored) replaces the optimistic row: what
 * pointed at the local id points at the server's, then the local row goes.
 */
static int replace_local(struct sync_run *run, const struct pending *p, int64_t server)
{
	static const struct { const char *noun, *sql; } remaps[] = {
		{ "bid", "UPDATE milestones SET bid_id = :server WHERE bid_id = :local" },
		{ "bid", "UPDATE milestone_requests SET bid_id = :server WHERE bid_id = :local" },
		{ "project", "UPDATE bids SET project_id = :server WHERE project_id = :local" },
		{ "project", "UPDATE milestones SET project_id = :server WHERE project_id = :local" },
		{ "project", "UPDATE milestone_requests SET project_id = :server WHERE project_id = :local" },
		{ "project", "DELETE FROM project_jobs WHERE project_id = :local" },
		{ "thread", "UPDATE messages SET thread_id = :server WHERE thread_id = :local" },
		{ "thread", "DELETE FROM thread_members WHERE thread_id = :local" },
	};
	const struct store_bind ids[] = {
		BIND_NAMED_INT(":local", action_local_id(p->id)), BIND_NAMED_INT(":server", server),
	};
	char sql[160];
	int rc = FL_OK;

	if (!p->spec->creates || !strcmp(p->spec->creates, "review") || server <= 0)
		return FL_OK; /* a review's key is natural: the server's row overwrote it */
	for (size_t i = 0; !rc && i < sizeof remaps / sizeof remaps[0]; i++)
		if (!strcmp(remaps[i].noun, p->spec->creates))
			rc = sync_exec_binds(run, "replace a local row", remaps[i].sql, ids, 2);
	if (!rc) {
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = :local AND local_id IS NOT NULL", p->spec->table);
		rc = sync_exec_binds(run, "replace a local row", sql, ids, 2);
	}
	return rc;
}

/* An action without a result object: the server confirmed the optimistic values. */
static int confirm_target(struct sync_run *run, const struct pending *p)
{
	char sql[200];

	if (!p->spec->target || !p->spec->table)
		return FL_OK;
	snprintf(sql, sizeof sql, "UPDATE %s SET local_state = NULL, local_action = NULL "
		 "WHERE id = ?1 AND local_action = ?2", p->spec->table);
	{
		sqlite3_stmt *st;
		int src;

		if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK)
			return sync_fail_db(run, "confirm the action's effect");
		sqlite3_bind_int64(st, 1, replay_param_int(run, p->resolved, p->spec->target));
		sqlite3_bind_text(st, 2, p->spec->kind, -1, SQLITE_STATIC);
		src = sqlite3_step(st);
		sqlite3_finalize(st);
		return src == SQLITE_DONE ? FL_OK : sync_fail_db(run, "confirm the action's effect");
	}
}

static int finish_done(struct sync_run *run, const struct pending *p, long status,
		       const char *result, int64_t server)
{
	int rc = sync_tx_begin(run);

	if (!rc)
		rc = p->spec->creates ? replace_local(run, p, server) : confirm_target(run, p);
	if (!rc)
		rc = set_state(run, p->id, "done", status, NULL, NULL, result, 0);
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	if (!rc)
		sync_log(run, "action %lld %s done%s", (long long)p->id, p->kind, result ? "" : " (no result)");
	return rc;
}

/* undo false: the action's effect was taken back already, in this transaction. */
static int finish_failed(struct sync_run *run, const struct pending *p, long status,
			 const char *code, const char *message, bool undo)
{
	int rc = sync_tx_begin(run);
	char why[160];

	/* Its dependents cannot run: they fail with it, and their rows go first. */
	snprintf(why, sizeof why, "action %lld, which it depends on, failed", (long long)p->id);
	for (;;) {
		char idtext[32], *child;

		snprintf(idtext, sizeof idtext, "%lld", (long long)p->id);
		child = rc ? NULL : replay_query_text(run,
			"SELECT d.id FROM actions d, actions a WHERE a.id = CAST(?1 AS INTEGER) AND d.id <> a.id "
			"AND d.state = 'queued' AND (d.depends_on = a.id OR (a.local_ref IS NOT NULL AND "
			"instr(d.params, '\"' || a.local_ref || '\"') > 0)) LIMIT 1", idtext, NULL);
		if (!child)
			break;
		if (action_end_tree(run->db, strtoll(child, NULL, 10), "failed", why))
			rc = error_copy(&run->err, &run->db->err);
		free(child);
	}
	if (!rc && undo && action_undo(run->db, p->id))
		rc = error_copy(&run->err, &run->db->err);
	if (!rc && action_refused(run->db, p->resolved ? p->resolved : p->params, code))
		rc = error_copy(&run->err, &run->db->err);
	if (!rc)
		rc = set_state(run, p->id, "failed", status, code, message, NULL, 0);
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	if (!rc)
		sync_log(run, "action %lld %s failed: %s %s", (long long)p->id, p->kind,
			 code ? code : "", message ? message : "");
	return rc;
}

/* ---- one action --------------------------------------------------------------- */

/* Seconds before try `attempts` + 1: retry_base_ms doubling, +-50%, at least 1 s, at most an hour. */
static int64_t backoff_s(const struct sync_run *run, int attempts)
{
	int64_t ms = run->opt->retry_base_ms > 0 ? run->opt->retry_base_ms : 500;

	for (int i = 1; i < attempts && ms < 3600000; i++)
		ms *= 2;
	ms = ms / 2 + rand() % (ms + 1);
	return ms < 1000 ? 1 : ms > 3600000 ? 3600 : ms / 1000;
}

/*
 * The API answered an "already" error (al).  What it has is read back and
 * stored in place of the optimistic effect, which goes first.  After a first
 * send the action failed with the API's words: the account had done it
 * before.  After an uncertain send it is done when what is there is what was
 * sent, and failed (al->differs) when it is not.
 */
static int finish_already(struct sync_run *run, const struct pending *p, const struct already_spec *al,
			  const struct api_result *out, const char *api_message)
{
	struct result_ctx res = { .run = run };
	enum probe_outcome outcome = PROBE_NONE;
	bool uncertain = p->was_sending || p->attempts > 0;
	int rc;

	res.store = p->spec->creates ? result_store(p->spec) : replay_table_store(p->spec->table);
	buf_init(&res.raw, 16 << 20);
	rc = sync_tx_begin(run);
	if (!rc && action_undo(run->db, p->id))
		rc = error_copy(&run->err, &run->db->err);
	if (!rc)
		rc = action_probe(run, p, PROBE_AFTER_ALREADY, &res, &outcome);
	if (rc) {
		/* The read-back failed: only the real row is missing, which the next read brings. */
		sync_tx_rollback(run);
		if (uncertain)
			goto out; /* still 'sending': the next pass reconciles it */
		rc = finish_failed(run, p, out->http.status, out->env.error_code, api_message, true);
		goto out;
	}
	sync_log(run, "action %lld %s: the API says %s; %s", (long long)p->id, p->kind, al->code,
		 outcome == PROBE_SAME ? "what is there is what was sent" :
		 outcome == PROBE_DIFFERENT ? "what is there differs" : "nothing found");
	if (uncertain && outcome == PROBE_SAME)
		rc = finish_done(run, p, out->http.status, res.raw.len ? res.raw.data : NULL, res.id);
	else
		rc = finish_failed(run, p, out->http.status, out->env.error_code,
				   uncertain && outcome == PROBE_DIFFERENT ? al->differs : api_message, false);
out:
	buf_free(&res.raw);
	return rc;
}

/*
 * Sent before and maybe applied: the server is asked first.  *settled when
 * that decided the action (done, or failed without a request).
 */
static int resend_check(struct sync_run *run, struct pending *p, bool *settled)
{
	struct result_ctx found = { .run = run, .store = result_store(p->spec) };
	enum probe_outcome outcome = PROBE_NONE;
	const struct already_spec *al;
	int rc;

	*settled = false;
	if (!p->was_sending && p->attempts == 0)
		return FL_OK;
	buf_init(&found.raw, 16 << 20);
	rc = sync_tx_begin(run);
	if (!rc)
		rc = action_probe(run, p, PROBE_BEFORE_RESEND, &found, &outcome);
	al = action_already_any(p->kind);
	if (!rc && outcome == PROBE_SAME) {
		sync_log(run, "action %lld %s was already applied", (long long)p->id, p->kind);
		rc = finish_done(run, p, 200, found.raw.len ? found.raw.data : NULL, found.id);
		*settled = true;
	} else if (!rc && outcome == PROBE_DIFFERENT && al && al->one_only) {
		/* The API keeps one: a resend could only be refused as a duplicate. */
		rc = finish_failed(run, p, 0, NULL, al->differs, true);
		*settled = true;
	} else if (!rc) {
		rc = sync_tx_maybe_commit(run, true);
	}
	buf_free(&found.raw);
	return rc;
}

/*
 * Never over a documented limit: with the budget asking to wait past 2 s the
 * action stays queued for a later pass.  Not an attempt: it is ready again
 * when the budget allows, not at once (a queue watcher would spin).
 */
static int defer_for_limit(struct sync_run *run, const struct pending *p, const char *endpoint, int64_t wait)
{
	int rc;

	sync_log(run, "action %lld %s waits for %s's rate limit (%lld s)", (long long)p->id, p->kind,
		 endpoint, (long long)(wait / 1000));
	rc = sync_tx_begin(run);
	if (!rc)
		rc = sync_exec_binds(run, "record the action's wait", "UPDATE actions SET next_attempt = ?2 WHERE id = ?1",
				     STORE_BINDS(BIND_INT(p->id), BIND_INT(unix_now() + (wait + 999) / 1000)));
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	return rc;
}

/* 'sending' is committed before the request goes out. */
static int mark_sending(struct sync_run *run, const struct pending *p)
{
	int rc = sync_tx_begin(run);

	if (!rc)
		rc = sync_exec_binds(run, "mark the action sending", "UPDATE actions SET state = 'sending', "
				     "attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
				     STORE_BINDS(BIND_INT(p->id), BIND_INT(unix_now())));
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	return rc;
}

/*
 * A send that met a network error, a 5xx or a 429 (rc): queued again after
 * a back-off, or failed once it has had its attempts.  A 429 is a wait, never
 * a failure, and not an attempt.
 */
static int finish_transient(struct sync_run *run, const struct pending *p, int rc, const struct api_result *out,
			    const char *msg)
{
	bool limited = rc == FL_ERR_RATE_LIMITED;
	int64_t next = unix_now() + (limited && out->http.retry_after > 0 ? out->http.retry_after
						      : backoff_s(run, p->attempts + 1));
	int attempts = p->attempts + (limited ? 0 : 1);

	if (!limited && attempts >= (run->opt->max_attempts > 0 ? run->opt->max_attempts : 5))
		return finish_failed(run, p, out->http.status, out->env.error_code, msg, true);
	rc = sync_tx_begin(run);
	if (!rc && limited)
		rc = sync_exec_binds(run, "give the attempt back", "UPDATE actions SET attempts = attempts - 1 "
				     "WHERE id = ?1", STORE_BINDS(BIND_INT(p->id)));
	if (!rc)
		rc = set_state(run, p->id, "queued", out->http.status, out->env.error_code, msg, NULL, next);
	if (!rc)
		rc = sync_tx_maybe_commit(run, true);
	if (!rc)
		sync_log(run, "action %lld %s deferred: %s", (long long)p->id, p->kind, msg);
	return rc;
}

/* Send p once (asking the server first when it may have been applied), and record the outcome. */
static int send_one(struct sync_run *run, struct pending *p)
{
	struct result_ctx res = { .run = run, .store = result_store(p->spec) };
	const struct already_spec *al;
	struct buf path, body;
	struct api_result out;
	struct fl_error err = { 0 };
	const char *ctype = NULL, *msg;
	char endpoint[128];
	bool settled;
	int64_t wait;
	int rc;

	rc = resend_check(run, p, &settled);
	if (rc || settled)
		return rc;
	buf_init(&res.raw, 16 << 20);
	buf_init(&path, 8192);
	buf_init(&body, 1 << 20);
	rc = build_request(run, p, &path, &body, &ctype);
	if (rc)
		goto out;
	wait = api_limit_delay(run->rl, p->spec->method, path.data, endpoint, sizeof endpoint);
	if (wait > 2000) {
		rc = defer_for_limit(run, p, endpoint, wait);
		goto out;
	}
	sync_nap(run, wait);
	rc = mark_sending(run, p);
	if (!rc)
		rc = sync_tx_begin(run);
	if (rc)
		goto out;
	sync_log(run, "%s %s (action %lld %s)", p->spec->method, path.data, (long long)p->id, p->kind);
	rc = api_call_limited(run->rl, endpoint, run->http, p->spec->method, path.data, ctype,
			      body.len ? body.data : NULL, body.len, NULL, replay_on_result, &res, &out, &err);
	run->sh->requests_total++;
	if (run->cur)
		run->cur->requests++;
	if (rc == FL_OK) {
		rc = finish_done(run, p, out.http.status, res.raw.len ? res.raw.data : NULL, res.id);
		goto out;
	}
	/* Whatever the store did for a failed call is not kept. */
	sync_tx_rollback(run);
	msg = out.env.message[0] ? out.env.message : err.msg;
	if (rc == FL_ERR_RATE_LIMITED || api_transient(rc, &out))
		rc = finish_transient(run, p, rc, &out, err.msg);
	else if ((al = action_already(p->kind, out.env.error_code)) != NULL)
		rc = finish_already(run, p, al, &out, msg);
	else
		rc = finish_failed(run, p, out.http.status, out.env.error_code, msg, true);
out:
	buf_free(&res.raw);
	buf_free(&path);
	buf_free(&body);
	return rc;
}

/*
 * The "actions" stream: every due action in queue order.  One waiting on
 * another is passed over until that one is done; one whose dependency failed
 * fails too; a failure never holds up unrelated actions.
 */
int stream_actions(struct sync_run *run)
{
	int64_t after = 0;
	int rc = FL_OK;

	for (;;) {
		struct pending p = { 0 };
		bool found;

		rc = next_due(run, after, &p, &found);
		if (rc || !found)
			break;
		after = p.id;
		if (!p.spec) {
			rc = finish_failed(run, &p, 0, NULL, "unknown action kind", true);
		} else {
			switch (resolve(run, &p)) {
			case WAITING:
				break;
			case BROKEN:
				rc = finish_failed(run, &p, 0, NULL, run->err.msg, true);
				break;
			case RESOLVED:
				rc = send_one(run, &p);
				break;
			}
		}
		pending_free(&p);
		if (rc)
			break;
		sync_progress(run, false, NULL);
		if (run->opt->stop && *run->opt->stop)
			return error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	return rc;
}

/* ---- a dry run ---------------------------------------------------------------- */

FL_API int fl_action_request(struct fl_db *db, int64_t id, char **out_method, char **out_path, char **out_body,
			     int *out_waiting)
{
	struct sync_run run;
	struct pending p;
	struct buf path, body;
	const char *content_type = NULL;
	bool found = false;
	int rc = FL_OK;

	if (out_method)
		*out_method = NULL;
	if (out_path)
		*out_path = NULL;
	if (out_body)
		*out_body = NULL;
	if (out_waiting)
		*out_waiting = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (!out_method || !out_path || !out_body)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_action_request: an out-parameter is NULL");
	/* The request builders need only the connection and an error slot of a run. */
	memset(&run, 0, sizeof run);
	memset(&p, 0, sizeof p);
	run.db = db;
	if ((rc = next_due(&run, id - 1, &p, &found)) != FL_OK)
		return error_copy(&db->err, &run.err);
	if (!found || p.id != id || !p.spec) {
		pending_free(&p);
		return error_set(&db->err, FL_ERR_NOT_FOUND, "action %lld is not waiting to be sent now "
				 "(see flsync queue show %lld)", (long long)id, (long long)id);
	}
	switch (resolve(&run, &p)) {
	case BROKEN:
		rc = error_copy(&db->err, &run.err);
		pending_free(&p);
		return rc;
	case WAITING:
		if (out_waiting)
			*out_waiting = 1;
		p.resolved = strdup(p.params); /* the local references stay as queued */
		if (!p.resolved) {
			pending_free(&p);
			return error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		}
		break;
	case RESOLVED:
		break;
	}
	buf_init(&path, 1 << 16);
	buf_init(&body, 1 << 20);
	rc = build_request(&run, &p, &path, &body, &content_type);
	if (rc == FL_OK) {
		*out_method = strdup(p.spec->method);
		*out_path = strdup(path.data ? path.data : "");
		*out_body = body.len ? strdup(body.data) : NULL;
		if (!*out_method || !*out_path || (body.len && !*out_body)) {
			fl_free(*out_method);
			fl_free(*out_path);
			fl_free(*out_body);
			*out_method = *out_path = *out_body = NULL;
			rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		} else {
			error_clear(&db->err);
		}
	} else {
		error_copy(&db->err, &run.err);
	}
	buf_free(&path);
	buf_free(&body);
	pending_free(&p);
	return rc;
}
