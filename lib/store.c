/*
 * store.c — opening an flsync database: connection settings, the schema
 * version check, and the embedded migrations (sql/migrations/, applied in one
 * transaction and recorded in PRAGMA user_version).  A new file is made
 * 0600 (its -wal and -shm take its mode) with incremental vacuum.  Also the
 * translation of SQLite errors into FL_* codes, used by every module that
 * writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "watch.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* Errors of an open that failed have no handle to live on. */
static _Thread_local struct fl_error open_err;

int store_code(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return FL_OK;
	case SQLITE_NOMEM:
		return FL_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return FL_ERR_BUSY;
	case SQLITE_READONLY:
		return FL_ERR_READONLY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PERM:
		return FL_ERR_IO;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
		return FL_ERR_MISUSE;
	default:
		return FL_ERR_DB;
	}
}

/* The handle's busy timeout, read back from SQLite (only on an error path). */
static int busy_timeout_ms(struct fl_db *db)
{
	sqlite3_stmt *st;
	int ms = -1;

	if (sqlite3_prepare_v2(db->sql, "PRAGMA busy_timeout", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		ms = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ms;
}

int store_error(struct fl_db *db, const char *what, ...)
{
	char buf[FL_ERRMSG_MAX / 2], msg[128];
	int xrc = sqlite3_extended_errcode(db->sql), prc = xrc & 0xff;
	const char *file;
	va_list ap;

	va_start(ap, what);
	vsnprintf(buf, sizeof buf, what, ap);
	va_end(ap);
	/* Copy SQLite's message first: the PRAGMA below replaces it. */
	snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db->sql));
	if (prc == SQLITE_BUSY || prc == SQLITE_LOCKED)
		return error_set(&db->err, FL_ERR_BUSY,
				 "%s: %s: another connection (flsyncd, or a writer in another program) held the lock "
				 "longer than the busy timeout (%d ms); try again, or raise the timeout (sqlite %d)",
				 buf, msg, busy_timeout_ms(db), xrc);
	if (prc == SQLITE_FULL && (file = sqlite3_db_filename(db->sql, "main")) && *file)
		return error_set(&db->err, store_code(xrc), "%s: %s: no room to write %s; free some space (sqlite %d)",
				 buf, msg, file, xrc);
	return error_set(&db->err, store_code(xrc), "%s: %s (sqlite %d)", buf, msg, xrc);
}

int store_exec(struct fl_db *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_error(db, "%s", what);
	return FL_OK;
}

int store_begin(struct fl_db *db)
{
	return store_exec(db, "BEGIN IMMEDIATE", "begin transaction");
}

int store_commit(struct fl_db *db)
{
	return store_exec(db, "COMMIT", "commit transaction");
}

