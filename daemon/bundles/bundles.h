/*
 * bundles.h — bundle IDs and the bundle table.  Bundles are stored under
 * their ID, as their canonical JSON text (compact, keys sorted):
 *
 *   b1-<128 hex>  an endoZipBase64 bundle that passes bundle_endo_check():
 *                 "b1-" + its endoZipBase64Sha512, as SwingSet names it;
 *   b0-<64 hex>   any other bundle (the native test worker's, with
 *                 "moduleFormat":"testworker"): "b0-" + the SHA-256 of
 *                 its canonical text.
 *
 * Used at first start for the configured bundles, by the vat-admin
 * device's createByBundle, and by the installBundle control op, which
 * alone refuses bundles (bundle_check) and installs them in a crank of
 * the open block (the kernel's kernel_install_bundle).
 */
#ifndef DAEMON_BUNDLES_H
#define DAEMON_BUNDLES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "daemon/store/store.h"

/* The canonical text of bundle (malloc'd), or NULL. */
char	*bundle_text(const json_t *bundle);

/* The ID of a bundle given as its canonical text (malloc'd), or NULL:
 * b1- or b0- as above. */
char	*bundle_id(const char *text);

/* "b0-" + the SHA-256 of len bytes (malloc'd), or NULL: also how
 * SwingSet names the lockdown and supervisor bundle files. */
char	*bundle_b0_of(const void *bytes, size_t len);

/*
 * Store bundle (if its ID is new) in the open crank; *id gets its ID
 * (malloc'd).  Never refuses a bundle: an endoZipBase64 bundle that fails
 * its check is stored under its b0- ID, with a warning in the log, and a
 * vat created from it fails to start.  STORE_* codes.
 */
int	 bundle_install(struct store *st, const json_t *bundle, char **id);

#define BUNDLE_REFUSED	(-1)	/* bundle_check: the bundle is refused */
#define BUNDLE_ESYS	(-2)	/* bundle_check: this machine failed (out
				   of memory); nothing is known of it */

/*
 * installBundle's rules, SwingSet's (controller.validateAndInstallBundle):
 * an endoZipBase64 bundle with exactly the properties moduleFormat,
 * endoZipBase64 and endoZipBase64Sha512 that passes bundle_endo_check()
 * gets its b1- ID; and, ours, a "testworker" bundle its b0- ID.  Any other
 * format (getExport, nestedEvaluate: SwingSet cannot name them either) is
 * refused.  [in] alleged, when not NULL, must equal the ID.  0 with *id
 * (malloc'd); or BUNDLE_REFUSED or BUNDLE_ESYS with the reason in why
 * (1024 bytes hold any).
 */
int	 bundle_check(const json_t *bundle, const char *alleged, char **id,
	    char *why, size_t whylen);

/* The bundle stored under id (new reference), or NULL. */
json_t	*bundle_get(struct store *st, const char *id);

/* Whether id has the shape of a bundle ID: "b1-" and 128 lowercase hex
 * digits (SwingSet's ^b1-[0-9a-f]{128}$), or "b0-" and 1 to 128. */
bool	 bundle_id_valid(const char *id);

#endif
