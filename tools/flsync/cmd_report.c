/*
 * cmd_report.c — `flsync report --out FILE`: one self-contained HTML page
 * (inline CSS and SVG, no script, no network) with charts of the report_*
 * views of migration 003: bids placed and won per month, milestone earnings
 * and payments per month by currency, response times in threads, review
 * ratings.  Each chart names its view, so the numbers can be checked in SQL.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync report [--out FILE] [--db PATH]\n"
		"\n"
		"Write an HTML report (one file: inline SVG charts and CSS, no scripts, no\n"
		"network) of the account's bids placed and won per month with the win rate,\n"
		"milestone earnings and payments per month by currency, how fast the account\n"
		"answers in threads, and the review ratings it received over time.  The\n"
		"charts are drawn from the views report_bids_monthly,\n"
		"report_milestones_monthly, report_response_monthly (per reply:\n"
		"report_response_times) and report_reviews_monthly, usable directly in SQL.\n"
		"\n"
		"  -o, --out FILE  where to write (default report.html); written to a\n"
		"                  temporary name and renamed\n"
		"\n"
		"Examples:\n"
		"  flsync report --out ~/report.html && xdg-open ~/report.html\n"
		"  flsync query 'SELECT * FROM report_bids_monthly'\n");
}

/* ---- a small in-memory result: a few dozen months at most -------------------- */

struct table {
	int ncols, nrows;
	char **names;     /* ncols */
	char **cells;     /* nrows x ncols, NULL for SQL NULL */
};

static void table_free(struct table *t)
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

static int load(struct fl_db *db, const char *sql, struct table *t)
{
	struct fl_stmt *st;
	int rc, row, c;

	memset(t, 0, sizeof *t);
	if ((rc = fl_stmt_prepare(db, sql, &st)))
		return tool_db_fail(db, rc, sql);
	t->ncols = fl_stmt_column_count(st);
	t->names = tool_xmalloc(sizeof *t->names * (size_t)(t->ncols ? t->ncols : 1));
	for (c = 0; c < t->ncols; c++)
		t->names[c] = tool_xstrdup(fl_stmt_column_name(st, c));
	while (!(rc = fl_stmt_step(st, &row)) && row) {
		t->cells = tool_xrealloc(t->cells, sizeof *t->cells * (size_t)(t->nrows + 1) * (size_t)t->ncols);
		for (c = 0; c < t->ncols; c++) {
			const char *v = fl_stmt_column_text(st, c, NULL);

			t->cells[t->nrows * t->ncols + c] = v ? tool_xstrdup(v) : NULL;
		}
		t->nrows++;
	}
	fl_stmt_finalize(st);
	return rc ? tool_db_fail(db, rc, sql) : TOOL_OK;
}

static const char *cell(const struct table *t, int r, const char *col)
{
	int c;

	for (c = 0; c < t->ncols; c++)
		if (!strcmp(t->names[c], col))
			return t->cells[r * t->ncols + c];
	return NULL;
}

static double num(const struct table *t, int r, const char *col)
{
	const char *v = cell(t, r, col);

	return v ? strtod(v, NULL) : 0.0;
}

/* ---- SVG charts -------------------------------------------------------------- */

#define W 960
#define H 300
#define ML 64    /* left margin: the value axis */
#define MR 64    /* right margin: the rate axis */
#define MT 36    /* top: the legend */
#define MB 56    /* bottom: month labels */

struct series {
	const char *name;
	const char *color;
	const char *col;     /* the table column */
};

