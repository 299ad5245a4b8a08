/*
 * vatworker.c — the vat worker state machine:
 *
 *   BOOTING --boot cmds done--> SETTING_BUNDLE --dispatchReady--> READY
 *   RESTORING (spawned with -r) --`R` answered--> READY
 *   READY --deliver--> DELIVERING --result--> READY
 *   READY --`w@7`--> SNAPSHOTTING --byte count--> READY
 *   any --fault / refused setBundle / bad answer--> FAILED
 *
 * A restored worker gets neither boot commands nor setBundle: the
 * snapshot holds lockdown, the supervisor and liveslots with the vat's
 * state (worker-protocol.md §7.2, §9.1), exactly as SwingSet does.
 *
 * Waiting is a state, never a nested loop: each step sends one command and
 * returns; the worker's reply callback moves the machine on.  Syscall
 * upcalls are answered with what the kernel's handler returns: at once,
 * or, when it says VATWORKER_LATER (the bridge device's callOutbound,
 * answered by the producer), by vatworker_answer(), the delivery's
 * deadline paused in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	bool			 snapshots;	/* its manager type has them */
	bool			 later;		/* a syscall's answer awaited */
};

char vatworker_later[] = "later";

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

/* `w@7` answered; worker.c checked the byte count against fd 7. */
static void
vw_on_snapshotted(struct vatworker *vw, const struct worker_reply *r)
{
	uint64_t size = 0;

	for (size_t i = 0; i < r->resultlen; i++)
		size = size * 10 + (uint64_t)(r->result[i] - '0');
	vw->state = VATWORKER_READY;
	vw->cb->snapshotted(vw, vw->arg, size);
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
	case VATWORKER_RESTORING:
		vw->state = VATWORKER_READY;
		vw->cb->ready(vw, vw->arg);
		break;
	case VATWORKER_SNAPSHOTTING:
		vw_on_snapshotted(vw, r);
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
	if (text == VATWORKER_LATER) {
		vw->later = true;
		worker_deadline_pause(w, true);
		json_decref(up);
		return;
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

int
vatworker_answer(struct vatworker *vw, const char *text, size_t len)
{
	if (!vw->later || vw->state != VATWORKER_DELIVERING)
		return -1;
	vw->later = false;
	worker_deadline_pause(vw->w, false);
	if (worker_answer(vw->w, text, len) == -1) {
		vw_fail(vw, VATWORKER_F_WORKER, WORKER_FAULT_IO,
		    "cannot answer an upcall");
		return -1;
	}
	return 0;
}

static void
vw_fault_cb(struct worker *w, void *arg, enum worker_fault f, const char *why)
{
	struct vatworker *vw = arg;

	(void)w;
	vw_fail(vw, VATWORKER_F_WORKER, f, why);
}

static void
vw_snapshot_data_cb(struct worker *w, void *arg, const unsigned char *bytes,
    size_t len)
{
	struct vatworker *vw = arg;

	(void)w;
	if (vw->state == VATWORKER_SNAPSHOTTING)
		vw->cb->snapshot_data(vw, vw->arg, bytes, len);
}

static const struct worker_callbacks vw_worker_cb = {
	.upcall = vw_upcall_cb,
	.reply = vw_reply_cb,
	.fault = vw_fault_cb,
	.snapshot_data = vw_snapshot_data_cb,
};

static void
vw_free(struct vatworker *vw)
{
	json_decref(vw->boot);
	free(vw->set_bundle);
	free(vw->label);
	free(vw);
}

/* The first command: `R` after a restore, else the first boot step. */
static void
vw_first_command(struct vatworker *vw, bool restore)
{
	if (!restore) {
		vw->state = VATWORKER_BOOTING;
		vw_boot_step(vw);
		return;
	}
	vw->state = VATWORKER_RESTORING;
	if (worker_command(vw->w, 'R', NULL, 0) == -1)
		vw_fail(vw, VATWORKER_F_WORKER, WORKER_FAULT_IO,
		    "cannot send R");
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
	bool			 handed = false;

	*out = NULL;
	if (vw == NULL || asprintf(&vw->label, "%s:%s", spec->vat_id,
	    spec->vat_name ? spec->vat_name : "") < 0) {
		snprintf(errbuf, errlen, "out of memory");
		free(vw);
		if (spec->restore)
			close(spec->restore_fd);
		return -1;
	}
	vw->cb = cb;
	vw->arg = arg;
	vw->snapshots = manager_snapshots(spec->manager_type);
	/* a restored worker has its bundle in its heap: no setBundle */
	if (!spec->restore)
		vw->set_bundle = sup_set_bundle(spec->vat_id, spec->bundle,
		    spec->liveslots_options, &vw->set_bundle_len);
	if (!spec->restore && vw->set_bundle == NULL)
		snprintf(errbuf, errlen, "out of memory");
	else if (manager_prepare(spec, &argv, &vw->boot, errbuf, errlen) == 0) {
		ws.argv = (const char *const *)argv;
		ws.label = vw->label;
		ws.max_frame = spec->max_frame;
		ws.timeout = spec->timeout;
		ws.snap_out = vw->snapshots;
		ws.restore = spec->restore;
		ws.restore_fd = spec->restore_fd;
		handed = true;	/* worker_spawn owns restore_fd, even on -1 */
		rc = worker_spawn(loop, &ws, &vw_worker_cb, vw, &vw->w, errbuf,
		    errlen);
	}
	if (!handed && spec->restore)
		close(spec->restore_fd);
	manager_argv_free(argv);
	if (rc == -1) {
		vw_free(vw);
		return -1;
	}
	vw->starting = true;
	vw_first_command(vw, spec->restore);
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

int
vatworker_snapshot(struct vatworker *vw)
{
	if (vw->state != VATWORKER_READY || !vw->snapshots ||
	    worker_snapshot(vw->w) == -1)
		return -1;
	vw->state = VATWORKER_SNAPSHOTTING;
	return 0;
}

void
vatworker_snapshot_pause(struct vatworker *vw, bool pause)
{
	if (vw->state == VATWORKER_SNAPSHOTTING)
		worker_snapshot_pause(vw->w, pause);
}

bool
vatworker_can_snapshot(const struct vatworker *vw)
{
	return vw->snapshots;
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
