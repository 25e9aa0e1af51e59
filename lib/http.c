/*
 * http.c — the libcurl transport behind every API call: one easy handle per
 * client for blocking requests, reused so its connection stays alive, and
 * transfers (struct http_xfer) that a multi handle runs side by side; response headers parsed for
 * the server's clock (Date) and rate-limit state; the body streamed to a
 * sink under a size cap.  The token lives only in the header list and is
 * wiped when the client is freed or the token changes; nothing here ever
 * prints it.  A client with a token source asks it for the token before
 * every request, so a refreshed token is sent from the next request on.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config.h"
#include "http.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define MAX_URL 8192

struct http_client {
	CURL *curl;                 /* reused by blocking requests: keeps the connection alive */
	char *token;                /* a fixed token (NULL with a source), wiped on free */
	char *base_url;             /* origin without trailing '/' */
	enum http_auth auth;        /* which header carries the token */
	struct token_source *tokens; /* borrowed; NULL with a fixed token */
	long connect_timeout_ms, timeout_ms;
	size_t max_body;
	uint64_t requests;          /* atomic: transfers may start on another thread */
	struct fl_error err;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void free_headers(struct curl_slist *h)
{
	/* curl_slist_append copied the auth line: wipe that copy too. */
	for (struct curl_slist *i = h; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

/* Append "name: value" to *h, wiping the line it built. */
static bool header_add(struct curl_slist **h, const char *name, const char *value)
{
	size_t n = strlen(name) + 2 + strlen(value) + 1;
	char *line = malloc(n);
	struct curl_slist *more;

	if (!line)
		return false;
	snprintf(line, n, "%s: %s", name, value);
	more = curl_slist_append(*h, line);
	explicit_bzero(line, n);
	free(line);
	if (!more)
		return false;
	*h = more;
	return true;
}

/*
 * A request's own header list: the auth line with the token of now (none
 * when there is none), Accept, and the body's Content-Type.  Each request
 * has its own, so that requests side by side never share one that a
 * refreshed token replaces.
 */
static int build_headers(struct http_client *c, const char *content_type, struct curl_slist **out,
			 uint64_t *out_gen, struct fl_error *err)
{
	struct curl_slist *h = NULL;
	const char *hname = c->auth == HTTP_AUTH_DEVELOPER ? "Freelancer-Developer-Auth-V1" : "Freelancer-OAuth-V1";
	const char *token;
	uint64_t gen;
	bool ok = true;

	*out = NULL;
	if (c->tokens)
		token_source_lock(c->tokens);
	gen = 0;
	token = c->tokens ? token_source_current(c->tokens, &gen) : c->token;
	*out_gen = gen;
	if (token && *token) {
		if (strpbrk(token, "\r\n"))
			ok = false;
		else if (!header_add(&h, hname, token))
			goto nomem;
	}
	if (c->tokens)
		token_source_unlock(c->tokens);
	if (!ok)
		return error_set(err, FL_ERR_MISUSE, "http: the API token contains a line break");
	if (!header_add(&h, "Accept", "application/json") ||
	    (content_type && !header_add(&h, "Content-Type", content_type))) {
		free_headers(h);
		return error_set(err, FL_ERR_NOMEM, "http: out of memory");
	}
	*out = h;
	return FL_OK;
nomem:
	if (c->tokens)
		token_source_unlock(c->tokens);
	free_headers(h);
	return error_set(err, FL_ERR_NOMEM, "http: out of memory");
}

/* The options every handle of the client has. */
static void easy_setup(struct http_client *c, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_USERAGENT, "flsync/" FL_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
	/*
	 * HTTP/2 where the server offers it (over TLS), and then one connection
	 * multiplexed: a request waits for a connection being set up to say (its
	 * TLS handshake does) rather than opening another.  Over plain HTTP only
	 * the first answer would say, so requests do not wait for it there.
	 */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncmp(c->base_url, "https://", 8) == 0 ? 1L : 0L);
}

void *http_easy_new(struct http_client *c)
{
	CURL *e = curl_easy_init();

	if (e)
		easy_setup(c, e);
	return e;
}

void http_easy_free(void *easy)
{
	if (easy)
		curl_easy_cleanup(easy);
}

int http_client_new(const struct http_config *cfg, struct http_client **out,
		    struct fl_error *err)
{
	struct http_client *c;
	size_t n;

	*out = NULL;
	if (!cfg || !cfg->base_url || !*cfg->base_url)
		return error_set(err, FL_ERR_MISUSE, "http: no API base URL given");
	if (strncmp(cfg->base_url, "http://", 7) != 0 &&
	    strncmp(cfg->base_url, "https://", 8) != 0)
		return error_set(err, FL_ERR_MISUSE,
				 "http: API base URL %s must start with http:// or https://",
				 cfg->base_url);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return error_set(err, FL_ERR_NETWORK, "http: libcurl initialisation failed: %s",
				 curl_easy_strerror(global_rc));

