/*
 * progress.c — what flsyncd tells a person: on a terminal with --progress,
 * one row per stream redrawn in place (ANSI, at most ten times a second);
 * otherwise plain log lines with -v; errors always; and the summary line
 * after a pass.  Everything goes to stderr; stdout stays free for scripts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncd.h"

#define PROGRESS_MAX_STREAMS 32
#define PROGRESS_REDRAW_MS 100

int64_t syncd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct progress_row {
	char name[32];
	int64_t rows, total, requests;
	bool done;
	char error[120];          /* the stream's failure, "" if none */
};

struct syncd_progress {
	char prefix[80];          /* "[alice] " before each line, or "" */
	bool display;             /* redraw rows in place (stderr is a TTY, --progress) */
	bool verbose;             /* -v: log lines */
	struct progress_row row[PROGRESS_MAX_STREAMS];
	int n;
	int drawn;                /* lines of the display now on screen */
	int64_t last_draw_ms;
	int64_t started_ms;       /* the pass's start, monotonic */
};

struct syncd_progress *syncd_progress_new(bool display, bool verbose, const char *prefix)
{
	struct syncd_progress *p = calloc(1, sizeof *p);

	if (!p)
		abort();
	snprintf(p->prefix, sizeof p->prefix, "%s", prefix ? prefix : "");
	p->display = display;
	p->verbose = verbose;
	return p;
}

void syncd_progress_free(struct syncd_progress *p)
{
	free(p);
}

