/*
 * common.c — the parts of flsync every subcommand uses: where the database
 * is, opening it with errors that name the path, exit-code helpers.
 * Allocation that aborts on OOM (a tool may; the library never does) is
 * util/xalloc.h's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

void tool_ctx_init(struct tool_ctx *ctx)
{
	const char *env = getenv("FLSYNC_DB"), *xdg, *home;

	if (ctx->db_path)
		return;
	if (env && *env) {
		ctx->db_path = env;
		return;
	}
	/* XDG Base Directory: $XDG_DATA_HOME, else ~/.local/share. */
	xdg = getenv("XDG_DATA_HOME");
	home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		ctx->db_default = xasprintf("%s/flsync/flsync.db", xdg);
	else
		ctx->db_default = xasprintf("%s/.local/share/flsync/flsync.db",
					    home && *home ? home : ".");
	ctx->db_path = ctx->db_default;
}

void tool_ctx_free(struct tool_ctx *ctx)
{
	free(ctx->db_default);
	ctx->db_default = NULL;
}

struct fl_db *tool_open(struct tool_ctx *ctx, bool writable)
{
	struct fl_db *db = NULL;
	struct stat sb;
	int rc;

	tool_ctx_init(ctx);
	if (stat(ctx->db_path, &sb) != 0) {
		if (errno == ENOENT)
			tool_fail("no database at %s: run flsyncd --db %s first, or name another with --db PATH or FLSYNC_DB",
				  ctx->db_path, ctx->db_path);
		else
			tool_fail("cannot use database %s: %s", ctx->db_path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(sb.st_mode)) {
		tool_fail("database %s is a directory, not a file", ctx->db_path);
		return NULL;
	}
	rc = fl_db_open(ctx->db_path, writable ? 0 : FL_OPEN_READONLY, &db);
	if (rc != FL_OK) {
		const char *msg = fl_db_open_errmsg();

		/* Name the path even where the library's message would not. */
		if (strstr(msg, ctx->db_path))
			tool_fail("%s", msg);
		else
			tool_fail("%s: %s", ctx->db_path, *msg ? msg : fl_strerror(rc));
		return NULL;
	}
	if (!writable && !ctx->ro_shown)
		tool_note_readonly(db, ctx->db_path);
	return db;
}

const char *tool_readonly_word(struct fl_db *db, const char *path)
{
	if (fl_db_readonly(db) == FL_DB_SNAPSHOT)
		return "read-only, read as it stands";
	return access(path, W_OK) != 0 ? "read-only" : NULL;
}

void tool_note_readonly(struct fl_db *db, const char *path)
{
	if (fl_db_readonly(db) == FL_DB_SNAPSHOT)
		fprintf(stderr, "flsync: note: %s is read-only and so is its directory: reading the file as it "
			"stands (commits still in its -wal file are not seen)\n", path);
	else if (access(path, W_OK) != 0)
		fprintf(stderr, "flsync: note: %s is read-only: reading it\n", path);
}

__attribute__((format(printf, 1, 0)))
static void vreport(const char *fmt, va_list ap)
{
	fputs("flsync: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int tool_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return TOOL_FAIL;
}

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'flsync %s --help'.\n", cmd ? cmd : "");
	return TOOL_USAGE;
}

int tool_db_fail(struct fl_db *db, int rc, const char *what)
{
	const char *msg = fl_errmsg(db);
	size_t n = strlen(what);

	if (!*msg)
		return tool_fail("%s: %s", what, fl_strerror(rc));
	/* The library's message may name the operation already ("resync: ..."): not twice. */
	if (!strncmp(msg, what, n) && msg[n] == ':')
		return tool_fail("%s", msg);
	return tool_fail("%s: %s", what, msg);
}

int tool_opt_shared(struct tool_ctx *ctx, int opt, const char *cmd, char **argv,
		    void (*help)(FILE *f))
{
	switch (opt) {
	case 'd':
		ctx->db_path = optarg;
		return TOOL_NEXT;
	case 'h':
		help(stdout);
		return TOOL_OK;
	case ':':
		return tool_usage_error(cmd, "%s: %s needs a value", cmd, argv[optind - 1]);
	default:
		return tool_usage_error(cmd, "%s: unknown option %s", cmd, argv[optind - 1]);
	}
}

int tool_subcommand(int *argc, char ***argv, void (*help)(FILE *f), const char **sub)
{
	if (*argc < 2 || !strcmp((*argv)[1], "-h") || !strcmp((*argv)[1], "--help")) {
		help(*argc < 2 ? stderr : stdout);
		return *argc < 2 ? TOOL_USAGE : TOOL_OK;
	}
	*sub = (*argv)[1];
	(*argc)--;
	(*argv)++;
	optind = 0;
	return TOOL_NEXT;
}

char *tool_quoted(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *q = xmalloc(2 * n + 3);

	q[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			q[o++] = '"';
		q[o++] = s[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

bool tool_parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

void tool_age(int64_t t, int64_t now, char *buf, size_t n)
{
	int64_t d;

	if (t <= 0) {
		snprintf(buf, n, "never");
		return;
	}
	d = now - t;
	if (d < 0)
		snprintf(buf, n, "in %llds", (long long)-d);
	else if (d < 120)
		snprintf(buf, n, "%llds ago", (long long)d);
	else if (d < 7200)
		snprintf(buf, n, "%lldm ago", (long long)(d / 60));
	else if (d < 172800)
		snprintf(buf, n, "%lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, n, "%lldd ago", (long long)(d / 86400));
}

int tool_exec(struct fl_db *db, const char *sql)
{
	struct fl_stmt *st;
	int rc, row;

	rc = fl_stmt_prepare(db, sql, &st);
	if (rc)
		return tool_db_fail(db, rc, sql);
	do
		rc = fl_stmt_step(st, &row);
	while (!rc && row);
	if (rc)
		tool_db_fail(db, rc, sql);
	fl_stmt_finalize(st);
	return rc ? TOOL_FAIL : TOOL_OK;
}

void tool_private(const char *path)
{
	/* mkstemp already makes 0600; this says so whatever made the file. */
	chmod(path, 0600);
}

int tool_mkdir_private(const char *dir)
{
	int rc = mkdir(dir, 0700);

	/* mkdir's mode passes through the umask: 0700 only loses bits, never gains them. */
	if (rc == 0)
		chmod(dir, 0700);
	return rc;
}
