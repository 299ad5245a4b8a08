/*
 * vat_illegal.c — the "illegal" behaviour: one method per kind of
 * syscall a kernel must refuse (worker-protocol.md §11, "Error results").
 *
 * Each method makes its syscall with syscall_raw() — so an error result
 * does not fail the delivery by itself — reports the kernel's answer as
 * testLog "<method>: <answer JSON>", and returns that answer.
 *
 *   useUnknownImport()  ["send","o-999",{hello(), result null}]
 *   forgedKref()        ["send","o+0",{hello(<slot "ko5">)}]: a kref
 *   wrongDirection()    ["send","o+0",{hello(<slot "d+5">)}]: exports a
 *                       device node, which only devices may
 *   resolveImported(p)  ["resolve",[[p,false,"stolen"]]] for an imported
 *                       promise p this vat does not decide
 *   badVatstore()       ["vatstoreGet",42]: a non-string key
 *   unknownSyscall()    ["frobnicate"]
 *   reuseResult()       two sends with the same result p+N (the second
 *                       is not new); logs both answers
 */
#include <stdlib.h>
#include <string.h>

#include "workers/testworker/testworker.h"

static int	ill_report(struct tw_call *, json_t *);
static json_t	*ill_hello(const char *);
static int	ill_unknown_import(struct tw_call *);
static int	ill_forged(struct tw_call *);
static int	ill_direction(struct tw_call *);
static int	ill_resolve(struct tw_call *);
static int	ill_vatstore(struct tw_call *);
static int	ill_unknown(struct tw_call *);
static int	ill_reuse(struct tw_call *);

static const struct tw_method illegal_methods[] = {
	{ "useUnknownImport", ill_unknown_import },
	{ "forgedKref", ill_forged },
	{ "wrongDirection", ill_direction },
	{ "resolveImported", ill_resolve },
	{ "badVatstore", ill_vatstore },
	{ "unknownSyscall", ill_unknown },
	{ "reuseResult", ill_reuse },
	{ NULL, NULL }
};

const struct behaviour vat_illegal = {
	"illegal", illegal_methods, NULL
};

/* Make the syscall vso (stolen), log and return the answer. */
static int
ill_report(struct tw_call *call, json_t *vso)
{
	json_t	*res;
	char	*text;
	int	 rc;

	if (syscall_raw(call->vat, vso, &res) == -1)
		return -1;
	if ((text = json_dumps(res, TW_JSON_FLAGS)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	rc = syscall_test_log(call->vat, "%s: %s", call->method, text);
	free(text);
	call_return(call, res);
	return rc;
}

/* methargs capdata of hello(x) where x is slots[0] = slot, or hello(). */
static json_t *
ill_hello(const char *slot)
{
	if (slot == NULL)
		return json_pack("{s:s,s:[]}", "body", "#[\"hello\",[]]",
		    "slots");
	return json_pack("{s:s,s:[s]}", "body",
	    "#[\"hello\",[\"$0.Alleged: forged\"]]", "slots", slot);
}

static int
ill_unknown_import(struct tw_call *call)
{
	return ill_report(call, json_pack("[ss{s:o,s:n}]", "send", "o-999",
	    "methargs", ill_hello(NULL), "result"));
}

static int
ill_forged(struct tw_call *call)
{
	return ill_report(call, json_pack("[ss{s:o,s:n}]", "send", "o+0",
	    "methargs", ill_hello("ko5"), "result"));
}

static int
ill_direction(struct tw_call *call)
{
	return ill_report(call, json_pack("[ss{s:o,s:n}]", "send", "o+0",
	    "methargs", ill_hello("d+5"), "result"));
}

static int
ill_resolve(struct tw_call *call)
{
	const char	*p = marshal_ref_vref(json_array_get(call->args, 0));

	if (p == NULL || p[0] != 'p') {
		call_throw(call, "resolveImported needs a promise");
		return 0;
	}
	return ill_report(call, json_pack("[s[[sb{s:s,s:[]}]]]", "resolve",
	    p, 0, "body", "#\"stolen\"", "slots"));
}

static int
ill_vatstore(struct tw_call *call)
{
	return ill_report(call, json_pack("[si]", "vatstoreGet", 42));
}

static int
ill_unknown(struct tw_call *call)
{
	return ill_report(call, json_pack("[s]", "frobnicate"));
}

static int
ill_reuse(struct tw_call *call)
{
	char	*vpid = liveslots_next_vpid(call->vat);
	json_t	*first;
	int	 rc;

	rc = syscall_raw(call->vat, json_pack("[ss{s:o,s:s}]", "send", "o+0",
	    "methargs", ill_hello(NULL), "result", vpid), &first);
	json_decref(first);
	if (rc == 0)
		rc = ill_report(call, json_pack("[ss{s:o,s:s}]", "send",
		    "o+0", "methargs", ill_hello(NULL), "result", vpid));
	free(vpid);
	return rc;
}
