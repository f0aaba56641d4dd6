"""The lateral-movement rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
import hw
from ecs_builder import CLIENT_IP, LOCAL_IP, Stream, ns_at, rfc3339
from hw import check, check_eq
from rule_streams import failures, success_from
from rulelab import expect, only, run


def lateral_stream(dst=("10.0.0.7", 22), client_ip=CLIENT_IP, in_session=True, repeat=3):
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10, client=(client_ip, 50022))
    shell = sess.shell
    if not in_session:
        # the same programs, started by cron instead
        cron = s.existing(1, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], s.systemd)
        shell = s.spawn(11, cron, "/usr/bin/bash", ["/bin/sh", "-c", "backup"])
    ssh = s.spawn(20, shell, "/usr/bin/ssh", ["ssh", "root@" + dst[0]])
    conns = [s.connect(21 + i, ssh, dst) for i in range(repeat)]
    return s, sess, shell, ssh, conns


def test_lateral_movement_fires_once_per_destination():
    s, sess, shell, ssh, conns = lateral_stream()
    # a second destination, on another admin port, from another process of the session
    rdp = s.spawn(30, shell, "/usr/bin/xfreerdp", ["xfreerdp", "/v:10.0.0.8"])
    c2 = s.connect(31, rdp, ("10.0.0.8", 3389))
    s.connect(32, rdp, ("10.0.0.8", 3389))
    r = run(s)
    alerts = r.of("lateral-movement")
    check_eq(len(alerts), 2, "lateral-movement alerts: one per destination (%s)" %
             [a["message"] for a in alerts])
    check_eq(r.rules(), ["lateral-movement"] * 2, "nothing else fires")
    a = alerts[0]
    expect(a, {
        "rule.name": "Lateral movement from a remote session",
        "event.severity": 73,
        "threat.technique.id": ["T1021", "T1021.004"],
        "message": "alice, logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22 from "
                   "this host (systemd → sshd → sshd → sshd → bash → ssh)",
        "@timestamp": rfc3339(ns_at(21)),
        "hopwatch.session.id": sess.id,
        "hopwatch.session.service": "sshd",
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "source.port": 50022,
        "destination.ip": "10.0.0.7",
        "destination.port": 22,
        "hopwatch.connection.id": conns[0].id,
        "process.entity_id": ssh.eid,
        "process.pid": ssh.pid,
        "process.executable": "/usr/bin/ssh",
        "hopwatch.alert.process_chain": ["systemd", "sshd", "sshd", "sshd", "bash", "ssh"],
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, s.sshd_master.eid,
                                             sess.handler.eid, shell.parent.eid, shell.eid,
                                             ssh.eid],
    })
    b = alerts[1]
    expect(b, {
        "threat.technique.id": ["T1021", "T1021.001"],
        "destination.ip": "10.0.0.8",
        "destination.port": 3389,
        "hopwatch.connection.id": c2.id,
        "process.entity_id": rdp.eid,
        "hopwatch.session.id": sess.id,
    })


def test_lateral_movement_failed_connect_says_so():
    s, _, _, ssh, _ = lateral_stream(repeat=0)
    s.connect(21, ssh, ("10.0.0.7", 22), ok=False)
    s.connect(22, ssh, ("10.0.0.7", 22), ok=False)
    a = only(run(s).of("lateral-movement"), "lateral-movement")
    check(a["message"].startswith("alice, logged in over sshd from 203.0.113.5, tried to "
                                  "connect to 10.0.0.7:22 from this host (it failed) ("),
          "message of a failed attempt: %r" % a["message"])
    check(hw.get(a, "hopwatch.connection.id") is None, "a failed attempt has no connection id")


def test_lateral_movement_through_the_session_service_process():
    """ssh -W / ProxyJump: the session's own sshd connects on to an admin port: lateral
    movement and port forwarding at once."""
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    c = s.connect(20, sess.handler, ("10.0.0.7", 22))
    r = run(s)
    check_eq(sorted(r.rules()), ["lateral-movement", "tunnel"], "alerts of a ProxyJump hop")
    a = only(r.of("lateral-movement"), "lateral-movement")
    expect(a, {
        "threat.technique.id": ["T1021", "T1021.004", "T1572", "T1090.001"],
        "message": "alice, logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22 "
                   "through the session's own service process (ssh -W / ProxyJump) (systemd → "
                   "sshd → sshd)",
        "process.entity_id": sess.handler.eid,
        "hopwatch.connection.id": c.id,
    })
    t = only(r.of("tunnel"), "tunnel")
    expect(t, {"process.entity_id": sess.handler.eid, "hopwatch.connection.id": c.id})


def test_lateral_movement_many_destinations_once_each():
    """However many hosts a session reaches, each destination alerts once: a retry of the
    17th must not alert again."""
    s, _, _, ssh, _ = lateral_stream(repeat=0)
    dests = ["10.3.0.%d" % i for i in range(1, 21)]
    for rnd in range(3):
        for i, d in enumerate(dests):
            s.connect(100 + 100 * rnd + i, ssh, (d, 22))
    r = run(s, "detect.fanout_hosts=256")
    got = [hw.get(a, "destination.ip") for a in r.of("lateral-movement")]
    repeated = sorted(set(d for d in got if got.count(d) > 1))
    check_eq(repeated, [], "destinations alerted more than once (%d alerts for %d destinations "
             "reached 3 times each)" % (len(got), len(dests)))
    check(set(got) <= set(dests) and len(got) >= 16,
          "one alert for each destination remembered: %r" % got)


def test_alert_ids_are_unique():
    """event.id names one alert: two alerts of one session (two destinations; a burst and its
    successful login) must not share one, or a store keyed by it keeps only the last."""
    s, _, _, ssh, _ = lateral_stream(repeat=1)
    s.connect(40, ssh, ("10.0.0.8", 22))
    failures(s, 50, 5, src=CLIENT_IP)
    success_from(s, 70, src=CLIENT_IP)
    r = run(s)
    check_eq(sorted(r.rules()), ["brute-force", "brute-force", "lateral-movement",
                                 "lateral-movement"], "alerts")
    ids = [a["event"]["id"] for a in r.alerts]
    check_eq(len(set(ids)), len(ids), "distinct event.id values among %s" %
             [(hw.get(a, "rule.id"), hw.get(a, "destination.ip"), a["event"]["id"])
              for a in r.alerts])


def test_lateral_movement_benign_twins():
    cases = [
        ("the client is an allowed jump host", lateral_stream(),
         ["detect.allow_sources=203.0.113.0/24"]),
        ("the destination is loopback", lateral_stream(dst=("127.0.0.1", 22)), []),
        ("the destination is not internal", lateral_stream(dst=("198.51.100.7", 22)), []),
        ("the port is not an admin port", lateral_stream(dst=("10.0.0.7", 8080)), []),
        ("the destination is this host's own address",
         lateral_stream(dst=(LOCAL_IP, 22)), []),
        ("the process is not in a remote session", lateral_stream(in_session=False), []),
        ("port 22 is not in detect.admin_ports", lateral_stream(),
         ["detect.admin_ports=3389"]),
        ("the destination is outside detect.internal_nets", lateral_stream(),
         ["detect.internal_nets=192.168.0.0/16"]),
    ]
    for why, (s, *_), sets in cases:
        r = run(s, *sets)
        check_eq(r.rules(), [], "alerts when %s" % why)
