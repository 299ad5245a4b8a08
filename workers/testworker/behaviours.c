/*
 * behaviours.c — the registry of vat behaviours (what a bundle's "vat"
 * names) and the small ones: echo, counter, pingpong, exit.  The larger
 * behaviours live in vat_bootstrap.c, vat_promises.c, vat_illegal.c,
 * vat_admin.c, vat_holder.c.
 *
 * Bundle: {"moduleFormat":"testworker","vat":NAME,"options":{…}}.
 * Methods are those of the root object o+0 (iface "Alleged: root")
 * unless noted.  "undefined" is the smallcaps "#undefined".
 *
 *  NAME       METHODS / OPTIONS
 *  bootstrap  bootstrap(vats, devices) → undefined; stores both, then
 *             runs options.script.  run(script) → array of results.
 *             options: script [steps], parallel (bool).  vat_bootstrap.c
 *  echo       echo(x) → x; fail(msg) throws Error(msg);
 *             log(...args) → undefined, a sourcedConsole "vat" "log".
 *             whoami() → its pid, after vatstoreSet("pid", pid): a
 *             deliberately non-deterministic vat, for testing that the
 *             kernel's transcript replay detects divergence.
 *  counter    incr() → n+1, add(k) → n+k, get() → n: vatstore key
 *             "count"; makeCounter() → a new export "counter" with
 *             incr/add/get on its own in-memory count.
 *  pingpong   ping(n, peer) → count: vatstore "count" += 1 (get+set);
 *             n > 0: peer~.ping(n-1, self) send-only; n == 0: testLog
 *             "pingpong done count=<count>".  start(peer, n) → n: sends
 *             peer~.ping(n, self) send-only.
 *  promises   makePromise, resolveIt, rejectIt, resolveToObject,
 *             forward, pipeline: see vat_promises.c.
 *  exit       exitNow(failure, value) → "exiting", after the syscall
 *             ["exit", failure, value].
 *  illegal    one method per illegal syscall: see vat_illegal.c.
 *  vatAdmin   the vat-admin vat: createVatAdminService, newVatCallback,
 *             vatTerminated; see vat_admin.c.
 *  holder     hold, release, dropAll, count, held, sendTo, sendToAll,
 *             makeObjects, makeHeldObjects, recognize, forgetRecognizers:
 *             references held on request, for GC tests; vat_holder.c.
 *
 *  What a vat holds is what its state reaches (gc.c): echo keeps
 *  nothing, counter and bootstrap what they store.
 *
 *  Options for every behaviour (acted on by liveslots/dispatch):
 *  startWrites N        startVat writes "start.0"="0" … "start.N-1"
 *  abortOn "m"          calling m abort()s (SIGABRT: a machine fault)
 *  loopOn "m"           calling m spins; with -l it exits 17
 *  readyDelayMs T       setBundle answers after T ms
 *  readyDelaySeed S, readyDelayMaxMs M   … after PRNG(S, vatID) % (M+1) ms
 *  gcProbes true        bringOutYourDead makes liveslots' vatstore
 *                       reads for virtual data (gc.c)
 *  createOnStart [{bundleID|name, options}]   startVat sends
 *                       vatParameters.vatAdminService~.createVat(…) for
 *                       each (vat_admin.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/testworker/testworker.h"

static int	echo_echo(struct tw_call *);
static int	echo_fail(struct tw_call *);
static int	echo_log(struct tw_call *);
static int	echo_whoami(struct tw_call *);
static int	counter_change(struct tw_call *, json_int_t);
static int	counter_incr(struct tw_call *);
static int	counter_add(struct tw_call *);
static int	counter_get(struct tw_call *);
static int	counter_make(struct tw_call *);
static int	pingpong_ping(struct tw_call *);
static int	pingpong_start(struct tw_call *);
static int	exit_now(struct tw_call *);

static const struct tw_method echo_methods[] = {
	{ "echo", echo_echo },
	{ "fail", echo_fail },
	{ "log", echo_log },
	{ "whoami", echo_whoami },
	{ NULL, NULL }
};
static const struct behaviour vat_echo = { "echo", echo_methods, NULL };

static const struct tw_method counter_methods[] = {
	{ "incr", counter_incr },
	{ "add", counter_add },
	{ "get", counter_get },
	{ "makeCounter", counter_make },
	{ NULL, NULL }
};
/* A counter made by makeCounter: same methods, count in the object. */
static const struct tw_method counter_object_methods[] = {
	{ "incr", counter_incr },
	{ "add", counter_add },
	{ "get", counter_get },
	{ NULL, NULL }
};
static const struct behaviour vat_counter = {
	"counter", counter_methods, NULL
};

static const struct tw_method pingpong_methods[] = {
	{ "ping", pingpong_ping },
	{ "start", pingpong_start },
	{ NULL, NULL }
};
static const struct behaviour vat_pingpong = {
	"pingpong", pingpong_methods, NULL
};

static const struct tw_method exit_methods[] = {
	{ "exitNow", exit_now },
	{ NULL, NULL }
};
static const struct behaviour vat_exit = { "exit", exit_methods, NULL };

static const struct behaviour *const behaviours[] = {
	&vat_bootstrap,
	&vat_echo,
	&vat_counter,
	&vat_pingpong,
	&vat_promises,
	&vat_exit,
	&vat_illegal,
	&vat_admin,
	&vat_holder,
	NULL
};

