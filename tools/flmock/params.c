/*
 * params.c — request parameters: the query string and the body (form
 * encoded or JSON) become one list of key/value pairs, so every endpoint
 * accepts its parameters either way.  JSON objects flatten to dotted keys
 * ("budget.minimum"), arrays to "key[]" ("jobs[].id", "members[]").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "flmock.h"

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void req_add_param(struct fm_req *r, const char *key, size_t klen, const char *val, size_t vlen)
{
	r->params = array_reserve(r->params, r->nparams + 1, &r->cap, sizeof *r->params);
	r->params[r->nparams].key = dup_n(key, klen);
	r->params[r->nparams].val = dup_n(val ? val : "", val ? vlen : 0);
	r->nparams++;
}

void req_free_params(struct fm_req *r)
{
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		free(r->params[i].key);
		free(r->params[i].val);
	}
	free(r->params);
	r->params = NULL;
	r->nparams = r->cap = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoding in place ('+' is a space in forms); returns the new length. */
static size_t url_decode(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

void req_parse_form(struct fm_req *r, const char *s, size_t n)
{
	char *copy = dup_n(s, n), *p = copy, *end = copy + n;

	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);

		eq = memchr(p, '=', len);
		if (len) {
			size_t kl = eq ? (size_t)(eq - p) : len;
			size_t vl = eq ? len - kl - 1 : 0;

			kl = url_decode(p, kl);
			if (eq)
				vl = url_decode(eq + 1, vl);
			req_add_param(r, p, kl, eq ? eq + 1 : "", vl);
		}
		p += len + 1;
	}
	free(copy);
}

/* A needle in a byte range (bodies may hold NULs). */
static const char *find(const char *h, size_t hn, const char *n, size_t nn)
{
	size_t i;

	for (i = 0; nn <= hn && i <= hn - nn; i++)
		if (h[i] == n[0] && memcmp(h + i, n, nn) == 0)
			return h + i;
	return NULL;
}

/*
 * multipart/form-data, which several endpoints list next to form encoding:
 * each part's name="…" and its bytes become one parameter (files included).
 */
void req_parse_multipart(struct fm_req *r, const char *s, size_t n, const char *boundary)
{
	char delim[256];
	size_t dn = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);
	const char *p = find(s, n, delim + 2, dn - 2), *end = s + n;

	while (p && dn < sizeof delim) {
		const char *hdr = p + dn - 2, *body, *next, *name, *file;
		size_t nl;

		if (end - hdr < 2 || hdr[0] != '\r' || hdr[1] != '\n')
			break; /* "--" after the last boundary, or garbage */
		hdr += 2;
		body = find(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!body)
			break;
		body += 4;
		next = find(body, (size_t)(end - body), delim, dn);
		if (!next)
			break;
		/* name="...", not the tail of filename="..." */
		for (name = find(hdr, (size_t)(body - hdr), "name=\"", 6); name && name - hdr >= 4 &&
		     strncmp(name - 4, "file", 4) == 0; name = find(name + 6, (size_t)(body - name - 6), "name=\"", 6))
			;
		file = find(hdr, (size_t)(body - hdr), "filename=\"", 10);
		if (name) {
			name += 6;
			for (nl = 0; name + nl < body && name[nl] != '"'; nl++)
				;
			req_add_param(r, name, nl, body, (size_t)(next - body));
			if (file && nl < 200) {
				/* A file part: its name too, as "<field>.filename" (Add New Message's files[]). */
				char key[216];
				size_t fl;

				file += 10;
				for (fl = 0; file + fl < body && file[fl] != '"'; fl++)
					;
				snprintf(key, sizeof key, "%.*s.filename", (int)nl, name);
				req_add_param(r, key, strlen(key), file, fl);
			}
		}
		p = next + 2;
	}
}

static void flatten(struct fm_req *r, const char *prefix, yajl_val v)
{
	char key[256], num[64];
	size_t i;

	if (YAJL_IS_OBJECT(v)) {
		for (i = 0; i < v->u.object.len; i++) {
			snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", v->u.object.keys[i]);
			flatten(r, key, v->u.object.values[i]);
		}
	} else if (YAJL_IS_ARRAY(v)) {
		snprintf(key, sizeof key, "%s[]", prefix);
		for (i = 0; i < v->u.array.len; i++)
			flatten(r, key, v->u.array.values[i]);
	} else if (YAJL_IS_STRING(v)) {
		req_add_param(r, prefix, strlen(prefix), v->u.string, strlen(v->u.string));
	} else if (YAJL_IS_NUMBER(v)) {
		req_add_param(r, prefix, strlen(prefix), v->u.number.r, strlen(v->u.number.r));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		snprintf(num, sizeof num, "%s", YAJL_IS_TRUE(v) ? "true" : "false");
		req_add_param(r, prefix, strlen(prefix), num, strlen(num));
	}
	/* null: as if absent */
}

