"""The collector end to end: hosts A, B, C in network namespaces (tests/lib/lab3.py) with real
sshd on B and C, an agent on each of B and C (`hopwatch run --netns ... --host-name b|c`)
publishing to a real nats-server on 127.0.0.1 (tests/lib/natslab.py, a temporary store), and
`hopwatch collect` consuming the stream. ssh A -> B, then from that session B -> C: exactly one
hop-chain alert A -> B -> C (A has no agent), naming the user, the programs and the times, in
the collector's output and on collect.subject. ssh -J through B (ProxyJump: B's sshd makes the
hop to C) is one more. Benign twins stay quiet: the same ssh B -> C by a process outside any
session, and a direct ssh A -> C.

The agents stream on the default profile (fleet, docs/streaming.md "Profiles"): one
connection_closed per connection at its close, the openings only of admin-port and in-session
connections. Their output files hold the full lines of the same run: `hopwatch collect
--replay` judges both, and the alerts must be the same.

The scenario runs once (the first test runs it, the others read the result)."""
import os
import re
import time

import hw
from hw import Agent, check, check_eq, get
from collectlab import Collector, drained
from lab3 import ADDR, Lab3, marker
from natslab import Nats, NatsServer
from sshlab import HOP_SSH_OPTS, SshServer, TestUser, give_key, ssh

A, B, C = ADDR["a"], ADDR["b"], ADDR["c"]
SETTINGS = ["detect.internal_nets=198.18.0.0/15"]
_RESULT = None


def _scenario():
    spool = hw.tempdir("spools")
    with NatsServer() as srv, Lab3() as lab, SshServer(lab.b, B) as sb, \
            SshServer(lab.c, C) as sc, TestUser("k") as u:
        u.authorize(sb)
        u.authorize(sc)
        give_key(u)
        sets = sum((["--set", s] for s in SETTINGS), [])
        col = Collector(srv.url, *sets)
        agents = {}
        try:
            col.start()
            for name, ns in (("b", lab.b), ("c", lab.c)):
                agents[name] = Agent("--netns", ns.path, "--host-name", name,
                                     "--set", "output.nats_url=" + srv.url,
                                     "--set", "output.spool_dir=" + os.path.join(spool, name),
                                     *sets).start()
            # the hop chain: A -> B, and from that session B -> C
            r = ssh(lab.a, u, B, "echo %s; ssh %s %s true" % (
                marker("chain"), HOP_SSH_OPTS, C))
            check_eq(r.returncode, 0, "ssh A->B->C: " + r.stderr)
            col.wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
            # ProxyJump through B: nothing runs on B, its sshd connects on to C
            jump = "ssh %s -o IdentitiesOnly=yes -i %s -l %s -W %%h:%%p %s" % (
                HOP_SSH_OPTS.replace("-i ~/.ssh/id_ed25519", ""), u.key_path, u.name, B)
            r = ssh(lab.a, u, C, "true", extra_opts=["-o", "ProxyCommand=" + jump])
            check_eq(r.returncode, 0, "ssh -J B C: " + r.stderr)
            # benign: B -> C by root outside any session, and A -> C directly
            r = lab.b.run(["ssh"] + HOP_SSH_OPTS.replace("~/.ssh/id_ed25519",
                                                             u.key_path).split()
                          + ["-l", u.name, C, "true"], capture_output=True, text=True,
                          timeout=30)
            check_eq(r.returncode, 0, "ssh B->C outside a session: " + r.stderr)
            r = ssh(lab.a, u, C, "true")
            check_eq(r.returncode, 0, "ssh A->C: " + r.stderr)
            col.wait_for(lambda e: "/usr/sbin/sshd" in get(e, "message", ""), 30)
            time.sleep(1.5)  # the last logouts reach the agents
            for a in agents.values():
                a.stop()
            nc = Nats(srv.port)
            try:
                drained(nc, "hopwatch-collector", 30)
            finally:
                nc.close()
            rc = col.stop()
        finally:
            for a in agents.values():
                a.stop()  # does nothing when stopped
            col.__exit__()  # ends it if a failure left it running
        check_eq(rc, 0, "collector exit: " + col.stderr())
        for name, a in agents.items():
            check_eq(a.rc, 0, "agent %s exit: %s" % (name, a.read_stderr()))
        dump = srv.dump()
        published = [(mid, hw.parse_event(data)) for _, subj, mid, data in dump
                     if subj == "hopwatch.collector.alerts"]
        streamed = {}
        for _, subj, _, data in dump:
            if subj.endswith(".events"):
                e = hw.parse_event(data)
                streamed.setdefault(get(e, "host.name"), []).append(data)
        return {"collector": col.lines(), "stderr": col.stderr(), "user": u.name,
                "agents": {n: a.events() for n, a in agents.items()}, "published": published,
                "full": {n: a.lines() for n, a in agents.items()}, "streamed": streamed}


