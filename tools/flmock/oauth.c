/*
 * oauth.c — the simulated Freelancer OAuth service (accounts.freelancer.com
 * in real life): /oauth/authorise consents at once and redirects back with
 * a code; /oauth/token serves the authorization_code and refresh_token
 * grants (RFC 6749) with PKCE checked when a challenge was sent (RFC 7636),
 * refresh tokens that rotate and work once, and the RFC's errors
 * (invalid_client, invalid_grant, ...).  The access tokens it issues are
 * accepted by the API until they expire, after --token-ttl seconds or
 * --token-requests requests; then the API answers 401.  With --accounts N,
 * login=K on /oauth/authorise picks who signs in (default 1): the code and
 * every token issued from it are that account's.  Every call runs under the
 * server's lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "flmock.h"

enum { CODE_TTL = 600 };

struct code {
	char code[40];
	char *redirect_uri;
	char *challenge;           /* NULL: no PKCE */
	char *method;              /* "S256" or "plain" */
	char *scope;
	int64_t expires;
	int account;               /* who logged in: login=K, default 1 */
	bool used;
};

struct token {
	char access[40];
	char refresh[40];
	char *scope;
	int account;               /* the account the API answers for with it */
	int64_t expires_at;        /* server seconds */
	long requests_left;        /* -1: no limit */
	bool refresh_used;         /* rotated away: the refresh token works once */
	bool revoked;              /* by /_mock/oauth/revoke */
};

struct oauth {
	const struct fm_config *cfg;
	struct code *codes;
	size_t ncodes, capcodes;
	struct token *tokens;
	size_t ntokens, captokens;
	/* counters for /_mock/oauth */
	long authorised, authorised_pkce, code_grants, refresh_grants, refused_expired;
	long err_invalid_client, err_invalid_grant, err_invalid_request, err_unsupported;
};

struct oauth *oauth_new(const struct fm_config *cfg)
{
	struct oauth *o = calloc(1, sizeof *o);

	if (!o)
		abort();
	o->cfg = cfg;
	return o;
}

void oauth_free(struct oauth *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->ncodes; i++) {
		free(o->codes[i].redirect_uri);
		free(o->codes[i].challenge);
		free(o->codes[i].method);
		free(o->codes[i].scope);
	}
	for (size_t i = 0; i < o->ntokens; i++)
		free(o->tokens[i].scope);
	free(o->codes);
	free(o->tokens);
	free(o);
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s ? s : "");

	if (!c)
		abort();
	return c;
}

/* prefix + 32 random hex digits. */
static void random_token(char *out, size_t n, const char *prefix)
{
	unsigned char r[16];
	size_t o;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		abort();
	o = (size_t)snprintf(out, n, "%s", prefix);
	for (size_t i = 0; i < sizeof r && o + 2 < n; i++, o += 2)
		snprintf(out + o, n - o, "%02x", r[i]);
}

