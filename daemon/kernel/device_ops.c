/*
 * device_ops.c — what the producer asks of the kernel's devices between
 * cranks: the timer's poll(now) (a crank of its own in the open block, as
 * queue is: SwingSet's host calls the timer device's poll endowment
 * between cranks, and the wake() messages it sends are block inputs),
 * and the devices status lists.  Time reaches the kernel only here: the
 * kernel never reads a clock into state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

int
kernel_poll(struct kernel *k, uint64_t now, bool *woke,
    enum kernel_poll_refusal *refused, char *errbuf, size_t errlen)
{
	char	*dev = devices_id(&k->dk, "timer"), *why = NULL;
	int	 rc;

	*woke = false;
	*refused = KERNEL_POLL_OK;
	if (dev == NULL) {
		*refused = KERNEL_POLL_NO_TIMER;
		snprintf(errbuf, errlen, "the configuration has no timer "
		    "device (devices.timer)");
		return -1;
	}
	if ((rc = store_crank_begin(k->st)) == STORE_OK) {
		rc = timer_poll(&k->dk, dev, now, woke, &why);
		if (rc == STORE_OK && why == NULL &&
		    (rc = store_crank_commit(k->st)) == STORE_OK) {
			free(dev);
			return 0;
		}
		store_crank_abort(k->st);
		kst_forget_queue(k);
	}
	free(dev);
	if (why != NULL) {
		*refused = KERNEL_POLL_BACKWARDS;
		snprintf(errbuf, errlen, "%s", why);
		free(why);
		return -1;
	}
	snprintf(errbuf, errlen, "%s: %s", store_strerror(rc),
	    store_errmsg(k->st));
	kernel_store_halt(k, errbuf);	/* the poll's crank is lost */
	return -1;
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
		json_array_append_new(out, e);
		free(dev);
	}
done:
	json_decref(names);
	return out;
}
