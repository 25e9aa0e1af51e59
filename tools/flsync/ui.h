/*
 * ui.h — what the files of `flsync ui` share: the server (cmd_ui.c: options,
 * the libmicrohttpd daemon, the per-run token, Host/Origin checks, routing,
 * live updates), the JSON endpoints over the library (ui_api.c) and the
 * embedded page (ui_assets.c, generated from tools/flsync/ui/).
 */
#ifndef FLSYNC_UI_H
#define FLSYNC_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "flsync.h"
#include "tool.h"

/* ---- the embedded page (ui_assets.c, by embed.py from ui/) ------------------ */

extern const struct tool_asset ui_assets[];
extern const size_t ui_assets_count;

/* ---- one answer ------------------------------------------------------------ */

/* What an endpoint answers: an HTTP status and a JSON body (malloc'd). */
struct ui_reply {
	unsigned status;
	char *body;
	size_t len;
};

/* A JSON error {"error": msg} with status; returns status. */
unsigned ui_error(struct ui_reply *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The request's parameters: the query string (GET) or the form (POST). */
struct ui_args {
	const char *(*get)(void *ctx, const char *name); /* NULL when absent */
	void *ctx;
};

/* ---- where it listens (ui_listen.c) ---------------------------------------- */

/* Parse HOST:PORT into a loopback socket address; false (with a message) otherwise. */
bool ui_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, bool *v6);
/* 32 random bytes in hex, the run's token; false when there is no randomness. */
bool ui_make_token(char out[65]);
/*
 * A socket bound and listening on ss (its port, if 0, filled in), and the
 * Host values it answers to appended to hosts; -1 with errno set when it
 * cannot be.
 */
int ui_listen_socket(struct sockaddr_storage *ss, socklen_t sslen, bool v6, char hosts[][64], int *nhosts);

/* ---- the endpoints (ui_api.c) --------------------------------------------- */

/* GET /api/insight: the Insights page's figures (ui_insight.c). */
void ui_insight(struct fl_db *db, const struct ui_args *a, struct ui_reply *rep);

/* ---- "sync now" (ui_sync.c) ------------------------------------------------ */

struct ui_syncer;

/*
 * What "sync now" can use for the database at db_path: flsyncd when it
 * syncs the file, else a pass run here when api is given (the token from
 * token_file, or FLSYNC_TOKEN).  *out is made even on failure (free it);
 * a failure returns an FL_* code with err saying what is wrong.
 */
/* Whether flsync ui sends queued actions itself (it has --api) when no flsyncd does. */
bool ui_syncer_sends(struct ui_syncer *s);
/* Why action a is still queued, in words for the app's toast. */
void ui_syncer_why(struct ui_syncer *s, const struct fl_action_info *a, char *out, size_t len);
int ui_syncer_new(const char *db_path, const char *api, const char *token_file,
		  struct ui_syncer **out, char *err, size_t errlen);
/* Stops a pass in flight at its next batch, waits for it, frees. */
void ui_syncer_free(struct ui_syncer *s);

/*
 * Start a pass now: SIGUSR1 to the flsyncd holding the sync lock (*out_pid
 * its pid), or a pass on a thread here.  Returns the HTTP status to answer:
 * 202 started, 409 cannot (no syncer, one already running), 500; msg says
 * which.
 */
unsigned ui_syncer_start(struct ui_syncer *s, char *msg, size_t msglen, long *out_pid);

/* `"flsyncd_pid":N,"sync":{...}` for the status endpoint. */
void ui_syncer_json(struct ui_syncer *s, FILE *f);

/*
 * Answer GET /api/NAME (post = 0) or POST /api/NAME (post = 1) on db.
 * Unknown names get 404, bad parameters 400, each with a message; nothing
 * changes unless the answer is 2xx.
 */
void ui_api(struct fl_db *db, struct ui_syncer *sync, const char *name, int post,
	    const struct ui_args *args, struct ui_reply *out);

#endif
