/*
 * promise.c — kernel promises (kernel-semantics.md §8): creation,
 * subscription, messages queued on an unresolved promise, and resolution,
 * which notifies subscribers in sorted order and sends the queued
 * messages back to the run-queue (where routing now finds the
 * resolution).  Who may resolve is checked by the caller.
 *
 * Keys: kpN.state (unresolved|fulfilled|rejected), kpN.decider (vat ID,
 * "" while the run-queue holds the authority), kpN.subscribers (sorted,
 * comma-joined vat IDs), kpN.queue.nextID and kpN.queue.<i>,
 * kpN.data.body and kpN.data.slots (comma-joined) once settled,
 * kpN.refCount (refcount.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

static void
key(char *buf, size_t len, const char *kpid, const char *field)
{
	snprintf(buf, len, "%s.%s", kpid, field);
}

int
kp_new(struct kernel *k, const char *decider, char **kpid)
{
	char		 kb[64];
	uint64_t	 n;
	int		 rc;

	*kpid = NULL;
	if ((rc = kv_alloc(k->st, "kp.nextID", 40, &n)) != STORE_OK)
		return rc;
	if (asprintf(kpid, "kp%" PRIu64, n) < 0)
		return STORE_ENOMEM;
	kstat_add(k, KS_KERNEL_PROMISES, 1);
	kstat_add(k, KS_KP_UNRESOLVED, 1);
	key(kb, sizeof(kb), *kpid, "state");
	if ((rc = kv_put(k->st, kb, "unresolved")) != STORE_OK)
		return rc;
	key(kb, sizeof(kb), *kpid, "refCount");
	if ((rc = kv_put(k->st, kb, "0")) != STORE_OK)
		return rc;
	key(kb, sizeof(kb), *kpid, "subscribers");
	if ((rc = kv_put(k->st, kb, "")) != STORE_OK)
		return rc;
	key(kb, sizeof(kb), *kpid, "decider");
	return kv_put(k->st, kb, decider ? decider : "");
}

static int
enqueue_notify(struct kernel *k, const char *vat, const char *kpid)
{
	json_t	*item = json_pack("{s:s, s:s, s:s}", "type", "notify",
		    "vatID", vat, "kpid", kpid);
	int	 rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;

	json_decref(item);
	return rc;
}

/* Add vat to the sorted subscriber set of an unresolved promise, or queue
 * its notify at once when the promise is settled.  1: no such promise. */
int
kp_subscribe(struct kernel *k, const char *kpid, const char *vat)
{
	char	 kb[64], *state, *subs, *out;
	bool	 had;
	int	 rc;

	key(kb, sizeof(kb), kpid, "state");
	if ((state = kv_get(k->st, kb)) == NULL)
		return 1;
	if (strcmp(state, "unresolved") != 0) {
		free(state);
		return enqueue_notify(k, vat, kpid);
	}
	free(state);
	key(kb, sizeof(kb), kpid, "subscribers");
	subs = kv_get(k->st, kb);
	out = kst_csv_with(subs, vat, &had);
	rc = out ? kv_put(k->st, kb, out) : STORE_ENOMEM;
	free(out);
	free(subs);
	return rc;
}

/* Queue msg ({methargs, result}; borrowed) on an unresolved promise. */
int
kp_queue_message(struct kernel *k, const char *kpid, const json_t *msg)
{
	char		 kb[96];
	char		*s;
	uint64_t	 n;
	int		 rc;

	key(kb, sizeof(kb), kpid, "queue.nextID");
	s = kv_get(k->st, kb);
	n = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	if ((rc = kv_putf(k->st, kb, "%" PRIu64, n + 1)) != STORE_OK)
		return rc;
	snprintf(kb, sizeof(kb), "%s.queue.%" PRIu64, kpid, n);
	kstat_add(k, KS_PROMISE_QUEUES_LENGTH, 1);
	return kv_put_json(k->st, kb, msg);
}

