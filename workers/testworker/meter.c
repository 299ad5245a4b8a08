/*
 * meter.c — the worker's meter: a deterministic stand-in for the XS
 * computron counter (worker-protocol.md §5).
 *
 * Each `e` / `?` command starts at 1000 units; every upcall adds 10 and
 * behaviours add their own work.  Nothing depends on time, so the same
 * delivery always reports the same `compute`.  With `-l N` (N > 0) the
 * process exits 17 (E_TOO_MUCH_COMPUTATION) the moment a command passes
 * N, writing nothing, as xsnap does.  The other meter fields are derived
 * from the number of live vat objects, also deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workers/testworker/testworker.h"

#define METER_BASE	1000

static uint64_t	meter_limit;	/* 0: unlimited */
static uint64_t	meter_compute;	/* units spent by the current command */

void
meter_set_limit(uint64_t limit)
{
	meter_limit = limit;
}

void
meter_begin(void)
{
	meter_compute = 0;
	meter_add(METER_BASE);
}

void
meter_add(uint64_t units)
{
	if (meter_compute > UINT64_MAX - units)
		meter_compute = UINT64_MAX;
	else
		meter_compute += units;
	if (meter_limit > 0 && meter_compute > meter_limit)
		_exit(TW_EXIT_COMPUTE);
}

/* The meter JSON of a `.` reply, malloc'd; NULL when out of memory. */
char *
meter_render(size_t live)
{
	char	*s;

	if (asprintf(&s, "{\"currentHeapCount\":%zu,\"compute\":%llu,"
	    "\"allocate\":%zu,\"timestamps\":[]}", 4096 + 8 * live,
	    (unsigned long long)meter_compute,
	    (size_t)16 * 1024 * 1024 + 256 * live) == -1)
		return NULL;
	return s;
}
