/*
 * mockcheck.c — what the flmock suites need of Check: their main() (one
 * Check suite run with libcurl initialised around it), and flmock started or
 * the test failed.  Kept out of mockutil.c, which the benches link without
 * Check.
 */
#include "../check_main.h"
#include "mockutil.h"

int mock_run_suite(Suite *s)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = check_run(s);
	curl_global_cleanup();
	return rc;
}

void mock_must_start(struct mock *m, const char *const *args)
{
	ck_assert_msg(mock_start(m, args), "flmock did not start (%s)", mock_binary());
}

