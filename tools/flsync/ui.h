/*
 * ui.h — what the files of `flsync ui` share: the server (cmd_ui.c: options,
 * the libmicrohttpd daemon, the per-run token, Host/Origin checks, routing,
 * live updates), the JSON endpoints over the library (ui_api.c) and the
 * embedded page (ui_assets.c, generated from tools/flsync/ui/).
 */
#ifndef FLSYNC_UI_H
#define FLSYNC_UI_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- the endpoints (ui_api.c) --------------------------------------------- */

/* What "sync now" can do, given by the server (cmd_ui.c). */
struct ui_sync_ctl {
	const char *db_path;
};

/*
 * Answer GET /api/NAME (post = 0) or POST /api/NAME (post = 1) on db.
 * Unknown names get 404, bad parameters 400, each with a message; nothing
 * changes unless the answer is 2xx.
 */
void ui_api(struct fl_db *db, const struct ui_sync_ctl *sync, const char *name, int post,
	    const struct ui_args *args, struct ui_reply *out);

#endif
