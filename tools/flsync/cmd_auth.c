/*
 * cmd_auth.c — `flsync auth login|token|status|refresh|logout`: signing in
 * the way modern command lines do.  login runs the OAuth authorization-code
 * flow through the library (fl_login_*): by default it listens on the
 * redirect URI's loopback port (libmicrohttpd), opens the browser with
 * xdg-open and waits for the redirect; with --no-browser it prints the URL
 * first on stdout and reads the URL the browser was sent to (or the code)
 * from stdin.  token reads a personal access token from stdin, never argv.
 * No token is ever printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "tool.h"

/* Beyond tool.h's codes: the service or the API refused, or the sign-in ended. */
#define TOOL_AUTH 4

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync auth login --token-file FILE --client-id ID [--client-secret-file FILE]\n"
		"                         [--api ORIGIN] [--auth ORIGIN] [--redirect URI]\n"
		"                         [--scope S...] [--no-browser] [--timeout SECONDS]\n"
		"       flsync auth token --token-file FILE [--api ORIGIN]   (the token on stdin)\n"
		"       flsync auth status --token-file FILE [--json]\n"
		"       flsync auth refresh --token-file FILE\n"
		"       flsync auth logout --token-file FILE\n"
		"\n"
		"Sign in to Freelancer.com once; flsyncd --token-file FILE then refreshes the\n"
		"access token by itself.\n"
		"\n"
		"login     the OAuth authorization-code flow (random state, PKCE).  It listens on\n"
		"          the redirect URI's loopback port, opens the browser (xdg-open) and\n"
		"          waits for the redirect.  With --no-browser the first line on stdout is\n"
		"          the authorization URL: open it anywhere, then paste the URL the browser\n"
		"          was sent to (or the bare code) as one line on stdin.  The code is\n"
		"          exchanged, the token checked with GET self, and FILE written.\n"
		"token     a personal access token, read from stdin, checked, written to FILE\n"
		"status    the account, the expiry and the scopes in FILE (never the token)\n"
		"refresh   renew the access token in FILE now\n"
		"logout    remove FILE\n"
		"\n"
		"  --token-file FILE         the token file (written 0600; refused if others may read it)\n"
		"  --client-id ID            the app's client id, as registered with Freelancer at\n"
		"                            %s/settings/develop\n"
		"  --client-secret-file FILE the app's client secret, first line of FILE (mode 600);\n"
		"                            FILE's path goes into the token file, never the secret\n"
		"  --api ORIGIN              the API (default %s)\n"
		"  --auth ORIGIN             the OAuth service: ORIGIN/oauth/authorise, ORIGIN/oauth/token\n"
		"                            (default %s, or\n"
		"                            %s for the sandbox API)\n"
		"  --redirect URI            the app's registered redirect URI (default\n"
		"                            %s); port 0 takes a free port\n"
		"  --scope S...              scopes, repeatable: basic, 1 (project_create), 2\n"
		"                            (project_manage), 5 (messaging), 6 (user_information);\n"
		"                            default basic\n"
		"  --no-browser              print the URL, read the redirect from stdin (headless)\n"
		"  --timeout SECONDS         how long login waits for the browser (default 300)\n"
		"  --json                    status as one JSON object\n"
		"\n"
		"Examples:\n"
		"  flsync auth login --token-file ~/.config/flsync/token.json --client-id 1234 \\\n"
		"      --client-secret-file ~/.config/flsync/client-secret --scope basic --scope 6\n"
		"  flsync auth token --token-file ~/.config/flsync/token.json < pat.txt\n"
		"  flsync auth status --token-file ~/.config/flsync/token.json\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 bad command line, 4 the service or the\n"
		"API refused (or, for status, the sign-in has ended: log in again).\n",
		FL_AUTH_DEFAULT_ORIGIN, FL_AUTH_DEFAULT_API, FL_AUTH_DEFAULT_ORIGIN, FL_AUTH_SANDBOX_ORIGIN,
		FL_AUTH_DEFAULT_REDIRECT);
}

/* A library failure as an exit code, its message printed. */
static int auth_fail(int rc, const char *what)
{
	const char *msg = fl_auth_errmsg();

	tool_fail("%s: %s", what, *msg ? msg : fl_strerror(rc));
	return rc == FL_ERR_API || rc == FL_ERR_STATE ? TOOL_AUTH : TOOL_FAIL;
}

