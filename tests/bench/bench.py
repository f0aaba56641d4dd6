#!/usr/bin/env python3
"""make bench: what hopwatch costs the programs it watches.

Runs a load generator (tests/bench/storm.c: exec, fork and TCP connect storms) without and
with the agent, interleaved, and reports what docs/DESIGN.md "Performance rules" asks for:
wall-time ratio agent/none median [min-max], a none-vs-none noise check taken in the same
run, added us per operation, agent CPU per event, peak RSS, drops, and events received vs
expected (exact).
docs/benchmarks.md explains the protocol and how to read the output.

Needs root (the agent loads BPF programs). Python 3 standard library only. Exits 0 when
every expected event arrived and the agent dropped nothing, 1 otherwise (everything is
still printed), 2 on bad usage.
"""

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
OUTDIR = os.path.join(BUILD, "bench")
STORM_SRC = os.path.join(ROOT, "tests", "bench", "storm.c")
STORM = os.path.join(BUILD, "storm")  # the Makefile's `make build/storm`, shared with tests
FLOOR_SRC = os.path.join(ROOT, "tests", "bench", "floor.c")
FLOOR = os.path.join(BUILD, "floor")  # `make build/floor`: the machine's floor, no agent
FLOOR_SECONDS = 3  # each of its two phases
FLOOR_RUNS = 3
POLL_MS = 50  # agent.poll_interval's default (docs/configuration.md)
AGENT = os.path.join(BUILD, "hopwatch")
TRUE_EXE = "/usr/bin/true"  # what /bin/true resolves to on Debian 12 (merged /usr)

SCENARIOS = ("exec", "fork", "connect", "files")
DESCR = {
    "exec": "fork+execve /bin/true + waitpid",
    "fork": "fork+_exit + waitpid",
    "connect": "TCP connect+accept on 127.0.0.1, 1 byte, close both",
    "files": "open(O_CREAT|O_WRONLY)+close of a new file under /tmp (outside the watch set)",
}
# Defaults sized for the 2-vCPU development VMs (see docs/benchmarks.md): a full run of all
# three scenarios takes 26-30 minutes there, 22-25 of them the exec storm alone (exec
# N >= 20000 and 7 rounds are a floor; fork and connect are sized to add only minutes).
FULL = {"exec": 20000, "fork": 5000, "connect": 50000, "files": 100000, "rounds": 7,
        "replay": 200000}
QUICK = {"exec": 2000, "fork": 2000, "connect": 5000, "files": 100000, "rounds": 3,
         "replay": 20000}
# Rough cost of one operation without the agent on those VMs, in seconds, and the agent
# run's wall time over a run without it: only for the run-time estimate printed at start.
OP_COST = {"exec": 3.3e-3, "fork": 0.9e-3, "connect": 65e-6, "files": 8e-6}
AGENT_FACTOR = {"exec": 1.1, "fork": 1.1, "connect": 1.1, "files": 1.02}
RUN_OVERHEAD = 0.7  # s per run besides the storm: storm start, sync + settle
AGENT_OVERHEAD = 1.5  # s more per agent run: start-up to agent-started, drain, exit
VARIANTS = ("none", "none2", "agent")
# programs that trace what the storm does; one running besides our agent skews every variant
TRACERS = {"hopwatch", "bpftrace", "auditd", "falco", "tetragon", "tracee", "execsnoop",
           "execsnoop-bpfcc", "sysdig"}
START_TIMEOUT = 60.0  # seconds for the agent to write agent-started
STOP_TIMEOUT = 120.0  # seconds for the agent to drain and exit after SIGINT


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers


def build_storm():
    """Compile build/storm and build/floor as `make build/storm build/floor` do, each unless it
    is newer than its source."""
    os.makedirs(OUTDIR, exist_ok=True)
    for out, src in ((STORM, STORM_SRC), (FLOOR, FLOOR_SRC)):
        if os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(src):
            continue
        cc = os.environ.get("CC", "cc")
        cmd = [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src]
        log("bench: " + " ".join(cmd))
        subprocess.run(cmd, check=True)


def run_floor(runner, rate, line_bytes):
    """The machine's floor at this storm's pace (tests/bench/floor.c): CPU per event of the
    poll loop's wake-ups alone, and of those writing the events' lines, next to the agent's
    output file; FLOOR_RUNS runs, each {"wake_us", "write_us"}."""
    runs = []
    for _ in range(FLOOR_RUNS):
        path = runner.tmp("floor", "out")
        p = subprocess.run([FLOOR, str(max(int(rate), 1)), str(FLOOR_SECONDS),
                            str(max(int(line_bytes), 2)), str(POLL_MS), path],
                           capture_output=True, text=True)
        runner.remove(path)
        fields = dict(kv.split("=", 1) for kv in p.stdout.split() if "=" in kv)
        if p.returncode != 0 or "wake_us" not in fields or "write_us" not in fields:
            raise BenchError(f"floor failed (exit {p.returncode}): {p.stdout.strip()} "
                             f"{p.stderr.strip()}")
        runs.append({"wake_us": float(fields["wake_us"]), "write_us": float(fields["write_us"])})
    return runs


