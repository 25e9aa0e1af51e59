/*
 * buf.h — a growable byte buffer with a hard cap, for everything fed by the
 * network (a response's bytes, a captured JSON object, a built URL).  It
 * never grows past its cap: buf_append() fails instead.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data;     /* NUL-terminated while len < alloc */
	size_t len;     /* bytes in use, excluding the NUL */
	size_t alloc;   /* bytes allocated */
	size_t cap;     /* most bytes it may ever hold (0: SIZE_MAX / 2) */
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
static inline void buf_reset(struct buf *b) { b->len = 0; if (b->data) b->data[0] = '\0'; }

/* Append len bytes; false when out of memory or past the cap (b unchanged). */
bool buf_append_grow(struct buf *b, const void *p, size_t len);
static inline bool buf_append(struct buf *b, const void *p, size_t len)
{
	/* The parser appends every key and value: the common case, room to spare, stays here. */
	if (len < b->alloc - b->len && len <= b->cap - b->len) {
		if (len)
			memcpy(b->data + b->len, p, len);
		b->len += len;
		b->data[b->len] = '\0';
		return true;
	}
	return buf_append_grow(b, p, len);
}
bool buf_puts(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Hand the bytes to the caller (NUL-terminated, free()) and leave b empty. */
char *buf_steal(struct buf *b);

/* A secret's string (a token, a code, a client secret): its bytes wiped, then freed.  NULL is fine. */
void wipe_free(char *s);

#endif
