/*
 * bench_create.c — committed dynamic vat creations per second through a
 * running swingsetd whose configuration has a `bootstrap` vat (testworker
 * behaviour `bootstrap` with option `parallel: true`), a `vatAdmin` vat
 * (behaviour `vatAdmin`) and a named bundle `kid` (any testworker
 * behaviour; bench/run.sh uses `counter` with `startWrites`).
 *
 * Usage: bench_create SOCKET N BLOCK_CRANKS
 *
 * Warm-up, not timed: `bootstrap.run([{createVat:"@kid", name:"warm"}])`,
 * run and commit until idle.  That delivers `bootstrap()`, starts the
 * static vats' workers, makes the vatAdminService and creates one vat, so
 * the timed part holds only creations.
 *
 * Timed: from the `queue` of `bootstrap.run([{createVat:"@kid",
 * name:"k0"}, … "k<N-1>"])` (all N requests at once: the vat is
 * `parallel`) to the `commit` answer after the `run` that answers idle,
 * driving blocks as a producer does (`run` with a budget of BLOCK_CRANKS
 * cranks, `commit` the next height).  Each creation is one pseudo-crank
 * (spawn the worker, wait for its ready handshake, startVat, root export
 * and newVatCallback, commit) plus the ordinary cranks around it
 * (createVat to the vatAdmin vat, its callNow to the device, the
 * newVatCallback delivery, the notify back to bootstrap).
 *
 * Afterwards it checks that the run's result promise is fulfilled, that
 * the status counter `daemon.creation.created` grew by N, that the
 * creation queue is empty, the kernel not halted, and that each of the N
 * vats `status` lists now and did not before the timed part is not
 * terminated and has a live worker (its pid in /proc); any failure is an error
 * (exit 1), not a figure.
 *
 * The pseudo-crank split comes from the differences of the status
 * counters `daemon.creation.{bootWaitUs,startVatUs,commitUs}` across the
 * timed part, divided by N.
 *
 * Prints `bench: NAME = VALUE UNIT` lines.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "tools/ctl_client.h"

/* A control request that must succeed. */
static json_t *
call(struct ctl_client *c, const char *op, json_t *fields)
{
	return bench_call("bench_create", c, op, fields);
}

/* The status counters of the pseudo-cranks (daemon.creation). */
struct creation {
	int64_t	created, boot_wait_us, start_vat_us, commit_us;
};

static int64_t
field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v)) {
		fprintf(stderr, "bench_create: status has no integer "
		    "daemon.creation.%s\n", key);
		exit(1);
	}
	return (int64_t)json_integer_value(v);
}

/* status; *height, *cr from it.  The caller owns the result. */
static json_t *
status(struct ctl_client *c, int64_t *height, struct creation *cr)
{
	json_t	*st = call(c, "status", NULL);
	json_t	*cs = json_object_get(json_object_get(st, "daemon"),
	    "creation");

	*height = (int64_t)json_integer_value(json_object_get(st, "height"));
	cr->created = field(cs, "created");
	cr->boot_wait_us = field(cs, "bootWaitUs");
	cr->start_vat_us = field(cs, "startVatUs");
	cr->commit_us = field(cs, "commitUs");
	return st;
}

/*
 * Queue bootstrap.run(script) (script: the JSON text of an array of
 * steps), then run with a budget of block cranks and commit, until a run
 * answers idle.  Returns the result promise's kpid (caller frees);
 * *blocks counts the commits.
 */
static char *
queue_and_drive(struct ctl_client *c, const char *script, long block,
    int64_t *height, int64_t *blocks)
{
	json_t	*args, *res, *body;
	char	*kpid;
	bool	 idle = false;

	/* capdata body: "#" + [script], the script is plain JSON data whose
	 * strings start with no special character but "@" (left as is: the
	 * bootstrap behaviour reads "@kid" itself). */
	if ((body = json_sprintf("#[%s]", script)) == NULL) {
		fprintf(stderr, "bench_create: out of memory\n");
		exit(1);
	}
	args = json_pack("{s:o, s:[]}", "body", body, "slots");
	res = call(c, "queue", json_pack("{s:s, s:s, s:o}", "vat",
	    "bootstrap", "method", "run", "args", args));
	kpid = strdup(json_string_value(json_object_get(res, "kpid")));
	json_decref(res);
	while (!idle) {
		const char *halted;

		res = call(c, "run", json_pack("{s:{s:I}}", "budget", "cranks",
		    (json_int_t)block));
		idle = json_is_true(json_object_get(res, "idle"));
		halted = json_string_value(json_object_get(res, "halted"));
		if (halted != NULL) {
			fprintf(stderr, "bench_create: kernel halted: %s\n",
			    halted);
			exit(1);
		}
		json_decref(res);
		json_decref(call(c, "commit", json_pack("{s:I}", "height",
		    (json_int_t)++*height)));
		++*blocks;
	}
	return kpid;
}

/* The promise kpid must be fulfilled with an array of n results. */
static void
check_fulfilled(struct ctl_client *c, const char *kpid, long n)
{
	json_t		*res = call(c, "promise", json_pack("{s:s}", "kpid",
	    kpid));
	const char	*state = json_string_value(json_object_get(res, "state"));
	json_t		*data = json_object_get(res, "data");
	json_t		*value = NULL;
	const char	*body;

	body = json_string_value(json_object_get(data, "body"));
	if (body != NULL && body[0] == '#')
		value = json_loads(body + 1, 0, NULL);
	if (state == NULL || strcmp(state, "fulfilled") != 0 ||
	    !json_is_array(value) || (long)json_array_size(value) != n) {
		char *s = json_dumps(res, JSON_COMPACT);

		fprintf(stderr, "bench_create: run's result %s is not %ld "
		    "created vats: %.2000s\n", kpid, n, s ? s : "?");
		exit(1);
	}
	json_decref(value);
	json_decref(res);
}

