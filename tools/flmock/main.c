/*
 * main.c — flmock's entry point: flags, world generation, the server on
 * 127.0.0.1, and a clean stop on SIGTERM or SIGINT.  The first line on
 * stdout is "listening on http://127.0.0.1:PORT"; diagnostics go to stderr.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "flmock.h"

static const char usage[] =
	"usage: flmock [--port N] [--seed N] [--token T] [--accounts N] [--scale N]\n"
	"              [--faults SPEC] [--rate-scale X] [--latency MS] [--now UNIX] [size flags]\n"
	"              [OAuth flags]\n"
	"\n"
	"A local simulator of the Freelancer.com API, serving a generated world on\n"
	"127.0.0.1 under the real paths (/api/projects/0.1/..., /api/users/0.1/...,\n"
	"/api/messages/0.1/...).\n"
	"\n"
	"  --port N              port to listen on (0: pick a free one; default 0)\n"
	"  --seed N              world seed (default 1); same seed, same world\n"
	"  --token T             accepted token (default demo), in Freelancer-OAuth-V1: T\n"
	"                        or Freelancer-Developer-Auth-V1: T (or ID;T)\n"
	"  --accounts N          N self users in one world (default 1): account 1's token\n"
	"                        is T, account k's is T-k (demo-2, demo-3, ...).  Each has\n"
	"                        its own projects, bids, threads, milestones and reviews;\n"
	"                        the market is shared.  The size flags (and --scale) are\n"
	"                        each account's share: the world is N times as large.\n"
	"                        Every endpoint answers as the token's account, with its\n"
	"                        own rate budgets.  A thread is in its first member's\n"
	"                        inbox only (the folder and read state are one view)\n"
	"  --now UNIX            simulator clock at start (default 1767225600,\n"
	"                        2026-01-01T00:00:00Z)\n"
	"  --scale N             preset for about N records in all (e.g. 1000000)\n"
	"  --users N  --projects N  --bids-per-project X  --milestones N\n"
	"  --milestone-requests N  --reviews N  --threads N  --messages-per-thread X\n"
	"                        world sizes (override --scale)\n"
	"  --span S              spread projects, bids, threads and messages over the last S\n"
	"                        seconds (default two years): a short span packs many records\n"
	"                        into each second\n"
	"  --rate-scale X        multiply every rate limit by X (default 1; >1 looser)\n"
	"  --faults SPEC         comma-separated kind=fraction of API requests, drawn\n"
	"                        deterministically from the seed and request number:\n"
	"                          http500    500 with a JSON error envelope\n"
	"                          html503    503 with an HTML body\n"
	"                          rate429    429 AuthorisationExceptionCodes.RATE_LIMITED\n"
	"                          truncate   Content-Length says more than is sent\n"
	"                          malformed  200 with a body that is not valid JSON\n"
	"                          reset      connection reset, no response\n"
	"                          stall      answer only after stall_ms\n"
	"                          lostreply  a write is applied, then the connection resets\n"
	"                        plus stall_ms=N (default 3000), and path=PREFIX, skip=N,\n"
	"                        count=N to aim them: only requests on that path, the\n"
	"                        first N of them spared, at most N faults in all.  A\n"
	"                        faulted write is never applied (stall/truncate/malformed\n"
	"                        writes answer 503), except lostreply.  /_mock/ is never\n"
	"                        faulted.\n"
	"                        e.g. 'http500=0.05,html503=0.05,reset=0.02,stall=0.01,stall_ms=3000'\n"
	"  --latency MS          answer every API request MS ms late (0..60000, default 0),\n"
	"                        as a link across the internet would: half before the\n"
	"                        endpoint runs, half after, on the request's own thread,\n"
	"                        so concurrent requests overlap their latency.  Not a\n"
	"                        fault: it changes no fault draw.  /_mock/ and /oauth/\n"
	"                        are answered at once\n"
	"  --help, --version\n";

static const char usage_mock[] =
	"\n"
	"Inspection and control (no auth, never faulted or rate limited):\n"
	"  GET  /_mock/self[?account=K]    {\"id\":SELF,\"now\":T,\"seed\":S,\"account\":K,\"accounts\":N}\n"
	"                                  of account K, else of the request's token, else 1\n"
	"  GET  /_mock/accounts            {\"accounts\":[{\"account\":K,\"id\":ID,\"token\":T},...]}\n"
	"  GET  /_mock/clock               {\"now\":T}\n"
	"  POST /_mock/advance?seconds=N[&quiet=S]\n"

	"                                  move the clock, making ~1 event per 10 s, none in the\n"
	"                                  last S seconds (default 0): {\"now\":T,\"events\":K}\n"
	"  POST /_mock/silent_edit?table=T&id=N  change record N of T (projects, bids,\n"
	"                                  milestones, milestone_requests, reviews, threads,\n"
	"                                  messages) with no event and no time moved\n"
	"  GET  /_mock/log                 JSON lines, one per write request: seq, account, time,\n"
	"                                  method, path, query (action), body, applied, fault,\n"
	"                                  status, error_code, id\n"
	"  GET  /_mock/stats               {\"requests\":N,\"endpoints\":{\"GET /api/...\":{\"200\":n}},\n"
	"                                  \"faults\":{\"http500\":n,...},\"accounts\":{\"K\":{\"requests\":n,\n"
	"                                  \"rate_limited\":n,\"endpoints\":{...}}}}: rate_limited\n"
	"                                  counts the 429s of the account's own budgets; plus\n"
	"                                  \"latency_ms\":L, \"in_flight\":n (API requests being\n"
	"                                  served now) and \"max_in_flight\":n (the most at once)\n"
	"  POST /_mock/stats?reset=max_in_flight\n"
	"                                  answer the stats, then count max_in_flight afresh\n"
	"  GET  /_mock/dump?entity=E       JSON lines of every record of E (users, projects, bids,\n"
	"                                  milestones, milestone_requests, reviews, threads,\n"
	"                                  messages) in the API's object shape, id order\n"
	"  POST /_mock/faults?spec=SPEC    replace the fault spec (empty: no faults)\n"
	"  GET  /_mock/oauth               the OAuth service's counts: authorised,\n"
	"                                  authorised_with_pkce, *_grants, api_refused_expired,\n"
	"                                  access_tokens, errors{invalid_client,invalid_grant,...}\n"
	"  POST /_mock/oauth/revoke        every refresh token refused (invalid_grant) from now\n"
	"  POST /_mock/oauth/expire        every access token issued so far expires now\n"
	"\n"
	"Rate limits are per account and endpoint, as the reference lists them, over windows timed by\n"
	"the wall clock plus the simulator's advances (advancing by a window resets it).\n";

static const char usage_oauth[] =
	"\n"
	"The OAuth service (authorization code with PKCE, refresh tokens that rotate):\n"
	"  GET  /oauth/authorise           consents at once: 302 to redirect_uri?code=C&state=S;\n"
	"                                  login=K signs in as account K (default 1)\n"
	"  POST /oauth/token               grant_type=authorization_code or refresh_token\n"
	"                                  (form-encoded, client_id and client_secret)\n"
	"  --client-id ID        the registered client (default flsync-demo)\n"
	"  --client-secret S     its secret (default demo-secret; '' for a public client)\n"
	"  --redirect-uri URI    its registered redirect (default: any loopback http URI;\n"
	"                        a loopback one matches on any port, as RFC 8252 asks)\n"
	"  --token-ttl S         issued access tokens expire after S seconds (default 3600)\n"
	"  --token-requests N    ... or after N API requests (default 0: no limit)\n"
	"  --ignore-pkce         accept codes without checking code_verifier\n"
	"  --token-delay-ms N    answer /oauth/token N ms late (widens refresh races)\n"
	"Issued access tokens are accepted beside --token T; an expired one gets 401\n"
	"AuthorisationExceptionCodes.EXPIRED_TOKEN.\n"
	"\n";

static const char usage_webhooks[] =
	"\n"
	"Webhooks (Create Webhook, Get Webhooks; deliveries to loopback URLs only):\n"
	"  --webhook-faults SPEC what webhook deliveries suffer, as /_mock/webhooks?spec=\n"
	"  GET  /_mock/webhooks            delivery counts: emitted, pending, posts, delivered,\n"
	"                                  failed, dropped, duplicated, delayed, reordered, overflow\n"
	"  POST /_mock/webhooks?spec=SPEC  replace the delivery faults: drop=F, dup=F, delay=F,\n"
	"                                  reorder=F (fractions of events), delay_ms=N (default\n"
	"                                  1000), fail_after=N failures in a row deactivate a\n"
	"                                  webhook (default 10; 0 never); empty: none, defaults\n"
	"  POST /_mock/webhooks/emit?type=T[&thread_id=N&message_id=N&project_id=N&bid_id=N\n"
	"       &milestone_id=N&request_id=N] | ?raw=JSON\n"
	"                                  deliver an event of any type (or a raw body)\n";

static void print_usage(FILE *f)
{
	fputs(usage, f);
	fputs(usage_webhooks, f);
	fputs(usage_mock, f);
	fputs(usage_oauth, f);
}

enum {
	O_PORT = 1000, O_SEED, O_TOKEN, O_SCALE, O_FAULTS, O_RATE_SCALE, O_NOW, O_USERS, O_PROJECTS,
	O_BIDS_PER_PROJECT, O_SPAN, O_MILESTONES, O_MILESTONE_REQUESTS, O_REVIEWS, O_THREADS,
	O_MESSAGES_PER_THREAD, O_CLIENT_ID, O_CLIENT_SECRET, O_REDIRECT_URI, O_TOKEN_TTL, O_TOKEN_REQUESTS,
	O_IGNORE_PKCE, O_TOKEN_DELAY, O_WEBHOOK_FAULTS, O_ACCOUNTS,
	O_LATENCY, O_HELP, O_VERSION,
};

static const struct option options[] = {
	{ "port", required_argument, NULL, O_PORT },
	{ "seed", required_argument, NULL, O_SEED },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "scale", required_argument, NULL, O_SCALE },
	{ "faults", required_argument, NULL, O_FAULTS },
	{ "rate-scale", required_argument, NULL, O_RATE_SCALE },
	{ "now", required_argument, NULL, O_NOW },
	{ "users", required_argument, NULL, O_USERS },
	{ "projects", required_argument, NULL, O_PROJECTS },
	{ "bids-per-project", required_argument, NULL, O_BIDS_PER_PROJECT },
	{ "milestones", required_argument, NULL, O_MILESTONES },
	{ "milestone-requests", required_argument, NULL, O_MILESTONE_REQUESTS },
	{ "reviews", required_argument, NULL, O_REVIEWS },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "messages-per-thread", required_argument, NULL, O_MESSAGES_PER_THREAD },
	{ "span", required_argument, NULL, O_SPAN },
	{ "client-id", required_argument, NULL, O_CLIENT_ID },
	{ "client-secret", required_argument, NULL, O_CLIENT_SECRET },
	{ "redirect-uri", required_argument, NULL, O_REDIRECT_URI },
	{ "token-ttl", required_argument, NULL, O_TOKEN_TTL },
	{ "token-requests", required_argument, NULL, O_TOKEN_REQUESTS },
	{ "ignore-pkce", no_argument, NULL, O_IGNORE_PKCE },
	{ "token-delay-ms", required_argument, NULL, O_TOKEN_DELAY },
	{ "webhook-faults", required_argument, NULL, O_WEBHOOK_FAULTS },
	{ "accounts", required_argument, NULL, O_ACCOUNTS },
	{ "latency", required_argument, NULL, O_LATENCY },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static bool num(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* One flag into the config; false on a bad value. */
