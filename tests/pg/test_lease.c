/*
 * test_lease.c — account leases of pgmirror against a real PostgreSQL
 * (FL_PG_CONNINFO, a private cluster that test_lease.py starts): two holders,
 * one gets the lease and the other is refused with who holds it; renewals;
 * a stale heartbeat (by PostgreSQL's clock) is taken over, and the old
 * holder is then refused; a stale holder's mirror write is refused in its
 * transaction and writes nothing, while the new holder's goes in; a lease
 * being taken or synced right now is refused at once (SKIP LOCKED), not
 * waited for; release; bad arguments.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "pgmirror.h"

static const char *conninfo(void)
{
	const char *c = getenv("FL_PG_CONNINFO");

	ck_assert_msg(c && *c, "FL_PG_CONNINFO is not set (run test_lease.py)");
	return c;
}

/* A schema of the test's own per case, so that cases never see each other's leases. */
static char schema[64];

static void new_schema(const char *name)
{
	snprintf(schema, sizeof schema, "lease_%s_%ld", name, (long)getpid());
}

static struct pgm_sink *open_sink(double stale)
{
	struct pgm_config cfg = { .conninfo = conninfo(), .schema = schema, .lease_stale_s = stale };
	struct pgm_sink *s = NULL;
	int rc = pgm_open(&cfg, &s);

	ck_assert_msg(rc == PGM_OK, "pgm_open: %s", pgm_errmsg(s));
	return s;
}

/* A raw connection, to look at and to lock rows behind pgmirror's back. */
static PGconn *raw(void)
{
	PGconn *pg = PQconnectdb(conninfo());

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect: %s", PQerrorMessage(pg));
	return pg;
}

/* A query from a format (one at a time: the text lives until the next call). */
static const char *Q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *Q(const char *fmt, ...)
{
	static char q[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	return q;
}

static void sql(PGconn *pg, const char *q)
{
	PGresult *r = PQexec(pg, q);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
		      PQerrorMessage(pg));
	PQclear(r);
}

/* The first column of the first row as a number, -1 without rows. */
static long long count(PGconn *pg, const char *q)
{
	PGresult *r = PQexec(pg, q);
	long long n;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q, PQerrorMessage(pg));
	n = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
	PQclear(r);
	return n;
}

/* A fresh flsync database in a temporary directory, with `ncur` currencies in it. */
static struct fl_db *new_db(char *path, size_t n, int ncur)
{
	char dir[] = "/tmp/fllease.XXXXXX";
	struct fl_db *db;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, n, "%s/acct.db", dir);
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	for (int i = 0; i < ncur; i++) {
		struct fl_stmt *st;
		int row;

		ck_assert_int_eq(fl_stmt_prepare(db, "INSERT INTO currencies(id, code, name) VALUES (?1, 'C' || ?1, 'coin')",
						 &st), FL_OK);
		fl_stmt_bind_int64(st, 1, 100 + i);
		ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
		fl_stmt_finalize(st);
	}
	return db;
}

static void add_currency(struct fl_db *db, int id)
{
	struct fl_stmt *st;
	int row;

	ck_assert_int_eq(fl_stmt_prepare(db, "INSERT INTO currencies(id, code, name) VALUES (?1, 'X', 'new')", &st),
			 FL_OK);
	fl_stmt_bind_int64(st, 1, id);
	ck_assert_int_eq(fl_stmt_step(st, &row), FL_OK);
	fl_stmt_finalize(st);
}

static void remove_db(struct fl_db *db, const char *path)
{
	char p[600];

	fl_db_close(db);
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof p, "%s", path);
	*strrchr(p, '/') = '\0';
	rmdir(p);
}

START_TEST(one_holder_at_a_time)
{
	struct pgm_sink *a, *b;
	struct pgm_lease_info li;

	new_schema("one");
	a = open_sink(60);
	b = open_sink(60);
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", &li), PGM_OK);
	ck_assert_str_eq(li.holder, "host-a:1");
	ck_assert(!li.taken_over);
	/* The other machine is refused, and told who has it. */
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", &li), PGM_LEASE);
	ck_assert_str_eq(li.holder, "host-a:1");
	ck_assert_msg(strstr(pgm_errmsg(b), "leased to host-a:1"), "%s", pgm_errmsg(b));
	ck_assert(li.age_s >= 0 && li.age_s < 30);
	/* Renewing and taking again are the holder's heartbeat. */
	ck_assert_int_eq(pgm_lease_renew(a, "acme", "host-a:1"), PGM_OK);
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", NULL), PGM_OK);
	ck_assert_int_eq(pgm_lease_renew(b, "acme", "host-b:2"), PGM_LEASE);
	ck_assert_msg(strstr(pgm_errmsg(b), "host-a:1 does"), "%s", pgm_errmsg(b));
	/* Another account is free. */
	ck_assert_int_eq(pgm_lease_take(b, "other", "host-b:2", NULL), PGM_OK);
	/* Given up, it goes to the next at once. */
	ck_assert_int_eq(pgm_lease_release(b, "acme", "host-b:2"), PGM_OK); /* not b's: nothing happens */
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", NULL), PGM_LEASE);
	ck_assert_int_eq(pgm_lease_release(a, "acme", "host-a:1"), PGM_OK);
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", &li), PGM_OK);
	ck_assert(!li.taken_over);
	pgm_close(a);
	pgm_close(b);
}
END_TEST

