/*
 * flmock.h — what flmock's modules share: the configuration, the request
 * being handled (parameters in, envelope out), the endpoint handlers, and
 * the fault, rate-limit and inspection modules' entry points.
 */
#ifndef FLMOCK_H
#define FLMOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "world.h"

/* ---- key=value specs (spec.c) ------------------------------------------------ */

enum spec_kind { SPEC_FRACTION, SPEC_INT, SPEC_LONG, SPEC_BOOL, SPEC_TEXT };

/* One key a spec knows; a table of them ends with a NULL name. */
struct spec_key {
	const char *name;
	enum spec_kind kind;
	size_t offset;             /* where its value goes in the struct filled */
	double max;                /* a number: the largest taken; text: the buffer's size */
};

/*
 * Read "k=v,k=v" into out by the table: each value in its place, keys not
 * given left as they are.  False with err naming the key (and `what`, the
 * spec's name in messages) at the first one that is unknown or out of range.
 */
bool spec_parse(const char *spec, const struct spec_key *keys, void *out, const char *what, char *err,
		size_t errlen);

/* ---- faults (faults.c) ------------------------------------------------------ */

enum fault_kind {
	F_NONE, F_HTTP500, F_HTML503, F_RATE429, F_TRUNCATE, F_MALFORMED,
	F_RESET, F_STALL, F_LOSTREPLY, F_COUNT
};

struct fault_spec {
	double p[F_COUNT];         /* probability of each kind per request */
	int stall_ms;              /* how long a stall lasts */
	char path[128];            /* only requests whose path starts so ("": all) */
	bool writes_only;          /* only write requests (POST/PUT/DELETE routes) */
	long skip;                 /* the first `skip` of those are spared */
	long count;                /* at most this many faults (0: no limit) */
	long seen, given;          /* matching requests so far, faults given */
};

bool faults_parse(const char *spec, struct fault_spec *out, char *err, size_t errlen);
/*
 * The fault for API request number `seq` on path (deterministic from the
 * seed, and from how many requests matched the spec's path before).
 */
enum fault_kind faults_pick(struct fault_spec *f, uint64_t seed, uint64_t seq, bool is_write, const char *path);
const char *faults_name(enum fault_kind k);

/* What /_mock/webhooks?spec= and --webhook-faults ask of deliveries. */
struct wh_faults {
	double drop, dup, delay, reorder; /* fractions of events */
	long delay_ms;             /* how late a delayed event goes out */
	long fail_after;           /* deactivate after this many failures in a row (0: never) */
};

/* ---- configuration ------------------------------------------------------------ */

struct fm_config {
	struct world_config world;
	int port;
	const char *token;
	double rate_scale;
	struct fault_spec faults;
	/* the OAuth service (oauth.c) */
	const char *client_id;     /* the one registered client */
	const char *client_secret; /* "" for a public client (no secret asked) */
	const char *redirect_uri;  /* registered redirect, NULL: any loopback one */
	int64_t token_ttl;         /* issued access tokens live this many seconds */
	long token_requests;       /* ... or this many API requests (0: no limit) */
	bool ignore_pkce;          /* accept codes whatever the code_verifier */
	long token_delay_ms;       /* /oauth/token answers this much later (to widen races) */
	long latency_ms;           /* --latency: every API request is answered this much later */
	struct wh_faults webhook_faults; /* --webhook-faults */
};

/* ---- requests ------------------------------------------------------------------ */

struct fm_param {
	char *key, *val;           /* decoded; val "" for a bare flag */
};

struct fm_req {
	struct world *w;
	const struct fm_config *cfg;
	const char *method;
	const char *path;          /* without the query string */
	const char *body;          /* request body, NUL-terminated, maybe empty */
	size_t body_len;
	struct fm_param *params;   /* query string, then body fields */
	size_t nparams, cap;
	int64_t path_id;           /* the {id} of the route, 0 if none */
	bool compact;
	bool authed;               /* a valid token came with the request */
	int account;               /* whose token: 1..N (1 without a token) */
	int64_t self;              /* that account's user id: "self" for every endpoint */
	/* outcome */
	struct fm_buf *out;        /* result JSON is written here through jw */
	struct jw jw;
	int status;
	const char *error_code;    /* NULL on success */
	char code[96];             /* storage for a composed error_code */
	char message[256];
	int64_t object_id;         /* created or acted-on object, for /_mock/log */
};