void store_rollback(struct fl_db *db)
{
	/* A failed COMMIT or a statement error may already have ended it. */
	if (!sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

static int read_int(struct fl_db *db, const char *sql, int *out)
{
	char what[160];
	int64_t v;
	int rc;

	snprintf(what, sizeof what, "read schema (%s)", sql);
	rc = store_int(db, what, sql, NULL, 0, &v, NULL);
	*out = (int)v;
	return rc;
}

/* Check the file's schema version against what this library knows. */
static int check_version(struct fl_db *db, const char *path, int *out_version)
{
	int version, ntables, rc;
	int known = store_migration_count;

	rc = read_int(db, "PRAGMA user_version", &version);
	if (rc)
		return rc;
	*out_version = version;
	if (version > known)
		return error_set(&db->err, FL_ERR_SCHEMA,
				 "database %s is at schema version %d, but this flsync (%s) knows only up to %d: upgrade flsync to use it",
				 path, version, fl_libversion(), known);
	if (version == 0) {
		rc = read_int(db, "SELECT count(*) FROM sqlite_schema", &ntables);
		if (rc)
			return rc;
		if (ntables > 0)
			return error_set(&db->err, FL_ERR_SCHEMA,
					 "%s is an SQLite database, but not an flsync database (it has tables and no flsync schema version)",
					 path);
	}
	if (version < known && (db->flags & FL_OPEN_READONLY))
		return error_set(&db->err, FL_ERR_SCHEMA,
				 "database %s is at schema version %d and needs upgrading to %d; open it read-write once (run flsyncd) first",
				 path, version, known);
	return FL_OK;
}

/*
 * Apply every migration newer than the file's version, all in one
 * transaction.  The version is read again inside the transaction: another
 * process may have migrated between our check and our BEGIN.
 */
static int migrate(struct fl_db *db, const char *path)
{
	int version, rc, i;
	char pragma[64];

	rc = store_begin(db);
	if (rc)
		return error_prefix(&db->err, "migrate %s", path);
	rc = check_version(db, path, &version);
	if (rc)
		goto out;
	for (i = version; i < store_migration_count; i++) {
		const struct store_migration *m = &store_migrations[i];

		if (sqlite3_exec(db->sql, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = store_error(db, "migrate %s to version %d (%s)", path,
					 m->version, m->name);
			goto out;
		}
	}
	if (version < store_migration_count) {
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
			 store_migration_count);
		rc = store_exec(db, pragma, "record schema version");
		if (rc)
			goto out;
	}
	rc = store_commit(db);
out:
	if (rc)
		store_rollback(db);
	return rc;
}

/* Why a read-write open cannot write, and what a person does about it. */
static int readonly_error(struct fl_db *db, const char *path, const char *why)
{
	return error_set(&db->err, FL_ERR_READONLY,
			 "database %s is read-only (%s): whatever writes it (flsyncd, flsync queue, flsync ui) "
			 "needs the file and its directory writable by this user (chmod u+w both, or run as "
			 "their owner), or another --db; reading it works as it is (flsync query, search, "
			 "export, status, report)", path, why);
}

static int configure(struct fl_db *db, const char *path)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc = FL_OK, version;

	sqlite3_busy_timeout(db->sql, DEFAULT_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->sql, 1);

	/* Check before anything writes: a newer file must stay untouched. */
	rc = check_version(db, path, &version);
	if (rc == FL_ERR_READONLY || (rc == FL_ERR_IO && !(db->flags & FL_OPEN_READONLY) &&
				      (sqlite3_extended_errcode(db->sql) & 0xff) == SQLITE_CANTOPEN))
		/* WAL: even a read needs the "-shm" file beside it, which the directory refuses. */
		return readonly_error(db, path, "its directory is not writable");
	if (rc)
		return rc;
	rc = store_exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys");
	if (rc)
		return rc;
	if (db->flags & FL_OPEN_READONLY)
		return store_exec(db, "PRAGMA query_only = ON", "set query-only");

	if (sqlite3_db_readonly(db->sql, "main") == 1)
		return readonly_error(db, path, "the file is not writable");

	/* Only before the first table: a new file gives freed pages back (compact.c). */
	if (version == 0 && (rc = store_exec(db, "PRAGMA auto_vacuum = INCREMENTAL", "set incremental vacuum")))
		return rc;
	if (sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st,
			       NULL) != SQLITE_OK)
		return store_error(db, "set WAL mode on %s", path);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = store_error(db, "set WAL mode on %s", path);
		sqlite3_finalize(st);
		return rc;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcmp(mode, "wal") != 0)
		rc = error_set(&db->err, FL_ERR_DB,
			       "database %s cannot use WAL mode (journal mode stays %s)",
			       path, mode ? mode : "unknown");
	sqlite3_finalize(st);
	if (rc)
		return rc;

	/*
	 * Statement journals (every upsert that fires the change-feed triggers
	 * opens one) and temp tables in memory: on disk they tripled the cost
	 * of a write (bench_query --triggers, bench_sync).
	 */
	rc = store_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY", "set synchronous");
	if (rc)
		return rc;
	/* Up to date: no transaction, so opening never waits on a busy writer. */
	return version < store_migration_count ? migrate(db, path) : FL_OK;
}

/*
 * path as an SQLite URI, "file:" and the path with every byte but
 * [A-Za-z0-9/._~-] percent-encoded, then query.  NULL on out of memory.
 */
