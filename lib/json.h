/*
 * json.h — streaming parser for API envelopes, built on yajl's callback API.
 *
 * Bytes are fed as they arrive from the network.  Each object of the
 * result's collection (an array, or a map keyed by id strings) is handed to
 * a callback as soon as its closing brace is read, with its raw JSON text and
 * a flat table of its scalar fields ("currency.id", "jobs.0.name", ...).
 * Only the object being read is held in memory, never the page.
 *
 * The envelope's own fields (status, message, error_code, request_id, the
 * nested error variant) and the result's scalar counts (total_count,
 * unfiltered_count) are collected on the side.
 */
#ifndef FL_JSON_H
#define FL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_EMPTY,   /* an empty object or array: present, holds nothing */
};

struct json_field {
	const char *path;     /* dotted path inside the item; array elements by index */
	const char *text;     /* number text, decoded string, "true"/"false", or "" */
	size_t len;           /* bytes of text */
	enum json_type type;
};

struct json_item {
	const char *key;      /* the map key for id-keyed maps, NULL in arrays */
	const char *raw;      /* the object's JSON text, exactly as sent */
	size_t raw_len;
	size_t index;         /* position in the collection, from 0 */
	const struct json_field *fields;
	size_t nfields;
	const char *strings;  /* the one block all fields' paths and texts lie in, */
	size_t strings_len;   /* so that an item can be copied whole */
	const uint16_t *lookup; /* optional: fields by json_path_hash(path) & lookup_mask, */
	uint32_t lookup_mask;   /* open addressing, each slot its field's index + 1, 0 empty */
};

/* The hash of a path that json_item.lookup is keyed by. */
uint32_t json_path_hash(const char *path);

/*
 * Fill lookup (mask + 1 slots, a power of two above it->nfields) for it's
 * fields; the first of two fields with one path is the one found.
 */
void json_lookup_build(const struct json_item *it, uint16_t *lookup, uint32_t mask);

/* Field lookup; NULL when absent.  JSON null counts as present (type JSON_NULL). */
const struct json_field *json_get(const struct json_item *it, const char *path);

/*
 * Typed accessors: true and *out set when the field is present with a value
 * of that type (integers: a JSON number without fraction that fits int64;
 * bools: true/false; strings: a string); false otherwise (absent, null,
 * other type), with *out untouched.
 */
bool json_int(const struct json_item *it, const char *path, int64_t *out);
bool json_real(const struct json_item *it, const char *path, double *out);
bool json_bool(const struct json_item *it, const char *path, bool *out);
bool json_str(const struct json_item *it, const char *path, const char **out, size_t *out_len);

/*
 * Called per item.  Return FL_OK to go on, anything else to stop parsing;
 * json_parser_feed() then returns that code.
 */
typedef int (*json_item_fn)(void *ctx, const struct json_item *item);

struct json_limits {
	size_t max_body;      /* total bytes; 0: 64 MiB */
	size_t max_item;      /* one item's raw text; 0: 8 MiB */
	int max_depth;        /* nesting; 0: 64 */
	size_t max_token;     /* one string, number or key; 0: 1 MiB.  yajl re-lexes a
	                         token split across feeds from its start, so this also
	                         bounds the parse time of a hostile body */
};

/* What the envelope said, filled as parsing goes. */
struct json_envelope {
	char status[16];          /* "success", "error" or "" when absent */
	char error_code[128];     /* e.g. ProjectExceptionCodes.DUPLICATE_BID, "" if absent */
	char message[512];        /* the API's message, "" if absent */
	char request_id[64];
	bool has_result;          /* a non-null result was present */
	int64_t total_count;      /* result.total_count, -1 if absent */
	int64_t unfiltered_count; /* result.unfiltered_count, -1 if absent */
	size_t items;             /* items delivered */
};

struct json_parser;

/*
 * Make a parser.  collection names where the items are:
 *   NULL       the result itself is one object, delivered as the only item;
 *   ""         the result itself is the array or id-keyed map;
 *   "bids"     result.bids is the array or id-keyed map, or the result
 *              itself when it is an array (some lists come bare: Get Jobs).
 * A collection that is null or absent yields no items.  Limits may be NULL.
 */
int json_parser_new(const char *collection, const struct json_limits *limits,
		    json_item_fn fn, void *ctx, struct json_parser **out,
		    struct fl_error *err);
void json_parser_free(struct json_parser *p);

/* Stop (true) or resume handing items to the callback; parsing goes on. */
void json_parser_deliver(struct json_parser *p, bool deliver);

/*
 * Feed the next bytes of the body.  Returns FL_OK, FL_ERR_PARSE (not JSON,
 * not an envelope, an item that is not an object), FL_ERR_TOO_BIG (a cap),
 * FL_ERR_NOMEM, or the callback's code.  After a failure, later calls fail
 * with the same code.
 */
int json_parser_feed(struct json_parser *p, const char *data, size_t len);

/*
 * The body is complete.  Returns FL_OK when it was one whole JSON object
 * with a status field; FL_ERR_PARSE for an empty, truncated or malformed
 * body.  Says nothing about whether status was "error": see the envelope.
 */
int json_parser_finish(struct json_parser *p);

const struct json_envelope *json_parser_envelope(const struct json_parser *p);
const char *json_parser_errmsg(const struct json_parser *p);

#endif
