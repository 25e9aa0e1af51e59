/*
 * world.c — storage of the world: typed arrays sorted by id (binary-search
 * lookups), appends with fresh ids, the lazily rebuilt updated-time indexes
 * and the sizing of a world from flags or a --scale preset.
 */
#include <stdlib.h>
#include <string.h>

#include "out.h"

/*
 * Ids start above 2^31 (the API's ids are 64-bit) and per kind far enough
 * apart that an id of one kind is never a valid id of another.
 */
static const int64_t id_base[8] = {
	3000000000LL, 4000000000LL, 5000000000LL, 6000000000LL,
	7000000000LL, 8000000000LL, 9000000000LL, 10000000000LL,
};

void world_config_defaults(struct world_config *c)
{
	memset(c, 0, sizeof *c);
	c->seed = 1;
	c->now = 1767225600; /* 2026-01-01T00:00:00Z, the same for every seed */
	c->users = 200;
	c->projects = 1000;
	c->bids_per_project = 5;
	c->milestones = 300;
	c->milestone_requests = 100;
	c->reviews = 300;
	c->threads = 100;
	c->messages_per_thread = 10;
	c->accounts = 1;
	c->span = 2 * 365 * 86400;
}

/*
 * About `records` in all: half bids, a sixth projects, a sixth messages,
 * and the rest spread so every kind is present even at small scales.
 */
void world_config_scale(struct world_config *c, size_t records)
{
	double n = (double)records;

	c->users = (size_t)(n * 0.02) + 10;
	c->projects = (size_t)(n * 0.16) + 20;
	c->bids_per_project = n * 0.50 / (double)c->projects;
	c->milestones = (size_t)(n * 0.06) + 5;
	c->milestone_requests = (size_t)(n * 0.03) + 5;
	c->reviews = (size_t)(n * 0.06) + 5;
	c->threads = (size_t)(n * 0.015) + 5;
	c->messages_per_thread = n * 0.175 / (double)c->threads;
}

struct world *world_generate(const struct world_config *c)
{
	struct world *w = calloc(1, sizeof *w);
	int k;

	if (!w)
		return NULL;
	w->cfg = *c;
	if (c->accounts > 1) {
		/* Every size is one account's share: N accounts make an N times larger world. */
		size_t n = c->accounts;

		w->cfg.users = c->users * n;
		w->cfg.projects = c->projects * n;
		w->cfg.milestones = c->milestones * n;
		w->cfg.milestone_requests = c->milestone_requests * n;
		w->cfg.reviews = c->reviews * n;
		w->cfg.threads = c->threads * n;
		if (w->cfg.users < 2 * n + 3)
			w->cfg.users = 2 * n + 3;
	} else {
		w->cfg.accounts = 1;
	}
	w->naccounts = w->cfg.accounts;
	w->accounts = calloc(w->naccounts, sizeof *w->accounts);
	if (!w->accounts) {
		free(w);
		return NULL;
	}
	w->now = c->now;
	for (k = 0; k < 8; k++)
		w->next_id[k] = id_base[k];
	if (!generate_world(w)) {
		world_free(w);
		return NULL;
	}
	return w;
}

void world_free(struct world *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->projects.n; i++) {
		free(w->projects.v[i].title);
		free(w->projects.v[i].description);
	}
	for (i = 0; i < w->bids.n; i++)
		free(w->bids.v[i].description);
	for (i = 0; i < w->milestones.n; i++)
		free(w->milestones.v[i].description);
	for (i = 0; i < w->milestone_requests.n; i++)
		free(w->milestone_requests.v[i].description);
	for (i = 0; i < w->reviews.n; i++)
		free(w->reviews.v[i].description);
	for (i = 0; i < w->messages.n; i++) {
		free(w->messages.v[i].text);
		free(w->messages.v[i].attachments);
	}
	free(w->accounts);
	free(w->users.v);
	free(w->projects.v);
	free(w->bids.v);
	free(w->milestones.v);
	free(w->milestone_requests.v);
	free(w->reviews.v);
	free(w->threads.v);
	free(w->messages.v);
	free(w->invites.v);
	free(w->bid_start);
	free(w->bid_list);
	free(w->projects_by_update.ix);
	free(w->threads_by_update.ix);
	free(w->messages_by_update.ix);
	free(w);
}

size_t world_records(const struct world *w)
{
	return w->users.n + w->projects.n + w->bids.n + w->milestones.n +
	       w->milestone_requests.n + w->reviews.n + w->threads.n + w->messages.n;
}

