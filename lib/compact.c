/*
 * compact.c — the file's size: fl_db_compact gives free pages back
 * (incremental vacuum; one VACUUM to turn it on in a file made before it
 * was set at creation) and checkpoints and truncates the WAL when no reader
 * holds it; fl_feed_status_get reports the file and the feed for `flsync
 * status`.  New files get auto_vacuum = INCREMENTAL from store.c, before
 * their first table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "feed.h"

/* Incremental vacuum when this share of the file is free, or this many bytes. */
#define FREE_SHARE 8
#define FREE_BYTES (8 << 20)
/* A file without incremental vacuum is VACUUMed once when this share is free. */
#define VACUUM_SHARE 4
#define VACUUM_MIN_PAGES 16
/* A VACUUM that failed (a full disk: it needs about twice the file) is not tried again for this long. */
#define VACUUM_RETRY_S 86400

struct file_pages {
	int64_t page_size, pages, free_pages, auto_vacuum;
};

static int read_pages(struct fl_db *db, struct file_pages *p)
{
	int rc;

	if ((rc = feed_int(db, "PRAGMA page_size", 0, &p->page_size)) ||
	    (rc = feed_int(db, "PRAGMA page_count", 0, &p->pages)) ||
	    (rc = feed_int(db, "PRAGMA freelist_count", 0, &p->free_pages)))
		return rc;
	return feed_int(db, "PRAGMA auto_vacuum", 0, &p->auto_vacuum);
}

/*
 * Checkpoint without waiting for readers long: TRUNCATE succeeds only when
 * none holds the WAL.  A reader of a moment (the daemon's own queue watcher
 * looking at the file) is waited out by a few tries 5 ms apart; a reader
 * that stays (a query, flsync ui) gets PASSIVE, which copies back what it
 * can.  The handle's busy timeout is set to 0 for the calls and put back
 * after.
 */
enum { CHECKPOINT_TRIES = 20 }; /* 100 ms of readers of a moment */

