/*
 * flconf.c — reading flsyncd.conf: `[section]` headers, `key = value`
 * lines, `#` comment lines.  The daemon's own keys are checked here; every
 * other key of a section the library knows ("[cadence] lookback") becomes
 * the setting "cadence.lookback" for fl_sync_configure().  An [account
 * NAME] section holds that account's db, api and token_file, and may set
 * library options by their full names ("search.query = ..."), which then
 * apply to that account after the file's general ones.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flconf.h"
#include "flsync.h"

#define ACCOUNT_NAME_MAX 64

static void *conf_xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n)))
		abort();
	return p;
}

static char *conf_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static char *conf_home_path(const char *xdg_var, const char *fallback, const char *tail)
{
	const char *xdg = getenv(xdg_var), *home = getenv("HOME");
	char *path = NULL;

	/* The XDG spec says a relative path in the variable is to be ignored. */
	if (xdg && xdg[0] == '/') {
		if (asprintf(&path, "%s/flsync/%s", xdg, tail) < 0)
			path = NULL;
	} else if (home && home[0]) {
		if (asprintf(&path, "%s/%s/flsync/%s", home, fallback, tail) < 0)
			path = NULL;
	}
	return path;
}

char *flconf_default_path(void)
{
	return conf_home_path("XDG_CONFIG_HOME", ".config", "flsyncd.conf");
}

char *flconf_default_db(const char *account)
{
	char tail[ACCOUNT_NAME_MAX + 8];

	snprintf(tail, sizeof tail, "%s.db", account);
	return conf_home_path("XDG_DATA_HOME", ".local/share", tail);
}

static char *conf_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* A section of the library's options (the part of an option name before its dot). */
static bool conf_library_section(const char *name)
{
	size_t len = strlen(name);
	const char *opt;

	for (int i = 0; (opt = fl_sync_option_name(i)); i++)
		if (strncmp(opt, name, len) == 0 && opt[len] == '.')
			return true;
	return false;
}

static bool conf_section_known(const char *name)
{
	return !strcmp(name, "cadence") || !strcmp(name, "limits") || !strcmp(name, "sink") ||
	       !strcmp(name, "webhook") || !strcmp(name, "report") || !strcmp(name, "feed") || conf_library_section(name);
}

/* The sections there are, for the message about one that is not (options come grouped). */
static void conf_sections(char *out, size_t size)
{
	const char *opt, *prev = NULL;
	size_t used = (size_t)snprintf(out, size, "account NAME, cadence, feed, limits, report, sink, webhook");

	for (int i = 0; (opt = fl_sync_option_name(i)) && used < size; prev = opt, i++) {
		size_t len = strcspn(opt, ".");

		if ((prev && strncmp(prev, opt, len + 1) == 0) || !strncmp(opt, "cadence.", 8) ||
		    !strncmp(opt, "limits.", 7))
			continue;
		used += (size_t)snprintf(out + used, size - used, ", %.*s", (int)len, opt);
	}
}

static void conf_defaults(struct flconf *c)
{
	memset(c, 0, sizeof *c);
	c->interval_s = 300;
	c->feed_keep_s = 30 * 86400;
	c->max_parallel = 4;
	c->lease_stale_s = 60;
	c->webhook_check_s = 3600;
}

static void conf_add(struct flconf_setting **list, int *n, const char *name, const char *value,
		     long line)
{
	struct flconf_setting *s;

	*list = conf_xrealloc(*list, (size_t)(*n + 1) * sizeof **list);
	s = &(*list)[(*n)++];
	s->name = conf_xstrdup(name);
	s->value = conf_xstrdup(value);
	s->line = line;
}

static void conf_free_settings(struct flconf_setting *list, int n)
{
	for (int i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].value);
	}
	free(list);
}

/* A duration in [min, max] seconds; NULL, or why not. */
static const char *conf_duration(const char *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t secs;

	if (fl_duration_parse(v, &secs) != FL_OK)
		return "want a whole number of seconds, or with a unit: 90s, 15m, 2h, 1d";
	if (secs < min || secs > max)
		return "value out of range";
	*out = secs;
	return NULL;
}

static const char *conf_int(const char *v, long min, long max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno)
		return "want a whole number";
	if (n < min || n > max)
		return "value out of range";
	*out = (int)n;
	return NULL;
}

