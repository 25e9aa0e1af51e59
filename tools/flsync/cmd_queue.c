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

/* ---- the command line ---------------------------------------------------- */

/* What the command line said. */
struct queue_args {
	const char **params;   /* --param K=V, nparams of them */
	int nparams;
	const char **pos;      /* the subcommand and its operands, npos of them */
	int npos;
	const char *json;      /* add: the parameters as JSON (--json OBJ, or made from --param) */
	char *built;           /* json when made from --param; freed */
	bool json_out, force, dry;
	int state;             /* list --state, or -1 */
	int64_t id;            /* show, cancel, retry: the action */
};

/* The options, into a; TOOL_NEXT when they read well, else the exit status. */
static int parse_opts(struct tool_ctx *ctx, int argc, char **argv, struct queue_args *a)
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
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:p:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			a->pos[a->npos++] = argv[optind++];
			continue;
		}
		switch (opt) {
		case 'p':
			a->params[a->nparams++] = optarg;
			break;
		case 'j':
			/* --json OBJ for add, bare --json for list/show. */
			if (optarg)
				a->json = optarg;
			else if (a->npos >= 1 && !strcmp(a->pos[0], "add") && optind < argc)
				a->json = argv[optind++];
			else
				a->json_out = true;
			break;
		case 'F':
			a->force = true;
			break;
		case 'n':
			a->dry = true;
			break;
		case 's':
			if (!parse_state(optarg, &a->state))
				return tool_usage_error("queue", "queue: unknown state %s (queued, sending, done, failed, cancelled)",
							optarg);
			break;
		default:
			rc = tool_opt_shared(ctx, opt, "queue", argv, help);
			if (rc != TOOL_NEXT)
				return rc;
			break;
		}
	}
	return TOOL_NEXT;
}

/* ---- the subcommands: their operands, then what they do ------------------- */

static int check_add(struct queue_args *a)
{
	const char *bad;

	if (a->npos != 2)
		return tool_usage_error("queue", "queue add: give one KIND");
	if ((a->json != NULL) == (a->nparams > 0))
		return tool_usage_error("queue", "queue add: give --param K=V... or --json '{...}' (one of them)");
	if (!a->json) {
		a->built = params_json(a->params, a->nparams, &bad);
		if (!a->built)
			return tool_usage_error("queue", "queue add: --param takes KEY=VALUE, not %s", bad);
		a->json = a->built;
	}
	return TOOL_NEXT;
}

static int check_no_operand(struct queue_args *a)
{
	if (a->npos != 1)
		return tool_usage_error("queue", "queue %s: unexpected argument %s", a->pos[0], a->pos[1]);
	return TOOL_NEXT;
}

static int check_id(struct queue_args *a)
{
	if (a->npos != 2 || !tool_parse_int64(a->pos[1], &a->id) || a->id <= 0)
		return tool_usage_error("queue", "queue %s: give one action ID (a number)", a->pos[0]);
	return TOOL_NEXT;
}

static int check_send(struct queue_args *a)
{
	if (!a->dry)
		return tool_usage_error("queue", "queue send: flsyncd sends the queue (at once while it runs; "
					"flsync ui sends it too): give --dry-run to see what it would send");
	return check_no_operand(a);
}

static int run_add(struct fl_db *db, struct queue_args *a)
{
	const char *kind = a->pos[1];
	char *local_ref = NULL;
	char why[512];
	int64_t id;
	int rc;

	if (!a->force && tool_action_refused(db, kind, a->json, why, sizeof why)) {
		tool_fail("queue add %s: not queued: %s (--force queues it anyway)", kind, why);
		return TOOL_FAIL;
	}
	rc = fl_action_enqueue(db, kind, a->json, &id, &local_ref);
	if (rc) {
		tool_db_fail(db, rc, "queue add");
		return TOOL_FAIL;
	}
	printf("queued action %lld (%s)", (long long)id, kind);
	if (local_ref)
		printf(", creating %s", local_ref);
	printf("\n");
	fl_free(local_ref);
	return TOOL_OK;
}

static int run_list(struct fl_db *db, struct queue_args *a)
{
	struct list_ctx lc = { a->json_out, 0 };
	int rc = fl_action_foreach(db, a->state, list_one, &lc);

	if (rc) {
		tool_db_fail(db, rc, "queue list");
		return TOOL_FAIL;
	}
	if (!lc.n && !a->json_out)
		printf("no actions%s%s\n", a->state >= 0 ? " in state " : "",
		       a->state >= 0 ? fl_action_state_name((enum fl_action_state)a->state) : "");
	return TOOL_OK;
}

