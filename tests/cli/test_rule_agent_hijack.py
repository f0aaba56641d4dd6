"""The agent-hijack rule (docs/rules.md) and the collector's link of a borrowed agent to its
session, unit tier: hand-built streams in the agent's exact shapes (agent_socket_used as
user/output/ecs_unix.c writes it) replayed with `hopwatch replay` and `hopwatch collect
--replay`. alice logs in to b with ssh -A; her sshd binds the agent socket. Root outside any
session, bob in his own session, and alice in a second session use it: one alert each, naming
alice's session, critical for another user, high for the same user; alice's own shell and her
ssh on to c stay quiet, as does a socket whose session is unknown used by its own user; a
process alerts once however often it connects. The collector makes root's hop to c, whose agent
use comes after its connect (as ssh does it), a hop out of alice's session."""
from collectlab import A, B, C, INTERNAL, collect, write
from ecs_builder import Stream
from hw import check, check_eq, get
from rulelab import expect, none_of, only, run

RULE = "agent-hijack"
SOCK = "/tmp/ssh-XXXXk3J9aQ/agent.4003"


def agent_socket(s, t, p, owner, session, path=SOCK, connected=None, owner_uid=1000,
                 owner_user="alice"):
    """agent_socket_used of p: owner is the sshd that bound the socket, session its session
    (None: the agent knew none)"""
    ev = s.header(t, "event", "network", "access", "agent_socket_used", "hopwatch.network",
                  outcome="success")
    s.proc_members(ev, p)
    hwm = {"comm": p.name[:15]}
    if p.session:
        hwm["session"] = {"id": p.session.id}
    hwm["netns"] = 4026531833
    hwm["cgroup_id"] = 1
    hwm["exe"] = {"uid": 0, "mode": "0755", "trusted": p.trusted}
    sock = {"path": path, "connected_path": connected or path, "inode": "4242",
            "device": "0:35", "owner": {"pid": owner.pid, "entity_id": owner.eid,
                                        "user": {"id": str(owner_uid), "name": owner_user}}}
    if session:
        sock["session"] = {"id": session.id}
    hwm["agent_socket"] = sock
    ev["hopwatch"] = hwm
    return s.add(ev)


def forwarded(host="b"):
    """alice's ssh -A session on host: its sshd's user process (the binder), her shell"""
    s = Stream(host)
    s.agent_started()
    s.sshd()
    sa = s.ssh_session(10, "alice", client=(A, 50022), server=(B, 22))
    binder = [p for p in [sa.shell.parent] if p][0]
    return s, sa, binder


