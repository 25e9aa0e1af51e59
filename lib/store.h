/*
 * store.h — the SQLite side of libflsync: opening a database, its pragmas,
 * the embedded migrations, and translating SQLite errors into FL_* codes.
 */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * Typed binds.  A named one (":id") binds where the statement has that
 * parameter and is passed over where it has not; an unnamed one binds the
 * next position (?1, ?2, ...).  Text is bound without a copy.
 */
enum store_type { STORE_NULL, STORE_INT, STORE_TEXT };
struct store_bind {
	const char *name;      /* ":name", or NULL for the next position */
	enum store_type type;
	int64_t i;
	const char *s;         /* STORE_TEXT; NULL binds NULL */
};
#define BIND_INT(v) { NULL, STORE_INT, (v), NULL }
#define BIND_TEXT(v) { NULL, STORE_TEXT, 0, (v) }
#define BIND_NAMED_INT(name, v) { (name), STORE_INT, (v), NULL }
/* A bind list as the helpers take it: the array and its length. */
#define STORE_BINDS(...) (const struct store_bind[]){ __VA_ARGS__ }, \
	sizeof((const struct store_bind[]){ __VA_ARGS__ }) / sizeof(struct store_bind)

/* Bind n binds to st (see struct store_bind). */
void store_bind(sqlite3_stmt *st, const struct store_bind *b, size_t n);

/*
 * One row's first column, of sql with binds b (NULL, 0 for none): as an
 * int64 (*out 0, and *found false when given, for no row or NULL), or as
 * text malloc'd into *out (NULL for no row or NULL).  Errors name "what".
 */
int store_int(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n,
	      int64_t *out, bool *found);
int store_text(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n,
	       char **out);

/* Run one statement of sql with binds b (NULL, 0 for none), returning no rows. */
int store_step(struct fl_db *db, const char *what, const char *sql, const struct store_bind *b, size_t n);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK with error translation. */
int store_begin(struct fl_db *db);
int store_commit(struct fl_db *db);
void store_rollback(struct fl_db *db);

#endif
