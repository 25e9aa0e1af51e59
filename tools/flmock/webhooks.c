/*
 * webhooks.c — Create Webhook and Get Webhooks (the registry of URLs and
 * their active state), the events the world's changes make, and the fault
 * settings of deliveries.  The reference documents no payload; the shape
 * used here (one event per POST, see README.md) is flmock's own.  Only
 * loopback URLs are accepted, so flmock never calls out of the machine.
 * Delivery itself is deliver.c's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "webhooks.h"

/* ---- faults -------------------------------------------------------------------------- */

static const struct spec_key wh_keys[] = {
	{ "drop", SPEC_FRACTION, offsetof(struct wh_faults, drop), 1 },
	{ "dup", SPEC_FRACTION, offsetof(struct wh_faults, dup), 1 },
	{ "delay", SPEC_FRACTION, offsetof(struct wh_faults, delay), 1 },
	{ "reorder", SPEC_FRACTION, offsetof(struct wh_faults, reorder), 1 },
	{ "delay_ms", SPEC_LONG, offsetof(struct wh_faults, delay_ms), 600000 },
	{ "fail_after", SPEC_LONG, offsetof(struct wh_faults, fail_after), 1e9 },
	{ NULL, 0, 0, 0 },
};

bool wh_faults_parse(const char *spec, struct wh_faults *out, char *err, size_t errlen)
{
	struct wh_faults f = { .delay_ms = 1000, .fail_after = 10 };

	if (!spec_parse(spec, wh_keys, &f, "webhook fault", err, errlen))
		return false;
	*out = f;
	return true;
}

/* ---- lifetime ------------------------------------------------------------------------ */

struct webhooks *webhooks_new(const struct fm_config *cfg)
{
	struct webhooks *h = calloc(1, sizeof *h);

	if (!h)
		abort();
	h->cfg = cfg;
	h->faults = cfg->webhook_faults;
	h->next_id = 1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (!deliver_start(h)) {
		webhooks_free(h);
		return NULL;
	}
	return h;
}

void webhooks_free(struct webhooks *h)
{
	size_t i;

	if (!h)
		return;
	deliver_stop(h);
	for (i = 0; i < h->qn; i++)
		free(h->q[i].body);
	for (i = 0; i < h->nhooks; i++)
		free(h->hooks[i].url);
	free(h->hooks);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void webhooks_set_faults(struct webhooks *h, const struct wh_faults *f)
{
	pthread_mutex_lock(&h->mu);
	h->faults = *f;
	pthread_mutex_unlock(&h->mu);
}

/* ---- the endpoints ------------------------------------------------------------------- */

/*
 * http or https to 127.0.0.1, [::1] or localhost, any port and path: the
 * only URLs flmock will ever call.
 */
static bool loopback_url(const char *url)
{
	const char *p, *host_end;
	size_t n;

	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return false;
	if (strlen(url) > WH_URL_MAX || strpbrk(url, " \t\r\n\"\\"))
		return false;
	if (*p == '[') {
		if (strncmp(p, "[::1]", 5) != 0)
			return false;
		host_end = p + 5;
	} else {
		n = strcspn(p, ":/?#");
		if (!((n == 9 && strncmp(p, "127.0.0.1", 9) == 0) || (n == 9 && strncasecmp(p, "localhost", 9) == 0)))
			return false;
		host_end = p + n;
	}
	if (*host_end == ':') {
		const char *d = host_end + 1;
		long port = 0;

		if (*d < '0' || *d > '9')
			return false;
		for (; *d >= '0' && *d <= '9'; d++)
			if ((port = port * 10 + (*d - '0')) > 65535)
				return false;
		if (port == 0)
			return false;
		host_end = d;
	}
	return *host_end == '\0' || *host_end == '/' || *host_end == '?';
}

static void out_hook(struct jw *w, const struct hook *k)
{
	jw_obj(w);
	jw_kint(w, "id", k->id);
	jw_kint(w, "developer_id", k->developer_id);
	jw_kint(w, "user_id", k->user_id);
	jw_kstr(w, "url", k->url);
	jw_kbool(w, "inactive", k->inactive);
	jw_key(w, "inactive_reason");
	if (k->inactive)
		jw_str(w, k->inactive_reason);
	else
		jw_null(w);
	jw_kint(w, "time_created", k->time_created);
	jw_end_obj(w);
}

static bool bad_form(struct fm_req *r, const char *msg)
{
	return req_fail(r, 400, "Rest", "BAD_FORM", msg);
}

/*
 * Create Webhook.  Registering a URL already registered (by this
 * developer) gives back that webhook, active again: that is how a client
 * revives one the API deactivated.
 */
void ep_webhook_create(struct fm_req *r)
{
	struct webhooks *h = r->w->hooks;
	const char *url = req_param(r, "url");
	int64_t dev = 0;
	struct hook *k = NULL;
	size_t i;

	if (!req_int(r, "developer_id", &dev))
		return;
	if (!req_param(r, "developer_id") || dev <= 0) {
		bad_form(r, "developer_id is required: the ID of the developer of the new webhook.");
		return;
	}
	if (!url || !*url) {
		bad_form(r, "url is required: the URL for the new webhook.");
		return;
	}
	if (!loopback_url(url)) {
		bad_form(r, "url must be an http(s) URL on 127.0.0.1, [::1] or localhost: flmock delivers to "
			    "loopback only.");
		return;
	}
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->nhooks && !k; i++)
		if (h->hooks[i].developer_id == dev && strcmp(h->hooks[i].url, url) == 0)
			k = &h->hooks[i];
	if (k) {
		k->inactive = false;
		k->inactive_reason[0] = '\0';
		k->failures = 0;
	} else {
		h->hooks = array_reserve(h->hooks, h->nhooks + 1, &h->cap, sizeof *h->hooks);
		k = &h->hooks[h->nhooks++];
		memset(k, 0, sizeof *k);
		k->id = h->next_id++;
		k->developer_id = dev;
		k->user_id = r->self;
		k->time_created = r->w->now;
		k->url = strdup(url);
		if (!k->url)
			abort();
	}
	r->object_id = k->id;
	out_hook(&r->jw, k);
	pthread_mutex_unlock(&h->mu);
}

