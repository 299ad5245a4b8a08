/*
 * testworker.h — private header of bin/testworker, the native C worker
 * that speaks the xsnap framing and the SwingSet supervisor protocol
 * (worker-protocol.md) and hosts vat behaviours written in C.
 *
 * The table of contents: every entry point, grouped by the file that
 * owns it.  Layers, top to bottom:
 *
 *   main.c        argv, the xsnap command loop, exit codes
 *   pipe.c        netstrings on fd 3 / fd 4, upcalls
 *   meter.c       the deterministic meter and the -l compute limit
 *   supervisor.c  setBundle / deliver requests, the ready delay
 *   liveslots.c   the vat's refs, objects and promises; method calls
 *   dispatch.c    deliveries: startVat, message, notify
 *   gc.c          reachability: what the vat holds, bringOutYourDead and
 *                 its GC syscalls, the GC deliveries
 *   syscall.c     building VatSyscallObjects and reading their results
 *   marshal.c     smallcaps capdata <-> the value model below
 *   behaviours.c  the registry of behaviours (and echo, counter, …)
 *   vat_*.c       the larger behaviours, one file each (vat_holder.c:
 *                 the GC test behaviour)
 *
 * The value model.  Vat values are jansson trees of plain data in which
 * three kinds of marker object stand for what JSON cannot say:
 *
 *   {"\001ref":"o-50","\001iface":"Alleged: x"}  a remotable (o±N, d±N)
 *   {"\001ref":"p+5"}                            a promise
 *   {"\001raw":<smallcaps encoding>}             anything else passed
 *        through verbatim: undefined, bigints, errors, tagged, symbols…
 *
 * The \001 prefix keeps the markers apart from any record key a real
 * message carries (smallcaps record keys are printable strings in
 * practice; a record whose only key is "\001ref" would be misread).
 */
#ifndef WORKERS_TESTWORKER_H
#define WORKERS_TESTWORKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TW_KEY_REF	"\001ref"
#define TW_KEY_IFACE	"\001iface"
#define TW_KEY_RAW	"\001raw"

/* Compact, insertion-ordered output, as JSON.stringify writes it. */
#define TW_JSON_FLAGS	(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* Exit codes shared with xsnap-worker (worker-protocol.md §6). */
#define TW_EXIT_OK		0
#define TW_EXIT_USAGE		1
#define TW_EXIT_IO		2
#define TW_EXIT_UNHANDLED	15
#define TW_EXIT_COMPUTE		17

struct tw_vat;
struct tw_object;
struct tw_call;

/* A method of an exported object: 0 when the call's outcome is set,
 * -1 when the delivery must fail (vat->failure says why). */
typedef int	tw_method_fn(struct tw_call *);

struct tw_method {
	const char	*name;
	tw_method_fn	*fn;
};

/* A promise continuation.  arg is owned by the continuation's record and
 * released after the call; value is borrowed. */
typedef int	tw_then_fn(struct tw_vat *, json_t *arg, int rejected,
		    json_t *value);

/* A vat behaviour: what the bundle's "vat" names (behaviours.c). */
struct behaviour {
	const char		*name;
	const struct tw_method	*root;		/* methods of o+0, NULL-ended */
	int			(*start)(struct tw_vat *, json_t *params);
};

struct tw_object {
	char			*vref;		/* o+N */
	uint64_t		 id;		/* N */
	char			*iface;		/* "Alleged: …" */
	const struct tw_method	*methods;
	json_t			*state;		/* the behaviour's data */
	int			 kernel_reachable;	/* exported, not dropped:
						   liveslots' exportedRemotables */
	int			 kernel_recognizable;	/* exported, not retired:
						   kernelRecognizableRemotables */
	uint64_t		 mark;		/* gc.c: the epoch that reached it */
};

/* vat->imports values: the liveslots state of an imported o-N / d-N. */
#define TW_IMPORT_REACHABLE	1	/* a Presence: the kernel's flag is R */
#define TW_IMPORT_DROPPED	2	/* dropImports made, a recognizer kept
					   it from retireImports */

struct tw_then {
	struct tw_then	*next;
	tw_then_fn	*fn;
	json_t		*arg;
};

struct tw_promise {
	struct tw_promise *next;
	char		*vpid;
	int		 decider;	/* this vat decides it */
	int		 exported;	/* the kernel knows it: settling it is
					   a resolve syscall */
	int		 local;		/* made by promise_new: kept after
					   settling, so later thens still run */
	int		 settled;
	int		 rejected;
	json_t		*value;		/* once settled */
	struct tw_then	*thens;		/* in registration order */
};

struct tw_vat {
	char			*vat_id;
	json_t			*bundle;
	json_t			*options;	/* bundle "options", or {} */
	const struct behaviour	*behaviour;	/* NULL until startVat */
	int			 started;
	uint64_t		 next_export;	/* o+N, from 10 */
	uint64_t		 next_promise;	/* p+N, from 5 */
	struct tw_object	**objects;	/* live exports by N (o+N), or
						   NULL; [0] is the root */
	size_t			 objects_cap;	/* slots in objects[] */
	size_t			 objects_live;	/* non-NULL slots */
	struct tw_promise	*promises;
	json_t			*imports;	/* vref -> TW_IMPORT_* */
	json_t			*held;		/* array: refs the vat keeps
						   (liveslots_hold); a GC root */
	json_t			*recognizers;	/* set of o-N kept recognizable
						   (a weak-map key), holder */
	json_t			*maybe_retired;	/* set: liveslots'
						   possiblyRetiredSet */
	uint64_t		 gc_epoch;	/* gc.c marks */
	json_t			*state;		/* behaviour-wide data */
	char			*failure;	/* why this delivery fails */
};

