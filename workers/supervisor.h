/*
 * supervisor.h — the supervisor layer carried inside xsnap commands: the
 * tagged JSON arrays of worker-protocol.md §9 (setBundle, deliver, and the
 * worker's syscall / console / testLog upcalls).  Pure: JSON in, JSON out;
 * no descriptors, no event loop.  Encodings are compact with keys in
 * insertion order, as JSON.stringify writes them.
 */
#ifndef WORKERS_SUPERVISOR_H
#define WORKERS_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Compact JSON text of v (malloc'd, NUL-terminated), length in *len. */
char	*sup_encode(const json_t *v, size_t *len);

/* ["setBundle", vatID, bundle, liveSlotsOptions] (borrowed arguments). */
char	*sup_set_bundle(const char *vat_id, const json_t *bundle,
	    const json_t *options, size_t *len);

/* ["deliver", vdo] (borrowed). */
char	*sup_deliver(const json_t *vdo, size_t *len);

/* Is [in] result exactly ["dispatchReady"]?  0 yes; -1 no, with the
 * worker's complaint (or what was wrong) in errbuf. */
int	 sup_parse_ready(const unsigned char *result, size_t len,
	    char *errbuf, size_t errlen);

/* What a deliver command answered. */
enum sup_delivery_status {
	SUP_DELIVERY_OK,	/* ["ok", x, null] */
	SUP_DELIVERY_ERROR,	/* ["error", message, null]: the vat failed */
	SUP_DELIVERY_BAD,	/* anything else: a protocol fault */
};

struct sup_delivery {
	enum sup_delivery_status status;
	char		*message;	/* SUP_DELIVERY_ERROR/BAD: malloc'd */
	json_t		*info;		/* SUP_DELIVERY_OK: reply[1] (owned) */
};

void	 sup_parse_delivery(const unsigned char *result, size_t len,
	    struct sup_delivery *out);
void	 sup_delivery_clear(struct sup_delivery *d);

/* An upcall from the worker. */
enum sup_upcall_kind {
	SUP_UPCALL_SYSCALL,	/* ["syscall", x]: body = x, any JSON */
	SUP_UPCALL_CONSOLE,	/* ["sourcedConsole", source, level, …] */
	SUP_UPCALL_TESTLOG,	/* ["testLog", …] */
	SUP_UPCALL_BAD,		/* not a known upcall */
};

/*
 * Parse an upcall.  *msg receives the whole parsed array (new reference,
 * or NULL when it is not JSON); for SYSCALL, *body borrows its vso.
 */
enum sup_upcall_kind sup_parse_upcall(const unsigned char *bytes, size_t len,
	    json_t **msg, json_t **body);

/* The fixed answers to console and testLog upcalls (§9.5). */
#define SUP_ANSWER_CONSOLE	"[\"ok\"]"
#define SUP_ANSWER_TESTLOG	"[\"OK\"]"

/* The computrons in a '.' reply's meter JSON, or 0 when absent. */
uint64_t sup_meter_compute(const char *meter, size_t len);

#endif