/* params.c */
void req_add_param(struct fm_req *r, const char *key, size_t klen, const char *val, size_t vlen);
void req_parse_form(struct fm_req *r, const char *s, size_t n);
void req_parse_multipart(struct fm_req *r, const char *s, size_t n, const char *boundary);
bool req_parse_json(struct fm_req *r, const char *s, size_t n);
void req_free_params(struct fm_req *r);
const char *req_param(const struct fm_req *r, const char *key);
bool req_flag(const struct fm_req *r, const char *key);

/*
 * Typed parameters.  Each returns false after setting a 400 error when the
 * value is malformed; an absent parameter leaves *out at its default.
 */
bool req_int(struct fm_req *r, const char *key, int64_t *out);
bool req_double(struct fm_req *r, const char *key, double *out);
bool req_page(struct fm_req *r, size_t *offset, size_t *limit);
bool req_window(struct fm_req *r, const char *from_key, const char *to_key, int64_t *from, int64_t *to);

/* A set of ids from repeated "key[]" parameters, sorted for lookups. */
struct idset {
	int64_t *v;
	size_t n;
	bool on;                   /* the filter was given (even if empty) */
};
bool req_ids(struct fm_req *r, const char *key, struct idset *out);
bool idset_has(const struct idset *s, int64_t id);
void idset_free(struct idset *s);

/*
 * One enum parameter, matched without regard to case: the canonical name
 * (a pointer into names, NULL-terminated), NULL when absent; another value
 * sets BAD_ENUM (r->error_code) and returns NULL.
 */
const char *req_enum_name(struct fm_req *r, const char *key, const char *const *names);

/* A set of enum names from repeated "key[]" parameters, matched by index. */
bool req_enums(struct fm_req *r, const char *key, const char *(*name)(int), int count, uint32_t *mask);

