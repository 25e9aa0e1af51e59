/*
 * hookrecv.c — the test webhook receiver (see hookrecv.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "hookrecv.h"

struct body {
	char *data;
	size_t len;
};

struct hookrecv {
	struct MHD_Daemon *d;
	char url[64];
	hookrecv_fn *fn;
	void *ctx;
	pthread_mutex_t mu;
	int status;
	struct body *v;
	size_t n, cap;
};

struct upload {
	char *data;
	size_t len;
	bool stored;
	size_t index;              /* where the body was kept */
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **con_cls)
{
	struct hookrecv *h = cls;
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status;

	(void)url;
	(void)version;
	if (!up) {
		up = calloc(1, sizeof *up);
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*size) {
		char *nd = realloc(up->data, up->len + *size + 1);

		if (!nd)
			return MHD_NO;
		memcpy(nd + up->len, data, *size);
		up->data = nd;
		up->len += *size;
		up->data[up->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&h->mu);
	status = h->status;
	if (strcmp(method, "POST") == 0 && status >= 200 && status < 300) {
		if (h->n == h->cap) {
			size_t ncap = h->cap ? h->cap * 2 : 64;
			struct body *nv = realloc(h->v, ncap * sizeof *nv);

			if (!nv)
				abort();
			h->v = nv;
			h->cap = ncap;
		}
		h->v[h->n].data = up->data ? up->data : strdup("");
		h->v[h->n].len = up->len;
		up->stored = true;
		up->index = h->n++;
		up->data = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* After the answer went out: the callback sees the body, as a listener would act on it. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct hookrecv *h = cls;
	struct upload *up = *con_cls;

	(void)c;
	if (!up)
		return;
	if (up->stored && h->fn && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		char *body = hookrecv_body(h, up->index);

		if (body)
			h->fn(h->ctx, body, strlen(body));
		free(body);
	}
	free(up->data);
	free(up);
	*con_cls = NULL;
}

struct hookrecv *hookrecv_start(hookrecv_fn *fn, void *ctx)
{
	struct hookrecv *h = calloc(1, sizeof *h);
	const union MHD_DaemonInfo *di;

	if (!h)
		return NULL;
	h->fn = fn;
	h->ctx = ctx;
	h->status = 200;
	pthread_mutex_init(&h->mu, NULL);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
				on_request, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET,
									  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
				MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return NULL;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(h->url, sizeof h->url, "http://127.0.0.1:%u/hook", di ? di->port : 0);
	return h;
}

void hookrecv_stop(struct hookrecv *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].data);
	free(h->v);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const char *hookrecv_url(const struct hookrecv *h)
{
	return h->url;
}

void hookrecv_set_status(struct hookrecv *h, int status)
{
	pthread_mutex_lock(&h->mu);
	h->status = status;
	pthread_mutex_unlock(&h->mu);
}

size_t hookrecv_count(struct hookrecv *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

char *hookrecv_body(struct hookrecv *h, size_t i)
{
	char *c = NULL;

	pthread_mutex_lock(&h->mu);
	if (i < h->n)
		c = strdup(h->v[i].data);
	pthread_mutex_unlock(&h->mu);
	return c;
}

bool hookrecv_wait(struct hookrecv *h, size_t n, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (hookrecv_count(h) >= n)
			return true;
		usleep(10000);
	}
	return hookrecv_count(h) >= n;
}
