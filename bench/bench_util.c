/*
 * bench_util.c — see bench_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench_util.h"

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

json_t *
bench_call(const char *prog, struct ctl_client *c, const char *op,
    json_t *fields)
{
	json_t	*resp, *res;
	char	 err[256];

	if (ctl_client_call(c, op, fields, 600000, &resp, err, sizeof(err)) !=
	    CTL_CLIENT_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, op, err);
		exit(1);
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		char *s = json_dumps(resp, JSON_COMPACT);

		fprintf(stderr, "%s: %s failed: %s\n", prog, op, s ? s : "?");
		exit(1);
	}
	res = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return res;
}
