/*
 * idset.h — a small set of int64 ids (open addressing), used as a cache: when
 * it would grow past a million slots it forgets everything instead.
 */
#ifndef FL_IDSET_H
#define FL_IDSET_H

#include <stdbool.h>
#include <stdint.h>

struct idset;

struct idset *idset_new(void);
void idset_free(struct idset *s);
/* True when id was already present; false when added (or cannot be: id 0, no set). */
bool idset_add(struct idset *s, int64_t id);

#endif
