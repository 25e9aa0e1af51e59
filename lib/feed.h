/*
 * feed.h — what the change feed's modules share (changes.c reads the feed,
 * feed_consumers.c keeps named positions, feed_trim.c coalesces and prunes,
 * compact.c gives freed pages back).  Invariants, kept by all of them and by
 * migration 011's trigger: seq only grows (the newest change is never
 * deleted); every change after feed_state.pruned_through is either kept or
 * covered by a newer kept change of the same row; no change at or after a
 * held position (a registered consumer's, a sink's) is pruned, and the
 * change at a held position is never coalesced (sinks compare it).
 */
#ifndef FL_FEED_H
#define FL_FEED_H

#include <stdint.h>

#include "store.h"

/* Every position held: registered consumers and sinks, as (name, position) rows. */
#define FEED_HELD_SQL \
	"SELECT name, position FROM feed_consumers UNION ALL " \
	"SELECT stream, cursor FROM sync_state WHERE stream LIKE 'sink.%' AND cursor IS NOT NULL"

/* One integer from a one-row query binding arg to ?1 if it has one; 0 when no row or NULL. */
int feed_int(struct fl_db *db, const char *sql, int64_t arg, int64_t *out);

/* The newest seq ever given (pruning and coalescing keep that row). */
int feed_latest(struct fl_db *db, int64_t *out);

/* feed_state.pruned_through: a `since` older than this may have lost changes. */
int feed_horizon(struct fl_db *db, int64_t *out);

#endif
