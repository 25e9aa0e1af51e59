/*
 * test_sync_pipe.c — requests side by side (lib/sync_pipe.c) driven
 * directly against a scripted loopback server: a plan of numbered pages is
 * read as chains, split where requests would sit idle; every page is asked
 * for once and taken once, its items stored; the frontier says how far the
 * pages taken reach without a gap, and stops at a chain whose page failed.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "testutil.h"

#define PAGES 24
#define BODY "{\"status\":\"success\",\"result\":{\"things\":[{\"id\":1},{\"id\":2}]}}"

/* Pages page..end-1, one request each. */
struct numbered {
	int page, end;
};

static bool numbered_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	struct numbered *n = state;

	(void)err;
	if (prev)
		n->page++;
	return n->page < n->end;
}

static bool numbered_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct numbered *n = state;

	(void)err;
	return buf_printf(q, "/api/things/?page=%d", n->page);
}

/* The last 1/parts of the pages after the one asked for next. */
static bool numbered_split(void *state, void *right, int parts)
{
	struct numbered *n = state, *r = right;
	int left = n->end - n->page - 1, give = left / parts;

	if (give < 1)
		return false;
	r->end = n->end;
	r->page = n->end = n->end - give;
	return true;
}

static struct tu_server *srv;
static char *dir;
static struct fl_db *db;
static struct http_client *http;
static struct ratelimit *rl;
static struct sync_options opt;
static struct sync_shared sh;
static struct sync_run run;
static int rows;
static bool taken[PAGES];

static int count_item(struct sync_run *r, const struct json_item *it)
{
	(void)r;
	(void)it;
	rows++;
	return FL_OK;
}

static void setup(void)
{
	struct http_config cfg = { 0 };
	struct fl_error err = { 0 };
	struct tu_reply reply = { .status = 200, .body = BODY, .delay_ms = 5 };

	char *path;

	dir = tu_tmpdir();
	path = tu_path(dir, "pipe.db");
	ck_assert_int_eq(fl_db_open(path, FL_OPEN_CREATE, &db), FL_OK);
	free(path);
	srv = tu_server_start();
	tu_server_reply(srv, &reply);
	cfg.base_url = tu_server_url(srv);
	cfg.token = "t";
	cfg.timeout_ms = 5000;
	cfg.max_body = 1 << 20;
	ck_assert_int_eq(http_client_new(&cfg, &http, &err), FL_OK);
	ck_assert_int_eq(ratelimit_new(1000.0, &rl, &err), FL_OK);
	sync_options_default(&opt);
	opt.max_in_flight = 4;
	opt.max_attempts = 1;
	memset(&sh, 0, sizeof sh);
	pthread_mutex_init(&sh.writer, NULL);
	memset(&run, 0, sizeof run);
	run.db = db;
	run.http = http;
	run.rl = rl;
	run.opt = &opt;
	run.sh = &sh;
	rows = 0;
	memset(taken, 0, sizeof taken);
	ck_assert_int_eq(sync_fetch_start(&run), FL_OK);
	pthread_mutex_lock(&sh.writer); /* the stream holds the writer, as in a pass */
}

static void teardown(void)
{
	sync_tx_rollback(&run); /* the pages' batch: never committed here */
	pthread_mutex_unlock(&sh.writer);
	sync_fetch_stop(&run);
	pthread_mutex_destroy(&sh.writer);
	ratelimit_free(rl);
	http_client_free(http);
	tu_server_stop(srv);
	fl_db_close(db);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(every_page_once)
{
	struct numbered plan = { 0, PAGES }, after, front;
	struct sync_plan sp = { numbered_next, numbered_query, numbered_split, &plan, sizeof plan };
	struct sync_pipe *pipe;
	bool more = true;
	int pages = 0;

	ck_assert_int_eq(sync_pipe_start(&run, "things", &sp, &pipe), FL_OK);
	while (more) {
		ck_assert_int_eq(sync_pipe_take(pipe, count_item, &after, NULL, &more), FL_OK);
		if (!more)
			break;
		/* after is the chain's state past the page taken: that page is after.page - 1. */
		ck_assert_int_ge(after.page, 1);
		ck_assert_int_le(after.page, PAGES);
		ck_assert_msg(!taken[after.page - 1], "page %d taken twice", after.page - 1);
		taken[after.page - 1] = true;
		pages++;
		/* What is taken so far reaches without a gap to a state no further than the pages taken. */
		if (sync_pipe_frontier(pipe, &front))
			for (int i = 0; i < front.page; i++)
				ck_assert_msg(taken[i], "the frontier %d passes page %d, not taken", front.page, i);
	}
	ck_assert(!sync_pipe_frontier(pipe, &front));
	sync_pipe_end(pipe);
	ck_assert_int_eq(pages, PAGES);
	ck_assert_int_eq(rows, 2 * PAGES);
	ck_assert_uint_eq(tu_server_requests(srv), PAGES);
	ck_assert_int_eq(sh.requests_total, PAGES);
}
END_TEST

START_TEST(one_at_a_time_in_order)
{
	struct numbered plan = { 0, 6 }, after;
	struct sync_plan sp = { numbered_next, numbered_query, numbered_split, &plan, sizeof plan };
	struct sync_pipe *pipe;
	bool more = true;
	int expect = 1;

	/* One request at a time: the fetcher made again for it. */
	sync_fetch_stop(&run);
	opt.max_in_flight = 1;
	ck_assert_int_eq(sync_fetch_start(&run), FL_OK);
	ck_assert_int_eq(sync_pipe_start(&run, "things", &sp, &pipe), FL_OK);
	while (!sync_pipe_take(pipe, count_item, &after, NULL, &more) && more)
		ck_assert_int_eq(after.page, expect++);
	sync_pipe_end(pipe);
	ck_assert_int_eq(expect, 7);
	ck_assert_str_eq(tu_server_last(srv).url, "/api/things/?page=5");
}
END_TEST

START_TEST(frontier_stops_at_a_failed_page)
{
	struct numbered plan = { 0, 8 }, after, front;
	struct sync_plan sp = { numbered_next, numbered_query, numbered_split, &plan, sizeof plan };
	struct tu_reply gone = { .status = 404, .body = "{\"status\":\"error\",\"message\":\"gone\"}" };
	struct sync_pipe *pipe;
	bool more = true;
	int rc;

	tu_server_reply(srv, &gone);
	ck_assert_int_eq(sync_pipe_start(&run, "things", &sp, &pipe), FL_OK);
	rc = sync_pipe_take(pipe, count_item, &after, NULL, &more);
	ck_assert_int_eq(rc, FL_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(run.err.msg, "/api/things/?page="));
	/* Nothing was stored, and the frontier claims no page. */
	ck_assert_int_eq(rows, 0);
	ck_assert(sync_pipe_frontier(pipe, &front));
	ck_assert_int_eq(front.page, 0);
	sync_pipe_end(pipe);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_pipe");
	TCase *tc = tcase_create("chains");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_page_once);
	tcase_add_test(tc, one_at_a_time_in_order);
	tcase_add_test(tc, frontier_stops_at_a_failed_page);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
