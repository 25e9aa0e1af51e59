/*
 * sync_options.c — the sync's options by name, as fl_sync_set_option() and a
 * configuration file give them: the table of names with their kinds and
 * sane ranges and defaults, parsing each kind of value (durations with
 * units, whole numbers, numbers, search strings, job-id lists).  The table
 * is the one place an option's default is written.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

enum option_kind {
	KIND_QUERY,    /* a search string, appended */
	KIND_JOBS,     /* comma-separated job ids, appended */
	KIND_DURATION, /* int64_t seconds: 90, 90s, 15m, 2h, 1d */
	KIND_INT,      /* int */
	KIND_DOUBLE,   /* double */
};

/* One option: where its value goes, what values are sane, and its default. */
static const struct option_def {
	const char *name;
	enum option_kind kind;
	size_t offset;         /* into struct sync_settings */
	double min, max;
	double def;            /* the default (none for the lists: they start empty) */
} options[] = {
#define AT(field) offsetof(struct sync_settings, field)
	{ "search.query", KIND_QUERY, 0, 0, 0, 0 },
	{ "search.jobs", KIND_JOBS, 0, 1, 9e18, 0 },
	{ "cadence.users", KIND_DURATION, AT(opt.users_refresh_s), 0, 1e9, 86400 },
	{ "cadence.reference", KIND_DURATION, AT(opt.reference_refresh_s), 0, 1e9, 86400 },
	{ "cadence.milestones_all", KIND_DURATION, AT(opt.milestones_all_s), 0, 1e9, 3600 },
	{ "cadence.reconcile", KIND_DURATION, AT(opt.reconcile_every_s), 0, 1e9, 86400 },
	{ "cadence.reconcile_lookback", KIND_DURATION, AT(opt.reconcile_lookback_s), 0, 1e9, 7 * 86400 },
	{ "cadence.reconcile_slices", KIND_INT, AT(opt.reconcile_slices), 1, 1e4, 24 },
	{ "cadence.reconcile_budget", KIND_INT, AT(opt.reconcile_budget), 1, 1e6, 16 },
	{ "cadence.refresh_all", KIND_DURATION, AT(opt.refresh_all_s), 0, 1e9, 86400 },
	{ "cadence.safety_lag", KIND_DURATION, AT(opt.safety_lag_s), 0, 1e9, 30 },
	{ "cadence.lookback", KIND_DURATION, AT(opt.lookback_s), 0, 1e9, 120 },
	{ "limits.rate_scale", KIND_DOUBLE, AT(rate_scale), 1e-6, 1e6, 1.0 },
	/* The API returns at most 100 results per page (api-notes, Paging). */
	{ "sync.page_limit", KIND_INT, AT(opt.page_limit), 1, 100, 100 },
	{ "sync.batch_rows", KIND_INT, AT(opt.batch_rows), 1, 1e7, 5000 },
	{ "sync.batch_ms", KIND_INT, AT(opt.batch_ms), 1, 1e7, 1000 },
	{ "sync.max_window_pages", KIND_INT, AT(opt.max_window_pages), 1, 1e6, 100 },
	{ "sync.mass_delete_ratio", KIND_DOUBLE, AT(opt.mass_delete_ratio), 0, 1, 0.2 },
	{ "sync.read_ahead", KIND_INT, AT(opt.read_ahead), 0, 16, 2 },
	{ "sync.max_in_flight", KIND_INT, AT(opt.max_in_flight), 1, 64, 6 },
	{ "sync.max_attempts", KIND_INT, AT(opt.max_attempts), 1, 100, 5 },
	{ "sync.retry_base_ms", KIND_INT, AT(opt.retry_base_ms), 1, 3.6e6, 500 },
#undef AT
};
#define NOPTIONS (sizeof options / sizeof options[0])

FL_API const char *fl_sync_option_name(int i)
{
	return i >= 0 && (size_t)i < NOPTIONS ? options[i].name : NULL;
}

bool sync_option_default(const char *name, double *out)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0) {
			*out = options[i].def;
			return options[i].kind != KIND_QUERY && options[i].kind != KIND_JOBS;
		}
	return false;
}

FL_API int fl_duration_parse(const char *text, int64_t *out_seconds)
{
	char *end;
	double n;

	if (out_seconds)
		*out_seconds = 0;
	if (!text || !out_seconds)
		return FL_ERR_MISUSE;
	errno = 0;
	n = strtod(text, &end);
	if (end == text || errno || !isfinite(n) || n != floor(n) || n < 0)
		return FL_ERR_INVALID;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return FL_ERR_INVALID;
	}
	if ((*end && end[1]) || n > 9e15)
		return FL_ERR_INVALID;
	*out_seconds = (int64_t)n;
	return FL_OK;
}

