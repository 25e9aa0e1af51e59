/*
 * ui_insight.c — GET /api/insight of `flsync ui`: the figures of the
 * Insights page, from the same insight_* views (and the same headline
 * query) as `flsync report`, all read in one snapshot, with the home
 * currency (?currency=CODE, else [report] currency, else USD) and its
 * rate; the page converts the *_usd columns itself.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "ui.h"

static const struct {
	const char *key, *sql;
} parts[] = {
	{ "summary", NULL },
	{ "cashflow", "SELECT * FROM insight_cashflow_monthly" },
	{ "response", "SELECT * FROM insight_response_monthly" },
	{ "win_rate", "SELECT * FROM insight_win_rate" },
	{ "clients", "SELECT * FROM insight_clients LIMIT 15" },
};

/* ,"KEY":[rows] of sql to f; the statement's code. */
static int part(struct fl_db *db, FILE *f, const char *key, const char *sql)
{
	struct fl_stmt *st;
	int64_t n;
	int rc;

	if ((rc = fl_stmt_prepare(db, sql, &st)))
		return rc;
	fprintf(f, ",\"%s\":", key);
	rc = tool_write_all(db, st, f, FMT_JSON, &n);
	fl_stmt_finalize(st);
	return rc;
}

void ui_insight(struct fl_db *db, const struct ui_args *a, struct ui_reply *rep)
{
	const char *arg = a->get(a->ctx, "currency");
	char *code = arg && *arg ? xstrdup(arg) : tool_currency_default(), *buf = NULL;
	struct tool_currency cur;
	size_t len = 0, i;
	FILE *f;
	int rc;

	if (tool_exec(db, "BEGIN") != TOOL_OK) {
		ui_error(rep, 500, "insight: %s", fl_errmsg(db));
		free(code);
		return;
	}
	rc = tool_currency_lookup(db, code, &cur);
	if (rc) {
		if (rc > 0)
			ui_error(rep, 400, "currency %s: %s", code,
				 rc == 2 ? "the database has no exchange rate for it" : "no such currency in the database");
		else
			ui_error(rep, 500, "insight: %s", fl_errmsg(db));
		goto out;
	}
	if (!(f = open_memstream(&buf, &len)))
		abort();
	fputs("{\"currency\":", f);
	tool_json_string(f, cur.code, strlen(cur.code));
	fputs(",\"rate\":", f);
	tool_json_number(f, cur.rate);
	for (i = 0; !rc && i < sizeof parts / sizeof *parts; i++)
		rc = part(db, f, parts[i].key, parts[i].sql ? parts[i].sql : report_summary_sql);
	fputs("}\n", f);
	fclose(f);
	if (rc) {
		ui_error(rep, 500, "insight: %s", fl_errmsg(db));
		free(buf);
	} else {
		rep->status = 200;
		rep->body = buf;
		rep->len = len;
	}
out:
	tool_exec(db, "COMMIT");
	free(code);
}
