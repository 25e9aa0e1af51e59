/*
 * cmd_ui.c — `flsync ui`: a local web app over the library, served with
 * libmicrohttpd on loopback only.  This file is the server: options, the
 * Host/Origin/token checks every request passes (where it listens and the
 * per-run token are ui_listen.c's), the
 * routing to the embedded page (ui_assets.c) and to the JSON endpoints
 * (ui_api.c), and the live-update stream (server-sent events fed by
 * fl_changes_wait()).
 *
 * Threads: libmicrohttpd runs one thread per connection (an event stream
 * blocks in fl_changes_wait()), so each request borrows a database handle
 * of its own from a small pool; handles are never shared between threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"
#include "ui.h"

#define BODY_MAX (64 * 1024)  /* a POST body past this is refused (413) */
#define FIELDS_MAX 8          /* form fields kept per request */
#define POOL_MAX 8            /* idle database handles kept */
#define STREAMS_MAX 16        /* live-update streams at once */
#define CONNECTIONS_MAX 256   /* a local user can open many; each idle one is closed soon */
#define IDLE_TIMEOUT_S 15     /* a connection silent this long is closed (slow clients) */
#define KEEPALIVE_S 15        /* an event stream says something at least this often */
#define ERRLEN 512

struct ui {
	const char *db_path;
	char token[65];          /* 32 random bytes in hex */
	char hosts[3][64];       /* the Host header values accepted */
	int nhosts;
	char origin[80];         /* http://HOST:PORT as the page was served */
	pthread_mutex_t lock;    /* guards pool */
	struct fl_db *pool[POOL_MAX];
	int npool;
	atomic_int streams;      /* live-update streams open */
	atomic_bool stopping;
	struct ui_syncer *sync;  /* "sync now" */
};

/* One request's state across libmicrohttpd's calls. */
struct req {
	struct MHD_PostProcessor *pp;
	size_t body;                        /* bytes of body seen */
	bool too_big, bad_form;
	bool refused;                       /* answered 4xx at the headers */
	int nfields;
	struct { char *key, *value; size_t len; } fields[FIELDS_MAX];
};

static void help(FILE *f)
{
	fprintf(f,
		"usage: flsync ui [--db PATH] [--listen 127.0.0.1:0] [--open] [--api URL [--token-file FILE]]\n"
		"\n"
		"A local web app over the database: the inbox (read threads, reply),\n"
		"own projects and their bids (award), market projects (bid), my bids,\n"
		"milestones (release), the action queue (retry, cancel), full-text search,\n"
		"and sync status with \"sync now\".  Pages update live as flsyncd stores\n"
		"new data.  Replies and other actions are queued like `flsync queue add`\n"
		"and shown pending until flsyncd has sent them.\n"
		"\n"
		"It binds loopback only and prints `listening on http://127.0.0.1:PORT/?token=...`\n"
		"as its first line: open that URL.  The token is random for each run and\n"
		"every request needs it, so other local users and other web pages cannot\n"
		"use the app.  Stop it with Ctrl-C.\n"
		"\n"
		"  --listen HOST:PORT  a loopback address (127.0.0.1, localhost or [::1]);\n"
		"                      port 0 picks a free one (default 127.0.0.1:0)\n"
		"  --open              open that URL in the browser (xdg-open) once serving\n"
		"  --api URL           the API origin, so that \"sync now\" can run a pass here\n"
		"                      when no flsyncd syncs the database (with flsyncd\n"
		"                      running, \"sync now\" asks it for a pass at once)\n"
		"  --token-file FILE   the token for --api, as flsync auth login wrote it;\n"
		"                      otherwise FLSYNC_TOKEN\n"
		"\n"
		"Example:\n"
		"  flsync ui --db ~/.local/share/flsync/flsync.db --open\n");
}

/* ---- the database pool ----------------------------------------------------- */

static struct fl_db *pool_take(struct ui *ui, char *err, size_t errlen)
{
	struct fl_db *db = NULL;
	int rc;

	pthread_mutex_lock(&ui->lock);
	if (ui->npool > 0)
		db = ui->pool[--ui->npool];
	pthread_mutex_unlock(&ui->lock);
	if (db)
		return db;
	rc = fl_db_open(ui->db_path, 0, &db);
	if (rc) {
		snprintf(err, errlen, "%s", fl_db_open_errmsg());
		return NULL;
	}
	return db;
}

