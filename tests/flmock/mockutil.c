/*
 * mockutil.c — starting and stopping flmock, and calling it with libcurl.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mockutil.h"

const char *mock_binary(void)
{
	const char *b = getenv("FLMOCK");

	return b && *b ? b : "build/tools/flmock/flmock";
}

/* Read the first line of the child's stdout, waiting at most 60 s. */
static bool read_line(int fd, char *out, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;

		if (poll(&p, 1, 60000) <= 0)
			return false;
		got = read(fd, out + len, 1);
		if (got <= 0)
			return false;
		if (out[len] == '\n')
			break;
		len++;
	}
	out[len] = '\0';
	return true;
}

bool mock_start(struct mock *m, const char *const *args)
{
	const char *argv[64];
	char line[256];
	int fds[2], n = 0, devnull;
	size_t i;

	memset(m, 0, sizeof *m);
	m->exit_status = -1;
	argv[n++] = mock_binary();
	argv[n++] = "--port";
	argv[n++] = "0";
	for (i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe(fds) < 0)
		return false;
	m->pid = fork();
	if (m->pid < 0)
		return false;
	if (m->pid == 0) {
		/* If the test dies, flmock goes with it instead of lingering. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0 && !getenv("FLMOCK_STDERR"))
			dup2(devnull, 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (!read_line(fds[0], line, sizeof line) || strncmp(line, "listening on ", 13) != 0) {
		close(fds[0]);
		mock_stop(m);
		return false;
	}
	close(fds[0]);
	snprintf(m->url, sizeof m->url, "%.60s", line + 13);
	m->curl = curl_easy_init();
	return m->curl != NULL;
}

void mock_stop(struct mock *m)
{
	int st = 0;

	if (m->curl)
		curl_easy_cleanup(m->curl);
	m->curl = NULL;
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		while (waitpid(m->pid, &st, 0) < 0 && errno == EINTR)
			;
		m->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	m->pid = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	char *nb = realloc(r->body, r->len + size * n + 1);

	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name), v;

	if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	for (v = k + 1; v < n && line[v] == ' '; v++)
		;
	while (n > v && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	snprintf(out, outlen, "%.*s", (int)(n - v), line + v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	char rem[32] = "";

	header_value(p, size * n, "Date", r->date, sizeof r->date);
	header_value(p, size * n, "Content-Type", r->ctype, sizeof r->ctype);
	header_value(p, size * n, "RateLimit-Limit", r->rl_limit, sizeof r->rl_limit);
	header_value(p, size * n, "Location", r->location, sizeof r->location);
	header_value(p, size * n, "RateLimit-Remaining", rem, sizeof rem);
	if (*rem)
		r->rl_remaining = atol(rem);
	return size * n;
}

void mock_call(struct mock *m, const char *method, const char *path, const char *body,
	       const char *ctype, const char *auth, struct resp *out)
{
	struct curl_slist *h = NULL;
	char url[4096], ct[128];

	memset(out, 0, sizeof *out);
	out->rl_remaining = -1;
	snprintf(url, sizeof url, "%s%s", m->url, path);
	if (!auth)
		auth = "Freelancer-OAuth-V1: demo";
	if (*auth)
		h = curl_slist_append(h, auth);
	if (body) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
		h = curl_slist_append(h, ct);
	}
	curl_easy_reset(m->curl);
	curl_easy_setopt(m->curl, CURLOPT_URL, url);
	curl_easy_setopt(m->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(m->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(m->curl, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	out->rc = curl_easy_perform(m->curl);
	curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	if (!out->body) {
		out->body = calloc(1, 1);
		if (!out->body)
			abort();
	}
}

void mock_get(struct mock *m, const char *path, struct resp *out)
{
	mock_call(m, "GET", path, NULL, NULL, NULL, out);
}

void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

yajl_val resp_json(const struct resp *r)
{
	char err[128];

	return r->body ? yajl_tree_parse(r->body, err, sizeof err) : NULL;
}

const char *resp_error_code(const struct resp *r, char *buf, size_t n)
{
	yajl_val v = resp_json(r);
	const char *c = jstr(v, "error_code");

	snprintf(buf, n, "%s", c ? c : "(none)");
	yajl_tree_free(v);
	return buf;
}

yajl_val jget(yajl_val v, const char *k1, const char *k2)
{
	const char *path[3] = { k1, k2, NULL };

	if (!k2)
		path[1] = NULL;
	return v ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

long long jint(yajl_val v, const char *k)
{
	yajl_val x = jget(v, k, NULL);

	return x && YAJL_IS_INTEGER(x) ? YAJL_GET_INTEGER(x) : 0;
}

const char *jstr(yajl_val v, const char *k)
{
	yajl_val x = jget(v, k, NULL);

	return x && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : NULL;
}

bool mock_dump(struct mock *m, const char *entity, struct dump *out)
{
	struct resp r;
	char path[128], *line, *save = NULL;
	size_t cap = 0;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "/_mock/dump?entity=%s", entity);
	mock_call(m, "GET", path, NULL, NULL, "", &r);
	if (r.rc != CURLE_OK || r.status != 200) {
		resp_free(&r);
		return false;
	}
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char err[64];
		yajl_val v = yajl_tree_parse(line, err, sizeof err);

		if (!v)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 256;
			out->rows = realloc(out->rows, cap * sizeof *out->rows);
			if (!out->rows)
				abort();
		}
		out->rows[out->n++] = v;
	}
	resp_free(&r);
	return true;
}

void dump_free(struct dump *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		yajl_tree_free(d->rows[i]);
	free(d->rows);
	d->rows = NULL;
	d->n = 0;
}

long mock_collect_ids(struct mock *m, const char *path, const char *list_key, long long *out, long max)
{
	return mock_collect_ids_auth(m, NULL, path, list_key, out, max);
}

long mock_collect_ids_auth(struct mock *m, const char *auth, const char *path, const char *list_key,
			   long long *out, long max)
{
	long n = 0, offset = 0;

	for (;;) {
		char full[4096];
		struct resp r;
		yajl_val v, list;
		size_t i, len;

		snprintf(full, sizeof full, "%s%slimit=100&offset=%ld", path, strchr(path, '?') ? "&" : "?", offset);
		mock_call(m, "GET", full, NULL, NULL, auth, &r);
		v = r.status == 200 ? resp_json(&r) : NULL;
		resp_free(&r);
		list = jget(v, "result", list_key);
		if (!list || !YAJL_IS_ARRAY(list)) {
			yajl_tree_free(v);
			return -1;
		}
		len = list->u.array.len;
		for (i = 0; i < len && n < max; i++)
			out[n++] = jint(list->u.array.values[i], "id");
		yajl_tree_free(v);
		if (len < 100)
			return n;
		offset += 100;
	}
}

long long mock_advance(struct mock *m, long long seconds)
{
	char path[64];
	struct resp r;
	yajl_val v;
	long long now = -1;

	snprintf(path, sizeof path, "/_mock/advance?seconds=%lld", seconds);
	mock_call(m, "POST", path, NULL, NULL, "", &r);
	v = resp_json(&r);
	if (r.status == 200 && v)
		now = jint(v, "now");
	yajl_tree_free(v);
	resp_free(&r);
	return now;
}

long long mock_self(struct mock *m)
{
	struct resp r;
	yajl_val v;
	long long id;

	mock_call(m, "GET", "/_mock/self", NULL, NULL, "", &r);
	v = resp_json(&r);
	id = jint(v, "id");
	yajl_tree_free(v);
	resp_free(&r);
	return id;
}

