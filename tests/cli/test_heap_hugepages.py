"""collect and replay put their heap on transparent huge pages (user/main.c, heap_hugepages):
they start again once with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, same pid and arguments,
unless GLIBC_TUNABLES is already set (even empty), which is left as it is, and under their own
name (ps, pidof: not "exe", /proc/self/exe's). Each test reads from
a FIFO, so the process can be looked at while it waits for more lines."""
import os
import subprocess
import sys
import time

import hw
from hw import check, check_eq

sys.path.insert(0, os.path.join(hw.ROOT, "tests", "lib"))
from ecs_builder import Stream  # noqa: E402


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[:-1]


def anon_huge_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1])
    return 0


def thp_on_request():
    """The kernel gives transparent huge pages to a heap that asks (always or madvise)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[never]" not in f.read()
    except OSError:
        return False


def fleet_lines(hosts, procs):
    out = []
    for h in range(hosts):
        st = Stream("huge%04d" % h)
        st.agent_started(1)
        cron = st.existing(1, 600, "/usr/sbin/cron", ["cron"])
        for i in range(procs):
            st.spawn(2 + i * 0.001, cron, "/usr/bin/curl", ["curl", "http://198.18.255.250/"])
        out += st.lines
    return "\n".join(out) + "\n"


def start(tag, args, env):
    d = hw.tempdir(tag)
    fifo = os.path.join(d, "in.fifo")
    os.mkfifo(fifo)
    argv = [hw.BIN] + args + [fifo]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    # opened once the command has it open for reading (after its exec); never blocks on a
    # command that failed first
    deadline = time.time() + 30
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            if p.poll() is not None or time.time() > deadline:
                p.kill()
                _, err = p.communicate()
                raise AssertionError("the command did not open its input: rc %s, %s"
                                     % (p.returncode, err.decode().strip()))
            time.sleep(0.02)
    os.set_blocking(fd, True)
    return p, os.fdopen(fd, "w"), argv


def finish(p, w):
    w.close()
    _, err = p.communicate(timeout=60)
    return p.returncode, err.decode()


def base_env():
    env = dict(os.environ)
    env.pop("GLIBC_TUNABLES", None)
    return env


def test_replay_starts_again_with_huge_pages_for_its_heap():
    p, w, argv = start("hugepages", ["replay"], base_env())
    try:
        env = environ(p.pid)
        check_eq(env.get(b"GLIBC_TUNABLES"), b"glibc.malloc.hugetlb=1", "the tunable, same pid")
        check_eq(cmdline(p.pid), [os.fsencode(a) for a in argv], "the same arguments")
        with open("/proc/%d/comm" % p.pid) as f:
            check_eq(f.read().strip(), "hopwatch", "its name (not /proc/self/exe's 'exe')")
        # 600 hosts' engines: several megabytes of heap, read while the FIFO stays open
        w.write(fleet_lines(600, 30))
        w.flush()
        deadline = time.time() + 30
        huge = 0
        while time.time() < deadline and thp_on_request():
            huge = anon_huge_kb(p.pid)
            if huge:
                break
            time.sleep(0.1)
        if thp_on_request():
            check(huge >= 2048, "the heap is on huge pages: AnonHugePages %d kB" % huge)
        else:
            print("    transparent huge pages are off in this kernel: the tunable alone checked")
    finally:
        rc, err = finish(p, w)
    check_eq(rc, 0, "exit status (%s)" % err.strip())
    check("600 hosts" in err, "its summary: %s" % err.strip())


def test_collect_leaves_a_tunable_that_is_set_as_it_is():
    for value in (b"", b"glibc.malloc.arena_max=2"):
        env = base_env()
        env["GLIBC_TUNABLES"] = value.decode()
        p, w, _ = start("hugepages", ["collect", "-o", "json", "--output", os.devnull,
                                      "--replay"], env)
        try:
            check_eq(environ(p.pid).get(b"GLIBC_TUNABLES"), value, "the tunable as it was set")
            w.write(fleet_lines(3, 2))
        finally:
            rc, err = finish(p, w)
        check_eq(rc, 0, "exit status (%s)" % err.strip())
