/*
 * syscall.c — a vat's syscalls, executed against the open crank
 * (worker-protocol.md §11, kernel-semantics.md §7–§8).  Every reference is
 * checked through the vat's c-list; a syscall that names what the vat
 * does not hold, resolves what it does not decide, or is malformed is
 * illegal: it is answered with SwingSet's "prepare to die" error and the
 * crank ends with the vat's termination.  Unlike SwingSet, which panics
 * the kernel on some of these (resolving a promise the vat imported but
 * does not decide), swingsetd always terminates the offending vat.
 *
 * Vatstore keys live under vN.vs.<key>, confined to the vat's own range.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"
static int
map_ref(struct kernel *k, struct kvat *v, const json_t *ref, char **kref)
{
	if (!ksys_ref_ok(ref))
		return 1;
	return clist_to_kref(k, v, json_string_value(ref), true, kref);
}

/*
 * The result promise of a send: a promise the vat just allocated (p+N
 * new to its c-list) — or, for a vat with enablePipelining, one it
 * already holds — unresolved and decided by this vat.  The run-queue
 * then holds the authority to resolve it (decider "").
 */
static json_t *
decide_result(struct kernel *k, struct kvat *v, const json_t *result,
    char **kpid)
{
	char	 kb[64], *dec, *state, *known;
	int	 rc;
	bool	 good;

	*kpid = NULL;
	if (json_is_null(result))
		return NULL;
	if (!ksys_ref_ok(result) || json_string_value(result)[0] != 'p')
		return ksys_illegal(k, v, "send: result is not a promise");
	if (!v->pipelining && asprintf(&known, "%s.c.%s", v->id,
	    json_string_value(result)) >= 0) {
		dec = kv_get(k->st, known);
		free(known);
		if (dec != NULL) {
			free(dec);
			return ksys_illegal(k, v, "send: result %s is not a "
			    "new promise", json_string_value(result));
		}
	}
	if ((rc = map_ref(k, v, result, kpid)) == 1)
		return ksys_illegal(k, v, "send: unknown result %s",
		    json_string_value(result));
	if (rc != STORE_OK)
		return ksys_store_failed(k, rc);
	snprintf(kb, sizeof(kb), "%s.decider", *kpid);
	dec = kv_get(k->st, kb);
	snprintf(kb, sizeof(kb), "%s.state", *kpid);
	state = kv_get(k->st, kb);
	good = dec != NULL && strcmp(dec, v->id) == 0 && state != NULL &&
	    strcmp(state, "unresolved") == 0;
	free(dec);
	free(state);
	if (!good)
		return ksys_illegal(k, v, "send: result %s is not an "
		    "unresolved promise decided by %s", *kpid, v->id);
	snprintf(kb, sizeof(kb), "%s.decider", *kpid);
	rc = kv_put(k->st, kb, "");
	return rc == STORE_OK ? NULL : ksys_store_failed(k, rc);
}

static json_t *
sys_send(struct kernel *k, struct kvat *v, json_t *vso)
{
	json_t	*msg = json_array_get(vso, 2), *err, *methargs, *item;
	char	*target = NULL, *kpid = NULL;
	bool	 good;
	int	 rc;

	if (json_array_size(vso) != 3 || !json_is_object(msg))
		return ksys_illegal(k, v, "send: malformed");
	if ((rc = map_ref(k, v, json_array_get(vso, 1), &target)) != STORE_OK)
		return rc == 1 ? ksys_illegal(k, v, "send: bad target") :
		    ksys_store_failed(k, rc);
	methargs = clist_capdata_to_kernel(k, v, json_object_get(msg,
	    "methargs"), &good);
	if (!good) {
		free(target);
		return ksys_illegal(k, v, "send: bad methargs or slot");
	}
	if ((err = decide_result(k, v, json_object_get(msg, "result"),
	    &kpid)) != NULL)
		goto out;
	item = json_pack("{s:s, s:s, s:{s:O, s:s?}}", "type", "send",
	    "target", target, "msg", "methargs", methargs, "result", kpid);
	rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;
	json_decref(item);
	err = rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
out:
	json_decref(methargs);
	free(target);
	free(kpid);
	return err;
}

static json_t *
sys_subscribe(struct kernel *k, struct kvat *v, json_t *vso)
{
	json_t	*ref = json_array_get(vso, 1);
	char	*kpid = NULL;
	int	 rc;

	if (json_array_size(vso) != 2 || !json_is_string(ref) ||
	    json_string_value(ref)[0] != 'p')
		return ksys_illegal(k, v, "subscribe: malformed");
	if ((rc = map_ref(k, v, ref, &kpid)) == STORE_OK)
		rc = kp_subscribe(k, kpid, v->id);
	free(kpid);
	if (rc == 1)
		return ksys_illegal(k, v, "subscribe: unknown promise %s",
		    json_string_value(ref));
	return rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
}