static bool apply(struct fm_config *c, int opt, const char *arg)
{
	struct world_config *w = &c->world;
	char err[160];
	double v = 0;

	switch (opt) {
	case O_TOKEN:
		c->token = arg;
		return *arg != '\0';
	case O_CLIENT_ID:
		c->client_id = arg;
		return *arg != '\0';
	case O_CLIENT_SECRET:
		c->client_secret = arg;
		return true;
	case O_REDIRECT_URI:
		c->redirect_uri = arg;
		return strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0;
	case O_IGNORE_PKCE:
		c->ignore_pkce = true;
		return true;
	case O_FAULTS:
		if (!faults_parse(arg, &c->faults, err, sizeof err)) {
			fprintf(stderr, "flmock: --faults: %s\n", err);
			return false;
		}
		return true;
	case O_WEBHOOK_FAULTS:
		if (!wh_faults_parse(arg, &c->webhook_faults, err, sizeof err)) {
			fprintf(stderr, "flmock: --webhook-faults: %s\n", err);
			return false;
		}
		return true;
	case O_RATE_SCALE:
		return num(arg, 1e-9, 1e9, &c->rate_scale);
	case O_SEED: {
		/* the full 64 bits: a double would round seeds above 2^53 */
		char *end;

		w->seed = strtoull(arg, &end, 10);
		return end != arg && !*end && *arg != '-';
	}
	default:
		break;
	}
	if (!num(arg, 0, 1e15, &v))
		return false;
	switch (opt) {
	case O_PORT: c->port = (int)v; return v <= 65535;
	case O_SCALE: world_config_scale(w, (size_t)v); return true;
	case O_NOW: w->now = (int64_t)v; return v > 3 * 365 * 86400.0;
	case O_USERS: w->users = (size_t)v; return v >= 3 && v < 4e9;
	case O_PROJECTS: w->projects = (size_t)v; return v >= 1 && v < 4e9;
	case O_BIDS_PER_PROJECT: w->bids_per_project = v; return v <= 30;
	case O_MILESTONES: w->milestones = (size_t)v; return v < 4e9;
	case O_MILESTONE_REQUESTS: w->milestone_requests = (size_t)v; return v < 4e9;
	case O_REVIEWS: w->reviews = (size_t)v; return v < 4e9;
	case O_THREADS: w->threads = (size_t)v; return v < 4e9;
	case O_MESSAGES_PER_THREAD: w->messages_per_thread = v; return v <= 10000;
	case O_SPAN: w->span = (int64_t)v; return v >= 60 && v <= 20 * 365 * 86400.0;
	case O_TOKEN_TTL: c->token_ttl = (int64_t)v; return v >= 1;
	case O_TOKEN_REQUESTS: c->token_requests = (long)v; return v < 2e9;
	case O_TOKEN_DELAY: c->token_delay_ms = (long)v; return v <= 60000;
	case O_LATENCY: c->latency_ms = (long)v; return v <= 60000;
	case O_ACCOUNTS: w->accounts = (size_t)v; return v >= 1 && v <= MAX_ACCOUNTS && v == (double)(size_t)v;
	default: return false;
	}
}

