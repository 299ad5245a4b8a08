/*
 * control_ops.c — the control protocol's per-op validators: what the
 * fields of commit, queue, run, promise, installBundle and terminateVat
 * must hold
 * (status and shutdown have none), the field helpers they share
 * (integers, strings, krefs, capdata), and ctl_request_free_u(), which
 * releases what they put in req->u.  Loading the line, finding the op
 * and checking that no unknown field is present happen before, in
 * control_msg.c; so do the error strings' encoding and the building of
 * reply lines.
 *
 * A validator gets the loaded object and fills req->u, or sets err with
 * the field's name and what was expected, and returns -1; the caller then
 * calls ctl_request_free_u() on whatever was filled in.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol/capdata.h"
#include "protocol/control_msg.h"
#include "protocol/control_impl.h"

/* Kref kinds, for ctl_field_kref(): the letters after 'k'. */
#define CTL_KREF_TARGET	"op"	/* a message target: object or promise */
#define CTL_KREF_SLOT	"opd"	/* a capdata slot: object, promise, device */
#define CTL_KREF_PROMISE "p"

static int	ctl_field_uint64(json_t *, const char *, uint64_t *,
		    struct ctl_parse_error *);
static int	ctl_positive(json_t *, const char *, uint64_t *,
		    struct ctl_parse_error *);
static int	ctl_string(json_t *, const char *, const char **,
		    struct ctl_parse_error *);
static const char *ctl_kref_forms(const char *);
static int	ctl_field_kref(json_t *, const char *, const char *,
		    const char **, struct ctl_parse_error *);
static int	ctl_strdup(const char *, char **, struct ctl_parse_error *);
static int	ctl_check_body(json_t *, struct ctl_parse_error *);
static int	ctl_check_capdata(json_t *, struct ctl_parse_error *);

/* A required field holding a non-negative integer. */
static int
ctl_field_uint64(json_t *root, const char *name, uint64_t *out,
    struct ctl_parse_error *err)
{
	json_t	*v = json_object_get(root, name);

	if (v == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': required, "
		    "expected a non-negative integer", name);
		return -1;
	}
	if (!json_is_integer(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "non-negative integer, got %s", name, ctl_type_name(v));
		return -1;
	}
	if (json_integer_value(v) < 0) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "non-negative integer, got %" JSON_INTEGER_FORMAT, name,
		    json_integer_value(v));
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* v (non-NULL), named name, must be an integer >= 1. */
static int
ctl_positive(json_t *v, const char *name, uint64_t *out,
    struct ctl_parse_error *err)
{
	if (!json_is_integer(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "positive integer, got %s", name, ctl_type_name(v));
		return -1;
	}
	if (json_integer_value(v) <= 0) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "positive integer, got %" JSON_INTEGER_FORMAT, name,
		    json_integer_value(v));
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/*
 * v (NULL when absent), named name, must be a non-empty string.  *out
 * borrows it.  No NUL inside: ctl_load() refuses "\u0000" as bad JSON.
 */
static int
ctl_string(json_t *v, const char *name, const char **out,
    struct ctl_parse_error *err)
{
	if (v == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': required, "
		    "expected a non-empty string", name);
		return -1;
	}
	if (!json_is_string(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "non-empty string, got %s", name, ctl_type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	if (**out == '\0') {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "non-empty string, got \"\"", name);
		return -1;
	}
	return 0;
}

/* The forms a kind of kref may take, for messages. */
static const char *
ctl_kref_forms(const char *kinds)
{
	if (strcmp(kinds, CTL_KREF_PROMISE) == 0)
		return "kp<digits>";
	if (strcmp(kinds, CTL_KREF_TARGET) == 0)
		return "ko<digits> or kp<digits>";
	return "ko<digits>, kp<digits> or kd<digits>";
}

/*
 * v, named name, must be a kref: 'k', one of the letters in kinds, one or
 * more digits.  Only the form: whether the kernel knows it is its business.
 */
static int
ctl_field_kref(json_t *v, const char *name, const char *kinds,
    const char **out, struct ctl_parse_error *err)
{
	const char	*s;
	size_t		 len;

	if (v == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': required, "
		    "expected a kref, %s", name, ctl_kref_forms(kinds));
		return -1;
	}
	if (!json_is_string(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a "
		    "kref, %s, got %s", name, ctl_kref_forms(kinds),
		    ctl_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= 3 && s[0] == 'k' && strchr(kinds, s[1]) != NULL &&
	    s[1] != '\0' && strspn(s + 2, "0123456789") == len - 2) {
		*out = s;
		return 0;
	}
	ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected a kref, %s, "
	    "got '%.64s'", name, ctl_kref_forms(kinds), s);
	return -1;
}

