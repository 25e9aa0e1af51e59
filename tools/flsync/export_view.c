/*
 * export_view.c — `flsync export --view NAME`: one view (the insight_*
 * views above all) as CSV, JSON or JSONL, to stdout or to a file written
 * under a temporary name and renamed into place.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync export --view NAME [--format csv|json|jsonl] [--out FILE] [--db PATH]\n"
		"\n"
		"Write the rows of the view NAME (insight_bids, insight_win_rate,\n"
		"insight_clients, insight_cashflow_monthly, insight_response_monthly or any\n"
		"other view of the database) to stdout, or to FILE (written to a temporary\n"
		"name and renamed when complete).\n"
		"\n"
		"  -f, --format F  csv (default; RFC 4180 with a header), json (an array of\n"
		"                  objects) or jsonl (an object per line)\n"
		"  -o, --out FILE  where to write (default: stdout)\n"
		"\n"
		"Example:\n"
		"  flsync export --view insight_win_rate --format csv > win_rate.csv\n");
}

/* NAME is a view of db: TOOL_OK, else TOOL_USAGE (said) or TOOL_FAIL. */
static int is_view(struct fl_db *db, const char *name, const char *path)
{
	struct fl_stmt *st;
	int rc, row = 0;

	if ((rc = fl_stmt_prepare(db, "SELECT 1 FROM sqlite_schema WHERE type = 'view' AND name = ?1", &st)))
		return tool_db_fail(db, rc, "list views");
	fl_stmt_bind_text(st, 1, name, -1);
	rc = fl_stmt_step(st, &row);
	fl_stmt_finalize(st);
	if (rc)
		return tool_db_fail(db, rc, "list views");
	if (!row)
		return tool_usage_error("export", "export: no view named %s in %s (see: flsync query "
					"\"SELECT name FROM sqlite_schema WHERE type = 'view'\")", name, path);
	return TOOL_OK;
}

/* The view's rows to f. */
static int write_view(struct fl_db *db, const char *name, enum tool_format fmt, FILE *f)
{
	char *q = tool_quoted(name), *sql = xasprintf("SELECT * FROM %s", q);
	struct fl_stmt *st;
	int64_t rows;
	int rc;

	free(q);
	rc = fl_stmt_prepare(db, sql, &st);
	free(sql);
	if (rc)
		return tool_db_fail(db, rc, name);
	rc = tool_write_all(db, st, f, fmt, &rows);
	if (rc && rows == 0)
		tool_db_fail(db, rc, name);
	fl_stmt_finalize(st);
	return rc ? TOOL_FAIL : TOOL_OK;
}

/* The view's rows into out, atomically. */
static int write_file(struct fl_db *db, const char *name, enum tool_format fmt, const char *out)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", out);
	int fd = mkstemp(tmp), rc;
	mode_t mask;
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = tool_fail("cannot create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return rc;
	}
	rc = write_view(db, name, fmt, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f))
		rc = tool_fail("write %s: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && !rc)
		rc = tool_fail("write %s: %s", tmp, strerror(errno));
	mask = umask(0);
	umask(mask);
	chmod(tmp, 0666 & ~mask);
	if (!rc && rename(tmp, out) != 0)
		rc = tool_fail("rename %s to %s: %s", tmp, out, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int tool_export_view(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "view", required_argument, NULL, 'v' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum tool_format fmt = FMT_CSV;
	const char *view = NULL, *out = NULL;
	struct fl_db *db;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":v:f:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			view = optarg;
			break;
		case 'f':
			if (!tool_parse_format(optarg, &fmt) || fmt == FMT_TABLE)
				return tool_usage_error("export", "export: --format takes csv, json or jsonl, not %s", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "export", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("export", "export: --view takes one view, not also %s", argv[optind]);
	if (!view)
		return tool_usage_error("export", "export: --view needs a NAME");
	if (!(db = tool_open(ctx, false)))
		return TOOL_FAIL;
	rc = is_view(db, view, ctx->db_path);
	if (!rc)
		rc = out ? write_file(db, view, fmt, out) : write_view(db, view, fmt, stdout);
	if (!rc && !out && (fflush(stdout) != 0 || ferror(stdout)))
		rc = tool_fail("write stdout: %s", strerror(errno));
	fl_db_close(db);
	return rc;
}
