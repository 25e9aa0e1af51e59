/*
 * sync_pipe.c — a pass's requests side by side.  One fetcher thread per
 * pass drives a curl multi handle (the account's connection pool: HTTP/2
 * multiplexed where the server offers it, keep-alive HTTP/1.1 otherwise)
 * with up to opt->max_in_flight requests for every stream reading at the
 * time.  A stream reads through a pipe: its plan's pages as chains, split
 * where slots would sit idle, each chain page after page; the stream takes
 * the pages as they come, whichever chain they are of, and stores them on
 * its own thread, so SQLite stays one writer.  Earlier streams' chains are
 * served first, the earlier chains of a stream before its later ones.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_internal.h"

#define CHAINS_MAX 64          /* a pipe's chains at once */
#define PIPE_LINGER_MS 3       /* a page due this soon is waited for holding the database */

struct chain {
	struct chain *next;         /* in the plan's order */
	struct sync_pipe *pipe;
	unsigned char state[SYNC_PLAN_STATE_MAX];  /* what the next page is */
	unsigned char taken[SYNC_PLAN_STATE_MAX];  /* after the last page taken */
	bool more;                  /* the plan has a page to read next */
	bool busy;                  /* a request of it is in flight */
	bool finished;              /* its last page was taken */
	int queued;                 /* pages read and not taken */
	int64_t not_before;         /* a back-off or a rate limit's wait */
	struct sync_page *page;     /* the page being read, across its tries */
};

struct sync_pipe {
	struct sync_fetch *fx;
	struct sync_run *run;
	const char *collection;
	struct sync_plan plan;
	struct chain *chains;
	int nchains;
	struct sync_page *head, *tail; /* pages read, in the order they came */
	struct fl_error fail;       /* why reading ended without a page to say so */
	bool cancel;                /* the stream wants no more */
	int64_t abandoned;          /* requests of pages never taken */
	struct sync_pipe *next;     /* in the fetcher's list, oldest first */
};

struct xfer {
	struct api_xfer ax;
	void *easy;
	struct chain *ch;           /* NULL: free */
};

struct sync_fetch {
	struct sync_run *run;       /* the pass's options, client and limiter */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a page came, or a chain stopped being busy */
	CURLM *multi;
	struct sync_pipe *pipes;
	struct xfer *xfers;
	int max, in_flight, most_in_flight;
	size_t queued_bytes;
	struct sync_page *spare;    /* pages taken, for reuse */
	int nspare;
	struct buf q;
	bool stop;
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---- the fetching side (under fx->mu unless said) ----------------------- */

static struct sync_page *page_get(struct sync_fetch *fx)
{
	struct sync_page *pg = fx->spare;

