/*
 * auth_oauth.c — the OAuth 2.0 exchanges behind signing in: one short-lived
 * libcurl handle per token request (they are rare: a login, a refresh every
 * token lifetime), its JSON answer read with yajl's tree parser (a few
 * hundred bytes, capped), PKCE's S256 challenge with OpenSSL's SHA-256, and
 * the parsing of the redirect a browser is sent back with.  The bodies sent
 * and received hold secrets: they are wiped before they are freed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <yajl/yajl_tree.h>

#include "auth_oauth.h"
#include "config.h"

#define TOKEN_BODY_CAP (64 * 1024)     /* a token response is a few hundred bytes */
#define TOKEN_TIMEOUT_MS 30000L
#define TOKEN_CONNECT_TIMEOUT_MS 10000L

void oauth_tokens_free(struct oauth_tokens *t)
{
	if (!t)
		return;
	wipe_free(t->access_token);
	wipe_free(t->refresh_token);
	free(t->token_type);
	free(t->scope);
	memset(t, 0, sizeof *t);
}

struct body {
	struct buf b;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *bd = ud;
	size_t n = size * nmemb;

	if (!buf_append(&bd->b, data, n)) {
		bd->too_big = true;
		return 0;
	}
	return n;
}

/* A string member of the answer, copied; NULL when absent or not a string. */
static char *member_str(yajl_val root, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	return v && v->u.string ? strdup(v->u.string) : NULL;
}

static void member_copy(yajl_val root, const char *name, char *out, size_t n)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	snprintf(out, n, "%s", v && v->u.string ? v->u.string : "");
	/* Descriptions are shown to people: keep them on one line. */
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* expires_in as a number, or as a string some services send. */
static int64_t member_seconds(yajl_val root, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (v && YAJL_IS_INTEGER(v))
		return YAJL_GET_INTEGER(v) > 0 ? YAJL_GET_INTEGER(v) : 0;
	if (v && YAJL_IS_DOUBLE(v))
		return YAJL_GET_DOUBLE(v) > 0 && YAJL_GET_DOUBLE(v) < 1e15 ? (int64_t)YAJL_GET_DOUBLE(v) : 0;
	if (v && YAJL_IS_STRING(v)) {
		char *end;
		const char *t = v->u.string ? v->u.string : "";
		long long s = strtoll(t, &end, 10);

		return end != t && *end == '\0' && s > 0 ? s : 0;
	}
	return 0;
}

static int read_answer(const char *url, struct body *bd, long status, struct oauth_tokens *out,
		       struct oauth_error *oe, struct fl_error *err)
{
	char ebuf[128];
	yajl_val root;
	int rc = FL_OK;

	root = bd->b.len ? yajl_tree_parse(bd->b.data, ebuf, sizeof ebuf) : NULL;
	if (root && !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		root = NULL;
	}
	if (status < 200 || status >= 300) {
		if (root)
			member_copy(root, "error", oe->error, sizeof oe->error);
		if (oe->error[0]) {
			member_copy(root, "error_description", oe->description, sizeof oe->description);
			rc = error_set(err, FL_ERR_API, "POST %s: HTTP %ld: %s%s%s", url, status, oe->error,
				       oe->description[0] ? ": " : "", oe->description);
		} else {
			rc = error_set(err, FL_ERR_HTTP, "POST %s: HTTP %ld and no OAuth error in the answer",
				       url, status);
		}
		goto out;
	}
	if (!root) {
		rc = error_set(err, FL_ERR_PARSE, "POST %s: HTTP %ld: the answer is not a JSON object", url,
			       status);
		goto out;
	}
	out->access_token = member_str(root, "access_token");
	if (!out->access_token || !out->access_token[0] || strpbrk(out->access_token, "\r\n")) {
		oauth_tokens_free(out);
		rc = error_set(err, FL_ERR_PARSE, "POST %s: HTTP %ld: the answer has no usable access_token",
			       url, status);
		goto out;
	}
	out->refresh_token = member_str(root, "refresh_token");
	if (out->refresh_token && (!out->refresh_token[0] || strpbrk(out->refresh_token, "\r\n"))) {
		wipe_free(out->refresh_token);
		out->refresh_token = NULL;
	}
	out->token_type = member_str(root, "token_type");
	out->scope = member_str(root, "scope");
	out->expires_in = member_seconds(root, "expires_in");
	if ((!out->token_type && yajl_tree_get(root, (const char *[]){ "token_type", NULL }, yajl_t_string)) ||
	    (!out->scope && yajl_tree_get(root, (const char *[]){ "scope", NULL }, yajl_t_string))) {
		oauth_tokens_free(out);
		rc = error_set(err, FL_ERR_NOMEM, "POST %s: out of memory", url);
	}
out:
	if (root) {
		/* The tree holds the tokens too: wipe its strings before freeing. */
		const char *names[] = { "access_token", "refresh_token", NULL };

		for (int i = 0; names[i]; i++) {
			const char *path[] = { names[i], NULL };
			yajl_val v = yajl_tree_get(root, path, yajl_t_string);

			if (v && v->u.string)
				explicit_bzero(v->u.string, strlen(v->u.string));
		}
		yajl_tree_free(root);
	}
	return rc;
}