/* --scale first, then every other flag, so explicit sizes override the preset. */
static int parse_flags(int argc, char **argv, struct fm_config *c)
{
	int pass, opt;

	for (pass = 0; pass < 2; pass++) {
		optind = 1;
		while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
			if (opt == O_HELP) {
				print_usage(stdout);
				return 0;
			}
			if (opt == O_VERSION) {
				printf("flmock %s\n", FL_VERSION);
				return 0;
			}
			if (opt == '?' || opt == ':') {
				print_usage(stderr);
				return 2;
			}
			if ((opt == O_SCALE) != (pass == 0))
				continue;
			if (!apply(c, opt, optarg)) {
				fprintf(stderr, "flmock: bad value for --%s: %s\n", options[opt - O_PORT].name,
					optarg ? optarg : "");
				return 2;
			}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flmock: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

static double elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	struct fm_config cfg = { .token = "demo", .rate_scale = 1, .client_id = "flsync-demo",
				 .client_secret = "demo-secret", .token_ttl = 3600 };
	struct world *w;
	struct server *s;
	struct timespec t0;
	sigset_t set;
	int rc, port = 0, sig = 0;

	world_config_defaults(&cfg.world);
	cfg.faults.stall_ms = 3000;
	wh_faults_parse("", &cfg.webhook_faults, NULL, 0);
	rc = parse_flags(argc, argv, &cfg);
	if (rc >= 0)
		return rc;

	/* Block the stop signals before any thread starts, then wait for one. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: webhook deliveries use libcurl */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = world_generate(&cfg.world);
	if (!w) {
		fprintf(stderr, "flmock: out of memory generating the world\n");
		return 1;
	}
	fprintf(stderr, "flmock: seed %llu, %zu records (%zu users, %zu projects, %zu bids, %zu milestones, "
		"%zu milestone requests, %zu reviews, %zu threads, %zu messages) in %.2f s; self %lld; accounts %zu\n",
		(unsigned long long)cfg.world.seed, world_records(w), w->users.n, w->projects.n, w->bids.n,
		w->milestones.n, w->milestone_requests.n, w->reviews.n, w->threads.n, w->messages.n, elapsed(&t0),
		(long long)w->self_id, w->naccounts);
	s = server_start(&cfg, w, &port);
	if (!s) {
		fprintf(stderr, "flmock: cannot listen on 127.0.0.1:%d\n", cfg.port);
		world_free(w);
		return 1;
	}
	printf("listening on http://127.0.0.1:%d\n", port);
	fflush(stdout);
	sigwait(&set, &sig);
	server_stop(s);
	world_free(w);
	out_free_cache();
	curl_global_cleanup();
	return 0;
}
