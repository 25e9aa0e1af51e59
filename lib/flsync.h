/*
 * flsync.h — the public interface of libflsync.
 *
 * libflsync keeps a local, normalised SQLite copy of one Freelancer.com
 * account's working data (projects, bids, milestones, reviews, threads,
 * messages and the users they reference).  flsyncd fills the database; any
 * program may open it through this library, query it and queue write
 * actions.
 *
 * Conventions, for every function below:
 *
 *   - A function that can fail returns an int result code: FL_OK (0) on
 *     success, one of the FL_ERR_* codes otherwise.  The numbers never change;
 *     new codes are only ever appended.
 *   - Results come back through out-parameters named out / out_*.  On failure
 *     an out-parameter is set to NULL (or 0) before the function returns.
 *   - fl_strerror(rc) gives a static description of a code; fl_errmsg(db)
 *     gives the detailed message of the last failed call on that handle.
 *   - A returned "char *" belongs to the caller and is freed with fl_free();
 *     a returned "const char *" is borrowed, for as long as the function's
 *     documentation says.
 *   - The library never aborts, never exits and never prints.  Out of memory
 *     is reported as FL_ERR_NOMEM.
 *   - Handles are not thread-safe: use one handle per thread.  Distinct
 *     handles may be used from distinct threads at the same time, on the same
 *     database file too (SQLite's WAL mode lets readers run beside a writer).
 */
#ifndef FLSYNC_H
#define FLSYNC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FL_BUILDING_LIBRARY)
#define FL_API __attribute__((visibility("default")))
#else
#define FL_API
#endif

/*
 * Result codes.  Append only: a code's number is part of the ABI and of the
 * exit status contract of the tools.
 */
enum fl_code {
	FL_OK = 0,           /* success */
	FL_ERR_NOMEM = 1,    /* out of memory */
	FL_ERR_MISUSE = 2,   /* bad argument or call sequence (a bug in the caller) */
	FL_ERR_DB = 3,       /* SQLite reported an error; fl_errmsg() has its text */
	FL_ERR_SCHEMA = 4,   /* the database was written by a newer flsync, or its schema is damaged */
	FL_ERR_BUSY = 5,     /* the database stayed locked by another process past the busy timeout */
	FL_ERR_READONLY = 6, /* the database (or its directory) cannot be written */
	FL_ERR_IO = 7,       /* a file could not be opened, read or written (disk full, permissions) */
	FL_ERR_NETWORK = 8,  /* connection failed, was reset, or TLS failed */
	FL_ERR_TIMEOUT = 9,  /* the server did not answer in time */
	FL_ERR_HTTP = 10,    /* the server answered with an HTTP error and no API error envelope */
	FL_ERR_API = 11,     /* the API answered with an error envelope (error_code, message) */
	FL_ERR_PARSE = 12,   /* the response body was not the JSON the API sends */
	FL_ERR_TOO_BIG = 13, /* a response exceeded a size or nesting cap */
	FL_ERR_RATE_LIMITED = 14, /* HTTP 429: the endpoint's rate limit was reached */
	FL_ERR_NOT_FOUND = 15,    /* the requested object does not exist */
	FL_ERR_ABORTED = 16,      /* a callback asked to stop */
	FL_ERR_LOCKED = 17,       /* another flsyncd already syncs this database */
};

/*
 * fl_strerror — a static, human-readable description of a result code.
 * Never returns NULL; unknown codes give "unknown error".  Thread-safe.
 */
FL_API const char *fl_strerror(int rc);

/*
 * fl_libversion — the library's version string, e.g. "0.1.0".  Static.
 */
FL_API const char *fl_libversion(void);

/*
 * fl_free — release memory the library returned as "char *" or as an array.
 * NULL is accepted and ignored.
 */
FL_API void fl_free(void *p);

/* ---------------------------------------------------------------------------
 * Database handles
 */

/* An open flsync database.  Opaque. */
struct fl_db;

/* Flags for fl_db_open(). */
enum fl_open_flags {
	FL_OPEN_READONLY = 0x01, /* query only; never creates, migrates or writes */
	FL_OPEN_CREATE = 0x02,   /* create the file if it does not exist */
};

/*
 * fl_db_open — open (and, with FL_OPEN_CREATE, create) the database at path.
 *
 * A read-write open brings the schema up to date: every migration the
 * library embeds and the file lacks is applied, all in one transaction, and
 * PRAGMA user_version records the result.  A file whose user_version is newer
 * than this library knows is refused with FL_ERR_SCHEMA and left untouched.
 * A read-only open never migrates: an older schema is refused with
 * FL_ERR_SCHEMA too.
 *
 * The connection runs in WAL mode with foreign keys enforced and a busy
 * timeout (see fl_db_busy_timeout()).
 *
 * On success *out is the new handle, to be closed with fl_db_close().  On
 * failure *out is NULL and, where a handle could be made at all, the detail
 * is lost with it: use fl_db_open_errmsg() for the message of the last failed
 * open in this thread.
 *
 * Returns FL_OK, FL_ERR_MISUSE, FL_ERR_NOMEM, FL_ERR_IO (cannot open or
 * create the file), FL_ERR_READONLY, FL_ERR_BUSY, FL_ERR_SCHEMA or FL_ERR_DB.
 */
FL_API int fl_db_open(const char *path, int flags, struct fl_db **out);

/*
 * fl_db_open_errmsg — the message of the last fl_db_open() that failed in
 * the calling thread, or "" if none did.  Borrowed until the next
 * fl_db_open() in this thread.
 */
FL_API const char *fl_db_open_errmsg(void);

/*
 * fl_db_close — close a handle and free it.  NULL is accepted.  Any
 * statement or transaction still open on the handle is finalised/rolled back.
 */
FL_API void fl_db_close(struct fl_db *db);

/*
 * fl_errmsg — the detailed message of the last failed call on db, or "" if
 * the last call succeeded.  Borrowed until the next call on db.
 */
FL_API const char *fl_errmsg(const struct fl_db *db);

/*
 * fl_db_schema_version — the schema version this database is at (its
 * PRAGMA user_version), or -1 on error.
 */
FL_API int fl_db_schema_version(struct fl_db *db);

/*
 * fl_schema_version — the newest schema version this library knows.
 */
FL_API int fl_schema_version(void);

/*
 * fl_db_busy_timeout — how long, in milliseconds, a call waits for a lock
 * held by another connection before it fails with FL_ERR_BUSY.  The default
 * is 5000.  Returns FL_OK or FL_ERR_MISUSE.
 */
FL_API int fl_db_busy_timeout(struct fl_db *db, int ms);

#ifdef __cplusplus
}
#endif

#endif /* FLSYNC_H */
