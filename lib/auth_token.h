/*
 * auth_token.h — the credential flsync signs its API requests with, and the token
 * file that keeps it (see README "The token file").
 *
 * A token file is either a bare token on its first line (as before sign-in
 * existed) or a JSON record: the access token, the refresh token, when the
 * access token expires, the token URL, the client id and the path of the
 * client secret's own file (never the secret).  It is written atomically
 * (temporary file, fsync, rename, fsync of the directory) with mode 0600,
 * and refused when its group or others may read or write it, as ssh does.
 *
 * A token source is what an HTTP client asks for the token before each
 * request.  A refreshable one renews the access token shortly before it
 * expires and again after a 401, single-flight across processes: under an
 * exclusive flock on the token file it re-reads the record and only asks the
 * token service when no other process has just done so, because a rotated
 * refresh token works once and two racing refreshes would end the sign-in.
 * An invalid_grant marks the record "needs login" for every process and
 * for `flsync auth status`.  A source is used by one thread at a time.
 */
#ifndef FL_AUTH_TOKEN_H
#define FL_AUTH_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct token_record {
	char *access_token;       /* the credential (required) */
	char *token_type;         /* "bearer", NULL if unknown */
	char *refresh_token;      /* NULL: the record cannot be refreshed */
	int64_t expires_at;       /* unix seconds the access token expires, 0 unknown */
	int64_t obtained_at;      /* unix seconds it was issued, 0 unknown */
	char *scope;              /* granted scopes, space-separated, NULL unknown */
	char *token_url;          /* where refresh_token grants go */
	char *client_id;
	char *client_secret_file; /* the file holding the client secret, NULL for a public client */
	char *api;                /* the API origin the token was checked against, NULL unknown */
	int64_t user_id;          /* the account GET self named at sign-in, 0 unknown */
	char *username;
	char *needs_login;        /* why the sign-in ended (invalid_grant ...), NULL when it has not */
	bool bare;                /* read from a bare-token file: nothing but access_token */
};

/* Wipe the secrets and free every field; r itself is not freed. */
void token_record_free(struct token_record *r);

/* Copy src into *out (deep). */
int token_record_copy(struct token_record *out, const struct token_record *src, struct fl_error *err);

/*
 * Parse a token file's text: a JSON object (first non-blank byte '{') or
 * else a bare token on the first line.  what names the source in messages.
 * Returns FL_OK, FL_ERR_INVALID (empty, malformed, a field of the wrong type,
 * a refresh token without token_url and client_id), FL_ERR_NOMEM.
 */
int token_record_parse(const char *text, size_t len, const char *what, struct token_record *out,
		       struct fl_error *err);

/* The record as the JSON text of a token file (caller frees, wipe first). */
int token_record_format(const struct token_record *r, char **out, struct fl_error *err);

/*
 * Read and parse the token file at path, refusing one its group or others
 * may access, or owned by another user.  Returns FL_OK, FL_ERR_IO (cannot
 * open or read; *missing set when it does not exist, if missing is given),
 * FL_ERR_INVALID (unsafe mode, bad content), FL_ERR_NOMEM.
 */
int token_file_read(const char *path, struct token_record *out, bool *missing, struct fl_error *err);
/* The same of a file open on fd (checked safe first); path names it in errors. */
int token_file_read_fd(int fd, const char *path, struct token_record *out, struct fl_error *err);

/* Write r to path atomically with mode 0600.  Returns FL_OK, FL_ERR_IO, FL_ERR_NOMEM. */
int token_file_write(const char *path, const struct token_record *r, struct fl_error *err);

/*
 * Read the client secret: the first line of path, a file with the token
 * file's safety rules.  *out is the caller's (wipe it).  FL_OK, FL_ERR_IO,
 * FL_ERR_INVALID, FL_ERR_NOMEM.
 */
int token_secret_read(const char *path, char **out, struct fl_error *err);

/* ---- token sources ------------------------------------------------------- */

struct token_source;

/* A fixed token (FLSYNC_TOKEN): never refreshed.  The token is copied. */
int token_source_new_static(const char *token, struct token_source **out, struct fl_error *err);

/* The token file at path, bare or a record (token_file_read's codes). */
int token_source_open_file(const char *path, struct token_source **out, struct fl_error *err);

/* Wipes and frees; NULL is fine. */
void token_source_free(struct token_source *ts);

/*
 * The access token to send now (borrowed until the next call), and its
 * generation, which changes whenever the token does.  A refreshable source
 * whose token is about to expire refreshes first; if that fails the current
 * token is returned anyway (the API's 401 then tells, and the caller's
 * token_source_refresh after it says why).
 */
const char *token_source_current(struct token_source *ts, uint64_t *gen);

/*
 * A source is shared by requests made side by side: current and refresh
 * take its (recursive) lock themselves; a caller that keeps current's
 * pointer holds the lock from before the call until it has copied it.
 */
void token_source_lock(struct token_source *ts);
void token_source_unlock(struct token_source *ts);
/* The generation of the token now, without refreshing it. */
uint64_t token_source_gen(struct token_source *ts);

/* The record can be refreshed, and the sign-in has not ended. */
bool token_source_refreshable(const struct token_source *ts);

/*
 * Renew the access token: the API refused the current one (after_401), or it
 * is about to expire.  Single-flight across processes (see above).  Returns
 * FL_OK when a new token is ready (refreshed here or by another process);
 * FL_ERR_STATE when the source cannot refresh (not a record with a refresh
 * token, or the sign-in has ended: token_source_needs_login());
 * FL_ERR_API when the token service refused (invalid_grant ends the
 * sign-in; invalid_client too, until the client secret is fixed);
 * FL_ERR_NETWORK, FL_ERR_TIMEOUT, FL_ERR_HTTP (worth retrying), FL_ERR_IO,
 * FL_ERR_INVALID (the token file went bad), FL_ERR_NOMEM.
 */
int token_source_refresh(struct token_source *ts, bool after_401, struct fl_error *err);

/*
 * When the sign-in has ended, what to tell the user (naming `flsync auth
 * login` and the token file); NULL while it has not.
 */
const char *token_source_needs_login(const struct token_source *ts);

/* The token file's path, NULL for a static token. */
const char *token_source_path(const struct token_source *ts);

/* Refresh grants this source made, and tokens it took from another process's refresh. */
void token_source_counts(const struct token_source *ts, unsigned *refreshed, unsigned *adopted);

#endif
