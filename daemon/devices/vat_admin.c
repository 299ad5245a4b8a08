/*
 * vat_admin.c — the kernel's vatAdmin device (kernel-semantics.md
 * §11.1), native: it exists when a static vat named vatAdmin does, and is
 * reached by that vat's callNow syscalls.  Its root node d+0 creates vats
 * (the kernel queues the request and runs it: daemon/kernel/create.c),
 * hands out bundlecaps, and terminates vats; bundlecaps d+1, d+2, …
 * answer getBundleID/getBundle.
 *
 * A method is answered ["ok", capdata] or ["error", message]; an error is
 * the caller's to handle (the vat's method throws), never vat-fatal.
 * Meter methods act on the kernel's meters (daemon/kernel/meter.c).
 * Device state: dN.vs.nextDev, dN.vs.id.<bundleID> = d+n and
 * dN.vs.slot.d+n = bundleID; its node krefs: kdM.owner = dN,
 * dN.c.kdM = d+n, dN.c.d+n = kdM.  SwingSet's device keeps them with
 * vatstore syscalls, which its kernel counts (kernelStats): each access
 * here is counted as the syscall it would have been (dev_count).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bundles/bundles.h"
#include "daemon/devices/devices_impl.h"
#include "protocol/capdata.h"
#include "protocol/smallcaps.h"

/* The bundlecap for an installed bundle (allocated on first use), as
 * the method's answer; undefined when the bundle is not installed. */
static json_t *
bundlecap(const struct device_kernel *dk, const char *dev, const char *id)
{
	char	 key[256], *dref, *kd = NULL, *next;
	uint64_t n;
	json_t	*b, *cd;
	int	 rc = STORE_OK;

	snprintf(key, sizeof(key), "%s.vs.id.%s", dev, id);
	dev_count(dk, "vatstoreGet");
	if ((dref = kv_get(dk->st, key)) == NULL) {
		if ((b = bundle_get(dk->st, id)) == NULL)
			return dev_ok_undefined();
		json_decref(b);
		/* allocateDeviceNode's get and set, then two sets */
		dev_count(dk, "vatstoreGet");
		for (int i = 0; i < 3; i++)
			dev_count(dk, "vatstoreSet");
		snprintf(key, sizeof(key), "%s.vs.nextDev", dev);
		next = kv_get(dk->st, key);
		n = next ? strtoull(next, NULL, 10) : 1;
		free(next);
		rc = kv_putf(dk->st, key, "%" PRIu64, n + 1);
		if (rc == STORE_OK && asprintf(&dref, "d+%" PRIu64, n) < 0) {
			dref = NULL;
			rc = STORE_ENOMEM;
		}
		snprintf(key, sizeof(key), "%s.vs.id.%s", dev, id);
		if (rc == STORE_OK)
			rc = kv_put(dk->st, key, dref);
		snprintf(key, sizeof(key), "%s.vs.slot.%s", dev, dref ? dref :
		    "");
		if (rc == STORE_OK)
			rc = kv_put(dk->st, key, id);
	}
	if (rc == STORE_OK)
		rc = dev_node(dk, dev, dref, &kd);
	free(dref);
	if (rc != STORE_OK) {
		free(kd);
		return dk->store_failed(dk->arg, rc);
	}
	cd = json_pack("{s:s, s:[s]}", "body", "#\"$0.Alleged: device node\"",
	    "slots", kd);
	free(kd);
	return dev_ok(cd);
}

static char *
named_bundle(const struct device_kernel *dk, const char *name)
{
	char *key, *id = NULL;

	if (asprintf(&key, "namedBundleID.%s", name) >= 0) {
		id = kv_get(dk->st, key);
		free(key);
	}
	return id;
}

/* createByBundle: install the bundle, then as createByBundleID. */
static json_t *
create_by_bundle(const struct device_kernel *dk,
    const json_t *args, const json_t *argv)
{
	json_t	*bundle = smallcaps_decode_plain(json_array_get(argv, 0)), *r;
	char	*id = NULL, *vid = NULL, *why = NULL;
	int	 rc;

	if (!json_is_object(bundle)) {
		json_decref(bundle);
		return dev_error("createByBundle: the bundle must be a record "
		    "of plain data");
	}
	rc = bundle_install(dk->st, bundle, &id);
	json_decref(bundle);
	if (rc == STORE_OK)
		rc = dk->create_vat(dk->arg, id, json_array_get(argv, 1), args,
		    &vid, &why);
	r = rc != STORE_OK ? dk->store_failed(dk->arg, rc) : why ?
	    dev_error("createByBundle: %s", why) : dev_ok_string(vid);
	free(id);
	free(vid);
	free(why);
	return r;
}

