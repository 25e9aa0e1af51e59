/*
 * config.c — flsyncd's configuration file: where it lives (XDG), its
 * INI-like syntax (`[section]`, `key = value`, `#` comment lines); its
 * keys are the library's sync options ("[cadence] lookback" is the option
 * cadence.lookback) but for the daemon's own, the interval between passes.
 * Every mistake is reported as FILE:LINE so a person can fix it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"

/* The daemon's own keys; every other [section] key is the library's option "section.key". */
#define SYNCD_INTERVAL_MIN 1
#define SYNCD_INTERVAL_MAX 1000000000

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

/* Whether name is a section of the library's options, or the daemon's own. */
static bool config_section_known(const char *name)
{
	size_t len = strlen(name);
	const char *opt;

	if (strcmp(name, "cadence") == 0)
		return true;
	for (int i = 0; (opt = fl_sync_option_name(i)); i++)
		if (strncmp(opt, name, len) == 0 && opt[len] == '.')
			return true;
	return false;
}

/* The sections there are, for the message about one that is not (options come grouped). */
static void config_sections(char *out, size_t size)
{
	const char *opt, *prev = NULL;
	size_t used = (size_t)snprintf(out, size, "cadence");

	for (int i = 0; (opt = fl_sync_option_name(i)) && used < size; prev = opt, i++) {
		size_t len = strcspn(opt, ".");

		if ((prev && strncmp(prev, opt, len + 1) == 0) || strncmp(opt, "cadence.", 8) == 0)
			continue;
		used += (size_t)snprintf(out + used, size - used, ", %.*s", (int)len, opt);
	}
}

static void config_defaults(struct syncd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->interval_s = 300;
}

/* [cadence] interval, the daemon's own; false with why set when unusable. */
static bool config_interval(struct syncd_config *cfg, const char *v, const char **why)
{
	int64_t secs;

	if (fl_duration_parse(v, &secs) != FL_OK) {
		*why = "want a whole number of seconds, or with a unit: 90s, 15m, 2h, 1d";
		return false;
	}
	if (secs < SYNCD_INTERVAL_MIN || secs > SYNCD_INTERVAL_MAX) {
		*why = "value out of range";
		return false;
	}
	cfg->interval_s = secs;
	return true;
}

static void config_add_setting(struct syncd_config *cfg, const char *section, const char *key,
			       const char *value, long line)
{
	struct syncd_setting *s = realloc(cfg->settings,
					  (size_t)(cfg->n_settings + 1) * sizeof *s);

	if (!s)
		abort();
	cfg->settings = s;
	s = &s[cfg->n_settings++];
	if (asprintf(&s->name, "%s.%s", section, key) < 0 || !(s->value = strdup(value)))
		abort();
	s->line = line;
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
				char known[256];

				config_sections(known, sizeof known);
				fprintf(stderr, "flsyncd: %s:%ld: unknown section [%s] (known: %s)\n",
					path, lineno, section, known);
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
		if (!*value) {
			fprintf(stderr, "flsyncd: %s:%ld: %s has no value\n", path, lineno, key);
			goto out;
		}
		if (strcmp(section, "cadence") == 0 && strcmp(key, "interval") == 0) {
			if (!config_interval(out, value, &why)) {
				fprintf(stderr, "flsyncd: %s:%ld: bad value for %s: %s\n",
					path, lineno, key, why);
				goto out;
			}
			continue;
		}
		/* The library judges its own options when the file is applied. */
		config_add_setting(out, section, key, value, lineno);
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
	for (int i = 0; i < cfg->n_settings; i++) {
		free(cfg->settings[i].name);
		free(cfg->settings[i].value);
	}
	free(cfg->settings);
	free(cfg->path);
	config_defaults(cfg);
}

int syncd_config_apply(const struct syncd_config *cfg, struct fl_sync *sync)
{
	const char **names = calloc((size_t)cfg->n_settings + 1, sizeof *names);
	const char **values = calloc((size_t)cfg->n_settings + 1, sizeof *values);
	const struct syncd_setting *s;
	const char *why, *key;
	int rc, bad = -1;

	if (!names || !values)
		abort();
	for (int i = 0; i < cfg->n_settings; i++) {
		names[i] = cfg->settings[i].name;
		values[i] = cfg->settings[i].value;
	}
	rc = fl_sync_configure(sync, cfg->n_settings, names, values, &bad);
	free(names);
	free(values);
	if (rc == FL_OK)
		return 0;
	if (bad < 0) {
		fprintf(stderr, "flsyncd: %s: %s\n", cfg->path ? cfg->path : "configuration",
			fl_sync_errmsg(sync));
		return SYNCD_EXIT_USAGE;
	}
	s = &cfg->settings[bad];
	key = strchr(s->name, '.') + 1;
	if (rc == FL_ERR_NOT_FOUND) {
		fprintf(stderr, "flsyncd: %s:%ld: unknown key '%s' in [%.*s]\n", cfg->path, s->line,
			key, (int)(key - 1 - s->name), s->name);
		return SYNCD_EXIT_USAGE;
	}
	/* The library's message is "NAME: why". */
	why = fl_sync_errmsg(sync);
	if (strncmp(why, s->name, strlen(s->name)) == 0 && why[strlen(s->name)] == ':')
		why += strlen(s->name) + 2;
	fprintf(stderr, "flsyncd: %s:%ld: bad value for %s: %s\n", cfg->path, s->line, key, why);
	return SYNCD_EXIT_USAGE;
}
