/*
 * sink.c — a PostgreSQL sink: its connection (checked for a UTF8 database,
 * made again after it was lost), and one mirror run of an account: the
 * table shapes read from the SQLite file, the schema brought up to date,
 * then the rows (mirror.c).  Also the default account name for a file.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A PostgreSQL identifier flsync makes objects in: 1 to 63 bytes. */
static bool name_ok(const char *name)
{
	return name && *name && strlen(name) <= 63;
}

/* Text goes in as UTF-8 and must stay what it was: a server in another encoding is refused. */
static bool session_ok(struct pgm_sink *s)
{
	const char *enc, *params[1] = { s->application };
	PGresult *r;

	if (PQsetClientEncoding(s->pg, "UTF8") != 0)
		return pgm_fail(s, "cannot set the client encoding to UTF8: %s", PQerrorMessage(s->pg));
	enc = PQparameterStatus(s->pg, "server_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0)
		return pgm_fail(s, "the PostgreSQL database is in %s; the mirror needs a UTF8 database "
			       "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)",
			       enc ? enc : "an unknown encoding");
	r = pgm_params(s, "SELECT set_config('application_name', $1, false), "
		       "set_config('client_min_messages', 'warning', false)", 1, params, "set up the session");
	PQclear(r);
	return r != NULL;
}

/* A usable connection: made, or made again after it was lost, and idle. */
bool pgm_connected(struct pgm_sink *s)
{
	if (s->pg && PQstatus(s->pg) == CONNECTION_OK) {
		if (PQtransactionStatus(s->pg) == PQTRANS_IDLE)
			return true;
		/* A run that died half-way left its transaction open: end it. */
		if (PQtransactionStatus(s->pg) != PQTRANS_UNKNOWN && pgm_exec(s, "ROLLBACK", "roll back"))
			return true;
	}
	if (s->pg)
		PQreset(s->pg);
	else
		s->pg = PQconnectdb(s->conninfo);
	if (!s->pg)
		return pgm_fail(s, "cannot connect to PostgreSQL: out of memory");
	if (PQstatus(s->pg) != CONNECTION_OK)
		return pgm_fail(s, "cannot connect to PostgreSQL: %s", PQerrorMessage(s->pg));
	return session_ok(s);
}

int pgm_open(const struct pgm_config *cfg, struct pgm_sink **out)
{
	struct pgm_sink *s = calloc(1, sizeof *s);

	*out = s;
	if (!s)
		return PGM_FAIL;
	s->schema = strdup(cfg->schema ? cfg->schema : "flsync");
	s->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	s->application = strdup(cfg->application ? cfg->application : "flsync");
	s->lease_stale_s = cfg->lease_stale_s > 0 ? cfg->lease_stale_s : 60;
	s->log = cfg->log;
	s->log_ctx = cfg->log_ctx;
	if (!s->schema || !s->conninfo || !s->application)
		return pgm_fail(s, "out of memory"), PGM_FAIL;
	if (!name_ok(s->schema))
		return pgm_fail(s, "the schema takes a name of 1 to 63 characters"), PGM_USAGE;
	if (cfg->lease_stale_s < 0)
		return pgm_fail(s, "the lease's stale age must be positive"), PGM_USAGE;
	if (!*s->conninfo)
		return pgm_fail(s, "no PostgreSQL connection string"), PGM_USAGE;
	return pgm_connected(s) ? PGM_OK : PGM_FAIL;
}

void pgm_close(struct pgm_sink *s)
{
	if (!s)
		return;
	PQfinish(s->pg);
	free(s->schema);
	free(s->conninfo);
	free(s->application);
	free(s);
}

const char *pgm_errmsg(const struct pgm_sink *s)
{
	return s ? s->err : "out of memory";
}

const char *pgm_schema(const struct pgm_sink *s)
{
	return s->schema;
}

int pgm_mirror(struct pgm_sink *s, struct fl_db *db, const struct pgm_run *run, struct pgm_report *out)
{
	struct pgm_table tables[32];
	char *file_id = NULL;
	double t0 = now_s();
	int rc = PGM_FAIL, n = 0, i;

	s->err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!name_ok(run->account)) {
		pgm_fail(s, "the account takes a name of 1 to 63 characters");
		return PGM_USAGE;
	}
	if (run->holder && !*run->holder) {
		pgm_fail(s, "the lease holder takes a name");
		return PGM_USAGE;
	}
	file_id = pgm_file_id(s, db);
	if (!file_id)
		goto out;
	for (i = 0; i < pgm_table_count && n < (int)(sizeof tables / sizeof *tables); i++) {
		if (!pgm_table_read(s, db, pgm_tables[i], &tables[n]))
			goto out;
		n++;
	}
	if (!pgm_connected(s) || !pgm_schema_sync(s, tables, n))
		goto out;
	rc = pgm_mirror_rows(s, db, run, file_id, tables, n, out);
out:
	for (i = 0; i < n; i++)
		pgm_table_free(&tables[i]);
	free(file_id);
	out->seconds = now_s() - t0;
	return rc;
}

char *pgm_default_account(struct fl_db *db, const char *db_path)
{
	char *copy, *base, *dot;
	struct fl_stmt *st;
	int row = 0;

	if (fl_stmt_prepare(db, "SELECT username FROM users WHERE is_self = 1 AND username <> ''", &st) == FL_OK) {
		char *name = NULL;

		if (fl_stmt_step(st, &row) == FL_OK && row)
			name = strdup(fl_stmt_column_text(st, 0, NULL));
		fl_stmt_finalize(st);
		if (name)
			return name;
	}
	copy = strdup(db_path ? db_path : "flsync.db");
	if (!copy)
		return NULL;
	base = strdup(basename(copy));
	free(copy);
	if (!base)
		return NULL;
	dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	return base;
}
