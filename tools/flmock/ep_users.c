/*
 * ep_users.c — Get User Information (users[] and usernames[], keyed by id),
 * Get User Information By ID, and Information About Self (the token's
 * account, which is both employer and freelancer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

/* Whether u's username is one of the usernames[] given (names, n of them). */
static bool username_listed(const struct world *w, const struct user *u, const char *const *names, size_t n)
{
	char *name;
	bool hit = false;

	if (n == 0)
		return false;
	name = text_make(w->cfg.seed, TX_USERNAME, u->id);
	for (size_t i = 0; i < n && !hit; i++)
		hit = strcmp(name, names[i]) == 0;
	free(name);
	return hit;
}

void ep_users_list(struct fm_req *r)
{
	struct world *w = r->w;
	struct idset ids = { 0 };
	struct pager pg = { 0 };
	const char **names = NULL;
	size_t i, nnames = 0;

	if (!req_page(r, &pg.offset, &pg.limit) || !req_ids(r, "users", &ids))
		goto out;
	names = malloc((r->nparams ? r->nparams : 1) * sizeof *names);
	if (!names)
		abort();
	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].key, "usernames[]") == 0)
			names[nnames++] = r->params[i].val;
	jw_obj(&r->jw);
	jw_kobj(&r->jw, "users");
	for (i = 0; i < w->users.n; i++) {
		const struct user *u = &w->users.v[i];
		char key[24];

		/* users[] and usernames[] together: either one selects */
		if ((ids.on || nnames) && !(ids.on && idset_has(&ids, u->id)) &&
		    !username_listed(w, u, names, nnames))
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
	free(names);
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
