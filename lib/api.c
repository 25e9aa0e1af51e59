/*
 * api.c — an API call end to end: request, streaming parse, verdict.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "ratelimit.h"

static int sink(void *ctx, const char *data, size_t len)
{
	struct api_sink *s = ctx;

	if (!s->started) {
		/* Headers are in: items of an error response are never handed over. */
		s->started = true;
		json_parser_deliver(s->parser, s->resp->status >= 200 && s->resp->status < 300);
	}
	return json_parser_feed(s->parser, data, len);
}

/* " (ProjectExceptionCodes.DUPLICATE_BID: You have already bid)" or "". */
static void api_detail(const struct json_envelope *env, char *out, size_t outsz)
{
	if (env->error_code[0] && env->message[0])
		snprintf(out, outsz, ": %s: %s", env->error_code, env->message);
	else if (env->error_code[0] || env->message[0])
		snprintf(out, outsz, ": %s", env->error_code[0] ? env->error_code : env->message);
	else
		out[0] = '\0';
}

int api_xfer_begin(struct http_client *c, struct api_xfer *x, void *easy, const char *method,
		   const char *path_query, const char *content_type, const char *body, size_t body_len,
		   const char *collection, const struct json_limits *limits, json_item_fn fn, void *ctx,
		   struct api_result *out, struct fl_error *err)
{
	int rc;

	memset(x, 0, sizeof *x);
	x->out = out;
	memset(out, 0, sizeof *out);
	out->env.total_count = out->env.unfiltered_count = -1;
	rc = json_parser_new(collection, limits, fn, ctx, &x->parser, err);
	if (rc)
		return rc;
	x->sink.parser = x->parser;
	x->sink.resp = &out->http;
	rc = http_xfer_begin(c, &x->http, easy, method, path_query, content_type, body, body_len, sink,
			     &x->sink, &out->http);
	if (rc) {
		error_copy(err, &x->http.err);
		api_xfer_drop(x);
	}
	return rc;
}

void api_xfer_drop(struct api_xfer *x)
{
	http_xfer_drop(&x->http);
	json_parser_free(x->parser);
	x->parser = NULL;
}

int api_xfer_end(struct api_xfer *x, int curl_code, struct fl_error *err)
{
	struct api_result *out = x->out;
	const char *method = x->http.method, *path_query = x->http.path;
	struct json_parser *parser = x->parser;
	char detail[700];
	long status;
	int rc, prc;

	rc = http_xfer_end(&x->http, curl_code);
	status = out->http.status;
	if (rc != FL_OK && !json_parser_errmsg(parser)[0]) {
		/* Transport failure: nothing reached the parser's judgement. */
		error_copy(err, &x->http.err);
		goto out;
	}
	/* The parser (or fn) stopped the body part-way, or the body is whole. */
	prc = rc != FL_OK ? rc : json_parser_finish(parser);
	out->env = *json_parser_envelope(parser);
	api_detail(&out->env, detail, sizeof detail);

	if (status >= 200 && status < 300) {
		if (prc)
			rc = error_set(err, prc, "%s %s: HTTP %ld: %s", method, path_query, status,
				       json_parser_errmsg(parser));
		else if (strcmp(out->env.status, "success") != 0)
			rc = error_set(err, FL_ERR_API, "%s %s: HTTP %ld with status \"%s\"%s",
				       method, path_query, status, out->env.status, detail);
		goto out;
	}
	if (status == 429)
		rc = FL_ERR_RATE_LIMITED;
	else if (prc == FL_OK && status == 404)
		rc = FL_ERR_NOT_FOUND;
	else if (prc == FL_OK)
		rc = FL_ERR_API;
	else
		rc = FL_ERR_HTTP;
	if (prc == FL_OK || rc == FL_ERR_RATE_LIMITED)
		error_set(err, rc, "%s %s: HTTP %ld%s", method, path_query, status,
			  prc == FL_OK ? detail : "");
	else
		error_set(err, rc, "%s %s: HTTP %ld and no API error envelope: %s", method,
			  path_query, status, json_parser_errmsg(parser));
out:
	if (rc != FL_OK && !out->env.status[0])
		out->env = *json_parser_envelope(parser);
	json_parser_free(parser);
	x->parser = NULL;
	return rc;
}

