/*
 * json.c — the streaming envelope parser of json.h.
 *
 * A stack of frames follows the containers yajl reports; each frame has a
 * role (the envelope, its result, the collection, an item, something inside
 * an item, something skipped).  An item's raw text is cut from the fed bytes
 * by yajl's byte offsets: from its '{' to its '}', copied only when it spans
 * two feeds.  Its scalars land in a flat field table whose paths and texts
 * live in one arena, reset per item.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "json.h"

#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define DEFAULT_MAX_ITEM ((size_t)8 << 20)
#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_TOKEN ((size_t)1 << 20)
#define HARD_MAX_DEPTH 1024
#define HEAD_BYTES 48

enum role {
	ROLE_TOP,        /* the envelope object */
	ROLE_RESULT,     /* result, when the collection is a field of it */
	ROLE_COLLECTION, /* the array or id-keyed map of items */
	ROLE_ITEM,       /* one item object */
	ROLE_INNER,      /* a container inside an item */
	ROLE_ERROR,      /* the nested "error": {code, detail} variant */
	ROLE_SKIP,       /* anything else: parsed, not kept */
};

struct frame {
	enum role role;
	bool is_array;
	size_t index;      /* next element's index, for arrays */
	size_t children;   /* values seen inside */
	size_t path_len;   /* item path length at this container */
};

struct field_off {
	size_t path;       /* arena offset of the NUL-terminated path */
	size_t text;       /* arena offset of the NUL-terminated text */
	size_t len;
	enum json_type type;
};

struct json_parser {
	yajl_handle h;
	char *collection;          /* NULL: result is the item; "": result is the collection */
	struct json_limits lim;
	json_item_fn fn;
	void *ctx;
	bool deliver;

	int rc;                    /* sticky failure */
	struct fl_error err;
	struct json_envelope env;

	struct frame *frames;      /* frames[0 .. depth-1] */
	int depth;
	struct buf key;            /* the key whose value comes next */

	/* the item being read */
	const char *chunk;         /* the bytes of the current feed */
	size_t cap_start;          /* item start within chunk */
	bool capturing;
	struct buf raw;            /* item text, when it spans feeds */
	struct buf item_key;
	struct buf path;
	struct buf arena;
	struct field_off *offs;
	struct json_field *fields;
	size_t nfields, fields_alloc;
	size_t fields_cap;         /* entries allocated in fields */

	size_t fed;                /* body bytes before the current feed */
	size_t token_start;        /* body offset just after the last complete token */
	char head[HEAD_BYTES + 1]; /* the body's first bytes, for messages */
	size_t head_len;
};

/* ---- failure ---------------------------------------------------------- */

static int fail(struct json_parser *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct json_parser *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return 0;
	p->rc = rc;
	p->err.rc = rc;
	va_start(ap, fmt);
	vsnprintf(p->err.msg, sizeof p->err.msg, fmt, ap);
	va_end(ap);
	return 0; /* tells yajl to stop */
}

static const char *type_name(enum json_type t, bool map, bool array)
{
	if (map)
		return "an object";
	if (array)
		return "an array";
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_BOOL: return "a boolean";
	case JSON_NUMBER: return "a number";
	case JSON_STRING: return "a string";
	case JSON_EMPTY: break;
	}
	return "a value";
}

/* ---- item fields -------------------------------------------------------- */

static bool arena_put(struct json_parser *p, const char *s, size_t n, size_t *off)
{
	static const char nul = '\0';

	*off = p->arena.len;
	return buf_append(&p->arena, s, n) && buf_append(&p->arena, &nul, 1);
}

static int add_field(struct json_parser *p, enum json_type type, const char *text, size_t len)
{
	struct field_off *f;

	if (p->nfields == p->fields_alloc) {
		size_t n = p->fields_alloc ? p->fields_alloc * 2 : 64;
		struct field_off *o = realloc(p->offs, n * sizeof *o);

		if (!o)
			return fail(p, FL_ERR_NOMEM, "out of memory reading an item");
		p->offs = o;
		p->fields_alloc = n;
	}
	f = &p->offs[p->nfields];
	if (!arena_put(p, p->path.data ? p->path.data : "", p->path.len, &f->path) ||
	    !arena_put(p, text, len, &f->text))
		return fail(p, FL_ERR_TOO_BIG, "an item of the result is larger than %zu bytes",
			    p->lim.max_item);
	f->len = len;
	f->type = type;
	p->nfields++;
	return 1;
}

