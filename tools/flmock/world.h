/*
 * world.h — flmock's in-memory world: every entity as a compact struct in an
 * array sorted by id, the simulator clock, generation from a seed and the
 * activity that /_mock/advance makes.  Text (titles, descriptions, names) is
 * derived from (seed, id) on demand unless a write stored its own.
 */
#ifndef FLMOCK_WORLD_H
#define FLMOCK_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- deterministic randomness (rng.c) ------------------------------------ */

struct rng {
	uint64_t s; /* splitmix64 state */
};

uint64_t rng_mix(uint64_t x);                 /* one splitmix64 finaliser */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
uint32_t rng_below(struct rng *r, uint32_t n); /* uniform in [0, n), n > 0 */
bool rng_chance(struct rng *r, double p);     /* true with probability p */

/* ---- reference data (reference.c) ---------------------------------------- */

struct currency {
	int id;
	const char *code, *name, *country, *sign;
	double exchange_rate;
};

struct category {
	int id;
	const char *name;
};

struct job {
	int id;
	const char *name, *seo_url;
	int category_id;
};

struct country {
	const char *name, *code, *city;
	double lat, lon;
};

extern const struct currency ref_currencies[];
extern const size_t ref_ncurrencies;
extern const struct category ref_categories[];
extern const size_t ref_ncategories;
extern const struct job ref_jobs[];
extern const size_t ref_njobs;
/* Jobs a generated project draws from: all but the last, "Hire Me", which only hire-me projects carry. */
extern const size_t ref_njobs_drawn;
enum { REF_JOB_HIREME = 417 };
extern const struct country ref_countries[];
extern const size_t ref_ncountries;

const struct currency *ref_currency(int id);  /* NULL if unknown */
const struct job *ref_job(int id);            /* NULL if unknown */
const struct category *ref_category(int id);  /* NULL if unknown */

/* ---- entities ------------------------------------------------------------ */

enum { MAX_JOBS = 4, MAX_MEMBERS = 4 };

enum project_status { PS_ACTIVE, PS_CLOSED, PS_FROZEN, PS_COMPLETE };
enum award_status { AW_NONE, AW_PENDING, AW_AWARDED, AW_REJECTED, AW_REVOKED, AW_CANCELED };
enum milestone_status { MS_PENDING, MS_FROZEN, MS_REQUESTED, MS_CLEARED, MS_CANCELED, MS_DISPUTED };
enum milestone_request_status { MR_PENDING, MR_CREATED, MR_REJECTED, MR_DELETED };
enum folder { FOLDER_INBOX, FOLDER_SENT, FOLDER_ARCHIVED };

struct user {
	int64_t id;
	int64_t registration_date;
	uint16_t country;          /* index into ref_countries */
	uint8_t currency;          /* index into ref_currencies */
	uint8_t role;              /* 0 freelancer, 1 employer, 2 both */
	uint8_t jobs[MAX_JOBS];    /* indices into ref_jobs */
	uint8_t njobs;
	bool verified;             /* email / payment verified */
	uint16_t account;          /* 1..N for the mock's own accounts, 0 for everyone else */
};

struct project {
	int64_t id;
	int64_t owner_id;
	int64_t time_submitted;    /* created: /projects/ windows */
	int64_t time_updated;      /* last change: /projects/active/ windows */
	double budget_min, budget_max;
	double bid_total;          /* sum of live bid amounts, for bid_stats.bid_avg */
	uint32_t bid_count;
	uint16_t country;          /* location, index into ref_countries */
	uint8_t currency;          /* index into ref_currencies */
	uint8_t status;            /* enum project_status */
	uint8_t jobs[MAX_JOBS];    /* indices into ref_jobs */
	uint8_t njobs;
	uint8_t upgrades;          /* bit per upgrade, see json_out.c */
	uint8_t commitment_interval; /* hourly: index into "week", "hour", "day", "month" */
	uint16_t commitment_hours; /* hourly: hours as posted; 0: derived from the id */
	bool hourly, deleted, local, hireme;
	char *title;               /* NULL: derived from the seed */
	char *description;         /* NULL: derived from the seed */
};

struct bid {
	int64_t id;
	int64_t project_id;
	int64_t bidder_id;
	int64_t project_owner_id;
	int64_t time_submitted;    /* created: /bids/ windows */
	int64_t time_awarded;      /* 0 = never */
	int64_t time_accepted;     /* 0 = never */
	double amount;
	uint16_t period;
	uint8_t milestone_percentage;
	uint8_t award_status;      /* enum award_status */
	bool retracted, highlighted, shortlisted, paid_full;
	char *description;         /* NULL: derived from the seed */
};

