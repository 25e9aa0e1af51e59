/*
 * idset.c — a small set of int64 ids (open addressing) the sync engine uses
 * as a cache: ids already given stub rows in a pass, ids an id batch returned.
 */
#include <stdlib.h>
#include <string.h>

#include "idset.h"


struct idset {
	int64_t *slots;   /* 0 marks an empty slot; id 0 is never stored */
	size_t cap, n;
};

struct idset *idset_new(void)
{
	struct idset *s = calloc(1, sizeof *s);

	if (s) {
		s->cap = 1024;
		s->slots = calloc(s->cap, sizeof *s->slots);
		if (!s->slots) {
			free(s);
			s = NULL;
		}
	}
	return s;
}

void idset_free(struct idset *s)
{
	if (s) {
		free(s->slots);
		free(s);
	}
}

static size_t idset_hash(int64_t id, size_t cap)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 17) & (cap - 1);
}

bool idset_add(struct idset *s, int64_t id)
{
	size_t i;

	if (!s || id == 0)
		return false;
	if ((s->n + 1) * 2 > s->cap) {
		/* Grow, or forget everything when big: it is only a cache. */
		size_t ncap = s->cap * 2;
		int64_t *ns = ncap <= (1u << 20) ? calloc(ncap, sizeof *ns) : NULL;

		if (!ns) {
			memset(s->slots, 0, s->cap * sizeof *s->slots);
			s->n = 0;
		} else {
			for (i = 0; i < s->cap; i++) {
				if (s->slots[i]) {
					size_t j = idset_hash(s->slots[i], ncap);
					while (ns[j])
						j = (j + 1) & (ncap - 1);
					ns[j] = s->slots[i];
				}
			}
			free(s->slots);
			s->slots = ns;
			s->cap = ncap;
		}
	}
	for (i = idset_hash(id, s->cap); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == id)
			return true;
	s->slots[i] = id;
	s->n++;
	return false;
}

