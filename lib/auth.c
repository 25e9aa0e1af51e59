/*
 * auth.c — the public sign-in calls (flsync.h, "Signing in"): a login's
 * state and PKCE verifier, its authorization URL, the code exchange, the
 * GET self that proves the new token, and writing the token file; saving a
 * personal access token; reading a token file's facts without its tokens.
 * The OAuth exchanges are auth_oauth.c's, the file auth_token.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth_oauth.h"
#include "auth_token.h"
#include "buf.h"

#define SELF_PATH "/api/users/0.1/self/"

static _Thread_local struct fl_error auth_err;

FL_API const char *fl_auth_errmsg(void)
{
	return auth_err.msg;
}

struct fl_login {
	char *api, *token_url, *client_id, *client_secret_file, *redirect_uri, *scope;
	char state[33];
	char verifier[65];
	char *url;
	bool finished;
	int64_t user_id;
	char *username;
};

static bool http_origin(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

/* origin without trailing slashes + path; NULL on OOM. */
static char *join(const char *origin, const char *path)
{
	size_t n = strlen(origin);
	char *out;

	while (n > 0 && origin[n - 1] == '/')
		n--;
	if (asprintf(&out, "%.*s%s", (int)n, origin, path) < 0)
		return NULL;
	return out;
}

static char *strdup_or_null(const char *s, bool *nomem)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*nomem = true;
	return c;
}

FL_API void fl_login_free(struct fl_login *l)
{
	if (!l)
		return;
	free(l->api);
	free(l->token_url);
	free(l->client_id);
	free(l->client_secret_file);
	free(l->redirect_uri);
	free(l->scope);
	free(l->url);
	free(l->username);
	explicit_bzero(l, sizeof *l);
	free(l);
}

