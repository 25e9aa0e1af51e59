/*
 * config.c — flsyncd's configuration file: where it lives (XDG), its
 * INI-like syntax (`[section]`, `key = value`, `#` comment lines), and the
 * table of keys that fill struct sync_options.  Every mistake is reported
 * as FILE:LINE so a person can fix it.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"

enum config_kind {
	KIND_QUERY,    /* a search string, appended */
	KIND_JOBS,     /* comma-separated job ids, appended */
	KIND_DURATION, /* int64_t seconds: 90, 90s, 15m, 2h, 1d */
	KIND_INT,      /* int */
	KIND_DOUBLE,   /* double */
};

/* One key: where its value goes and what values are sane. */
static const struct config_key {
	const char *section;
	const char *key;
	enum config_kind kind;
	size_t offset;         /* into struct syncd_config */
	double min, max;
} config_keys[] = {
	{ "search", "query", KIND_QUERY, 0, 0, 0 },
	{ "search", "jobs", KIND_JOBS, 0, 1, 9e18 },
	{ "cadence", "interval", KIND_DURATION, offsetof(struct syncd_config, interval_s), 1, 1e9 },
	{ "cadence", "users", KIND_DURATION,
	  offsetof(struct syncd_config, opt.users_refresh_s), 0, 1e9 },
	{ "cadence", "reference", KIND_DURATION,
	  offsetof(struct syncd_config, opt.reference_refresh_s), 0, 1e9 },
	{ "cadence", "milestones_all", KIND_DURATION,
	  offsetof(struct syncd_config, opt.milestones_all_s), 0, 1e9 },
	{ "cadence", "safety_lag", KIND_DURATION,
	  offsetof(struct syncd_config, opt.safety_lag_s), 0, 1e9 },
	{ "cadence", "lookback", KIND_DURATION,
	  offsetof(struct syncd_config, opt.lookback_s), 0, 1e9 },
	{ "limits", "rate_scale", KIND_DOUBLE, offsetof(struct syncd_config, rate_scale), 1e-6, 1e6 },
	/* The API returns at most 100 results per page (api-notes, Paging). */
	{ "sync", "page_limit", KIND_INT, offsetof(struct syncd_config, opt.page_limit), 1, 100 },
	{ "sync", "batch_rows", KIND_INT, offsetof(struct syncd_config, opt.batch_rows), 1, 1e7 },
	{ "sync", "batch_ms", KIND_INT, offsetof(struct syncd_config, opt.batch_ms), 1, 1e7 },
	{ "sync", "max_window_pages", KIND_INT,
	  offsetof(struct syncd_config, opt.max_window_pages), 1, 1e6 },
	{ "sync", "mass_delete_ratio", KIND_DOUBLE,
	  offsetof(struct syncd_config, opt.mass_delete_ratio), 0, 1 },
	{ "sync", "max_attempts", KIND_INT, offsetof(struct syncd_config, opt.max_attempts), 1, 100 },
	{ "sync", "retry_base_ms", KIND_INT,
	  offsetof(struct syncd_config, opt.retry_base_ms), 1, 3.6e6 },
};

char *syncd_config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *path = NULL;

	/* The XDG spec says a relative XDG_CONFIG_HOME is to be ignored. */
	if (xdg && xdg[0] == '/') {
		if (asprintf(&path, "%s/flsync/flsyncd.conf", xdg) < 0)
			path = NULL;
	} else if (home && home[0]) {
		if (asprintf(&path, "%s/.config/flsync/flsyncd.conf", home) < 0)
			path = NULL;
	}
	return path;
}

static char *config_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
			   end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* Seconds from "90", "90s", "15m", "2h", "1d"; false when it is none of those. */
static bool config_duration(const char *v, double *out)
{
	char *end;
	double n;

	errno = 0;
	n = strtod(v, &end);
	if (end == v || errno || !isfinite(n) || n != floor(n))
		return false;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return false;
	}
	if (*end && end[1])
		return false;
	*out = n;
	return true;
}

static bool config_number(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return end != v && !*end && !errno && isfinite(*out);
}