	c = calloc(1, sizeof *c);
	if (!c)
		return error_set(err, FL_ERR_NOMEM, "http: out of memory");
	c->base_url = strdup(cfg->base_url);
	if (!c->base_url)
		goto nomem;
	n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	c->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;

	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->auth = cfg->auth;
	c->tokens = cfg->tokens;
	if (!c->tokens && cfg->token) {
		if (strpbrk(cfg->token, "\r\n")) {
			http_client_free(c);
			return error_set(err, FL_ERR_MISUSE, "http: the API token contains a line break");
		}
		if (!(c->token = strdup(cfg->token)))
			goto nomem;
	}
	c->curl = http_easy_new(c);
	if (!c->curl)
		goto nomem;
	*out = c;
	return FL_OK;
nomem:
	http_client_free(c);
	return error_set(err, FL_ERR_NOMEM, "http: out of memory");
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	wipe_free(c->token);
	free(c->base_url);
	free(c);
}

const char *http_errmsg(const struct http_client *c)
{
	return c->err.msg;
}

bool http_token_renewed(struct http_client *c, uint64_t gen)
{
	return c->tokens && token_source_gen(c->tokens) != gen;
}

bool http_can_reauth(const struct http_client *c)
{
	return token_source_refreshable(c->tokens);
}

int http_reauth(struct http_client *c, struct fl_error *err)
{
	if (!c->tokens)
		return error_set(err, FL_ERR_STATE, "the API token is fixed: nothing to refresh");
	return token_source_refresh(c->tokens, true, err);
}

struct token_source *http_tokens(const struct http_client *c)
{
	return c->tokens;
}

uint64_t http_request_count(const struct http_client *c)
{
	return __atomic_load_n(&c->requests, __ATOMIC_RELAXED);
}

/* A header's value without leading blanks and trailing CR/LF, into out. */
static void header_value(const char *v, size_t n, char *out, size_t outsz)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
	struct http_xfer *x = ud;
	struct http_response *r = x->resp;
	size_t n = size * nitems;
	const char *colon = memchr(data, ':', n);
	char value[256];
	size_t klen;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue): forget what came before. */
		r->date = 0;
		r->retry_after = -1;
		r->ratelimit_limit = r->ratelimit_remaining = -1;
		r->ratelimit_policy[0] = '\0';
		r->content_type[0] = '\0';
		return n;
	}
	if (!colon)
		return n;
	klen = (size_t)(colon - data);
	header_value(colon + 1, n - klen - 1, value, sizeof value);

	if (klen == 4 && strncasecmp(data, "Date", 4) == 0) {
		time_t t = curl_getdate(value, NULL);
		r->date = t > 0 ? (int64_t)t : 0;
	} else if (klen == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		char *end;
		long long s = strtoll(value, &end, 10);

		if (end != value && *end == '\0' && s >= 0) {
			r->retry_after = s;
		} else {
			/* An HTTP-date; the caller compares it with Date. */
			time_t t = curl_getdate(value, NULL);
			if (t > 0 && r->date > 0)
				r->retry_after = t > r->date ? (int64_t)t - r->date : 0;
		}
	} else if (klen == 15 && strncasecmp(data, "RateLimit-Limit", 15) == 0) {
		/* "50, 50;window=60, 1000;window=3600": the first figure is the tightest. */
		r->ratelimit_limit = strtol(value, NULL, 10);
		snprintf(r->ratelimit_policy, sizeof r->ratelimit_policy, "%.127s", value);
	} else if (klen == 19 && strncasecmp(data, "RateLimit-Remaining", 19) == 0) {
		r->ratelimit_remaining = strtol(value, NULL, 10);
	} else if (klen == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		header_value(colon + 1, n - klen - 1, r->content_type, sizeof r->content_type);
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_xfer *x = ud;
	size_t n = size * nmemb;

	if (x->resp->body_bytes == 0)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp->status);
	if (n > x->c->max_body - x->resp->body_bytes) {
		x->too_big = true;
		return 0;
	}
	x->resp->body_bytes += n;
	if (x->sink) {
		x->sink_rc = x->sink(x->sink_ctx, data, n);
		if (x->sink_rc != FL_OK)
			return 0;
	}
	return n;
}

