/*
 * query_bench.c — read-side latency through libflsync on a database of about
 * 1,000,000 records: p50/p99 of a project by id, a project's bids, a
 * thread's last 50 messages, the account's open bids and an FTS search, each
 * a prepared fl_stmt reset and re-bound per call, every row and column read;
 * then all tables exported to CSV (rows/s); and what the change-feed
 * triggers cost a bulk insert (with them vs. without).
 *
 * usage: bench_query [DB]   DB: an existing flsync database (e.g. one
 *        flsyncd synced from flmock); without it a synthetic one is
 *        generated in $TMPDIR (sizes and shapes below) and removed after.
 *        bench_query --make DB   only generate the synthetic database at DB
 *        bench_query --triggers  only the change-feed trigger cost, 3 times
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flsync.h"

#define SELF 1
#define ITER 3000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_query: %s: %s\n", what, msg);
	exit(1);
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die(sql, err);
}

/*
 * A synthetic account: 20,000 users, 40,000 projects (one or two of 20 jobs
 * each), 480,000 bids (12 per project; the account placed 8,000: 400 won,
 * 80 still open), 40,000 milestones (10,000 on the account's bids),
 * 2,000 milestone requests, 20,000 threads (the account and the project's
 * owner as members) with 400,000 messages (20 each, ~12 words, the
 * account and the other side taking turns: 200,000 replies), 5,000
 * reviews.  About 1,050,000 records, with raw JSON of realistic size.
 */
