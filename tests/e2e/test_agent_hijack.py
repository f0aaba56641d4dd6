"""Issue 15 part 4, SSH agent hijack (T1563.001), with real sshd: hosts A, B, C in network
namespaces (tests/lib/lab3.py), sshd on B and C, agents on B and C. The victim logs in from A
to B with `ssh -A` (an ssh-agent on A holds the only copy of the key: C accepts that key, B
has none), and from that session hops on to C with its own agent: agent_socket_used in its own
session, no alert. Then the agent socket is borrowed:
  - root on B outside any session, SSH_AUTH_SOCK set to the victim's socket, logs in to C;
  - root reaches the same socket through a symbolic link and a hard link under other names,
    with a client copied to a harmless-looking name (`kworker`);
  - the same user from a second session (no agent of its own) uses the first one's socket;
  - root uses the agent of an ssh -A session that began before the agents (the start-up
    snapshot puts running sshd's listening sockets into the kernel's map).
Every borrow comes after the agent's first sweep of sockets whose owner has exited: a sweep
that took a live session's socket for a dead one blinds the rule, and fails these tests.
Each is an agent-hijack alert naming the victim's session; the collector (`hopwatch collect
--replay` of B's and C's lines) links root's hop to C to the victim's session: a hop-chain
A -> B -> C whose B hop is the victim's session. An sshd-bound socket of another kind
(streamlocal forwarding, ssh -R) is followed the same way."""
import os
import shutil
import subprocess
import time

import ecs_schema
import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3, marker
from sshlab import HOP_SSH_OPTS, SshServer, SshSession, TestUser, kill_tree, ssh, ssh_argv

A, B, C = ADDR["a"], ADDR["b"], ADDR["c"]
SETTINGS = ["--set", "detect.internal_nets=198.18.0.0/15"]
# a hop from B that signs with whatever agent SSH_AUTH_SOCK names (no key file on B)
AGENT_OPTS = HOP_SSH_OPTS.replace("-i ~/.ssh/id_ed25519", "").split()
# the agent's sweep of dead owners' sockets (HW_AGENT_SOCK_SWEEP_NS in user/agent/agent_int.h)
SWEEP_S = 10
_RESULT = None


def _read_until(proc, prefix, timeout=20):
    """The first stdout line of proc starting with prefix (without it)."""
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise hw.TestFailure("no %r from the session: %s" % (prefix, proc.stderr.read()
                                                          if proc.poll() is not None else ""))


def _forwarding_session(lab, u, agent_sock, then):
    """u's ssh -A session from A to B with A's agent: prints SOCK=$SSH_AUTH_SOCK, then runs
    then"""
    argv, env = ssh_argv(lab.a, u, B, "echo SOCK=$SSH_AUTH_SOCK; " + then,
                         extra_opts=["-o", "ForwardAgent=yes"])
    # the client's agent is A's (ssh_argv turns agents off; forwarding needs one)
    argv = ["IdentityAgent=" + agent_sock if x == "IdentityAgent=none" else x for x in argv]
    return SshSession(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True, start_new_session=True)


