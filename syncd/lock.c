/*
 * lock.c — one flsyncd per database: flock() on "PATH.lock" beside the
 * database, holding the owner's pid for the message a second instance
 * prints.  The database file itself is never locked here: POSIX locks on it
 * would be dropped by SQLite's own close() calls and break its locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "syncd.h"

int syncd_lock_acquire(const char *db_path, int *out_fd)
{
	char *path = NULL, pid[32];
	int fd, rc = SYNCD_EXIT_DB, n;
	ssize_t got;

	*out_fd = -1;
	if (asprintf(&path, "%s.lock", db_path) < 0)
		abort();
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "flsyncd: cannot create lock file %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			/* The holder may not have written its pid yet. */
			got = pread(fd, pid, sizeof pid - 1, 0);
			pid[got > 0 ? got : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			fprintf(stderr, "flsyncd: another flsyncd is syncing %s (pid %s)\n", db_path,
				pid[0] ? pid : "unknown");
			rc = SYNCD_EXIT_LOCKED;
		} else {
			fprintf(stderr, "flsyncd: cannot lock %s: %s\n", path, strerror(errno));
		}
		close(fd);
		goto out;
	}
	/*
	 * The file stays after exit: unlinking it would let a third instance
	 * lock a new file while a second still holds the old one.
	 */
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		fprintf(stderr, "flsyncd: warning: cannot write pid to %s: %s\n", path,
			strerror(errno));
	*out_fd = fd;
	rc = 0;
out:
	free(path);
	return rc;
}

void syncd_lock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor drops the flock */
}