enum tw_outcome {
	TW_RETURN,	/* value (NULL = undefined) fulfils the result */
	TW_THROW,	/* value is the error message (a JSON string) */
	TW_AWAIT,	/* value is a promise marker: follow it */
	TW_DEFER,	/* the behaviour settles call->result itself later */
};

struct tw_call {
	struct tw_vat		*vat;
	struct tw_object	*self;
	const char		*method;
	const char		*result;	/* result vpid, or NULL */
	json_t			*args;		/* borrowed array */
	enum tw_outcome		 outcome;
	json_t			*value;		/* owned */
};

/* main.c */
void		 tw_fatal(int code, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3), noreturn));

/* pipe.c */
int		 pipe_init(void);
void		 pipe_clear(void);
int		 pipe_read(const unsigned char **frame, size_t *len);
int		 pipe_write(char tag, const void *a, size_t alen,
		    const void *b, size_t blen);
int		 pipe_upcall(json_t *msg, json_t **answer);

/* meter.c */
void		 meter_set_limit(uint64_t limit);
void		 meter_begin(void);
void		 meter_add(uint64_t units);
char		*meter_render(size_t live);

/* supervisor.c */
int		 supervisor_set_delay(const char *seed_colon_max_ms);
int		 supervisor_handle(const unsigned char *req, size_t len,
		    char **out);
void		 supervisor_clear(void);
size_t		 supervisor_live(void);

/* liveslots.c */
struct tw_vat	*liveslots_new(const char *vat_id, json_t *bundle);
void		 liveslots_free(struct tw_vat *);
size_t		 liveslots_live(const struct tw_vat *);
int		 liveslots_fail(struct tw_vat *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
struct tw_object *object_add(struct tw_vat *, char *vref, const char *name,
		    const struct tw_method *, json_t *state);
struct tw_object *object_new(struct tw_vat *, const char *name,
		    const struct tw_method *, json_t *state);
json_t		*object_ref(const struct tw_object *);
struct tw_object *object_find(struct tw_vat *, const char *vref);
void		 object_free(struct tw_vat *, struct tw_object *);
void		 liveslots_hold(struct tw_vat *, json_t *ref);
char		*liveslots_next_vpid(struct tw_vat *);
struct tw_promise *promise_find(struct tw_vat *, const char *vpid);
struct tw_promise *promise_track(struct tw_vat *, const char *vpid,
		    int decider);
json_t		*promise_new(struct tw_vat *);
int		 promise_settle(struct tw_vat *, const char *vpid,
		    int rejected, json_t *value);
int		 promise_then(struct tw_vat *, const char *vpid, tw_then_fn *,
		    json_t *arg);
int		 liveslots_import(struct tw_vat *, json_t *slots,
		    const char *except);
int		 liveslots_exported(struct tw_vat *, json_t *slots);
void		 call_return(struct tw_call *, json_t *value);
void		 call_throw(struct tw_call *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 call_await(struct tw_call *, json_t *promise);
void		 call_defer(struct tw_call *);

/* dispatch.c */
int		 liveslots_deliver(struct tw_vat *, json_t *vdo, json_t **out);

/* gc.c */
typedef int	gc_ref_fn(void *arg, const char *vref, json_t *ref);
int		 gc_walk(json_t *value, gc_ref_fn *, void *arg);
void		 gc_retain(struct tw_vat *, json_t *slots);
int		 gc_bring_out_your_dead(struct tw_vat *);
int		 gc_deliver(struct tw_vat *, const char *type, json_t *vrefs);

/* syscall.c */
int		 syscall_raw(struct tw_vat *, json_t *vso, json_t **result);
int		 syscall_do(struct tw_vat *, json_t *vso, json_t **data);
int		 syscall_send(struct tw_vat *, const char *target,
		    const char *method, json_t *args, json_t **result);
int		 syscall_resolve(struct tw_vat *, const char *vpid,
		    int rejected, json_t *value);
int		 syscall_call_now(struct tw_vat *, const char *dref,
		    const char *method, json_t *args, json_t **value,
		    char **error);
int		 syscall_exit(struct tw_vat *, int failure, json_t *value);
int		 syscall_vatstore_get(struct tw_vat *, const char *key,
		    char **value);
int		 syscall_vatstore_set(struct tw_vat *, const char *key,
		    const char *value);
int		 syscall_vatstore_setf(struct tw_vat *, const char *kfmt,
		    const char *vfmt, long long arg);
int		 syscall_vatstore_count(struct tw_vat *, const char *key,
		    json_int_t delta, json_int_t *now);
int		 syscall_test_log(struct tw_vat *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
int		 syscall_console(struct tw_vat *, const char *level,
		    json_t *args);

/* marshal.c */
json_t		*marshal_encode(json_t *value);
json_t		*marshal_decode(json_t *capdata, char **why);
char		*marshal_render(json_t *value);
json_t		*marshal_ref(const char *vref, const char *iface);
const char	*marshal_ref_vref(json_t *value);
json_t		*marshal_undefined(void);
json_t		*marshal_error(const char *msg);
json_t		*marshal_methargs(const char *method, json_t *args);

/* behaviours.c */
const struct behaviour *behaviour_find(const char *name);

/* vat_bootstrap.c, vat_promises.c, vat_illegal.c, vat_admin.c */
json_t		*bootstrap_subst(json_t *args, json_t *names);
extern const struct behaviour	vat_bootstrap;
extern const struct behaviour	vat_admin;
char		*vat_admin_describe(json_t *value);
int		 vat_admin_create_on_start(struct tw_vat *, json_t *params);
extern const struct behaviour	vat_promises;
extern const struct tw_method	vat_thing_methods[];
extern const struct behaviour	vat_illegal;
extern const struct behaviour	vat_holder;

#endif
