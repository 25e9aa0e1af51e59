/*
 * control.c — flmock's /_mock/ endpoints, never authenticated, faulted or
 * rate limited: inspection (log, stats, self, accounts, clock, the dump
 * stream, webhook and OAuth counts) and control of the simulator (advance
 * the clock, late and silent changes, request faults, webhook faults and
 * events, OAuth revoke and expire).  Each runs under the world lock but
 * the dump, which takes it a page of records at a time.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct dump_stream {
	struct server *s;
	int kind;
	size_t next;               /* next record index */
	struct fm_buf buf;
	size_t pos;                /* bytes of buf already sent */
};

static ssize_t dump_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct dump_stream *d = cls;
	size_t n;

	(void)pos;
	if (d->pos == d->buf.len) {
		d->buf.len = 0;
		d->pos = 0;
		pthread_mutex_lock(&d->s->mu);
		dump_records(d->s->w, d->kind, d->next, 256, &d->buf);
		pthread_mutex_unlock(&d->s->mu);
		d->next += 256;
		if (d->buf.len == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = d->buf.len - d->pos;
	if (n > max)
		n = max;
	memcpy(out, d->buf.data + d->pos, n);
	d->pos += n;
	return (ssize_t)n;
}

static void dump_free(void *cls)
{
	struct dump_stream *d = cls;

	buf_free(&d->buf);
	free(d);
}

static enum MHD_Result mock_dump(struct server *s, struct MHD_Connection *c)
{
	const char *entity = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "entity");
	int kind = dump_entity_kind(entity);
	struct dump_stream *d;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (kind < 0) {
		struct fm_buf b = { 0 };

		buf_puts(&b, "{\"error\":\"entity must be one of users, projects, bids, milestones, "
			 "milestone_requests, reviews, threads, messages\"}\n");
		return server_send_buffer(c, s, 400, &b, "application/json", NULL, 0);
	}
	d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->s = s;
	d->kind = kind;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, dump_read, d, dump_free);
	server_add_headers(resp, s, "application/x-ndjson");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mock_advance(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	const char *sec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seconds");
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "quiet");
	char *end = NULL, *qend = NULL;
	long long n = sec ? strtoll(sec, &end, 10) : -1, quiet = q ? strtoll(q, &qend, 10) : 0;
	size_t events;

	if (!sec || *end || n < 0 || (q && (*qend || quiet < 0))) {
		*status = 400;
		buf_puts(b, "{\"error\":\"seconds (and quiet) must be non-negative integers\"}\n");
		return;
	}
	events = activity_advance(s->w, n, quiet);
	buf_printf(b, "{\"now\":%lld,\"events\":%zu}\n", (long long)s->w->now, events);
}

static void mock_late(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	const char *kind = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kind");
	const char *behind_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "behind");
	char *end = NULL;
	long long behind = behind_s ? strtoll(behind_s, &end, 10) : -1;
	int64_t when, id;

	if (!kind || (strcmp(kind, "message") && strcmp(kind, "review") && strcmp(kind, "bid")) ||
	    !behind_s || *end || behind < 0 || behind > 10LL * 365 * 86400) {
		*status = 400;
		buf_puts(b, "{\"error\":\"want kind=message|review|bid and behind=SECONDS\"}\n");
		return;
	}
	if (!activity_late(s->w, kind, (int64_t)behind, &when, &id)) {
		*status = 409;
		buf_printf(b, "{\"error\":\"the world has no %s to make\"}\n", kind);
		return;
	}
	buf_printf(b, "{\"kind\":\"%s\",\"id\":%lld,\"time\":%lld,\"now\":%lld}\n", kind, (long long)id,
		   (long long)when, (long long)s->w->now);
}

/* POST /_mock/silent_edit?table=T&id=N: a change no event or time tells of. */
static void mock_silent_edit(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	const char *table = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "table");
	const char *id_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id");
	char *end = NULL;
	long long id = id_s ? strtoll(id_s, &end, 10) : -1;

	if (!table || !id_s || !*id_s || *end || id <= 0) {
		*status = 400;
		buf_puts(b, "{\"error\":\"want table=projects|bids|milestones|milestone_requests|reviews|threads|"
			 "messages and id=N\"}\n");
		return;
	}
	if (!activity_silent_edit(s->w, table, (int64_t)id)) {
		*status = 404;
		buf_puts(b, "{\"error\":\"no such record\"}\n");
		return;
	}
	buf_printf(b, "{\"table\":\"%s\",\"id\":%lld,\"now\":%lld}\n", table, id, (long long)s->w->now);
}

