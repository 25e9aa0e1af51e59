/*
 * fuzz_enqueue.c — libFuzzer target for the write queue's front door:
 * fl_action_enqueue() with any kind and any parameter text, on the cli
 * suite's fixture database, then reading the action back and cancelling it
 * (which undoes its optimistic effect).  Whatever the input, the library
 * returns a code, never crashes or leaks, and leaves the database passing
 * foreign_key_check and integrity_check (tested every 512 runs, after which
 * a fresh fixture replaces it, and at exit).
 *
 * The first byte picks the kind (one of the API's, or the rest of the input
 * up to a NUL as a made-up kind, the parameters after it) and whether to
 * cancel; the rest is the parameters' JSON.  Build and run as fuzz_json.c says, with fuzz_enqueue and
 * a corpus seeded from tests/fuzz/enqueue_seeds.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "flsync.h"

static const char *const kinds[] = {
	"bid.create", "bid.update", "bid.award", "bid.revoke", "bid.accept", "bid.reject", "bid.retract",
	"bid.highlight", "bid.shortlist", "milestone.create", "milestone.release", "milestone.request_release",
	"milestone.cancel", "milestone_request.create", "milestone_request.accept",
	"milestone_request.reject", "milestone_request.delete", "review.post", "thread.create",
	"message.send", "thread.read", "thread.archive", "thread.mute", "project.create", "project.invite",
};
#define NKINDS (sizeof kinds / sizeof *kinds)

static struct fl_db *db;
static char path[64];
static unsigned runs;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_enqueue: %s\n", what);
	abort();
}

/* The database must still be whole: any failure here is a finding. */
static void check_consistent(void)
{
	sqlite3 *raw;
	sqlite3_stmt *st;

	if (sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot reopen the database");
	if (sqlite3_prepare_v2(raw, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(raw));
	if (sqlite3_step(st) == SQLITE_ROW)
		die("foreign_key_check found a dangling reference");
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		die("integrity_check failed");
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

static void remove_database(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char name[80];
	size_t i;

	for (i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		unlink(name);
	}
}

/* At exit (a corpus replay ends well before run 512): check, and clean up. */
static void finish(void)
{
	if (!db)
		return;
	fl_db_close(db);
	db = NULL;
	check_consistent();
	remove_database();
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

static void fresh_database(void)
{
	if (db) {
		fl_db_close(db);
		check_consistent();
	}
	if (!path[0]) {
		char dir[] = "/tmp/fuzz_enqueue.XXXXXX";

		if (!mkdtemp(dir))
			die("mkdtemp");
		snprintf(path, sizeof path, "%s/f.db", dir);
		atexit(finish);
	}
	remove_database();
	if (fixture_make(path, FIXTURE_SQL) != 0 || fl_db_open(path, 0, &db) != FL_OK)
		die("cannot build the fixture database");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_action_info *info;
	char *params, *kind_buf = NULL, *local = NULL;
	const char *kind;
	int64_t id = 0;
	size_t sum = 0;
	int rc;

	if (size == 0)
		return 0;
	if (!db || ++runs % 512 == 0)
		fresh_database();
	if (data[0] % 32 < NKINDS) {
		kind = kinds[data[0] % 32];
		params = strndup((const char *)data + 1, size - 1);
	} else {
		const char *nul = memchr(data + 1, 0, size - 1);
		size_t n = nul ? (size_t)(nul - (const char *)data - 1) : size - 1;

		kind = kind_buf = strndup((const char *)data + 1, n);
		/* the parameters follow the NUL, if there is one */
		params = nul ? strndup(nul + 1, size - 2 - n) : strdup("");
	}
	rc = fl_action_enqueue(db, kind, params, &id, &local);
	sum += strlen(fl_errmsg(db));
	if (rc == FL_OK) {
		if (fl_action_get(db, id, &info) != FL_OK)
			die("an enqueued action cannot be read back");
		sum += strlen(info->kind) + strlen(info->params) + (info->local_ref ? strlen(info->local_ref) : 0);
		fl_action_free(info);
		if (data[0] & 0x80)
			rc = fl_action_cancel(db, id);
	}
	fl_free(local);
	free(params);
	free(kind_buf);
	return sum == (size_t)-1 ? rc : 0;
}
