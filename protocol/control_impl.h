/*
 * control_impl.h — private to protocol/control_msg.c and
 * protocol/control_ops.c: what the line parser and the per-op validators
 * call across the two files.  Nothing outside protocol/control_*.c
 * includes it; the contract is control_msg.h.
 */
#ifndef PROTOCOL_CONTROL_IMPL_H
#define PROTOCOL_CONTROL_IMPL_H

#include <jansson.h>

#include "protocol/control_msg.h"

/* control_msg.c */
void		 ctl_error(struct ctl_parse_error *, enum ctl_code,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
const char	*ctl_type_name(const json_t *);

/* control_ops.c: validators for ctl_ops[], and their cleanup. */
int		 ctl_check_commit(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_queue(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_run(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_promise(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_install_bundle(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_terminate_vat(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
void		 ctl_request_free_u(struct ctl_request *);

/* control_devices.c: the device ops' fields. */
int		 ctl_field_time(json_t *, const char *, uint64_t *,
		    struct ctl_parse_error *);
int		 ctl_check_poll(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_mailbox_deliver(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_bridge_inbound(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
int		 ctl_check_bridge_answer(json_t *, struct ctl_request *,
		    struct ctl_parse_error *);
void		 ctl_free_devices_u(struct ctl_request *);

#endif /* PROTOCOL_CONTROL_IMPL_H */
