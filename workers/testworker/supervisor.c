/*
 * supervisor.c — the supervisor layer carried by `?` commands
 * (worker-protocol.md §9): setBundle, deliver, "bad tag".
 *
 * Like the real supervisor, setBundle only records the bundle (it does
 * not look at the behaviour name; a bad bundle fails at startVat) and
 * answers ["dispatchReady"], after the ready delay the bundle's options
 * ask for.  Deliveries go to liveslots.c.  A request that is not a
 * non-empty JSON array makes handleCommand throw: a `!` reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/testworker/testworker.h"

static struct tw_vat	*sup_vat;	/* NULL until setBundle */

static json_t	*sup_err(const char *);
static uint64_t	 sup_mix(uint64_t);
static json_int_t sup_delay_ms(const char *, json_t *);
static void	 sup_sleep(json_int_t);
static json_t	*sup_set_bundle(json_t *);
static json_t	*sup_deliver(json_t *);

void
supervisor_clear(void)
{
	liveslots_free(sup_vat);
	sup_vat = NULL;
}

size_t
supervisor_live(void)
{
	return sup_vat == NULL ? 0 : liveslots_live(sup_vat);
}

/* ["err", name, message]: the handler itself failed. */
static json_t *
sup_err(const char *msg)
{
	return json_pack("[sss]", "err", "Error", msg);
}

/* splitmix64's finaliser: a fixed, well-mixed function of its input. */
static uint64_t
sup_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The command line's -D SEED:MAXMS, for delays that are not part of the
 * bundle (and so not part of the kernel's state). */
static uint64_t		sup_cmd_seed;
static json_int_t	sup_cmd_max;

int
supervisor_set_delay(const char *arg)
{
	char			*end;
	unsigned long long	 seed, max;

	seed = strtoull(arg, &end, 10);
	if (end == arg || *end != ':')
		return -1;
	max = strtoull(end + 1, &end, 10);
	if (*end != '\0' || max > 3600000)
		return -1;
	sup_cmd_seed = seed;
	sup_cmd_max = (json_int_t)max;
	return 0;
}

static json_int_t
sup_draw(const char *vat_id, uint64_t seed, json_int_t max)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	const char	*p;

	for (p = vat_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = sup_mix(h ^ sup_mix(seed));
	return (json_int_t)(h % ((uint64_t)max + 1));
}

/*
 * The ready delay in ms from bundle options: readyDelayMs, or a value in
 * [0, readyDelayMaxMs] drawn from (readyDelaySeed, vatID); else from the
 * command line's -D SEED:MAXMS, drawn the same way.
 */
static json_int_t
sup_delay_ms(const char *vat_id, json_t *options)
{
	json_t		*v;
	json_int_t	 max;

	if ((v = json_object_get(options, "readyDelayMs")) != NULL)
		return json_is_integer(v) ? json_integer_value(v) : 0;
	v = json_object_get(options, "readyDelayMaxMs");
	if (json_is_integer(v) && (max = json_integer_value(v)) > 0)
		return sup_draw(vat_id, (uint64_t)json_integer_value(
		    json_object_get(options, "readyDelaySeed")), max);
	if (sup_cmd_max > 0)
		return sup_draw(vat_id, sup_cmd_seed, sup_cmd_max);
	return 0;
}

static void
sup_sleep(json_int_t ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* ["setBundle", vatID, bundle, liveSlotsOptions] */
static json_t *
sup_set_bundle(json_t *req)
{
	json_t		*id = json_array_get(req, 1);
	json_t		*bundle = json_array_get(req, 2);

	if (sup_vat != NULL)
		return sup_err("cannot setBundle again");
	if (!json_is_string(id) || bundle == NULL)
		return sup_err("setBundle needs a vatID and a bundle");
	if ((sup_vat = liveslots_new(json_string_value(id), bundle)) == NULL)
		return sup_err("out of memory");
	/* The bundle itself is judged at startVat, not here. */
	sup_sleep(sup_delay_ms(sup_vat->vat_id, sup_vat->options));
	return json_pack("[s]", "dispatchReady");
}

/* ["deliver", VatDeliveryObject] */
static json_t *
sup_deliver(json_t *req)
{
	json_t	*out = NULL;

	if (sup_vat == NULL)
		return sup_err("deliver before setBundle");
	if (json_array_size(req) != 2)
		return sup_err("deliver needs one VatDeliveryObject");
	if (liveslots_deliver(sup_vat, json_array_get(req, 1), &out) == -1)
		return NULL;
	return out;
}

/*
 * Handle one request; [out] *out is the malloc'd reply text.  Returns 0
 * for a `.` reply, -1 for a `!` reply (the request was not a non-empty
 * array).  Running out of memory ends the worker.
 */
int
supervisor_handle(const unsigned char *req, size_t len, char **out)
{
	json_t		*msg, *tag, *reply;
	const char	*t;

	msg = json_loadb((const char *)req, len, JSON_DECODE_ANY, NULL);
	if (!json_is_array(msg) || json_array_size(msg) == 0) {
		json_decref(msg);
		if ((*out = strdup("Error: supervisor request is not a"
		    " non-empty JSON array")) == NULL)
			tw_fatal(TW_EXIT_IO, "out of memory");
		return -1;
	}
	tag = json_array_get(msg, 0);
	t = json_is_string(tag) ? json_string_value(tag) : "";
	if (strcmp(t, "setBundle") == 0)
		reply = sup_set_bundle(msg);
	else if (strcmp(t, "deliver") == 0)
		reply = sup_deliver(msg);
	else
		reply = json_pack("[sO]", "bad tag", tag);
	if (reply == NULL || (*out = json_dumps(reply, TW_JSON_FLAGS)) == NULL)
		tw_fatal(TW_EXIT_IO, "out of memory");
	json_decref(reply);
	json_decref(msg);
	return 0;
}
