/*
 * webhook.c — flsyncd's webhook listener (--webhook-listen HOST:PORT):
 * libmicrohttpd serves one secret path per account.  A delivery is checked
 * (method, path, size, JSON: fl_webhook_check) and answered at once, 2xx
 * before any work, then queued for a writer thread that stores it in its
 * account's database (fl_webhook_receive) and then posts the account's
 * reason to run to the scheduler (schedule.c): targeted reads, or a whole
 * early pass for a delivery nothing maps.  Deliveries are hints, never data.
 * A client that trickles is cut off by the connection timeout; a flood that
 * outruns the writer fills the bounded queue and is shed with 503, and
 * neither touches the passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "syncd.h"

#define QUEUE_MAX 4096                   /* deliveries waiting for the writer */
#define QUEUE_BYTES_MAX (64u << 20)      /* ... and their bodies' bytes */
#define CONNECTIONS_MAX 256
#define PER_IP_MAX 64
#define TIMEOUT_S 10                     /* an idle or trickling connection is cut off */

struct hook_account;

struct delivery {
	struct delivery *next;
	struct hook_account *hook;
	int64_t received_at;
	size_t len;
	char body[];
};

struct hook_account {
	struct syncd_account *account;
	char *path;                      /* its secret path */
	struct fl_db *db;                /* the writer's own handle on its database */
};

struct syncd_webhook {
	struct MHD_Daemon *mhd;
	struct hook_account *accounts;
	int n;
	struct syncd_progress *log;
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct delivery *head, *tail;    /* the queue, oldest first */
	size_t queued, queued_bytes;
	bool stopping;
	unsigned long received, shed;
};

/* One request's body as it arrives. */
struct upload {
	char *data;
	size_t len;
	bool too_big;
};

