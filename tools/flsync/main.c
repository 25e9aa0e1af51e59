/*
 * main.c — flsync, the command line over libflsync: global options and the
 * dispatch to one subcommand per file (cmd_*.c), git style.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tool.h"

static const struct {
	const char *name;
	tool_cmd_fn *fn;
	const char *summary;
} commands[] = {
	{ "query", tool_cmd_query, "run an SQL query; table, CSV, JSON or JSONL out" },
	{ "search", tool_cmd_search, "full-text search of projects and messages" },
	{ "export", tool_cmd_export, "write tables to CSV or JSONL files, one per table" },
	{ "status", tool_cmd_status, "sync streams, pending actions, rate-limit budgets" },
	{ "feed", tool_cmd_feed, "the change feed's held positions (list); let one go (unregister)" },
	{ "queue", tool_cmd_queue, "queue write actions and follow them (add, list, show, cancel, retry)" },
	{ "report", tool_cmd_report, "an HTML report: cash flow, reply times, win rates, clients" },
	{ "resync", tool_cmd_resync, "re-read windowed streams from a date: cursors go back, rows stay" },
	{ "pgsync", tool_cmd_pgsync, "bring a PostgreSQL mirror (for a team, for BI tools) up to date" },
	{ "ui", tool_cmd_ui, "a local web app: inbox, projects, bids, milestones, queue, search, sync" },
	{ "schema", tool_cmd_schema, "print the database's schema version" },
	{ "auth", tool_cmd_auth, "sign in (OAuth login or a token), show or end the sign-in" },
	{ "webhook", tool_cmd_webhook, "register and list webhooks; print the listener's URL" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: flsync [--db PATH] COMMAND [ARGS]\n"
		"\n"
		"Query, search, export and report on the database flsyncd keeps, and\n"
		"queue write actions for it to send.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  --db PATH      the database; also accepted after the command.  Default:\n"
		"                 $FLSYNC_DB, else $XDG_DATA_HOME/flsync/flsync.db, else\n"
		"                 ~/.local/share/flsync/flsync.db\n"
		"  -h, --help     this help; 'flsync COMMAND --help' for a command's\n"
		"  -V, --version  print the version\n"
		"\n"
		"Examples:\n"
		"  flsync query 'SELECT id, title FROM projects ORDER BY time_submitted DESC LIMIT 5'\n"
		"  flsync search 'logo design' --in projects\n"
		"  flsync export --all --format csv --out ./dump\n"
		"  flsync status\n"
		"  flsync queue add message.send --param thread_id=42 --param message='On it!'\n"
		"  flsync report --out report.html\n"
		"  flsync auth login --token-file ~/.config/flsync/token.json --client-id ID\n"
		"\n"
		"Exit status: 0 success, 1 failure (no database, bad SQL, unknown table,\n"
		"an action refused, ...), 2 bad command line; flsync auth also 4 (the\n"
		"service or the API refused, or the sign-in has ended).\n"
		"See flsync(1).\n");
}

int tool_cmd_schema(struct tool_ctx *ctx, int argc, char **argv)
{
	struct fl_db *db;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: flsync schema\n\nPrint the database's schema version and the newest this flsync knows.\n\n"
			       "Example:\n  flsync --db ~/fl.db schema\n");
			return TOOL_OK;
		} else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			ctx->db_path = argv[++i];
		} else {
			return tool_usage_error("schema", "schema: unexpected argument %s", argv[i]);
		}
	}
	db = tool_open(ctx, false);
	if (!db)
		return TOOL_FAIL;
	printf("%s: schema version %d (this flsync knows %d)\n", ctx->db_path,
	       fl_db_schema_version(db), fl_schema_version());
	fl_db_close(db);
	return TOOL_OK;
}

int main(int argc, char **argv)
{
	struct tool_ctx ctx = { 0 };
	size_t c;
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return TOOL_OK;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("flsync %s (libflsync %s, schema %d)\n", FL_VERSION,
			       fl_libversion(), fl_schema_version());
			return TOOL_OK;
		} else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			ctx.db_path = argv[++i];
		} else if (!strncmp(argv[i], "--db=", 5)) {
			ctx.db_path = argv[i] + 5;
		} else {
			fprintf(stderr, "flsync: unknown option %s\n", argv[i]);
			usage(stderr);
			return TOOL_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return TOOL_USAGE;
	}
	for (c = 0; c < sizeof commands / sizeof *commands; c++)
		if (!strcmp(argv[i], commands[c].name))
			break;
	if (c == sizeof commands / sizeof *commands) {
		fprintf(stderr, "flsync: unknown command %s (see flsync --help)\n", argv[i]);
		return TOOL_USAGE;
	}
	rc = commands[c].fn(&ctx, argc - i, argv + i);
	tool_ctx_free(&ctx);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("flsync: write error on standard output");
		return TOOL_FAIL;
	}
	return rc;
}
