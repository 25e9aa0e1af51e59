/*
 * generate.c — builds the initial world from the seed: users (one of them
 * "self", or N of them with --accounts N), projects with bids and their award
 * history, milestones, milestone requests, reviews, and the accounts' threads
 * with their messages.  With one account every draw is as it always was, so a
 * seed gives the same world; more accounts draw more, only where they must.  Records of each
 * kind are generated, sorted by created time, then given ascending ids, so
 * the id order is the created-time order (what makes windows cheap).
 */
#include <stdlib.h>
#include <string.h>

#include "out.h"


struct gen {
	struct world *w;
	struct rng r;
	int64_t t0;                /* now - the world's span */
	uint32_t *self_bids;       /* indices of accepted bids that involve self */
	uint32_t *other_bids;      /* indices of the other accepted bids */
	size_t nself, nother;
	/* accepted bids by account (several accounts only): CSR over acct_bids */
	uint32_t *acct_start, *acct_bids;
};

static void sort_by_time(void *base, size_t n, size_t size, size_t off, enum kind k, struct world *w);

/*
 * n ascending times in [from, to): about a quarter share the previous
 * record's second, and some sit exactly on an hour boundary, because window
 * edges are where sync bugs live.
 */
static void sorted_times(struct rng *r, int64_t *out, size_t n, int64_t from, int64_t to)
{
	double avg = n ? (double)(to - from) / ((double)n * 1.1) : 0, cur = (double)from;
	double p_snap = avg / 7200.0;
	size_t i;

	if (p_snap > 1.0 / 16)
		p_snap = 1.0 / 16;
	for (i = 0; i < n; i++) {
		int64_t t;

		if (i == 0 || rng_below(r, 4) != 0)
			cur += avg * 4.0 / 3.0 * (double)rng_below(r, 1000) / 1000.0;
		t = (int64_t)cur;
		if (rng_chance(r, p_snap)) {
			int64_t up = (t + 3599) / 3600 * 3600;

			if (up < to) {
				t = up;
				cur = (double)up;
			}
		}
		if (t >= to)
			t = to - 1;
		if (i && t < out[i - 1])
			t = out[i - 1];
		out[i] = t;
	}
}

static int64_t *times_or_die(size_t n)
{
	int64_t *t = malloc((n ? n : 1) * sizeof *t);

	if (!t)
		abort();
	return t;
}

