/*
 * stats.c — the kernel's statistics, SwingSet's kernelStats
 * (@agoric/internal metrics.js KERNEL_STATS_METRICS, swingset-vat
 * state/stats.js): the same names, the same kinds, the same keys.
 *
 * A counter only grows.  A gauge ("up-down") comes with three companions:
 * <name>Up sums its increments, <name>Down its decrements, <name>Max is
 * its high-water mark (raised by increments only, as SwingSet's incStat).
 * The consensus gauges (runQueueLength, acceptanceQueueLength,
 * promiseQueuesLength) are kept in the kv key "kernelStats", which the
 * activity hash covers; all the others in "local.kernelStats", which the
 * store does not hash (keys beginning "local.", as SwingSet's kvStore).
 * Both are JSON objects in SwingSet's key order, written at the end of
 * every committed crank (kstat_commit): during a crank the numbers live
 * in memory only, and an aborted crank's changes are dropped
 * (kstat_abort), as SwingSet reloads them on a rollback.
 *
 * This file owns struct kstats (in struct kernel) and those two keys.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

#define KEY_CONSENSUS	"kernelStats"
#define KEY_LOCAL	"local.kernelStats"

/* The metrics, in SwingSet's order (counters, then gauges): the JSON
 * objects list them in this order, each gauge followed by its Up, Down
 * and Max. */
static const struct metric {
	const char	*name;
	bool		 gauge;
	bool		 consensus;
} metrics[KS_N] = {
	[KS_SYSCALLS] = { "syscalls", false, false },
	[KS_SYSCALL_SEND] = { "syscallSend", false, false },
	[KS_SYSCALL_CALLNOW] = { "syscallCallNow", false, false },
	[KS_SYSCALL_SUBSCRIBE] = { "syscallSubscribe", false, false },
	[KS_SYSCALL_RESOLVE] = { "syscallResolve", false, false },
	[KS_SYSCALL_EXIT] = { "syscallExit", false, false },
	[KS_SYSCALL_VATSTORE_GET] = { "syscallVatstoreGet", false, false },
	[KS_SYSCALL_VATSTORE_SET] = { "syscallVatstoreSet", false, false },
	[KS_SYSCALL_VATSTORE_GETNEXTKEY] = { "syscallVatstoreGetNextKey",
	    false, false },
	[KS_SYSCALL_VATSTORE_DELETE] = { "syscallVatstoreDelete", false,
	    false },
	[KS_SYSCALL_DROP_IMPORTS] = { "syscallDropImports", false, false },
	[KS_DISPATCHES] = { "dispatches", false, false },
	[KS_DISPATCH_DELIVER] = { "dispatchDeliver", false, false },
	[KS_DISPATCH_NOTIFY] = { "dispatchNotify", false, false },
	[KS_KERNEL_OBJECTS] = { "kernelObjects", true, false },
	[KS_KERNEL_DEVICES] = { "kernelDevices", true, false },
	[KS_KERNEL_PROMISES] = { "kernelPromises", true, false },
	[KS_KP_UNRESOLVED] = { "kpUnresolved", true, false },
	[KS_KP_FULFILLED] = { "kpFulfilled", true, false },
	[KS_KP_REJECTED] = { "kpRejected", true, false },
	[KS_RUN_QUEUE_LENGTH] = { "runQueueLength", true, true },
	[KS_ACCEPTANCE_QUEUE_LENGTH] = { "acceptanceQueueLength", true, true },
	[KS_PROMISE_QUEUES_LENGTH] = { "promiseQueuesLength", true, true },
	[KS_CLIST_ENTRIES] = { "clistEntries", true, false },
	[KS_VATS] = { "vats", true, false },
};

static const char *const suffix[KS_PARTS] = { "", "Up", "Down", "Max" };

static int
parts(enum kstat s)
{
	return metrics[s].gauge ? KS_PARTS : 1;
}

/* Our name for SwingSet's key (e.g. "kpUnresolvedMax"): *s and *part,
 * or -1 when SwingSet has no such key. */
static int
lookup(const char *key, enum kstat *s, int *part)
{
	size_t n;

	for (int i = 0; i < KS_N; i++) {
		n = strlen(metrics[i].name);
		if (strncmp(key, metrics[i].name, n) != 0)
			continue;
		for (int j = 0; j < parts((enum kstat)i); j++)
			if (strcmp(key + n, suffix[j]) == 0) {
				*s = (enum kstat)i;
				*part = j;
				return 0;
			}
	}
	return -1;
}

/* One stored object into v; keys SwingSet no longer has are dropped,
 * as its loadFromSerializedStats does.  -1: unreadable, or not an
 * object of integers. */
