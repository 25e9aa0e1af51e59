/*
 * report_svg.c — the report's charts, drawn as inline SVG by flsync itself:
 * monthly grouped bars and win-rate intervals.  They must read printed in
 * black and white: every series has its own pattern (solid, hatched,
 * dotted, open) with a black outline, the legend shows the same, and
 * intervals are black lines with caps and a marked point.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define W 960
#define H 300
#define ML 64    /* left margin: the value axis */
#define MR 24
#define MT 36    /* top: the legend */
#define MB 56    /* bottom: month labels */

/* Fills by series: patterns defined in svg_defs(). */
static const char *const fills[] = { "#222", "url(#hatch)", "url(#dots)", "#fff", "url(#cross)" };
#define NFILLS (int)(sizeof fills / sizeof *fills)

void svg_defs(FILE *f)
{
	fprintf(f, "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
		"<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		"<rect width=\"6\" height=\"6\" fill=\"#fff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#222\" stroke-width=\"2.5\"/></pattern>"
		"<pattern id=\"dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">"
		"<rect width=\"5\" height=\"5\" fill=\"#ddd\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.1\" fill=\"#222\"/></pattern>"
		"<pattern id=\"cross\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
		"<rect width=\"6\" height=\"6\" fill=\"#fff\"/><path d=\"M0 0L6 6M6 0L0 6\" stroke=\"#222\" stroke-width=\"1\"/></pattern>"
		"</defs></svg>\n");
}

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

static void axis_label(double v, char *buf, size_t n)
{
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

/* Each row's slot (months from the first); *first the first month, or -1 when rows are not months. */
static int *slots_of(const struct table *t, const char *xcol, int *nslots, int *first)
{
	int *slot = xmalloc(sizeof *slot * (size_t)(t->nrows ? t->nrows : 1)), i;

	for (i = 0; i < t->nrows; i++) {
		slot[i] = month_number(table_cell(t, i, xcol));
		if (slot[i] < 0 || (i && slot[i] <= slot[i - 1]))
			break;
	}
	*first = -1;
	*nslots = t->nrows;
	if (i == t->nrows && t->nrows && slot[t->nrows - 1] - slot[0] < 1200) {
		*first = slot[0];
		*nslots = slot[t->nrows - 1] - *first + 1;
		for (i = 0; i < t->nrows; i++)
			slot[i] -= *first;
	} else {
		for (i = 0; i < t->nrows; i++)
			slot[i] = i;
	}
	return slot;
}

static void value_axis(FILE *f, double ymax, double pw, double ph, const char *unit)
{
	char lab[32];
	int g;

	for (g = 0; g <= 5; g++) {
		double y = MT + ph - ph * g / 5;

		axis_label(ymax * g / 5, lab, sizeof lab);
		fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%s</text>\n",
			ML, ML + pw, y, y, ML - 6, y + 4, lab);
	}
	fprintf(f, "<text x=\"12\" y=\"%d\" class=\"ax\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">",
		MT + (int)ph / 2, MT + (int)ph / 2);
	tool_html(f, unit);
	fprintf(f, "</text>\n");
}

/* Month labels: as many as fit, counted back from the last month. */
static void month_labels(FILE *f, const struct table *t, const char *xcol, int nslots, int first, double group,
			 double ph)
{
	int g, step = nslots > 24 ? (nslots + 23) / 24 : 1;

	for (g = nslots - 1; g >= 0; g -= step) {
		double x = ML + group * (g + 0.5);

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"ax\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %d)\">",
			x, MT + (int)ph + 14, x, MT + (int)ph + 14);
		if (first >= 0) {
			fprintf(f, "%04d-%02d", (first + g) / 12, (first + g) % 12 + 1);
		} else {
			const char *m = table_cell(t, g, xcol);

			tool_html(f, m ? m : "");
		}
		fprintf(f, "</text>\n");
	}
}