const struct behaviour *
behaviour_find(const char *name)
{
	size_t	 i;

	for (i = 0; behaviours[i] != NULL; i++)
		if (strcmp(behaviours[i]->name, name) == 0)
			return behaviours[i];
	return NULL;
}

/* ---- echo -------------------------------------------------------------- */

static int
echo_echo(struct tw_call *call)
{
	json_t	*x = json_array_get(call->args, 0);

	call_return(call, x != NULL ? json_incref(x) : NULL);
	return 0;
}

static int
echo_fail(struct tw_call *call)
{
	const char	*msg = json_string_value(json_array_get(call->args, 0));

	call_throw(call, "%s", msg != NULL ? msg : "failed");
	return 0;
}

/* Non-deterministic on purpose: a rebuilt worker has another pid, so its
 * replay makes a different vatstoreSet than the transcript records. */
static int
echo_whoami(struct tw_call *call)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (syscall_vatstore_set(call->vat, "pid", pid) == -1)
		return -1;
	call_return(call, json_string(pid));
	return 0;
}

/* Strings go to the console as they are, other values rendered. */
static int
echo_log(struct tw_call *call)
{
	json_t	*out = json_array(), *x;
	char	*s;
	size_t	 i;

	if (out == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_array_foreach(call->args, i, x) {
		if (json_is_string(x))
			json_array_append(out, x);
		else if ((s = marshal_render(x)) != NULL) {
			json_array_append_new(out, json_string(s));
			free(s);
		}
	}
	call_return(call, NULL);
	return syscall_console(call->vat, "log", out);
}

/* ---- counter ----------------------------------------------------------- */

/* Root: the vatstore key "count"; a made counter: its own state. */
static int
counter_change(struct tw_call *call, json_int_t delta)
{
	json_int_t	 now;
	char		*v;

	if (strcmp(call->self->vref, "o+0") != 0) {
		now = json_integer_value(json_object_get(call->self->state,
		    "count")) + delta;
		if (json_object_set_new(call->self->state, "count",
		    json_integer(now)) == -1)
			tw_fatal(TW_EXIT_IO, "out of memory");
	} else if (delta != 0) {
		if (syscall_vatstore_count(call->vat, "count", delta, &now)
		    == -1)
			return -1;
	} else {
		if (syscall_vatstore_get(call->vat, "count", &v) == -1)
			return -1;
		now = v != NULL ? strtoll(v, NULL, 10) : 0;
		free(v);
	}
	call_return(call, json_integer(now));
	return 0;
}

static int
counter_incr(struct tw_call *call)
{
	return counter_change(call, 1);
}

static int
counter_add(struct tw_call *call)
{
	json_t	*k = json_array_get(call->args, 0);

	if (!json_is_integer(k)) {
		call_throw(call, "add needs an integer");
		return 0;
	}
	return counter_change(call, json_integer_value(k));
}

static int
counter_get(struct tw_call *call)
{
	return counter_change(call, 0);
}

static int
counter_make(struct tw_call *call)
{
	struct tw_object	*o;

	o = object_new(call->vat, "counter", counter_object_methods,
	    json_pack("{si}", "count", 0));
	call_return(call, object_ref(o));
	return 0;
}

/* ---- pingpong ---------------------------------------------------------- */

static int
pingpong_ping(struct tw_call *call)
{
	json_t		*n = json_array_get(call->args, 0);
	json_t		*peer = json_array_get(call->args, 1);
	json_t		*args;
	json_int_t	 count, left;
	int		 rc;

	if (!json_is_integer(n) || marshal_ref_vref(peer) == NULL) {
		call_throw(call, "ping needs (n, peer)");
		return 0;
	}
	if (syscall_vatstore_count(call->vat, "count", 1, &count) == -1)
		return -1;
	call_return(call, json_integer(count));
	if ((left = json_integer_value(n)) <= 0)
		return syscall_test_log(call->vat, "pingpong done count=%lld",
		    (long long)count);
	args = json_pack("[Io]", left - 1, object_ref(call->self));
	rc = syscall_send(call->vat, marshal_ref_vref(peer), "ping", args,
	    NULL);
	json_decref(args);
	return rc;
}

static int
pingpong_start(struct tw_call *call)
{
	json_t	*peer = json_array_get(call->args, 0);
	json_t	*n = json_array_get(call->args, 1);
	json_t	*args;
	int	 rc;

	if (!json_is_integer(n) || marshal_ref_vref(peer) == NULL) {
		call_throw(call, "start needs (peer, n)");
		return 0;
	}
	args = json_pack("[Oo]", n, object_ref(call->self));
	rc = syscall_send(call->vat, marshal_ref_vref(peer), "ping", args,
	    NULL);
	json_decref(args);
	call_return(call, json_incref(n));
	return rc;
}

/* ---- exit -------------------------------------------------------------- */

static int
exit_now(struct tw_call *call)
{
	json_t	*failure = json_array_get(call->args, 0);
	json_t	*value = json_array_get(call->args, 1);
	json_t	*undef = NULL;
	int	 rc;

	if (value == NULL)
		value = undef = marshal_undefined();
	rc = syscall_exit(call->vat, json_is_true(failure), value);
	json_decref(undef);
	call_return(call, json_string("exiting"));
	return rc;
}
