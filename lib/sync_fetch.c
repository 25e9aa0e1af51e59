/*
 * sync_fetch.c — the request loop of the sync engine: one GET with rate
 * limits, retries and jittered back-off, read whole into a page (its items
 * parsed and copied), then each item handed to a stream's store function;
 * and the clock, naps, -v log and progress reports the streams share.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_internal.h"

/* ---- time --------------------------------------------------------------- */

int64_t sync_now_ms(void)
{
	return ratelimit_now_ms();
}

bool sync_stopping(const struct sync_run *run)
{
	/* Set from a signal handler or another thread; read on every thread of the pass. */
	return run->opt->stop && __atomic_load_n(run->opt->stop, __ATOMIC_RELAXED);
}

/* ---- logging and progress ----------------------------------------------- */

void sync_log(struct sync_run *run, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!run->opt->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	run->opt->log(run->opt->ctx, line);
}

void sync_progress(struct sync_run *run, bool done, const char *error)
{
	struct fl_sync_progress p;

	if (!run->opt->progress || !run->cur)
		return;
	p.stream = run->cur->name;
	p.rows = run->cur->rows;
	p.total = run->cur->total;
	p.requests = run->cur->requests;
	p.done = done;
	p.error = error;
	run->opt->progress(run->opt->ctx, &p);
}

/* ---- pages -------------------------------------------------------------- */

/*
 * A page's items are copied as the parser hands them over: each item's raw
 * text, key, and the block of its fields' paths and texts go into one text
 * buffer, by offset while it grows; sync_page_read() points the items at it
 * once the page is whole.
 */
struct page_item {
	size_t raw, raw_len, key;     /* offsets into text; key SIZE_MAX when none */
	size_t strings, strings_len;  /* the block of its fields' strings, in text */
	size_t index, field0, nfields;
};

struct page_field {
	size_t path, text, len;
	enum json_type type;
};

struct sync_page_store {
	struct buf text;
	struct page_item *items;
	size_t nitems, items_cap;
	struct page_field *fields;
	size_t nfields, fields_cap;
	struct json_field *out_fields;  /* what the items' fields point at */
	size_t out_fields_cap, out_items_cap;
	uint16_t *lookup;               /* every item's json_item.lookup, one after another */
	size_t lookup_cap;
	struct fl_error err;          /* why copying an item failed */
};

/*
 * A page's copies: each item's raw text and its fields' decoded strings,
 * about twice the body, whose cap is the parser's 64 MiB (json.h).  While
 * a page this large waits, no other is read ahead (SYNC_PIPE_BYTES).
 */
#define PAGE_TEXT_MAX ((size_t)144 << 20)

struct sync_page *sync_page_new(void)
{
	struct sync_page *pg = calloc(1, sizeof *pg);

	if (!pg)
		return NULL;
	pg->store = calloc(1, sizeof *pg->store);
	if (!pg->store) {
		free(pg);
		return NULL;
	}
	buf_init(&pg->store->text, PAGE_TEXT_MAX);
	buf_init(&pg->notes, 1 << 20);
	return pg;
}

void sync_page_free(struct sync_page *pg)
{
	if (!pg)
		return;
	buf_free(&pg->store->text);
	free(pg->store->items);
	free(pg->store->fields);
	free(pg->store->out_fields);
	free(pg->store->lookup);
	free(pg->store);
	free(pg->items);
	buf_free(&pg->notes);
	free(pg->query);
	free(pg);
}

int sync_page_reset(struct sync_page *pg, const char *query)
{
	size_t n = strlen(query) + 1;
	char *q = realloc(pg->query, n);

	if (!q)
		return FL_ERR_NOMEM;
	pg->query = memcpy(q, query, n);
	pg->rc = FL_OK;
	error_clear(&pg->err);
	memset(&pg->res, 0, sizeof pg->res);
	pg->requests = 0;
	pg->attempt = 0;
	pg->last = false;
	pg->chain = NULL;
	buf_reset(&pg->notes);
	pg->nitems = 0;
	pg->bytes = 0;
	pg->next = NULL;
	return FL_OK;
}

/* Forget what a failed try copied. */
static void page_clear(struct sync_page *pg)
{
	buf_reset(&pg->store->text);
	pg->store->nitems = pg->store->nfields = 0;
	error_clear(&pg->store->err);
}

/* Room for more than n elements of size in *v. */
static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 128;
	while (ncap <= n)
		ncap *= 2;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* Append len bytes and a NUL; the offset they start at, or SIZE_MAX. */
