"""Issue 16, section 3: the streaming sinks' own formats (output.nats_format,
output.syslog_format = json | ocsf). A real nats-server and rsyslogd (tests/bpf/test_nats.py,
test_syslog.py) and a busy run: a sink set to ocsf carries the OCSF form of every line, which
conforms to the schema (tests/lib/ocsf_schema.py) and is, byte for byte, what `-o ocsf` writes
to the output; a sink left at json carries the ECS lines whatever the output's format. The
syslog header of an OCSF line takes its time from time_dt."""
import importlib.util
import os
import subprocess
import time

import hw
import ocsf_schema
from hw import Agent, check, check_eq, get
from natslab import NatsServer

HERE = os.path.dirname(os.path.abspath(__file__))
STORM = os.path.join(hw.ROOT, "build", "storm")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_syslog = _load("test_syslog")
_nats = _load("test_nats")


def _run(fmt, nats_format, syslog_format):
    spool = hw.tempdir("spool")
    with NatsServer() as srv, _syslog.Rsyslog() as rs:
        agent = Agent("--set", "output.nats_url=" + srv.url, "--set",
                      "output.syslog=127.0.0.1:%d" % rs.port, "--set",
                      "output.spool_dir=" + spool, "--set", "output.nats_format=" + nats_format,
                      "--set", "output.syslog_format=" + syslog_format, fmt=fmt)
        with agent:
            subprocess.run([STORM, "exec", "100"], check=True, capture_output=True)
            time.sleep(0.5)
        check_eq(agent.rc, 0, "agent exit: " + agent.read_stderr())
        lines = agent.lines()
        # other tests' events make a busy run: give the sinks time to deliver it all
        nats = [d for _, _, _, d in _nats.wait_stream(srv, len(lines), timeout=90)]
        msgs = rs.wait_last(lines[-1], timeout=90)
    check(len(lines) > 200, "a busy run: %d lines" % len(lines))
    syslog = [_syslog.HEADER.sub("", r, count=1) for _, r in msgs]
    return agent, lines, nats, syslog, msgs


def _same(got, want, what):
    """got == want, said compactly (a busy run has thousands of lines)."""
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                     min(len(got), len(want)))
        raise hw.TestFailure("%s: %d lines, want %d; first difference at %d:\n got:  %s\n "
                             "want: %s" % (what, len(got), len(want), first,
                                           got[first][:300] if first < len(got) else "(end)",
                                           want[first][:300] if first < len(want) else "(end)"))


def _actions(lines):
    return [get(hw.parse_event(x), "event.action") or get(hw.parse_event(x),
                                                            "metadata.event_code")
            for x in lines]


def test_nats_ocsf_syslog_json_output_json():
    agent, lines, nats, syslog, _ = _run("json", "ocsf", "json")
    _same(syslog, lines, "syslog (json) carries the ECS output lines")
    check_eq(len(nats), len(lines), "one NATS message per line")
    check_eq(ocsf_schema.validate_lines(nats, "NATS message")[:10], [], "OCSF on NATS")
    _same(_actions(nats), _actions(lines), "NATS messages against the output")
    classes = {hw.parse_event(x)["class_uid"] for x in nats}
    # a Base Event only for the kinds mapped to it on purpose (docs/events.md, "OCSF"): the
    # host's other programs may open raw sockets meanwhile
    base = {get(hw.parse_event(x), "metadata.event_code") for x in nats
            if hw.parse_event(x)["class_uid"] == 0}
    check({1007, 6002} <= classes and base <= {"raw_socket_opened"},
          "classes of a storm run: %r, Base Events of %r" % (classes, base))


def test_syslog_ocsf_nats_json_output_ocsf():
    agent, lines, nats, syslog, msgs = _run("ocsf", "json", "ocsf")
    check_eq(ocsf_schema.validate_lines(lines, "output line")[:10], [], "OCSF output")
    _same(syslog, lines, "syslog (ocsf) carries the OCSF output lines, byte for byte")
    _same(_actions(nats), _actions(lines), "NATS (json) carries ECS lines")
    check(all(get(hw.parse_event(x), "ecs.version") for x in nats), "ECS on NATS")
    for (fields, raw), line in zip(msgs, lines):
        m = _syslog.HEADER.match(raw)
        ts = hw.parse_event(line)["time_dt"]
        check_eq(m.group(2), ts[:26] + "Z", "TIMESTAMP from time_dt")
        o = hw.parse_event(line)
        sev = 6 if o["class_uid"] != 2004 else 2 if o["severity_id"] >= 5 else 4
        check_eq((m.group(5), int(m.group(1))), ("alert" if sev < 6 else "event", 3 * 8 + sev),
                 "MSGID and PRI of a %s line" % o["type_name"])
