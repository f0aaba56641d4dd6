"""Issue 16, section 3: `-o ocsf`. The lab run of e2e/test_ecs_lines.py (host B of a three-host
lab with real sshd: a session and sockets from before the agent, fork/exec/exit, a refused and
an accepted connection, a listen, UDP, a failed and a successful ssh login and its logout, a
reverse shell, the periodic connection report, the agent's start and stop) with the agent
writing OCSF, and a recording beside it:

  - every output line conforms to OCSF 1.8.0 as its own schema files define it
    (tests/lib/ocsf_schema.py over tests/schema/ocsf), has unique keys, and every class and
    activity the mapping promises (docs/events.md, "OCSF") occurs;
  - the output is the recording translated, one line per event in the same order (ticks have
    no OCSF form), with each line's time, precise time, host and ids those of its ECS line;
  - `hopwatch replay -o ocsf` of the recording writes the live run's Detection Findings, byte
    for byte, and `hopwatch collect -o ocsf --replay` writes lines that conform too."""
import importlib.util
import json
import os

import hw
import ocsf_schema
from hw import check, check_eq, get

_spec = importlib.util.spec_from_file_location(
    "ecs_lines", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_ecs_lines.py"))
_ecs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ecs)

# (class_uid, activity_id, what): each must occur in the run
EXPECTED = [
    (6002, 3, "agent-started: Application Lifecycle Start"),
    (6002, 4, "agent-stopped: Application Lifecycle Stop"),
    (1007, 99, "existing_process: Process Activity Inventory"),
    (1007, 1, "fork/exec: Process Activity Launch"),
    (1007, 2, "exit: Process Activity Terminate"),
    (4001, 1, "connection_attempted/accepted: Network Activity Open"),
    (4001, 2, "disconnect: Network Activity Close"),
    (4001, 5, "a refused connect: Network Activity Refuse"),
    (4001, 6, "udp_flow, connection_open, existing_connection: Network Activity Traffic"),
    (4001, 7, "listen, existing_listener: Network Activity Listen"),
    (3002, 1, "user_login: Authentication Logon"),
    (3002, 2, "user_logout: Authentication Logoff"),
    (3002, 99, "existing_session: Authentication (Existing Session)"),
    (2004, 1, "an alert: Detection Finding Create"),
]


