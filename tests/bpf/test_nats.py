"""The JetStream sink against a real nats-server: every event of a run arrives once and in
order (the stream holds exactly the agent's output lines); a nats-server killed with -9 in the
middle of a busy run and restarted loses nothing and duplicates nothing; an agent stopped with
a non-empty spool delivers it at its next start; a full spool drops the oldest lines, counts
them and says so in an alert."""
import os
import subprocess
import time

import hw
import spool_cursor
from certs import make_certs
from hw import Agent, check, check_eq, get
from natslab import NatsServer, free_port

STORM = os.path.join(hw.ROOT, "build", "storm")


def nats_agent(url, spool, *extra):
    # the full profile: the stream holds exactly the lines the agent writes
    return Agent("--set", "output.nats_url=" + url, "--set", "output.spool_dir=" + spool,
                 "--set", "output.nats_profile=full", *extra)


def check_stream_is(dump, lines, what):
    """The stream holds exactly these lines, in this order, each once, with unique ids."""
    data = [d for _, _, _, d in dump]
    ids = [i for _, _, i, _ in dump]
    check_eq(len(set(ids)), len(ids), "%s: duplicate message ids" % what)
    if data != lines:
        first = next((i for i, (a, b) in enumerate(zip(data, lines)) if a != b),
                     min(len(data), len(lines)))
        raise hw.TestFailure("%s: the stream holds %d lines, the agent wrote %d; first "
                             "difference at %d:\n stream: %s\n agent:  %s"
                             % (what, len(data), len(lines), first,
                                data[first][:200] if first < len(data) else "(end)",
                                lines[first][:200] if first < len(lines) else "(end)"))


