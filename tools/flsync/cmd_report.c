/*
 * cmd_report.c — `flsync report --out FILE`: one self-contained HTML page
 * (inline CSS and SVG, no script, no network) drawn from the insight_*
 * views of migration 011: cash flow in the home currency (the detail per
 * currency under it), reply times (median and p90), win rate by job,
 * budget, price and speed with its Wilson intervals, bids per month and
 * the top clients.  Each section names its view, so every number can be
 * checked in SQL; the figure tables carry data-view / data-key / data-col
 * so that programs (and the ui suite) can read them back.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync report [--out FILE] [--currency CODE] [--db PATH]\n"
		"\n"
		"Write an HTML report (one file: inline SVG charts and CSS, no scripts, no\n"
		"network, readable printed in black and white) of the account's cash flow\n"
		"per month in the home currency (earned, in escrow, paid out, requested;\n"
		"the detail per currency under it), reply times (median and p90), the win\n"
		"rate by job, budget, price and speed with 95%% intervals, bids per month and\n"
		"the top clients.  Everything comes from the views insight_cashflow_monthly,\n"
		"insight_response_monthly, insight_win_rate, insight_clients and\n"
		"insight_bids (and report_milestones_monthly), usable directly in SQL.\n"
		"\n"
		"  -o, --out FILE       where to write (default report.html); written to a\n"
		"                       temporary name and renamed\n"
		"  -c, --currency CODE  the home currency (default: [report] currency of\n"
		"                       flsyncd.conf, else USD), converted with\n"
		"                       currencies.exchange_rate\n"
		"\n"
		"Examples:\n"
		"  flsync report --out ~/report.html --currency EUR && xdg-open ~/report.html\n"
		"  flsync query 'SELECT * FROM insight_win_rate' --format table\n");
}

static const char css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#111;background:#fff}"
	"h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 6px;border-bottom:1px solid #999;padding-bottom:4px}"
	"h3{font-size:15px;margin:16px 0 4px}.meta{color:#444;margin:0 0 16px}.tiles{display:flex;flex-wrap:wrap;gap:12px}"
	".tile{border:1px solid #888;border-radius:8px;padding:10px 16px;min-width:150px}.tile b{display:block;font-size:22px}"
	"svg{max-width:100%;height:auto;display:block}.grid{stroke:#ccc;stroke-width:1}.ax{font-size:11px;fill:#333}"
	".lg{font-size:12px;fill:#111}.empty{color:#555;font-style:italic}"
	"table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #999;padding:2px 8px;text-align:right}"
	"td.t,th.t{text-align:left}th{background:#eee}details{margin:4px 0 8px}summary{cursor:pointer}.note{color:#444;font-size:13px}";

/* What the page is made from, loaded in one read transaction. */
struct report {
	struct tool_currency cur;
	struct table cash, resp, win, clients, detail, sum;
};

static int report_load(struct fl_db *db, struct report *r)
{
	int rc;

	if ((rc = table_load(db, "SELECT * FROM insight_cashflow_monthly", &r->cash)) ||
	    (rc = table_load(db, "SELECT * FROM insight_response_monthly", &r->resp)) ||
	    (rc = table_load(db, "SELECT * FROM insight_win_rate", &r->win)) ||
	    (rc = table_load(db, "SELECT * FROM insight_clients LIMIT 15", &r->clients)) ||
	    (rc = table_load(db, "SELECT * FROM report_milestones_monthly", &r->detail)))
		return rc;
	/* The headline: totals over the views. */
	return table_load(db, report_summary_sql,
			  &r->sum);
}

static void report_free(struct report *r)
{
	table_free(&r->cash);
	table_free(&r->resp);
	table_free(&r->win);
	table_free(&r->clients);
	table_free(&r->detail);
	table_free(&r->sum);
}

/* A duration in seconds as "42 min", "5.3 h" or "2.1 d". */
static void duration(double s, char *buf, size_t n)
{
	if (s < 3600)
		snprintf(buf, n, "%.0f min", s / 60);
	else if (s < 172800)
		snprintf(buf, n, "%.1f h", s / 3600);
	else
		snprintf(buf, n, "%.1f d", s / 86400);
}

static void tile(FILE *f, const char *key, const char *label, const char *value)
{
	fprintf(f, "<div class=\"tile\" data-fig=\"%s\"><b>", key);
	tool_html(f, value);
	fprintf(f, "</b>");
	tool_html(f, label);
	fprintf(f, "</div>\n");
}

