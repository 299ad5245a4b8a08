/*
 * bridge.c — the bridge device, native: SwingSet's device-bridge.js.
 * Its root node d+0 has registerInboundHandler(handler) (a second one
 * throws), unregisterInboundHandler() and callOutbound(dstID, obj); the
 * producer's inbound messages arrive through bridge_inbound() (SwingSet's
 * deliverInbound endowment), sent to the handler as inbound(srcID, obj).
 *
 * callOutbound is synchronous for the vat, but its answer is the host's:
 * the method answers ["later", {"dstID":…, "obj":…}] and the kernel asks
 * the producer, answering the vat's syscall once the producer has
 * (daemon/kernel/bridge.c).  This file does not know how.
 *
 * State (consensus, hashed):
 *   dN.deviceState  {"inboundHandler":"koN"}, or {} once unregistered.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/devices/devices_impl.h"
#include "protocol/capdata.h"
#include "protocol/smallcaps.h"

/* registerInboundHandler(handler) and unregisterInboundHandler(). */
static json_t *
handler_method(const struct device_kernel *dk, const char *dev, bool reg,
    const json_t *args, const json_t *argv)
{
	json_t		*st = dev_get_obj(dk, dev, "deviceState"), *r;
	const char	*h = dev_slot_arg(args, json_array_get(argv, 0));
	int		 rc = STORE_ENOMEM;

	if (st == NULL)
		return dk->store_failed(dk->arg, STORE_ENOMEM);
	if (reg && json_object_get(st, "inboundHandler") != NULL) {
		json_decref(st);
		return dev_thrown(dev, "inboundHandler already registered");
	}
	if (reg && h == NULL) {
		json_decref(st);
		return dev_thrown(dev, "registerInboundHandler: the handler "
		    "is not an object");
	}
	if (!reg) {
		json_object_del(st, "inboundHandler");
		rc = dev_put_obj(dk, dev, "deviceState", st);
	} else if (json_object_set_new(st, "inboundHandler",
	    json_string(h)) == 0)
		rc = dev_put_obj(dk, dev, "deviceState", st);
	r = rc == STORE_OK ? dev_ok_undefined() : dk->store_failed(dk->arg, rc);
	json_decref(st);
	return r;
}

/* callOutbound(dstID, obj): plain data only; the answer comes later. */
static json_t *
call_outbound(const char *dev, const json_t *args, const json_t *argv)
{
	json_t	*plain, *r;

	if (json_array_size(json_object_get(args, "slots")) > 0)
		return dev_thrown(dev, "callOutbound: the arguments must be "
		    "JSON data, not object references");
	if ((plain = smallcaps_decode_plain(argv)) == NULL)
		return dev_thrown(dev, "callOutbound: the arguments must be "
		    "JSON data (no bigints, undefined or special values)");
	r = json_pack("[s, {s:O?, s:O?}]", "later", "dstID",
	    json_array_get(plain, 0), "obj", json_array_get(plain, 1));
	json_decref(plain);
	return r;
}

json_t *
bridge_invoke(const struct device_kernel *dk, const char *dev,
    const char *dref, const char *method, const json_t *args)
{
	json_t	*argv = capdata_body(args), *r;

	if (strcmp(dref, "d+0") != 0)
		r = dev_thrown(dev, "bridge device: no node %s", dref);
	else if (!json_is_array(argv))
		r = dev_thrown(dev, "%s: arguments must be an array", method);
	else if (strcmp(method, "registerInboundHandler") == 0)
		r = handler_method(dk, dev, true, args, argv);
	else if (strcmp(method, "unregisterInboundHandler") == 0)
		r = handler_method(dk, dev, false, args, argv);
	else if (strcmp(method, "callOutbound") == 0)
		r = call_outbound(dev, args, argv);
	else
		r = dev_thrown(dev, "bridge device has no method '%s'", method);
	json_decref(argv);
	return r;
}

/*
 * deliverInbound(srcID, obj) → inboundCallback: with a handler registered
 * (else refused, *why, as SwingSet's Fail`inboundHandler not yet
 * registered`), inbound(srcID, obj) sendOnly to the handler.
 */
int
bridge_inbound(const struct device_kernel *dk, const char *dev,
    const char *src_id, const json_t *obj, char **why)
{
	json_t		*st = dev_get_obj(dk, dev, "deviceState"), *a, *args = NULL;
	const char	*h = json_string_value(json_object_get(st,
			    "inboundHandler"));
	char		*text = NULL;
	int		 rc = STORE_ENOMEM;

	*why = NULL;
	if (st != NULL && h == NULL) {
		json_decref(st);
		*why = strdup("inboundHandler not yet registered");
		return *why ? STORE_OK : STORE_ENOMEM;
	}
	a = st ? json_pack("[o, o]", smallcaps_string(src_id,
	    strlen(src_id)), smallcaps_plain(obj)) : NULL;
	text = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	args = text ? json_pack("{s:s+, s:[]}", "body", "#", text, "slots") :
	    NULL;
	if (args != NULL)
		rc = dk->send_only(dk->arg, h, "inbound", args);
	json_decref(args);
	free(text);
	json_decref(a);
	json_decref(st);
	return rc;
}
