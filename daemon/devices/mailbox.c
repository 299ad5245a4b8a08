/*
 * mailbox.c — the mailbox device, native: SwingSet's device-mailbox.js
 * with the host side of mailbox.js (buildMailbox, buildMailboxStateMap)
 * folded in, since here the kernel is the host's state.  Its root node
 * d+0 has registerInboundHandler(handler), unregisterInboundHander()
 * (SwingSet's spelling), add(peer, msgnum, body), remove(peer, msgnum)
 * and ackInbound(peer, msgnum); the producer delivers inbound messages
 * with mailbox_deliver() (SwingSet's deliverInbound(peer, messages, ack))
 * and reads the outbox with mailbox_outbox().
 *
 * State (consensus, hashed):
 *   dN.deviceState  {"inboundHandler":"koN"}, or {} once unregistered
 *   dN.mailbox      {"<peer>":{"inboundAck":n,"outbox":[[msgnum,"body"],…]},
 *                   …}: peers in the order first named, each outbox
 *                   sorted by msgnum (exportMailboxData's shape).
 * A method that throws in SwingSet answers "device.invoke failed, see
 * logs for details" and logs the reason.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/devices/devices_impl.h"
#include "protocol/capdata.h"
#include "protocol/smallcaps.h"

/* `${peer}` for the values a vat may pass: a string as it is, a number
 * or bigint as its digits.  NULL otherwise (malloc'd). */
static char *
peer_arg(const json_t *v)
{
	const char	*s = smallcaps_decode_string(v);
	uint64_t	 n;
	char		*out = NULL;

	if (s != NULL)
		return strdup(s);
	if (json_is_integer(v) && asprintf(&out, "%" JSON_INTEGER_FORMAT,
	    json_integer_value(v)) >= 0)
		return out;
	if (json_is_string(v) && dev_nat(v, &n) && asprintf(&out, "%" PRIu64,
	    n) >= 0)
		return out;
	return NULL;
}

/* getOrCreatePeer(): the peer's record in the outbox (borrowed). */
static json_t *
peer_record(json_t *box, const char *peer)
{
	json_t *r = json_object_get(box, peer);

	if (r == NULL && json_object_set_new(box, peer, json_pack("{s:i, s:[]}",
	    "inboundAck", 0, "outbox")) == 0)
		r = json_object_get(box, peer);
	return r;
}

/* outbox.set(msgnum, body) (body NULL: outbox.delete(msgnum)), kept in
 * msgnum order. */
static int
outbox_set(json_t *rec, uint64_t num, const char *body)
{
	json_t	*ob = json_object_get(rec, "outbox"), *m;
	size_t	 i, at = json_array_size(ob);

	json_array_foreach(ob, i, m) {
		uint64_t have = (uint64_t)json_integer_value(json_array_get(m,
		    0));

		if (have == num) {
			if (body == NULL)
				return json_array_remove(ob, i) == 0 ? STORE_OK :
				    STORE_ENOMEM;
			return json_array_set_new(m, 1, json_string(body)) == 0 ?
			    STORE_OK : STORE_ENOMEM;
		}
		if (have > num) {
			at = i;
			break;
		}
	}
	if (body == NULL)
		return STORE_OK;
	m = json_pack("[I, s]", (json_int_t)num, body);
	return m && json_array_insert_new(ob, at, m) == 0 ? STORE_OK :
	    STORE_ENOMEM;
}

/* add, remove, ackInbound: one change to the outbox of a peer. */
static json_t *
outbox_method(const struct device_kernel *dk, const char *dev,
    const char *method, const json_t *argv)
{
	const json_t	*a2 = json_array_get(argv, 2);
	char		*peer = peer_arg(json_array_get(argv, 0)), *body = NULL;
	json_t		*box, *rec, *r;
	uint64_t	 num;
	int		 rc = STORE_OK;

	if (peer == NULL)
		return dev_thrown(dev, "%s: the peer must be a string", method);
	if (!dev_nat(json_array_get(argv, 1), &num) || num > INT64_MAX) {
		free(peer);
		return dev_thrown(dev, "%s: msgnum is not a Nat (63 bits)",
		    method);
	}
	if (strcmp(method, "add") == 0 && (body = peer_arg(a2)) == NULL) {
		free(peer);
		return dev_thrown(dev, "add: the body must be a string");
	}
	box = dev_get_obj(dk, dev, "mailbox");
	rec = box ? peer_record(box, peer) : NULL;
	if (rec == NULL)
		rc = STORE_ENOMEM;
	else if (strcmp(method, "ackInbound") == 0)
		rc = json_object_set_new(rec, "inboundAck",
		    json_integer((json_int_t)num)) == 0 ? STORE_OK : STORE_ENOMEM;
	else
		rc = outbox_set(rec, num, body);
	if (rc == STORE_OK)
		rc = dev_put_obj(dk, dev, "mailbox", box);
	r = rc == STORE_OK ? dev_ok_undefined() : dk->store_failed(dk->arg, rc);
	json_decref(box);
	free(peer);
	free(body);
	return r;
}