static int deliver_item(struct json_parser *p, const char *raw, size_t raw_len)
{
	struct json_item it;
	struct json_field *fl;
	size_t i;
	int rc;

	if (!p->deliver || !p->fn)
		goto done;
	if (p->nfields > p->fields_cap) {
		fl = realloc(p->fields, p->fields_alloc * sizeof *fl);
		if (!fl)
			return fail(p, FL_ERR_NOMEM, "out of memory reading an item");
		p->fields = fl;
		p->fields_cap = p->fields_alloc;
	}
	for (i = 0; i < p->nfields; i++) {
		p->fields[i].path = p->arena.data + p->offs[i].path;
		p->fields[i].text = p->arena.data + p->offs[i].text;
		p->fields[i].len = p->offs[i].len;
		p->fields[i].type = p->offs[i].type;
	}
	it.key = p->item_key.len ? p->item_key.data : NULL;
	it.raw = raw;
	it.raw_len = raw_len;
	it.index = p->env.items;
	it.fields = p->fields;
	it.nfields = p->nfields;
	it.strings = p->arena.data;
	it.strings_len = p->arena.len;
	it.lookup = NULL;
	it.lookup_mask = 0;
	rc = p->fn(p->ctx, &it);
	if (rc != FL_OK) {
		p->rc = rc;
		p->err.rc = rc;
		snprintf(p->err.msg, sizeof p->err.msg, "item %zu of the result was refused",
			 p->env.items);
		return 0;
	}
done:
	p->env.items++;
	return 1;
}

/* ---- structure ---------------------------------------------------------- */

