/*
 * vatadmin_device.c — the kernel's vatAdmin device (kernel-semantics.md
 * §11.1), native: it exists when a static vat named vatAdmin does, and is
 * reached by that vat's callNow syscalls.  Its root node d+0 creates vats
 * (the request is queued; kcreate.c runs it), hands out bundlecaps, and
 * terminates vats; bundlecaps d+1, d+2, … answer getBundleID/getBundle.
 *
 * A method is answered ["ok", capdata] or ["error", message]; an error is
 * the caller's to handle (the vat's method throws), never vat-fatal.
 * Meter methods act on the kernel's meters (kmeter.c).
 * Device state: dN.vs.nextDev, dN.vs.id.<bundleID> = d+n and
 * dN.vs.slot.d+n = bundleID; its node krefs: kdM.owner = dN,
 * dN.c.kdM = d+n, dN.c.d+n = kdM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bundles.h"
#include "daemon/kernel.h"
#include "protocol/smallcaps.h"

static json_t *
dev_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
dev_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL;
	json_t	*r;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	r = json_pack("[s, s]", "error", msg ? msg : "vatAdmin device error");
	free(msg);
	return r;
}

static json_t *
dev_ok(json_t *capdata)
{
	return capdata ? json_pack("[s, o]", "ok", capdata) : NULL;
}

static json_t *
dev_ok_string(const char *s)
{
	json_t *v = json_string(s), *cd = v ? km_data(v) : NULL;

	json_decref(v);
	return dev_ok(cd);
}

static json_t *
dev_ok_undefined(void)
{
	return dev_ok(json_pack("{s:s, s:[]}", "body", "#\"#undefined\"",
	    "slots"));
}

/* A node of the device: its kref, made on first use. */
static int
dev_node(struct kernel *k, const char *dev, const char *dref, char **kref)
{
	char		 key[192];
	uint64_t	 n;
	int		 rc;

	snprintf(key, sizeof(key), "%s.c.%s", dev, dref);
	if ((*kref = kst_get(k, key)) != NULL)
		return STORE_OK;
	if ((rc = kst_alloc(k, "kd.nextID", 30, &n)) != STORE_OK)
		return rc;
	if (asprintf(kref, "kd%" PRIu64, n) < 0) {
		*kref = NULL;
		return STORE_ENOMEM;
	}
	if ((rc = kst_put(k, key, *kref)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.c.%s", dev, *kref);
	if ((rc = kst_put(k, key, dref)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.owner", *kref);
	return kst_put(k, key, dev);
}

/* When the vatAdmin device exists: append it and its root node's kref to
 * the bootstrap message's device record. */
int
vad_genesis(struct kernel *k, json_t *names, json_t *krefs)
{
	char	*dev = kst_get(k, "device.name.vatAdmin"), *kd = NULL;
	int	 rc = STORE_OK;

	if (dev != NULL && (rc = dev_node(k, dev, "d+0", &kd)) == STORE_OK) {
		json_array_append_new(names, json_string("vatAdmin"));
		json_array_append_new(krefs, json_string(kd));
	}
	free(dev);
	free(kd);
	return rc;
}

/* The bundlecap for an installed bundle (allocated on first use), as
 * the method's answer; undefined when the bundle is not installed. */
static json_t *
bundlecap(struct kernel *k, const char *dev, const char *id)
{
	char	 key[256], *dref, *kd = NULL, *next;
	uint64_t n;
	json_t	*b, *cd;
	int	 rc = STORE_OK;

	snprintf(key, sizeof(key), "%s.vs.id.%s", dev, id);
	if ((dref = kst_get(k, key)) == NULL) {
		if ((b = bundle_get(k->st, id)) == NULL)
			return dev_ok_undefined();
		json_decref(b);
		snprintf(key, sizeof(key), "%s.vs.nextDev", dev);
		next = kst_get(k, key);
		n = next ? strtoull(next, NULL, 10) : 1;
		free(next);
		rc = kst_putf(k, key, "%" PRIu64, n + 1);
		if (rc == STORE_OK && asprintf(&dref, "d+%" PRIu64, n) < 0) {
			dref = NULL;
			rc = STORE_ENOMEM;
		}
		snprintf(key, sizeof(key), "%s.vs.id.%s", dev, id);
		if (rc == STORE_OK)
			rc = kst_put(k, key, dref);
		snprintf(key, sizeof(key), "%s.vs.slot.%s", dev, dref ? dref :
		    "");
		if (rc == STORE_OK)
			rc = kst_put(k, key, id);
	}
	if (rc == STORE_OK)
		rc = dev_node(k, dev, dref, &kd);
	free(dref);
	if (rc != STORE_OK) {
		free(kd);
		return ksys_store_failed(k, rc);
	}
	cd = json_pack("{s:s, s:[s]}", "body", "#\"$0.Alleged: device node\"",
	    "slots", kd);
	free(kd);
	return dev_ok(cd);
}

static char *
named_bundle(struct kernel *k, const char *name)
{
	char *key, *id = NULL;

	if (asprintf(&key, "namedBundleID.%s", name) >= 0) {
		id = kst_get(k, key);
		free(key);
	}
	return id;
}

/* createByBundle: install the bundle, then as createByBundleID. */
static json_t *
create_by_bundle(struct kernel *k, const json_t *args, const json_t *argv)
{
	json_t	*bundle = smallcaps_decode_plain(json_array_get(argv, 0)), *r;
	char	*id = NULL, *vid = NULL, *why = NULL;
	int	 rc;

	if (!json_is_object(bundle)) {
		json_decref(bundle);
		return dev_error("createByBundle: the bundle must be a record "
		    "of plain data");
	}
	rc = bundle_install(k->st, bundle, &id);
	json_decref(bundle);
	if (rc == STORE_OK)
		rc = kcreate_request(k, id, json_array_get(argv, 1), args,
		    &vid, &why);
	r = rc != STORE_OK ? ksys_store_failed(k, rc) : why ?
	    dev_error("createByBundle: %s", why) : dev_ok_string(vid);
	free(id);
	free(vid);
	free(why);
	return r;
}

static json_t *
create_by_id(struct kernel *k, const json_t *args, const json_t *argv)
{
	const char	*id = smallcaps_decode_string(json_array_get(argv, 0));
	char		*vid = NULL, *why = NULL;
	json_t		*r;
	int		 rc;

	if (id == NULL || !bundle_id_valid(id))
		return dev_error("createByBundleID: the first argument must "
		    "be a bundle ID (b0- or b1- and hex digits)");
	rc = kcreate_request(k, id, json_array_get(argv, 1), args, &vid,
	    &why);
	r = rc != STORE_OK ? ksys_store_failed(k, rc) : why ?
	    dev_error("createByBundleID: %s", why) : dev_ok_string(vid);
	free(vid);
	free(why);
	return r;
}

static json_t *
terminate(struct kernel *k, const json_t *args, const json_t *argv)
{
	const char	*vid = smallcaps_decode_string(json_array_get(argv, 0));
	json_t		*reason;
	char		*why = NULL;
	int		 rc;

	if (vid == NULL)
		return dev_error("terminateWithFailure: the first argument "
		    "must be a vat ID");
	if ((reason = km_extract(args, json_array_get(argv, 1))) == NULL)
		return dev_error("terminateWithFailure: bad reason");
	rc = kcreate_terminate(k, vid, reason, &why);
	json_decref(reason);
	if (rc != STORE_OK)
		return ksys_store_failed(k, rc);
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
meter_record(struct kernel *k, const char *id)
{
	bool		 unl;
	uint64_t	 rem, thr;
	char		*body = NULL;
	json_t		*cd;

	if (kmeter_get(k, id, &unl, &rem, &thr) == -1)
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
meter_method(struct kernel *k, const char *method, const json_t *argv)
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
		rc = kmeter_create(k, unl, a, b, &nid);
		r = rc != STORE_OK ? ksys_store_failed(k, rc) :
		    dev_ok_string(nid);
		free(nid);
		return r;
	}
	if (id == NULL)
		return dev_error("%s: the first argument must be a meter ID",
		    method);
	if (strcmp(method, "getMeter") == 0)
		return meter_record(k, id);
	if (!nat_arg(json_array_get(argv, 1), &a))
		return dev_error("%s: the amount must be a bigint from 0 to "
		    "2^64-1", method);
	rc = strcmp(method, "addMeterRemaining") == 0 ? kmeter_add(k, id, a) :
	    kmeter_set_threshold(k, id, a);
	if (rc == STORE_NOTFOUND)
		return dev_error("%s: no meter '%s'", method, id);
	return rc != STORE_OK ? ksys_store_failed(k, rc) : dev_ok_undefined();
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
root_method(struct kernel *k, const char *dev, const char *method,
    const json_t *args, const json_t *argv)
{
	const char	*s = smallcaps_decode_string(json_array_get(argv, 0));
	char		*id;
	json_t		*r;

	if (strcmp(method, "createByBundleID") == 0)
		return create_by_id(k, args, argv);
	if (strcmp(method, "createByBundle") == 0)
		return create_by_bundle(k, args, argv);
	if (strcmp(method, "terminateWithFailure") == 0)
		return terminate(k, args, argv);
	if (strcmp(method, "getBundleCap") == 0) {
		if (s == NULL || !bundle_id_valid(s))
			return dev_error("getBundleCap: not a bundle ID");
		return bundlecap(k, dev, s);
	}
	if (strcmp(method, "getNamedBundleCap") == 0 ||
	    strcmp(method, "getBundleIDByName") == 0) {
		if (s == NULL || (id = named_bundle(k, s)) == NULL)
			return dev_error("unregistered bundle name '%s'",
			    s ? s : "?");
		r = method[3] == 'N' ? bundlecap(k, dev, id) :
		    dev_ok_string(id);
		free(id);
		return r;
	}
	if (is_meter_method(method))
		return meter_method(k, method, argv);
	return dev_error("vatAdmin device: unknown method '%s'", method);
}

static json_t *
bundlecap_method(struct kernel *k, const char *dev, const char *dref,
    const char *method)
{
	char	 key[192], *id;
	json_t	*b, *r;

	snprintf(key, sizeof(key), "%s.vs.slot.%s", dev, dref);
	if ((id = kst_get(k, key)) == NULL)
		return dev_error("vatAdmin device: no node %s", dref);
	if (strcmp(method, "getBundleID") == 0)
		r = dev_ok_string(id);
	else if (strcmp(method, "getBundle") == 0) {
		b = bundle_get(k->st, id);
		r = b ? dev_ok(km_data(b)) : dev_error("bundle %s is missing "
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
vad_invoke(struct kernel *k, const char *dev, const char *dref,
    const char *method, const json_t *args)
{
	char	*va = kst_get(k, "device.name.vatAdmin");
	json_t	*argv = km_body(args), *r;

	if (va == NULL || strcmp(va, dev) != 0)
		r = dev_error("device %s has no implementation in swingsetd",
		    dev);
	else if (!json_is_array(argv))
		r = dev_error("vatAdmin device: %s: arguments must be an "
		    "array", method);
	else if (strcmp(dref, "d+0") == 0)
		r = root_method(k, dev, method, args, argv);
	else
		r = bundlecap_method(k, dev, dref, method);
	free(va);
	json_decref(argv);
	return r;
}
