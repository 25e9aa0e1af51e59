/*
 * sync_bench.c — how fast flsyncd syncs a large world, against a ceiling
 * measured in the same run: the very pages flsyncd fetched, fetched again raw
 * with libcurl into memory over one keep-alive connection, plus the very
 * records it stored inserted raw into plain tables (each record's columns
 * and raw JSON, the primary key and two secondary indexes a table, no
 * constraints, triggers or full-text index) with prepared statements in
 * 10,000-row transactions.  The same rows inserted raw into flsync's own
 * schema (every table, with its indexes, CHECKs, full-text and change-feed
 * triggers firing row by row as for any writer) give the schema's cost as a
 * figure of its own.  Prints records/s, sync time over ceiling time,
 * requests against ceil(records/100), peak RSS, and the time of an
 * incremental pass and of a full re-read of the unchanged world.
 *
 * usage: bench_sync FLSYNCD FLMOCK [SCALE]   (SCALE defaults to 1000000)
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flsync.h"

#define TOKEN "bench"

static const char *const tables[] = {
	"currencies", "job_categories", "jobs", "users", "projects", "project_jobs", "bids",
	"milestones", "milestone_requests", "reviews", "threads", "thread_members", "messages",
};
#define NTABLES (sizeof tables / sizeof tables[0])

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_sync: %s\n", what);
	exit(1);
}

/* Start flmock; returns its pid and fills url. */
static pid_t start_mock(const char *flmock, const char *scale, char *url, size_t urlsz)
{
	int fds[2];
	pid_t pid;
	FILE *f;
	char line[256];

	if (pipe(fds))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(flmock, flmock, "--port", "0", "--seed", "1", "--token", TOKEN, "--scale", scale,
		      "--rate-scale", "1000000", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof line, f) || strncmp(line, "listening on ", 13) != 0)
		die("flmock did not start");
	line[strcspn(line, "\n")] = '\0';
	snprintf(url, urlsz, "%s", line + 13);
	return pid;
}

struct run {
	double seconds;
	long max_rss_kb;
	int status;
};

/* Run flsyncd --once with -v, its stderr into log; wall time and peak RSS. */
static struct run run_sync(const char *flsyncd, const char *db, const char *url, const char *log)
{
	struct run r = { 0 };
	struct rusage ru;
	double t0 = now_s();
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = fopen(log, "w");
		if (!f)
			_exit(126);
		dup2(fileno(f), 2);
		setenv("FLSYNC_TOKEN", TOKEN, 1);
		execl(flsyncd, flsyncd, "--db", db, "--api", url, "--once", "-v", (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &r.status, 0, &ru) < 0)
		die("wait4");
	r.seconds = now_s() - t0;
	r.max_rss_kb = ru.ru_maxrss;
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
		fprintf(stderr, "bench_sync: flsyncd failed (status %d); see %s\n", r.status, log);
		exit(1);
	}
	return r;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	size_t *total = ud;
	(void)p;
	*total += size * n;
	return size * n;
}

/* Fetch every "GET /api/..." the log names, raw, over one connection. */
static double fetch_raw(const char *url, const char *log, long *out_requests, size_t *out_bytes)
{
	char line[16384], full[17000];
	FILE *f = fopen(log, "r");
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Freelancer-OAuth-V1: " TOKEN);
	double t0;
	long n = 0;

	if (!f || !c || !h)
		die("fetch_raw setup");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out_bytes);
	t0 = now_s();
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, "GET /api/");

		if (!p)
			continue;
		p[strcspn(p, "\r\n")] = '\0';
		snprintf(full, sizeof full, "%s%s", url, p + 4);
		curl_easy_setopt(c, CURLOPT_URL, full);
		if (curl_easy_perform(c) != CURLE_OK)
			die("raw fetch failed");
		n++;
	}
	t0 = now_s() - t0;
	fclose(f);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	*out_requests = n;
	return t0;
}

/*
 * Copy the rows of src.table that match `where` into main.table, one
 * INSERT each, committing every 10,000 rows (*in_tx counts them across
 * tables); *rows grows by the rows copied.
 */
