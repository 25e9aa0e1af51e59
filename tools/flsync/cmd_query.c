/*
 * cmd_query.c — `flsync query SQL [--param VALUE]... [--format F]`: one
 * statement, bound and streamed out in the chosen format.  Read-only: the
 * database is opened FL_OPEN_READONLY, so a query never takes flsyncd's lock.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync query SQL [--param VALUE]... [--format F] [--currency CODE] [--db PATH]\n"
		"\n"
		"Run one SQL statement against the database, read-only, and print its rows.\n"
		"\n"
		"  --param VALUE   bind the next parameter (?, ?1, ...); NAME=VALUE binds :NAME\n"
		"                  (or @NAME, $NAME) when the statement has it.  A value\n"
		"                  written as a program writes a number (42, -3, 2.5, 1e6) is\n"
		"                  bound as a number; anything else as text, as typed: 007,\n"
		"                  +5, 1,000 and 0x1F stay text\n"
		"  -f, --format F  table (default; aligned, sized from the first %d rows),\n"
		"                  csv (RFC 4180, with a header), json (an array of objects),\n"
		"                  jsonl (one object per line), markdown (a pipe table), tsv\n"
		"                  (tab-separated, a header line; tab, newline and backslash\n"
		"                  written \\t \\n \\\\)\n"
		"  -c, --currency CODE  columns named *_usd (the insight_* views' money) come\n"
		"                  out in CODE, named *_code, converted with currencies.exchange_rate\n"
		"  --db PATH       the database (see flsync --help)\n"
		"\n"
		"Every format streams: a million rows never sit in memory.\n"
		"\n"
		"Examples:\n"
		"  flsync query 'SELECT * FROM my_active_bids'\n"
		"  flsync query 'SELECT id, title FROM projects WHERE owner_id = ?' --param 1001 -f json\n"
		"  flsync query 'SELECT * FROM bids WHERE amount > :min' --param min=100 -f csv > bids.csv\n"
		"  flsync query 'SELECT * FROM report_bids_monthly' -f jsonl | jq .win_rate_pct\n",
		TOOL_TABLE_BUFFER);
}

/*
 * Whether v is a number written the one way a program prints it: an
 * optional '-', digits without a leading zero (or a lone 0), an optional
 * fraction and exponent.  "007", "+5", "1_000", " 5", "0x1F" are not:
 * they are kept as typed (a zip code, an id with zeros, a phone number).
 */
static bool canonical_number(const char *v, bool *integer)
{
	const char *p = v + (*v == '-');

	*integer = true;
	if (!(*p >= '0' && *p <= '9') || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		*integer = false;
		if (!(*++p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		*integer = false;
		p += p[1] == '-' || p[1] == '+';
		if (!(*++p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* Bind v as a number when it is written as one (canonical_number), else as text. */
static int bind_value(struct fl_stmt *st, int idx, const char *v)
{
	bool integer;
	int64_t i;

	if (canonical_number(v, &integer)) {
		if (integer && tool_parse_int64(v, &i))
			return fl_stmt_bind_int64(st, idx, i);
		return fl_stmt_bind_double(st, idx, strtod(v, NULL));
	}
	return fl_stmt_bind_text(st, idx, v, -1);
}

/* The index of NAME in st, trying the prefixes SQLite allows. */
static int named_index(struct fl_stmt *st, const char *name, size_t len)
{
	static const char prefixes[] = ":@$";
	char buf[256];
	int i, idx;

	if (len == 0 || len + 2 > sizeof buf)
		return 0;
	for (i = 0; prefixes[i]; i++) {
		buf[0] = prefixes[i];
		memcpy(buf + 1, name, len);
		buf[len + 1] = '\0';
		if ((idx = fl_stmt_param_index(st, buf)))
			return idx;
	}
	return 0;
}

/* *st again, its *_usd columns in the currency named. */
static int query_in_currency(struct fl_db *db, struct fl_stmt **st, const char *sql, const char *code)
{
	struct tool_currency cur;
	struct fl_stmt *conv;
	char *wrapped;
	int rc;

	if ((rc = tool_currency_resolve(db, "query", code, &cur)))
		return rc;
	if (!(wrapped = tool_currency_wrap(*st, sql, &cur)))
		return TOOL_OK;
	rc = fl_stmt_prepare(db, wrapped, &conv);
	free(wrapped);
	if (rc)
		return tool_db_fail(db, rc, "--currency: the SQL cannot be wrapped (one SELECT, unique column names)");
	fl_stmt_finalize(*st);
	*st = conv;
	return TOOL_OK;
}

int tool_cmd_query(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "param", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "currency", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum tool_format fmt = FMT_TABLE;
	const char **params = xmalloc(sizeof *params * (size_t)argc);
	const char *sql = NULL, *currency = NULL;
	struct fl_db *db = NULL;
	struct fl_stmt *st = NULL;
	int nparams = 0, opt, rc = TOOL_FAIL, i, next = 1;
	int64_t rows;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:p:f:c:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			/* A positional: the SQL; getopt goes on after it. */
			if (sql) {
				rc = tool_usage_error("query", "query: give the SQL once (quote it); unexpected %s",
						      argv[optind]);
				goto out;
			}
			sql = argv[optind++];
			continue;
		}
		switch (opt) {
		case 'p':
			params[nparams++] = optarg;
			break;
		case 'c':
			currency = optarg;
			break;
		case 'f':
			if (!tool_parse_format(optarg, &fmt)) {
				rc = tool_usage_error("query", "query: unknown format %s (table, csv, json, jsonl, markdown, tsv)", optarg);
				goto out;
			}
			break;
		default:
			rc = tool_opt_shared(ctx, opt, "query", argv, help);
			if (rc != TOOL_NEXT)
				goto out;
			break;
		}
	}
	rc = TOOL_FAIL;
	if (!sql) {
		rc = tool_usage_error("query", "query: no SQL given");
		goto out;
	}
	db = tool_open(ctx, false);
	if (!db)
		goto out;
	if ((i = fl_stmt_prepare(db, sql, &st))) {
		tool_db_fail(db, i, "bad SQL");
		goto out;
	}
	if (currency && (rc = query_in_currency(db, &st, sql, currency)) != TOOL_OK)
		goto out;
	rc = TOOL_FAIL;
	for (i = 0; i < nparams; i++) {
		const char *eq = strchr(params[i], '=');
		int idx = eq ? named_index(st, params[i], (size_t)(eq - params[i])) : 0;
		int brc;

		if (idx) {
			brc = bind_value(st, idx, eq + 1);
		} else {
			if (next > fl_stmt_param_count(st)) {
				rc = tool_usage_error("query", "query: %d --param given, but the SQL has %d parameter(s)",
						      nparams, fl_stmt_param_count(st));
				goto out;
			}
			brc = bind_value(st, next++, params[i]);
		}
		if (brc) {
			tool_db_fail(db, brc, "bind --param");
			goto out;
		}
	}
	i = tool_write_all(db, st, stdout, fmt, &rows);
	if (i && rows == 0 && *fl_errmsg(db)) {
		if (i == FL_ERR_READONLY)
			tool_fail("flsync query only reads; use the library or sqlite3 to write (%s)", fl_errmsg(db));
		else
			tool_db_fail(db, i, "query failed");
	}
	rc = i ? TOOL_FAIL : TOOL_OK;
out:
	fl_stmt_finalize(st);
	fl_db_close(db);
	free(params);
	return rc;
}
