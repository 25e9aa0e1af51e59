/*
 * sync_columns.c — entities as data: each entity a stream stores is a
 * table of columns (struct sync_column: name, kind, JSON path, update
 * rule, the stub row it names), from which its upsert is written once a
 * pass and its binds made for each item.  A new API field is one line of
 * its entity's table (and the column in a migration).
 *
 * The statement, for table t with columns c1..cn:
 *   INSERT INTO t(c1, ...) VALUES (?1, ...) ON CONFLICT(<conflict>)
 *   DO UPDATE SET c = excluded.c, ... WHERE t.raw IS NOT excluded.raw<where>
 * a bind per column in order (a fixed value takes none), and the update
 * skipped for an unchanged raw; the primary key is never in the SET list
 * (docs/internals/performance.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"

/* Append "(c1, c2, ...) VALUES (v1, v2, ...)" of e's columns. */
static bool put_values(struct buf *q, const struct sync_entity *e)
{
	int bind = 0;
	bool ok = buf_puts(q, "(");

	for (const struct sync_column *c = e->cols; ok && c->name; c++)
		ok = buf_printf(q, "%s%s", c == e->cols ? "" : ", ", c->name);
	ok = ok && buf_puts(q, ") VALUES (");
	for (const struct sync_column *c = e->cols; ok && c->name; c++) {
		const char *v = c->value ? c->value : "?", *mark = strchr(v, '?');

		ok = buf_puts(q, c == e->cols ? "" : ", ");
		if (ok && c->kind == COL_FIXED)
			ok = buf_puts(q, v);
		else if (ok && mark)
			ok = buf_printf(q, "%.*s?%d%s", (int)(mark - v), v, ++bind, mark + 1);
	}
	return ok && buf_puts(q, ")");
}

/* Append " ON CONFLICT(...) DO UPDATE SET ... WHERE ...". */
static bool put_update(struct buf *q, const struct sync_entity *e)
{
	bool ok = buf_printf(q, " ON CONFLICT(%s) DO UPDATE SET ", e->conflict), first = true;

	for (const struct sync_column *c = e->cols; ok && c->name; c++) {
		if (c->set && !*c->set)
			continue;
		if (c->set)
			ok = buf_printf(q, "%s%s", first ? "" : ", ", c->set);
		else
			ok = buf_printf(q, "%s%s = excluded.%s", first ? "" : ", ", c->name, c->name);
		first = false;
	}
	return ok && buf_printf(q, " WHERE %s.raw IS NOT excluded.raw%s", e->table, e->where ? e->where : "");
}

char *sync_entity_sql(const struct sync_entity *e)
{
	struct buf q;

	buf_init(&q, 1 << 16);
	if (!buf_printf(&q, "INSERT INTO %s", e->table) || !put_values(&q, e) || !put_update(&q, e)) {
		buf_free(&q);
		return NULL;
	}
	return buf_steal(&q);
}

/* The path a column reads: alt when path is absent from the item. */
static const char *col_path(const struct sync_column *c, const struct json_item *it)
{
	return c->alt && !json_get(it, c->path) ? c->alt : c->path;
}

static void bind_column(struct sync_run *run, sqlite3_stmt *st, int i, const struct sync_column *c,
			const int64_t *keys, const int64_t *args, const struct json_item *it)
{
	const struct json_field *v;

	switch (c->kind) {
	case COL_KEY: sqlite3_bind_int64(st, i, keys[c->key]); break;
	case COL_INT: sync_bind_int(st, i, it, col_path(c, it)); break;
	case COL_REAL: sync_bind_real(st, i, it, col_path(c, it)); break;
	case COL_TEXT: sync_bind_text(st, i, it, col_path(c, it)); break;
	case COL_BOOL: sync_bind_bool(st, i, it, col_path(c, it)); break;
	case COL_ENUM: sync_bind_enum(st, i, it, col_path(c, it), c->values); break;
	case COL_NUMTEXT:
		if ((v = json_get(it, c->path)) && v->type == JSON_NUMBER)
			sqlite3_bind_text(st, i, v->text, -1, SQLITE_TRANSIENT);
		else
			sync_bind_text(st, i, it, c->path);
		break;
	case COL_RAW: sync_bind_raw(st, i, it); break;
	case COL_NOW: sqlite3_bind_int64(st, i, run->server_now); break;
	case COL_ARG: sqlite3_bind_int64(st, i, args[c->key]); break;
	case COL_FIXED: break;
	}
}

/* Stub rows for what the columns name, in their order. */
static int entity_refs(struct sync_run *run, const struct sync_entity *e, const int64_t *keys,
		       const struct json_item *it)
{
	int rc = FL_OK;

	for (const struct sync_column *c = e->cols; !rc && c->name; c++) {
		int64_t v;

		if (c->ref == REF_NONE)
			continue;
		if (c->kind == COL_KEY)
			rc = sync_ref(run, c->ref, keys[c->key]);
		else if (json_int(it, c->path, &v))
			rc = sync_ref(run, c->ref, v);
	}
	return rc;
}

int sync_entity_store(struct sync_run *run, const struct sync_entity *e, const int64_t *keys,
		      const int64_t *args, const struct json_item *it)
{
	sqlite3_stmt *st = run->sh->stmts[e->slot];
	int rc = entity_refs(run, e, keys, it), i = 0;

	if (rc)
		return rc;
	if (e->look && sync_same_raw(run, e->slot, e->table, keys[0], it))
		return FL_OK;
	if (!st) {
		char *sql = sync_entity_sql(e);

		if (!sql)
			return error_set(&run->err, FL_ERR_NOMEM, "%s: out of memory", e->what);
		rc = sync_stmt(run, e->slot, sql, &st);
		free(sql);
		if (rc)
			return rc;
	}
	for (const struct sync_column *c = e->cols; c->name; c++)
		if (c->kind != COL_FIXED)
			bind_column(run, st, ++i, c, keys, args, it);
	return e->look ? sync_upsert(run, e->slot, st, e->what, keys[0]) : sync_step(run, st, e->what, keys[0]);
}
