"""collect and replay put their heap on transparent huge pages (user/lib/heap.c): the heap grows
in large steps, each marked MADV_HUGEPAGE, in the process as it started (no second start: same
environment, its own name), unless GLIBC_TUNABLES is set (even empty), which leaves malloc to
it. Each test reads from a FIFO, so the process can be looked at while it waits for more
lines."""
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


def heap_marked(pid):
    """Whether a [heap] mapping of pid is marked for huge pages (VmFlags "hg", MADV_HUGEPAGE):
    what the command asked, whatever the kernel's mode gives."""
    in_heap = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(" ", 1)[0]
            if "-" in first and all(c in "0123456789abcdef-" for c in first):
                in_heap = line.rstrip().endswith("[heap]")
            elif in_heap and line.startswith("VmFlags:") and " hg" in line:
                return True
    return False


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


def thp_mode():
    """always, madvise or never; None when the kernel has no transparent huge pages."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return f.read().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return None


def read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def huge_after(p, w, hosts, expect):
    """AnonHugePages (kB) of p once it has read hosts' lines (the FIFO kept open); when expect,
    waits for them to show."""
    text = fleet_lines(hosts, 30)
    before = read_bytes(p.pid)
    w.write(text)
    w.flush()
    deadline = time.time() + 30
    while read_bytes(p.pid) < before + len(text.encode()) and time.time() < deadline:
        time.sleep(0.05)
    huge = anon_huge_kb(p.pid)
    while expect and not huge and time.time() < deadline:
        time.sleep(0.1)
        huge = anon_huge_kb(p.pid)
    return huge


def heap_on_huge_pages(args, tag):
    p, w, argv = start(tag, args, base_env())
    try:
        check(b"GLIBC_TUNABLES" not in environ(p.pid), "no tunable set: it did not start again")
        check_eq(cmdline(p.pid), [os.fsencode(a) for a in argv], "its arguments")
        with open("/proc/%d/comm" % p.pid) as f:
            check_eq(f.read().strip(), "hopwatch", "its own name")
        # 600 hosts' engines: several megabytes of heap, read while the FIFO stays open
        huge = huge_after(p, w, 600, thp_on_request())
        check(heap_marked(p.pid), "the heap marked MADV_HUGEPAGE (VmFlags hg)")
        if thp_on_request():
            check(huge >= 2048, "the heap is on huge pages: AnonHugePages %d kB" % huge)
        else:
            print("    transparent huge pages are off in this kernel: nothing to see")
    finally:
        rc, err = finish(p, w)
    check_eq(rc, 0, "exit status (%s)" % err.strip())
    return err


def test_replay_heap_on_huge_pages_as_it_started():
    err = heap_on_huge_pages(["replay"], "hugepages")
    check("600 hosts" in err, "its summary: %s" % err.strip())


def test_collect_heap_on_huge_pages_as_it_started():
    heap_on_huge_pages(["collect", "-o", "json", "--output", os.devnull, "--replay"],
                       "hugepages")


def test_replay_leaves_malloc_to_a_tunable_that_is_set():
    """Set, even empty, the tunable is malloc's: no huge pages asked for (seen where the
    kernel gives them only on request)."""
    env = base_env()
    env["GLIBC_TUNABLES"] = ""
    p, w, _ = start("hugepages", ["replay"], env)
    try:
        huge = huge_after(p, w, 600, False)
        check(not heap_marked(p.pid), "no mapping of the heap marked MADV_HUGEPAGE")
        if thp_mode() == "madvise":
            check_eq(huge, 0, "AnonHugePages (kB) with the tunable set")
        else:
            print("    transparent huge pages are %s here: the heap's marks alone checked"
                  % thp_mode())
    finally:
        rc, err = finish(p, w)
    check_eq(rc, 0, "exit status (%s)" % err.strip())


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
