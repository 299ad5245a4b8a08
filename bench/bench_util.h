/*
 * bench_util.h — what the bench programs share: a monotonic clock and a
 * control request that must succeed (else the program exits 1, naming
 * itself, the op and the daemon's answer).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

#include <jansson.h>

#include "tools/ctl_client.h"

int64_t	 bench_now_ns(void);

/* op with fields (stolen); the result object (new reference). */
json_t	*bench_call(const char *prog, struct ctl_client *c, const char *op,
	    json_t *fields);

#endif
