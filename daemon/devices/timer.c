/*
 * timer.c — the timer device, native: SwingSet's device-timer.js
 * (src/devices/timer/) method for method, so that SwingSet's own timer
 * vat (vat-timer.js, unmodified) runs on it.  Its root node d+0 has
 * setWakeup, removeWakeup, getLastPolled, makeRepeater, deleteRepeater
 * and schedule; time comes only from the block producer, through
 * timer_poll() (the poll(now) endowment SwingSet's host calls between
 * cranks), which queues wake(time) to every handler whose time has come.
 *
 * State, in dN.deviceState (consensus, hashed like every kv write), one
 * JSON object rewritten whenever device-timer.js calls saveState():
 *   {"lastPolled":"<decimal>","nextRepeater":n,
 *    "repeaters":[{"startTime":"<dec>","interval":"<dec>"} | null, …],
 *    "deadlines":[{"time":"<dec>","handlers":[{"handler":"koN"} |
 *                 {"handler":"koN","index":n}, …]}, …]}
 * deadlines sorted by time, each time once, its handlers in the order
 * they were added: the order wake() is sent in.  SwingSet keeps the same
 * record as marshalled capdata with the handlers as slots; ours names
 * the krefs directly.
 *
 * Times are SwingSet's bigints, kept here in 64 bits: a time or interval
 * past 2^64-1 is refused as Nat refuses a negative one.  A method that
 * throws in SwingSet answers the vat SwingSet's "device.invoke failed,
 * see logs for details" and logs the reason.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/devices/devices_impl.h"
#include "protocol/capdata.h"
#include "protocol/log.h"

/* The state (new reference); the initial one when there is none yet. */
static json_t *
state_load(const struct device_kernel *dk, const char *dev)
{
	char	 key[96];
	json_t	*st;

	snprintf(key, sizeof(key), "%s.deviceState", dev);
	if ((st = kv_get_json(dk->st, key)) != NULL && json_is_object(st))
		return st;
	json_decref(st);
	return json_pack("{s:s, s:i, s:[], s:[]}", "lastPolled", "0",
	    "nextRepeater", 0, "repeaters", "deadlines");
}

static int
state_save(const struct device_kernel *dk, const char *dev, const json_t *st)
{
	char key[96];

	snprintf(key, sizeof(key), "%s.deviceState", dev);
	return kv_put_json(dk->st, key, st);
}

static uint64_t
dec(const json_t *v)
{
	const char *s = json_string_value(v);

	return s ? strtoull(s, NULL, 10) : 0;
}

static json_t *
dec_json(uint64_t n)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, n);
	return json_string(b);
}

/*
 * makeTimerMap's add(): the handler joins the handlers of time (a new
 * entry when there is none, kept in time order); index >= 0 marks a
 * repeater's.
 */
static int
deadlines_add(json_t *st, uint64_t time, const char *handler, json_int_t index)
{
	json_t	*dl = json_object_get(st, "deadlines"), *e, *rec;
	size_t	 i, at = json_array_size(dl);

	rec = index >= 0 ? json_pack("{s:s, s:I}", "handler", handler,
	    "index", index) : json_pack("{s:s}", "handler", handler);
	if (rec == NULL)
		return STORE_ENOMEM;
	json_array_foreach(dl, i, e) {
		uint64_t t = dec(json_object_get(e, "time"));

		if (t == time)
			return json_array_append_new(json_object_get(e,
			    "handlers"), rec) == 0 ? STORE_OK : STORE_ENOMEM;
		if (t > time) {
			at = i;
			break;
		}
	}
	e = json_pack("{s:o, s:[o]}", "time", dec_json(time), "handlers", rec);
	return e && json_array_insert_new(dl, at, e) == 0 ? STORE_OK :
	    STORE_ENOMEM;
}

/* makeTimerMap's remove(): every record of handler, each time's from
 * the last; the times dropped, in that order (a JSON array of decimal
 * strings). */
static json_t *
deadlines_remove(json_t *st, const char *handler)
{
	json_t	*dl = json_object_get(st, "deadlines"), *times = json_array();
	json_t	*e, *hs;
	size_t	 i = 0, j;

	while (times != NULL && i < json_array_size(dl)) {
		e = json_array_get(dl, i);
		hs = json_object_get(e, "handlers");
		for (j = json_array_size(hs); handler != NULL && j-- > 0; ) {
			const char *h = json_string_value(json_object_get(
			    json_array_get(hs, j), "handler"));

			if (h != NULL && strcmp(h, handler) == 0) {
				json_array_remove(hs, j);
				json_array_append(times, json_object_get(e,
				    "time"));
			}
		}
		if (json_array_size(hs) == 0)
			json_array_remove(dl, i);
		else
			i++;
	}
	return times;
}

/*
 * nextScheduleTime(): the smallest startTime + N * interval after
 * lastPolled, computed as SwingSet does, lastPolled + interval -
 * ((lastPolled - startTime) % interval) with a remainder that keeps the
 * sign of its dividend (BigInt's and C's alike).  false when repeater
 * index is gone, its interval is 0 (BigInt throws), or the time does not
 * fit 64 bits.
 */
