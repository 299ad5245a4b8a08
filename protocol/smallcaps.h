/*
 * smallcaps.h — the one rule of @endo/marshal's smallcaps encoding that
 * plain data needs: a string that starts with one of !"#$%&'()*+,- is
 * written with a '!' in front, so that "$0" stays the string "$0" and is
 * not read as slot 0; and its inverse, for data that should be plain.
 * Used by the kernel, swingctl and the test worker.
 */
#ifndef PROTOCOL_SMALLCAPS_H
#define PROTOCOL_SMALLCAPS_H

#include <stddef.h>

#include <jansson.h>

#define SMALLCAPS_SPECIAL	"!\"#$%&'()*+,-"

/* The encoding of the string s (len bytes): a new reference, or NULL. */
json_t	*smallcaps_string(const char *s, size_t len);

/* Plain JSON data (no references) with every string encoded, at any
 * depth (object values, not keys): a new reference, or NULL. */
json_t	*smallcaps_plain(const json_t *v);

/* The plain string a smallcaps-encoded value stands for (borrowed from
 * v), or NULL when v is not a string or is a special value ("$0", …). */
const char *smallcaps_decode_string(const json_t *v);

/* The plain JSON that smallcaps value v encodes (new reference), or NULL
 * when it holds anything but plain data: references, undefined, bigints,
 * errors, tagged values. */
json_t	*smallcaps_decode_plain(const json_t *v);

#endif
