/*
 * activity.c — what happens while the simulator clock moves: about one
 * event per ten simulated seconds, spread evenly over the advanced span, each
 * drawn from a stream keyed by (seed, advance number): new projects, bids,
 * threads, messages, milestones, milestone requests and reviews; awards,
 * acceptances, rejections, revocations and retractions; releases and
 * cancellations; closed and deleted projects; edited and removed messages;
 * threads read or muted.  Each change bumps the updated time of what it
 * touches.  Others act; self's own decisions are left to the client, except
 * that others award self's bids and post on self's projects and threads.
 * With several accounts, "self" is any of them: none acts by itself.
 */
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

enum { MAX_EVENTS = 20000, TRIES = 24 };

static struct project *random_project(struct world *w, struct rng *r, bool want_active, bool others_only)
{
	int i;

	for (i = 0; i < TRIES; i++) {
		struct project *p = &w->projects.v[rng_below(r, (uint32_t)w->projects.n)];

		if (want_active && (p->status != PS_ACTIVE || p->deleted))
			continue;
		if (others_only && world_is_account(w, p->owner_id))
			continue;
		return p;
	}
	return NULL;
}

static int64_t random_other(struct world *w, struct rng *r, int64_t not)
{
	for (;;) {
		const struct user *u = &w->users.v[rng_below(r, (uint32_t)w->users.n)];

		if (u->id != w->self_id && !u->account && u->id != not)
			return u->id;
	}
}

/*
 * Does project p have a bid from `bidder` (any bidder when 0), or with an
 * award outstanding (when award_only)?  Bids older than this advance come
 * from the project index built before it; newer ones are scanned.
 */
static bool bid_hits(const struct bid *b, int64_t bidder, bool award_only)
{
	if (award_only)
		return b->award_status == AW_PENDING || b->award_status == AW_AWARDED;
	return !bidder || b->bidder_id == bidder;
}

static bool project_bid_exists(struct world *w, const struct project *p, size_t new_from, int64_t bidder,
			       bool award_only)
{
	size_t pi = (size_t)(p - w->projects.v), i;

	if (pi < w->bid_index_np)
		for (i = w->bid_start[pi]; i < w->bid_start[pi + 1]; i++)
			if (bid_hits(&w->bids.v[w->bid_list[i]], bidder, award_only))
				return true;
	for (i = new_from; i < w->bids.n; i++)
		if (w->bids.v[i].project_id == p->id && bid_hits(&w->bids.v[i], bidder, award_only))
			return true;
	return false;
}

static void ev_new_project(struct world *w, struct rng *r)
{
	struct project *p = world_add_project(w);
	const struct user *owner;

	if (!p)
		abort();
	p->owner_id = random_other(w, r, 0);
	owner = world_user(w, p->owner_id);
	p->time_submitted = p->time_updated = w->now;
	p->currency = owner->currency;
	p->country = owner->country;
	p->budget_min = 30 + rng_below(r, 500);
	p->budget_max = p->budget_min * 2;
	p->jobs[0] = (uint8_t)rng_below(r, (uint32_t)ref_njobs_drawn);
	p->njobs = 1;
	p->status = PS_ACTIVE;
	p->hourly = rng_below(r, 5) == 0;
}

/* Others bid, often on self's projects (those are the bids self must see). */
static void ev_new_bid(struct world *w, struct rng *r, size_t bids_at_start)
{
	struct project *p = NULL;
	int64_t bidder;
	int i;

	for (i = 0; i < TRIES && !p; i++) {
		p = random_project(w, r, true, false);
		if (p && rng_below(r, 3) == 0 && !world_is_account(w, p->owner_id))
			p = NULL; /* prefer self's projects a little */
	}
	if (!p)
		p = random_project(w, r, true, false);
	if (!p)
		return;
	bidder = random_other(w, r, p->owner_id);
	if (project_bid_exists(w, p, bids_at_start, bidder, false))
		return;
	world_new_bid(w, p, bidder, p->budget_min + rng_below(r, (uint32_t)(p->budget_max - p->budget_min + 1)),
		      (int)(1 + rng_below(r, 20)), 100, NULL);
}

