/*
 * capdata.h — the capdata the kernel and its devices make and read
 * themselves, in smallcaps (kernel-semantics.md §4): {"body": "#…",
 * "slots": [kref…]}.  Pure JSON in, JSON out: no state, no store; every
 * function returns a new reference (or a malloc'd string) the caller
 * owns, or NULL when memory runs out or the input is not what it says.
 * Bodies are "#" + compact JSON; record keys sorted.
 */
#ifndef PROTOCOL_CAPDATA_H
#define PROTOCOL_CAPDATA_H

#include <jansson.h>

/* {"#error": message, "name": "Error"}: the kernel's errors. */
json_t	*capdata_error(const char *message);

/* Plain data (no references) as capdata. */
json_t	*capdata_data(const json_t *plain);

/* [method, args] from a method name and args capdata whose body is
 * "#[…]"; the slots carry over unchanged, so "$N" indexes stay right. */
json_t	*capdata_methargs(const char *method, const json_t *args);

/* The method of a methargs, unescaped (malloc'd); "<funcall>" for a
 * function call. */
char	*capdata_method_name(const json_t *methargs);

/* The kref when the whole value is one remotable or promise, else NULL
 * (borrowed from cd's slots). */
const char *capdata_single_slot(const json_t *cd);

/* bootstrap(vats, devices): vats = record name -> root, devices = record
 * name -> device node, each sorted by name.  names and krefs (dev_names
 * and dev_krefs) are parallel arrays. */
json_t	*capdata_bootstrap_args(const json_t *names, const json_t *krefs,
	    const json_t *dev_names, const json_t *dev_krefs);

/* The body of cd, decoded (plain JSON with smallcaps' encodings kept). */
json_t	*capdata_body(const json_t *cd);

/* A part of some capdata's value as capdata of its own: part (encoded, a
 * piece of cd's body) is copied and its slot references renumbered from
 * cd's slots; NULL (or undefined) stands for undefined.  NULL on a
 * reference to a slot cd does not have. */
json_t	*capdata_extract(const json_t *cd, const json_t *part);

/* args capdata "#[a, b, …]" for a kernel-made message: prefix (compact
 * JSON of plain values, already encoded, e.g. "\"v6\",true") followed by
 * the value of tail (capdata whose slots are kept). */
json_t	*capdata_args_with(const char *prefix, const json_t *tail);

/* Capdata a vat handed the kernel to keep and pass on (an exit's info),
 * unserialized and serialized again: its body must be smallcaps JSON,
 * unused slots go, error records lose their errorId.  NULL when it is not
 * capdata. */
json_t	*capdata_normalise(const json_t *cd);

#endif
