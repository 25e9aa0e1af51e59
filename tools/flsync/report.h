/*
 * report.h — what `flsync report`'s files share: a small in-memory result
 * (report_data.c) and the SVG charts drawn from one (report_svg.c).
 */
#ifndef FLSYNC_REPORT_H
#define FLSYNC_REPORT_H

#include <stdio.h>

#include "tool.h"

/* A query's rows as text: a few hundred rows at most. */
struct table {
	int ncols, nrows;
	char **names;     /* ncols */
	char **cells;     /* nrows x ncols, NULL for SQL NULL */
};

int table_load(struct fl_db *db, const char *sql, struct table *t);
void table_free(struct table *t);
/* The cell of row r in column col, NULL when NULL or no such column. */
const char *table_cell(const struct table *t, int r, const char *col);
/* The same as a number, 0 for NULL. */
double table_num(const struct table *t, int r, const char *col);

/*
 * One row of headline figures over the insight views: username, bids,
 * decided, won, earned_usd, in_escrow_usd, unconverted, and over every
 * reply: replies, median_reply_s, p90_reply_s (report and ui alike).
 */
extern const char report_summary_sql[];

/* One series of a chart: a column, shown times scale (a currency's or a unit's). */
struct series {
	const char *name;
	const char *col;
	double scale;
};

/* The patterns the charts fill with, so that they read in black and white: once per page. */
void svg_defs(FILE *f);
/*
 * Grouped bars of the series per row of t, x the column xcol of months
 * (one slot per calendar month from the first to the last: quiet months
 * are gaps; anything else: one slot a row).
 */
void svg_bars(FILE *f, const struct table *t, const char *xcol, const struct series *s, int ns, const char *unit);
/*
 * One line per row of t (rows[0..n)): the bucket's win rate as a point and
 * its Wilson interval (ci_low..ci_high) as a bar with end caps, on 0..100%.
 */
void svg_intervals(FILE *f, const struct table *t, const int *rows, int n);

#endif
