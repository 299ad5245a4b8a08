/*
 * route.c — where an event goes.  A routing crank (kernel-semantics.md
 * §6.3) moves the acceptance queue's head to the run-queue, to the queue
 * of an unresolved promise, or splats it (its result promise rejected,
 * because its target is dead, rejected, or plain data).  A delivery crank
 * routes the run-queue's head again (§7.3, §7.4, §8.4): a delivery to one
 * vat, translated into that vat's refs, or an outcome that needs no vat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

static char *
kp_field(struct kernel *k, const char *kpid, const char *field)
{
	char kb[64];

	snprintf(kb, sizeof(kb), "%s.%s", kpid, field);
	return kv_get(k->st, kb);
}

/* Reject msg's result promise (if any) with data; nothing is delivered. */
static int
splat(struct kernel *k, const json_t *msg, json_t *data)
{
	const char	*result = json_string_value(json_object_get(msg,
			    "result"));
	int		 rc = STORE_OK;

	if (data == NULL)
		return STORE_ENOMEM;
	if (result != NULL)
		rc = kp_resolve(k, result, true, data);
	json_decref(data);
	return rc;
}

static int
deliver_send(struct kernel *k, struct kvat *v, const char *target,
    const json_t *msg, json_t **vdo)
{
	const char	*result = json_string_value(json_object_get(msg,
			    "result"));
	char		*tv = NULL, *rv = NULL, kb[64];
	json_t		*margs;
	int		 rc;

	if ((rc = clist_to_vref(k, v, target, &tv)) != STORE_OK)
		return rc;
	margs = clist_capdata_to_vat(k, v, json_object_get(msg, "methargs"));
	if (result != NULL) {
		/* the receiver now decides the result; a pipelining one gets
		 * the messages already waiting on it (§7.4) */
		snprintf(kb, sizeof(kb), "%s.decider", result);
		if ((rc = kv_put(k->st, kb, v->id)) == STORE_OK)
			rc = clist_to_vref(k, v, result, &rv);
		if (rc == STORE_OK && v->pipelining)
			rc = kp_requeue(k, result);
	}
	if (rc == STORE_OK && margs != NULL)
		*vdo = json_pack("[s, s, {s:O, s:s?}]", "message", tv,
		    "methargs", margs, "result", rv);
	if (rc == STORE_OK && (margs == NULL || *vdo == NULL))
		rc = STORE_ENOMEM;
	json_decref(margs);
	free(tv);
	free(rv);
	return rc;
}

/*
 * Where a send goes (kernel-semantics §7.3), decided the same way by a
 * routing crank and, again, by the delivery crank that dequeues it.
 * Either it splats here (its result promise rejected; *vat NULL, *queue
 * false), or *target is where it goes: to *vat, or onto the queue of the
 * unresolved promise *target (*queue).  *target is borrowed from item,
 * or from the promise data k->cr.route_hold keeps until route_done().
 */
static int
route_to_promise(struct kernel *k, const char **target, const json_t *msg,
    struct kvat **vat, bool *queue, bool *again)
{
	char		*state = kp_field(k, *target, "state"), *dec, *m, *why;
	const char	*single;
	json_t		*data;
	int		 rc = STORE_OK;

	if (state == NULL)
		return splat(k, msg, capdata_error("no such promise"));
	if (strcmp(state, "unresolved") != 0) {
		data = kp_data(k, *target);
		single = strcmp(state, "fulfilled") == 0 ?
		    capdata_single_slot(data) : NULL;
		if (strcmp(state, "rejected") == 0)
			rc = splat(k, msg, json_incref(data));
		else if (single != NULL && strncmp(single, "ko", 2) == 0) {
			*target = single;
			*again = true;
		} else {
			m = capdata_method_name(json_object_get(msg, "methargs"));
			why = NULL;
			if (asprintf(&why, "data is not callable, has no "
			    "method %s", m ? m : "?") >= 0)
				rc = splat(k, msg, capdata_error(why));
			free(why);
			free(m);
		}
		/* the retarget above borrows from data: keep it alive */
		if (!*again)
			json_decref(data);
		else
			k->cr.route_hold = data;
		free(state);
		return rc;
	}
	free(state);
	dec = kp_field(k, *target, "decider");
	if (dec != NULL && *dec != '\0' && !vats_alive(&k->vats, dec))
		rc = splat(k, msg, capdata_error("vat terminated"));
	else if (dec != NULL && *dec != '\0' && vats_find(&k->vats, dec)->pipelining)
		*vat = vats_find(&k->vats, dec);
	else
		*queue = true;
	free(dec);
	return rc;
}

static int
route_decide(struct kernel *k, const json_t *item, const char **target,
    struct kvat **vat, bool *queue)
{
	const json_t	*msg = json_object_get(item, "msg");
	char		*owner;
	bool		 again = true;
	int		 rc = STORE_OK;

