/*
 * vatworker.c — the vat worker state machine:
 *
 *   BOOTING --boot cmds done--> SETTING_BUNDLE --dispatchReady--> READY
 *   READY --deliver--> DELIVERING --result--> READY
 *   any --fault / refused setBundle / bad answer--> FAILED
 *
 * Waiting is a state, never a nested loop: each step sends one command and
 * returns; the worker's reply callback moves the machine on.  Syscall
 * upcalls are answered at once with what the kernel's handler returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/log.h"
#include "workers/vatworker.h"

struct vatworker {
	struct worker		*w;
	enum vatworker_state	 state;
	const struct vatworker_callbacks *cb;
	void			*arg;
	json_t			*boot;		/* remaining boot commands */
	size_t			 boot_next;
	char			*set_bundle;	/* the setBundle request */
	size_t			 set_bundle_len;
	char			*label;
	bool			 starting;	/* inside vatworker_start() */
};

static void
vw_fail(struct vatworker *vw, enum vatworker_failure why,
    enum worker_fault wf, const char *msg)
{
	if (vw->state == VATWORKER_FAILED)
		return;
	vw->state = VATWORKER_FAILED;
	log_warnx("vat", "%s: worker failed: %s", vw->label, msg);
	if (!vw->starting)	/* vatworker_start() reports it instead */
		vw->cb->failed(vw, vw->arg, why, wf, msg);
}

/* Send the next boot command, or setBundle once they are done. */
static void
vw_boot_step(struct vatworker *vw)
{
	json_t		*cmd = json_array_get(vw->boot, vw->boot_next);
	const char	*tag, *text;
	int		 rc;

	if (cmd != NULL) {
		vw->boot_next++;
		tag = json_string_value(json_array_get(cmd, 0));
		text = json_string_value(json_array_get(cmd, 1));
		rc = worker_command(vw->w, tag[0], text, strlen(text));
	} else {
		vw->state = VATWORKER_SETTING_BUNDLE;
		rc = worker_command(vw->w, '?', vw->set_bundle,
		    vw->set_bundle_len);
	}
	if (rc == -1)
		vw_fail(vw, VATWORKER_F_WORKER, WORKER_FAULT_IO,
		    "cannot send a boot command");
}

static void
vw_on_delivered(struct vatworker *vw, const struct worker_reply *r)
{
	struct sup_delivery		d;
	struct vat_delivery_result	res = { 0 };

	sup_parse_delivery(r->result, r->resultlen, &d);
	if (d.status == SUP_DELIVERY_BAD) {
		vw_fail(vw, VATWORKER_F_PROTOCOL, WORKER_FAULT_PROTOCOL,
		    d.message ? d.message : "bad delivery result");
		sup_delivery_clear(&d);
		return;
	}
	vw->state = VATWORKER_READY;
	res.status = d.status;
	res.message = d.message;
	res.info = d.info;
	res.computrons = sup_meter_compute(r->meter, r->meterlen);
	vw->cb->delivered(vw, vw->arg, &res);
	sup_delivery_clear(&d);
}

static void
vw_reply_cb(struct worker *w, void *arg, const struct worker_reply *r)
{
	struct vatworker	*vw = arg;
	char			 err[512];

	(void)w;
	if (!r->ok) {
		snprintf(err, sizeof(err), "the worker's command failed: %.*s",
		    (int)(r->resultlen > 300 ? 300 : r->resultlen),
		    (const char *)r->result);
		vw_fail(vw, VATWORKER_F_PROTOCOL, WORKER_FAULT_PROTOCOL, err);
		return;
	}
	switch (vw->state) {
	case VATWORKER_BOOTING:
		vw_boot_step(vw);
		break;
	case VATWORKER_SETTING_BUNDLE:
		if (sup_parse_ready(r->result, r->resultlen, err,
		    sizeof(err)) == -1) {
			vw_fail(vw, VATWORKER_F_SET_BUNDLE, WORKER_FAULT_NONE,
			    err);
			return;
		}
		vw->state = VATWORKER_READY;
		vw->cb->ready(vw, vw->arg);
		break;
	case VATWORKER_DELIVERING:
		vw_on_delivered(vw, r);
		break;
	default:
		vw_fail(vw, VATWORKER_F_PROTOCOL, WORKER_FAULT_PROTOCOL,
		    "can't happen: a reply with nothing in flight");
	}
}

/*
 * The syscall's own text inside ["syscall", VSO]: from after the first
 * ',' to before the last ']', trimmed.  The message was checked to be
 * exactly that two-element array, and the tag holds no comma.
 */
static void
vso_text(const unsigned char *msg, size_t len, const char **raw, size_t *rlen)
{
	const char *b = memchr(msg, ',', len), *e = (const char *)msg + len;

	while (e > (const char *)msg && e[-1] != ']')
		e--;
	e--;
	for (b = b ? b + 1 : e; b < e && (*b == ' ' || *b == '\t' ||
	    *b == '\n' || *b == '\r'); b++)
		;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		e--;
	*raw = b;
	*rlen = (size_t)(e - b);
}

static char *
vw_syscall(struct vatworker *vw, json_t *vso, const unsigned char *msg,
    size_t len, size_t *tlen)
{
	const char	*raw;
	size_t		 rlen;

	if (vw->state != VATWORKER_DELIVERING) {
		*tlen = strlen("[\"error\",\"syscall outside a delivery\"]");
		return strdup("[\"error\",\"syscall outside a delivery\"]");
	}
	vso_text(msg, len, &raw, &rlen);
	return vw->cb->syscall(vw, vw->arg, vso, raw, rlen, tlen);
}