static char *uri_of(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *uri = malloc(5 + 3 * n + 1 + strlen(query) + 1), *o;

	if (!uri)
		return NULL;
	o = uri + sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("/._~-", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	sprintf(o, "?%s", query);
	return uri;
}

/* Open path read-only with the URI query given: FL_OK or FL_ERR_IO / FL_ERR_NOMEM on db->err. */
static int open_uri(struct fl_db *db, const char *path, const char *query)
{
	char *uri = uri_of(path, query);
	int rc = FL_OK;

	if (!uri)
		return error_set(&db->err, FL_ERR_NOMEM, "open %s: out of memory", path);
	if (sqlite3_open_v2(uri, &db->sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
			    SQLITE_OPEN_EXRESCODE, NULL) != SQLITE_OK) {
		if (!db->sql)
			rc = error_set(&db->err, FL_ERR_NOMEM, "open %s: out of memory", path);
		else
			rc = error_set(&db->err, FL_ERR_IO, "cannot open database %s: %s", path,
				       sqlite3_errmsg(db->sql));
	}
	free(uri);
	return rc;
}

/*
 * A read-only open: mode=ro, which reads a WAL database live beside its
 * writer; where that cannot even read (the directory is read-only and the
 * WAL index, "-shm", cannot be made: a backup, a mounted share), the file
 * as it stands, immutable=1, which needs no other file and writes nothing.
 */
static int open_readonly(struct fl_db *db, const char *path)
{
	int rc = open_uri(db, path, "mode=ro"), src, prc;

	if (rc)
		return rc;
	src = sqlite3_exec(db->sql, "PRAGMA user_version", NULL, NULL, NULL);
	prc = sqlite3_extended_errcode(db->sql) & 0xff;
	if (src == SQLITE_OK || (prc != SQLITE_READONLY && prc != SQLITE_CANTOPEN))
		return FL_OK; /* any other error is the version check's to report */
	sqlite3_close_v2(db->sql);
	db->sql = NULL;
	db->snapshot = true;
	return open_uri(db, path, "mode=ro&immutable=1");
}

/*
 * Make a missing database file 0600, whatever the umask: it holds every
 * private message of the account.  SQLite gives the -wal and -shm it
 * creates the database's mode.  URIs and in-memory names are SQLite's.
 */
static int create_private(const char *path)
{
	int fd;

	if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
		return FL_OK;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? FL_OK
		       : error_set(&open_err, FL_ERR_IO, "cannot create database %s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		error_set(&open_err, FL_ERR_IO, "cannot make %s private: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return FL_ERR_IO;
	}
	close(fd);
	return FL_OK;
}

FL_API int fl_db_open(const char *path, int flags, struct fl_db **out)
{
	struct fl_db *db;
	int sflags, rc;

	error_clear(&open_err);
	if (!out)
		return error_set(&open_err, FL_ERR_MISUSE, "fl_db_open: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return error_set(&open_err, FL_ERR_MISUSE, "fl_db_open: no path given");
	if ((flags & FL_OPEN_READONLY) && (flags & FL_OPEN_CREATE))
		return error_set(&open_err, FL_ERR_MISUSE,
				 "fl_db_open: FL_OPEN_READONLY and FL_OPEN_CREATE exclude each other");

	if ((flags & FL_OPEN_CREATE) && (rc = create_private(path)))
		return rc;
	db = calloc(1, sizeof *db);
	if (!db)
		return error_set(&open_err, FL_ERR_NOMEM, "open %s: out of memory", path);
	db->flags = flags;

	if (flags & FL_OPEN_READONLY) {
		rc = open_readonly(db, path);
		if (rc)
			goto fail;
	} else {
		sflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_READWRITE;
		if (flags & FL_OPEN_CREATE)
			sflags |= SQLITE_OPEN_CREATE;
		if (sqlite3_open_v2(path, &db->sql, sflags, NULL) != SQLITE_OK) {
			if (!db->sql)
				rc = error_set(&db->err, FL_ERR_NOMEM, "open %s: out of memory", path);
			else
				rc = error_set(&db->err, FL_ERR_IO, "cannot open database %s: %s",
					       path, sqlite3_errmsg(db->sql));
			goto fail;
		}
	}
	rc = configure(db, path);
	if (rc)
		goto fail;
	error_clear(&db->err);
	*out = db;
	return FL_OK;
fail:
	error_copy(&open_err, &db->err);
	fl_db_close(db);
	return rc;
}

FL_API int fl_db_readonly(struct fl_db *db)
{
	if (!db)
		return -1;
	return db->snapshot ? FL_DB_SNAPSHOT : (db->flags & FL_OPEN_READONLY) ? FL_DB_READONLY : 0;
}

FL_API const char *fl_db_open_errmsg(void)
{
	return open_err.msg;
}

FL_API void fl_db_close(struct fl_db *db)
{
	if (!db)
		return;
	/* sqlite3_close_v2 finalises lazily; a transaction left open rolls back. */
	sqlite3_close_v2(db->sql);
	watch_close(db->watch);
	free(db);
}

FL_API const char *fl_errmsg(const struct fl_db *db)
{
	return db ? db->err.msg : "no database handle";
}

FL_API int fl_db_schema_version(struct fl_db *db)
{
	int v;

	if (!db)
		return -1;
	if (read_int(db, "PRAGMA user_version", &v))
		return -1;
	return v;
}

FL_API int fl_schema_version(void)
{
	return store_migration_count;
}

FL_API int fl_db_busy_timeout(struct fl_db *db, int ms)
{
	if (!db || ms < 0)
		return FL_ERR_MISUSE;
	sqlite3_busy_timeout(db->sql, ms);
	error_clear(&db->err);
	return FL_OK;
}
