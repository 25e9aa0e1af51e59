/*
 * mocklog.c — what /_mock/log and /_mock/stats report: one JSON line per
 * write request that reached the world (or was faulted away), and request
 * counts by endpoint and HTTP status, plus counts of injected faults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

struct stat_row {
	char *endpoint;            /* "GET /api/projects/0.1/projects/" */
	int status;
	unsigned long count;
};

struct mocklog {
	struct fm_buf lines;       /* the write log, JSON lines */
	unsigned long seq;
	struct stat_row *rows;
	size_t nrows, cap;
	unsigned long faults[F_COUNT];
	unsigned long requests;
};

struct mocklog *mocklog_new(void)
{
	struct mocklog *m = calloc(1, sizeof *m);

	if (!m)
		abort();
	return m;
}

void mocklog_free(struct mocklog *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nrows; i++)
		free(m->rows[i].endpoint);
	free(m->rows);
	buf_free(&m->lines);
	free(m);
}

void mocklog_write(struct mocklog *m, const struct fm_req *r, const char *query, const char *fault)
{
	struct jw w;

	jw_init(&w, &m->lines, false);
	jw_obj(&w);
	jw_kint(&w, "seq", (int64_t)++m->seq);
	jw_kint(&w, "time", r->w->now);
	jw_kstr(&w, "method", r->method);
	jw_kstr(&w, "path", r->path);
	jw_kstr(&w, "query", query ? query : "");
	jw_key(&w, "body");
	jw_strn(&w, r->body ? r->body : "", r->body_len);
	jw_kbool(&w, "applied", fault == NULL || strcmp(fault, "lostreply") == 0);
	jw_kstr(&w, "fault", fault);
	jw_kint(&w, "status", r->status);
	jw_kstr(&w, "error_code", r->error_code);
	if (r->object_id && !r->error_code)
		jw_kint(&w, "id", r->object_id);
	else
		jw_knull(&w, "id");
	jw_end_obj(&w);
	buf_putc(&m->lines, '\n');
}

void mocklog_count(struct mocklog *m, const char *endpoint, int status, enum fault_kind fault)
{
	size_t i;

	m->requests++;
	m->faults[fault]++;
	for (i = 0; i < m->nrows; i++)
		if (m->rows[i].status == status && strcmp(m->rows[i].endpoint, endpoint) == 0) {
			m->rows[i].count++;
			return;
		}
	m->rows = array_reserve(m->rows, m->nrows + 1, &m->cap, sizeof *m->rows);
	m->rows[m->nrows].endpoint = strdup(endpoint);
	if (!m->rows[m->nrows].endpoint)
		abort();
	m->rows[m->nrows].status = status;
	m->rows[m->nrows].count = 1;
	m->nrows++;
}

void mocklog_dump_log(struct mocklog *m, struct fm_buf *out)
{
	if (m->lines.len)
		buf_put(out, m->lines.data, m->lines.len);
}

/*
 * {"requests":N,"endpoints":{"GET /api/...":{"200":n,"429":n}},
 *  "faults":{"http500":n,...}}
 */
void mocklog_dump_stats(struct mocklog *m, struct fm_buf *out)
{
	struct jw w;
	size_t i, j;
	int k;

	jw_init(&w, out, false);
	jw_obj(&w);
	jw_kint(&w, "requests", (int64_t)m->requests);
	jw_kobj(&w, "endpoints");
	for (i = 0; i < m->nrows; i++) {
		char code[16];

		for (j = 0; j < i && strcmp(m->rows[j].endpoint, m->rows[i].endpoint) != 0; j++)
			;
		if (j < i)
			continue; /* already written with its first row */
		jw_kobj(&w, m->rows[i].endpoint);
		for (j = i; j < m->nrows; j++) {
			if (strcmp(m->rows[j].endpoint, m->rows[i].endpoint) != 0)
				continue;
			snprintf(code, sizeof code, "%d", m->rows[j].status);
			jw_kint(&w, code, (int64_t)m->rows[j].count);
		}
		jw_end_obj(&w);
	}
	jw_end_obj(&w);
	jw_kobj(&w, "faults");
	for (k = 1; k < F_COUNT; k++)
		jw_kint(&w, faults_name((enum fault_kind)k), (int64_t)m->faults[k]);
	jw_end_obj(&w);
	jw_end_obj(&w);
	buf_putc(out, '\n');
}