/* Check one [vpid, rejected, data] and translate it to kernel refs. */
static json_t *
resolution_check(struct kernel *k, struct kvat *v, json_t *r, json_t **kr)
{
	json_t		*data;
	char		 kb[64], *kpid = NULL, *dec, *state;
	const char	*single;
	bool		 good;
	int		 rc;

	*kr = NULL;
	if (!json_is_array(r) || json_array_size(r) != 3 ||
	    !json_is_boolean(json_array_get(r, 1)))
		return ksys_illegal(k, v, "resolve: malformed resolution");
	if ((rc = map_ref(k, v, json_array_get(r, 0), &kpid)) != STORE_OK)
		return rc == 1 ? ksys_illegal(k, v, "resolve: unknown promise") :
		    ksys_store_failed(k, rc);
	snprintf(kb, sizeof(kb), "%s.decider", kpid);
	dec = kv_get(k->st, kb);
	snprintf(kb, sizeof(kb), "%s.state", kpid);
	state = kv_get(k->st, kb);
	good = kpid[1] == 'p' && dec != NULL && strcmp(dec, v->id) == 0 &&
	    state != NULL && strcmp(state, "unresolved") == 0;
	free(dec);
	free(state);
	if (!good) {
		json_t *e = ksys_illegal(k, v, "resolve: %s is not an unresolved "
		    "promise decided by %s", kpid, v->id);
		free(kpid);
		return e;
	}
	data = clist_capdata_to_kernel(k, v, json_array_get(r, 2), &good);
	single = good ? capdata_single_slot(data) : NULL;
	if (!good || (json_is_false(json_array_get(r, 1)) && single != NULL &&
	    strncmp(single, "kp", 2) == 0)) {
		json_decref(data);
		free(kpid);
		return ksys_illegal(k, v, good ? "resolve: cannot resolve to a "
		    "promise" : "resolve: bad data");
	}
	*kr = json_pack("[s, O, o]", kpid, json_array_get(r, 1), data);
	free(kpid);
	return NULL;
}

static json_t *
sys_resolve(struct kernel *k, struct kvat *v, json_t *vso)
{
	json_t	*list = json_array_get(vso, 1), *r, *kr, *all = json_array();
	json_t	*seen = json_object(), *err = NULL;
	size_t	 i;
	int	 rc = STORE_OK;

	if (json_array_size(vso) != 2 || !json_is_array(list))
		err = ksys_illegal(k, v, "resolve: malformed");
	json_array_foreach(list, i, r) {
		if (err != NULL || (err = resolution_check(k, v, r, &kr)))
			break;
		if (json_object_get(seen, json_string_value(
		    json_array_get(kr, 0))) != NULL) {
			err = ksys_illegal(k, v, "resolve: %s listed twice",
			    json_string_value(json_array_get(kr, 0)));
			json_decref(kr);
			break;
		}
		json_object_set_new(seen, json_string_value(json_array_get(kr,
		    0)), json_true());
		json_array_append_new(all, kr);
	}
	json_decref(seen);
	json_array_foreach(all, i, kr)
		if (err == NULL && rc == STORE_OK)
			rc = clist_forget(k, v, json_string_value(
			    json_array_get(kr, 0)));
	json_array_foreach(all, i, kr)
		if (err == NULL && rc == STORE_OK)
			rc = kp_resolve(k, json_string_value(json_array_get(kr,
			    0)), json_is_true(json_array_get(kr, 1)),
			    json_array_get(kr, 2));
	json_decref(all);
	if (err == NULL)
		err = rc == STORE_OK ? ksys_ok(NULL) : ksys_store_failed(k, rc);
	return err;
}

static json_t *
sys_exit(struct kernel *k, struct kvat *v, json_t *vso)
{
	json_t	*info, *kinfo;
	bool	 good = false;

	if (json_array_size(vso) != 3 || !json_is_boolean(json_array_get(vso,
	    1)))
		return ksys_illegal(k, v, "exit: malformed");
	info = capdata_normalise(json_array_get(vso, 2));
	kinfo = info ? clist_capdata_to_kernel(k, v, info, &good) : NULL;
	json_decref(info);
	info = kinfo;
	if (info == NULL || !good) {
		json_decref(info);
		return ksys_illegal(k, v, "exit: bad info");
	}
	if (k->cr.exiting == 0) {
		k->cr.exiting = json_is_true(json_array_get(vso, 1)) ? 2 : 1;
		k->cr.exit_info = info;
	} else
		json_decref(info);
	return ksys_ok(NULL);
}