static void mock_faults(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	const char *spec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "spec");
	char err[256];
	struct fault_spec f;

	if (!faults_parse(spec ? spec : "", &f, err, sizeof err)) {
		*status = 400;
		buf_puts(b, "{\"error\":");
		jw_escape(b, err, strlen(err));
		buf_puts(b, "}\n");
		return;
	}
	s->faults = f;
	buf_puts(b, "{\"ok\":true}\n");
}

/* POST /_mock/webhooks?spec=SPEC, POST /_mock/webhooks/emit?type=T&<id>=N | raw=JSON, GET: stats. */
static void mock_webhooks(struct server *s, struct MHD_Connection *c, bool emit, bool post, struct fm_buf *b,
			  int *status)
{
	static const char *const keys[6] = { "thread_id", "message_id", "project_id", "bid_id", "milestone_id",
					     "request_id" };
	char err[256];

	if (emit) {
		const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
		const char *raw = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "raw");
		int64_t ids[6] = { 0 };
		int i;

		if (!post || (!raw && (!type || !*type))) {
			*status = 400;
			buf_puts(b, "{\"error\":\"POST with type=T (and thread_id, message_id, project_id, bid_id, "
				 "milestone_id, request_id) or raw=JSON\"}\n");
			return;
		}
		for (i = 0; i < 6; i++) {
			const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, keys[i]);
			char *end;

			if (v) {
				ids[i] = strtoll(v, &end, 10);
				if (end == v || *end) {
					*status = 400;
					buf_printf(b, "{\"error\":\"%s must be an integer\"}\n", keys[i]);
					return;
				}
			}
		}
		if (!webhooks_emit(s->hooks, s->w->now, type, ids, raw, err, sizeof err)) {
			*status = 400;
			buf_puts(b, "{\"error\":");
			jw_escape(b, err, strlen(err));
			buf_puts(b, "}\n");
			return;
		}
		buf_puts(b, "{\"ok\":true}\n");
		return;
	}
	if (post) {
		const char *spec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "spec");
		struct wh_faults f;

		if (!wh_faults_parse(spec ? spec : "", &f, err, sizeof err)) {
			*status = 400;
			buf_puts(b, "{\"error\":");
			jw_escape(b, err, strlen(err));
			buf_puts(b, "}\n");
			return;
		}
		webhooks_set_faults(s->hooks, &f);
	}
	webhooks_stats(s->hooks, b);
}

/*
 * The account a /_mock/ request is about: account=K, else the account of
 * the request's token, else 1.  0 (after a 400) for a bad account=.
 */
static int mock_account(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account");
	char *end;
	long k;
	int a;

	if (v) {
		k = strtol(v, &end, 10);
		if (end == v || *end || k < 1 || (size_t)k > s->w->naccounts) {
			*status = 400;
			buf_printf(b, "{\"error\":\"account must be 1..%zu\"}\n", s->w->naccounts);
			return 0;
		}
		return (int)k;
	}
	/* Only looked at: a /_mock/ request spends nothing of an issued token. */
	if (v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Freelancer-OAuth-V1"), v) {
		a = server_token_ok(v, s->cfg->token, false, s->w->naccounts);
		if (!a)
			a = oauth_account(s->oauth, v);
	} else if (v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Freelancer-Developer-Auth-V1"), v) {
		a = server_token_ok(v, s->cfg->token, true, s->w->naccounts);
	} else {
		a = 0;
	}
	return a >= 1 ? a : 1;
}

static void mock_self(struct server *s, struct MHD_Connection *c, struct fm_buf *b, int *status)
{
	int a = mock_account(s, c, b, status);

	if (!a)
		return;
	buf_printf(b, "{\"id\":%lld,\"now\":%lld,\"seed\":%llu,\"account\":%d,\"accounts\":%zu}\n",
		   (long long)s->w->accounts[a - 1], (long long)s->w->now, (unsigned long long)s->cfg->world.seed,
		   a, s->w->naccounts);
}