/* Every record struct starts with its int64 id: one binary search for all. */
static void *find_by_id(void *base, size_t n, size_t size, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = *(const int64_t *)((const char *)base + mid * size);

		if (v < id)
			lo = mid + 1;
		else if (v > id)
			hi = mid;
		else
			return (char *)base + mid * size;
	}
	return NULL;
}

#define FIND(vec, id) find_by_id((vec).v, (vec).n, sizeof *(vec).v, (id))

struct user *world_user(struct world *w, int64_t id) { return FIND(w->users, id); }
struct project *world_project(struct world *w, int64_t id) { return FIND(w->projects, id); }
struct bid *world_bid(struct world *w, int64_t id) { return FIND(w->bids, id); }
struct milestone *world_milestone(struct world *w, int64_t id) { return FIND(w->milestones, id); }
struct milestone_request *world_milestone_request(struct world *w, int64_t id)
{
	return FIND(w->milestone_requests, id);
}
struct thread *world_thread(struct world *w, int64_t id) { return FIND(w->threads, id); }
struct message *world_message(struct world *w, int64_t id) { return FIND(w->messages, id); }
struct user *world_self(struct world *w) { return world_user(w, w->self_id); }

int world_account_of(struct world *w, int64_t id)
{
	const struct user *u = world_user(w, id);

	return u ? u->account : 0;
}