	*target = json_string_value(json_object_get(item, "target"));
	*vat = NULL;
	*queue = false;
	for (int hops = 0; again && hops < 2 && *target != NULL; hops++) {
		again = false;
		if (strncmp(*target, "kp", 2) == 0) {
			rc = route_to_promise(k, target, msg, vat, queue, &again);
			continue;
		}
		owner = kp_field(k, *target, "owner");
		if (owner == NULL || !vats_alive(&k->vats, owner))
			rc = splat(k, msg, capdata_error("vat terminated"));
		else
			*vat = vats_find(&k->vats, owner);
		free(owner);
	}
	return rc;
}

static void
route_done(struct kernel *k)
{
	json_decref(k->cr.route_hold);
	k->cr.route_hold = NULL;
}

/* A send dequeued from the run-queue: delivered, queued or splatted. */
static int
route_send(struct kernel *k, const json_t *item, struct kvat **vat,
    json_t **vdo)
{
	const json_t	*msg = json_object_get(item, "msg");
	const char	*target;
	bool		 queue;
	int		 rc = route_decide(k, item, &target, vat, &queue);

	/* delivered or splatted, the message no longer holds its krefs;
	 * queued on a promise, it keeps them */
	if (rc == STORE_OK && queue)
		rc = kp_queue_message(k, target, msg);
	else if (rc == STORE_OK)
		rc = kref_decref_event(k, item);
	if (rc == STORE_OK && *vat != NULL)
		rc = deliver_send(k, *vat, target, msg, vdo);
	if (rc != STORE_OK)
		*vat = NULL;
	route_done(k);
	return rc;
}

/*
 * kpid and, depth first, every settled promise its data mentions, into
 * seen (kpid -> data) in the order a recursive walk would visit them.
 * The walk is iterative, over a stack of promises still to visit (pushed
 * in reverse so the first slot is visited first): a vat can build a chain
 * of any length, and the daemon's own stack must not depend on it.
 */
static bool
is_kpid(const json_t *slot)
{
	const char *s = json_string_value(slot);

	return s != NULL && strncmp(s, "kp", 2) == 0;
}

/* Visit kp: record its data in seen, push the promises it mentions. */
static int
visit_settled(struct kernel *k, const char *kp, json_t *seen, json_t *todo)
{
	char	*state = kp_field(k, kp, "state");
	json_t	*data, *slots;
	size_t	 i;
	int	 rc = STORE_OK;

	if (state != NULL && strcmp(state, "unresolved") != 0 &&
	    json_object_get(seen, kp) == NULL) {
		data = kp_data(k, kp);
		if (json_object_set(seen, kp, data) != 0)
			rc = STORE_ENOMEM;
		slots = json_object_get(data, "slots");
		for (i = json_array_size(slots); rc == STORE_OK && i-- > 0;)
			if (is_kpid(json_array_get(slots, i)) &&
			    json_array_append(todo, json_array_get(slots, i)))
				rc = STORE_ENOMEM;
		json_decref(data);
	}
	free(state);
	return rc;
}

static int
collect_settled(struct kernel *k, const char *kpid, json_t *seen)
{
	json_t	*todo = json_array();
	size_t	 n;
	char	*kp;
	int	 rc = STORE_OK;

	if (todo == NULL || json_array_append_new(todo, json_string(kpid)))
		rc = STORE_ENOMEM;
	while (rc == STORE_OK && (n = json_array_size(todo)) > 0) {
		kp = strdup(json_string_value(json_array_get(todo, n - 1)));
		json_array_remove(todo, n - 1);
		rc = kp ? visit_settled(k, kp, seen, todo) : STORE_ENOMEM;
		free(kp);
	}
	json_decref(todo);
	return rc;
}

static int
route_notify(struct kernel *k, const json_t *item, struct kvat **vat,
    json_t **vdo)
{
	const char	*vid = json_string_value(json_object_get(item, "vatID"));
	const char	*kpid = json_string_value(json_object_get(item, "kpid"));
	struct kvat	*v = vid ? vats_find(&k->vats, vid) : NULL;
	json_t		*seen, *list, *data, *cd;
	const char	*kp;
	char		 key[96], *have, *vpid, *state;
	int		 rc = STORE_OK;

	kstat_add(k, KS_DISPATCHES, 1);		/* SwingSet's processNotify */
	if ((rc = kref_decref_event(k, item)) != STORE_OK)
		return rc;
	if (v == NULL || kpid == NULL || !vats_alive(&k->vats, vid))
		return STORE_OK;
	kstat_add(k, KS_DISPATCH_NOTIFY, 1);
	snprintf(key, sizeof(key), "%s.c.%s", v->id, kpid);
	if ((have = kv_get(k->st, key)) == NULL)
		return STORE_OK;	/* the vat let go of it already */
	free(have);
	if ((seen = json_object()) == NULL ||
	    (rc = collect_settled(k, kpid, seen)) != STORE_OK) {
		json_decref(seen);
		return rc != STORE_OK ? rc : STORE_ENOMEM;
	}
	list = json_array();
	json_object_foreach(seen, kp, data) {
		if ((rc = clist_to_vref(k, v, kp, &vpid)) != STORE_OK)
			break;
		state = kp_field(k, kp, "state");
		cd = clist_capdata_to_vat(k, v, data);
		json_array_append_new(list, json_pack("[s, b, o]", vpid,
		    state && strcmp(state, "rejected") == 0, cd));
		free(state);
		free(vpid);
	}
	json_object_foreach(seen, kp, data)
		if (rc == STORE_OK)
			rc = clist_forget(k, v, kp);
	if (rc == STORE_OK && json_array_size(list) > 0) {
		*vat = v;
		*vdo = json_pack("[s, O]", "notify", list);
	}
	json_decref(list);
	json_decref(seen);
	return rc;
}

