/*
 * actions.c — the write queue's public calls: enqueue (validate, resolve
 * local references, write the action and its optimistic effect in one
 * transaction), cancel, retry, and inspection.  An effect is either a local
 * row (id -action, local_id "local:<noun>:<action>") or changed columns of an
 * existing row; actions.undo says how to take it back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "buf.h"

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

static int db_fail(struct fl_db *db, const char *what)
{
	return store_error(db, "%s", what);
}

/* Run every statement of sql with the named parameters that appear in it. */
struct effect_args {
	int64_t id;           /* local id (-action) */
	const char *p;        /* resolved params */
	const char *local;    /* local reference */
	const char *kind;
	int64_t now;
	int64_t self;         /* 0: unknown */
	int64_t target;
};

/* a's binds, by name (a statement takes the ones it names); b holds 7. */
static size_t effect_binds(const struct effect_args *a, struct store_bind *b)
{
	const struct store_bind all[] = {
		{ ":id", STORE_INT, a->id, NULL },
		{ ":p", STORE_TEXT, 0, a->p },
		{ ":local", STORE_TEXT, 0, a->local },
		{ ":kind", STORE_TEXT, 0, a->kind },
		{ ":now", STORE_INT, a->now, NULL },
		{ ":self", a->self ? STORE_INT : STORE_NULL, a->self, NULL },
		{ ":target", STORE_INT, a->target, NULL },
	};

	memcpy(b, all, sizeof all);
	return sizeof all / sizeof all[0];
}

static int run_sql(struct fl_db *db, const char *sql, const struct effect_args *a, const char *what)
{
	struct store_bind b[7];
	const char *tail = sql;

	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		int src;

		if (sqlite3_prepare_v2(db->sql, tail, -1, &st, &tail) != SQLITE_OK)
			return db_fail(db, what);
		if (!st)
			break;
		store_bind(st, b, effect_binds(a, b));
		src = sqlite3_step(st);
		sqlite3_finalize(st);
		if (src != SQLITE_DONE && src != SQLITE_ROW)
			return db_fail(db, what);
	}
	return FL_OK;
}

/* A text value of one row (malloc'd), or NULL; a's binds by name. */
static char *select_text(struct fl_db *db, const char *sql, const struct effect_args *a)
{
	struct store_bind b[7];
	char *out;

	store_text(db, "read the queue", sql, b, effect_binds(a, b), &out);
	return out;
}

/*
 * Resolve params' local references: to the server's id when the creating
 * action is done, else to the local row's id (-action).  *out_resolved is
 * malloc'd; *out_depends the newest action still pending, 0 if none.
 */
