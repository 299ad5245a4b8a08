/*
 * bench_control.c — control-socket figures against a running swingsetd:
 * sequential status round trips per second on one connection, and durable
 * (fsync'd) empty-block commits per second.  Prints `bench: NAME = VALUE
 * UNIT` lines.  Usage: bench_control SOCKET [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tools/ctl_client.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
call_ok(struct ctl_client *c, const char *op, json_t *fields, json_t **res)
{
	json_t	*resp;
	char	 err[256];

	if (ctl_client_call(c, op, fields, 60000, &resp, err, sizeof(err)) !=
	    CTL_CLIENT_OK || !json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "bench_control: %s failed: %s\n", op, err);
		return -1;
	}
	if (res != NULL)
		*res = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl_client	 c;
	json_t			*st;
	char			 err[256];
	long			 rounds = argc > 2 ? atol(argv[2]) : 20000;
	long long		 h;
	double			 t0;

	if (argc < 2 || rounds <= 0) {
		fprintf(stderr, "usage: bench_control SOCKET [ROUNDS]\n");
		return 64;
	}
	if (ctl_client_connect(&c, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_control: %s\n", err);
		return 69;
	}
	t0 = now();
	for (long i = 0; i < rounds; i++)
		if (call_ok(&c, "status", NULL, NULL) == -1)
			return 1;
	printf("bench: control status round trips = %.0f /s\n",
	    (double)rounds / (now() - t0));
	if (call_ok(&c, "status", NULL, &st) == -1)
		return 1;
	h = (long long)json_integer_value(json_object_get(st, "height"));
	json_decref(st);
	t0 = now();
	for (long i = 1; i <= rounds / 20; i++)
		if (call_ok(&c, "commit", json_pack("{s:I}", "height",
		    (json_int_t)(h + i)), NULL) == -1)
			return 1;
	printf("bench: durable empty commits = %.0f /s\n",
	    (double)(rounds / 20) / (now() - t0));
	ctl_client_close(&c);
	return 0;
}