static void pool_give(struct ui *ui, struct fl_db *db)
{
	if (!db)
		return;
	pthread_mutex_lock(&ui->lock);
	if (ui->npool < POOL_MAX) {
		ui->pool[ui->npool++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&ui->lock);
	fl_db_close(db);
}

/* ---- answers ----------------------------------------------------------------- */

static void common_headers(struct MHD_Response *r)
{
	/*
	 * Scripts and styles only from the app itself, never inline: even text
	 * that escaped escaping could not run.  No framing, no referrer (the
	 * token travels in the first URL), nothing cached.
	 */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
				"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, unsigned status, const char *type,
				   void *data, size_t len, enum MHD_ResponseMemoryMode mode,
				   const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(data);
		return MHD_NO;
	}
	common_headers(r);
	MHD_add_response_header(r, "Content-Type", type);
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct ui_reply *rep)
{
	return send_buffer(c, rep->status, "application/json; charset=utf-8", rep->body, rep->len,
			   MHD_RESPMEM_MUST_FREE, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	struct ui_reply rep;

	ui_error(&rep, status, "%s", msg);
	return send_reply(c, &rep);
}

/* ---- checks every request passes ------------------------------------------ */

/* Equal strings, in time that does not depend on where they differ. */
static bool secret_equal(const char *a, const char *b)
{
	size_t la = a ? strlen(a) : 0, lb = strlen(b), i;
	unsigned char d = la != lb;

	if (!a)
		return false;
	for (i = 0; i < lb; i++)
		d |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)b[i];
	return d == 0;
}

/* The Host header names this server (a DNS-rebinding page would name its own host). */
static bool host_ok(const struct ui *ui, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	int i;

	for (i = 0; h && i < ui->nhosts; i++)
		if (!strcmp(h, ui->hosts[i]))
			return true;
	return false;
}

