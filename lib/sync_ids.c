/*
 * sync_ids.c — the id-batch paging shape: ids a query selects, asked for 100
 * a request (users[], bids[], projects[] ...), and the vanish check that marks
 * ids the API no longer returns, behind the mass-delete guard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "sync_internal.h"

#define IDS_PER_REQUEST 100

/* ---- id batches ------------------------------------------------------------- */

struct ids_ctx {
	sync_store_fn store;
	const char *id_path;
	struct idset *returned;
};

static int ids_item(struct sync_run *run, const struct json_item *it)
{
	int64_t id;
	int rc = run->ids->store(run, it);

	if (!rc && run->ids->returned && run->ids->id_path && json_int(it, run->ids->id_path, &id))
		idset_add(run->ids->returned, id);
	return rc;
}

struct id_list {
	int64_t *v;
	size_t n, cap;
};

static bool id_list_add(struct id_list *l, int64_t id)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		int64_t *nv = realloc(l->v, ncap * sizeof *nv);

		if (!nv)
			return false;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = id;
	return true;
}

/* Every id the query selects, read first: the stores below change the tables. */
static int select_ids(struct sync_run *run, const char *sql, struct id_list *out)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "select ids");
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":self"), run->self_id);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":now"), run->server_now);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (!id_list_add(out, sqlite3_column_int64(st, 0))) {
			sqlite3_finalize(st);
			return error_set(&run->err, FL_ERR_NOMEM, "out of memory listing ids");
		}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		store_error(run->db, "select ids");
		return error_copy(&run->err, &run->db->err);
	}
	return FL_OK;
}

/* The requests of a list of ids: IDS_PER_REQUEST ids a batch, each batch paged when one_per_id is not set. */
struct ids_plan {
	const struct id_list *ids;
	const char *base_query, *param;
	bool one_per_id;
	size_t i, end;      /* the batch being read: ids[i, end) */
	size_t stop;        /* this chain's batches end here */
	int64_t offset;     /* its page */
	bool batch_done;    /* the page was its batch's last */
};

static bool ids_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	struct ids_plan *p = state;

	(void)err;
	p->batch_done = false;
	if (prev) {
		/* At most one result an id: a batch's page holds them all.  Else page on. */
		if (!p->one_per_id && prev->res.env.items >= IDS_PER_REQUEST) {
			p->offset += IDS_PER_REQUEST;
		} else {
			p->batch_done = true;
			p->i = p->end;
			p->offset = 0;
		}
	}
	if (p->offset == 0) {
		if (p->i >= p->stop)
			return false;
		p->end = p->i + IDS_PER_REQUEST < p->stop ? p->i + IDS_PER_REQUEST : p->stop;
	}
	return true;
}

static bool ids_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct ids_plan *p = state;

	buf_puts(q, p->base_query);
	for (size_t j = p->i; j < p->end; j++)
		if (!buf_printf(q, "%s%s=%lld", (j == p->i && !strchr(p->base_query, '?')) ? "?" : "&",
				p->param, (long long)p->ids->v[j]))
			goto too_long;
	if (!buf_printf(q, "&limit=%d&offset=%lld", IDS_PER_REQUEST, (long long)p->offset))
		goto too_long;
	return true;
too_long:
	error_set(err, FL_ERR_NOMEM, "id batch query too long");
	return false;
}

/* The last 1/parts of the batches not begun yet, to a chain of their own. */
static bool ids_split(void *state, void *right, int parts)
{
	struct ids_plan *p = state, *r = right;
	size_t begin = p->offset > 0 ? p->end : p->i;  /* a batch being paged stays */
	size_t left = (p->stop - begin + IDS_PER_REQUEST - 1) / IDS_PER_REQUEST;
	size_t give = left / (size_t)parts, cut;

	if (begin >= p->stop)
		return false;
	if (p->offset == 0 && give >= left)
		give = left - 1; /* a chain keeps a batch to read */
	if (give == 0 || p->i >= p->stop)
		return false;
	cut = begin + (left - give) * IDS_PER_REQUEST;
	*r = *p;
	r->i = cut;
	r->offset = 0;
	r->end = cut + IDS_PER_REQUEST < p->stop ? cut + IDS_PER_REQUEST : p->stop;
	p->stop = cut;
	if (p->offset == 0)
		p->end = p->i + IDS_PER_REQUEST < cut ? p->i + IDS_PER_REQUEST : cut;
	return true;
}

