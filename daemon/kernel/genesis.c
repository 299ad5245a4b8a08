/*
 * genesis.c — the first cranks' work, done once per state (when
 * kernel.started is absent): every static vat's root exported and its
 * startVat queued, in ID order, then bootstrap(vats, devices) queued to
 * the bootstrap vat's root with a result promise the kernel keeps.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

/*
 * Export each static vat's root (o+0) and queue its startVat, in ID
 * order (the vatAdmin vat's root is kept as vatAdminRootKref); then queue
 * bootstrap(vats, devices) to the bootstrap vat's root, with a result
 * promise the kernel keeps ("kernel.bootstrapResult").
 */
static int
genesis(struct kernel *k)
{
	json_t	*names = json_array(), *krefs = json_array(), *item, *ma;
	json_t	*dnames = json_array(), *dkrefs = json_array();
	char	*root = NULL, *kpid = NULL, *boot = kv_get(k->st,
		    "kernel.bootstrapVat");
	int	 rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < k->vats.n; i++) {
		struct kvat *v = k->vats.v[i];

		rc = clist_to_kref(k, v, "o+0", true, &root);
		if (rc == STORE_OK && strcmp(v->name, "vatAdmin") == 0)
			rc = kv_put(k->st, "vatAdminRootKref", root);
		json_array_append_new(names, json_string(v->name));
		json_array_append_new(krefs, json_string(root ? root : ""));
		free(root);
		item = json_pack("{s:s, s:s}", "type", "startVat", "vatID",
		    v->id);
		if (rc == STORE_OK)
			rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;
		json_decref(item);
	}
	if (rc == STORE_OK)
		rc = devices_genesis(&k->dk, dnames, dkrefs);
	if (rc == STORE_OK && boot != NULL && vats_find(&k->vats, boot) != NULL) {
		ma = capdata_bootstrap_args(names, krefs, dnames, dkrefs);
		rc = ma ? kp_new(k, NULL, &kpid) : STORE_ENOMEM;
		item = rc == STORE_OK ? json_pack("{s:s, s:O, s:{s:O, s:s}}",
		    "type", "send", "target", json_array_get(krefs,
		    vats_index(&k->vats, boot)), "msg", "methargs", ma,
		    "result", kpid) : NULL;
		rc = rc != STORE_OK ? rc : item ? kst_enqueue(k, item) :
		    STORE_ENOMEM;
		if (rc == STORE_OK)
			rc = kv_put(k->st, "kernel.bootstrapResult", kpid);
		json_decref(item);
		json_decref(ma);
	}
	if (rc == STORE_OK)
		rc = kv_put(k->st, "kernel.started", "1");
	free(kpid);
	free(boot);
	json_decref(names);
	json_decref(krefs);
	json_decref(dnames);
	json_decref(dkrefs);
	return rc;
}

int
genesis_crank(struct kernel *k, char *errbuf, size_t errlen)
{
	char	*started = kv_get(k->st, "kernel.started");
	int	 rc;

	free(started);
	if (started != NULL)
		return 0;
	if ((rc = store_crank_begin(k->st)) == STORE_OK) {
		if ((rc = genesis(k)) == STORE_OK)
			rc = store_crank_commit(k->st);
		else
			store_crank_abort(k->st);
		kst_forget_queue(k);
	}
	if (rc != STORE_OK) {
		snprintf(errbuf, errlen, "first cranks: %s: %s",
		    store_strerror(rc), store_errmsg(k->st));
		return -1;
	}
	log_info("kernel", "queued startVat for %zu vats and bootstrap()",
	    k->vats.n);
	return 0;
}