static json_t *
create_by_id(const struct device_kernel *dk,
    const json_t *args, const json_t *argv)
{
	const char	*id = smallcaps_decode_string(json_array_get(argv, 0));
	char		*vid = NULL, *why = NULL;
	json_t		*r;
	int		 rc;

	if (id == NULL || !bundle_id_valid(id))
		return dev_error("createByBundleID: the first argument must "
		    "be a bundle ID (b0- or b1- and hex digits)");
	rc = dk->create_vat(dk->arg, id, json_array_get(argv, 1), args, &vid,
	    &why);
	r = rc != STORE_OK ? dk->store_failed(dk->arg, rc) : why ?
	    dev_error("createByBundleID: %s", why) : dev_ok_string(vid);
	free(vid);
	free(why);
	return r;
}

static json_t *
terminate(const struct device_kernel *dk,
    const json_t *args, const json_t *argv)
{
	const char	*vid = smallcaps_decode_string(json_array_get(argv, 0));
	json_t		*reason;
	char		*why = NULL;
	int		 rc;

	if (vid == NULL)
		return dev_error("terminateWithFailure: the first argument "
		    "must be a vat ID");
	if ((reason = capdata_extract(args, json_array_get(argv, 1))) == NULL)
		return dev_error("terminateWithFailure: bad reason");
	rc = dk->terminate_vat(dk->arg, vid, reason, &why);
	json_decref(reason);
	if (rc != STORE_OK)
		return dk->store_failed(dk->arg, rc);
	if (why != NULL) {
		json_t *r = dev_error("terminateWithFailure: %s", why);

		free(why);
		return r;
	}
	return dev_ok_undefined();
}

