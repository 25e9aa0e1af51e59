/*
 * error.h — the one error convention inside libflsync.
 *
 * Every handle embeds a struct fl_error.  A failing function records its code
 * and a message naming what failed with error_set(), and returns the code, so
 * the usual shape is `return error_set(&h->err, FL_ERR_IO, "open %s: %s", ...)`.
 */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <stddef.h>

#include "flsync.h"

#define FL_ERRMSG_MAX 512

struct fl_error {
	int rc;                     /* last code, FL_OK after a success */
	char msg[FL_ERRMSG_MAX];    /* message of the last failure, "" after a success */
};

/* Record rc with a printf-style message; returns rc. */
int error_set(struct fl_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with more context ("store bid 12: <old>"); returns err->rc. */
int error_prefix(struct fl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget any recorded error. */
void error_clear(struct fl_error *err);

/* Copy src's code and message into dst; returns the code. */
int error_copy(struct fl_error *dst, const struct fl_error *src);

#endif
