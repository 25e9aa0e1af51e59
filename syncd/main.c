/*
 * main.c — flsyncd's entry: the command line, the token, and the order
 * things are set up in (config, token, lock, database, HTTP client, rate
 * limiter) before the loop (loop.c) runs; each failure has its exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
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
		"       flsyncd [--config FILE] [--account NAME] [--api URL] [--once] ...\n"
		"\n"
		"Keeps a local SQLite copy of Freelancer.com accounts' data: the one of --db,\n"
		"or every [account NAME] of the configuration file (--account: just that one).\n"
		"\n"
		"  --db PATH          the database file (created if missing); PATH.lock beside it\n"
		"                     keeps a second flsyncd from syncing the same file\n"
		"  --api URL          the API origin, e.g. https://www.freelancer.com (for\n"
		"                     accounts: those without an api of their own)\n"
		"  --account NAME     sync only [account NAME] of the configuration file\n"
		"  --once             run one pass (each account) and exit (0 only if all succeeded)\n"
		"  --interval S       seconds between passes when not --once (default: the\n"
		"                     config's [cadence] interval, else 300)\n"
		"  --config FILE      the configuration file (default:\n"
		"                     $XDG_CONFIG_HOME/flsync/flsyncd.conf, else\n"
		"                     ~/.config/flsync/flsyncd.conf; a missing default is fine)\n"
		"  --token-file FILE  with --db: the token file, what flsync auth login or flsync\n"
		"                     auth token wrote (refreshed in place before it expires), or\n"
		"                     a bare token on its first line; mode 600, or it is refused.\n"
		"                     Otherwise the token comes from FLSYNC_TOKEN\n"
		"  --webhook-listen HOST:PORT  receive the API's webhook deliveries here (put a\n"
		"                     reverse proxy or tunnel in front); each starts a targeted\n"
		"                     read at once.  flsync webhook url prints the URL\n"
		"  --webhook-path P   the secret path (default: random, made once, kept in the db)\n"
		"  --progress         on a terminal, show per-stream progress redrawn in place\n"
		"                     (one account only)\n"
		"  -v, --verbose      log passes, streams and requests (never the token)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"\n"
		"Configuration file: '[section]' headers, 'key = value' lines, '#' comment lines.\n"
		"Durations are seconds, or take a unit: 90s, 15m, 2h, 1d.\n"
		"  [search]   query = TEXT         a market search of active projects (repeatable)\n"
		"             jobs = 3, 17         job ids to filter market searches (repeatable)\n"
		"  [cadence]  interval = 5m        time between an account's passes\n"
		"             users = 1d           re-read known users this often\n"
		"             reference = 1d       currencies, jobs, categories\n"
		"             milestones_all = 1h  re-read every non-final milestone\n"
		"             reconcile = 1d       re-read reconcile_lookback (7d) of each windowed\n"
		"                                  stream, paced by requests: reconcile_budget (16)\n"
		"                                  a pass at least, done within the cadence\n"
		"             refresh_all = 1d     re-read every stored record by id this often (0 never)\n"
		"             safety_lag = 30s     windows end this long before the server's now\n"
		"             lookback = 2m        each pass re-reads this much before its cursor\n"
		"  [limits]   rate_scale = 1.0     multiplies every documented rate limit\n"
		"             max_parallel = 4     accounts syncing at the same time\n"
		"  [sync]     page_limit = 100, batch_rows = 5000, batch_ms = 1000,\n"
		"             max_window_pages = 100, mass_delete_ratio = 0.2,\n"
		"             max_attempts = 5, retry_base_ms = 500\n"
		"  [account NAME]                  one account (repeat the section for more):\n"
		"             token_file = FILE    its token file\n"
		"             db = PATH            its database ($XDG_DATA_HOME/flsync/NAME.db)\n"
		"             api = URL            its API origin (else --api)\n"
		"             search.query = TEXT  any option above by its full name, for it alone\n"
		"  [webhook]  listen = HOST:PORT, path = /SECRET   as --webhook-listen, --webhook-path\n"
		"             poll_interval = 1h   between passes while deliveries come (else interval)\n"
		"             check = 1h           check the webhook is active; register it again if not\n");
	fprintf(f,
		"  [feed]     keep = 30d           the change feed keeps a change this long after a\n"
		"                                  pass, and longer while a registered consumer or a\n"
		"                                  sink has not read it (0: only what they need)\n"
		"  [report]   currency = EUR       the home currency of flsync report and flsync ui (USD)\n"
		"An unknown key or a bad value stops flsyncd with FILE:LINE and exit status 2.\n");
	fprintf(f,
		"Each account has its own rate budgets (the API's limits are per user); their\n"
		"first passes are staggered, and one that fails or loses its sign-in never holds\n"
		"up the others.\n"
		"\n"
		"Signals: SIGTERM or SIGINT finish the current batch and exit 0 (a second one\n"
		"ends flsyncd at once; the unfinished batch is rolled back); SIGHUP re-reads the\n"
		"configuration and starts the next passes; SIGUSR1 starts the next passes now\n"
		"(flsync ui's \"sync now\"; one during a pass starts another right after it).\n"
		"Queued actions (flsync queue add, flsync ui, any program) are sent within a\n"
		"second, without waiting for the next pass.\n"
		"\n"
		"Exit status:\n"
		"  0  success (or stopped by SIGTERM/SIGINT)\n"
		"  1  the pass failed (network, API or server errors)\n"
		"  2  bad command line or configuration\n"
		"  3  the database cannot be opened or written\n"
		"  4  missing or refused token, or the sign-in has ended (run flsync auth login)\n"
		"  5  another flsyncd is syncing this database\n"
		"With several accounts: the status of the first account (in the file's order)\n"
		"that failed, or could not sync at all.\n");
}

static char *main_xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		abort();
	return d;
}

/* The accounts to sync: --db's one, or the file's (--account: one of them). */
static int main_accounts(struct syncd_run *run, const char *db_path, const char *api,
			 const char *token_file, const char *only, bool display, bool verbose)
{
	const struct flconf *cfg = &run->cfg;
	int n = 0;

	if (db_path) {
		if (!api) {
			fprintf(stderr, "flsyncd: --db needs --api\n");
			return SYNCD_EXIT_USAGE;
		}
		if (only) {
			fprintf(stderr, "flsyncd: --account NAME takes its db from the configuration; drop --db\n");
			return SYNCD_EXIT_USAGE;
		}
		run->accounts = calloc(1, sizeof *run->accounts);
		if (!run->accounts)
			abort();
		run->accounts[0].db_path = main_xstrdup(db_path);
		run->accounts[0].api = main_xstrdup(api);
		run->accounts[0].token_file = main_xstrdup(token_file);
		run->accounts[0].progress = syncd_progress_new(display, verbose, NULL);
		run->n_accounts = 1;
		return SYNCD_EXIT_OK;
	}
	if (cfg->n_accounts == 0) {
		fprintf(stderr, "flsyncd: --db and --api are required, or [account NAME] sections in %s\n",
			cfg->path ? cfg->path : "the configuration file");
		return SYNCD_EXIT_USAGE;
	}
	if (token_file) {
		fprintf(stderr, "flsyncd: with [account NAME] sections each account has its token_file; "
			"--token-file goes with --db\n");
		return SYNCD_EXIT_USAGE;
	}
	if (only && !flconf_account(cfg, only)) {
		fprintf(stderr, "flsyncd: no [account %s] in %s\n", only, cfg->path);
		return SYNCD_EXIT_USAGE;
	}
	run->accounts = calloc((size_t)cfg->n_accounts, sizeof *run->accounts);
	if (!run->accounts)
		abort();
	for (int i = 0; i < cfg->n_accounts; i++) {
		const struct flconf_account *ca = &cfg->accounts[i];
		struct syncd_account *a = &run->accounts[n];
		char prefix[80];

		if (only && strcmp(ca->name, only) != 0)
			continue;
		if (!ca->api && !api) {
			fprintf(stderr, "flsyncd: %s:%ld: [account %s] has no api, and --api is not given\n",
				cfg->path, ca->line, ca->name);
			return SYNCD_EXIT_USAGE;
		}
		snprintf(prefix, sizeof prefix, "[%s] ", ca->name);
		a->name = main_xstrdup(ca->name);
		a->db_path = main_xstrdup(ca->db);
		a->api = main_xstrdup(ca->api ? ca->api : api);
		a->token_file = main_xstrdup(ca->token_file);
		a->settings = ca->settings;
		a->n_settings = ca->n_settings;
		a->progress = syncd_progress_new(display && (only || cfg->n_accounts == 1), verbose,
						 prefix);
		run->n_accounts = ++n;
	}
	return SYNCD_EXIT_OK;
}