START_TEST(stale_lease_taken_over)
{
	struct pgm_sink *a, *b;
	struct pgm_lease_info li;
	PGconn *pg = raw();

	new_schema("stale");
	a = open_sink(1.0);
	b = open_sink(1.0);
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", NULL), PGM_OK);
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", NULL), PGM_LEASE);
	/* The heartbeat goes stale by the clock that counts, PostgreSQL's... */
	usleep(1300 * 1000);
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", &li), PGM_OK);
	ck_assert(li.taken_over);
	ck_assert_str_eq(li.holder, "host-a:1");
	ck_assert(li.age_s >= 1.0);
	ck_assert_int_eq(count(pg, Q("SELECT generation FROM \"%s\".leases WHERE account = '%s'", schema, "acme")), 2);
	/* ... and the old holder, waking up, holds nothing. */
	ck_assert_int_eq(pgm_lease_renew(a, "acme", "host-a:1"), PGM_LEASE);
	ck_assert_msg(strstr(pgm_errmsg(a), "host-b:2"), "%s", pgm_errmsg(a));
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", &li), PGM_LEASE);
	ck_assert_str_eq(li.holder, "host-b:2");

	/* A heartbeat an hour old on the server's clock is stale whatever this machine's clock says. */
	sql(pg, Q("UPDATE \"%s\".leases SET heartbeat = now() - interval '1 hour' WHERE account = '%s'", schema, "acme"));
	pgm_close(a);
	a = open_sink(60);
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", &li), PGM_OK);
	ck_assert(li.taken_over);
	ck_assert(li.age_s > 3500);
	PQfinish(pg);
	pgm_close(a);
	pgm_close(b);
}
END_TEST

