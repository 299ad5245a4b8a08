/*
 * common.c — what every native device shares: the answers a method
 * gives (["ok", capdata] or ["error", message]), device nodes (their
 * krefs, made on first use), SwingSet's rules for the arguments that
 * cross (Nat bigints, object references), the list of devices swingsetd
 * implements, and the dispatch from a device ID to its implementation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/devices/devices_impl.h"
#include "protocol/capdata.h"
#include "protocol/log.h"

/* The devices swingsetd implements natively, by configured name. */
static const char *const native[] = { "bridge", "mailbox", "timer" };

json_t *
dev_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL;
	json_t	*r;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	r = json_pack("[s, s]", "error", msg ? msg : "device error");
	free(msg);
	return r;
}

/* A method that throws in SwingSet: the reason is logged, the vat gets
 * SwingSet's generic answer. */
json_t *
dev_thrown(const char *dev, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_info("device", "%s: invoke failed: %s", dev, msg ? msg : fmt);
	free(msg);
	return dev_error(DEV_INVOKE_FAILED);
}

json_t *
dev_ok(json_t *capdata)
{
	return capdata ? json_pack("[s, o]", "ok", capdata) : NULL;
}

json_t *
dev_ok_body(const char *body)
{
	return dev_ok(json_pack("{s:s, s:[]}", "body", body, "slots"));
}

json_t *
dev_ok_string(const char *s)
{
	json_t *v = json_string(s), *cd = v ? capdata_data(v) : NULL;

	json_decref(v);
	return dev_ok(cd);
}

json_t *
dev_ok_undefined(void)
{
	return dev_ok_body("#\"#undefined\"");
}

/* The object at dev.what in the kv (new reference): {} when there is
 * none, or NULL when memory ran out. */
json_t *
dev_get_obj(const struct device_kernel *dk, const char *dev, const char *what)
{
	char	 key[96];
	json_t	*v;

	snprintf(key, sizeof(key), "%s.%s", dev, what);
	if ((v = kv_get_json(dk->st, key)) != NULL && json_is_object(v))
		return v;
	json_decref(v);
	return json_object();
}

/* Write v at dev.what.  A store code. */
int
dev_put_obj(const struct device_kernel *dk, const char *dev, const char *what,
    const json_t *v)
{
	char key[96];

	snprintf(key, sizeof(key), "%s.%s", dev, what);
	return kv_put_json(dk->st, key, v);
}

/* Node dref of device dev: its kref, made on first use (kd.nextID,
 * kdN.owner = dev, dev.c.kdN = dref, dev.c.dref = kdN). */
