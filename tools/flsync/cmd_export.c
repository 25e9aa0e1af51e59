/*
 * cmd_export.c — `flsync export`: tables (or views) to one CSV, JSON or JSONL
 * file each (or one to standard output), all from one read snapshot.  Each file is written under a temporary
 * name in the target directory, flushed to disk and renamed over the final
 * name, so a reader never sees a half-written export.
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
		"usage: flsync export [TABLE...|--all [--internal]] --format csv|json|jsonl --out DIR|- [--db PATH]\n"
		"       flsync export --view NAME [--format csv|json|jsonl] [--out FILE] (see --view --help)\n"
		"\n"
		"Write each TABLE (a table or a view) to DIR/TABLE.csv, .json or .jsonl, all\n"
		"from one consistent snapshot of the database.  Each file is written to a\n"
		"temporary name and renamed into place when complete.  DIR is created if\n"
		"missing.  A summary of rows per table is printed at the end.\n"
		"\n"
		"  --all           the account's data: every entity table (projects, bids,\n"
		"                  messages, ..., the action queue) and every view\n"
		"  --internal      with --all, flsync's own bookkeeping too (sync_state,\n"
		"                  sync_batch, changes, feed_state, ratelimit_state,\n"
		"                  reply_times, webhook_deliveries, webhook_seen, ...)\n"
		"  -f, --format F  csv (RFC 4180, header row), json (one array of objects a\n"
		"                  file) or jsonl (an object per line)\n"
		"  -o, --out DIR   the directory to write to; - writes one TABLE to standard\n"
		"                  output (the summary then goes to standard error)\n"
		"\n"
		"Examples:\n"
		"  flsync export --all --format csv --out ~/flsync-export\n"
		"  flsync export projects bids report_bids_monthly -f jsonl -o /tmp/x\n"
		"  flsync export my_active_bids -f json -o - | jq '.[].project_title'\n");
}

/* Every table and view, FTS index tables and their shadows and sqlite_* aside. */
static const char all_tables_sql[] =
	"SELECT t.name FROM sqlite_schema t WHERE t.type IN ('table', 'view') "
	"AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	"AND t.sql NOT LIKE 'CREATE VIRTUAL TABLE%' "
	"AND NOT EXISTS (SELECT 1 FROM sqlite_schema v WHERE v.type = 'table' "
	"AND v.sql LIKE 'CREATE VIRTUAL TABLE%' AND t.name LIKE v.name || '\\_%' ESCAPE '\\') "
	"ORDER BY t.type, t.name";

/*
 * flsync's own bookkeeping, not the account's data: what the sync, the
 * change feed, the rate limiter and the webhook listener keep for
 * themselves.  --all leaves them out unless --internal.
 */
static const char *const internal_tables[] = {
	"changes", "feed_consumers", "feed_state", "ratelimit_state", "reply_months",
	"reply_months_stale", "reply_times", "sync_batch", "sync_deferred_indexes", "sync_state",
	"webhook_deliveries", "webhook_hints", "webhook_seen", "webhook_state",
};

static bool is_internal(const char *name)
{
	for (size_t i = 0; i < sizeof internal_tables / sizeof *internal_tables; i++)
		if (!strcmp(internal_tables[i], name))
			return true;
	return false;
}

struct names {
	char **v;
	int n;
};

static void names_add(struct names *ns, const char *s)
{
	ns->v = xrealloc(ns->v, sizeof *ns->v * (size_t)(ns->n + 1));
	ns->v[ns->n++] = xstrdup(s);
}