static int checkpoint(struct fl_db *db, int *out_truncated)
{
	int64_t timeout;
	int rc, src;

	*out_truncated = 0;
	if ((rc = feed_int(db, "PRAGMA busy_timeout", 0, &timeout)))
		return rc;
	sqlite3_busy_timeout(db->sql, 0);
	for (int tries = 0;; tries++) {
		src = sqlite3_wal_checkpoint_v2(db->sql, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		if ((src & 0xff) != SQLITE_BUSY || tries == CHECKPOINT_TRIES)
			break;
		sqlite3_sleep(5);
	}
	if (src == SQLITE_OK)
		*out_truncated = 1;
	else if ((src & 0xff) == SQLITE_BUSY)
		src = sqlite3_wal_checkpoint_v2(db->sql, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_busy_timeout(db->sql, (int)timeout);
	if (src != SQLITE_OK && (src & 0xff) != SQLITE_BUSY)
		return store_error(db, "checkpoint the WAL");
	return FL_OK;
}

/*
 * The one VACUUM that turns incremental vacuum on, its copy built in a
 * temporary file (temp_store is MEMORY for every handle: the copy of the
 * whole file would sit in RAM).  A failure but a busy lock is remembered
 * as the "vacuum" row of sync_state, which `flsync status` shows, and the
 * VACUUM is not tried again for a day: each try rewrites the whole file.
 * *out_skipped is 1 when a recent failure kept it from running.
 */
static int vacuum_once(struct fl_db *db, int *out_skipped)
{
	int64_t failed = 0, now = (int64_t)time(NULL);
	char msg[600];
	int rc;

	*out_skipped = 0;
	if ((rc = feed_int(db, "SELECT count(*) FROM sync_state WHERE stream = 'vacuum' AND failures > 0 "
			   "AND last_error_at > ?1", now - VACUUM_RETRY_S, &failed)))
		return rc;
	if (failed) {
		*out_skipped = 1;
		return FL_OK;
	}
	if ((rc = store_exec(db, "PRAGMA temp_store = FILE", "vacuum the database")))
		return rc;
	rc = store_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", "vacuum the database");
	store_exec(db, "PRAGMA temp_store = MEMORY", "vacuum the database");
	if (!rc) {
		store_exec(db, "DELETE FROM sync_state WHERE stream = 'vacuum'", "vacuum the database");
		return FL_OK;
	}
	if (rc == FL_ERR_BUSY)
		return rc;
	snprintf(msg, sizeof msg, "%s; not tried again for a day (it needs free space about twice the file's size)",
		 db->err.msg);
	store_step(db, "remember the failed vacuum",
		   "INSERT INTO sync_state(stream, last_started, last_error, last_error_at, failures) "
		   "VALUES ('vacuum', ?1, ?2, ?1, 1) ON CONFLICT(stream) DO UPDATE SET "
		   "last_started = ?1, last_error = ?2, last_error_at = ?1, failures = failures + 1",
		   STORE_BINDS(BIND_INT(now), BIND_TEXT(msg)));
	return error_set(&db->err, rc, "%s", msg);
}

FL_API int fl_db_compact(struct fl_db *db, struct fl_compact_report *out)
{
	struct fl_compact_report r = { 0 };
	struct file_pages before, after;
	int rc, skipped = 0, truncated;

	if (out)
		*out = r;
	if (!db)
		return FL_ERR_MISUSE;
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&db->err, FL_ERR_READONLY, "compact the database: it is open read-only");
	if (!sqlite3_get_autocommit(db->sql))
		return error_set(&db->err, FL_ERR_MISUSE, "fl_db_compact: called inside an open transaction");
	if ((rc = read_pages(db, &before)))
		return rc;
	if (before.auto_vacuum == 2 && before.free_pages > 0 &&
	    (before.free_pages * FREE_SHARE > before.pages || before.free_pages * before.page_size > FREE_BYTES))
		rc = store_exec(db, "PRAGMA incremental_vacuum", "give free pages back");
	else if (before.auto_vacuum == 0 && before.free_pages >= VACUUM_MIN_PAGES &&
		 before.free_pages * VACUUM_SHARE > before.pages) {
		/* Once: auto_vacuum changes on an existing file only with a VACUUM. */
		rc = vacuum_once(db, &skipped);
		r.vacuumed = !rc && !skipped;
	}
	if (rc) {
		struct fl_error failed = db->err;

		checkpoint(db, &truncated); /* what the pass wrote still leaves the WAL */
		db->err = failed;
		return rc;
	}
	if ((rc = read_pages(db, &after)))
		return rc;
	r.pages_freed = before.pages > after.pages ? before.pages - after.pages : 0;
	if ((rc = checkpoint(db, &r.checkpointed)))
		return rc;
	if (out)
		*out = r;
	error_clear(&db->err);
	return FL_OK;
}

/* The fl_feed_status and its string, as allocated. */
struct feed_status_alloc {
	struct fl_feed_status pub;
	char *held_by;
};

static int file_sizes(struct fl_db *db, struct fl_feed_status *s)
{
	const char *path = sqlite3_db_filename(db->sql, "main");
	struct stat st;
	char *wal;

	if (!path || !*path)
		return FL_OK; /* in memory: nothing on disk */
	if (stat(path, &st) != 0)
		return error_set(&db->err, FL_ERR_IO, "cannot examine %s", path);
	s->file_bytes = (int64_t)st.st_size;
	s->file_mode = (unsigned)(st.st_mode & 07777);
	wal = malloc(strlen(path) + 5);
	if (!wal)
		return error_set(&db->err, FL_ERR_NOMEM, "feed status: out of memory");
	strcpy(wal, path);
	strcat(wal, "-wal");
	if (stat(wal, &st) == 0)
		s->wal_bytes = (int64_t)st.st_size;
	free(wal);
	return FL_OK;
}

static int held_oldest(struct fl_db *db, struct feed_status_alloc *a)
{
	sqlite3_stmt *st;
	int rc = FL_OK, src;

	a->pub.held = -1;
	if (sqlite3_prepare_v2(db->sql, "SELECT name, position, count(*) OVER () FROM (" FEED_HELD_SQL ") "
			       "ORDER BY position, name LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read the feed's consumers");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		a->held_by = strdup((const char *)sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
		a->pub.held = sqlite3_column_int64(st, 1);
		a->pub.consumers = sqlite3_column_int64(st, 2);
		a->pub.held_by = a->held_by;
		if (!a->held_by)
			rc = error_set(&db->err, FL_ERR_NOMEM, "feed status: out of memory");
	} else if (src != SQLITE_DONE)
		rc = store_error(db, "read the feed's consumers");
	sqlite3_finalize(st);
	return rc;
}

FL_API int fl_feed_status_get(struct fl_db *db, struct fl_feed_status **out)
{
	struct feed_status_alloc *a;
	struct file_pages p;
	int rc, own_txn;

	if (out)
		*out = NULL;
	if (!db)
		return FL_ERR_MISUSE;
	if (!out)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_feed_status_get: out is NULL");
	if (!(a = calloc(1, sizeof *a)))
		return error_set(&db->err, FL_ERR_NOMEM, "feed status: out of memory");
	own_txn = sqlite3_get_autocommit(db->sql);
	if (own_txn && sqlite3_exec(db->sql, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_error(db, "read the feed's status");
		goto out;
	}
	if ((rc = read_pages(db, &p)) || (rc = feed_int(db, "SELECT count(*) FROM changes", 0, &a->pub.rows)) ||
	    (rc = feed_latest(db, &a->pub.latest)) || (rc = feed_horizon(db, &a->pub.horizon)) ||
	    (rc = held_oldest(db, a)) || (rc = file_sizes(db, &a->pub)))
		goto out;
	a->pub.page_size = p.page_size;
	a->pub.free_pages = p.free_pages;
	a->pub.auto_vacuum = (int)p.auto_vacuum;
out:
	if (own_txn && !sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		fl_feed_status_free(&a->pub);
		return rc;
	}
	*out = &a->pub;
	error_clear(&db->err);
	return FL_OK;
}

FL_API void fl_feed_status_free(struct fl_feed_status *status)
{
	struct feed_status_alloc *a = (struct feed_status_alloc *)status;

	if (!a)
		return;
	free(a->held_by);
	free(a);
}
