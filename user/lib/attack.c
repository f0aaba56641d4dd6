/* Severities, techniques and their names (see attack.h). */
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

/* The techniques the rules name: ATT&CK's names and the tactic each is reported under. */
static const struct hw_attack_technique techniques[] = {
    {"T1021", "Remote Services", "TA0008", "Lateral Movement"},
    {"T1021.001", "Remote Desktop Protocol", "TA0008", "Lateral Movement"},
    {"T1021.002", "SMB/Windows Admin Shares", "TA0008", "Lateral Movement"},
    {"T1021.004", "SSH", "TA0008", "Lateral Movement"},
    {"T1021.005", "VNC", "TA0008", "Lateral Movement"},
    {"T1021.006", "Windows Remote Management", "TA0008", "Lateral Movement"},
    {"T1036.005", "Match Legitimate Name or Location", "TA0005", "Defense Evasion"},
    {"T1046", "Network Service Discovery", "TA0007", "Discovery"},
    {"T1053.003", "Cron", "TA0003", "Persistence"},
    {"T1059", "Command and Scripting Interpreter", "TA0002", "Execution"},
    {"T1059.004", "Unix Shell", "TA0002", "Execution"},
    {"T1071", "Application Layer Protocol", "TA0011", "Command and Control"},
    {"T1078", "Valid Accounts", "TA0001", "Initial Access"},
    {"T1090", "Proxy", "TA0011", "Command and Control"},
    {"T1090.001", "Internal Proxy", "TA0011", "Command and Control"},
    {"T1098", "Account Manipulation", "TA0003", "Persistence"},
    {"T1098.004", "SSH Authorized Keys", "TA0003", "Persistence"},
    {"T1105", "Ingress Tool Transfer", "TA0011", "Command and Control"},
    {"T1110", "Brute Force", "TA0006", "Credential Access"},
    {"T1110.001", "Password Guessing", "TA0006", "Credential Access"},
    {"T1133", "External Remote Services", "TA0001", "Initial Access"},
    {"T1190", "Exploit Public-Facing Application", "TA0001", "Initial Access"},
    {"T1505", "Server Software Component", "TA0003", "Persistence"},
    {"T1505.003", "Web Shell", "TA0003", "Persistence"},
    {"T1543.002", "Systemd Service", "TA0003", "Persistence"},
    {"T1563", "Remote Service Session Hijacking", "TA0008", "Lateral Movement"},
    {"T1563.001", "SSH Hijacking", "TA0008", "Lateral Movement"},
    {"T1570", "Lateral Tool Transfer", "TA0008", "Lateral Movement"},
    {"T1572", "Protocol Tunneling", "TA0011", "Command and Control"},
    {"T1574.006", "Dynamic Linker Hijacking", "TA0003", "Persistence"},
};

const struct hw_attack_technique *hw_attack__technique(const char *id, size_t len)
{
	for (size_t i = 0; i < sizeof(techniques) / sizeof(techniques[0]); i++)
		if (strlen(techniques[i].id) == len && !memcmp(techniques[i].id, id, len))
			return &techniques[i];
	return NULL;
}