def wait_stream(srv, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            d = srv.dump()
            if len(d) >= n:
                return d
        except hw.TestFailure:
            pass  # the agent has not created the stream yet
        time.sleep(0.3)
    return srv.dump()


def test_every_event_arrives_once_in_order():
    spool = hw.tempdir("spool")
    with NatsServer() as srv:
        with nats_agent(srv.url, spool) as agent:
            subprocess.run([STORM, "exec", "300"], check=True, capture_output=True)
            time.sleep(0.5)
        check_eq(agent.rc, 0, "agent exit")
        lines = agent.lines()
        dump = wait_stream(srv, len(lines))
    check(len(lines) > 600, "a busy run: %d lines" % len(lines))
    check_stream_is(dump, lines, "one run")
    host = get(hw.parse_event(lines[0]), "host.name")
    subjects = {s for _, s, _, _ in dump}
    check(subjects <= {"hopwatch.%s.events" % host, "hopwatch.%s.alerts" % host},
          "subjects: %r" % subjects)
    check_eq(get(hw.parse_event(lines[-1]), "hopwatch.agent.spool_dropped"), 0,
             "spool_dropped")
    # the cursor the agent left, as tests/lib/spool_cursor.py reads it (nats_bench.py does):
    # past the last record of the last segment, everything delivered
    d = os.path.join(spool, "nats")
    segs = sorted(f for f in os.listdir(d) if f.startswith("seg-"))
    cur = spool_cursor.read(os.path.join(d, "cursor"))
    check(segs and cur is not None, "segments %r, cursor %r" % (segs, cur))
    check_eq(cur[:2], (int(segs[-1][4:]), os.path.getsize(os.path.join(d, segs[-1]))),
             "the cursor at the end of the last segment")


def test_server_killed_and_restarted_loses_and_repeats_nothing():
    spool = hw.tempdir("spool")
    srv = NatsServer()
    try:
        srv.start()
        with nats_agent(srv.url, spool) as agent:
            storm = subprocess.Popen([STORM, "fork", "4000"], stdout=subprocess.DEVNULL)
            time.sleep(1.0)
            srv.kill9()  # in the middle of the storm
            time.sleep(1.5)
            srv.start()
            storm.wait(120)
            check_eq(storm.returncode, 0, "storm")
            # everything written so far reaches the stream before the agent stops
            wait_stream(srv, len(agent.lines()), timeout=60)
        check_eq(agent.rc, 0, "agent exit")
        lines = agent.lines()
        dump = wait_stream(srv, len(lines))
        check(len(lines) > 8000, "a busy run: %d lines" % len(lines))
        check_stream_is(dump, lines, "kill -9 and restart")
    finally:
        srv.stop()


def test_agent_restart_delivers_its_spool():
    spool = hw.tempdir("spool")
    srv = NatsServer(port=free_port())
    try:
        # the server is down: the first run only spools
        with nats_agent(srv.url, spool) as a1:
            subprocess.run([STORM, "exec", "100"], check=True, capture_output=True)
        check_eq(a1.rc, 0, "first run exit")
        first = a1.lines()
        pending = sum(os.path.getsize(os.path.join(spool, "nats", f))
                      for f in os.listdir(os.path.join(spool, "nats")) if f.startswith("seg-"))
        check(pending > 0, "the first run left its lines in the spool")
        srv.start()
        with nats_agent(srv.url, spool) as a2:
            wait_stream(srv, len(first) + 1, timeout=30)
        check_eq(a2.rc, 0, "second run exit")
        second = a2.lines()
        dump = wait_stream(srv, len(first) + len(second))
        check_stream_is(dump, first + second, "two runs, the first spooled")
    finally:
        srv.stop()


def test_full_spool_drops_the_oldest_and_says_so():
    spool = hw.tempdir("spool")
    url = "nats://127.0.0.1:%d" % free_port()  # nothing listens
    with nats_agent(url, spool, "--set", "output.spool_max=1M") as agent:
        subprocess.run([STORM, "fork", "3000"], check=True, capture_output=True)
        agent.wait_for(lambda e: get(e, "event.action") == "spool-overflow", timeout=90)
    check_eq(agent.rc, 0, "agent exit")
    events = agent.events()
    over = [e for e in events if get(e, "event.action") == "spool-overflow"]
    check_eq(get(over[0], "event.kind"), "alert", "kind")
    check(get(over[0], "hopwatch.alert.count") > 0, "counts what it dropped")
    dropped = get(events[-1], "hopwatch.agent.spool_dropped")
    check(dropped and dropped > 0, "agent-stopped counts the drops: %r" % dropped)
    held = sum(os.path.getsize(os.path.join(spool, "nats", f))
               for f in os.listdir(os.path.join(spool, "nats")) if f.startswith("seg-"))
    check(held <= 1 << 20, "the spool stays within output.spool_max: %d bytes" % held)


def test_mutual_tls():
    """tls:// with the CA and a client certificate: everything arrives; without the client
    certificate the server refuses the agent, which keeps running and keeps its lines."""
    d = hw.tempdir("tls")
    make_certs(d, "IP:127.0.0.1")
    ca, cert, key = (os.path.join(d, f) for f in ("ca.pem", "client.pem", "client.key"))
    with NatsServer(tls_dir=d) as srv:
        spool = hw.tempdir("spool")
        with nats_agent(srv.url, spool, "--set", "output.nats_ca=" + ca,
                        "--set", "output.nats_cert=" + cert,
                        "--set", "output.nats_key=" + key) as agent:
            subprocess.run([STORM, "exec", "50"], check=True, capture_output=True)
        check_eq(agent.rc, 0, "agent exit")
        lines = agent.lines()
        check_stream_is(wait_stream(srv, len(lines)), lines, "mutual TLS")
        before = len(srv.dump())
        spool2 = hw.tempdir("spool")
        with nats_agent(srv.url, spool2, "--set", "output.nats_ca=" + ca) as agent:
            time.sleep(2)
        check_eq(agent.rc, 0, "agent without a client certificate exits cleanly")
        check_eq(len(srv.dump()), before, "nothing accepted without a client certificate")
        held = sum(os.path.getsize(os.path.join(spool2, "nats", f))
                   for f in os.listdir(os.path.join(spool2, "nats")) if f.startswith("seg-"))
        check(held > 0, "its lines wait in the spool")


# --- the spool under attack, and two agents on one spool (issue 11, findings 8, 9, 13) -------

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def spool_run(spool, *extra, url=None):
    """A short agent run whose JetStream sink spools to spool (nothing need listen)."""
    url = url or "nats://127.0.0.1:%d" % free_port()
    return hw.hopwatch("run", "--duration", "1s", "--output", os.devnull,
                       "--set", "output.nats_url=" + url, "--set", "output.spool_dir=" + spool,
                       "--set", "output.nats_profile=full", *extra, timeout=60)


def one_line(p, status, *needles):
    check_eq(p.returncode, status, "exit status: " + p.stderr)
    lines = p.stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % p.stderr)
    for n in needles:
        check(n in lines[0], "the message names %r: %r" % (n, lines[0]))