static bool conf_account_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ACCOUNT_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static void conf_set_string(char **field, const char *value)
{
	free(*field);
	*field = conf_xstrdup(value);
}

/*
 * key = value in section (acct set inside [account NAME]).  NULL, or what
 * is wrong (static text, or written into buf).
 */
static const char *conf_key(struct flconf *c, const char *section, struct flconf_account *acct,
			    const char *key, const char *value, long line, char *buf, size_t bufsz)
{
	if (acct) {
		if (!strcmp(key, "db"))
			conf_set_string(&acct->db, value);
		else if (!strcmp(key, "api"))
			conf_set_string(&acct->api, value);
		else if (!strcmp(key, "token_file"))
			conf_set_string(&acct->token_file, value);
		else if (strchr(key, '.'))
			conf_add(&acct->settings, &acct->n_settings, key, value, line);
		else {
			snprintf(buf, bufsz, "unknown key '%s' in [account %s] (db, api, token_file, "
				 "or a sync option by its full name, e.g. search.query)", key, acct->name);
			return buf;
		}
		return NULL;
	}
	if (!strcmp(section, "cadence") && !strcmp(key, "interval"))
		return conf_duration(value, 1, 1000000000, &c->interval_s);
	if (!strcmp(section, "feed")) {
		if (!strcmp(key, "keep"))
			return conf_duration(value, 0, 1000000000, &c->feed_keep_s);
		snprintf(buf, bufsz, "unknown key '%s' in [feed] (keep)", key);
		return buf;
	}
	if (!strcmp(section, "limits") && !strcmp(key, "max_parallel"))
		return conf_int(value, 1, 1024, &c->max_parallel);
	if (!strcmp(section, "sink")) {
		if (!strcmp(key, "postgres"))
			conf_set_string(&c->sink_postgres, value);
		else if (!strcmp(key, "schema"))
			conf_set_string(&c->sink_schema, value);
		else if (!strcmp(key, "holder"))
			conf_set_string(&c->holder, value);
		else if (!strcmp(key, "lease_stale"))
			return conf_duration(value, 5, 86400, &c->lease_stale_s);
		else {
			snprintf(buf, bufsz, "unknown key '%s' in [sink] (postgres, schema, holder, "
				 "lease_stale)", key);
			return buf;
		}
		return NULL;
	}
	if (!strcmp(section, "report")) {
		if (strcmp(key, "currency")) {
			snprintf(buf, bufsz, "unknown key '%s' in [report] (currency)", key);
			return buf;
		}
		conf_set_string(&c->report_currency, value);
		return NULL;
	}
	if (!strcmp(section, "webhook")) {
		if (!strcmp(key, "listen"))
			conf_set_string(&c->webhook_listen, value);
		else if (!strcmp(key, "path"))
			conf_set_string(&c->webhook_path, value);
		else if (!strcmp(key, "poll_interval"))
			return conf_duration(value, 1, 1000000000, &c->webhook_poll_s);
		else if (!strcmp(key, "check"))
			return conf_duration(value, 60, 1000000000, &c->webhook_check_s);
		else {
			snprintf(buf, bufsz, "unknown key '%s' in [webhook] (listen, path, poll_interval, "
				 "check)", key);
			return buf;
		}
		return NULL;
	}
	/* The library judges its own options when the file is applied. */
	{
		char name[160];

		snprintf(name, sizeof name, "%s.%s", section, key);
		conf_add(&c->settings, &c->n_settings, name, value, line);
	}
	return NULL;
}

static int conf_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int conf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* [account NAME]: a new account; NULL with err set when the name is bad or taken. */
static struct flconf_account *conf_account_new(struct flconf *c, const char *name, long line,
					       const char *path, char *err, size_t errlen)
{
	struct flconf_account *a;

	if (!conf_account_name_ok(name)) {
		conf_fail(err, errlen, "%s:%ld: an account name is 1 to %d letters, digits, '_', '.' "
			  "or '-', not '%s'", path, line, ACCOUNT_NAME_MAX, name);
		return NULL;
	}
	if (flconf_account(c, name)) {
		conf_fail(err, errlen, "%s:%ld: [account %s] comes twice", path, line, name);
		return NULL;
	}
	c->accounts = conf_xrealloc(c->accounts, (size_t)(c->n_accounts + 1) * sizeof *c->accounts);
	a = &c->accounts[c->n_accounts++];
	memset(a, 0, sizeof *a);
	a->name = conf_xstrdup(name);
	a->line = line;
	return a;
}

