/*
 * cmd_feed.c — `flsync feed list | unregister NAME`: the change feed's held
 * positions, the programs that registered one (fl_changes_register) and the
 * PostgreSQL sinks, with how far behind each is; and letting one go, so a
 * program that is gone for good no longer keeps the feed (and the file)
 * from being pruned (fl_changes_unregister).
 */
#include <getopt.h>
#include <string.h>

#include "tool.h"

/* Every held position, oldest first: the consumers' rows and the sinks' cursors. */
static const char list_sql[] =
	"WITH latest(seq) AS (SELECT coalesce(max(seq), 0) FROM changes) "
	"SELECT name, 'consumer' AS kind, position, (SELECT seq FROM latest) - position AS behind, "
	"datetime(acked_at, 'unixepoch', 'localtime') AS last_read FROM feed_consumers "
	"UNION ALL SELECT stream, 'sink', cursor, (SELECT seq FROM latest) - cursor, "
	"datetime(last_success, 'unixepoch', 'localtime') FROM sync_state "
	"WHERE stream LIKE 'sink.%' AND cursor IS NOT NULL ORDER BY position, name";

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync feed list [--format table|csv|json|jsonl|markdown|tsv]\n"
		"       flsync feed unregister NAME\n"
		"\n"
		"The change feed (the changes table) is pruned by flsyncd behind\n"
		"[feed] keep, but never past a position a program holds: one that\n"
		"registered a name (fl_changes_register) or a PostgreSQL mirror\n"
		"(flsync pgsync).  A program that is gone for good holds it forever.\n"
		"\n"
		"  list              every held position, oldest first: NAME, KIND\n"
		"                    (consumer or sink), POSITION, BEHIND (changes not\n"
		"                    yet read), LAST_READ (this machine's clock)\n"
		"  unregister NAME   let NAME's position go: the feed no longer waits for\n"
		"                    it.  A program that comes back finds its name unknown\n"
		"                    and reads everything again, as at its first start.\n"
		"                    A sink still in flsyncd's [sink] or run by flsync\n"
		"                    pgsync holds the feed again at its next run (copying\n"
		"                    in full if it was pruned past): remove it there first\n"
		"\n"
		"  --format F   list as table (default), csv, json, jsonl, markdown or tsv\n"
		"  --db PATH    the database\n"
		"\n"
		"Examples:\n"
		"  flsync feed list\n"
		"  flsync feed unregister crm-export\n"
		"  flsync feed unregister sink.postgres.flsync\n");
}

static int sub_list(struct tool_ctx *ctx, enum tool_format fmt)
{
	struct fl_db *db = tool_open(ctx, false);
	struct fl_feed_status *f = NULL;
	struct fl_stmt *st = NULL;
	int64_t rows;
	int rc;

	if (!db)
		return TOOL_FAIL;
	if ((rc = fl_feed_status_get(db, &f)) || (rc = fl_stmt_prepare(db, list_sql, &st))) {
		rc = tool_db_fail(db, rc, "feed list");
		goto out;
	}
	if (fmt == FMT_TABLE) {
		printf("feed: %lld changes kept, newest seq %lld, pruned through %lld\n", (long long)f->rows,
		       (long long)f->latest, (long long)f->horizon);
		if (f->consumers == 0) {
			printf("no position held: flsyncd prunes the feed behind [feed] keep alone\n");
			rc = TOOL_OK;
			goto out;
		}
	}
	/* A failure after the first row has been reported by tool_write_all. */
	if ((rc = tool_write_all(db, st, stdout, fmt, &rows)) && rows == 0)
		tool_db_fail(db, rc, "feed list");
	rc = rc ? TOOL_FAIL : TOOL_OK;
out:
	fl_stmt_finalize(st);
	fl_feed_status_free(f);
	fl_db_close(db);
	return rc;
}

static int sub_unregister(struct tool_ctx *ctx, const char *name)
{
	struct fl_db *db = tool_open(ctx, true);
	int rc;

	if (!db)
		return TOOL_FAIL;
	rc = fl_changes_unregister(db, name);
	if (rc == FL_ERR_NOT_FOUND)
		rc = tool_fail("feed unregister: nothing named %s holds a position in the feed (flsync feed list "
			       "shows what does)", name);
	else if (rc)
		rc = tool_db_fail(db, rc, "feed unregister");
	else if (!strncmp(name, "sink.", 5))
		printf("feed: %s no longer holds the feed; flsyncd prunes behind [feed] keep from its next pass, "
		       "unless the sink runs again (flsyncd's [sink], flsync pgsync)\n", name);
	else
		printf("feed: %s no longer holds the feed; flsyncd prunes behind [feed] keep from its next pass\n",
		       name);
	fl_db_close(db);
	return rc ? TOOL_FAIL : TOOL_OK;
}

int tool_cmd_feed(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum tool_format fmt = FMT_TABLE;
	const char *sub;
	int opt, rc, n;

	if ((rc = tool_subcommand(&argc, &argv, help, &sub)) != TOOL_NEXT)
		return rc;
	while ((opt = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
		if (opt == 'f') {
			if (!tool_parse_format(optarg, &fmt))
				return tool_usage_error("feed", "feed: unknown format %s (table, csv, json, jsonl, "
							"markdown, tsv)", optarg);
		} else if ((rc = tool_opt_shared(ctx, opt, "feed", argv, help)) != TOOL_NEXT) {
			return rc;
		}
	}
	n = argc - optind;
	if (fmt != FMT_TABLE && strcmp(sub, "list") != 0)
		return tool_usage_error("feed", "feed %s: --format is for feed list", sub);
	if (!strcmp(sub, "unregister") && n == 1 && (!*argv[optind] || strlen(argv[optind]) > 64))
		return tool_usage_error("feed", "feed unregister: a name takes 1 to 64 bytes");
	if (!strcmp(sub, "list"))
		return n ? tool_usage_error("feed", "feed list: unexpected argument %s", argv[optind])
			 : sub_list(ctx, fmt);
	if (!strcmp(sub, "unregister"))
		return n != 1 ? tool_usage_error("feed", "feed unregister: one NAME is needed")
			      : sub_unregister(ctx, argv[optind]);
	return tool_usage_error("feed", "feed: unknown subcommand %s (list, unregister)", sub);
}