int
main(int argc, char **argv)
{
	struct ctl_client	 c;
	struct creation		 c0, c1;
	json_t			*st, *v, *before;
	char			 err[256], *script, *kpid;
	long			 n = argc > 2 ? atol(argv[2]) : 500;
	long			 block = argc > 3 ? atol(argv[3]) : 200;
	int64_t			 height, t0, t1, blocks = 0, warm_blocks = 0;
	int64_t			 created, alive = 0;
	double			 boot, start, after, total, wall;
	size_t			 i, len, cap;

	if (argc < 2 || n <= 0 || block <= 0) {
		fprintf(stderr, "usage: bench_create SOCKET [N [BLOCK_CRANKS]]"
		    "\n");
		return 64;
	}
	if (ctl_client_connect(&c, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_create: %s\n", err);
		return 69;
	}

	/* ---- warm-up: boot, the vatAdminService, one vat ---- */
	json_decref(status(&c, &height, &c0));
	kpid = queue_and_drive(&c,
	    "[{\"createVat\":\"@kid\",\"name\":\"warm\"}]", block, &height,
	    &warm_blocks);
	check_fulfilled(&c, kpid, 1);
	free(kpid);

	/* ---- the script: N createVat steps ---- */
	cap = (size_t)n * 48 + 16;
	if ((script = malloc(cap)) == NULL) {
		fprintf(stderr, "bench_create: out of memory\n");
		return 1;
	}
	len = (size_t)snprintf(script, cap, "[");
	for (long k = 0; k < n; k++)
		len += (size_t)snprintf(script + len, cap - len,
		    "%s{\"createVat\":\"@kid\",\"name\":\"k%ld\"}",
		    k > 0 ? "," : "", k);
	snprintf(script + len, cap - len, "]");

	/* ---- timed: queue, run/commit blocks until idle ---- */
	st = status(&c, &height, &c0);
	before = json_object();
	json_array_foreach(json_object_get(st, "vats"), i, v)
		json_object_set_new(before, json_string_value(json_object_get(v,
		    "vatID")), json_true());
	json_decref(st);
	t0 = bench_now_ns();
	kpid = queue_and_drive(&c, script, block, &height, &blocks);
	t1 = bench_now_ns();
	free(script);

	/* ---- checks ---- */
	check_fulfilled(&c, kpid, n);
	free(kpid);
	st = status(&c, &height, &c1);
	created = c1.created - c0.created;
	if (created != n) {
		fprintf(stderr, "bench_create: daemon.creation.created grew by "
		    "%" PRId64 ", not %ld\n", created, n);
		return 1;
	}
	if (json_integer_value(json_object_get(st, "creationQueueLength"))
	    != 0 || !json_is_null(json_object_get(st, "halted"))) {
		char *s = json_dumps(st, JSON_COMPACT);

		fprintf(stderr, "bench_create: after the run: %.2000s\n",
		    s ? s : "?");
		return 1;
	}
	json_array_foreach(json_object_get(st, "vats"), i, v) {
		const char	*id = json_string_value(json_object_get(v,
		    "vatID"));
		const char	*state = json_string_value(json_object_get(v,
		    "state"));
		json_t		*pid = json_object_get(v, "pid");
		char		 proc[64];

		if (id == NULL || json_object_get(before, id) != NULL)
			continue;
		snprintf(proc, sizeof(proc), "/proc/%" JSON_INTEGER_FORMAT,
		    json_integer_value(pid));
		if (json_is_integer(pid) && state != NULL &&
		    strcmp(state, "terminated") != 0 &&
		    access(proc, F_OK) == 0)
			alive++;
	}
	json_decref(st);
	json_decref(before);
	if (alive != n) {
		fprintf(stderr, "bench_create: %" PRId64 " of the %ld created "
		    "vats have a live worker\n", alive, n);
		return 1;
	}

	wall = (double)(t1 - t0) / 1e9;
	boot = (double)(c1.boot_wait_us - c0.boot_wait_us) / (double)n;
	start = (double)(c1.start_vat_us - c0.start_vat_us) / (double)n;
	after = (double)(c1.commit_us - c0.commit_us) / (double)n;
	total = boot + start + after;
	printf("bench: vats created with testworker = %.0f /s (%ld vats in %"
	    PRId64 " blocks, %.2f s)\n", (double)n / wall, n, blocks, wall);
	printf("bench: pseudo-crank us per vat = %.0f us (of %.0f us wall per "
	    "created vat)\n", total, wall * 1e6 / (double)n);
	printf("bench: pseudo-crank boot wait (spawn to ready) = %.0f us\n",
	    boot);
	printf("bench: pseudo-crank startVat = %.0f us\n", start);
	printf("bench: pseudo-crank kernel work after startVat = %.0f us\n",
	    after);
	printf("bench: pseudo-crank boot wait share = %.0f %%\n",
	    total > 0 ? 100 * boot / total : 0);
	ctl_client_close(&c);
	return 0;
}