static void names_free(struct names *ns)
{
	int i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* The names sql lists; without internal, the bookkeeping tables left out. */
static int list_names(struct fl_db *db, const char *sql, bool internal, struct names *out)
{
	struct fl_stmt *st;
	int rc, row;

	if ((rc = fl_stmt_prepare(db, sql, &st)))
		return tool_db_fail(db, rc, "list tables");
	while (!(rc = fl_stmt_step(st, &row)) && row)
		if (internal || !is_internal(fl_stmt_column_text(st, 0, NULL)))
			names_add(out, fl_stmt_column_text(st, 0, NULL));
	fl_stmt_finalize(st);
	return rc ? tool_db_fail(db, rc, "list tables") : TOOL_OK;
}

/* A file name for a table: '/' and leading dots would escape DIR. */
static char *file_name(const char *table, const char *ext)
{
	char *f = xasprintf("%s.%s", table, ext), *p;

	for (p = f; *p; p++)
		if (*p == '/' || (p == f && *p == '.'))
			*p = '_';
	return f;
}

static int export_stdout(struct fl_db *db, const char *table, enum tool_format fmt, int64_t *out_rows)
{
	char *quoted = tool_quoted(table), *sql = xasprintf("SELECT * FROM %s", quoted);
	struct fl_stmt *st = NULL;
	int src;

	if ((src = fl_stmt_prepare(db, sql, &st)) == FL_OK) {
		src = tool_write_all(db, st, stdout, fmt, out_rows);
		if (src && *out_rows == 0)
			tool_db_fail(db, src, table);
	} else {
		tool_db_fail(db, src, table);
	}
	fl_stmt_finalize(st);
	free(quoted);
	free(sql);
	if (!src && (fflush(stdout) != 0 || ferror(stdout)))
		return tool_fail("write to standard output: %s", strerror(errno));
	return src ? TOOL_FAIL : TOOL_OK;
}

static int export_one(struct fl_db *db, const char *dir, const char *table, enum tool_format fmt,
		      int64_t *out_rows)
{
	char *quoted = tool_quoted(table), *sql, *name, *final, *tmp;
	struct fl_stmt *st = NULL;
	FILE *f = NULL;
	int fd = -1, rc = TOOL_FAIL, src;

	*out_rows = 0;
	sql = xasprintf("SELECT * FROM %s", quoted);
	if (!strcmp(dir, "-")) {
		/* Standard output: no file to rename into place. */
		free(quoted);
		free(sql);
		return export_stdout(db, table, fmt, out_rows);
	}
	name = file_name(table, fmt == FMT_CSV ? "csv" : fmt == FMT_JSON ? "json" : "jsonl");
	final = xasprintf("%s/%s", dir, name);
	tmp = xasprintf("%s/.%s.tmp.XXXXXX", dir, name);
	if ((src = fl_stmt_prepare(db, sql, &st))) {
		tool_db_fail(db, src, table);
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		tool_fail("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* A large buffer: the export is one long sequential write. */
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	src = tool_write_all(db, st, f, fmt, out_rows);
	if (src && *out_rows == 0)
		tool_db_fail(db, src, table);
	if (src)
		goto out;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		tool_fail("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		tool_fail("write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	tool_private(tmp);
	if (rename(tmp, final) != 0) {
		tool_fail("rename %s to %s: %s", tmp, final, strerror(errno));
		goto out;
	}
	rc = TOOL_OK;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc != TOOL_OK)
		unlink(tmp);
	fl_stmt_finalize(st);
	free(quoted);
	free(sql);
	free(name);
	free(final);
	free(tmp);
	return rc;
}

/* What the command line asked for. */
struct export_opts {
	struct names want;     /* the tables and views named */
	enum tool_format fmt;
	bool all, have_fmt, internal;
	const char *dir;       /* --out: a directory, or "-" for standard output */
};

/* The options, into o; TOOL_NEXT when they read well, else the exit status. */
static int parse_opts(struct tool_ctx *ctx, int argc, char **argv, struct export_opts *o)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "internal", no_argument, NULL, 'I' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:f:o:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			names_add(&o->want, argv[optind++]);
			continue;
		}
		switch (opt) {
		case 'a':
			o->all = true;
			break;
		case 'I':
			o->internal = true;
			break;
		case 'f':
			if (!tool_parse_format(optarg, &o->fmt) || o->fmt == FMT_TABLE || o->fmt > FMT_JSONL)
				return tool_usage_error("export", "export: --format takes csv, json or jsonl, not %s", optarg);
			o->have_fmt = true;
			break;
		case 'o':
			o->dir = optarg;
			break;
		default:
			rc = tool_opt_shared(ctx, opt, "export", argv, help);
			if (rc != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (!o->dir || !o->have_fmt)
		return tool_usage_error("export", "export: --format and --out are required");
	if (o->all == (o->want.n > 0))
		return tool_usage_error("export", "export: name the tables, or give --all (not both)");
	if (o->internal && !o->all)
		return tool_usage_error("export", "export: --internal goes with --all");
	if (!strcmp(o->dir, "-") && (o->all || o->want.n != 1))
		return tool_usage_error("export", "export: --out - writes one table or view to standard output; "
					"name one (or give --out DIR)");
	return TOOL_NEXT;
}

/* --all: every table (and with --internal, every view too) into o->want; else each name checked. */
static int resolve_names(struct tool_ctx *ctx, struct fl_db *db, struct export_opts *o)
{
	struct names known = { 0 };
	int i, j, rc = TOOL_OK;

	if (o->all)
		return list_names(db, all_tables_sql, o->internal, &o->want) ? TOOL_FAIL : TOOL_OK;
	if (list_names(db, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name",
		       true, &known))
		return TOOL_FAIL;
	for (i = 0; i < o->want.n && rc == TOOL_OK; i++) {
		for (j = 0; j < known.n && strcmp(known.v[j], o->want.v[i]); j++)
			;
		if (j == known.n) {
			tool_fail("no table or view named %s in %s (see: flsync query \"SELECT name FROM sqlite_schema WHERE type IN ('table','view')\")",
				  o->want.v[i], ctx->db_path);
			rc = TOOL_FAIL;
		}
	}
	names_free(&known);
	return rc;
}

/* Each table or view into its file (or standard output), then the rows of each on the summary. */
static int write_files(struct fl_db *db, const struct export_opts *o)
{
	bool to_stdout = !strcmp(o->dir, "-");
	FILE *sum = to_stdout ? stderr : stdout;
	int64_t *counts, rows, total = 0;
	int i, rc = TOOL_FAIL;

	if (!to_stdout && tool_mkdir_private(o->dir) != 0 && errno != EEXIST) {
		tool_fail("cannot create directory %s: %s", o->dir, strerror(errno));
		return TOOL_FAIL;
	}
	counts = xmalloc(sizeof *counts * (size_t)(o->want.n ? o->want.n : 1));
	for (i = 0; i < o->want.n; i++) {
		if (export_one(db, o->dir, o->want.v[i], o->fmt, &rows))
			goto out;
		counts[i] = rows;
		total += rows;
	}
	for (i = 0; i < o->want.n; i++)
		fprintf(sum, "%-26s %12lld rows\n", o->want.v[i], (long long)counts[i]);
	if (to_stdout)
		fprintf(sum, "%-26s %12lld rows to standard output\n", "total", (long long)total);
	else
		fprintf(sum, "%-26s %12lld rows in %d file(s) in %s\n", "total", (long long)total, o->want.n, o->dir);
	rc = TOOL_OK;
out:
	free(counts);
	return rc;
}

int tool_cmd_export(struct tool_ctx *ctx, int argc, char **argv)
{
	struct export_opts o = { .fmt = FMT_CSV };
	struct fl_db *db = NULL;
	int i, rc;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--view") || !strncmp(argv[i], "--view=", 7))
			return tool_export_view(ctx, argc, argv);
	rc = parse_opts(ctx, argc, argv, &o);
	if (rc != TOOL_NEXT)
		goto out;
	rc = TOOL_FAIL;
	db = tool_open(ctx, false);
	/* One read transaction: every file shows the same moment of the database. */
	if (db && !tool_exec(db, "BEGIN") && resolve_names(ctx, db, &o) == TOOL_OK)
		rc = write_files(db, &o);
out:
	names_free(&o.want);
	fl_db_close(db);
	return rc;
}