static bool
next_time(const json_t *st, json_int_t index, uint64_t last, uint64_t *out)
{
	json_t		*r = json_array_get(json_object_get(st, "repeaters"),
			    index < 0 ? (size_t)-1 : (size_t)index);
	__int128	 s, iv, t;

	if (!json_is_object(r))
		return false;
	s = dec(json_object_get(r, "startTime"));
	iv = dec(json_object_get(r, "interval"));
	if (iv == 0)
		return false;
	t = (__int128)last + iv - (((__int128)last - s) % iv);
	if (t < 0 || t > (__int128)UINT64_MAX)
		return false;
	*out = (uint64_t)t;
	return true;
}

static json_t *
ok_bigint(uint64_t n)
{
	char b[40];

	snprintf(b, sizeof(b), "#\"+%" PRIu64 "\"", n);
	return dev_ok_body(b);
}

/* ["ok", capdata] for an array of decimal strings, as bigints. */
static json_t *
ok_bigints(const json_t *times)
{
	json_t	*arr = json_array(), *t, *cd;
	char	 b[40], *text;
	size_t	 i;

	json_array_foreach(times, i, t) {
		snprintf(b, sizeof(b), "+%s", json_string_value(t));
		json_array_append_new(arr, json_string(b));
	}
	text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (text == NULL)
		return NULL;
	cd = json_pack("{s:s+, s:[]}", "body", "#", text, "slots");
	free(text);
	return dev_ok(cd);
}

static json_t *
saved(const struct device_kernel *dk, const char *dev, const json_t *st,
    json_t *answer)
{
	int rc = answer ? state_save(dk, dev, st) : STORE_ENOMEM;

	if (rc == STORE_OK)
		return answer;
	json_decref(answer);
	return dk->store_failed(dk->arg, rc);
}

static json_t *
root_method(const struct device_kernel *dk, const char *dev,
    const char *method, const json_t *args, const json_t *argv, json_t *st)
{
	const json_t	*a0 = json_array_get(argv, 0), *a1 = json_array_get(argv,
			    1);
	const char	*h;
	uint64_t	 t, iv, last = dec(json_object_get(st, "lastPolled"));
	json_int_t	 n;
	json_t		*times, *r;
	char		*text, body[64];
	int		 rc;

	if (strcmp(method, "setWakeup") == 0) {
		if (!dev_nat(a0, &t))
			return dev_thrown(dev, "setWakeup: baseTime is not a "
			    "Nat (64 bits)");
		if ((h = dev_slot_arg(args, a1)) == NULL)
			return dev_thrown(dev, "setWakeup: the handler is not "
			    "an object");
		if ((rc = deadlines_add(st, t, h, -1)) != STORE_OK)
			return dk->store_failed(dk->arg, rc);
		return saved(dk, dev, st, ok_bigint(t));
	}
	if (strcmp(method, "removeWakeup") == 0) {
		times = deadlines_remove(st, dev_slot_arg(args, a0));
		r = times ? ok_bigints(times) : NULL;
		json_decref(times);
		return saved(dk, dev, st, r);
	}
	if (strcmp(method, "getLastPolled") == 0)
		return ok_bigint(last);
	if (strcmp(method, "makeRepeater") == 0) {
		if (!dev_nat(a0, &t) || !dev_nat(a1, &iv))
			return dev_thrown(dev, "makeRepeater: startTime and "
			    "interval must be Nats (64 bits)");
		n = json_integer_value(json_object_get(st, "nextRepeater"));
		if (json_array_append_new(json_object_get(st, "repeaters"),
		    json_pack("{s:o, s:o}", "startTime", dec_json(t),
		    "interval", dec_json(iv))) != 0 || json_object_set_new(st,
		    "nextRepeater", json_integer(n + 1)) != 0)
			return dk->store_failed(dk->arg, STORE_ENOMEM);
		snprintf(body, sizeof(body), "#%" JSON_INTEGER_FORMAT, n);
		return saved(dk, dev, st, dev_ok_body(body));
	}
	if (strcmp(method, "deleteRepeater") == 0) {
		/* repeaters[index] = undefined; return index */
		if (json_is_integer(a0) && json_integer_value(a0) >= 0 &&
		    (size_t)json_integer_value(a0) < json_array_size(
		    json_object_get(st, "repeaters")))
			json_array_set_new(json_object_get(st, "repeaters"),
			    (size_t)json_integer_value(a0), json_null());
		text = a0 ? json_dumps(a0, JSON_COMPACT | JSON_ENCODE_ANY) :
		    strdup("\"#undefined\"");
		r = text ? dev_ok(json_pack("{s:s+, s:[]}", "body", "#", text,
		    "slots")) : NULL;
		free(text);
		return saved(dk, dev, st, r);
	}
	if (strcmp(method, "schedule") == 0) {
		n = json_is_integer(a0) ? json_integer_value(a0) : -1;
		if (!next_time(st, n, last, &t))
			return dev_thrown(dev, "schedule: no repeater %s (or "
			    "its next time is past 2^64-1)", json_is_integer(a0)
			    ? "at that index" : "index");
		if ((h = dev_slot_arg(args, a1)) == NULL)
			return dev_thrown(dev, "schedule: the handler is not "
			    "an object");
		if ((rc = deadlines_add(st, t, h, n)) != STORE_OK)
			return dk->store_failed(dk->arg, rc);
		return saved(dk, dev, st, ok_bigint(t));
	}
	return dev_thrown(dev, "timer device has no method '%s'", method);
}