struct milestone {
	int64_t id;                /* transaction_id */
	int64_t project_id, bid_id, bidder_id, project_owner_id;
	int64_t time_created;
	double amount;
	uint8_t currency;
	uint8_t status;            /* enum milestone_status */
	uint8_t reason;            /* index into the reason names, json_out.c */
	char *description;         /* NULL: derived from the seed */
};

struct milestone_request {
	int64_t id;
	int64_t project_id, bid_id, bidder_id, project_owner_id;
	int64_t time_requested;
	double amount;
	uint8_t currency;
	uint8_t status;            /* enum milestone_request_status */
	char *description;         /* NULL: derived from the seed */
};

struct review {
	int64_t id;
	int64_t project_id, from_user_id, to_user_id;
	int64_t time_submitted;    /* created: /reviews/ windows */
	double rating;
	double paid_amount, bid_amount;
	uint8_t currency;
	bool to_freelancer;        /* role of the reviewed user */
	char *description;         /* NULL: derived from the seed */
};

struct thread {
	int64_t id;
	int64_t owner;
	int64_t context_id;        /* project id, 0 for general */
	int64_t time_created;
	int64_t time_updated;      /* last change: threads windows */
	int64_t time_read;
	int64_t members[MAX_MEMBERS];
	uint8_t nmembers;
	uint8_t context_type;      /* 0 project, 1 general, 2 contest */
	uint8_t folder;            /* enum folder, self's view */
	bool primary;              /* thread_type primary vs private_chat */
	bool is_read, is_muted;
	uint32_t message_count;
};

struct message {
	int64_t id;
	int64_t thread_id;
	int64_t from_user;
	int64_t time_created;
	int64_t time_updated;      /* bumped on edit or removal: messages windows */
	int64_t client_message_id; /* 0 = none */
	int64_t parent_id;         /* 0 = none */
	bool removed, edited;
	char *text;                /* NULL: derived from the seed */
	char *attachments;         /* file names, each NUL-ended, then an empty one; NULL: none */
};

enum kind { K_USER, K_PROJECT, K_BID, K_MILESTONE, K_MILESTONE_REQUEST, K_REVIEW, K_THREAD, K_MESSAGE };

/* An array of records sorted by id; appends keep that order. */
#define VEC(T) struct { T *v; size_t n, cap; }

/*
 * A list of record indices sorted by (updated time, id), rebuilt lazily
 * after a change: updated-time windows binary-search it.
 */
struct time_index {
	uint32_t *ix;
	size_t n;
	bool dirty;
};

struct invite {
	int64_t project_id, user_id;
};

struct world_config {
	uint64_t seed;
	int64_t now;               /* simulator clock at start */
	size_t users, projects, milestones, milestone_requests, reviews, threads;
	double bids_per_project, messages_per_thread;
	size_t accounts;           /* self users; the sizes above are each one's share */
	int64_t span;              /* records spread over this long before now (seconds) */
};

struct webhooks;
enum { MAX_ACCOUNTS = 10000 };

struct world {
	struct world_config cfg;
	struct webhooks *hooks;    /* where world changes are announced (webhooks.c); NULL: nowhere */
	int64_t now;               /* simulator clock, unix seconds */
	int64_t self_id;           /* account 1's user, the only one when accounts == 1 */
	int64_t *accounts;         /* user id of account k at [k - 1] */
	size_t naccounts;
	uint64_t advances;         /* how many /_mock/advance calls so far */
	VEC(struct user) users;
	VEC(struct project) projects;
	VEC(struct bid) bids;
	VEC(struct milestone) milestones;
	VEC(struct milestone_request) milestone_requests;
	VEC(struct review) reviews;
	VEC(struct thread) threads;
	VEC(struct message) messages;
	VEC(struct invite) invites;
	struct time_index projects_by_update;
	struct time_index threads_by_update;
	struct time_index messages_by_update;
	int64_t next_id[8];        /* next id per entity kind, see enum kind */
	uint32_t *bid_start;       /* bids by project: CSR offsets per project index */
	uint32_t *bid_list;        /* bid indices grouped by project, id order */
	size_t bid_index_n;        /* bids.n when the index was built */
	size_t bid_index_np;       /* projects.n when the index was built */
};

/* world.c */
void world_config_defaults(struct world_config *c);
void world_config_scale(struct world_config *c, size_t records);
struct world *world_generate(const struct world_config *c);
void world_free(struct world *w);
size_t world_records(const struct world *w);