static enum MHD_Result webhook_answer(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The account whose secret path url is, with fl_webhook_check()'s verdict. */
static int webhook_route(struct syncd_webhook *wh, const char *method, const char *url,
			 const struct upload *u, struct hook_account **out)
{
	int status = 404;

	*out = NULL;
	for (int i = 0; i < wh->n; i++) {
		status = fl_webhook_check(method, url, wh->accounts[i].path, u ? u->data : NULL,
					  u ? u->len : 0);
		if (status != 404) {
			*out = &wh->accounts[i];
			return status;
		}
	}
	return status;
}

/* Queue a checked delivery for the writer; false when the queue is full. */
static bool webhook_enqueue(struct syncd_webhook *wh, struct hook_account *h, const struct upload *u)
{
	struct delivery *d;

	pthread_mutex_lock(&wh->mu);
	if (wh->queued >= QUEUE_MAX || wh->queued_bytes + u->len > QUEUE_BYTES_MAX ||
	    !(d = malloc(sizeof *d + u->len + 1))) {
		wh->shed++;
		pthread_mutex_unlock(&wh->mu);
		return false;
	}
	d->next = NULL;
	d->hook = h;
	d->received_at = (int64_t)time(NULL);
	d->len = u->len;
	memcpy(d->body, u->data, u->len);
	d->body[u->len] = '\0';
	if (wh->tail)
		wh->tail->next = d;
	else
		wh->head = d;
	wh->tail = d;
	wh->queued++;
	wh->queued_bytes += u->len;
	wh->received++;
	pthread_cond_signal(&wh->cv);
	pthread_mutex_unlock(&wh->mu);
	return true;
}

static enum MHD_Result webhook_request(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version, const char *data,
				       size_t *data_size, void **ctx)
{
	struct syncd_webhook *wh = cls;
	struct upload *u = *ctx;
	struct hook_account *a;
	int status;

	(void)version;
	if (!u) {
		/* Before the body: a wrong method or path is refused unread. */
		status = webhook_route(wh, method, url, NULL, &a);
		if (status == 405 || status == 404)
			return webhook_answer(c, (unsigned)status, status == 405
					      ? "{\"error\":\"POST only\"}\n" : "{\"error\":\"not found\"}\n");
		if (!(u = calloc(1, sizeof *u)))
			return MHD_NO;
		*ctx = u;
		return MHD_YES;
	}
	if (*data_size) {
		/* Past the cap the rest is read and dropped, then 413. */
		if (!u->too_big && u->len + *data_size <= FL_WEBHOOK_MAX_BODY) {
			char *grown = realloc(u->data, u->len + *data_size);

			if (!grown)
				return MHD_NO;
			u->data = grown;
			memcpy(u->data + u->len, data, *data_size);
			u->len += *data_size;
		} else {
			u->too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (u->too_big)
		return webhook_answer(c, 413, "{\"error\":\"body over 1 MiB\"}\n");
	status = webhook_route(wh, method, url, u, &a);
	if (status != 200 || !a)
		return webhook_answer(c, (unsigned)status, status == 400 ? "{\"error\":\"not JSON\"}\n"
				      : "{\"error\":\"refused\"}\n");
	if (!webhook_enqueue(wh, a, u))
		return webhook_answer(c, 503, "{\"error\":\"busy: try again\"}\n");
	return webhook_answer(c, 202, "{\"ok\":true}\n");
}

static void webhook_done(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	struct upload *u = *ctx;

	(void)cls;
	(void)c;
	(void)why;
	if (u) {
		free(u->data);
		free(u);
	}
	*ctx = NULL;
}

/* The writer: store each delivery in its account's database; a due pass wakes the scheduler. */
static void *webhook_writer(void *arg)
{
	struct syncd_webhook *wh = arg;

	pthread_mutex_lock(&wh->mu);
	for (;;) {
		struct delivery *d;
		struct hook_account *h;
		int outcome = 0, due = 0, rc;

		while (!wh->head && !wh->stopping)
			pthread_cond_wait(&wh->cv, &wh->mu);
		if (!wh->head)
			break;
		d = wh->head;
		wh->head = d->next;
		if (!wh->head)
			wh->tail = NULL;
		wh->queued--;
		wh->queued_bytes -= d->len;
		pthread_mutex_unlock(&wh->mu);

		h = d->hook;
		rc = fl_webhook_receive(h->db, d->body, d->len, d->received_at, &outcome);
		if (rc != FL_OK)
			syncd_error(h->account->progress, "webhook delivery not stored: %s", fl_errmsg(h->db));
		else if (outcome == FL_WEBHOOK_DUPLICATE)
			syncd_info(h->account->progress, "webhook: a duplicate delivery, counted");
		else if (outcome == FL_WEBHOOK_PASS)
			syncd_info(h->account->progress, "webhook: a delivery that maps to no targeted read "
				   "(%.200s): an early pass", d->body);
		else
			syncd_info(h->account->progress, "webhook: a delivery, a targeted read queued");
		/* Stored first, then posted: a round that starts after the post sees it. */
		if (rc == FL_OK && outcome != FL_WEBHOOK_DUPLICATE &&
		    fl_webhook_pass_due(h->db, &due) == FL_OK && due)
			syncd_schedule_post(h->account, outcome == FL_WEBHOOK_PASS ? SCHED_EARLY : SCHED_HINTS);
		free(d);
		pthread_mutex_lock(&wh->mu);
	}
	pthread_mutex_unlock(&wh->mu);
	return NULL;
}

/* HOST:PORT, [IPv6]:PORT; the socket bound, or -1 after printing why. */
static int webhook_bind(const char *listen_on, struct syncd_progress *log, char *host, size_t hostsz,
			int *port)
{
	char spec[256], *colon, *h = spec;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	int fd = -1, one = 1, gai;

	snprintf(spec, sizeof spec, "%s", listen_on);
	colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1]) {
		syncd_error(log, "--webhook-listen takes HOST:PORT, not %s", listen_on);
		return -1;
	}
	*colon = '\0';
	if (*h == '[' && colon[-1] == ']') {
		h++;
		colon[-1] = '\0';
	}
	gai = getaddrinfo(h, colon + 1, &hints, &ai);
	if (gai != 0) {
		syncd_error(log, "--webhook-listen %s: %s", listen_on, gai_strerror(gai));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		syncd_error(log, "cannot listen for webhooks on %s: %s", listen_on, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	snprintf(host, hostsz, "%s", h);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int syncd_webhook_start(struct syncd_run *run, const char *listen_on, const char *given_path,
			struct syncd_webhook **out)
{
	struct syncd_webhook *wh = calloc(1, sizeof *wh);
	char host[256];
	int fd, port, n = 0;

	*out = NULL;
	if (!wh)
		abort();
	wh->log = run->log;
	pthread_mutex_init(&wh->mu, NULL);
	pthread_cond_init(&wh->cv, NULL);
	wh->accounts = calloc((size_t)run->n_accounts, sizeof *wh->accounts);
	if (!wh->accounts)
		abort();
	fd = webhook_bind(listen_on, run->log, host, sizeof host, &port);
	if (fd < 0)
		goto fail;
	/* Every account that could open its database gets a path of its own. */
	for (int i = 0; i < run->n_accounts; i++) {
		struct syncd_account *a = &run->accounts[i];
		struct hook_account *h = &wh->accounts[n];

		if (a->state == ACCOUNT_STOPPED)
			continue;
		if (fl_db_open(a->db_path, FL_OPEN_CREATE, &h->db) != FL_OK) {
			syncd_error(a->progress, "webhooks: %s", fl_db_open_errmsg());
			continue;
		}
		if (fl_webhook_path(h->db, run->n_accounts == 1 ? given_path : NULL, &h->path) != FL_OK ||
		    fl_webhook_set_listen(h->db, host, port) != FL_OK) {
			syncd_error(a->progress, "webhooks: %s", fl_errmsg(h->db));
			fl_db_close(h->db);
			fl_free(h->path);
			h->db = NULL;
			h->path = NULL;
			if (given_path) {
				close(fd);
				goto fail;
			}
			continue;
		}
		h->account = a;
		a->webhooks = true;
		syncd_info(a->progress, "webhooks: listening on http://%s%s%s:%d%s", strchr(host, ':') ? "[" : "",
			   host, strchr(host, ':') ? "]" : "", port, h->path);
		wh->n = ++n;
	}
	if (pthread_create(&wh->writer, NULL, webhook_writer, wh) != 0) {
		syncd_error(run->log, "webhooks: cannot start the writer: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	wh->writer_started = true;
	wh->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				   (strchr(host, ':') ? MHD_USE_IPv6 : 0),
				   0, NULL, NULL, webhook_request, wh,
				   MHD_OPTION_LISTEN_SOCKET, fd,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_MAX,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TIMEOUT_S,
				   MHD_OPTION_NOTIFY_COMPLETED, webhook_done, NULL,
				   MHD_OPTION_END);
	if (!wh->mhd) {
		syncd_error(run->log, "webhooks: cannot serve on %s", listen_on);
		close(fd);
		goto fail;
	}
	*out = wh;
	return SYNCD_EXIT_OK;
fail:
	syncd_webhook_stop(wh);
	return SYNCD_EXIT_USAGE;
}

void syncd_webhook_stop(struct syncd_webhook *wh)
{
	if (!wh)
		return;
	if (wh->mhd)
		MHD_stop_daemon(wh->mhd);
	pthread_mutex_lock(&wh->mu);
	wh->stopping = true;
	pthread_cond_signal(&wh->cv);
	pthread_mutex_unlock(&wh->mu);
	/* The writer stores what was answered 2xx before it stops. */
	if (wh->writer_started)
		pthread_join(wh->writer, NULL);
	if (wh->received || wh->shed)
		syncd_info(wh->log, "webhooks: %lu deliveries received, %lu shed", wh->received, wh->shed);
	for (int i = 0; i < wh->n; i++) {
		fl_db_close(wh->accounts[i].db);
		fl_free(wh->accounts[i].path);
	}
	free(wh->accounts);
	pthread_mutex_destroy(&wh->mu);
	pthread_cond_destroy(&wh->cv);
	free(wh);
}
