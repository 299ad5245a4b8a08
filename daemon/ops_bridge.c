/*
 * ops_bridge.c — the bridge device's control ops and its producer
 * connection: bridgeInbound (the host's deliverInbound, a crank of the
 * open block), bridgeRegister (this connection answers the device's
 * callOutbound: the kernel's requests are written to it as lines
 * {"bridge": {"call": N, "vatID": …, "dstID": …, "obj": …}}), and
 * bridgeAnswer (the answer to request N, which the waiting crank then
 * gives the vat).  The kernel owns the waiting call (kernel/bridge.c);
 * this file owns which connection is asked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "protocol/log.h"

/* The kernel's send hook: one request line to the bridge peer. */
static int
bridge_send(void *arg, const json_t *request)
{
	struct daemon	*d = arg;
	json_t		*frame;
	char		*text, *line = NULL;
	int		 rc = -1, n = -1;

	if (d->bridge_peer == NULL)
		return -1;
	frame = json_pack("{s:O}", "bridge", request);
	text = frame ? json_dumps(frame, JSON_COMPACT) : NULL;
	json_decref(frame);
	if (text != NULL && (n = asprintf(&line, "%s\n", text)) >= 0)
		rc = control_push(d->bridge_peer, line, (size_t)n);
	if (n < 0)
		line = NULL;
	free(text);
	free(line);
	return rc;
}

void
ops_bridge_init(struct daemon *d)
{
	kernel_bridge_host(d->kernel, bridge_send, d);
}

/* bridgeInbound: SwingSet's deliverInbound(srcID, obj). */
void
ops_bridge_inbound(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	enum kernel_device_refusal refused;
	char	 err[512];

	if (kernel_running(d->kernel)) {
		ops_reply_error(conn, req->id, CTL_E_BUSY, "a run is in "
		    "progress; bridgeInbound after it answers");
		return;
	}
	if (ops_refuse_halted(d, conn, req, "bridgeInbound"))
		return;
	if (kernel_bridge_inbound(d->kernel, req->u.bridge_inbound.src_id,
	    req->u.bridge_inbound.obj, &refused, err, sizeof(err)) == -1) {
		ops_reply_error(conn, req->id, refused == KERNEL_DEV_OK ?
		    CTL_E_STORE : CTL_E_NOT_FOUND, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, NULL);
}

/*
 * bridgeRegister: this connection is the bridge peer from now on (a
 * previous one is no longer asked).  A request already waiting is sent
 * to it again, after the reply.
 */
void
ops_bridge_register(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	const json_t *waiting = kernel_bridge_waiting(d->kernel);

	if (d->bridge_peer != NULL && d->bridge_peer != conn)
		control_conn_set_bridge(d->bridge_peer, false);
	d->bridge_peer = conn;
	control_conn_set_bridge(conn, true);
	log_info("ops", "bridge: callOutbound requests go to this producer "
	    "connection");
	ops_reply_ok(conn, req->id, json_pack("{s:b}", "waiting",
	    waiting != NULL));
	if (waiting != NULL && bridge_send(d, waiting) == -1)
		log_warnx("ops", "bridge: cannot send the waiting request");
}

/* bridgeAnswer: the answer to request "call". */
void
ops_bridge_answer(struct daemon *d, struct ctl_conn *conn,
    struct ctl_request *req)
{
	char err[256];

	if (kernel_bridge_answer(d->kernel, req->u.bridge_answer.call,
	    req->u.bridge_answer.result, req->u.bridge_answer.error, err,
	    sizeof(err)) == -1) {
		ops_reply_error(conn, req->id, CTL_E_NOT_FOUND, "%s", err);
		return;
	}
	ops_reply_ok(conn, req->id, NULL);
}