static void legend(FILE *f, const struct series *s, int ns)
{
	int b;

	for (b = 0; b < ns; b++) {
		fprintf(f, "<rect x=\"%d\" y=\"10\" width=\"14\" height=\"14\" fill=\"%s\" stroke=\"#000\"/>"
			"<text x=\"%d\" y=\"21\" class=\"lg\">", ML + 180 * b, fills[b % NFILLS], ML + 180 * b + 19);
		tool_html(f, s[b].name);
		fprintf(f, "</text>\n");
	}
}

void svg_bars(FILE *f, const struct table *t, const char *xcol, const struct series *s, int ns, const char *unit)
{
	double pw = W - ML - MR, ph = H - MT - MB, group, bw, v, ymax = 0;
	int i, b, nslots, first, *slot;

	if (t->nrows == 0 || ns == 0) {
		fprintf(f, "<p class=\"empty\">No data yet.</p>\n");
		return;
	}
	slot = slots_of(t, xcol, &nslots, &first);
	for (i = 0; i < t->nrows; i++)
		for (b = 0; b < ns; b++)
			if ((v = table_num(t, i, s[b].col) * s[b].scale) > ymax)
				ymax = v;
	ymax = nice_max(ymax);
	group = pw / nslots;
	bw = group * 0.8 / ns > 40 ? 40 : group * 0.8 / ns;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
		W, H, W, H);
	value_axis(f, ymax, pw, ph, unit);
	for (i = 0; i < t->nrows; i++) {
		const char *month = table_cell(t, i, xcol);

		for (b = 0; b < ns; b++) {
			double h;

			v = table_num(t, i, s[b].col) * s[b].scale;
			h = ph * (v < 0 ? 0 : v > ymax ? ymax : v) / ymax;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#000\" "
				"stroke-width=\"0.6\"><title>", ML + group * slot[i] + (group - bw * ns) / 2 + bw * b,
				MT + ph - h, bw > 1 ? bw - 1 : bw, h, fills[b % NFILLS]);
			tool_html(f, month ? month : "");
			fprintf(f, " ");
			tool_html(f, s[b].name);
			fprintf(f, ": %.2f</title></rect>\n", v);
		}
	}
	month_labels(f, t, xcol, nslots, first, group, ph);
	legend(f, s, ns);
	fprintf(f, "</svg>\n");
	free(slot);
}

void svg_intervals(FILE *f, const struct table *t, const int *rows, int n)
{
	const int lw = 170, rw = 260, rh = 22, top = 26; /* rw holds "won 320 of 8000 decided (8000 bids)" */
	double pw = W - lw - rw;
	int i, g, h = top + rh * n + 10;

	if (n == 0) {
		fprintf(f, "<p class=\"empty\">No bids yet.</p>\n");
		return;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
		W, h, W, h);
	for (g = 0; g <= 4; g++)
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>"
			"<text x=\"%.1f\" y=\"16\" class=\"ax\" text-anchor=\"middle\">%d%%</text>\n",
			lw + pw * g / 4, lw + pw * g / 4, top - 4, h - 6, lw + pw * g / 4, 25 * g);
	for (i = 0; i < n; i++) {
		const char *bucket = table_cell(t, rows[i], "bucket"), *rate = table_cell(t, rows[i], "win_rate");
		double y = top + rh * i + rh / 2.0;

		fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"lg\" text-anchor=\"end\">", lw - 10, y + 4);
		tool_html(f, bucket ? bucket : "");
		fprintf(f, "</text>\n");
		if (rate) {
			double lo = lw + pw * table_num(t, rows[i], "ci_low"), hi = lw + pw * table_num(t, rows[i], "ci_high");
			double x = lw + pw * strtod(rate, NULL);

			fprintf(f, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" stroke=\"#000\" stroke-width=\"2\"/>"
				"<path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"#000\"/>\n",
				lo, y, hi, lo, y - 5, y + 5, hi, y - 5, y + 5, x, y - 5);
		}
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\">%s won %.0f of %.0f decided (%.0f bids)</text>\n",
			lw + pw + 10, y + 4, rate ? "" : "none decided:", table_num(t, rows[i], "won"),
			table_num(t, rows[i], "decided"), table_num(t, rows[i], "bids"));
	}
	fprintf(f, "</svg>\n");
}