static bool token_ok(const struct ui *ui, struct MHD_Connection *c, bool post)
{
	if (post) {
		/*
		 * A header a page elsewhere cannot send without our consent (CORS),
		 * never the cookie, which the browser would attach by itself.  And
		 * the browser's own word on where the request comes from.
		 */
		const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");

		if (origin) {
			bool same = false;
			int i;

			for (i = 0; i < ui->nhosts; i++) {
				char want[80];

				snprintf(want, sizeof want, "http://%s", ui->hosts[i]);
				same = same || !strcmp(origin, want);
			}
			if (!same)
				return false;
		}
		if (site && strcmp(site, "same-origin") != 0)
			return false;
		return secret_equal(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Flsync-Token"), ui->token);
	}
	/*
	 * Never a cookie: browsers send a host's cookies to every port of it,
	 * so any other local server the browser visits would learn the token.
	 * The page and its files carry it in the URL; its script sends the
	 * header.
	 */
	return secret_equal(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Flsync-Token"), ui->token) ||
	       secret_equal(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"), ui->token);
}

/* ---- form bodies ------------------------------------------------------------- */

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *filename, const char *content_type,
				const char *encoding, const char *data, uint64_t off, size_t size)
{
	struct req *r = cls;
	int i;

	(void)kind, (void)filename, (void)content_type, (void)encoding;
	for (i = 0; i < r->nfields; i++)
		if (!strcmp(r->fields[i].key, key))
			break;
	if (i == r->nfields) {
		if (r->nfields == FIELDS_MAX || off != 0) {
			r->bad_form = true;
			return MHD_NO;
		}
		r->fields[i].key = xstrdup(key);
		r->fields[i].value = xstrdup("");
		r->fields[i].len = 0;
		r->nfields++;
	} else if (off == 0) {
		r->bad_form = true; /* the same field twice */
		return MHD_NO;
	}
	r->fields[i].value = xrealloc(r->fields[i].value, r->fields[i].len + size + 1);
	memcpy(r->fields[i].value + r->fields[i].len, data, size);
	r->fields[i].len += size;
	r->fields[i].value[r->fields[i].len] = '\0';
	return MHD_YES;
}

static const char *form_get(void *ctx, const char *name)
{
	struct req *r = ctx;
	int i;

	for (i = 0; i < r->nfields; i++)
		if (!strcmp(r->fields[i].key, name))
			return strlen(r->fields[i].value) == r->fields[i].len ? r->fields[i].value : NULL;
	return NULL;
}

static const char *query_get(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void req_free(void *cls, struct MHD_Connection *c, void **con_cls,
		     enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	int i;

	(void)cls, (void)c, (void)toe;
	if (!r)
		return;
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	for (i = 0; i < r->nfields; i++) {
		free(r->fields[i].key);
		free(r->fields[i].value);
	}
	free(r);
	*con_cls = NULL;
}

/* ---- live updates: server-sent events --------------------------------------- */

struct stream {
	struct ui *ui;
	struct fl_db *db;
	int fd;             /* the connection's socket, to notice the page has gone */
	int64_t seen;       /* the newest seq announced */
	bool hello;         /* the first event is out */
	char buf[160];
	size_t len, off;
};

/*
 * Whether the page at the other end has gone.  libmicrohttpd notices only
 * when a write fails, and a quiet stream writes rarely, so each slice of the
 * wait looks: a browser sends nothing more on an event stream, so anything
 * readable is the end of it.
 */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (fd < 0 || poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
		return true;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *s = cls;
	int quiet = 0;

	(void)pos;
	while (s->off == s->len) {
		int64_t latest;
		int rc;

		if (atomic_load(&s->ui->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (peer_gone(s->fd))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (!s->hello) {
			s->hello = true;
			s->len = (size_t)snprintf(s->buf, sizeof s->buf,
						  "retry: 1000\nid: %lld\nevent: hello\ndata: {\"seq\":%lld}\n\n",
						  (long long)s->seen, (long long)s->seen);
			s->off = 0;
			break;
		}
		/* In slices of a second, so that a stop is seen soon. */
		rc = fl_changes_wait(s->db, s->seen, 1000, &latest);
		if (rc == FL_OK) {
			s->seen = latest;
			s->len = (size_t)snprintf(s->buf, sizeof s->buf, "id: %lld\nevent: change\ndata: {\"seq\":%lld}\n\n",
						  (long long)latest, (long long)latest);
		} else if (rc == FL_ERR_TIMEOUT) {
			if (++quiet < KEEPALIVE_S)
				continue;
			s->len = (size_t)snprintf(s->buf, sizeof s->buf, ": still here\n\n");
		} else {
			fprintf(stderr, "flsync ui: live updates: %s\n", fl_errmsg(s->db));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		s->off = 0;
	}
	if (max > s->len - s->off)
		max = s->len - s->off;
	memcpy(out, s->buf + s->off, max);
	s->off += max;
	return (ssize_t)max;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	pool_give(s->ui, s->db);
	atomic_fetch_sub(&s->ui->streams, 1);
	free(s);
}

static enum MHD_Result send_stream(struct ui *ui, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;
	struct MHD_Response *r;
	struct stream *s;
	enum MHD_Result ret;
	char err[ERRLEN] = "";
	const char *last;
	int64_t seen;

	if (atomic_fetch_add(&ui->streams, 1) >= STREAMS_MAX) {
		atomic_fetch_sub(&ui->streams, 1);
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many live-update streams open");
	}
	s = xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->ui = ui;
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = info ? info->connect_fd : -1;
	s->db = pool_take(ui, err, sizeof err);
	if (!s->db || fl_changes_latest(s->db, &s->seen) != FL_OK) {
		if (s->db)
			snprintf(err, sizeof err, "%s", fl_errmsg(s->db));
		stream_free(s);
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	}
	/*
	 * A browser that reconnects says what it saw last: changes committed
	 * while it was away are announced at once.
	 */
	last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	if (last && tool_parse_int64(last, &seen) && seen >= 0 && seen < s->seen)
		s->seen = seen;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, sizeof s->buf, stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	common_headers(r);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- routing ---------------------------------------------------------------- */

static const struct tool_asset *asset(const char *path)
{
	size_t i;

	for (i = 0; i < ui_assets_count; i++)
		if (!strcmp(ui_assets[i].path, path))
			return &ui_assets[i];
	return NULL;
}

/* The page, with this run's token wherever it says @TOKEN@ (its files' URLs, the script's header). */
static enum MHD_Result send_index(struct ui *ui, struct MHD_Connection *c)
{
	const struct tool_asset *a = asset("/index.html");
	const char *mark = "@TOKEN@", *at, *from;
	char *page;
	size_t len, n = 0;
	FILE *f;

	if (!a)
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the page is missing from this build");
	f = open_memstream(&page, &len);
	if (!f)
		abort();
	for (from = (const char *)a->data; (at = strstr(from, mark)); from = at + strlen(mark), n++) {
		fwrite(from, 1, (size_t)(at - from), f);
		fputs(ui->token, f);
	}
	fputs(from, f);
	fclose(f);
	if (!n) {
		free(page);
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the page has no token slot");
	}
	return send_buffer(c, MHD_HTTP_OK, a->content_type, page, len, MHD_RESPMEM_MUST_FREE, NULL);
}

/* Host and token, checked as soon as the headers are in, before any body is read. */
static enum MHD_Result refuse(struct ui *ui, struct MHD_Connection *c, bool post)
{
	if (!host_ok(ui, c))
		return send_error(c, MHD_HTTP_MISDIRECTED_REQUEST,
				  "wrong Host header: this server answers only to its own loopback address");
	if (!token_ok(ui, c, post))
		return send_error(c, MHD_HTTP_FORBIDDEN,
				  post ? "refused: a change needs this run's token (X-Flsync-Token) from the app's own page"
				       : "refused: open the URL flsync ui printed (it carries this run's token)");
	return MHD_YES;
}

static enum MHD_Result route(struct ui *ui, struct MHD_Connection *c, const char *url, bool post,
			     struct req *r)
{
	const struct tool_asset *a;
	struct ui_reply rep;
	struct ui_args args;
	struct fl_db *db;
	char err[ERRLEN];

	if (post && r->too_big)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the request body is over 64 KiB");
	if (post && (r->bad_form || !r->pp))
		return send_error(c, MHD_HTTP_BAD_REQUEST,
				  "the body must be a form (application/x-www-form-urlencoded), each field once");
	if (!post && !strcmp(url, "/"))
		return send_index(ui, c);
	if (!post && !strcmp(url, "/events"))
		return send_stream(ui, c);
	if (!post && strcmp(url, "/index.html") != 0 && (a = asset(url)))
		return send_buffer(c, MHD_HTTP_OK, a->content_type, (void *)a->data, a->len,
				   MHD_RESPMEM_PERSISTENT, NULL);
	if (strncmp(url, "/api/", 5) != 0)
		return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
	db = pool_take(ui, err, sizeof err);
	if (!db)
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	args.get = post ? form_get : query_get;
	args.ctx = post ? (void *)r : (void *)c;
	ui_api(db, ui->sync, url + 5, post, &args, &rep);
	pool_give(ui, db);
	return send_reply(c, &rep);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct ui *ui = cls;
	struct req *r = *con_cls;
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);

	(void)version;
	if (!r) {
		const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		r = xmalloc(sizeof *r);
		memset(r, 0, sizeof *r);
		*con_cls = r;
		if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and POST");
		if (!host_ok(ui, c) || !token_ok(ui, c, post)) {
			r->refused = true;
			return refuse(ui, c, post);
		}
		/* Refuse a body announced too big before reading any of it. */
		if (post && len && strtoull(len, NULL, 10) > BODY_MAX)
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the request body is over 64 KiB");
		if (post)
			r->pp = MHD_create_post_processor(c, 4096, on_field, r);
		return MHD_YES;
	}
	if (r->refused) {
		*upload_size = 0; /* answered already; the body is dropped */
		return MHD_YES;
	}
	if (*upload_size) {
		r->body += *upload_size;
		if (r->body > BODY_MAX)
			r->too_big = true;
		else if (r->pp && !r->bad_form && MHD_post_process(r->pp, upload, *upload_size) != MHD_YES)
			r->bad_form = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(ui, c, url, post, r);
}

/* ---- start and stop ---------------------------------------------------------- */

/* What the command line asked for. */
struct ui_opts {
	const char *listen_on, *api, *token_file;
	bool open_browser;
};

/* The options, into o; TOOL_NEXT when they read well, else the exit status. */
static int parse_opts(struct tool_ctx *ctx, int argc, char **argv, struct ui_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "open", no_argument, NULL, 'o' },
		{ "api", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			o->listen_on = optarg;
			break;
		case 'o':
			o->open_browser = true;
			break;
		case 'a':
			o->api = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		default:
			if ((rc = tool_opt_shared(ctx, opt, "ui", argv, help)) != TOOL_NEXT)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return tool_usage_error("ui", "ui: unexpected argument %s", argv[optind]);
	return TOOL_NEXT;
}

/* libmicrohttpd serving fd, a thread a connection; stop's signals blocked first so they come to sigwait. */
static struct MHD_Daemon *serve(struct ui *ui, int fd, bool v6, sigset_t *stop)
{
	/* The threads libmicrohttpd starts inherit this mask: the signals come here. */
	sigemptyset(stop);
	sigaddset(stop, SIGINT);
	sigaddset(stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	return MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					(v6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, ui,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
				MHD_OPTION_NOTIFY_COMPLETED, req_free, NULL,
				MHD_OPTION_END);
}

/* The URL with its token on stdout (the one line a script reads), and in a browser when asked. */
static void announce(const struct ui *ui, const char *db_path, bool open_browser)
{
	printf("listening on http://%s/?token=%s\n", ui->hosts[0], ui->token);
	fflush(stdout);
	fprintf(stderr, "flsync ui: serving %s; Ctrl-C stops\n", db_path);
	if (open_browser) {
		char url[sizeof ui->hosts[0] + sizeof ui->token + 32];

		snprintf(url, sizeof url, "http://%s/?token=%s", ui->hosts[0], ui->token);
		tool_open_url_async(url);
	}
}

int tool_cmd_ui(struct tool_ctx *ctx, int argc, char **argv)
{
	struct ui_opts o = { .listen_on = "127.0.0.1:0" };
	struct MHD_Daemon *mhd = NULL;
	struct sockaddr_storage ss;
	char err[ERRLEN];
	socklen_t sslen;
	struct fl_db *db;
	struct ui ui;
	sigset_t stop;
	int rc, sig, i, fd;
	bool v6;

	if ((rc = parse_opts(ctx, argc, argv, &o)) != TOOL_NEXT)
		return rc;
	if (!ui_parse_listen(o.listen_on, &ss, &sslen, &v6))
		return TOOL_USAGE;
	if (o.token_file && !o.api)
		return tool_usage_error("ui", "ui: --token-file is the token for --api, which is missing");
	/* Opened once here so that a missing or foreign database is said at once. */
	db = tool_open(ctx, true);
	if (!db)
		return TOOL_FAIL;

	memset(&ui, 0, sizeof ui);
	ui.db_path = ctx->db_path;
	pthread_mutex_init(&ui.lock, NULL);
	ui.pool[ui.npool++] = db;
	if (ui_syncer_new(ctx->db_path, o.api, o.token_file, &ui.sync, err, sizeof err) != FL_OK) {
		rc = tool_fail("ui: %s", err);
		goto out;
	}
	if (!ui_make_token(ui.token)) {
		rc = tool_fail("ui: cannot make a random token: %s", strerror(errno));
		goto out;
	}
	if ((fd = ui_listen_socket(&ss, sslen, v6, ui.hosts, &ui.nhosts)) < 0) {
		rc = tool_fail("ui: cannot listen on %s: %s", o.listen_on, strerror(errno));
		goto out;
	}
	if (!(mhd = serve(&ui, fd, v6, &stop))) {
		rc = tool_fail("ui: cannot serve on %s: %s", o.listen_on, strerror(errno));
		close(fd);
		goto out;
	}
	announce(&ui, ctx->db_path, o.open_browser);
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "flsync ui: stopping\n");
	atomic_store(&ui.stopping, true);
	rc = TOOL_OK;
out:
	if (mhd)
		MHD_stop_daemon(mhd);
	ui_syncer_free(ui.sync); /* a pass in flight stops at its next batch */
	for (i = 0; i < ui.npool; i++)
		fl_db_close(ui.pool[i]);
	pthread_mutex_destroy(&ui.lock);
	return rc;
}