/* A round axis maximum >= v: 1, 2 or 5 times a power of ten. */
static double nice_max(double v)
{
	double p, m;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void axis_label(FILE *f, double v, char *buf, size_t n)
{
	(void)f;
	if (fabs(v) >= 10000)
		snprintf(buf, n, "%.0fk", v / 1000);
	else if (v == floor(v))
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.1f", v);
}

/* "YYYY-MM" as a count of months, or -1. */
static int month_number(const char *m)
{
	int y, mo;

	if (!m || sscanf(m, "%4d-%2d", &y, &mo) != 2 || mo < 1 || mo > 12)
		return -1;
	return y * 12 + mo - 1;
}

/*
 * Grouped bars of `bars` per row of t (x = the "month" column: one slot per
 * calendar month from the first to the last, so quiet months show as gaps),
 * and an optional line on its own 0..line_max axis at the right.  ymax <= 0: from
 * the data.  rows filters t to those whose filter_col equals filter_val.
 */
static void chart(FILE *f, const struct table *t, const int *rows, int n, const struct series *bars,
		  int nbars, const struct series *line, double line_max, double ymax, const char *unit,
		  const char *line_unit)
{
	double pw = W - ML - MR, ph = H - MT - MB, group, bw, v;
	char lab[32];
	int i, b, g, step, first = -1, slots = n, *slot;

	if (n == 0) {
		fprintf(f, "<p class=\"empty\">No data yet.</p>\n");
		return;
	}
	/* x: the month's slot; rows without a proper month fall back to one slot each */
	slot = tool_xmalloc(sizeof *slot * (size_t)n);
	for (i = 0; i < n; i++) {
		slot[i] = month_number(cell(t, rows[i], "month"));
		if (slot[i] < 0 || (i && slot[i] <= slot[i - 1]))
			break;
	}
	if (i == n && slot[n - 1] - slot[0] < 1200) {
		first = slot[0];
		slots = slot[n - 1] - first + 1;
		for (i = 0; i < n; i++)
			slot[i] -= first;
	} else {
		for (i = 0; i < n; i++)
			slot[i] = i;
	}
	if (ymax <= 0) {
		bool whole = true;

		for (i = 0; i < n; i++)
			for (b = 0; b < nbars; b++) {
				if ((v = num(t, rows[i], bars[b].col)) > ymax)
					ymax = v;
				whole = whole && v == floor(v);
			}
		ymax = nice_max(ymax);
		/* Counts: gridlines on whole numbers. */
		if (whole && ymax < 5)
			ymax = 5;
	}
	group = pw / slots;
	/* Bars no wider than 40 px, even with few months. */
	bw = group * 0.8 / nbars > 40 ? 40 : group * 0.8 / nbars;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
		W, H, W, H);
	/* gridlines and the value axis */
	for (g = 0; g <= 5; g++) {
		double y = MT + ph - ph * g / 5;

		axis_label(f, ymax * g / 5, lab, sizeof lab);
		fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%s</text>\n",
			ML, ML + pw, y, y, ML - 6, y + 4, lab);
		if (line) {
			axis_label(f, line_max * g / 5, lab, sizeof lab);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\">%s%s</text>\n", ML + pw + 6, y + 4, lab,
				line_unit);
		}
	}
	fprintf(f, "<text x=\"12\" y=\"%d\" class=\"ax\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">",
		MT + (int)ph / 2, MT + (int)ph / 2);
	tool_html(f, unit);
	fprintf(f, "</text>\n");
	/* bars */
	for (i = 0; i < n; i++) {
		const char *month = cell(t, rows[i], "month");

		for (b = 0; b < nbars; b++) {
			double h;

			v = num(t, rows[i], bars[b].col);
			h = ymax > 0 ? ph * (v < 0 ? 0 : v > ymax ? ymax : v) / ymax : 0;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
				ML + group * slot[i] + (group - bw * nbars) / 2 + bw * b, MT + ph - h, bw > 1 ? bw - 1 : bw, h,
				bars[b].color);
			tool_html(f, month ? month : "");
			fprintf(f, " %s: %g</title></rect>\n", bars[b].name, v);
		}
	}
	/* the line on its own axis, broken where a month has no row */
	if (line) {
		for (i = 0; i < n; i++) {
			if (i == 0 || slot[i] != slot[i - 1] + 1)
				fprintf(f, "%s<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" points=\"",
					i ? "\"/>\n" : "", line->color);
			v = num(t, rows[i], line->col);
			fprintf(f, "%.1f,%.1f ", ML + group * (slot[i] + 0.5),
				MT + ph - ph * (v > line_max ? line_max : v) / line_max);
		}
		fprintf(f, "\"/>\n");
		for (i = 0; i < n; i++) {
			v = num(t, rows[i], line->col);
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s: %g%s</title></circle>\n",
				ML + group * (slot[i] + 0.5), MT + ph - ph * (v > line_max ? line_max : v) / line_max,
				line->color, line->name, v, line_unit);
		}
	}
	/* month labels: as many as fit, counted back from the last month */
	step = slots > 24 ? (slots + 23) / 24 : 1;
	for (g = slots - 1; g >= 0; g -= step) {
		double x = ML + group * (g + 0.5);

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"ax\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %d)\">",
			x, MT + (int)ph + 14, x, MT + (int)ph + 14);
		if (first >= 0) {
			fprintf(f, "%04d-%02d", (first + g) / 12, (first + g) % 12 + 1);
		} else {
			const char *month = cell(t, rows[g], "month");

			tool_html(f, month ? month : "");
		}
		fprintf(f, "</text>\n");
	}
	free(slot);
	/* legend */
	for (b = 0; b <= nbars; b++) {
		const struct series *s = b < nbars ? &bars[b] : line;

		if (!s)
			break;
		fprintf(f, "<rect x=\"%d\" y=\"10\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"20\" class=\"lg\">%s</text>\n",
			ML + 170 * b, s->color, ML + 170 * b + 16, s->name);
	}
	fprintf(f, "</svg>\n");
}