json_t *
timer_invoke(const struct device_kernel *dk, const char *dev,
    const char *dref, const char *method, const json_t *args)
{
	json_t	*argv = capdata_body(args), *st, *r;

	if (strcmp(dref, "d+0") != 0)
		r = dev_thrown(dev, "timer device: no node %s", dref);
	else if (!json_is_array(argv))
		r = dev_thrown(dev, "%s: arguments must be an array", method);
	else if ((st = state_load(dk, dev)) == NULL)
		r = dk->store_failed(dk->arg, STORE_ENOMEM);
	else {
		r = root_method(dk, dev, method, args, argv, st);
		json_decref(st);
	}
	json_decref(argv);
	return r;
}

/*
 * poll(now), as device-timer.js's: the time may not go back
 * (updateTime); lastPolled = now, saved; then every deadline up to now,
 * in time order, each handler in the order added, is sent wake(time)
 * (time: the deadline's, not now) with sendOnly, and a repeater's handler
 * is scheduled again at its next time after now.  The state is saved
 * again when anything woke.
 */
int
timer_poll(const struct device_kernel *dk, const char *dev, uint64_t now,
    bool *woke, char **why)
{
	json_t	*st = state_load(dk, dev), *dl, *due = NULL, *e, *h, *args;
	uint64_t last, t, next;
	size_t	 i, j;
	char	 body[64];
	int	 rc = STORE_OK;

	*woke = false;
	*why = NULL;
	if (st == NULL)
		return STORE_ENOMEM;
	last = dec(json_object_get(st, "lastPolled"));
	if (now < last) {
		json_decref(st);
		if (asprintf(why, "time is monotonic: %" PRIu64 " cannot be "
		    "less than %" PRIu64 ", the timer's last polled time", now,
		    last) < 0)
			*why = NULL;
		return *why ? STORE_OK : STORE_ENOMEM;
	}
	json_object_set_new(st, "lastPolled", dec_json(now));
	rc = state_save(dk, dev, st);
	dl = json_object_get(st, "deadlines");
	if (rc == STORE_OK && (due = json_array()) == NULL)
		rc = STORE_ENOMEM;
	while (rc == STORE_OK && json_array_size(dl) > 0 &&
	    dec(json_object_get(json_array_get(dl, 0), "time")) <= now) {
		json_array_append(due, json_array_get(dl, 0));
		json_array_remove(dl, 0);
	}
	json_array_foreach(due, i, e) {
		t = dec(json_object_get(e, "time"));
		snprintf(body, sizeof(body), "#[\"+%" PRIu64 "\"]", t);
		json_array_foreach(json_object_get(e, "handlers"), j, h) {
			json_t *idx = json_object_get(h, "index");

			if (rc != STORE_OK)
				break;
			args = json_pack("{s:s, s:[]}", "body", body, "slots");
			rc = args ? dk->send_only(dk->arg, json_string_value(
			    json_object_get(h, "handler")), "wake", args) :
			    STORE_ENOMEM;
			json_decref(args);
			*woke = true;
			if (rc == STORE_OK && idx != NULL) {
				if (next_time(st, json_integer_value(idx), now,
				    &next))
					rc = deadlines_add(st, next,
					    json_string_value(json_object_get(h,
					    "handler")), json_integer_value(idx));
				else if (json_is_object(json_array_get(
				    json_object_get(st, "repeaters"),
				    (size_t)json_integer_value(idx))))
					log_warnx("device", "%s: repeater %"
					    JSON_INTEGER_FORMAT " has no next "
					    "time (interval 0, or past 2^64-1): "
					    "not scheduled again", dev,
					    json_integer_value(idx));
			}
		}
	}
	if (rc == STORE_OK && *woke)
		rc = state_save(dk, dev, st);
	json_decref(due);
	json_decref(st);
	return rc;
}

/* For status: {"lastPolled": "<dec>", "wakeups": pending handlers}. */
json_t *
timer_status(const struct device_kernel *dk, const char *dev)
{
	json_t	*st = state_load(dk, dev), *e, *out;
	size_t	 i, n = 0;

	json_array_foreach(json_object_get(st, "deadlines"), i, e)
		n += json_array_size(json_object_get(e, "handlers"));
	out = st ? json_pack("{s:O, s:I}", "lastPolled", json_object_get(st,
	    "lastPolled"), "wakeups", (json_int_t)n) : NULL;
	json_decref(st);
	return out;
}
