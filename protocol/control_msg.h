/*
 * control_msg.h — the control protocol's messages: newline-delimited JSON
 * objects on the daemon's Unix socket, shared by swingsetd and swingctl.
 *
 * One request per line: {"id": <any JSON value, echoed>, "op": "<name>",
 * …op fields}.  One response per request:
 *   {"id":…,"ok":true,"result":{…}}
 *   {"id":…,"ok":false,"error":{"code":"<code>","message":"<text>"}}
 * This file turns a line into a typed struct (one validator per op; errors
 * name the field and what was expected) and builds the response lines.  It
 * knows nothing of sockets or the event loop.
 */
#ifndef PROTOCOL_CONTROL_MSG_H
#define PROTOCOL_CONTROL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* run's "cleanup": all (absent or true), none (false), or one budgeted
 * cleanup crank; the phases in SwingSet's order. */
#define CTL_CLEANUP_PHASES	6
enum { CTL_CLEANUP_ALL, CTL_CLEANUP_NONE, CTL_CLEANUP_BUDGET };
extern const char *const ctl_cleanup_phases[CTL_CLEANUP_PHASES];

enum ctl_op {
	CTL_OP_STATUS,
	CTL_OP_COMMIT,
	CTL_OP_SHUTDOWN,
	CTL_OP_QUEUE,		/* queue a message to a vat's root or a kref */
	CTL_OP_RUN,		/* run cranks until idle, a budget, or a halt */
	CTL_OP_PROMISE,		/* show a kernel promise */
	CTL_OP_INSTALL_BUNDLE,	/* check a bundle, install it in the block */
	CTL_OP_POLL,		/* the timer device's poll(now) */
	CTL_OP_MAILBOX_DELIVER,	/* inbound messages for the mailbox */
	CTL_OP_MAILBOX_OUTBOX,	/* show the mailbox's outbox */
	CTL_OP_TERMINATE_VAT,	/* terminate a vat in a crank of the block */
	CTL_OP_BRIDGE_INBOUND,	/* the bridge device's deliverInbound */
	CTL_OP_BRIDGE_REGISTER,	/* this connection answers callOutbound */
	CTL_OP_BRIDGE_ANSWER,	/* the answer to a callOutbound request */
	CTL_OP_REAP_ALL_VATS,	/* a bringOutYourDead for every live vat */
};

/* Error codes, sent as the strings in ctl_code_name(). */
enum ctl_code {
	CTL_E_BAD_JSON,		/* "bad_json": the line is not a JSON object */
	CTL_E_BAD_REQUEST,	/* "bad_request": a field missing or mistyped */
	CTL_E_UNKNOWN_OP,	/* "unknown_op" */
	CTL_E_LINE_TOO_LONG,	/* "line_too_long" */
	CTL_E_BAD_HEIGHT,	/* "bad_height": commit height out of order */
	CTL_E_STORE,		/* "store_error": the store refused */
	CTL_E_HALTED,		/* "halted": the kernel is halted */
	CTL_E_SHUTTING_DOWN,	/* "shutting_down" */
	CTL_E_NOT_FOUND,	/* "not_found": unknown vat, kref or kpid */
	CTL_E_BUSY,		/* "busy": a run is in progress, or the op
				   conflicts with it */
	CTL_E_INTERNAL,		/* "internal" */
	CTL_E_BAD_BUNDLE,	/* "bad_bundle": installBundle refused the
				   bundle, or bundleID is not its ID */
	CTL_E_DENIED,		/* "denied": the peer's uid and gid are not
				   allowed on the socket */
	CTL_E_TOO_MANY_CLIENTS,	/* "too_many_clients": no free slot */
	CTL_E_OVER_BUDGET,	/* "over_budget": the clients' buffer budget
				   is used up */
	CTL_E_IDLE_TIMEOUT,	/* "idle_timeout": no complete request for
				   too long */
	CTL_E_BAD_TIME,		/* "bad_time": a time before the timer
				   device's last polled time */
};

struct ctl_request {
	json_t		*id;	/* owned reference; json_null() when absent */
	enum ctl_op	 op;
	union {
		struct {
			uint64_t height;	/* block height to record */
		} commit;
		struct {
			char	*vat;		/* a static vat's name, or NULL */
			char	*target;	/* "ko…"/"kp…", or NULL */
			char	*method;	/* non-empty */
			json_t	*args;		/* capdata {"body","slots"} */
			int	 no_result;	/* "result": false: send-only */
		} queue;			/* exactly one of vat, target */
		struct {
			uint64_t cranks;	/* at most this many; 0: no limit */
			uint64_t computrons;	/* 0: no limit */
			int	 has_now;	/* "now" given: poll first */
			uint64_t now;
			int	 cleanup_mode;	/* CTL_CLEANUP_* */
			uint64_t cleanup[CTL_CLEANUP_PHASES];
		} run;
		struct {
			uint64_t now;		/* the block time */
		} poll;
		struct {
			char	*peer;		/* non-empty */
			json_t	*messages;	/* [[msgnum, body], …] */
			uint64_t ack;
		} mailbox_deliver;
		struct {
			char	*src_id;	/* non-empty */
			json_t	*obj;		/* plain JSON */
		} bridge_inbound;
		struct {
			uint64_t call;		/* the request's "call" */
			json_t	*result;	/* plain JSON, or NULL */
			char	*error;		/* or the host's error */
		} bridge_answer;
		struct {
			char	*kpid;		/* "kp" and digits */
			int	 release;	/* the host lets go of it */
		} promise;
		struct {
			json_t	*bundle;	/* an object */
			char	*bundle_id;	/* the alleged ID, or NULL */
		} install_bundle;
		struct {
			char	*vat;		/* a vat's name, or NULL */
			char	*vat_id;	/* "v" and digits, or NULL */
			json_t	*reason;	/* capdata without slots */
		} terminate;			/* exactly one of vat, vat_id */
	} u;			/* by op; strings and args owned, released
				   by ctl_request_clear() */
};