int
dev_node(const struct device_kernel *dk, const char *dev, const char *dref,
    char **kref)
{
	char		 key[192];
	uint64_t	 n;
	int		 rc;

	snprintf(key, sizeof(key), "%s.c.%s", dev, dref);
	if ((*kref = kv_get(dk->st, key)) != NULL)
		return STORE_OK;
	if ((rc = kv_alloc(dk->st, "kd.nextID", 30, &n)) != STORE_OK)
		return rc;
	if (asprintf(kref, "kd%" PRIu64, n) < 0) {
		*kref = NULL;
		return STORE_ENOMEM;
	}
	if ((rc = kv_put(dk->st, key, *kref)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.c.%s", dev, *kref);
	if ((rc = kv_put(dk->st, key, dref)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%s.owner", *kref);
	if ((rc = kv_put(dk->st, key, dev)) == STORE_OK)
		dev_count(dk, "deviceNode");
	return rc;
}

/* Tell the kernel's statistics (see struct device_kernel's counted). */
void
dev_count(const struct device_kernel *dk, const char *what)
{
	if (dk->counted != NULL)
		dk->counted(dk->arg, what);
}

/*
 * @endo/nat's Nat(v) for a smallcaps value: a bigint ("+123") or a
 * non-negative safe-integer number; swingsetd keeps 64 bits (a bigger
 * bigint is refused like a negative one).
 */
bool
dev_nat(const json_t *v, uint64_t *out)
{
	const char	*s = json_string_value(v);
	char		*end;
	double		 d;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 9007199254740991LL) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d >= 0 && d <= 9007199254740991.0 && d == (double)(uint64_t)d) {
			*out = (uint64_t)d;
			return true;
		}
		return false;
	}
	if (s == NULL || s[0] != '+' || s[1] < '0' || s[1] > '9')
		return false;
	errno = 0;
	*out = strtoull(s + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

/* The kref an argument names when it is an object reference ("$N…"
 * with slot N a ko), else NULL (borrowed from args). */
const char *
dev_slot_arg(const json_t *args, const json_t *v)
{
	const char	*s = json_string_value(v), *kref;
	char		*end;
	unsigned long	 n;

	if (s == NULL || s[0] != '$' || s[1] < '0' || s[1] > '9')
		return NULL;
	errno = 0;
	n = strtoul(s + 1, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '.'))
		return NULL;
	kref = json_string_value(json_array_get(json_object_get(args,
	    "slots"), n));
	return kref != NULL && strncmp(kref, "ko", 2) == 0 ? kref : NULL;
}

bool
devices_native(const char *name)
{
	for (size_t i = 0; i < sizeof(native) / sizeof(native[0]); i++)
		if (strcmp(name, native[i]) == 0)
			return true;
	return false;
}

const char *
devices_native_list(void)
{
	return "bridge, mailbox, timer";
}

/* The configured name of device dev (malloc'd), or NULL. */
static char *
device_name(const struct device_kernel *dk, const char *dev)
{
	json_t		*names = kv_get_json(dk->st, "device.names"), *n;
	char		 key[160], *id;
	char		*out = NULL;
	size_t		 i;

	json_array_foreach(names, i, n) {
		if (!json_is_string(n) || (size_t)snprintf(key, sizeof(key),
		    "device.name.%s", json_string_value(n)) >= sizeof(key))
			continue;
		id = kv_get(dk->st, key);
		if (id != NULL && strcmp(id, dev) == 0)
			out = strdup(json_string_value(n));
		free(id);
		if (out != NULL)
			break;
	}
	json_decref(names);
	return out;
}

/* The ID of the device named name (malloc'd), or NULL. */
char *
devices_id(const struct device_kernel *dk, const char *name)
{
	char key[160];

	if ((size_t)snprintf(key, sizeof(key), "device.name.%s", name) >=
	    sizeof(key))
		return NULL;
	return kv_get(dk->st, key);
}

json_t *
devices_invoke(const struct device_kernel *dk, const char *dev,
    const char *dref, const char *method, const json_t *args)
{
	char	*name = device_name(dk, dev);
	json_t	*r;

	if (name != NULL && strcmp(name, "vatAdmin") == 0)
		r = vad_invoke(dk, dev, dref, method, args);
	else if (name != NULL && strcmp(name, "timer") == 0)
		r = timer_invoke(dk, dev, dref, method, args);
	else if (name != NULL && strcmp(name, "mailbox") == 0)
		r = mailbox_invoke(dk, dev, dref, method, args);
	else if (name != NULL && strcmp(name, "bridge") == 0)
		r = bridge_invoke(dk, dev, dref, method, args);
	else
		r = dev_error("device %s has no implementation in swingsetd",
		    dev);
	free(name);
	return r;
}

/* Every device's root node (d+0), in device.names order (sorted by
 * name), appended to the bootstrap message's device record. */
int
devices_genesis(const struct device_kernel *dk, json_t *names, json_t *krefs)
{
	json_t	*all = kv_get_json(dk->st, "device.names"), *n;
	char	*dev, *kd = NULL;
	size_t	 i;
	int	 rc = STORE_OK;

	json_array_foreach(all, i, n) {
		if (rc != STORE_OK || !json_is_string(n))
			continue;
		if ((dev = devices_id(dk, json_string_value(n))) == NULL)
			continue;
		if ((rc = dev_node(dk, dev, "d+0", &kd)) == STORE_OK) {
			json_array_append(names, n);
			json_array_append_new(krefs, json_string(kd));
		}
		free(dev);
		free(kd);
		kd = NULL;
	}
	json_decref(all);
	return rc;
}