static int
notify_subscribers(struct kernel *k, const char *kpid)
{
	char	 kb[64], *subs, *p;
	int	 rc = STORE_OK;

	key(kb, sizeof(kb), kpid, "subscribers");
	subs = kv_get(k->st, kb);
	for (p = subs ? strtok(subs, ",") : NULL; p != NULL && rc == STORE_OK;
	    p = strtok(NULL, ","))
		rc = enqueue_notify(k, p, kpid);
	free(subs);
	return rc == STORE_OK ? kv_del(k->st, kb) : rc;
}

/* Send every message queued on kpid back to the run-queue, in order. */
int
kp_requeue(struct kernel *k, const char *kpid)
{
	char		 kb[96], *s;
	json_t		*msg, *item;
	uint64_t	 n, moved = 0;
	int		 rc = STORE_OK;

	key(kb, sizeof(kb), kpid, "queue.nextID");
	s = kv_get(k->st, kb);
	n = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	for (uint64_t i = 0; i < n && rc == STORE_OK; i++) {
		snprintf(kb, sizeof(kb), "%s.queue.%" PRIu64, kpid, i);
		if ((msg = kv_get_json(k->st, kb)) == NULL)
			continue;
		item = json_pack("{s:s, s:s, s:o}", "type", "send", "target",
		    kpid, "msg", msg);
		/* a lateral move: the message keeps the counts it holds */
		rc = item ? kst_push(k, &k->accq, item) : STORE_ENOMEM;
		json_decref(item);
		if (rc == STORE_OK)
			rc = kv_del(k->st, kb);
		moved++;
	}
	kstat_add(k, KS_PROMISE_QUEUES_LENGTH, -(int64_t)moved);
	key(kb, sizeof(kb), kpid, "queue.nextID");
	return rc == STORE_OK ? kv_del(k->st, kb) : rc;
}

static char *
join_slots(const json_t *slots)
{
	size_t	 i, len = 1;
	json_t	*s;
	char	*out;

	json_array_foreach(slots, i, s)
		len += strlen(json_string_value(s)) + 1;
	if ((out = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(slots, i, s) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, json_string_value(s));
	}
	return out;
}

/* Settle kpid (the caller checked it may); data is kernel capdata. */
int
kp_resolve(struct kernel *k, const char *kpid, bool rejected,
    const json_t *data)
{
	char	 kb[64], *slots;
	int	 rc;

	/* the resolution data holds its slots (released when the promise
	 * is deleted: refcount.c) */
	if ((rc = kref_incref_slots(k, data)) != STORE_OK ||
	    (rc = notify_subscribers(k, kpid)) != STORE_OK ||
	    (rc = kp_requeue(k, kpid)) != STORE_OK)
		return rc;
	key(kb, sizeof(kb), kpid, "decider");
	if ((rc = kv_del(k->st, kb)) != STORE_OK)
		return rc;
	kstat_add(k, KS_KP_UNRESOLVED, -1);
	kstat_add(k, rejected ? KS_KP_REJECTED : KS_KP_FULFILLED, 1);
	key(kb, sizeof(kb), kpid, "state");
	if ((rc = kv_put(k->st, kb, rejected ? "rejected" : "fulfilled")) !=
	    STORE_OK)
		return rc;
	key(kb, sizeof(kb), kpid, "data.body");
	if ((rc = kv_put(k->st, kb, json_string_value(json_object_get(data,
	    "body")))) != STORE_OK)
		return rc;
	if ((slots = join_slots(json_object_get(data, "slots"))) == NULL)
		return STORE_ENOMEM;
	key(kb, sizeof(kb), kpid, "data.slots");
	rc = kv_put(k->st, kb, slots);
	free(slots);
	return rc;
}

/* A settled promise's resolution as capdata (new reference). */
json_t *
kp_data(struct kernel *k, const char *kpid)
{
	char	 kb[64], *body, *slots, *p;
	json_t	*arr = json_array(), *cd;

	snprintf(kb, sizeof(kb), "%s.data.body", kpid);
	body = kv_get(k->st, kb);
	snprintf(kb, sizeof(kb), "%s.data.slots", kpid);
	slots = kv_get(k->st, kb);
	for (p = slots && *slots ? strtok(slots, ",") : NULL; p != NULL;
	    p = strtok(NULL, ","))
		json_array_append_new(arr, json_string(p));
	cd = json_pack("{s:s, s:o}", "body", body ? body : "#null", "slots",
	    arr);
	free(body);
	free(slots);
	return cd;
}

