/*
 * device_ops.c — what the producer asks of the kernel's devices between
 * cranks: the timer's poll(now) (a crank of its own in the open block, as
 * queue is: SwingSet's host calls the timer device's poll endowment
 * between cranks, and the wake() messages it sends are block inputs),
 * the mailbox's deliverInbound and its outbox, the bridge's
 * deliverInbound, and the devices status
 * lists.  Time reaches the kernel only here: the
 * kernel never reads a clock into state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

/*
 * One device request as a crank of the open block: the device's work
 * (fn) commits with the crank, a refusal (*why) or a store failure
 * aborts it; a store failure halts the kernel, as a lost queue crank
 * does.
 */
static int
device_crank(struct kernel *k, const char *name,
    int (*fn)(struct kernel *, const char *dev, void *, char **why),
    void *arg, enum kernel_device_refusal refusal,
    enum kernel_device_refusal *refused, char *errbuf, size_t errlen)
{
	char	*dev = devices_id(&k->dk, name), *why = NULL;
	int	 rc;

	*refused = KERNEL_DEV_OK;
	if (dev == NULL) {
		*refused = KERNEL_DEV_NO_DEVICE;
		snprintf(errbuf, errlen, "the configuration has no %s "
		    "device (devices.%s)", name, name);
		return -1;
	}
	if ((rc = store_crank_begin(k->st)) == STORE_OK) {
		rc = fn(k, dev, arg, &why);
		if (rc == STORE_OK && why == NULL &&
		    (rc = kcommit(k)) == STORE_OK) {
			free(dev);
			return 0;
		}
		kabort(k);
		kst_forget_queue(k);
	}
	free(dev);
	if (why != NULL) {
		*refused = refusal;
		snprintf(errbuf, errlen, "%s", why);
		free(why);
		return -1;
	}
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);	/* the request's crank is lost */
	return -1;
}

struct poll_req {
	uint64_t	 now;
	bool		*woke;
};

static int
do_poll(struct kernel *k, const char *dev, void *arg, char **why)
{
	struct poll_req *p = arg;

	return timer_poll(&k->dk, dev, p->now, p->woke, why);
}

int
kernel_poll(struct kernel *k, uint64_t now, bool *woke,
    enum kernel_device_refusal *refused, char *errbuf, size_t errlen)
{
	struct poll_req p = { now, woke };

	*woke = false;
	return device_crank(k, "timer", do_poll, &p, KERNEL_DEV_BACKWARDS,
	    refused, errbuf, errlen);
}

struct inbound_req {
	const char	*peer;
	const json_t	*messages;
	uint64_t	 ack;
};

static int
do_inbound(struct kernel *k, const char *dev, void *arg, char **why)
{
	struct inbound_req *r = arg;

	return mailbox_deliver(&k->dk, dev, r->peer, r->messages, r->ack, why);
}

int
kernel_mailbox_deliver(struct kernel *k, const char *peer,
    const json_t *messages, uint64_t ack, enum kernel_device_refusal *refused,
    char *errbuf, size_t errlen)
{
	struct inbound_req r = { peer, messages, ack };

	return device_crank(k, "mailbox", do_inbound, &r,
	    KERNEL_DEV_NO_HANDLER, refused, errbuf, errlen);
}

struct bridge_req {
	const char	*src_id;
	const json_t	*obj;
};

static int
do_bridge(struct kernel *k, const char *dev, void *arg, char **why)
{
	struct bridge_req *r = arg;

	return bridge_inbound(&k->dk, dev, r->src_id, r->obj, why);
}

int
kernel_bridge_inbound(struct kernel *k, const char *src_id, const json_t *obj,
    enum kernel_device_refusal *refused, char *errbuf, size_t errlen)
{
	struct bridge_req r = { src_id, obj };

	return device_crank(k, "bridge", do_bridge, &r, KERNEL_DEV_NO_HANDLER,
	    refused, errbuf, errlen);
}

json_t *
kernel_mailbox_outbox(struct kernel *k)
{
	char	*dev = devices_id(&k->dk, "mailbox");
	json_t	*out = dev ? mailbox_outbox(&k->dk, dev) : NULL;

	free(dev);
	return out;
}

/* [{deviceID, name, …the device's own figures}] in name order. */
json_t *
kernel_status_devices(struct kernel *k)
{
	json_t	*names = kv_get_json(k->st, "device.names"), *n, *out, *e, *x;
	char	*dev;
	size_t	 i;

	if ((out = json_array()) == NULL)
		goto done;
	json_array_foreach(names, i, n) {
		if (!json_is_string(n) || (dev = devices_id(&k->dk,
		    json_string_value(n))) == NULL)
			continue;
		e = json_pack("{s:s, s:O}", "deviceID", dev, "name", n);
		if (e != NULL && strcmp(json_string_value(n), "timer") == 0 &&
		    (x = timer_status(&k->dk, dev)) != NULL) {
			json_object_update(e, x);
			json_decref(x);
		}
		if (e != NULL && strcmp(json_string_value(n), "bridge") == 0)
			json_object_set_new(e, "waitingCall", k->bridge.call ?
			    json_integer((json_int_t)k->bridge.call) :
			    json_null());
		json_array_append_new(out, e);
		free(dev);
	}
done:
	json_decref(names);
	return out;
}
