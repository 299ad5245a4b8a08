/*
 * meter.c — meters (kernel-semantics.md §18): computron allowances that
 * dynamic vats are created with.  State, in the hashed kv as SwingSet
 * keeps it: meter.nextID, mN.remaining (decimal, or "unlimited") and
 * mN.threshold (decimal).  The vatAdmin device's meter methods call the
 * first half; the kernel's per-delivery check (may the vat spend this
 * much?) and deduction (after the crank: floor at 0, and a
 * meterCrossedThreshold(meterID, remaining) message to the vat-admin
 * vat once per crossing) are the second.  Amounts are unsigned 64-bit; a
 * sum beyond that saturates (callers refuse bigger arguments).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

#define UNLIMITED	"unlimited"

struct meter {
	bool		 unlimited;
	uint64_t	 remaining, threshold;
};

/* A meter ID as SwingSet makes them: ^m[0-9]+$, and short enough to be
 * kept in a vat's record (struct kvat's meter_id). */
static bool
meter_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 2 && n < 20 && id[0] == 'm' && strspn(id + 1,
	    "0123456789") == n - 1;
}

/* Read meter id; -1 when there is no such meter. */
static int
meter_read(struct kernel *k, const char *id, struct meter *m)
{
	char	 key[64], *r, *t;
	int	 rc = -1;

	if (!meter_id_ok(id))
		return -1;
	snprintf(key, sizeof(key), "%s.remaining", id);
	r = kv_get(k->st, key);
	snprintf(key, sizeof(key), "%s.threshold", id);
	t = r ? kv_get(k->st, key) : NULL;
	if (t != NULL) {
		m->unlimited = strcmp(r, UNLIMITED) == 0;
		m->remaining = m->unlimited ? 0 : strtoull(r, NULL, 10);
		m->threshold = strtoull(t, NULL, 10);
		rc = 0;
	}
	free(r);
	free(t);
	return rc;
}

static int
meter_write(struct kernel *k, const char *id, const struct meter *m)
{
	char	 key[64];
	int	 rc;

	snprintf(key, sizeof(key), "%s.remaining", id);
	rc = m->unlimited ? kv_put(k->st, key, UNLIMITED) :
	    kv_putf(k->st, key, "%" PRIu64, m->remaining);
	snprintf(key, sizeof(key), "%s.threshold", id);
	return rc != STORE_OK ? rc : kv_putf(k->st, key, "%" PRIu64,
	    m->threshold);
}

bool
kmeter_exists(struct kernel *k, const char *id)
{
	struct meter m;

	return meter_read(k, id, &m) == 0;
}

int
kmeter_create(struct kernel *k, bool unlimited, uint64_t remaining,
    uint64_t threshold, char **id)
{
	struct meter	 m = { unlimited, unlimited ? 0 : remaining,
			    unlimited ? 0 : threshold };
	uint64_t	 n;
	int		 rc;

	*id = NULL;
	if ((rc = kv_alloc(k->st, "meter.nextID", 1, &n)) != STORE_OK)
		return rc;
	if (asprintf(id, "m%" PRIu64, n) < 0) {
		*id = NULL;
		return STORE_ENOMEM;
	}
	return meter_write(k, *id, &m);
}

/* STORE_NOTFOUND for an unknown meter. */
int
kmeter_add(struct kernel *k, const char *id, uint64_t delta)
{
	struct meter m;

	if (meter_read(k, id, &m) == -1)
		return STORE_NOTFOUND;
	if (m.unlimited)
		return STORE_OK;
	m.remaining = m.remaining > UINT64_MAX - delta ? UINT64_MAX :
	    m.remaining + delta;
	return meter_write(k, id, &m);
}

int
kmeter_set_threshold(struct kernel *k, const char *id, uint64_t threshold)
{
	struct meter m;

	if (meter_read(k, id, &m) == -1)
		return STORE_NOTFOUND;
	m.threshold = threshold;
	return meter_write(k, id, &m);
}

/* -1 for an unknown meter. */
int
kmeter_get(struct kernel *k, const char *id, bool *unlimited,
    uint64_t *remaining, uint64_t *threshold)
{
	struct meter m;

	if (meter_read(k, id, &m) == -1)
		return -1;
	*unlimited = m.unlimited;
	*remaining = m.remaining;
	*threshold = m.threshold;
	return 0;
}

/* May a vat on meter id spend this much?  (An unknown meter: no.) */
bool
kmeter_check(struct kernel *k, const char *id, uint64_t spent)
{
	struct meter m;

	return meter_read(k, id, &m) == 0 && (m.unlimited ||
	    m.remaining >= spent);
}

/* Spend, flooring at 0; crossing below the threshold tells vat-admin. */
int
kmeter_deduct(struct kernel *k, const char *id, uint64_t spent)
{
	struct meter	 m;
	uint64_t	 old;
	char		*pre = NULL;
	int		 rc;

	if (meter_read(k, id, &m) == -1 || m.unlimited || spent == 0)
		return STORE_OK;
	old = m.remaining;
	m.remaining = old > spent ? old - spent : 0;
	if ((rc = meter_write(k, id, &m)) != STORE_OK ||
	    !(m.remaining < m.threshold && old >= m.threshold))
		return rc;
	rc = asprintf(&pre, "\"%s\",\"+%" PRIu64 "\"", id, m.remaining) < 0 ?
	    STORE_ENOMEM : kp_tell_admin(k, "meterCrossedThreshold", pre,
	    NULL);
	free(pre);
	return rc;
}