static void tiles(FILE *f, const struct report *r)
{
	const struct table *s = &r->sum;
	double decided = table_num(s, 0, "decided"), won = table_num(s, 0, "won");
	char buf[128];

	fprintf(f, "<div class=\"tiles\">\n");
	snprintf(buf, sizeof buf, "%.0f", table_num(s, 0, "bids"));
	tile(f, "bids", "bids placed", buf);
	if (decided > 0)
		snprintf(buf, sizeof buf, "%.1f%%", 100 * won / decided);
	else
		snprintf(buf, sizeof buf, "-");
	tile(f, "win_rate", "win rate (won of decided)", buf);
	snprintf(buf, sizeof buf, "%.2f %s", tool_currency_from_usd(&r->cur, table_num(s, 0, "earned_usd")), r->cur.code);
	tile(f, "earned", "earned (cleared milestones)", buf);
	snprintf(buf, sizeof buf, "%.2f %s", tool_currency_from_usd(&r->cur, table_num(s, 0, "in_escrow_usd")),
		 r->cur.code);
	tile(f, "in_escrow", "in escrow (pending or requested)", buf);
	if (table_num(s, 0, "replies") > 0) {
		char label[64];

		duration(table_num(s, 0, "median_reply_s"), buf, sizeof buf);
		snprintf(label, sizeof label, "median reply time, %.0f replies", table_num(s, 0, "replies"));
		tile(f, "median_reply", label, buf);
		duration(table_num(s, 0, "p90_reply_s"), buf, sizeof buf);
		tile(f, "p90_reply", "90% of replies within", buf);
	}
	fprintf(f, "</div>\n");
	if (table_num(s, 0, "unconverted") > 0)
		fprintf(f, "<p class=\"note\">%.0f amount(s) in a currency without an exchange rate are left out of the "
			"sums (the column unconverted counts them).</p>\n", table_num(s, 0, "unconverted"));
}

/* One column of a figure table: the view's column, its heading, how to show it. */
struct col {
	const char *col, *head;
	char kind;   /* 't' text, 'n' count, 'm' money (USD to home), 'p' share as %, 'd' duration (s), 'h' hours */
};

static void cell_out(FILE *f, const struct report *r, const char *v, char kind)
{
	double x = v ? strtod(v, NULL) : 0;

	if (!v)
		return;
	switch (kind) {
	case 'm': fprintf(f, "%.2f", tool_currency_from_usd(&r->cur, x)); break;
	case 'p': fprintf(f, "%.1f", 100 * x); break;
	case 'n': fprintf(f, "%.0f", x); break;
	case 'h': fprintf(f, "%.1f", x / 3600); break;
	default: tool_html(f, v); break;
	}
}