/* Does capdata (kernel slots) carry a promise? */
static bool
has_promise(const json_t *cd)
{
	json_t	*s;
	size_t	 i;

	json_array_foreach(json_object_get(cd, "slots"), i, s)
		if (strncmp(json_string_value(s), "kp", 2) == 0)
			return true;
	return false;
}

/* The device's answer, its slots translated for the vat. */
static json_t *
device_answer(struct kernel *k, struct kvat *v, json_t *r)
{
	json_t	*cd;

	if (r == NULL)
		return ksys_store_failed(k, STORE_ENOMEM);
	if (strcmp(json_string_value(json_array_get(r, 0)), "ok") != 0)
		return r;
	cd = clist_capdata_to_vat(k, v, json_array_get(r, 1));
	json_decref(r);
	return cd ? ksys_ok(cd) : ksys_store_failed(k, STORE_ENOMEM);
}

/*
 * ["callNow", dref, method, args]: a device invocation, synchronous,
 * inside this syscall (kernel-semantics §11).  The target must be a
 * device node the vat imported; promises may not be passed.
 */
static json_t *
sys_call_now(struct kernel *k, struct kvat *v, json_t *vso)
{
	const char	*method = json_string_value(json_array_get(vso, 2));
	json_t		*target = json_array_get(vso, 1), *args, *r;
	char		*kd = NULL, key[96], *dev = NULL, *dref = NULL;
	bool		 good;
	int		 rc;

	if (json_array_size(vso) != 4 || method == NULL ||
	    !ksys_ref_ok(target) || strncmp(json_string_value(target), "d-",
	    2) != 0)
		return ksys_illegal(k, v, "callNow: malformed");
	if ((rc = clist_to_kref(k, v, json_string_value(target), false, &kd))
	    != STORE_OK)
		return rc == 1 ? ksys_illegal(k, v, "callNow: unknown device "
		    "node %s", json_string_value(target)) :
		    ksys_store_failed(k, rc);
	args = clist_capdata_to_kernel(k, v, json_array_get(vso, 3), &good);
	if (!good || has_promise(args)) {
		free(kd);
		json_decref(args);
		return ksys_illegal(k, v, "callNow: %s", good ? "promises "
		    "cannot be passed to a device" : "bad args or slot");
	}
	snprintf(key, sizeof(key), "%s.owner", kd);
	if ((dev = kv_get(k->st, key)) != NULL) {
		snprintf(key, sizeof(key), "%s.c.%s", dev, kd);
		dref = kv_get(k->st, key);
	}
	rc = dref == NULL ? STORE_ESTATE : clist_device_import(k, dev, args);
	r = rc != STORE_OK ? ksys_store_failed(k, rc) :
	    device_answer(k, v, devices_invoke(&k->dk, dev, dref, method, args));
	free(kd);
	free(dev);
	free(dref);
	json_decref(args);
	return r;
}

json_t *
ksys_handle(struct kernel *k, struct kvat *v, json_t *vso)
{
	const char *tag = json_string_value(json_array_get(vso, 0));

	if (!json_is_array(vso) || tag == NULL)
		return ksys_illegal(k, v, "not a syscall (an array with a "
		    "type first)");
	kstat_syscall(k, tag);	/* an illegal one aborts the crank, and it */
	if (strcmp(tag, "send") == 0)
		return sys_send(k, v, vso);
	if (strcmp(tag, "subscribe") == 0)
		return sys_subscribe(k, v, vso);
	if (strcmp(tag, "resolve") == 0)
		return sys_resolve(k, v, vso);
	if (strcmp(tag, "exit") == 0)
		return sys_exit(k, v, vso);
	if (strcmp(tag, "callNow") == 0)
		return sys_call_now(k, v, vso);
	if (strncmp(tag, "vatstore", 8) == 0)
		return ksys_vatstore(k, v, tag + 8, vso);
	if (strcmp(tag, "dropImports") == 0 ||
	    strcmp(tag, "retireImports") == 0 ||
	    strcmp(tag, "retireExports") == 0 ||
	    strcmp(tag, "abandonExports") == 0)
		return ksys_gc(k, v, vso);
	return ksys_illegal(k, v, "unknown syscall '%s'", tag);
}