def test_second_agent_on_a_spool_is_refused():
    """Finding 8: an ad-hoc agent on the service's spool mixed its lines into the other's
    (host B's lines published on host C's subject). The second agent now exits 1 naming the
    spool and the holder's pid, and the stream holds exactly the first agent's lines."""
    spool = hw.tempdir("spool")
    with NatsServer() as srv:
        with nats_agent(srv.url, spool, "--host-name", "hw-host-c") as agent:
            p = spool_run(spool, "--host-name", "hw-host-b", url=srv.url)
            one_line(p, 1, os.path.join(spool, "nats"), "pid %d" % agent.proc.pid,
                     "in use")
            subprocess.run([STORM, "exec", "50"], check=True, capture_output=True)
            time.sleep(0.5)
        check_eq(agent.rc, 0, "the first agent's exit")
        lines = agent.lines()
        dump = wait_stream(srv, len(lines))
    check_stream_is(dump, lines, "the first agent's lines only")
    subjects = {s for _, s, _, _ in dump}
    check(subjects <= {"hopwatch.hw-host-c.events", "hopwatch.hw-host-c.alerts"},
          "no line of the second agent: %r" % subjects)
    # once the first has stopped, the spool is free again
    p = spool_run(spool)
    check_eq(p.returncode, 0, "a later agent on the same spool: " + p.stderr)


def test_spool_planted_by_another_user_is_refused():
    """Finding 9: a spool under a directory nobody can write. fe51dbd followed nobody's
    link to a root-only directory and wrote segments there, and appended records to a
    root-only file through nobody's segment link. Now a link, a directory of another user or
    one others can enter is refused (exit 2, one line) and nothing is written."""
    base = hw.tempdir("attic")
    os.chmod(base, 0o755)
    shared = os.path.join(base, "shared")
    os.mkdir(shared)
    os.chown(shared, 65534, 65534)
    secret_dir = os.path.join(base, "root-only-dir")
    os.mkdir(secret_dir, 0o700)
    victim = os.path.join(base, "root-only")
    with open(victim, "w") as f:
        f.write("secret\n")
    os.chmod(victim, 0o600)
    spool = os.path.join(shared, "spool")
    nobody = lambda *argv: subprocess.run(NOBODY + list(argv), check=True)  # noqa: E731

    # the spool directory is nobody's link to a root-only directory
    nobody("ln", "-s", secret_dir, spool)
    one_line(spool_run(spool), 2, spool, "symbolic link")
    check_eq(os.listdir(secret_dir), [], "nothing written into the link's target")
    nobody("rm", spool)
    # nobody's own spool, a segment in it linked to a root-only file
    nobody("mkdir", "-p", "-m", "0777", spool + "/nats")
    nobody("ln", "-s", victim, spool + "/nats/seg-0000000000000001")
    one_line(spool_run(spool), 2, spool, "uid 65534")
    with open(victim) as f:
        check_eq(f.read(), "secret\n", "the root-only file behind nobody's segment link")
    nobody("rm", "-r", spool)
    # root's, but others may enter it
    os.mkdir(spool, 0o755)
    os.chmod(spool, 0o755)
    one_line(spool_run(spool), 2, spool, "mode 0755")
    os.rmdir(spool)
    # the sink's directory inside a good spool_dir, a link
    os.mkdir(spool, 0o700)
    os.symlink(secret_dir, os.path.join(spool, "nats"))
    one_line(spool_run(spool), 2, os.path.join(spool, "nats"), "symbolic link")
    check_eq(os.listdir(secret_dir), [], "nothing written into the link's target")


def test_spool_directories_made_with_the_package_modes():
    """Finding 13: an agent run before the package made /var/lib/hopwatch 0755 (mkdir -p
    under the umask). The agent now makes the spool's parent 0750, the ones above 0755 and
    the spool 0700, whatever the umask (0 here)."""
    base = hw.tempdir("modes")
    spool = os.path.join(base, "var", "lib", "hopwatch", "spool")
    p = subprocess.run([hw.BIN, "run", "--duration", "1s", "--output", os.devnull,
                        "--set", "output.nats_url=nats://127.0.0.1:%d" % free_port(),
                        "--set", "output.spool_dir=" + spool], capture_output=True, text=True,
                       timeout=60, preexec_fn=lambda: os.umask(0))
    check_eq(p.returncode, 0, "agent run: " + p.stderr)
    for path, mode in ((os.path.join(base, "var"), 0o755),
                       (os.path.join(base, "var", "lib"), 0o755),
                       (os.path.join(base, "var", "lib", "hopwatch"), 0o750),
                       (spool, 0o700), (os.path.join(spool, "nats"), 0o700)):
        st = os.lstat(path)
        check_eq(oct(st.st_mode & 0o7777), oct(mode), "mode of " + path)
        check_eq(st.st_uid, 0, "owner of " + path)