/* One line of stdin without its newline; NULL at EOF.  Caller wipes and frees. */
static char *read_line(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ---- the loopback redirect listener ------------------------------------------ */

struct catcher {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *path;          /* the redirect URI's path ("/callback") */
	char *reply;               /* "?code=...&state=..." once the browser came back */
};

/* Append "?key=value" or "&key=value", percent-encoded, to *q (the listener rebuilds the query MHD decoded). */
static void put_escaped(char **q, const char *key, const char *s)
{
	size_t n = strlen(*q), o = n;
	char *p = xrealloc(*q, n + strlen(key) + 2 + 3 * strlen(s) + 1);

	o += (size_t)sprintf(p + o, "%c%s=", n ? '&' : '?', key);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			p[o++] = (char)c;
		else
			o += (size_t)sprintf(p + o, "%%%02X", c);
	}
	p[o] = '\0';
	*q = p;
}

static enum MHD_Result on_redirect(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				   const char *version, const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	static const char done[] =
		"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>flsync</title></head>"
		"<body><p>flsync received the sign-in. You can close this window.</p></body></html>\n";
	static const char other[] = "Not the sign-in redirect.\n";
	struct catcher *ct = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *names[] = { "code", "state", "error", "error_description" };
	bool ours = strcmp(method, "GET") == 0 && strcmp(url, ct->path[0] ? ct->path : "/") == 0;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (ours) {
		char *q = xstrdup("");

		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i]);

			if (v)
				put_escaped(&q, names[i], v);
		}
		pthread_mutex_lock(&ct->mu);
		if (!ct->reply) {
			ct->reply = q;
			q = NULL;
		}
		pthread_cond_signal(&ct->cv);
		pthread_mutex_unlock(&ct->mu);
		wipe_free(q);
	}
	resp = MHD_create_response_from_buffer(ours ? sizeof done - 1 : sizeof other - 1,
					       (void *)(ours ? done : other), MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				ours ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, ours ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Split a loopback redirect URI "http://127.0.0.1:PORT/path" (or localhost).
 * False if it is not one: the browser could not come back to us.
 */
static bool loopback_redirect(const char *uri, char *host, size_t hostsz, int *port, const char **path)
{
	const char *h, *colon, *slash;
	char *end;
	long p = 80;

	if (strncmp(uri, "http://", 7) != 0)
		return false;
	h = uri + 7;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (colon && slash && colon > slash)
		colon = NULL;
	snprintf(host, hostsz, "%.*s", (int)((colon ? colon : slash ? slash : h + strlen(h)) - h), h);
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0)
		return false;
	if (colon) {
		p = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '/') || p < 0 || p > 65535)
			return false;
	}
	*port = (int)p;
	*path = slash ? slash : "/";
	return true;
}

static int listen_loopback(int port, int *out_port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* the browser on this machine only */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*out_port = ntohs(sa.sin_port);
	return fd;
}

/*
 * The token file's directory, made (0700, like ~/.config) when missing, so
 * a first login into ~/.config/flsync/ works.  False after saying why not.
 */
static bool make_parent(const char *file)
{
	char *dir = xstrdup(file), *slash = strrchr(dir, '/');
	bool ok = true;

	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; ok; p++) {
			if (*p == '/' || *p == '\0') {
				char c = *p;

				*p = '\0';
				if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
					tool_fail("cannot make directory %s for the token file: %s", dir, strerror(errno));
					ok = false;
				}
				*p = c;
				if (!c)
					break;
			}
		}
	}
	free(dir);
	return ok;
}

/* ---- subcommands ------------------------------------------------------------------ */

struct auth_args {
	const char *token_file, *api, *auth, *client_id, *secret_file, *redirect;
	char *scope;               /* the --scope values, space-joined */
	bool no_browser, json;
	long timeout_s;
};

static int login_finish(struct fl_login *l, const char *reply, const struct auth_args *a)
{
	int rc = fl_login_finish(l, reply, a->token_file);

	if (rc)
		return auth_fail(rc, "login");
	fprintf(stderr, "flsync: signed in as %s (user %lld); token file %s written\n",
		fl_login_username(l) ? fl_login_username(l) : "?", (long long)fl_login_user_id(l), a->token_file);
	return TOOL_OK;
}

