/*
 * cmd_queue.c — `flsync queue add|list|show|cancel|retry`: the write-action
 * queue through fl_action_*(); flsyncd sends what is queued.  Parameters come
 * as --param k=v (typed by their look, k:=JSON for exact JSON) or --json.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync queue add KIND (--param KEY=VALUE... | --json '{...}') [--force]\n"
		"       flsync queue list [--state queued|sending|done|failed|cancelled] [--json]\n"
		"       flsync queue show ID [--json]\n"
		"       flsync queue cancel ID\n"
		"       flsync queue retry ID\n"
		"       flsync queue send --dry-run [--json]\n"
		"\n"
		"Queue write actions for flsyncd to send to the API, in order and within its\n"
		"rate limits, and follow them.  An action's effect shows in queries at once\n"
		"(local_state 'pending') and is confirmed or undone when flsyncd sends it.\n"
		"\n"
		"KIND is one of bid.create, bid.update, bid.award, bid.revoke, bid.accept,\n"
		"bid.reject, bid.retract, bid.highlight, bid.shortlist, milestone.create,\n"
		"milestone.release, milestone.request_release, milestone.cancel,\n"
		"milestone_request.create, milestone_request.accept, milestone_request.reject,\n"
		"milestone_request.delete, review.post, thread.create, message.send,\n"
		"thread.read, thread.archive, thread.mute, project.create, project.invite;\n"
		"parameters have the API's names (see the API reference and flsync(1)).\n"
		"\n"
		"  --param K=V   a parameter: numbers and true/false become JSON numbers and\n"
		"                booleans, anything else a string; K:=JSON takes V as JSON\n"
		"  --json OBJ    all parameters as one JSON object\n"
		"  --force       queue even what the API will surely refuse: a second bid on\n"
		"                a project the account has a bid on, a thread id no synced\n"
		"                thread has (refused otherwise, saying why)\n"
		"  --dry-run     (send) show, in order, the request each waiting action would\n"
		"                make now (method, path, body), those in a back-off and those\n"
		"                waiting for another; nothing is sent.  flsyncd sends the queue\n"
		"                (at once when it runs; flsync ui sends it too)\n"
		"  --state S     list only actions in state S\n"
		"  --json        (list, show) print JSON instead of text\n"
		"\n"
		"cancel works on queued actions (and cancels those waiting on them); retry\n"
		"on failed ones.\n"
		"\n"
		"Examples:\n"
		"  flsync queue add bid.create --param project_id=123 --param bidder_id=77 \\\n"
		"      --param amount=250 --param period=7 --param milestone_percentage=50 \\\n"
		"      --param description='I can start today'\n"
		"  flsync queue add message.send --json '{\"thread_id\": 42, \"message\": \"Done!\"}'\n"
		"  flsync queue add project.create --param title='Logo' --param jobs:='[{\"id\":3}]' ...\n"
		"  flsync queue list --state failed\n"
		"  flsync queue send --dry-run\n"
		"  flsync queue retry 17\n");
}

/* Is v a JSON number as written? */
static bool json_number_text(const char *v)
{
	const char *p = v;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* Build the JSON object of --param K=V / K:=JSON arguments into a malloc'd string. */
static char *params_json(const char *const *params, int n, const char **out_bad)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (!f)
		abort();
	*out_bad = NULL;
	putc('{', f);
	for (i = 0; i < n; i++) {
		const char *eq = strchr(params[i], '=');
		bool raw;
		size_t klen;

		if (!eq || eq == params[i]) {
			*out_bad = params[i];
			break;
		}
		raw = eq > params[i] && eq[-1] == ':';
		klen = (size_t)(eq - params[i]) - (raw ? 1 : 0);
		if (klen == 0) {
			*out_bad = params[i];
			break;
		}
		if (i)
			putc(',', f);
		tool_json_string(f, params[i], klen);
		putc(':', f);
		if (raw || json_number_text(eq + 1) || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "false"))
			fputs(eq + 1, f);
		else
			tool_json_string(f, eq + 1, strlen(eq + 1));
	}
	putc('}', f);
	fclose(f);
	if (*out_bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void when(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void info_json(const struct fl_action_info *a)
{
	printf("{\"id\":%lld,\"kind\":", (long long)a->id);
	tool_json_string(stdout, a->kind ? a->kind : "", a->kind ? strlen(a->kind) : 0);
	printf(",\"state\":\"%s\",\"params\":%s,\"local_ref\":", fl_action_state_name(a->state),
	       a->params && *a->params ? a->params : "null");
	if (a->local_ref)
		tool_json_string(stdout, a->local_ref, strlen(a->local_ref));
	else
		fputs("null", stdout);
	printf(",\"depends_on\":%lld,\"attempts\":%d,\"http_status\":%d,\"error_code\":",
	       (long long)a->depends_on, a->attempts, a->http_status);
	if (a->error_code)
		tool_json_string(stdout, a->error_code, strlen(a->error_code));
	else
		fputs("null", stdout);
	fputs(",\"error_message\":", stdout);
	if (a->error_message)
		tool_json_string(stdout, a->error_message, strlen(a->error_message));
	else
		fputs("null", stdout);
	printf(",\"result\":%s,\"created_at\":%lld,\"updated_at\":%lld,\"next_attempt\":%lld}\n",
	       a->result && *a->result ? a->result : "null", (long long)a->created_at,
	       (long long)a->updated_at, (long long)a->next_attempt);
}

struct list_ctx {
	bool json;
	int64_t n;
};

static int list_one(void *vctx, const struct fl_action_info *a)
{
	struct list_ctx *lc = vctx;
	char created[32], err[200];

	lc->n++;
	if (lc->json) {
		info_json(a);
		return 0;
	}
	if (lc->n == 1)
		printf("%6s  %-26s %-9s %8s  %-20s  %s\n", "ID", "KIND", "STATE", "ATTEMPTS", "CREATED", "ERROR");
	when(a->created_at, created, sizeof created);
	snprintf(err, sizeof err, "%s%s%s", a->error_code ? a->error_code : "",
		 a->error_code && a->error_message ? ": " : "", a->error_message ? a->error_message : "");
	printf("%6lld  %-26s %-9s %8d  %-20s  %s\n", (long long)a->id, or_dash(a->kind),
	       fl_action_state_name(a->state), a->attempts, created, or_dash(err));
	return 0;
}

static void show_text(const struct fl_action_info *a)
{
	char c[32], u[32], nx[32];

	when(a->created_at, c, sizeof c);
	when(a->updated_at, u, sizeof u);
	when(a->next_attempt, nx, sizeof nx);
	printf("id             %lld\n", (long long)a->id);
	printf("kind           %s\n", or_dash(a->kind));
	printf("state          %s\n", fl_action_state_name(a->state));
	printf("params         %s\n", or_dash(a->params));
	printf("local_ref      %s\n", or_dash(a->local_ref));
	if (a->depends_on)
		printf("depends_on     %lld\n", (long long)a->depends_on);
	printf("attempts       %d\n", a->attempts);
	if (a->http_status)
		printf("http_status    %d\n", a->http_status);
	printf("error_code     %s\n", or_dash(a->error_code));
	printf("error_message  %s\n", or_dash(a->error_message));
	printf("result         %s\n", or_dash(a->result));
	printf("created        %s\n", c);
	printf("updated        %s\n", u);
	if (a->state == FL_ACTION_QUEUED)
		printf("next_attempt   %s\n", nx);
}

static bool parse_state(const char *s, int *out)
{
	int i;

	for (i = FL_ACTION_QUEUED; i <= FL_ACTION_CANCELLED; i++)
		if (!strcmp(s, fl_action_state_name((enum fl_action_state)i))) {
			*out = i;
			return true;
		}
	return false;
}

/* ---- send --dry-run ------------------------------------------------------- */

struct dry_ctx {
	struct fl_db *db;
	bool json;
	int64_t now;
	int shown, sent;
};

static void dry_json(struct dry_ctx *d, const struct fl_action_info *a, const char *method, const char *path,
		     const char *body, int waiting, const char *error)
{
	const char *vals[] = { method, path, body, error };
	const char *keys[] = { "method", "path", "body", "error" };

	printf("%s{\"id\":%lld,\"kind\":", d->shown ? ",\n" : "", (long long)a->id);
	tool_json_string(stdout, a->kind, strlen(a->kind));
	for (size_t i = 0; i < 4; i++) {
		printf(",\"%s\":", keys[i]);
		if (vals[i])
			tool_json_string(stdout, vals[i], strlen(vals[i]));
		else
			fputs("null", stdout);
	}
	printf(",\"waiting\":%s,\"retry_in\":%lld}", waiting ? "true" : "false",
	       (long long)(a->next_attempt > d->now ? a->next_attempt - d->now : 0));
}

/* One action of the queue as a round would take it now. */
static int dry_one(void *vctx, const struct fl_action_info *a)
{
	struct dry_ctx *d = vctx;
	char *method = NULL, *path = NULL, *body = NULL;
	const char *error = NULL;
	int waiting = 0, rc = FL_OK;

	if (a->state != FL_ACTION_QUEUED && a->state != FL_ACTION_SENDING)
		return 0;
	if (a->next_attempt <= d->now) {
		rc = fl_action_request(d->db, a->id, &method, &path, &body, &waiting);
		if (rc)
			error = fl_errmsg(d->db);
	}
	if (d->json) {
		dry_json(d, a, method, path, body, waiting, error);
	} else {
		printf("action %lld %s: ", (long long)a->id, a->kind);
		if (a->next_attempt > d->now)
			printf("in a back-off, tried again in %lld s (%s)\n", (long long)(a->next_attempt - d->now),
			       a->error_message ? a->error_message : "no answer");
		else if (rc)
			printf("would not be sent: %s\n", error);
		else
			printf("%s %s%s\n", method, path, waiting ? "  (waits for the action creating what it names)" : "");
		if (body)
			printf("    %s\n", body);
	}
	d->sent += !rc && !waiting && a->next_attempt <= d->now;
	d->shown++;
	fl_free(method);
	fl_free(path);
	fl_free(body);
	return 0;
}

static int dry_run(struct fl_db *db, bool json)
{
	struct dry_ctx d = { db, json, (int64_t)time(NULL), 0, 0 };
	int rc;

	if (json)
		fputs("[", stdout);
	rc = fl_action_foreach(db, -1, dry_one, &d);
	if (json)
		fputs(d.shown ? "\n]\n" : "]\n", stdout);
	if (rc)
		return tool_db_fail(db, rc, "queue send --dry-run");
	if (!json)
		printf("%s%d action(s) a round would send now; nothing was sent (dry run)\n", d.shown ? "\n" : "",
		       d.sent);
	return TOOL_OK;
}

int tool_cmd_queue(struct tool_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "param", required_argument, NULL, 'p' },
		{ "json", optional_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'F' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **params = xmalloc(sizeof *params * (size_t)argc);
	const char **pos = xmalloc(sizeof *pos * (size_t)argc);
	const char *json_arg = NULL, *sub, *bad;
	struct fl_action_info *info = NULL;
	struct fl_db *db = NULL;
	char *built = NULL, *local_ref = NULL;
	int nparams = 0, npos = 0, opt, rc = TOOL_FAIL, lrc, state = -1;
	bool json_out = false, force = false, dry = false;
	char why[512];
	int64_t id;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:p:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			pos[npos++] = argv[optind++];
			continue;
		}
		switch (opt) {
		case 'p':
			params[nparams++] = optarg;
			break;
		case 'j':
			/* --json OBJ for add, bare --json for list/show. */
			if (optarg)
				json_arg = optarg;
			else if (npos >= 1 && !strcmp(pos[0], "add") && optind < argc)
				json_arg = argv[optind++];
			else
				json_out = true;
			break;
		case 'F':
			force = true;
			break;
		case 'n':
			dry = true;
			break;
		case 's':
			if (!parse_state(optarg, &state)) {
				rc = tool_usage_error("queue", "queue: unknown state %s (queued, sending, done, failed, cancelled)", optarg);
				goto out;
			}
			break;
		default:
			rc = tool_opt_shared(ctx, opt, "queue", argv, help);
			if (rc != TOOL_NEXT)
				goto out;
			break;
		}
	}
	rc = TOOL_FAIL;
	if (npos == 0) {
		rc = tool_usage_error("queue", "queue: add, list, show, cancel, retry or send --dry-run?");
		goto out;
	}
	sub = pos[0];
	if (!strcmp(sub, "add")) {
		if (npos != 2) {
			rc = tool_usage_error("queue", "queue add: give one KIND");
			goto out;
		}
		if ((json_arg != NULL) == (nparams > 0)) {
			rc = tool_usage_error("queue", "queue add: give --param K=V... or --json '{...}' (one of them)");
			goto out;
		}
		if (!json_arg) {
			built = params_json(params, nparams, &bad);
			if (!built) {
				rc = tool_usage_error("queue", "queue add: --param takes KEY=VALUE, not %s", bad);
				goto out;
			}
			json_arg = built;
		}
	} else if (!strcmp(sub, "list")) {
		if (npos != 1) {
			rc = tool_usage_error("queue", "queue list: unexpected argument %s", pos[1]);
			goto out;
		}
	} else if (!strcmp(sub, "show") || !strcmp(sub, "cancel") || !strcmp(sub, "retry")) {
		if (npos != 2 || !tool_parse_int64(pos[1], &id) || id <= 0) {
			rc = tool_usage_error("queue", "queue %s: give one action ID (a number)", sub);
			goto out;
		}
	} else if (!strcmp(sub, "send")) {
		if (!dry) {
			rc = tool_usage_error("queue", "queue send: flsyncd sends the queue (at once while it runs; "
					      "flsync ui sends it too): give --dry-run to see what it would send");
			goto out;
		}
		if (npos != 1) {
			rc = tool_usage_error("queue", "queue send: unexpected argument %s", pos[1]);
			goto out;
		}
	} else {
		rc = tool_usage_error("queue", "queue: unknown subcommand %s (add, list, show, cancel, retry, send)",
				      sub);
		goto out;
	}
	if ((force && strcmp(sub, "add")) || (dry && strcmp(sub, "send"))) {
		rc = tool_usage_error("queue", "queue %s: %s does not apply", sub, force ? "--force" : "--dry-run");
		goto out;
	}
	if ((nparams && strcmp(sub, "add")) || (state >= 0 && strcmp(sub, "list"))) {
		rc = tool_usage_error("queue", "queue %s: %s does not apply", sub, nparams ? "--param" : "--state");
		goto out;
	}

	/* Reading the queue needs no write access; changing it does. */
	db = tool_open(ctx, !strcmp(sub, "add") || !strcmp(sub, "cancel") || !strcmp(sub, "retry"));
	if (!db)
		goto out;
	if (!strcmp(sub, "send")) {
		rc = dry_run(db, json_out);
		goto out;
	}
	if (!strcmp(sub, "add")) {
		if (!force && tool_action_refused(db, pos[1], json_arg, why, sizeof why)) {
			tool_fail("queue add %s: not queued: %s (--force queues it anyway)", pos[1], why);
			goto out;
		}
		lrc = fl_action_enqueue(db, pos[1], json_arg, &id, &local_ref);
		if (lrc) {
			tool_db_fail(db, lrc, "queue add");
			goto out;
		}
		printf("queued action %lld (%s)", (long long)id, pos[1]);
		if (local_ref)
			printf(", creating %s", local_ref);
		printf("\n");
	} else if (!strcmp(sub, "list")) {
		struct list_ctx lc = { json_out, 0 };

		lrc = fl_action_foreach(db, state, list_one, &lc);
		if (lrc) {
			tool_db_fail(db, lrc, "queue list");
			goto out;
		}
		if (!lc.n && !json_out)
			printf("no actions%s%s\n", state >= 0 ? " in state " : "",
			       state >= 0 ? fl_action_state_name((enum fl_action_state)state) : "");
	} else if (!strcmp(sub, "show")) {
		lrc = fl_action_get(db, id, &info);
		if (lrc) {
			tool_db_fail(db, lrc, "queue show");
			goto out;
		}
		if (json_out)
			info_json(info);
		else
			show_text(info);
	} else if (!strcmp(sub, "cancel")) {
		lrc = fl_action_cancel(db, id);
		if (lrc) {
			tool_db_fail(db, lrc, "queue cancel");
			goto out;
		}
		printf("cancelled action %lld\n", (long long)id);
	} else {
		lrc = fl_action_retry(db, id);
		if (lrc) {
			tool_db_fail(db, lrc, "queue retry");
			goto out;
		}
		printf("queued action %lld again\n", (long long)id);
	}
	rc = TOOL_OK;
out:
	if (info)
		fl_action_free(info);
	fl_free(local_ref);
	free(built);
	free(params);
	free(pos);
	fl_db_close(db);
	return rc;
}
