/*
 * cmd_webhook.c — `flsync webhook register URL | list | url`: register a
 * webhook with the API (Create Webhook), list the account's webhooks and
 * whether each is active (Get Webhooks), and print the local URL flsyncd's
 * listener serves deliveries on (its recorded address and secret path).
 * The token comes from $FLSYNC_TOKEN or --token-file, as for flsyncd.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync webhook register URL [--developer-id N] [--api ORIGIN] [--token-file FILE]\n"
		"       flsync webhook list [--json] [--api ORIGIN] [--token-file FILE]\n"
		"       flsync webhook url\n"
		"\n"
		"Webhooks let the API announce changes (messages, awards, milestones,\n"
		"completed projects) so the next sync reads them at once.\n"
		"\n"
		"  register URL   POST /api/users/0.1/webhooks/ (10 an hour): deliver to URL,\n"
		"                 the public address (a reverse proxy or tunnel) in front of\n"
		"                 flsyncd's listener; registering a URL again revives it\n"
		"  list           GET /api/users/0.1/webhooks/: each webhook, active or why not\n"
		"  url            the local URL flsyncd --webhook-listen serves, with its\n"
		"                 secret path: http://HOST:PORT/PATH\n"
		"\n"
		"  --api ORIGIN        the API (default: the token file's, else %s)\n"
		"  --token-file FILE   the token file flsync auth wrote; else $FLSYNC_TOKEN\n"
		"  --developer-id N    the developer the webhook belongs to (default: the account)\n"
		"  --json              list as one JSON array\n"
		"  --db PATH           the database the webhooks are recorded in\n"
		"\n"
		"Examples:\n"
		"  flsync webhook url\n"
		"  flsync webhook register https://hooks.example.com/$(flsync webhook url | cut -d/ -f4-)\n"
		"  flsync webhook list --token-file ~/.config/flsync/token.json\n",
		FL_AUTH_DEFAULT_API);
}

struct args {
	const char *api, *token_file;
	int64_t developer_id;
	bool json;
	char *api_owned;
};

/* The API origin and credential: flags, then the token file's own record, then the default. */
static int credentials(struct args *a, struct fl_webhook_api *out)
{
	const char *env = getenv("FLSYNC_TOKEN");

	memset(out, 0, sizeof *out);
	if (a->token_file) {
		struct fl_token_info *ti = NULL;
		int rc = fl_token_info_read(a->token_file, &ti);

		if (rc)
			return tool_fail("webhook: %s", fl_auth_errmsg());
		if (!a->api && ti->api)
			a->api = a->api_owned = xstrdup(ti->api);
		fl_token_info_free(ti);
		out->token_file = a->token_file;
	} else if (env && *env) {
		out->token = env;
	} else {
		return tool_fail("webhook: no token: give --token-file FILE (flsync auth login writes one) or set FLSYNC_TOKEN");
	}
	out->api = a->api ? a->api : FL_AUTH_DEFAULT_API;
	return TOOL_OK;
}

static void print_hook(const struct fl_webhook *h)
{
	printf("%-10lld %-8s %s", (long long)h->id, h->inactive ? "inactive" : "active", h->url);
	if (h->inactive)
		printf("  (%s)", h->inactive_reason ? h->inactive_reason : "no reason given");
	printf("\n");
}

static void print_json(const struct fl_webhook_list *l)
{
	printf("[");
	for (int64_t i = 0; i < l->count; i++) {
		const struct fl_webhook *h = &l->webhooks[i];

		printf("%s{\"id\":%lld,\"developer_id\":%lld,\"user_id\":%lld,\"url\":", i ? "," : "", (long long)h->id,
		       (long long)h->developer_id, (long long)h->user_id);
		tool_json_string(stdout, h->url, strlen(h->url));
		printf(",\"inactive\":%s,\"inactive_reason\":", h->inactive ? "true" : "false");
		if (h->inactive_reason)
			tool_json_string(stdout, h->inactive_reason, strlen(h->inactive_reason));
		else
			printf("null");
		printf(",\"time_created\":%lld}", (long long)h->time_created);
	}
	printf("]\n");
}