/* login without --client-id: where a user gets one, and the way that needs none. */
static int no_client_id(const struct auth_args *a)
{
	bool sandbox = a->api && !strncmp(a->api, FL_AUTH_SANDBOX_API, strlen(FL_AUTH_SANDBOX_API));

	return tool_usage_error("auth",
				"auth login: --client-id is required: it is the client id of an app you register\n"
				"  at %s/settings/develop (\"Create a new client application\", with\n"
				"  the redirect URI %s and the scopes you need).\n"
				"  Without an app, generate a personal access token on the same page and run:\n"
				"  flsync auth token --token-file %s%s < token.txt",
				sandbox ? FL_AUTH_SANDBOX_ORIGIN : FL_AUTH_DEFAULT_ORIGIN,
				a->redirect ? a->redirect : FL_AUTH_DEFAULT_REDIRECT,
				a->token_file ? a->token_file : "FILE", sandbox ? " --api " FL_AUTH_SANDBOX_API : "");
}

static int cmd_login(const struct auth_args *a)
{
	struct fl_login_options o = {
		.api = a->api, .auth = a->auth, .client_id = a->client_id,
		.client_secret_file = a->secret_file, .redirect_uri = a->redirect, .scope = a->scope,
	};
	struct catcher ct = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const char *redirect = a->redirect ? a->redirect : FL_AUTH_DEFAULT_REDIRECT, *path;
	struct MHD_Daemon *d = NULL;
	struct fl_login *l = NULL;
	char host[64], *actual = NULL, *reply = NULL;
	int rc, port, bound, fd = -1, code = TOOL_FAIL;

	if (!make_parent(a->token_file))
		return TOOL_FAIL;
	if (a->no_browser) {
		rc = fl_login_begin(&o, &l);
		if (rc)
			return auth_fail(rc, "login");
		printf("%s\n", fl_login_url(l));
		fflush(stdout);
		fprintf(stderr, "flsync: open the URL above in a browser, sign in, then paste the URL the "
			"browser was sent to (or the code) here:\n");
		reply = read_line();
		if (!reply) {
			tool_fail("login: no redirect URL on stdin");
			goto out;
		}
		code = login_finish(l, reply, a);
		goto out;
	}
	if (!loopback_redirect(redirect, host, sizeof host, &port, &path)) {
		tool_fail("login: the redirect URI %s is not on this machine's loopback (http://127.0.0.1:PORT/...), "
			  "so the browser cannot come back to flsync: use --no-browser", redirect);
		goto out;
	}
	fd = listen_loopback(port, &bound);
	if (fd < 0) {
		tool_fail("login: cannot listen on 127.0.0.1:%d for the redirect: %s", port, strerror(errno));
		goto out;
	}
	if (port == 0) {
		/* A free port: the redirect names the one we got (loopback redirects may use any, RFC 8252). */
		actual = xasprintf("http://%s:%d%s", host, bound, path);
		o.redirect_uri = actual;
	}
	ct.path = path;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
			     on_redirect, &ct, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!d) {
		tool_fail("login: cannot start the redirect listener on 127.0.0.1:%d", bound);
		goto out;
	}
	fd = -1; /* MHD closes it */
	rc = fl_login_begin(&o, &l);
	if (rc) {
		code = auth_fail(rc, "login");
		goto out;
	}
	fprintf(stderr, "flsync: opening the browser to sign in; if it does not open, visit:\n%s\n",
		fl_login_url(l));
	if (!tool_open_url(fl_login_url(l)))
		fprintf(stderr, "flsync: xdg-open could not open a browser: open the URL above yourself "
			"(or use --no-browser)\n");
	fprintf(stderr, "flsync: waiting up to %ld s for the browser to come back to %s\n", a->timeout_s,
		o.redirect_uri ? o.redirect_uri : redirect);
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += a->timeout_s;
		pthread_mutex_lock(&ct.mu);
		while (!ct.reply && pthread_cond_timedwait(&ct.cv, &ct.mu, &until) != ETIMEDOUT)
			;
		reply = ct.reply;
		ct.reply = NULL;
		pthread_mutex_unlock(&ct.mu);
	}
	MHD_stop_daemon(d);
	d = NULL;
	if (!reply) {
		tool_fail("login: timed out after %ld s waiting for the browser's redirect; try again, "
			  "or use --no-browser", a->timeout_s);
		goto out;
	}
	code = login_finish(l, reply, a);
