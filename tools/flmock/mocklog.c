/*
 * mocklog.c — what /_mock/log and /_mock/stats report: one JSON line per
 * write request that reached the world (or was faulted away), naming its
 * account, and request counts by endpoint and HTTP status, plus counts of
 * injected faults; the same counts per account, with how many of its
 * requests its rate budgets refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

struct stat_row {
	char *endpoint;            /* "GET /api/projects/0.1/projects/" */
	int account;               /* 0: every account together */
	int status;
	unsigned long count;
};

struct account_stats {
	unsigned long requests, rate_limited;
};

struct mocklog {
	struct fm_buf lines;       /* the write log, JSON lines */
	unsigned long seq;
	struct stat_row *rows;
	size_t nrows, cap;
	unsigned long faults[F_COUNT];
	unsigned long requests;
	struct account_stats *acct; /* [account - 1] */
	size_t nacct, capacct;
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
	free(m->acct);
	buf_free(&m->lines);
	free(m);
}

void mocklog_write(struct mocklog *m, const struct fm_req *r, const char *query, const char *fault)
{
	struct jw w;

	jw_init(&w, &m->lines, false);
	jw_obj(&w);
	jw_kint(&w, "seq", (int64_t)++m->seq);
	jw_kint(&w, "account", r->account);
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

static void count_row(struct mocklog *m, const char *endpoint, int account, int status)
{
	size_t i;

	for (i = 0; i < m->nrows; i++)
		if (m->rows[i].status == status && m->rows[i].account == account &&
		    strcmp(m->rows[i].endpoint, endpoint) == 0) {
			m->rows[i].count++;
			return;
		}
	m->rows = array_reserve(m->rows, m->nrows + 1, &m->cap, sizeof *m->rows);
	m->rows[m->nrows].endpoint = strdup(endpoint);
	if (!m->rows[m->nrows].endpoint)
		abort();
	m->rows[m->nrows].account = account;
	m->rows[m->nrows].status = status;
	m->rows[m->nrows].count = 1;
	m->nrows++;
}

void mocklog_count(struct mocklog *m, const char *endpoint, int status, enum fault_kind fault, int account,
		   bool limited)
{
	m->requests++;
	m->faults[fault]++;
	count_row(m, endpoint, 0, status);
	if (account < 1)
		return;
	if ((size_t)account > m->nacct) {
		m->acct = array_reserve(m->acct, (size_t)account, &m->capacct, sizeof *m->acct);
		memset(m->acct + m->nacct, 0, ((size_t)account - m->nacct) * sizeof *m->acct);
		m->nacct = (size_t)account;
	}
	m->acct[account - 1].requests++;
	m->acct[account - 1].rate_limited += limited;
	count_row(m, endpoint, account, status);
}

/* {"GET /api/...":{"200":n,"429":n},...} of one account (0: all). */
static void dump_endpoints(struct mocklog *m, struct jw *w, int account)
{
	size_t i, j;

	jw_kobj(w, "endpoints");
	for (i = 0; i < m->nrows; i++) {
		char code[16];

		if (m->rows[i].account != account)
			continue;
		for (j = 0; j < i && (m->rows[j].account != account ||
				      strcmp(m->rows[j].endpoint, m->rows[i].endpoint) != 0); j++)
			;
		if (j < i)
			continue; /* already written with its first row */
		jw_kobj(w, m->rows[i].endpoint);
		for (j = i; j < m->nrows; j++) {
			if (m->rows[j].account != account || strcmp(m->rows[j].endpoint, m->rows[i].endpoint) != 0)
				continue;
			snprintf(code, sizeof code, "%d", m->rows[j].status);
			jw_kint(w, code, (int64_t)m->rows[j].count);
		}
		jw_end_obj(w);
	}
	jw_end_obj(w);
}

void mocklog_dump_log(struct mocklog *m, struct fm_buf *out)
{
	if (m->lines.len)
		buf_put(out, m->lines.data, m->lines.len);
}

/*
 * {"requests":N,"endpoints":{"GET /api/...":{"200":n,"429":n}},
 *  "faults":{"http500":n,...},
 *  "accounts":{"1":{"requests":n,"rate_limited":n,"endpoints":{...}},...},
 *  "latency_ms":L,"in_flight":n,"max_in_flight":n}
 * "rate_limited" counts the 429s the account's own budgets gave (not the
 * rate429 faults); an account that sent nothing is left out.
 */
void mocklog_dump_stats(struct mocklog *m, const struct link_stats *link, struct fm_buf *out)
{
	struct jw w;
	size_t a;
	int k;

	jw_init(&w, out, false);
	jw_obj(&w);
	jw_kint(&w, "requests", (int64_t)m->requests);
	dump_endpoints(m, &w, 0);
	jw_kobj(&w, "faults");
	for (k = 1; k < F_COUNT; k++)
		jw_kint(&w, faults_name((enum fault_kind)k), (int64_t)m->faults[k]);
	jw_end_obj(&w);
	jw_kobj(&w, "accounts");
	for (a = 0; a < m->nacct; a++) {
		char key[24];

		if (!m->acct[a].requests)
			continue;
		snprintf(key, sizeof key, "%zu", a + 1);
		jw_kobj(&w, key);
		jw_kint(&w, "requests", (int64_t)m->acct[a].requests);
		jw_kint(&w, "rate_limited", (int64_t)m->acct[a].rate_limited);
		dump_endpoints(m, &w, (int)(a + 1));
		jw_end_obj(&w);
	}
	jw_end_obj(&w);
	jw_kint(&w, "latency_ms", link->latency_ms);
	jw_kint(&w, "in_flight", link->in_flight);
	jw_kint(&w, "max_in_flight", link->max_in_flight);
	jw_end_obj(&w);
	buf_putc(out, '\n');
}
