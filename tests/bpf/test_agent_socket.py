"""agent_socket_used on the real kernel (bpf/unix.bpf.c): `hopwatch check` lists the bind and
connect programs; a unix socket bound by a root-owned executable named sshd is followed and a
connect to it is reported with the socket, its owner and the caller, also through a symbolic
link; sockets an unprivileged user binds under the name sshd are not followed, whether it
renamed a root-owned interpreter (prctl PR_SET_NAME) or runs its own copy named sshd; ordinary
unix connects are not reported; a client spinning on connect() while the socket is bound is
reported on its first success (no window between bind and the map); -o ocsf writes the use as a Base Event that conforms."""
import os
import shutil
import subprocess
import textwrap
import time

import ecs_schema
import hw
import ocsf_schema
from hw import Agent, Netns, check, check_eq, get

# argv: PATH NAME: binds PATH (after naming itself NAME when NAME is set), takes one client
SERVER = textwrap.dedent("""
    import ctypes, os, socket, sys
    if sys.argv[2]:
        ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)  # PR_SET_NAME
    s = socket.socket(socket.AF_UNIX)
    s.bind(sys.argv[1])
    os.chmod(sys.argv[1], 0o777)
    s.listen(4)
    print("ready", flush=True)
    c, _ = s.accept()
    c.recv(1)
""")
CLIENT = textwrap.dedent("""
    import socket, sys
    for p in sys.argv[1:-1]:
        c = socket.socket(socket.AF_UNIX)
        c.connect(p)
        c.send(b"x")
        c.close()
""")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PY = "/usr/bin/python3"


def uses(agent):
    return [e for e in agent.events() if get(e, "event.action") == "agent_socket_used"]


def test_check_lists_the_unix_programs():
    p = hw.hopwatch("check")
    check_eq(p.returncode, 0, "hopwatch check: " + p.stdout)
    for prog, section in (("handle_unix_bind_enter", "tp/syscalls/sys_enter_bind"),
                          ("handle_unix_bind_exit", "tp/syscalls/sys_exit_bind"),
                          # the connect side runs in net.bpf.c's connect programs
                          ("handle_connect_enter", "tp/syscalls/sys_enter_connect"),
                          ("handle_connect_exit", "tp/syscalls/sys_exit_connect")):
        check(any(prog in x and section in x and x.endswith(" ok")
                  for x in p.stdout.splitlines()), "check lists %s on %s: %s"
              % (prog, section, p.stdout))


def test_only_a_root_owned_sshd_binds_what_is_followed():
    d = hw.tempdir("unixsock")
    os.chmod(d, 0o755)
    mine = os.path.join(d, "nobody")
    os.mkdir(mine)
    os.chown(mine, 65534, 65534)
    real = os.path.join(d, "sshd")  # root's file named sshd: what the kernel accepts
    shutil.copy(PY, real)
    fake = os.path.join(mine, "sshd")  # nobody's own copy, named sshd
    shutil.copy(PY, fake)
    os.chown(fake, 65534, 65534)
    paths = {k: os.path.join(mine, "agent.%s" % k) for k in ("real", "renamed", "copy")}
    cmds = {"real": NOBODY + [real, "-c", SERVER, paths["real"], ""],
            "renamed": NOBODY + [PY, "-c", SERVER, paths["renamed"], "sshd"],
            "copy": NOBODY + [fake, "-c", SERVER, paths["copy"], ""]}
    link = os.path.join(d, "link")
    os.symlink(paths["real"], link)
    tag = "hw-unix-%s" % hw.RUN_ID
    with Netns("unix") as ns, Agent("--netns", ns.path) as agent, \
            Agent("--netns", ns.path, fmt="ocsf", fact_check=False) as oagent:
        servers = {}
        try:
            for k, argv in cmds.items():
                servers[k] = ns.popen(argv, stdout=subprocess.PIPE, text=True)
                check_eq(servers[k].stdout.readline().strip(), "ready", "server %s" % k)
            # the real one twice (its path, then the link: one server takes one client each
            # time, so the link's connect goes to a second accept of the same socket)
            r = ns.run([PY, "-c", CLIENT, paths["renamed"], paths["copy"], link, tag],
                       capture_output=True, text=True, timeout=20)
            check_eq(r.returncode, 0, "the client: " + r.stderr)
            for k in ("renamed", "copy", "real"):
                servers[k].wait(timeout=10)
            agent.wait_for(lambda e: get(e, "event.action") == "exit" and
                           tag in get(e, "process.args", []), 15)
        finally:
            for p in servers.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
    got = uses(agent)
    check_eq(len(got), 1, "one use, of the root-owned sshd's socket: %r" % [
        get(e, "hopwatch.agent_socket.path") for e in got])
    e = got[0]
    check_eq(get(e, "hopwatch.agent_socket.path"), paths["real"], "the bound name")
    check_eq(get(e, "hopwatch.agent_socket.connected_path"), link, "the name used")
    check_eq(int(get(e, "hopwatch.agent_socket.inode")), os.stat(paths["real"]).st_ino,
             "the socket file's inode")
    check_eq(get(e, "hopwatch.agent_socket.owner.user.id"), "65534", "the binder's uid")
    check_eq(get(e, "hopwatch.agent_socket.owner.pid"), servers["real"].pid, "the binder")
    check_eq(get(e, "user.id"), "0", "the caller")
    check(tag in get(e, "process.args"), "the caller's args")
    check_eq(ecs_schema.validate(e), [], "ECS violations")
    check(agent.fact_checked, "the facts were compared with their lines")
    # -o ocsf: a Base Event with the fields in unmapped (no OCSF class has a unix endpoint)
    lines = [x for x in oagent.lines() if '"agent_socket_used"' in x]
    check_eq(len(lines), 1, "one OCSF line of the use")
    check_eq(ocsf_schema.validate_lines(lines, "agent_socket_used"), [], "OCSF violations")
    o = hw.parse_event(lines[0])
    check_eq((o.get("class_uid"), o.get("activity_id"), o.get("activity_name")),
             (0, 99, "agent_socket_used"), "a Base Event")
    check(paths["real"] in lines[0], "the socket's path kept in unmapped")


