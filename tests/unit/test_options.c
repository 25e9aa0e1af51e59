/*
 * test_options.c — the sync options are written in one place and told the
 * same everywhere: the names fl_sync_option_name() gives (the options[]
 * table of lib/sync_options.c) are the names flsync.h lists, with the
 * defaults the table holds, and the keys flsyncd(8) documents in its
 * configuration sections.  The sources are read from FL_SOURCE_ROOT.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flsync.h"
#include "sync.h"
#include "testutil.h"

#define MAXN 64

/* Keys of flsyncd's configuration that are the daemon's own, not the library's. */
static const char *const daemon_keys[] = { "cadence.interval", "limits.max_parallel", NULL };

struct names {
	char v[MAXN][64];
	int n;
};

static bool names_has(const struct names *ns, const char *name)
{
	for (int i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	return false;
}

static void names_add(struct names *ns, const char *name)
{
	if (!names_has(ns, name) && ns->n < MAXN)
		snprintf(ns->v[ns->n++], sizeof ns->v[0], "%s", name);
}

static char *source(const char *rel)
{
	const char *root = getenv("FL_SOURCE_ROOT");
	char path[4096], *text;

	ck_assert_msg(root != NULL, "FL_SOURCE_ROOT is not set");
	snprintf(path, sizeof path, "%s/%s", root, rel);
	text = tu_read_file(path, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

static void library_names(struct names *ns)
{
	const char *name;

	memset(ns, 0, sizeof *ns);
	for (int i = 0; (name = fl_sync_option_name(i)) != NULL; i++)
		names_add(ns, name);
	ck_assert_int_gt(ns->n, 10);
}

/*
 * flsync.h's list: the comment lines " *   section.key   text (default)"
 * between "The names, with their defaults:" and fl_sync_option_name's line;
 * each name's description runs to the next name.  descs[i] is its text.
 */
static void header_names(const char *h, struct names *ns, char descs[MAXN][1024])
{
	const char *p = strstr(h, "The names, with their defaults:"), *end;

	memset(ns, 0, sizeof *ns);
	ck_assert_ptr_nonnull(p);
	end = strstr(p, "fl_sync_option_name(i)");
	ck_assert_ptr_nonnull(end);
	while ((p = strchr(p, '\n')) != NULL && p < end) {
		char name[64] = "";
		int len = 0;

		p++;
		if (sscanf(p, " *   %63[a-z_.]%n", name, &len) == 1 && strchr(name, '.') &&
		    (p[len] == ' ' || p[len] == '\n') && strncmp(p, " *    ", 6) != 0) {
			names_add(ns, name);
			descs[ns->n - 1][0] = '\0';
		}
		if (ns->n > 0) {
			size_t l = strcspn(p, "\n"), have = strlen(descs[ns->n - 1]);

			if (have + l + 2 < 1024) {
				memcpy(descs[ns->n - 1] + have, p, l);
				descs[ns->n - 1][have + l] = ' ';
				descs[ns->n - 1][have + l + 1] = '\0';
			}
		}
	}
}

/* The first "(...)" of desc whose text up to a ',' or ';' is a value: a duration or a number. */
static bool header_default(const char *desc, double *out)
{
	for (const char *p = strchr(desc, '('); p; p = strchr(p + 1, '(')) {
		char text[64];
		size_t l = strcspn(p + 1, ",;)");
		int64_t secs;
		char *e;

		if (l == 0 || l >= sizeof text)
			continue;
		memcpy(text, p + 1, l);
		text[l] = '\0';
		if (fl_duration_parse(text, &secs) == FL_OK) {
			*out = (double)secs;
			return true;
		}
		*out = strtod(text, &e);
		if (e != text && *e == '\0')
			return true;
	}
	return false;
}

START_TEST(header_lists_the_librarys_names)
{
	static char descs[MAXN][1024];
	struct names lib, hdr;
	char *h = source("lib/flsync.h");

	library_names(&lib);
	header_names(h, &hdr, descs);
	for (int i = 0; i < lib.n; i++)
		ck_assert_msg(names_has(&hdr, lib.v[i]), "flsync.h does not list %s", lib.v[i]);
	for (int i = 0; i < hdr.n; i++)
		ck_assert_msg(names_has(&lib, hdr.v[i]), "flsync.h lists %s, which is no option", hdr.v[i]);
	free(h);
}
END_TEST

START_TEST(header_defaults_are_the_tables)
{
	static char descs[MAXN][1024];
	struct names hdr;
	char *h = source("lib/flsync.h");

	header_names(h, &hdr, descs);
	for (int i = 0; i < hdr.n; i++) {
		double want, said;

		if (!sync_option_default(hdr.v[i], &want)) {
			ck_assert_msg(strstr(descs[i], "(none)") != NULL, "%s: a list without (none)", hdr.v[i]);
			continue;
		}
		ck_assert_msg(header_default(descs[i], &said), "flsync.h gives %s no default", hdr.v[i]);
		ck_assert_msg(said == want, "flsync.h says %s defaults to %g, the table %g", hdr.v[i], said, want);
	}
	free(h);
}
END_TEST

/*
 * The keys flsyncd(8) documents: in CONFIGURATION, the bold words that begin
 * a ".B" line or stand in a ".BR" line's odd places, under each
 * ".B [section]" of the options' sections, as "section.key".
 */
static void man_names(const char *man, struct names *ns)
{
	const char *p = strstr(man, "\n.SH CONFIGURATION"), *end;
	char section[32] = "";

	memset(ns, 0, sizeof *ns);
	ck_assert_ptr_nonnull(p);
	end = strstr(p + 1, "\n.SH ");
	for (; p && p < end; p = strchr(p + 1, '\n')) {
		char line[512], *tok;
		size_t l = strcspn(p + 1, "\n");
		bool bold = true;

		snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), p + 1);
		if (strncmp(line, ".B [", 4) == 0 && line[strlen(line) - 1] == ']' &&
		    strspn(line + 4, "abcdefghijklmnopqrstuvwxyz") == strlen(line) - 5) {
			snprintf(section, sizeof section, "%.*s", (int)(strlen(line) - 5), line + 4);
			continue;
		}
		if (strncmp(line, ".BI \"[", 6) == 0 || strncmp(line, ".PP", 3) == 0) {
			section[0] = '\0';
			continue;
		}
		if (!section[0] || (strncmp(line, ".B ", 3) != 0 && strncmp(line, ".BR ", 4) != 0))
			continue;
		if (strcmp(section, "search") && strcmp(section, "cadence") && strcmp(section, "limits") &&
		    strcmp(section, "sync"))
			continue;
		tok = line + (line[2] == 'R' ? 4 : 3);
		while (*tok) {
			size_t n = *tok == '"' ? strcspn(tok + 1, "\"") + 2 : strcspn(tok, " ");
			char word[64], key[128];

			snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1), tok);
			if (bold && word[0] >= 'a' && word[0] <= 'z' &&
			    strspn(word, "abcdefghijklmnopqrstuvwxyz_") == strlen(word)) {
				snprintf(key, sizeof key, "%s.%s", section, word);
				names_add(ns, key);
			}
			if (line[2] != 'R')
				break; /* .B: the first word names the key */
			tok += n;
			while (*tok == ' ')
				tok++;
			bold = !bold;
		}
	}
}

START_TEST(man_page_documents_the_librarys_names)
{
	struct names lib, man;
	char *m = source("man/flsyncd.8");

	library_names(&lib);
	man_names(m, &man);
	for (int i = 0; i < lib.n; i++)
		ck_assert_msg(names_has(&man, lib.v[i]), "flsyncd(8) does not document %s", lib.v[i]);
	for (int i = 0; i < man.n; i++) {
		bool daemon = false;

		for (int j = 0; daemon_keys[j]; j++)
			daemon = daemon || strcmp(daemon_keys[j], man.v[i]) == 0;
		ck_assert_msg(daemon || names_has(&lib, man.v[i]), "flsyncd(8) documents %s, which is no option",
			      man.v[i]);
	}
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("one source of truth");

	tcase_add_test(tc, header_lists_the_librarys_names);
	tcase_add_test(tc, header_defaults_are_the_tables);
	tcase_add_test(tc, man_page_documents_the_librarys_names);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
