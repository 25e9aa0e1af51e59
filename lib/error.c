/*
 * error.c — result codes, their descriptions, and per-handle error messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

FL_API const char *fl_strerror(int rc)
{
	switch (rc) {
	case FL_OK: return "success";
	case FL_ERR_NOMEM: return "out of memory";
	case FL_ERR_MISUSE: return "library misuse";
	case FL_ERR_DB: return "database error";
	case FL_ERR_SCHEMA: return "database schema is newer or damaged";
	case FL_ERR_BUSY: return "database is locked";
	case FL_ERR_READONLY: return "database is read-only";
	case FL_ERR_IO: return "input/output error";
	case FL_ERR_NETWORK: return "network error";
	case FL_ERR_TIMEOUT: return "timed out";
	case FL_ERR_HTTP: return "HTTP error";
	case FL_ERR_API: return "API error";
	case FL_ERR_PARSE: return "malformed response";
	case FL_ERR_TOO_BIG: return "response too large";
	case FL_ERR_RATE_LIMITED: return "rate limited";
	case FL_ERR_NOT_FOUND: return "not found";
	case FL_ERR_ABORTED: return "aborted";
	case FL_ERR_LOCKED: return "database is being synced by another flsyncd";
	case FL_ERR_INVALID: return "invalid input";
	case FL_ERR_STATE: return "not possible in the current state";
	case FL_ERR_AUTH: return "the API refused the token, or the sign-in has ended";
	case FL_ERR_PRUNED: return "the change feed was pruned past that position: re-read everything";
	}
	return "unknown error";
}

FL_API const char *fl_libversion(void)
{
	return FL_VERSION;
}

FL_API void fl_free(void *p)
{
	free(p);
}

int error_set(struct fl_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	err->rc = rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return rc;
}

int error_prefix(struct fl_error *err, const char *fmt, ...)
{
	char old[FL_ERRMSG_MAX];
	size_t n;
	va_list ap;

	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (n + 2 < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - n, ": %.*s", (int)(sizeof err->msg - n - 3), old);
	return err->rc;
}

void error_clear(struct fl_error *err)
{
	err->rc = FL_OK;
	err->msg[0] = '\0';
}

int error_copy(struct fl_error *dst, const struct fl_error *src)
{
	if (dst != src)
		memcpy(dst, src, sizeof *dst);
	return dst->rc;
}