static int
load_key(struct kernel *k, const char *key, int64_t v[KS_N][KS_PARTS])
{
	char		*text = kv_get(k->st, key);
	json_t		*o, *x;
	const char	*name;
	enum kstat	 s;
	int		 part, rc = 0;

	if (text == NULL)
		return store_crank_status(k->st) == STORE_OK ? 0 : -1;
	o = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(o))
		rc = -1;
	json_object_foreach(o, name, x) {
		if (!json_is_integer(x))
			rc = -1;
		else if (lookup(name, &s, &part) == 0)
			v[s][part] = json_integer_value(x);
	}
	json_decref(o);
	return rc;
}

/* The stored numbers, at the first use after a start; absent keys (a
 * new state) are zeros.  Damaged ones halt the kernel, as a damaged
 * queue does: the crank that met them is never committed. */
static void
load(struct kernel *k)
{
	struct kstats *ks = &k->stats;

	if (ks->loaded)
		return;
	memset(ks->now, 0, sizeof(ks->now));
	if (load_key(k, KEY_CONSENSUS, ks->now) != 0 ||
	    load_key(k, KEY_LOCAL, ks->now) != 0) {
		memset(ks->now, 0, sizeof(ks->now));
		store_crank_fail(k->st, STORE_ESTATE);
		kernel_store_halt(k, "the kernel statistics (kernelStats, "
		    "local.kernelStats) are damaged");
	}
	memcpy(ks->committed, ks->now, sizeof(ks->now));
	ks->loaded = true;
}

/*
 * SwingSet's incStat (delta > 0: the value, Up, and Max when passed)
 * and decStat (delta < 0: the value and Down; a gauge's only).  A
 * delta of 0 changes nothing.
 */
void
kstat_add(struct kernel *k, enum kstat s, int64_t delta)
{
	int64_t *v;

	if ((unsigned)s >= KS_N || delta == 0)
		return;
	load(k);
	v = k->stats.now[s];
	if (delta < 0 && !metrics[s].gauge) {
		log_error("kernel", "kstat_add: counter %s decremented",
		    metrics[s].name);
		return;
	}
	v[KS_VALUE] += delta;
	if (!metrics[s].gauge)
		return;
	if (delta > 0) {
		v[KS_UP] += delta;
		if (v[KS_VALUE] > v[KS_MAX])
			v[KS_MAX] = v[KS_VALUE];
	} else
		v[KS_DOWN] -= delta;
}

/* A promise is deleted: kernelPromises and the count of its state
 * (SwingSet's deleteKernelPromise), read before its keys go. */
void
kstat_promise_gone(struct kernel *k, const char *kpid)
{
	char	 key[96], *state;

	snprintf(key, sizeof(key), "%s.state", kpid);
	state = kv_get(k->st, key);
	kstat_add(k, KS_KERNEL_PROMISES, -1);
	if (state != NULL)
		kstat_add(k, strcmp(state, "unresolved") == 0 ?
		    KS_KP_UNRESOLVED : strcmp(state, "fulfilled") == 0 ?
		    KS_KP_FULFILLED : KS_KP_REJECTED, -1);
	free(state);
}

/* A syscall made (tag: "send", "vatstoreGet", …) counts in syscalls and
 * in its own counter, as kernelSyscall.js counts them; so does a send
 * the kernel or a device makes (SwingSet's queueToKref and device
 * sendOnly go through the same count).  The GC syscalls count in
 * neither (SwingSet defines syscallDropImports but never counts it). */
void
kstat_syscall(struct kernel *k, const char *tag)
{
	static const struct {
		const char	*tag;
		enum kstat	 s;
	} map[] = {
		{ "send", KS_SYSCALL_SEND },
		{ "callNow", KS_SYSCALL_CALLNOW },
		{ "subscribe", KS_SYSCALL_SUBSCRIBE },
		{ "resolve", KS_SYSCALL_RESOLVE },
		{ "exit", KS_SYSCALL_EXIT },
		{ "vatstoreGet", KS_SYSCALL_VATSTORE_GET },
		{ "vatstoreSet", KS_SYSCALL_VATSTORE_SET },
		{ "vatstoreGetNextKey", KS_SYSCALL_VATSTORE_GETNEXTKEY },
		{ "vatstoreDelete", KS_SYSCALL_VATSTORE_DELETE },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(tag, map[i].tag) == 0) {
			kstat_add(k, KS_SYSCALLS, 1);
			kstat_add(k, map[i].s, 1);
			return;
		}
}

/*
 * A queue of state.c changed length: SwingSet counts its run-queue and
 * acceptance queue (runQueueLength, acceptanceQueueLength).  The
 * creation queue is swingsetd's own: SwingSet's create-vat event enters
 * the acceptance queue where swingsetd's request enters the creation
 * queue, and a routing crank moves it to the run-queue, whose delivery
 * crank takes it off.  So a request counts as an acceptance-queue entry,
 * and its pseudo-crank as its move to the run-queue and off it.
 */