static const char *const gen_sql[] = {
	"PRAGMA foreign_keys = OFF;"
	"BEGIN;",
	"CREATE TEMP TABLE words(i INTEGER PRIMARY KEY, w TEXT);",
	"INSERT INTO words(w) VALUES ('website'),('design'),('logo'),('python'),('django'),('invoice'),"
	"('deadline'),('milestone'),('payment'),('budget'),('urgent'),('mobile'),('android'),('ios'),"
	"('database'),('sqlite'),('api'),('integration'),('wordpress'),('shopify'),('translation'),"
	"('japanese'),('french'),('video'),('editing'),('animation'),('marketing'),('seo'),('content'),"
	"('writing'),('article'),('blog'),('data'),('entry'),('excel'),('spreadsheet'),('scraping'),"
	"('crawler'),('server'),('linux'),('docker'),('deploy'),('bug'),('crash'),('fix'),('review'),"
	"('feedback'),('revision'),('draft'),('final'),('thanks'),('hello'),('monday'),('friday'),"
	"('schedule'),('call'),('meeting'),('zoom'),('contract'),('hourly'),('fixed'),('price'),"
	"('quote'),('estimate'),('scope'),('feature'),('login'),('checkout'),('cart'),('banner'),"
	"('icon'),('illustration'),('photoshop'),('figma'),('prototype'),('test'),('qa'),('report'),"
	"('chart'),('dashboard'),('analytics'),('email'),('newsletter'),('landing'),('page'),('form'),"
	"('upload'),('download'),('file'),('attachment'),('source'),('code'),('repository'),('branch'),"
	"('merge'),('release'),('version'),('update'),('support'),('maintenance');",
	"INSERT INTO currencies(id, code, name, sign, exchange_rate, raw) VALUES "
	"(1,'USD','US Dollar','$',1,'{}'),(2,'EUR','Euro','€',1.1,'{}'),(3,'GBP','Pound','£',1.3,'{}');",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
	"INSERT INTO users(id, username, display_name, role, country, is_self, raw, synced_at) "
	"SELECT i, 'user' || i, 'User ' || i, CASE WHEN i % 3 THEN 'freelancer' ELSE 'employer' END, 'Country', "
	"i = 1, '{\"id\":' || i || ',\"username\":\"user' || i || '\",\"status\":{\"email_verified\":true},\"reputation\":{\"entire_history\":{\"overall\":4.8,\"reviews\":12}}}', 1700000000 FROM n;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
	"INSERT INTO projects(id, owner_id, title, preview_description, description, type, status, currency_id, "
	"budget_minimum, budget_maximum, bid_count, time_submitted, time_updated, raw, synced_at) "
	"SELECT 1000000 + i, 2 + abs(random()) % 19999, "
	"(SELECT w FROM words WHERE i = 1 + (n.i * 7 + abs(random())) % 100) || ' ' || (SELECT w FROM words WHERE i = 1 + (n.i * 13 + abs(random())) % 100) || ' project', "
	"'Preview', (SELECT group_concat(w, ' ') FROM (SELECT w FROM words WHERE i <> n.i % 1000 ORDER BY random() LIMIT 25)), "
	"CASE WHEN i % 4 THEN 'fixed' ELSE 'hourly' END, CASE WHEN i % 5 THEN 'active' ELSE 'closed' END, 1 + i % 3, "
	"30, 250, 12, 1600000000 + i * 600, 1600000000 + i * 600, printf('{\"id\":%d,\"title\":\"x\",\"description\":\"%s\"}', 1000000 + i, hex(randomblob(150))), 1700000000 FROM n;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 480000) "
	"INSERT INTO bids(id, project_id, bidder_id, project_owner_id, amount, period, description, award_status, "
	"complete_status, retracted, time_submitted, raw, synced_at) "
	"SELECT 5000000 + i, 1000000 + 1 + (i - 1) / 12, CASE WHEN i % 60 = 0 THEN 1 ELSE 2 + abs(random()) % 19999 END, "
	"2, 50 + abs(random()) % 500, 7, 'I can do this', "
	"CASE WHEN i % 6000 = 0 THEN NULL WHEN i % 1200 = 0 THEN 'awarded' ELSE 'rejected' END, "
	"CASE WHEN i % 6000 = 0 THEN 'pending' WHEN i % 1200 = 0 THEN 'complete' ELSE NULL END, 0, 1600000000 + i * 50, printf('{\"id\":%d,\"description\":\"%s\"}', 5000000 + i, hex(randomblob(300))), 1700000000 FROM n;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
	"INSERT INTO milestones(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, status, "
	"time_created, raw, synced_at) "
	"SELECT 9000000 + i, 1000000 + 1 + abs(random()) % 40000, CASE WHEN i % 4 = 0 THEN 5000000 + 60 * (1 + i % 8000) END, "
	"CASE WHEN i % 4 = 0 THEN 1 ELSE 3 END, 2, 1 + i % 3, 100, "
	"CASE WHEN i % 3 THEN 'cleared' ELSE 'pending' END, 1600000000 + i * 700, '{\"transaction_id\":' || i || '}', 1700000000 FROM n;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
	"INSERT INTO milestone_requests(id, project_id, bid_id, bidder_id, project_owner_id, currency_id, amount, status, "
	"time_requested, raw, synced_at) "
	"SELECT 9500000 + i, 1000000 + 60 * i / 12, 5000000 + 60 * i, 1, 2, 1 + i % 3, 50, "
	"CASE WHEN i % 2 THEN 'pending' ELSE 'created' END, 1600000000 + i * 9000, '{}', 1700000000 FROM n;",
	"INSERT INTO jobs(id, name, raw) SELECT i, w, '{}' FROM words WHERE i <= 20;",
	"INSERT INTO project_jobs(project_id, job_id) SELECT id, 1 + id % 20 FROM projects "
	"UNION ALL SELECT id, 1 + (id / 3) % 20 FROM projects WHERE id % 2 AND 1 + (id / 3) % 20 <> 1 + id % 20;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
	"INSERT INTO threads(id, thread_type, context_type, context_id, owner_id, is_read, time_created, time_updated, raw, synced_at) "
	"SELECT 20000000 + i, 'private_chat', 'project', 1000000 + i, 2 + i % 19999, i % 2, 1600000000 + i * 1000, "
	"1600000000 + i * 1000, '{\"id\":' || i || '}', 1700000000 FROM n;",
	"INSERT INTO thread_members(thread_id, user_id) SELECT id, 1 FROM threads "
	"UNION SELECT t.id, p.owner_id FROM threads t JOIN projects p ON p.id = t.context_id;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) "
	"INSERT INTO messages(id, thread_id, from_user_id, message, time_created, time_updated, raw, synced_at) "
	"SELECT 30000000 + i, 20000000 + 1 + (i - 1) % 20000, CASE WHEN ((i - 1) / 20000) % 2 THEN 1 ELSE 2 + i % 19999 END, "
	"(SELECT group_concat(w, ' ') FROM (SELECT w FROM words WHERE i <> n.i % 1000 ORDER BY random() LIMIT 10)) "
	"|| ' term' || (abs(random()) % 20000) || ' ref' || (n.i % 20000), "
	"1600000000 + i * 60, 1600000000 + i * 60, printf('{\"id\":%d,\"message\":\"%s\"}', 30000000 + i, hex(randomblob(100))), 1700000000 FROM n;",
	"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
	"INSERT INTO reviews(project_id, from_user_id, to_user_id, role, rating, description, time_submitted, raw, synced_at) "
	"SELECT 1000000 + i, 2 + i % 19999, 1, 'freelancer', 3 + (i % 5) * 0.5, 'Great work', 1600000000 + i * 3000, '{}', 1700000000 FROM n;",
	/* What a sync batch does at its end (lib/sync_replies.c): the months of reply times the rows made stale. */
	"INSERT INTO reply_months(month, replies, median_reply_s, p90_reply_s) "
	"SELECT month, replies, median_reply_s, p90_reply_s FROM insight_response_monthly "
	"WHERE month IN (SELECT month FROM reply_months_stale);"
	"DELETE FROM reply_months_stale;",
	"COMMIT;",
	NULL,
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef void bind_fn(struct fl_stmt *st, int iter);

static int64_t rows_read;

static void bind_project(struct fl_stmt *st, int i)
{
	(void)i;
	fl_stmt_bind_int64(st, 1, 1000001 + rand() % 40000);
}

static void bind_thread(struct fl_stmt *st, int i)
{
	(void)i;
	fl_stmt_bind_int64(st, 1, 20000001 + rand() % 20000);
}

static void bind_none(struct fl_stmt *st, int i)
{
	(void)st;
	(void)i;
}

/* A common word is in ~10% of messages, two of them together in ~1%. */
static void bind_fts_common(struct fl_stmt *st, int i)
{
	static const char *const words[] = { "invoice", "deadline", "sqlite", "friday", "crash", "docker" };

	fl_stmt_bind_text(st, 1, words[i % 6], -1);
}

static void bind_fts_two(struct fl_stmt *st, int i)
{
	static const char *const words[] = { "deadline friday", "logo design", "docker deploy", "milestone payment" };

	fl_stmt_bind_text(st, 1, words[i % 4], -1);
}

/* A rare term: in ~20 messages, as a name, a number or an unusual word would be. */
static void bind_fts_rare(struct fl_stmt *st, int i)
{
	char term[32];

	snprintf(term, sizeof term, "term%d", (i * 7919) % 20000);
	fl_stmt_bind_text(st, 1, term, -1);
}

/* Time `iter` runs of sql, each reading every column of every row. */
static void measure(struct fl_db *db, const char *name, const char *sql, bind_fn *bind, int iter)
{
	double *t = malloc(sizeof *t * (size_t)iter);
	struct fl_stmt *st;
	int64_t rows = 0;
	int i, row, c, n;

	if (fl_stmt_prepare(db, sql, &st))
		die(name, fl_errmsg(db));
	n = fl_stmt_column_count(st);
	for (i = 0; i < iter; i++) {
		double t0 = now_s();

		fl_stmt_reset(st);
		bind(st, i);
		while (fl_stmt_step(st, &row) == FL_OK && row) {
			for (c = 0; c < n; c++)
				(void)fl_stmt_column_text(st, c, NULL);
			rows++;
		}
		t[i] = now_s() - t0;
	}
	fl_stmt_finalize(st);
	qsort(t, (size_t)iter, sizeof *t, cmp_double);
	printf("  %-28s p50 %8.1f us   p99 %8.1f us   max %8.1f us   (%.1f rows/call)\n", name,
	       t[iter / 2] * 1e6, t[iter * 99 / 100] * 1e6, t[iter - 1] * 1e6, (double)rows / iter);
	rows_read += rows;
	free(t);
}

/* The insight_* views (migrations 014, 016), whole, as flsync report, flsync ui and export --view read them. */
static void insight_views(struct fl_db *db)
{
	static const struct {
		const char *name;
		int iter;
	} views[] = {
		{ "insight_bids", 50 }, { "insight_win_rate", 30 }, { "insight_clients", 30 },
		{ "insight_cashflow_monthly", 50 }, { "insight_response_monthly", 10 },
	};
	size_t k;

	printf("the insight views, every row (SELECT * FROM view):\n");
	for (k = 0; k < sizeof views / sizeof *views; k++) {
		char sql[96];

		snprintf(sql, sizeof sql, "SELECT * FROM %s", views[k].name);
		measure(db, views[k].name, sql, bind_none, views[k].iter);
	}
}

static void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static void export_all(struct fl_db *db, const char *dir)
{
	static const char *const tables[] = {
		"currencies", "users", "projects", "project_jobs", "bids", "milestones", "milestone_requests",
		"reviews", "threads", "thread_members", "messages", "actions", "sync_state",
	};
	double t0 = now_s(), t;
	int64_t rows = 0;
	long bytes = 0;
	size_t k;

	for (k = 0; k < sizeof tables / sizeof *tables; k++) {
		char sql[128], path[1024];
		struct fl_stmt *st;
		FILE *f;
		int row, c, n;

		snprintf(sql, sizeof sql, "SELECT * FROM %s", tables[k]);
		snprintf(path, sizeof path, "%s/%s.csv", dir, tables[k]);
		if (fl_stmt_prepare(db, sql, &st))
			die(sql, fl_errmsg(db));
		f = fopen(path, "w");
		if (!f)
			die(path, "cannot create");
		setvbuf(f, NULL, _IOFBF, 1 << 16);
		n = fl_stmt_column_count(st);
		while (fl_stmt_step(st, &row) == FL_OK && row) {
			for (c = 0; c < n; c++) {
				if (c)
					putc(',', f);
				csv_field(f, fl_stmt_column_text(st, c, NULL));
			}
			fputs("\r\n", f);
			rows++;
		}
		bytes += ftell(f);
		fclose(f);
		unlink(path);
		fl_stmt_finalize(st);
	}
	t = now_s() - t0;
	printf("  export all tables to CSV: %lld rows, %.0f MB in %.2f s = %.0f rows/s (%.0f MB/s)\n",
	       (long long)rows, bytes / 1e6, t, rows / t, bytes / 1e6 / t);
}

/* Bulk insert 200,000 bid rows in 10,000-row transactions, as the sync engine does. */
static double bulk_insert(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0;
	int i;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, "open");
	raw_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;"
		     "INSERT INTO projects(id, title) VALUES (1, 'p')");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO bids(id, project_id, bidder_id, amount, description, raw, synced_at) "
			       "VALUES (?1, 1, 2, 100, 'bid', ?2, 1) ON CONFLICT(id) DO UPDATE SET amount = excluded.amount, "
			       "raw = excluded.raw, synced_at = excluded.synced_at WHERE bids.raw IS NOT excluded.raw",
			       -1, &st, NULL) != SQLITE_OK)
		die("prepare bulk insert", sqlite3_errmsg(db));
	t0 = now_s();
	for (i = 1; i <= 200000; i++) {
		char raw[700];

		if (i % 10000 == 1)
			raw_exec(db, "BEGIN");
		memset(raw, 'x', sizeof raw - 1);
		raw[sizeof raw - 1] = '\0';
		snprintf(raw, 32, "{\"id\":%d,", i);
		raw[strlen(raw)] = 'x';
		sqlite3_bind_int64(st, 1, i);
		sqlite3_bind_text(st, 2, raw, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("bulk insert", sqlite3_errmsg(db));
		sqlite3_reset(st);
		if (i % 10000 == 0)
			raw_exec(db, "COMMIT");
	}
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t0;
}