/* A smallcaps bigint ("+123") that fits 64 bits, into *out. */
static bool
nat_arg(const json_t *v, uint64_t *out)
{
	const char	*s = json_string_value(v);
	char		*end;

	if (s == NULL || s[0] != '+' || s[1] < '0' || s[1] > '9')
		return false;
	errno = 0;
	*out = strtoull(s + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

/* getMeter's answer: {remaining, threshold} as bigints ("unlimited"). */
static json_t *
meter_record(const struct device_kernel *dk, const char *id)
{
	bool		 unl;
	uint64_t	 rem, thr;
	char		*body = NULL;
	json_t		*cd;

	if (dk->meter_get(dk->arg, id, &unl, &rem, &thr) == -1)
		return dev_error("getMeter: no meter '%s'", id);
	if ((unl ? asprintf(&body, "#{\"remaining\":\"unlimited\","
	    "\"threshold\":\"+%" PRIu64 "\"}", thr) : asprintf(&body,
	    "#{\"remaining\":\"+%" PRIu64 "\",\"threshold\":\"+%" PRIu64
	    "\"}", rem, thr)) < 0)
		return NULL;
	cd = json_pack("{s:s, s:[]}", "body", body, "slots");
	free(body);
	return dev_ok(cd);
}

/* createMeter, createUnlimitedMeter, addMeterRemaining,
 * setMeterThreshold, getMeter (kernel-semantics §11.1). */
static json_t *
meter_method(const struct device_kernel *dk,
    const char *method, const json_t *argv)
{
	const char	*id = smallcaps_decode_string(json_array_get(argv, 0));
	uint64_t	 a = 0, b = 0;
	char		*nid = NULL;
	json_t		*r;
	int		 rc;

	if (strcmp(method, "createMeter") == 0 || strcmp(method,
	    "createUnlimitedMeter") == 0) {
		bool unl = method[6] == 'U';

		if (!unl && (!nat_arg(json_array_get(argv, 0), &a) ||
		    !nat_arg(json_array_get(argv, 1), &b)))
			return dev_error("createMeter: remaining and threshold "
			    "must be bigints from 0 to 2^64-1");
		rc = dk->meter_create(dk->arg, unl, a, b, &nid);
		r = rc != STORE_OK ? dk->store_failed(dk->arg, rc) :
		    dev_ok_string(nid);
		free(nid);
		return r;
	}
	if (id == NULL)
		return dev_error("%s: the first argument must be a meter ID",
		    method);
	if (strcmp(method, "getMeter") == 0)
		return meter_record(dk, id);
	if (!nat_arg(json_array_get(argv, 1), &a))
		return dev_error("%s: the amount must be a bigint from 0 to "
		    "2^64-1", method);
	rc = strcmp(method, "addMeterRemaining") == 0 ? dk->meter_add(dk->arg, id, a) :
	    dk->meter_set_threshold(dk->arg, id, a);
	if (rc == STORE_NOTFOUND)
		return dev_error("%s: no meter '%s'", method, id);
	return rc != STORE_OK ? dk->store_failed(dk->arg, rc) : dev_ok_undefined();
}

static bool
is_meter_method(const char *m)
{
	static const char *const names[] = { "createMeter",
	    "createUnlimitedMeter", "addMeterRemaining", "setMeterThreshold",
	    "getMeter" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(m, names[i]) == 0)
			return true;
	return false;
}

static json_t *
root_method(const struct device_kernel *dk, const char *dev, const char *method,
    const json_t *args, const json_t *argv)
{
	const char	*s = smallcaps_decode_string(json_array_get(argv, 0));
	char		*id;
	json_t		*r;

	if (strcmp(method, "createByBundleID") == 0)
		return create_by_id(dk, args, argv);
	if (strcmp(method, "createByBundle") == 0)
		return create_by_bundle(dk, args, argv);
	if (strcmp(method, "terminateWithFailure") == 0)
		return terminate(dk, args, argv);
	if (strcmp(method, "getBundleCap") == 0) {
		if (s == NULL || !bundle_id_valid(s))
			return dev_error("getBundleCap: not a bundle ID");
		return bundlecap(dk, dev, s);
	}
	if (strcmp(method, "getNamedBundleCap") == 0 ||
	    strcmp(method, "getBundleIDByName") == 0) {
		if (s == NULL || (id = named_bundle(dk, s)) == NULL)
			return dev_error("unregistered bundle name '%s'",
			    s ? s : "?");
		r = method[3] == 'N' ? bundlecap(dk, dev, id) :
		    dev_ok_string(id);
		free(id);
		return r;
	}
	if (is_meter_method(method))
		return meter_method(dk, method, argv);
	return dev_error("vatAdmin device: unknown method '%s'", method);
}

static json_t *
bundlecap_method(const struct device_kernel *dk,
    const char *dev, const char *dref,
    const char *method)
{
	char	 key[192], *id;
	json_t	*b, *r;

	snprintf(key, sizeof(key), "%s.vs.slot.%s", dev, dref);
	dev_count(dk, "vatstoreGet");
	if ((id = kv_get(dk->st, key)) == NULL)
		return dev_error("vatAdmin device: no node %s", dref);
	if (strcmp(method, "getBundleID") == 0)
		r = dev_ok_string(id);
	else if (strcmp(method, "getBundle") == 0) {
		b = bundle_get(dk->st, id);
		r = b ? dev_ok(capdata_data(b)) : dev_error("bundle %s is missing "
		    "from the state", id);
		json_decref(b);
	} else
		r = dev_error("bundlecap: unknown method '%s'", method);
	free(id);
	return r;
}

/*
 * method(args) on node dref of device dev, inside the calling vat's
 * crank.  args is kernel capdata whose body is "#[…]".
 */
json_t *
vad_invoke(const struct device_kernel *dk, const char *dev, const char *dref,
    const char *method, const json_t *args)
{
	json_t	*argv = capdata_body(args), *r;

	if (!json_is_array(argv))
		r = dev_error("vatAdmin device: %s: arguments must be an "
		    "array", method);
	else if (strcmp(dref, "d+0") == 0)
		r = root_method(dk, dev, method, args, argv);
	else
		r = bundlecap_method(dk, dev, dref, method);
	json_decref(argv);
	return r;
}