/*
 * Ready every account: its handle and token, then its lock and database.
 * One account's trouble stops only that account, but with one account its
 * exit code is the daemon's.
 */
static int main_setup(struct syncd_run *run)
{
	int ready = 0, first = SYNCD_EXIT_OK;

	for (int i = 0; i < run->n_accounts; i++) {
		struct syncd_account *a = &run->accounts[i];
		int code = syncd_account_setup(a, &run->cfg);

		if (code == SYNCD_EXIT_USAGE)
			return code; /* a mistake in the file or the command line: fix it first */
		if (!code)
			code = syncd_account_open(a);
		if (code == SYNCD_EXIT_LOCKED && run->n_accounts > 1) {
			/* Another flsyncd has it now; it may let go. */
			a->code = code;
			ready++;
			continue;
		}
		if (code) {
			a->code = code;
			a->state = ACCOUNT_STOPPED;
			if (first == SYNCD_EXIT_OK)
				first = code;
			continue;
		}
		ready++;
	}
	return ready ? SYNCD_EXIT_OK : first;
}

/* What the command line asked for (run takes --once and --interval). */
struct main_opts {
	const char *db_path, *api, *token_file, *config_arg, *only;
	const char *hook_listen, *hook_path;
	bool progress, verbose;
};

/* The options, into o and run; -1 when they read well, else the exit status. */
static int main_parse(int argc, char **argv, struct main_opts *o, struct syncd_run *run)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "api", required_argument, NULL, 'a' },
		{ "account", required_argument, NULL, 'A' },
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "webhook-listen", required_argument, NULL, 'W' },
		{ "webhook-path", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->db_path = optarg; break;
		case 'a': o->api = optarg; break;
		case 'A': o->only = optarg; break;
		case 'o': run->once = true; break;
		case 'i':
			errno = 0;
			run->interval_s = strtol(optarg, &end, 10);
			if (*end || errno || run->interval_s <= 0) {
				fprintf(stderr, "flsyncd: --interval wants a positive number of seconds\n");
				return SYNCD_EXIT_USAGE;
			}
			break;
		case 'c': o->config_arg = optarg; break;
		case 't': o->token_file = optarg; break;
		case 'p': o->progress = true; break;
		case 'W': o->hook_listen = optarg; break;
		case 'P': o->hook_path = optarg; break;
		case 'v': o->verbose = true; break;
		case 'h': main_usage(stdout); return SYNCD_EXIT_OK;
		case 'V': printf("flsyncd %s (libflsync %s, schema %d)\n", FL_VERSION,
				 fl_libversion(), fl_schema_version());
			return SYNCD_EXIT_OK;
		default: main_usage(stderr); return SYNCD_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flsyncd: unexpected argument\n");
		main_usage(stderr);
		return SYNCD_EXIT_USAGE;
	}
	return -1;
}

