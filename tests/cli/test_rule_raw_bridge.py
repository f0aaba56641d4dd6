"""The raw-socket-bridge rule (docs/rules.md), unit tier: hand-built streams in the agent's
exact ECS shapes (tests/lib/raw_streams.py, tests/lib/ecs_builder.py) replayed with `hopwatch
replay`: a renamed bridge holding a packet socket and a connection to 443 fires once, with its
fields; benign twins (a listed, trusted network tool; a raw socket without a connection; a
connection closed early, to loopback, or inbound; a refused socket; the holder exited; the
connection owned by another process) stay quiet; a lookalike of a listed tool (a copy under
another path, or the listed path but not a trusted file) fires; the allowlist takes full paths
only."""
import hw
from ecs_builder import LOCAL_IP, SEC, ns_at, rfc3339
from hw import check, check_eq, hopwatch
from raw_streams import BRIDGE_PEER, bridge_stream, raw_socket
from rulelab import expect, none_of, only, run

RULE = "raw-socket-bridge"


def test_raw_bridge_fires_once():
    s, init, p, conn = bridge_stream(args=["conhost", "execsvc"])
    s.ticks(30, 60, 620, 621, 622, 3000)
    r = run(s)  # the default detect.raw_bridge_connection, 10m
    a = only(r.of(RULE), RULE)
    expect(a, {
        "rule.name": "Raw packet socket with a long-lived outbound connection",
        "event.severity": 73,
        "hopwatch.alert.severity": "high",
        "threat.technique.id": ["T1572", "T1036.005"],
        "@timestamp": rfc3339(ns_at(621)),
        "process.executable": "/usr/local/lib/conhost",
        "process.entity_id": p.eid,
        "process.pid": p.pid,
        "destination.ip": BRIDGE_PEER[0],
        "destination.port": 443,
        "hopwatch.connection.id": conn.id,
        "hopwatch.alert.age": 600 * SEC,
        "hopwatch.alert.process_chain": ["systemd", "conhost"],
        "message": "conhost (/usr/local/lib/conhost, pid %d) holds a raw socket (packet/raw, "
                   "protocol 3) and has held a connection to 198.18.0.3:443 open for 10m 0s: a "
                   "VPN bridge or tunnel under a borrowed name unless it is an expected "
                   "network tool (systemd → conhost)" % p.pid,
    })


def test_raw_bridge_names_the_packet_socket():
    """a bridge also opens ICMP raw sockets (SoftEther probes with them): the alert names the
    packet socket, whichever came last"""
    s, init, p, conn = bridge_stream()
    raw_socket(s, 22, p, family=2, type_=3, protocol=1)
    s.ticks(700)
    a = only(run(s).of(RULE), RULE)
    check("(packet/raw, protocol 3)" in a["message"], "the packet socket: %r" % a["message"])
    s, init, p, conn = bridge_stream(raw=False)
    raw_socket(s, 22, p, family=2, type_=3, protocol=1)
    s.ticks(700)
    a = only(run(s).of(RULE), "%s of an ICMP raw socket" % RULE)
    check("(inet/raw, protocol 1)" in a["message"], "the ICMP socket: %r" % a["message"])


def test_raw_bridge_names_the_name_it_runs_under():
    """argv[0] other than the file's name (exec -a) is said too"""
    s, _, p, _ = bridge_stream(args=["[kworker/0:2]"])
    s.ticks(60)
    a = only(run(s, "detect.raw_bridge_connection=30s").of(RULE), RULE)
    check("running as '[kworker/0:2]'" in a["message"], "argv[0] named: %r" % a["message"])


def test_raw_bridge_threshold_is_a_key():
    s, *_ = bridge_stream()
    s.ticks(40, 52, 60)
    a = only(run(s, "detect.raw_bridge_connection=30s").of(RULE), RULE)
    check_eq(a["@timestamp"], rfc3339(ns_at(52)), "fires at the first tick 30 s after 21 s")
    s, *_ = bridge_stream()
    s.ticks(40, 52, 60)
    none_of(run(s), RULE, "the default 10m has not passed")