def _scenario():
    d = hw.tempdir("hijack")
    os.chmod(d, 0o755)
    agent_sock = os.path.join(d, "a-agent.sock")
    with Lab3() as lab, SshServer(lab.b, B) as sb, SshServer(lab.c, C) as sc, \
            TestUser("v") as u:
        u.authorize(sb)
        u.authorize(sc)
        sshagent = subprocess.Popen(["ssh-agent", "-D", "-a", agent_sock],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        agents, victim, second, early = {}, None, None, None
        try:
            for _ in range(50):
                if os.path.exists(agent_sock):
                    break
                time.sleep(0.1)
            subprocess.run(["ssh-add", "-q", u.key_path], env=dict(os.environ,
                           SSH_AUTH_SOCK=agent_sock), check=True, capture_output=True)
            # a forwarded agent older than the agents: the start-up snapshot finds it
            early = _forwarding_session(lab, u, agent_sock, "sleep 120")
            early_sock = _read_until(early, "SOCK=")
            for name, ns in (("b", lab.b), ("c", lab.c)):
                agents[name] = Agent("--netns", ns.path, "--host-name", name,
                                     *SETTINGS).start()
            started = time.monotonic()
            # the victim: ssh -A from A to B, a hop to C with its own agent, then it stays
            victim = _forwarding_session(lab, u, agent_sock, "ssh %s %s echo %s && echo "
                                         "OWNHOP=ok; sleep 120" % (" ".join(AGENT_OPTS), C,
                                                                    marker("own")))
            sock = _read_until(victim, "SOCK=")
            check(sock.startswith("/tmp/ssh-") and "/agent." in sock, "SSH_AUTH_SOCK %r" % sock)
            check_eq(_read_until(victim, "OWNHOP="), "ok", "the victim's own hop to C")
            # the agent sweeps its socket map every SWEEP_S: every borrow below comes after
            # one, so a sweep that dropped a live session's socket is caught here
            time.sleep(max(0.0, started + SWEEP_S + 1.5 - time.monotonic()))
            # root outside any session borrows it
            env = ["env", "SSH_AUTH_SOCK=" + sock]
            r = lab.b.run(env + ["ssh"] + AGENT_OPTS + ["-l", u.name, C, "echo",
                          marker("root")], capture_output=True, text=True, timeout=30)
            check_eq(r.returncode, 0, "root's ssh to C with the victim's agent: " + r.stderr)
            # through a symbolic link and a hard link, by a renamed client
            link = os.path.join(d, "sym")
            hard = os.path.join(d, "hard")
            os.symlink(sock, link)
            os.link(sock, hard)
            kworker = os.path.join(d, "kworker")
            shutil.copy("/usr/bin/ssh-add", kworker)
            for path in (link, hard):
                r = lab.b.run(["env", "SSH_AUTH_SOCK=" + path, kworker, "-l"],
                              capture_output=True, text=True, timeout=30)
                check_eq(r.returncode, 0, "ssh-add -l through %s: %s" % (path, r.stderr))
                check(u.name in r.stdout, "the victim's key listed: %r" % r.stdout)
            # root borrows the agent of the session older than the agent
            r = lab.b.run(["env", "SSH_AUTH_SOCK=" + early_sock, "ssh-add", "-l"],
                          capture_output=True, text=True, timeout=30)
            check_eq(r.returncode, 0, "ssh-add -l on the early session's agent: " + r.stderr)
            # a second session of the same user, no agent of its own, uses the first's
            second = ssh(lab.a, u, B, "SSH_AUTH_SOCK=%s ssh %s %s echo %s" % (
                sock, " ".join(AGENT_OPTS), C, marker("second")))
            check_eq(second.returncode, 0, "the second session's hop: " + second.stderr)
            time.sleep(1)
            for a in agents.values():
                a.stop()
        finally:
            for a in agents.values():
                a.stop()
            for sess in (victim, early):
                if sess is not None:
                    sess.end()
            kill_tree(sshagent.pid, sshagent)
        for name, a in agents.items():
            check_eq(a.rc, 0, "agent %s exit: %s" % (name, a.read_stderr()))
        files = {n: a.path for n, a in agents.items()}
        col = hw.hopwatch("collect", "--replay", files["b"], files["c"], *SETTINGS)
        check_eq(col.returncode, 0, "collect --replay: " + col.stderr)
        return {"b": agents["b"].events(), "user": u.name, "sock": sock, "link": link,
                "early_sock": early_sock,
                "hard": hard, "collector": [hw.parse_event(x) for x in
                                            col.stdout.splitlines() if x.strip()]}


def result():
    global _RESULT
    if _RESULT is None:
        try:
            _RESULT = _scenario()
        except BaseException as e:  # noqa: BLE001 - every test reports the same failure
            _RESULT = e
    if isinstance(_RESULT, BaseException):
        raise hw.TestFailure("the agent hijack scenario failed: %r" % _RESULT)
    return _RESULT


def uses(sock="sock"):
    return [e for e in result()["b"] if get(e, "event.action") == "agent_socket_used" and
            get(e, "hopwatch.agent_socket.path") == result()[sock]]


def hijacks():
    return [e for e in result()["b"] if get(e, "rule.id") == "agent-hijack"]


def victim_session():
    """The victim's session: the one its own hop used the agent from."""
    own = [e for e in uses() if get(e, "hopwatch.session.id") and
           get(e, "hopwatch.session.id") == get(e, "hopwatch.agent_socket.session.id")]
    check_eq(len(own), 1, "agent uses by the socket's own session: %r" % uses())
    return get(own[0], "hopwatch.session.id")


def _args(e):
    return " ".join(get(e, "process.args") or [])


def test_own_session_uses_its_agent_quietly():
    v = victim_session()
    logins = [e for e in result()["b"] if get(e, "event.action") == "user_login" and
              get(e, "hopwatch.session.id") == v]
    check_eq(len(logins), 1, "the victim's session is a login on B")
    check_eq(get(logins[0], "source.ip"), A, "the victim came from A")
    own = [e for e in uses() if get(e, "hopwatch.session.id") == v]
    for e in hijacks():
        check(get(e, "process.entity_id") not in [get(o, "process.entity_id") for o in own],
              "an alert for the session's own use: %s" % get(e, "message"))


def test_every_use_is_an_event_with_the_socket_and_its_owner():
    v = victim_session()
    r = result()
    check(len(uses()) >= 5, "agent_socket_used: own, root, link, hard link, second session: "
          "%d" % len(uses()))
    for e in uses():
        check_eq(get(e, "hopwatch.agent_socket.path"), r["sock"], "the bound path")
        check_eq(get(e, "hopwatch.agent_socket.session.id"), v, "the socket's session")
        check_eq(get(e, "hopwatch.agent_socket.owner.user.name"), r["user"], "the owner")
        check(get(e, "hopwatch.agent_socket.owner.entity_id"), "the owner's entity id")
        check(int(get(e, "hopwatch.agent_socket.inode")) > 0, "the inode")
        check_eq(ecs_schema.validate(e), [], "ECS violations")
    for e in hijacks():
        check_eq(ecs_schema.validate(e), [], "ECS violations of the alert")
    named = {get(e, "hopwatch.agent_socket.connected_path") for e in uses()}
    check({r["sock"], r["link"], r["hard"]} <= named, "the names used: %r" % named)


def test_root_outside_any_session_is_an_alert_naming_the_victim():
    v = victim_session()
    found = [e for e in hijacks() if get(e, "user.name") == "root" and
             get(e, "process.executable") == "/usr/bin/ssh"]
    check(found, "no agent-hijack alert for root: %r" % [get(e, "message") for e in hijacks()])
    for e in found:
        check_eq(get(e, "hopwatch.session.id"), v, "the alert names the victim's session")
        check_eq(get(e, "event.severity"), 99, "another user's agent: critical")
        check_eq(get(e, "threat.technique.id"), ["T1563.001"], "ATT&CK")
        check(result()["user"] in get(e, "message"), "the victim named: " + get(e, "message"))


def test_links_and_a_renamed_client_are_found_by_inode():
    by_path = {}
    for e in uses():
        by_path.setdefault(get(e, "hopwatch.agent_socket.connected_path"), []).append(e)
    for path in (result()["link"], result()["hard"]):
        check(path in by_path, "no use through %s" % path)
        for e in by_path[path]:
            check_eq(get(e, "process.name"), "kworker", "the renamed client")
            alerted = [a for a in hijacks()
                       if get(a, "process.entity_id") == get(e, "process.entity_id")]
            check_eq(len(alerted), 1, "an alert for the use through %s" % path)


def test_second_session_of_the_same_user_is_an_alert():
    v = victim_session()
    mine = [e for e in uses() if get(e, "hopwatch.session.id") not in ("", None, v)]
    check_eq(len(mine), 1, "uses from another session: %r" % [
        get(e, "hopwatch.session.id") for e in uses()])
    alerted = [a for a in hijacks()
               if get(a, "process.entity_id") == get(mine[0], "process.entity_id")]
    check_eq(len(alerted), 1, "an alert for the second session's use")
    check_eq(get(alerted[0], "hopwatch.session.id"), v, "the victim's session")
    check_eq(get(alerted[0], "event.severity"), 73, "the same user's agent: high")
    check(get(mine[0], "hopwatch.session.id") in get(alerted[0], "hopwatch.alert.related_ids"),
          "the borrower's own session in related_ids")


def test_a_session_older_than_the_agent_is_followed():
    early = [get(e, "hopwatch.session.id") for e in result()["b"]
             if get(e, "event.action") == "existing_session"]
    check_eq(len(early), 1, "the session open before the agent: %r" % early)
    got = uses("early_sock")
    check_eq(len(got), 1, "the use of its agent socket: %r" % got)
    check_eq(get(got[0], "hopwatch.agent_socket.session.id"), early[0], "its session")
    check_eq(get(got[0], "process.name"), "ssh-add", "the borrower")
    alerted = [a for a in hijacks() if get(a, "process.entity_id") ==
               get(got[0], "process.entity_id")]
    check_eq(len(alerted), 1, "an alert for it")
    check_eq(get(alerted[0], "hopwatch.session.id"), early[0], "naming the early session")


def test_no_other_alerts_of_the_rule():
    check_eq(len(hijacks()), 5, "agent-hijack: root, sym link, hard link, the early session's "
             "agent, second session: %r" % [get(e, "message") for e in hijacks()])


def test_hop_chain_names_the_victim_session():
    v = victim_session()
    chains = [e for e in result()["collector"] if get(e, "rule.id") == "hop-chain"]
    borrowed = [e for e in chains if "with that session's ssh agent" in get(e, "message")]
    check(borrowed, "no hop-chain through the borrowed agent: %r" % [
        get(e, "message") for e in chains])
    for e in borrowed:
        check(v in (get(e, "hopwatch.alert.related_ids") or []),
              "the chain names the victim's session: %s" % e)
        check_eq(get(e, "hopwatch.alert.hosts"), [A, "b", "c"], "A -> B -> C")