/* The rows of t as an HTML table, inside <details> so the page stays short. */
static void data_table(FILE *f, const struct table *t, const int *rows, int n, const char *view)
{
	int i, c;

	fprintf(f, "<details><summary>Data (SELECT * FROM %s)</summary><table><tr>", view);
	for (c = 0; c < t->ncols; c++) {
		fprintf(f, "<th>");
		tool_html(f, t->names[c]);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr>\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "<tr>");
		for (c = 0; c < t->ncols; c++) {
			const char *v = t->cells[rows[i] * t->ncols + c];

			fprintf(f, "<td>");
			tool_html(f, v ? v : "");
			fprintf(f, "</td>");
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table></details>\n");
}

static int *all_rows(const struct table *t)
{
	int *rows = tool_xmalloc(sizeof *rows * (size_t)(t->nrows ? t->nrows : 1)), i;

	for (i = 0; i < t->nrows; i++)
		rows[i] = i;
	return rows;
}

static const char css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;background:#fff}"
	"h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 6px;border-bottom:1px solid #dde2ea;padding-bottom:4px}"
	".meta{color:#5b6577;margin:0 0 16px}.tiles{display:flex;flex-wrap:wrap;gap:12px}"
	".tile{background:#f3f6fa;border-radius:8px;padding:10px 16px;min-width:150px}.tile b{display:block;font-size:22px}"
	"svg{max-width:100%;height:auto;display:block}.grid{stroke:#e4e8ef;stroke-width:1}.ax{font-size:11px;fill:#5b6577}"
	".lg{font-size:12px;fill:#1d2330}.empty{color:#8a93a3;font-style:italic}"
	"table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #dde2ea;padding:2px 8px;text-align:right}"
	"th{background:#f3f6fa}details{margin:4px 0 8px}summary{cursor:pointer;color:#3a5a8c}.note{color:#5b6577;font-size:13px}";

/* Rows i and j of report_milestones_monthly are in one currency. */
static bool same_currency(const struct table *t, int i, int j)
{
	const char *a = cell(t, i, "currency"), *b = cell(t, j, "currency");

	return !strcmp(a ? a : "", b ? b : "");
}

/* Row i is the first of its currency (the view orders by month, currency). */
static bool first_of_currency(const struct table *t, int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (same_currency(t, i, j))
			return false;
	return true;
}

static void tile(FILE *f, const char *label, const char *value)
{
	fprintf(f, "<div class=\"tile\"><b>");
	tool_html(f, value);
	fprintf(f, "</b>");
	tool_html(f, label);
	fprintf(f, "</div>\n");
}

static int write_report(struct fl_db *db, const char *db_path, FILE *f)
{
	struct table bids, money, resp, rev, self;
	int *rows = NULL, i, rc;
	char buf[128], when[64];
	time_t now = time(NULL);
	struct tm tm;

	memset(&money, 0, sizeof money);
	memset(&resp, 0, sizeof resp);
	memset(&rev, 0, sizeof rev);
	memset(&self, 0, sizeof self);
	if ((rc = load(db, "SELECT * FROM report_bids_monthly", &bids)) ||
	    (rc = load(db, "SELECT * FROM report_milestones_monthly", &money)) ||
	    (rc = load(db, "SELECT * FROM report_response_monthly", &resp)) ||
	    (rc = load(db, "SELECT * FROM report_reviews_monthly", &rev)) ||
	    (rc = load(db, "SELECT s.username, "
			   "(SELECT count(*) FROM report_response_times), "
			   "(SELECT round(avg(seconds) / 3600.0, 1) FROM report_response_times), "
			   "(SELECT round(avg(r.rating), 2) FROM reviews r JOIN self x ON r.to_user_id = x.id WHERE r.rating IS NOT NULL AND r.local_state IS NULL), "
			   "(SELECT count(*) FROM reviews r JOIN self x ON r.to_user_id = x.id WHERE r.rating IS NOT NULL AND r.local_state IS NULL) "
			   "FROM (SELECT 1) LEFT JOIN self s", &self)))
		goto out;

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		"<title>flsync report</title><style>%s</style></head><body>\n", css);
	fprintf(f, "<h1>Freelancing report");
	if (self.nrows && self.cells[0]) {
		fprintf(f, " — ");
		tool_html(f, self.cells[0]);
	}
	fprintf(f, "</h1>\n<p class=\"meta\">From ");
	tool_html(f, db_path);
	fprintf(f, ", generated %s. Months are UTC; amounts are in each row's currency.</p>\n", when);
	if (!self.nrows || !self.cells[0])
		fprintf(f, "<p class=\"note\">The account's own user is not in the database yet (flsyncd has not synced it), so the charts are empty.</p>\n");

	/* headline figures */
	fprintf(f, "<div class=\"tiles\">\n");
	{
		double placed = 0, won = 0;

		for (i = 0; i < bids.nrows; i++) {
			placed += num(&bids, i, "placed");
			won += num(&bids, i, "won");
		}
		snprintf(buf, sizeof buf, "%.0f", placed);
		tile(f, "bids placed", buf);
		snprintf(buf, sizeof buf, placed > 0 ? "%.1f%%" : "-", placed > 0 ? 100 * won / placed : 0);
		tile(f, "win rate", buf);
	}
	{
		/* earnings per currency, summed over the months */
		for (i = 0; i < money.nrows; i++) {
			const char *cur = cell(&money, i, "currency");
			double earned = 0;
			int j;

			if (!first_of_currency(&money, i))
				continue;
			for (j = i; j < money.nrows; j++)
				if (same_currency(&money, i, j))
					earned += num(&money, j, "earned");
			snprintf(buf, sizeof buf, "%.2f %s", earned, cur ? cur : "");
			tile(f, "earned (cleared milestones)", buf);
		}
	}
	if (self.nrows) {
		snprintf(buf, sizeof buf, "%s h", self.cells[2] ? self.cells[2] : "-");
		tile(f, "mean response time", buf);
		snprintf(buf, sizeof buf, "%s / 5", self.cells[3] ? self.cells[3] : "-");
		tile(f, "average rating received", buf);
	}
	fprintf(f, "</div>\n");

	/* bids */
	{
		static const struct series s[] = {
			{ "placed", "#7aa6d8", "placed" }, { "won", "#2f6f3e", "won" },
		};
		static const struct series rate = { "win rate", "#d0752b", "win_rate_pct" };

		fprintf(f, "<h2>Bids placed and won per month</h2>\n");
		rows = all_rows(&bids);
		chart(f, &bids, rows, bids.nrows, s, 2, &rate, 100, 0, "bids", "%");
		data_table(f, &bids, rows, bids.nrows, "report_bids_monthly");
		free(rows);
		rows = NULL;
	}

	/* money: one chart per currency */
	{
		static const struct series s[] = {
			{ "earned", "#2f6f3e", "earned" }, { "paid out", "#b04a4a", "paid" },
			{ "milestones created", "#9bb7d9", "created" },
		};
		int n, j;

		fprintf(f, "<h2>Earnings and milestone payments per month</h2>\n");
		if (money.nrows == 0)
			fprintf(f, "<p class=\"empty\">No data yet.</p>\n");
		rows = tool_xmalloc(sizeof *rows * (size_t)(money.nrows ? money.nrows : 1));
		for (i = 0; i < money.nrows; i++) {
			const char *cur = cell(&money, i, "currency");

			if (!first_of_currency(&money, i))
				continue;
			for (n = 0, j = i; j < money.nrows; j++)
				if (same_currency(&money, i, j))
					rows[n++] = j;
			fprintf(f, "<h3>");
			tool_html(f, cur ? cur : "?");
			fprintf(f, "</h3>\n");
			chart(f, &money, rows, n, s, 3, NULL, 0, 0, cur ? cur : "", "");
			data_table(f, &money, rows, n, "report_milestones_monthly");
		}
		free(rows);
		rows = NULL;
	}

	/* response times */
	{
		static const struct series s[] = {
			{ "median hours", "#5b7fb5", "median_hours" }, { "mean hours", "#a9bedd", "avg_hours" },
		};
		static const struct series within = { "answered within 1 h", "#d0752b", "within_1h_pct" };

		fprintf(f, "<h2>Response times in threads</h2>\n<p class=\"note\">Time from a counterpart's message to the account's next reply in the same thread (report_response_times has every reply).</p>\n");
		rows = all_rows(&resp);
		chart(f, &resp, rows, resp.nrows, s, 2, &within, 100, 0, "hours", "%");
		data_table(f, &resp, rows, resp.nrows, "report_response_monthly");
		free(rows);
		rows = NULL;
	}

	/* reviews */
	{
		static const struct series s[] = { { "mean rating", "#e0b030", "avg_rating" } };

		fprintf(f, "<h2>Review ratings over time</h2>\n");
		rows = all_rows(&rev);
		chart(f, &rev, rows, rev.nrows, s, 1, NULL, 0, 5, "rating (of 5)", "");
		data_table(f, &rev, rows, rev.nrows, "report_reviews_monthly");
		free(rows);
		rows = NULL;
	}
	fprintf(f, "<p class=\"note\">Made by flsync report. No scripts, no external resources.</p>\n</body></html>\n");
out:
	table_free(&bids);
	table_free(&money);
	table_free(&resp);
	table_free(&rev);
	table_free(&self);
	return rc;
}

int tool_cmd_report(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "report.html";
	struct fl_db *db;
	char *tmp;
	FILE *f;
	int opt, fd, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "report", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("report", "report: unexpected argument %s", argv[optind]);
	db = tool_open(ctx, false);
	if (!db)
		return TOOL_FAIL;
	tmp = tool_xasprintf("%s.tmp.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = tool_fail("cannot create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto done;
	}
	/* One read transaction: every chart shows the same moment. */
	rc = tool_exec(db, "BEGIN");
	if (!rc)
		rc = write_report(db, ctx->db_path, f);
	if (fflush(f) != 0 || ferror(f))
		rc = tool_fail("write %s: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && !rc)
		rc = tool_fail("write %s: %s", tmp, strerror(errno));
	tool_private(tmp);
	if (!rc && rename(tmp, out) != 0)
		rc = tool_fail("rename %s to %s: %s", tmp, out, strerror(errno));
	if (rc)
		unlink(tmp);
	else
		fprintf(stderr, "wrote %s\n", out);
done:
	free(tmp);
	fl_db_close(db);
	return rc ? TOOL_FAIL : TOOL_OK;
}