/* Percent-encode s into b (RFC 3986 unreserved characters stay). */
static void put_escaped(struct fm_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

static void reply_text(struct oauth_reply *out, int status, const char *text)
{
	out->status = status;
	out->ctype = "text/plain; charset=utf-8";
	buf_puts(&out->body, text);
	buf_putc(&out->body, '\n');
}

/* An OAuth error answer of the token endpoint (RFC 6749 section 5.2). */
static void reply_error(struct oauth_reply *out, int status, const char *error, const char *desc)
{
	struct jw w;

	out->status = status;
	out->ctype = "application/json";
	jw_init(&w, &out->body, false);
	jw_obj(&w);
	jw_kstr(&w, "error", error);
	jw_kstr(&w, "error_description", desc);
	jw_end_obj(&w);
}

/* A loopback http redirect URI, as RFC 8252 section 7.3 lets native apps use (any port). */
static bool loopback_uri(const char *u)
{
	return strncmp(u, "http://127.0.0.1:", 17) == 0 || strncmp(u, "http://127.0.0.1/", 17) == 0 ||
	       strncmp(u, "http://localhost:", 17) == 0 || strncmp(u, "http://localhost/", 17) == 0 ||
	       strncmp(u, "http://[::1]:", 13) == 0;
}

/* The path after host[:port] of a loopback URI ("/callback"), "" if none. */
static const char *uri_path(const char *u)
{
	const char *p = strstr(u, "//");

	p = p ? strchr(p + 2, '/') : NULL;
	return p ? p : "";
}

/* The registered redirect URI (--redirect-uri) matches, the port aside for loopback ones. */
static bool redirect_ok(const struct fm_config *cfg, const char *uri)
{
	if (!uri || !*uri)
		return false;
	if (!cfg->redirect_uri)
		return loopback_uri(uri);
	if (strcmp(uri, cfg->redirect_uri) == 0)
		return true;
	return loopback_uri(uri) && loopback_uri(cfg->redirect_uri) &&
	       strcmp(uri_path(uri), uri_path(cfg->redirect_uri)) == 0;
}

static void redirect(struct oauth_reply *out, const char *uri, const char *k1, const char *v1,
		     const char *state)
{
	struct fm_buf loc = { 0 };

	buf_puts(&loc, uri);
	buf_putc(&loc, strchr(uri, '?') ? '&' : '?');
	buf_puts(&loc, k1);
	buf_putc(&loc, '=');
	put_escaped(&loc, v1);
	if (state) {
		buf_puts(&loc, "&state=");
		put_escaped(&loc, state);
	}
	out->location = buf_steal(&loc, NULL);
	out->status = 302;
	out->ctype = "text/plain; charset=utf-8";
	buf_puts(&out->body, "Redirecting back to the application.\n");
}

void oauth_authorise(struct oauth *o, const struct fm_req *r, int64_t now, struct oauth_reply *out)
{
	const char *client = req_param(r, "client_id"), *uri = req_param(r, "redirect_uri");
	const char *state = req_param(r, "state"), *type = req_param(r, "response_type");
	const char *challenge = req_param(r, "code_challenge"), *method = req_param(r, "code_challenge_method");
	const char *login = req_param(r, "login");
	struct code *c;
	long account = 1;

	/* Errors about the client or the redirect are shown, never redirected (section 4.1.2.1). */
	if (!client || strcmp(client, o->cfg->client_id) != 0) {
		reply_text(out, 400, "invalid_client: unknown client_id");
		return;
	}
	if (!redirect_ok(o->cfg, uri)) {
		reply_text(out, 400, "invalid_request: redirect_uri is not registered for this client");
		return;
	}
	if (!type || strcmp(type, "code") != 0) {
		redirect(out, uri, "error", "unsupported_response_type", state);
		return;
	}
	if (challenge && method && strcmp(method, "S256") != 0 && strcmp(method, "plain") != 0) {
		redirect(out, uri, "error", "invalid_request", state);
		return;
	}
	if (login) {
		/* Which of the accounts signs in (the simulated user typing their name). */
		char *end;

		account = strtol(login, &end, 10);
		if (end == login || *end || account < 1 || (size_t)account > o->cfg->world.accounts) {
			redirect(out, uri, "error", "access_denied", state);
			return;
		}
	}
	o->codes = array_reserve(o->codes, o->ncodes + 1, &o->capcodes, sizeof *o->codes);
	c = &o->codes[o->ncodes++];
	memset(c, 0, sizeof *c);
	random_token(c->code, sizeof c->code, "code-");
	c->redirect_uri = xstrdup(uri);
	if (challenge && *challenge && !o->cfg->ignore_pkce) {
		c->challenge = xstrdup(challenge);
		c->method = xstrdup(method ? method : "plain");
	}
	c->scope = xstrdup(req_param(r, "scope") && *req_param(r, "scope") ? req_param(r, "scope") : "basic");
	c->expires = now + CODE_TTL;
	c->account = (int)account;
	o->authorised++;
	if (challenge && *challenge)
		o->authorised_pkce++;
	/* Consent is given at once: the simulated user always agrees. */
	redirect(out, uri, "code", c->code, state);
}

static bool pkce_ok(const struct code *c, const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[96];
	int n;

	if (!c->challenge)
		return true;
	if (!verifier || strlen(verifier) < 43 || strlen(verifier) > 128)
		return false;
	if (strcmp(c->method, "plain") == 0)
		return strcmp(verifier, c->challenge) == 0;
	if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL))
		return false;
	n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	return strcmp(b64, c->challenge) == 0;
}

static void issue(struct oauth *o, const char *scope, int account, int64_t now, struct oauth_reply *out)
{
	struct token *t;
	struct jw w;

	o->tokens = array_reserve(o->tokens, o->ntokens + 1, &o->captokens, sizeof *o->tokens);
	t = &o->tokens[o->ntokens++];
	memset(t, 0, sizeof *t);
	random_token(t->access, sizeof t->access, "at-");
	random_token(t->refresh, sizeof t->refresh, "rt-");
	t->scope = xstrdup(scope);
	t->account = account;
	t->expires_at = now + o->cfg->token_ttl;
	t->requests_left = o->cfg->token_requests > 0 ? o->cfg->token_requests : -1;
	out->status = 200;
	out->ctype = "application/json";
	jw_init(&w, &out->body, false);
	jw_obj(&w);
	jw_kstr(&w, "access_token", t->access);
	jw_kstr(&w, "token_type", "bearer");
	jw_kint(&w, "expires_in", o->cfg->token_ttl);
	jw_kstr(&w, "refresh_token", t->refresh);
	jw_kstr(&w, "scope", t->scope);
	jw_end_obj(&w);
}