# argv: PATH TAG: connects to PATH as soon as it can (started before the server binds it)
RACER = textwrap.dedent("""
    import socket, sys, time
    end = time.time() + 10
    while time.time() < end:
        c = socket.socket(socket.AF_UNIX)
        try:
            c.connect(sys.argv[1])
        except OSError:
            c.close()
            continue
        c.send(b"x")
        print("connected", flush=True)
        break
""")


def test_a_connect_racing_the_bind_is_reported():
    """the socket is in the kernel's map when bind() returns, before listen(): the first
    connect that can succeed at all is reported, however close behind the bind it comes"""
    d = hw.tempdir("unixrace")
    os.chmod(d, 0o755)
    real = os.path.join(d, "sshd")
    shutil.copy(PY, real)
    path = os.path.join(d, "agent.race")
    tag = "hw-unix-race-%s" % hw.RUN_ID
    with Netns("unixr") as ns, Agent("--netns", ns.path) as agent:
        racer = ns.popen([PY, "-c", RACER, path, tag], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)  # the racer is spinning on connect
            server = ns.popen([real, "-c", SERVER, path, ""], stdout=subprocess.PIPE,
                              text=True)
            check_eq(racer.stdout.readline().strip(), "connected", "the racer connected")
            server.wait(timeout=10)
            racer.wait(timeout=10)
            agent.wait_for(lambda e: get(e, "event.action") == "exit" and
                           tag in get(e, "process.args", []), 15)
        finally:
            for p in (racer, locals().get("server")):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
        got = [e for e in uses(agent) if get(e, "hopwatch.agent_socket.path") == path]
        check_eq(len(got), 1, "the racer's connect reported")
        check(tag in get(got[0], "process.args"), "by the racer")


# argv: DIR N: binds N unix sockets in DIR and holds them until its stdin closes
FLOOD = textwrap.dedent("""
    import os, resource, socket, sys
    n = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    held = []
    for i in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(sys.argv[1], "f%d" % i))
        held.append(s)
    print("bound", len(held), flush=True)
    sys.stdin.read()
""")


def test_a_flood_of_sshd_sockets_pushes_no_live_one_out():
    """More sshd-bound sockets than the kernel's map holds (a user opening ssh -A sessions
    by the thousand, or years of them on a bastion): the live session's socket bound before
    them is still followed (an LRU map dropped it at 8192), the binds past the map's size are
    counted, not made room for; and once the flood's owner has exited, the first bind that
    finds the map full makes the agent sweep the dead entries out within a second, and a new
    session's socket is followed again (with only the 10 s sweep: 9.8 s)."""
    n = 17000
    d = hw.tempdir("unixflood")
    os.chmod(d, 0o755)
    real = os.path.join(d, "sshd")
    shutil.copy(PY, real)
    flood_dir = os.path.join(d, "flood")
    os.mkdir(flood_dir)
    victim = os.path.join(d, "agent.victim")
    tag = "hw-unix-flood-%s" % hw.RUN_ID
    procs = []

    def serve(path):
        p = ns.popen([real, "-c", SERVER, path, ""], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        check_eq(p.stdout.readline().strip(), "ready", "server on " + path)
        return p

    def connect(path):
        r = ns.run([PY, "-c", CLIENT, path, tag], capture_output=True, text=True, timeout=20)
        check_eq(r.returncode, 0, "the client: " + r.stderr)

    def used(path, timeout):
        try:
            return agent.wait_for(lambda e: get(e, "event.action") == "agent_socket_used" and
                                  get(e, "hopwatch.agent_socket.path") == path, timeout)
        except hw.TestFailure:
            return None

    with Netns("unixf") as ns, Agent("--netns", ns.path) as agent:
        try:
            serve(victim)
            flood = ns.popen([real, "-c", FLOOD, flood_dir, str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
            procs.append(flood)
            check_eq(flood.stdout.readline().split(), ["bound", str(n)], "the flood")
            # the binds past the map's size made the agent sweep within a second: the live
            # sockets (the victim's, the flood's) must have stayed through it
            time.sleep(2.5)
            connect(victim)
            check(used(victim, 15), "the victim's socket, bound before %d others, followed" % n)
            flood.stdin.close()
            flood.wait(timeout=30)
            # the map is full of the dead flood's sockets: the first new bind finds no room
            # and makes the agent sweep within a second (not at its next 10 s round)
            start, seen = time.time(), None
            for i in range(40):
                path = os.path.join(d, "agent.after%d" % i)
                serve(path)
                connect(path)
                if used(path, 1.5):
                    seen = time.time() - start
                    break
            check(seen is not None, "no new session's socket followed %.0f s after the flood "
                  "ended: the dead entries were not swept out" % (time.time() - start))
            print("     a new socket followed %.1f s after the flood's owner exited" % seen)
            check(seen < 6, "a full map swept at once: %.1f s" % seen)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
