/*
 * mockutil.h — shared by the flmock suites, tests/webhook, bench_flmock and
 * bench_webhook (the static library mockutil): start flmock on port 0 and
 * read its URL from the first line of its stdout, stop it with SIGTERM, and
 * call it over one keep-alive libcurl handle.
 */
#ifndef FLMOCK_MOCKUTIL_H
#define FLMOCK_MOCKUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

struct mock {
	pid_t pid;
	char url[64];              /* http://127.0.0.1:PORT */
	CURL *curl;
	int exit_status;           /* after mock_stop: the exit status, or -1 */
};

struct resp {
	CURLcode rc;
	long status;
	char *body;                /* NUL-terminated, malloc'd */
	size_t len;
	char date[64];             /* Date header */
	char ctype[96];            /* Content-Type */
	char rl_limit[96];         /* RateLimit-Limit */
	long rl_remaining;         /* RateLimit-Remaining, -1 if absent */
	char location[512];        /* Location (a redirect), "" if absent */
};

/* The flmock binary: $FLMOCK, else the default build path. */
const char *mock_binary(void);

/* Start flmock with "--port 0" and these extra arguments (NULL-terminated). */
bool mock_start(struct mock *m, const char *const *args);
void mock_stop(struct mock *m);

/*
 * One request.  `auth` is a full header line or NULL for the default
 * "Freelancer-OAuth-V1: demo"; "" sends none.  `ctype` defaults to JSON
 * when a body is given.
 */
void mock_call(struct mock *m, const char *method, const char *path, const char *body,
	       const char *ctype, const char *auth, struct resp *out);
void mock_get(struct mock *m, const char *path, struct resp *out);
void resp_free(struct resp *r);

/* The parsed body, or NULL if it is not JSON.  Free with yajl_tree_free. */
yajl_val resp_json(const struct resp *r);

/* The body's error_code into buf, or "(none)"; returns buf. */
const char *resp_error_code(const struct resp *r, char *buf, size_t n);

/* Lookup helpers: a path of keys through nested objects. */
yajl_val jget(yajl_val v, const char *k1, const char *k2);
long long jint(yajl_val v, const char *k);     /* 0 if absent */
const char *jstr(yajl_val v, const char *k);   /* NULL if absent or not a string */

/*
 * Every id a list endpoint returns for `path` (which carries its own query;
 * "&limit=100&offset=N" is appended), paging until a short page.  The list
 * is result[list_key]; each element's "id" is taken.  Returns the count, or
 * -1 on an HTTP or JSON failure.
 */
long mock_collect_ids(struct mock *m, const char *path, const char *list_key, long long *out, long max);
/* The same with `auth` as mock_call takes it: another account's token. */
long mock_collect_ids_auth(struct mock *m, const char *auth, const char *path, const char *list_key,
			   long long *out, long max);

/* POST /_mock/advance?seconds=N; returns the new clock or -1. */
long long mock_advance(struct mock *m, long long seconds);

/* GET /_mock/self: the self user's id. */
long long mock_self(struct mock *m);

/* ---- mockcheck.c: for the Check suites ---- */

/* Run a Check suite (curl initialised around it); the exit status. */
struct Suite;
int mock_run_suite(struct Suite *s);

/* mock_start, the test failing (naming the binary) if flmock does not start. */
void mock_must_start(struct mock *m, const char *const *args);

/* The lines of a /_mock/dump stream, each parsed. */
struct dump {
	yajl_val *rows;
	size_t n;
};
bool mock_dump(struct mock *m, const char *entity, struct dump *out);
void dump_free(struct dump *d);

#endif
