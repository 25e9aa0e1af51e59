/*
 * check_main.h — how a Check suite in tests/ is put together and run, so
 * each suite file lists its test cases as data and ends with one call:
 *
 *	int main(void)
 *	{
 *		const TTest *tests[] = { first, second, NULL };
 *		const struct check_case cases[] = { { "name", tests, .setup = setup, .teardown = teardown } };
 *
 *		return check_run(check_suite("suite", cases, 1));
 *	}
 *
 * Header only (static inline), so a suite needs no other file for it.
 */
#ifndef FL_TESTS_CHECK_MAIN_H
#define FL_TESTS_CHECK_MAIN_H

#include <stddef.h>
#include <stdlib.h>

#include <check.h>

/* One TCase: its tests, its fixtures and its timeout. */
struct check_case {
	const char *name;          /* the TCase's name (CK_RUN_CASE picks cases by it) */
	const TTest *const *tests; /* ended by NULL */
	SFun setup, teardown;      /* around each test, in its process (checked); NULL: none */
	SFun start, stop;          /* once around the whole case (unchecked); NULL: none */
	double timeout;            /* seconds per test; 0: Check's default */
	const TTest *loop;         /* a loop test, run for _i in [0, loop_end), or NULL */
	int loop_end;
};

/* A suite of these cases (n of them). */
static inline Suite *check_suite(const char *name, const struct check_case *cases, size_t n)
{
	Suite *s = suite_create(name);

	for (size_t i = 0; i < n; i++) {
		const struct check_case *c = &cases[i];
		TCase *tc = tcase_create(c->name);

		if (c->setup || c->teardown)
			tcase_add_checked_fixture(tc, c->setup, c->teardown);
		if (c->start || c->stop)
			tcase_add_unchecked_fixture(tc, c->start, c->stop);
		if (c->timeout > 0)
			tcase_set_timeout(tc, c->timeout);
		if (c->loop)
			tcase_add_loop_test(tc, c->loop, 0, c->loop_end);
		for (const TTest *const *t = c->tests; t && *t; t++)
			tcase_add_test(tc, *t);
		suite_add_tcase(s, tc);
	}
	return s;
}

/* Run the suite and free it; EXIT_SUCCESS when every test passed, for main to return. */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
