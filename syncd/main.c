/*
 * flsyncd — the sync daemon: parses its command line, reads the token,
 * opens (creating and migrating) the database, and talks to the API.
 * The sync streams arrive with the sync engine; today a pass checks that
 * the API answers and the token is accepted (GET /api/users/0.1/self/).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "flsync.h"

/* Exit codes: documented in flsyncd --help and the README. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,     /* the pass failed (network, API, server errors) */
	EXIT_USAGE = 2,    /* bad command line or configuration */
	EXIT_DB = 3,       /* the database cannot be opened or written */
	EXIT_AUTH = 4,     /* no token, or the API refused it */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flsyncd --db PATH --api URL [--once] [--interval SECONDS]\n"
		"               [--token-file FILE] [--progress] [-v]\n"
		"\n"
		"Keeps a local SQLite copy of a Freelancer.com account's data.\n"
		"\n"
		"  --db PATH          the database file (created if missing)\n"
		"  --api URL          the API origin, e.g. https://www.freelancer.com\n"
		"  --once             run one pass and exit (0 only if it succeeded)\n"
		"  --interval S       seconds between passes when not --once (default 300)\n"
		"  --token-file FILE  read the API token from FILE (must not be world-readable);\n"
		"                     otherwise it comes from the FLSYNC_TOKEN environment variable\n"
		"  --progress         show progress on a terminal\n"
		"  -v, --verbose      log each request (never the token)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"\n"
		"Exit status: 0 success, 1 the pass failed, 2 usage, 3 database error,\n"
		"4 missing or refused token.\n");
}

/* The token: first line of the file, which no one but the owner may read. */
static char *read_token_file(const char *path)
{
	struct stat st;
	char line[4096];
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "flsyncd: cannot open token file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IROTH | S_IWOTH))) {
		fprintf(stderr, "flsyncd: token file %s is readable by others; chmod 600 it\n", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	if (!fgets(line, sizeof line, f)) {
		fprintf(stderr, "flsyncd: token file %s is empty\n", path);
		fclose(f);
		return NULL;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0]) {
		fprintf(stderr, "flsyncd: token file %s is empty\n", path);
		return NULL;
	}
	return strdup(line);
}

static int check_self(struct http_client *http, int verbose)
{
	struct api_result res;
	struct fl_error err = { 0 };
	int rc;

	rc = api_call(http, "GET", "/api/users/0.1/self/", NULL, NULL, 0, NULL, NULL,
		      NULL, NULL, &res, &err);
	if (rc == FL_OK) {
		if (verbose)
			fprintf(stderr, "flsyncd: API answers; token accepted\n");
		return EXIT_OK;
	}
	fprintf(stderr, "flsyncd: %s\n", err.msg);
	return res.http.status == 401 || res.http.status == 403 ? EXIT_AUTH : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "api", required_argument, NULL, 'a' },
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "token-file", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db_path = NULL, *api = NULL, *token_file = NULL;
	struct http_config hc = { 0 };
	struct http_client *http = NULL;
	struct fl_error err = { 0 };
	struct fl_db *db = NULL;
	char *token = NULL, *end;
	int c, once = 0, verbose = 0, rc, code;
	long interval = 300;

	while ((c = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db_path = optarg; break;
		case 'a': api = optarg; break;
		case 'o': once = 1; break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || interval <= 0) {
				fprintf(stderr, "flsyncd: --interval wants a positive number of seconds\n");
				return EXIT_USAGE;
			}
			break;
		case 't': token_file = optarg; break;
		case 'p': break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("flsyncd %s (libflsync %s, schema %d)\n", FL_VERSION,
				 fl_libversion(), fl_schema_version());
			return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || !db_path || !api) {
		fprintf(stderr, "flsyncd: %s\n", optind < argc ? "unexpected argument" :
			"--db and --api are required");
		usage(stderr);
		return EXIT_USAGE;
	}
	(void)interval;

	if (token_file)
		token = read_token_file(token_file);
	else if (getenv("FLSYNC_TOKEN") && *getenv("FLSYNC_TOKEN"))
		token = strdup(getenv("FLSYNC_TOKEN"));
	else
		fprintf(stderr, "flsyncd: no API token: set FLSYNC_TOKEN or use --token-file\n");
	if (!token)
		return EXIT_AUTH;

	rc = fl_db_open(db_path, FL_OPEN_CREATE, &db);
	if (rc) {
		fprintf(stderr, "flsyncd: %s\n", fl_db_open_errmsg());
		free(token);
		return EXIT_DB;
	}
	hc.base_url = api;
	hc.token = token;
	rc = http_client_new(&hc, &http, &err);
	free(token);
	if (rc) {
		fprintf(stderr, "flsyncd: %s\n", err.msg);
		fl_db_close(db);
		return EXIT_USAGE;
	}
	code = check_self(http, verbose);
	if (code == EXIT_OK && !once)
		fprintf(stderr, "flsyncd: the sync loop is not built yet; run with --once\n");
	http_client_free(http);
	fl_db_close(db);
	return code;
}
