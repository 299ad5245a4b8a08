/*
 * ctl_output.h — swingctl's printers: one table of callbacks per output
 * format (readable text, JSON as the daemon sent it); commands pick one
 * and call through it, so `status` and `status --json` share one path.
 */
#ifndef TOOLS_CTL_OUTPUT_H
#define TOOLS_CTL_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

struct ctl_output {
	void	(*status)(FILE *, json_t *result);
	void	(*commit)(FILE *, json_t *result);
	void	(*shutdown)(FILE *, json_t *result);
	void	(*queue)(FILE *, json_t *result);	/* {kpid} */
	void	(*run)(FILE *, json_t *result);		/* {cranks, …} */
	void	(*promise)(FILE *, json_t *result);	/* {kpid, state, …} */
	void	(*bundle)(FILE *, json_t *result);	/* {bundleID} */
	void	(*poll)(FILE *, json_t *result);	/* {woke, lastPolled} */
	void	(*mailbox)(FILE *, json_t *result);	/* {} or {outbox} */
	void	(*terminate)(FILE *, json_t *result);	/* {halted?} */
	void	(*reap)(FILE *, json_t *result);	/* {scheduled} */
};

extern const struct ctl_output ctl_output_text;
extern const struct ctl_output ctl_output_json;

#endif