void oauth_token(struct oauth *o, const struct fm_req *r, int64_t now, struct oauth_reply *out)
{
	const char *grant = req_param(r, "grant_type"), *client = req_param(r, "client_id");
	const char *secret = req_param(r, "client_secret");

	out->no_store = true;
	if (strcmp(r->method, "POST") != 0) {
		o->err_invalid_request++;
		reply_error(out, 400, "invalid_request", "the token endpoint takes POST");
		return;
	}
	if (!client || strcmp(client, o->cfg->client_id) != 0 ||
	    (o->cfg->client_secret[0] && (!secret || strcmp(secret, o->cfg->client_secret) != 0))) {
		o->err_invalid_client++;
		reply_error(out, 401, "invalid_client", "client authentication failed");
		return;
	}
	if (!grant) {
		o->err_invalid_request++;
		reply_error(out, 400, "invalid_request", "grant_type is missing");
		return;
	}
	if (strcmp(grant, "authorization_code") == 0) {
		const char *code = req_param(r, "code"), *uri = req_param(r, "redirect_uri");
		struct code *c = NULL;

		for (size_t i = 0; code && i < o->ncodes; i++)
			if (strcmp(o->codes[i].code, code) == 0)
				c = &o->codes[i];
		if (!c || c->used || now >= c->expires) {
			o->err_invalid_grant++;
			reply_error(out, 400, "invalid_grant", c ? "the authorization code was used or has expired"
								: "unknown authorization code");
			return;
		}
		c->used = true; /* one try, right or wrong */
		if (!uri || strcmp(uri, c->redirect_uri) != 0) {
			o->err_invalid_grant++;
			reply_error(out, 400, "invalid_grant", "redirect_uri differs from the authorization request's");
			return;
		}
		if (!pkce_ok(c, req_param(r, "code_verifier"))) {
			o->err_invalid_grant++;
			reply_error(out, 400, "invalid_grant", "PKCE verification failed");
			return;
		}
		o->code_grants++;
		issue(o, c->scope, c->account, now, out);
		return;
	}
	if (strcmp(grant, "refresh_token") == 0) {
		const char *rt = req_param(r, "refresh_token");
		struct token *t = NULL;
		char *scope;
		int account;

		for (size_t i = 0; rt && i < o->ntokens; i++)
			if (strcmp(o->tokens[i].refresh, rt) == 0)
				t = &o->tokens[i];
		if (!t || t->refresh_used || t->revoked) {
			o->err_invalid_grant++;
			reply_error(out, 400, "invalid_grant",
				    !t ? "unknown refresh token" : t->revoked ? "the refresh token was revoked"
									  : "the refresh token was already used");
			return;
		}
		t->refresh_used = true;
		o->refresh_grants++;
		scope = xstrdup(t->scope); /* issue() may move the array */
		account = t->account;
		issue(o, scope, account, now, out);
		free(scope);
		return;
	}
	o->err_unsupported++;
	reply_error(out, 400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
}

int oauth_access(struct oauth *o, const char *token, int64_t now)
{
	for (size_t i = 0; i < o->ntokens; i++) {
		struct token *t = &o->tokens[i];

		if (strcmp(t->access, token) != 0)
			continue;
		if (now >= t->expires_at || t->requests_left == 0) {
			o->refused_expired++;
			return -1;
		}
		if (t->requests_left > 0)
			t->requests_left--;
		return t->account;
	}
	return 0;
}

int oauth_account(const struct oauth *o, const char *token)
{
	for (size_t i = 0; i < o->ntokens; i++)
		if (strcmp(o->tokens[i].access, token) == 0)
			return o->tokens[i].account;
	return 0;
}

void oauth_revoke(struct oauth *o)
{
	for (size_t i = 0; i < o->ntokens; i++)
		o->tokens[i].revoked = true;
}

void oauth_expire(struct oauth *o, int64_t now)
{
	for (size_t i = 0; i < o->ntokens; i++)
		if (o->tokens[i].expires_at > now)
			o->tokens[i].expires_at = now;
}

void oauth_stats(const struct oauth *o, struct fm_buf *b)
{
	struct jw w;

	jw_init(&w, b, false);
	jw_obj(&w);
	jw_kint(&w, "authorised", o->authorised);
	jw_kint(&w, "authorised_with_pkce", o->authorised_pkce);
	jw_kint(&w, "authorization_code_grants", o->code_grants);
	jw_kint(&w, "refresh_token_grants", o->refresh_grants);
	jw_kint(&w, "api_refused_expired", o->refused_expired);
	jw_kint(&w, "access_tokens", (int64_t)o->ntokens);
	jw_kobj(&w, "errors");
	jw_kint(&w, "invalid_client", o->err_invalid_client);
	jw_kint(&w, "invalid_grant", o->err_invalid_grant);
	jw_kint(&w, "invalid_request", o->err_invalid_request);
	jw_kint(&w, "unsupported_grant_type", o->err_unsupported);
	jw_end_obj(&w);
	jw_end_obj(&w);
	buf_putc(b, '\n');
}
