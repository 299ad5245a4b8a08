/*
 * devices.h — the door of daemon/devices/: the kernel's native devices
 * (kernel-semantics.md §11), reached by a vat's callNow syscall: the
 * vatAdmin device (vat_admin.c), the timer device (timer.c), the
 * mailbox device (mailbox.c) and the bridge device (bridge.c); common.c
 * finds a device's implementation by its configured name.
 *
 * Calls run downward: the kernel's syscall layer calls devices_invoke(); a
 * device reads and writes its own state in the kv table through the store
 * (inside the calling vat's crank), and asks the kernel for what only the
 * kernel can do — create or terminate a vat, act on a meter — through the
 * struct device_kernel table the kernel fills in.  Devices never include
 * a kernel header.
 *
 * A method's answer is ["ok", capdata] (kernel slots: the caller
 * translates them for the vat) or ["error", message], a new reference the
 * caller owns; an error is the calling vat's to handle (its method
 * throws), never vat-fatal.  The bridge's callOutbound answers
 * ["later", {"dstID": JSON, "obj": JSON}]: the host's answer is the
 * method's, and the caller (the kernel) gets it from the producer.  A store failure is answered with whatever
 * dk->store_failed returns (the kernel then abandons the crank).
 */
#ifndef DAEMON_DEVICES_DEVICES_H
#define DAEMON_DEVICES_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/store/store.h"

/* SwingSet's answer for a device method that throws (deviceManager.js):
 * the calling vat sees only this; the reason goes to the log. */
#define DEVICES_INVOKE_FAILED	"device.invoke failed, see logs for details"

/*
 * The kernel's services a device may use, with the kernel's arg.  Each
 * returns a store code (STORE_OK on success); *why (malloc'd) set with
 * STORE_OK means the request was refused and says why.
 *   create_vat      queue the creation of a dynamic vat from bundle_id,
 *                   opts (encoded: a piece of args) and args (the call's
 *                   capdata, for vatParameters' slots); [out] *vid;
 *   terminate_vat   terminate dynamic vat vid with reason (capdata);
 *   meter_*         the kernel's meters (mN.remaining, mN.threshold);
 *                   meter_get returns -1 for an unknown meter;
 *   send_only       a message method(args) to object target, no result
 *                   (a device's sendOnly: args is capdata "#[…]" whose
 *                   slots are krefs), queued as the kernel queues sends;
 *   store_failed    the answer to give for a store failure rc;
 *   counted         for the kernel's statistics: what is "deviceNode"
 *                   for each device node made, else the syscall
 *                   SwingSet's device would have made ("vatstoreGet"…).
 */
struct device_kernel {
	struct store	*st;
	void		*arg;
	int	 (*create_vat)(void *arg, const char *bundle_id,
		    const json_t *opts, const json_t *args, char **vid,
		    char **why);
	int	 (*terminate_vat)(void *arg, const char *vid,
		    const json_t *reason, char **why);
	int	 (*meter_create)(void *arg, bool unlimited, uint64_t remaining,
		    uint64_t threshold, char **id);
	int	 (*meter_add)(void *arg, const char *id, uint64_t delta);
	int	 (*meter_set_threshold)(void *arg, const char *id,
		    uint64_t threshold);
	int	 (*meter_get)(void *arg, const char *id, bool *unlimited,
		    uint64_t *remaining, uint64_t *threshold);
	int	 (*send_only)(void *arg, const char *target,
		    const char *method, const json_t *args);
	json_t	*(*store_failed)(void *arg, int rc);
	void	 (*counted)(void *arg, const char *what);	/* or NULL */
};

/* ---- common.c: which devices, their nodes, the dispatch -------------- */

/* Is name a device swingsetd implements when configured (timer)?  The
 * vatAdmin device is the kernel's own, never configured. */
bool	 devices_native(const char *name);
/* The names devices_native() accepts, for messages ("timer"). */
const char *devices_native_list(void);

/* The ID (dN) of the device named name (malloc'd), or NULL. */
char	*devices_id(const struct device_kernel *dk, const char *name);

/* At the first cranks: every device's root node (d+0), in name order,
 * appended to the bootstrap message's device record (parallel arrays
 * names, krefs).  A store code. */
int	 devices_genesis(const struct device_kernel *dk, json_t *names,
	    json_t *krefs);

/* Method method(args) of node dref of device dev (kernel capdata args);
 * the answer as above, or NULL when memory ran out. */
json_t	*devices_invoke(const struct device_kernel *dk, const char *dev,
	    const char *dref, const char *method, const json_t *args);

/* ---- timer.c: the timer device ------------------------------------------ */

/*
 * The host's poll(now) of timer device dev, inside a crank the caller
 * opened: refused (*why, malloc'd, with STORE_OK) when now is before
 * the last polled time; else every wake-up due is sent (*woke).  A
 * store code.
 */
int	 timer_poll(const struct device_kernel *dk, const char *dev,
	    uint64_t now, bool *woke, char **why);
/* {"lastPolled": "<decimal>", "wakeups": n} for status (new reference). */
json_t	*timer_status(const struct device_kernel *dk, const char *dev);

/* ---- mailbox.c: the mailbox device ------------------------------------ */

/*
 * The host's deliverInbound(peer, messages, ack) of mailbox device dev,
 * inside a crank the caller opened: messages is [[msgnum, body], …]
 * (non-negative integers and strings, checked by the caller).  Refused
 * (*why, malloc'd, with STORE_OK) while no handler is registered; else
 * deliverInboundMessages(peer, messages) (when there are any) and
 * deliverInboundAck(peer, ack) are sent to the handler.  A store code.
 */
int	 mailbox_deliver(const struct device_kernel *dk, const char *dev,
	    const char *peer, const json_t *messages, uint64_t ack, char **why);
/* The outbox, {peer: {"inboundAck": n, "outbox": [[msgnum, body], …]}}
 * (new reference). */
json_t	*mailbox_outbox(const struct device_kernel *dk, const char *dev);

/* ---- bridge.c: the bridge device --------------------------------------- */

/*
 * The host's deliverInbound(srcID, obj) of bridge device dev, inside a
 * crank the caller opened: obj plain JSON (no key starting with '#',
 * checked by the caller).  Refused (*why, malloc'd, with STORE_OK) while
 * no handler is registered; else inbound(srcID, obj) is sent to the
 * handler.  A store code.
 */
int	 bridge_inbound(const struct device_kernel *dk, const char *dev,
	    const char *src_id, const json_t *obj, char **why);

#endif