static int api_call_once(struct http_client *c, const char *method, const char *path_query,
			 const char *content_type, const char *body, size_t body_len,
			 const char *collection, const struct json_limits *limits,
			 json_item_fn fn, void *ctx, struct api_result *out, struct fl_error *err)
{
	struct api_xfer x;
	int rc;

	rc = api_xfer_begin(c, &x, http_easy(c), method, path_query, content_type, body, body_len,
			    collection, limits, fn, ctx, out, err);
	if (rc)
		return rc;
	return api_xfer_end(&x, http_easy_perform(c), err);
}

bool api_needs_reauth(struct http_client *c, const struct api_result *r)
{
	return r->http.status == 401 && http_can_reauth(c);
}

int api_reauth(struct http_client *c, const char *method, const char *path_query, int rc,
	       struct fl_error *err)
{
	struct fl_error rerr = { 0 };
	int rrc = http_reauth(c, &rerr);

	if (rrc == FL_OK)
		return FL_OK;
	if (rrc == FL_ERR_NETWORK || rrc == FL_ERR_TIMEOUT || rrc == FL_ERR_HTTP || rrc == FL_ERR_NOMEM)
		/* The token service could not be reached or failed: worth another try later. */
		return error_set(err, rrc == FL_ERR_HTTP ? FL_ERR_NETWORK : rrc, "%s %s: HTTP 401, and %s",
				 method, path_query, rerr.msg);
	/* The sign-in has ended (or the file went bad): the 401 stands, with the reason. */
	error_set(err, rc, "%s %s: HTTP 401: %s", method, path_query, rerr.msg);
	return rc;
}

int api_call(struct http_client *c, const char *method, const char *path_query,
	     const char *content_type, const char *body, size_t body_len,
	     const char *collection, const struct json_limits *limits,
	     json_item_fn fn, void *ctx, struct api_result *out, struct fl_error *err)
{
	int rc;

	rc = api_call_once(c, method, path_query, content_type, body, body_len, collection, limits, fn,
			   ctx, out, err);
	if (!api_needs_reauth(c, out))
		return rc;
	if (api_reauth(c, method, path_query, rc, err) != FL_OK)
		return err->rc;
	return api_call_once(c, method, path_query, content_type, body, body_len, collection,
			     limits, fn, ctx, out, err);
}

bool api_transient(int rc, const struct api_result *r)
{
	switch (rc) {
	case FL_ERR_NETWORK:
	case FL_ERR_TIMEOUT:
	case FL_ERR_RATE_LIMITED:
		return true;
	case FL_ERR_HTTP:
	case FL_ERR_API:
	case FL_ERR_PARSE:
		/* A 5xx, or a body cut or mangled in transit, may well come right. */
		return r->http.status >= 500 || r->http.status == 0 ||
		       (rc == FL_ERR_PARSE && r->http.status < 300);
	default:
		return false;
	}
}

int64_t api_limit_delay(struct ratelimit *rl, const char *method, const char *path_query, char *endpoint,
			size_t n)
{
	ratelimit_endpoint(method, path_query, endpoint, n);
	return ratelimit_delay_ms(rl, endpoint, ratelimit_now_ms());
}

bool api_limit_take(struct ratelimit *rl, const char *method, const char *path_query, char *endpoint,
		    size_t n, int64_t *wait_ms)
{
	ratelimit_endpoint(method, path_query, endpoint, n);
	return ratelimit_take(rl, endpoint, ratelimit_now_ms(), wait_ms);
}

int api_call_limited(struct ratelimit *rl, const char *endpoint, struct http_client *c, const char *method,
		     const char *path_query, const char *content_type, const char *body, size_t body_len,
		     const char *collection, json_item_fn fn, void *ctx, struct api_result *out,
		     struct fl_error *err)
{
	int rc;

	ratelimit_sent(rl, endpoint, ratelimit_now_ms());
	rc = api_call(c, method, path_query, content_type, body, body_len, collection, NULL, fn, ctx, out, err);
	ratelimit_observe(rl, endpoint, &out->http, ratelimit_now_ms());
	return rc;
}
