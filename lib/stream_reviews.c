/*
 * stream_reviews.c — reviews to and from the account: two streams (filters
 * are AND'd, see Filters), each in windows on created time.  Reviews have no
 * id: a row is keyed by (project, author, subject), and a posted review does
 * not change, so windows alone keep them fresh.
 */
#include <stdio.h>

#include "sync_internal.h"

static const char *const roles[] = { "freelancer", "employer", NULL };
static const char *const review_types[] = { "project", "contest", NULL };

/* A review's row, keyed by (project, from, to): one line a column (sync_columns.c). */
#define RATING(c) "rating_details.category_ratings." c

static const struct sync_column review_cols[] = {
	{ "project_id", COL_KEY, .key = 0, .ref = REF_PROJECT, .set = "" },
	{ "from_user_id", COL_KEY, .key = 1, .ref = REF_USER, .set = "" },
	{ "to_user_id", COL_KEY, .key = 2, .ref = REF_USER, .set = "" },
	{ "role", COL_ENUM, .path = "role", .values = roles },
	{ "status", COL_TEXT, .path = "status" },
	{ "rating", COL_REAL, .path = "rating" },
	{ "description", COL_TEXT, .path = "description" },
	{ "paid_amount", COL_REAL, .path = "paid_amount" },
	{ "bid_amount", COL_REAL, .path = "bid_amount" },
	{ "currency_id", COL_INT, .path = "currency.id", .ref = REF_CURRENCY },
	{ "review_type", COL_ENUM, .path = "review_context.review_type", .values = review_types },
	{ "rating_communication", COL_REAL, .path = RATING("communication") },
	{ "rating_expertise", COL_REAL, .path = RATING("expertise") },
	{ "rating_hire_again", COL_REAL, .path = RATING("hire_again") },
	{ "rating_quality", COL_REAL, .path = RATING("quality") },
	{ "rating_professionalism", COL_REAL, .path = RATING("professionalism") },
	{ "time_submitted", COL_INT, .path = "time_submitted" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity review_entity = {
	.table = "reviews", .conflict = "project_id, from_user_id, to_user_id", .cols = review_cols,
	.slot = SLOT_REVIEW, .what = "store review of project",
};

int row_review(struct sync_run *run, const struct json_item *it)
{
	int64_t keys[3];

	if (!json_int(it, "project_id", &keys[0]) && !json_int(it, "review_context.context_id", &keys[0]))
		return error_set(&run->err, FL_ERR_PARSE, "a review without a project");
	if (!json_int(it, "from_user_id", &keys[1]) || !json_int(it, "to_user_id", &keys[2]))
		return error_set(&run->err, FL_ERR_PARSE, "a review of project %lld without its users",
				 (long long)keys[0]);
	return sync_entity_store(run, &review_entity, keys, NULL, it);
}

static bool review_created(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_submitted", out) || json_int(it, "submitdate", out);
}

static int reviews_window(struct sync_run *run, const char *stream, const char *filter)
{
	char base[256];
	struct sync_window_spec spec = {
		.stream = stream, .base_query = base, .collection = "reviews",
		.from_param = "from_time", .to_param = "to_time",
		.store = row_review, .time = review_created,
	};

	snprintf(base, sizeof base, "/api/projects/0.1/reviews/?%s=%lld&ratings=true", filter,
		 (long long)run->self_id);
	return sync_window(run, &spec);
}

int stream_reviews_to(struct sync_run *run)
{
	return reviews_window(run, "reviews_to", "to_users[]");
}

int stream_reviews_from(struct sync_run *run)
{
	return reviews_window(run, "reviews_from", "from_users[]");
}
