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

int row_review(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t project, from, to, v;
	int rc;

	if (!json_int(it, "project_id", &project) && !json_int(it, "review_context.context_id", &project))
		return error_set(&run->err, FL_ERR_PARSE, "a review without a project");
	if (!json_int(it, "from_user_id", &from) || !json_int(it, "to_user_id", &to))
		return error_set(&run->err, FL_ERR_PARSE, "a review of project %lld without its users",
				 (long long)project);
	if ((rc = sync_ref(run, REF_PROJECT, project)) || (rc = sync_ref(run, REF_USER, from)) ||
	    (rc = sync_ref(run, REF_USER, to)))
		return rc;
	if (json_int(it, "currency.id", &v) && (rc = sync_ref(run, REF_CURRENCY, v)))
		return rc;
	rc = sync_stmt(run, SLOT_REVIEW,
		"INSERT INTO reviews(project_id, from_user_id, to_user_id, role, status, rating, description, "
		"paid_amount, bid_amount, currency_id, review_type, rating_communication, rating_expertise, "
		"rating_hire_again, rating_quality, rating_professionalism, time_submitted, local_state, raw, "
		"synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
		"NULL, ?18, ?19) ON CONFLICT(project_id, from_user_id, to_user_id) DO UPDATE SET "
		"role = excluded.role, status = excluded.status, rating = excluded.rating, "
		"description = excluded.description, paid_amount = excluded.paid_amount, "
		"bid_amount = excluded.bid_amount, currency_id = excluded.currency_id, "
		"review_type = excluded.review_type, rating_communication = excluded.rating_communication, "
		"rating_expertise = excluded.rating_expertise, rating_hire_again = excluded.rating_hire_again, "
		"rating_quality = excluded.rating_quality, rating_professionalism = excluded.rating_professionalism, "
		"time_submitted = excluded.time_submitted, local_state = NULL, raw = excluded.raw, "
		"synced_at = excluded.synced_at WHERE reviews.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, project);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sync_bind_enum(st, 4, it, "role", roles);
	sync_bind_text(st, 5, it, "status");
	sync_bind_real(st, 6, it, "rating");
	sync_bind_text(st, 7, it, "description");
	sync_bind_real(st, 8, it, "paid_amount");
	sync_bind_real(st, 9, it, "bid_amount");
	sync_bind_int(st, 10, it, "currency.id");
	sync_bind_enum(st, 11, it, "review_context.review_type", review_types);
	sync_bind_real(st, 12, it, "rating_details.category_ratings.communication");
	sync_bind_real(st, 13, it, "rating_details.category_ratings.expertise");
	sync_bind_real(st, 14, it, "rating_details.category_ratings.hire_again");
	sync_bind_real(st, 15, it, "rating_details.category_ratings.quality");
	sync_bind_real(st, 16, it, "rating_details.category_ratings.professionalism");
	sync_bind_int(st, 17, it, "time_submitted");
	sync_bind_raw(st, 18, it);
	sqlite3_bind_int64(st, 19, run->server_now);
	return sync_step(run, st, "store review of project", project);
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
