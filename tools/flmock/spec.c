/*
 * spec.c — the "key=value,key=value" specs flmock takes (--faults,
 * --webhook-faults and their /_mock/ twins), read against a table of the
 * keys each one knows: its name, what its value is and where it goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flmock.h"

static const struct spec_key *find_key(const struct spec_key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* "unknown fault 'x' (http500, html503, ...)": the keys the spec knows. */
static void unknown_key(const struct spec_key *keys, const char *what, const char *name, char *err, size_t errlen)
{
	size_t n = (size_t)snprintf(err, errlen, "unknown %s '%s' (", what, name);

	for (; keys->name && n < errlen; keys++)
		n += (size_t)snprintf(err + n, errlen - n, "%s%s", keys->name, keys[1].name ? ", " : ")");
}

/* One value into its place in out; false with err set when it is not one the key takes. */
static bool set_value(const struct spec_key *k, const char *value, void *out, const char *what, char *err,
		      size_t errlen)
{
	char *at = (char *)out + k->offset, *end;
	double v;

	if (k->kind == SPEC_TEXT) {
		if ((double)strlen(value) >= k->max) {
			snprintf(err, errlen, "%s %s too long", what, k->name);
			return false;
		}
		strcpy(at, value);
		return true;
	}
	v = strtod(value, &end);
	if (end == value || *end || !(v >= 0) || v > (k->kind == SPEC_FRACTION ? 1 : k->max)) {
		if (k->kind == SPEC_FRACTION)
			snprintf(err, errlen, "bad value for %s '%s' (a fraction in [0, 1])", what, k->name);
		else
			snprintf(err, errlen, "bad value for %s '%s' (a number from 0 to %.0f)", what, k->name, k->max);
		return false;
	}
	switch (k->kind) {
	case SPEC_FRACTION: *(double *)(void *)at = v; break;
	case SPEC_INT: *(int *)(void *)at = (int)v; break;
	case SPEC_LONG: *(long *)(void *)at = (long)v; break;
	case SPEC_BOOL: *(bool *)(void *)at = v != 0; break;
	case SPEC_TEXT: break;
	}
	return true;
}

bool spec_parse(const char *spec, const struct spec_key *keys, void *out, const char *what, char *err,
		size_t errlen)
{
	char *copy = strdup(spec ? spec : ""), *save = NULL, *tok;
	bool ok = true;

	if (!copy)
		abort();
	for (tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const struct spec_key *k;

		if (!eq) {
			snprintf(err, errlen, "%s '%s' has no '='", what, tok);
			ok = false;
			break;
		}
		*eq = '\0';
		k = find_key(keys, tok);
		if (!k) {
			unknown_key(keys, what, tok, err, errlen);
			ok = false;
			break;
		}
		ok = set_value(k, eq + 1, out, what, err, errlen);
	}
	free(copy);
	return ok;
}
