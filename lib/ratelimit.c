/*
 * ratelimit.c — per-endpoint request budgets: the limits the API reference
 * documents, scaled; budgets learned from RateLimit-* headers; and the
 * pause after a 429.  Each window keeps the send times of its last `limit`
 * requests, so no span of window_ms ever holds more than `limit` sends.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

#define RL_MAX_WINDOWS 4
#define RL_MAX_ENDPOINTS 512        /* ids are normalised away; this is a guard */
#define RL_BACKOFF_START_MS 1000    /* first pause after a 429 without Retry-After */
#define RL_BACKOFF_CAP_MS 300000    /* longest such pause: 5 minutes */
#define RL_DEFAULT_WINDOW_MS 60000  /* window assumed for a RateLimit-Limit without one */

#define MINUTE 60
#define HOUR 3600
#define DAY 86400

/* A documented limit: at most `limit` requests in any `window_s` seconds. */
struct rl_doc_window {
	long limit;
	long window_s;
};

/*
 * The reference's "Rate Limiting" paragraphs, endpoint by endpoint.  A
 * pattern segment in braces matches any one path segment; ratelimit_endpoint()
 * has already turned numeric ids into "{id}".  Per-IP limits are listed too:
 * one daemon is one IP.  Renewals (memberships) document a limit but no path,
 * so they are absent.  "PUT/PATCH" endpoints are listed as PUT: the reference
 * says the API makes no distinction (HTTP Methods, PUT/PATCH).
 */
static const struct rl_doc {
	const char *method;
	const char *pattern;
	const char *family;              /* endpoint sharing the budget, NULL: itself */
	struct rl_doc_window w[2];
} rl_docs[] = {
	/* Users */
	{ "POST", "/api/users/0.1/users/facebook/link/", NULL, { { 20, HOUR } } },
	{ "POST", "/api/users/0.1/users/facebook/", NULL, { { 100, HOUR } } },
	{ "POST", "/api/users/0.1/users/check/", NULL, { { 500, HOUR } } },
	{ "POST", "/api/users/0.1/users/", NULL, { { 100, HOUR } } },
	/* Search Users: 200/minute per user, "in addition" 5000/hour per IP. */
	{ "GET", "/api/users/0.1/users/", NULL, { { 200, MINUTE }, { 5000, HOUR } } },
	{ "GET", "/api/users/0.1/users/directory/", NULL, { { 1000, MINUTE } } },
	{ "PUT", "/api/users/0.1/self/profile/", NULL, { { 50, DAY } } },
	{ "PUT", "/api/users/0.1/self/location/", NULL, { { 50, DAY } } },
	{ "POST", "/api/users/0.1/self/profile_picture/", NULL, { { 100, HOUR } } },
	/* Get Self is documented at /users/self/; the API also answers at /self/. */
	{ "GET", "/api/users/0.1/users/self/", NULL, { { 1000, HOUR } } },
	{ "GET", "/api/users/0.1/self/", "GET /api/users/0.1/users/self/", { { 1000, HOUR } } },
	{ "PUT", "/api/users/0.1/users/self/", NULL, { { 10, HOUR } } },
	{ "GET", "/api/users/0.1/users/{id}/", NULL, { { 200, MINUTE }, { 5000, HOUR } } },
	{ "POST", "/api/users/0.1/self/jobs/", NULL, { { 100, DAY } } },
	{ "PUT", "/api/users/0.1/self/jobs/", NULL, { { 100, HOUR } } },
	{ "DELETE", "/api/users/0.1/self/jobs/", NULL, { { 100, DAY } } },
	{ "POST", "/api/users/0.1/feedback/", NULL, { { 100, HOUR } } },
	{ "PUT", "/api/users/0.1/tokens/{kind}/{data}/", NULL, { { 1000, HOUR } } },
	{ "DELETE", "/api/users/0.1/tokens/{kind}/{data}/", NULL, { { 1000, HOUR } } },
	{ "GET", "/api/users/0.1/tokens/{kind}/", NULL, { { 1000, HOUR } } },
	{ "GET", "/api/users/0.1/reputations/", NULL, { { 1000, HOUR } } },
	{ "POST", "/api/users/0.1/phone_verifications/", NULL, { { 10, HOUR } } },
	{ "PUT", "/api/users/0.1/phone_verifications/", NULL, { { 10, HOUR } } },
	{ "POST", "/api/users/0.1/developers/", NULL, { { 10, HOUR } } },
	{ "GET", "/api/users/0.1/developers/", NULL, { { 500, HOUR } } },
	{ "PUT", "/api/users/0.1/developers/", NULL, { { 1000, HOUR } } },
	{ "POST", "/api/users/0.1/webhooks/", NULL, { { 10, HOUR } } },
	{ "GET", "/api/users/0.1/webhooks/", NULL, { { 500, HOUR } } },
	/* Projects */
	{ "POST", "/api/projects/0.1/projects/", NULL, { { 50, HOUR } } },
	{ "POST", "/api/projects/0.1/projects/{id}/invite/", NULL, { { 100, HOUR } } },
	{ "POST", "/api/projects/0.1/bids/", NULL, { { 500, HOUR } } },
	/* Post a Review: "limitied to 100 requests per hour, per user". */
	{ "POST", "/api/projects/0.1/reviews/", NULL, { { 100, HOUR } } },
	/* Memberships */
	{ "GET", "/api/memberships/0.1/packages/", NULL, { { 1000, HOUR }, { 200, MINUTE } } },
	{ "POST", "/api/memberships/0.1/packages/", NULL, { { 500, HOUR }, { 50, MINUTE } } },
	{ "GET", "/api/memberships/0.1/benefits/", NULL, { { 5000, HOUR }, { 200, MINUTE } } },
};

