/*
 * bundles.h — the bundle table: bundles are stored under their ID, which
 * is "b0-" + the SHA-256 (hex) of the bundle's canonical JSON text
 * (compact, keys sorted).  Used at first start for the configured bundles
 * and by the vat-admin device's createByBundle.
 */
#ifndef DAEMON_BUNDLES_H
#define DAEMON_BUNDLES_H

#include <stdbool.h>

#include <jansson.h>

#include "daemon/store.h"

/* The canonical text of bundle (malloc'd), or NULL. */
char	*bundle_text(const json_t *bundle);

/* The ID of a bundle's canonical text (malloc'd), or NULL. */
char	*bundle_id(const char *text);

/* Store bundle (if new) in the open crank; *id gets its ID (malloc'd). */
int	 bundle_install(struct store *st, const json_t *bundle, char **id);

/* The bundle stored under id (new reference), or NULL. */
json_t	*bundle_get(struct store *st, const char *id);

/* Whether id has the shape of a bundle ID: b0- or b1- then hex. */
bool	 bundle_id_valid(const char *id);

#endif
