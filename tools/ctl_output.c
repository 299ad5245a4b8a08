/*
 * ctl_output.c — the text and JSON printers behind struct ctl_output.
 * Text output is for people; JSON output is the daemon's result object
 * unchanged, for scripts.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ctl_output.h"

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static long long
int_or(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *
nz_str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "?";
}

static void
text_vat(FILE *f, json_t *vat)
{
	json_t *pid = json_object_get(vat, "pid");

	fprintf(f, "  %-6s %-20s %-12s", str_or(vat, "vatID", "?"),
	    str_or(vat, "name", "-"), str_or(vat, "state", "?"));
	if (json_is_integer(pid))
		fprintf(f, " pid %-8lld", (long long)json_integer_value(pid));
	else
		fprintf(f, " %-12s", "no worker");
	fprintf(f, " deliveries %-6lld computrons %lld",
	    int_or(vat, "deliveries"), int_or(vat, "computrons"));
	if (json_is_integer(json_object_get(vat, "snapshotPos")))
		fprintf(f, " snapshot at %lld", int_or(vat, "snapshotPos"));
	fputc('\n', f);
}

/* devices  2 / "  d1     timer   last polled 10, 1 wake-ups" */
static void
text_devices(FILE *f, json_t *devs)
{
	json_t	*d;
	size_t	 i;

	fprintf(f, "devices               %zu\n", json_array_size(devs));
	json_array_foreach(devs, i, d) {
		fprintf(f, "  %-6s %-20s", str_or(d, "deviceID", "?"),
		    str_or(d, "name", "-"));
		if (json_is_string(json_object_get(d, "lastPolled")))
			fprintf(f, " last polled %s, %lld wake-ups pending",
			    str_or(d, "lastPolled", "?"), int_or(d, "wakeups"));
		fputc('\n', f);
	}
}

/* polled 10; woke handlers | nothing due */
static void
text_poll(FILE *f, json_t *r)
{
	fprintf(f, "polled %s; %s\n", str_or(r, "lastPolled", "?"),
	    json_is_true(json_object_get(r, "woke")) ? "woke handlers (run "
	    "to deliver)" : "nothing due");
}

/* mailbox deliver: "delivered"; mailbox outbox: a line per peer and
 * message, "p1 ack 2" then "p1 2 <body>". */
static void
text_mailbox(FILE *f, json_t *r)
{
	json_t		*box = json_object_get(r, "outbox"), *p, *m;
	const char	*peer;
	size_t		 i;

	if (box == NULL) {
		fprintf(f, "delivered\n");
		return;
	}
	json_object_foreach(box, peer, p) {
		fprintf(f, "%s ack %lld\n", peer, int_or(p, "inboundAck"));
		json_array_foreach(json_object_get(p, "outbox"), i, m)
			fprintf(f, "%s %lld %s\n", peer, (long long)
			    json_integer_value(json_array_get(m, 0)),
			    nz_str(json_array_get(m, 1)));
	}
}

/* The main kernel statistics (SwingSet's names), when the daemon has
 * them. */
static void
text_stats(FILE *f, json_t *ks)
{
	if (!json_is_object(ks))
		return;
	fprintf(f, "kernel objects        %lld\n", int_or(ks, "kernelObjects"));
	fprintf(f, "kernel promises       %lld (%lld unresolved, %lld "
	    "fulfilled, %lld rejected)\n", int_or(ks, "kernelPromises"),
	    int_or(ks, "kpUnresolved"), int_or(ks, "kpFulfilled"),
	    int_or(ks, "kpRejected"));
	fprintf(f, "kernel devices        %lld\n", int_or(ks, "kernelDevices"));
	fprintf(f, "c-list entries        %lld\n", int_or(ks, "clistEntries"));
	fprintf(f, "promise queues        %lld\n",
	    int_or(ks, "promiseQueuesLength"));
	fprintf(f, "syscalls              %lld\n", int_or(ks, "syscalls"));
	fprintf(f, "dispatches            %lld\n", int_or(ks, "dispatches"));
}

