/*
 * main.c — flsyncd's entry: the command line, the token, and the order
 * things are set up in (config, token, lock, database, HTTP client, rate
 * limiter) before the loop (loop.c) runs; each failure has its exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "flsync.h"
#include "syncd.h"

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: flsyncd --db PATH --api URL [--once] [--interval SECONDS]\n"
		"               [--config FILE] [--token-file FILE] [--progress] [-v]\n"
		"\n"
		"Keeps a local SQLite copy of a Freelancer.com account's data.\n"
		"\n"
		"  --db PATH          the database file (created if missing); PATH.lock beside it\n"
		"                     keeps a second flsyncd from syncing the same file\n"
		"  --api URL          the API origin, e.g. https://www.freelancer.com\n"
		"  --once             run one pass and exit (0 only if it succeeded)\n"
		"  --interval S       seconds between passes when not --once (default: the\n"
		"                     config's [cadence] interval, else 300)\n"
		"  --config FILE      the configuration file (default:\n"
		"                     $XDG_CONFIG_HOME/flsync/flsyncd.conf, else\n"
		"                     ~/.config/flsync/flsyncd.conf; a missing default is fine)\n"
		"  --token-file FILE  the token file: what flsync auth login or flsync auth token\n"
		"                     wrote (refreshed in place before it expires), or a bare\n"
		"                     token on its first line; mode 600, or it is refused.\n"
		"                     Otherwise the token comes from FLSYNC_TOKEN\n"
		"  --progress         on a terminal, show per-stream progress redrawn in place\n"
		"  -v, --verbose      log passes, streams and requests (never the token)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"\n"
		"Configuration file: '[section]' headers, 'key = value' lines, '#' comment lines.\n"
		"Durations are seconds, or take a unit: 90s, 15m, 2h, 1d.\n"
		"  [search]   query = TEXT         a market search of active projects (repeatable)\n"
		"             jobs = 3, 17         job ids to filter market searches (repeatable)\n"
		"  [cadence]  interval = 5m        time between passes\n"
		"             users = 1d           re-read known users this often\n"
		"             reference = 1d       currencies, jobs, categories\n"
		"             milestones_all = 1h  re-read every non-final milestone\n"
		"             reconcile = 1d       re-read reconcile_lookback (7d) of each windowed\n"
		"                                  stream, in reconcile_slices (24) passes\n"
		"             safety_lag = 30s     windows end this long before the server's now\n"
		"             lookback = 2m        each pass re-reads this much before its cursor\n"
		"  [limits]   rate_scale = 1.0     multiplies every documented rate limit\n"
		"  [sync]     page_limit = 100, batch_rows = 5000, batch_ms = 1000,\n"
		"             max_window_pages = 100, mass_delete_ratio = 0.2,\n"
		"             max_attempts = 5, retry_base_ms = 500\n"
		"An unknown key or a bad value stops flsyncd with FILE:LINE and exit status 2.\n"
		"\n"
		"Signals: SIGTERM or SIGINT finish the current batch and exit 0 (a second one\n"
		"ends flsyncd at once; the unfinished batch is rolled back); SIGHUP re-reads the\n"
		"configuration and starts the next pass; SIGUSR1 starts the next pass now\n"
		"(flsync ui's \"sync now\"; one during a pass starts another right after it).\n"
		"\n"
		"Exit status:\n"
		"  0  success (or stopped by SIGTERM/SIGINT)\n"
		"  1  the pass failed (network, API or server errors)\n"
		"  2  bad command line or configuration\n"
		"  3  the database cannot be opened or written\n"
		"  4  missing or refused token, or the sign-in has ended (run flsync auth login)\n"
		"  5  another flsyncd is syncing this database\n");
}

/*
 * Sign with the token file (a JSON record, refreshed when it can be, or a
 * bare token) or FLSYNC_TOKEN.  An exit code after printing why not.
 */