static int resolve_refs(struct fl_db *db, const struct kind_spec *spec, const char *params,
			char **out_resolved, int64_t *out_depends, struct fl_error *err)
{
	struct effect_args a = { .p = params };
	char *cur = strdup(params);

	*out_depends = 0;
	if (!cur)
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	for (const struct field_spec *f = spec->fields; f->name; f++) {
		char sql[256], path[96], *v;
		int64_t action, server = 0;
		sqlite3_stmt *st;
		const char *state = NULL;
		int src;

		if (f->type != FT_ID || !f->ref)
			continue;
		snprintf(sql, sizeof sql, "SELECT json_extract(:p, '$.%s') WHERE json_type(:p, '$.%s') = 'text'",
			 f->name, f->name);
		a.p = cur;
		v = select_text(db, sql, &a);
		if (!v || !action_local_ref(v, f->ref, &action)) {
			free(v);
			continue;
		}
		if (sqlite3_prepare_v2(db->sql,
				       "SELECT state, coalesce(json_extract(result, '$.id'), json_extract(result, '$.transaction_id')) "
				       "FROM actions WHERE id = ?1 AND local_ref = ?2", -1, &st, NULL) != SQLITE_OK) {
			free(v);
			free(cur);
			return error_copy(err, &db->err);
		}
		sqlite3_bind_int64(st, 1, action);
		sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
		src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			state = (const char *)sqlite3_column_text(st, 0);
			server = sqlite3_column_int64(st, 1);
		}
		if (src != SQLITE_ROW || !state) {
			error_set(err, FL_ERR_NOT_FOUND, "%s: %s %s names no queued action", spec->kind,
				  f->name, v);
		} else if (!strcmp(state, "failed") || !strcmp(state, "cancelled")) {
			error_set(err, FL_ERR_INVALID, "%s: %s %s was never created: its action %lld %s",
				  spec->kind, f->name, v, (long long)action, state);
		} else {
			char *next = NULL;
			int64_t value = !strcmp(state, "done") && server > 0 ? server : -action;

			if (value < 0 && action > *out_depends)
				*out_depends = action;
			snprintf(path, sizeof path, "$.%s", f->name);
			if (sqlite3_finalize(st), st = NULL,
			    sqlite3_prepare_v2(db->sql, "SELECT json_set(?1, ?2, ?3)", -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_text(st, 1, cur, -1, SQLITE_STATIC);
				sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 3, value);
				if (sqlite3_step(st) == SQLITE_ROW)
					next = strdup((const char *)sqlite3_column_text(st, 0));
			}
			if (!next)
				error_set(err, FL_ERR_NOMEM, "out of memory");
			else {
				free(cur);
				cur = next;
				err->rc = FL_OK;
			}
		}
		sqlite3_finalize(st);
		free(v);
		if (err->rc) {
			free(cur);
			return err->rc;
		}
	}
	*out_resolved = cur;
	return FL_OK;
}

/* Rows every positive id of params names exist, as stubs if unknown. */
static int make_stubs(struct fl_db *db, const struct kind_spec *spec, const char *resolved)
{
	struct effect_args a = { .p = resolved };
	char sql[256];

	for (const struct field_spec *f = spec->fields; f->name; f++) {
		if (!f->fk)
			continue;
		if (f->type == FT_IDS)
			snprintf(sql, sizeof sql, "INSERT INTO %s(id) SELECT value FROM json_each(:p, '$.%s') "
				 "WHERE value > 0 ON CONFLICT(id) DO NOTHING", f->fk, f->name);
		else if (f->type == FT_JOBS)
			snprintf(sql, sizeof sql, "INSERT INTO %s(id) SELECT json_extract(value, '$.id') "
				 "FROM json_each(:p, '$.%s') WHERE true ON CONFLICT(id) DO NOTHING", f->fk, f->name);
		else if (f->type == FT_OBJ_ID)
			/* "WHERE true": an upsert's SELECT needs a WHERE (SQLite's parsing rule). */
			snprintf(sql, sizeof sql, "INSERT INTO %s(id) SELECT json_extract(:p, '$.%s.id') "
				 "WHERE true ON CONFLICT(id) DO NOTHING", f->fk, f->name);
		else
			snprintf(sql, sizeof sql, "INSERT INTO %s(id) SELECT json_extract(:p, '$.%s') "
				 "WHERE json_extract(:p, '$.%s') > 0 ON CONFLICT(id) DO NOTHING",
				 f->fk, f->name, f->name);
		if (run_sql(db, sql, &a, "note referenced rows"))
			return db->err.rc;
	}
	return FL_OK;
}

/*
 * Apply action `id`'s optimistic effect and record its undo.  Used on
 * enqueue and when a failed action is retried.
 */
