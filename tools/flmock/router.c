/*
 * router.c — the route table: method and path pattern to handler, with
 * each endpoint's authentication and rate limit as the reference lists them
 * ("This endpoint allows N requests per user, per hour").  Endpoints the
 * reference gives no limit get the generous default in ratelimit.c.
 */
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

enum { MIN = 60, HOUR = 3600 };

static const struct route routes[] = {
	/* projects — Get Projects / Search / Get Project by ID / Get Project Bids */
	{ "GET", "/api/projects/0.1/projects/", ep_projects_list, false, 0, 0, false },
	{ "GET", "/api/projects/0.1/projects/active/", ep_projects_active, true, 0, 0, false },
	{ "GET", "/api/projects/0.1/projects/{id}/", ep_project_get, true, 0, 0, false },
	{ "GET", "/api/projects/0.1/projects/{id}/bids/", ep_project_bids, true, 0, 0, false },
	{ "GET", "/api/projects/0.1/projects/{id}/milestones/", ep_project_milestones, false, 0, 0, false },
	{ "GET", "/api/projects/0.1/projects/{id}/milestone_requests/", ep_project_milestone_requests, false, 0, 0,
	  false },
	{ "POST", "/api/projects/0.1/projects/", ep_project_create, false, 50, HOUR, true },
	{ "POST", "/api/projects/0.1/projects/{id}/invite/", ep_project_invite, false, 100, HOUR, true },
	/* bids */
	{ "GET", "/api/projects/0.1/bids/", ep_bids_list, false, 0, 0, false },
	{ "GET", "/api/projects/0.1/bids/{id}/", ep_bid_get, false, 0, 0, false },
	{ "POST", "/api/projects/0.1/bids/", ep_bid_create, false, 500, HOUR, true },
	{ "PUT", "/api/projects/0.1/bids/{id}/", ep_bid_action, false, 0, 0, true },
	/* milestones and milestone requests: no time filter (Get Milestones) */
	{ "GET", "/api/projects/0.1/milestones/", ep_milestones_list, false, 0, 0, false },
	{ "POST", "/api/projects/0.1/milestones/", ep_milestone_create, false, 0, 0, true },
	{ "PUT", "/api/projects/0.1/milestones/{id}/", ep_milestone_action, false, 0, 0, true },
	{ "GET", "/api/projects/0.1/milestone_requests/", ep_milestone_requests_list, false, 0, 0, false },
	{ "POST", "/api/projects/0.1/milestone_requests/", ep_milestone_request_create, false, 0, 0, true },
	{ "PUT", "/api/projects/0.1/milestone_requests/{id}/", ep_milestone_request_action, false, 0, 0, true },
	/* reviews: Post a Review is limited to 100 requests per hour, per user */
	{ "GET", "/api/projects/0.1/reviews/", ep_reviews_list, false, 0, 0, false },
	{ "POST", "/api/projects/0.1/reviews/", ep_review_post, false, 100, HOUR, true },
	/* reference tables */
	{ "GET", "/api/projects/0.1/currencies/", ep_currencies, true, 0, 0, false },
	{ "GET", "/api/projects/0.1/jobs/", ep_jobs, true, 0, 0, false },
	{ "GET", "/api/projects/0.1/categories/", ep_categories, true, 0, 0, false },
	{ "POST", "/api/projects/0.1/categories/", ep_categories, true, 0, 0, false },
	/* users */
	{ "GET", "/api/users/0.1/users/", ep_users_list, false, 200, MIN, false },
	{ "GET", "/api/users/0.1/users/self/", ep_self_get, false, 1000, HOUR, false },
	{ "GET", "/api/users/0.1/self/", ep_self_get, false, 1000, HOUR, false },
	{ "GET", "/api/users/0.1/users/{id}/", ep_user_get, true, 200, MIN, false },
	/* webhooks: Create Webhook 10 per hour, Get Webhooks 500 per hour */
	{ "POST", "/api/users/0.1/webhooks/", ep_webhook_create, false, 10, HOUR, true },
	{ "GET", "/api/users/0.1/webhooks/", ep_webhooks_list, false, 500, HOUR, false },
	/* messaging */
	{ "GET", "/api/messages/0.1/threads/", ep_threads_list, false, 0, 0, false },
	{ "POST", "/api/messages/0.1/threads/", ep_thread_create, false, 0, 0, true },
	{ "PUT", "/api/messages/0.1/threads/", ep_threads_action, false, 0, 0, true },
	{ "GET", "/api/messages/0.1/threads/{id}/", ep_thread_get, false, 0, 0, false },
	{ "POST", "/api/messages/0.1/threads/{id}/messages/", ep_message_post, false, 0, 0, true },
	{ "GET", "/api/messages/0.1/messages/", ep_messages_list, false, 0, 0, false },
	{ "GET", "/api/messages/0.1/messages/{id}/", ep_message_get, false, 0, 0, false },
	{ "POST", "/api/messages/0.1/messages/", ep_message_post, false, 0, 0, true },
};

static const size_t nroutes = sizeof routes / sizeof routes[0];

size_t router_count(void) { return nroutes; }
size_t router_index(const struct route *rt) { return (size_t)(rt - routes); }
const struct route *router_at(size_t i) { return &routes[i]; }

/* Segment by segment; a trailing slash is optional, "{id}" takes digits. */
static bool match(const char *pat, const char *path, int64_t *id)
{
	while (*pat && *path) {
		if (strncmp(pat, "{id}", 4) == 0) {
			char *end;
			long long v;

			if (*path < '0' || *path > '9')
				return false;
			v = strtoll(path, &end, 10);
			*id = v;
			path = end;
			pat += 4;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	if (*pat == '/' && pat[1] == '\0')
		pat++;
	return *pat == '\0' && *path == '\0';
}

const struct route *router_match(const char *method, const char *path, int64_t *id, bool *path_known)
{
	const char *m = strcmp(method, "PATCH") == 0 ? "PUT" : method; /* "No distinction is made between PUT or PATCH" */
	size_t i;

	*path_known = false;
	for (i = 0; i < nroutes; i++) {
		int64_t v = 0;

		if (!match(routes[i].pattern, path, &v))
			continue;
		*path_known = true;
		if (strcmp(routes[i].method, m) == 0) {
			*id = v;
			return &routes[i];
		}
	}
	return NULL;
}