static int
route_start_vat(struct kernel *k, const json_t *item, struct kvat **vat,
    json_t **vdo)
{
	const char	*vid = json_string_value(json_object_get(item, "vatID"));
	char		 key[64];
	json_t		*params, *cd;

	if (vid == NULL || !vats_alive(&k->vats, vid))
		return STORE_OK;
	*vat = vats_find(&k->vats, vid);
	snprintf(key, sizeof(key), "%s.vatParameters", vid);
	if ((params = kv_get_json(k->st, key)) == NULL)
		params = json_pack("{s:s, s:[]}", "body", "#{}", "slots");
	cd = params ? clist_capdata_to_vat(k, *vat, params) : NULL;
	json_decref(params);
	if (cd == NULL) {
		*vat = NULL;
		return STORE_ENOMEM;
	}
	*vdo = json_pack("[s, o]", "startVat", cd);
	return *vdo ? STORE_OK : STORE_ENOMEM;
}

/*
 * Handle one run-queue item inside the open crank.  On STORE_OK, *vat and
 * *vdo (new reference) name the delivery to make, or are NULL when the
 * item needed none.
 */
int
kroute_item(struct kernel *k, json_t *item, struct kvat **vat, json_t **vdo)
{
	const char *type = json_string_value(json_object_get(item, "type"));

	*vat = NULL;
	*vdo = NULL;
	if (type == NULL)
		return STORE_OK;
	if (strcmp(type, "send") == 0) {
		int rc = route_send(k, item, vat, vdo);

		if (rc == STORE_OK && *vdo != NULL) {	/* processSend */
			kstat_add(k, KS_DISPATCHES, 1);
			kstat_add(k, KS_DISPATCH_DELIVER, 1);
		}
		return rc;
	}
	if (strcmp(type, "notify") == 0)
		return route_notify(k, item, vat, vdo);
	if (strcmp(type, "startVat") == 0)
		return route_start_vat(k, item, vat, vdo);
	return STORE_OK;
}

/* A send whose target promise turned out to be an object: the count
 * moves from the one to the other; the rest of its counts stay. */
static int
retarget(struct kernel *k, const json_t *item, const char *target)
{
	const char	*was = json_string_value(json_object_get(item,
			    "target"));
	int		 rc;

	if (was == NULL || strcmp(was, target) == 0)
		return STORE_OK;
	rc = kref_decref(k, was, 0);
	return rc == STORE_OK ? kref_incref(k, target, 0) : rc;
}

/*
 * The routing crank for the acceptance queue's head item (borrowed),
 * inside the open crank: a send goes where route_decide() says, its
 * target rewritten when it was a promise resolved to an object; any
 * other event joins the run-queue unchanged.  No vat is involved.
 */
int
kroute_accept(struct kernel *k, const json_t *item)
{
	const char	*type = json_string_value(json_object_get(item, "type"));
	const char	*target;
	struct kvat	*vat;
	json_t		*moved;
	bool		 queue;
	int		 rc;

	if (type == NULL || strcmp(type, "send") != 0)
		return kst_run_append(k, item);
	rc = route_decide(k, item, &target, &vat, &queue);
	if (rc == STORE_OK && queue)
		rc = kp_queue_message(k, target, json_object_get(item, "msg"));
	else if (rc == STORE_OK && vat != NULL) {
		rc = retarget(k, item, target);
		moved = json_pack("{s:s, s:s, s:O}", "type", "send", "target",
		    target, "msg", json_object_get(item, "msg"));
		if (rc == STORE_OK)
			rc = moved ? kst_run_append(k, moved) : STORE_ENOMEM;
		json_decref(moved);
	} else if (rc == STORE_OK)	/* splatted: its krefs are let go */
		rc = kref_decref_event(k, item);
	route_done(k);
	return rc;
}