static void copy_str(char *dst, size_t dstsz, const unsigned char *s, size_t n)
{
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool key_is(const struct json_parser *p, const char *k)
{
	return p->key.len == strlen(k) && memcmp(p->key.data, k, p->key.len) == 0;
}

/* Append this value's path component (key or index) to the item path. */
static int push_component(struct json_parser *p, struct frame *parent)
{
	bool ok = true;

	p->path.len = parent->path_len;
	if (p->path.data)
		p->path.data[p->path.len] = '\0';
	if (parent->role == ROLE_INNER) {
		ok = buf_append(&p->path, ".", 1);
	}
	if (parent->is_array)
		ok = ok && buf_printf(&p->path, "%zu", parent->index);
	else
		ok = ok && buf_append(&p->path, p->key.data ? p->key.data : "", p->key.len);
	if (!ok)
		return fail(p, FL_ERR_TOO_BIG, "a field path of an item is too long");
	return 1;
}

/*
 * Decide the role of the value that starts now, from its parent and key.
 * Returns the role for containers; for scalars, handles them and returns
 * ROLE_SKIP.  Returns -1 after a failure.
 */
static int begin_value(struct json_parser *p, bool map, bool array, enum json_type t,
		       const unsigned char *s, size_t n)
{
	struct frame *parent = p->depth ? &p->frames[p->depth - 1] : NULL;
	bool container = map || array;
	int role = ROLE_SKIP;

	if (!parent) {
		if (!map) {
			fail(p, FL_ERR_PARSE, "response is %s, not an API envelope object",
			     type_name(t, map, array));
			return -1;
		}
		return ROLE_TOP;
	}
	parent->children++;

	switch (parent->role) {
	case ROLE_TOP:
		if (key_is(p, "result")) {
			if (t == JSON_NULL && !container)
				return ROLE_SKIP;
			p->env.has_result = true;
			if (!p->collection)
				role = map ? ROLE_ITEM : ROLE_SKIP;
			else if (!*p->collection)
				role = container ? ROLE_COLLECTION : ROLE_SKIP;
			else if (array)
				role = ROLE_COLLECTION; /* the list answered bare (Get Jobs) */
			else
				role = map ? ROLE_RESULT : ROLE_SKIP;
			if (!p->collection && !map) {
				fail(p, FL_ERR_PARSE, "result is %s, not an object",
				     type_name(t, map, array));
				return -1;
			}
		} else if (key_is(p, "error") && map) {
			role = ROLE_ERROR;
		} else if (t == JSON_STRING && !container) {
			if (key_is(p, "status"))
				copy_str(p->env.status, sizeof p->env.status, s, n);
			else if (key_is(p, "error_code"))
				copy_str(p->env.error_code, sizeof p->env.error_code, s, n);
			else if (key_is(p, "message"))
				copy_str(p->env.message, sizeof p->env.message, s, n);
			else if (key_is(p, "request_id"))
				copy_str(p->env.request_id, sizeof p->env.request_id, s, n);
		}
		break;
	case ROLE_RESULT:
		if (key_is(p, p->collection))
			role = container ? ROLE_COLLECTION : ROLE_SKIP;
		else if (t == JSON_NUMBER && n < 32 && key_is(p, "total_count"))
			p->env.total_count = strtoll((const char *)s, NULL, 10);
		else if (t == JSON_NUMBER && n < 32 && key_is(p, "unfiltered_count"))
			p->env.unfiltered_count = strtoll((const char *)s, NULL, 10);
		break;
	case ROLE_COLLECTION:
		if (t == JSON_NULL && !container)
			return ROLE_SKIP; /* {"123": null}: nothing to hand over */
		if (!map) {
			fail(p, FL_ERR_PARSE, "element %zu of the result's collection is %s, not an object",
			     parent->children - 1, type_name(t, map, array));
			return -1;
		}
		buf_reset(&p->item_key);
		if (!parent->is_array && !buf_append(&p->item_key, p->key.data ? p->key.data : "",
						     p->key.len)) {
			fail(p, FL_ERR_NOMEM, "out of memory reading an item key");
			return -1;
		}
		role = ROLE_ITEM;
		break;
	case ROLE_ITEM:
	case ROLE_INNER:
		if (!push_component(p, parent))
			return -1;
		if (parent->is_array)
			parent->index++;
		if (container)
			return ROLE_INNER;
		if (!add_field(p, t, (const char *)s, n))
			return -1;
		return ROLE_SKIP;
	case ROLE_ERROR:
		if (t == JSON_STRING && !container) {
			if (key_is(p, "code") && !p->env.error_code[0])
				copy_str(p->env.error_code, sizeof p->env.error_code, s, n);
			else if ((key_is(p, "detail") || key_is(p, "message")) && !p->env.message[0])
				copy_str(p->env.message, sizeof p->env.message, s, n);
		}
		break;
	case ROLE_SKIP:
		break;
	}
	if (parent->is_array)
		parent->index++;
	return role;
}

static int push_frame(struct json_parser *p, enum role role, bool is_array)
{
	struct frame *f;

	if (p->depth >= p->lim.max_depth)
		return fail(p, FL_ERR_TOO_BIG, "response nests deeper than %d levels",
			    p->lim.max_depth);
	f = &p->frames[p->depth++];
	f->role = role;
	f->is_array = is_array;
	f->index = 0;
	f->children = 0;
	f->path_len = p->path.len;
	if (role == ROLE_ITEM) {
		p->capturing = true;
		p->cap_start = yajl_get_bytes_consumed(p->h) - 1;
		buf_reset(&p->raw);
		buf_reset(&p->path);
		buf_reset(&p->arena);
		p->nfields = 0;
		f->path_len = 0;
	}
	return 1;
}

static int start_container(struct json_parser *p, bool is_array)
{
	int role = begin_value(p, !is_array, is_array, JSON_EMPTY, NULL, 0);

	if (role < 0)
		return 0;
	return push_frame(p, (enum role)role, is_array);
}

static int end_container(struct json_parser *p)
{
	struct frame *f = &p->frames[--p->depth];

	if (f->role == ROLE_INNER && f->children == 0 && !add_field(p, JSON_EMPTY, "", 0))
		return 0;
	if (f->role == ROLE_INNER) {
		/* Back to the parent's path. */
		p->path.len = p->frames[p->depth - 1].path_len;
		p->path.data[p->path.len] = '\0';
	}
	if (f->role == ROLE_ITEM) {
		size_t end = yajl_get_bytes_consumed(p->h);

		p->capturing = false;
		if (p->raw.len == 0) {
			if (end - p->cap_start > p->lim.max_item)
				return fail(p, FL_ERR_TOO_BIG,
					    "an item of the result is larger than %zu bytes",
					    p->lim.max_item);
			return deliver_item(p, p->chunk + p->cap_start, end - p->cap_start);
		}
		if (!buf_append(&p->raw, p->chunk, end))
			return fail(p, FL_ERR_TOO_BIG, "an item of the result is larger than %zu bytes",
				    p->lim.max_item);
		return deliver_item(p, p->raw.data, p->raw.len);
	}
	return 1;
}

/* ---- yajl callbacks ----------------------------------------------------- */

/* Every callback ends a token: note where, for the token cap. */
static void token_done(struct json_parser *p)
{
	p->token_start = p->fed + yajl_get_bytes_consumed(p->h);
}

/* A token that arrived whole in one feed is held to the same cap. */
static bool token_too_long(struct json_parser *p, size_t n)
{
	if (n <= p->lim.max_token)
		return false;
	fail(p, FL_ERR_TOO_BIG, "a JSON string or number is longer than %zu bytes",
	     p->lim.max_token);
	return true;
}

static int on_null(void *ctx)
{
	token_done(ctx);
	return begin_value(ctx, false, false, JSON_NULL, (const unsigned char *)"", 0) >= 0;
}

static int on_bool(void *ctx, int v)
{
	token_done(ctx);
	return begin_value(ctx, false, false, JSON_BOOL,
			   (const unsigned char *)(v ? "true" : "false"), v ? 4 : 5) >= 0;
}

static int on_number(void *ctx, const char *s, size_t n)
{
	char tmp[64];

	token_done(ctx);
	if (token_too_long(ctx, n))
		return 0;
	/* Numbers are not NUL-terminated; counts need strtoll, so copy short ones. */
	if (n < sizeof tmp) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		s = tmp;
	}
	return begin_value(ctx, false, false, JSON_NUMBER, (const unsigned char *)s, n) >= 0;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	token_done(ctx);
	if (token_too_long(ctx, n))
		return 0;
	return begin_value(ctx, false, false, JSON_STRING, s, n) >= 0;
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct json_parser *p = ctx;

	token_done(p);
	if (token_too_long(p, n))
		return 0;
	buf_reset(&p->key);
	if (!buf_append(&p->key, s, n))
		return fail(p, FL_ERR_TOO_BIG, "an object key is too long");
	return 1;
}

