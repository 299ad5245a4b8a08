/*
 * device_host.c — what the kernel lends its devices (daemon/devices/):
 * the struct device_kernel table, each entry a thin adapter from the
 * device's (void *arg, …) call to the kernel function that does the work
 * inside the calling vat's crank (or the host's poll crank).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

static int
create_vat(void *arg, const char *bundle_id, const json_t *opts,
    const json_t *args, char **vid, char **why)
{
	return kcreate_request(arg, bundle_id, opts, args, vid, why);
}

static int
terminate_vat_request(void *arg, const char *vid, const json_t *reason,
    char **why)
{
	return kcreate_terminate(arg, vid, reason, why);
}

static int
meter_create(void *arg, bool unlimited, uint64_t remaining,
    uint64_t threshold, char **id)
{
	return kmeter_create(arg, unlimited, remaining, threshold, id);
}

static int
meter_add(void *arg, const char *id, uint64_t delta)
{
	return kmeter_add(arg, id, delta);
}

static int
meter_set_threshold(void *arg, const char *id, uint64_t threshold)
{
	return kmeter_set_threshold(arg, id, threshold);
}

static int
meter_get(void *arg, const char *id, bool *unlimited, uint64_t *remaining,
    uint64_t *threshold)
{
	return kmeter_get(arg, id, unlimited, remaining, threshold);
}

/* A device's sendOnly: a send with no result promise, queued as every
 * send is (kst_enqueue). */
static int
send_only(void *arg, const char *target, const char *method,
    const json_t *args)
{
	json_t	*ma = capdata_methargs(method, args), *item;
	int	 rc;

	item = ma ? json_pack("{s:s, s:s, s:{s:O}}", "type", "send", "target",
	    target, "msg", "methargs", ma) : NULL;
	rc = item ? kst_enqueue(arg, item) : STORE_ENOMEM;
	kstat_syscall(arg, "send");	/* the device's sendOnly */
	json_decref(item);
	json_decref(ma);
	return rc;
}

static json_t *
store_failed(void *arg, int rc)
{
	return ksys_store_failed(arg, rc);
}

/* A device node made (addKernelDeviceNode), or a syscall SwingSet's
 * own device would have made for what the native one did. */
static void
counted(void *arg, const char *what)
{
	if (strcmp(what, "deviceNode") == 0)
		kstat_add(arg, KS_KERNEL_DEVICES, 1);
	else
		kstat_syscall(arg, what);
}

void
device_host_init(struct kernel *k)
{
	k->dk = (struct device_kernel) {
		.st = k->st,
		.arg = k,
		.create_vat = create_vat,
		.terminate_vat = terminate_vat_request,
		.meter_create = meter_create,
		.meter_add = meter_add,
		.meter_set_threshold = meter_set_threshold,
		.meter_get = meter_get,
		.send_only = send_only,
		.store_failed = store_failed,
		.counted = counted,
	};
}