START_TEST(stale_holder_cannot_write)
{
	char pa[512], pb[512];
	struct fl_db *da = new_db(pa, sizeof pa, 3), *db2 = new_db(pb, sizeof pb, 5);
	struct pgm_sink *a, *b;
	struct pgm_run ra = { .account = "acme", .db_path = pa, .holder = "host-a:1" };
	struct pgm_run rb = { .account = "acme", .db_path = pb, .holder = "host-b:2", .take_over = true };
	struct pgm_report rep;
	PGconn *pg = raw();
	long long seq, beat;

	new_schema("write");
	a = open_sink(1.0);
	b = open_sink(1.0);
	/* Without the lease, no write. */
	ck_assert_int_eq(pgm_mirror(a, da, &ra, &rep), PGM_LEASE);
	ck_assert_msg(strstr(pgm_errmsg(a), "nobody does"), "%s", pgm_errmsg(a));
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", NULL), PGM_OK);
	ck_assert_msg(pgm_mirror(a, da, &ra, &rep) == PGM_OK, "%s", pgm_errmsg(a));
	ck_assert(rep.full);
	ck_assert_int_eq(count(pg, Q("SELECT count(*) FROM \"%s\".currencies WHERE account = '%s'", schema, "acme")), 3);
	seq = count(pg, Q("SELECT seq FROM \"%s\".sink_position WHERE account = '%s'", schema, "acme"));

	/* A stops beating; B takes the account over, with its own file. */
	usleep(1300 * 1000);
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", NULL), PGM_OK);

	/* A wakes up with more rows and writes, as if it still held the lease: refused, nothing written. */
	add_currency(da, 900);
	ck_assert_int_eq(pgm_mirror(a, da, &ra, &rep), PGM_LEASE);
	ck_assert_msg(strstr(pgm_errmsg(a), "host-b:2 does") && strstr(pgm_errmsg(a), "nothing was written"), "%s",
		      pgm_errmsg(a));
	ck_assert_int_eq(count(pg, Q("SELECT count(*) FROM \"%s\".currencies WHERE account = '%s'", schema, "acme")), 3);
	ck_assert_int_eq(count(pg, Q("SELECT count(*) FROM \"%s\".currencies WHERE id = 900 AND account = '%s'", schema, "acme")), 0);
	ck_assert_int_eq(count(pg, Q("SELECT seq FROM \"%s\".sink_position WHERE account = '%s'", schema, "acme")), seq);

	/* The new holder's write goes in (its file replaces A's rows: a take-over)... */
	beat = count(pg, Q("SELECT (extract(epoch FROM heartbeat) * 1000)::bigint FROM \"%s\".leases "
			   "WHERE account = '%s'", schema, "acme"));
	usleep(200 * 1000);
	ck_assert_msg(pgm_mirror(b, db2, &rb, &rep) == PGM_OK, "%s", pgm_errmsg(b));
	ck_assert(rep.full);
	ck_assert_int_eq(count(pg, Q("SELECT count(*) FROM \"%s\".currencies WHERE account = '%s'", schema, "acme")), 5);
	/* ... and its heartbeat moved with the write, in the same transaction. */
	ck_assert_int_ge(count(pg, Q("SELECT (extract(epoch FROM heartbeat) * 1000)::bigint FROM \"%s\".leases "
				     "WHERE account = '%s'", schema, "acme")), beat + 150);
	PQfinish(pg);
	pgm_close(a);
	pgm_close(b);
	remove_db(da, pa);
	remove_db(db2, pb);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(busy_lease_is_not_waited_for)
{
	struct pgm_sink *a, *b;
	struct pgm_lease_info li;
	PGconn *pg = raw();
	double t0;

	new_schema("busy");
	a = open_sink(1.0);
	b = open_sink(1.0);
	ck_assert_int_eq(pgm_lease_take(a, "acme", "host-a:1", NULL), PGM_OK);
	usleep(1300 * 1000); /* stale: b could take it over, were a not at work on it */
	/* A holds the row locked, as its mirror transaction does while it writes. */
	sql(pg, "BEGIN");
	sql(pg, Q("SELECT 1 FROM \"%s\".leases WHERE account = '%s' FOR UPDATE", schema, "acme"));
	t0 = now_s();
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", &li), PGM_LEASE);
	ck_assert(now_s() - t0 < 5);
	ck_assert_msg(strstr(pgm_errmsg(b), "syncing it right now") && strstr(pgm_errmsg(b), "host-a:1"), "%s",
		      pgm_errmsg(b));
	sql(pg, "COMMIT");
	ck_assert_int_eq(pgm_lease_take(b, "acme", "host-b:2", &li), PGM_OK);
	ck_assert(li.taken_over);
	PQfinish(pg);
	pgm_close(a);
	pgm_close(b);
}
END_TEST

START_TEST(bad_arguments)
{
	struct pgm_config cfg = { .conninfo = conninfo(), .schema = "" };
	struct pgm_sink *s = NULL;
	char holder[300];

	ck_assert_int_eq(pgm_open(&cfg, &s), PGM_USAGE);
	ck_assert_msg(strstr(pgm_errmsg(s), "schema"), "%s", pgm_errmsg(s));
	pgm_close(s);
	cfg.schema = "flsync";
	cfg.conninfo = "host=/nonexistent/socket/dir dbname=none";
	ck_assert_int_eq(pgm_open(&cfg, &s), PGM_FAIL);
	ck_assert_msg(strstr(pgm_errmsg(s), "cannot connect to PostgreSQL"), "%s", pgm_errmsg(s));
	pgm_close(s);
	new_schema("args");
	s = open_sink(60);
	ck_assert_int_eq(pgm_lease_take(s, "", "h", NULL), PGM_USAGE);
	ck_assert_int_eq(pgm_lease_take(s, "acme", "", NULL), PGM_USAGE);
	memset(holder, 'h', sizeof holder - 1);
	holder[sizeof holder - 1] = '\0';
	ck_assert_int_eq(pgm_lease_take(s, "acme", holder, NULL), PGM_USAGE);
	pgm_default_holder(holder, sizeof holder);
	ck_assert_ptr_nonnull(strchr(holder, ':'));
	ck_assert_int_eq(pgm_lease_take(s, "acme", holder, NULL), PGM_OK);
	pgm_close(s);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		one_holder_at_a_time,
		stale_lease_taken_over,
		stale_holder_cannot_write,
		busy_lease_is_not_waited_for,
		bad_arguments,
		NULL,
	};
	const struct check_case cases[] = {
		{ "lease", tests, .timeout = 120 },
	};

	return check_run(check_suite("pg_lease", cases, sizeof cases / sizeof cases[0]));
}