static void copy_rows(sqlite3 *db, const char *table, const char *where, long long *rows, long long *in_tx)
{
	sqlite3_stmt *sel, *ins;
	char sql[1024], marks[512] = "";
	int ncol;

	snprintf(sql, sizeof sql, "SELECT * FROM src.%s WHERE %s", table, where);
	if (sqlite3_prepare_v2(db, sql, -1, &sel, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	ncol = sqlite3_column_count(sel);
	for (int i = 0; i < ncol; i++)
		strcat(marks, i ? ",?" : "?");
	snprintf(sql, sizeof sql, "INSERT INTO main.%s VALUES (%s)", table, marks);
	if (sqlite3_prepare_v2(db, sql, -1, &ins, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	while (sqlite3_step(sel) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(sel, i));
		if (sqlite3_step(ins) != SQLITE_DONE)
			die(sqlite3_errmsg(db));
		sqlite3_reset(ins);
		(*rows)++;
		if (++*in_tx == 10000) {
			sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL);
			*in_tx = 0;
		}
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
}

/*
 * Insert every row of the synced database into an empty flsync schema, raw:
 * the schema's own cost, its triggers firing row by row as for any writer.
 */
static double insert_raw(const char *synced, const char *target, long long *out_rows)
{
	struct fl_db *fdb;
	sqlite3 *db;
	double t0;
	long long rows = 0, in_tx = 0;

	unlink(target);
	if (fl_db_open(target, FL_OPEN_CREATE, &fdb) != FL_OK)
		die(fl_db_open_errmsg());
	fl_db_close(fdb);
	if (sqlite3_open(target, &db) != SQLITE_OK)
		die("open target");
	{
		char *attach = sqlite3_mprintf("ATTACH %Q AS src", synced);
		sqlite3_exec(db, attach, NULL, NULL, NULL);
		sqlite3_free(attach);
	}
	/* The same connection settings flsyncd runs its pass with. */
	sqlite3_exec(db, "PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; "
		     "PRAGMA cache_size = -8000; PRAGMA wal_autocheckpoint = 20000", NULL, NULL, NULL);
	t0 = now_s();
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t t = 0; t < NTABLES; t++)
		copy_rows(db, tables[t], "1", &rows, &in_tx);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t0 = now_s() - t0;
	sqlite3_close(db);
	*out_rows = rows;
	return t0;
}

/* The record tables, the records in them, and the two columns each plain copy indexes. */
static const struct {
	const char *table, *where, *index1, *index2;
} plain_tables[] = {
	{ "users", "raw IS NOT NULL", "username", "primary_currency_id" },
	{ "projects", "raw IS NOT NULL", "owner_id", "time_submitted" },
	{ "bids", "raw IS NOT NULL", "project_id", "bidder_id" },
	{ "milestones", "1", "project_id", "bid_id" },
	{ "milestone_requests", "1", "project_id", "bid_id" },
	{ "reviews", "1", "to_user_id", "from_user_id" },
	{ "threads", "raw IS NOT NULL", "time_updated", "context_id" },
	{ "messages", "1", "thread_id", "time_created" },
};
#define NPLAIN (sizeof plain_tables / sizeof plain_tables[0])

/*
 * Insert every record of the synced database into plain tables of the same
 * columns: id the primary key (reviews: the rowid), two secondary indexes,
 * nothing else.  What SQLite alone costs for these rows on this machine.
 */
static double insert_plain(const char *synced, const char *target, long long *out_rows)
{
	sqlite3 *db;
	char sql[4096];
	double t0;
	long long rows = 0, in_tx = 0;

	unlink(target);
	if (sqlite3_open(target, &db) != SQLITE_OK)
		die("open plain target");
	{
		char *attach = sqlite3_mprintf("ATTACH %Q AS src", synced);
		if (sqlite3_exec(db, attach, NULL, NULL, NULL) != SQLITE_OK)
			die(sqlite3_errmsg(db));
		sqlite3_free(attach);
	}
	/* The connection settings flsyncd runs its pass with. */
	sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; "
		     "PRAGMA cache_size = -8000; PRAGMA wal_autocheckpoint = 20000", NULL, NULL, NULL);
	for (size_t t = 0; t < NPLAIN; t++) {
		sqlite3_stmt *cols;
		size_t len;

		snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s', 'src') ORDER BY cid",
			 plain_tables[t].table);
		if (sqlite3_prepare_v2(db, sql, -1, &cols, NULL) != SQLITE_OK)
			die(sqlite3_errmsg(db));
		len = (size_t)snprintf(sql, sizeof sql, "CREATE TABLE main.%s (", plain_tables[t].table);
		for (int i = 0; sqlite3_step(cols) == SQLITE_ROW; i++) {
			const char *c = (const char *)sqlite3_column_text(cols, 0);
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s%s", i ? ", " : "", c,
						strcmp(c, "id") == 0 ? " INTEGER PRIMARY KEY" : "");
		}
		sqlite3_finalize(cols);
		snprintf(sql + len, sizeof sql - len, "); CREATE INDEX %s_1 ON %s(%s); CREATE INDEX %s_2 ON %s(%s);",
			 plain_tables[t].table, plain_tables[t].table, plain_tables[t].index1,
			 plain_tables[t].table, plain_tables[t].table, plain_tables[t].index2);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			die(sqlite3_errmsg(db));
	}
	t0 = now_s();
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t t = 0; t < NPLAIN; t++)
		copy_rows(db, plain_tables[t].table, plain_tables[t].where, &rows, &in_tx);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t0 = now_s() - t0;
	sqlite3_close(db);
	*out_rows = rows;
	return t0;
}

