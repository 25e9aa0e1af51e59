/*
 * store.h — the SQLite side of libflsync: opening a database, its pragmas,
 * the embedded migrations, and translating SQLite errors into FL_* codes.
 */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "error.h"

struct store_migration {
	int version;         /* PRAGMA user_version after this migration */
	const char *name;    /* file name without number and extension */
	const char *sql;     /* the whole script */
};

/* Generated from sql/migrations/ by sql/embed.py. */
extern const struct store_migration store_migrations[];
extern const int store_migration_count;

struct fl_db {
	sqlite3 *sql;          /* the connection */
	int flags;             /* FL_OPEN_* given to fl_db_open() */
	struct fl_error err;   /* last failure on this handle */
	struct watch *watch;   /* fl_changes_wait()'s file watch, NULL until first used */
	bool snapshot;         /* read-only, opened immutable: the directory cannot hold the WAL index */
};

/*
 * Record the connection's current SQLite error as an FL_* code on db, with
 * "what" naming the operation that failed.  A lock wait past the busy
 * timeout says how long it waited and who likely holds the lock; a full disk
 * names the database file.  Returns the code.
 */
int store_error(struct fl_db *db, const char *what, ...)
	__attribute__((format(printf, 2, 3)));

/* Map a SQLite result code to an FL_* code. */
int store_code(int sqlite_rc);

/* Run one or more statements that return no rows; errors name "what". */
int store_exec(struct fl_db *db, const char *sql, const char *what);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK with error translation. */
int store_begin(struct fl_db *db);
int store_commit(struct fl_db *db);
void store_rollback(struct fl_db *db);

#endif
