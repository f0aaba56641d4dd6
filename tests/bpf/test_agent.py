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