static int
ctl_strdup(const char *s, char **out, struct ctl_parse_error *err)
{
	if ((*out = strdup(s)) == NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A capdata body: smallcaps, "#" then JSON text, which for a message's
 * arguments must be an array.  Its numbers may be beyond json_int_t (JS
 * writes 2**64 as 18446744073709552000), hence integers as reals here.
 */
static int
ctl_check_body(json_t *v, struct ctl_parse_error *err)
{
	const char	*s;
	json_t		*body = NULL;
	size_t		 len;

	if (v == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args.body': required, "
		    "expected smallcaps of an array, '#[…]'");
		return -1;
	}
	if (!json_is_string(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args.body': expected "
		    "smallcaps of an array, '#[…]', got %s", ctl_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= 2 && s[0] == '#' && s[1] == '[')
		body = json_loadb(s + 1, len - 1, JSON_DECODE_INT_AS_REAL,
		    NULL);
	if (body == NULL || !json_is_array(body)) {
		json_decref(body);
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args.body': expected "
		    "smallcaps of an array, '#[…]'");
		return -1;
	}
	json_decref(body);
	return 0;
}

/* A message's arguments as capdata: {"body": "#[…]", "slots": [kref…]}. */
static int
ctl_check_capdata(json_t *args, struct ctl_parse_error *err)
{
	const char	*key, *s;
	json_t		*v, *slots;
	size_t		 i;
	char		 name[48];

	if (!json_is_object(args)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args': expected "
		    "capdata, {\"body\":\"#[…]\",\"slots\":[…]}, got %s",
		    ctl_type_name(args));
		return -1;
	}
	json_object_foreach(args, key, v) {
		if (strcmp(key, "body") != 0 && strcmp(key, "slots") != 0) {
			ctl_error(err, CTL_E_BAD_REQUEST, "unknown field "
			    "'args.%s'", key);
			return -1;
		}
	}
	if (ctl_check_body(json_object_get(args, "body"), err) == -1)
		return -1;
	if ((slots = json_object_get(args, "slots")) == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args.slots': "
		    "required, expected an array of krefs");
		return -1;
	}
	if (!json_is_array(slots)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'args.slots': "
		    "expected an array of krefs, got %s", ctl_type_name(slots));
		return -1;
	}
	json_array_foreach(slots, i, v) {
		(void)snprintf(name, sizeof(name), "args.slots[%zu]", i);
		if (ctl_field_kref(v, name, CTL_KREF_SLOT, &s, err) == -1)
			return -1;
	}
	return 0;
}

int
ctl_check_commit(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	return ctl_field_uint64(root, "height", &req->u.commit.height, err);
}

/* On failure the caller releases what was filled in (ctl_request_free_u). */
/* An optional boolean field (dflt when absent) into *out (0 or 1). */
static int
ctl_flag(const json_t *v, const char *name, bool dflt, int *out,
    struct ctl_parse_error *err)
{
	if (v != NULL && !json_is_boolean(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field '%s': expected true "
		    "or false, got %s", name, ctl_type_name(v));
		return -1;
	}
	*out = v == NULL ? dflt : json_is_true(v);
	return 0;
}

