/*
 * silent.c — /_mock/silent_edit: one record changes on the server with no
 * event, no webhook and no time moved (time_updated, time_submitted stay):
 * what a stale cache or a repaired record looks like to a client, which no
 * window on time can see and only a re-read by id finds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

/* A new text replacing *slot: the old one (or the seed's) is no longer served. */
static bool replace_text(char **slot, const char *table, int64_t id, uint64_t n)
{
	char buf[96], *t;

	snprintf(buf, sizeof buf, "Silently edited %s %lld (%llu)", table, (long long)id,
		 (unsigned long long)n);
	t = strdup(buf);
	if (!t)
		return false;
	free(*slot);
	*slot = t;
	return true;
}

static struct review *find_review(struct world *w, int64_t id)
{
	for (size_t i = 0; i < w->reviews.n; i++)
		if (w->reviews.v[i].id == id)
			return &w->reviews.v[i];
	return NULL;
}

bool activity_silent_edit(struct world *w, const char *table, int64_t id)
{
	uint64_t n = ++w->advances;
	struct project *p;
	struct bid *b;
	struct milestone *m;
	struct milestone_request *q;
	struct review *r;
	struct thread *t;
	struct message *msg;

	if (strcmp(table, "projects") == 0 && (p = world_project(w, id)))
		return replace_text(&p->title, table, id, n);
	if (strcmp(table, "bids") == 0 && (b = world_bid(w, id)))
		return replace_text(&b->description, table, id, n);
	if (strcmp(table, "milestones") == 0 && (m = world_milestone(w, id)))
		return replace_text(&m->description, table, id, n);
	if (strcmp(table, "milestone_requests") == 0 && (q = world_milestone_request(w, id)))
		return replace_text(&q->description, table, id, n);
	if (strcmp(table, "reviews") == 0 && (r = find_review(w, id)))
		return replace_text(&r->description, table, id, n);
	if (strcmp(table, "messages") == 0 && (msg = world_message(w, id)))
		return replace_text(&msg->text, table, id, n);
	if (strcmp(table, "threads") == 0 && (t = world_thread(w, id))) {
		t->is_muted = !t->is_muted;
		return true;
	}
	return false;
}