/* Pick a bid by its state; others' decisions only (self decides through the API). */
static struct bid *random_bid(struct world *w, struct rng *r, int award_status, bool owner_not_self,
			      bool bidder_not_self)
{
	int i;

	for (i = 0; i < TRIES * 4; i++) {
		struct bid *b = &w->bids.v[rng_below(r, (uint32_t)w->bids.n)];

		if (b->award_status != award_status || b->retracted)
			continue;
		if ((owner_not_self && world_is_account(w, b->project_owner_id)) ||
		    (bidder_not_self && world_is_account(w, b->bidder_id)))
			continue;
		return b;
	}
	return NULL;
}

static void ev_award(struct world *w, struct rng *r, size_t bids_at_start)
{
	struct bid *b = random_bid(w, r, AW_NONE, true, false);
	struct project *p;

	if (!b)
		return;
	p = world_project(w, b->project_id);
	if (p->status != PS_ACTIVE || p->deleted || project_bid_exists(w, p, bids_at_start, 0, true))
		return;
	/* The project object shows nothing of a pending award: not a project update. */
	b->award_status = AW_PENDING;
	b->time_awarded = w->now;
	event_bid(w, "bid.awarded", b);
}

static void ev_respond(struct world *w, struct rng *r, int what)
{
	struct bid *b = random_bid(w, r, AW_PENDING, what == 2, what != 2);
	struct project *p;

	if (!b)
		return;
	p = world_project(w, b->project_id);
	if (what == 0 && (p->status != PS_ACTIVE || p->deleted))
		return; /* a closed or deleted project is final: nobody starts work on it */
	if (what == 0) {
		b->award_status = AW_AWARDED;
		b->time_accepted = w->now;
		p->status = PS_FROZEN;
		world_touch_project(w, p, w->now);
		event_bid(w, "bid.accepted", b);
	} else {
		b->award_status = what == 1 ? AW_REJECTED : AW_REVOKED;
		event_bid(w, what == 1 ? "bid.denied" : "bid.revoked", b);
	}
}

static void ev_retract(struct world *w, struct rng *r)
{
	struct bid *b = random_bid(w, r, AW_NONE, false, true);
	struct project *p = b ? world_project(w, b->project_id) : NULL;

	/* Bids are retracted from open projects only: closed ones are final. */
	if (p && p->status == PS_ACTIVE && !p->deleted) {
		b->retracted = true;
		world_bid_removed(w, p, b);
	}
}

static void ev_close_or_delete(struct world *w, struct rng *r, bool del)
{
	struct project *p = random_project(w, r, true, true); /* only open projects close or go */

	if (!p || p->deleted)
		return;
	if (del)
		p->deleted = true;
	else
		p->status = PS_CLOSED;
	world_touch_project(w, p, w->now);
}

static void ev_milestone(struct world *w, struct rng *r)
{
	struct milestone *m;
	int i;

	if (!w->milestones.n)
		return;
	for (i = 0; i < TRIES; i++) {
		m = &w->milestones.v[rng_below(r, (uint32_t)w->milestones.n)];
		if (world_is_account(w, m->project_owner_id) || (m->status != MS_FROZEN && m->status != MS_REQUESTED))
			continue;
		/* Milestones have no updated time and the project shows nothing of them. */
		m->status = rng_below(r, 4) ? MS_CLEARED : MS_CANCELED;
		event_milestone(w, m->status == MS_CLEARED ? "milestone.released" : "milestone.cancelled", m);
		return;
	}
}

static void ev_new_milestone(struct world *w, struct rng *r, bool request)
{
	struct bid *b = random_bid(w, r, AW_AWARDED, !request, request);

	if (!b)
		return;
	if (request) {
		size_t i;

		for (i = 0; i < w->milestone_requests.n; i++)
			if (w->milestone_requests.v[i].bid_id == b->id &&
			    w->milestone_requests.v[i].status == MR_PENDING)
				return;
		event_milestone_request(w, world_new_milestone_request(w, b, b->amount / 4, NULL));
	} else {
		event_milestone(w, "milestone.created", world_new_milestone(w, b, b->amount / 2, 1, NULL));
	}
}

