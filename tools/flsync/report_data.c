/*
 * report_data.c — the report's query results: rows held as text, read by
 * column name.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

void table_free(struct table *t)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		free(t->names[i]);
	for (i = 0; i < t->ncols * t->nrows; i++)
		free(t->cells[i]);
	free(t->names);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

int table_load(struct fl_db *db, const char *sql, struct table *t)
{
	struct fl_stmt *st;
	int rc, row, c;

	memset(t, 0, sizeof *t);
	if ((rc = fl_stmt_prepare(db, sql, &st)))
		return tool_db_fail(db, rc, sql);
	t->ncols = fl_stmt_column_count(st);
	t->names = xmalloc(sizeof *t->names * (size_t)(t->ncols ? t->ncols : 1));
	for (c = 0; c < t->ncols; c++)
		t->names[c] = xstrdup(fl_stmt_column_name(st, c));
	while (!(rc = fl_stmt_step(st, &row)) && row) {
		t->cells = xrealloc(t->cells, sizeof *t->cells * (size_t)(t->nrows + 1) * (size_t)t->ncols);
		for (c = 0; c < t->ncols; c++) {
			const char *v = fl_stmt_column_text(st, c, NULL);

			t->cells[t->nrows * t->ncols + c] = v ? xstrdup(v) : NULL;
		}
		t->nrows++;
	}
	fl_stmt_finalize(st);
	return rc ? tool_db_fail(db, rc, sql) : TOOL_OK;
}

const char *table_cell(const struct table *t, int r, const char *col)
{
	int c;

	for (c = 0; c < t->ncols; c++)
		if (!strcmp(t->names[c], col))
			return t->cells[r * t->ncols + c];
	return NULL;
}

double table_num(const struct table *t, int r, const char *col)
{
	const char *v = table_cell(t, r, col);

	return v ? strtod(v, NULL) : 0.0;
}

const char report_summary_sql[] =
	"WITH b AS (SELECT count(*) AS bids, coalesce(sum(outcome IN ('won', 'lost')), 0) AS decided, "
	"coalesce(sum(outcome = 'won'), 0) AS won FROM insight_bids), "
	"c AS (SELECT sum(earned_usd) AS earned_usd, sum(in_escrow_usd) AS in_escrow_usd, "
	"sum(unconverted) AS unconverted FROM insight_cashflow_monthly), "
	/* Every reply (reply_times, migration 016), as insight_response_monthly reckons a month's. */
	"r AS (SELECT count(*) AS replies FROM reply_times WHERE seconds IS NOT NULL) "
	"SELECT (SELECT username FROM self) AS username, b.*, c.*, r.replies, "
	"(SELECT avg(seconds) FROM (SELECT seconds FROM reply_times WHERE seconds IS NOT NULL ORDER BY seconds "
	"LIMIT 2 - (SELECT replies FROM r) % 2 OFFSET ((SELECT replies FROM r) - 1) / 2)) AS median_reply_s, "
	"(SELECT seconds FROM reply_times WHERE seconds IS NOT NULL ORDER BY seconds "
	"LIMIT 1 OFFSET max((9 * (SELECT replies FROM r) + 9) / 10 - 1, 0)) AS p90_reply_s "
	"FROM b, c, r";
