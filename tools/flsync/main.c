/*
 * flsync — the command line over libflsync.  Subcommands arrive with the
 * read-side issue; today it reports versions and the schema of a database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "flsync.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flsync [--db PATH] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  schema        print the database's schema version\n"
		"\n"
		"Options:\n"
		"  --db PATH     the database (default: $FLSYNC_DB)\n"
		"  -h, --help    this help\n"
		"  -V, --version print the version\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage.\n");
}

int main(int argc, char **argv)
{
	const char *db_path = getenv("FLSYNC_DB");
	struct fl_db *db;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("flsync %s (libflsync %s, schema %d)\n", FL_VERSION,
			       fl_libversion(), fl_schema_version());
			return 0;
		} else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			db_path = argv[++i];
		} else {
			fprintf(stderr, "flsync: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "schema") != 0) {
		fprintf(stderr, "flsync: unknown command %s\n", argv[i]);
		return 2;
	}
	if (!db_path) {
		fprintf(stderr, "flsync: no database: use --db PATH or set FLSYNC_DB\n");
		return 2;
	}
	if (fl_db_open(db_path, FL_OPEN_READONLY, &db) != FL_OK) {
		fprintf(stderr, "flsync: %s\n", fl_db_open_errmsg());
		return 1;
	}
	printf("%s: schema version %d (this flsync knows %d)\n", db_path,
	       fl_db_schema_version(db), fl_schema_version());
	fl_db_close(db);
	return 0;
}