/*
 * Queue target~.method(args) from the kernel, with a new result promise
 * that the run-queue decides; *kpid gets it (malloc'd) when kpid is not
 * NULL.  args is capdata whose body is "#[…]".
 */
static int
send(struct kernel *k, const char *target, const char *method,
    const json_t *args, bool with_result, char **kpid)
{
	json_t	*ma = capdata_methargs(method, args), *item = NULL;
	char	*kp = NULL;
	int	 rc = ma == NULL ? STORE_ENOMEM : with_result ?
		    kp_new(k, NULL, &kp) : STORE_OK;

	if (rc == STORE_OK)
		item = json_pack("{s:s, s:s, s:{s:O, s:s*}}", "type", "send",
		    "target", target, "msg", "methargs", ma, "result", kp);
	if (rc == STORE_OK)
		rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;
	kstat_syscall(k, "send");	/* as SwingSet's queueToKref */
	json_decref(item);
	json_decref(ma);
	if (kpid != NULL && rc == STORE_OK)
		*kpid = kp;
	else
		free(kp);
	return rc;
}

int
kp_send(struct kernel *k, const char *target, const char *method,
    const json_t *args, char **kpid)
{
	return send(k, target, method, args, true, kpid);
}

/* The same without a result promise (SwingSet's sendOnly). */
int
kp_send_only(struct kernel *k, const char *target, const char *method,
    const json_t *args)
{
	return send(k, target, method, args, false, NULL);
}

/*
 * The host's interest in kpid (bootstrap()'s result, a queue op's; as
 * SwingSet's "external" count): one count, and kpN.external, which says
 * it is the host's to let go of (kp_host_release) exactly once.
 */
int
kp_host_hold(struct kernel *k, const char *kpid)
{
	char	key[64];
	int	rc = kref_incref(k, kpid, 0);

	snprintf(key, sizeof(key), "%s.external", kpid);
	return rc == STORE_OK ? kv_put(k->st, key, "1") : rc;
}

/* The host lets go of kpid: 1 when it did not hold it, else a store
 * code (the promise may be deleted at the end of the crank). */
int
kp_host_release(struct kernel *k, const char *kpid)
{
	char	 key[64], *held;
	int	 rc;

	snprintf(key, sizeof(key), "%s.external", kpid);
	if ((held = kv_get(k->st, key)) == NULL)
		return store_crank_status(k->st) != STORE_OK ?
		    store_crank_status(k->st) : 1;
	free(held);
	rc = kv_del(k->st, key);
	return rc == STORE_OK ? kref_decref(k, kpid, 0) : rc;
}

/*
 * method(<prefix>, <tail's value>) to the vat-admin vat's root, with a
 * result promise, as SwingSet queues its callbacks: prefix is compact
 * JSON of plain values, already encoded (e.g. "\"v6\",true"); tail is
 * capdata whose value (and slots) follow it, or NULL for none.  Nothing
 * to do, and STORE_OK, when the kernel has no vat-admin vat.
 */
int
kp_tell_admin(struct kernel *k, const char *method, const char *prefix,
    const json_t *tail)
{
	char	*admin = kv_get(k->st, "vatAdminRootKref"), *text = NULL;
	json_t	*args = NULL;
	int	 rc;

	if (admin == NULL)
		return STORE_OK;
	if (tail != NULL)
		args = capdata_args_with(prefix, tail);
	else if (asprintf(&text, "#[%s]", prefix) >= 0)
		args = json_pack("{s:s, s:[]}", "body", text, "slots");
	rc = args ? kp_send(k, admin, method, args, NULL) : STORE_ENOMEM;
	json_decref(args);
	free(text);
	free(admin);
	return rc;
}
