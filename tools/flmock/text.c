/*
 * text.c — deterministic content for titles, descriptions, proposals,
 * messages, reviews and names: a function of (seed, kind, id), so records
 * need not store their text.  The word list mixes ASCII with accents, CJK,
 * Cyrillic, Arabic and emoji (4-byte UTF-8), and messages sometimes carry
 * quotes, backslashes and newlines, so clients' escaping is exercised.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

/* A word and its length: the text is assembled word by word on every page. */
struct word {
	const char *s;
	size_t n;
};
#define W(lit) { lit, sizeof(lit) - 1 }

static const struct word words[] = {
	W("build"), W("website"), W("app"), W("logo"), W("design"), W("fix"), W("bug"), W("in"), W("my"),
	W("Python"), W("script"), W("need"), W("an"), W("expert"), W("for"), W("data"), W("entry"),
	W("urgent"), W("simple"), W("mobile"), W("Android"), W("iOS"), W("shop"), W("WordPress"),
	W("café"), W("naïve"), W("résumé"), W("Zürich"), W("São"), W("Paulo"), W("crème"), W("brûlée"),
	W("日本語"), W("翻訳"), W("开发"), W("网站"), W("Привет"), W("проект"), W("مرحبا"), W("مشروع"), W("🚀"),
	W("✨"), W("💡"), W("🎨"), W("📱"), W("👍"), W("🔥"), W("€500"), W("£"), W("¥"), W("database"),
	W("migration"), W("SQLite"), W("API"), W("integration"), W("Freelancer"), W("landing"), W("page"),
	W("redesign"), W("SEO"), W("marketing"), W("video"), W("editing"), W("translate"), W("document"),
	W("Spanish"), W("German"), W("report"), W("Excel"), W("dashboard"), W("React"), W("Node.js"),
	W("Rust"), W("C"), W("embedded"), W("firmware"), W("the"), W("and"), W("with"), W("a"), W("to"),
	W("of"), W("quick"), W("long-term"), W("small"),
};
static const size_t nwords = sizeof words / sizeof words[0];

/* Only messages use these: JSON-significant characters and a newline. */
static const char *const tricky[] = {
	"\"quoted\"", "back\\slash", "line\nbreak", "tab\there", "<b>bold</b>",
	"it's", "50% off", "a&b", "{json}", "naïve\u00a0space",
};
static const size_t ntricky = sizeof tricky / sizeof tricky[0];

static const char *const first_names[] = {
	"Anna", "José", "Zoë", "Mohammed", "Priya", "Wei", "Olga", "Liam",
	"Chloé", "Kenji", "Fatima", "Søren", "Ngozi", "Mateo", "Aiko", "Björn",
	"李", "Анна", "Émile", "Dmitri",
};
static const char *const ascii_names[] = {
	"anna", "jose", "zoe", "mo", "priya", "wei", "olga", "liam", "chloe",
	"kenji", "fatima", "soren", "ngozi", "mateo", "aiko", "bjorn", "li",
	"dev", "studio", "pixel",
};

/* Stops early once the text reaches `end` bytes: a prefix is all a preview needs. */
static void words_into(struct fm_buf *b, struct rng *r, unsigned n, bool tricky_ok, size_t end)
{
	unsigned i;

	for (i = 0; i < n && b->len < end; i++) {
		if (i)
			buf_putc(b, i % 11 == 10 ? '.' : ' ');
		if (i % 11 == 10)
			buf_putc(b, ' ');
		if (tricky_ok && rng_below(r, 12) == 0) {
			buf_puts(b, tricky[rng_below(r, (uint32_t)ntricky)]);
		} else {
			const struct word *wd = &words[rng_below(r, (uint32_t)nwords)];

			buf_put(b, wd->s, wd->n);
		}
	}
}

void text_emit_prefix(struct fm_buf *b, uint64_t seed, enum text_kind kind, int64_t id, size_t max)
{
	size_t end = max == SIZE_MAX ? SIZE_MAX : b->len + max;
	struct rng r;

	rng_seed(&r, seed, ((uint64_t)kind << 56) ^ (uint64_t)id);
	switch (kind) {
	case TX_TITLE:
		words_into(b, &r, 3 + rng_below(&r, 6), false, end);
		break;
	case TX_DESC:
		words_into(b, &r, 15 + rng_below(&r, 45), false, end);
		break;
	case TX_BID:
		words_into(b, &r, 8 + rng_below(&r, 25), false, end);
		break;
	case TX_MSG:
		words_into(b, &r, 1 + rng_below(&r, 20), true, end);
		break;
	case TX_REVIEW:
		words_into(b, &r, 4 + rng_below(&r, 16), false, end);
		break;
	case TX_MILESTONE:
		words_into(b, &r, 2 + rng_below(&r, 4), false, end);
		break;
	case TX_USERNAME:
		/* Unique: the id is part of it.  ASCII, as usernames are. */
		buf_puts(b, ascii_names[rng_below(&r, 20)]);
		buf_printf(b, "_%lld", (long long)(id % 100000000));
		break;
	case TX_DISPLAY:
		buf_puts(b, first_names[rng_below(&r, 20)]);
		buf_putc(b, ' ');
		buf_putc(b, (char)('A' + rng_below(&r, 26)));
		buf_putc(b, '.');
		break;
	}
}

void text_emit(struct fm_buf *b, uint64_t seed, enum text_kind kind, int64_t id)
{
	text_emit_prefix(b, seed, kind, id, SIZE_MAX);
}

char *text_make(uint64_t seed, enum text_kind kind, int64_t id)
{
	struct fm_buf b = { 0 };

	text_emit(&b, seed, kind, id);
	return buf_steal(&b, NULL);
}

bool text_matches(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	if (n == 0)
		return true;
	for (; *hay; hay++) {
		for (i = 0; i < n && hay[i]; i++)
			if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[i]))
				break;
		if (i == n)
			return true;
	}
	return false;
}
