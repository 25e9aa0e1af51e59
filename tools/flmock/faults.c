/*
 * faults.c — the --faults spec and the per-request draw.  The spec is a
 * comma-separated list of kind=fraction (and stall_ms=N); each API request
 * (never /_mock/) draws once from a stream keyed by (seed, request number),
 * so the same seed and the same request sequence fault the same requests.
 * path=PREFIX, writes=1, skip=N and count=N aim the faults: only at
 * requests on that path, only at writes, sparing the first N of them, at
 * most N faults in all.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

#define FRACTION(kind, name) { name, SPEC_FRACTION, offsetof(struct fault_spec, p[kind]), 1 }

/* The kinds first, in enum order from F_HTTP500: faults_name reads their names here. */
static const struct spec_key keys[] = {
	FRACTION(F_HTTP500, "http500"),
	FRACTION(F_HTML503, "html503"),
	FRACTION(F_RATE429, "rate429"),
	FRACTION(F_TRUNCATE, "truncate"),
	FRACTION(F_MALFORMED, "malformed"),
	FRACTION(F_RESET, "reset"),
	FRACTION(F_STALL, "stall"),
	FRACTION(F_LOSTREPLY, "lostreply"),
	{ "stall_ms", SPEC_INT, offsetof(struct fault_spec, stall_ms), 1e9 },
	{ "path", SPEC_TEXT, offsetof(struct fault_spec, path), sizeof ((struct fault_spec *)0)->path },
	{ "writes", SPEC_BOOL, offsetof(struct fault_spec, writes_only), 1e18 },
	{ "skip", SPEC_LONG, offsetof(struct fault_spec, skip), 1e18 },
	{ "count", SPEC_LONG, offsetof(struct fault_spec, count), 1e18 },
	{ NULL, 0, 0, 0 },
};

const char *faults_name(enum fault_kind k)
{
	return k == F_NONE ? "none" : keys[k - 1].name;
}

bool faults_parse(const char *spec, struct fault_spec *out, char *err, size_t errlen)
{
	struct fault_spec f = { .stall_ms = 3000 };
	double total = 0;
	int k;

	if (!spec_parse(spec, keys, &f, "fault", err, errlen))
		return false;
	for (k = 1; k < F_COUNT; k++)
		total += f.p[k];
	if (total > 1) {
		snprintf(err, errlen, "fault fractions add up to more than 1");
		return false;
	}
	*out = f;
	return true;
}

enum fault_kind faults_pick(struct fault_spec *f, uint64_t seed, uint64_t seq, bool is_write, const char *path)
{
	struct rng r;
	double u, acc = 0;
	int k;

	if (f->path[0] && strncmp(path, f->path, strlen(f->path)) != 0)
		return F_NONE;
	if (f->writes_only && !is_write)
		return F_NONE;
	if (f->seen++ < f->skip || (f->count && f->given >= f->count))
		return F_NONE;
	rng_seed(&r, seed ^ 0xfa017ull, seq);
	u = (double)(rng_next(&r) >> 11) * (1.0 / 9007199254740992.0);
	for (k = 1; k < F_COUNT; k++) {
		acc += f->p[k];
		if (u < acc)
			break;
	}
	if (k == F_COUNT)
		return F_NONE;
	f->given++;
	/* "Applied but the reply lost" only means something for a write. */
	if (k == F_LOSTREPLY && !is_write)
		return F_RESET;
	return (enum fault_kind)k;
}
