/*
 * watch.h — waking up when a database file is written by any process
 * (watch.c, inotify).  Used by fl_changes_wait() in changes.c.
 */
#ifndef FL_WATCH_H
#define FL_WATCH_H

#include <stdbool.h>

#include "error.h"

struct watch;

/*
 * Watch the database at db_path and its WAL.  Returns FL_OK with *out, or
 * FL_ERR_MISUSE (no file), FL_ERR_NOMEM or FL_ERR_IO (inotify refused: the
 * message names the limit) with *out NULL and err set.
 */
int watch_open(const char *db_path, struct watch **out, struct fl_error *err);
void watch_close(struct watch *w);

/*
 * Wait up to timeout_ms (< 0: no limit) for a write to the database or its
 * WAL since the last call; writes to other files of its directory do not
 * end the wait.  Returns 1 when one happened, 0 when the time ran out or a
 * signal cut the wait short (look at the clock and call again), -1 on
 * failure with err set.
 */
int watch_wait(struct watch *w, int timeout_ms, struct fl_error *err);

#endif