def result():
    global _RESULT
    if _RESULT is None:
        try:
            _RESULT = _scenario()
        except BaseException as e:  # noqa: BLE001 - every test reports the same failure
            _RESULT = e
    if isinstance(_RESULT, BaseException):
        raise hw.TestFailure("the collector scenario failed: %s" % _RESULT)
    return _RESULT


def alerts(rule=None):
    return [e for e in result()["collector"] if get(e, "event.kind") == "alert" and
            (rule is None or get(e, "rule.id") == rule)]


def login(host, client_ip):
    """The session id of the successful login on host from client_ip."""
    found = [get(e, "hopwatch.session.id") for e in result()["agents"][host]
             if get(e, "event.action") == "user_login" and get(e, "event.outcome") == "success"
             and get(e, "source.ip") == client_ip]
    check(found, "no login on %s from %s" % (host, client_ip))
    return found


def chains(via):
    return [a for a in alerts("hop-chain") if "via %s," % via in get(a, "message")]


def test_one_hop_chain_a_b_c():
    every = [get(a, "message") for a in alerts("hop-chain")]
    check_eq(len(every), 2, "hop-chain alerts (ssh in the session, ProxyJump): %r" % every)
    found = chains("/usr/bin/ssh")
    check_eq(len(found), 1, "hop-chain alerts of ssh in the session: %r" % every)
    a = found[0]
    u = result()["user"]
    check_eq(get(a, "hopwatch.alert.hosts"), [A, "b", "c"], "the hosts of the chain")
    check_eq(get(a, "hopwatch.alert.count"), 2, "hops")
    check_eq(get(a, "host.name"), "c", "host of the alert: the chain's end")
    check_eq(get(a, "user.name"), u, "user")
    check_eq(get(a, "event.severity"), 73, "severity")
    check_eq(get(a, "threat.technique.id"), ["T1021", "T1021.004"], "techniques")
    check(re.fullmatch(r"%s hopped %s → b \(%s, sshd session, \d\d:\d\d:\d\d\) → c \(%s via "
                       r"/usr/bin/ssh, \d\d:\d\d:\d\d\)" % (u, re.escape(A), u, u),
                       get(a, "message")), "message: %r" % get(a, "message"))
    sb = login("b", A)
    sc = login("c", B)
    check_eq(len(sb), 2, "logins on b from A (the ssh, the ProxyJump)")
    check(get(a, "hopwatch.session.id") in sc, "the session on c: %r not in %r"
          % (get(a, "hopwatch.session.id"), sc))
    check_eq(len(get(a, "hopwatch.alert.related_ids")), 2, "the sessions of the chain")
    check(get(a, "hopwatch.alert.related_ids")[0] in sb, "the chain's session on b")
    check_eq(get(a, "hopwatch.alert.related_ids")[1], get(a, "hopwatch.session.id"),
             "the chain's session on c")
    check_eq((get(a, "source.ip"), get(a, "destination.ip"), get(a, "destination.port")),
             (B, C, 22), "the last hop")


def test_proxyjump_is_a_hop_chain_too():
    found = chains("/usr/sbin/sshd")
    check_eq(len(found), 1, "hop-chain alerts of ssh -J: %r"
             % [get(a, "message") for a in alerts("hop-chain")])
    a = found[0]
    u = result()["user"]
    check_eq(get(a, "hopwatch.alert.hosts"), [A, "b", "c"], "the hosts of the chain")
    check(re.fullmatch(r"%s hopped %s → b \(%s, sshd session, \d\d:\d\d:\d\d\) → c \(%s via "
                       r"/usr/sbin/sshd, \d\d:\d\d:\d\d\)" % (u, re.escape(A), u, u),
                       get(a, "message")), "message: %r" % get(a, "message"))


def test_hop_chain_published_to_collect_subject():
    pub = result()["published"]
    published = [e for _, e in pub if get(e, "rule.id") == "hop-chain"]
    check_eq(published, alerts("hop-chain"), "hop-chain alerts on hopwatch.collector.alerts")
    check_eq(sorted(mid for mid, _ in pub), sorted(get(e, "event.id") for e in alerts()),
             "every alert published once, its event.id as message id")


def test_collector_runs_the_per_host_rules():
    # b's session reached c's ssh port: lateral-movement on b, as the agent on b says too
    ours = [get(a, "hopwatch.session.id") for a in alerts("lateral-movement")
            if get(a, "host.name") == "b"]
    theirs = [get(a, "hopwatch.session.id") for a in result()["agents"]["b"]
              if get(a, "rule.id") == "lateral-movement"]
    check_eq(len(theirs), 2, "the agent's lateral-movement alerts (ssh, ProxyJump)")
    check_eq(ours, theirs, "the collector's lateral-movement alerts for b")


