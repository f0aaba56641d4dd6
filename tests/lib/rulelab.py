"""Running `hopwatch replay` over a built stream (tests/lib/ecs_builder.py) and reading its
alerts: replay() runs it and keeps exit status, alerts and messages (Replay); run() replays a
well-formed stream and checks every alert for the fields all alerts carry and against the ECS
schema; only(), expect() and none_of() are the rule tests' assertions."""
import os
import re

import ecs_schema
import hw
from hw import check, check_eq, hopwatch

SEVERITY = {21: "low", 47: "medium", 73: "high", 99: "critical"}


class Replay:
    def __init__(self, p):
        self.rc, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        self.alerts = [hw.parse_event(line) for line in p.stdout.splitlines()]
        self.errors = [line for line in p.stderr.splitlines()
                       if not line.startswith("hopwatch: replayed ")]

    def of(self, rule):
        return [a for a in self.alerts if hw.get(a, "rule.id") == rule]

    def rules(self):
        return [hw.get(a, "rule.id") for a in self.alerts]


def write_lines(lines, name="events.ndjson"):
    path = os.path.join(hw.tempdir("rules"), name)
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path


def replay(lines_or_stream, *sets, files=None, stdin=None):
    lines = getattr(lines_or_stream, "lines", lines_or_stream)
    args = ["replay", "-o", "json"]
    for s in sets:
        args += ["--set", s]
    if stdin is not None:
        args.append("-")
    else:
        args += files or [write_lines(lines)]
    return Replay(hopwatch(*args, input=stdin))


def run(stream, *sets):
    """Replays a well-formed stream: exit 0, no message but the summary; every alert checked
    for the fields all alerts carry."""
    r = replay(stream, *sets)
    check_eq(r.errors, [], "replay's messages on stderr")
    check_eq(r.rc, 0, "replay's exit status")
    check(re.search(r"^hopwatch: replayed %d lines: " % len(stream.lines), r.stderr, re.M),
          "summary line names %d lines: %r" % (len(stream.lines), r.stderr))
    for a in r.alerts:
        check_alert_common(a, stream)
    return r


def check_alert_common(a, stream):
    rid = hw.get(a, "rule.id")
    check_eq(hw.get(a, "event.kind"), "alert", "event.kind of an alert")
    check_eq(hw.get(a, "event.action"), rid, "event.action of %s" % rid)
    check_eq(hw.get(a, "event.category"), ["intrusion_detection"], "event.category")
    check_eq(hw.get(a, "rule.ruleset"), "hopwatch", "rule.ruleset")
    check_eq(hw.get(a, "threat.framework"), "MITRE ATT&CK", "threat.framework")
    check_eq(hw.get(a, "host.name"), stream.host_name, "host.name of %s" % rid)
    check_eq(hw.get(a, "host.id"), stream.host_id, "host.id of %s" % rid)
    sev = hw.get(a, "event.severity")
    check(sev in SEVERITY, "event.severity %r of %s" % (sev, rid))
    check_eq(hw.get(a, "hopwatch.alert.severity"), SEVERITY[sev], "severity name of %s" % rid)
    check(re.fullmatch(r"[0-9a-f]{16}", hw.get(a, "event.id", "")), "event.id %r" %
          hw.get(a, "event.id"))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", a["@timestamp"]),
          "@timestamp %r" % a["@timestamp"])
    check(hw.get(a, "message"), "a message")
    # every alert conforms to Elastic's ECS schema (tests/schema/ecs)
    check_eq(ecs_schema.validate(a), [], "ECS violations of the %s alert" % rid)


def only(alerts, what):
    check_eq(len(alerts), 1, "number of %s alerts (%s)" % (what, [a.get("message")
                                                                  for a in alerts]))
    return alerts[0]


def expect(a, fields):
    for k, v in fields.items():
        check_eq(hw.get(a, k), v, "%s of the %s alert" % (k, hw.get(a, "rule.id")))


def none_of(r, rule, why):
    check_eq([a.get("message") for a in r.of(rule)], [], "%s alerts when %s" % (rule, why))


def threshold_beyond_memory(key, value):
    """A threshold above what the engine remembers (64 hosts, 64 failures) must either be
    refused, or be reached. Returns True when it is accepted."""
    p = hopwatch("replay", "--set", "%s=%d" % (key, value), "/dev/null")
    if p.returncode == 2:
        check(key in p.stderr, "the refusal names %s: %r" % (key, p.stderr))
        return False
    check_eq(p.returncode, 0, "replay of nothing with %s=%d" % (key, value))
    return True