static int main_token(struct fl_sync *sync, const char *token_file)
{
	const char *env = getenv("FLSYNC_TOKEN");

	if (token_file) {
		if (fl_sync_set_token_file(sync, token_file) != FL_OK) {
			fprintf(stderr, "flsyncd: %s\n", fl_sync_errmsg(sync));
			return SYNCD_EXIT_AUTH;
		}
		return SYNCD_EXIT_OK;
	}
	if (env && *env) {
		if (fl_sync_set_token(sync, env) != FL_OK) {
			fprintf(stderr, "flsyncd: FLSYNC_TOKEN: %s\n", fl_sync_errmsg(sync));
			return SYNCD_EXIT_AUTH;
		}
		return SYNCD_EXIT_OK;
	}
	fprintf(stderr, "flsyncd: no API token: set FLSYNC_TOKEN, use --token-file, "
		"or sign in with flsync auth login --token-file FILE\n");
	return SYNCD_EXIT_AUTH;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "api", required_argument, NULL, 'a' },
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db_path = NULL, *api = NULL, *token_file = NULL, *config_arg = NULL;
	struct syncd_run run = { .interval_s = -1 };
	char *end, *config_path = NULL;
	int c, code;
	bool progress = false, verbose = false;

	/*
	 * The daemon owns its process's SQLite: no memory statistics (each of
	 * the statement journal's many small allocations otherwise takes a
	 * global mutex to count itself).  Before anything opens a database.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	while ((c = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db_path = optarg; break;
		case 'a': api = optarg; break;
		case 'o': run.once = true; break;
		case 'i':
			errno = 0;
			run.interval_s = strtol(optarg, &end, 10);
			if (*end || errno || run.interval_s <= 0) {
				fprintf(stderr, "flsyncd: --interval wants a positive number of seconds\n");
				return SYNCD_EXIT_USAGE;
			}
			break;
		case 'c': config_arg = optarg; break;
		case 't': token_file = optarg; break;
		case 'p': progress = true; break;
		case 'v': verbose = true; break;
		case 'h': main_usage(stdout); return SYNCD_EXIT_OK;
		case 'V': printf("flsyncd %s (libflsync %s, schema %d)\n", FL_VERSION,
				 fl_libversion(), fl_schema_version());
			return SYNCD_EXIT_OK;
		default: main_usage(stderr); return SYNCD_EXIT_USAGE;
		}
	}
	if (optind < argc || !db_path || !api) {
		fprintf(stderr, "flsyncd: %s\n", optind < argc ? "unexpected argument" :
			"--db and --api are required");
		main_usage(stderr);
		return SYNCD_EXIT_USAGE;
	}

	config_path = config_arg ? strdup(config_arg) : syncd_config_default_path();
	run.config_path = config_path;
	run.config_required = config_arg != NULL;
	code = syncd_config_load(config_path, run.config_required, &run.cfg);
	if (code)
		goto out;
	run.progress = syncd_progress_new(progress && isatty(STDERR_FILENO), verbose);
	if (run.cfg.path)
		syncd_info(run.progress, "configuration from %s", run.cfg.path);
	if (fl_sync_new(api, &run.sync) != FL_OK) {
		fprintf(stderr, "flsyncd: --api wants an http or https origin, e.g. https://www.freelancer.com\n");
		code = SYNCD_EXIT_USAGE;
		goto out;
	}
	code = syncd_config_apply(&run.cfg, run.sync);
	if (code)
		goto out;
	code = main_token(run.sync, token_file);
	if (code)
		goto out;
	fl_sync_set_progress(run.sync, syncd_progress_update, run.progress);
	fl_sync_set_log(run.sync, syncd_progress_log, run.progress);
	fl_sync_set_cancel(run.sync, syncd_stop_flag());
	/*
	 * Signals before the lock: once the lock file names this pid, flsync ui
	 * may send SIGUSR1 ("sync now"), which must not end the process.
	 */
	syncd_signals_install();
	/* The lock comes first: even a migration must not race another flsyncd. */
	code = fl_sync_lock(run.sync, db_path);
	if (code == FL_ERR_LOCKED) {
		int64_t pid = 0;

		fl_sync_lock_holder(db_path, &pid);
		if (pid > 0)
			fprintf(stderr, "flsyncd: another flsyncd is syncing %s (pid %lld)\n", db_path,
				(long long)pid);
		else
			fprintf(stderr, "flsyncd: %s\n", fl_sync_errmsg(run.sync));
		code = SYNCD_EXIT_LOCKED;
		goto out;
	} else if (code != FL_OK) {
		fprintf(stderr, "flsyncd: %s\n", fl_sync_errmsg(run.sync));
		code = SYNCD_EXIT_DB;
		goto out;
	}
	if (fl_db_open(db_path, FL_OPEN_CREATE, &run.db) != FL_OK) {
		fprintf(stderr, "flsyncd: %s\n", fl_db_open_errmsg());
		code = SYNCD_EXIT_DB;
		goto out;
	}
	code = syncd_loop(&run);
out:
	fl_db_close(run.db);
	fl_sync_free(run.sync); /* and its lock */
	syncd_progress_free(run.progress);
	syncd_config_free(&run.cfg);
	free(config_path);
	return code;
}