static long long count(const char *dbpath, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

int main(int argc, char **argv)
{
	char url[256], dir[] = "/tmp/flbench.XXXXXX", db[300], db2[300], db3[300], log[300], log2[300];
	const char *scale = argc > 3 ? argv[3] : "1000000";
	struct run first, again, reread;
	long requests, raw_requests;
	long long records, raw_rows, plain_rows, min_requests;
	size_t bytes = 0;
	double fetch_s, insert_s, plain_s, ceiling;
	pid_t mock;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_sync FLSYNCD FLMOCK [SCALE]\n");
		return 2;
	}
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(db, sizeof db, "%s/sync.db", dir);
	snprintf(db2, sizeof db2, "%s/raw.db", dir);
	snprintf(db3, sizeof db3, "%s/plain.db", dir);
	snprintf(log, sizeof log, "%s/first.log", dir);
	snprintf(log2, sizeof log2, "%s/again.log", dir);
	setenv("XDG_CONFIG_HOME", dir, 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	mock = start_mock(argv[2], scale, url, sizeof url);
	printf("world: flmock --scale %s at %s\n", scale, url);
	fflush(stdout);

	first = run_sync(argv[1], db, url, log);
	records = count(db, "SELECT (SELECT count(*) FROM projects WHERE raw IS NOT NULL) + "
			"(SELECT count(*) FROM bids WHERE raw IS NOT NULL) + (SELECT count(*) FROM milestones) + "
			"(SELECT count(*) FROM milestone_requests) + (SELECT count(*) FROM reviews) + "
			"(SELECT count(*) FROM threads WHERE raw IS NOT NULL) + (SELECT count(*) FROM messages) + "
			"(SELECT count(*) FROM users WHERE raw IS NOT NULL)");
	requests = (long)count(db, "SELECT sum(requests) FROM sync_state");
	min_requests = (records + 99) / 100;

	fetch_s = fetch_raw(url, log, &raw_requests, &bytes);
	plain_s = insert_plain(db, db3, &plain_rows);
	insert_s = insert_raw(db, db2, &raw_rows);
	ceiling = fetch_s + plain_s;

	again = run_sync(argv[1], db, url, log2);
	/* A full re-read of the unchanged world: forget the cursors, keep the rows. */
	{
		sqlite3 *h;
		if (sqlite3_open(db, &h) != SQLITE_OK ||
		    sqlite3_exec(h, "DELETE FROM sync_state", NULL, NULL, NULL) != SQLITE_OK)
			die("reset cursors");
		sqlite3_close(h);
	}
	reread = run_sync(argv[1], db, url, log2);

	kill(mock, SIGTERM);
	waitpid(mock, NULL, 0);

	printf("records synced:          %lld (%lld rows in all tables)\n", records, raw_rows);
	printf("full sync:               %.2f s, %.0f records/s\n", first.seconds,
	       (double)records / first.seconds);
	printf("ceiling (same run):      %.2f s = raw fetch %.2f s (%ld requests, %.1f MB) + plain insert %.2f s (%lld records)\n",
	       ceiling, fetch_s, raw_requests, (double)bytes / 1e6, plain_s, plain_rows);
	printf("plain insert:            %.0f records/s (columns + raw JSON, primary key, two indexes a table)\n",
	       (double)plain_rows / plain_s);
	printf("flsync schema insert:    %.2f s for all %lld rows, %.1fx the plain insert (indexes, CHECKs, FTS and change-feed triggers row by row)\n",
	       insert_s, raw_rows, insert_s / plain_s);
	printf("sync time / ceiling:     %.2f (target <= 1.2)\n", first.seconds / ceiling);
	printf("requests:                %ld, minimum ceil(records/100) = %lld, %.3fx the minimum (target <= 1.02x)\n",
	       requests, min_requests, (double)requests / (double)min_requests);
	printf("peak RSS of flsyncd:     %.1f MB (target <= 32 MB)\n", (double)first.max_rss_kb / 1024.0);
	printf("incremental pass:        %.2f s (%.0fx faster than the first sync)\n", again.seconds,
	       first.seconds / again.seconds);
	printf("full re-read, unchanged: %.2f s, %.0f records/s (target >= 150k), peak RSS %.1f MB\n",
	       reread.seconds, (double)records / reread.seconds, (double)reread.max_rss_kb / 1024.0);
	fflush(stdout);

	unlink(db2);
	unlink(db3);
	unlink(log);
	unlink(log2);
	{
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_sync: could not remove %s\n", dir);
	}
	curl_global_cleanup();
	return 0;
}