out:
	if (d)
		MHD_stop_daemon(d);
	if (fd >= 0)
		close(fd);
	wipe_free(ct.reply);
	wipe_free(reply);
	free(actual);
	fl_login_free(l);
	return code;
}

static int cmd_token(const struct auth_args *a)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	char *token;
	int rc;

	if (!make_parent(a->token_file))
		return TOOL_FAIL;
	if (tty) {
		fprintf(stderr, "Paste the personal access token (it is not shown): ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = false;
		}
	}
	token = read_line();
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!token || !*token) {
		wipe_free(token);
		return tool_fail("auth token: no token on stdin");
	}
	rc = fl_token_save(a->token_file, a->api, token);
	wipe_free(token);
	if (rc)
		return auth_fail(rc, "auth token");
	fprintf(stderr, "flsync: token checked; token file %s written\n", a->token_file);
	return TOOL_OK;
}

static void json_field(const char *key, const char *v, bool *first)
{
	printf("%s\"%s\":", *first ? "" : ",", key);
	*first = false;
	if (v)
		tool_json_string(stdout, v, strlen(v));
	else
		fputs("null", stdout);
}

static void when(int64_t t, int64_t now, char *buf, size_t n)
{
	char rel[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, n, "unknown");
		return;
	}
	gmtime_r(&tt, &tm);
	if (t > now && t - now < 172800)
		snprintf(rel, sizeof rel, "in %lldm", (long long)((t - now + 59) / 60));
	else
		tool_age(t, now, rel, sizeof rel);
	snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d UTC (%s%s)", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t <= now ? "expired " : "", rel);
}

static int cmd_status(const struct auth_args *a)
{
	struct fl_token_info *ti;
	int64_t now = (int64_t)time(NULL);
	char exp[96];
	int rc = fl_token_info_read(a->token_file, &ti);

	if (rc)
		return auth_fail(rc, "auth status");
	if (a->json) {
		bool first = true;

		printf("{");
		json_field("token_file", a->token_file, &first);
		json_field("username", ti->username, &first);
		printf(",\"user_id\":%lld,\"expires_at\":%lld,\"obtained_at\":%lld,\"refreshable\":%s,\"bare\":%s",
		       (long long)ti->user_id, (long long)ti->expires_at, (long long)ti->obtained_at,
		       ti->refreshable ? "true" : "false", ti->bare ? "true" : "false");
		json_field("scope", ti->scope, &first);
		json_field("api", ti->api, &first);
		json_field("token_url", ti->token_url, &first);
		json_field("client_id", ti->client_id, &first);
		json_field("client_secret_file", ti->client_secret_file, &first);
		json_field("needs_login", ti->needs_login, &first);
		printf("}\n");
	} else if (ti->bare) {
		printf("token file  %s\n", a->token_file);
		printf("kind        a bare token (no account, expiry or scopes recorded; it is never refreshed)\n");
	} else {
		when(ti->expires_at, now, exp, sizeof exp);
		printf("token file  %s\n", a->token_file);
		if (ti->username || ti->user_id)
			printf("account     %s (user %lld)\n", ti->username ? ti->username : "?", (long long)ti->user_id);
		else
			printf("account     unknown\n");
		printf("api         %s\n", ti->api ? ti->api : "unknown");
		printf("expires     %s\n", ti->expires_at ? exp : "no expiry recorded");
		printf("scopes      %s\n", ti->scope ? ti->scope : "unknown");
		if (ti->refreshable)
			printf("refresh     by %s at %s%s%s\n", ti->client_id, ti->token_url,
			       ti->client_secret_file ? ", secret in " : " (public client)",
			       ti->client_secret_file ? ti->client_secret_file : "");
		else
			printf("refresh     none (a personal access token: replace it when it expires)\n");
		if (ti->needs_login)
			printf("status      NEEDS LOGIN: %s\n", ti->needs_login);
		else
			printf("status      signed in\n");
	}
	rc = ti->needs_login ? TOOL_AUTH : TOOL_OK;
	if (ti->needs_login && !a->json)
		fprintf(stderr, "flsync: the sign-in has ended: run flsync auth login --token-file %s\n", a->token_file);
	fl_token_info_free(ti);
	return rc;
}