static void *alloc_or_die(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

static int64_t time_between(struct rng *r, int64_t from, int64_t to)
{
	if (to <= from)
		return from;
	return from + (int64_t)(rng_next(r) % (uint64_t)(to - from));
}

/* ---- users ------------------------------------------------------------------ */

static void pick_jobs(struct rng *r, uint8_t *jobs, uint8_t *njobs)
{
	uint8_t n = (uint8_t)(1 + rng_below(r, MAX_JOBS)), i, k;

	*njobs = 0;
	for (i = 0; i < n; i++) {
		uint8_t j = (uint8_t)rng_below(r, (uint32_t)ref_njobs_drawn);

		for (k = 0; k < *njobs && jobs[k] != j; k++)
			;
		if (k == *njobs)
			jobs[(*njobs)++] = j;
	}
}

static uint8_t pick_currency(struct rng *r)
{
	/* Mostly USD, as on the real site; the rest exercise conversions. */
	return rng_below(r, 10) < 6 ? 0 : (uint8_t)rng_below(r, (uint32_t)ref_ncurrencies);
}

static void gen_users(struct gen *g)
{
	struct world *w = g->w;
	size_t n = w->cfg.users < 3 ? 3 : w->cfg.users, i;
	int64_t *t = times_or_die(n);

	sorted_times(&g->r, t, n, w->now - 10LL * 365 * 86400, w->now - 365LL * 86400);
	w->users.v = alloc_or_die(n, sizeof *w->users.v);
	w->users.n = w->users.cap = n;
	for (i = 0; i < n; i++) {
		struct user *u = &w->users.v[i];

		u->id = world_take_id(w, K_USER);
		u->registration_date = t[i];
		u->country = (uint16_t)rng_below(&g->r, (uint32_t)ref_ncountries);
		u->currency = pick_currency(&g->r);
		u->role = (uint8_t)rng_below(&g->r, 3);
		u->verified = rng_below(&g->r, 5) != 0;
		pick_jobs(&g->r, u->jobs, &u->njobs);
	}
	i = rng_below(&g->r, (uint32_t)n);
	w->self_id = w->users.v[i].id;
	for (size_t k = 0; k < w->naccounts; k++) {
		/* Accounts 2..N: more distinct users, drawn only when there are more. */
		while (k && w->users.v[i].account)
			i = rng_below(&g->r, (uint32_t)n);
		w->accounts[k] = w->users.v[i].id;
		w->users.v[i].account = (uint16_t)(k + 1);
		w->users.v[i].role = 2; /* self is both employer and freelancer */
		w->users.v[i].verified = true;
	}
	free(t);
}

/* Anyone but not1, not2 and the accounts themselves. */
static int64_t other_user(struct gen *g, int64_t not1, int64_t not2)
{
	for (;;) {
		const struct user *u = &g->w->users.v[rng_below(&g->r, (uint32_t)g->w->users.n)];

		if (u->id != not1 && u->id != not2 && !u->account)
			return u->id;
	}
}

/*
 * Record i of n is at a guaranteed spot of some account's share when it
 * falls on one of the fractions `at` of that account's slice of the range:
 * returns that account's index, or -1.  With one account the slice is the
 * whole range, as before accounts were several.
 */
static long slice_spot(const struct world *w, size_t i, size_t n, const size_t *num, size_t den, size_t nat)
{
	size_t per = n / w->naccounts, a, j, k;

	if (per == 0)
		per = 1;
	a = i / per;
	if (a >= w->naccounts)
		return -1;
	j = i % per;
	for (k = 0; k < nat; k++)
		if (j == (num[k] == den ? per - 1 : per * num[k] / den))
			return (long)a;
	return -1;
}

/* ---- projects and bids ------------------------------------------------------ */

static const double fixed_budgets[] = { 10, 30, 100, 250, 500, 750, 1500, 3000, 5000 };
static const double hourly_budgets[] = { 2, 8, 15, 25, 50 };

static void gen_project(struct gen *g, struct project *p, size_t i, size_t n)
{
	struct world *w = g->w;
	static const size_t quarters[] = { 1, 2, 3, 4 };
	bool chance = rng_chance(&g->r, 0.04);
	long spot = slice_spot(w, i, n, quarters, 4, 4);
	const struct user *owner;

	if (spot >= 0)
		p->owner_id = w->accounts[spot];
	else if (chance)
		p->owner_id = w->naccounts > 1 ? w->accounts[rng_below(&g->r, (uint32_t)w->naccounts)] : w->self_id;
	else
		p->owner_id = other_user(g, w->self_id, 0);
	owner = world_user(w, p->owner_id);
	p->country = owner->country;
	p->currency = owner->currency;
	p->hourly = rng_below(&g->r, 5) == 0;
	if (p->hourly)
		p->budget_min = hourly_budgets[rng_below(&g->r, 5)];
	else
		p->budget_min = fixed_budgets[rng_below(&g->r, 9)];
	p->budget_max = p->budget_min * (1 + rng_below(&g->r, 4));
	pick_jobs(&g->r, p->jobs, &p->njobs);
	p->upgrades = rng_below(&g->r, 4) == 0 ? (uint8_t)rng_below(&g->r, 256) : 0;
	p->local = rng_below(&g->r, 20) == 0;
	p->hireme = rng_below(&g->r, 40) == 0;
	if (p->hireme)
		/* A hire-me project carries job 417, "Hire Me" (as the official SDK posts one). */
		p->jobs[p->njobs < MAX_JOBS ? p->njobs++ : MAX_JOBS - 1] = (uint8_t)(ref_njobs - 1);
	p->status = PS_ACTIVE;
	p->time_updated = p->time_submitted;
}

/* Distinct bidders for one project, never its owner; self sometimes. */
static size_t pick_bidders(struct gen *g, const struct project *p, size_t i, int64_t *out, size_t max)
{
	struct world *w = g->w;
	double bpp = w->cfg.bids_per_project;
	static const size_t thirds[] = { 1, 2 };
	size_t nb = (size_t)(bpp * 2.0 * (double)rng_below(&g->r, 1001) / 1000.0 + 0.5), k, j;
	int64_t self = w->self_id;
	bool self_bids;

	if (w->naccounts <= 1) {
		self_bids = p->owner_id != w->self_id &&
			    (rng_chance(&g->r, 0.08) || i == w->projects.n / 3 || i == 2 * w->projects.n / 3);
	} else {
		/* One of the accounts bids; never the project's owner. */
		long spot = slice_spot(w, i, w->projects.n, thirds, 3, 2);

		self_bids = rng_chance(&g->r, 0.08) || spot >= 0;
		if (self_bids) {
			size_t a = spot >= 0 ? (size_t)spot : rng_below(&g->r, (uint32_t)w->naccounts);

			if (w->accounts[a] == p->owner_id)
				a = (a + 1) % w->naccounts;
			self = w->accounts[a];
		}
	}

	if (nb > max)
		nb = max;
	/* Bidders other than self are never the owner nor an account. */
	if (nb > w->users.n - w->naccounts - 1)
		nb = w->users.n - w->naccounts - 1;
	if (self_bids && nb == 0)
		nb = 1;
	for (k = 0; k < nb; k++) {
		int64_t id;

		do {
			id = (k == 0 && self_bids) ? self : other_user(g, p->owner_id, self);
			for (j = 0; j < k && out[j] != id; j++)
				;
		} while (j < k);
		out[k] = id;
	}
	return nb;
}

/*
 * A project's story: bids arrive over its first two weeks; then maybe an
 * award (pending), an accepted award (in progress or complete), a revoked or
 * rejected award; old unawarded projects close; a few are deleted.
 */
static void settle_project(struct gen *g, struct project *p, struct bid *bids, size_t nb)
{
	struct world *w = g->w;
	int64_t age = w->now - p->time_submitted, last = p->time_submitted;
	uint32_t story = rng_below(&g->r, 100);
	size_t k;

	for (k = 0; k < nb; k++) {
		if (bids[k].time_submitted > last)
			last = bids[k].time_submitted;
		if (rng_below(&g->r, 20) == 0)
			bids[k].retracted = true;
	}
	if (nb && story < 50) {
		struct bid *b = &bids[rng_below(&g->r, (uint32_t)nb)];

		b->retracted = false;
		b->time_awarded = time_between(&g->r, last, w->now);
		last = b->time_awarded;
		if (story < 12) {
			b->award_status = AW_PENDING;
		} else if (story < 42) {
			b->award_status = AW_AWARDED;
			b->time_accepted = time_between(&g->r, b->time_awarded, w->now);
			last = b->time_accepted;
			p->status = story < 28 ? PS_FROZEN : PS_COMPLETE;
			b->paid_full = p->status == PS_COMPLETE;
		} else {
			b->award_status = story < 46 ? AW_REVOKED : AW_REJECTED;
		}
	}
	/* Others' stale projects close; self keeps a few open ones to award from. */
	if (p->status == PS_ACTIVE && story >= 12 &&
	    age > (world_is_account(w, p->owner_id) ? 400LL : 60LL) * 86400)
		p->status = PS_CLOSED;
	p->deleted = rng_below(&g->r, 100) == 0;
	p->time_updated = last;
	for (k = 0; k < nb; k++)
		if (!bids[k].retracted) {
			p->bid_count++;
			p->bid_total += bids[k].amount;
		}
}

static void fill_bid(struct gen *g, const struct project *p, struct bid *b, int64_t bidder)
{
	struct world *w = g->w;
	int64_t end = p->time_submitted + 14 * 86400;

	b->project_id = p->id;
	b->project_owner_id = p->owner_id;
	b->bidder_id = bidder;
	b->time_submitted = time_between(&g->r, p->time_submitted, end < w->now ? end : w->now);
	b->amount = p->budget_min + (double)rng_below(&g->r, (uint32_t)(p->budget_max - p->budget_min + 1));
	b->period = (uint16_t)(1 + rng_below(&g->r, 30));
	b->milestone_percentage = (uint8_t)(rng_below(&g->r, 3) * 50);
	b->highlighted = rng_below(&g->r, 15) == 0;
	b->shortlisted = rng_below(&g->r, 10) == 0;
}

static void gen_projects_and_bids(struct gen *g)
{
	struct world *w = g->w;
	size_t n = w->cfg.projects ? w->cfg.projects : 1, i, cap, nbids = 0;
	int64_t *t = times_or_die(n), bidders[64];
	struct bid *bids;

	sorted_times(&g->r, t, n, g->t0, w->now);
	w->projects.v = alloc_or_die(n, sizeof *w->projects.v);
	w->projects.n = w->projects.cap = n;
	cap = (size_t)((double)n * w->cfg.bids_per_project * 1.2) + 16;
	bids = alloc_or_die(cap, sizeof *bids);
	for (i = 0; i < n; i++) {
		struct project *p = &w->projects.v[i];
		size_t nb, k;

		p->id = world_take_id(w, K_PROJECT);
		p->time_submitted = t[i];
		gen_project(g, p, i, n);
		nb = pick_bidders(g, p, i, bidders, 64);
		bids = array_reserve(bids, nbids + nb, &cap, sizeof *bids);
		memset(bids + nbids, 0, nb * sizeof *bids);
		for (k = 0; k < nb; k++)
			fill_bid(g, p, &bids[nbids + k], bidders[k]);
		settle_project(g, p, bids + nbids, nb);
		nbids += nb;
	}
	sort_by_time(bids, nbids, sizeof *bids, offsetof(struct bid, time_submitted), K_BID, w);
	w->bids.v = bids;
	w->bids.n = nbids;
	w->bids.cap = cap;
	free(t);
}

/* ---- milestones, milestone requests, reviews --------------------------------- */

/* Accepted bids involving each account (a bid between two accounts is under both). */
static void index_accounts(struct gen *g)
{
	struct world *w = g->w;
	size_t na = w->naccounts, j, *fill;

	g->acct_start = alloc_or_die(na + 1, sizeof *g->acct_start);
	g->acct_bids = alloc_or_die(2 * g->nself, sizeof *g->acct_bids);
	fill = alloc_or_die(na, sizeof *fill);
	for (j = 0; j < g->nself; j++) {
		const struct bid *b = &w->bids.v[g->self_bids[j]];
		int x = world_account_of(w, b->bidder_id), y = world_account_of(w, b->project_owner_id);

		if (x)
			g->acct_start[x]++;
		if (y && y != x)
			g->acct_start[y]++;
	}
	for (j = 0; j < na; j++)
		g->acct_start[j + 1] += g->acct_start[j];
	for (j = 0; j < g->nself; j++) {
		const struct bid *b = &w->bids.v[g->self_bids[j]];
		int x = world_account_of(w, b->bidder_id), y = world_account_of(w, b->project_owner_id);

		if (x)
			g->acct_bids[g->acct_start[x - 1] + fill[x - 1]++] = g->self_bids[j];
		if (y && y != x)
			g->acct_bids[g->acct_start[y - 1] + fill[y - 1]++] = g->self_bids[j];
	}
	free(fill);
}

/* Accepted bids, self's first: the sized kinds go to them round-robin. */
static void collect_accepted(struct gen *g)
{
	struct world *w = g->w;
	size_t i;

	g->self_bids = alloc_or_die(w->bids.n, sizeof *g->self_bids);
	g->other_bids = alloc_or_die(w->bids.n, sizeof *g->other_bids);
	for (i = 0; i < w->bids.n; i++) {
		const struct bid *b = &w->bids.v[i];

		if (b->award_status != AW_AWARDED)
			continue;
		if (world_is_account(w, b->bidder_id) || world_is_account(w, b->project_owner_id))
			g->self_bids[g->nself++] = (uint32_t)i;
		else
			g->other_bids[g->nother++] = (uint32_t)i;
	}
	if (w->naccounts > 1)
		index_accounts(g);
}

static struct bid *nth_accepted(struct gen *g, size_t j)
{
	size_t n = g->nself + g->nother;

	j %= n;
	return &g->w->bids.v[j < g->nself ? g->self_bids[j] : g->other_bids[j - g->nself]];
}

static void gen_milestones(struct gen *g)
{
	struct world *w = g->w;
	size_t n = g->nself + g->nother ? w->cfg.milestones : 0, j;
	struct milestone *ms = alloc_or_die(n, sizeof *ms);

	for (j = 0; j < n; j++) {
		struct bid *b = nth_accepted(g, j);
		const struct project *p = world_project(w, b->project_id);
		struct milestone *m = &ms[j];
		uint32_t s = rng_below(&g->r, 100);

		m->project_id = b->project_id;
		m->bid_id = b->id;
		m->bidder_id = b->bidder_id;
		m->project_owner_id = b->project_owner_id;
		m->time_created = time_between(&g->r, b->time_accepted, w->now);
		m->currency = p->currency;
		m->amount = b->amount * (double)(1 + rng_below(&g->r, 4)) / 4.0;
		m->reason = (uint8_t)rng_below(&g->r, 4);
		if (p->status == PS_COMPLETE)
			m->status = s < 90 ? MS_CLEARED : MS_CANCELED;
		else
			m->status = s < 50 ? MS_FROZEN : s < 65 ? MS_REQUESTED : s < 90 ? MS_CLEARED : MS_CANCELED;
	}
	sort_by_time(ms, n, sizeof *ms, offsetof(struct milestone, time_created), K_MILESTONE, w);
	w->milestones.v = ms;
	w->milestones.n = w->milestones.cap = n;
}

static void gen_milestone_requests(struct gen *g)
{
	struct world *w = g->w;
	size_t n = g->nself + g->nother ? w->cfg.milestone_requests : 0, j;
	struct milestone_request *ms = alloc_or_die(n, sizeof *ms);
	size_t ncand = g->nself + g->nother;
	bool *pending = alloc_or_die(ncand, sizeof *pending);

	for (j = 0; j < n; j++) {
		struct bid *b = nth_accepted(g, j);
		struct milestone_request *m = &ms[j];
		uint32_t s = rng_below(&g->r, 100);

		m->project_id = b->project_id;
		m->bid_id = b->id;
		m->bidder_id = b->bidder_id;
		m->project_owner_id = b->project_owner_id;
		m->time_requested = time_between(&g->r, b->time_accepted, w->now);
		m->currency = world_project(w, b->project_id)->currency;
		m->amount = b->amount / 2;
		m->status = s < 30 ? MR_PENDING : s < 70 ? MR_CREATED : s < 90 ? MR_REJECTED : MR_DELETED;
		/* At most one pending request per bid (MILESTONE_REQUEST_PENDING). */
		if (m->status == MR_PENDING) {
			if (pending[j % ncand])
				m->status = MR_CREATED;
			pending[j % ncand] = true;
		}
	}
	free(pending);
	sort_by_time(ms, n, sizeof *ms, offsetof(struct milestone_request, time_requested), K_MILESTONE_REQUEST, w);
	w->milestone_requests.v = ms;
	w->milestone_requests.n = w->milestone_requests.cap = n;
}

/* Completed projects get reviews both ways, once per reviewer per project. */
static void gen_reviews(struct gen *g)
{
	struct world *w = g->w;
	size_t ncand = 0, n = 0, j, want = w->cfg.reviews;
	uint32_t *cand = alloc_or_die(g->nself + g->nother, sizeof *cand);
	struct review *rv;

	for (j = 0; j < g->nself + g->nother; j++) {
		struct bid *b = nth_accepted(g, j);

		if (world_project(w, b->project_id)->status == PS_COMPLETE)
			cand[ncand++] = (uint32_t)(b - w->bids.v);
	}
	if (want > 2 * ncand)
		want = 2 * ncand;
	rv = alloc_or_die(want, sizeof *rv);
	for (j = 0; j < want; j++) {
		const struct bid *b = &w->bids.v[cand[j % ncand]];
		bool to_freelancer = j < ncand;
		struct review *r;

		/* Self leaves every other review unwritten: something to post. */
		if (world_is_account(w, to_freelancer ? b->project_owner_id : b->bidder_id) && j % 2)
			continue;
		r = &rv[n++];
		r->project_id = b->project_id;
		r->from_user_id = to_freelancer ? b->project_owner_id : b->bidder_id;
		r->to_user_id = to_freelancer ? b->bidder_id : b->project_owner_id;
		r->to_freelancer = to_freelancer;
		r->time_submitted = time_between(&g->r, b->time_accepted, w->now);
		r->rating = 1 + (double)rng_below(&g->r, 41) / 10.0;
		r->bid_amount = b->amount;
		r->paid_amount = b->amount;
		r->currency = world_project(w, b->project_id)->currency;
	}
	free(cand);
	sort_by_time(rv, n, sizeof *rv, offsetof(struct review, time_submitted), K_REVIEW, w);
	w->reviews.v = rv;
	w->reviews.n = w->reviews.cap = n;
}

/* ---- threads and messages ----------------------------------------------------- */

/* A thread of account `acct` (index): its view, members[0], is that account's. */
static void thread_context(struct gen *g, struct thread *t, size_t acct)
{
	struct world *w = g->w;
	int64_t self = w->accounts[acct];
	const uint32_t *mine = g->self_bids;
	size_t nmine = g->nself;

	if (w->naccounts > 1) {
		mine = g->acct_bids + g->acct_start[acct];
		nmine = g->acct_start[acct + 1] - g->acct_start[acct];
	}
	t->members[0] = self;
	t->nmembers = 2;
	if (nmine && rng_below(&g->r, 10) < 7) {
		const struct bid *b = &w->bids.v[mine[rng_below(&g->r, (uint32_t)nmine)]];

		t->context_type = 0;
		t->context_id = b->project_id;
		t->members[1] = b->bidder_id == self ? b->project_owner_id : b->bidder_id;
	} else {
		t->context_type = 1;
		t->members[1] = other_user(g, self, 0);
	}
	if (rng_below(&g->r, 10) == 0) {
		t->members[2] = other_user(g, self, t->members[1]);
		t->nmembers = 3;
	}
	t->owner = t->members[rng_below(&g->r, 2)];
	t->primary = rng_below(&g->r, 4) == 0;
}

static void gen_threads(struct gen *g)
{
	struct world *w = g->w;
	size_t n = w->cfg.threads, i;
	int64_t *t = times_or_die(n);

	sorted_times(&g->r, t, n, g->t0, w->now);
	w->threads.v = alloc_or_die(n, sizeof *w->threads.v);
	w->threads.n = w->threads.cap = n;
	for (i = 0; i < n; i++) {
		struct thread *th = &w->threads.v[i];

		th->id = world_take_id(w, K_THREAD);
		th->time_created = t[i];
		th->time_updated = t[i];
		thread_context(g, th, i % w->naccounts); /* the accounts take turns */
		th->folder = (uint8_t)rng_below(&g->r, 3);
		th->is_muted = rng_below(&g->r, 10) == 0;
	}
	free(t);
}

static void fill_message(struct gen *g, const struct thread *t, struct message *m)
{
	struct world *w = g->w;

	m->thread_id = t->id;
	m->from_user = t->members[rng_below(&g->r, t->nmembers)];
	m->time_created = time_between(&g->r, t->time_created, w->now);
	m->time_updated = m->time_created;
	if (world_is_account(w, m->from_user) && rng_below(&g->r, 3) == 0)
		m->client_message_id = (int64_t)(rng_next(&g->r) >> 12);
	if (rng_below(&g->r, 33) == 0) {
		m->edited = true;
		m->time_updated = time_between(&g->r, m->time_created, w->now);
	} else if (rng_below(&g->r, 100) == 0) {
		m->removed = true;
		m->time_updated = time_between(&g->r, m->time_created, w->now);
	}
}

/* Threads' updated time, counts and read state follow their messages. */
static void settle_threads(struct gen *g)
{
	struct world *w = g->w;
	size_t i;

	for (i = 0; i < w->messages.n; i++) {
		const struct message *m = &w->messages.v[i];
		struct thread *t = world_thread(w, m->thread_id);

		t->message_count++;
		if (m->time_updated > t->time_updated)
			t->time_updated = m->time_updated;
	}
	for (i = 0; i < w->threads.n; i++) {
		struct thread *t = &w->threads.v[i];

		t->is_read = rng_below(&g->r, 10) < 7;
		t->time_read = t->is_read ? t->time_updated : time_between(&g->r, t->time_created, t->time_updated);
	}
}

static void gen_messages(struct gen *g)
{
	struct world *w = g->w;
	double mpt = w->cfg.messages_per_thread;
	size_t cap = (size_t)((double)w->threads.n * mpt * 1.2) + 16, n = 0, i, k;
	struct message *ms = alloc_or_die(cap, sizeof *ms);

	for (i = 0; i < w->threads.n; i++) {
		size_t nm = (size_t)(mpt * 2.0 * (double)rng_below(&g->r, 1001) / 1000.0 + 0.5);

		ms = array_reserve(ms, n + nm, &cap, sizeof *ms);
		memset(ms + n, 0, nm * sizeof *ms);
		for (k = 0; k < nm; k++)
			fill_message(g, &w->threads.v[i], &ms[n++]);
	}
	sort_by_time(ms, n, sizeof *ms, offsetof(struct message, time_created), K_MESSAGE, w);
	w->messages.v = ms;
	w->messages.n = n;
	w->messages.cap = cap;
	settle_threads(g);
}

/* ---- ordering and ids ----------------------------------------------------------- */

/* qsort has no context argument; generation is single-threaded. */
static size_t sort_off, sort_size;

/* By created time, then by content: a total order, so the same seed gives the same ids. */
static int cmp_time_bytes(const void *a, const void *b)
{
	int64_t ta = *(const int64_t *)((const char *)a + sort_off);
	int64_t tb = *(const int64_t *)((const char *)b + sort_off);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return memcmp(a, b, sort_size);
}

static void sort_by_time(void *base, size_t n, size_t size, size_t off, enum kind k, struct world *w)
{
	size_t i;

	sort_off = off;
	sort_size = size;
	qsort(base, n, size, cmp_time_bytes);
	for (i = 0; i < n; i++)
		*(int64_t *)((char *)base + i * size) = world_take_id(w, k);
}

bool generate_world(struct world *w)
{
	struct gen g = { .w = w };

	rng_seed(&g.r, w->cfg.seed, 0);
	g.t0 = w->now - w->cfg.span;
	gen_users(&g);
	gen_projects_and_bids(&g);
	collect_accepted(&g);
	gen_milestones(&g);
	gen_milestone_requests(&g);
	gen_reviews(&g);
	gen_threads(&g);
	gen_messages(&g);
	free(g.self_bids);
	free(g.other_bids);
	free(g.acct_start);
	free(g.acct_bids);
	w->projects_by_update.dirty = true;
	w->threads_by_update.dirty = true;
	w->messages_by_update.dirty = true;
	return true;
}
