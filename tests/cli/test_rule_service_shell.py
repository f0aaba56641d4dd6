"""The service-shell rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
from ecs_builder import Stream, ns_at, rfc3339
from hw import check, check_eq
from rule_streams import service_stream
from rulelab import expect, none_of, only, run


def test_service_shell_fires_once_per_service():
    s, master, worker, sh = service_stream()
    worker2 = s.fork(20, master)
    s.spawn(21, worker2, "/bin/sh", ["sh", "-c", "uname -a"])
    s.spawn(22, worker, "/usr/bin/whoami")
    r = run(s)
    a = only(r.of("service-shell"), "service-shell")
    check_eq(r.rules(), ["service-shell"], "nothing else fires")
    expect(a, {
        "rule.name": "Network service starts a shell",
        "event.severity": 73,
        "threat.technique.id": ["T1505.003", "T1190"],
        "@timestamp": rfc3339(ns_at(10.001)),
        "message": "network service nginx (pid 700, listening) started a shell, /bin/sh: a web "
                   "shell or an exploited service (systemd → nginx → nginx → sh)",
        "process.entity_id": sh.eid,
        "process.pid": sh.pid,
        "process.executable": "/bin/sh",
        "hopwatch.alert.related_ids": [master.eid],
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, master.eid, worker.eid, sh.eid],
    })


def test_service_shell_recon_and_dropped_programs():
    s, *_ = service_stream(service_exe="/opt/shop/server", child_exe="/usr/bin/id")
    a = only(run(s).of("service-shell"), "service-shell")
    check(a["message"].startswith("network service server (pid 700, listening) started a "
                                  "reconnaissance tool, /usr/bin/id: "), a["message"])
    s, *_ = service_stream(child_exe="/tmp/.x/kworker")
    a = only(run(s).of("service-shell"), "service-shell")
    check("started a program from a writable or deleted file, /tmp/.x/kworker:" in a["message"],
          a["message"])
    s, *_ = service_stream(child_exe="/usr/lib/cgi-bin/helper", unlinked=True)
    a = only(run(s).of("service-shell"), "service-shell")
    check("a program from a writable or deleted file" in a["message"], a["message"])


def test_service_shell_interpreter_service():
    """A Node.js or Python web application is a network service too: an exploited one that
    starts a shell is the rule's own case."""
    for exe in ("/usr/bin/node", "/usr/bin/python3.11"):
        s, master, _, sh = service_stream(service_exe=exe, port=3000)
        a = only(run(s).of("service-shell"), "service-shell of a listening %s" % exe)
        expect(a, {"process.entity_id": sh.eid, "hopwatch.alert.related_ids": [master.eid]})


def test_service_shell_starts_an_interpreter():
    s, master, _, py = service_stream(child_exe="/usr/bin/python3.11")
    a = only(run(s).of("service-shell"), "service-shell")
    expect(a, {
        "message": "network service nginx (pid 700, listening) started an interpreter, "
                   "/usr/bin/python3.11: a web shell or an exploited service (systemd → nginx → "
                   "nginx → python3.11)",
        "process.entity_id": py.eid,
    })
    # an application server starting workers of its own interpreter is not
    s, *_ = service_stream(service_exe="/usr/bin/python3.11", child_exe="/usr/bin/python3.11",
                           port=8000)
    none_of(run(s), "service-shell", "a Python server starts Python workers")
    # ... but its worker starting a shell is
    s, master, worker, _ = service_stream(service_exe="/usr/bin/python3.11",
                                          child_exe="/usr/bin/python3.11", port=8000)
    sh = s.spawn(30, worker, "/bin/sh", ["sh", "-c", "id"])
    a = only(run(s).of("service-shell"), "service-shell")
    expect(a, {"process.entity_id": sh.eid, "hopwatch.alert.related_ids": [master.eid]})


def test_service_shell_benign_twins():
    cases = [
        ("the service is allowed by name", service_stream(), ["detect.allow_services=nginx"]),
        ("the service is allowed by path", service_stream(),
         ["detect.allow_services=/usr/sbin/nginx"]),
        ("the shell runs inside a remote session", service_stream(in_session=True), []),
        ("the program is neither a shell nor a recon tool",
         service_stream(child_exe="/usr/bin/convert"), []),
        ("the shell is started by sshd", service_stream(service_exe="/usr/sbin/sshd",
                                                        port=2222), []),
    ]
    for why, (s, *_), sets in cases:
        none_of(run(s, *sets), "service-shell", why)
    # a program that does not listen starting a shell is not a service
    s = Stream()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    s.spawn(10, cron, "/bin/sh", ["sh", "-c", "backup"])
    none_of(run(s), "service-shell", "the parent does not listen")
    # a shell started by a shell started by the service: the first one alerted, not this one
    s, _, _, sh = service_stream()
    s.spawn(20, sh, "/usr/bin/bash")
    only(run(s).of("service-shell"), "service-shell for a shell and its child shell")