static int cmd_refresh(const struct auth_args *a)
{
	int rc = fl_token_refresh(a->token_file);

	if (rc)
		return auth_fail(rc, "auth refresh");
	fprintf(stderr, "flsync: access token refreshed in %s\n", a->token_file);
	return TOOL_OK;
}

static int cmd_logout(const struct auth_args *a)
{
	if (unlink(a->token_file) != 0) {
		if (errno == ENOENT) {
			fprintf(stderr, "flsync: no token file at %s: already logged out\n", a->token_file);
			return TOOL_OK;
		}
		return tool_fail("auth logout: cannot remove %s: %s", a->token_file, strerror(errno));
	}
	fprintf(stderr, "flsync: removed %s\n", a->token_file);
	return TOOL_OK;
}

/* The subcommands: each needs --token-file; login also a client id. */
static const struct auth_sub {
	const char *name;
	int (*run)(const struct auth_args *a);
	bool needs_client_id;
} subs[] = {
	{ "login", cmd_login, true },
	{ "token", cmd_token, false },
	{ "status", cmd_status, false },
	{ "refresh", cmd_refresh, false },
	{ "logout", cmd_logout, false },
};

int tool_cmd_auth(struct tool_ctx *ctx, int argc, char **argv)
{
	enum { O_TOKEN_FILE = 1000, O_API, O_AUTH, O_CLIENT_ID, O_SECRET, O_REDIRECT, O_SCOPE, O_NO_BROWSER,
	       O_TIMEOUT, O_JSON };
	static const struct option opts[] = {
		{ "token-file", required_argument, NULL, O_TOKEN_FILE },
		{ "api", required_argument, NULL, O_API },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "client-id", required_argument, NULL, O_CLIENT_ID },
		{ "client-secret-file", required_argument, NULL, O_SECRET },
		{ "redirect", required_argument, NULL, O_REDIRECT },
		{ "scope", required_argument, NULL, O_SCOPE },
		{ "no-browser", no_argument, NULL, O_NO_BROWSER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct auth_args a = { .timeout_s = 300 };
	const struct auth_sub *s;
	const char *sub;
	int64_t t;
	int opt, rc;

	if ((rc = tool_subcommand(&argc, &argv, help, &sub)) != TOOL_NEXT)
		return rc;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case O_TOKEN_FILE: a.token_file = optarg; break;
		case O_API: a.api = optarg; break;
		case O_AUTH: a.auth = optarg; break;
		case O_CLIENT_ID: a.client_id = optarg; break;
		case O_SECRET: a.secret_file = optarg; break;
		case O_REDIRECT: a.redirect = optarg; break;
		case O_NO_BROWSER: a.no_browser = true; break;
		case O_JSON: a.json = true; break;
		case O_SCOPE: {
			/* --scope basic --scope 6, or --scope 'basic 6', or --scope basic 6 */
			char *joined = a.scope ? xasprintf("%s %s", a.scope, optarg) : xstrdup(optarg);

			free(a.scope);
			a.scope = joined;
			while (optind < argc && argv[optind][0] != '-') {
				joined = xasprintf("%s %s", a.scope, argv[optind++]);
				free(a.scope);
				a.scope = joined;
			}
			break;
		}
		case O_TIMEOUT:
			if (!tool_parse_int64(optarg, &t) || t <= 0 || t > 86400) {
				free(a.scope);
				return tool_usage_error("auth", "auth %s: --timeout wants seconds (1 to 86400)", sub);
			}
			a.timeout_s = (long)t;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "auth", argv, help)) != TOOL_NEXT) {
				free(a.scope);
				return rc;
			}
			break;
		}
	}
	rc = TOOL_USAGE;
	for (s = subs; s < subs + sizeof subs / sizeof subs[0] && strcmp(sub, s->name); s++)
		;
	if (optind < argc)
		tool_usage_error("auth", "auth %s: unexpected argument %s", sub, argv[optind]);
	else if (s == subs + sizeof subs / sizeof subs[0])
		tool_usage_error("auth", "auth: unknown subcommand %s (login, token, status, refresh, logout)", sub);
	else if (s->needs_client_id && !a.client_id)
		no_client_id(&a);
	else if (!a.token_file)
		tool_usage_error("auth", "auth %s: --token-file FILE is required", sub);
	else
		rc = s->run(&a);
	free(a.scope);
	return rc;
}