def _ms(ts):
    """ms since the epoch of an RFC 3339 UTC time with nanoseconds."""
    import calendar
    import time as _t
    secs = calendar.timegm(_t.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    frac = ts[20:-1] if len(ts) > 20 and ts[19] == "." else ""
    return secs * 1000 + int((frac + "000")[:3])


def _check_pair(o, e, i):
    what = "line %d (%s)" % (i, get(e, "event.action"))
    check_eq(get(o, "metadata.event_code"), get(e, "event.action"), what + " event_code")
    check_eq(o["time_dt"], e["@timestamp"], what + " time_dt")
    check_eq(o["time"], _ms(e["@timestamp"]), what + " time (ms)")
    check_eq(get(o, "device.uid"), get(e, "host.id"), what + " device.uid")
    check_eq(get(o, "device.hostname"), get(e, "host.name"), what + " device.hostname")
    cls = o["class_uid"]
    if cls == 1007:
        check_eq(get(o, "process.pid"), get(e, "process.pid"), what + " process.pid")
        check_eq(get(o, "process.uid"), get(e, "process.entity_id"), what + " process.uid")
        if get(e, "process.args"):
            check_eq(get(o, "process.cmd_line"), " ".join(get(e, "process.args")),
                     what + " cmd_line")
        if get(e, "event.action") == "exit":
            check_eq(o.get("exit_code"), get(e, "process.exit_code"), what + " exit_code")
    elif cls == 4001:
        check_eq(get(o, "src_endpoint.ip"), get(e, "source.ip"), what + " src ip")
        check_eq(get(o, "dst_endpoint.port"), get(e, "destination.port"), what + " dst port")
        check_eq(get(o, "connection_info.uid"), get(e, "hopwatch.connection.id"),
                 what + " connection uid")
        check_eq(get(o, "traffic.bytes_out"), get(e, "source.bytes"), what + " bytes_out")
        check_eq(get(o, "traffic.bytes_in"), get(e, "destination.bytes"), what + " bytes_in")
        if get(e, "event.outcome") == "failure":
            check_eq((o["status_id"], o.get("status_code")), (2, get(e, "error.code")),
                     what + " failure status")
    elif cls == 3002:
        check_eq(get(o, "user.name"), get(e, "user.name") or "unknown", what + " user")
        check_eq(get(o, "src_endpoint.ip"), get(e, "source.ip"), what + " client")
        check_eq(get(o, "session.uid"), get(e, "hopwatch.session.id"), what + " session")
        want = {"success": 1, "failure": 2}.get(get(e, "event.outcome"))
        check_eq(o.get("status_id"), want, what + " status_id")
        if get(e, "hopwatch.session.auth_method"):
            check_eq((o["auth_protocol_id"], o["auth_protocol"]),
                     (99, get(e, "hopwatch.session.auth_method")), what + " auth protocol")


def test_every_ocsf_line_of_a_lab_run_conforms_and_replay_agrees():
    lines, recorded = _ecs._run(fmt="ocsf")
    out = [hw.parse_event(x) for x in lines]
    errs = ocsf_schema.validate_lines(lines, "output line")
    check_eq(errs[:20], [], "OCSF violations (%d in all)" % len(errs))
    seen = {(o["class_uid"], o["activity_id"]) for o in out}
    check_eq([w for c, a, w in EXPECTED if (c, a) not in seen], [], "classes/activities missing")
    check(any(o["class_uid"] == 1007 and o.get("launch_type_id") == 2 for o in out), "a fork")
    check(any(o["class_uid"] == 1007 and o.get("launch_type_id") == 3 for o in out), "an exec")
    check(any(o["class_uid"] == 3002 and o["activity_id"] == 1 and o.get("status_id") == 2
              for o in out), "the failed login as a Logon with status Failure")
    finding = [o for o in out if o["class_uid"] == 2004]
    rs = [o for o in finding if get(o, "finding_info.analytic.uid") == "reverse-shell"]
    check(rs, "the reverse shell's Detection Finding")
    check_eq(rs[0]["severity_id"], 5, "reverse-shell severity (Critical)")
    check_eq([get(a, "technique.uid") for a in get(rs[0], "finding_info.attacks")],
             ["T1059", "T1071"], "ATT&CK techniques of reverse-shell")
    check_eq(get(rs[0], "finding_info.attacks")[0]["sub_technique"]["uid"], "T1059.004",
             "sub-technique")
    # one OCSF line per recorded event, in order (ticks are the recording's only)
    events = [json.loads(x) for x in recorded]
    events = [e for e in events if get(e, "event.action") != "tick"]
    plain = [o for o in out if o["class_uid"] != 2004]
    check_eq([get(o, "metadata.event_code") for o in plain],
             [get(e, "event.action") for e in events], "OCSF lines against the recording")
    for i, (o, e) in enumerate(zip(plain, events), 1):
        _check_pair(o, e, i)
    # replay -o ocsf: the same findings, byte for byte
    d = hw.tempdir("ocsfrec")
    rec = os.path.join(d, "b.rec")
    with open(rec, "w", encoding="utf-8") as f:
        f.write("\n".join(recorded) + "\n")
    p = hw.hopwatch("replay", "-o", "ocsf", "--set", "detect.internal_nets=198.18.0.0/15",
                    rec)
    check_eq(p.returncode, 0, "replay exit: " + p.stderr)
    live = [x for x in lines if '"class_uid":2004' in x]
    check_eq(p.stdout.splitlines(), live, "replayed findings against the live ones")
    # collect -o ocsf over the recording: its state lines and findings conform
    p = hw.hopwatch("collect", "-o", "ocsf", "--set", "detect.internal_nets=198.18.0.0/15",
                    "--replay", rec)
    check_eq(p.returncode, 0, "collect exit: " + p.stderr)
    col = p.stdout.splitlines()
    check_eq(ocsf_schema.validate_lines(col, "collect line")[:20], [], "collect's OCSF lines")
    kinds = [(o["class_uid"], o["activity_id"]) for o in map(json.loads, col)]
    check_eq((kinds[0], kinds[-1]), ((6002, 3), (6002, 4)), "collector start and stop")
    check(any(get(json.loads(x), "finding_info.analytic.uid") == "reverse-shell" for x in col),
          "the collector's reverse-shell finding")
