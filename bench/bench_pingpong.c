/*
 * bench_pingpong.c — committed cranks per second for ping-pong through a
 * running swingsetd whose configuration has a `bootstrap` vat (testworker
 * behaviour `bootstrap`) and two `pingpong` vats `carol` and `dave`.
 *
 * Usage: bench_pingpong SOCKET N BLOCK_CRANKS [LABEL]
 *
 * It queues `bootstrap.run([{send:"carol", method:"start",
 * args:["@dave", N]}])` (so no kref has to be known), then drives blocks
 * as a block producer would: `run` with a budget of BLOCK_CRANKS cranks,
 * `commit` the next height, until a run answers idle.  Wall time is taken
 * from the first `run` request to the last `commit` answer.
 *
 * Around that interval it reads the on-CPU time (ns, from
 * /proc/PID/task/{*}/schedstat) of the daemon and of every vat worker
 * (pids from `status`), so the caller can tell the daemon's own CPU time
 * from the time it spends waiting for its workers and for fsync.
 *
 * Prints `bench: NAME = VALUE UNIT` lines for humans, then one line
 * `pingpong-raw: cranks=C wall_ns=W daemon_cpu_ns=D workers_cpu_ns=K
 * commit_ns=M blocks=B daemon_pid=P` for bench/run.sh to compute with.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "tools/ctl_client.h"

/* Sum of the first schedstat field (ns on a CPU) over pid's threads. */
static int64_t
cpu_ns(long pid)
{
	char		 path[64];
	DIR		*dir;
	struct dirent	*de;
	int64_t		 sum = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		char		 p[352];
		FILE		*f;
		long long	 v;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/schedstat", path, de->d_name);
		if ((f = fopen(p, "r")) == NULL)
			continue;
		if (fscanf(f, "%lld", &v) == 1)
			sum += v;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

/* A control request that must succeed. */
static json_t *
call(struct ctl_client *c, const char *op, json_t *fields)
{
	return bench_call("bench_pingpong", c, op, fields);
}

struct pids {
	int64_t	routing_cranks, routing_us;	/* status daemon.routing */
	long	daemon;
	long	workers[64];
	int64_t	cpu[64];		/* their CPU ns when listed */
	size_t	nworkers;
};

static void
get_pids(struct ctl_client *c, struct pids *p, int64_t *height)
{
	json_t	*st = call(c, "status", NULL), *vats, *v;
	json_t	*routing = json_object_get(json_object_get(st, "daemon"),
		    "routing");
	size_t	 i;

	p->routing_cranks = json_integer_value(json_object_get(routing,
	    "cranks"));
	p->routing_us = json_integer_value(json_object_get(routing, "us"));
	p->daemon = (long)json_integer_value(json_object_get(
	    json_object_get(st, "daemon"), "pid"));
	p->nworkers = 0;
	vats = json_object_get(st, "vats");
	json_array_foreach(vats, i, v) {
		json_t *pid = json_object_get(v, "pid");

		if (json_is_integer(pid) && p->nworkers < 64) {
			p->workers[p->nworkers] = (long)json_integer_value(pid);
			p->cpu[p->nworkers] = cpu_ns(p->workers[p->nworkers]);
			p->nworkers++;
		}
	}
	*height = json_integer_value(json_object_get(st, "height"));
	json_decref(st);
}

int
main(int argc, char **argv)
{
	struct ctl_client	 c;
	struct pids		 pids, after;
	json_t			*res, *args;
	char			 err[256], body[256];
	long			 n = argc > 2 ? atol(argv[2]) : 50000;
	long			 block = argc > 3 ? atol(argv[3]) : 1000;
	const char		*label = argc > 4 ? argv[4] : "pingpong";
	int64_t			 height, t0, t1, d0, d1, w1, commit_ns = 0;
	int64_t			 cranks = 0, blocks = 0;
	bool			 idle = false;

	if (argc < 2 || n <= 0 || block <= 0) {
		fprintf(stderr, "usage: bench_pingpong SOCKET [N [BLOCK_CRANKS "
		    "[LABEL]]]\n");
		return 64;
	}
	if (ctl_client_connect(&c, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_pingpong: %s\n", err);
		return 69;
	}
	snprintf(body, sizeof(body), "#[[{\"args\":[\"@dave\",%ld],\"method\":"
	    "\"start\",\"send\":\"carol\"}]]", n);
	args = json_pack("{s:s, s:[]}", "body", body, "slots");
	json_decref(call(&c, "queue", json_pack("{s:s, s:s, s:o}", "vat",
	    "bootstrap", "method", "run", "args", args)));
	get_pids(&c, &pids, &height);

	t0 = bench_now_ns();
	d0 = cpu_ns(pids.daemon);
	while (!idle) {
		int64_t tc;

		res = call(&c, "run", json_pack("{s:{s:I}}", "budget", "cranks",
		    (json_int_t)block));
		cranks += json_integer_value(json_object_get(res, "cranks"));
		idle = json_is_true(json_object_get(res, "idle"));
		if (json_string_value(json_object_get(res, "halted")) != NULL) {
			fprintf(stderr, "bench_pingpong: kernel halted: %s\n",
			    json_string_value(json_object_get(res, "halted")));
			return 1;
		}
		json_decref(res);
		tc = bench_now_ns();
		json_decref(call(&c, "commit", json_pack("{s:I}", "height",
		    (json_int_t)++height)));
		commit_ns += bench_now_ns() - tc;
		blocks++;
	}
	t1 = bench_now_ns();
	d1 = cpu_ns(pids.daemon);
	/*
	 * Workers start lazily and a rebuilt one has a new pid: read them
	 * again, and take the sum of their CPU times after the run minus the
	 * sum before (0 for workers that did not exist yet).
	 */
	get_pids(&c, &after, &height);
	w1 = 0;
	for (size_t j = 0; j < after.nworkers; j++) {
		int64_t before = 0;

		for (size_t i = 0; i < pids.nworkers; i++)
			if (pids.workers[i] == after.workers[j])
				before = pids.cpu[i];
		w1 += cpu_ns(after.workers[j]) - before;
	}

	if (cranks < n) {
		fprintf(stderr, "bench_pingpong: only %" PRId64 " cranks for "
		    "%ld pings\n", cranks, n);
		return 1;
	}
	printf("bench: %s committed cranks = %.0f /s (%" PRId64 " cranks in %"
	    PRId64 " blocks of %ld, %.2f s)\n", label,
	    (double)cranks * 1e9 / (double)(t1 - t0), cranks, blocks, block,
	    (double)(t1 - t0) / 1e9);
	/* routing cranks (kernel-only: the acceptance queue to the
	 * run-queue) are half the cranks here: the deliveries alone too */
	if (after.routing_cranks > pids.routing_cranks) {
		int64_t rc = after.routing_cranks - pids.routing_cranks;

		printf("bench: %s deliveries = %.0f /s (%" PRId64 " delivery "
		    "cranks)\n", label, (double)(cranks - rc) * 1e9 /
		    (double)(t1 - t0), cranks - rc);
		printf("bench: routing crank us = %.1f us (%s, mean of %"
		    PRId64 " routing cranks, start to commit)\n",
		    (double)(after.routing_us - pids.routing_us) / (double)rc,
		    label, rc);
	}
	printf("pingpong-raw: cranks=%" PRId64 " wall_ns=%" PRId64
	    " daemon_cpu_ns=%" PRId64 " workers_cpu_ns=%" PRId64
	    " commit_ns=%" PRId64 " blocks=%" PRId64 " daemon_pid=%ld\n",
	    cranks, t1 - t0, d1 - d0, w1, commit_ns, blocks, pids.daemon);
	ctl_client_close(&c);
	return 0;
}