static void
text_status(FILE *f, json_t *r)
{
	json_t	*vats = json_object_get(r, "vats"), *vat;
	json_t	*halted = json_object_get(r, "halted");
	size_t	 i;

	fprintf(f, "height                %lld (block %s)\n",
	    int_or(r, "height"),
	    json_is_true(json_object_get(r, "blockOpen")) ? "open" :
	    "committed");
	fprintf(f, "crank number          %lld\n", int_or(r, "crankNumber"));
	fprintf(f, "activity hash         %s\n",
	    str_or(r, "activityHash", "?"));
	fprintf(f, "committed hash        %s\n",
	    str_or(r, "committedActivityHash", "?"));
	fprintf(f, "acceptance queue      %lld\n",
	    int_or(r, "acceptanceQueueLength"));
	fprintf(f, "run-queue             %lld\n", int_or(r, "runQueueLength"));
	fprintf(f, "GC actions            %lld\n",
	    int_or(r, "gcActionsLength"));
	fprintf(f, "reap queue            %lld\n",
	    int_or(r, "reapQueueLength"));
	fprintf(f, "creation queue        %lld\n",
	    int_or(r, "creationQueueLength"));
	fprintf(f, "block computrons      %lld\n",
	    int_or(r, "blockComputrons"));
	fprintf(f, "halted                %s\n", json_is_string(halted) ?
	    json_string_value(halted) : "no");
	text_stats(f, json_object_get(r, "kernelStats"));
	fprintf(f, "vats                  %zu\n", json_array_size(vats));
	json_array_foreach(vats, i, vat)
		text_vat(f, vat);
	text_devices(f, json_object_get(r, "devices"));
}

static void
text_commit(FILE *f, json_t *r)
{
	fprintf(f, "committed block %lld, activity hash %s, %lld computrons\n",
	    int_or(r, "height"), str_or(r, "activityHash", "?"),
	    int_or(r, "computrons"));
}

static void
text_shutdown(FILE *f, json_t *r)
{
	(void)r;
	fprintf(f, "swingsetd is shutting down\n");
}

static void
text_queue(FILE *f, json_t *r)
{
	fprintf(f, "queued; result promise %s\n", str_or(r, "kpid", "?"));
}

static void
text_run(FILE *f, json_t *r)
{
	const char	*stopped = str_or(r, "stopped", "?");

	fprintf(f, "ran %lld cranks; ", int_or(r, "cranks"));
	if (strcmp(stopped, "idle") == 0)
		fprintf(f, "idle");
	else if (strcmp(stopped, "budget") == 0)
		fprintf(f, "stopped at budget");
	else if (strcmp(stopped, "halted") == 0)
		fprintf(f, "HALTED: %s", str_or(r, "halted", "?"));
	else
		fprintf(f, "stopped: %s", stopped);
	fprintf(f, "; activity hash %s\n", str_or(r, "activityHash", "?"));
}

/* kp40 fulfilled: #"hi" slots [] / kp40 unresolved (decider v1) */
static void
text_promise(FILE *f, json_t *r)
{
	json_t		*data = json_object_get(r, "data");
	const char	*state = str_or(r, "state", "?");

	fprintf(f, "%s %s", str_or(r, "kpid", "?"), state);
	if (strcmp(state, "unresolved") == 0)
		fprintf(f, " (decider %s)", str_or(r, "decider", "none"));
	if (json_is_object(data)) {
		fprintf(f, ": %s slots ", str_or(data, "body", "?"));
		json_dumpf(json_object_get(data, "slots"), f,
		    JSON_COMPACT | JSON_ENCODE_ANY);
	}
	fputc('\n', f);
}

/* The ID alone, for scripts: id=$(swingctl bundle install b.json) */
static void
text_bundle(FILE *f, json_t *r)
{
	fprintf(f, "%s\n", str_or(r, "bundleID", "?"));
}

static void
text_terminate(FILE *f, json_t *r)
{
	json_t *halted = json_object_get(r, "halted");

	if (json_is_string(halted))
		fprintf(f, "terminated; the kernel halted: %s\n",
		    json_string_value(halted));
	else
		fprintf(f, "terminated; run to deliver the consequences\n");
}

static void
text_reap(FILE *f, json_t *r)
{
	json_t	*ids = json_object_get(r, "scheduled"), *x;
	size_t	 i;

	fprintf(f, "bringOutYourDead queued for %zu vats:",
	    json_array_size(ids));
	json_array_foreach(ids, i, x)
		fprintf(f, " %s", json_string_value(x) ? json_string_value(x) :
		    "?");
	fprintf(f, "; run to deliver them\n");
}

static void
json_print(FILE *f, json_t *r)
{
	json_dumpf(r, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', f);
}

const struct ctl_output ctl_output_text = {
	.status = text_status,
	.commit = text_commit,
	.shutdown = text_shutdown,
	.queue = text_queue,
	.run = text_run,
	.promise = text_promise,
	.bundle = text_bundle,
	.poll = text_poll,
	.mailbox = text_mailbox,
	.terminate = text_terminate,
	.reap = text_reap,
};

const struct ctl_output ctl_output_json = {
	.status = json_print,
	.commit = json_print,
	.shutdown = json_print,
	.queue = json_print,
	.run = json_print,
	.promise = json_print,
	.bundle = json_print,
	.poll = json_print,
	.mailbox = json_print,
	.terminate = json_print,
	.reap = json_print,
};
