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

int row_thread(struct sync_run *run, const struct json_item *it)
{
	sqlite3_stmt *st;
	int64_t id, v;
	char path[40];
	int rc;

	if (!json_int(it, "id", &id) && !json_int(it, "thread.id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a thread without an id");
	if (json_int(it, "thread.owner", &v) && (rc = sync_ref(run, REF_USER, v)))
		return rc;
	if (sync_same_raw(run, SLOT_THREAD, "threads", id, it))
		return FL_OK;
	rc = sync_stmt(run, SLOT_THREAD,
		"INSERT INTO threads(id, thread_type, context_type, context_id, owner_id, folder, is_read, "
		"is_muted, time_created, time_updated, time_read, local_state, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12, ?13) "
		"ON CONFLICT(id) DO UPDATE SET thread_type = excluded.thread_type, "
		"context_type = excluded.context_type, context_id = excluded.context_id, "
		"owner_id = excluded.owner_id, folder = excluded.folder, is_read = excluded.is_read, "
		"is_muted = excluded.is_muted, time_created = excluded.time_created, "
		"time_updated = excluded.time_updated, time_read = excluded.time_read, local_state = NULL, "
		"raw = excluded.raw, synced_at = excluded.synced_at WHERE threads.raw IS NOT excluded.raw "
		NEWER_OR_SAME("threads"), &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sync_bind_enum(st, 2, it, "thread.thread_type", thread_types);
	sync_bind_enum(st, 3, it, "thread.context.type", context_types);
	sync_bind_int(st, 4, it, "thread.context.id");
	sync_bind_int(st, 5, it, "thread.owner");
	sync_bind_text(st, 6, it, "folder");
	sync_bind_bool(st, 7, it, "is_read");
	sync_bind_bool(st, 8, it, "is_muted");
	sync_bind_int(st, 9, it, "thread.time_created");
	sync_bind_int(st, 10, it, "time_updated");
	sync_bind_int(st, 11, it, "time_read");
	sync_bind_raw(st, 12, it);
	sqlite3_bind_int64(st, 13, run->server_now);
	rc = sync_upsert(run, SLOT_THREAD, st, "store thread", id);
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
	sqlite3_stmt *st;
	int64_t id, v;
	int rc;

	if (!json_int(it, "id", &id))
		return error_set(&run->err, FL_ERR_PARSE, "a message without an id");
	if (json_int(it, "thread_id", &v) && (rc = sync_ref(run, REF_THREAD, v)))
		return rc;
	if (json_int(it, "from_user", &v) && (rc = sync_ref(run, REF_USER, v)))
		return rc;
	if (sync_same_raw(run, SLOT_MESSAGE, "messages", id, it))
		return FL_OK;
	rc = sync_stmt(run, SLOT_MESSAGE,
		"INSERT INTO messages(id, thread_id, from_user_id, message, message_source, client_message_id, "
		"parent_id, time_created, time_updated, remove_reason, local_state, raw, synced_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12) "
		"ON CONFLICT(id) DO UPDATE SET thread_id = excluded.thread_id, "
		"from_user_id = excluded.from_user_id, message = excluded.message, "
		"message_source = excluded.message_source, client_message_id = excluded.client_message_id, "
		"parent_id = excluded.parent_id, time_created = excluded.time_created, "
		"time_updated = excluded.time_updated, remove_reason = excluded.remove_reason, "
		"local_state = NULL, raw = excluded.raw, synced_at = excluded.synced_at "
		"WHERE messages.raw IS NOT excluded.raw", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sync_bind_int(st, 2, it, "thread_id");
	sync_bind_int(st, 3, it, "from_user");
	sync_bind_text(st, 4, it, "message");
	sync_bind_text(st, 5, it, "message_source");
	/* client_message_id is a string or a number depending on the client that sent it. */
	if (json_get(it, "client_message_id") && json_get(it, "client_message_id")->type == JSON_NUMBER)
		sqlite3_bind_text(st, 6, json_get(it, "client_message_id")->text, -1, SQLITE_TRANSIENT);
	else
		sync_bind_text(st, 6, it, "client_message_id");
	sync_bind_int(st, 7, it, "parent_id");
	sync_bind_int(st, 8, it, "time_created");
	if (json_get(it, "time_updated"))
		sync_bind_int(st, 9, it, "time_updated");
	else
		sync_bind_int(st, 9, it, "time_created");
	sync_bind_text(st, 10, it, "remove_reason");
	sync_bind_raw(st, 11, it);
	sqlite3_bind_int64(st, 12, run->server_now);
	return sync_upsert(run, SLOT_MESSAGE, st, "store message", id);
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
