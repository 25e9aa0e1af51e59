/*
 * cmd_pgsync.c — `flsync pgsync`: bring a PostgreSQL mirror of the database
 * up to date (pg_schema.c makes the schema, pg_mirror.c moves the rows) and
 * exit.  One account per run; several accounts, machines or databases
 * share one PostgreSQL schema, each row under its account.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"
#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync pgsync --pg CONNINFO [--schema flsync] [--account NAME] [--take-over] [--db PATH]\n"
		"\n"
		"Bring a PostgreSQL mirror of the database up to date, then exit 0.  The\n"
		"mirror has the same tables and views in its own schema, with an `account`\n"
		"column leading every primary key, so that many accounts share it; times\n"
		"stay unix seconds, and the views add timestamptz twins (*_tz).  The first\n"
		"run copies everything; later runs follow the database's change feed and\n"
		"send only what changed, in one PostgreSQL transaction that also stores how\n"
		"far the account has been mirrored: a crash or a lost connection at any\n"
		"point leaves the mirror as it was, and the next run completes it, with no\n"
		"row lost or doubled.  The change feed is never pruned past what the\n"
		"mirror has.  The schema is created and migrated as needed.\n"
		"\n"
		"  --pg CONNINFO   a libpq connection string or URI (\"host=/run/pg dbname=team\",\n"
		"                  postgresql://user@host/db); keep passwords in ~/.pgpass\n"
		"  --schema NAME   the PostgreSQL schema (default flsync)\n"
		"  --account NAME  whose rows these are (default: the account's username, as\n"
		"                  the database knows it, else the file's name without .db)\n"
		"  --take-over     mirror this file under an account another database file\n"
		"                  was mirrored as (its rows are replaced); without it, that\n"
		"                  is refused\n"
		"\n"
		"The PostgreSQL database must be UTF8.  Exit status: 0 done, 1 failed (nothing\n"
		"of the run is kept), 2 bad usage.\n"
		"\n"
		"Example:\n"
		"  flsync pgsync --pg 'host=localhost dbname=team' --account agency-1\n");
}

/* The account's username, else "work" for "work.db". */
static char *account_of(struct fl_db *db, const char *path)
{
	char *copy, *base, *dot;
	struct fl_stmt *st;
	int row = 0;

	if (fl_stmt_prepare(db, "SELECT username FROM users WHERE is_self = 1 AND username <> ''", &st) == FL_OK) {
		char *name = NULL;

		if (fl_stmt_step(st, &row) == FL_OK && row)
			name = tool_xstrdup(fl_stmt_column_text(st, 0, NULL));
		fl_stmt_finalize(st);
		if (name)
			return name;
	}
	copy = tool_xstrdup(path);
	base = tool_xstrdup(basename(copy));
	dot = strrchr(base, '.');
	free(copy);
	if (dot && dot != base)
		*dot = '\0';
	return base;
}

/* Text goes in as UTF-8 and must stay what it was: a server in another encoding is refused. */
static bool encoding_ok(PGconn *pg)
{
	const char *enc;

	if (PQsetClientEncoding(pg, "UTF8") != 0) {
		tool_fail("pgsync: cannot set the client encoding to UTF8: %s", PQerrorMessage(pg));
		return false;
	}
	enc = PQparameterStatus(pg, "server_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0) {
		tool_fail("pgsync: the PostgreSQL database is in %s; the mirror needs a UTF8 database "
			  "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)", enc ? enc : "an unknown encoding");
		return false;
	}
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tool_cmd_pgsync(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pg", required_argument, NULL, 'p' },
		{ "schema", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'a' },
		{ "take-over", no_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL, *schema = "flsync", *account_opt = NULL;
	struct pg_table tables[32];
	struct pg_report rep;
	struct fl_db *db = NULL;
	PGconn *pg = NULL;
	char *account = NULL, *file_id = NULL;
	bool take_over = false;
	int opt, rc = TOOL_FAIL, n = 0, i;
	double t0 = now_s();

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			conninfo = optarg;
			break;
		case 's':
			schema = optarg;
			break;
		case 'a':
			account_opt = optarg;
			break;
		case 't':
			take_over = true;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "pgsync", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	rc = TOOL_FAIL;
	if (optind < argc)
		return tool_usage_error("pgsync", "pgsync: unexpected argument %s", argv[optind]);
	if (!conninfo || !*conninfo)
		return tool_usage_error("pgsync", "pgsync: --pg CONNINFO is needed (the PostgreSQL to mirror into)");
	if (!*schema || strlen(schema) > 63)
		return tool_usage_error("pgsync", "pgsync: --schema takes a name of 1 to 63 characters");
	if (account_opt && !*account_opt)
		return tool_usage_error("pgsync", "pgsync: --account takes a name");

	/* Read-write: the sink's position is recorded in the file, against pruning. */
	db = tool_open(ctx, true);
	if (!db)
		return TOOL_FAIL;
	account = account_opt ? tool_xstrdup(account_opt) : account_of(db, ctx->db_path);
	file_id = pg_file_id(db, schema);
	if (!file_id)
		goto out;
	for (i = 0; i < pg_table_count; i++) {
		if (!pg_table_read(db, pg_tables[i], &tables[n]))
			goto out;
		n++;
	}
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		tool_fail("pgsync: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
		goto out;
	}
	if (!encoding_ok(pg))
		goto out;
	if (!pg_exec(pg, "SET application_name = 'flsync pgsync'; SET client_min_messages = warning", "set up the session") ||
	    !pg_schema_sync(pg, schema, tables, n) ||
	    !pg_mirror(db, ctx->db_path, pg, schema, account, file_id, take_over, tables, n, &rep)) {
		tool_fail("pgsync: account %s: nothing of this run was kept; run it again", account);
		goto out;
	}
	if (rep.full)
		printf("pgsync: %s: copied everything up to change %lld: %lld rows in %.2f s\n", account,
		       (long long)rep.to_seq, (long long)rep.rows, now_s() - t0);
	else if (rep.from_seq == rep.to_seq)
		printf("pgsync: %s: up to date at change %lld (%.2f s)\n", account, (long long)rep.to_seq, now_s() - t0);
	else
		printf("pgsync: %s: changes %lld to %lld: %lld rows written, %lld deleted in %.2f s\n", account,
		       (long long)rep.from_seq + 1, (long long)rep.to_seq, (long long)rep.rows,
		       (long long)rep.deleted, now_s() - t0);
	rc = TOOL_OK;
out:
	for (i = 0; i < n; i++)
		pg_table_free(&tables[i]);
	PQfinish(pg);
	free(file_id);
	free(account);
	fl_db_close(db);
	return rc;
}
