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
		"usage: flsync pgsync --pg CONNINFO [--schema flsync] [--account NAME] [--db PATH]\n"
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
		"  --account NAME  whose rows these are (default: the database file's name\n"
		"                  without .db)\n"
		"\n"
		"Example:\n"
		"  flsync pgsync --pg 'host=localhost dbname=team' --account agency-1\n");
}

/* "work.db" -> "work". */
static char *account_of(const char *path)
{
	char *copy = tool_xstrdup(path), *base = tool_xstrdup(basename(copy)), *dot = strrchr(base, '.');

	free(copy);
	if (dot && dot != base)
		*dot = '\0';
	return base;
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
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL, *schema = "flsync", *account_opt = NULL;
	struct pg_table tables[32];
	struct pg_report rep;
	struct fl_db *db = NULL;
	PGconn *pg = NULL;
	char *account = NULL;
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
	account = account_opt ? tool_xstrdup(account_opt) : account_of(ctx->db_path);
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
	if (!pg_exec(pg, "SET application_name = 'flsync pgsync'; SET client_min_messages = warning", "set up the session") ||
	    !pg_schema_sync(pg, schema, tables, n) || !pg_mirror(db, pg, schema, account, tables, n, &rep)) {
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
	free(account);
	fl_db_close(db);
	return rc;
}
