"""The admin-fanout rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
import hw
from ecs_builder import CLIENT_IP, Stream, ns_at, rfc3339
from hw import check, check_eq
from rulelab import expect, none_of, only, run, threshold_beyond_memory


def fanout_stream(hosts, port=22, gap=10.0, session=False, fail_first=False):
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    if session:
        sess = s.ssh_session(5)
        parent = sess.shell
    else:
        sess = None
        cron = s.existing(1, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], s.systemd)
        parent = s.spawn(2, cron, "/usr/bin/bash", ["/bin/sh", "-c", "sweep"])
    procs = []
    tool = None if session else s.spawn(9, parent, "/usr/bin/nc", ["nc", "-z"])
    for i, h in enumerate(hosts):
        t = 10 + gap * i
        p = tool or s.spawn(t - 1, parent, "/usr/bin/ssh", ["ssh", h])
        procs.append(p)
        s.connect(t, p, (h, port), ok=not (fail_first and i == 0))
    return s, sess, procs


def test_admin_fanout_process_fires_once():
    hosts = ["10.1.0.1", "10.1.0.2", "10.1.0.1", "10.1.0.3", "10.1.0.4", "10.1.0.5",
             "10.1.0.6"]
    s, _, procs = fanout_stream(hosts, port=445, fail_first=True)
    r = run(s, "detect.fanout_hosts=4")
    a = only(r.of("admin-fanout"), "admin-fanout")
    check_eq(r.rules(), ["admin-fanout"], "nothing else fires")
    nc = procs[0]
    expect(a, {
        "rule.name": "Fan-out to admin ports of many hosts",
        "event.severity": 73,
        "threat.technique.id": ["T1046", "T1021"],
        "message": "nc reached admin ports of 4 internal hosts within 600s (1 connects failed): "
                   "a scan or credential spraying (systemd → cron → bash → nc)",
        "@timestamp": rfc3339(ns_at(10 + 10 * 4)),  # the 4th distinct host (a repeat before)
        "hopwatch.alert.count": 4,
        "process.entity_id": nc.eid,
        "process.pid": nc.pid,
        "destination.ip": "10.1.0.4",
        "destination.port": 445,
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, nc.parent.parent.eid,
                                             nc.parent.eid, nc.eid],
    })
    check_eq(sorted(hw.get(a, "hopwatch.alert.hosts")),
             ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"], "hosts of the alert")
    check(hw.get(a, "hopwatch.session") is None, "no session outside one")


def test_admin_fanout_session_counts_all_its_processes():
    hosts = ["10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"]
    s, sess, procs = fanout_stream(hosts, port=22, session=True)
    r = run(s, "detect.fanout_hosts=3")
    a = only(r.of("admin-fanout"), "admin-fanout")
    check_eq(len(set(p.eid for p in procs)), 4, "one ssh process per host")
    expect(a, {
        "hopwatch.alert.count": 3,
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "process.entity_id": procs[2].eid,
        "destination.ip": "10.2.0.3",
    })
    check(a["message"].startswith("the remote session of alice reached admin ports of 3 "
                                  "internal hosts within 600s (0 connects failed)"),
          "message: %r" % a["message"])
    check_eq(len(r.of("lateral-movement")), 4, "lateral-movement alerts, one per host")


def test_admin_fanout_benign_twins():
    five = ["10.1.0.%d" % i for i in range(1, 6)]
    cases = [
        ("fanout_hosts - 1 hosts", fanout_stream(five[:4]), []),
        ("one host, again and again", fanout_stream(["10.1.0.1"] * 8), []),
        ("the hosts are spread wider than the window", fanout_stream(five, gap=20.0),
         ["detect.fanout_window=1m"]),
        ("the port is not an admin port", fanout_stream(five, port=80), []),
        ("the hosts are not internal", fanout_stream(["198.51.100.%d" % i
                                                      for i in range(1, 6)]), []),
        ("the hosts are loopback", fanout_stream(["127.0.0.%d" % i for i in range(1, 6)]), []),
        ("the session comes from an allowed jump host", fanout_stream(five, session=True),
         ["detect.allow_sources=203.0.113.5/32"]),
    ]
    for why, (s, *_), sets in cases:
        r = run(s, *sets)
        none_of(r, "admin-fanout", why)
    # the control: the spread-out hosts do alert within a wider window
    s, *_ = fanout_stream(five, gap=20.0)
    only(run(s, "detect.fanout_window=2m").of("admin-fanout"), "admin-fanout in a 2m window")


def test_admin_fanout_threshold_above_64_hosts():
    if not threshold_beyond_memory("detect.fanout_hosts", 70):
        return
    s, *_ = fanout_stream(["10.4.%d.%d" % (i // 200, 1 + i % 200) for i in range(80)],
                                gap=1.0)
    only(run(s, "detect.fanout_hosts=60").of("admin-fanout"), "admin-fanout at 60 (control)")
    a = only(run(s, "detect.fanout_hosts=70").of("admin-fanout"),
             "admin-fanout when 80 hosts are reached and fanout_hosts is 70")
    check_eq(hw.get(a, "hopwatch.alert.count"), 70, "hosts counted")
