"""The agent's lifecycle and outputs: start/stop lines, signals, --duration, text, files,
SIGHUP reopen, hopwatch check, the static binary, bounded memory under a fork storm."""
import json
import os
import re
import signal
import subprocess
import time

import hw
from hw import Agent, check, check_eq, get

TRUE = os.path.realpath("/bin/true")


def test_duration_stops_cleanly():
    d = hw.tempdir("dur")
    out = os.path.join(d, "e.json")
    t0 = time.time()
    p = hw.hopwatch("run", "--duration", "1500ms", "--output", out, timeout=60)
    took = time.time() - t0
    check_eq(p.returncode, 0, "exit code after --duration")
    check_eq(p.stderr, "", "nothing on stderr")
    check(1.4 <= took < 20, "stopped after about 1.5s (took %.1fs)" % took)
    with open(out) as f:
        lines = [hw.parse_event(x) for x in f]
    check_eq(get(lines[0], "event.action"), "agent-started", "first line")
    check_eq(get(lines[-1], "event.action"), "agent-stopped", "last line")
    stopped = lines[-1]
    check_eq(get(stopped, "hopwatch.agent.events"), len(lines) - 1,
             "events counts every line before agent-stopped")
    for k in ("drops", "errors", "decode_errors", "lost_output"):
        check_eq(get(stopped, "hopwatch.agent." + k), 0, k)
    check_eq(get(stopped, "hopwatch.agent.alerts"), 0, "alerts")


def test_sigterm_drains_and_exits_zero():
    with Agent() as agent:
        p = subprocess.Popen([TRUE, "last-before-stop"])
        p.wait()
        rc = agent.stop(signal.SIGTERM)
    check_eq(rc, 0, "exit code after SIGTERM")
    events = agent.events()
    check(any(get(e, "process.pid") == p.pid and get(e, "event.action") == "exec"
              for e in events), "an exec just before the signal is drained, not lost")
    check_eq(get(events[-1], "event.action"), "agent-stopped", "last line")


def test_agent_does_not_trace_itself():
    with Agent() as agent:
        time.sleep(0.5)
        apid = agent.proc.pid
    events = agent.events()
    check(not [e for e in events if get(e, "process.pid") == apid],
          "no event of the agent's own pid")
    check_eq(get(events[0], "hopwatch.agent.pid"), apid, "agent-started names its pid")


def test_text_output():
    with Agent(fmt="text") as agent:
        p = subprocess.Popen([TRUE, "text-mode", "two words"])
        p.wait()
        time.sleep(0.3)
    lines = agent.lines()
    check(" agent-started " in lines[0], "first text line: %r" % lines[0])
    check(" agent-stopped " in lines[-1], "last text line: %r" % lines[-1])
    mine = [x for x in lines if " exec " in x and "pid=%d " % p.pid in x]
    check_eq(len(mine), 1, "one exec line for the child")
    check(mine[0].endswith('%s text-mode "two words"' % TRUE), "readable args: %r" % mine[0])


def test_output_file_reopened_on_sighup():
    with Agent() as agent:
        rotated = agent.path + ".1"
        os.rename(agent.path, rotated)
        agent.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        p = subprocess.Popen([TRUE, "after-rotate"])
        p.wait()
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(agent.path):
            time.sleep(0.1)
        agent.wait_for(lambda e: get(e, "process.pid") == p.pid
                       and get(e, "event.action") == "exec")
    check_eq(agent.rc, 0, "exit code")
    with open(rotated) as f:
        old = [hw.parse_event(x) for x in f]
    check_eq(get(old[0], "event.action"), "agent-started", "the rotated file has the start")
    check(not [e for e in old if get(e, "process.pid") == p.pid], "new events not in old file")


def test_check_command():
    p = hw.hopwatch("check")
    check_eq(p.returncode, 0, "hopwatch check exit code: " + p.stdout)
    for prog in ("handle_exec", "handle_fork", "handle_exit"):
        check(any(prog in x and x.endswith(" ok") for x in p.stdout.splitlines()),
              "check reports %s ok" % prog)
    check("would work" in p.stdout, "check gives a verdict")
    # every program with the instructions the verifier walked (tests/kernels prints them per
    # kernel), and nothing degraded on a kernel of 5.12 or later
    progs = [x for x in p.stdout.splitlines() if x.startswith("program:")]
    check(progs and all(re.search(r" [1-9]\d* insns  ok$", x) for x in progs),
          "check gives each program's verified instruction count: " + p.stdout)
    release = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())
    if release >= (5, 12):
        check("degraded:   none\n" in p.stdout, "nothing degraded: " + p.stdout)