FL_API int fl_login_begin(const struct fl_login_options *opt, struct fl_login **out)
{
	const char *api, *auth, *redirect, *scope;
	char challenge[64], *authorise = NULL, *secret_abs = NULL;
	struct fl_login *l = NULL;
	struct buf q;
	bool nomem = false;
	int rc;

	error_clear(&auth_err);
	buf_init(&q, 0);
	if (!out)
		return error_set(&auth_err, FL_ERR_MISUSE, "fl_login_begin: out is NULL");
	*out = NULL;
	if (!opt || !opt->client_id || !*opt->client_id)
		return error_set(&auth_err, FL_ERR_MISUSE, "a login needs the app's client id");
	api = opt->api && *opt->api ? opt->api : FL_AUTH_DEFAULT_API;
	auth = opt->auth && *opt->auth ? opt->auth
	       : strncmp(api, FL_AUTH_SANDBOX_API, strlen(FL_AUTH_SANDBOX_API)) == 0 ? FL_AUTH_SANDBOX_ORIGIN
										  : FL_AUTH_DEFAULT_ORIGIN;
	redirect = opt->redirect_uri && *opt->redirect_uri ? opt->redirect_uri : FL_AUTH_DEFAULT_REDIRECT;
	scope = opt->scope && *opt->scope ? opt->scope : FL_AUTH_DEFAULT_SCOPE;
	if (!http_origin(api) || !http_origin(auth) || !http_origin(redirect))
		return error_set(&auth_err, FL_ERR_MISUSE,
				 "the API origin, the OAuth origin and the redirect URI must start with http:// or https://");
	if (opt->client_secret_file) {
		/* The token file names the secret's file: it must resolve from any directory. */
		char *secret = NULL;

		secret_abs = realpath(opt->client_secret_file, NULL);
		if (!secret_abs)
			return error_set(&auth_err, FL_ERR_IO, "client secret file %s: %s", opt->client_secret_file,
					 strerror(errno));
		/* Say now, not after the browser, that the secret cannot be read. */
		rc = token_secret_read(secret_abs, &secret, &auth_err);
		wipe_free(secret);
		if (rc) {
			free(secret_abs);
			return rc;
		}
	}
	l = calloc(1, sizeof *l);
	if (!l) {
		free(secret_abs);
		return error_set(&auth_err, FL_ERR_NOMEM, "out of memory");
	}
	l->client_secret_file = secret_abs;
	l->api = strdup_or_null(api, &nomem);
	l->token_url = join(auth, "/oauth/token");
	authorise = join(auth, "/oauth/authorise");
	l->client_id = strdup_or_null(opt->client_id, &nomem);
	l->redirect_uri = strdup_or_null(redirect, &nomem);
	l->scope = strdup_or_null(scope, &nomem);
	if (nomem || !l->token_url || !authorise) {
		rc = error_set(&auth_err, FL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* state: 32 chars (192 bits); verifier: 64 chars (RFC 7636 asks 43 to 128). */
	rc = oauth_random(l->state, 32, &auth_err);
	if (!rc)
		rc = oauth_random(l->verifier, 64, &auth_err);
	if (!rc)
		rc = oauth_pkce_challenge(l->verifier, challenge, &auth_err);
	if (rc)
		goto fail;
	if (oauth_form_add(&q, "response_type", "code") || oauth_form_add(&q, "client_id", l->client_id) ||
	    oauth_form_add(&q, "redirect_uri", l->redirect_uri) || oauth_form_add(&q, "scope", l->scope) ||
	    oauth_form_add(&q, "state", l->state) || oauth_form_add(&q, "code_challenge", challenge) ||
	    oauth_form_add(&q, "code_challenge_method", "S256") ||
	    asprintf(&l->url, "%s%c%s", authorise, strchr(authorise, '?') ? '&' : '?', q.data) < 0) {
		l->url = NULL;
		rc = error_set(&auth_err, FL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	buf_free(&q);
	free(authorise);
	*out = l;
	return FL_OK;
fail:
	buf_free(&q);
	free(authorise);
	fl_login_free(l);
	return rc;
}

FL_API const char *fl_login_url(const struct fl_login *l)
{
	return l ? l->url : NULL;
}

FL_API int64_t fl_login_user_id(const struct fl_login *l)
{
	return l ? l->user_id : 0;
}

FL_API const char *fl_login_username(const struct fl_login *l)
{
	return l ? l->username : NULL;
}

struct self_ctx {
	int64_t id;
	char *username;
};

static int on_self(void *ctx, const struct json_item *it)
{
	struct self_ctx *s = ctx;
	const char *name;
	size_t len;

	json_int(it, "id", &s->id);
	if (json_str(it, "username", &name, &len)) {
		free(s->username);
		s->username = strndup(name, len);
		if (!s->username)
			return FL_ERR_NOMEM;
	}
	return FL_OK;
}

/* GET self with token on api: the account, or why the API would not say. */
static int check_self(const char *api, const char *token, struct self_ctx *self, struct fl_error *err)
{
	struct http_config hc = { .base_url = api, .token = token };
	struct http_client *c = NULL;
	struct api_result res;
	int rc;

	memset(self, 0, sizeof *self);
	rc = http_client_new(&hc, &c, err);
	if (rc)
		return rc;
	rc = api_call(c, "GET", SELF_PATH, NULL, NULL, 0, NULL, NULL, on_self, self, &res, err);
	http_client_free(c);
	if (rc && (res.http.status == 401 || res.http.status == 403))
		return error_prefix(err, "the API at %s refused the token", api), FL_ERR_API;
	if (rc)
		return error_prefix(err, "check the token with the API at %s", api);
	if (self->id <= 0) {
		free(self->username);
		self->username = NULL;
		return error_set(err, FL_ERR_PARSE, "GET %s%s answered without the account's id", api, SELF_PATH);
	}
	return FL_OK;
}

FL_API int fl_login_finish(struct fl_login *l, const char *reply, const char *token_file)
{
	char *code = NULL, *state = NULL, *error = NULL, *desc = NULL, *secret = NULL;
	struct oauth_tokens tok = { 0 };
	struct token_record rec = { 0 };
	struct self_ctx self = { 0 };
	struct oauth_error oe;
	struct buf form;
	int64_t now;
	int rc;

	error_clear(&auth_err);
	buf_init(&form, 0);
	if (!l || !reply || !token_file || !*token_file)
		return error_set(&auth_err, FL_ERR_MISUSE, "fl_login_finish: a login, a reply and a token file are needed");
	if (l->finished)
		return error_set(&auth_err, FL_ERR_MISUSE, "this login was already finished: begin another");
	l->finished = true; /* a state is good for one try, right or wrong */
	rc = oauth_reply_parse(reply, &code, &state, &error, &desc, &auth_err);
	if (rc)
		goto out;
	/* A reply that came as a URL must carry our state: else it may be someone else's (CSRF). */
	if ((state || error || strchr(reply, '?') || strchr(reply, '=')) &&
	    (!state || strcmp(state, l->state) != 0)) {
		rc = error_set(&auth_err, FL_ERR_INVALID,
			       "the redirect's state %s this login's: refusing it (it may come from another login, "
			       "or someone else's); run the login again",
			       state ? "differs from" : "is missing, so it cannot be matched to");
		goto out;
	}
	if (error) {
		rc = error_set(&auth_err, FL_ERR_API, "the OAuth service refused the login: %s%s%s", error,
			       desc ? ": " : "", desc ? desc : "");
		goto out;
	}
	if (l->client_secret_file) {
		rc = token_secret_read(l->client_secret_file, &secret, &auth_err);
		if (rc)
			goto out;
	}
	if (oauth_form_add(&form, "grant_type", "authorization_code") || oauth_form_add(&form, "code", code) ||
	    oauth_form_add(&form, "redirect_uri", l->redirect_uri) || oauth_form_add(&form, "client_id", l->client_id) ||
	    (secret && oauth_form_add(&form, "client_secret", secret)) ||
	    oauth_form_add(&form, "code_verifier", l->verifier)) {
		rc = error_set(&auth_err, FL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = oauth_token_request(l->token_url, form.data, &tok, &oe, &auth_err);
	if (rc) {
		error_prefix(&auth_err, "exchange the authorization code");
		goto out;
	}
	rc = check_self(l->api, tok.access_token, &self, &auth_err);
	if (rc)
		goto out;
	now = (int64_t)time(NULL);
	rec.access_token = tok.access_token;
	rec.refresh_token = tok.refresh_token;
	rec.token_type = tok.token_type;
	rec.scope = tok.scope ? tok.scope : l->scope;
	rec.obtained_at = now;
	rec.expires_at = tok.expires_in > 0 ? now + tok.expires_in : 0;
	rec.token_url = l->token_url;
	rec.client_id = l->client_id;
	rec.client_secret_file = l->client_secret_file;
	rec.api = l->api;
	rec.user_id = self.id;
	rec.username = self.username;
	rc = token_file_write(token_file, &rec, &auth_err);
	if (rc)
		goto out;
	l->user_id = self.id;
	l->username = self.username;
	self.username = NULL;
out:
	free(self.username);
	oauth_tokens_free(&tok);
	wipe_free(code);
	free(state);
	free(error);
	free(desc);
	wipe_free(secret);
	if (form.data)
		explicit_bzero(form.data, form.len);
	buf_free(&form);
	return rc;
}

FL_API int fl_token_save(const char *token_file, const char *api, const char *token)
{
	struct token_record rec = { 0 };
	struct self_ctx self = { 0 };
	int rc;

	error_clear(&auth_err);
	if (!token_file || !*token_file)
		return error_set(&auth_err, FL_ERR_MISUSE, "no token file given");
	if (!token || !*token)
		return error_set(&auth_err, FL_ERR_INVALID, "the token is empty");
	if (strpbrk(token, "\r\n"))
		return error_set(&auth_err, FL_ERR_INVALID, "the token contains a line break");
	api = api && *api ? api : FL_AUTH_DEFAULT_API;
	rc = check_self(api, token, &self, &auth_err);
	if (rc)
		return rc;
	rec.access_token = (char *)token;
	rec.api = (char *)api;
	rec.obtained_at = (int64_t)time(NULL);
	rec.user_id = self.id;
	rec.username = self.username;
	rc = token_file_write(token_file, &rec, &auth_err);
	free(self.username);
	return rc;
}

struct info_alloc {
	struct fl_token_info pub;
	struct token_record rec;
};

FL_API int fl_token_info_read(const char *token_file, struct fl_token_info **out)
{
	struct info_alloc *a;
	int rc;

	error_clear(&auth_err);
	if (!out)
		return error_set(&auth_err, FL_ERR_MISUSE, "fl_token_info_read: out is NULL");
	*out = NULL;
	if (!token_file)
		return error_set(&auth_err, FL_ERR_MISUSE, "no token file given");
	a = calloc(1, sizeof *a);
	if (!a)
		return error_set(&auth_err, FL_ERR_NOMEM, "out of memory");
	rc = token_file_read(token_file, &a->rec, NULL, &auth_err);
	if (rc) {
		free(a);
		return rc;
	}
	/* Only the facts leave: the tokens are wiped now. */
	wipe_free(a->rec.access_token);
	wipe_free(a->rec.refresh_token);
	a->pub.refreshable = a->rec.refresh_token != NULL;
	a->rec.access_token = a->rec.refresh_token = NULL;
	a->pub.bare = a->rec.bare;
	a->pub.expires_at = a->rec.expires_at;
	a->pub.obtained_at = a->rec.obtained_at;
	a->pub.user_id = a->rec.user_id;
	a->pub.username = a->rec.username;
	a->pub.scope = a->rec.scope;
	a->pub.api = a->rec.api;
	a->pub.token_url = a->rec.token_url;
	a->pub.client_id = a->rec.client_id;
	a->pub.client_secret_file = a->rec.client_secret_file;
	a->pub.needs_login = a->rec.needs_login;
	*out = &a->pub;
	return FL_OK;
}

FL_API void fl_token_info_free(struct fl_token_info *info)
{
	struct info_alloc *a = (struct info_alloc *)info;

	if (!a)
		return;
	token_record_free(&a->rec);
	free(a);
}

FL_API int fl_token_refresh(const char *token_file)
{
	struct token_source *ts = NULL;
	int rc;

	error_clear(&auth_err);
	if (!token_file)
		return error_set(&auth_err, FL_ERR_MISUSE, "no token file given");
	rc = token_source_open_file(token_file, &ts, &auth_err);
	if (rc)
		return rc;
	if (token_source_needs_login(ts))
		rc = error_set(&auth_err, FL_ERR_STATE, "%s", token_source_needs_login(ts));
	else
		rc = token_source_refresh(ts, false, &auth_err);
	token_source_free(ts);
	return rc;
}