bool req_parse_json(struct fm_req *r, const char *s, size_t n)
{
	char err[128];
	char *copy = dup_n(s, n);
	yajl_val v = yajl_tree_parse(copy, err, sizeof err);

	free(copy);
	if (!v || !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return false;
	}
	flatten(r, "", v);
	yajl_tree_free(v);
	return true;
}

const char *req_param(const struct fm_req *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].val;
	return NULL;
}

/* "Boolean parameters are set to True if they are present" (Input Values). */
bool req_flag(const struct fm_req *r, const char *key)
{
	const char *v = req_param(r, key);

	return v && strcmp(v, "false") != 0 && strcmp(v, "0") != 0 && strcmp(v, "False") != 0;
}

void req_error(struct fm_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	r->error_code = code;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

bool req_fail(struct fm_req *r, int status, const char *ns, const char *code, const char *msg)
{
	snprintf(r->code, sizeof r->code, "%sExceptionCodes.%s", ns, code);
	req_error(r, status, r->code, "%s", msg);
	return false;
}

void req_not_found(struct fm_req *r)
{
	req_error(r, 404, "RestExceptionCodes.NOT_FOUND", "Object doesn't exist");
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

bool req_int(struct fm_req *r, const char *key, int64_t *out)
{
	const char *v = req_param(r, key);

	if (!v)
		return true;
	if (!parse_i64(v, out)) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "Invalid value for %s", key);
		return false;
	}
	return true;
}

bool req_double(struct fm_req *r, const char *key, double *out)
{
	const char *v = req_param(r, key);
	char *end;
	double d;

	if (!v)
		return true;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || d != d) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "Invalid value for %s", key);
		return false;
	}
	*out = d;
	return true;
}

/* limit defaults to 50; the API returns at most 100 per page. */
bool req_page(struct fm_req *r, size_t *offset, size_t *limit)
{
	int64_t off = 0, lim = 50;

	if (!req_int(r, "offset", &off) || !req_int(r, "limit", &lim))
		return false;
	if (off < 0 || lim < 0) {
		req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "offset and limit must not be negative");
		return false;
	}
	*offset = (size_t)off;
	*limit = lim > 100 ? 100 : (size_t)lim;
	return true;
}

bool req_window(struct fm_req *r, const char *from_key, const char *to_key, int64_t *from, int64_t *to)
{
	*from = INT64_MIN;
	*to = INT64_MAX;
	return req_int(r, from_key, from) && req_int(r, to_key, to);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* "projects[]=1&projects[]=2" as the API takes lists; bare "projects=1" too. */
bool req_ids(struct fm_req *r, const char *key, struct idset *out)
{
	size_t i, klen = strlen(key), cap = 0;

	memset(out, 0, sizeof *out);
	for (i = 0; i < r->nparams; i++) {
		const char *k = r->params[i].key;
		int64_t id;

		if (strncmp(k, key, klen) != 0 || (k[klen] && strcmp(k + klen, "[]") != 0))
			continue;
		out->on = true;
		if (!parse_i64(r->params[i].val, &id)) {
			req_error(r, 400, "RestExceptionCodes.INVALID_REQUEST", "Invalid id in %s[]", key);
			idset_free(out);
			return false;
		}
		out->v = array_reserve(out->v, out->n + 1, &cap, sizeof *out->v);
		out->v[out->n++] = id;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_i64);
	return true;
}

bool idset_has(const struct idset *s, int64_t id)
{
	return s->n && bsearch(&id, s->v, s->n, sizeof *s->v, cmp_i64) != NULL;
}

void idset_free(struct idset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

bool req_enums(struct fm_req *r, const char *key, const char *(*name)(int), int count, uint32_t *mask)
{
	size_t i, klen = strlen(key);
	int e;

	*mask = 0;
	for (i = 0; i < r->nparams; i++) {
		const char *k = r->params[i].key;

		if (strncmp(k, key, klen) != 0 || (k[klen] && strcmp(k + klen, "[]") != 0))
			continue;
		for (e = 0; e < count; e++)
			if (name(e) && strcasecmp(name(e), r->params[i].val) == 0)
				break;
		if (e == count) {
			req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "Invalid value '%s' for %s[]",
				  r->params[i].val, key);
			return false;
		}
		*mask |= 1u << e;
	}
	return true;
}

/*
 * One enum parameter, matched without regard to case as the API does
 * ("HOURLY" is "hourly"): the canonical name from names, or NULL when the
 * parameter is absent.  Another value sets BAD_ENUM (r->error_code) and
 * returns NULL.
 */
const char *req_enum_name(struct fm_req *r, const char *key, const char *const *names)
{
	const char *v = req_param(r, key);
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; names[i]; i++)
		if (strcasecmp(names[i], v) == 0)
			return names[i];
	req_error(r, 400, "RestExceptionCodes.BAD_ENUM", "Invalid value '%s' for %s", v, key);
	return NULL;
}
