/*
 * out.h — growable byte buffers and a small streaming JSON writer (out.c),
 * and the serialisers that turn world records into the API's object shapes
 * (json_out.c).  Writing JSON directly into one buffer is what lets flmock
 * serve thousands of 100-object pages per second.
 */
#ifndef FLMOCK_OUT_H
#define FLMOCK_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "world.h"

struct fm_buf {
	char *data;
	size_t len, cap;
};

void buf_grow(struct fm_buf *b, size_t extra);    /* aborts on OOM */

/* A growable array `v` of `*cap` elements, made to hold `need` (doubling); aborts on OOM. */
void *array_reserve(void *v, size_t need, size_t *cap, size_t size);

/* Room for `extra` more bytes and a NUL; inline because every write calls it. */
static inline void buf_reserve(struct fm_buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		buf_grow(b, extra);
}
static inline void buf_put(struct fm_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	__builtin_memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_puts(struct fm_buf *b, const char *s) { buf_put(b, s, __builtin_strlen(s)); }

static inline void buf_putc(struct fm_buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void buf_printf(struct fm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct fm_buf *b);
char *buf_steal(struct fm_buf *b, size_t *out_len); /* NUL-terminated, caller frees */

/*
 * JSON writer: tracks commas per nesting level.  With `compact` set, the
 * jw_knull() fields are left out, as the API does with ?compact.
 */
struct jw {
	struct fm_buf *b;
	uint64_t first;  /* bit d set: level d has no member yet */
	int depth;
	bool after_key;
	bool compact;
};

void jw_init(struct jw *w, struct fm_buf *b, bool compact);

/* Before any value or key: a comma unless first at this level or after a key. */
static inline void jw_sep(struct jw *w)
{
	uint64_t bit = 1ull << w->depth;

	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->first & bit)
		w->first &= ~bit;
	else
		buf_putc(w->b, ',');
}
void jw_obj(struct jw *w);
void jw_end_obj(struct jw *w);
void jw_arr(struct jw *w);
void jw_end_arr(struct jw *w);
/* Inline, so that a literal key's length is a constant and its copy a few moves. */
static inline void jw_keyn(struct jw *w, const char *k, size_t n)
{
	char *p;

	jw_sep(w);
	buf_reserve(w->b, n + 3);
	p = w->b->data + w->b->len;
	*p++ = '"';
	__builtin_memcpy(p, k, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	w->b->len += n + 3;
	w->b->data[w->b->len] = '\0';
	w->after_key = true;
}
static inline void jw_key(struct jw *w, const char *k) { jw_keyn(w, k, __builtin_strlen(k)); }
void jw_int(struct jw *w, int64_t v);
void jw_dbl(struct jw *w, double v);
void jw_cents(struct jw *w, int64_t cents); /* a money amount given in cents */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_raw(struct jw *w, const char *s, size_t n); /* a ready JSON value */
void jw_kstr(struct jw *w, const char *k, const char *s);
static inline void jw_kint(struct jw *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
static inline void jw_kdbl(struct jw *w, const char *k, double v) { jw_key(w, k); jw_dbl(w, v); }
static inline void jw_kbool(struct jw *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
static inline void jw_kobj(struct jw *w, const char *k) { jw_key(w, k); jw_obj(w); }
static inline void jw_karr(struct jw *w, const char *k) { jw_key(w, k); jw_arr(w); }
static inline void jw_knull(struct jw *w, const char *k)
{
	if (w->compact)
		return; /* ?compact leaves out fields that would be null */
	jw_key(w, k);
	jw_null(w);
}
void jw_escape(struct fm_buf *b, const char *s, size_t n); /* "..." with escapes */

/* json_out.c — record serialisers.  Projections follow the reference. */
struct proj_opts {
	bool full_description; /* description (else null) */
	bool job_details;      /* jobs (else null) */
	bool upgrade_details;  /* upgrades stay shown: the reference's examples carry them */
};

void out_currency(struct jw *w, int index);
void out_free_cache(void); /* at exit: the rendered reference fragments */
void out_job(struct jw *w, const struct job *j);
void out_project(struct jw *w, const struct world *wd, const struct project *p, const struct proj_opts *o);
void out_bid(struct jw *w, const struct world *wd, const struct bid *b);
void out_milestone(struct jw *w, const struct world *wd, const struct milestone *m);
void out_milestone_request(struct jw *w, const struct world *wd, const struct milestone_request *m);
void out_review(struct jw *w, const struct world *wd, const struct review *r);
void out_thread(struct jw *w, const struct world *wd, const struct thread *t);
void out_message(struct jw *w, const struct world *wd, const struct message *m);
void out_user(struct jw *w, const struct world *wd, const struct user *u);

const char *out_award_status(int s);      /* NULL for AW_NONE */
const char *out_milestone_status(int s);
const char *out_milestone_request_status(int s);
const char *out_folder(int f);

#endif