struct user *world_user(struct world *w, int64_t id);
struct project *world_project(struct world *w, int64_t id);
struct bid *world_bid(struct world *w, int64_t id);
struct milestone *world_milestone(struct world *w, int64_t id);
struct milestone_request *world_milestone_request(struct world *w, int64_t id);
struct thread *world_thread(struct world *w, int64_t id);
struct message *world_message(struct world *w, int64_t id);
struct user *world_self(struct world *w);
/* 1..N when id is one of the mock's own accounts, else 0. */
int world_account_of(struct world *w, int64_t id);
static inline bool world_is_account(struct world *w, int64_t id)
{
	return w->naccounts <= 1 ? id == w->self_id : world_account_of(w, id) != 0;
}

/* The next id of a kind; ids grow by small deterministic gaps. */
int64_t world_take_id(struct world *w, enum kind k);

/* New records, at the end of their array, with the next id; NULL on OOM. */
struct project *world_add_project(struct world *w);
struct bid *world_add_bid(struct world *w);
struct milestone *world_add_milestone(struct world *w);
struct milestone_request *world_add_milestone_request(struct world *w);
struct review *world_add_review(struct world *w);
struct thread *world_add_thread(struct world *w);
struct message *world_add_message(struct world *w);

/*
 * Records made at the current clock, by the API's writes and by activity
 * alike: a bid counted in its project's bid_stats, a funded (frozen)
 * milestone and a pending milestone request on a bid.  `desc` is copied;
 * NULL means text derived from the seed.
 */
struct bid *world_new_bid(struct world *w, struct project *p, int64_t bidder, double amount, int period, int pct,
			  const char *desc);
struct milestone *world_new_milestone(struct world *w, const struct bid *b, double amount, int reason,
				      const char *desc);
struct milestone_request *world_new_milestone_request(struct world *w, const struct bid *b, double amount,
						       const char *desc);

/* Mark a record changed at time t (bumps its updated time and index). */
void world_touch_project(struct world *w, struct project *p, int64_t t);
void world_touch_thread(struct world *w, struct thread *t, int64_t when);
void world_touch_message(struct world *w, struct message *m, int64_t when);
void world_bid_placed(struct world *w, struct project *p, const struct bid *b);
void world_bid_removed(struct world *w, struct project *p, const struct bid *b);

/* The index sorted by updated time, rebuilt if a change made it stale. */
const struct time_index *world_projects_by_update(struct world *w);
const struct time_index *world_threads_by_update(struct world *w);
const struct time_index *world_messages_by_update(struct world *w);

/*
 * Half-open [from, to) over an array of n records of `size` bytes sorted by
 * the int64 time at byte offset `off`: the first index in the window and
 * one past the last.
 */
void world_time_range(const void *base, size_t n, size_t size, size_t off,
		      int64_t from, int64_t to, size_t *lo, size_t *hi);

/*
 * webhooks.c: announce a change to the registered webhooks (a no-op until
 * the server attaches them, and for changes that do not concern self).
 * Called under the world lock; they only queue, never block.
 */
void event_message(struct world *w, const struct message *m);
void event_bid(struct world *w, const char *type, const struct bid *b);
void event_milestone(struct world *w, const char *type, const struct milestone *m);
void event_milestone_request(struct world *w, const struct milestone_request *q);
void event_project_completed(struct world *w, const struct project *p, const struct bid *b);

/* generate.c: fills an empty world from its config. false on OOM. */
bool generate_world(struct world *w);

/*
 * activity.c: move the clock forward by `seconds`, making activity, none of
 * it in the last `quiet` seconds.  Returns the number of events.
 */
size_t activity_advance(struct world *w, int64_t seconds, int64_t quiet);
/*
 * One record of kind ("message", "review", "bid") whose own time is behind
 * seconds before now, new to every read from now on: what a record the API
 * indexes late looks like; *out_id its id (a review's project).  False when
 * the world has none to make.
 */
bool activity_late(struct world *w, const char *kind, int64_t behind, int64_t *out_time, int64_t *out_id);
/*
 * silent.c: change record id of table (projects, bids, milestones,
 * milestone_requests, reviews, threads, messages) with no event and no time
 * moved: a text replaced (a thread's is_muted flipped).  False when there
 * is no such record.
 */
bool activity_silent_edit(struct world *w, const char *table, int64_t id);

/* text.c: deterministic content */
enum text_kind { TX_TITLE, TX_DESC, TX_BID, TX_MSG, TX_REVIEW, TX_MILESTONE, TX_USERNAME, TX_DISPLAY };
struct fm_buf;
void text_emit(struct fm_buf *b, uint64_t seed, enum text_kind kind, int64_t id);
/* The first max bytes or a little more (whole words) of the same text. */
void text_emit_prefix(struct fm_buf *b, uint64_t seed, enum text_kind kind, int64_t id, size_t max);
char *text_make(uint64_t seed, enum text_kind kind, int64_t id); /* malloc'd */
bool text_matches(const char *hay, const char *needle);           /* case-insensitive ASCII */

#endif
