/*
 * hookrecv.h — a webhook receiver for tests: libmicrohttpd on 127.0.0.1,
 * port 0, keeping every POSTed body in arrival order and answering the
 * status the test sets (200 unless told).  An optional callback sees each
 * body after it is answered, as flsyncd's listener will.
 */
#ifndef FLMOCK_HOOKRECV_H
#define FLMOCK_HOOKRECV_H

#include <stdbool.h>
#include <stddef.h>

struct hookrecv;

typedef void hookrecv_fn(void *ctx, const char *body, size_t len);

struct hookrecv *hookrecv_start(hookrecv_fn *fn, void *ctx);
void hookrecv_stop(struct hookrecv *h);
const char *hookrecv_url(const struct hookrecv *h);   /* http://127.0.0.1:PORT/hook */
void hookrecv_set_status(struct hookrecv *h, int status);
size_t hookrecv_count(struct hookrecv *h);
/* A copy of body i (malloc'd, NUL-terminated), NULL past the end. */
char *hookrecv_body(struct hookrecv *h, size_t i);
/* Wait until at least n bodies arrived, up to timeout_ms; true if they did. */
bool hookrecv_wait(struct hookrecv *h, size_t n, int timeout_ms);

#endif
