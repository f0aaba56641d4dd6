"""raw_socket_opened on the real kernel (bpf/raw.bpf.c): `hopwatch check` lists the two socket
tracepoint programs; an agent scoped to a namespace of this run reports a packet socket, an
ICMP raw socket and a cooked packet socket with their family, type, protocol and descriptor,
and leaves out netlink and ordinary sockets; an unprivileged user's attempt is a failure with
EPERM; nobody in an unprivileged user and network namespace (unshare -rn) gets its packet
socket, reported with its real uid when the agent watches all namespaces; the text line."""
import os
import subprocess
import textwrap
import time

import ecs_schema
import hw
from hw import Agent, Netns, check, check_eq, get

SOCKETS = textwrap.dedent("""
    import socket, sys
    tag = sys.argv[1]
    held = [socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)),
            socket.socket(socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                          socket.IPPROTO_ICMP),
            socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0806)),
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0),
            socket.socket(socket.AF_INET, socket.SOCK_STREAM),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM)]
    print(" ".join(str(s.fileno()) for s in held), flush=True)
""")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PY = "/usr/bin/python3"  # readable by nobody


def raws(agent, pid=None):
    return [e for e in agent.events() if get(e, "event.action") == "raw_socket_opened" and
            (pid is None or get(e, "process.pid") == pid)]


def test_check_lists_the_socket_programs():
    p = hw.hopwatch("check")
    check_eq(p.returncode, 0, "hopwatch check: " + p.stdout)
    for prog, section in (("handle_socket_enter", "tp/syscalls/sys_enter_socket"),
                          ("handle_socket_exit", "tp/syscalls/sys_exit_socket")):
        check(any(prog in x and section in x and x.endswith(" ok")
                  for x in p.stdout.splitlines()), "check lists %s on %s: %s"
              % (prog, section, p.stdout))


def test_raw_sockets_reported_others_not():
    with Netns("raw") as ns, Agent("--netns", ns.path) as agent:
        tag = "hw-raw-%s" % hw.RUN_ID
        p = ns.run([PY, "-c", SOCKETS, tag], capture_output=True, text=True)
        check_eq(p.returncode, 0, "the socket program: " + p.stderr)
        fds = [int(x) for x in p.stdout.split()]
        agent.wait_for(lambda e: get(e, "event.action") == "exit" and
                       tag in get(e, "process.args", []), 15)
        pids = {get(e, "process.pid") for e in raws(agent)}
        check_eq(len(pids), 1, "one process opened them: %r" % pids)
        got = [(get(e, "hopwatch.socket.family"), get(e, "hopwatch.socket.type"),
                get(e, "hopwatch.socket.protocol"), get(e, "hopwatch.socket.fd"))
               for e in raws(agent)]
        check_eq(got, [("packet", "raw", 3, fds[0]), ("inet", "raw", 1, fds[1]),
                       ("packet", "dgram", 0x0806, fds[2])],
                 "packet, ICMP raw and cooked packet sockets; no netlink, TCP or UDP")
        for e in raws(agent):
            check_eq(get(e, "event.outcome"), "success", "outcome")
            check_eq(get(e, "user.id"), "0", "the caller's uid")
            check_eq(ecs_schema.validate(e), [], "ECS violations")
    check(agent.fact_checked, "the facts were compared with their lines")


def test_nobody_is_refused():
    """an unprivileged user has no CAP_NET_RAW: the attempt is a fact, with its errno"""
    with Netns("rawn") as ns, Agent("--netns", ns.path) as agent:
        code = ("import socket\ntry:\n socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 768)\n"
                "except PermissionError: print('refused')\n")
        p = ns.run(NOBODY + [PY, "-c", code], capture_output=True, text=True)
        check_eq(p.stdout.strip(), "refused", "nobody's packet socket: " + p.stderr)
        e = agent.wait_for(lambda e: get(e, "event.action") == "raw_socket_opened", 15)
        check_eq(get(e, "user.id"), "65534", "nobody")
        check_eq(get(e, "event.outcome"), "failure", "outcome")
        check_eq(get(e, "error.code"), "EPERM", "errno")
        check(get(e, "hopwatch.socket.fd") is None, "no descriptor")
        check_eq(ecs_schema.validate(e), [], "ECS violations")


def test_nobody_in_a_user_namespace():
    """nobody can take CAP_NET_RAW in a user namespace of its own with a network namespace of
    its own: the packet socket is real (of that namespace), reported with the real uid"""
    with Agent(fmt="text", fact_check=False) as text_agent, Agent() as agent:
        tag = "hw-raw-userns-%s" % hw.RUN_ID
        code = ("import socket,sys\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 768)\n"
                "print('opened', s.fileno())\n")
        p = subprocess.run(NOBODY + ["unshare", "-rn", PY, "-c", code, tag],
                           capture_output=True, text=True, timeout=30)
        if p.returncode and "Operation not permitted" in p.stderr and \
                os.path.exists("/proc/sys/kernel/unprivileged_userns_clone"):
            with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
                check(f.read().strip() == "0", "unshare -rn refused: " + p.stderr)
            return  # user namespaces are off for users here: nothing to see
        check_eq(p.returncode, 0, "unshare -rn as nobody: " + p.stderr)
        e = agent.wait_for(lambda e: get(e, "event.action") == "raw_socket_opened" and
                           tag in get(e, "process.args", []), 15)
        check_eq(get(e, "user.id"), "65534", "the real uid, not the namespace's root")
        check_eq(get(e, "event.outcome"), "success", "outcome")
        check_eq(get(e, "hopwatch.socket.family"), "packet", "family")
        fd = int(p.stdout.split()[1])
        check_eq(get(e, "hopwatch.socket.fd"), fd, "the descriptor")
        for _ in range(50):
            lines = [l for l in text_agent.lines() if " raw_socket_opened " in l and
                     " user=nobody " in l]
            if lines:
                break
            time.sleep(0.1)
        check(lines, "the text line")
        check(" packet/raw protocol=3 fd=%d " % fd in lines[0], "text line: %r" % lines[0])
