/*
 * sync_lock.c — the sync lock: one syncer per database file.
 *
 * The lock is an open-file-description lock (F_OFD_SETLK) on the whole of
 * "<database>.lock", which holds the holder's pid.  Like flock() it belongs
 * to the open file, so two handles in one process exclude each other too,
 * and it is gone when the process ends however it ends; unlike flock() it can
 * be asked about (F_OFD_GETLK) without being taken, so a program checking
 * who syncs never makes a starting flsyncd fail.  A second line, "next T",
 * says when the holder's next pass is due (unix seconds, local clock), for
 * flsync status.  The file stays after
 * use: unlinking it would let a third process lock a new file while a
 * second still holds the old one.
 */
/* F_OFD_SETLK and F_OFD_GETLK need _GNU_SOURCE, which the build defines. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync_lock.h"

static char *lock_path(const char *db_path)
{
	char *path = NULL;

	return asprintf(&path, "%s.lock", db_path) < 0 ? NULL : path;
}

/* The pid the lock file names, 0 when it names none. */
static long lock_pid(int fd)
{
	char buf[32];
	ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
	char *end;
	long pid;

	if (got <= 0)
		return 0;
	buf[got] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && (*end == '\n' || !*end) && pid > 0 ? pid : 0;
}

static struct flock lock_whole(short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
	return fl;
}

int sync_lock_take(struct sync_lock *lk, const char *db_path, struct fl_error *err)
{
	char *path = lock_path(db_path), pid[32];
	struct flock fl = lock_whole(F_WRLCK);
	struct stat st;
	int fd, n;

	lk->fd = -1;
	if (!path)
		return error_set(err, FL_ERR_NOMEM, "sync lock: out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			error_set(err, FL_ERR_READONLY, "cannot create lock file %s: %s: syncing writes the "
				  "database, its lock and its WAL files, so the directory and the file must be "
				  "writable by the user syncing (chmod u+w both, or run as their owner), or use "
				  "another --db", path, strerror(errno));
		else
			error_set(err, FL_ERR_IO, "cannot create lock file %s: %s", path, strerror(errno));
		free(path);
		return err->rc;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		if (errno == EAGAIN || errno == EACCES) {
			long holder = lock_pid(fd);

			if (holder > 0)
				error_set(err, FL_ERR_LOCKED, "another process is syncing %s (pid %ld)", db_path, holder);
			else
				error_set(err, FL_ERR_LOCKED, "another process is syncing %s (pid unknown)", db_path);
		} else {
			error_set(err, FL_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
		}
		close(fd);
		free(path);
		return err->rc;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	/* A lock without its pid still locks; only the name of the holder is lost. */
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		error_clear(err);
	if (fstat(fd, &st) != 0) {
		error_set(err, FL_ERR_IO, "cannot stat lock file %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return err->rc;
	}
	free(path);
	lk->fd = fd;
	lk->dev = st.st_dev;
	lk->ino = st.st_ino;
	return FL_OK;
}

void sync_lock_drop(struct sync_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd); /* closing the description drops its lock */
	lk->fd = -1;
}

bool sync_lock_covers(const struct sync_lock *lk, const char *db_path)
{
	char *path;
	struct stat st;
	bool same;

	if (lk->fd < 0 || !(path = lock_path(db_path)))
		return false;
	same = stat(path, &st) == 0 && st.st_dev == lk->dev && st.st_ino == lk->ino;
	free(path);
	return same;
}

/*
 * Whether anyone holds db_path's sync lock, asked without taking it: FL_OK
 * with *fd the lock file open read-only when it exists (else -1, never
 * locked, so nobody holds it) and *held; FL_ERR_NOMEM or FL_ERR_IO.
 */
static int lock_probe(const char *db_path, int *fd, bool *held)
{
	struct flock fl = lock_whole(F_WRLCK);
	char *path = lock_path(db_path);

	*held = false;
	if (!path)
		return FL_ERR_NOMEM;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (*fd < 0)
		return errno == ENOENT ? FL_OK : FL_ERR_IO;
	/* F_OFD_GETLK asks without taking; a read-only descriptor may ask about a write lock. */
	if (fcntl(*fd, F_OFD_GETLK, &fl) != 0) {
		close(*fd);
		*fd = -1;
		return FL_ERR_IO;
	}
	*held = fl.l_type != F_UNLCK;
	return FL_OK;
}

FL_API int fl_sync_lock_holder(const char *db_path, int64_t *out_pid)
{
	bool held;
	int fd, rc;

	if (out_pid)
		*out_pid = 0;
	if (!db_path || !out_pid)
		return FL_ERR_MISUSE;
	if ((rc = lock_probe(db_path, &fd, &held)) != FL_OK || fd < 0)
		return rc;
	if (held) {
		long pid = lock_pid(fd);

		*out_pid = pid > 0 ? pid : -1;
	}
	close(fd);
	return FL_OK;
}

int sync_lock_note_next(struct sync_lock *lk, int64_t next_at)
{
	char buf[64];
	int n;

	if (lk->fd < 0)
		return FL_ERR_STATE;
	n = snprintf(buf, sizeof buf, "%ld\nnext %lld\n", (long)getpid(), (long long)next_at);
	/* The pid line comes first and whole: a reader never sees a file without it. */
	if (pwrite(lk->fd, buf, (size_t)n, 0) != n || ftruncate(lk->fd, n) != 0)
		return FL_ERR_IO;
	return FL_OK;
}

FL_API int fl_sync_lock_next_pass(const char *db_path, int64_t *out_at)
{
	char buf[96], *next, *end;
	ssize_t got;
	bool held;
	int fd, rc;

	if (out_at)
		*out_at = 0;
	if (!db_path || !out_at)
		return FL_ERR_MISUSE;
	if ((rc = lock_probe(db_path, &fd, &held)) != FL_OK || fd < 0)
		return rc;
	if (held && (got = pread(fd, buf, sizeof buf - 1, 0)) > 0) {
		buf[got] = '\0';
		if ((next = strstr(buf, "\nnext ")) != NULL) {
			long long at = strtoll(next + 6, &end, 10);

			if (end != next + 6 && (*end == '\n' || !*end) && at > 0)
				*out_at = at;
		}
	}
	close(fd);
	return rc;
}
