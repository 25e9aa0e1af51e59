/*
 * status_file.c — what `flsync status` says about the file itself: its
 * size, its WAL, the pages free inside it, the change feed's rows and the
 * oldest position a consumer holds (fl_feed_status_get), and a warning when
 * the database or its WAL or shared-memory file can be read by group or
 * others, with the chmod that fixes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

/* "12.3 MB" and the like. */
static void human(int64_t bytes, char *buf, size_t n)
{
	static const char *unit[] = { "bytes", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000.0 && u < 4) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%lld bytes", (long long)bytes);
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
}

/* path as one shell word: bare when it is plain, else in single quotes. */
static void shell_word(const char *path)
{
	const char *p;

	if (path[strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./+-")] == '\0') {
		fputs(path, stderr);
		return;
	}
	fputc('\'', stderr);
	for (p = path; *p; p++)
		if (*p == '\'')
			fputs("'\\''", stderr);
		else
			fputc(*p, stderr);
	fputc('\'', stderr);
}

void tool_status_warn_private(const char *db_path)
{
	static const char *suffix[] = { "", "-wal", "-shm" };
	char *open_to[3] = { NULL, NULL, NULL };
	unsigned modes[3] = { 0, 0, 0 };
	struct stat st;
	int n = 0, i;

	for (i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", db_path, suffix[i]);

		if (stat(p, &st) == 0 && (st.st_mode & 077)) {
			modes[n] = (unsigned)(st.st_mode & 0777);
			open_to[n++] = p;
		} else {
			free(p);
		}
	}
	if (!n)
		return;
	fprintf(stderr, "flsync: warning: group or others can read");
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s %s (mode %04o)", i ? "," : "", open_to[i], modes[i]);
	fprintf(stderr, ": it holds the account's private messages; fix it with:\n  chmod 600");
	for (i = 0; i < n; i++) {
		fputc(' ', stderr);
		shell_word(open_to[i]);
		free(open_to[i]);
	}
	fputc('\n', stderr);
}

void tool_status_file_text(struct fl_db *db)
{
	struct fl_feed_status *f;
	char size[32], wal[32];

	if (fl_feed_status_get(db, &f) != FL_OK) {
		printf("\nfile      unknown: %s\n", fl_errmsg(db));
		return;
	}
	human(f->file_bytes, size, sizeof size);
	human(f->wal_bytes, wal, sizeof wal);
	printf("\nfile      %s (WAL %s, %lld pages free%s), mode %04o\n", size, wal, (long long)f->free_pages,
	       f->auto_vacuum == 2 ? ", given back after passes" : "", f->file_mode);
	printf("feed      %lld changes kept, newest seq %lld, pruned through %lld; ", (long long)f->rows,
	       (long long)f->latest, (long long)f->horizon);
	if (f->held >= 0) {
		printf("oldest position held %lld (", (long long)f->held);
		tool_text(stdout, f->held_by);
		printf("; %lld consumer%s: flsync feed list)\n", (long long)f->consumers, f->consumers == 1 ? "" : "s");
	} else {
		printf("no position held\n");
	}
	fl_feed_status_free(f);
}

void tool_status_file_json(struct fl_db *db)
{
	struct fl_feed_status *f;

	if (fl_feed_status_get(db, &f) != FL_OK)
		return;
	printf("\"file\":{\"bytes\":%lld,\"wal_bytes\":%lld,\"free_pages\":%lld,\"page_size\":%lld,"
	       "\"auto_vacuum\":%d,\"mode\":\"%04o\",\"private\":%s},",
	       (long long)f->file_bytes, (long long)f->wal_bytes, (long long)f->free_pages, (long long)f->page_size,
	       f->auto_vacuum, f->file_mode, (f->file_mode & 077) ? "false" : "true");
	printf("\"feed\":{\"rows\":%lld,\"latest\":%lld,\"horizon\":%lld,\"oldest_held\":%lld,\"held_by\":",
	       (long long)f->rows, (long long)f->latest, (long long)f->horizon, (long long)f->held);
	if (f->held_by)
		tool_json_string(stdout, f->held_by, strlen(f->held_by));
	else
		fputs("null", stdout);
	printf(",\"consumers\":%lld},", (long long)f->consumers);
	fl_feed_status_free(f);
}