static bool url_wanted(const struct fm_req *r, const char *url, bool *any)
{
	size_t i;
	bool hit = false;

	*any = false;
	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].key, "urls[]") == 0) {
			*any = true;
			hit = hit || strcmp(r->params[i].val, url) == 0;
		}
	return hit;
}

/* Get Webhooks: {"webhooks":[…]} filtered by ids, users, developers, urls and is_active. */
void ep_webhooks_list(struct fm_req *r)
{
	struct webhooks *h = r->w->hooks;
	struct idset ids = { 0 }, users = { 0 }, devs = { 0 };
	const char *active = req_param(r, "is_active");
	int want_active = -1;
	size_t i;

	if (active) {
		if (!strcasecmp(active, "true") || !strcmp(active, "1") || !*active)
			want_active = 1;
		else if (!strcasecmp(active, "false") || !strcmp(active, "0"))
			want_active = 0;
		else {
			bad_form(r, "is_active must be true or false.");
			return;
		}
	}
	if (!req_ids(r, "webhooks[]", &ids) || !req_ids(r, "users[]", &users) || !req_ids(r, "developers[]", &devs))
		goto done;
	pthread_mutex_lock(&h->mu);
	jw_obj(&r->jw);
	jw_karr(&r->jw, "webhooks");
	for (i = 0; i < h->nhooks; i++) {
		const struct hook *k = &h->hooks[i];
		bool any;

		if ((ids.on && !idset_has(&ids, k->id)) || (users.on && !idset_has(&users, k->user_id)) ||
		    (devs.on && !idset_has(&devs, k->developer_id)) ||
		    (want_active >= 0 && (want_active == 1) == k->inactive) ||
		    (!url_wanted(r, k->url, &any) && any))
			continue;
		out_hook(&r->jw, k);
	}
	jw_end_arr(&r->jw);
	jw_end_obj(&r->jw);
	pthread_mutex_unlock(&h->mu);
done:
	idset_free(&ids);
	idset_free(&users);
	idset_free(&devs);
}

/* ---- events -------------------------------------------------------------------------- */

enum { ID_THREAD, ID_MESSAGE, ID_PROJECT, ID_BID, ID_MILESTONE, ID_REQUEST, NIDS };

static const char *const id_names[NIDS] = { "thread_id", "message_id", "project_id", "bid_id", "milestone_id",
					    "request_id" };

/* An id that looks like a UUID, drawn from the seed and the event number. */
static void event_id(uint64_t seed, uint64_t seq, char out[40])
{
	struct rng g;
	uint64_t a, b;

	rng_seed(&g, seed ^ 0x3ebb00cull, seq);
	a = rng_next(&g);
	b = rng_next(&g);
	snprintf(out, 40, "%08llx-%04llx-4%03llx-%04llx-%012llx", (unsigned long long)(a >> 32),
		 (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xfff),
		 (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffull));
}

/* Compose and queue one event; h->mu held.  Nothing is queued without an active webhook. */
static void queue_event(struct webhooks *h, int64_t now, const char *type, const int64_t ids[NIDS])
{
	struct fm_buf b = { 0 };
	struct jw w;
	char id[40];
	size_t i, len;
	char *body;
	bool any = false;

	for (i = 0; i < h->nhooks; i++)
		any = any || !h->hooks[i].inactive;
	if (!any)
		return;
	h->emitted++;
	event_id(h->cfg->world.seed, ++h->seq, id);
	jw_init(&w, &b, false);
	jw_obj(&w);
	jw_kstr(&w, "id", id);
	jw_kstr(&w, "type", type);
	jw_kint(&w, "timestamp", now);
	jw_kobj(&w, "data");
	for (i = 0; i < NIDS; i++)
		if (ids[i])
			jw_kint(&w, id_names[i], ids[i]);
	jw_end_obj(&w);
	jw_end_obj(&w);
	body = buf_steal(&b, &len);
	deliver_push(h, body, len);
}