def test_raw_bridge_connection_before_the_socket():
    """the connection is old when the raw socket comes: the next tick fires"""
    s, init, p, conn = bridge_stream(raw=False)
    s.ticks(700)
    raw_socket(s, 701, p)
    s.ticks(702)
    a = only(run(s).of(RULE), RULE)
    check_eq(a["@timestamp"], rfc3339(ns_at(702)), "the tick after the socket")


def test_raw_bridge_benign_twins():
    # a listed tool, trusted: tcpdump holding a packet socket, and the same tcpdump's
    # connection (it never has one; the twin holds it anyway)
    cases = []
    s, *_ = bridge_stream(exe="/usr/bin/tcpdump", args=["tcpdump", "-i", "eth0"])
    cases.append(("tcpdump, listed and trusted", s, []))
    s, *_ = bridge_stream(exe="/usr/sbin/dhclient")
    cases.append(("dhclient under /usr/sbin", s, []))
    s, *_ = bridge_stream(connect=False)
    cases.append(("a raw socket and no connection", s, []))
    s, init, p, conn = bridge_stream()
    s.disconnect(500, p, conn)
    cases.append(("the connection closed before the threshold", s, []))
    s, *_ = bridge_stream(peer=("127.0.0.1", 443))
    cases.append(("the connection is to loopback", s, []))
    s, *_ = bridge_stream(raw_error="EPERM")
    cases.append(("socket() was refused", s, []))
    s, init, p, conn = bridge_stream()
    s.exit(300, p)
    cases.append(("the holder exited", s, []))
    s, *_ = bridge_stream()
    cases.append(("the program is listed by the operator", s,
                  ["detect.raw_socket_programs=/usr/local/lib/conhost"]))
    # tcpdump captures while another process holds an ssh connection
    s, init, p, _ = bridge_stream(exe="/usr/bin/tcpdump", connect=False)
    ssh = s.spawn(30, init, "/usr/bin/ssh", ["ssh", "admin@198.18.0.9"])
    s.connect(31, ssh, ("198.18.0.9", 22))
    cases.append(("tcpdump, and ssh in another process", s, []))
    # a non-listed raw-socket holder, the connection held by another process
    s, init, p, _ = bridge_stream(connect=False)
    other = s.spawn(30, init, "/usr/bin/curl", ["curl", "https://198.18.0.3"])
    s.connect(31, other, BRIDGE_PEER)
    cases.append(("the connection is another process's", s, []))
    # an inbound connection held long
    s, init, p, _ = bridge_stream(connect=False)
    s.accept(30, p, ("198.18.0.7", 50000), (LOCAL_IP, 443))
    cases.append(("the connection is inbound", s, []))
    for why, s, sets in cases:
        s.ticks(700, 4000)
        none_of(run(s, *sets), RULE, why)


def test_raw_bridge_lookalikes_fire():
    """the allowlist is by whole path and kernel trust: a copy of tcpdump elsewhere, or the
    listed path as a file a user could have replaced, is judged like any program"""
    for why, kw in [
        ("tcpdump copied to /tmp", dict(exe="/tmp/tcpdump", args=["tcpdump"])),
        ("a conhost named like a listed tool in another directory",
         dict(exe="/usr/local/sbin/dhclient")),
        ("the listed path, not a trusted file", dict(exe="/usr/bin/tcpdump", trusted=False)),
    ]:
        s, *_ = bridge_stream(**kw)
        s.ticks(700)
        a = only(run(s).of(RULE), "%s: %s" % (RULE, why))
        check_eq(hw.get(a, "process.executable"), kw["exe"], why)


def test_raw_bridge_allowlist_takes_full_paths_only():
    for bad in ["tcpdump", "conhost", "./conhost", "/usr//bin/x", "/usr/../tmp/x"]:
        p = hopwatch("replay", "--set", "detect.raw_socket_programs=/usr/bin/tcpdump," + bad,
                     "/dev/null")
        check_eq(p.returncode, 2, "exit status for %r" % bad)
        check_eq(p.stderr.strip().count("\n"), 0, "one line for %r: %r" % (bad, p.stderr))
        check("detect.raw_socket_programs" in p.stderr and bad in p.stderr,
              "names the key and the value: %r" % p.stderr)
    p = hopwatch("replay", "--set", "detect.raw_bridge_connection=soon", "/dev/null")
    check_eq(p.returncode, 2, "a bad duration")