static int run_show(struct fl_db *db, struct queue_args *a)
{
	struct fl_action_info *info = NULL;
	int rc = fl_action_get(db, a->id, &info);

	if (rc) {
		tool_db_fail(db, rc, "queue show");
		return TOOL_FAIL;
	}
	if (a->json_out)
		info_json(info);
	else
		show_text(info);
	fl_action_free(info);
	return TOOL_OK;
}

/* cancel or retry: one change of the action's state. */
static int run_cancel_retry(struct fl_db *db, struct queue_args *a)
{
	bool cancel = !strcmp(a->pos[0], "cancel");
	int rc = cancel ? fl_action_cancel(db, a->id) : fl_action_retry(db, a->id);

	if (rc) {
		tool_db_fail(db, rc, cancel ? "queue cancel" : "queue retry");
		return TOOL_FAIL;
	}
	printf(cancel ? "cancelled action %lld\n" : "queued action %lld again\n", (long long)a->id);
	return TOOL_OK;
}

static int run_send(struct fl_db *db, struct queue_args *a)
{
	return dry_run(db, a->json_out);
}

/* Which of the options a subcommand takes. */
enum { TAKES_FORCE = 1, TAKES_DRY = 2, TAKES_PARAM = 4, TAKES_STATE = 8 };

static const struct queue_sub {
	const char *name;
	int (*check)(struct queue_args *a);      /* its operands: TOOL_NEXT, or the usage error's status */
	int (*run)(struct fl_db *db, struct queue_args *a);
	bool writes;                             /* reading the queue needs no write access; changing it does */
	unsigned takes;                          /* TAKES_* */
} subs[] = {
	{ "add", check_add, run_add, true, TAKES_FORCE | TAKES_PARAM },
	{ "list", check_no_operand, run_list, false, TAKES_STATE },
	{ "show", check_id, run_show, false, 0 },
	{ "cancel", check_id, run_cancel_retry, true, 0 },
	{ "retry", check_id, run_cancel_retry, true, 0 },
	{ "send", check_send, run_send, false, TAKES_DRY },
};

/* The subcommand pos[0] names, with its operands and options checked; NULL after a usage error in *rc. */
static const struct queue_sub *pick_sub(struct queue_args *a, int *rc)
{
	const struct queue_sub *s = NULL;
	size_t i;

	if (a->npos == 0) {
		*rc = tool_usage_error("queue", "queue: add, list, show, cancel, retry or send --dry-run?");
		return NULL;
	}
	for (i = 0; i < sizeof subs / sizeof subs[0] && !s; i++)
		if (!strcmp(a->pos[0], subs[i].name))
			s = &subs[i];
	if (!s) {
		*rc = tool_usage_error("queue", "queue: unknown subcommand %s (add, list, show, cancel, retry, send)",
				       a->pos[0]);
		return NULL;
	}
	if ((*rc = s->check(a)) != TOOL_NEXT)
		return NULL;
	if ((a->force && !(s->takes & TAKES_FORCE)) || (a->dry && !(s->takes & TAKES_DRY))) {
		*rc = tool_usage_error("queue", "queue %s: %s does not apply", s->name, a->force ? "--force" : "--dry-run");
		return NULL;
	}
	if ((a->nparams && !(s->takes & TAKES_PARAM)) || (a->state >= 0 && !(s->takes & TAKES_STATE))) {
		*rc = tool_usage_error("queue", "queue %s: %s does not apply", s->name, a->nparams ? "--param" : "--state");
		return NULL;
	}
	return s;
}

int tool_cmd_queue(struct tool_ctx *ctx, int argc, char **argv)
{
	struct queue_args a = {
		.params = xmalloc(sizeof *a.params * (size_t)argc),
		.pos = xmalloc(sizeof *a.pos * (size_t)argc),
		.state = -1,
	};
	const struct queue_sub *sub;
	struct fl_db *db;
	int rc = parse_opts(ctx, argc, argv, &a);

	if (rc == TOOL_NEXT && (sub = pick_sub(&a, &rc))) {
		db = tool_open(ctx, sub->writes);
		rc = db ? sub->run(db, &a) : TOOL_FAIL;
		fl_db_close(db);
	}
	free(a.built);
	free(a.params);
	free(a.pos);
	return rc;
}