static void announce(struct world *w, const char *type, const int64_t ids[NIDS])
{
	struct webhooks *h = w->hooks;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	queue_event(h, w->now, type, ids);
	pthread_mutex_unlock(&h->mu);
}

static bool concerns_self(const struct world *w, int64_t bidder, int64_t owner)
{
	return bidder == w->self_id || owner == w->self_id;
}

/* "Private message is sent or received", "Message attachment is sent or received". */
void event_message(struct world *w, const struct message *m)
{
	const struct thread *t = world_thread(w, m->thread_id);
	int64_t ids[NIDS] = { 0 };
	bool sent = m->from_user == w->self_id;
	size_t i;
	bool member = false;

	for (i = 0; t && i < t->nmembers; i++)
		member = member || t->members[i] == w->self_id;
	if (!member)
		return;
	ids[ID_THREAD] = m->thread_id;
	ids[ID_MESSAGE] = m->id;
	if (t->context_type == 0 && t->context_id)
		ids[ID_PROJECT] = t->context_id;
	if (m->attachments)
		announce(w, sent ? "attachment.sent" : "attachment.received", ids);
	else
		announce(w, sent ? "message.sent" : "message.received", ids);
}

/* bid.awarded, bid.accepted, bid.denied, bid.revoked. */
void event_bid(struct world *w, const char *type, const struct bid *b)
{
	int64_t ids[NIDS] = { 0 };

	if (!concerns_self(w, b->bidder_id, b->project_owner_id))
		return;
	ids[ID_PROJECT] = b->project_id;
	ids[ID_BID] = b->id;
	announce(w, type, ids);
}

/* milestone.created, .cancelled, .released, .partially_released, .release_requested. */
void event_milestone(struct world *w, const char *type, const struct milestone *m)
{
	int64_t ids[NIDS] = { 0 };

	if (!concerns_self(w, m->bidder_id, m->project_owner_id))
		return;
	ids[ID_PROJECT] = m->project_id;
	ids[ID_BID] = m->bid_id;
	ids[ID_MILESTONE] = m->id;
	announce(w, type, ids);
}

/* "Freelancer has requested a milestone": milestone_request.created. */
void event_milestone_request(struct world *w, const struct milestone_request *q)
{
	int64_t ids[NIDS] = { 0 };

	if (!concerns_self(w, q->bidder_id, q->project_owner_id))
		return;
	ids[ID_PROJECT] = q->project_id;
	ids[ID_BID] = q->bid_id;
	ids[ID_REQUEST] = q->id;
	announce(w, "milestone_request.created", ids);
}

/* "Project has been completed": project.completed, b the awarded bid. */
void event_project_completed(struct world *w, const struct project *p, const struct bid *b)
{
	int64_t ids[NIDS] = { 0 };

	if (!concerns_self(w, b ? b->bidder_id : 0, p->owner_id))
		return;
	ids[ID_PROJECT] = p->id;
	if (b)
		ids[ID_BID] = b->id;
	announce(w, "project.completed", ids);
}

bool webhooks_emit(struct webhooks *h, int64_t now, const char *type, const int64_t ids[6], const char *raw,
		   char *err, size_t errlen)
{
	pthread_mutex_lock(&h->mu);
	if (raw) {
		char perr[128];
		yajl_val v = yajl_tree_parse(raw, perr, sizeof perr);
		bool any = false;
		size_t i;

		if (!v) {
			pthread_mutex_unlock(&h->mu);
			snprintf(err, errlen, "raw is not JSON: %s", perr);
			return false;
		}
		yajl_tree_free(v);
		for (i = 0; i < h->nhooks; i++)
			any = any || !h->hooks[i].inactive;
		if (any) {
			char *copy = strdup(raw);

			if (!copy)
				abort();
			h->emitted++;
			h->seq++;
			deliver_push(h, copy, strlen(copy));
		}
	} else {
		queue_event(h, now, type, ids);
	}
	pthread_mutex_unlock(&h->mu);
	return true;
}

void webhooks_stats(struct webhooks *h, struct fm_buf *b)
{
	pthread_mutex_lock(&h->mu);
	buf_printf(b,
		   "{\"webhooks\":%zu,\"emitted\":%ld,\"pending\":%zu,\"posts\":%ld,\"delivered\":%ld,\"failed\":%ld,"
		   "\"dropped\":%ld,\"duplicated\":%ld,\"delayed\":%ld,\"reordered\":%ld,\"overflow\":%ld,"
		   "\"faults\":{\"drop\":%g,\"dup\":%g,\"delay\":%g,\"reorder\":%g,\"delay_ms\":%ld,\"fail_after\":%ld}}\n",
		   h->nhooks, h->emitted, h->qn + (h->inflight ? 1 : 0), h->posts, h->delivered, h->failed, h->dropped,
		   h->duplicated, h->delayed, h->reordered, h->overflow, h->faults.drop, h->faults.dup, h->faults.delay,
		   h->faults.reorder, h->faults.delay_ms, h->faults.fail_after);
	pthread_mutex_unlock(&h->mu);
}