int
ctl_check_queue(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t		*vat = json_object_get(root, "vat");
	json_t		*target = json_object_get(root, "target");
	json_t		*args = json_object_get(root, "args");
	const char	*s;

	if (vat != NULL && target != NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "fields 'vat' and 'target': "
		    "give one, not both");
		return -1;
	}
	if (vat == NULL && target == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'vat' or 'target': "
		    "required, give one");
		return -1;
	}
	if (vat != NULL) {
		if (ctl_string(vat, "vat", &s, err) == -1 ||
		    ctl_strdup(s, &req->u.queue.vat, err) == -1)
			return -1;
	} else if (ctl_field_kref(target, "target", CTL_KREF_TARGET, &s,
	    err) == -1 || ctl_strdup(s, &req->u.queue.target, err) == -1)
		return -1;
	if (ctl_string(json_object_get(root, "method"), "method", &s,
	    err) == -1 || ctl_strdup(s, &req->u.queue.method, err) == -1)
		return -1;
	if (ctl_flag(json_object_get(root, "result"), "result", true,
	    &req->u.queue.no_result, err) == -1)
		return -1;
	req->u.queue.no_result = !req->u.queue.no_result;
	if (args == NULL)
		args = json_pack("{s:s, s:[]}", "body", "#[]", "slots");
	else if (ctl_check_capdata(args, err) == -1)
		return -1;
	else
		json_incref(args);
	if ((req->u.queue.args = args) == NULL) {
		ctl_error(err, CTL_E_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

const char *const ctl_cleanup_phases[CTL_CLEANUP_PHASES] = { "exports",
    "imports", "promises", "kv", "snapshots", "transcripts" };

/* run's "cleanup": true, false, or a budget of positive integers. */
static int
check_cleanup(json_t *c, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t		*v;
	const char	*key;
	char		 name[48];
	uint64_t	 dflt = 0;
	int		 p;

	req->u.run.cleanup_mode = c == NULL || json_is_true(c) ?
	    CTL_CLEANUP_ALL : json_is_false(c) ? CTL_CLEANUP_NONE :
	    CTL_CLEANUP_BUDGET;
	if (req->u.run.cleanup_mode != CTL_CLEANUP_BUDGET)
		return 0;
	if (!json_is_object(c) || json_object_get(c, "default") == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'cleanup': expected "
		    "true, false or a budget {\"default\":n, …}, got %s",
		    json_is_object(c) ? "an object without 'default'" :
		    ctl_type_name(c));
		return -1;
	}
	if (ctl_positive(json_object_get(c, "default"), "cleanup.default",
	    &dflt, err) == -1)
		return -1;
	for (p = 0; p < CTL_CLEANUP_PHASES; p++)
		req->u.run.cleanup[p] = dflt;
	json_object_foreach(c, key, v) {
		for (p = 0; p < CTL_CLEANUP_PHASES; p++)
			if (strcmp(key, ctl_cleanup_phases[p]) == 0)
				break;
		if (p == CTL_CLEANUP_PHASES && strcmp(key, "default") != 0) {
			ctl_error(err, CTL_E_BAD_REQUEST, "unknown field "
			    "'cleanup.%.64s'", key);
			return -1;
		}
		(void)snprintf(name, sizeof(name), "cleanup.%s", p ==
		    CTL_CLEANUP_PHASES ? "default" : ctl_cleanup_phases[p]);
		if (p < CTL_CLEANUP_PHASES && ctl_positive(v, name,
		    &req->u.run.cleanup[p], err) == -1)
			return -1;
	}
	return 0;
}

int
ctl_check_run(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t		*budget = json_object_get(root, "budget"), *v;
	const char	*key;
	uint64_t	*out;
	char		 name[32];

	req->u.run.cranks = req->u.run.computrons = 0;
	req->u.run.has_now = json_object_get(root, "now") != NULL;
	if (req->u.run.has_now && ctl_field_time(json_object_get(root, "now"),
	    "now", &req->u.run.now, err) == -1)
		return -1;
	if (check_cleanup(json_object_get(root, "cleanup"), req, err) == -1)
		return -1;
	if (budget == NULL)
		return 0;
	if (!json_is_object(budget)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'budget': expected an "
		    "object, {\"cranks\":n,\"computrons\":n}, got %s",
		    ctl_type_name(budget));
		return -1;
	}
	json_object_foreach(budget, key, v) {
		if (strcmp(key, "cranks") == 0)
			out = &req->u.run.cranks;
		else if (strcmp(key, "computrons") == 0)
			out = &req->u.run.computrons;
		else {
			ctl_error(err, CTL_E_BAD_REQUEST, "unknown field "
			    "'budget.%s'", key);
			return -1;
		}
		(void)snprintf(name, sizeof(name), "budget.%s", key);
		if (ctl_positive(v, name, out, err) == -1)
			return -1;
	}
	return 0;
}

int
ctl_check_promise(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	const char	*s;

	if (ctl_field_kref(json_object_get(root, "kpid"), "kpid",
	    CTL_KREF_PROMISE, &s, err) == -1 || ctl_flag(json_object_get(root,
	    "release"), "release", false, &req->u.promise.release, err) == -1)
		return -1;
	return ctl_strdup(s, &req->u.promise.kpid, err);
}

/* The bundle's contents are the daemon's to judge (daemon/bundles.c). */
int
ctl_check_install_bundle(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t		*bundle = json_object_get(root, "bundle");
	json_t		*id = json_object_get(root, "bundleID");
	const char	*s;

	if (bundle == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'bundle': required, "
		    "expected a bundle object");
		return -1;
	}
	if (!json_is_object(bundle)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'bundle': expected a "
		    "bundle object, got %s", ctl_type_name(bundle));
		return -1;
	}
	if (id != NULL && (ctl_string(id, "bundleID", &s, err) == -1 ||
	    ctl_strdup(s, &req->u.install_bundle.bundle_id, err) == -1))
		return -1;
	req->u.install_bundle.bundle = json_incref(bundle);
	return 0;
}

