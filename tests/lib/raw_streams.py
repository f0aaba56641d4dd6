"""raw_socket_opened lines in the agent's exact shape (user/output/ecs_raw.c), member order
included, and the stream the raw-socket-bridge rule tests build on: a renamed SoftEther-like
bridge (tests/cli/test_rule_raw_bridge.py). Built on tests/lib/ecs_builder.py."""
from ecs_builder import Stream

FAMILIES = {17: "packet", 2: "inet", 10: "inet6"}
TYPES = {1: "stream", 2: "dgram", 3: "raw"}
BRIDGE_PEER = ("198.18.0.3", 443)


def raw_socket(s, t, p, family=17, type_=3, protocol=3, fd=7, error=None):
    """raw_socket_opened of p (error: an errno name such as "EPERM", then outcome failure)"""
    ev = s.header(t, "event", "network", "start", "raw_socket_opened", "hopwatch.network",
                  outcome="failure" if error else "success")
    ev["event"]["category"] = ["network", "process"]
    if error:
        ev["error"] = {"code": error, "message": "Operation not permitted"}
    s.proc_members(ev, p)
    hwm = {"comm": p.name[:15]}
    if p.session:
        hwm["session"] = {"id": p.session.id}
    hwm["netns"] = 4026531833
    hwm["cgroup_id"] = 1
    hwm["exe"] = {"uid": 0 if p.trusted else p.uid, "mode": "0755", "trusted": p.trusted}
    sock = {"family": FAMILIES.get(family, family), "type": TYPES.get(type_, type_),
            "protocol": protocol}
    if not error:
        sock["fd"] = fd
    hwm["socket"] = sock
    ev["hopwatch"] = hwm
    return s.add(ev)


def bridge_stream(exe="/usr/local/lib/conhost", args=None, trusted=None, peer=BRIDGE_PEER,
                  raw=True, connect=True, uid=0, user="root", raw_error=None):
    """systemd starts a program that opens a packet socket at 20 s and connects to peer at
    21 s (a SoftEther vpnbridge copied to a system-looking name, cascading to its server)."""
    s = Stream(host_name="bridge-b")
    s.agent_started()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    p = s.spawn(10, init, exe, args or [exe, "execsvc"], trusted=trusted)
    if uid:
        p.uid, p.user = uid, user
    if raw:
        raw_socket(s, 20, p, error=raw_error)
    conn = s.connect(21, p, peer) if connect else None
    return s, init, p, conn
