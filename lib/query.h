/*
 * query.h — what the read-side modules (query.c, changes.c, status.c) share:
 * an error translation that turns a lock wait past the busy timeout into a
 * message a person can act on.
 */
#ifndef FL_QUERY_H
#define FL_QUERY_H

#include "store.h"

/*
 * Like store_error(), but a SQLITE_BUSY/LOCKED says how long it waited and
 * who is likely holding the lock.  Returns the FL_* code.
 */
int query_error(struct fl_db *db, const char *what, ...)
	__attribute__((format(printf, 2, 3)));

#endif