static int sub_url(struct tool_ctx *ctx, struct args *a, char **operands)
{
	struct fl_db *db = tool_open(ctx, false);
	char *url = NULL;
	int rc;

	if (!db)
		return TOOL_FAIL;
	rc = fl_webhook_url(db, &url);
	if (rc) {
		tool_db_fail(db, rc, "webhook url");
		fl_db_close(db);
		return TOOL_FAIL;
	}
	printf("%s\n", url);
	fl_free(url);
	fl_db_close(db);
	return TOOL_OK;
}

/* register (url set) or list: both ask the API, with the account's credentials. */
static int ask_api(struct tool_ctx *ctx, struct args *a, const char *url)
{
	struct fl_webhook_list *l = NULL;
	struct fl_webhook_api api;
	struct fl_db *db;
	int rc;

	if ((rc = credentials(a, &api)) != TOOL_OK)
		return rc;
	db = tool_open(ctx, true);
	if (!db)
		return TOOL_FAIL;
	if (url)
		rc = fl_webhook_register(db, &api, a->developer_id, url, &l);
	else
		rc = fl_webhook_list(db, &api, &l);
	if (rc) {
		tool_db_fail(db, rc, url ? "webhook register" : "webhook list");
		fl_db_close(db);
		return TOOL_FAIL;
	}
	if (a->json) {
		print_json(l);
	} else if (url) {
		printf("registered webhook %lld: %s (%s)\n", (long long)l->webhooks[0].id, l->webhooks[0].url,
		       l->webhooks[0].inactive ? "inactive" : "active");
	} else if (l->count == 0) {
		printf("no webhooks registered: flsync webhook register URL\n");
	} else {
		printf("%-10s %-8s %s\n", "ID", "STATE", "URL");
		for (int64_t i = 0; i < l->count; i++)
			print_hook(&l->webhooks[i]);
	}
	fl_webhook_list_free(l);
	fl_db_close(db);
	return TOOL_OK;
}

static int sub_register(struct tool_ctx *ctx, struct args *a, char **operands)
{
	return ask_api(ctx, a, operands[0]);
}

static int sub_list(struct tool_ctx *ctx, struct args *a, char **operands)
{
	return ask_api(ctx, a, NULL);
}

static const struct webhook_sub {
	const char *name;
	int operands;            /* how many it takes: none, or register's URL */
	int (*run)(struct tool_ctx *ctx, struct args *a, char **operands);
} subs[] = {
	{ "register", 1, sub_register },
	{ "list", 0, sub_list },
	{ "url", 0, sub_url },
};

static int run(struct tool_ctx *ctx, const char *sub, struct args *a, int argc, char **argv)
{
	size_t i;

	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (strcmp(sub, subs[i].name))
			continue;
		if (subs[i].operands == 0 && argc > 0)
			return tool_usage_error("webhook", "webhook %s: unexpected argument %s", sub, argv[0]);
		if (subs[i].operands == 1 && argc != 1)
			return tool_usage_error("webhook", "webhook %s: one URL is needed", sub);
		return subs[i].run(ctx, a, argv);
	}
	return tool_usage_error("webhook", "webhook: unknown subcommand %s (register, list, url)", sub);
}

int tool_cmd_webhook(struct tool_ctx *ctx, int argc, char **argv)
{
	enum { O_API = 1000, O_TOKEN_FILE, O_DEV, O_JSON };
	static const struct option opts[] = {
		{ "api", required_argument, NULL, O_API },
		{ "token-file", required_argument, NULL, O_TOKEN_FILE },
		{ "developer-id", required_argument, NULL, O_DEV },
		{ "json", no_argument, NULL, O_JSON },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { 0 };
	const char *sub;
	int opt, rc;

	if ((rc = tool_subcommand(&argc, &argv, help, &sub)) != TOOL_NEXT)
		return rc;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case O_API: a.api = optarg; break;
		case O_TOKEN_FILE: a.token_file = optarg; break;
		case O_JSON: a.json = true; break;
		case O_DEV:
			if (!tool_parse_int64(optarg, &a.developer_id) || a.developer_id <= 0)
				return tool_usage_error("webhook", "webhook: --developer-id wants a positive id");
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "webhook", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	rc = run(ctx, sub, &a, argc - optind, argv + optind);
	free(a.api_owned);
	return rc;
}
