/*
 * sync_replies.c — reply_times (migration 016: the account's messages in
 * threads and the waits they ended) kept in step once per sync batch, thread
 * by thread, just before the batch commits.
 *
 * Migration 016's per-message triggers stand aside while sync_batch holds a
 * row (only ever inside this engine's open transaction, see sync_fts.c).
 * Meanwhile the TEMP triggers made here note the thread of each message a
 * statement inserts, deletes or changes in what the waits depend on (thread,
 * author, time, local state, id), both threads of a message that moved.  At
 * commit the rows of every noted thread are made again from its messages,
 * numbering them (the view reply_times_fresh's query with the threads put
 * inside, where the messages_thread index finds them).  Out of order,
 * re-read, deleted: a thread is always made from what it holds at the
 * commit.
 *
 * Only the rows that differ are written, so only the months whose replies
 * changed go stale (migration 016's triggers on reply_times), and the stale
 * months' figures are computed again into reply_months: a read of
 * insight_response_monthly after a commit reads a dozen rows.
 *
 * A first sync that set the messages indexes aside leaves reply_times alone
 * (numbering a thread would scan every message) and fills it whole when the
 * indexes come back (sync_indexes_restore), in the same transaction.
 */
#include "sync_internal.h"

#define CHANGED(o, n) \
	"(" o ".id IS NOT " n ".id OR " o ".thread_id IS NOT " n ".thread_id OR " o ".from_user_id IS NOT " n \
	".from_user_id OR " o ".time_created IS NOT " n ".time_created OR " o ".local_state IS NOT " n ".local_state)"

static const char tables_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS replies_touched(thread_id INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS replies_made(id INTEGER PRIMARY KEY, thread_id, replied_at, asked_id, "
	"asked_at);";

static const char triggers_sql[] =
	"CREATE TEMP TRIGGER IF NOT EXISTS replies_note_insert AFTER INSERT ON main.messages "
	"WHEN new.thread_id IS NOT NULL AND EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO replies_touched(thread_id) VALUES (new.thread_id) ON CONFLICT DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS replies_note_update "
	"AFTER UPDATE OF id, thread_id, from_user_id, time_created, local_state ON main.messages "
	"WHEN " CHANGED("old", "new") " AND EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO replies_touched(thread_id) SELECT old.thread_id WHERE old.thread_id IS NOT NULL "
	"ON CONFLICT DO NOTHING; "
	"INSERT INTO replies_touched(thread_id) SELECT new.thread_id WHERE new.thread_id IS NOT NULL "
	"ON CONFLICT DO NOTHING; END;"
	"CREATE TEMP TRIGGER IF NOT EXISTS replies_note_delete AFTER DELETE ON main.messages "
	"WHEN old.thread_id IS NOT NULL AND EXISTS (SELECT 1 FROM main.sync_batch) BEGIN "
	"INSERT INTO replies_touched(thread_id) VALUES (old.thread_id) ON CONFLICT DO NOTHING; END;";

static const char teardown_sql[] =
	"DROP TRIGGER IF EXISTS temp.replies_note_insert;"
	"DROP TRIGGER IF EXISTS temp.replies_note_update;"
	"DROP TRIGGER IF EXISTS temp.replies_note_delete;"
	"DROP TABLE IF EXISTS temp.replies_touched;"
	"DROP TABLE IF EXISTS temp.replies_made;";

/*
 * reply_times_fresh (migration 016) for the noted threads, into
 * replies_made: the filter sits in the innermost query, which a view's
 * WHERE would not reach (SQLite does not push it through the window).
 * Then only the rows that differ are written, so that only the months
 * whose figures changed go stale (migration 016's reply_months triggers),
 * and the stale months are computed again (MONTHS_SQL).
 */
#define MONTHS_SQL \
	"INSERT INTO main.reply_months(month, replies, median_reply_s, p90_reply_s) " \
	"SELECT month, replies, median_reply_s, p90_reply_s FROM main.insight_response_monthly " \
	"WHERE month IN (SELECT month FROM main.reply_months_stale);" \
	"DELETE FROM main.reply_months_stale;"

static const char flush_sql[] =
	"INSERT INTO temp.replies_made(id, thread_id, replied_at, asked_id, asked_at) "
	"SELECT max(CASE WHEN mine THEN id END), thread_id, max(CASE WHEN mine THEN t END), "
	"max(CASE WHEN opens THEN id END), max(CASE WHEN opens THEN t END) "
	"FROM (SELECT thread_id, id, t, mine, sum(mine) OVER w - mine AS grp, "
	"NOT mine AND coalesce(lag(mine) OVER w, 1) AS opens "
	"FROM (SELECT thread_id, id, time_created AS t, "
	"coalesce(from_user_id = (SELECT id FROM main.users WHERE is_self = 1), 0) AS mine "
	"FROM main.messages WHERE thread_id IN (SELECT thread_id FROM temp.replies_touched) "
	"AND time_created IS NOT NULL AND local_state IS NULL) "
	"WINDOW w AS (PARTITION BY thread_id ORDER BY t, id)) "
	"GROUP BY thread_id, grp HAVING max(mine) = 1;"
	"DELETE FROM main.reply_times WHERE thread_id IN (SELECT thread_id FROM temp.replies_touched) "
	"AND id NOT IN (SELECT id FROM temp.replies_made);"
	"INSERT INTO main.reply_times(id, thread_id, replied_at, asked_id, asked_at, seconds, month) "
	"SELECT id, thread_id, replied_at, asked_id, asked_at, replied_at - asked_at, "
	"strftime('%Y-%m', replied_at, 'unixepoch') FROM temp.replies_made WHERE true "
	"ON CONFLICT(id) DO UPDATE SET thread_id = excluded.thread_id, replied_at = excluded.replied_at, "
	"asked_id = excluded.asked_id, asked_at = excluded.asked_at, seconds = excluded.seconds, "
	"month = excluded.month WHERE reply_times.thread_id IS NOT excluded.thread_id "
	"OR reply_times.replied_at IS NOT excluded.replied_at OR reply_times.asked_id IS NOT excluded.asked_id "
	"OR reply_times.asked_at IS NOT excluded.asked_at;"
	"DELETE FROM temp.replies_made;"
	"DELETE FROM temp.replies_touched;"
	MONTHS_SQL;

/* Indexes set aside by a first sync: the messages have no messages_thread. */
static int indexes_deferred(struct sync_run *run, bool *out)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(run->db->sql, "SELECT EXISTS (SELECT 1 FROM main.sync_deferred_indexes)", -1, &st,
			       NULL) != SQLITE_OK)
		return sync_fail_db(run, "check for indexes set aside");
	*out = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return FL_OK;
}

