/*
 * rng.c — the deterministic PRNG behind everything flmock makes up:
 * splitmix64, seeded per (seed, stream) so that each record and each
 * request draws from its own reproducible sequence.
 */
#include "world.h"

uint64_t rng_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = rng_mix(seed ^ rng_mix(stream + 0x632be59bd9b4e019ull));
}

uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return rng_mix(r->s);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	/* Multiply-shift: unbiased enough for a simulator, and branch-free. */
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

bool rng_chance(struct rng *r, double p)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}
