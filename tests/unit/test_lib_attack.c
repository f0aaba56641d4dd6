/* lib/attack.h: severities and techniques, one table for the rules and the stitcher. */
#include <string.h>

#include "detect/engine.h"
#include "lib/attack.h"
#include "test.h"

TEST(lib_attack_severity_names)
{
	CHECK_STREQ(hw_attack__severity_name(HW_SEV_LOW), "low");
	CHECK_STREQ(hw_attack__severity_name(HW_SEV_MEDIUM), "medium");
	CHECK_STREQ(hw_attack__severity_name(HW_SEV_HIGH), "high");
	CHECK_STREQ(hw_attack__severity_name(HW_SEV_CRITICAL), "critical");
	CHECK_STREQ(hw_attack__severity_name(HW_SEV_HIGH - 1), "medium");
	CHECK_STREQ(hw_attack__severity_name(0), "low");
	/* the values docs/rules.md and the ECS output name */
	CHECK_EQ(HW_SEV_LOW, 21);
	CHECK_EQ(HW_SEV_MEDIUM, 47);
	CHECK_EQ(HW_SEV_HIGH, 73);
	CHECK_EQ(HW_SEV_CRITICAL, 99);
}

TEST(lib_attack_port_techniques)
{
	CHECK_STREQ(hw_attack__port_technique(22), "T1021.004");
	CHECK_STREQ(hw_attack__port_technique(3389), "T1021.001");
	CHECK_STREQ(hw_attack__port_technique(445), "T1021.002");
	CHECK_STREQ(hw_attack__port_technique(135), "T1021.002");
	CHECK_STREQ(hw_attack__port_technique(5900), "T1021.005");
	CHECK_STREQ(hw_attack__port_technique(5986), "T1021.006");
	CHECK(!hw_attack__port_technique(443));
}

/* The rules' own technique() appended whatever it was given, twice if asked; the stitcher's
 * removed duplicates. Both now take the one that does (and keeps the order, and the bound). */
TEST(lib_attack_techniques_once_each)
{
	struct hw_alert a;

	memset(&a, 0, sizeof(a));
	hw_alert__technique(&a, "T1021");
	hw_alert__technique(&a, hw_attack__port_technique(22));
	hw_alert__technique(&a, "T1021");
	hw_alert__technique(&a, hw_attack__port_technique(22));
	hw_alert__technique(&a, NULL);
	hw_alert__technique(&a, hw_attack__port_technique(443));
	CHECK_EQ(a.ntechniques, 2);
	CHECK_STREQ(a.techniques[0], "T1021");
	CHECK_STREQ(a.techniques[1], "T1021.004");
	hw_alert__technique(&a, "T1572");
	hw_alert__technique(&a, "T1090.001");
	hw_alert__technique(&a, "T1046"); /* no room: HW_ALERT_TECHNIQUES */
	CHECK_EQ(a.ntechniques, HW_ALERT_TECHNIQUES);
	CHECK_STREQ(a.techniques[3], "T1090.001");
	hw_alert__severity(&a, HW_SEV_HIGH);
	CHECK_EQ(a.severity, 73);
	CHECK_STREQ(a.severity_name, "high");
}

/* The names OCSF's Detection Finding carries (output/ocsf_class.c): a technique and its
 * sub-technique are found by their ids' exact length, an unknown id has none. */
TEST(lib_attack_technique_names)
{
	const struct hw_attack_technique *t = hw_attack__technique("T1021.004", 9);

	CHECK(t);
	CHECK_STREQ(t->name, "SSH");
	CHECK_STREQ(t->tactic_id, "TA0008");
	t = hw_attack__technique("T1021.004", 5); /* the parent technique of the id */
	CHECK(t);
	CHECK_STREQ(t->name, "Remote Services");
	CHECK(!hw_attack__technique("T1021.00", 8));
	CHECK(!hw_attack__technique("T9999", 5));
	CHECK(!hw_attack__technique("", 0));
}
