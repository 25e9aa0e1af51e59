/*
 * webhooks.h — what webhooks.c (the registry, its endpoints and the events)
 * and deliver.c (the bounded queue and the thread that POSTs) share.
 */
#ifndef FLMOCK_WEBHOOKS_H
#define FLMOCK_WEBHOOKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flmock.h"

enum { WH_QUEUE_MAX = 4096, WH_URL_MAX = 2048 };

struct hook {
	int64_t id, developer_id, user_id, time_created;
	char *url;
	bool inactive;
	char inactive_reason[160];
	long failures;             /* consecutive failed deliveries */
	long delivered, failed;    /* in all */
};

/* One event waiting to be delivered (a duplicate is a second item). */
struct wh_item {
	char *body;
	size_t len;
	uint64_t seq;              /* event number: reorder and stats */
	int64_t due_ms;            /* not before this (monotonic ms) */
	bool hold;                 /* reordered: waits until a later event went out */
};

struct webhooks {
	const struct fm_config *cfg;
	pthread_mutex_t mu;        /* guards everything below */
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop;
	struct hook *hooks;
	size_t nhooks, cap;
	int64_t next_id;
	struct wh_faults faults;
	struct wh_item q[WH_QUEUE_MAX];
	size_t qn;
	uint64_t seq, max_sent_seq;
	bool inflight;
	long emitted, posts, delivered, failed, dropped, duplicated, delayed, reordered, overflow;
};

/* deliver.c */
bool deliver_start(struct webhooks *h);
void deliver_stop(struct webhooks *h);
/* Queue one event's body (taken over) with the faults drawn for it; h->mu held. */
void deliver_push(struct webhooks *h, char *body, size_t len);
int64_t deliver_mono_ms(void);

#endif
