/*
 * userset.c — the user_details projection of list endpoints (Get Projects,
 * Search for Projects, Get Project Bids, Get Bids, Get Milestones, Get
 * Milestone Requests, Get Project Reviews, Get Threads, Get Messages): the
 * users the page's records name, as result.users keyed by id string, each
 * once.  Without user_details the field is null, as the reference's examples
 * show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

void userset_init(struct userset *u, const struct fm_req *r)
{
	memset(u, 0, sizeof *u);
	u->on = req_flag(r, "user_details");
}

void userset_add(struct userset *u, int64_t id)
{
	size_t i;

	if (!u->on || id <= 0)
		return;
	/* A page names a few dozen users at most: a linear look is enough. */
	for (i = 0; i < u->n; i++)
		if (u->ids[i] == id)
			return;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->ids = realloc(u->ids, u->cap * sizeof *u->ids);
		if (!u->ids)
			abort();
	}
	u->ids[u->n++] = id;
}

void userset_emit(struct userset *u, struct fm_req *r)
{
	size_t i;

	if (!u->on) {
		jw_knull(&r->jw, "users");
	} else {
		jw_kobj(&r->jw, "users");
		for (i = 0; i < u->n; i++) {
			const struct user *user = world_user(r->w, u->ids[i]);
			char key[24];

			if (!user)
				continue;
			snprintf(key, sizeof key, "%lld", (long long)u->ids[i]);
			jw_key(&r->jw, key);
			out_user(&r->jw, r->w, user);
		}
		jw_end_obj(&r->jw);
	}
	free(u->ids);
	memset(u, 0, sizeof *u);
}
