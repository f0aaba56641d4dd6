/* Severities and techniques (see attack.h). */
#include <string.h>

#include "lib/attack.h"

const char *hw_attack__severity_name(int sev)
{
	return sev >= HW_SEV_CRITICAL ? "critical"
	       : sev >= HW_SEV_HIGH   ? "high"
	       : sev >= HW_SEV_MEDIUM ? "medium"
				      : "low";
}

const char *hw_attack__port_technique(unsigned int port)
{
	switch (port) {
	case 22:
		return "T1021.004"; /* SSH */
	case 3389:
		return "T1021.001"; /* Remote Desktop Protocol */
	case 135:
	case 445:
		return "T1021.002"; /* SMB/Windows Admin Shares */
	case 5900:
		return "T1021.005"; /* VNC */
	case 5985:
	case 5986:
		return "T1021.006"; /* Windows Remote Management */
	default:
		return NULL;
	}
}

int hw_attack__add_technique(const char **v, int *n, int max, const char *id)
{
	if (!id || *n >= max)
		return 0;
	for (int i = 0; i < *n; i++)
		if (!strcmp(v[i], id))
			return 0;
	v[(*n)++] = id;
	return 1;
}
