/*
 * xalloc.h — allocation that gives up only when memory is gone, for the
 * programs and pgmirror (the flsync tool, and the mirror it and flsyncd
 * link): out of memory prints "<program>: out of memory" and aborts.
 *
 * Header-only (static inline) so that each program or library that includes
 * it has its own copy and nothing has to link anything: pgmirror is a static
 * library linked into both flsync and flsyncd, and the tool links pgmirror,
 * so one exported xmalloc in either would clash or make one depend on the
 * other.  libflsync never includes it: the library never aborts, it returns
 * FL_ERR_NOMEM (docs/internals/conventions.md).
 */
#ifndef FLSYNC_XALLOC_H
#define FLSYNC_XALLOC_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noreturn)) static inline void xalloc_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
	abort();
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		xalloc_oom();
	return p;
}

static inline void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		xalloc_oom();
	return p;
}

/* A copy of s; NULL is copied as "". */
static inline char *xstrdup(const char *s)
{
	char *c = strdup(s ? s : "");

	if (!c)
		xalloc_oom();
	return c;
}

static inline char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		xalloc_oom();
	return s;
}

#endif
