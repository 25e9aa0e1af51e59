/*
 * fuzz_json.c — libFuzzer target for the streaming envelope parser (json.c):
 * whatever bytes arrive, in whatever pieces, the parser returns a code and
 * never reads or writes out of bounds, leaks, or hangs.
 *
 * The first input byte picks the collection (the result itself as one item,
 * the result as the collection, or result.bids), the parser's limits (the
 * defaults, or small caps so the limit paths run), and how the rest is cut
 * into feeds (1 to 31 bytes, or all at once).  Every field of every item is
 * read back through the typed accessors, so a bad pointer in an item shows.
 *
 * Build and run (clang):
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz tests/fuzz/fuzz_json
 *   build-fuzz/tests/fuzz/fuzz_json -max_total_time=300 CORPUS_DIR tests/fuzz/json_seeds \
 *       [JSONTestSuite's test_parsing folder, when you have it; scripts/test adds it when present]
 * tests/fuzz/json_seeds holds flmock pages of every collection shape, error
 * envelopes, an HTML error page, a truncated page and edge cases, each behind
 * the mode byte that exercises it; scripts/test replays them on every run.
 *   (likewise fuzz_enqueue, its corpus seeded from tests/fuzz/enqueue_seeds)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

static int touch(void *ctx, const struct json_item *it)
{
	size_t *sum = ctx, i;

	for (i = 0; i < it->nfields; i++) {
		const struct json_field *f = &it->fields[i];
		int64_t n;
		double d;
		bool b;
		const char *s;
		size_t len;

		*sum += strlen(f->path) + f->len + (f->len ? (unsigned char)f->text[f->len - 1] : 0);
		*sum += json_get(it, f->path) != NULL;
		*sum += json_int(it, f->path, &n) + json_real(it, f->path, &d) + json_bool(it, f->path, &b);
		if (json_str(it, f->path, &s, &len) && len)
			*sum += (unsigned char)s[len - 1];
	}
	if (it->raw_len)
		*sum += (unsigned char)it->raw[it->raw_len - 1];
	if (it->key)
		*sum += strlen(it->key);
	return FL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const collections[] = { NULL, "", "bids" };
	static const struct json_limits small = { 4096, 1024, 8, 256 };
	struct json_parser *p;
	struct fl_error err = { 0 };
	size_t sum = 0, at, chunk;
	int rc;

	if (size == 0)
		return 0;
	/* bits 0-1: the collection; 2-6: the feed size (0: all at once); 7: small caps */
	chunk = (size_t)(data[0] >> 2 & 31);
	if (json_parser_new(collections[(data[0] & 3) % 3], data[0] & 0x80 ? &small : NULL, touch, &sum, &p,
			    &err))
		return 0;
	data++;
	size--;
	rc = FL_OK;
	for (at = 0; at < size && rc == FL_OK; at += chunk ? chunk : size)
		rc = json_parser_feed(p, (const char *)data + at,
				      chunk && size - at > chunk ? chunk : size - at);
	if (rc == FL_OK)
		rc = json_parser_finish(p);
	/* What callers read after any outcome. */
	sum += strlen(json_parser_errmsg(p) ? json_parser_errmsg(p) : "");
	sum += strlen(json_parser_envelope(p)->message) + strlen(json_parser_envelope(p)->error_code);
	json_parser_free(p);
	return sum == (size_t)-1 ? rc : 0;
}