json_t *
mailbox_invoke(const struct device_kernel *dk, const char *dev,
    const char *dref, const char *method, const json_t *args)
{
	json_t		*argv = capdata_body(args), *st = NULL, *r;
	const char	*h;
	int		 rc;

	if (strcmp(dref, "d+0") != 0)
		r = dev_thrown(dev, "mailbox device: no node %s", dref);
	else if (!json_is_array(argv))
		r = dev_thrown(dev, "%s: arguments must be an array", method);
	else if (strcmp(method, "add") == 0 || strcmp(method, "remove") == 0 ||
	    strcmp(method, "ackInbound") == 0)
		r = outbox_method(dk, dev, method, argv);
	else if (strcmp(method, "registerInboundHandler") == 0 ||
	    strcmp(method, "unregisterInboundHander") == 0) {
		st = dev_get_obj(dk, dev, "deviceState");
		h = dev_slot_arg(args, json_array_get(argv, 0));
		if (st == NULL)
			rc = STORE_ENOMEM;
		else if (method[0] == 'u') {
			json_object_del(st, "inboundHandler");
			rc = dev_put_obj(dk, dev, "deviceState", st);
		} else if (json_object_get(st, "inboundHandler") != NULL) {
			r = dev_thrown(dev, "registerInboundHandler: already "
			    "registered");
			goto out;
		} else if (h == NULL) {
			r = dev_thrown(dev, "registerInboundHandler: the "
			    "handler is not an object");
			goto out;
		} else
			rc = json_object_set_new(st, "inboundHandler",
			    json_string(h)) == 0 ? dev_put_obj(dk, dev,
			    "deviceState", st) : STORE_ENOMEM;
		r = rc == STORE_OK ? dev_ok_undefined() :
		    dk->store_failed(dk->arg, rc);
	} else
		r = dev_thrown(dev, "mailbox device has no method '%s'", method);
out:
	json_decref(st);
	json_decref(argv);
	return r;
}

/*
 * deliverInbound(peer, messages, ack) → inboundCallback: with a handler
 * registered (else refused, *why), deliverInboundMessages(peer,
 * messages) when there are any, then deliverInboundAck(peer, ack), both
 * sendOnly to the handler.  messages: [[msgnum, body], …] as the
 * producer gave them (checked by the control protocol).
 */
int
mailbox_deliver(const struct device_kernel *dk, const char *dev,
    const char *peer, const json_t *messages, uint64_t ack, char **why)
{
	json_t	*st = dev_get_obj(dk, dev, "deviceState"), *ps, *msgs = NULL, *m;
	json_t	*args = NULL;
	char	*text = NULL;
	const char *h = json_string_value(json_object_get(st, "inboundHandler"));
	size_t	 i;
	int	 rc = STORE_ENOMEM;

	*why = NULL;
	if (st != NULL && h == NULL) {
		json_decref(st);
		if (asprintf(why, "mailbox.inboundCallback(%s) called before "
		    "handler was registered", peer) < 0)
			*why = NULL;
		return *why ? STORE_OK : STORE_ENOMEM;
	}
	if (st == NULL || (ps = smallcaps_string(peer, strlen(peer))) == NULL)
		goto out;
	if (json_array_size(messages) > 0) {
		if ((msgs = json_array()) == NULL)
			goto peer;
		json_array_foreach(messages, i, m) {
			const char *b = json_string_value(json_array_get(m, 1));

			json_array_append_new(msgs, json_pack("[O, o]",
			    json_array_get(m, 0), smallcaps_string(b,
			    strlen(b))));
		}
		m = json_pack("[O, o]", ps, msgs);
		msgs = NULL;
		text = m ? json_dumps(m, JSON_COMPACT) : NULL;
		json_decref(m);
		args = text ? json_pack("{s:s+, s:[]}", "body", "#", text,
		    "slots") : NULL;
		free(text);
		rc = args ? dk->send_only(dk->arg, h, "deliverInboundMessages",
		    args) : STORE_ENOMEM;
		json_decref(args);
		if (rc != STORE_OK)
			goto peer;
	}
	text = NULL;
	{
		json_t *a = json_pack("[O, I]", ps, (json_int_t)ack);

		text = a ? json_dumps(a, JSON_COMPACT) : NULL;
		json_decref(a);
	}
	args = text ? json_pack("{s:s+, s:[]}", "body", "#", text, "slots") :
	    NULL;
	free(text);
	rc = args ? dk->send_only(dk->arg, h, "deliverInboundAck", args) :
	    STORE_ENOMEM;
	json_decref(args);
peer:
	json_decref(ps);
	json_decref(msgs);
out:
	json_decref(st);
	return rc;
}

/* exportMailboxData(): {peer: {inboundAck, outbox}} (new reference). */
json_t *
mailbox_outbox(const struct device_kernel *dk, const char *dev)
{
	return dev_get_obj(dk, dev, "mailbox");
}