/* Grow an array by one zeroed record. */
static void *grow(void **v, size_t *n, size_t *cap, size_t size)
{
	char *p;

	*v = array_reserve(*v, *n + 1, cap, size);
	p = (char *)*v + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

#define ADD(w, vec, kind) \
	add_record(w, (void **)&(vec).v, &(vec).n, &(vec).cap, sizeof *(vec).v, kind)

/* Ids grow by a small deterministic gap, so they are sparse like real ones. */
int64_t world_take_id(struct world *w, enum kind k)
{
	int64_t id = w->next_id[k];

	w->next_id[k] += 1 + (int64_t)(rng_mix((uint64_t)id ^ w->cfg.seed) % 7);
	return id;
}

static void *add_record(struct world *w, void **v, size_t *n, size_t *cap, size_t size, int kind)
{
	int64_t *rec = grow(v, n, cap, size);

	if (!rec)
		return NULL;
	*rec = world_take_id(w, (enum kind)kind);
	return rec;
}

struct project *world_add_project(struct world *w)
{
	struct project *p = ADD(w, w->projects, K_PROJECT);

	w->projects_by_update.dirty = true;
	return p;
}

struct bid *world_add_bid(struct world *w) { return ADD(w, w->bids, K_BID); }
struct milestone *world_add_milestone(struct world *w) { return ADD(w, w->milestones, K_MILESTONE); }
struct milestone_request *world_add_milestone_request(struct world *w)
{
	return ADD(w, w->milestone_requests, K_MILESTONE_REQUEST);
}
struct review *world_add_review(struct world *w) { return ADD(w, w->reviews, K_REVIEW); }

struct thread *world_add_thread(struct world *w)
{
	struct thread *t = ADD(w, w->threads, K_THREAD);

	w->threads_by_update.dirty = true;
	return t;
}

struct message *world_add_message(struct world *w)
{
	struct message *m = ADD(w, w->messages, K_MESSAGE);

	w->messages_by_update.dirty = true;
	return m;
}

static char *dup_text(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

struct bid *world_new_bid(struct world *w, struct project *p, int64_t bidder, double amount, int period, int pct,
			  const char *desc)
{
	struct bid *b = world_add_bid(w);

	if (!b)
		abort();
	b->project_id = p->id;
	b->bidder_id = bidder;
	b->project_owner_id = p->owner_id;
	b->time_submitted = w->now;
	b->amount = amount;
	b->period = (uint16_t)period;
	b->milestone_percentage = (uint8_t)pct;
	b->description = dup_text(desc);
	world_bid_placed(w, p, b);
	return b;
}

struct milestone *world_new_milestone(struct world *w, const struct bid *b, double amount, int reason,
				      const char *desc)
{
	const struct project *p = world_project(w, b->project_id);
	struct milestone *m = world_add_milestone(w);

	if (!m || !p)
		abort(); /* out of memory, or a bid without its project: a broken world */
	m->project_id = p->id;
	m->bid_id = b->id;
	m->bidder_id = b->bidder_id;
	m->project_owner_id = p->owner_id;
	m->time_created = w->now;
	m->amount = amount;
	m->currency = p->currency;
	m->status = MS_FROZEN;
	m->reason = (uint8_t)reason;
	m->description = dup_text(desc);
	return m;
}

struct milestone_request *world_new_milestone_request(struct world *w, const struct bid *b, double amount,
						       const char *desc)
{
	const struct project *p = world_project(w, b->project_id);
	struct milestone_request *q = world_add_milestone_request(w);

	if (!q || !p)
		abort(); /* out of memory, or a bid without its project: a broken world */
	q->project_id = p->id;
	q->bid_id = b->id;
	q->bidder_id = b->bidder_id;
	q->project_owner_id = p->owner_id;
	q->time_requested = w->now;
	q->amount = amount;
	q->currency = p->currency;
	q->status = MR_PENDING;
	q->description = dup_text(desc);
	return q;
}

void world_touch_project(struct world *w, struct project *p, int64_t t)
{
	if (t > p->time_updated)
		p->time_updated = t;
	w->projects_by_update.dirty = true;
}

void world_touch_thread(struct world *w, struct thread *t, int64_t when)
{
	if (when > t->time_updated)
		t->time_updated = when;
	w->threads_by_update.dirty = true;
}

void world_touch_message(struct world *w, struct message *m, int64_t when)
{
	if (when > m->time_updated)
		m->time_updated = when;
	w->messages_by_update.dirty = true;
}

/* bid_stats follow the live (unretracted) bids of a project. */
void world_bid_placed(struct world *w, struct project *p, const struct bid *b)
{
	p->bid_count++;
	p->bid_total += b->amount;
	world_touch_project(w, p, b->time_submitted);
}

void world_bid_removed(struct world *w, struct project *p, const struct bid *b)
{
	if (p->bid_count) {
		p->bid_count--;
		p->bid_total -= b->amount;
	}
	world_touch_project(w, p, w->now);
}

/* ---- updated-time indexes -------------------------------------------------- */

/* qsort has no context argument: the rebuild runs under the world lock. */
static const char *sort_base;
static size_t sort_size, sort_off;

static int cmp_time_id(const void *a, const void *b)
{
	const char *ra = sort_base + (size_t)*(const uint32_t *)a * sort_size;
	const char *rb = sort_base + (size_t)*(const uint32_t *)b * sort_size;
	int64_t ta = *(const int64_t *)(ra + sort_off), tb = *(const int64_t *)(rb + sort_off);
	int64_t ia = *(const int64_t *)ra, ib = *(const int64_t *)rb;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static void rebuild(struct time_index *ti, const void *base, size_t n, size_t size, size_t off)
{
	uint32_t *ix;
	size_t i;

	if (!ti->dirty && ti->n == n)
		return;
	ix = realloc(ti->ix, (n ? n : 1) * sizeof *ix);
	if (!ix)
		abort();
	for (i = 0; i < n; i++)
		ix[i] = (uint32_t)i;
	sort_base = base;
	sort_size = size;
	sort_off = off;
	qsort(ix, n, sizeof *ix, cmp_time_id);
	ti->ix = ix;
	ti->n = n;
	ti->dirty = false;
}

#define REBUILD(ti, vec, type, field) \
	rebuild(&(ti), (vec).v, (vec).n, sizeof(type), offsetof(type, field))

const struct time_index *world_projects_by_update(struct world *w)
{
	REBUILD(w->projects_by_update, w->projects, struct project, time_updated);
	return &w->projects_by_update;
}

const struct time_index *world_threads_by_update(struct world *w)
{
	REBUILD(w->threads_by_update, w->threads, struct thread, time_updated);
	return &w->threads_by_update;
}

const struct time_index *world_messages_by_update(struct world *w)
{
	REBUILD(w->messages_by_update, w->messages, struct message, time_updated);
	return &w->messages_by_update;
}

static size_t lower_bound(const void *base, size_t n, size_t size, size_t off, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (*(const int64_t *)((const char *)base + mid * size + off) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void world_time_range(const void *base, size_t n, size_t size, size_t off,
		      int64_t from, int64_t to, size_t *lo, size_t *hi)
{
	*lo = lower_bound(base, n, size, off, from);
	*hi = lower_bound(base, n, size, off, to);
	if (*hi < *lo)
		*hi = *lo;
}
