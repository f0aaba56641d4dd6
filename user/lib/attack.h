/* The MITRE ATT&CK vocabulary of the alerts, in one place: severities (event.severity and
 * its name) and the techniques that depend on a port; and the rule every alert's technique
 * list follows (each technique once, in the order added). The engine's rules and the
 * collector's stitcher both take them from here (detect/engine.h: hw_alert__severity,
 * hw_alert__technique). */
#ifndef HW_LIB_ATTACK_H
#define HW_LIB_ATTACK_H

#include <stddef.h>

/* event.severity of the alerts (docs/rules.md) */
#define HW_SEV_LOW	21
#define HW_SEV_MEDIUM	47
#define HW_SEV_HIGH	73
#define HW_SEV_CRITICAL 99

/* "low", "medium", "high" or "critical": the band sev falls in. */
const char *hw_attack__severity_name(int sev);

/* The remote-services sub-technique of a service port (22: T1021.004 SSH, 3389: T1021.001
 * RDP, ...); NULL for other ports. */
const char *hw_attack__port_technique(unsigned int port);

/* Appends id to the n techniques of v (room for max) unless it is NULL, already there, or
 * there is no room. Returns 1 when appended. */
int hw_attack__add_technique(const char **v, int *n, int max, const char *id);

/* A technique's ATT&CK name and the tactic hopwatch reports it under. */
struct hw_attack_technique {
	const char *id, *name, *tactic_id, *tactic;
};

/* The technique id[0..len), NULL when no rule names it. */
const struct hw_attack_technique *hw_attack__technique(const char *id, size_t len);

#endif