static int on_start_map(void *ctx) { token_done(ctx); return start_container(ctx, false); }
static int on_start_array(void *ctx) { token_done(ctx); return start_container(ctx, true); }
static int on_end(void *ctx) { token_done(ctx); return end_container(ctx); }

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

/* ---- public ------------------------------------------------------------- */

int json_parser_new(const char *collection, const struct json_limits *limits,
		    json_item_fn fn, void *ctx, struct json_parser **out,
		    struct fl_error *err)
{
	struct json_parser *p;

	*out = NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return error_set(err, FL_ERR_NOMEM, "json: out of memory");
	if (limits)
		p->lim = *limits;
	if (!p->lim.max_body)
		p->lim.max_body = DEFAULT_MAX_BODY;
	if (!p->lim.max_item)
		p->lim.max_item = DEFAULT_MAX_ITEM;
	if (p->lim.max_depth <= 0)
		p->lim.max_depth = DEFAULT_MAX_DEPTH;
	if (!p->lim.max_token)
		p->lim.max_token = DEFAULT_MAX_TOKEN;
	if (p->lim.max_depth > HARD_MAX_DEPTH)
		p->lim.max_depth = HARD_MAX_DEPTH;
	p->fn = fn;
	p->ctx = ctx;
	p->deliver = true;
	p->env.total_count = -1;
	p->env.unfiltered_count = -1;
	buf_init(&p->key, p->lim.max_item);
	buf_init(&p->raw, p->lim.max_item);
	buf_init(&p->item_key, 4096);
	buf_init(&p->path, 4096);
	buf_init(&p->arena, p->lim.max_item * 2);
	p->frames = calloc((size_t)p->lim.max_depth, sizeof *p->frames);
	if (collection)
		p->collection = strdup(collection);
	p->h = yajl_alloc(&callbacks, NULL, p);
	if (!p->frames || (collection && !p->collection) || !p->h) {
		json_parser_free(p);
		return error_set(err, FL_ERR_NOMEM, "json: out of memory");
	}
	*out = p;
	return FL_OK;
}

