/*
 * webhook_status.c — fl_webhook_status_get: webhook health in one snapshot
 * (deliveries, duplicates and unmapped ones in the last hour, the last
 * delivery, pending hints, the webhooks the last register/list saw and an
 * inactive one's reason, the lost-delivery counts stream_hints.c keeps).
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct status_alloc {
	struct fl_webhook_status pub;
	char *inactive_reason;
};

static const char figures_sql[] =
	"SELECT"
	" (SELECT max(received_at) FROM webhook_deliveries),"
	" (SELECT count(*) FROM webhook_deliveries WHERE received_at >= strftime('%s', 'now') - 3600),"
	" (SELECT count(*) FROM webhook_deliveries WHERE received_at >= strftime('%s', 'now') - 3600 AND duplicate = 1),"
	" (SELECT count(*) FROM webhook_deliveries WHERE received_at >= strftime('%s', 'now') - 3600 AND outcome = 'pass'),"
	" (SELECT count(*) FROM webhook_deliveries),"
	" (SELECT count(*) FROM webhook_hints),"
	" (SELECT count(*) FROM webhooks),"
	" (SELECT count(*) FROM webhooks WHERE inactive = 0),"
	" (SELECT inactive_reason FROM webhooks WHERE inactive = 1 ORDER BY listed_at DESC, id DESC LIMIT 1),"
	" (SELECT num FROM webhook_state WHERE key = 'listed_at'),"
	" (SELECT num FROM webhook_state WHERE key = 'lost_last'),"
	" (SELECT num FROM webhook_state WHERE key = 'lost_total'),"
	" (SELECT num FROM webhook_state WHERE key = 'lost_checked_at')";

static int64_t col(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

FL_API int fl_webhook_status_get(struct fl_db *db, struct fl_webhook_status **out)
{
	struct status_alloc *s;
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (out)
		*out = NULL;
	if (!db)
		return FL_ERR_MISUSE;
	if (!out)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_webhook_status_get: out is NULL");
	s = calloc(1, sizeof *s);
	if (!s)
		return error_set(&db->err, FL_ERR_NOMEM, "read webhook status: out of memory");
	/* One statement: one snapshot, without a transaction of our own. */
	if (sqlite3_prepare_v2(db->sql, figures_sql, -1, &st, NULL) != SQLITE_OK) {
		rc = store_error(db, "read webhook status");
		free(s);
		return rc;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		struct fl_webhook_status *p = &s->pub;
		const char *reason = (const char *)sqlite3_column_text(st, 8);

		p->last_delivery = col(st, 0);
		p->deliveries_hour = col(st, 1);
		p->duplicates_hour = col(st, 2);
		p->unmapped_hour = col(st, 3);
		p->deliveries_total = col(st, 4);
		p->hints_pending = col(st, 5);
		p->webhooks_known = col(st, 6);
		p->webhooks_active = col(st, 7);
		p->listed_at = col(st, 9);
		p->lost_last = col(st, 10);
		p->lost_total = col(st, 11);
		p->lost_checked_at = col(st, 12);
		if (reason && !(s->inactive_reason = strdup(reason)))
			rc = error_set(&db->err, FL_ERR_NOMEM, "read webhook status: out of memory");
		p->inactive_reason = s->inactive_reason;
	} else {
		rc = store_error(db, "read webhook status");
	}
	sqlite3_finalize(st);
	if (rc) {
		fl_webhook_status_free(&s->pub);
		return rc;
	}
	error_clear(&db->err);
	*out = &s->pub;
	return FL_OK;
}

FL_API void fl_webhook_status_free(struct fl_webhook_status *status)
{
	struct status_alloc *s = (struct status_alloc *)status;

	if (!s)
		return;
	free(s->inactive_reason);
	free(s);
}