def test_static_binary():
    check(os.path.exists(hw.STATIC_BIN), "make static built build/hopwatch-static")
    p = subprocess.run(["ldd", hw.STATIC_BIN], capture_output=True, text=True)
    check("not a dynamic executable" in (p.stdout + p.stderr), "ldd: " + p.stdout + p.stderr)
    p = hw.hopwatch("check", binary=hw.STATIC_BIN)
    check_eq(p.returncode, 0, "static check: " + p.stdout)
    with Agent(binary=hw.STATIC_BIN) as agent:
        q = subprocess.Popen([TRUE, "static-run"])
        q.wait()
        agent.wait_for(lambda e: get(e, "process.pid") == q.pid
                       and get(e, "event.action") == "exit")
    ex = [e for e in agent.events() if get(e, "process.pid") == q.pid
          and get(e, "event.action") == "exec"]
    check_eq(get(ex[0], "process.args"), [TRUE, "static-run"], "static binary traces")
    check_eq(get(ex[0], "user.name"), "root", "user names resolve without NSS")


def test_memory_bounded_under_fork_storm():
    n = 5000
    with Agent("--set", "agent.proc_table_max=1024") as agent:
        storm = subprocess.Popen([os.path.join(hw.ROOT, "build", "storm"), "fork", str(n)],
                                 stdout=subprocess.DEVNULL)
        storm.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == storm.pid, timeout=30)
        with open("/proc/%d/status" % agent.proc.pid) as f:
            hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0]
    forks = [e for e in agent.events() if get(e, "event.action") == "fork"
             and get(e, "process.parent.pid") == storm.pid]
    check_eq(len(forks), n, "every fork reported")
    check(hwm < 40 * 1024, "agent peak RSS %d KiB under 40 MiB" % hwm)


# --- files under attack, a full disk, a closed pipe (issue 11, findings 9-11) ---------------

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_nobody(*argv):
    subprocess.run(NOBODY + list(argv), check=True)


def attic():
    """A directory another user (nobody) can write, on the output's path, and a root-only
    file the attacker wants the agent to write to."""
    d = hw.tempdir("attic")
    os.chmod(d, 0o755)
    shared = os.path.join(d, "shared")
    os.mkdir(shared)
    os.chown(shared, 65534, 65534)
    victim = os.path.join(d, "root-only")
    with open(victim, "w") as f:
        f.write("secret\n")
    os.chmod(victim, 0o600)
    return shared, victim


def expect_refused(argv, status, *needles):
    p = hw.hopwatch(*argv, timeout=60)
    check_eq(p.returncode, status, "exit status of %r: %s" % (argv, p.stderr))
    lines = p.stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % p.stderr)
    for n in needles:
        check(n in lines[0], "the message names %r: %r" % (n, lines[0]))
    return lines[0]


def test_output_planted_by_another_user_is_refused():
    """Finding 9: nobody plants a link (or a file of their own) where root's agent will
    write; the agent refuses (exit 2) and the root-only file is untouched. fe51dbd appended
    its events to the link's target."""
    shared, victim = attic()
    out = os.path.join(shared, "events.ndjson")
    for opt in ("--output", "--record"):
        as_nobody("ln", "-s", victim, out)
        argv = ["run", "--duration", "1s", "--output", os.devnull]
        argv = argv[:-2] + [opt, out] if opt == "--output" else argv + [opt, out]
        expect_refused(argv, 2, out, "symbolic link")
        with open(victim) as f:
            check_eq(f.read(), "secret\n", "the link's target after %s" % opt)
        as_nobody("rm", out)
        as_nobody("touch", out)
        argv[argv.index(out)] = out
        expect_refused(argv, 2, out, "uid 65534")
        check_eq(os.path.getsize(out), 0, "nobody's file was not written (%s)" % opt)
        as_nobody("rm", out)


