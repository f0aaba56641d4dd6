"""The ECS schema check itself (tests/lib/ecs_schema.py over tests/schema/ecs, issue 11 finding
18): the schema file is Elastic's, recorded with its source, version and licence; a line in the
agent's shapes conforms, and each kind of violation is found (so the lab tests that rely on the
check, e2e/attacks.every_line_conforms_to_ecs and e2e/ecs_lines, cannot pass vacuously).
The alerts replay makes are checked in cli/rule_* (every alert of every rule test)."""
import copy
import json
import os
import subprocess
import sys

import ecs_schema
import hw
from hw import check, check_eq

GOOD = {
    "@timestamp": "2026-11-27T10:00:00.000000001Z",
    "ecs": {"version": ecs_schema.VERSION},
    "event": {"kind": "event", "category": ["network"], "type": ["start"],
              "action": "connection_attempted", "dataset": "hopwatch.network",
              "module": "hopwatch", "outcome": "failure"},
    "host": {"name": "b", "id": "abc", "boot": {"id": "x"}},
    "source": {"ip": "198.18.0.2", "port": 40000, "bytes": 1},
    "destination": {"ip": "198.18.0.3", "port": 22, "bytes": 2},
    "network": {"transport": "tcp", "type": "ipv4", "direction": "egress", "bytes": 3},
    "error": {"code": "ECONNREFUSED", "message": "Connection refused"},
    "process": {"pid": 7, "entity_id": "E", "name": "bash", "executable": "/usr/bin/bash",
                "args": ["bash", "-i"], "args_count": 2, "start": "2026-11-27T09:00:00Z",
                "thread": {"id": 7}, "tty": {"char_device": {"major": 136, "minor": 1}},
                "parent": {"pid": 1, "entity_id": "P"}},
    "user": {"id": "0", "name": "root", "effective": {"id": "0", "name": "root"}},
    "group": {"id": "0"},
    "hopwatch": {"anything": {"goes": [1, "x", {"y": None}]}},
}


def mutated(path, value=None, delete=False):
    ev = copy.deepcopy(GOOD)
    cur = ev
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    if delete:
        del cur[parts[-1]]
    else:
        cur[parts[-1]] = value
    return ev


def test_schema_file_is_elastics_with_version_and_licence():
    d = ecs_schema.SCHEMA_DIR
    check(os.path.getsize(ecs_schema.SCHEMA_PATH) > 500000, "the whole ecs_flat.yml")
    with open(os.path.join(d, "README.md")) as f:
        readme = f.read()
    for what in ("https://github.com/elastic/ecs", "generated/ecs/ecs_flat.yml",
                 "v" + ecs_schema.VERSION, "e3103a213a4e84cbcd3ef36da7001483ddc60230",
                 "Apache"):
        check(what in readme, "README names %s" % what)
    with open(os.path.join(d, "LICENSE.txt")) as f:
        check("Apache License" in f.read(), "the licence text beside it")
    check(os.path.exists(os.path.join(d, "NOTICE.txt")), "Elastic's NOTICE beside it")
    s = ecs_schema.schema()["fields"]
    check_eq(sorted(k for k, v in s.items() if v.get("required")), ["@timestamp", "ecs.version"],
             "required fields of ECS %s" % ecs_schema.VERSION)


def test_a_line_in_the_agents_shape_conforms():
    check_eq(ecs_schema.validate(GOOD), [], "violations of a conforming line")


def test_each_violation_is_found():
    cases = [
        # the two of the issue
        ("ecs.version missing", mutated("ecs", delete=True), "ecs.version: required"),
        ("alert typed indicator",
         mutated("event", {"kind": "alert", "category": ["intrusion_detection"],
                           "type": ["indicator"], "action": "reverse-shell"}),
         "not expected with event.category"),
        ("@timestamp missing", mutated("@timestamp", delete=True), "@timestamp: required"),
        ("another ECS version", mutated("ecs.version", "8.11.0"), "the schema checked"),
        ("unknown kind", mutated("event.kind", "weird"), "not an allowed value"),
        ("unknown category", mutated("event.category", ["shell"]), "not an allowed value"),
        ("an unexpected direction", mutated("network.direction", "out"), "not an expected"),
        ("a category as a string", mutated("event.category", "network"), "to an array"),
        ("a custom field outside hopwatch", mutated("process.comm", "bash"), "not an ECS field"),
        ("a custom field set", mutated("shell", {"x": 1}), "not an ECS field set"),
        ("a keyword as a number", mutated("error.code", 113), "not of ECS type keyword"),
        ("an id as a number", mutated("user.id", 0), "not of ECS type keyword"),
        ("a long as a string", mutated("process.pid", "7"), "not of ECS type long"),
        ("a bool as a long", mutated("source.port", True), "not of ECS type long"),
        ("a list where ECS has none", mutated("process.pid", [7]), "not an array field"),
        ("a bad address", mutated("source.ip", "198.18.0.300"), "not of ECS type ip"),
        ("a bad date", mutated("process.start", "yesterday"), "not of ECS type date"),
        ("an object for a leaf", mutated("process.name", {"x": "y"}), "an object, but"),
        ("bytes that do not add up", mutated("network.bytes", 4), "network.bytes 4"),
        ("args_count below its args", mutated("process.args_count", 1), "args_count 1"),
        ("args cut without a flag", mutated("process.args_count", 9), "not flagged"),
    ]
    for what, ev, want in cases:
        errs = ecs_schema.validate(ev)
        check(any(want in e for e in errs), "%s: %r not among %r" % (what, want, errs))
    ok = mutated("process.args_count", 9)
    ok["hopwatch"]["truncated"] = ["process.args"]
    check_eq(ecs_schema.validate(ok), [], "a flagged cut argv")


def test_validator_as_a_program():
    d = hw.tempdir("ecs")
    path = os.path.join(d, "lines.ndjson")
    with open(path, "w") as f:
        f.write(json.dumps(GOOD) + "\n" + json.dumps(mutated("ecs", delete=True)) + "\n")
    p = subprocess.run([sys.executable, os.path.join(hw.ROOT, "tests", "lib", "ecs_schema.py"),
                        path], capture_output=True, text=True)
    check_eq(p.returncode, 1, "exit status with one bad line")
    check_eq(len(p.stdout.splitlines()), 1, "one violation: " + p.stdout)
    check("line 2" in p.stdout, p.stdout)