def test_root_outside_a_session_fires_critical_naming_the_victim():
    s, sa, binder = forwarded()
    cron = s.existing(0, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"])
    sh = s.spawn(20, cron, "/usr/bin/bash", ["bash"])
    ssh = s.spawn(21, sh, "/usr/bin/ssh", ["ssh", C])
    agent_socket(s, 22, ssh, binder, sa)
    a = only(run(s).of(RULE), RULE)
    expect(a, {
        "rule.name": "SSH agent of another session used",
        "event.severity": 99,
        "threat.technique.id": ["T1563.001"],
        "process.pid": ssh.pid,
        "process.entity_id": ssh.eid,
        "process.executable": "/usr/bin/ssh",
        "hopwatch.session.id": sa.id,
        "source.ip": A,
        "user.name": "root",
        "hopwatch.alert.related_ids": [binder.eid],
        "hopwatch.alert.process_chain": ["cron", "bash", "ssh"],
        "message": "ssh (pid %d, user root, outside any remote session) connected to alice's "
                   "ssh agent (session %s from %s) through %s: it can log in wherever those "
                   "keys open, as that user (cron → bash → ssh)" % (ssh.pid, sa.id, A, SOCK),
    })


def test_own_session_is_quiet_and_its_hop_too():
    s, sa, binder = forwarded()
    ssh = s.spawn(20, sa.shell, "/usr/bin/ssh", ["ssh", C])
    agent_socket(s, 21, ssh, binder, sa)
    sudo = s.spawn(22, sa.shell, "/usr/bin/sudo", ["sudo", "ssh-add", "-l"])
    agent_socket(s, 23, sudo, binder, sa)  # root, but in her session: her own doing
    none_of(run(s), RULE, "the session's own processes")


def test_another_users_session_is_critical_with_both_sessions():
    s, sa, binder = forwarded()
    sb = s.ssh_session(30, "bob", client=(A, 50100), server=(B, 22))
    sb.shell.uid = 1001
    sudo = s.spawn(31, sb.shell, "/usr/bin/sudo", ["sudo", "-s"])
    ssh = s.spawn(32, sudo, "/usr/bin/ssh", ["ssh", C])
    ssh.session = sb
    agent_socket(s, 33, ssh, binder, sa)
    a = only(run(s).of(RULE), RULE)
    check_eq(get(a, "event.severity"), 99, "another user")
    check_eq(get(a, "hopwatch.session.id"), sa.id, "the victim's session")
    check_eq(get(a, "hopwatch.alert.related_ids"), [binder.eid, sb.id], "owner, own session")
    check("in session %s" % sb.id in get(a, "message"), get(a, "message"))


def test_same_user_in_another_session_is_high():
    s, sa, binder = forwarded()
    s2 = s.ssh_session(30, "alice", client=(A, 50200), server=(B, 22))
    ssh = s.spawn(31, s2.shell, "/usr/bin/ssh", ["ssh", C])
    ssh.uid, ssh.user = 1000, "alice"
    agent_socket(s, 32, ssh, binder, sa)
    a = only(run(s).of(RULE), RULE)
    check_eq(get(a, "event.severity"), 73, "the same user")
    check_eq(get(a, "hopwatch.session.id"), sa.id, "the victim's session")


def test_once_per_process_and_a_renamed_one_through_a_link():
    s, sa, binder = forwarded()
    cron = s.existing(0, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"])
    k = s.spawn(20, cron, "/tmp/.x/kworker", ["[kworker/0:1]"])
    for t in (21, 22, 23):
        agent_socket(s, t, k, binder, sa, connected="/tmp/.x/sock")
    a = only(run(s).of(RULE), RULE)
    check_eq(get(a, "process.entity_id"), k.eid, "the renamed client")


def test_unknown_session_same_user_quiet_other_user_fires():
    s, sa, binder = forwarded()
    own = s.spawn(20, sa.shell, "/usr/bin/ssh", ["ssh", C])
    own.session = None
    own.uid, own.user = 1000, "alice"
    agent_socket(s, 21, own, binder, None)
    none_of(run(s), RULE, "the socket's own user, its session unknown")
    cron = s.existing(0, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"])
    ssh = s.spawn(30, cron, "/usr/bin/ssh", ["ssh", C])
    agent_socket(s, 31, ssh, binder, None)
    a = only(run(s).of(RULE), RULE)
    check("the ssh agent of uid 1000" in get(a, "message"), get(a, "message"))
    check_eq(get(a, "hopwatch.session.id"), None, "no session to name")


def _borrowed_hop(use=True):
    """root on b (outside any session) sshes to c as alice with alice's forwarded agent:
    the connect at 20 s, the agent use at 20.2 s"""
    b, sa, binder = forwarded("b")
    c = Stream("c")
    c.agent_started()
    c.sshd()
    cron = b.existing(0, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"])
    ssh = b.spawn(19, cron, "/usr/bin/ssh", ["ssh", "-l", "alice", C])
    b.connect(20, ssh, (C, 22), src=(B, 41000))
    if use:
        agent_socket(b, 20.2, ssh, binder, sa)
    c.ssh_session(20.5, "alice", client=(B, 41000), server=(C, 22))
    b.tick(30)
    c.tick(30)
    return b, c, sa


def test_collector_links_the_borrowed_hop_to_the_victims_session():
    b, c, sa = _borrowed_hop()
    r = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"), sets=[INTERNAL])
    chains = r.of("hop-chain")
    a = only(chains, "hop-chain")
    check_eq(get(a, "hopwatch.alert.hosts"), [A, "b", "c"], "A -> b -> c")
    check(sa.id in get(a, "hopwatch.alert.related_ids"), "the victim's session named")
    check("via /usr/bin/ssh with that session's ssh agent" in get(a, "message"),
          get(a, "message"))
    check_eq(len(r.of(RULE)), 1, "the per-host rule in the collector too")


def test_collector_without_the_agent_use_has_no_chain():
    b, c, _ = _borrowed_hop(use=False)
    r = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"), sets=[INTERNAL])
    check_eq(r.of("hop-chain"), [], "a hop of no session starts no chain")
