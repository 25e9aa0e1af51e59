/*
 * ep_users.c — Get User Information (users[] and usernames[], keyed by id),
 * Get User Information By ID, and Information About Self (the token's
 * account, which is both employer and freelancer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

static bool username_listed(const struct fm_req *r, const struct world *w, const struct user *u, bool *any)
{
	char *name = NULL;
	size_t i;
	bool hit = false;

	*any = false;
	for (i = 0; i < r->nparams && !hit; i++) {
		if (strcmp(r->params[i].key, "usernames[]") != 0)
			continue;
		*any = true;
		if (!name)
			name = text_make(w->cfg.seed, TX_USERNAME, u->id);
		hit = strcmp(name, r->params[i].val) == 0;
	}
	free(name);
	return hit;
}

void ep_users_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset ids = { 0 };
	struct pager pg = { 0 };
	size_t i;

	if (!req_page(r, &pg.offset, &pg.limit) || !req_ids(r, "users", &ids))
		goto out;
	jw_obj(&r->jw);
	jw_kobj(&r->jw, "users");
	for (i = 0; i < w->users.n; i++) {
		const struct user *u = &w->users.v[i];
		bool by_name, names_given;
		char key[24];

		by_name = username_listed(r, w, u, &names_given);
		/* users[] and usernames[] together: either one selects */
		if ((ids.on || names_given) && !(ids.on && idset_has(&ids, u->id)) && !by_name)
			continue;
		if (!pager_take(&pg))
			continue;
		snprintf(key, sizeof key, "%lld", (long long)u->id);
		jw_key(&r->jw, key);
		out_user(&r->jw, w, u);
	}
	jw_end_obj(&r->jw);
	jw_kint(&r->jw, "total_count", (int64_t)pg.seen);
	jw_end_obj(&r->jw);
out:
	idset_free(&ids);
}

void ep_user_get(struct fm_req *r)
{
	const struct user *u = world_user(r->w, r->path_id);

	if (!u) {
		req_not_found(r);
		return;
	}
	out_user(&r->jw, r->w, u);
}

void ep_self_get(struct fm_req *r)
{
	out_user(&r->jw, r->w, world_user(r->w, r->self));
}
