/*
 * faults.c — the --faults spec and the per-request draw.  The spec is a
 * comma-separated list of kind=fraction (and stall_ms=N); each API request
 * (never /_mock/) draws once from a stream keyed by (seed, request number),
 * so the same seed and the same request sequence fault the same requests.
 * path=PREFIX, writes=1, skip=N and count=N aim the faults: only at
 * requests on that path, only at writes, sparing the first N of them, at
 * most N faults in all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

static const char *const names[F_COUNT] = {
	"none", "http500", "html503", "rate429", "truncate", "malformed",
	"reset", "stall", "lostreply",
};

const char *faults_name(enum fault_kind k)
{
	return names[k];
}

bool faults_parse(const char *spec, struct fault_spec *out, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	bool ok = true;
	double total = 0;
	int k;

	memset(out, 0, sizeof *out);
	out->stall_ms = 3000;
	if (!copy)
		abort();
	for (tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		double v;

		if (!eq) {
			snprintf(err, errlen, "fault '%s' has no '='", tok);
			ok = false;
			break;
		}
		*eq = '\0';
		if (strcmp(tok, "path") == 0) {
			if (strlen(eq + 1) >= sizeof out->path) {
				snprintf(err, errlen, "fault path too long");
				ok = false;
				break;
			}
			strcpy(out->path, eq + 1);
			continue;
		}
		v = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || v < 0) {
			snprintf(err, errlen, "bad value for fault '%s'", tok);
			ok = false;
			break;
		}
		if (strcmp(tok, "stall_ms") == 0) {
			out->stall_ms = (int)v;
			continue;
		}
		if (strcmp(tok, "skip") == 0) {
			out->skip = (long)v;
			continue;
		}
		if (strcmp(tok, "count") == 0) {
			out->count = (long)v;
			continue;
		}
		if (strcmp(tok, "writes") == 0) {
			out->writes_only = v != 0;
			continue;
		}
		for (k = 1; k < F_COUNT && strcmp(names[k], tok) != 0; k++)
			;
		if (k == F_COUNT || v > 1) {
			snprintf(err, errlen, "unknown fault '%s' or fraction above 1", tok);
			ok = false;
			break;
		}
		out->p[k] = v;
		total += v;
	}
	if (ok && total > 1) {
		snprintf(err, errlen, "fault fractions add up to more than 1");
		ok = false;
	}
	free(copy);
	return ok;
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