/*
 * A first sync's batches note nothing: the table is filled whole when the
 * indexes come back, at the end of the pass, and the notes would cost its
 * load a statement a message.
 */
int sync_replies_setup(struct sync_run *run)
{
	bool deferred = false;
	int rc = sync_exec(run, tables_sql, "prepare batched reply times");

	if (!rc)
		rc = indexes_deferred(run, &deferred);
	if (!rc && !deferred)
		rc = sync_exec(run, triggers_sql, "prepare batched reply times");
	return rc;
}

void sync_replies_teardown(struct sync_run *run)
{
	sqlite3_exec(run->db->sql, teardown_sql, NULL, NULL, NULL);
}

int sync_replies_flush(struct sync_run *run)
{
	bool deferred = false;
	int rc = indexes_deferred(run, &deferred);

	if (rc)
		return rc;
	if (deferred) /* sync_replies_rebuild, once the indexes are back */
		return sync_exec(run, "DELETE FROM temp.replies_touched", "bring the reply times up to date");
	return sync_exec(run, flush_sql, "bring the reply times up to date");
}

int sync_replies_rebuild(struct sync_run *run)
{
	return sync_exec(run,
			 "DELETE FROM main.reply_times;"
			 "INSERT INTO main.reply_times(id, thread_id, replied_at, asked_id, asked_at, seconds, month) "
			 "SELECT id, thread_id, replied_at, asked_id, asked_at, replied_at - asked_at, "
			 "strftime('%Y-%m', replied_at, 'unixepoch') FROM main.reply_times_fresh;"
			 MONTHS_SQL,
			 "make the reply times again");
}