static size_t text_add(struct buf *t, const char *s, size_t len)
{
	size_t at = t->len;

	if (!buf_append(t, s, len) || !buf_append(t, "", 1))
		return SIZE_MAX;
	return at;
}

static int page_copy_item(void *ctx, const struct json_item *it)
{
	struct sync_page *pg = ctx;
	struct sync_page_store *s = pg->store;
	struct page_item *pi;
	size_t strings;

	if (!grow((void **)&s->items, &s->items_cap, s->nitems, sizeof *s->items) ||
	    !grow((void **)&s->fields, &s->fields_cap, s->nfields + it->nfields, sizeof *s->fields))
		return error_set(&s->err, FL_ERR_NOMEM, "GET %s: out of memory", pg->query);
	pi = &s->items[s->nitems];
	pi->raw = text_add(&s->text, it->raw, it->raw_len);
	pi->raw_len = it->raw_len;
	pi->key = it->key ? text_add(&s->text, it->key, strlen(it->key)) : SIZE_MAX - 1;
	pi->index = it->index;
	pi->field0 = s->nfields;
	pi->nfields = it->nfields;
	/* The fields' strings come over in one block; the fields keep their places in it. */
	strings = it->nfields ? text_add(&s->text, it->strings, it->strings_len) : 0;
	pi->strings = strings;
	pi->strings_len = it->nfields ? it->strings_len : 0;
	if (pi->raw == SIZE_MAX || pi->key == SIZE_MAX || strings == SIZE_MAX)
		return error_set(&s->err, FL_ERR_TOO_BIG, "GET %s: page larger than %zu MiB in memory",
				 pg->query, PAGE_TEXT_MAX >> 20);
	for (size_t i = 0; i < it->nfields; i++) {
		const struct json_field *f = &it->fields[i];
		struct page_field *pf = &s->fields[s->nfields++];

		pf->path = strings + (size_t)(f->path - it->strings);
		pf->text = strings + (size_t)(f->text - it->strings);
		pf->len = f->len;
		pf->type = f->type;
	}
	s->nitems++;
	return FL_OK;
}

/* Slots of an item's lookup table: a power of two, at least twice its fields; 0 for none. */
static size_t lookup_slots(size_t nfields)
{
	size_t slots = 16;

	if (nfields >= UINT16_MAX / 2)
		return 0;
	while (slots < 2 * nfields)
		slots *= 2;
	return slots;
}

/* The page is whole: point its items at the text. */
static int page_finish(struct sync_page *pg)
{
	struct sync_page_store *s = pg->store;
	const char *base = s->text.data;
	size_t total = 0;

	pg->nitems = 0;
	if (!grow((void **)&pg->items, &s->out_items_cap, s->nitems, sizeof *pg->items) ||
	    !grow((void **)&s->out_fields, &s->out_fields_cap, s->nfields, sizeof *s->out_fields))
		return error_set(&pg->err, FL_ERR_NOMEM, "GET %s: out of memory", pg->query);
	for (size_t i = 0; i < s->nfields; i++) {
		s->out_fields[i].path = base + s->fields[i].path;
		s->out_fields[i].text = base + s->fields[i].text;
		s->out_fields[i].len = s->fields[i].len;
		s->out_fields[i].type = s->fields[i].type;
	}
	for (size_t i = 0; i < s->nitems; i++) {
		const struct page_item *pi = &s->items[i];
		struct json_item *it = &pg->items[i];

		it->key = pi->key == SIZE_MAX - 1 ? NULL : base + pi->key;
		it->raw = base + pi->raw;
		it->raw_len = pi->raw_len;
		it->index = pi->index;
		it->fields = s->out_fields + pi->field0;
		it->nfields = pi->nfields;
		it->strings = base + pi->strings;
		it->strings_len = pi->strings_len;
		it->lookup = NULL;
		it->lookup_mask = 0;
	}
	/* The store looks fields up by path, a dozen times an item: hash them here, off its thread. */
	for (size_t i = 0; i < s->nitems; i++)
		total += lookup_slots(pg->items[i].nfields);
	if (grow((void **)&s->lookup, &s->lookup_cap, total, sizeof *s->lookup))
		for (size_t i = 0, used = 0; i < s->nitems; i++) {
			struct json_item *it = &pg->items[i];
			size_t slots = lookup_slots(it->nfields);

			if (!slots)
				continue; /* looked up field by field */
			json_lookup_build(it, s->lookup + used, (uint32_t)(slots - 1));
			it->lookup = s->lookup + used;
			it->lookup_mask = (uint32_t)(slots - 1);
			used += slots;
		}
	pg->nitems = s->nitems;
	pg->bytes = s->text.alloc + s->items_cap * sizeof *s->items + s->fields_cap * sizeof *s->fields +
		    s->out_fields_cap * sizeof *s->out_fields + s->out_items_cap * sizeof *pg->items +
		    s->lookup_cap * sizeof *s->lookup;
	return FL_OK;
}

