/*
 * mockcheck.c — the main() of every flmock suite: run one Check suite with
 * libcurl initialised around it (kept out of mockutil.c, which the benches
 * links without Check).
 */
#include <check.h>

#include "mockutil.h"

int mock_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
