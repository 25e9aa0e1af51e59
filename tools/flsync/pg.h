/*
 * pg.h — the PostgreSQL mirror (`flsync pgsync`): pg_schema.c creates and
 * migrates the mirror's schema (the SQLite tables, each with `account`
 * leading its primary key, the views, the sink's positions), pg_mirror.c
 * brings one account's rows up to date from its change feed, exactly once.
 */
#ifndef FLSYNC_PG_H
#define FLSYNC_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "flsync.h"

/* The tables mirrored, in an order that suits foreign readers (parents first). */
extern const char *const pg_tables[];
extern const int pg_table_count;

/* A mirrored table's shape, read from the SQLite file. */
struct pg_column {
	char *name;
	char type;        /* 'i' integer, 'r' real, 't' text, 'b' blob */
};
struct pg_table {
	const char *name;
	struct pg_column *cols;
	int ncols;
	char **pk;         /* the SQLite primary key's columns */
	int npk;
	bool by_id;        /* the change feed names rows by this table's id */
};

/* Read table `name`'s shape from db; false with a message on stderr. */
bool pg_table_read(struct fl_db *db, const char *name, struct pg_table *out);
void pg_table_free(struct pg_table *t);

/* "schema"."name" quoted for PostgreSQL (caller frees). */
char *pg_ident2(const char *schema, const char *name);

/* Run sql (no parameters) on pg; false with "what: <server's message>" on stderr. */
bool pg_exec(PGconn *pg, const char *sql, const char *what);

/*
 * Create the schema, every table in tables[] (adding columns the SQLite
 * file has and PostgreSQL lacks), the sink's position table and the views,
 * under an advisory lock so that machines sharing the database do not race.
 * Runs in its own transaction.  False with a message on stderr.
 */
bool pg_schema_sync(PGconn *pg, const char *schema, const struct pg_table *tables, int n);

/* What one mirror run did. */
struct pg_report {
	bool full;              /* copied everything (first run, or the feed was pruned past us) */
	int64_t from_seq, to_seq;
	int64_t rows;           /* rows written (copied or upserted) */
	int64_t deleted;        /* rows deleted in PostgreSQL */
};

/*
 * Bring `account`'s rows in schema up to date from db's change feed, in one
 * PostgreSQL transaction that also moves the account's feed position, so a
 * crash anywhere leaves PostgreSQL at the old position or the new, never
 * between.  file_id names this database file (pg_file_id()): the position
 * is followed only from the same file, and only while the change it points
 * at is the one mirrored; otherwise everything is copied anew.  Another
 * file's mirror of the account is refused unless take_over.  Then records
 * the confirmed position in db's sync_state ("sink.postgres.SCHEMA"), which
 * fl_changes_prune() never prunes past.  db_path is for the record of where
 * the rows came from.  False with a message on stderr.
 */
bool pg_mirror(struct fl_db *db, const char *db_path, PGconn *pg, const char *schema, const char *account,
	       const char *file_id, bool take_over, const struct pg_table *tables, int n, struct pg_report *out);

/*
 * This file's identity for the mirror in schema, made (random) and kept in
 * its sync_state row "sink.postgres.SCHEMA" on first use; caller frees.
 * NULL with a message on stderr when the file cannot be written.
 */
char *pg_file_id(struct fl_db *db, const char *schema);

#endif
