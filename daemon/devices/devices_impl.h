/*
 * devices_impl.h — private to daemon/devices/: the answers a device
 * method gives, device nodes, and each device's entry points, grouped
 * by the file that defines them.  The door is devices.h.
 */
#ifndef DAEMON_DEVICES_IMPL_H
#define DAEMON_DEVICES_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/devices/devices.h"

#define DEV_INVOKE_FAILED	DEVICES_INVOKE_FAILED

/* common.c — answers and nodes */
json_t	*dev_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
json_t	*dev_thrown(const char *dev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
json_t	*dev_ok(json_t *capdata);
json_t	*dev_ok_body(const char *body);
json_t	*dev_ok_string(const char *s);
json_t	*dev_ok_undefined(void);
json_t	*dev_get_obj(const struct device_kernel *dk, const char *dev,
	    const char *what);
int	 dev_put_obj(const struct device_kernel *dk, const char *dev,
	    const char *what, const json_t *v);
void	 dev_count(const struct device_kernel *dk, const char *what);
int	 dev_node(const struct device_kernel *dk, const char *dev,
	    const char *dref, char **kref);
bool	 dev_nat(const json_t *v, uint64_t *out);
const char *dev_slot_arg(const json_t *args, const json_t *v);

/* vat_admin.c */
json_t	*vad_invoke(const struct device_kernel *dk, const char *dev,
	    const char *dref, const char *method, const json_t *args);

/* timer.c */
json_t	*timer_invoke(const struct device_kernel *dk, const char *dev,
	    const char *dref, const char *method, const json_t *args);

/* mailbox.c */
json_t	*mailbox_invoke(const struct device_kernel *dk, const char *dev,
	    const char *dref, const char *method, const json_t *args);

/* bridge.c */
json_t	*bridge_invoke(const struct device_kernel *dk, const char *dev,
	    const char *dref, const char *method, const json_t *args);

#endif