static void
vw_upcall_cb(struct worker *w, void *arg, const unsigned char *msg,
    size_t len)
{
	struct vatworker	*vw = arg;
	json_t			*up, *body;
	char			*text = NULL;
	size_t			 tlen = 0;

	switch (sup_parse_upcall(msg, len, &up, &body)) {
	case SUP_UPCALL_SYSCALL:
		text = vw_syscall(vw, body, msg, len, &tlen);
		break;
	case SUP_UPCALL_CONSOLE:
		log_info("vat", "%s console: %.*s", vw->label,
		    (int)(len > 2000 ? 2000 : len), (const char *)msg);
		text = strdup(SUP_ANSWER_CONSOLE);
		tlen = text ? strlen(text) : 0;
		break;
	case SUP_UPCALL_TESTLOG:
		if (vw->cb->test_log != NULL)
			vw->cb->test_log(vw, vw->arg, up);
		text = strdup(SUP_ANSWER_TESTLOG);
		tlen = text ? strlen(text) : 0;
		break;
	case SUP_UPCALL_BAD:
		break;
	}
	if (text == NULL)
		vw_fail(vw, VATWORKER_F_PROTOCOL, WORKER_FAULT_PROTOCOL,
		    "unknown or malformed upcall");
	else if (worker_answer(w, text, tlen) == -1)
		vw_fail(vw, VATWORKER_F_WORKER, WORKER_FAULT_IO,
		    "cannot answer an upcall");
	free(text);
	json_decref(up);
}

static void
vw_fault_cb(struct worker *w, void *arg, enum worker_fault f, const char *why)
{
	struct vatworker *vw = arg;

	(void)w;
	vw_fail(vw, VATWORKER_F_WORKER, f, why);
}

static const struct worker_callbacks vw_worker_cb = {
	.upcall = vw_upcall_cb,
	.reply = vw_reply_cb,
	.fault = vw_fault_cb,
};

static void
vw_free(struct vatworker *vw)
{
	json_decref(vw->boot);
	free(vw->set_bundle);
	free(vw->label);
	free(vw);
}

int
vatworker_start(struct ev_loop *loop, const struct vatworker_spec *spec,
    const struct vatworker_callbacks *cb, void *arg, struct vatworker **out,
    char *errbuf, size_t errlen)
{
	struct worker_spec	 ws = { 0 };
	struct vatworker	*vw = calloc(1, sizeof(*vw));
	char			**argv = NULL;
	int			 rc = -1;

	*out = NULL;
	if (vw == NULL || asprintf(&vw->label, "%s:%s", spec->vat_id,
	    spec->vat_name ? spec->vat_name : "") < 0) {
		snprintf(errbuf, errlen, "out of memory");
		free(vw);
		return -1;
	}
	vw->cb = cb;
	vw->arg = arg;
	vw->set_bundle = sup_set_bundle(spec->vat_id, spec->bundle,
	    spec->liveslots_options, &vw->set_bundle_len);
	if (vw->set_bundle == NULL)
		snprintf(errbuf, errlen, "out of memory");
	else if (manager_prepare(spec, &argv, &vw->boot, errbuf, errlen) == 0) {
		ws.argv = (const char *const *)argv;
		ws.label = vw->label;
		ws.max_frame = spec->max_frame;
		ws.timeout = spec->timeout;
		rc = worker_spawn(loop, &ws, &vw_worker_cb, vw, &vw->w, errbuf,
		    errlen);
	}
	manager_argv_free(argv);
	if (rc == -1) {
		vw_free(vw);
		return -1;
	}
	vw->state = VATWORKER_BOOTING;
	vw->starting = true;
	vw_boot_step(vw);
	vw->starting = false;
	if (vw->state == VATWORKER_FAILED) {
		snprintf(errbuf, errlen, "the worker took no boot command");
		vatworker_stop(vw);
		return -1;
	}
	*out = vw;
	return 0;
}

int
vatworker_deliver(struct vatworker *vw, const json_t *vdo)
{
	size_t	 len;
	char	*text = sup_encode(vdo, &len);
	int	 rc;

	if (text == NULL)
		return -1;
	rc = vatworker_deliver_text(vw, text, len);
	free(text);
	return rc;
}

/* The same, with the VatDeliveryObject already encoded (len bytes). */
int
vatworker_deliver_text(struct vatworker *vw, const char *vdo, size_t len)
{
	static const char	 head[] = "[\"deliver\",";
	char			*req;
	int			 rc;

	if (vw->state != VATWORKER_READY)
		return -1;
	if ((req = malloc(sizeof(head) + len + 1)) == NULL)
		return -1;
	memcpy(req, head, sizeof(head) - 1);
	memcpy(req + sizeof(head) - 1, vdo, len);
	req[sizeof(head) - 1 + len] = ']';
	rc = worker_command(vw->w, '?', req, sizeof(head) + len);
	free(req);
	if (rc == 0)
		vw->state = VATWORKER_DELIVERING;
	return rc;
}

enum vatworker_state
vatworker_state(const struct vatworker *vw)
{
	return vw->state;
}

pid_t
vatworker_pid(const struct vatworker *vw)
{
	return worker_pid(vw->w);
}

void
vatworker_stop(struct vatworker *vw)
{
	worker_stop(vw->w, 2.0);
	vw_free(vw);
}