static int classify(struct http_xfer *x, CURLcode cc)
{
	const char *detail = x->curl_err[0] ? x->curl_err : curl_easy_strerror(cc);
	const char *method = x->method, *path = x->path;

	switch (cc) {
	case CURLE_OK:
		return FL_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return error_set(&x->err, FL_ERR_TIMEOUT, "%s %s: timed out: %s", method, path, detail);
	case CURLE_OUT_OF_MEMORY:
		return error_set(&x->err, FL_ERR_NOMEM, "%s %s: out of memory", method, path);
	case CURLE_ABORTED_BY_CALLBACK:
		return error_set(&x->err, FL_ERR_ABORTED, "%s %s: stopped", method, path);
	case CURLE_FILESIZE_EXCEEDED:
		return error_set(&x->err, FL_ERR_TOO_BIG, "%s %s: response larger than %zu bytes",
				 method, path, x->c->max_body);
	case CURLE_WRITE_ERROR:
		if (x->too_big)
			return error_set(&x->err, FL_ERR_TOO_BIG,
					 "%s %s: response larger than %zu bytes", method, path,
					 x->c->max_body);
		if (x->sink_rc != FL_OK)
			return error_set(&x->err, x->sink_rc, "%s %s: response rejected while reading",
					 method, path);
		break;
	case CURLE_BAD_CONTENT_ENCODING:
		return error_set(&x->err, FL_ERR_PARSE, "%s %s: bad content encoding: %s", method,
				 path, detail);
	case CURLE_PARTIAL_FILE:
		return error_set(&x->err, FL_ERR_NETWORK,
				 "%s %s: connection closed before the whole body arrived (%zu bytes read): %s",
				 method, path, x->resp->body_bytes, detail);
	default:
		break;
	}
	return error_set(&x->err, FL_ERR_NETWORK, "%s %s: %s", method, path, detail);
}

int http_xfer_begin(struct http_client *c, struct http_xfer *x, void *easy, const char *method,
		    const char *path_query, const char *content_type, const char *body, size_t body_len,
		    http_sink sink, void *ctx, struct http_response *resp)
{
	char url[MAX_URL];
	CURL *e = easy;
	int rc;

	memset(x, 0, sizeof *x);
	x->c = c;
	x->easy = easy;
	x->method = method;
	x->path = path_query;
	x->sink = sink;
	x->sink_ctx = ctx;
	x->resp = resp;
	memset(resp, 0, sizeof *resp);
	resp->retry_after = -1;
	resp->ratelimit_limit = resp->ratelimit_remaining = -1;
	if (!path_query || path_query[0] != '/')
		return error_set(&x->err, FL_ERR_MISUSE, "http: path must start with '/'");
	if ((size_t)snprintf(url, sizeof url, "%s%s", c->base_url, path_query) >= sizeof url)
		return error_set(&x->err, FL_ERR_MISUSE, "http: URL longer than %d bytes", MAX_URL);
	rc = build_headers(c, body ? (content_type ? content_type : "application/json") : NULL, &x->hdrs,
			   &x->token_gen, &x->err);
	if (rc)
		return rc;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		/* A bodiless PUT/DELETE/POST: parameters travel in the query. */
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	/*
	 * libcurl silently re-sends a request whose reused connection turns out
	 * dead before any answer: for a write whose reply was lost after the
	 * server applied it, that is a second write.  Writes get a connection of
	 * their own, so a lost reply surfaces as an error the replayer
	 * reconciles instead.
	 */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, strcmp(method, "GET") != 0 ? 1L : 0L);
	__atomic_add_fetch(&c->requests, 1, __ATOMIC_RELAXED);
	return FL_OK;
}

int http_xfer_end(struct http_xfer *x, int curl_code)
{
	int rc;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp->status);
	rc = classify(x, (CURLcode)curl_code);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, NULL);
	free_headers(x->hdrs);
	x->hdrs = NULL;
	return rc;
}

void http_xfer_drop(struct http_xfer *x)
{
	if (x->easy) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, NULL);
	}
	free_headers(x->hdrs);
	x->hdrs = NULL;
}

void *http_easy(struct http_client *c)
{
	return c->curl;
}

int http_easy_perform(struct http_client *c)
{
	return (int)curl_easy_perform(c->curl);
}

int http_request(struct http_client *c, const char *method,
		 const char *path_query, const char *content_type,
		 const char *body, size_t body_len, http_sink sink, void *ctx,
		 struct http_response *resp)
{
	struct http_xfer x;
	int rc;

	error_clear(&c->err);
	rc = http_xfer_begin(c, &x, c->curl, method, path_query, content_type, body, body_len, sink, ctx,
			     resp);
	if (rc == FL_OK)
		rc = http_xfer_end(&x, (int)curl_easy_perform(c->curl));
	else
		http_xfer_drop(&x);
	if (rc)
		error_copy(&c->err, &x.err);
	return rc;
}

int http_query_add(struct buf *q, const char *key, const char *value)
{
	char *ev = curl_easy_escape(NULL, value, 0);
	bool ok;

	if (!ev)
		return FL_ERR_NOMEM;
	ok = buf_printf(q, "%c%s=%s", q->len && strchr(q->data, '?') ? '&' : '?', key, ev);
	curl_free(ev);
	return ok ? FL_OK : FL_ERR_NOMEM;
}

int http_query_add_int(struct buf *q, const char *key, long long value)
{
	return buf_printf(q, "%c%s=%lld", q->len && strchr(q->data, '?') ? '&' : '?', key,
			  value) ? FL_OK : FL_ERR_NOMEM;
}