	if (pg) {
		fx->spare = pg->next;
		fx->nspare--;
		return pg;
	}
	return sync_page_new();
}

/*
 * A page taken or given up, kept for reuse while few are and it is not
 * large: a page keeps the room of the largest body it held, and spares
 * would hold the memory of the pass's busiest moment for the rest of it.
 */
#define SPARE_PAGES 4
#define SPARE_PAGE_BYTES ((size_t)1 << 20)

static void page_put(struct sync_fetch *fx, struct sync_page *pg)
{
	if (fx->nspare >= SPARE_PAGES || pg->bytes > SPARE_PAGE_BYTES) {
		sync_page_free(pg);
		return;
	}
	pg->next = fx->spare;
	fx->spare = pg;
	fx->nspare++;
}

/* The chain's page is read (or failed for good): queue it for the stream. */
static void chain_deliver(struct sync_fetch *fx, struct chain *ch)
{
	struct sync_pipe *p = ch->pipe;
	struct sync_page *pg = ch->page;

	ch->page = NULL;
	if (pg->rc == FL_OK)
		ch->more = p->plan.next(ch->state, pg, &p->fail);
	else
		ch->more = false;
	/* A page after which the plan failed is not its chain's last: the chain is not whole. */
	pg->last = !ch->more && pg->rc == FL_OK && !p->fail.rc;
	pg->chain = ch;
	memcpy(pg->state, ch->state, p->plan.state_size);
	pg->next = NULL;
	if (p->tail)
		p->tail->next = pg;
	else
		p->head = pg;
	p->tail = pg;
	ch->queued++;
	fx->queued_bytes += pg->bytes;
	pthread_cond_broadcast(&fx->cv);
}

/* Fail the chain's page without a request (no memory, no query, no budget). */
static void chain_fail(struct sync_fetch *fx, struct chain *ch, int rc, const char *msg)
{
	if (!ch->page) {
		ch->more = false;
		error_set(&ch->pipe->fail, rc, "%s", msg);
		pthread_cond_broadcast(&fx->cv);
		return;
	}
	if (ch->page->rc == FL_OK)
		ch->page->rc = error_set(&ch->page->err, rc, "%s", msg);
	chain_deliver(fx, ch);
}

/* Start the chain's next request, or note when it may go (fx->mu held, let go meanwhile). */
static void chain_start(struct sync_fetch *fx, struct chain *ch, int64_t *wake)
{
	struct sync_pipe *p = ch->pipe;
	struct xfer *x = NULL;
	int64_t wait;

	if (!ch->page) {
		struct fl_error err = { 0 };

		ch->page = page_get(fx);
		buf_reset(&fx->q);
		if (!ch->page || !p->plan.query(ch->state, &fx->q, &err) || sync_page_reset(ch->page, fx->q.data)) {
			chain_fail(fx, ch, err.rc ? err.rc : FL_ERR_NOMEM, err.rc ? err.msg : "out of memory reading");
			return;
		}
	}
	if (sync_page_start(p->run, ch->page, &wait) != FL_OK) {
		chain_deliver(fx, ch); /* over its rate budget for long: the stream comes back later */
		return;
	}
	if (wait > 0) {
		ch->not_before = sync_now_ms() + wait;
		*wake = min64(*wake, ch->not_before);
		return;
	}
	for (int i = 0; i < fx->max && !x; i++)
		if (!fx->xfers[i].ch)
			x = &fx->xfers[i];
	if (!x)
		return; /* not reached: a slot is free whenever this is called */
	x->ch = ch;
	ch->busy = true;
	if (++fx->in_flight > fx->most_in_flight)
		fx->most_in_flight = fx->in_flight;
	/*
	 * The request is made without the lock: the token of now may be due
	 * for its refresh, a request of its own, and the streams go on taking
	 * pages meanwhile.  The chain is busy, so nothing else touches its page.
	 */
	pthread_mutex_unlock(&fx->mu);
	if (!x->easy)
		x->easy = http_easy_new(p->run->http);
	if (x->easy && api_xfer_begin(p->run->http, &x->ax, x->easy, "GET", ch->page->query, NULL, NULL, 0,
				      p->collection, NULL, sync_page_item, ch->page, &ch->page->res,
				      &ch->page->err) == FL_OK) {
		if (curl_multi_add_handle(fx->multi, x->easy) == CURLM_OK) {
			pthread_mutex_lock(&fx->mu);
			return;
		}
		api_xfer_drop(&x->ax);
	}
	ratelimit_observe(p->run->rl, ch->page->endpoint, &ch->page->res.http, sync_now_ms());
	pthread_mutex_lock(&fx->mu);
	x->ch = NULL;
	ch->busy = false;
	fx->in_flight--;
	chain_fail(fx, ch, ch->page->err.rc ? ch->page->err.rc : FL_ERR_NOMEM,
		   ch->page->err.rc ? ch->page->err.msg : "out of memory starting a request");
}

static bool chain_ready(const struct sync_fetch *fx, const struct chain *ch, int64_t now)
{
	int depth = fx->run->opt->read_ahead > 0 ? fx->run->opt->read_ahead : 1;

	return ch->more && !ch->busy && ch->queued < depth && ch->not_before <= now && !ch->pipe->cancel &&
	       fx->queued_bytes <= SYNC_PIPE_BYTES;
}

/* Idle slots and a plan that splits: read more of it side by side. */
static void chain_split(struct sync_fetch *fx, struct chain *ch, int parts)
{
	struct sync_pipe *p = ch->pipe;

	for (; parts > 1 && p->nchains < CHAINS_MAX; parts--) {
		struct chain *r = calloc(1, sizeof *r);

		if (!r)
			return;
		if (!p->plan.split(ch->state, r->state, parts)) {
			free(r);
			return;
		}
		r->pipe = p;
		r->more = true;
		memcpy(r->taken, r->state, p->plan.state_size);
		r->next = ch->next;
		ch->next = r;
		p->nchains++;
	}
}

/* Fill the free slots, earlier pipes and chains first; when the next may go. */
static int64_t start_ready(struct sync_fetch *fx)
{
	int64_t now = sync_now_ms(), wake = now + 1000;
	int ready = 0;

	if (fx->stop || sync_stopping(fx->run))
		return wake;
	/* Chains waiting for their stream to store count as busy: more chains would not help. */
	for (struct sync_pipe *p = fx->pipes; p; p = p->next)
		for (struct chain *ch = p->chains; ch; ch = ch->next)
			ready += chain_ready(fx, ch, now) || (ch->more && !ch->busy && ch->queued > 0);
	for (struct sync_pipe *p = fx->pipes; p && fx->in_flight < fx->max; p = p->next)
		for (struct chain *ch = p->chains; ch && fx->in_flight < fx->max; ch = ch->next) {
			int idle = fx->max - fx->in_flight - ready;

			if (!chain_ready(fx, ch, now)) {
				if (ch->more && !ch->busy && ch->not_before > now)
					wake = min64(wake, ch->not_before);
				continue;
			}
			/* A page already made (waiting out a limit or a back-off) keeps its query. */
			if (idle > 0 && p->plan.split && !ch->page) {
				int before = p->nchains;

				chain_split(fx, ch, idle + 1);
				ready += p->nchains - before;
			}
			ready--;
			chain_start(fx, ch, &wake);
		}
	return wake;
}

/* A transfer is done: its verdict, a retry, or the page to the stream. */
static void xfer_done(struct sync_fetch *fx, struct xfer *x, CURLcode cc)
{
	struct chain *ch = x->ch;
	struct sync_page *pg = ch->page;
	const struct sync_run *run = fx->run;
	int64_t retry;
	int rc;

	curl_multi_remove_handle(fx->multi, x->easy);
	rc = api_xfer_end(&x->ax, (int)cc, &pg->err);
	if (rc != FL_OK && api_needs_reauth(run->http, &pg->res) && pg->attempt <= run->opt->max_attempts) {
		/*
		 * The token expired.  Requests side by side all meet it: when one
		 * renewed it already, go again; else renew it and go again.  Each
		 * is a try of the page's, so a token that keeps dying ends too.
		 */
		pg->requests++;
		ratelimit_observe(run->rl, pg->endpoint, &pg->res.http, sync_now_ms());
		if (!http_token_renewed(run->http, x->ax.http.token_gen))
			rc = api_reauth(run->http, "GET", pg->query, rc, &pg->err);
		else
			rc = FL_OK;
		pthread_mutex_lock(&fx->mu);
		x->ch = NULL;
		fx->in_flight--;
		ch->busy = false;
		if (rc != FL_OK) {
			pg->rc = rc;
			chain_deliver(fx, ch);
		}
		pthread_cond_broadcast(&fx->cv);
		pthread_mutex_unlock(&fx->mu);
		return;
	}
	rc = sync_page_ended(run, pg, rc, &retry);
	pthread_mutex_lock(&fx->mu);
	x->ch = NULL;
	fx->in_flight--;
	ch->busy = false;
	if (retry >= 0)
		ch->not_before = sync_now_ms() + retry;
	else
		chain_deliver(fx, ch);
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->mu);
}

