/*
 * watch.h — waking up when a database file is written by any process
 * (watch.c, inotify).  Used by fl_changes_wait() in changes.c and
 * fl_actions_wait() in actions_wait.c.
 */
#ifndef FL_WATCH_H
#define FL_WATCH_H

#include <stdbool.h>
#include <stdint.h>

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

/*
 * What watch_until() asks after each write: *done when the waiter's
 * condition holds; *wake_ms (preset to -1) when it should look again on
 * its own within that many milliseconds even with nothing written (a
 * back-off ending).  Returns FL_OK or an FL_* code with its error set.
 */
typedef int (*watch_look_fn)(void *ctx, bool *done, int64_t *wake_ms);

/*
 * Look, then sleep on w until the file is written and look again, until
 * look says done (FL_OK) or timeout_ms (< 0: no limit) passes
 * (FL_ERR_TIMEOUT).  A commit shows a moment after its last write, so
 * after a write that showed nothing it looks a few more times over ~5 s;
 * while nothing is written it still looks every 30 s.  Returns look's
 * failure, or -1's FL code from watch_wait() with err set.
 */
int watch_until(struct watch *w, int timeout_ms, watch_look_fn look, void *ctx, struct fl_error *err);

#endif
