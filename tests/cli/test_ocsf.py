"""Issue 16, section 3, no root: `-o ocsf` of replay and collect, the OCSF schema files kept in
tests/schema/ocsf (source, version and licence recorded), and the schema check
(tests/lib/ocsf_schema.py) itself: a line of each kind conforms, and each kind of violation is
found, so the lab test that relies on it (e2e/ocsf_lines) cannot pass vacuously. Unknown
format names: one line, exit 2. Every class of a real agent run is checked in e2e/ocsf_lines."""
import calendar
import copy
import glob
import json
import os
import re
import subprocess
import sys
import time

import hw
import ocsf_schema
from collectlab import INTERNAL, two_hosts, write
from hw import check, check_eq, get, hopwatch

CORPUS = sorted(glob.glob(os.path.join(hw.ROOT, "tests", "fuzz", "corpus", "fuzz_replay",
                                       "*.ndjson")))
SETS = ["--set", INTERNAL, "--set", "detect.long_session=1m"]
SEVERITY = {47: 3, 73: 4, 99: 5}

# an Authentication line in the shape the agent writes (e2e/ocsf_lines checks real ones)
AUTH = {
    "class_uid": 3002, "class_name": "Authentication", "category_uid": 3,
    "category_name": "Identity & Access Management", "activity_id": 1,
    "activity_name": "Logon", "type_uid": 300201, "type_name": "Authentication: Logon",
    "severity_id": 1, "severity": "Informational", "time": 1796254256496,
    "time_dt": "2026-12-02T23:30:56.496392770Z", "timezone_offset": 0, "status_id": 2,
    "status": "Failure", "status_detail": "authentication failed",
    "metadata": {"version": ocsf_schema.schema().version,
                 "product": {"name": "hopwatch", "vendor_name": "hopwatch", "version": "t"},
                 "profiles": ["host", "datetime"], "log_name": "hopwatch.session",
                 "event_code": "user_login"},
    "device": {"type_id": 0, "type": "Unknown", "hostname": "b", "uid": "3d12",
               "os": {"name": "Linux", "type_id": 200, "type": "Linux"}},
    "actor": {"process": {"pid": 31933, "uid": "FWik", "name": "sshd",
                          "path": "/usr/sbin/sshd"}},
    "user": {"name": "alice"},
    "src_endpoint": {"ip": "198.18.0.1", "port": 48196},
    "dst_endpoint": {"ip": "198.18.0.2", "port": 22},
    "service": {"name": "sshd"},
    "session": {"uid": "bYX9", "created_time": 1796254253503,
                "created_time_dt": "2026-12-02T23:30:53.503672816Z", "is_remote": True},
    "auth_protocol_id": 99, "auth_protocol": "password", "logon_type_id": 10,
    "logon_type": "Remote Interactive", "is_remote": True,
    "unmapped": {"hopwatch.session.id": "bYX9", "hopwatch.session.auth_failures": 1},
}


def _mutated(obj, path, value=None, delete=False):
    ev = copy.deepcopy(obj)
    cur = ev
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur[p]
    if delete:
        del cur[parts[-1]]
    else:
        cur[parts[-1]] = value
    return ev


def _replay(fmt, path):
    p = hopwatch("replay", "-o", fmt, *SETS, path)
    check_eq(p.returncode, 0, "replay -o %s %s: %s" % (fmt, path, p.stderr))
    return p.stdout.splitlines()


def test_schema_files_are_ocsfs_with_version_and_licence():
    d = os.path.join(hw.ROOT, "tests", "schema", "ocsf")
    with open(os.path.join(d, "README.md")) as f:
        readme = f.read()
    version = ocsf_schema.schema().version
    check_eq(version, "1.8.0", "version.json of the kept schema")
    for want in ["https://github.com/ocsf/ocsf-schema", "`%s`" % version,
                 "6fa6499a0f8c9f449d342816e90e5f687c224b0a", "Apache License 2.0"]:
        check(want in readme, "README.md names %r" % want)
    with open(os.path.join(d, "LICENSE")) as f:
        check("Apache License" in f.read(), "the schema's LICENSE is kept")
    with open(os.path.join(hw.ROOT, "user", "output", "ocsf.h")) as f:
        check('#define HW_OCSF_VERSION "%s"' % version in f.read(),
              "HW_OCSF_VERSION is the kept schema's version")
    # the classes of the mapping are there, with their ids
    s = ocsf_schema.schema()
    check_eq({u: s.classes[u]["caption"] for u in (1007, 4001, 3002, 2004, 6002)},
             {1007: "Process Activity", 4001: "Network Activity", 3002: "Authentication",
              2004: "Detection Finding", 6002: "Application Lifecycle"}, "classes")