void
kstat_queue(struct kernel *k, const struct kqueue *q, int64_t delta)
{
	if (q == &k->runq)
		kstat_add(k, KS_RUN_QUEUE_LENGTH, delta);
	else if (q == &k->accq || delta > 0)
		kstat_add(k, KS_ACCEPTANCE_QUEUE_LENGTH, delta);
	else {
		kstat_add(k, KS_ACCEPTANCE_QUEUE_LENGTH, delta);
		kstat_add(k, KS_RUN_QUEUE_LENGTH, -delta);
		kstat_add(k, KS_RUN_QUEUE_LENGTH, delta);
	}
}

/*
 * A vat's creation failed (its startVat, in the pseudo-crank): SwingSet
 * consumes the create-vat event and rolls the crank back to its
 * "deliver" savepoint, which reloads the statistics as last written,
 * from before the event's dequeue: runQueueLength stays one too high
 * for ever, and runQueueLengthDown one too low (kernel-semantics §15.3's
 * quirk).  So here too.
 */
void
kstat_creation_failed(struct kernel *k)
{
	load(k);
	k->stats.now[KS_RUN_QUEUE_LENGTH][KS_VALUE]++;
	k->stats.now[KS_RUN_QUEUE_LENGTH][KS_DOWN]--;
}

/* Append `"name":n` pairs of metrics whose consensus flag is consensus
 * to buf (room for all is made by the caller). */
static size_t
serialize(const int64_t v[KS_N][KS_PARTS], bool consensus, char *buf,
    size_t cap)
{
	size_t	len = 0;
	int	n;

	buf[len++] = '{';
	for (int i = 0; i < KS_N; i++) {
		if (metrics[i].consensus != consensus)
			continue;
		for (int j = 0; j < parts((enum kstat)i); j++) {
			n = snprintf(buf + len, cap - len, "%s\"%s%s\":%" PRId64,
			    len > 1 ? "," : "", metrics[i].name, suffix[j],
			    v[i][j]);
			if (n < 0 || (size_t)n >= cap - len)
				return 0;
			len += (size_t)n;
		}
	}
	if (len + 2 > cap)
		return 0;
	buf[len++] = '}';
	buf[len] = '\0';
	return len;
}

/* Room for every key, quoted, with 20 digits and a sign. */
static size_t
capacity(void)
{
	size_t cap = 3;

	for (int i = 0; i < KS_N; i++)
		for (int j = 0; j < parts((enum kstat)i); j++)
			cap += strlen(metrics[i].name) + strlen(suffix[j]) +
			    26;
	return cap;
}

static int
write_key(struct kernel *k, const char *key, bool consensus)
{
	size_t	 cap = capacity();
	char	*buf = malloc(cap);
	int	 rc;

	if (buf == NULL)
		return STORE_ENOMEM;
	rc = serialize(k->stats.now, consensus, buf, cap) > 0 ?
	    kv_put(k->st, key, buf) : STORE_ENOMEM;
	free(buf);
	return rc;
}

/*
 * The crank's end: both keys written (SwingSet's saveStats, at every
 * emitCrankHashes), then the crank committed; the numbers are the
 * committed ones from here.  store_crank_commit's codes.
 */
int
kstat_commit(struct kernel *k)
{
	int rc;

	load(k);
	if ((rc = write_key(k, KEY_CONSENSUS, true)) != STORE_OK ||
	    (rc = write_key(k, KEY_LOCAL, false)) != STORE_OK ||
	    (rc = store_crank_commit(k->st)) != STORE_OK)
		return rc;
	memcpy(k->stats.committed, k->stats.now, sizeof(k->stats.now));
	return STORE_OK;
}

/* The crank is dropped: so are its changes to the numbers. */
void
kstat_abort(struct kernel *k)
{
	memcpy(k->stats.now, k->stats.committed, sizeof(k->stats.now));
}

/* SwingSet's getStats(): the local statistics, then the consensus ones,
 * as of the last committed crank (a new reference, or NULL). */
json_t *
kernel_stats(struct kernel *k)
{
	json_t	*o = json_object();
	bool	 ok = o != NULL;

	load(k);
	for (int pass = 0; ok && pass < 2; pass++)
		for (int i = 0; ok && i < KS_N; i++) {
			if (metrics[i].consensus != (pass == 1))
				continue;
			for (int j = 0; ok && j < parts((enum kstat)i); j++) {
				char name[64];

				snprintf(name, sizeof(name), "%s%s",
				    metrics[i].name, suffix[j]);
				ok = json_object_set_new(o, name, json_integer(
				    k->stats.committed[i][j])) == 0;
			}
		}
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}