/* The webhook listener, when the command line or the file asks for one; 0 or the exit status. */
static int main_webhook(struct syncd_run *run, const struct main_opts *o)
{
	const char *listen_on = o->hook_listen ? o->hook_listen : run->cfg.webhook_listen;
	const char *path = o->hook_path ? o->hook_path : run->cfg.webhook_path;

	if (path && !listen_on) {
		fprintf(stderr, "flsyncd: --webhook-path goes with --webhook-listen\n");
		return SYNCD_EXIT_USAGE;
	}
	if (path && run->n_accounts > 1) {
		fprintf(stderr, "flsyncd: --webhook-path names one account's path; with several "
			"accounts each gets its own (flsync webhook url --db THEIRS)\n");
		return SYNCD_EXIT_USAGE;
	}
	for (int i = 0; i < run->n_accounts; i++)
		run->accounts[i].webhook_check_s = run->cfg.webhook_check_s;
	return listen_on ? syncd_webhook_start(run, listen_on, path, &run->webhook) : 0;
}

int main(int argc, char **argv)
{
	struct syncd_run run = { .interval_s = -1 };
	struct main_opts o = { 0 };
	char *config_path = NULL, err[768];
	int code;

	/*
	 * One malloc arena: a pass's streams run on threads of their own, and
	 * glibc would give each its arena, which keeps what it freed; the
	 * daemon's memory is then its heap and caches, not leftovers of
	 * threads (1M-record first sync: 51 -> 37 MB peak, no slower).
	 */
	mallopt(M_ARENA_MAX, 1);

	/*
	 * The daemon owns its process's SQLite: no memory statistics (each of
	 * the statement journal's many small allocations otherwise takes a
	 * global mutex to count itself).  Before anything opens a database.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	if ((code = main_parse(argc, argv, &o, &run)) >= 0)
		return code;
	config_path = o.config_arg ? main_xstrdup(o.config_arg) : flconf_default_path();
	run.config_path = config_path;
	run.config_required = o.config_arg != NULL;
	run.log = syncd_progress_new(false, o.verbose, NULL);
	if (flconf_load(config_path, run.config_required, &run.cfg, err, sizeof err) != 0) {
		fprintf(stderr, "flsyncd: %s\n", err);
		code = SYNCD_EXIT_USAGE;
		goto out;
	}
	if (run.cfg.path)
		syncd_info(run.log, "configuration from %s", run.cfg.path);
	code = main_accounts(&run, o.db_path, o.api, o.token_file, o.only,
			     o.progress && isatty(STDERR_FILENO), o.verbose);
	if (code) {
		if (code == SYNCD_EXIT_USAGE && !o.db_path && !run.cfg.n_accounts)
			main_usage(stderr);
		goto out;
	}
	/*
	 * Signals before the locks: once a lock file names this pid, flsync ui
	 * may send SIGUSR1 ("sync now"), which must not end the process.
	 */
	syncd_signals_install();
	code = main_setup(&run);
	if (!code)
		code = main_webhook(&run, &o);
	if (!code)
		code = syncd_loop(&run);
out:
	syncd_webhook_stop(run.webhook);
	for (int i = 0; i < run.n_accounts; i++)
		syncd_account_free(&run.accounts[i]);
	free(run.accounts);
	syncd_progress_free(run.log);
	flconf_free(&run.cfg);
	free(config_path);
	return code;
}