/* Give up the transfers of pipes that want no more (or of a stopped pass). */
static void drop_cancelled(struct sync_fetch *fx)
{
	bool all = fx->stop || sync_stopping(fx->run);

	for (int i = 0; i < fx->max; i++) {
		struct xfer *x = &fx->xfers[i];

		if (!x->ch || (!all && !x->ch->pipe->cancel))
			continue;
		curl_multi_remove_handle(fx->multi, x->easy);
		api_xfer_drop(&x->ax);
		ratelimit_observe(fx->run->rl, x->ch->page->endpoint, &x->ch->page->res.http, sync_now_ms());
		x->ch->page->requests++; /* counted with the page, taken or not */
		x->ch->busy = false;
		if (all && !x->ch->pipe->cancel) {
			x->ch->page->rc = error_set(&x->ch->page->err, FL_ERR_ABORTED, "stopped");
			chain_deliver(fx, x->ch);
		}
		x->ch = NULL;
		fx->in_flight--;
	}
	pthread_cond_broadcast(&fx->cv);
}

static void *fetch_main(void *arg)
{
	struct sync_fetch *fx = arg;

	pthread_mutex_lock(&fx->mu);
	while (!fx->stop || fx->in_flight) {
		int64_t wake;
		int running, left;
		bool done;
		CURLMsg *m;

		drop_cancelled(fx);
		wake = start_ready(fx);
		pthread_mutex_unlock(&fx->mu);
		curl_multi_perform(fx->multi, &running);
		done = false;
		while ((m = curl_multi_info_read(fx->multi, &left)))
			if (m->msg == CURLMSG_DONE) {
				struct xfer *x = NULL;

				curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
				/* CURLOPT_PRIVATE points at the http_xfer, first in the xfer. */
				xfer_done(fx, (struct xfer *)(void *)x, m->data.result);
				done = true;
			}
		/* A request done frees a slot and may make its chain's next page due: no wait then. */
		wake -= sync_now_ms();
		if (!done)
			curl_multi_poll(fx->multi, NULL, 0, wake < 1 ? 1 : wake > 200 ? 200 : (int)wake, NULL);
		pthread_mutex_lock(&fx->mu);
	}
	pthread_mutex_unlock(&fx->mu);
	return NULL;
}

