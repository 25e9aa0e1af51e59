/*
 * watch.c — waking up when a database file is written by any process.
 *
 * A commit in WAL mode appends to "<db>-wal"; a checkpoint writes "<db>"
 * itself; the last connection to close deletes the WAL and the next one
 * creates it again.  So the watch is an inotify watch on the database's
 * directory, filtered to those two names, with IN_MODIFY for writes and
 * IN_CREATE/IN_MOVED_TO for a WAL (or a database) that appears.  A wake-up
 * only says "look again": the caller decides with the change feed (or the
 * queue of actions) whether anything was committed; watch_until() is that
 * loop, with the looks a commit needs to become visible.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

struct watch {
	int fd;        /* the inotify instance, non-blocking */
	char *base;    /* the database's file name, without its directory */
	size_t base_len;
};

int watch_open(const char *db_path, struct watch **out, struct fl_error *err)
{
	struct watch *w;
	const char *slash;
	char *dir;

	*out = NULL;
	if (!db_path || !*db_path)
		return error_set(err, FL_ERR_MISUSE,
				 "wait for changes: the database has no file (an in-memory database)");
	w = calloc(1, sizeof *w);
	if (!w)
		return error_set(err, FL_ERR_NOMEM, "wait for changes: out of memory");
	slash = strrchr(db_path, '/');
	dir = slash ? strndup(db_path, slash == db_path ? 1 : (size_t)(slash - db_path)) : strdup(".");
	w->base = strdup(slash ? slash + 1 : db_path);
	if (!dir || !w->base) {
		free(dir);
		watch_close(w);
		return error_set(err, FL_ERR_NOMEM, "wait for changes: out of memory");
	}
	w->base_len = strlen(w->base);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 ||
	    inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		int e = errno;

		error_set(err, e == ENOMEM ? FL_ERR_NOMEM : FL_ERR_IO,
			  "wait for changes: cannot watch %s: %s%s", dir, strerror(e),
			  e == ENOSPC || e == EMFILE
				  ? " (the inotify limits are reached: see fs.inotify.max_user_watches and max_user_instances)"
				  : "");
		free(dir);
		watch_close(w);
		return err->rc;
	}
	free(dir);
	*out = w;
	return FL_OK;
}

void watch_close(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->base);
	free(w);
}

/* Whether an event's name is the database or its WAL. */
static bool ours(const struct watch *w, const struct inotify_event *ev)
{
	size_t n;

	if (ev->mask & IN_Q_OVERFLOW)
		return true; /* events were lost: look again to be safe */
	if (!ev->len)
		return false;
	n = strlen(ev->name);
	if (n < w->base_len || memcmp(ev->name, w->base, w->base_len) != 0)
		return false;
	return n == w->base_len || strcmp(ev->name + w->base_len, "-wal") == 0;
}

/* Read every queued event; true when one of them concerns the database. */
static bool drain(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof buf)) > 0) {
		char *p = buf;

		while (p < buf + n) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			hit = hit || ours(w, ev);
			p += sizeof *ev + ev->len;
		}
	}
	return hit;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int watch_wait(struct watch *w, int timeout_ms, struct fl_error *err)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1, left;
	int n;

	if (drain(w))
		return 1;
	/* Writes to other files of the directory (a log, other databases) wait on here. */
	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			return 0; /* a signal: the caller looks at the feed and its clock */
		if (n < 0) {
			error_set(err, FL_ERR_IO, "wait for changes: poll: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (drain(w))
			return 1;
	}
}

#define WAIT_SAFETY_MS 30000

int watch_until(struct watch *w, int timeout_ms, watch_look_fn look, void *ctx, struct fl_error *err)
{
	/* After a write: look again at once, then further apart, ~5 s in all. */
	static const int settle_ms[] = { 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000, 1000, 1000 };
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0, left;
	int rc, settle = -1; /* index into settle_ms after a write, -1 when none is settling */

	for (;;) {
		int64_t wake = -1;
		bool done = false;

		if ((rc = look(ctx, &done, &wake)))
			return rc;
		if (done)
			return FL_OK;
		left = timeout_ms < 0 ? -1 : deadline - now_ms();
		if (timeout_ms >= 0 && left <= 0)
			return FL_ERR_TIMEOUT;
		/*
		 * A writer's last write() to the WAL comes a moment before its
		 * commit is visible (SQLite then updates the wal-index in shared
		 * memory, which makes no file event; a writer with
		 * synchronous=FULL fsyncs first).  So after a write that showed
		 * nothing new, look again a few times, further apart, before
		 * sleeping until the next write; and, against a commit that took
		 * longer still to show, look every WAIT_SAFETY_MS while nothing
		 * is written.
		 */
		if (settle >= 0 && (left < 0 || left > settle_ms[settle]))
			left = settle_ms[settle];
		else if (settle < 0 && (left < 0 || left > WAIT_SAFETY_MS))
			left = WAIT_SAFETY_MS;
		if (wake >= 0 && wake < left)
			left = wake;
		switch (watch_wait(w, (int)left, err)) {
		case 1:
			settle = 0;
			break;
		case 0:
			if (settle >= 0 && ++settle == (int)(sizeof settle_ms / sizeof *settle_ms))
				settle = -1;
			break;
		default:
			return err->rc;
		}
	}
}
