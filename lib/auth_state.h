/*
 * auth_state.h — the account's sign-in health in the database, so that
 * `flsync status` (and every program reading sync_state) can say "needs
 * login" without the token file: sync_state's row named "auth".
 */
#ifndef FL_AUTH_STATE_H
#define FL_AUTH_STATE_H

#include "store.h"

/* The sync_state stream name of the sign-in row. */
#define AUTH_STATE_STREAM "auth"

/*
 * msg set: the sign-in has ended (the message says what to run).  msg NULL:
 * the API accepted the token again; an existing row is marked good, and
 * none is made.  now is the time to record.  Returns FL_OK or a database
 * code (the message is on db).
 */
int auth_state_record(struct fl_db *db, const char *msg, int64_t now);

#endif