int oauth_token_request(const char *token_url, const char *form, struct oauth_tokens *out,
			struct oauth_error *oe, struct fl_error *err)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct body bd = { 0 };
	CURL *curl = NULL;
	CURLcode cc;
	long status = 0;
	int rc;

	memset(out, 0, sizeof *out);
	memset(oe, 0, sizeof *oe);
	if (!token_url || (strncmp(token_url, "http://", 7) != 0 && strncmp(token_url, "https://", 8) != 0))
		return error_set(err, FL_ERR_MISUSE, "the token URL %s must start with http:// or https://",
				 token_url ? token_url : "(none)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return error_set(err, FL_ERR_NETWORK, "libcurl initialisation failed");
	buf_init(&bd.b, TOKEN_BODY_CAP);
	curl = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (!curl || !hdrs) {
		rc = error_set(err, FL_ERR_NOMEM, "POST %s: out of memory", token_url);
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, token_url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "flsync/" FL_VERSION);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, TOKEN_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TOKEN_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bd);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	oe->status = status;
	switch (cc) {
	case CURLE_OK:
		rc = read_answer(token_url, &bd, status, out, oe, err);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		rc = error_set(err, FL_ERR_TIMEOUT, "POST %s: timed out: %s", token_url,
			       curl_err[0] ? curl_err : curl_easy_strerror(cc));
		break;
	case CURLE_OUT_OF_MEMORY:
		rc = error_set(err, FL_ERR_NOMEM, "POST %s: out of memory", token_url);
		break;
	case CURLE_WRITE_ERROR:
		if (bd.too_big) {
			rc = error_set(err, FL_ERR_TOO_BIG, "POST %s: answer larger than %d bytes", token_url,
				       TOKEN_BODY_CAP);
			break;
		}
		/* fall through */
	default:
		rc = error_set(err, FL_ERR_NETWORK, "POST %s: %s", token_url,
			       curl_err[0] ? curl_err : curl_easy_strerror(cc));
		break;
	}
out:
	if (bd.b.data)
		explicit_bzero(bd.b.data, bd.b.len);
	buf_free(&bd.b);
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	return rc;
}

int oauth_form_add(struct buf *f, const char *key, const char *value)
{
	char *ek = curl_easy_escape(NULL, key, 0), *ev = curl_easy_escape(NULL, value, 0);
	bool ok = ek && ev && buf_printf(f, "%s%s=%s", f->len ? "&" : "", ek, ev);

	if (ev)
		explicit_bzero(ev, strlen(ev));
	curl_free(ek);
	curl_free(ev);
	return ok ? FL_OK : FL_ERR_NOMEM;
}

int oauth_random(char *out, size_t n, struct fl_error *err)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	unsigned char r[256];
	size_t i = 0;

	if (n >= sizeof r)
		return error_set(err, FL_ERR_MISUSE, "random string longer than %zu", sizeof r - 1);
	if (getrandom(r, n, 0) != (ssize_t)n)
		return error_set(err, FL_ERR_IO, "the system has no random bytes to give");
	for (i = 0; i < n; i++)
		out[i] = set[r[i] % 64]; /* 64 of the 66: no bias, 6 bits each */
	out[n] = '\0';
	explicit_bzero(r, sizeof r);
	return FL_OK;
}

int oauth_pkce_challenge(const char *verifier, char out[64], struct fl_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[96];
	int n;

	if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return error_set(err, FL_ERR_NOMEM, "SHA-256 of the PKCE verifier failed");
	n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	/* base64 to base64url, no padding (RFC 7636 appendix A). */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[n] = '\0';
	return FL_OK;
}

/* The decoded value of key in query (a&b=c...), or NULL. */
static char *query_value(const char *query, const char *key, bool *nomem)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			int outlen = 0;
			char *raw = strndup(p + klen + 1, len - klen - 1), *dec, *copy;

			if (!raw) {
				*nomem = true;
				return NULL;
			}
			for (char *c = raw; *c; c++)
				if (*c == '+')
					*c = ' '; /* form encoding */
			dec = curl_easy_unescape(NULL, raw, 0, &outlen);
			wipe_free(raw);
			if (!dec) {
				*nomem = true;
				return NULL;
			}
			copy = strndup(dec, (size_t)outlen);
			explicit_bzero(dec, (size_t)outlen);
			curl_free(dec);
			if (!copy)
				*nomem = true;
			return copy;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

int oauth_reply_parse(const char *reply, char **code, char **state, char **error,
		      char **error_description, struct fl_error *err)
{
	const char *q, *s = reply;
	char *query = NULL;
	bool nomem = false;
	size_t n;

	*code = *state = *error = *error_description = NULL;
	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return error_set(err, FL_ERR_INVALID, "nothing was given: paste the URL the browser was sent to");
	q = memchr(s, '?', n);
	if (!q && !memchr(s, '=', n) && !memchr(s, '/', n)) {
		/* A bare code. */
		*code = strndup(s, n);
		return *code ? FL_OK : error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	query = strndup(q ? q + 1 : s, n - (size_t)(q ? q + 1 - s : 0));
	if (!query)
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	query[strcspn(query, "#")] = '\0';
	*code = query_value(query, "code", &nomem);
	*state = query_value(query, "state", &nomem);
	*error = query_value(query, "error", &nomem);
	*error_description = query_value(query, "error_description", &nomem);
	wipe_free(query);
	if (nomem) {
		wipe_free(*code);
		free(*state);
		free(*error);
		free(*error_description);
		*code = *state = *error = *error_description = NULL;
		return error_set(err, FL_ERR_NOMEM, "out of memory");
	}
	if (!*code && !*error) {
		free(*state);
		free(*error_description);
		*state = *error_description = NULL;
		return error_set(err, FL_ERR_INVALID,
				 "the redirect carries neither a code nor an error: paste the whole URL the browser was sent to");
	}
	return FL_OK;
}