/* One budget: the send times of the last `limit` requests, oldest at head. */
struct rl_window {
	long limit;          /* requests allowed in any window_ms span */
	int64_t window_ms;
	bool learned;        /* from RateLimit-Limit: replaced when the header changes */
	int64_t *sent;       /* ring of send times, grown on demand up to limit */
	size_t cap, head, count;
};

struct rl_endpoint {
	char key[96];                /* family name, e.g. "POST /api/projects/0.1/bids/" */
	struct rl_window w[RL_MAX_WINDOWS];
	int nw;
	long hint_remaining;         /* RateLimit-Remaining minus sends since, -1 none */
	int64_t hint_at_ms;          /* when that header arrived */
	int64_t paused_until_ms;     /* a 429's pause, 0 none */
	int backoffs;                /* 429s since the last other response */
	int in_flight;               /* sent and not yet answered */
};

struct ratelimit {
	pthread_mutex_t mu;          /* a pass's fetcher and its writer share it */
	double scale;
	struct rl_endpoint *ep;
	size_t n, cap;
	uint64_t rng;                /* xorshift state for back-off jitter */
};

int ratelimit_new(double scale, struct ratelimit **out, struct fl_error *err)
{
	struct ratelimit *rl;

	*out = NULL;
	if (!(scale > 0) || !isfinite(scale))
		return error_set(err, FL_ERR_MISUSE, "rate scale must be a positive number");
	rl = calloc(1, sizeof *rl);
	if (!rl)
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&rl->mu, NULL);
	rl->scale = scale;
	rl->rng = (uint64_t)ratelimit_now_ms() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)rl;
	if (!rl->rng)
		rl->rng = 1;
	*out = rl;
	return FL_OK;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->n; i++)
		for (int j = 0; j < rl->ep[i].nw; j++)
			free(rl->ep[i].w[j].sent);
	free(rl->ep);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

