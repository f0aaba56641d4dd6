"""The tunnel rule (docs/rules.md), unit tier: hand-written event streams in the agent's exact ECS
shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay` (tests/lib/rulelab.py), no
root and no kernel: a stream where it fires, once per entity however often the trigger repeats,
with its fields checked; and benign twins, the same stream with one thing changed, where it does
not."""
import os

import hw
from ecs_builder import LOCAL_IP, Stream, ns_at, rfc3339
from hw import check, check_eq
from rulelab import expect, none_of, only, run


def test_tunnel_forwarding_by_the_session_service_process():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    c = s.connect(20, sess.handler, ("198.51.100.80", 80))  # ssh -L: sshd connects out
    s.connect(21, sess.handler, ("198.51.100.81", 443))
    r = run(s)
    a = only(r.of("tunnel"), "tunnel")
    check_eq(r.rules(), ["tunnel"], "nothing else fires")
    expect(a, {
        "rule.name": "Port forwarding in a remote session",
        "event.severity": 73,
        "threat.technique.id": ["T1572", "T1090"],
        "@timestamp": rfc3339(ns_at(20)),
        "message": "the sshd session of alice from 203.0.113.5 forwards a connection to "
                   "198.51.100.80:80 through its service process (ssh -L/-D/-W) (systemd → "
                   "sshd → sshd)",
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "process.entity_id": sess.handler.eid,
        "destination.ip": "198.51.100.80",
        "destination.port": 80,
        "hopwatch.connection.id": c.id,
    })


def test_tunnel_remote_forward_listener():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.listen(20, sess.handler, "127.0.0.1", 9000)  # ssh -R 9000:...
    s.listen(21, sess.handler, "127.0.0.1", 9001)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "in the sshd session of alice from 203.0.113.5, its service process listens "
                   "for a remote forward (ssh -R) on 127.0.0.1:9000 (systemd → sshd → sshd)",
        "hopwatch.session.id": sess.id,
        "process.entity_id": sess.handler.eid,
    })
    check(hw.get(a, "destination") is None, "a listener has no destination")


def test_tunnel_local_forward_listener():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    ssh = s.spawn(20, sess.shell, "/usr/bin/ssh", ["ssh", "-L", "8080:intranet:80", "jump"])
    s.connect(21, ssh, ("198.51.100.50", 22))
    s.listen(22, ssh, "127.0.0.1", 8080)
    s.listen(23, ssh, "::1", 8080)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "in the sshd session of alice from 203.0.113.5, a program with a connection "
                   "to another host listens for a local forward (ssh -L/-D) on 127.0.0.1:8080 "
                   "(systemd → sshd → sshd → sshd → bash → ssh)",
        "process.entity_id": ssh.eid,
        "hopwatch.session.id": sess.id,
    })
    # a program of the session listening without a connection out: a dev server
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    dev = s.spawn(20, sess.shell, "/usr/local/bin/devserver")
    s.listen(22, dev, "127.0.0.1", 8080)
    none_of(run(s), "tunnel", "a program of the session listens, holding no connection out")


def relay_stream(exe="/usr/bin/socat", delay=0.2, peer="198.51.100.30", onward="10.0.0.9",
                 child=False):
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    relay = s.existing(0, 444, exe, [os.path.basename(exe), "TCP-LISTEN:8080,fork"], init)
    s.listen(0.5, relay, "0.0.0.0", 8080)
    inbound = s.accept(10, relay, (peer, 40001), (LOCAL_IP, 8080))
    who = s.fork(10.05, relay) if child else relay
    out = s.connect(10 + delay, who, (onward, 3306))
    return s, relay, who, inbound, out


def test_tunnel_relay_fires_once():
    s, relay, _, inbound, out = relay_stream()
    inbound2 = s.accept(20, relay, ("198.51.100.31", 40002), (LOCAL_IP, 8080))
    s.connect(20.1, relay, ("10.0.0.10", 3306))
    r = run(s)
    a = only(r.of("tunnel"), "tunnel")
    check(inbound2.id != inbound.id, "two inbound connections")
    expect(a, {
        "rule.name": "Connection relay",
        "event.severity": 73,
        "threat.technique.id": ["T1572", "T1090.001"],
        "@timestamp": rfc3339(ns_at(10.2)),
        "message": "socat (pid 444) accepted a connection from 198.51.100.30 and then connected "
                   "on to 10.0.0.9:3306 within a second: a relay or tunnel (systemd → socat)",
        "process.entity_id": relay.eid,
        "destination.ip": "10.0.0.9",
        "destination.port": 3306,
        "hopwatch.connection.id": out.id,
        "hopwatch.alert.related_ids": [inbound.id],
    })


def test_tunnel_relay_by_a_forked_child():
    s, _, child, inbound, _ = relay_stream(child=True)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "socat (pid 444) accepted a connection from 198.51.100.30 and its child "
                   "connected on to 10.0.0.9:3306 within a second: a relay or tunnel (systemd → "
                   "socat → socat)",
        "process.entity_id": child.eid,
        "hopwatch.alert.related_ids": [inbound.id],
    })


def test_tunnel_benign_twins():
    cases = [
        ("the relay is allowed by name", relay_stream(), ["detect.allow_relays=socat"]),
        ("the relay is allowed by path", relay_stream(),
         ["detect.allow_relays=/usr/bin/socat"]),
        ("the child of an allowed relay", relay_stream(child=True),
         ["detect.allow_relays=socat"]),
        ("it connects on more than a second later", relay_stream(delay=1.5), []),
        ("it connects back to its peer", relay_stream(onward="198.51.100.30"), []),
        ("it accepted from loopback", relay_stream(peer="127.0.0.1"), []),
        ("it connects on to loopback", relay_stream(onward="127.0.0.1"), []),
        ("the relay is sshd", relay_stream(exe="/usr/sbin/sshd"), []),
    ]
    for why, (s, *_), sets in cases:
        none_of(run(s, *sets), "tunnel", why)
    # the session comes from an allowed jump host: its forwards are expected
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.connect(20, sess.handler, ("198.51.100.80", 80))
    s.listen(21, sess.handler, "127.0.0.1", 9000)
    none_of(run(s, "detect.allow_sources=203.0.113.0/24"), "tunnel",
            "the session comes from an allowed source")
    # a failed forward
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.connect(20, sess.handler, ("198.51.100.80", 80), ok=False)
    none_of(run(s), "tunnel", "the forward's connect failed")
