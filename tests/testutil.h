/*
 * testutil.h — helpers shared by the Check suites: temporary directories,
 * reading files, a scripted HTTP server on an ephemeral loopback port, and
 * the runner's tail.
 */
#ifndef FL_TESTUTIL_H
#define FL_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* A fresh directory under $TMPDIR, removed with everything in it by tu_rmtree(). */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name); /* malloc'd dir/name */

/* Whole file into memory (NUL-terminated); NULL on failure. */
char *tu_read_file(const char *path, size_t *out_len);

/* What the scripted server answers to the next requests. */
struct tu_reply {
	int status;                 /* HTTP status */
	const char *body;           /* body bytes (may contain NULs when body_len is set) */
	size_t body_len;            /* 0: strlen(body) */
	const char *content_type;   /* default application/json */
	const char *headers;        /* extra "Name: value\n" lines */
	size_t truncate_at;         /* >0: announce body_len, send only this many bytes, close */
	int delay_ms;               /* wait before answering */
	const char *content_encoding; /* e.g. "gzip" */
};

struct tu_request {
	char method[16];
	char url[1024];             /* path and query as sent */
	char auth[256];             /* Freelancer-OAuth-V1 header */
	char user_agent[128];
	char accept_encoding[128];
	char content_type[128];
	char body[4096];
	size_t body_len;
};

struct tu_server;

/* Start on 127.0.0.1, port 0.  Every request gets `reply` until changed. */
struct tu_server *tu_server_start(void);
void tu_server_stop(struct tu_server *s);
const char *tu_server_url(const struct tu_server *s); /* http://127.0.0.1:PORT */
void tu_server_reply(struct tu_server *s, const struct tu_reply *r);
/* The last request seen, and counts of requests and TCP connections. */
struct tu_request tu_server_last(struct tu_server *s);
unsigned tu_server_requests(struct tu_server *s);
unsigned tu_server_connections(struct tu_server *s);

/*
 * Run a Check suite (the runner's tail every suite repeats): every test,
 * then EXIT_SUCCESS when none failed, else EXIT_FAILURE.  Frees s.
 */
struct Suite;
int tu_run_suite(struct Suite *s);

#endif
