/*
 * deliver.c — webhook deliveries: a bounded queue filled under the world
 * lock (never blocking an API handler: a full queue drops the event and
 * counts it) and one thread that POSTs each event to every active webhook
 * with libcurl.  The faults asked for (drop, duplicate, delay, reorder) are
 * drawn per event from the seed and the event number, so a run is
 * reproducible; a webhook that fails fail_after times in a row (non-2xx,
 * refused, timed out) is deactivated with its inactive_reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "webhooks.h"

enum { HOLD_MAX_MS = 1000, POST_TIMEOUT_MS = 3000 };

int64_t deliver_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void push_item(struct webhooks *h, char *body, size_t len, int64_t due, bool hold)
{
	struct wh_item *it;

	if (h->qn == WH_QUEUE_MAX) {
		h->overflow++;
		free(body);
		return;
	}
	it = &h->q[h->qn++];
	it->body = body;
	it->len = len;
	it->seq = h->seq;
	it->due_ms = due;
	it->hold = hold;
}

void deliver_push(struct webhooks *h, char *body, size_t len)
{
	const struct wh_faults *f = &h->faults;
	int64_t now = deliver_mono_ms(), due = now;
	struct rng g;
	bool hold = false;

	rng_seed(&g, h->cfg->world.seed ^ 0xde11ull, h->seq);
	if (rng_chance(&g, f->drop)) {
		h->dropped++;
		free(body);
		return;
	}
	if (rng_chance(&g, f->delay)) {
		h->delayed++;
		due = now + f->delay_ms;
	}
	if (rng_chance(&g, f->reorder)) {
		h->reordered++;
		hold = true;
		if (due < now + HOLD_MAX_MS)
			due = now + HOLD_MAX_MS; /* alone, it goes out after this at the latest */
	}
	if (rng_chance(&g, f->dup)) {
		char *copy = malloc(len + 1);

		if (!copy)
			abort();
		memcpy(copy, body, len + 1);
		h->duplicated++;
		push_item(h, copy, len, due, hold);
	}
	push_item(h, body, len, due, hold);
	pthread_cond_signal(&h->cv);
}

/* The next item that may go out now (lowest event number), or -1 and when to look again. */
static long next_item(struct webhooks *h, int64_t now, int64_t *wake)
{
	long best = -1;
	size_t i;

	*wake = now + 60000;
	for (i = 0; i < h->qn; i++) {
		const struct wh_item *it = &h->q[i];
		bool ready = it->due_ms <= now && !it->hold;

		/* A reordered event waits for a later one to go out first (or for its deadline). */
		if (it->hold && (h->max_sent_seq > it->seq || it->due_ms <= now))
			ready = true;
		if (ready) {
			if (best < 0 || it->seq < h->q[best].seq)
				best = (long)i;
		} else if (it->due_ms < *wake) {
			*wake = it->due_ms;
		}
	}
	return best;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* One POST; the HTTP status, or 0 with why when there was no answer. */
static long post(CURL *c, const char *url, const struct wh_item *it, char *why, size_t whylen)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	CURLcode rc;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* loopback only: never through a proxy */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)it->len);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "flmock-webhooks/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	return status;
}

static void record(struct webhooks *h, int64_t id, long status, const char *why)
{
	size_t i;

	for (i = 0; i < h->nhooks; i++) {
		struct hook *k = &h->hooks[i];

		if (k->id != id)
			continue;
		if (status >= 200 && status < 300) {
			k->failures = 0;
			k->delivered++;
			h->delivered++;
			return;
		}
		k->failures++;
		k->failed++;
		h->failed++;
		if (h->faults.fail_after > 0 && k->failures >= h->faults.fail_after && !k->inactive) {
			k->inactive = true;
			if (status)
				snprintf(k->inactive_reason, sizeof k->inactive_reason,
					 "%ld consecutive deliveries failed (last: HTTP %ld)", k->failures, status);
			else
				snprintf(k->inactive_reason, sizeof k->inactive_reason,
					 "%ld consecutive deliveries failed (last: %.100s)", k->failures, why);
		}
		return;
	}
}

static void *deliver_main(void *arg)
{
	struct webhooks *h = arg;
	CURL *c = curl_easy_init();

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		int64_t now = deliver_mono_ms(), wake;
		long i = next_item(h, now, &wake);
		struct wh_item it;
		int64_t ids[64];
		char *urls[64];
		size_t n = 0, k;

		if (i < 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			wake -= now;
			ts.tv_sec += wake / 1000;
			ts.tv_nsec += (wake % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
			continue;
		}
		it = h->q[i];
		h->q[i] = h->q[--h->qn]; /* order is kept by seq, not by position */
		for (k = 0; k < h->nhooks && n < 64; k++)
			if (!h->hooks[k].inactive) {
				ids[n] = h->hooks[k].id;
				urls[n] = strdup(h->hooks[k].url);
				if (!urls[n])
					abort();
				n++;
			}
		h->inflight = true;
		pthread_mutex_unlock(&h->mu);
		for (k = 0; k < n; k++) {
			char why[160] = "no answer";
			long status = c ? post(c, urls[k], &it, why, sizeof why) : 0;

			pthread_mutex_lock(&h->mu);
			h->posts++;
			record(h, ids[k], status, why);
			pthread_mutex_unlock(&h->mu);
			free(urls[k]);
		}
		free(it.body);
		pthread_mutex_lock(&h->mu);
		h->inflight = false;
		if (it.seq > h->max_sent_seq)
			h->max_sent_seq = it.seq;
	}
	pthread_mutex_unlock(&h->mu);
	curl_easy_cleanup(c);
	return NULL;
}

bool deliver_start(struct webhooks *h)
{
	if (pthread_create(&h->thread, NULL, deliver_main, h) != 0)
		return false;
	h->started = true;
	return true;
}

void deliver_stop(struct webhooks *h)
{
	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	h->started = false;
}