/* Others review completed projects, self's included, once each. */
static void ev_review(struct world *w, struct rng *r)
{
	struct bid *b = random_bid(w, r, AW_AWARDED, false, false);
	struct project *p;
	struct review *rv;
	int64_t from;
	size_t i;

	if (!b)
		return;
	p = world_project(w, b->project_id);
	if (p->status != PS_COMPLETE)
		return;
	from = world_is_account(w, b->bidder_id) ? p->owner_id : b->bidder_id;
	if (world_is_account(w, from))
		return;
	for (i = 0; i < w->reviews.n; i++)
		if (w->reviews.v[i].project_id == p->id && w->reviews.v[i].from_user_id == from)
			return;
	rv = world_add_review(w);
	if (!rv)
		abort();
	rv->project_id = p->id;
	rv->from_user_id = from;
	rv->to_user_id = from == p->owner_id ? b->bidder_id : p->owner_id;
	rv->to_freelancer = from == p->owner_id;
	rv->time_submitted = w->now;
	rv->rating = 1 + rng_below(r, 41) / 10.0;
	rv->bid_amount = rv->paid_amount = b->amount;
	rv->currency = p->currency;
}

/* A message from another member of thread t. */
static void ev_message_in(struct world *w, struct rng *r, struct thread *t)
{
	struct message *m;

	m = world_add_message(w);
	if (!m)
		abort();
	m->thread_id = t->id;
	m->from_user = t->members[1 + rng_below(r, (uint32_t)t->nmembers - 1)];
	m->time_created = m->time_updated = w->now;
	t->message_count++;
	t->is_read = false;
	if (t->folder == FOLDER_ARCHIVED)
		t->folder = FOLDER_INBOX;
	world_touch_thread(w, t, w->now);
	event_message(w, m);
}

static void ev_message(struct world *w, struct rng *r)
{
	if (!w->threads.n)
		return;
	ev_message_in(w, r, &w->threads.v[rng_below(r, (uint32_t)w->threads.n)]);
}

static void ev_new_thread(struct world *w, struct rng *r)
{
	struct thread *t = world_add_thread(w);

	if (!t)
		abort();
	/* One account's new thread: with several, drawn (one account draws nothing more). */
	t->members[0] = w->naccounts > 1 ? w->accounts[rng_below(r, (uint32_t)w->naccounts)] : w->self_id;
	t->members[1] = random_other(w, r, 0);
	t->nmembers = 2;
	t->owner = t->members[1];
	t->context_type = 1;
	t->time_created = t->time_updated = w->now;
	t->folder = FOLDER_INBOX;
	ev_message_in(w, r, t); /* a thread starts with its first message */
}

static void ev_edit_message(struct world *w, struct rng *r)
{
	struct message *m;

	if (!w->messages.n)
		return;
	m = &w->messages.v[rng_below(r, (uint32_t)w->messages.n)];
	if (world_is_account(w, m->from_user) || m->removed)
		return;
	if (rng_below(r, 3) == 0) {
		m->removed = true;
	} else {
		free(m->text);
		m->text = text_make(w->cfg.seed ^ 0xed17ull, TX_MSG, m->id);
		m->edited = true;
	}
	world_touch_message(w, m, w->now);
	world_touch_thread(w, world_thread(w, m->thread_id), w->now);
}

static void ev_thread_state(struct world *w, struct rng *r)
{
	struct thread *t;

	if (!w->threads.n)
		return;
	t = &w->threads.v[rng_below(r, (uint32_t)w->threads.n)];
	t->is_read = !t->is_read;
	if (t->is_read)
		t->time_read = w->now;
	world_touch_thread(w, t, w->now);
}

static void one_event(struct world *w, struct rng *r, size_t bids_at_start)
{
	uint32_t k = rng_below(r, 100);

	if (k < 10)
		ev_new_project(w, r);
	else if (k < 32)
		ev_new_bid(w, r, bids_at_start);
	else if (k < 52)
		ev_message(w, r);
	else if (k < 55)
		ev_new_thread(w, r);
	else if (k < 59)
		ev_edit_message(w, r);
	else if (k < 66)
		ev_award(w, r, bids_at_start);
	else if (k < 70)
		ev_respond(w, r, 0);
	else if (k < 72)
		ev_respond(w, r, 1);
	else if (k < 74)
		ev_respond(w, r, 2);
	else if (k < 77)
		ev_retract(w, r);
	else if (k < 81)
		ev_close_or_delete(w, r, false);
	else if (k < 83)
		ev_close_or_delete(w, r, true);
	else if (k < 87)
		ev_milestone(w, r);
	else if (k < 90)
		ev_new_milestone(w, r, false);
	else if (k < 92)
		ev_new_milestone(w, r, true);
	else if (k < 96)
		ev_review(w, r);
	else
		ev_thread_state(w, r);
}

