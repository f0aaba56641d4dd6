"""The long-connection rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
from ecs_builder import LOCAL_IP, SEC, Stream, ns_at, rfc3339
from hw import check_eq
from rule_streams import conn_stream
from rulelab import expect, none_of, only, run


def test_long_connection_fires_once():
    s, p, conn = conn_stream()
    s.ticks(1800, 3610, 3611, 3612, 9000)
    r = run(s, "detect.long_connection=1h")
    a = only(r.of("long-connection"), "long-connection")
    check_eq(r.rules(), ["long-connection"], "nothing else fires")
    expect(a, {
        "rule.name": "Long-lived outbound connection",
        "event.severity": 47,
        "threat.technique.id": ["T1572", "T1071"],
        "@timestamp": rfc3339(ns_at(3611)),
        "message": "/usr/bin/curl (pid %d) has held a connection to 198.51.100.20:443 open for "
                   "1h 0m: a tunnel, VPN bridge or implant channel unless the program is "
                   "expected to (systemd → bash → curl)" % p.pid,
        "hopwatch.connection.id": conn.id,
        "destination.ip": "198.51.100.20",
        "destination.port": 443,
        "process.entity_id": p.eid,
        "process.pid": p.pid,
        "process.executable": "/usr/bin/curl",
        "hopwatch.alert.age": 3600 * SEC,
        "hopwatch.alert.idle": 3000 * SEC,  # last reported at 611
        "hopwatch.alert.bytes_out": 1500,
        "hopwatch.alert.bytes_in": 90000,
        "hopwatch.alert.process_chain": ["systemd", "bash", "curl"],
    })


def test_long_connection_found_by_the_snapshot():
    s = Stream()
    s.agent_started()
    s.tick(0)
    agent = s.existing(0, 321, "/opt/implant/agent", ["agent"])
    conn = s.existing_connection(0.1, agent, (LOCAL_IP, 51000), ("198.51.100.99", 8443), True,
                                 -5 * 3600)
    s.ticks(1, 2)
    a = only(run(s).of("long-connection"), "long-connection")  # the default 4h
    expect(a, {"@timestamp": rfc3339(ns_at(1)), "hopwatch.connection.id": conn.id,
               "hopwatch.alert.age": (5 * 3600 + 1) * SEC})


def test_long_connection_benign_twins():
    cases = [
        ("the connection closed before", conn_stream(close_at=3599), []),
        ("the program is allowed by name", conn_stream(), ["detect.allow_programs=curl"]),
        ("the program is allowed by path", conn_stream(),
         ["detect.allow_programs=/usr/sbin/openvpn,/usr/bin/curl"]),
        ("the peer is loopback", conn_stream(dst=("127.0.0.1", 5432)), []),
        ("the connect failed", conn_stream(ok=False), []),
    ]
    for why, (s, *_), sets in cases:
        s.ticks(1800, 3611, 7200)
        none_of(run(s, "detect.long_connection=1h", *sets), "long-connection", why)
    # another path with the same base name is not the allowed program
    s, *_ = conn_stream(exe="/tmp/curl")
    s.ticks(3611)
    only(run(s, "detect.long_connection=1h", "detect.allow_programs=/usr/bin/curl")
         .of("long-connection"), "long-connection of /tmp/curl")
    # an inbound connection held long is not an outbound one
    s = Stream()
    s.tick(0)
    srv = s.existing(0, 700, "/usr/sbin/nginx", ["nginx"])
    s.listen(0, srv, "0.0.0.0", 443)
    s.accept(5, srv, ("198.51.100.3", 55555), (LOCAL_IP, 443))
    s.ticks(3611, 7200)
    none_of(run(s, "detect.long_connection=1h"), "long-connection", "the connection is inbound")
