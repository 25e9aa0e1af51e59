/*
 * stream_messages.c — the account's threads and messages, each in windows
 * on updated time (from_updated_time/to_updated_time, see Get Threads and
 * Get Messages), so edits, reads and new messages all come back through the
 * same windows.  Threads arrive as wrappers {id, time_updated, is_read,
 * folder, thread: {...}}; their members land in thread_members.
 */
#include <stdio.h>

#include "sync_internal.h"

static const char *const thread_types[] = { "private_chat", "primary", NULL };
static const char *const context_types[] = { "project", "contest", "general", NULL };

/* A thread's row and a message's: one line a column (sync_columns.c). */
static const struct sync_column thread_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "thread_type", COL_ENUM, .path = "thread.thread_type", .values = thread_types },
	{ "context_type", COL_ENUM, .path = "thread.context.type", .values = context_types },
	{ "context_id", COL_INT, .path = "thread.context.id" },
	{ "owner_id", COL_INT, .path = "thread.owner", .ref = REF_USER },
	{ "folder", COL_TEXT, .path = "folder" },
	{ "is_read", COL_BOOL, .path = "is_read" },
	{ "is_muted", COL_BOOL, .path = "is_muted" },
	{ "time_created", COL_INT, .path = "thread.time_created" },
	{ "time_updated", COL_INT, .path = "time_updated" },
	{ "time_read", COL_INT, .path = "time_read" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity thread_entity = {
	.table = "threads", .conflict = "id", .cols = thread_cols, .where = " " NEWER_OR_SAME("threads"),
	.slot = SLOT_THREAD, .what = "store thread", .look = true,
};

static const struct sync_column message_cols[] = {
	{ "id", COL_KEY, .set = "" },
	{ "thread_id", COL_INT, .path = "thread_id", .ref = REF_THREAD },
	{ "from_user_id", COL_INT, .path = "from_user", .ref = REF_USER },
	{ "message", COL_TEXT, .path = "message" },
	{ "message_source", COL_TEXT, .path = "message_source" },
	{ "client_message_id", COL_NUMTEXT, .path = "client_message_id" },
	{ "parent_id", COL_INT, .path = "parent_id" },
	{ "time_created", COL_INT, .path = "time_created" },
	{ "time_updated", COL_INT, .path = "time_updated", .alt = "time_created" },
	{ "remove_reason", COL_TEXT, .path = "remove_reason" },
	{ "local_state", COL_FIXED, .value = "NULL", .set = "local_state = NULL" },
	{ .name = "raw", .kind = COL_RAW },
	{ .name = "synced_at", .kind = COL_NOW },
	{ .name = NULL },
};

static const struct sync_entity message_entity = {
	.table = "messages", .conflict = "id", .cols = message_cols, .slot = SLOT_MESSAGE,
	.what = "store message", .look = true,
};

int row_thread(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id, v;
	char path[40];
	int rc;

	if (!json_int(it, "id", &id) && !json_int(it, "thread.id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a thread without an id");
	rc = sync_entity_store(run, &thread_entity, &id, NULL, it);
	if (rc || !run->changed || !json_get(it, "thread.members.0"))
		return rc;

	rc = sync_stmt(run, SLOT_THREAD_MEMBERS_DEL, "DELETE FROM thread_members WHERE thread_id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sync_step_aux(run, st, "clear members of thread", id)))
		return rc;
	for (int i = 0;; i++) {
		snprintf(path, sizeof path, "thread.members.%d", i);
		if (!json_int(it, path, &v))
			break;
		if ((rc = sync_ref(run, REF_USER, v)))
			return rc;
		rc = sync_stmt(run, SLOT_THREAD_MEMBER,
			       "INSERT INTO thread_members(thread_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
			       &st);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, v);
		if ((rc = sync_step_aux(run, st, "store member of thread", id)))
			return rc;
	}
	return FL_OK;
}

int row_message(struct sync_run *run, const struct json_item *it)
{
	int64_t id;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a message without an id");
	return sync_entity_store(run, &message_entity, &id, NULL, it);
}

static bool thread_updated(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_updated", out);
}

static bool message_updated(const struct json_item *it, int64_t *out)
{
	return json_int(it, "time_updated", out) || json_int(it, "time_created", out);
}

int stream_threads(struct sync_run *run)
{
	struct sync_window_spec spec = {
		.stream = "threads", .base_query = "/api/messages/0.1/threads/", .collection = "threads",
		.from_param = "from_updated_time", .to_param = "to_updated_time",
		.store = row_thread, .time = thread_updated,
	};

	return sync_window(run, &spec);
}

int stream_messages(struct sync_run *run)
{
	struct sync_window_spec spec = {
		.stream = "messages", .base_query = "/api/messages/0.1/messages/", .collection = "messages",
		.from_param = "from_updated_time", .to_param = "to_updated_time",
		.store = row_message, .time = message_updated,
	};

	return sync_window(run, &spec);
}