static bool option_number(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return end != v && !*end && !errno && isfinite(*out);
}

static int option_append_query(struct sync_settings *s, const char *v, struct fl_error *err)
{
	char **q = realloc(s->queries, (size_t)(s->n_queries + 1) * sizeof *q);

	if (!q)
		return error_set(err, FL_ERR_NOMEM, "search.query: out of memory");
	s->queries = q;
	if (!(q[s->n_queries] = strdup(v)))
		return error_set(err, FL_ERR_NOMEM, "search.query: out of memory");
	s->n_queries++;
	return FL_OK;
}

/* "3, 17": every id is checked before any is added. */
static int option_append_jobs(struct sync_settings *s, const struct option_def *o, const char *v,
			      struct fl_error *err)
{
	int count = 1, n = 0;
	const char *p = v;
	int64_t *j;

	for (const char *c = v; *c; c++)
		count += *c == ',';
	j = realloc(s->jobs, (size_t)(s->n_jobs + count) * sizeof *j);
	if (!j)
		return error_set(err, FL_ERR_NOMEM, "%s: out of memory", o->name);
	s->jobs = j;
	while (n < count) {
		char tok[32], *t = tok, *e;
		size_t len = strcspn(p, ",");
		double id;

		if (len >= sizeof tok)
			len = sizeof tok - 1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		while (*t == ' ' || *t == '\t')
			t++;
		for (e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); )
			*--e = '\0';
		if (!option_number(t, &id) || id != floor(id) || id < o->min || id > o->max)
			return error_set(err, FL_ERR_INVALID,
					 "%s: a job id must be a positive whole number", o->name);
		j[s->n_jobs + n++] = (int64_t)id;
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	s->n_jobs += n;
	return FL_OK;
}

/* Write n into o's field of s, as its kind stores it. */
static void option_store(struct sync_settings *s, const struct option_def *o, double n)
{
	char *field = (char *)s + o->offset;

	if (o->kind == KIND_DURATION)
		*(int64_t *)(void *)field = (int64_t)n;
	else if (o->kind == KIND_INT)
		*(int *)(void *)field = (int)n;
	else
		*(double *)(void *)field = n;
}

int sync_settings_set(struct sync_settings *s, const char *name, const char *value,
		      struct fl_error *err)
{
	const struct option_def *o = NULL;
	double n = 0;

	if (!name || !value)
		return error_set(err, FL_ERR_MISUSE, "an option needs a name and a value");
	for (size_t i = 0; i < NOPTIONS && !o; i++)
		if (strcmp(options[i].name, name) == 0)
			o = &options[i];
	if (!o)
		return error_set(err, FL_ERR_NOT_FOUND, "unknown option '%.100s'", name);
	if (!*value)
		return error_set(err, FL_ERR_INVALID, "%s: has no value", o->name);
	switch (o->kind) {
	case KIND_QUERY:
		return option_append_query(s, value, err);
	case KIND_JOBS:
		return option_append_jobs(s, o, value, err);
	case KIND_DURATION: {
		int64_t secs;

		if (fl_duration_parse(value, &secs) != FL_OK)
			return error_set(err, FL_ERR_INVALID,
					 "%s: want a whole number of seconds, or with a unit: 90s, 15m, 2h, 1d",
					 o->name);
		n = (double)secs;
		break;
	}
	case KIND_INT:
		if (!option_number(value, &n) || n != floor(n))
			return error_set(err, FL_ERR_INVALID, "%s: want a whole number", o->name);
		break;
	case KIND_DOUBLE:
		if (!option_number(value, &n))
			return error_set(err, FL_ERR_INVALID, "%s: want a number", o->name);
		break;
	}
	if (n < o->min || n > o->max || (o->kind == KIND_DOUBLE && o->min > 0 && n <= 0))
		return error_set(err, FL_ERR_INVALID, "%s: value out of range (%g to %g)", o->name,
				 o->min, o->max);
	option_store(s, o, n);
	return FL_OK;
}

void sync_settings_default(struct sync_settings *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].kind != KIND_QUERY && options[i].kind != KIND_JOBS)
			option_store(s, &options[i], options[i].def);
}

void sync_options_default(struct sync_options *opt)
{
	struct sync_settings s;

	sync_settings_default(&s);
	*opt = s.opt;
}

void sync_settings_free(struct sync_settings *s)
{
	for (int i = 0; i < s->n_queries; i++)
		free(s->queries[i]);
	free(s->queries);
	free(s->jobs);
	sync_settings_default(s);
}

void sync_settings_options(const struct sync_settings *s, struct sync_options *out)
{
	*out = s->opt;
	out->market_queries = (const char *const *)s->queries;
	out->n_market_queries = s->n_queries;
	out->market_jobs = s->jobs;
	out->n_market_jobs = s->n_jobs;
}