int sync_fetch_start(struct sync_run *run)
{
	struct sync_fetch *fx = calloc(1, sizeof *fx);
	sigset_t all, old;
	int rc;

	if (!fx)
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	fx->run = run;
	fx->max = run->opt->max_in_flight > 0 ? run->opt->max_in_flight : 1;
	fx->xfers = calloc((size_t)fx->max, sizeof *fx->xfers);
	fx->multi = curl_multi_init();
	buf_init(&fx->q, 64 * 1024);
	if (!fx->xfers || !fx->multi) {
		curl_multi_cleanup(fx->multi);
		free(fx->xfers);
		free(fx);
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	}
	/* One pool of connections for the account, multiplexed where the server can. */
	curl_multi_setopt(fx->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(fx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)fx->max);
	curl_multi_setopt(fx->multi, CURLMOPT_MAXCONNECTS, (long)fx->max);
	pthread_mutex_init(&fx->mu, NULL);
	pthread_cond_init(&fx->cv, NULL);
	/* The fetcher takes no signals: they are for the application's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&fx->thread, NULL, fetch_main, fx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&fx->cv);
		pthread_mutex_destroy(&fx->mu);
		curl_multi_cleanup(fx->multi);
		free(fx->xfers);
		buf_free(&fx->q);
		free(fx);
		return error_set(&run->err, FL_ERR_NOMEM, "no thread could be started for the requests");
	}
	run->sh->fetch = fx;
	return FL_OK;
}

void sync_fetch_stop(struct sync_run *run)
{
	struct sync_fetch *fx = run->sh->fetch;

	if (!fx)
		return;
	pthread_mutex_lock(&fx->mu);
	fx->stop = true;
	pthread_mutex_unlock(&fx->mu);
	curl_multi_wakeup(fx->multi);
	pthread_join(fx->thread, NULL);
	for (int i = 0; i < fx->max; i++)
		http_easy_free(fx->xfers[i].easy);
	for (struct sync_page *pg = fx->spare, *next; pg; pg = next) {
		next = pg->next;
		sync_page_free(pg);
	}
	curl_multi_cleanup(fx->multi);
	pthread_cond_destroy(&fx->cv);
	pthread_mutex_destroy(&fx->mu);
	buf_free(&fx->q);
	free(fx->xfers);
	free(fx);
	run->sh->fetch = NULL;
}

int sync_fetch_max_in_flight(const struct sync_run *run)
{
	return run->sh->fetch ? run->sh->fetch->most_in_flight : 0;
}

/* ---- the storing side ----------------------------------------------------- */

int sync_pipe_start(struct sync_run *run, const char *collection, const struct sync_plan *plan,
		    struct sync_pipe **out)
{
	struct sync_fetch *fx = run->sh->fetch;
	struct sync_pipe *p, **at;
	struct chain *ch;

	*out = NULL;
	if (plan->state_size > SYNC_PLAN_STATE_MAX)
		return error_set(&run->err, FL_ERR_MISUSE, "a paging plan's state is larger than a page holds");
	p = calloc(1, sizeof *p);
	ch = calloc(1, sizeof *ch);
	if (!p || !ch) {
		free(p);
		free(ch);
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	}
	p->fx = fx;
	p->run = run;
	p->collection = collection;
	p->plan = *plan;
	ch->pipe = p;
	memcpy(ch->state, plan->state, plan->state_size);
	ch->more = plan->next(ch->state, NULL, &p->fail);
	ch->finished = !ch->more && !p->fail.rc; /* nothing to read */
	memcpy(ch->taken, ch->state, plan->state_size);
	p->chains = ch;
	p->nchains = 1;
	*out = p;
	/* Earlier streams' requests first (run->prio), then the older pipes. */
	pthread_mutex_lock(&fx->mu);
	at = &fx->pipes;
	while (*at && (*at)->run->prio <= run->prio)
		at = &(*at)->next;
	p->next = *at;
	*at = p;
	pthread_mutex_unlock(&fx->mu);
	curl_multi_wakeup(fx->multi);
	return FL_OK;
}

/*
 * Chains whose last page was taken go.  One that ended otherwise (its plan
 * failed, its page failed) stays: the frontier stops there.
 */
static void chains_prune(struct sync_pipe *p)
{
	for (struct chain **at = &p->chains; *at;) {
		struct chain *ch = *at;

		if (ch->finished) {
			*at = ch->next;
			p->nchains--;
			free(ch);
		} else {
			at = &ch->next;
		}
	}
}

/* Something of the pipe may still come: a chain reading, or with a page to read. */
static bool pipe_pending(const struct sync_pipe *p)
{
	for (const struct chain *ch = p->chains; ch; ch = ch->next)
		if (ch->more || ch->busy || ch->page)
			return true;
	return false;
}

/* The next page read, waiting for it with the database let go; NULL after the last. */
static int pipe_next(struct sync_pipe *p, struct sync_page **out)
{
	struct sync_fetch *fx = p->fx;
	struct sync_run *run = p->run;
	bool yielded = false, lingered = false;
	int rc = FL_OK;

	*out = NULL;
	pthread_mutex_lock(&fx->mu);
	for (;;) {
		struct timespec ts;

		if (!p->head)
			chains_prune(p);
		if (p->head || !p->chains || p->fail.rc || !pipe_pending(p))
			break;
		if (sync_stopping(run)) {
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
			break;
		}
		if (!yielded && lingered) {
			/* Others store while this stream waits for the network. */
			pthread_mutex_unlock(&fx->mu);
			sync_yield(run);
			yielded = true;
			pthread_mutex_lock(&fx->mu);
			continue;
		}
		/*
		 * A page due within moments (a fast link) is waited for with the
		 * database kept: one stream's pages stored one after another touch
		 * fewer of SQLite's pages than streams taking turns (a tenth of a
		 * first sync on loopback).  A slow link's wait is let go after it.
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (lingered ? 100 : PIPE_LINGER_MS) * 1000000L;
		lingered = true;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
	}
	if (!rc && p->head) {
		struct sync_page *pg = p->head;

		p->head = pg->next;
		if (!p->head)
			p->tail = NULL;
		pg->next = NULL;
		fx->queued_bytes -= pg->bytes;
		((struct chain *)pg->chain)->queued--;
		*out = pg;
	} else if (!rc && p->fail.rc) {
		rc = error_copy(&run->err, &p->fail);
	}
	pthread_mutex_unlock(&fx->mu);
	curl_multi_wakeup(fx->multi);
	if (yielded && sync_resume(run) && !rc)
		rc = FL_ERR_ABORTED;
	return rc;
}

int sync_pipe_take(struct sync_pipe *p, sync_store_fn fn, void *state, struct api_result *res, bool *more)
{
	struct sync_fetch *fx = p->fx;
	struct sync_page *pg;
	struct chain *ch;
	int rc = pipe_next(p, &pg);

	*more = pg != NULL;
	if (rc || !pg) {
		if (pg) {
			p->abandoned += pg->requests;
			pthread_mutex_lock(&fx->mu);
			page_put(fx, pg);
			pthread_mutex_unlock(&fx->mu);
		}
		return rc;
	}
	memcpy(state, pg->state, p->plan.state_size);
	rc = sync_page_take(p->run, pg, fn, res);
	ch = pg->chain;
	pthread_mutex_lock(&fx->mu);
	if (rc == FL_OK) {
		memcpy(ch->taken, pg->state, p->plan.state_size);
		ch->finished = pg->last;
	}
	page_put(fx, pg);
	pthread_mutex_unlock(&fx->mu);
	return rc;
}

bool sync_pipe_frontier(struct sync_pipe *p, void *state)
{
	bool gap = false;

	pthread_mutex_lock(&p->fx->mu);
	for (struct chain *ch = p->chains; ch; ch = ch->next)
		if (!ch->finished) {
			memcpy(state, ch->taken, p->plan.state_size);
			gap = true;
			break;
		}
	chains_prune(p);
	pthread_mutex_unlock(&p->fx->mu);
	return gap;
}

void sync_pipe_end(struct sync_pipe *p)
{
	struct sync_fetch *fx;
	bool busy = true;

	if (!p)
		return;
	fx = p->fx;
	pthread_mutex_lock(&fx->mu);
	p->cancel = true;
	pthread_mutex_unlock(&fx->mu);
	curl_multi_wakeup(fx->multi);
	pthread_mutex_lock(&fx->mu);
	while (busy) {
		busy = false;
		for (struct chain *ch = p->chains; ch; ch = ch->next)
			busy |= ch->busy;
		if (busy)
			pthread_cond_wait(&fx->cv, &fx->mu);
	}
	for (struct sync_pipe **at = &fx->pipes; *at; at = &(*at)->next)
		if (*at == p) {
			*at = p->next;
			break;
		}
	/* Pages read and never taken: their requests were made all the same. */
	for (struct sync_page *pg = p->head, *next; pg; pg = next) {
		next = pg->next;
		p->abandoned += pg->requests;
		fx->queued_bytes -= pg->bytes;
		page_put(fx, pg);
	}
	for (struct chain *ch = p->chains, *next; ch; ch = next) {
		next = ch->next;
		if (ch->page) {
			p->abandoned += ch->page->requests;
			page_put(fx, ch->page);
		}
		free(ch);
	}
	pthread_mutex_unlock(&fx->mu);
	p->run->sh->requests_total += p->abandoned;
	if (p->run->cur)
		p->run->cur->requests += p->abandoned;
	free(p);
}

/* ---- one request ------------------------------------------------------------ */

struct one_plan {
	const char *query;
};

static bool one_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	(void)state;
	(void)err;
	return prev == NULL;
}

static bool one_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct one_plan *o = state;

	if (buf_puts(q, o->query))
		return true;
	error_set(err, FL_ERR_NOMEM, "out of memory");
	return false;
}

int sync_get(struct sync_run *run, const char *path_query, const char *collection,
	     sync_store_fn fn, struct api_result *res)
{
	struct one_plan plan = { path_query };
	struct sync_plan sp = { one_next, one_query, NULL, &plan, sizeof plan };
	struct sync_pipe *pipe;
	struct one_plan after;
	bool more;
	int rc = sync_pipe_start(run, collection, &sp, &pipe);

	if (res) {
		memset(res, 0, sizeof *res);
		res->env.total_count = res->env.unfiltered_count = -1;
	}
	if (!rc)
		rc = sync_pipe_take(pipe, fn, &after, res, &more);
	if (!rc && !more)
		rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	sync_pipe_end(pipe);
	return rc;
}