size_t activity_advance(struct world *w, int64_t seconds, int64_t quiet)
{
	int64_t start = w->now, busy = seconds - quiet;
	size_t n = busy > 0 ? (size_t)(busy / 10) : 0, k, bids_at_start = w->bids.n;
	struct rng r;

	if (n > MAX_EVENTS)
		n = MAX_EVENTS;
	if (w->projects.n) {
		size_t ignored;

		bids_of_project(w, &w->projects.v[0], &ignored); /* index the bids before this advance */
	}
	bids_at_start = w->bids.n;
	rng_seed(&r, w->cfg.seed ^ 0xadull, ++w->advances);
	/* Events at evenly spaced, ascending times in (start, start + seconds - quiet]. */
	for (k = 0; k < n; k++) {
		w->now = start + (int64_t)((double)busy * (double)(k + 1) / (double)n);
		one_event(w, &r, bids_at_start);
	}
	w->now = start + seconds;
	return n;
}

/*
 * A record the API indexes late: its own time is `behind` seconds before
 * now, yet it is new to every read from now on, as if the real API had
 * only just started returning it.  Polling's windows have passed that time
 * already; only a read reaching back so far (reconciliation) can find it.
 */
static bool late_review(struct world *w, int64_t when)
{
	/* A completed project of self's first; else any awarded work of self's. */
	for (size_t k = 0; k < 2 * w->bids.n; k++) {
		size_t i = k % w->bids.n;
		bool complete_only = k < w->bids.n;
		const struct bid *b = &w->bids.v[i];
		const struct project *p = world_project(w, b->project_id);
		int64_t other;
		struct review *rv;
		bool seen = false;

		if (b->award_status != AW_AWARDED || !p || (complete_only && p->status != PS_COMPLETE) ||
		    (b->bidder_id != w->self_id && p->owner_id != w->self_id))
			continue;
		other = b->bidder_id == w->self_id ? p->owner_id : b->bidder_id;
		for (size_t j = 0; j < w->reviews.n && !seen; j++)
			seen = w->reviews.v[j].project_id == p->id && w->reviews.v[j].from_user_id == other;
		if (seen)
			continue;
		if (!(rv = world_add_review(w)))
			abort();
		rv->project_id = p->id;
		rv->from_user_id = other;
		rv->to_user_id = w->self_id;
		rv->to_freelancer = b->bidder_id == w->self_id;
		rv->time_submitted = when;
		rv->rating = 4.5;
		rv->bid_amount = rv->paid_amount = b->amount;
		rv->currency = p->currency;
		return true;
	}
	return false;
}

bool activity_late(struct world *w, const char *kind, int64_t behind, int64_t *out_time, int64_t *out_id)
{
	int64_t now = w->now, when = now - behind;
	size_t before;
	struct rng r;
	bool made = false;

	rng_seed(&r, w->cfg.seed ^ 0x1a7eull, ++w->advances);
	*out_time = when;
	*out_id = 0;
	if (strcmp(kind, "review") == 0) {
		made = late_review(w, when);
		if (made)
			*out_id = w->reviews.v[w->reviews.n - 1].project_id;
		return made;
	}
	/* The events stamp the world's clock: set it back for the one event. */
	w->now = when;
	if (strcmp(kind, "message") == 0) {
		before = w->messages.n;
		ev_message(w, &r);
		made = w->messages.n > before;
		if (made)
			*out_id = w->messages.v[w->messages.n - 1].id;
	} else if (strcmp(kind, "bid") == 0) {
		before = w->bids.n;
		for (int i = 0; i < TRIES && !made; i++) {
			ev_new_bid(w, &r, w->bids.n);
			made = w->bids.n > before;
		}
		if (made)
			*out_id = w->bids.v[w->bids.n - 1].id;
	}
	w->now = now;
	return made;
}