/* Apply key = value; false with why set when the value is unusable. */
static bool config_set(struct syncd_config *cfg, const struct config_key *k, char *v,
		       const char **why)
{
	char *field = (char *)cfg + k->offset;
	double n = 0;

	switch (k->kind) {
	case KIND_QUERY: {
		char **q = realloc(cfg->queries, (size_t)(cfg->n_queries + 1) * sizeof *q);

		if (!q)
			abort();
		cfg->queries = q;
		if (!(q[cfg->n_queries] = strdup(v)))
			abort();
		cfg->n_queries++;
		return true;
	}
	case KIND_JOBS:
		for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ",")) {
			int64_t *j;

			tok = config_trim(tok);
			if (!config_number(tok, &n) || n != floor(n) || n < k->min || n > k->max) {
				*why = "a job id must be a positive whole number";
				return false;
			}
			j = realloc(cfg->jobs, (size_t)(cfg->n_jobs + 1) * sizeof *j);
			if (!j)
				abort();
			cfg->jobs = j;
			j[cfg->n_jobs++] = (int64_t)n;
		}
		return true;
	case KIND_DURATION:
		if (!config_duration(v, &n)) {
			*why = "want a whole number of seconds, or with a unit: 90s, 15m, 2h, 1d";
			return false;
		}
		break;
	case KIND_INT:
		if (!config_number(v, &n) || n != floor(n)) {
			*why = "want a whole number";
			return false;
		}
		break;
	case KIND_DOUBLE:
		if (!config_number(v, &n)) {
			*why = "want a number";
			return false;
		}
		break;
	}
	if (n < k->min || n > k->max || (k->kind == KIND_DOUBLE && k->min > 0 && n <= 0)) {
		*why = "value out of range";
		return false;
	}
	if (k->kind == KIND_DURATION)
		*(int64_t *)(void *)field = (int64_t)n;
	else if (k->kind == KIND_INT)
		*(int *)(void *)field = (int)n;
	else
		*(double *)(void *)field = n;
	return true;
}

static bool config_section_known(const char *name)
{
	for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (strcmp(config_keys[i].section, name) == 0)
			return true;
	return false;
}

static void config_defaults(struct syncd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	sync_options_default(&cfg->opt);
	cfg->interval_s = 300;
	cfg->rate_scale = 1.0;
}

int syncd_config_load(const char *path, bool required, struct syncd_config *out)
{
	char section[64] = "", *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = SYNCD_EXIT_USAGE;
	FILE *f;

	config_defaults(out);
	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		fprintf(stderr, "flsyncd: cannot read config file %s: %s\n", path, strerror(errno));
		return SYNCD_EXIT_USAGE;
	}
	while (getline(&line, &cap, f) != -1) {
		const struct config_key *k = NULL;
		const char *why = NULL;
		char *s = config_trim(line), *eq, *key, *value;

		lineno++;
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] || close - s - 1 >= (long)sizeof section) {
				fprintf(stderr, "flsyncd: %s:%ld: a section header looks like [search]\n",
					path, lineno);
				goto out;
			}
			*close = '\0';
			snprintf(section, sizeof section, "%s", config_trim(s + 1));
			if (!config_section_known(section)) {
				fprintf(stderr, "flsyncd: %s:%ld: unknown section [%s] (known: "
					"search, cadence, limits, sync)\n", path, lineno, section);
				goto out;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "flsyncd: %s:%ld: expected key = value\n", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = config_trim(s);
		value = config_trim(eq + 1);
		if (!section[0]) {
			fprintf(stderr, "flsyncd: %s:%ld: '%s' comes before any [section]\n",
				path, lineno, key);
			goto out;
		}
		for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
			if (strcmp(config_keys[i].section, section) == 0 &&
			    strcmp(config_keys[i].key, key) == 0)
				k = &config_keys[i];
		if (!k) {
			fprintf(stderr, "flsyncd: %s:%ld: unknown key '%s' in [%s]\n",
				path, lineno, key, section);
			goto out;
		}
		if (!*value) {
			fprintf(stderr, "flsyncd: %s:%ld: %s has no value\n", path, lineno, key);
			goto out;
		}
		if (!config_set(out, k, value, &why)) {
			fprintf(stderr, "flsyncd: %s:%ld: bad value for %s: %s\n",
				path, lineno, key, why);
			goto out;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "flsyncd: cannot read config file %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (!(out->path = strdup(path)))
		abort();
	rc = 0;
out:
	free(line);
	fclose(f);
	if (rc) {
		syncd_config_free(out);
		config_defaults(out);
	}
	return rc;
}

void syncd_config_free(struct syncd_config *cfg)
{
	for (int i = 0; i < cfg->n_queries; i++)
		free(cfg->queries[i]);
	free(cfg->queries);
	free(cfg->jobs);
	free(cfg->path);
	cfg->queries = NULL;
	cfg->jobs = NULL;
	cfg->path = NULL;
	cfg->n_queries = cfg->n_jobs = 0;
}

void syncd_config_options(const struct syncd_config *cfg, struct sync_options *out)
{
	*out = cfg->opt;
	out->market_queries = (const char *const *)cfg->queries;
	out->n_market_queries = cfg->n_queries;
	out->market_jobs = cfg->jobs;
	out->n_market_jobs = cfg->n_jobs;
}