def test_full_disk_counts_every_lost_line():
    """Finding 10: the output on a small tmpfs, filled for a while then freed. fe51dbd: exit
    0, lost_output 0, and a line spliced from two events. Now every line in the file is
    whole, output-resumed and agent-stopped count what was lost, the identity written =
    events + alerts - lost holds, tracing went on (the events after the outage are there),
    and the exit status is 1 with one line."""
    d = hw.tempdir("full")
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", mnt],
                   check=True)
    agent = None
    try:
        out = os.path.join(mnt, "events.ndjson")
        err = open(os.path.join(d, "stderr"), "w+")
        agent = subprocess.Popen([hw.BIN, "run", "-o", "json", "--output", out],
                                 stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.time() + 30
        while time.time() < deadline and not (os.path.exists(out) and os.path.getsize(out)):
            time.sleep(0.05)
        check(os.path.getsize(out) > 0, "the agent started")
        fd = os.open(os.path.join(mnt, "fill"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # full
        finally:
            os.close(fd)
        for i in range(300):
            subprocess.run([TRUE, "during-outage-%d" % i])
        time.sleep(1.0)
        os.unlink(os.path.join(mnt, "fill"))
        after = []
        for i in range(20):
            q = subprocess.Popen([TRUE, "after-outage-%d" % i])
            q.wait()
            after.append(q.pid)
        time.sleep(1.0)
        agent.send_signal(signal.SIGINT)
        rc = agent.wait(30)
        agent = None
        err.seek(0)
        stderr = err.read()
        with open(out, "rb") as f:
            data = f.read()
    finally:
        if agent is not None:
            agent.kill()
            agent.wait()
        subprocess.run(["umount", mnt])
    check(data.endswith(b"\n"), "the file ends with a whole line")
    events = [hw.parse_event(x) for x in data.decode().splitlines()]  # each line whole
    resumed = [e for e in events if get(e, "event.action") == "output-resumed"]
    check(resumed, "an output-resumed event")
    # one outage, unless the machine is so busy that the agent fills the rest itself
    lost = sum(get(e, "hopwatch.output.lost") for e in resumed)
    check(lost > 100, "output-resumed counts the lost lines: %r" % lost)
    check_eq(get(resumed[0], "hopwatch.output.name"), out, "output-resumed names the file")
    check_eq(get(resumed[0], "hopwatch.output.error"), os.strerror(28), "and the error")
    stopped = events[-1]
    check_eq(get(stopped, "event.action"), "agent-stopped", "last line")
    check_eq(get(stopped, "hopwatch.agent.lost_output"), lost, "agent-stopped lost_output")
    check_eq(get(stopped, "hopwatch.agent.events") + get(stopped, "hopwatch.agent.alerts")
             - lost, len(events) - 1, "lines written = events + alerts - lost")
    seen = {get(e, "process.pid") for e in events if get(e, "event.action") == "exec"}
    check(set(after) <= seen, "tracing went on: the execs after the outage are written")
    check_eq(rc, 1, "exit status after lost lines")
    lines = stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % stderr)
    check("%d lines could not be written" % lost in lines[0] and out in lines[0]
          and os.strerror(28) in lines[0], "the line says so: %r" % lines[0])


def test_closed_stdout_ends_the_run():
    """Finding 11: `hopwatch run | head -1` ran until killed (fe51dbd); now the agent sees
    its reader gone within a poll round and exits 0, quietly."""
    p = subprocess.Popen([hw.BIN, "run", "-o", "json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        first = p.stdout.readline()
        check_eq(get(hw.parse_event(first), "event.action"), "agent-started", "first line")
        p.stdout.close()  # head -1 exits
        t0 = time.time()
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            raise hw.TestFailure("still running 10s after standard output was closed")
        took = time.time() - t0
        check_eq(rc, 0, "exit status")
        check(took < 3, "stopped promptly (%.1fs)" % took)
        check_eq(p.stderr.read(), b"", "nothing on stderr")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    # and through a shell pipe, as a user types it (pipefail: the agent's status)
    t0 = time.time()
    q = subprocess.run(["bash", "-c", "set -o pipefail; '%s' run | head -1 >/dev/null"
                        % hw.BIN], capture_output=True, text=True, timeout=30)
    check_eq(q.returncode, 0, "the agent's exit status in 'hopwatch run | head -1'")
    check(time.time() - t0 < 10, "the pipeline ended promptly")