static int by_ids(struct sync_run *run, const struct id_list *ids, const char *base_query,
		  const char *param, const char *collection, bool one_per_id, int max_requests)
{
	struct ids_plan plan = { .ids = ids, .base_query = base_query, .param = param,
				 .one_per_id = one_per_id, .stop = ids->n };
	struct sync_plan sp = { ids_next, ids_query, ids_split, &plan, sizeof plan };
	struct ids_plan after;
	struct sync_pipe *pipe;
	bool more;
	int rc;

	/* At most max_requests batches (the ids are in batches from the first). */
	if (max_requests > 0 && plan.stop > (size_t)max_requests * IDS_PER_REQUEST)
		plan.stop = (size_t)max_requests * IDS_PER_REQUEST;
	rc = sync_pipe_start(run, collection, &sp, &pipe);
	while (!rc && !(rc = sync_pipe_take(pipe, ids_item, &after, NULL, &more)) && more) {
		if (!after.batch_done)
			continue;
		sync_progress(run, false, NULL);
		rc = sync_tx_maybe_commit(run, false);
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	sync_pipe_end(pipe);
	return rc;
}

int sync_by_ids(struct sync_run *run, const char *sql, const char *base_query,
		const char *param, const char *collection, sync_store_fn fn,
		bool one_per_id, int max_requests, int64_t *out_asked)
{
	struct id_list ids = { 0 };
	struct ids_ctx ctx = { .store = fn };
	int rc;

	*out_asked = 0;
	rc = select_ids(run, sql, &ids);
	if (!rc) {
		*out_asked = (int64_t)ids.n;
		run->ids = &ctx;
		rc = by_ids(run, &ids, base_query, param, collection, one_per_id, max_requests);
		run->ids = NULL;
	}
	free(ids.v);
	return rc;
}

static int64_t count_rows(struct sync_run *run, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;
	int64_t n = 0;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int sync_by_ids_vanish(struct sync_run *run, const char *sql, const char *base_query,
		       const char *param, const char *collection, sync_store_fn fn,
		       const char *id_path, const char *table, const char *mark_sql,
		       int max_requests)
{
	struct id_list ids = { 0 }, gone = { 0 };
	struct ids_ctx ctx = { .store = fn, .id_path = id_path };
	sqlite3_stmt *st = NULL;
	size_t asked;
	int rc;

	ctx.returned = idset_new();
	if (!ctx.returned)
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	rc = select_ids(run, sql, &ids);
	if (rc)
		goto out;
	asked = ids.n;
	if (max_requests > 0 && asked > (size_t)max_requests * IDS_PER_REQUEST)
		asked = (size_t)max_requests * IDS_PER_REQUEST;
	run->ids = &ctx;
	rc = by_ids(run, &ids, base_query, param, collection, true, max_requests);
	run->ids = NULL;
	if (rc)
		goto out;

	for (size_t i = 0; i < asked; i++)
		if (!idset_add(ctx.returned, ids.v[i]) && !id_list_add(&gone, ids.v[i])) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "out of memory");
			goto out;
		}
	if (gone.n == 0)
		goto out;
	if (gone.n > 10 && (double)gone.n > run->opt->mass_delete_ratio * (double)count_rows(run, table)) {
		rc = error_set(&run->err, FL_ERR_API,
			       "mass-delete guard: %zu of %lld %s vanished from the API in one pass; not marking them (check the account or the API)",
			       gone.n, (long long)count_rows(run, table), table);
		goto out;
	}
	sync_log(run, "%zu %s vanished from the API: marked deleted", gone.n, table);
	if (sqlite3_prepare_v2(run->db->sql, mark_sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "mark vanished %s", table);
		rc = error_copy(&run->err, &run->db->err);
		goto out;
	}
	rc = sync_tx_begin(run);
	for (size_t i = 0; !rc && i < gone.n; i++) {
		sqlite3_bind_int64(st, 1, gone.v[i]);
		rc = sync_step(run, st, "mark vanished", gone.v[i]);
	}
out:
	sqlite3_finalize(st);
	idset_free(ctx.returned);
	free(ids.v);
	free(gone.v);
	return rc;
}

