/*
 * dump.c — /_mock/dump: every record of one entity, in the object shape the
 * API returns (projects with full_description and job_details), one JSON
 * object per line, in id order.  Served in chunks so a million-record world
 * streams without being held in memory twice.
 */
#include <string.h>

#include "flmock.h"

static const char *const kinds[8] = {
	"users", "projects", "bids", "milestones", "milestone_requests", "reviews", "threads", "messages",
};

int dump_entity_kind(const char *name)
{
	int k;

	for (k = 0; name && k < 8; k++)
		if (strcmp(kinds[k], name) == 0)
			return k;
	return -1;
}

size_t dump_count(struct world *w, int kind)
{
	switch (kind) {
	case K_USER: return w->users.n;
	case K_PROJECT: return w->projects.n;
	case K_BID: return w->bids.n;
	case K_MILESTONE: return w->milestones.n;
	case K_MILESTONE_REQUEST: return w->milestone_requests.n;
	case K_REVIEW: return w->reviews.n;
	case K_THREAD: return w->threads.n;
	default: return w->messages.n;
	}
}

void dump_records(struct world *w, int kind, size_t from, size_t max, struct fm_buf *out)
{
	static const struct proj_opts full = { true, true, true };
	size_t i, n = dump_count(w, kind);
	struct jw jw;

	for (i = from; i < n && i < from + max; i++) {
		jw_init(&jw, out, false);
		switch (kind) {
		case K_USER: out_user(&jw, w, &w->users.v[i]); break;
		case K_PROJECT: out_project(&jw, w, &w->projects.v[i], &full); break;
		case K_BID: out_bid(&jw, w, &w->bids.v[i]); break;
		case K_MILESTONE: out_milestone(&jw, w, &w->milestones.v[i]); break;
		case K_MILESTONE_REQUEST: out_milestone_request(&jw, w, &w->milestone_requests.v[i]); break;
		case K_REVIEW: out_review(&jw, w, &w->reviews.v[i]); break;
		case K_THREAD: out_thread(&jw, w, &w->threads.v[i]); break;
		default: out_message(&jw, w, &w->messages.v[i]); break;
		}
		buf_putc(out, '\n');
	}
}