static int apply_effect(struct fl_db *db, const struct kind_spec *spec, int64_t id,
			const char *resolved, const char *local_ref, int64_t self)
{
	struct effect_args a = { .id = action_local_id(id), .p = resolved, .local = local_ref,
				 .kind = spec->kind, .now = unix_now(), .self = self };
	char sql[1024], *undo = NULL;
	int rc;

	rc = make_stubs(db, spec, resolved);
	if (rc)
		return rc;
	if (spec->insert_sql) {
		rc = run_sql(db, spec->insert_sql, &a, spec->kind);
		if (rc)
			return rc;
		if (strcmp(spec->table, "reviews") == 0)
			undo = select_text(db, "SELECT json_object('op', 'delete_review', 'project_id', "
					   "json_extract(:p, '$.project_id'), 'from_user_id', coalesce("
					   "json_extract(:p, '$.from_user_id'), :self), 'to_user_id', "
					   "json_extract(:p, '$.to_user_id'))", &a);
		else
			undo = select_text(db, "SELECT json_object('op', 'delete', 'id', :id)", &a);
	} else if (spec->target && spec->table) {
		struct buf cols;
		char *c, *save = NULL, *list = strdup(spec->set_cols ? spec->set_cols : "");

		snprintf(sql, sizeof sql, "SELECT json_extract(:p, '$.%s')", spec->target);
		{
			char *t = select_text(db, sql, &a);
			a.target = t ? strtoll(t, NULL, 10) : 0;
			free(t);
		}
		buf_init(&cols, 4096);
		buf_puts(&cols, "SELECT json_object('op', 'restore', 'id', id, 'cols', json_object("
			 "'local_state', local_state, 'local_action', local_action");
		for (c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
			buf_printf(&cols, ", '%s', %s", c, c);
		buf_printf(&cols, ")) FROM %s WHERE id = :target", spec->table);
		free(list);
		undo = cols.data ? select_text(db, cols.data, &a) : NULL;
		buf_free(&cols);
		if (undo) {
			/* The row is known locally: show the action on it. */
			snprintf(sql, sizeof sql, "UPDATE %s SET %s%slocal_state = 'pending', local_action = :kind "
				 "WHERE id = :target", spec->table, spec->set_sql ? spec->set_sql : "",
				 spec->set_sql && *spec->set_sql ? ", " : "");
			rc = run_sql(db, sql, &a, spec->kind);
			if (rc) {
				free(undo);
				return rc;
			}
		}
	}
	if (undo) {
		snprintf(sql, sizeof sql, "UPDATE actions SET undo = json_set(?2, '$.table', '%s') WHERE id = ?1",
			 spec->table);
		{
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
				free(undo);
				return db_fail(db, "record undo");
			}
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, undo, -1, SQLITE_STATIC);
			rc = sqlite3_step(st) == SQLITE_DONE ? FL_OK : db_fail(db, "record undo");
			sqlite3_finalize(st);
		}
	}
	free(undo);
	return rc;
}

