/*
 * testutil.c — temporary files, the scripted libmicrohttpd test server, and
 * the Check runner's tail.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <microhttpd.h>

#include "testutil.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir;

	if (asprintf(&dir, "%s/fltest.XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(dir))
		abort();
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void tu_rmtree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

char *tu_read_file(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
			data[n] = '\0';
			if (out_len)
				*out_len = (size_t)n;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

/* ---- scripted server ---------------------------------------------------- */

struct tu_server {
	struct MHD_Daemon *d;
	char url[64];
	pthread_mutex_t mu;
	struct tu_reply reply;
	struct tu_request last;
	unsigned requests, connections;
};

struct truncated {
	const char *body;
	size_t len;       /* bytes to send before failing */
};

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct truncated *t = cls;
	size_t n;

	if (pos >= t->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->len - (size_t)pos < max ? t->len - (size_t)pos : max;
	memcpy(buf, t->body + pos, n);
	return (ssize_t)n;
}

/* Rebuild the query (decoded) after the path: MHD parses it away. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct tu_request *req = cls;
	size_t n = strlen(req->url);
	(void)kind;

	snprintf(req->url + n, sizeof req->url - n, "%c%s=%s", strchr(req->url, '?') ? '&' : '?',
		 key, value ? value : "");
	return MHD_YES;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, n, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version,
			      const char *upload, size_t *upload_size, void **state)
{
	struct tu_server *s = cls;
	struct tu_request *req = *state;
	struct MHD_Response *resp;
	struct tu_reply r;
	enum MHD_Result ret;
	size_t len;
	(void)version;

	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*state = req;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t room = sizeof req->body - 1 - req->body_len;
		size_t n = *upload_size < room ? *upload_size : room;

		memcpy(req->body + req->body_len, upload, n);
		req->body_len += n;
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(req->method, sizeof req->method, "%s", method);
	snprintf(req->url, sizeof req->url, "%s", url);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, req);
	copy_header(conn, "Freelancer-OAuth-V1", req->auth, sizeof req->auth);
	copy_header(conn, "User-Agent", req->user_agent, sizeof req->user_agent);
	copy_header(conn, "Accept-Encoding", req->accept_encoding, sizeof req->accept_encoding);
	copy_header(conn, "Content-Type", req->content_type, sizeof req->content_type);

	pthread_mutex_lock(&s->mu);
	s->last = *req;
	s->requests++;
	r = s->reply;
	pthread_mutex_unlock(&s->mu);

	if (r.delay_ms)
		usleep((useconds_t)r.delay_ms * 1000);
	len = r.body_len ? r.body_len : (r.body ? strlen(r.body) : 0);
	if (r.truncate_at) {
		static struct truncated t;  /* one truncated reply at a time in tests */
		t.body = r.body;
		t.len = r.truncate_at;
		resp = MHD_create_response_from_callback(len, 4096, truncated_read, &t, NULL);
	} else {
		resp = MHD_create_response_from_buffer(len, (void *)(r.body ? r.body : ""),
						      MHD_RESPMEM_MUST_COPY);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
				r.content_type ? r.content_type : "application/json");
	if (r.content_encoding)
		MHD_add_response_header(resp, "Content-Encoding", r.content_encoding);
	if (r.headers) {
		char *copy = strdup(r.headers), *line, *save = NULL;

		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *colon = strchr(line, ':');
			if (!colon)
				continue;
			*colon = '\0';
			MHD_add_response_header(resp, line, colon + 1 + strspn(colon + 1, " "));
		}
		free(copy);
	}
	ret = MHD_queue_response(conn, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode code)
{
	(void)cls; (void)c; (void)code;
	free(*state);
	*state = NULL;
}

static void notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
		   enum MHD_ConnectionNotificationCode code)
{
	struct tu_server *s = cls;
	(void)c; (void)socket_ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->mu);
		s->connections++;
		pthread_mutex_unlock(&s->mu);
	}
}

struct tu_server *tu_server_start(void)
{
	struct tu_server *s = calloc(1, sizeof *s);
	struct sockaddr_in addr = { 0 };
	const union MHD_DaemonInfo *info;

	if (!s)
		abort();
	pthread_mutex_init(&s->mu, NULL);
	s->reply.status = 200;
	s->reply.body = "{\"status\":\"success\",\"result\":{}}";
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, handle, s,
				MHD_OPTION_SOCK_ADDR, &addr,
				MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, notify, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_END);
	if (!s->d)
		abort();
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)info->port);
	return s;
}

void tu_server_stop(struct tu_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *tu_server_url(const struct tu_server *s)
{
	return s->url;
}

void tu_server_reply(struct tu_server *s, const struct tu_reply *r)
{
	pthread_mutex_lock(&s->mu);
	s->reply = *r;
	pthread_mutex_unlock(&s->mu);
}

struct tu_request tu_server_last(struct tu_server *s)
{
	struct tu_request r;

	pthread_mutex_lock(&s->mu);
	r = s->last;
	pthread_mutex_unlock(&s->mu);
	return r;
}

unsigned tu_server_requests(struct tu_server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->requests;
	pthread_mutex_unlock(&s->mu);
	return n;
}

unsigned tu_server_connections(struct tu_server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->connections;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
