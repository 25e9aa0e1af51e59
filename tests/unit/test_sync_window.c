/*
 * test_sync_window.c — the time-window planner (lib/sync_window.c) driven
 * directly, page by page, without a network: keyset paging while items
 * come in time order, plain offsets once they do not, the short page that
 * ends a window, the split of what is left into a half-open sub-window, and
 * how far a window's cursor may go.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "testutil.h"

struct state {
	union {
		max_align_t align;
		unsigned char b[SYNC_PLAN_STATE_MAX];
	} u;
};

static bool item_time(const struct json_item *it, int64_t *out)
{
	return json_int(it, "t", out);
}

static const struct sync_window_spec spec = {
	.stream = "things", .base_query = "/api/things/?owners[]=7", .collection = "things",
	.from_param = "from_time", .to_param = "to_time", .time = item_time,
};

static struct sync_options opt;
static struct sync_shared sh;
static struct sync_run run;

/* -v lines are kept in the page only while someone logs them. */
static void quiet(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static void setup(void)
{
	sync_options_default(&opt);
	opt.page_limit = 3;
	opt.log = quiet;
	memset(&sh, 0, sizeof sh);
	memset(&run, 0, sizeof run);
	run.opt = &opt;
	run.sh = &sh;
}

/* A page of n items whose times are ts (their "t" fields). */
struct fake_page {
	struct sync_page pg;
	struct json_item items[8];
	struct json_field fields[8];
	char text[8][24];
};

static struct sync_page *page_of(struct fake_page *f, const int64_t *ts, size_t n)
{
	memset(f, 0, sizeof *f);
	buf_init(&f->pg.notes, 4096);
	for (size_t i = 0; i < n; i++) {
		snprintf(f->text[i], sizeof f->text[i], "%lld", (long long)ts[i]);
		f->fields[i] = (struct json_field){ "t", f->text[i], strlen(f->text[i]), JSON_NUMBER };
		f->items[i] = (struct json_item){ .raw = "{}", .raw_len = 2, .index = i, .fields = &f->fields[i],
						  .nfields = 1 };
	}
	f->pg.items = f->items;
	f->pg.nitems = n;
	f->pg.res.env.items = n;
	return &f->pg;
}

static void page_done(struct fake_page *f)
{
	buf_free(&f->pg.notes);
}

/* Plan [from, to) into sp (state in st) and start it: a first page is due. */
static void begin(struct sync_plan *sp, struct state *st, int64_t from, int64_t to)
{
	struct fl_error err = { 0 };

	sync_window_plan(&run, &spec, from, to, sp, st->u.b);
	ck_assert(sp->next(sp->state, NULL, &err));
}

/* Move the plan past a page of items timed ts: whether a page follows. */
static bool feed(const struct sync_plan *sp, const int64_t *ts, size_t n)
{
	struct fake_page f;
	struct fl_error err = { 0 };
	bool more = sp->next(sp->state, page_of(&f, ts, n), &err);

	page_done(&f);
	ck_assert_int_eq(err.rc, FL_OK);
	return more;
}

/* The query the plan asks next. */
static char *query(const struct sync_plan *sp, const void *state)
{
	static char out[512];
	struct buf q;
	struct fl_error err = { 0 };

	buf_init(&q, 4096);
	ck_assert(sp->query(state, &q, &err));
	snprintf(out, sizeof out, "%s", q.data);
	buf_free(&q);
	return out;
}

START_TEST(keyset_while_in_order)
{
	struct state st;
	struct sync_plan sp;

	begin(&sp, &st, 100, 200);
	ck_assert_str_eq(query(&sp, sp.state), "/api/things/?owners[]=7&from_time=100&to_time=200&limit=3&offset=0");
	/* A full page ending with two items at 101: the next asks from 101, past the two seen there. */
	ck_assert(feed(&sp, (const int64_t[]){ 100, 101, 101 }, 3));
	ck_assert_str_eq(query(&sp, sp.state), "/api/things/?owners[]=7&from_time=101&to_time=200&limit=3&offset=2");
	ck_assert_int_eq(sync_window_covered(sp.state, 100), 101);
	/* A short page ends the window. */
	ck_assert(!feed(&sp, (const int64_t[]){ 150 }, 1));
}
END_TEST

START_TEST(offsets_once_out_of_order)
{
	struct state st;
	struct sync_plan sp;

	begin(&sp, &st, 100, 200);
	/* Out of time order: the window is read again from its start by offset. */
	ck_assert(feed(&sp, (const int64_t[]){ 120, 110, 130 }, 3));
	ck_assert_str_eq(query(&sp, sp.state), "/api/things/?owners[]=7&from_time=100&to_time=200&limit=3&offset=0");
	ck_assert(feed(&sp, (const int64_t[]){ 120, 110, 130 }, 3));
	ck_assert_str_eq(query(&sp, sp.state), "/api/things/?owners[]=7&from_time=100&to_time=200&limit=3&offset=3");
	/* The cursor waits for the window's end: nothing past its start is claimed. */
	ck_assert_int_eq(sync_window_covered(sp.state, 100), 100);
	/* A window that is not split further. */
	{
		struct state right;

		ck_assert(!sp.split(sp.state, right.u.b, 4));
	}
}
END_TEST

START_TEST(items_outside_the_window_break_the_order)
{
	struct state st;
	struct sync_plan sp;
	struct fake_page f;
	struct fl_error err = { 0 };

	begin(&sp, &st, 100, 200);
	/* 200 is the exclusive end: not of this window. */
	ck_assert(sp.next(sp.state, page_of(&f, (const int64_t[]){ 100, 150, 200 }, 3), &err));
	ck_assert_ptr_nonnull(f.pg.notes.data);
	ck_assert_ptr_nonnull(strstr(f.pg.notes.data, "outside the window [100, 200)"));
	page_done(&f);
	ck_assert_str_eq(query(&sp, sp.state), "/api/things/?owners[]=7&from_time=100&to_time=200&limit=3&offset=0");
}
END_TEST

START_TEST(split_is_half_open)
{
	struct state st, right;
	struct sync_plan sp;
	char left_q[512];

	begin(&sp, &st, 0, 10000);
	/* Nothing read yet: nothing shows how dense the window is. */
	ck_assert(!sp.split(sp.state, right.u.b, 2));
	/* A full page over 10 s: about a thousand pages left, plenty for two parts. */
	ck_assert(feed(&sp, (const int64_t[]){ 0, 5, 10 }, 3));
	ck_assert(sp.split(sp.state, right.u.b, 2));
	snprintf(left_q, sizeof left_q, "%s", query(&sp, sp.state));
	/* The left keeps [10, 5005), the right reads [5005, 10000) from its start. */
	ck_assert_str_eq(left_q, "/api/things/?owners[]=7&from_time=10&to_time=5005&limit=3&offset=1");
	ck_assert_str_eq(query(&sp, right.u.b), "/api/things/?owners[]=7&from_time=5005&to_time=10000&limit=3&offset=0");
	ck_assert_int_eq(sync_window_covered(right.u.b, 0), 5005);
}
END_TEST

START_TEST(empty_window_reads_nothing)
{
	struct state st;
	struct sync_plan sp;
	struct fl_error err = { 0 };

	sync_window_plan(&run, &spec, 200, 200, &sp, st.u.b);
	ck_assert(!sp.next(sp.state, NULL, &err));
	ck_assert_int_eq(err.rc, FL_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_window");
	TCase *tc = tcase_create("planner");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, keyset_while_in_order);
	tcase_add_test(tc, offsets_once_out_of_order);
	tcase_add_test(tc, items_outside_the_window_break_the_order);
	tcase_add_test(tc, split_is_half_open);
	tcase_add_test(tc, empty_window_reads_nothing);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