def test_collector_consumed_every_event_once():
    last = result()["collector"][-1]
    check_eq(get(last, "event.action"), "collector-stopped", "the last line")
    k = get(last, "hopwatch.collector")
    # what the agents streamed (the fleet profile's lines), not what they wrote
    events = sum(len([e for e in evs if get(hw.parse_event(e), "event.kind") != "alert"])
                 for evs in result()["streamed"].values())
    check_eq((k["messages"], k["events"], k["malformed"], k["hosts"]),
             (events, events, 0, 2), "counters against the agents' output")
    # the agents batch: fewer messages than lines, every one a batch, every one acknowledged
    check(0 < k["acked"] < events, "batches acknowledged: %d for %d lines" % (k["acked"], events))
    check_eq((k["batches"], k["batches_refused"]), (k["acked"], 0), "every message a batch")
    check_eq(k["hop_chains"], 2, "hop chains counted")
    check_eq(k["publish_errors"], 0, "publish errors")


def test_real_agents_pass_the_collectors_limits():
    """The limits against hostile hosts (issue 11: pinned identities, address ownership,
    bounded clocks, budgets) refuse nothing of real agents: every session the chains need was
    claimed on an address its host had shown (sshd's accepts), no time was bounded."""
    k = get(result()["collector"][-1], "hopwatch.collector")
    check_eq((k["identity_refused"], k["stitch_refused"], k["clamped"], k["evictions"],
              k["memory_evictions"], k["alerts_dropped"], k["stitch_host_full"]),
             (0, 0, 0, 0, 0, 0, 0), "refused, bounded, evicted, dropped")
    accepts = [e for e in result()["agents"]["c"]
               if get(e, "event.action") == "connection_accepted" and get(e, "source.ip") == B]
    check(accepts, "c's sshd accepts from b reported (the address c shows as its own)")
    check(k["ticks"] > 0, "the engines ticked")


def _merged(per_host):
    """The lines of every host in one file, in time order (each host's own order kept)."""
    import heapq
    keyed = [[(get(hw.parse_event(l), "@timestamp"), i, l) for i, l in enumerate(lines)]
             for lines in per_host.values()]
    return [l for _, _, l in heapq.merge(*keyed)]


def test_agents_stream_the_fleet_profile():
    """The default profile on the JetStream sink: no disconnect line in the stream, one
    connection_closed per connection the agents closed (the same connection id, bytes each
    way, start and duration); sshd's accepts (an admin port) streamed when they open."""
    for host, lines in result()["streamed"].items():
        ev = [hw.parse_event(l) for l in lines]
        actions = [get(e, "event.action") for e in ev]
        check("disconnect" not in actions, "%s: no disconnect line in the fleet stream" % host)
        full = [e for e in result()["agents"][host] if get(e, "event.action") == "disconnect"]
        closed = {get(e, "hopwatch.connection.id"): e for e in ev
                  if get(e, "event.action") == "connection_closed"}
        check(full, "%s: the agent closed connections" % host)
        for d in full:
            c = closed.get(get(d, "hopwatch.connection.id"))
            check(c is not None, "%s: no connection_closed for %r" % (host, d))
            for k in ("source.ip", "source.port", "source.bytes", "destination.ip",
                      "destination.port", "destination.bytes", "event.duration",
                      "hopwatch.connection.start", "hopwatch.connection.closed_by",
                      "process.entity_id", "@timestamp"):
                check_eq(get(c, k), get(d, k), "%s: connection_closed %s" % (host, k))
            check(set(c["process"]) <= {"pid", "entity_id", "name", "executable"},
                  "the process by its identity only: %r" % c["process"])
        check(len(closed) == len(full), "%s: one connection_closed per connection" % host)
    accepts = [e for e in map(hw.parse_event, result()["streamed"]["c"])
               if get(e, "event.action") == "connection_accepted"]
    check(accepts and all(get(e, "destination.port") == 22 for e in accepts),
          "c's sshd accepts streamed live")


def test_fleet_and_full_streams_judged_alike():
    """`hopwatch collect --replay` of the fleet stream and of the full lines of the same run:
    the same alerts (rule, host, message, session), hop chains included."""
    def judged(per_host, name):
        path = os.path.join(hw.tempdir("judged"), name)
        with open(path, "w") as f:
            f.write("\n".join(_merged(per_host)) + "\n")
        p = hw.hopwatch("collect", "-o", "json", "--replay", path,
                        *sum((["--set", s] for s in SETTINGS), []))
        check_eq(p.returncode, 0, "collect --replay %s: %s" % (name, p.stderr))
        out = [hw.parse_event(l) for l in p.stdout.splitlines()]
        return sorted((get(e, "rule.id"), get(e, "host.name"), get(e, "message"),
                       get(e, "hopwatch.session.id") or "")
                      for e in out if get(e, "event.kind") == "alert")
    full = judged(result()["full"], "full.ndjson")
    fleet = judged(result()["streamed"], "fleet.ndjson")
    check([a for a in full if a[0] == "hop-chain"], "hop chains in the full replay: %r" % full)
    check_eq(fleet, full, "the collector's alerts from the fleet stream and the full lines")
