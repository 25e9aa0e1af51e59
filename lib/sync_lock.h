/*
 * sync_lock.h — the sync lock of a database file (sync_lock.c): an
 * open-file-description lock on "<database>.lock" that names its holder.
 */
#ifndef FL_SYNC_LOCK_H
#define FL_SYNC_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* A lock held: the lock file's descriptor and identity. */
struct sync_lock {
	int fd;        /* -1 when none is held */
	dev_t dev;
	ino_t ino;
};

/* Take the lock of db_path's file, never waiting: FL_OK, FL_ERR_LOCKED, FL_ERR_IO, FL_ERR_NOMEM. */
int sync_lock_take(struct sync_lock *lk, const char *db_path, struct fl_error *err);
void sync_lock_drop(struct sync_lock *lk);

/* Write into lk's file when the holder's next pass is due: FL_OK, FL_ERR_STATE (not held), FL_ERR_IO. */
int sync_lock_note_next(struct sync_lock *lk, int64_t next_at);

/* Whether lk is the lock of db_path's file. */
bool sync_lock_covers(const struct sync_lock *lk, const char *db_path);

#endif