/*
 * A termination reason: capdata of any value, without slots, into *out
 * normalised as the kernel keeps a vat's exit info (unserialized and
 * serialized again: error records lose their errorId), so that what
 * reaches the vat-admin vat is capdata it can read.
 */
static int
ctl_check_reason(json_t *v, json_t **out, struct ctl_parse_error *err)
{
	json_t		*body = json_object_get(v, "body");
	json_t		*slots = json_object_get(v, "slots");
	const char	*key;
	json_t		*x;

	if (!json_is_object(v)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'reason': %s, expected "
		    "capdata, {\"body\":\"#…\",\"slots\":[]}", v == NULL ?
		    "required" : "not an object");
		return -1;
	}
	json_object_foreach(v, key, x)
		if (strcmp(key, "body") != 0 && strcmp(key, "slots") != 0) {
			ctl_error(err, CTL_E_BAD_REQUEST, "unknown field "
			    "'reason.%.64s'", key);
			return -1;
		}
	if (!json_is_array(slots) || json_array_size(slots) != 0) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'reason.slots': %s, "
		    "expected [], a termination reason holds no slots",
		    slots == NULL ? "required" : "not []");
		return -1;
	}
	if (!json_is_string(body) || json_string_value(body)[0] != '#' ||
	    (*out = capdata_normalise(v)) == NULL) {
		ctl_error(err, CTL_E_BAD_REQUEST, "field 'reason.body': %s, "
		    "expected smallcaps ('#' and then JSON) that refers to no "
		    "slot", body == NULL ? "required" : "not usable");
		return -1;
	}
	return 0;
}

/* The vat to terminate, by name or by ID, and the reason. */
int
ctl_check_terminate_vat(json_t *root, struct ctl_request *req,
    struct ctl_parse_error *err)
{
	json_t		*vat = json_object_get(root, "vat");
	json_t		*vid = json_object_get(root, "vatID");
	const char	*s;

	if ((vat != NULL) == (vid != NULL)) {
		ctl_error(err, CTL_E_BAD_REQUEST, "fields 'vat' and 'vatID': "
		    "give exactly one");
		return -1;
	}
	if (vat != NULL) {
		if (ctl_string(vat, "vat", &s, err) == -1 ||
		    ctl_strdup(s, &req->u.terminate.vat, err) == -1)
			return -1;
	} else {
		s = json_string_value(vid);
		if (s == NULL || s[0] != 'v' || s[1] == '\0' ||
		    strspn(s + 1, "0123456789") != strlen(s + 1) ||
		    strlen(s) > 20) {
			ctl_error(err, CTL_E_BAD_REQUEST, "field 'vatID': "
			    "expected a vat ID, v<digits>");
			return -1;
		}
		if (ctl_strdup(s, &req->u.terminate.vat_id, err) == -1)
			return -1;
	}
	return ctl_check_reason(json_object_get(root, "reason"),
	    &req->u.terminate.reason, err);
}

/* Release what a validator put in req->u, complete or not. */
void
ctl_request_free_u(struct ctl_request *req)
{
	switch (req->op) {
	case CTL_OP_QUEUE:
		free(req->u.queue.vat);
		free(req->u.queue.target);
		free(req->u.queue.method);
		json_decref(req->u.queue.args);
		break;
	case CTL_OP_PROMISE:
		free(req->u.promise.kpid);
		break;
	case CTL_OP_INSTALL_BUNDLE:
		json_decref(req->u.install_bundle.bundle);
		free(req->u.install_bundle.bundle_id);
		break;
	case CTL_OP_TERMINATE_VAT:
		free(req->u.terminate.vat);
		free(req->u.terminate.vat_id);
		json_decref(req->u.terminate.reason);
		break;
	case CTL_OP_STATUS:
	case CTL_OP_COMMIT:
	case CTL_OP_SHUTDOWN:
	case CTL_OP_POLL:
	case CTL_OP_MAILBOX_DELIVER:
	case CTL_OP_MAILBOX_OUTBOX:
	case CTL_OP_BRIDGE_INBOUND:
	case CTL_OP_BRIDGE_REGISTER:
	case CTL_OP_BRIDGE_ANSWER:
		ctl_free_devices_u(req);
		break;
	case CTL_OP_RUN:
	case CTL_OP_REAP_ALL_VATS:
		break;
	}
	memset(&req->u, 0, sizeof(req->u));
}