/* Every account: its number, its user id and its token. */
static void mock_accounts(struct server *s, struct fm_buf *b)
{
	struct jw w;
	char tok[256];
	size_t k;

	jw_init(&w, b, false);
	jw_obj(&w);
	jw_karr(&w, "accounts");
	for (k = 0; k < s->w->naccounts; k++) {
		if (k == 0)
			snprintf(tok, sizeof tok, "%s", s->cfg->token);
		else
			snprintf(tok, sizeof tok, "%s-%zu", s->cfg->token, k + 1);
		jw_obj(&w);
		jw_kint(&w, "account", (int64_t)(k + 1));
		jw_kint(&w, "id", s->w->accounts[k]);
		jw_kstr(&w, "token", tok);
		jw_end_obj(&w);
	}
	jw_end_arr(&w);
	jw_end_obj(&w);
	buf_putc(b, '\n');
}

/*
 * GET /_mock/stats: the counts; POST /_mock/stats?reset=max_in_flight
 * answers them as they were, then starts max_in_flight again from the
 * requests in flight now.
 */
static void mock_stats(struct server *s, struct MHD_Connection *c, bool post, struct fm_buf *b, int *status)
{
	const char *reset = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "reset");
	struct link_stats link;

	if (post && (!reset || strcmp(reset, "max_in_flight") != 0)) {
		*status = 400;
		buf_puts(b, "{\"error\":\"POST /_mock/stats takes reset=max_in_flight\"}\n");
		return;
	}
	link.latency_ms = s->cfg->latency_ms;
	link.in_flight = atomic_load(&s->in_flight);
	link.max_in_flight = post ? atomic_exchange(&s->max_in_flight, link.in_flight)
				  : atomic_load(&s->max_in_flight);
	mocklog_dump_stats(s->log, &link, b);
}

enum MHD_Result control_request(struct server *s, struct MHD_Connection *c, const char *url, const char *method)
{
	struct fm_buf b = { 0 };
	int status = 200;
	const char *ctype = "application/json";
	bool post = strcmp(method, "POST") == 0;

	if (strcmp(url, "/_mock/dump") == 0 || strcmp(url, "/_mock/dump/") == 0)
		return mock_dump(s, c);
	pthread_mutex_lock(&s->mu);
	if (strcmp(url, "/_mock/log") == 0) {
		ctype = "application/x-ndjson";
		mocklog_dump_log(s->log, &b);
	} else if (strcmp(url, "/_mock/stats") == 0) {
		mock_stats(s, c, post, &b, &status);
	} else if (strcmp(url, "/_mock/self") == 0) {
		mock_self(s, c, &b, &status);
	} else if (strcmp(url, "/_mock/accounts") == 0) {
		mock_accounts(s, &b);
	} else if (strcmp(url, "/_mock/clock") == 0) {
		buf_printf(&b, "{\"now\":%lld}\n", (long long)s->w->now);
	} else if (strcmp(url, "/_mock/advance") == 0 && post) {
		mock_advance(s, c, &b, &status);
	} else if (strcmp(url, "/_mock/late") == 0 && post) {
		mock_late(s, c, &b, &status);
	} else if (strcmp(url, "/_mock/silent_edit") == 0 && post) {
		mock_silent_edit(s, c, &b, &status);
	} else if (strcmp(url, "/_mock/faults") == 0 && post) {
		mock_faults(s, c, &b, &status);
	} else if (strcmp(url, "/_mock/webhooks") == 0 || strcmp(url, "/_mock/webhooks/emit") == 0) {
		mock_webhooks(s, c, url[15] == '/', post, &b, &status);
	} else if (strcmp(url, "/_mock/oauth") == 0) {
		oauth_stats(s->oauth, &b);
	} else if (strcmp(url, "/_mock/oauth/revoke") == 0 && post) {
		oauth_revoke(s->oauth);
		buf_puts(&b, "{\"ok\":true}\n");
	} else if (strcmp(url, "/_mock/oauth/expire") == 0 && post) {
		oauth_expire(s->oauth, server_ratelimit_now(s));
		buf_puts(&b, "{\"ok\":true}\n");
	} else {
		status = 404;
		buf_puts(&b, "{\"error\":\"unknown /_mock/ endpoint\"}\n");
	}
	pthread_mutex_unlock(&s->mu);
	return server_send_buffer(c, s, status, &b, ctype, NULL, 0);
}