/* A path segment of digits only is an id. */
static bool ratelimit_is_id(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

void ratelimit_endpoint(const char *method, const char *path_query, char *out, size_t outsz)
{
	size_t o = 0;
	const char *p = path_query;

	if (outsz == 0)
		return;
#define PUT_CHAR(c) do { if (o + 1 < outsz) out[o++] = (c); } while (0)
	for (const char *m = method; *m; m++)
		PUT_CHAR((char)toupper((unsigned char)*m));
	PUT_CHAR(' ');
	while (*p && *p != '?' && *p != '#') {
		size_t n = strcspn(p, "/?#");

		if (ratelimit_is_id(p, n)) {
			for (const char *t = "{id}"; *t; t++)
				PUT_CHAR(*t);
		} else {
			for (size_t i = 0; i < n; i++)
				PUT_CHAR(p[i]);
		}
		p += n;
		if (*p == '/') {
			PUT_CHAR('/');
			p++;
		}
	}
	/* "/bids/123" and "/bids/123/" are one endpoint. */
	if (o > 0 && out[o - 1] != '/')
		PUT_CHAR('/');
#undef PUT_CHAR
	out[o] = '\0';
}

/* Does path (normalised) match pattern, where "{...}" matches one segment? */
static bool ratelimit_path_matches(const char *pattern, const char *path)
{
	while (*pattern && *path) {
		size_t pn = strcspn(pattern, "/"), n = strcspn(path, "/");

		if (pattern[0] == '{') {
			if (n == 0)
				return false;
		} else if (pn != n || memcmp(pattern, path, n) != 0) {
			return false;
		}
		pattern += pn;
		path += n;
		if (*pattern != *path)
			return false;
		if (*pattern) {
			pattern++;
			path++;
		}
	}
	return *pattern == *path;
}

static const struct rl_doc *ratelimit_doc(const char *endpoint)
{
	const char *sp = strchr(endpoint, ' ');
	size_t mlen;

	if (!sp)
		return NULL;
	mlen = (size_t)(sp - endpoint);
	for (size_t i = 0; i < sizeof rl_docs / sizeof rl_docs[0]; i++) {
		const struct rl_doc *d = &rl_docs[i];
		bool method_ok = (strlen(d->method) == mlen && memcmp(d->method, endpoint, mlen) == 0)
			|| (strcmp(d->method, "PUT") == 0 && mlen == 5 &&
			    memcmp(endpoint, "PATCH", 5) == 0);

		if (method_ok && ratelimit_path_matches(d->pattern, sp + 1))
			return d;
	}
	return NULL;
}

static void ratelimit_window_init(struct rl_window *w, long limit, int64_t window_ms, bool learned)
{
	memset(w, 0, sizeof *w);
	w->limit = limit > 0 ? limit : 1;
	w->window_ms = window_ms;
	w->learned = learned;
}

/*
 * The state of endpoint, created on first use with its documented windows.
 * NULL only when out of memory (or past the guard): the request then goes
 * unaccounted rather than failing.
 */
static struct rl_endpoint *ratelimit_find(struct ratelimit *rl, const char *endpoint)
{
	const struct rl_doc *d = ratelimit_doc(endpoint);
	char key[96];
	struct rl_endpoint *e;

	if (d && d->family)
		snprintf(key, sizeof key, "%s", d->family);
	else if (d)
		snprintf(key, sizeof key, "%s %s", d->method, d->pattern);
	else
		snprintf(key, sizeof key, "%s", endpoint);
	for (size_t i = 0; i < rl->n; i++)
		if (strcmp(rl->ep[i].key, key) == 0)
			return &rl->ep[i];
	if (rl->n >= RL_MAX_ENDPOINTS)
		return NULL;
	if (rl->n == rl->cap) {
		size_t ncap = rl->cap ? rl->cap * 2 : 16;
		struct rl_endpoint *nep = realloc(rl->ep, ncap * sizeof *nep);

		if (!nep)
			return NULL;
		rl->ep = nep;
		rl->cap = ncap;
	}
	e = &rl->ep[rl->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->hint_remaining = -1;
	for (int j = 0; d && j < 2 && d->w[j].limit > 0; j++) {
		/* Round down: a scaled budget must never exceed the server's. */
		long lim = (long)floor((double)d->w[j].limit * rl->scale);

		ratelimit_window_init(&e->w[e->nw++], lim, (int64_t)d->w[j].window_s * 1000, false);
	}
	return e;
}

/* Milliseconds until this window lets one more request go. */
static int64_t ratelimit_window_delay(const struct rl_window *w, int64_t now_ms)
{
	int64_t free_at;

	if (w->count < (size_t)w->limit)
		return 0;
	/* Full: the oldest of the last `limit` sends must leave the window. */
	free_at = w->sent[w->head] + w->window_ms;
	return free_at > now_ms ? free_at - now_ms : 0;
}

static void ratelimit_window_record(struct rl_window *w, int64_t now_ms)
{
	if (w->count == w->cap && w->cap < (size_t)w->limit) {
		size_t ncap = w->cap * 2 + 16;
		int64_t *ns;

		if (ncap > (size_t)w->limit)
			ncap = (size_t)w->limit;
		ns = malloc(ncap * sizeof *ns);
		if (ns) {
			/* Unroll the ring so the oldest is at 0. */
			for (size_t i = 0; i < w->count; i++)
				ns[i] = w->sent[(w->head + i) % w->cap];
			free(w->sent);
			w->sent = ns;
			w->cap = ncap;
			w->head = 0;
		} else if (w->cap > 0) {
			/* Out of memory: a smaller budget is still a safe one. */
			w->limit = (long)w->cap;
		} else {
			return;
		}
	}
	if (w->count < w->cap) {
		w->sent[(w->head + w->count) % w->cap] = now_ms;
		w->count++;
	} else {
		w->sent[w->head] = now_ms;
		w->head = (w->head + 1) % w->cap;
	}
}

/* Sends within the last window_ms. */
static long ratelimit_window_used(const struct rl_window *w, int64_t now_ms)
{
	long used = 0;

	for (size_t i = 0; i < w->count; i++)
		if (w->sent[(w->head + i) % w->cap] > now_ms - w->window_ms)
			used++;
	return used;
}

/*
 * The window a RateLimit-Remaining of 0 refers to: the learned one if any,
 * else the shortest documented, else the assumed default.
 */
static int64_t ratelimit_hint_window(const struct rl_endpoint *e)
{
	int64_t best = -1;

	for (int j = 0; j < e->nw; j++)
		if (e->w[j].learned)
			return e->w[j].window_ms;
	for (int j = 0; j < e->nw; j++)
		if (best < 0 || e->w[j].window_ms < best)
			best = e->w[j].window_ms;
	return best > 0 ? best : RL_DEFAULT_WINDOW_MS;
}

static int64_t delay_locked(struct ratelimit *rl, const char *endpoint, int64_t now_ms)
{
	struct rl_endpoint *e = ratelimit_find(rl, endpoint);
	int64_t delay = 0;

	if (!e)
		return 0;
	if (e->paused_until_ms > now_ms)
		delay = e->paused_until_ms - now_ms;
	for (int j = 0; j < e->nw; j++) {
		int64_t d = ratelimit_window_delay(&e->w[j], now_ms);

		if (d > delay)
			delay = d;
	}
	if (e->hint_remaining == 0) {
		int64_t until = e->hint_at_ms + ratelimit_hint_window(e);

		if (until > now_ms) {
			if (until - now_ms > delay)
				delay = until - now_ms;
		} else {
			e->hint_remaining = -1; /* that window is over: the server's count is stale */
		}
	}
	return delay;
}

int64_t ratelimit_delay_ms(struct ratelimit *rl, const char *endpoint, int64_t now_ms)
{
	int64_t delay;

	pthread_mutex_lock(&rl->mu);
	delay = delay_locked(rl, endpoint, now_ms);
	pthread_mutex_unlock(&rl->mu);
	return delay;
}

static void sent_locked(struct ratelimit *rl, const char *endpoint, int64_t now_ms)
{
	struct rl_endpoint *e = ratelimit_find(rl, endpoint);

	if (!e)
		return;
	for (int j = 0; j < e->nw; j++)
		ratelimit_window_record(&e->w[j], now_ms);
	if (e->hint_remaining > 0)
		e->hint_remaining--;
	e->in_flight++;
}

void ratelimit_sent(struct ratelimit *rl, const char *endpoint, int64_t now_ms)
{
	pthread_mutex_lock(&rl->mu);
	sent_locked(rl, endpoint, now_ms);
	pthread_mutex_unlock(&rl->mu);
}

bool ratelimit_take(struct ratelimit *rl, const char *endpoint, int64_t now_ms, int64_t *wait_ms)
{
	pthread_mutex_lock(&rl->mu);
	*wait_ms = delay_locked(rl, endpoint, now_ms);
	if (*wait_ms == 0)
		sent_locked(rl, endpoint, now_ms);
	pthread_mutex_unlock(&rl->mu);
	return *wait_ms == 0;
}

/* Replace the learned windows of e with these (limit, window_s; -1 = default). */
static void ratelimit_set_learned(struct rl_endpoint *e, const long *limit,
				  const long *window_s, int n)
{
	int keep = 0, same = 0, nlearned = 0;

	for (int j = 0; j < e->nw; j++) {
		if (!e->w[j].learned)
			continue;
		nlearned++;
		for (int k = 0; k < n; k++)
			if (e->w[j].limit == limit[k] &&
			    e->w[j].window_ms == (window_s[k] > 0 ? window_s[k] * 1000
						  : RL_DEFAULT_WINDOW_MS))
				same++;
	}
	if (nlearned == n && same == n)
		return;
	for (int j = 0; j < e->nw; j++) {
		if (e->w[j].learned)
			free(e->w[j].sent);
		else
			e->w[keep++] = e->w[j];
	}
	e->nw = keep;
	for (int k = 0; k < n && e->nw < RL_MAX_WINDOWS; k++)
		ratelimit_window_init(&e->w[e->nw++], limit[k],
				      window_s[k] > 0 ? (int64_t)window_s[k] * 1000
				      : RL_DEFAULT_WINDOW_MS, true);
}

/* Pseudo-random in [0, 1), for jitter. */
static double ratelimit_random(struct ratelimit *rl)
{
	rl->rng ^= rl->rng << 13;
	rl->rng ^= rl->rng >> 7;
	rl->rng ^= rl->rng << 17;
	return (double)(rl->rng >> 11) / 9007199254740992.0;
}

static void learn_locked(struct ratelimit *rl, const char *endpoint, const char *limit_header,
			 long remaining, int64_t now_ms);

static void observe_locked(struct ratelimit *rl, const char *endpoint,
			   const struct http_response *resp, int64_t now_ms)
{
	struct rl_endpoint *e = ratelimit_find(rl, endpoint);

	if (e && e->in_flight > 0)
		e->in_flight--;
	if (!e || resp->status == 0)
		return; /* no response: nothing learned */
	if (resp->ratelimit_policy[0]) {
		/* Every window the server announces; learning tightens, never loosens. */
		learn_locked(rl, endpoint, resp->ratelimit_policy, resp->ratelimit_remaining, now_ms);
	} else {
		if (resp->ratelimit_limit > 0) {
			long window = -1;

			/* A bare figure with no window: assume a minute. */
			ratelimit_set_learned(e, &resp->ratelimit_limit, &window, 1);
		}
		if (resp->ratelimit_remaining >= 0) {
			/* Requests still in flight may not be in the server's count yet. */
			e->hint_remaining = resp->ratelimit_remaining > e->in_flight
				? resp->ratelimit_remaining - e->in_flight : 0;
			e->hint_at_ms = now_ms;
		}
	}
	if (resp->status == 429) {
		int64_t pause;

		e->backoffs++;
		if (resp->retry_after >= 0) {
			pause = resp->retry_after * 1000;
		} else {
			/* 1 s, 2 s, 4 s, ... capped at 5 min, each ±20% so clients spread out. */
			double nominal = RL_BACKOFF_START_MS * pow(2.0, e->backoffs - 1);

			if (nominal > RL_BACKOFF_CAP_MS)
				nominal = RL_BACKOFF_CAP_MS;
			pause = (int64_t)(nominal * (0.8 + 0.4 * ratelimit_random(rl)));
			if (pause > RL_BACKOFF_CAP_MS)
				pause = RL_BACKOFF_CAP_MS;
		}
		e->paused_until_ms = now_ms + pause;
	} else {
		e->backoffs = 0;
		e->paused_until_ms = 0;
	}
}

void ratelimit_observe(struct ratelimit *rl, const char *endpoint,
		       const struct http_response *resp, int64_t now_ms)
{
	pthread_mutex_lock(&rl->mu);
	observe_locked(rl, endpoint, resp, now_ms);
	pthread_mutex_unlock(&rl->mu);
}

void ratelimit_learn(struct ratelimit *rl, const char *endpoint, const char *limit_header,
		     long remaining, int64_t now_ms)
{
	pthread_mutex_lock(&rl->mu);
	learn_locked(rl, endpoint, limit_header, remaining, now_ms);
	pthread_mutex_unlock(&rl->mu);
}

static void learn_locked(struct ratelimit *rl, const char *endpoint, const char *limit_header,
			 long remaining, int64_t now_ms)
{
	long limit[RL_MAX_WINDOWS - 2], window[RL_MAX_WINDOWS - 2];
	struct rl_endpoint *e = ratelimit_find(rl, endpoint);
	const char *p = limit_header;
	int n = 0;
	long first = -1;

	if (!e)
		return;
	/*
	 * "50, 50;window=60, 1000;window=3600": a bare first figure (the
	 * quota nearest to running out) and then each policy with its window.
	 */
	while (p && *p) {
		char *end;
		long v, w = -1;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v <= 0) {
			p += strcspn(p, ",");
			continue;
		}
		p = end;
		while (*p && *p != ',') {
			const char *param = p + strspn(p, "; \t");

			if (strncmp(param, "window=", 7) == 0)
				w = strtol(param + 7, NULL, 10);
			p = param + strcspn(param, ";,");
		}
		if (w <= 0 && first < 0 && n == 0) {
			first = v;
		} else if (w > 0 && n < RL_MAX_WINDOWS - 2) {
			limit[n] = v;
			window[n] = w;
			n++;
		}
	}
	if (n == 0 && first > 0) {
		limit[0] = first;
		window[0] = -1;
		n = 1;
	}
	if (n > 0)
		ratelimit_set_learned(e, limit, window, n);
	if (remaining >= 0) {
		/* Requests still in flight may not be in the server's count yet. */
		e->hint_remaining = remaining > e->in_flight ? remaining - e->in_flight : 0;
		e->hint_at_ms = now_ms;
	}
}

size_t ratelimit_snapshot(struct ratelimit *rl, struct ratelimit_state *out, size_t max,
			  int64_t now_ms)
{
	size_t n = 0;

	pthread_mutex_lock(&rl->mu);
	for (size_t i = 0; i < rl->n && n < max; i++) {
		const struct rl_endpoint *e = &rl->ep[i];
		struct ratelimit_state *s = &out[n++];

		snprintf(s->endpoint, sizeof s->endpoint, "%s", e->key);
		s->limit = s->window_s = s->remaining = -1;
		/* Report the window with the fewest requests left. */
		for (int j = 0; j < e->nw; j++) {
			long left = e->w[j].limit - ratelimit_window_used(&e->w[j], now_ms);

			if (s->remaining < 0 || left < s->remaining) {
				s->limit = e->w[j].limit;
				s->window_s = (long)(e->w[j].window_ms / 1000);
				s->remaining = left;
			}
		}
		if (e->hint_remaining >= 0 && (s->remaining < 0 || e->hint_remaining < s->remaining))
			s->remaining = e->hint_remaining;
		s->paused_until_ms = e->paused_until_ms > now_ms ? e->paused_until_ms : 0;
	}
	pthread_mutex_unlock(&rl->mu);
	return n;
}

int64_t ratelimit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