void req_error(struct fm_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void req_not_found(struct fm_req *r);
/* Error with code "<ns>ExceptionCodes.<code>"; always returns false. */
bool req_fail(struct fm_req *r, int status, const char *ns, const char *code, const char *msg);

/* ---- handlers (ep_*.c) ----------------------------------------------------------- */

typedef void handler_fn(struct fm_req *r);

handler_fn ep_projects_list, ep_projects_active, ep_project_get, ep_project_bids,
	ep_project_create, ep_project_invite, ep_project_milestones, ep_project_milestone_requests;
handler_fn ep_bids_list, ep_bid_get, ep_bid_create, ep_bid_action;
handler_fn ep_milestones_list, ep_milestone_create, ep_milestone_action;
handler_fn ep_milestone_requests_list, ep_milestone_request_create, ep_milestone_request_action;
handler_fn ep_reviews_list, ep_review_post;
handler_fn ep_threads_list, ep_thread_get, ep_thread_create, ep_threads_action,
	ep_messages_list, ep_message_get, ep_message_post;
handler_fn ep_users_list, ep_user_get, ep_self_get;
handler_fn ep_currencies, ep_jobs, ep_categories;

/* userset.c: the user_details projection, result.users keyed by id (null without it). */
struct userset {
	int64_t *ids;
	size_t n, cap;
	bool on;                   /* user_details was asked for */
};
void userset_init(struct userset *u, const struct fm_req *r);
void userset_add(struct userset *u, int64_t id);
/* Writes "users" into the open result object and frees the set. */
void userset_emit(struct userset *u, struct fm_req *r);

/* Paging helper for list endpoints: emit item i when it falls in the page. */
struct pager {
	size_t offset, limit;
	size_t seen;               /* matches so far (the total at the end) */
};
static inline bool pager_take(struct pager *p)
{
	size_t i = p->seen++;

	return i >= p->offset && i < p->offset + p->limit;
}

/* The page has all it takes: a list that reports no total may stop looking. */
static inline bool pager_full(const struct pager *p)
{
	return p->seen >= p->offset + p->limit;
}

/* Bids of one project, in id (= created time) order: a lazily built index. */
const uint32_t *bids_of_project(struct world *w, const struct project *p, size_t *n);

/* ---- routing (router.c) ------------------------------------------------------------ */

struct route {
	const char *method;
	const char *pattern;       /* "{id}" matches a decimal id */
	handler_fn *fn;
	bool auth_optional;        /* the reference says Authentication: None */
	int rl_limit;              /* requests per window per user; 0 = default */
	int rl_window;             /* seconds */
	bool write;
};

const struct route *router_match(const char *method, const char *path, int64_t *id, bool *path_known);
size_t router_count(void);
size_t router_index(const struct route *rt);
const struct route *router_at(size_t i);

/* ---- rate limits (ratelimit.c) ------------------------------------------------------- */

struct ratelimit;
/* Budgets for `accounts` accounts, each its own (the API's limits are per user). */
struct ratelimit *ratelimit_new(double scale, size_t accounts);
void ratelimit_free(struct ratelimit *rl);
/*
 * Count one request of `account` (1..N) to route `i` at rate-limit time `t`
 * (seconds), or only look (count false).  Fills the RateLimit-Limit header
 * value and the remaining count; false when over.
 */
bool ratelimit_take(struct ratelimit *rl, const struct route *rt, size_t i, int account, int64_t t, bool count,
		    char *limit_hdr, size_t hdrlen, long *remaining);

/* ---- inspection (mocklog.c) ----------------------------------------------------------- */

struct mocklog;
struct mocklog *mocklog_new(void);
void mocklog_free(struct mocklog *m);
void mocklog_write(struct mocklog *m, const struct fm_req *r, const char *query, const char *fault);
/* One API request of `account`; `limited`: refused for its rate budget (not a fault). */
void mocklog_count(struct mocklog *m, const char *endpoint, int status, enum fault_kind fault, int account,
		   bool limited);
void mocklog_dump_log(struct mocklog *m, struct fm_buf *out);
/* What the server counts outside the log: the link's latency and requests in flight. */
struct link_stats {
	long latency_ms;           /* --latency */
	long in_flight;            /* API requests being served now */
	long max_in_flight;        /* the most at once (since start or the last reset) */
};
void mocklog_dump_stats(struct mocklog *m, const struct link_stats *link, struct fm_buf *out);

/* dump.c: every record of an entity as JSON lines, records [from, from+max). */
int dump_entity_kind(const char *name);   /* -1 if unknown */
size_t dump_count(struct world *w, int kind);
void dump_records(struct world *w, int kind, size_t from, size_t max, struct fm_buf *out);

/* ---- webhooks (webhooks.c, deliver.c) ------------------------------------------------ */

bool wh_faults_parse(const char *spec, struct wh_faults *out, char *err, size_t errlen);
struct webhooks *webhooks_new(const struct fm_config *cfg); /* starts the delivery thread */
void webhooks_free(struct webhooks *h);
void webhooks_set_faults(struct webhooks *h, const struct wh_faults *f);
/*
 * /_mock/webhooks/emit: an event of any type with the given ids (0: left
 * out), or `raw` delivered as it is; false (with err) when raw is not JSON.
 */
bool webhooks_emit(struct webhooks *h, int64_t now, const char *type, const int64_t ids[6], const char *raw,
		   char *err, size_t errlen);
void webhooks_stats(struct webhooks *h, struct fm_buf *b);
handler_fn ep_webhook_create, ep_webhooks_list;

/* ---- server (http.c) -------------------------------------------------------------------- */

struct server;
struct server *server_start(const struct fm_config *cfg, struct world *w, int *out_port);
void server_stop(struct server *s);

/* ---- the OAuth service (oauth.c) ------------------------------------------------ */

struct oauth;

/* What an /oauth/ request is answered with. */
struct oauth_reply {
	int status;
	struct fm_buf body;
	const char *ctype;
	char *location;            /* a redirect's Location, caller frees */
	bool no_store;             /* Cache-Control: no-store (token responses) */
};

struct oauth *oauth_new(const struct fm_config *cfg);
void oauth_free(struct oauth *o);
/* GET /oauth/authorise: consent at once, redirect back with a code (or an error). */
void oauth_authorise(struct oauth *o, const struct fm_req *r, int64_t now, struct oauth_reply *out);
/* POST /oauth/token: the authorization_code and refresh_token grants. */
void oauth_token(struct oauth *o, const struct fm_req *r, int64_t now, struct oauth_reply *out);
/* An API request's token: its account 1..N if valid (and counted), 0 not one we issued, -1 expired. */
int oauth_access(struct oauth *o, const char *token, int64_t now);
/* The account of an issued access token, expired or not, counting nothing; 0 if not ours. */
int oauth_account(const struct oauth *o, const char *token);
void oauth_revoke(struct oauth *o);             /* every refresh token: invalid_grant from now */
void oauth_expire(struct oauth *o, int64_t now); /* every access token expires now */
void oauth_stats(const struct oauth *o, struct fm_buf *b);

#endif
