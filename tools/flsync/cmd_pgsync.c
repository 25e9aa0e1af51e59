/*
 * cmd_pgsync.c — `flsync pgsync`: bring a PostgreSQL mirror of the database
 * up to date (pgmirror/ makes the schema and moves the rows) and exit.  One
 * account per run; several accounts, machines or databases share one
 * PostgreSQL schema, each row under its account.  With --holder, the run
 * takes (or renews) the account's lease first and writes only under it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgmirror.h"
#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync pgsync --pg CONNINFO [--schema flsync] [--account NAME] [--take-over]\n"
		"                     [--holder ID [--lease-stale SECONDS]] [--db PATH]\n"
		"\n"
		"Bring a PostgreSQL mirror of the database up to date, then exit 0.  The\n"
		"mirror has the same tables and views in its own schema, with an `account`\n"
		"column leading every primary key, so that many accounts share it; its\n"
		"columns are typed (unix times as timestamptz, 0/1 flags as boolean, raw JSON\n"
		"as jsonb), and the views add timestamptz twins (*_tz) of their datetime text\n"
		"columns.  The first run copies everything; later runs follow the database's\n"
		"change feed and send only what changed, in one PostgreSQL transaction that\n"
		"also stores how far the account has been mirrored: a crash or a lost\n"
		"connection at any point leaves the mirror as it was, and the next run\n"
		"completes it, with no row lost or doubled.  The change feed is never pruned\n"
		"past what the mirror has.  The schema is created and migrated as needed.\n"
		"\n"
		"  --pg CONNINFO   a libpq connection string or URI (\"host=/run/pg dbname=team\",\n"
		"                  postgresql://user@host/db); keep passwords in ~/.pgpass\n"
		"  --schema NAME   the PostgreSQL schema (default flsync)\n"
		"  --account NAME  whose rows these are (default: the account's username, as\n"
		"                  the database knows it, else the file's name without .db)\n"
		"  --take-over     mirror this file under an account another database file\n"
		"                  was mirrored as (its rows are replaced); without it, that\n"
		"                  is refused\n"
		"  --holder ID     sync only under the account's lease, held as ID (machines\n"
		"                  sharing the mirror each give their own, e.g. the host name):\n"
		"                  take it, or renew it, and keep it after the run; while\n"
		"                  another holder's heartbeat is fresh the run is refused\n"
		"  --lease-stale SECONDS\n"
		"                  a lease whose heartbeat is older may be taken over (default\n"
		"                  60; PostgreSQL's clock decides)\n"
		"\n"
		"The PostgreSQL database must be UTF8.  Exit status: 0 done, 1 failed (nothing\n"
		"of the run is kept), 2 bad usage, 3 another holder has the account's lease\n"
		"(with --holder; nothing written).\n"
		"\n"
		"Example:\n"
		"  flsync pgsync --pg 'host=localhost dbname=team' --account agency-1\n");
}

/* What the mirror says along the way: a lease taken over, a position it could not record. */
static void say(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "flsync: pgsync: %s\n", msg);
}

/* The options, into cfg, run and *account_opt; TOOL_NEXT when they read well, else the exit status. */
static int parse_opts(struct tool_ctx *ctx, int argc, char **argv, struct pgm_config *cfg, struct pgm_run *run,
		      const char **account_opt)
{
	static const struct option opts[] = {
		{ "pg", required_argument, NULL, 'p' },
		{ "schema", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'a' },
		{ "take-over", no_argument, NULL, 't' },
		{ "holder", required_argument, NULL, 'H' },
		{ "lease-stale", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			cfg->conninfo = optarg;
			break;
		case 's':
			cfg->schema = optarg;
			break;
		case 'a':
			*account_opt = optarg;
			break;
		case 't':
			run->take_over = true;
			break;
		case 'H':
			run->holder = optarg;
			break;
		case 'S':
			cfg->lease_stale_s = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg->lease_stale_s > 0) || cfg->lease_stale_s > 1e7)
				return tool_usage_error("pgsync", "pgsync: --lease-stale takes a number of seconds above 0");
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "pgsync", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("pgsync", "pgsync: unexpected argument %s", argv[optind]);
	if (!cfg->conninfo || !*cfg->conninfo)
		return tool_usage_error("pgsync", "pgsync: --pg CONNINFO is needed (the PostgreSQL to mirror into)");
	if (!*cfg->schema || strlen(cfg->schema) > 63)
		return tool_usage_error("pgsync", "pgsync: --schema takes a name of 1 to 63 characters");
	if (*account_opt && !**account_opt)
		return tool_usage_error("pgsync", "pgsync: --account takes a name");
	if (run->holder && (!*run->holder || strlen(run->holder) > 255))
		return tool_usage_error("pgsync", "pgsync: --holder takes a name of 1 to 255 characters");
	if (cfg->lease_stale_s > 0 && !run->holder)
		return tool_usage_error("pgsync", "pgsync: --lease-stale goes with --holder");
	return TOOL_NEXT;
}

