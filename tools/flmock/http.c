/*
 * http.c — libmicrohttpd glue: accepts requests on 127.0.0.1, gathers
 * parameters and body, checks the token, counts rate limits, injects
 * faults, runs the endpoint under the world lock and wraps its result in the
 * API's envelope with the simulator clock in the Date header.  The token
 * says which account a request is for (--accounts N: account 1 has --token
 * T, account k has T-k); that account is "self" for the endpoint, has its
 * own rate budgets and is named in the log and the stats.  Every
 * connection has its own thread (a stall blocks only its own client); the
 * world lock serialises what they do to the world.  --latency MS holds
 * every API request MS ms on its own thread, half before the endpoint runs
 * and half after, never under the lock, as a link across the internet
 * would; the most API requests served at once is counted for /_mock/stats.
 * The /_mock/ endpoints are control.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server.h"

enum { BODY_CAP = 1 << 20 };

/* One request's upload, across MHD's calls. */
struct upload {
	struct fm_buf body;
	bool too_big;
};

static int64_t mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Rate-limit time: wall seconds since start plus the simulator's advances. */
int64_t server_ratelimit_now(const struct server *s)
{
	return mono_seconds() - s->mono_start + (s->w->now - s->cfg->world.now);
}

static void http_date(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void request_id(const struct server *s, uint64_t seq, char out[33])
{
	struct rng r;
	uint64_t a, b;

	rng_seed(&r, s->cfg->world.seed ^ 0x4e51ull, seq);
	a = rng_next(&r);
	b = rng_next(&r);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

/* ---- responses --------------------------------------------------------------- */

struct partial {
	char *data;
	size_t cut;                /* bytes sent before the connection breaks */
};

static ssize_t partial_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct partial *p = cls;
	size_t left;

	if (pos >= p->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	left = p->cut - (size_t)pos;
	if (left > max)
		left = max;
	memcpy(buf, p->data + pos, left);
	return (ssize_t)left;
}

static void partial_free(void *cls)
{
	struct partial *p = cls;

	free(p->data);
	free(p);
}

void server_add_headers(struct MHD_Response *resp, const struct server *s, const char *ctype)
{
	char date[64];

	http_date(s->w->now, date, sizeof date);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, date);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
}

enum MHD_Result server_send_buffer(struct MHD_Connection *c, struct server *s, int status, struct fm_buf *body,
				   const char *ctype, const char *rl_limit, long rl_remaining)
{
	size_t len;
	char *data = buf_steal(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	server_add_headers(resp, s, ctype);
	if (rl_limit) {
		char rem[32];

		snprintf(rem, sizeof rem, "%ld", rl_remaining);
		MHD_add_response_header(resp, "RateLimit-Limit", rl_limit);
		MHD_add_response_header(resp, "RateLimit-Remaining", rem);
	}
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A body that stops short of its Content-Length: the connection then closes. */
static enum MHD_Result send_truncated(struct MHD_Connection *c, struct server *s, int status, struct fm_buf *body)
{
	struct partial *p = malloc(sizeof *p);
	struct MHD_Response *resp;
	size_t len;
	enum MHD_Result ret;

	if (!p)
		abort();
	p->data = buf_steal(body, &len);
	p->cut = len / 2;
	resp = MHD_create_response_from_callback(len, 4096, partial_read, p, partial_free);
	server_add_headers(resp, s, "application/json");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Close with SO_LINGER 0: the client sees a TCP reset, not a clean close. */
static enum MHD_Result reset_connection(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct linger lg = { 1, 0 };

	if (ci)
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	return MHD_NO;
}

/* ---- request parameters --------------------------------------------------------- */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
				   const char *value, size_t vlen)
{
	(void)kind;
	req_add_param(cls, key, klen, value, value ? vlen : 0);
	return MHD_YES;
}

/* The account a configured token is for: T is account 1, T-k account k (2..N); 0 for neither. */
static int token_account(const char *got, const char *token, size_t naccounts)
{
	size_t n = strlen(token);
	char *end;
	long k;

	if (strcmp(got, token) == 0)
		return 1;
	if (naccounts < 2 || strncmp(got, token, n) != 0 || got[n] != '-' || got[n + 1] < '1' || got[n + 1] > '9')
		return 0;
	k = strtol(got + n + 1, &end, 10);
	return !*end && k >= 2 && (size_t)k <= naccounts ? (int)k : 0;
}

int server_token_ok(const char *got, const char *token, bool developer, size_t naccounts)
{
	const char *semi;
	int a = token_account(got, token, naccounts);

	if (a)
		return a;
	/* Freelancer-Developer-Auth-V1: <developer_id>;<key> */
	semi = developer ? strrchr(got, ';') : NULL;
	return semi ? token_account(semi + 1, token, naccounts) : 0;
}

/*
 * 0 no credentials, 1..N good (the account), -1 wrong, -2 an issued OAuth
 * token that has expired
 */
static int check_auth(struct server *s, struct MHD_Connection *c, const char *token)
{
	const char *oauth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Freelancer-OAuth-V1");
	const char *dev = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Freelancer-Developer-Auth-V1");
	int a;

	if (oauth && (a = server_token_ok(oauth, token, false, s->w->naccounts)) > 0)
		return a;
	if (dev && (a = server_token_ok(dev, token, true, s->w->naccounts)) > 0)
		return a;
	if (oauth) {
		a = oauth_access(s->oauth, oauth, server_ratelimit_now(s));
		if (a != 0)
			return a > 0 ? a : -2;
	}
	return oauth || dev ? -1 : 0;
}

static bool parse_body(struct fm_req *r, struct MHD_Connection *c)
{
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t i = 0;

	if (!r->body_len)
		return true;
	while (i < r->body_len && (r->body[i] == ' ' || r->body[i] == '\n' || r->body[i] == '\r' || r->body[i] == '\t'))
		i++;
	if ((ctype && strstr(ctype, "json")) || (i < r->body_len && r->body[i] == '{')) {
		if (!req_parse_json(r, r->body, r->body_len)) {
			req_error(r, 400, "RestExceptionCodes.BAD_JSON",
				  "The JSON object you have given is incorrectly formatted");
			return false;
		}
		return true;
	}
	if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
		const char *b = strstr(ctype, "boundary=");
		char boundary[200];

		if (b) {
			snprintf(boundary, sizeof boundary, "%s", b + 9);
			boundary[strcspn(boundary, "; ")] = '\0';
			if (boundary[0] == '"') {
				memmove(boundary, boundary + 1, strlen(boundary));
				boundary[strcspn(boundary, "\"")] = '\0';
			}
			req_parse_multipart(r, r->body, r->body_len, boundary);
			return true;
		}
		req_error(r, 400, "RestExceptionCodes.BAD_FORM", "multipart body without a boundary");
		return false;
	}
	req_parse_form(r, r->body, r->body_len);
	return true;
}

/* ---- envelopes ----------------------------------------------------------------------- */

static void error_envelope(struct fm_buf *b, const struct fm_req *r, const char *rid)
{
	struct jw w;

	b->len = 0;
	jw_init(&w, b, false);
	jw_obj(&w);
	jw_kstr(&w, "status", "error");
	jw_kstr(&w, "message", r->message);
	jw_kstr(&w, "error_code", r->error_code);
	jw_kstr(&w, "request_id", rid);
	jw_end_obj(&w);
}

static const char success_prefix[] = "{\"status\":\"success\",\"result\":";

/* Close the envelope the handler wrote into: result, then request_id. */
static void finish_envelope(struct fm_buf *b, const struct fm_req *r, const char *rid)
{
	if (r->error_code) {
		error_envelope(b, r, rid);
		return;
	}
	if (b->len == sizeof success_prefix - 1) {
		if (r->compact)
			b->len = sizeof success_prefix - 1 - strlen(",\"result\":");
		else
			buf_puts(b, "null");
	}
	buf_printf(b, ",\"request_id\":\"%s\"}", rid);
}

/* Spoil a JSON body the way a broken proxy would: cut mid-token, keep the length honest. */
static void make_malformed(struct fm_buf *b)
{
	size_t cut = b->len / 2;

	if (cut < 2)
		cut = b->len;
	b->len = cut;
	buf_puts(b, "\x01<!-- garbled");
}

/* ---- API requests --------------------------------------------------------------------- */

struct outcome {
	int status;
	struct fm_buf body;
	const char *ctype;
	enum fault_kind fault;
	bool have_rl;
	char rl_limit[64];
	long rl_remaining;
};

static void canned_error(struct outcome *o, struct fm_req *r, const char *rid, int status,
			 const char *code, const char *msg)
{
	req_error(r, status, code, "%s", msg);
	error_envelope(&o->body, r, rid);
	o->status = status;
}

/* Faults that answer in place of the endpoint; false when the endpoint should run. */
static bool answer_with_fault(struct outcome *o, struct fm_req *r, const char *rid, bool write)
{
	switch (o->fault) {
	case F_HTTP500:
		canned_error(o, r, rid, 500, "RestExceptionCodes.INTERNAL_SERVER_ERROR", "Unknown internal error");
		return true;
	case F_RATE429:
		canned_error(o, r, rid, 429, "AuthorisationExceptionCodes.RATE_LIMITED", "You have been rate limited.");
		return true;
	case F_HTML503:
		o->status = 503;
		o->ctype = "text/html; charset=utf-8";
		buf_puts(&o->body, "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
			 "<body><h1>Service Unavailable</h1><p>The server is temporarily busy.</p></body></html>\n");
		return true;
	case F_RESET:     /* the connection drops before the write is taken in */
	case F_STALL:
	case F_TRUNCATE:
	case F_MALFORMED:
		/* A faulted write is never applied: its client cannot know it was. */
		if (write) {
			canned_error(o, r, rid, 503, "RestExceptionCodes.SERVICE_DOWN", "The service is down.");
			return true;
		}
		return false;
	default:
		return false;
	}
}

static void run_endpoint(struct server *s, const struct route *rt, struct fm_req *r, struct outcome *o,
			 const char *rid)
{
	struct fm_buf *b = &o->body;

	buf_reserve(b, 128 * 1024); /* a page of 100 projects, without regrowing */
	buf_put(b, success_prefix, sizeof success_prefix - 1);
	r->out = b;
	r->status = 200;
	jw_init(&r->jw, b, r->compact);
	rt->fn(r);
	finish_envelope(b, r, rid);
	o->status = r->status;
	(void)s;
}

static void api_request(struct server *s, struct MHD_Connection *c, const char *url, const char *method,
			struct upload *up, struct outcome *o)
{
	struct fm_req r = { 0 };
	char rid[33], endpoint[160];
	const struct route *rt;
	bool known = false, limited = false;
	int auth;

	o->ctype = "application/json";
	r.w = s->w;
	r.cfg = s->cfg;
	r.method = method;
	r.path = url;
	r.body = up->body.data ? up->body.data : "";
	r.body_len = up->body.len;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, &r);
	r.compact = req_param(&r, "compact") != NULL;
	rt = router_match(method, url, &r.path_id, &known);
	request_id(s, ++s->seq, rid);
	snprintf(endpoint, sizeof endpoint, "%s %s", method, rt ? rt->pattern : "(unknown)");
	o->fault = rt ? faults_pick(&s->faults, s->cfg->world.seed, s->seq, rt->write, url) : F_NONE;

	auth = check_auth(s, c, s->cfg->token);
	r.authed = auth >= 1;
	/* Without a (good) token, endpoints that need none answer as account 1. */
	r.account = auth >= 1 ? auth : 1;
	r.self = s->w->accounts[r.account - 1];
	if (!rt) {
		o->fault = F_NONE;
		if (known)
			canned_error(o, &r, rid, 405, "RestExceptionCodes.INVALID_REQUEST", "Method not allowed");
		else
			canned_error(o, &r, rid, 404, "RestExceptionCodes.NOT_FOUND", "Object doesn't exist");
		goto out;
	}
	o->have_rl = true;
	if (auth < 0 || (auth == 0 && !rt->auth_optional)) {
		/* The headers still say where the account stands; this request is not counted. */
		ratelimit_take(s->rl, rt, router_index(rt), r.account, server_ratelimit_now(s), false, o->rl_limit,
			       sizeof o->rl_limit, &o->rl_remaining);
		o->fault = F_NONE;
		if (auth == -2)
			canned_error(o, &r, rid, 401, "AuthorisationExceptionCodes.EXPIRED_TOKEN",
				     "The token you used has expired.");
		else
			canned_error(o, &r, rid, 401, "RestExceptionCodes.NOT_AUTHENTICATED",
				     "You are not authenticated.");
		goto out;
	}
	if (!ratelimit_take(s->rl, rt, router_index(rt), r.account, server_ratelimit_now(s), true, o->rl_limit,
			    sizeof o->rl_limit, &o->rl_remaining)) {
		o->fault = F_NONE;
		limited = true;
		canned_error(o, &r, rid, 429, "AuthorisationExceptionCodes.RATE_LIMITED", "You have been rate limited.");
		goto out;
	}
	if (o->fault == F_STALL) {
		/* Only this connection waits: the lock is released meanwhile. */
		pthread_mutex_unlock(&s->mu);
		usleep((useconds_t)s->faults.stall_ms * 1000);
		pthread_mutex_lock(&s->mu);
	}
	if (answer_with_fault(o, &r, rid, rt->write))
		goto logit;
	if (!parse_body(&r, c)) {
		error_envelope(&o->body, &r, rid);
		o->status = r.status;
	} else {
		run_endpoint(s, rt, &r, o, rid);
	}
	if (o->fault == F_MALFORMED)
		make_malformed(&o->body);
logit:
	if (rt->write) {
		r.status = o->status;
		mocklog_write(s->log, &r, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "action"),
			      o->fault == F_NONE ? NULL : faults_name(o->fault));
	}
out:
	mocklog_count(s->log, endpoint, o->status, o->fault, r.account, limited);
	req_free_params(&r);
}