/* Take back action id's optimistic effect (no-op when it has none). */
int action_undo(struct fl_db *db, int64_t id)
{
	static const char *const deletes =
		"SELECT json_extract(undo, '$.table'), json_extract(undo, '$.op'), json_extract(undo, '$.id'), "
		"json_extract(undo, '$.project_id'), json_extract(undo, '$.from_user_id'), "
		"json_extract(undo, '$.to_user_id'), json_extract(undo, '$.cols') FROM actions WHERE id = ?1 "
		"AND undo IS NOT NULL";
	sqlite3_stmt *st, *up = NULL;
	const char *table, *op;
	char sql[512];
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, deletes, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "undo action");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	table = (const char *)sqlite3_column_text(st, 0);
	op = (const char *)sqlite3_column_text(st, 1);
	if (!table || !op || !strchr("bmprt", table[0]) || strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table))
		goto out; /* never build SQL from anything but our own table names */
	if (strcmp(op, "delete") == 0) {
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1 AND local_state IS NOT NULL", table);
		if (sqlite3_prepare_v2(db->sql, sql, -1, &up, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(up, 1, sqlite3_column_int64(st, 2));
	} else if (strcmp(op, "delete_review") == 0) {
		if (sqlite3_prepare_v2(db->sql, "DELETE FROM reviews WHERE project_id = ?1 AND from_user_id = ?2 "
				       "AND to_user_id = ?3 AND local_state IS NOT NULL", -1, &up, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(up, 1, sqlite3_column_int64(st, 3));
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 4));
		sqlite3_bind_int64(up, 3, sqlite3_column_int64(st, 5));
	} else if (strcmp(op, "restore") == 0) {
		/* Each saved column back to its value; the column names come from our own spec. */
		sqlite3_stmt *keys;
		struct buf set;

		buf_init(&set, 4096);
		if (sqlite3_prepare_v2(db->sql, "SELECT key FROM json_each(?1)", -1, &keys, NULL) != SQLITE_OK) {
			buf_free(&set);
			goto fail;
		}
		sqlite3_bind_value(keys, 1, sqlite3_column_value(st, 6));
		while (sqlite3_step(keys) == SQLITE_ROW) {
			const char *k = (const char *)sqlite3_column_text(keys, 0);
			if (k && strspn(k, "abcdefghijklmnopqrstuvwxyz_") == strlen(k))
				buf_printf(&set, "%s%s = json_extract(?2, '$.%s')", set.len ? ", " : "", k, k);
		}
		sqlite3_finalize(keys);
		if (set.len) {
			snprintf(sql, sizeof sql, "UPDATE %s SET %s WHERE id = ?1", table, set.data);
			if (sqlite3_prepare_v2(db->sql, sql, -1, &up, NULL) != SQLITE_OK) {
				buf_free(&set);
				goto fail;
			}
			sqlite3_bind_int64(up, 1, sqlite3_column_int64(st, 2));
			sqlite3_bind_value(up, 2, sqlite3_column_value(st, 6));
		}
		buf_free(&set);
	}
	if (up && sqlite3_step(up) != SQLITE_DONE)
		goto fail;
	goto out;
fail:
	rc = db_fail(db, "undo action");
out:
	sqlite3_finalize(up);
	sqlite3_finalize(st);
	return rc;
}

static int64_t self_id(struct fl_db *db)
{
	int64_t id = 0;

	store_int(db, "read the account", "SELECT id FROM users WHERE is_self = 1", NULL, 0, &id, NULL);
	return id;
}

/* The parameters are a JSON object, or the error says what they are not. */
static int check_object(struct fl_db *db, const char *kind, const char *params_json)
{
	struct effect_args a = { .p = params_json };
	char *t = select_text(db, "SELECT CASE WHEN json_valid(:p) THEN json_type(:p) END", &a);
	bool object = t && !strcmp(t, "object");

	if (!object)
		error_set(&db->err, FL_ERR_INVALID, "%s: parameters must be a JSON object%s", kind,
			  t ? "" : " (this is not valid JSON)");
	free(t);
	return object ? FL_OK : FL_ERR_INVALID;
}

/* Replace *params (malloc'd) by the text sql makes of it (:p, :self), or say what failed. */
static int params_set(struct fl_db *db, const char *sql, int64_t self, char **params, const char *what)
{
	struct effect_args a = { .p = *params, .self = self };
	char *next = select_text(db, sql, &a);

	if (!next)
		return db_fail(db, what);
	free(*params);
	*params = next;
	return FL_OK;
}

/*
 * What the API requires and the account supplies: the acting user (Create
 * Bid, Post a Review) is the account unless given; a message's stable
 * client_message_id, so a resend after a crash returns the original.
 */
static int fill_defaults(struct fl_db *db, const struct kind_spec *spec, int64_t self, char **params)
{
	char sql[200];
	int rc = FL_OK;

	if (spec->acting_user && !self) {
		struct effect_args a = { .p = *params };
		char *has;

		snprintf(sql, sizeof sql, "SELECT json_extract(:p, '$.%s')", spec->acting_user);
		if (!(has = select_text(db, sql, &a)))
			return error_set(&db->err, FL_ERR_INVALID,
					 "%s: %s not given and the account is not known yet (run flsyncd once)",
					 spec->kind, spec->acting_user);
		free(has);
	}
	if (spec->acting_user && self) {
		snprintf(sql, sizeof sql, "SELECT json_set(:p, '$.%s', coalesce(json_extract(:p, '$.%s'), :self))",
			 spec->acting_user, spec->acting_user);
		rc = params_set(db, sql, self, params, "fill in the acting user");
	}
	if (!rc && spec->client_message_id) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(sql, sizeof sql, "SELECT json_set(:p, '$.client_message_id', coalesce("
			 "json_extract(:p, '$.client_message_id'), %lld))",
			 (long long)((((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) & 0x1FFFFFFFFFFll) * 1000 +
				     rand() % 1000));
		rc = params_set(db, sql, self, params, "set client_message_id");
	}
	return rc;
}

/* The actions row, queued; a creating kind's local reference named in local. */
static int insert_action(struct fl_db *db, const struct kind_spec *spec, const char *params, int64_t depends,
			 int64_t now, int64_t *id, char *local, size_t local_size)
{
	const struct store_bind b[] = {
		BIND_TEXT(spec->kind), BIND_TEXT(params),
		{ NULL, depends ? STORE_INT : STORE_NULL, depends, NULL }, BIND_INT(now),
	};

	if (store_step(db, "queue action", "INSERT INTO actions(kind, params, state, depends_on, created_at, "
		       "updated_at, next_attempt) VALUES (?1, ?2, 'queued', ?3, ?4, ?4, 0)", b, 4))
		return db->err.rc;
	*id = sqlite3_last_insert_rowid(db->sql);
	if (!spec->creates)
		return FL_OK;
	snprintf(local, local_size, "local:%s:%lld", spec->creates, (long long)*id);
	return run_sql(db, "UPDATE actions SET local_ref = :local WHERE id = -:id",
		       &(struct effect_args){ .id = -*id, .local = local }, "name local object");
}

FL_API int fl_action_enqueue(struct fl_db *db, const char *kind, const char *params_json,
			     int64_t *out_id, char **out_local_ref)
{
	const struct kind_spec *spec;
	char *resolved = NULL, *params = NULL, local[64] = "";
	int64_t depends = 0, id = 0, self, now = unix_now();
	int rc;

	if (out_id)
		*out_id = 0;
	if (out_local_ref)
		*out_local_ref = NULL;
	if (!db)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (!kind || !params_json || !out_id)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_action_enqueue: kind, params_json and out_id are required");
	spec = action_kind(kind);
	if (!spec)
		return error_set(&db->err, FL_ERR_INVALID, "unknown action kind \"%.60s\"", kind);
	rc = check_object(db, kind, params_json);
	if (rc)
		return rc;
	rc = action_validate(db, spec, params_json, &db->err);
	if (rc)
		return rc;

	rc = store_begin(db);
	if (rc)
		return rc;
	self = self_id(db);
	params = strdup(params_json);
	if (!params) {
		rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = fill_defaults(db, spec, self, &params);
	if (rc)
		goto out;
	rc = resolve_refs(db, spec, params, &resolved, &depends, &db->err);
	if (rc)
		goto out;

	rc = insert_action(db, spec, params, depends, now, &id, local, sizeof local);
	if (rc)
		goto out;
	rc = apply_effect(db, spec, id, resolved, local[0] ? local : NULL, self);
	if (rc) {
		/* A constraint the optimistic row breaks is the caller's input at fault. */
		int x = sqlite3_extended_errcode(db->sql);
		if ((x & 0xff) == SQLITE_CONSTRAINT)
			rc = error_set(&db->err, FL_ERR_INVALID, "%s: %s", kind, sqlite3_errmsg(db->sql));
		goto out;
	}
	rc = store_commit(db);
out:
	if (rc) {
		store_rollback(db);
	} else {
		*out_id = id;
		if (out_local_ref && local[0]) {
			*out_local_ref = strdup(local);
			if (!*out_local_ref)
				rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		}
	}
	free(params);
	free(resolved);
	return rc;
}

/*
 * Queued actions that name the object action id creates (by its local
 * reference), or wait on it: they cannot run without it.
 */
static int next_dependent(struct fl_db *db, int64_t id, int64_t *out, bool *found)
{
	return store_int(db, "read queue", "SELECT d.id FROM actions d, actions a WHERE a.id = ?1 AND d.id <> a.id "
			 "AND d.state IN ('queued', 'sending') AND (d.depends_on = a.id OR "
			 "(a.local_ref IS NOT NULL AND instr(d.params, '\"' || a.local_ref || '\"') > 0)) "
			 "ORDER BY d.id DESC LIMIT 1", STORE_BINDS(BIND_INT(id)), out, found);
}

/*
 * End action id and, first, every action that depends on it: their
 * optimistic rows point at its local row, so they go before it does.
 */
int action_end_tree(struct fl_db *db, int64_t id, const char *state, const char *why)
{
	sqlite3_stmt *st;
	int64_t child;
	bool found;
	int rc;

	for (;;) {
		rc = next_dependent(db, id, &child, &found);
		if (rc || !found)
			break;
		rc = action_end_tree(db, child, state, why);
		if (rc)
			return rc;
	}
	if (rc)
		return rc;
	rc = action_undo(db, id);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db->sql, "UPDATE actions SET state = ?3, updated_at = ?2, "
			       "error_message = coalesce(error_message, ?4) WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "end action");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, unix_now());
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? FL_OK : db_fail(db, "end action");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Begin the transaction of a change to action id, which must be in state
 * `want` (`verb` says what the change is, for the error).  On failure
 * nothing is left open.
 */
static int begin_in_state(struct fl_db *db, int64_t id, const char *want, const char *verb)
{
	struct effect_args a = { .id = id };
	char *state;
	int rc;

	if ((rc = store_begin(db)))
		return rc;
	state = select_text(db, "SELECT state FROM actions WHERE id = :id", &a);
	if (!state)
		rc = error_set(&db->err, FL_ERR_NOT_FOUND, "no action %lld", (long long)id);
	else if (strcmp(state, want) != 0)
		rc = error_set(&db->err, FL_ERR_STATE, "action %lld is %s: only a %s action can be %s",
			       (long long)id, state, want, verb);
	free(state);
	if (rc)
		store_rollback(db);
	return rc;
}

FL_API int fl_action_cancel(struct fl_db *db, int64_t id)
{
	int rc;

	if (!db)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if ((rc = begin_in_state(db, id, "queued", "cancelled")))
		return rc;
	rc = action_end_tree(db, id, "cancelled", NULL);
	if (!rc)
		rc = store_commit(db);
	if (rc)
		store_rollback(db);
	return rc;
}

FL_API int fl_action_retry(struct fl_db *db, int64_t id)
{
	struct effect_args a = { .id = id };
	const struct kind_spec *spec;
	char *kind = NULL, *params = NULL, *local = NULL, *resolved = NULL;
	int64_t depends = 0;
	sqlite3_stmt *st;
	int rc;

	if (!db)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if ((rc = begin_in_state(db, id, "failed", "retried")))
		return rc;
	kind = select_text(db, "SELECT kind FROM actions WHERE id = :id", &a);
	params = select_text(db, "SELECT params FROM actions WHERE id = :id", &a);
	local = select_text(db, "SELECT local_ref FROM actions WHERE id = :id", &a);
	spec = action_kind(kind);
	if (!spec || !params) {
		rc = error_set(&db->err, FL_ERR_DB, "action %lld is damaged", (long long)id);
		goto out;
	}
	rc = resolve_refs(db, spec, params, &resolved, &depends, &db->err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db->sql, "UPDATE actions SET state = 'queued', attempts = 0, next_attempt = 0, "
			       "http_status = NULL, error_code = NULL, error_message = NULL, undo = NULL, "
			       "depends_on = ?2, updated_at = ?3 WHERE id = ?1", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(db, "retry action");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if (depends)
		sqlite3_bind_int64(st, 2, depends);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, unix_now());
	rc = sqlite3_step(st) == SQLITE_DONE ? FL_OK : db_fail(db, "retry action");
	sqlite3_finalize(st);
	if (!rc)
		rc = apply_effect(db, spec, id, resolved, local, self_id(db));
	if (!rc)
		rc = store_commit(db);
out:
	if (rc)
		store_rollback(db);
	free(kind);
	free(params);
	free(local);
	free(resolved);
	return rc;
}

/* ---- inspection ---------------------------------------------------------- */

#define INFO_COLS "id, kind, state, params, local_ref, depends_on, attempts, http_status, error_code, " \
		  "error_message, result, created_at, updated_at, next_attempt"

static const char *const state_names[] = { "queued", "sending", "done", "failed", "cancelled" };

FL_API const char *fl_action_state_name(enum fl_action_state state)
{
	return (unsigned)state < 5 ? state_names[state] : "unknown";
}

static enum fl_action_state state_value(const char *s)
{
	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum fl_action_state)i;
	return FL_ACTION_FAILED;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void row_info(sqlite3_stmt *st, struct fl_action_info *info)
{
	info->id = sqlite3_column_int64(st, 0);
	info->kind = col_text(st, 1);
	info->state = state_value(col_text(st, 2));
	info->params = col_text(st, 3);
	info->local_ref = col_text(st, 4);
	info->depends_on = sqlite3_column_int64(st, 5);
	info->attempts = sqlite3_column_int(st, 6);
	info->http_status = sqlite3_column_int(st, 7);
	info->error_code = col_text(st, 8);
	info->error_message = col_text(st, 9);
	info->result = col_text(st, 10);
	info->created_at = sqlite3_column_int64(st, 11);
	info->updated_at = sqlite3_column_int64(st, 12);
	info->next_attempt = sqlite3_column_int64(st, 13);
}

FL_API int fl_action_foreach(struct fl_db *db, int state,
			     int (*fn)(void *ctx, const struct fl_action_info *info), void *ctx)
{
	sqlite3_stmt *st;
	struct fl_action_info info;
	int src, rc = FL_OK;

	if (!db || !fn)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (sqlite3_prepare_v2(db->sql, "SELECT " INFO_COLS " FROM actions WHERE ?1 < 0 OR state = ?2 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "list actions");
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_text(st, 2, fl_action_state_name((enum fl_action_state)state), -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		row_info(st, &info);
		rc = fn(ctx, &info);
		if (rc)
			break;
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_fail(db, "list actions");
	sqlite3_finalize(st);
	return rc;
}

/* Copy a borrowed string into the block at *p. */
static const char *pack(char **p, const char *s)
{
	char *out;

	if (!s)
		return NULL;
	out = *p;
	strcpy(out, s);
	*p += strlen(s) + 1;
	return out;
}

FL_API int fl_action_get(struct fl_db *db, int64_t id, struct fl_action_info **out)
{
	struct fl_action_info tmp, *info;
	sqlite3_stmt *st;
	size_t need;
	char *p;
	int src, rc = FL_OK;

	if (out)
		*out = NULL;
	if (!db || !out)
		return FL_ERR_MISUSE;
	error_clear(&db->err);
	if (sqlite3_prepare_v2(db->sql, "SELECT " INFO_COLS " FROM actions WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "read action");
	sqlite3_bind_int64(st, 1, id);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = error_set(&db->err, FL_ERR_NOT_FOUND, "no action %lld", (long long)id);
	} else if (src != SQLITE_ROW) {
		rc = db_fail(db, "read action");
	} else {
		row_info(st, &tmp);
		need = sizeof *info;
		for (int i = 1; i <= 10; i++)
			if (col_text(st, i))
				need += strlen(col_text(st, i)) + 1;
		info = malloc(need);
		if (!info) {
			rc = error_set(&db->err, FL_ERR_NOMEM, "out of memory");
		} else {
			*info = tmp;
			p = (char *)(info + 1);
			info->kind = pack(&p, tmp.kind);
			info->params = pack(&p, tmp.params);
			info->local_ref = pack(&p, tmp.local_ref);
			info->error_code = pack(&p, tmp.error_code);
			info->error_message = pack(&p, tmp.error_message);
			info->result = pack(&p, tmp.result);
			*out = info;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

FL_API void fl_action_free(struct fl_action_info *info)
{
	free(info);
}
