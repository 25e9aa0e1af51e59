/*
 * cmd_resync.c — `flsync resync`: ask for a re-read of windowed streams
 * from a date (fl_sync_resync): the cursors go back, the rows stay, and the
 * next pass (flsyncd's, or one run through the library) reads the span
 * again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync resync [--stream NAME] [--since DATE] [--db PATH]\n"
		"\n"
		"Ask for a re-read: the windowed streams (projects, bids, bids_received,\n"
		"reviews_to, reviews_from, threads, messages, market searches) go back to\n"
		"DATE, their rows stay, and the next pass reads from there again, storing\n"
		"what it finds new or changed.  flsyncd does it at its next pass (SIGUSR1\n"
		"starts one now); flsyncd's daily reconciliation does the same for the\n"
		"last 7 days on its own.\n"
		"\n"
		"  --stream NAME   one stream (default: all of them)\n"
		"  --since DATE    2026-11-01, 2026-11-01T12:00:00Z (UTC), a unix time, or\n"
		"                  an age: 90m, 36h, 7d (default: the beginning)\n"
		"\n"
		"Examples:\n"
		"  flsync resync --since 7d\n"
		"  flsync resync --stream messages --since 2026-11-01\n");
}

/* DATE as unix seconds; false when it is not one of the forms above. */
static bool parse_since(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	char *e;
	long long n;
	int64_t ago;

	if (fl_duration_parse(s, &ago) == FL_OK && strpbrk(s, "smhd")) {
		*out = (int64_t)time(NULL) - ago;
		if (*out < 0)
			*out = 0;
		return true;
	}
	errno = 0;
	n = strtoll(s, &e, 10);
	if (e != s && !*e && !errno && n >= 0) {
		*out = n;
		return true;
	}
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T') {
		const char *clock = strptime(end + 1, "%H:%M:%S", &tm);

		end = clock ? clock : strptime(end + 1, "%H:%M", &tm);
	}
	if (!end || (*end && strcmp(end, "Z") != 0))
		return false;
	*out = (int64_t)timegm(&tm);
	return *out >= 0;
}

int tool_cmd_resync(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stream", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *stream = NULL;
	int64_t since = 0, moved = 0, pid = 0;
	struct fl_db *db;
	char when[64];
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			stream = optarg;
			break;
		case 'S':
			if (!parse_since(optarg, &since))
				return tool_usage_error("resync", "resync: --since wants a date (2026-11-01, "
							"2026-11-01T12:00:00Z), a unix time or an age (7d), not %s",
							optarg);
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "resync", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("resync", "resync: unexpected argument %s", argv[optind]);
	db = tool_open(ctx, true);
	if (!db)
		return TOOL_FAIL;
	rc = fl_sync_resync(db, stream, since, &moved);
	if (rc) {
		tool_db_fail(db, rc, "resync");
		fl_db_close(db);
		return TOOL_FAIL;
	}
	fl_db_close(db);
	if (since > 0) {
		time_t t = (time_t)since;

		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	} else {
		snprintf(when, sizeof when, "the beginning");
	}
	printf("%lld stream%s will re-read from %s at the next pass\n", (long long)moved,
	       moved == 1 ? "" : "s", when);
	if (fl_sync_lock_holder(ctx->db_path, &pid) == FL_OK && pid > 0)
		printf("flsyncd (pid %lld) syncs this database: kill -USR1 %lld starts its pass now\n",
		       (long long)pid, (long long)pid);
	return TOOL_OK;
}