/* ---- /oauth/ ------------------------------------------------------------------------------ */

static enum MHD_Result oauth_request(struct server *s, struct MHD_Connection *c, const char *url,
				     const char *method, struct upload *up)
{
	struct oauth_reply o = { 0 };
	struct fm_req r = { 0 };
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *data;

	r.method = method;
	r.path = url;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, &r);
	if (up->body.len)
		req_parse_form(&r, up->body.data, up->body.len);
	if (s->cfg->token_delay_ms > 0 && strcmp(url, "/oauth/token") == 0)
		usleep((useconds_t)s->cfg->token_delay_ms * 1000); /* outside the lock: only this client waits */
	pthread_mutex_lock(&s->mu);
	if (strcmp(url, "/oauth/authorise") == 0 || strcmp(url, "/oauth/authorize") == 0)
		oauth_authorise(s->oauth, &r, server_ratelimit_now(s), &o);
	else if (strcmp(url, "/oauth/token") == 0)
		oauth_token(s->oauth, &r, server_ratelimit_now(s), &o);
	else {
		o.status = 404;
		o.ctype = "text/plain; charset=utf-8";
		buf_puts(&o.body, "no such OAuth endpoint\n");
	}
	pthread_mutex_unlock(&s->mu);
	req_free_params(&r);
	data = buf_steal(&o.body, &len);
	resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	server_add_headers(resp, s, o.ctype);
	if (o.location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, o.location);
	if (o.no_store)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, (unsigned)o.status, resp);
	MHD_destroy_response(resp);
	free(o.location);
	return ret;
}