def proc_cpu_seconds(pid):
    """utime+stime of a whole process (all threads) from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_run_seconds(pid):
    """CPU time of the live threads of a process, from their schedstat (nanoseconds, where
    /proc/PID/stat counts clock ticks of 10 ms): two readings with no thread ended between
    them give the CPU between them exactly."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def proc_hwm_kib(pid):
    """VmHWM (peak resident set) of a process, in KiB; 0 once it has exited. (Not the
    rusage's ru_maxrss: that also holds the peak of the process before its execve, this
    Python forked, tens of MiB after a files storm.)"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def hwm_watcher(pid, name):
    """A thread that keeps the latest VmHWM of pid in the returned dict's "kib" until it exits;
    counted once the process is the program name (its comm: the forked Python's before)."""
    import threading
    seen = {"kib": 0}

    def run():
        while True:
            try:  # the forked Python's peak until the execve: not counted
                with open(f"/proc/{pid}/comm") as f:
                    execed = f.read().strip() == os.path.basename(name)[:15]
            except OSError:
                return
            k = proc_hwm_kib(pid) if execed else -1
            if k < 0:
                time.sleep(0.001)
                continue
            if not k:
                return
            seen["kib"] = max(seen["kib"], k)
            time.sleep(0.005)
    threading.Thread(target=run, daemon=True).start()
    return seen


def machine_busy_seconds():
    """user+nice+system+irq+softirq of all CPUs from /proc/stat, in seconds (steal excluded)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")


def other_tracers(own_agent=None):
    """Pids of tracers (another hopwatch, bpftrace, ...) running besides our own agent."""
    found = set()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == own_agent:
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in TRACERS:
            found.add(f"{comm}:{d}")
    return found


def first_line(path):
    """The first complete line of a file, or None."""
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except FileNotFoundError:
        return None
    return line if line.endswith(b"\n") else None


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).strip()
    except OSError:
        return ""


def median(xs):
    return statistics.median(xs) if xs else float("nan")


BPF_STATS = None  # the fd that keeps the kernel's BPF run-time statistics on


def enable_bpf_stats():
    """Turns on the kernel's run-time statistics of BPF programs (BPF_ENABLE_STATS: on while
    the returned fd is open, off again when this process exits), or returns None where the
    kernel refuses. The agent's programs then count run_cnt and run_time_ns (two clock reads
    a run, part of what the agent run measures)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(16)  # union bpf_attr: enable_stats.type = 0 (run time)
    nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
    if nr is None:
        return None
    fd = libc.syscall(nr, 32, attr, 16)  # BPF_ENABLE_STATS
    if fd < 0:
        return None
    os.set_inheritable(fd, False)  # not held open by the agents and storms started here
    return fd


def bpf_run_totals(pid):
    """Sum of run_time_ns and run_cnt over the BPF programs pid holds, from /proc/PID/fdinfo
    (each program once, by prog_id; links repeat their program's id)."""
    seen = {}
    d = f"/proc/{pid}/fdinfo"
    try:
        names = os.listdir(d)
    except OSError:
        return 0, 0
    for name in names:
        try:
            with open(os.path.join(d, name)) as f:
                info = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        except OSError:
            continue
        if "prog_tag" not in info or "run_time_ns" not in info:
            continue
        seen[info["prog_id"].strip()] = (int(info["run_time_ns"]), int(info["run_cnt"]))
    return sum(v[0] for v in seen.values()), sum(v[1] for v in seen.values())


def wait_quiet(path, pid, settle=0.25, limit=5.0):
    """Waits until the agent's output file and CPU time have stopped growing for settle
    seconds (its ring buffer drained), at most limit seconds."""
    t0 = time.monotonic()
    last = None
    quiet_since = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            cur = (os.path.getsize(path), proc_cpu_seconds(pid))
        except OSError:
            return
        if cur != last:
            last, quiet_since = cur, time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            return
        time.sleep(0.05)


# ---------------------------------------------------------------- runs


