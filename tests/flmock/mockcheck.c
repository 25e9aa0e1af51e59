/*
 * mockcheck.c — the main() of every flmock suite: run one Check suite with
 * libcurl initialised around it (kept out of mockutil.c, which the benches
 * link without Check).
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
