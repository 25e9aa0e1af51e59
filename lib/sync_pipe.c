/*
 * sync_pipe.c — reading ahead: a thread that fetches and parses the pages a
 * plan names while the caller stores the ones before them, through a small
 * bounded queue.  Parsing and the server's time answering overlap SQLite's
 * work; the caller still takes every page in order on its own thread and
 * commits each batch with the cursor that covers it, as without it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"

struct sync_pipe {
	struct sync_run *run;
	const char *collection;
	struct sync_plan plan;
	struct buf q;               /* the next query, on the reading side */
	bool more;                  /* the plan has a next page */
	struct fl_error fail;       /* why reading ended early without a page to say so */

	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a page was queued, one was taken, or reading ended */
	struct sync_page *head, *tail;
	struct sync_page *spare;    /* pages taken and handed back, for reuse */
	int queued;
	size_t queued_bytes;
	bool done;                  /* the reading side has queued its last page */
	int cancel;                 /* the caller wants no more (atomic) */
};

/* The next page, read, with the plan moved past it; NULL when there is none (or p->fail). */
static struct sync_page *read_next(struct sync_pipe *p)
{
	struct sync_page *pg;

	if (!p->more)
		return NULL;
	if (p->threaded)
		pthread_mutex_lock(&p->mu);
	pg = p->spare;
	if (pg)
		p->spare = pg->next;
	if (p->threaded)
		pthread_mutex_unlock(&p->mu);
	if (!pg)
		pg = sync_page_new();
	if (!pg || sync_page_reset(pg, p->q.data)) {
		sync_page_free(pg);
		p->more = false;
		error_set(&p->fail, FL_ERR_NOMEM, "out of memory reading ahead");
		return NULL;
	}
	if (sync_page_read(p->run, p->collection, pg, &p->cancel) == FL_OK)
		p->more = p->plan.next(p->plan.state, pg, &p->q, &p->fail);
	else
		p->more = false;
	memcpy(pg->state, p->plan.state, p->plan.state_size);
	return pg;
}

static void *reader(void *arg)
{
	struct sync_pipe *p = arg;
	int depth = p->run->opt->read_ahead;

	for (;;) {
		struct sync_page *pg;
		bool stop;

		pthread_mutex_lock(&p->mu);
		while ((p->queued >= depth || (p->queued && p->queued_bytes > SYNC_PIPE_BYTES)) && !p->cancel)
			pthread_cond_wait(&p->cv, &p->mu);
		stop = p->cancel;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		pg = read_next(p);
		pthread_mutex_lock(&p->mu);
		if (pg) {
			if (p->tail)
				p->tail->next = pg;
			else
				p->head = pg;
			p->tail = pg;
			p->queued++;
			p->queued_bytes += pg->bytes;
		}
		stop = !pg || !p->more;
		p->done = stop;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
	}
	pthread_mutex_lock(&p->mu);
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* A request the reader has in flight is given up when the caller wants no more, or the pass stops. */
static bool reader_abort(void *ctx)
{
	struct sync_pipe *p = ctx;

	return __atomic_load_n(&p->cancel, __ATOMIC_RELAXED) || sync_stopping(p->run);
}

int sync_pipe_start(struct sync_run *run, const char *collection, const struct sync_plan *plan,
		    struct sync_pipe **out)
{
	struct sync_pipe *p = calloc(1, sizeof *p);
	sigset_t all, old;

	*out = NULL;
	if (!p)
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	if (plan->state_size > SYNC_PLAN_STATE_MAX) {
		free(p);
		return error_set(&run->err, FL_ERR_MISUSE, "a paging plan's state is larger than a page holds");
	}
	p->run = run;
	p->collection = collection;
	p->plan = *plan;
	buf_init(&p->q, 64 * 1024);
	p->more = plan->next(plan->state, NULL, &p->q, &p->fail);
	*out = p;
	if (run->opt->read_ahead <= 0 || !p->more)
		return FL_OK;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	/* The reader takes no signals: they are for the application's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->threaded = true; /* before the reader looks */
	http_set_abort(run->http, reader_abort, p);
	if (pthread_create(&p->thread, NULL, reader, p) != 0)
		p->threaded = false;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!p->threaded) {
		http_set_abort(run->http, NULL, NULL);
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		sync_log(run, "reading ahead: no thread could be started; reading each page when asked for");
	}
	return FL_OK;
}

/* The next page in order in *out, NULL after the last. */
static int pipe_next(struct sync_pipe *p, struct sync_page **out)
{
	struct sync_page *pg;

	if (!p->threaded) {
		pg = read_next(p);
	} else {
		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		pg = p->head;
		if (pg) {
			p->head = pg->next;
			if (!p->head)
				p->tail = NULL;
			p->queued--;
			p->queued_bytes -= pg->bytes;
			pg->next = NULL;
			pthread_cond_broadcast(&p->cv);
		}
		pthread_mutex_unlock(&p->mu);
	}
	*out = pg;
	if (!pg && p->fail.rc)
		return error_copy(&p->run->err, &p->fail);
	return FL_OK;
}

/* A page taken, kept for a later one. */
static void pipe_done(struct sync_pipe *p, struct sync_page *pg)
{
	if (p->threaded)
		pthread_mutex_lock(&p->mu);
	pg->next = p->spare;
	p->spare = pg;
	if (p->threaded)
		pthread_mutex_unlock(&p->mu);
}

int sync_pipe_take(struct sync_pipe *p, sync_store_fn fn, void *state, struct api_result *res, bool *more)
{
	struct sync_page *pg;
	int rc = pipe_next(p, &pg);

	*more = pg != NULL;
	if (rc || !pg)
		return rc;
	memcpy(state, pg->state, p->plan.state_size);
	rc = sync_page_take(p->run, pg, fn, res);
	pipe_done(p, pg);
	return rc;
}

void sync_pipe_end(struct sync_pipe *p)
{
	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		__atomic_store_n(&p->cancel, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		http_set_abort(p->run->http, NULL, NULL);
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
	}
	/* Pages read ahead and never taken: their requests were made all the same. */
	for (struct sync_page *pg = p->head, *next; pg; pg = next) {
		next = pg->next;
		p->run->requests_total += pg->requests;
		if (p->run->cur)
			p->run->cur->requests += pg->requests;
		sync_page_free(pg);
	}
	for (struct sync_page *pg = p->spare, *next; pg; pg = next) {
		next = pg->next;
		sync_page_free(pg);
	}
	buf_free(&p->q);
	free(p);
}