def test_replay_ocsf_findings_conform_and_match_the_ecs_alerts():
    total = 0
    for path in CORPUS:
        ecs = [json.loads(x) for x in _replay("json", path)]
        lines = _replay("ocsf", path)
        check_eq(ocsf_schema.validate_lines(lines, path)[:10], [], "OCSF violations")
        ocsf = [hw.parse_event(x) for x in lines]
        check_eq(len(ocsf), len(ecs), "%s: one finding per alert" % path)
        for o, e in zip(ocsf, ecs):
            what = "%s %s" % (os.path.basename(path), get(e, "rule.id"))
            check_eq((o["class_uid"], o["activity_id"]), (2004, 1), what + " class")
            check_eq(get(o, "finding_info.uid"), get(e, "event.id"), what + " uid")
            check_eq(get(o, "finding_info.analytic.uid"), get(e, "rule.id"), what + " rule")
            check_eq(get(o, "finding_info.title"), get(e, "rule.name"), what + " title")
            check_eq(o["message"], e["message"], what + " message")
            check_eq(o["severity_id"], SEVERITY[get(e, "event.severity")], what + " severity")
            check_eq(o["time_dt"], e["@timestamp"], what + " time_dt")
            secs = calendar.timegm(time.strptime(e["@timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
            check_eq(o["time"], secs * 1000 + int(e["@timestamp"][20:23]), what + " time (ms)")
            techs = get(e, "threat.technique.id")
            got = [a.get("sub_technique", a["technique"])["uid"]
                   for a in get(o, "finding_info.attacks")]
            check_eq(got, techs, what + " ATT&CK techniques")
            for a in get(o, "finding_info.attacks"):
                check(re.match(r"TA\d{4}$", a["tactic"]["uid"]) and a["technique"].get("name"),
                      what + " tactic and technique name: %r" % a)
            total += 1
    check(total >= 8, "findings checked: %d" % total)


def test_collect_ocsf_conforms():
    b, c, _, _ = two_hosts()
    p = hopwatch("collect", "-o", "ocsf", "--set", INTERNAL, "--replay",
                 write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"))
    check_eq(p.returncode, 0, "collect: " + p.stderr)
    lines = p.stdout.splitlines()
    check_eq(ocsf_schema.validate_lines(lines, "collect line")[:10], [], "OCSF violations")
    out = [hw.parse_event(x) for x in lines]
    check_eq([(o["class_uid"], o["activity_id"]) for o in (out[0], out[-1])],
             [(6002, 3), (6002, 4)], "the collector's start and stop")
    check_eq(get(out[-1], "metadata.event_code"), "collector-stopped", "stop's event_code")
    check("hopwatch.collector.hosts" in str(out[-1].get("unmapped")) or
          any(k.startswith("hopwatch.") for k in out[-1].get("unmapped", {})),
          "the collector's counters kept in unmapped: %r" % out[-1].get("unmapped"))
    rules = sorted(get(o, "finding_info.analytic.uid") for o in out if o["class_uid"] == 2004)
    check_eq(rules, ["hop-chain", "lateral-movement"], "findings of collect")
    hop = [o for o in out if get(o, "finding_info.analytic.uid") == "hop-chain"][0]
    check_eq([a["sub_technique"]["uid"] for a in get(hop, "finding_info.attacks")
              if "sub_technique" in a], ["T1021.004"], "hop-chain's SSH sub-technique")


def test_the_schema_check_finds_each_violation():
    check_eq(ocsf_schema.validate(AUTH), [], "the Authentication line conforms")
    finding = json.loads(_replay("ocsf", [p for p in CORPUS if "reverse-shell" in p][0])[0])
    check_eq(ocsf_schema.validate(finding), [], "a finding conforms")
    cases = [
        (AUTH, "user", None, True, "user: required attribute missing"),
        (AUTH, "metadata.product", None, True, "metadata.product: required attribute missing"),
        (AUTH, "time", None, True, "time: required attribute missing"),
        (AUTH, "activity_id", 42, False, "activity_id: 42 is not one of its enum's ids"),
        (AUTH, "auth_protocol_id", 13, False, "auth_protocol_id: 13 is not one of"),
        (AUTH, "logon_type_id", 6, False, "logon_type_id: 6 is not one of"),
        (AUTH, "time", "1796254256496", False, "is not of type timestamp_t"),
        (AUTH, "src_endpoint.port", 70000, False, "outside port_t's range"),
        (AUTH, "src_endpoint.ip", "198.18.0.256", False, "src_endpoint.ip"),
        (AUTH, "is_remote", "yes", False, "is not of type boolean_t"),
        (AUTH, "user", {"type_id": 1}, False, "needs at least one of"),
        (AUTH, "user.nickname", "x", False, "user.nickname: not an attribute of user"),
        (AUTH, "activity_name", "Logoff", False, "is not the caption of activity_id 1"),
        (AUTH, "class_name", "Network Activity", False, "class_name"),
        (AUTH, "category_uid", 4, False, "category_uid"),
        (AUTH, "type_uid", 300202, False, "type_uid"),
        (AUTH, "class_uid", 3099, False, "class_uid 3099 is not a class"),
        (AUTH, "metadata.version", "1.0.0", False, "metadata.version"),
        (AUTH, "metadata.profiles", ["host"], False, "the profile not claimed"),
        (AUTH, "service", [{"name": "sshd"}], False, "service: an array where"),
        (AUTH, "device.type_id", None, True, "device.type_id: required attribute missing"),
        (finding, "finding_info.uid", None, True, "finding_info.uid: required"),
        (finding, "finding_info.attacks", {"technique": {"uid": "T1"}}, False,
         "finding_info.attacks: not an array"),
        (finding, "finding_info.analytic.type_id", 12, False, "type_id: 12 is not one of"),
        (finding, "status_id", 7, False, "status_id: 7 is not one of"),
        (finding, "severity_id", 7, False, "severity_id: 7 is not one of"),
    ]
    for base, path, value, delete, want in cases:
        errs = ocsf_schema.validate(_mutated(base, path, value, delete))
        check(any(want in e for e in errs),
              "%s=%r: want a violation with %r, got %r" % (path, value, want, errs))
    # the program: a broken line among good ones fails the file
    path = write([json.dumps(AUTH), json.dumps(_mutated(AUTH, "severity_id", 9)),
                  json.dumps(finding), "{not json"], "broken.ocsf")
    p = subprocess.run([sys.executable, os.path.join(hw.ROOT, "tests", "lib", "ocsf_schema.py"),
                        path], capture_output=True, text=True)
    check_eq(p.returncode, 1, "ocsf_schema.py on a broken file")
    out = p.stdout.splitlines()
    check(len(out) == 2 and out[0].startswith(path + " line 2 (Authentication: Logon): "
                                              "severity_id: 9 is not one of") and
          out[1].startswith(path + " line 4: not JSON"), "the violations it prints: %r" % out)


def test_unknown_format_names_are_one_line_exit_2():
    for cmd in (["run"], ["replay", CORPUS[0]], ["collect", "--replay", CORPUS[0]]):
        for bad in ("xml", "OCSF", "ocsf1", ""):
            p = hopwatch(*cmd, "-o", bad)
            what = "%s -o %r" % (cmd[0], bad)
            check_eq(p.returncode, 2, what + " exit")
            lines = p.stderr.splitlines()
            check_eq(len(lines), 1, what + " one line: %r" % lines)
            check("invalid format '%s' (use json, ocsf, text or auto)" % bad in lines[0],
                  what + ": %r" % lines[0])
    p = hopwatch("replay", "--set", "output.format=yaml", CORPUS[0])
    check_eq((p.returncode, len(p.stderr.splitlines())), (2, 1), "--set output.format=yaml")
    # the streaming sinks' formats: json or ocsf, never text or auto
    for key in ("output.nats_format", "output.syslog_format"):
        for bad in ("text", "auto", "xml"):
            p = hopwatch("run", "--set", "%s=%s" % (key, bad))
            check_eq((p.returncode, p.stderr.splitlines()),
                     (2, ["hopwatch: --set %s: invalid format '%s' (use json or ocsf)"
                          % (key, bad)]), "%s=%s" % (key, bad))