void json_parser_free(struct json_parser *p)
{
	if (!p)
		return;
	if (p->h)
		yajl_free(p->h);
	buf_free(&p->key);
	buf_free(&p->raw);
	buf_free(&p->item_key);
	buf_free(&p->path);
	buf_free(&p->arena);
	free(p->offs);
	free(p->fields);
	free(p->frames);
	free(p->collection);
	free(p);
}

void json_parser_deliver(struct json_parser *p, bool deliver)
{
	p->deliver = deliver;
}

static bool looks_like_html(const struct json_parser *p)
{
	size_t i = 0;

	while (i < p->head_len && strchr(" \t\r\n", p->head[i]))
		i++;
	return i < p->head_len && p->head[i] == '<';
}

/* A printable excerpt of the body's start, for messages. */
static void head_excerpt(const struct json_parser *p, char *out, size_t outsz)
{
	size_t i, n = 0;

	for (i = 0; i < p->head_len && n + 1 < outsz; i++) {
		unsigned char ch = (unsigned char)p->head[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[n] = '\0';
}

static int syntax_error(struct json_parser *p, const unsigned char *data, size_t len)
{
	unsigned char *msg = yajl_get_error(p->h, 0, data, len);
	char excerpt[HEAD_BYTES + 1];
	const char *m = msg ? (const char *)msg : "malformed JSON";

	head_excerpt(p, excerpt, sizeof excerpt);
	if (looks_like_html(p))
		fail(p, FL_ERR_PARSE, "response is HTML, not JSON (it begins \"%s\")", excerpt);
	else if (strstr(m, "premature EOF"))
		fail(p, FL_ERR_PARSE, "response is truncated: JSON ends early after %zu bytes",
		     p->fed);
	else
		fail(p, FL_ERR_PARSE, "malformed JSON near byte %zu: %s", p->fed, m);
	if (msg)
		yajl_free_error(p->h, msg);
	/* Drop any trailing newline yajl put in its message. */
	p->err.msg[strcspn(p->err.msg, "\n")] = '\0';
	return p->rc;
}

int json_parser_feed(struct json_parser *p, const char *data, size_t len)
{
	yajl_status st;

	if (p->rc)
		return p->rc;
	if (len > p->lim.max_body - p->fed) {
		fail(p, FL_ERR_TOO_BIG, "response body larger than %zu bytes", p->lim.max_body);
		return p->rc;
	}
	if (p->head_len < HEAD_BYTES) {
		size_t n = HEAD_BYTES - p->head_len < len ? HEAD_BYTES - p->head_len : len;
		memcpy(p->head + p->head_len, data, n);
		p->head_len += n;
	}
	p->chunk = data;
	p->cap_start = 0;
	st = yajl_parse(p->h, (const unsigned char *)data, len);
	p->fed += len;
	if (st == yajl_status_client_canceled)
		return p->rc;
	if (st != yajl_status_ok)
		return syntax_error(p, (const unsigned char *)data, len);
	/* An item still open keeps what this feed held of it. */
	if (p->capturing && !buf_append(&p->raw, data + p->cap_start, len - p->cap_start))
		fail(p, FL_ERR_TOO_BIG, "an item of the result is larger than %zu bytes",
		     p->lim.max_item);
	else if (p->fed - p->token_start > p->lim.max_token)
		fail(p, FL_ERR_TOO_BIG, "a JSON string or number is longer than %zu bytes",
		     p->lim.max_token);
	p->cap_start = 0;
	p->chunk = NULL;
	return p->rc;
}

int json_parser_finish(struct json_parser *p)
{
	yajl_status st;

	if (p->rc)
		return p->rc;
	if (p->fed == 0) {
		fail(p, FL_ERR_PARSE, "response body is empty");
		return p->rc;
	}
	p->chunk = NULL;
	st = yajl_complete_parse(p->h);
	if (st == yajl_status_client_canceled)
		return p->rc;
	if (st != yajl_status_ok)
		return syntax_error(p, NULL, 0);
	if (!p->env.status[0])
		fail(p, FL_ERR_PARSE, "response has no \"status\" field: not an API envelope");
	return p->rc;
}

const struct json_envelope *json_parser_envelope(const struct json_parser *p)
{
	return &p->env;
}

const char *json_parser_errmsg(const struct json_parser *p)
{
	return p->err.msg;
}

/* ---- field access ------------------------------------------------------- */

uint32_t json_path_hash(const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *s = (const unsigned char *)path; *s; s++)
		h = (h ^ *s) * 16777619u;
	return h;
}

void json_lookup_build(const struct json_item *it, uint16_t *lookup, uint32_t mask)
{
	memset(lookup, 0, ((size_t)mask + 1) * sizeof *lookup);
	for (size_t i = 0; i < it->nfields; i++) {
		uint32_t s = json_path_hash(it->fields[i].path) & mask;

		while (lookup[s] && strcmp(it->fields[lookup[s] - 1].path, it->fields[i].path) != 0)
			s = (s + 1) & mask;
		if (!lookup[s])
			lookup[s] = (uint16_t)(i + 1);
	}
}

const struct json_field *json_get(const struct json_item *it, const char *path)
{
	size_t i;

	if (it->lookup) {
		for (uint32_t s = json_path_hash(path) & it->lookup_mask; it->lookup[s];
		     s = (s + 1) & it->lookup_mask)
			if (strcmp(it->fields[it->lookup[s] - 1].path, path) == 0)
				return &it->fields[it->lookup[s] - 1];
		return NULL;
	}
	for (i = 0; i < it->nfields; i++)
		if (strcmp(it->fields[i].path, path) == 0)
			return &it->fields[i];
	return NULL;
}

bool json_int(const struct json_item *it, const char *path, int64_t *out)
{
	const struct json_field *f = json_get(it, path);
	const char *s;
	uint64_t v = 0, limit;
	bool neg;

	/* yajl has checked the number's form: a sign, digits, maybe a fraction or exponent. */
	if (!f || f->type != JSON_NUMBER)
		return false;
	s = f->text;
	neg = *s == '-';
	s += neg;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (limit - d) / 10)
			return false; /* does not fit */
		v = v * 10 + d;
	}
	if (*s)
		return false; /* a fraction or an exponent */
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

bool json_real(const struct json_item *it, const char *path, double *out)
{
	const struct json_field *f = json_get(it, path);
	char *end;
	double v;

	if (!f || f->type != JSON_NUMBER)
		return false;
	v = strtod(f->text, &end);
	if (*end)
		return false;
	*out = v;
	return true;
}

bool json_bool(const struct json_item *it, const char *path, bool *out)
{
	const struct json_field *f = json_get(it, path);

	if (!f || f->type != JSON_BOOL)
		return false;
	*out = f->text[0] == 't';
	return true;
}

bool json_str(const struct json_item *it, const char *path, const char **out, size_t *out_len)
{
	const struct json_field *f = json_get(it, path);

	if (!f || f->type != JSON_STRING)
		return false;
	*out = f->text;
	if (out_len)
		*out_len = f->len;
	return true;
}
