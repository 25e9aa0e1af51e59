/*
 * out.c — byte buffers and the streaming JSON writer.  Numbers are formatted
 * by hand on the hot path (ids, times, integral amounts); strings are copied
 * in runs between the characters that need escaping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

void buf_grow(struct fm_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		abort(); /* flmock is a tool: out of memory ends it */
	b->data = p;
	b->cap = cap;
}

void *array_reserve(void *v, size_t need, size_t *cap, size_t size)
{
	size_t nc = *cap ? *cap : 16;

	if (need <= *cap && v)
		return v;
	while (nc < need)
		nc *= 2;
	v = realloc(v, nc * size);
	if (!v)
		abort();
	*cap = nc;
	return v;
}

void buf_printf(struct fm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_free(struct fm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_steal(struct fm_buf *b, size_t *out_len)
{
	char *p;

	buf_reserve(b, 0);
	p = b->data;
	if (out_len)
		*out_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

/* ---- JSON writer ---------------------------------------------------------- */

void jw_init(struct jw *w, struct fm_buf *b, bool compact)
{
	w->b = b;
	w->first = 1;
	w->depth = 0;
	w->after_key = false;
	w->compact = compact;
}

#define sep jw_sep

static void level_open(struct jw *w, char c)
{
	sep(w);
	buf_putc(w->b, c);
	w->depth++;
	w->first |= 1ull << w->depth;
}

static void level_close(struct jw *w, char c)
{
	w->first &= ~(1ull << w->depth);
	w->depth--;
	buf_putc(w->b, c);
}

void jw_obj(struct jw *w) { level_open(w, '{'); }
void jw_end_obj(struct jw *w) { level_close(w, '}'); }
void jw_arr(struct jw *w) { level_open(w, '['); }
void jw_end_arr(struct jw *w) { level_close(w, ']'); }

/* Decimal digits of v into out, two at a time; returns how many. */
static size_t fmt_u64(char *out, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[24], *p = tmp + sizeof tmp;
	size_t n;

	while (v >= 100) {
		p -= 2;
		__builtin_memcpy(p, pairs + v % 100 * 2, 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		__builtin_memcpy(p, pairs + v * 2, 2);
	} else {
		*--p = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof tmp - p);
	__builtin_memcpy(out, p, n);
	return n;
}

void jw_int(struct jw *w, int64_t v)
{
	char *p;
	size_t n = 0;

	sep(w);
	buf_reserve(w->b, 24);
	p = w->b->data + w->b->len;
	if (v < 0) {
		p[n++] = '-';
		n += fmt_u64(p + n, (uint64_t)0 - (uint64_t)v);
	} else {
		n += fmt_u64(p, (uint64_t)v);
	}
	w->b->len += n;
	w->b->data[w->b->len] = '\0';
}

void jw_dbl(struct jw *w, double v)
{
	double cents = v * 100;

	if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
		jw_int(w, (int64_t)v);
		return;
	}
	/* Money has cents: write those by hand, printf is the slow path. */
	if (v > 0 && v < 1e13 && cents == (double)(int64_t)cents) {
		int64_t c = (int64_t)cents;
		char frac[4] = { '.', (char)('0' + c / 10 % 10), (char)('0' + c % 10), 0 };

		jw_int(w, c / 100);
		if (frac[2] == '0')
			frac[2] = 0;
		buf_puts(w->b, frac);
		return;
	}
	sep(w);
	buf_printf(w->b, "%.10g", v);
}

void jw_cents(struct jw *w, int64_t cents)
{
	char frac[4] = { '.', 0, 0, 0 };
	int64_t c = cents < 0 ? -cents : cents;

	if (cents < 0) {
		sep(w);
		buf_putc(w->b, '-');
		w->after_key = true;
	}
	jw_int(w, c / 100);
	if (c % 100 == 0)
		return;
	frac[1] = (char)('0' + c / 10 % 10);
	frac[2] = c % 10 ? (char)('0' + c % 10) : 0;
	buf_puts(w->b, frac);
}

void jw_escape(struct fm_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	buf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_put(b, s + run, i - run);
		run = i + 1;
		if (c == '"')
			buf_put(b, "\\\"", 2);
		else if (c == '\\')
			buf_put(b, "\\\\", 2);
		else if (c == '\n')
			buf_put(b, "\\n", 2);
		else if (c == '\t')
			buf_put(b, "\\t", 2);
		else
			buf_printf(b, "\\u%04x", c);
	}
	buf_put(b, s + run, n - run);
	buf_putc(b, '"');
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	jw_escape(w->b, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	if (v)
		buf_put(w->b, "true", 4);
	else
		buf_put(w->b, "false", 5);
}

void jw_null(struct jw *w)
{
	sep(w);
	buf_put(w->b, "null", 4);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	sep(w);
	buf_put(w->b, s, n);
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
	if (!s) {
		jw_knull(w, k);
		return;
	}
	jw_key(w, k);
	jw_str(w, s);
}