/* 12300 -> "12,300" */
static const char *progress_num(int64_t v, char *buf, size_t size)
{
	char digits[32];
	int len, o = 0;

	len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	if (v < 0 && (size_t)o + 1 < size)
		buf[o++] = '-';
	for (int i = 0; i < len && (size_t)o + 1 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0 && (size_t)o + 2 < size)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* Take the display off the screen, so a log line can be printed. */
static void progress_erase(struct syncd_progress *p)
{
	if (p->drawn > 0) {
		fprintf(stderr, "\033[%dA\r\033[J", p->drawn);
		p->drawn = 0;
	}
}

static void progress_draw(struct syncd_progress *p)
{
	int64_t rows = 0, requests = 0, now = syncd_now_ms();
	char a[32], b[32], c[32];

	if (p->drawn > 0)
		fprintf(stderr, "\033[%dA", p->drawn);
	for (int i = 0; i < p->n; i++) {
		const struct progress_row *r = &p->row[i];

		rows += r->rows;
		requests += r->requests;
		if (r->total >= 0)
			fprintf(stderr, "\r\033[K  %-22s %12s / %-12s %8s requests  %s\n", r->name,
				progress_num(r->rows, a, sizeof a), progress_num(r->total, b, sizeof b),
				progress_num(r->requests, c, sizeof c),
				r->error[0] ? r->error : r->done ? "done" : "");
		else
			fprintf(stderr, "\r\033[K  %-22s %12s %-14s %8s requests  %s\n", r->name,
				progress_num(r->rows, a, sizeof a), "",
				progress_num(r->requests, c, sizeof c),
				r->error[0] ? r->error : r->done ? "done" : "");
	}
	fprintf(stderr, "\r\033[K  %-22s %12s %-14s %8s requests  %.1f s\n", "total",
		progress_num(rows, a, sizeof a), "", progress_num(requests, c, sizeof c),
		(double)(now - p->started_ms) / 1000.0);
	fflush(stderr);
	p->drawn = p->n + 1;
	p->last_draw_ms = now;
}

void syncd_progress_begin(struct syncd_progress *p)
{
	p->n = 0;
	p->drawn = 0;
	p->last_draw_ms = 0;
	p->started_ms = syncd_now_ms();
}

/* The row of stream, added at the end the first time; NULL past the cap. */
static struct progress_row *progress_row(struct syncd_progress *p, const char *stream)
{
	struct progress_row *r;

	for (int i = 0; i < p->n; i++)
		if (strcmp(p->row[i].name, stream) == 0)
			return &p->row[i];
	if (p->n >= PROGRESS_MAX_STREAMS)
		return NULL;
	r = &p->row[p->n++];
	memset(r, 0, sizeof *r);
	strncpy(r->name, stream, sizeof r->name - 1);
	return r;
}

void syncd_progress_update(void *ctx, const struct fl_sync_progress *sp)
{
	struct syncd_progress *p = ctx;
	struct progress_row *r = progress_row(p, sp->stream);
	char a[32], b[32], c[32];

	if (!r)
		return;
	r->rows = sp->rows;
	r->total = sp->total;
	r->requests = sp->requests;
	r->done = sp->done;
	if (sp->error)
		snprintf(r->error, sizeof r->error, "failed: %s", sp->error);
	if (p->display) {
		/* Streams often finish in bursts: the end of the pass draws the last state. */
		if (syncd_now_ms() - p->last_draw_ms >= PROGRESS_REDRAW_MS)
			progress_draw(p);
	} else if (p->verbose && sp->done) {
		/*
		 * rows counts every row stored (a project and its owner, jobs...),
		 * total the records the API listed: not the same unit, never "N of M".
		 */
		flockfile(stderr);
		syncd_log_start();
		if (sp->total >= 0)
			fprintf(stderr, "%s%s: %s rows stored, %s requests, the API listed %s, %s\n", p->prefix,
				r->name, progress_num(sp->rows, a, sizeof a), progress_num(sp->requests, c, sizeof c),
				progress_num(sp->total, b, sizeof b), r->error[0] ? r->error : "done");
		else
			fprintf(stderr, "%s%s: %s rows, %s requests, %s\n", p->prefix, r->name,
				progress_num(sp->rows, a, sizeof a),
				progress_num(sp->requests, c, sizeof c), r->error[0] ? r->error : "done");
		funlockfile(stderr);
	}
}

/*
 * "2026-12-06 18:55:01 flsyncd: " on stderr: every log line carries its local
 * time, except under systemd (JOURNAL_STREAM set), whose journal stamps each.
 */
void syncd_log_start(void)
{
	static int journal = -1;
	char stamp[32];
	struct tm tm;
	time_t now;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (!journal) {
		now = time(NULL);
		if (localtime_r(&now, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S ", &tm))
			fputs(stamp, stderr);
	}
	fputs("flsyncd: ", stderr);
}

__attribute__((format(printf, 2, 0)))
static void progress_vline(struct syncd_progress *p, const char *fmt, va_list ap)
{
	bool redraw = p->display && p->drawn > 0;

	/* Accounts' threads print too: one line is written whole. */
	flockfile(stderr);
	progress_erase(p);
	syncd_log_start();
	fputs(p->prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (redraw)
		progress_draw(p);
	fflush(stderr);
	funlockfile(stderr);
}

void syncd_progress_log(void *ctx, const char *line)
{
	struct syncd_progress *p = ctx;

	if (p->verbose)
		syncd_info(p, "%s", line);
}

void syncd_error(struct syncd_progress *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	progress_vline(p, fmt, ap);
	va_end(ap);
}

void syncd_info(struct syncd_progress *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->verbose)
		return;
	va_start(ap, fmt);
	progress_vline(p, fmt, ap);
	va_end(ap);
}

void syncd_progress_end(struct syncd_progress *p, const struct fl_sync_report *r, int rc,
			bool summary)
{
	double secs = (double)(syncd_now_ms() - p->started_ms) / 1000.0;
	char a[32], b[32], c[32];
	const char *how = rc == FL_OK ? "pass done" : rc == FL_ERR_ABORTED ? "pass stopped"
		: "pass failed";

	if (p->display && p->n > 0)
		progress_draw(p); /* the final counts stay on screen */
	p->drawn = 0;
	if (!summary && !p->verbose)
		return;
	flockfile(stderr); /* one line: another account's must not land between its stamp and its text */
	syncd_log_start();
	fprintf(stderr, "%s%s: %s rows, %s requests (at most %d at once), %.1f s, %s rows/s\n",
		p->prefix, how, progress_num(r->rows, a, sizeof a), progress_num(r->requests, b, sizeof b),
		r->max_in_flight, secs,
		progress_num(secs > 0 ? (int64_t)((double)r->rows / secs) : r->rows, c, sizeof c));
	fflush(stderr);
	funlockfile(stderr);
}