/* ---- the link ------------------------------------------------------------------------------ */

/* One API request more in flight; the most at once is kept. */
static void in_flight_enter(struct server *s)
{
	long n = atomic_fetch_add(&s->in_flight, 1) + 1;
	long max = atomic_load(&s->max_in_flight);

	while (n > max && !atomic_compare_exchange_weak(&s->max_in_flight, &max, n))
		;
}

/* Part of --latency, on the request's own thread and never under the world lock. */
static void link_delay(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms <= 0)
		return;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- MHD callbacks ---------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct server *s = cls;
	struct upload *up = *con_cls;
	struct outcome o = { 0 };
	enum MHD_Result ret;

	(void)version;
	if (!up) {
		up = calloc(1, sizeof *up);
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (up->body.len + *upload_data_size > BODY_CAP)
			up->too_big = true;
		else
			buf_put(&up->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strncmp(url, "/_mock/", 7) == 0)
		return control_request(s, c, url, method);
	if (strncmp(url, "/oauth/", 7) == 0)
		return oauth_request(s, c, url, method, up);
	in_flight_enter(s);
	link_delay(s->cfg->latency_ms / 2);
	if (up->too_big) {
		buf_puts(&o.body, "{\"status\":\"error\",\"message\":\"Request body too large\","
			 "\"error_code\":\"RestExceptionCodes.INVALID_REQUEST\"}");
		o.status = 413;
		o.ctype = "application/json";
	} else {
		pthread_mutex_lock(&s->mu);
		api_request(s, c, url, method, up, &o);
		pthread_mutex_unlock(&s->mu);
	}
	link_delay(s->cfg->latency_ms - s->cfg->latency_ms / 2);
	if (o.fault == F_RESET || o.fault == F_LOSTREPLY) {
		buf_free(&o.body);
		ret = reset_connection(c);
	} else if (o.fault == F_TRUNCATE) {
		ret = send_truncated(c, s, o.status, &o.body);
	} else {
		ret = server_send_buffer(c, s, o.status, &o.body, o.ctype, o.have_rl ? o.rl_limit : NULL, o.rl_remaining);
	}
	atomic_fetch_sub(&s->in_flight, 1);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (up) {
		buf_free(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

static int listen_loopback(int port, int *out_port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, sndbuf = 1 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Accepted sockets inherit this: a whole page leaves in one send. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, never 0.0.0.0 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*out_port = ntohs(sa.sin_port);
	return fd;
}

struct server *server_start(const struct fm_config *cfg, struct world *w, int *out_port)
{
	struct server *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->cfg = cfg;
	s->w = w;
	s->faults = cfg->faults;
	s->mono_start = mono_seconds();
	pthread_mutex_init(&s->mu, NULL);
	atomic_init(&s->in_flight, 0);
	atomic_init(&s->max_in_flight, 0);
	s->rl = ratelimit_new(cfg->rate_scale, w->naccounts);
	s->log = mocklog_new();
	s->oauth = oauth_new(cfg);
	s->hooks = webhooks_new(cfg);
	if (!s->hooks)
		goto fail;
	w->hooks = s->hooks;
	s->listen_fd = listen_loopback(cfg->port, out_port);
	if (s->listen_fd < 0)
		goto fail;
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_SUPPRESS_DATE_NO_CLOCK,
				0, NULL, NULL, on_request, s,
				MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
				MHD_OPTION_END);
	if (!s->d)
		goto fail;
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	server_stop(s);
	return NULL;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d); /* closes the listening socket too */
	if (s->w)
		s->w->hooks = NULL;
	webhooks_free(s->hooks);
	ratelimit_free(s->rl);
	mocklog_free(s->log);
	oauth_free(s->oauth);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