class Runner:
    """Starts storms and agents, and ends whatever is still running, by pid."""

    def __init__(self, agent, keep):
        self.agent = agent
        self.keep = keep
        self.seq = 0
        self.storm = None  # Popen of the storm running now
        self.agent_proc = None  # Popen of the agent running now
        self.files = []
        self.storm_dirs = []  # directories the files storm left

    def remove_storm_dir(self):
        """Removes the files storm's directories (outside the timed loop and the measures)."""
        while self.storm_dirs:
            shutil.rmtree(self.storm_dirs.pop(), ignore_errors=True)

    def tmp(self, tag, ext):
        self.seq += 1
        path = os.path.join(OUTDIR, f"run-{os.getpid()}-{self.seq:03d}-{tag}.{ext}")
        self.files.append(path)
        return path

    def remove(self, path):
        if not self.keep:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def run_storm(self, kind, n, agent_pid=None, keep_dir=False):
        """One storm; returns its pid, loop seconds, CPU and what else ran meanwhile. The
        files storm's files are removed here, or (keep_dir) left for the caller to remove
        with remove_storm_dir once it has measured: their unlinks are not the storm's."""
        tracers = other_tracers(agent_pid)
        busy0 = machine_busy_seconds()
        self.storm = subprocess.Popen(
            [STORM, kind, str(n)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=dict(os.environ, HW_STORM_KEEP="1"))
        pid = self.storm.pid
        out = self.storm.stdout.read()
        err = self.storm.stderr.read()
        _, status, ru = os.wait4(pid, 0)
        self.storm.returncode = rc = os.waitstatus_to_exitcode(status)
        self.storm.stdout.close()
        self.storm.stderr.close()
        self.storm = None
        busy1 = machine_busy_seconds()
        tracers |= other_tracers(agent_pid)
        fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
        if fields.get("dir"):
            self.storm_dirs.append(fields["dir"])
        if (rc != 0 or int(fields.get("pid", -1)) != pid or "elapsed" not in fields
                or (kind == "connect" and "port" not in fields)
                or (kind == "files" and "dir" not in fields)):
            raise BenchError(f"storm {kind} {n} failed (exit {rc}): {out.strip()} {err.strip()}")
        if not keep_dir:
            self.remove_storm_dir()
        return {
            "pid": pid,
            "elapsed": float(fields["elapsed"]),
            # connect: the listener's port, which every connection of the storm goes to
            "port": int(fields["port"]) if "port" in fields else None,
            # the storm and its children (waited for), user+system
            "storm_cpu_s": ru.ru_utime + ru.ru_stime,
            # user+system of the whole machine over the storm's lifetime
            "machine_busy_s": busy1 - busy0,
            "other_tracers": sorted(tracers),
        }

    def run_agent(self, kind, n, tag):
        """Agent started and ready, one storm, agent stopped; returns the measurements."""
        out = self.tmp(tag, "ndjson")
        errpath = self.tmp(tag, "stderr")
        with open(errpath, "wb") as errf:
            self.agent_proc = subprocess.Popen(
                [self.agent, "run", "--output", out], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=errf)
        apid = self.agent_proc.pid
        t0 = time.monotonic()
        while True:
            line = first_line(out)
            if line is not None:
                action = json.loads(line).get("event", {}).get("action")
                if action != "agent-started":
                    raise BenchError(f"agent: first line is '{action}', not agent-started")
                break
            if self.agent_proc.poll() is not None:
                raise BenchError(f"agent exited {self.agent_proc.returncode} before "
                                 f"agent-started: {tail(errpath)}")
            if time.monotonic() - t0 > START_TIMEOUT:
                raise BenchError(f"agent wrote no agent-started in {START_TIMEOUT:.0f}s")
            time.sleep(0.02)
        startup = time.monotonic() - t0
        cpu_started = proc_cpu_seconds(apid)
        run_started = proc_run_seconds(apid)

        bpf0 = bpf_run_totals(apid)
        st = self.run_storm(kind, n, apid, keep_dir=True)
        spid, elapsed = st["pid"], st["elapsed"]

        wait_quiet(out, apid)
        bpf1 = bpf_run_totals(apid)
        self.remove_storm_dir()
        hwm = proc_hwm_kib(apid)
        cpu_before_stop = proc_cpu_seconds(apid)
        run_before_stop = proc_run_seconds(apid)
        rc, ru, stop_hwm = self.stop_agent()
        if rc != 0:
            raise BenchError(f"agent exited {rc} after SIGINT: {tail(errpath)}")
        cpu_total = ru.ru_utime + ru.ru_stime
        res = dict(st)
        res.update({
            "storm_pid": spid,
            "elapsed": elapsed,
            "agent_pid": apid,
            "agent_startup_s": startup,
            "cpu_total_s": cpu_total,
            "cpu_at_started_s": cpu_started,
            "cpu_before_stop_s": cpu_before_stop,
            # from agent-started to exit: the storm, other activity, drain, shutdown
            "cpu_run_s": max(cpu_total - cpu_started, 0.0),
            # from agent-started until its output is quiet after the storm: no shutdown
            # (schedstat: nanoseconds, not ticks, which a --quick storm is a few of)
            "cpu_storm_s": max(run_before_stop - run_started, 0.0),
            # SIGINT to exit: detaching and unloading the programs, the last flush
            "cpu_stop_s": max(cpu_total - cpu_before_stop, 0.0),
            # the agent's BPF programs over the storm (kernel time charged to the storm)
            "bpf_ns": bpf1[0] - bpf0[0],
            "bpf_runs": bpf1[1] - bpf0[1],
            "rss_peak_kib": max(hwm, stop_hwm),
        })
        # CPU nobody in this run used: other programs on the machine
        res["other_cpu_s"] = max(res["machine_busy_s"] - res["storm_cpu_s"]
                                 - (cpu_before_stop - cpu_started), 0.0)
        res.update(count_events(out, kind, spid, n, st["port"]))
        with open(out, "rb") as f:
            data = f.read()
        res["line_bytes"] = len(data) / max(data.count(b"\n"), 1)
        self.remove(out)
        self.remove(errpath)
        return res

    def stop_agent(self):
        """SIGINT the agent and reap it: exit code, rusage, the VmHWM seen while it stopped;
        SIGKILL if it does not stop."""
        p = self.agent_proc
        pid = p.pid
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        hwm = 0
        while True:
            hwm = max(hwm, proc_hwm_kib(pid))
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                break
            if time.monotonic() > deadline:
                log(f"bench: agent {pid} still running {STOP_TIMEOUT:.0f}s after SIGINT, killing")
                os.kill(pid, signal.SIGKILL)
                wpid, status, ru = os.wait4(pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        self.agent_proc = None
        return p.returncode, ru, hwm

    def cleanup(self):
        """End what is still running (by pid) and remove this run's files."""
        if self.storm is not None and self.storm.poll() is None:
            self.storm.kill()
            self.storm.wait()
        if self.agent_proc is not None and self.agent_proc.poll() is None:
            try:
                self.stop_agent()
            except (OSError, ChildProcessError):
                self.agent_proc.kill()
                self.agent_proc.wait()
        for path in self.files:
            self.remove(path)
        self.remove_storm_dir()


PROC_ACTIONS = ("exec", "fork", "exit")
NET_ACTIONS = ("connection_attempted", "connection_accepted", "disconnect", "listen",
               "udp_flow")
COUNTERS = ("events", "drops", "errors", "read_errors", "decode_errors", "lost_output",
            "conn_misses", "conn_table_full")


def expected_events(kind, n):
    """What the agent must report for one storm of kind and size n, by kind of event."""
    if kind == "connect":
        return {"connection_attempted": n, "connection_accepted": n,
                "disconnect egress": n, "disconnect ingress": n, "listen": 1}
    if kind == "files":
        # outside the watch set, by a process that is not network-facing: nothing reaches
        # the agent (the kernel filters it); any file event of the storm counts as extra
        return {}
    return {"exec": n if kind == "exec" else 0, "fork": n, "exit": n}


def net_key(d, port):
    """The expected-event key a network event of the connect storm counts under, or None
    when it is not one the storm must cause (wrong port, direction, bytes or outcome)."""
    action = d["event"]["action"]
    src, dst = d.get("source", {}), d.get("destination", {})
    direction = d.get("network", {}).get("direction")
    if action == "listen":
        return "listen" if src.get("port") == port else None
    if action == "udp_flow" or dst.get("port") != port:
        return None
    if action == "connection_attempted":
        ok = direction == "egress" and d["event"].get("outcome") == "success"
        return action if ok else None
    if action == "connection_accepted":
        return action if direction == "ingress" else None
    # disconnect: the client sent 1 byte; source is the client in both directions
    if src.get("bytes") != 1 or direction not in ("egress", "ingress"):
        return None
    return f"disconnect {direction}"


def count_events(path, kind, spid, n, port=None):
    """Exact counts of the storm's events in the agent's output, and the agent's counters.

    exec/fork: the fork, exec and exit events of processes whose parent is the storm.
    connect: the network events of the storm's own pid (the listener, both ends of every
    connection); each must have the expected port, direction, outcome and bytes.
    """
    expected = expected_events(kind, n)
    got = dict.fromkeys(expected, 0)
    other = 0  # events of the storm that match no expected one (wrong exe, port, bytes ...)
    stream = 0  # every event the agent wrote after its snapshot, the storm's or not
    stopped = None
    with open(path, "rb") as f:
        for raw in f:
            d = json.loads(raw)
            action = d.get("event", {}).get("action")
            if action == "agent-stopped":
                stopped = d.get("hopwatch", {}).get("agent", {})
                continue
            if action == "agent-started" or action is None or action.startswith("existing_"):
                continue
            stream += 1
            p = d.get("process", {})
            if action in PROC_ACTIONS:
                if p.get("pid") == spid or p.get("parent", {}).get("pid") != spid:
                    continue
                if kind == "connect" or (action == "exec" and
                                         (kind == "fork" or p.get("executable") != TRUE_EXE)):
                    other += 1  # the connect storm forks nothing, the fork storm execs nothing
                    continue
                got[action] += 1
            elif action.startswith("file_") and p.get("pid") == spid:
                other += 1  # the file storm writes only outside the watch set
            elif action in NET_ACTIONS and p.get("pid") == spid:
                key = net_key(d, port) if kind == "connect" else None
                if key is None:
                    other += 1
                else:
                    got[key] += 1
    received = sum(got.values())
    exp_total = sum(expected.values())
    # per kind: a shortfall is lost, a surplus is extra; neither is netted against the other
    lost = sum(max(expected[k] - got[k], 0) for k in got)
    extra = sum(max(got[k] - expected[k], 0) for k in got) + other
    counters = stopped or {}
    return {
        "received": received,
        "expected": exp_total,
        "received_by_action": got,
        "expected_by_action": expected,
        "lost": lost,
        "extra": extra,
        "unmatched": other,
        "stream_events": stream,
        "agent_stopped_seen": stopped is not None,
        "counters": {k: counters.get(k) for k in COUNTERS},
    }


# ---------------------------------------------------------------- scenarios


def run_scenario(runner, kind, n, rounds, rng, warmup_n):
    def one(variant, count, tag):
        if variant == "agent":
            return runner.run_agent(kind, count, tag)
        st = runner.run_storm(kind, count)
        st["other_cpu_s"] = max(st["machine_busy_s"] - st["storm_cpu_s"], 0.0)
        return st

    def settle():
        # the agent's output was written and unlinked; keep writeback out of the next run
        os.sync()
        time.sleep(0.5)

    order = rng.sample(VARIANTS, len(VARIANTS))
    log(f"bench: {kind}: warm-up N={warmup_n} order {' '.join(order)}")
    for v in order:
        one(v, warmup_n, f"{kind}-warmup-{v}")
        settle()

    results = []
    for r in range(1, rounds + 1):
        order = rng.sample(VARIANTS, len(VARIANTS))
        row = {"round": r, "order": order}
        for v in order:
            row[v] = one(v, n, f"{kind}-r{r}-{v}")
            settle()
        a = row["agent"]
        log(f"bench: {kind} round {r}/{rounds} [{' '.join(order)}] "
            f"none {row['none']['elapsed']:.2f}s none2 {row['none2']['elapsed']:.2f}s "
            f"agent {a['elapsed']:.2f}s events {a['received']}/{a['expected']} "
            f"drops {a['counters']['drops']}")
        results.append(row)
    return results


def summarize(kind, n, rows):
    none = [r["none"]["elapsed"] for r in rows]
    none2 = [r["none2"]["elapsed"] for r in rows]
    agent = [r["agent"]["elapsed"] for r in rows]
    ratio = [r["agent"]["elapsed"] / r["none"]["elapsed"] for r in rows]
    noise = [r["none2"]["elapsed"] / r["none"]["elapsed"] for r in rows]
    ag = [r["agent"] for r in rows]
    cpu = [a["cpu_run_s"] for a in ag]
    cpu_per_ev = [a["cpu_run_s"] / a["stream_events"] * 1e6 if a["stream_events"] else
                  float("nan") for a in ag]
    rate = [a["received"] / a["elapsed"] for a in ag]
    drops = sum(a["counters"]["drops"] or 0 for a in ag)
    other = {k: sum(a["counters"][k] or 0 for a in ag)
             for k in COUNTERS if k not in ("events", "drops")}
    received = sum(a["received"] for a in ag)
    expected = sum(a["expected"] for a in ag)
    lost = sum(a["lost"] for a in ag)
    extra = sum(a["extra"] for a in ag)
    missing_stop = sum(not a["agent_stopped_seen"] for a in ag)
    runs = [r[v] for r in rows for v in VARIANTS]
    tracers = sorted({t for x in runs for t in x["other_tracers"]})
    ok = lost == 0 and extra == 0 and drops == 0 and missing_stop == 0
    return {
        "scenario": kind,
        "n": n,
        "rounds": len(rows),
        "wall_s": {"none": mmm(none), "none2": mmm(none2), "agent": mmm(agent)},
        "ratio_agent_none": mmm(ratio),
        "noise_none2_none": mmm(noise),
        "added_us_per_op": (median(agent) - median(none)) / n * 1e6,
        "agent_cpu_s": mmm(cpu),
        "agent_cpu_us_per_event": mmm(cpu_per_ev),
        # without the fixed cost of stopping (a few tens of ms, most of a small storm's CPU)
        "agent_cpu_storm_us_per_event": mmm([a["cpu_storm_s"] / a["stream_events"] * 1e6
                                             if a["stream_events"] else float("nan")
                                             for a in ag]),
        "agent_cpu_stop_s": mmm([a["cpu_stop_s"] for a in ag]),
        # the agent's BPF programs per storm operation, and as a share of an operation's
        # wall time without the agent (None: the kernel keeps no statistics)
        "bpf_ns_per_op": mmm([a["bpf_ns"] / n for a in ag]) if BPF_STATS is not None else None,
        "bpf_share_of_op": (mmm([a["bpf_ns"] / n / (r["none"]["elapsed"] / n * 1e9)
                                 for a, r in zip(ag, rows)])
                            if BPF_STATS is not None else None),
        "agent_rss_peak_mib": max(a["rss_peak_kib"] for a in ag) / 1024,
        "agent_startup_s": mmm([a["agent_startup_s"] for a in ag]),
        "storm_events_per_s": mmm(rate),
        "drops": drops,
        "other_counters": other,
        "received": received,
        "expected": expected,
        "expected_per_run": dict(ag[0]["expected_by_action"]),
        "received_by_action": {k: sum(a["received_by_action"][k] for a in ag)
                               for k in ag[0]["received_by_action"]},
        "unmatched": sum(a["unmatched"] for a in ag),
        "lost": lost,
        "extra": extra,
        "agent_stopped_missing": missing_stop,
        "other_cpu_s": mmm([x["other_cpu_s"] for x in runs]),
        "runs_with_other_tracers": sum(bool(x["other_tracers"]) for x in runs),
        "other_tracers": tracers,
        "ok": ok,
    }


def mmm(xs):
    return {"median": median(xs), "min": min(xs), "max": max(xs)}


# ---------------------------------------------------------------- report


def fmt_mmm(m, spec):
    return f"{m['median']:{spec}} [{m['min']:{spec}}–{m['max']:{spec}}]"


def print_report(meta, scen):
    print()
    print(f"hopwatch bench — {meta['agent_version']} on {meta['kernel']}, "
          f"{meta['cpus']} CPUs, {meta['rounds']} rounds, seed {meta['seed']}"
          f"{' (quick)' if meta['quick'] else ''}")
    for name, (sm, rows) in scen.items():
        print()
        print(f"== {name} storm: N={sm['n']} ({DESCR[name]}), {sm['rounds']} rounds after "
              f"1 warm-up of each variant; {sm['expected'] // sm['rounds']} events expected "
              f"per agent run ({', '.join(f'{v} {k}' for k, v in sm['expected_per_run'].items() if v)})")
        print(f"{'round':>5}  {'order':<17} {'none s':>8} {'none2 s':>8} {'agent s':>8} "
              f"{'agent/none':>10} {'none2/none':>10} {'CPU s':>6} {'µs/ev':>6} "
              f"{'RSS MiB':>7} {'drops':>5} {'other CPU':>9}  events recv/exp")
        for r in rows:
            a = r["agent"]
            other = max(r[v]["other_cpu_s"] for v in VARIANTS)
            mark = " *" if any(r[v]["other_tracers"] for v in VARIANTS) else "  "
            cpe = a["cpu_run_s"] / a["stream_events"] * 1e6 if a["stream_events"] else float("nan")
            print(f"{r['round']:>5}  {','.join(r['order']):<17} {r['none']['elapsed']:>8.3f} "
                  f"{r['none2']['elapsed']:>8.3f} {a['elapsed']:>8.3f} "
                  f"{a['elapsed'] / r['none']['elapsed']:>10.3f} "
                  f"{r['none2']['elapsed'] / r['none']['elapsed']:>10.3f} "
                  f"{a['cpu_run_s']:>6.2f} {cpe:>6.2f} {a['rss_peak_kib'] / 1024:>7.1f} "
                  f"{a['counters']['drops'] if a['counters']['drops'] is not None else '?':>5} "
                  f"{other:>7.1f}{mark}  {a['received']}/{a['expected']}")

    print()
    print("== summary (median [min–max] over rounds)")
    hdr = (f"{'scenario':<8} {'N':>6}  {'ratio agent/none':<23} {'noise none2/none':<23} "
           f"{'+µs/op':>7} {'CPU s':>6} {'CPU µs/ev':>9} {'RSS MiB':>7} {'ev/s':>7} "
           f"{'drops':>5}  {'events recv/exp':<17} result")
    print(hdr)
    for name, (sm, _) in scen.items():
        lost_txt = "OK" if sm["ok"] else "FAIL"
        print(f"{name:<8} {sm['n']:>6}  {fmt_mmm(sm['ratio_agent_none'], '.3f'):<23} "
              f"{fmt_mmm(sm['noise_none2_none'], '.3f'):<23} {sm['added_us_per_op']:>7.1f} "
              f"{sm['agent_cpu_s']['median']:>6.2f} "
              f"{sm['agent_cpu_us_per_event']['median']:>9.2f} "
              f"{sm['agent_rss_peak_mib']:>7.1f} {sm['storm_events_per_s']['median']:>7.0f} "
              f"{sm['drops']:>5}  {str(sm['received']) + '/' + str(sm['expected']):<17} "
              f"{lost_txt}")
    print()
    print(f"{'scenario':<8} {'CPU µs/ev (storm)':<23} {'stop CPU s':<23} {'BPF ns/op':<23} "
          f"{'BPF share of an op':<23}")
    for name, (sm, _) in scen.items():
        bns, bsh = sm["bpf_ns_per_op"], sm["bpf_share_of_op"]
        print(f"{name:<8} {fmt_mmm(sm['agent_cpu_storm_us_per_event'], '.2f'):<23} "
              f"{fmt_mmm(sm['agent_cpu_stop_s'], '.3f'):<23} "
              f"{fmt_mmm(bns, '.0f') if bns else 'n/a':<23} "
              f"{fmt_mmm({k: v * 100 for k, v in bsh.items()}, '.2f') + ' %' if bsh else 'n/a':<23}")
    floors = [(name, sm) for name, (sm, _) in scen.items() if sm.get("floor")]
    if floors:
        print()
        print(f"{'scenario':<8} {'floor: wake µs/ev':<23} {'floor: wake+write µs/ev':<24} "
              f"{'agent CPU µs/ev (storm)':<24} {'agent less the floor':<20} at")
        for name, sm in floors:
            fl = sm["floor"]
            own = sm["agent_cpu_storm_us_per_event"]["median"] - fl["write_us"]["median"]
            print(f"{name:<8} {fmt_mmm(fl['wake_us'], '.2f'):<23} "
                  f"{fmt_mmm(fl['write_us'], '.2f'):<24} "
                  f"{sm['agent_cpu_storm_us_per_event']['median']:<24.2f} {own:<20.2f} "
                  f"{fl['events_per_s']:.0f} ev/s, {fl['line_bytes']:.0f} B a line")
    for name, (sm, _) in scen.items():
        if sm["lost"] or sm["extra"]:
            exp = {k: v * sm["rounds"] for k, v in sm["expected_per_run"].items()}
            print(f"{name}: LOST {sm['lost']} events, {sm['extra']} unexpected, "
                  f"over {sm['rounds']} agent runs; received/expected by event: "
                  + ", ".join(f"{k} {sm['received_by_action'][k]}/{exp[k]}" for k in exp)
                  + (f"; {sm['unmatched']} of the storm's events matched none (wrong "
                     f"port, direction, bytes, outcome or program)" if sm["unmatched"] else ""))
        if sm["agent_stopped_missing"]:
            print(f"{name}: {sm['agent_stopped_missing']} agent runs wrote no agent-stopped")
        if sm["runs_with_other_tracers"]:
            print(f"{name}: WARNING {sm['runs_with_other_tracers']} of {3 * sm['rounds']} runs "
                  f"had another tracer running ({', '.join(sm['other_tracers'])}); rounds "
                  f"marked * measure it too")
        bad = {k: v for k, v in sm["other_counters"].items() if v}
        if bad:
            print(f"{name}: agent counters " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    print()
    print("CPU = agent utime+stime from agent-started to exit (per run); CPU µs/ev divides it"
          " by every event the agent wrote after its start-up snapshot (process and network,"
          " the storm's and others'); RSS = peak (VmHWM) over all rounds;"
          " ev/s = storm events received / agent-run storm seconds; other CPU = the most CPU"
          " seconds used by anything but the storm and the agent in one run of the round"
          " (load from elsewhere; compare with the noise ratio). CPU µs/ev (storm) = the same"
          " without stopping: agent-started until its output is quiet after the storm; stop"
          " CPU = SIGINT to exit. BPF ns/op = run time of the agent's BPF programs over the"
          " storm (kernel run-time statistics) per operation; its share = that over one"
          " operation's wall time without the agent: what the kernel side adds to the storm,"
          " free of the wall-time noise. The files storm's clean-up is outside both."
          " Floor (tests/bench/floor.c, no agent): the CPU per event of what any agent reading"
          " events this way must do on this machine at the storm's pace: wake-ups of a poll"
          " loop every " + str(POLL_MS) + " ms, then those writing the storm's lines (the"
          " agent's bytes a line) to a file beside the agent's output; the agent less the"
          " floor is its own work (reading, model, detection, encoding).")


# ---------------------------------------------------------------- replay


def make_recording(runner, lines):
    """A recording of about `lines` lines: the agent run with --record over an exec storm
    (a tenth of the lines) and a connect storm (the rest), as an agent records a busy host."""
    path = runner.tmp("replay", "ndjson")
    errpath = runner.tmp("replay", "stderr")
    exec_n = max(lines // 30, 10)
    connect_n = max((lines - 3 * exec_n) // 4, 10)
    with open(errpath, "wb") as errf:
        runner.agent_proc = subprocess.Popen(
            [runner.agent, "run", "--output", "/dev/null", "--record", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    t0 = time.monotonic()
    while first_line(path) is None:
        if runner.agent_proc.poll() is not None:
            raise BenchError(f"agent exited before agent-started: {tail(errpath)}")
        if time.monotonic() - t0 > START_TIMEOUT:
            raise BenchError(f"agent wrote no agent-started in {START_TIMEOUT:.0f}s")
        time.sleep(0.02)
    runner.run_storm("exec", exec_n, runner.agent_proc.pid)
    runner.run_storm("connect", connect_n, runner.agent_proc.pid)
    rc, _, _ = runner.stop_agent()
    runner.remove(errpath)
    if rc != 0:
        raise BenchError(f"agent exited {rc} after SIGINT while recording")
    return path


def run_replay(agent, path, rounds):
    """`hopwatch replay` of the recording on one CPU, rounds times: lines, events and CPU
    seconds (user+system) of each run, and the peak RSS."""
    cpu = sorted(os.sched_getaffinity(0))[-1]
    rows = []
    for _ in range(rounds):
        p = subprocess.Popen([agent, "replay", path], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        hwm = hwm_watcher(p.pid, agent)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        p.stderr.close()
        rc = os.waitstatus_to_exitcode(status)
        # "hopwatch: replayed L lines: E events from H hosts, A alerts, M malformed"
        words = err.replace(":", " ").replace(",", " ").split()
        try:
            lines = int(words[words.index("replayed") + 1])
            events = int(words[words.index("events") - 1])
        except (ValueError, IndexError):
            raise BenchError(f"replay exited {rc}: {err.strip()}")
        if rc != 0:
            raise BenchError(f"replay exited {rc}: {err.strip()}")
        rows.append({"lines": lines, "events": events, "cpu_s": ru.ru_utime + ru.ru_stime,
                     "rss_kib": hwm["kib"], "cpu": cpu})
    return rows


def print_replay(path, size, rows):
    rates = [r["events"] / r["cpu_s"] if r["cpu_s"] else float("nan") for r in rows]
    print()
    print(f"== replay: {rows[0]['lines']} lines ({size / 1e6:.1f} MB, recorded by the agent over "
          f"an exec and a connect storm), {len(rows)} runs pinned to CPU {rows[0]['cpu']}")
    print(f"events/s (events / CPU s, one core) {fmt_mmm(mmm(rates), '.0f')}; "
          f"CPU s {fmt_mmm(mmm([r['cpu_s'] for r in rows]), '.3f')}; "
          f"MB/s {median(rates) * size / rows[0]['events'] / 1e6:.0f}; "
          f"peak RSS {max(r['rss_kib'] for r in rows) / 1024:.1f} MiB")


# ---------------------------------------------------------------- main


def estimate(kinds, sizes, warmups, rounds):
    """A rough run time from the sizes, with the per-operation costs of the 2-vCPU VMs."""
    total = 0.0
    parts = []
    for k in kinds:
        ops = rounds * sizes[k] + warmups[k]  # per variant
        storm_s = OP_COST[k] * ops * (2 + AGENT_FACTOR[k])
        runs = 3 * (rounds + 1)
        t = storm_s + runs * RUN_OVERHEAD + (rounds + 1) * AGENT_OVERHEAD
        total += t
        parts.append(f"{k} N={sizes[k]} ~{t / 60:.1f} min")
    costs = ", ".join(f"{k} {OP_COST[k] * 1e6:.0f} µs/op" for k in kinds)
    return (f"bench: {rounds} rounds + 1 warm-up of each variant; {'; '.join(parts)}: expected "
            f"run time about {total / 60:.{0 if total >= 600 else 1}f} min (rough, from {costs}"
            f" without the agent on a 2-vCPU VM)")


def agent_version(agent):
    try:
        out = subprocess.run([agent, "version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "hopwatch ?"
    except (OSError, subprocess.SubprocessError):
        return "hopwatch ?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: small storms, 3 rounds (a few minutes)")
    ap.add_argument("--scenario", choices=SCENARIOS + ("all", "replay"), default="all",
                    help="one scenario (default all: " + ", ".join(SCENARIOS) + ", then replay)")
    ap.add_argument("--rounds", type=int,
                    help=f"rounds (default {FULL['rounds']}, quick {QUICK['rounds']})")
    for k in SCENARIOS:
        ap.add_argument(f"--{k}-n", type=int,
                        help=f"{k} storm size (default {FULL[k]}, quick {QUICK[k]})")
    ap.add_argument("--replay-lines", type=int,
                    help=f"size of the recording `hopwatch replay` is timed on, 0 to skip "
                         f"(default {FULL['replay']}, quick {QUICK['replay']})")
    ap.add_argument("--replay-file",
                    help="time `hopwatch replay` on this recording instead of making one "
                         "(the same file for two --agent builds)")
    ap.add_argument("--warmup-n", type=int,
                    help="size of each warm-up run (default N/10, at least 1000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the run order (default 1)")
    ap.add_argument("--agent", default=AGENT, help="agent binary (default build/hopwatch)")
    ap.add_argument("--keep", action="store_true", help="keep the agent output files")
    ap.add_argument("--json", default=os.path.join(OUTDIR, "results.json"),
                    help="results file (default build/bench/results.json)")
    args = ap.parse_args()

    base = QUICK if args.quick else FULL
    rounds = args.rounds or base["rounds"]
    sizes = {k: getattr(args, f"{k}_n") or base[k] for k in SCENARIOS}
    kinds = (list(SCENARIOS) if args.scenario == "all" else
             [] if args.scenario == "replay" else [args.scenario])
    replay_lines = base["replay"] if args.replay_lines is None else args.replay_lines
    if args.scenario not in ("all", "replay") and args.replay_lines is None and not args.replay_file:
        replay_lines = 0
    if replay_lines < 0:
        ap.error("--replay-lines must be 0 or more")
    if args.replay_file and not os.access(args.replay_file, os.R_OK):
        ap.error(f"--replay-file '{args.replay_file}': not readable")
    if rounds < 1 or any(sizes[k] < 1 for k in kinds):
        ap.error("rounds and N must be positive")
    if args.warmup_n is not None and args.warmup_n < 1:
        ap.error("--warmup-n must be positive")
    warmups = {k: args.warmup_n or min(sizes[k], max(sizes[k] // 10, 1000)) for k in kinds}
    if os.geteuid() != 0:
        print("bench: must run as root (the agent loads BPF programs)", file=sys.stderr)
        return 2
    if not os.access(args.agent, os.X_OK):
        print(f"bench: no agent at '{args.agent}' (run make)", file=sys.stderr)
        return 2
    build_storm()

    meta = {
        "agent": args.agent,
        "agent_version": agent_version(args.agent),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "seed": args.seed,
        "quick": args.quick,
        "sizes": {k: sizes[k] for k in kinds},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    log(estimate(kinds, sizes, warmups, rounds))
    rng = random.Random(args.seed)
    global BPF_STATS
    BPF_STATS = enable_bpf_stats()
    if BPF_STATS is None:
        log("bench: the kernel keeps no BPF run-time statistics (BPF_ENABLE_STATS refused): "
            "no BPF ns/op")
    runner = Runner(args.agent, args.keep)
    scen = {}
    t0 = time.monotonic()
    try:
        for kind in kinds:
            n = sizes[kind]
            rows = run_scenario(runner, kind, n, rounds, rng, warmups[kind])
            sm = summarize(kind, n, rows)
            if sm["storm_events_per_s"]["median"] >= 1:
                rate = sm["storm_events_per_s"]["median"]
                lb = median([r["agent"]["line_bytes"] for r in rows])
                log(f"bench: {kind}: the machine's floor at {rate:.0f} events/s, "
                    f"{lb:.0f} bytes a line ({FLOOR_RUNS} runs)")
                fl = run_floor(runner, rate, lb)
                sm["floor"] = {"events_per_s": rate, "line_bytes": lb,
                               "wake_us": mmm([x["wake_us"] for x in fl]),
                               "write_us": mmm([x["write_us"] for x in fl])}
            scen[kind] = (sm, rows)
        replay = None
        if args.replay_file or replay_lines:
            log(f"bench: replay: {'recording ' + str(replay_lines) + ' lines, then ' if not args.replay_file else ''}"
                f"{rounds} runs")
            rec = args.replay_file or make_recording(runner, replay_lines)
            replay = (rec, os.path.getsize(rec), run_replay(args.agent, rec, rounds))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        runner.cleanup()
    meta["duration_s"] = time.monotonic() - t0

    ok = all(sm["ok"] for sm, _ in scen.values())
    if scen:
        print_report(meta, scen)
    if replay:
        print_replay(*replay)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "ok": ok,
                   "scenarios": {k: {"summary": sm, "rounds": rows}
                                 for k, (sm, rows) in scen.items()},
                   "replay": {"file": replay[0], "bytes": replay[1], "runs": replay[2]}
                   if replay else None}, f, indent=2)
        f.write("\n")
    print(f"results: {os.path.relpath(args.json, ROOT) if args.json.startswith(ROOT) else args.json}"
          f" ({meta['duration_s']:.0f}s)")
    if not ok:
        print("bench: FAILED — events were lost or dropped (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
