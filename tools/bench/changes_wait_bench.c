/*
 * changes_wait_bench.c — what fl_changes_wait() costs: the wake-up latency
 * after a commit by another process (p50/p99 over N commits at random
 * intervals), the waiting process's CPU per change, and its CPU while idle.
 *
 * usage: bench_changes_wait [N]   (default 300 commits; the database is
 *        made in /tmp and removed after)
 *
 * The writer is a child process with its own SQLite connection.  After each
 * COMMIT returns it sends the CLOCK_MONOTONIC time (one clock for every
 * process of the machine) through a pipe; the waiter takes the time when
 * fl_changes_wait() returns.  A latency below zero means the waiter saw the
 * change before the writer's sqlite3_exec() had returned.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flsync.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_changes_wait: %s: %s\n", what, msg);
	exit(1);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The writer: n commits, each a change, 5-30 ms apart; the time of each after COMMIT. */
static void writer(const char *path, int n, int fd)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int i;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		_exit(1);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO currencies(id, code, name) VALUES (1, 'USD', ?1) "
			       "ON CONFLICT(id) DO UPDATE SET name = excluded.name",
			       -1, &st, NULL) != SQLITE_OK)
		_exit(1);
	srand(7);
	for (i = 0; i < n; i++) {
		struct timespec pause = { 0, (5 + rand() % 26) * 1000000L };
		double t;

		nanosleep(&pause, NULL);
		sqlite3_bind_int(st, 1, i);
		if (sqlite3_step(st) != SQLITE_DONE)
			_exit(2);
		sqlite3_reset(st);
		t = now_s();
		if (write(fd, &t, sizeof t) != (ssize_t)sizeof t)
			_exit(3);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	_exit(0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300, fds[2], i, rc, status, wakes = 0;
	char dir[] = "/tmp/flsync-bench-XXXXXX", path[64], cmd[96];
	struct fl_db *db;
	int64_t since, latest;
	double *lat, t0, c0, idle_cpu, idle_wall, busy_cpu, busy_wall;
	pid_t pid;

	if (n < 2 || !mkdtemp(dir))
		die("setup", n < 2 ? "N must be at least 2" : "mkdtemp failed");
	snprintf(path, sizeof path, "%s/flsync.db", dir);
	if (fl_db_open(path, FL_OPEN_CREATE, &db) != FL_OK)
		die("open", fl_db_open_errmsg());
	lat = calloc((size_t)n, sizeof *lat);
	if (!lat)
		die("setup", "out of memory");

	/* Idle: one wait of 3 s with nothing written. */
	if (fl_changes_latest(db, &since) != FL_OK)
		die("latest", fl_errmsg(db));
	t0 = now_s();
	c0 = cpu_s();
	rc = fl_changes_wait(db, since, 3000, &latest);
	idle_cpu = cpu_s() - c0;
	idle_wall = now_s() - t0;
	if (rc != FL_ERR_TIMEOUT)
		die("idle wait", fl_errmsg(db));

	if (pipe(fds) != 0)
		die("pipe", "failed");
	pid = fork();
	if (pid < 0)
		die("fork", "failed");
	if (pid == 0) {
		close(fds[0]);
		writer(path, n, fds[1]);
	}
	close(fds[1]);
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < n;) {
		double woke, committed;

		rc = fl_changes_wait(db, since, 10000, &latest);
		woke = now_s();
		if (rc != FL_OK)
			die("wait", rc == FL_ERR_TIMEOUT ? "no change within 10 s (a missed wake-up)" : fl_errmsg(db));
		wakes++;
		/* Each commit is one change: match every change seen to its commit. */
		for (; since < latest && i < n; since++, i++) {
			if (read(fds[0], &committed, sizeof committed) != (ssize_t)sizeof committed)
				die("pipe", "the writer stopped early");
			lat[i] = woke - committed;
		}
		since = latest;
	}
	busy_cpu = cpu_s() - c0;
	busy_wall = now_s() - t0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("writer", "failed");
	fl_db_close(db);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_changes_wait: could not remove %s\n", dir);

	qsort(lat, (size_t)n, sizeof *lat, cmp);
	printf("fl_changes_wait: %d commits by another process, 5-30 ms apart\n", n);
	printf("  wake-up after COMMIT returned: p50 %.3f ms, p99 %.3f ms, max %.3f ms, min %.3f ms\n",
	       lat[n / 2] * 1e3, lat[(n * 99) / 100] * 1e3, lat[n - 1] * 1e3, lat[0] * 1e3);
	printf("  %d wake-ups for %d changes; waiter CPU %.3f ms per change (%.2f%% of %.1f s)\n",
	       wakes, n, busy_cpu * 1e3 / n, 100 * busy_cpu / busy_wall, busy_wall);
	printf("  idle: CPU %.3f ms over %.1f s of waiting (%.4f%%)\n", idle_cpu * 1e3, idle_wall,
	       100 * idle_cpu / idle_wall);
	free(lat);
	return 0;
}
