/*
 * auth_oauth.h — the OAuth 2.0 side of signing in (RFC 6749, PKCE as RFC 7636):
 * the token endpoint's two grants (authorization_code, refresh_token) as
 * form-encoded POSTs, their JSON answers and errors; the random state and
 * PKCE verifier; the authorization URL; the redirect a browser comes back
 * with.  Nothing here writes files or prints, and no message ever holds a
 * token, a code or the client secret.
 */
#ifndef FL_AUTH_OAUTH_H
#define FL_AUTH_OAUTH_H

#include <stdint.h>

#include "buf.h"
#include "error.h"

/* What a successful token response carried; every string the caller's. */
struct oauth_tokens {
	char *access_token;
	char *refresh_token;   /* NULL when the answer had none (keep the old one) */
	char *token_type;      /* "bearer" usually; NULL when absent */
	char *scope;           /* granted scope, NULL when absent (as requested) */
	int64_t expires_in;    /* seconds, 0 when absent (no known expiry) */
};

/* An error answer (RFC 6749 section 5.2). */
struct oauth_error {
	long status;           /* HTTP status, 0 when none arrived */
	char error[64];        /* "invalid_grant", "invalid_client", ... or "" */
	char description[256]; /* error_description, "" when absent */
};

/* Wipes the tokens and frees them; t itself is not freed. */
void oauth_tokens_free(struct oauth_tokens *t);

/*
 * POST form (application/x-www-form-urlencoded) to token_url and read the
 * token response.  Returns FL_OK with *out filled; FL_ERR_API when the
 * service answered an OAuth error (oe->error names it); FL_ERR_HTTP for an
 * error status without one (a 5xx is worth retrying); FL_ERR_PARSE for a
 * 2xx that is no token response; FL_ERR_NETWORK, FL_ERR_TIMEOUT,
 * FL_ERR_TOO_BIG, FL_ERR_NOMEM, FL_ERR_MISUSE (a URL that is not http(s)).
 * err names the URL and what failed, never a token.
 */
int oauth_token_request(const char *token_url, const char *form, struct oauth_tokens *out,
			struct oauth_error *oe, struct fl_error *err);

/* Append key=value, both URL-escaped, to a form or query under construction. */
int oauth_form_add(struct buf *f, const char *key, const char *value);

/* n random characters of the unreserved set [A-Za-z0-9-._~] (getrandom), NUL-terminated. */
int oauth_random(char *out, size_t n, struct fl_error *err);

/* BASE64URL(SHA-256(verifier)) without padding: the S256 code_challenge (43 chars). */
int oauth_pkce_challenge(const char *verifier, char out[64], struct fl_error *err);

/*
 * What came back to the redirect URI: either the whole URL (or just its
 * query, "?code=...&state=...") or a bare code.  *code, *state (NULL when
 * absent or bare), *error and *error_description (NULL unless the service
 * refused) are the caller's.  Returns FL_OK or FL_ERR_INVALID (no code and
 * no error in it), FL_ERR_NOMEM.
 */
int oauth_reply_parse(const char *reply, char **code, char **state, char **error,
		      char **error_description, struct fl_error *err);

#endif