/* A parse failure: code plus a message naming the field. */
struct ctl_parse_error {
	enum ctl_code	 code;
	json_t		*id;	/* owned; the request's id when it could be
				   read, else json_null() */
	char		 message[256];	/* NUL-terminated, truncated if long */
};

/*
 * Parse one request line ([in] line, len bytes, without the '\n'; need not
 * be NUL-terminated).  Returns 0 and fills [out] req, which the caller
 * releases with ctl_request_clear(); or -1 and fills [out] err, which the
 * caller releases with ctl_parse_error_clear().
 *
 * Rules: the line must be one JSON object; "id" is optional and may be any
 * JSON value; "op" must be a known op name; each op's fields are checked
 * for presence and type; unknown fields are rejected so misspellings show.
 * Messages name nested fields by path: 'budget.cranks', 'args.slots[1]'.
 *
 * Op fields, and what lands in req->u:
 *   status, shutdown	none.
 *   commit		"height": integer >= 0.
 *   queue		exactly one of "vat" (non-empty string) and "target"
 *			(a kref, ko<digits> or kp<digits>: only the form is
 *			checked; existence is the kernel's business and its
 *			not_found); "method": non-empty string; "args":
 *			optional capdata, {"body": "#" then a JSON array,
 *			"slots": [kref, …]} with krefs ko/kp/kd<digits>.
 *			u.queue.args is always set (a new reference): the
 *			request's object, or {"body":"#[]","slots":[]}.
 *			"result": optional boolean, default true; false
 *			sends without a result promise (u.queue.no_result).
 *   run		"budget": optional {"cranks": n, "computrons": n},
 *			each optional and a positive integer; absent is 0,
 *			no limit.  "now": optional, a time as for poll;
 *			u.run.has_now says whether it was given.
 *			"cleanup": optional: true (the default: clean up
 *			terminated vats wholly), false (not in this run),
 *			or a budget {"default": n, "exports": n, "imports":
 *			n, "promises": n, "kv": n, "snapshots": n,
 *			"transcripts": n} (positive integers, "default"
 *			required, the others optional): one cleanup crank,
 *			u.run.cleanup[] its limit per phase in that order.
 *   poll		"now": a non-negative integer, or a string of
 *			decimal digits (for times past 2^63), at most
 *			2^64-1.
 *   mailboxDeliver	"peer": non-empty string; "messages": an array of
 *			[msgnum, body] pairs, msgnum an integer from 0 to
 *			2^53-1 and body a string (u.mailbox_deliver.messages
 *			a new reference); "ack": an integer from 0 to 2^53-1.
 *   mailboxOutbox	none.
 *   bridgeInbound	"srcID": non-empty string; "obj": any JSON whose
 *			objects have no key starting with '#' (smallcaps
 *			keeps those for its special records).
 *   bridgeRegister	none.
 *   reapAllVats	none.
 *   bridgeAnswer	"call": a positive integer; at most one of
 *			"result" (JSON as for obj; absent: undefined) and
 *			"error" (a string: the host's callback threw).
 *   promise		"kpid": kp<digits>; "release": optional boolean.
 *   installBundle	"bundle": an object (what a bundle must hold is the
 *			daemon's to check: bad_bundle); "bundleID": optional
 *			non-empty string.
 *   terminateVat	exactly one of "vat" (non-empty string) and "vatID"
 *			(v<digits>); "reason": capdata {"body": "#" then
 *			JSON, "slots": []} (no slots, as SwingSet's
 *			controller.terminateVat requires).
 * A "\u0000" anywhere is bad_json: strings never hold a NUL.
 */
int	 ctl_request_parse(const char *line, size_t len, struct ctl_request *req,
	    struct ctl_parse_error *err);
void	 ctl_request_clear(struct ctl_request *req);
void	 ctl_parse_error_clear(struct ctl_parse_error *err);

const char *ctl_op_name(enum ctl_op op);
const char *ctl_code_name(enum ctl_code code);

/*
 * Build a response line (compact JSON followed by '\n').  Both take a
 * borrowed id (NULL means null); ctl_response_ok steals [in] result
 * (NULL means {}).  They return a malloc'd NUL-terminated string the
 * caller frees, with its length in [out] *len, or NULL on ENOMEM.
 */
char	*ctl_response_ok(json_t *id, json_t *result, size_t *len);
char	*ctl_response_error(json_t *id, enum ctl_code code, const char *message,
	    size_t *len);

/*
 * Build a request line for op with the given extra fields (stolen; NULL
 * for none), for clients such as swingctl.  Same return as above.
 */
char	*ctl_request_build(json_t *id, const char *op, json_t *fields,
	    size_t *len);

#endif