static void reset_bids(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, "open");
	raw_exec(db, "DELETE FROM bids; DELETE FROM projects; DELETE FROM changes; PRAGMA wal_checkpoint(TRUNCATE); VACUUM");
	sqlite3_close(db);
}

static void trigger_cost(const char *dir)
{
	char a[1024], b[1024];
	struct fl_db *db;
	sqlite3 *raw;
	double with, without;

	snprintf(a, sizeof a, "%s/with.db", dir);
	snprintf(b, sizeof b, "%s/without.db", dir);
	if (fl_db_open(a, FL_OPEN_CREATE, &db) || (fl_db_close(db), fl_db_open(b, FL_OPEN_CREATE, &db)))
		die("create", fl_db_open_errmsg());
	fl_db_close(db);
	if (sqlite3_open(b, &raw) != SQLITE_OK)
		die(b, "open");
	raw_exec(raw, "DROP TRIGGER bids_changes_insert; DROP TRIGGER bids_changes_update; DROP TRIGGER bids_changes_delete;"
		      "DROP TRIGGER bids_changes_rekey; DROP TRIGGER projects_changes_insert;");
	sqlite3_close(raw);
	/* Alternate, twice each, keeping the better: this VM's disk varies run to run. */
	without = bulk_insert(b);
	with = bulk_insert(a);
	{
		double w2, wo2;

		reset_bids(a);
		reset_bids(b);
		w2 = bulk_insert(a);
		wo2 = bulk_insert(b);
		with = w2 < with ? w2 : with;
		without = wo2 < without ? wo2 : without;
	}
	printf("  bulk insert of 200,000 bids (10k rows/transaction): without change triggers %.0f rows/s (%.2f us/row), "
	       "with %.0f rows/s (%.2f us/row): +%.2f us/row (+%.0f%%)\n",
	       200000 / without, without / 200000 * 1e6, 200000 / with, with / 200000 * 1e6,
	       (with - without) / 200000 * 1e6, (with / without - 1) * 100);
	unlink(a);
	unlink(b);
	snprintf(a, sizeof a, "%s/with.db-wal", dir), unlink(a);
	snprintf(a, sizeof a, "%s/with.db-shm", dir), unlink(a);
	snprintf(b, sizeof b, "%s/without.db-wal", dir), unlink(b);
	snprintf(b, sizeof b, "%s/without.db-shm", dir), unlink(b);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[512], path[1024], wal[1100];
	struct fl_db *db;
	bool generated = argc < 2, keep = argc == 3 && !strcmp(argv[1], "--make");
	double t0;

	snprintf(dir, sizeof dir, "%s/flbench.XXXXXX", base);
	if (!mkdtemp(dir))
		die(dir, "mkdtemp");
	if (argc == 2 && !strcmp(argv[1], "--triggers")) {
		/* Only the trigger cost, three times, to see the spread. */
		for (int i = 0; i < 3; i++)
			trigger_cost(dir);
		rmdir(dir);
		return 0;
	}
	if (generated || keep) {
		sqlite3 *raw;

		if (keep)
			snprintf(path, sizeof path, "%s", argv[2]);
		else
			snprintf(path, sizeof path, "%s/bench.db", dir);
		if (fl_db_open(path, FL_OPEN_CREATE, &db))
			die(path, fl_db_open_errmsg());
		fl_db_close(db);
		printf("generating about 1,000,000 records in %s ...\n", path);
		t0 = now_s();
		if (sqlite3_open(path, &raw) != SQLITE_OK)
			die(path, "open");
		raw_exec(raw, "PRAGMA wal_autocheckpoint = 100000");
		for (int i = 0; gen_sql[i]; i++)
			raw_exec(raw, gen_sql[i]);
		raw_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE");
		sqlite3_close(raw);
		printf("  generated in %.1f s\n", now_s() - t0);
		if (keep) {
			rmdir(dir);
			return 0;
		}
	} else {
		snprintf(path, sizeof path, "%s", argv[1]);
	}
	if (fl_db_open(path, FL_OPEN_READONLY, &db))
		die(path, fl_db_open_errmsg());
	{
		struct fl_stmt *st;
		int row;

		if (fl_stmt_prepare(db, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects) + "
				    "(SELECT count(*) FROM bids) + (SELECT count(*) FROM milestones) + "
				    "(SELECT count(*) FROM threads) + (SELECT count(*) FROM messages) + "
				    "(SELECT count(*) FROM reviews)", &st) || fl_stmt_step(st, &row))
			die("count", fl_errmsg(db));
		printf("database %s: %lld records\n", path, (long long)fl_stmt_column_int64(st, 0));
		fl_stmt_finalize(st);
	}
	srand(1);
	printf("latency through libflsync (%d calls each, prepared statement reset and re-bound per call):\n", ITER);
	measure(db, "project by id", "SELECT * FROM projects WHERE id = ?1", bind_project, ITER);
	measure(db, "a project's bids", "SELECT * FROM bids WHERE project_id = ?1 ORDER BY time_submitted",
		bind_project, ITER);
	measure(db, "a thread's last 50 messages",
		"SELECT * FROM messages WHERE thread_id = ?1 ORDER BY time_created DESC, id DESC LIMIT 50", bind_thread,
		ITER);
	measure(db, "the account's open bids", "SELECT * FROM my_active_bids", bind_none, ITER / 10);
	/*
	 * The same rows through bids_bidder alone (the plan before migration 005):
	 * every bid the account ever placed is read to keep the few in play.
	 */
	measure(db, "  same, via bids_bidder only",
		"SELECT b.*, p.title FROM bids b INDEXED BY bids_bidder LEFT JOIN projects p ON p.id = b.project_id "
		"WHERE b.bidder_id = (SELECT id FROM users WHERE is_self = 1) AND b.deleted = 0 "
		"AND coalesce(b.retracted, 0) = 0 AND coalesce(b.award_status, 'pending') IN ('pending', 'awarded') "
		"AND coalesce(b.complete_status, '') <> 'complete'",
		bind_none, ITER / 10);
#define FTS_SQL "SELECT m.id, m.thread_id, snippet(messages_fts, 0, '[', ']', '...', 12) FROM messages_fts " \
		"JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ?1 ORDER BY rank LIMIT 20"
	measure(db, "FTS top 20, rare term", FTS_SQL, bind_fts_rare, ITER);
	measure(db, "FTS top 20, two common words", FTS_SQL, bind_fts_two, ITER / 10);
	measure(db, "FTS top 20, one common word", FTS_SQL, bind_fts_common, ITER / 30);
	/* What `flsync search` does for Chinese/Japanese text: a substring scan of every message. */
	measure(db, "substring scan (CJK search)",
		"SELECT id, thread_id, message FROM messages WHERE message LIKE '%开发%' ESCAPE '\\' "
		"ORDER BY time_created DESC, id DESC LIMIT 20", bind_none, ITER / 100);
	insight_views(db);
	export_all(db, dir);
	fl_db_close(db);
	printf("change feed triggers:\n");
	trigger_cost(dir);
	if (generated) {
		unlink(path);
		snprintf(wal, sizeof wal, "%s-wal", path), unlink(wal);
		snprintf(wal, sizeof wal, "%s-shm", path), unlink(wal);
	}
	rmdir(dir);
	return 0;
}