/* rows[0..n) of t as a table whose cells say which view, row (key) and column they show. */
static void figure_table(FILE *f, const struct report *r, const struct table *t, const int *rows, int n,
			 const char *view, const char *key, const struct col *cols, int ncols)
{
	int i, c;

	fprintf(f, "<table data-view=\"%s\"><tr>", view);
	for (c = 0; c < ncols; c++) {
		fprintf(f, "<th class=\"%s\">", cols[c].kind == 't' ? "t" : "");
		tool_html(f, cols[c].head);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr>\n");
	for (i = 0; i < n; i++) {
		const char *k = table_cell(t, rows ? rows[i] : i, key);

		fprintf(f, "<tr data-key=\"");
		tool_html(f, k ? k : "");
		fprintf(f, "\">");
		for (c = 0; c < ncols; c++) {
			fprintf(f, "<td data-col=\"%s\" class=\"%s\">", cols[c].col, cols[c].kind == 't' ? "t" : "");
			cell_out(f, r, table_cell(t, rows ? rows[i] : i, cols[c].col), cols[c].kind);
			fprintf(f, "</td>");
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
}

static void section_cash(FILE *f, const struct report *r)
{
	char unit[64];
	const double k = 1 / r->cur.rate;
	const struct series s[] = {
		{ "earned", "earned_usd", k }, { "in escrow", "in_escrow_usd", k },
		{ "paid out", "paid_out_usd", k }, { "requested", "requested_usd", k },
	};
	static const struct col cols[] = {
		{ "month", "month", 't' }, { "earned_usd", "earned", 'm' }, { "in_escrow_usd", "in escrow", 'm' },
		{ "paid_out_usd", "paid out", 'm' }, { "requested_usd", "requested", 'm' },
		{ "unconverted", "unconverted", 'n' },
	};
	int i, c;

	fprintf(f, "<h2>Cash flow per month, in %s</h2>\n<p class=\"note\">insight_cashflow_monthly: earned "
		"(milestones cleared to the account), in escrow (its milestones pending or requested), paid out "
		"(cleared on its own projects), requested (open milestone requests); 1 %s = %g USD.</p>\n",
		r->cur.code, r->cur.code, r->cur.rate);
	snprintf(unit, sizeof unit, "%s", r->cur.code);
	svg_bars(f, &r->cash, "month", s, 4, unit);
	fprintf(f, "<details><summary>Figures (%s)</summary>\n", r->cur.code);
	figure_table(f, r, &r->cash, NULL, r->cash.nrows, "insight_cashflow_monthly", "month", cols, 6);
	fprintf(f, "</details>\n<details><summary>Per currency, unconverted (SELECT * FROM report_milestones_monthly)"
		"</summary><table><tr>");
	for (c = 0; c < r->detail.ncols; c++) {
		fprintf(f, "<th>");
		tool_html(f, r->detail.names[c]);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr>\n");
	for (i = 0; i < r->detail.nrows; i++) {
		fprintf(f, "<tr>");
		for (c = 0; c < r->detail.ncols; c++) {
			const char *v = r->detail.cells[i * r->detail.ncols + c];

			fprintf(f, "<td>");
			tool_html(f, v ? v : "");
			fprintf(f, "</td>");
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table></details>\n");
}

static void section_replies(FILE *f, const struct report *r)
{
	double most = 0;
	int i;

	for (i = 0; i < r->resp.nrows; i++)
		most = fmax(most, table_num(&r->resp, i, "p90_reply_s"));
	/* Hours, or days when replies take more than three. */
	bool days = most > 3 * 86400;
	const double k = days ? 1 / 86400.0 : 1 / 3600.0;
	const struct series s[] = {
		{ days ? "median, days" : "median, hours", "median_reply_s", k },
		{ days ? "p90, days" : "p90, hours", "p90_reply_s", k },
	};
	static const struct col cols[] = {
		{ "month", "month", 't' }, { "replies", "replies", 'n' },
		{ "median_reply_s", "median (h)", 'h' }, { "p90_reply_s", "p90 (h)", 'h' },
	};

	fprintf(f, "<h2>Reply time per month</h2>\n<p class=\"note\">insight_response_monthly: from another "
		"member's message to the account's next message in the same thread; the median, and the time "
		"within which 90%% of the replies came.</p>\n");
	svg_bars(f, &r->resp, "month", s, 2, days ? "days" : "hours");
	fprintf(f, "<details><summary>Figures</summary>\n");
	figure_table(f, r, &r->resp, NULL, r->resp.nrows, "insight_response_monthly", "month", cols, 4);
	fprintf(f, "</details>\n");
}

/* The rows of insight_win_rate of one dimension (at most max, the most bids first for jobs). */
static int dimension_rows(const struct table *t, const char *dim, int *rows, int max)
{
	int i, j, n = 0;

	for (i = 0; i < t->nrows; i++) {
		const char *d = table_cell(t, i, "dimension");

		if (d && !strcmp(d, dim))
			rows[n++] = i;
	}
	if (!strcmp(dim, "job"))
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && table_num(t, rows[j], "bids") > table_num(t, rows[j - 1], "bids"); j--) {
				int x = rows[j];

				rows[j] = rows[j - 1];
				rows[j - 1] = x;
			}
	return n < max ? n : max;
}

static void section_win(FILE *f, const struct report *r)
{
	static const char *const dims[][2] = {
		{ "job", "By job (the 15 with the most bids)" }, { "budget", "By the project's budget maximum (USD)" },
		{ "price", "By price: the bid over the project's average bid" },
		{ "speed", "By speed: from the project's posting to the bid" },
	};
	static const struct col cols[] = {
		{ "bucket", "bucket", 't' }, { "bids", "bids", 'n' }, { "decided", "decided", 'n' }, { "won", "won", 'n' },
		{ "win_rate", "win rate %", 'p' }, { "ci_low", "95% low %", 'p' }, { "ci_high", "95% high %", 'p' },
	};
	int *rows = xmalloc(sizeof *rows * (size_t)(r->win.nrows ? r->win.nrows : 1)), d, n;

	fprintf(f, "<h2>Win rate</h2>\n<p class=\"note\">insight_win_rate: won of decided (won or lost) bids; "
		"the bar is the 95%% Wilson interval, the diamond the rate.  Open and retracted bids count in "
		"bids only.</p>\n");
	for (d = 0; d < 4; d++) {
		n = dimension_rows(&r->win, dims[d][0], rows, 15);
		fprintf(f, "<h3>%s</h3>\n", dims[d][1]);
		svg_intervals(f, &r->win, rows, n);
		fprintf(f, "<details data-dimension=\"%s\"><summary>Figures</summary>\n", dims[d][0]);
		figure_table(f, r, &r->win, rows, n, "insight_win_rate", "bucket", cols, 7);
		fprintf(f, "</details>\n");
	}
	n = dimension_rows(&r->win, "month", rows, r->win.nrows);
	{
		static const struct series s[] = { { "bids", "bids", 1 }, { "decided", "decided", 1 }, { "won", "won", 1 } };
		struct table months = r->win;

		/* The month rows are the last of the view: a table over them alone. */
		months.nrows = n;
		months.cells = n ? r->win.cells + (size_t)rows[0] * (size_t)r->win.ncols : NULL;
		fprintf(f, "<h3>Bids per month</h3>\n");
		svg_bars(f, &months, "bucket", s, 3, "bids");
	}
	free(rows);
}

static void section_clients(FILE *f, const struct report *r)
{
	static const struct col cols[] = {
		{ "username", "client", 't' }, { "country", "country", 't' }, { "projects", "projects", 'n' },
		{ "bids", "bids", 'n' }, { "won", "won", 'n' }, { "earned_usd", "earned", 'm' },
		{ "reviews", "reviews", 'n' }, { "avg_rating", "rating", 't' },
	};

	fprintf(f, "<h2>Top clients</h2>\n<p class=\"note\">insight_clients, by earnings (in %s).</p>\n", r->cur.code);
	if (r->clients.nrows == 0)
		fprintf(f, "<p class=\"empty\">No bids yet.</p>\n");
	else
		figure_table(f, r, &r->clients, NULL, r->clients.nrows, "insight_clients", "client_id", cols, 8);
}

static int write_report(struct fl_db *db, const char *db_path, const struct tool_currency *cur, FILE *f)
{
	struct report r;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *user;
	int rc;

	memset(&r, 0, sizeof r);
	r.cur = *cur;
	if ((rc = report_load(db, &r)))
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		"<title>flsync report</title><style>%s</style></head><body data-currency=\"%s\" data-rate=\"%.17g\">\n",
		css, cur->code, cur->rate);
	svg_defs(f);
	fprintf(f, "<h1>Freelancing report");
	if ((user = table_cell(&r.sum, 0, "username"))) {
		fprintf(f, " — ");
		tool_html(f, user);
	}
	fprintf(f, "</h1>\n<p class=\"meta\">From ");
	tool_html(f, db_path);
	fprintf(f, ", generated %s. Months are UTC; money is in %s.</p>\n", when, cur->code);
	if (!user)
		fprintf(f, "<p class=\"note\">The account's own user is not in the database yet (flsyncd has not synced it), so the charts are empty.</p>\n");
	else if (table_num(&r.sum, 0, "bids") == 0)
		fprintf(f, "<p class=\"note\">No bids yet.</p>\n");
	tiles(f, &r);
	section_cash(f, &r);
	section_replies(f, &r);
	section_win(f, &r);
	section_clients(f, &r);
	fprintf(f, "<p class=\"note\">Made by flsync report. No scripts, no external resources.</p>\n</body></html>\n");
out:
	report_free(&r);
	return rc;
}

int tool_cmd_report(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "currency", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "report.html", *currency = NULL;
	struct tool_currency cur;
	struct fl_db *db;
	char *tmp;
	FILE *f;
	int opt, fd, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":o:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'c':
			currency = optarg;
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
	/* One read transaction: every chart shows the same moment. */
	if ((rc = tool_exec(db, "BEGIN")) || (rc = tool_currency_resolve(db, "report", currency, &cur))) {
		fl_db_close(db);
		return rc;
	}
	tmp = xasprintf("%s.tmp.XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = tool_fail("cannot create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto done;
	}
	rc = write_report(db, ctx->db_path, &cur, f);
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
