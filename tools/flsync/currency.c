/*
 * currency.c — the home currency of `flsync report`, `flsync ui` and
 * `flsync query --currency`: named by --currency, else by `[report]
 * currency` in flsyncd.conf, else USD; converted from the insight views'
 * *_usd columns with currencies.exchange_rate (the API's rate to USD, so
 * home = usd / rate).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "flconf.h"
#include "tool.h"

/* The code in flsyncd.conf's [report] section, or NULL (the caller frees). */
static char *config_currency(void)
{
	char *path = flconf_default_path(), *code = NULL, err[512];
	struct flconf cfg;

	if (!path)
		return NULL;
	if (flconf_load(path, false, &cfg, err, sizeof err) == 0) {
		if (cfg.report_currency)
			code = xstrdup(cfg.report_currency);
	} else {
		fprintf(stderr, "flsync: %s (the home currency stays USD)\n", err);
	}
	flconf_free(&cfg);
	free(path);
	return code;
}

int tool_currency_lookup(struct fl_db *db, const char *code, struct tool_currency *out)
{
	static const char sql[] = "SELECT code, exchange_rate FROM currencies WHERE upper(code) = upper(?1) "
				  "ORDER BY exchange_rate IS NULL, id LIMIT 1";
	struct fl_stmt *st;
	int rc, row = 0;
	size_t i;

	memset(out, 0, sizeof *out);
	/* A code is letters and digits (ISO 4217 and the API's): anything else is no currency, never markup. */
	for (i = 0; code[i]; i++)
		if (!isalnum((unsigned char)code[i]) || i + 1 >= sizeof out->code)
			return 1;
	for (i = 0; code[i]; i++)
		out->code[i] = (char)toupper((unsigned char)code[i]);
	if (fl_stmt_prepare(db, sql, &st))
		return -1;
	fl_stmt_bind_text(st, 1, code, -1);
	if (!(rc = fl_stmt_step(st, &row)) && row && fl_stmt_column_type(st, 1) != FL_TYPE_NULL)
		out->rate = fl_stmt_column_double(st, 1);
	fl_stmt_finalize(st);
	if (rc)
		return -1;
	/* A database with no currencies yet still reports in dollars. */
	if (out->rate <= 0 && !strcmp(out->code, "USD"))
		out->rate = 1;
	return out->rate > 0 ? 0 : row ? 2 : 1;
}

char *tool_currency_default(void)
{
	char *code = config_currency();

	return code ? code : xstrdup("USD");
}

int tool_currency_resolve(struct fl_db *db, const char *cmd, const char *arg, struct tool_currency *out)
{
	char *code = arg ? xstrdup(arg) : tool_currency_default();
	int rc = tool_currency_lookup(db, code, out);

	if (rc < 0)
		rc = tool_db_fail(db, FL_ERR_DB, "read currencies");
	else if (rc)
		rc = tool_usage_error(cmd, "currency %s: %s", code,
				      rc == 2 ? "the database has no exchange rate for it"
					      : "no such currency in the database (see: flsync query 'SELECT code FROM currencies')");
	free(code);
	return rc;
}

double tool_currency_from_usd(const struct tool_currency *c, double usd)
{
	return usd / c->rate;
}

/*
 * sql with every result column whose name ends in _usd divided by the
 * rate and renamed to end in _CODE (lower case); NULL when it has none.
 */
char *tool_currency_wrap(struct fl_stmt *st, const char *sql, const struct tool_currency *c)
{
	char lower[sizeof c->code], *out, *q;
	size_t len = strlen(sql), i, need = 64;
	int n = fl_stmt_column_count(st), k, converted = 0;
	FILE *f;

	for (i = 0; i < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)c->code[i]);
	while (len && (sql[len - 1] == ';' || isspace((unsigned char)sql[len - 1])))
		len--;
	f = open_memstream(&out, &need);
	fputs("SELECT ", f);
	for (k = 0; k < n; k++) {
		const char *name = fl_stmt_column_name(st, k);
		size_t nl = strlen(name);

		q = tool_quoted(name);
		if (nl > 4 && !strcmp(name + nl - 4, "_usd")) {
			char *as = xasprintf("%.*s_%s", (int)(nl - 4), name, lower), *qa = tool_quoted(as);

			fprintf(f, "%s%s / %.17g AS %s", k ? ", " : "", q, c->rate, qa);
			free(as);
			free(qa);
			converted++;
		} else {
			fprintf(f, "%s%s", k ? ", " : "", q);
		}
		free(q);
	}
	fprintf(f, " FROM (%.*s\n)", (int)len, sql);
	fclose(f);
	if (!converted) {
		free(out);
		return NULL;
	}
	return out;
}