/* The run's one line on standard output. */
static void report(const char *account, const struct pgm_report *rep)
{
	if (rep->full)
		printf("pgsync: %s: copied everything up to change %lld: %lld rows in %.2f s\n", account,
		       (long long)rep->to_seq, (long long)rep->rows, rep->seconds);
	else if (rep->from_seq == rep->to_seq)
		printf("pgsync: %s: up to date at change %lld (%.2f s)\n", account, (long long)rep->to_seq,
		       rep->seconds);
	else
		printf("pgsync: %s: changes %lld to %lld: %lld rows written, %lld deleted in %.2f s\n", account,
		       (long long)rep->from_seq + 1, (long long)rep->to_seq, (long long)rep->rows,
		       (long long)rep->deleted, rep->seconds);
}

/* The lease when asked (--holder), then one mirror run; the exit status. */
static int mirror(struct pgm_sink *sink, struct fl_db *db, const struct pgm_run *run)
{
	struct pgm_report rep;
	int prc;

	if (run->holder) {
		struct pgm_lease_info li;

		prc = pgm_lease_take(sink, run->account, run->holder, &li);
		if (prc != PGM_OK) {
			tool_fail("pgsync: %s", pgm_errmsg(sink));
			return prc == PGM_LEASE ? 3 : TOOL_FAIL;
		}
	}
	prc = pgm_mirror(sink, db, run, &rep);
	if (prc != PGM_OK) {
		tool_fail("pgsync: %s", pgm_errmsg(sink));
		tool_fail("pgsync: account %s: nothing of this run was kept; run it again", run->account);
		return prc == PGM_LEASE ? 3 : prc == PGM_USAGE ? TOOL_USAGE : TOOL_FAIL;
	}
	report(run->account, &rep);
	return TOOL_OK;
}

int tool_cmd_pgsync(struct tool_ctx *ctx, int argc, char **argv)
{
	struct pgm_config cfg = { .schema = "flsync", .application = "flsync pgsync", .log = say };
	struct pgm_run run = { 0 };
	struct pgm_sink *sink = NULL;
	const char *account_opt = NULL;
	char *account = NULL;
	struct fl_db *db;
	int rc;

	if ((rc = parse_opts(ctx, argc, argv, &cfg, &run, &account_opt)) != TOOL_NEXT)
		return rc;
	/* Read-write: the sink's position is recorded in the file, against pruning. */
	db = tool_open(ctx, true);
	if (!db)
		return TOOL_FAIL;
	rc = TOOL_FAIL;
	account = account_opt ? xstrdup(account_opt) : pgm_default_account(db, ctx->db_path);
	if (!account) {
		tool_fail("pgsync: out of memory");
	} else if (pgm_open(&cfg, &sink) != PGM_OK) {
		tool_fail("pgsync: %s", pgm_errmsg(sink));
	} else {
		run.account = account;
		run.db_path = ctx->db_path;
		rc = mirror(sink, db, &run);
	}
	pgm_close(sink);
	free(account);
	fl_db_close(db);
	return rc;
}
