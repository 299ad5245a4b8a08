/*
 * bridge.c — the bridge device's callOutbound as the kernel carries it:
 * the one call of the crank in flight that waits for the producer.  The
 * device answers ["later", {dstID, obj}]; here that becomes a request
 * frame for the producer's bridge connection (the daemon's, through the
 * send hook kernel_bridge_host() set), the vat's syscall is answered
 * VATWORKER_LATER, and kernel_bridge_answer() gives the worker the
 * producer's answer, recorded in the crank's transcript entry as every
 * syscall's answer is (so a worker rebuilt by replay gets it from the
 * transcript and the producer is not asked again).  A producer that does
 * not answer within daemon.bridgeTimeoutMs halts the kernel; with no
 * bridge connection the method throws, as SwingSet's does when the host's
 * callback throws.  Not state: call numbers are this process's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/capdata.h"
#include "protocol/log.h"

void
kernel_bridge_host(struct kernel *k, kernel_bridge_send send, void *arg)
{
	k->bridge.send = send;
	k->bridge.send_arg = arg;
}

const json_t *
kernel_bridge_waiting(const struct kernel *k)
{
	return k->bridge.call != 0 ? k->bridge.frame : NULL;
}

/* The crank is over (committed or dropped): no answer is awaited. */
void
kbridge_cancel(struct kernel *k)
{
	struct kbridge *b = &k->bridge;

	if (b->call == 0)
		return;
	ev_timer_stop(k->loop, &b->timer);
	json_decref(b->frame);
	free(b->raw);
	b->frame = NULL;
	b->raw = NULL;
	b->vat = NULL;
	b->call = 0;
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct kernel	*k = t->data;
	uint64_t	 ms = k->p->cfg->daemon.bridge_timeout_ms;

	(void)loop;
	(void)revents;
	kernel_halt(k, "bridge: the producer did not answer callOutbound "
	    "call %" PRIu64 " of %s within %" PRIu64 " ms "
	    "(daemon.bridgeTimeoutMs); the host's fault, not the vat's",
	    k->bridge.call, k->bridge.vat ? k->bridge.vat->id : "?", ms);
}

/* SwingSet's answer when the host's callback throws. */
static char *
thrown(size_t *len)
{
	json_t	*r = json_pack("[s, s]", "error", DEVICES_INVOKE_FAILED);
	char	*text = r ? sup_encode(r, len) : NULL;

	json_decref(r);
	return text;
}

/*
 * callOutbound of v's live delivery: req is the device's {dstID, obj}
 * (borrowed), raw the syscall as the worker sent it.  VATWORKER_LATER
 * once the request is on its way; else the answer, encoded (malloc'd).
 */
char *
kbridge_call(struct kernel *k, struct kvat *v, const char *raw, size_t rawlen,
    const json_t *req, size_t *len)
{
	struct kbridge	*b = &k->bridge;
	uint64_t	 call = ++b->next;

	if (b->call != 0) {	/* can't happen: the worker waits on the first */
		log_warnx("kernel", "%s: a second callOutbound while call %"
		    PRIu64 " waits", v->id, b->call);
		return thrown(len);
	}
	b->frame = json_pack("{s:I, s:s, s:O, s:O}", "call", (json_int_t)call,
	    "vatID", v->id, "dstID", json_object_get(req, "dstID"), "obj",
	    json_object_get(req, "obj"));
	b->raw = b->frame ? malloc(rawlen + 1) : NULL;
	if (b->raw == NULL || b->send == NULL ||
	    b->send(b->send_arg, b->frame) == -1) {
		log_info("device", "bridge: callOutbound of %s: %s", v->id,
		    b->raw == NULL ? "out of memory" : "no producer connection "
		    "is registered for bridge calls (bridgeRegister)");
		json_decref(b->frame);
		free(b->raw);
		b->frame = NULL;
		b->raw = NULL;
		return thrown(len);
	}
	memcpy(b->raw, raw, rawlen);
	b->raw[rawlen] = '\0';
	b->rawlen = rawlen;
	b->vat = v;
	b->call = call;
	ev_timer_init(&b->timer, timeout_cb,
	    (double)k->p->cfg->daemon.bridge_timeout_ms / 1000., 0.);
	b->timer.data = k;
	ev_timer_start(k->loop, &b->timer);
	return VATWORKER_LATER;
}

/* The vat's answer for the producer's result (NULL: undefined) or error
 * (logged; the method throws). */
static json_t *
answer_for(const struct kbridge *b, const json_t *result, const char *error)
{
	json_t *cd;

	if (error != NULL) {
		log_info("device", "bridge: invoke failed: callOutbound call "
		    "%" PRIu64 ": the producer answered an error: %s", b->call,
		    error);
		return json_pack("[s, s]", "error", DEVICES_INVOKE_FAILED);
	}
	cd = result != NULL ? capdata_data(result) : json_pack("{s:s, s:[]}",
	    "body", "#\"#undefined\"", "slots");
	return cd ? json_pack("[s, o]", "ok", cd) : NULL;
}

int
kernel_bridge_answer(struct kernel *k, uint64_t call, const json_t *result,
    const char *error, char *errbuf, size_t errlen)
{
	struct kbridge	*b = &k->bridge;
	struct kvat	*v = b->vat;
	json_t		*r;
	char		*text;
	size_t		 len = 0;

	if (b->call == 0 || call != b->call) {
		snprintf(errbuf, errlen, "no callOutbound call %" PRIu64 " is "
		    "waiting for its answer%s", call, b->call == 0 ? "" :
		    " (another is)");
		return -1;
	}
	r = answer_for(b, result, error);
	text = r ? sup_encode(r, &len) : NULL;
	json_decref(r);
	if (text == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (k->cr.recording)
		deliver_record(k, b->raw, b->rawlen, text, len);
	kbridge_cancel(k);
	if (vat_answer(v, text, len) == -1)	/* its failure follows */
		log_warnx("kernel", "%s: its worker could not take the "
		    "bridge's answer", v->id);
	free(text);
	return 0;
}