int flconf_load(const char *path, bool required, struct flconf *out, char *err, size_t errlen)
{
	char section[128] = "", *line = NULL, why_buf[256];
	struct flconf_account *acct = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = -1;
	FILE *f;

	conf_defaults(out);
	err[0] = '\0';
	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		return conf_fail(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
	}
	while (getline(&line, &cap, f) != -1) {
		const char *why;
		char *s = conf_trim(line), *eq, *key, *value;

		lineno++;
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] || close - s - 1 >= (long)sizeof section) {
				conf_fail(err, errlen, "%s:%ld: a section header looks like [search]", path, lineno);
				goto out;
			}
			*close = '\0';
			snprintf(section, sizeof section, "%s", conf_trim(s + 1));
			acct = NULL;
			if (!strncmp(section, "account", 7) && (section[7] == ' ' || section[7] == '\t' ||
								 !section[7])) {
				if (!(acct = conf_account_new(out, conf_trim(section + 7), lineno, path, err,
							      errlen)))
					goto out;
				continue;
			}
			if (!conf_section_known(section)) {
				char known[256];

				conf_sections(known, sizeof known);
				conf_fail(err, errlen, "%s:%ld: unknown section [%s] (known: %s)", path,
					  lineno, section, known);
				goto out;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			conf_fail(err, errlen, "%s:%ld: expected key = value", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = conf_trim(s);
		value = conf_trim(eq + 1);
		if (!section[0]) {
			conf_fail(err, errlen, "%s:%ld: '%s' comes before any [section]", path, lineno, key);
			goto out;
		}
		if (!*value) {
			conf_fail(err, errlen, "%s:%ld: %s has no value", path, lineno, key);
			goto out;
		}
		why = conf_key(out, section, acct, key, value, lineno, why_buf, sizeof why_buf);
		if (why) {
			if (why == why_buf)
				conf_fail(err, errlen, "%s:%ld: %s", path, lineno, why);
			else
				conf_fail(err, errlen, "%s:%ld: bad value for %s: %s", path, lineno, key, why);
			goto out;
		}
	}
	if (ferror(f)) {
		conf_fail(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		goto out;
	}
	for (int i = 0; i < out->n_accounts; i++) {
		struct flconf_account *a = &out->accounts[i];

		if (!a->db && !(a->db = flconf_default_db(a->name))) {
			conf_fail(err, errlen, "%s:%ld: [account %s] has no db, and there is no home "
				  "directory for the default", path, a->line, a->name);
			goto out;
		}
	}
	out->path = conf_xstrdup(path);
	rc = 0;
out:
	free(line);
	fclose(f);
	if (rc) {
		flconf_free(out);
	}
	return rc;
}

void flconf_free(struct flconf *c)
{
	conf_free_settings(c->settings, c->n_settings);
	for (int i = 0; i < c->n_accounts; i++) {
		struct flconf_account *a = &c->accounts[i];

		free(a->name);
		free(a->db);
		free(a->api);
		free(a->token_file);
		conf_free_settings(a->settings, a->n_settings);
	}
	free(c->accounts);
	free(c->sink_postgres);
	free(c->sink_schema);
	free(c->holder);
	free(c->webhook_listen);
	free(c->webhook_path);
	free(c->report_currency);
	free(c->path);
	conf_defaults(c);
}

const struct flconf_account *flconf_account(const struct flconf *c, const char *name)
{
	for (int i = 0; i < c->n_accounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			return &c->accounts[i];
	return NULL;
}

void flconf_setting_error(const struct flconf *c, const struct flconf_setting *s, int rc,
			  const char *msg, char *err, size_t errlen)
{
	const char *dot = strchr(s->name, '.');
	const char *key = dot ? dot + 1 : s->name;
	size_t nlen = strlen(s->name);
	const char *file = c->path ? c->path : "configuration";

	if (rc == FL_ERR_NOT_FOUND) {
		snprintf(err, errlen, "%s:%ld: unknown key '%s' in [%.*s]", file, s->line, key,
			 (int)(key - 1 - s->name), s->name);
		return;
	}
	/* The library's message is "NAME: why". */
	if (!strncmp(msg, s->name, nlen) && msg[nlen] == ':')
		msg += nlen + 2;
	snprintf(err, errlen, "%s:%ld: bad value for %s: %s", file, s->line, key, msg);
}