void sync_page_note(struct sync_page *pg, const struct sync_run *run, const char *fmt, ...)
{
	va_list ap;

	if (!run->opt->log)
		return;
	va_start(ap, fmt);
	if (buf_vprintf(&pg->notes, fmt, ap))
		buf_append(&pg->notes, "\n", 1);
	va_end(ap);
}

/* Back-off before try `attempt` (2, 3, ...): base * 2^(attempt-2), +-50% jitter. */
static int64_t backoff_ms(const struct sync_run *run, int attempt)
{
	int64_t ms = run->opt->retry_base_ms;

	for (int i = 2; i < attempt && ms < 60000; i++)
		ms *= 2;
	return ms / 2 + (int64_t)(rand() % (int)(ms + 1));
}

/* Sleep ms, waking early when the pass stops; other streams store meanwhile. */
void sync_nap(struct sync_run *run, int64_t ms)
{
	sync_yield(run);
	while (ms > 0 && !sync_stopping(run)) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
	sync_resume(run);
}

int sync_page_start(const struct sync_run *run, struct sync_page *pg, int64_t *wait_ms)
{
	int64_t wait;

	*wait_ms = 0;
	if (!api_limit_take(run->rl, "GET", pg->query, pg->endpoint, sizeof pg->endpoint, &wait)) {
		if (wait > 2000)
			return pg->rc = error_set(&pg->err, FL_ERR_RATE_LIMITED,
						  "GET %s: rate limit of %s: next request in %lld ms",
						  pg->query, pg->endpoint, (long long)wait);
		*wait_ms = wait;
		return FL_OK;
	}
	pg->attempt++;
	sync_page_note(pg, run, "GET %s", pg->query);
	page_clear(pg);
	error_clear(&pg->err);
	return FL_OK;
}

int sync_page_item(void *ctx, const struct json_item *it)
{
	return page_copy_item(ctx, it);
}

int sync_page_ended(const struct sync_run *run, struct sync_page *pg, int rc, int64_t *retry_ms)
{
	*retry_ms = -1;
	pg->requests++;
	if (pg->store->err.rc)
		rc = error_copy(&pg->err, &pg->store->err);
	ratelimit_observe(run->rl, pg->endpoint, &pg->res.http, sync_now_ms());
	if (rc == FL_OK)
		return pg->rc = page_finish(pg);
	if (rc == FL_ERR_RATE_LIMITED || pg->store->err.rc || !api_transient(rc, &pg->res) ||
	    pg->attempt >= run->opt->max_attempts || rc == FL_ERR_ABORTED)
		return pg->rc = rc;
	sync_page_note(pg, run, "retrying after: %s", pg->err.msg);
	*retry_ms = backoff_ms(run, pg->attempt + 1);
	return FL_OK;
}

int sync_page_take(struct sync_run *run, const struct sync_page *pg, sync_store_fn fn,
		   struct api_result *res)
{
	int rc;

	run->sh->requests_total += pg->requests;
	if (run->cur)
		run->cur->requests += pg->requests;
	run->last_status = pg->res.http.status;
	if (!run->server_now && pg->res.http.date > 0)
		run->server_now = run->pass_started = pg->res.http.date;
	for (const char *line = pg->notes.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		sync_log(run, "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
	if (res)
		*res = pg->res;
	error_copy(&run->err, &pg->err);
	if (pg->rc)
		return pg->rc;
	/*
	 * Items go into the open batch, which other streams' pages share.  An
	 * item that fails leaves the ones before it stored: real rows, which
	 * no cursor claims yet (a cursor moves past a page only once it is
	 * stored whole), so the next read of the page finds them there.  A
	 * savepoint a page would undo them, at 8% of a first sync's time.
	 */
	rc = sync_tx_begin(run);
	for (size_t i = 0; !rc && fn && i < pg->nitems; i++)
		rc = fn(run, &pg->items[i]);
	return rc;
}
