"""The kernel matrix: the static agent booted under qemu (TCG) on Debian's cloud kernels 5.10
(previous release), 6.1 and 6.12 (current release), and on the running kernel's image.

Each boot runs `hopwatch check`, then `hopwatch run` around a workload (tests/kernels/init.sh:
execs and exit codes, loopback TCP, a refused connect, UDP, a long-lived connection across
periodic reports, a remote login through libpam that succeeds and one that fails) and prints
everything on the serial console. Here every event kind is asserted, with zero drops and
errors, the degraded features each kernel is expected to have, and connection ids that stay
one id from connect to report to close. A kernel that cannot be downloaded fails its test
with one line naming it. Prints the boot time and each program's verified instruction count.
"""
import glob
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import hw  # noqa: E402
import kernels  # noqa: E402

ROOT = hw.ROOT
GUEST = os.path.join(ROOT, "build", "hwguest")
INIT = os.path.join(HERE, "init.sh")
BOOT_TIMEOUT = int(os.environ.get("KERNEL_BOOT_TIMEOUT", "300"))



def expected_degraded(release):
    """What a kernel of this version cannot do: the agent's hopwatch.degraded list there
    (tracing programs may call bpf_get_socket_cookie since 5.12)."""
    m = re.match(r"(\d+)\.(\d+)", release)
    version = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return ["socket_cookie"] if version < (5, 12) else []


def section(text, name):
    m = re.search(r"==HW-%s-BEGIN==\r?\n(.*?)==HW-%s-END==" % (name, name), text, re.S)
    return m.group(1) if m else None


def value(text, name):
    m = re.search(r"==HW-%s[= ](\S+)" % name, text)
    return m.group(1) if m else None


# programs on syscalls younger than the oldest kernel supported: skipped where absent
NEWER_SYSCALLS = {"handle_file_fchmodat2_enter", "handle_file_fchmodat2_exit"}


def judge(name, release, console, want_degraded):
    """Asserts the console of one boot; returns (check summary, number of event kinds,
    {program: verified instructions})."""
    text = open(console, errors="replace").read()
    tag = "kernel %s (%s)" % (name, release)
    check = section(text, "CHECK")
    hw.check(check is not None, "%s: no hopwatch check output on the console:\n%s" % (
        tag, text[-3000:]))
    hw.check(value(text, "CHECK-RC") == "0" and "result:     hopwatch run would work" in check,
             "%s: hopwatch check failed:\n%s" % (tag, check[-3000:]))
    insns = {}
    for m in re.finditer(r"^program:\s+(\S+)\s+\S+\s+(\d+) insns  ok$", check, re.M):
        insns[m.group(1)] = int(m.group(2))
    # a syscall newer than the kernel has no tracepoint there (fchmodat2: Linux 6.6): said so,
    # and only for those
    skipped = re.findall(r"^program:\s+(\S+)\s+tp/syscalls/sys_\w+\s+skipped: no such "
                         r"tracepoint$", check, re.M)
    hw.check(set(skipped) <= NEWER_SYSCALLS, "%s: programs skipped: %r" % (tag, skipped))
    programs = [p for p in re.findall(r"^program:\s+(\S+)", check, re.M) if p not in skipped]
    hw.check(programs and set(programs) == set(insns),
             "%s: a program without its verified instruction count:\n%s" % (tag, check))
    degraded = re.findall(r"^degraded:\s+(\S+?):", check, re.M)
    hw.check_eq(degraded, want_degraded, "%s: degraded features in hopwatch check" % tag)
    hw.check(value(text, "RUN-RC") == "0", "%s: hopwatch run failed (exit %s): %s" % (
        tag, value(text, "RUN-RC"), section(text, "AGENT-STDERR")))
    events = []
    for line in (section(text, "EVENTS") or "").splitlines():
        line = line.strip()
        if line:
            try:
                events.append(hw.parse_event(line))
            except ValueError as e:
                raise hw.TestFailure("%s: bad event line %r: %s" % (tag, line[:200], e))
    by = {}
    for e in events:
        by.setdefault(hw.get(e, "event.action"), []).append(e)
    for kind in ("agent-started", "exec", "fork", "exit", "listen", "connection_attempted",
                 "connection_accepted", "disconnect", "udp_flow", "connection_open",
                 "user_login", "user_logout", "agent-stopped"):
        hw.check(kind in by, "%s: no %s event; got %s" % (tag, kind, sorted(by)))
    started = by["agent-started"][0]
    hw.check_eq(hw.get(started, "hopwatch.degraded", []), want_degraded,
                "%s: hopwatch.degraded of agent-started" % tag)
    stopped = hw.get(by["agent-stopped"][0], "hopwatch.agent")
    for counter in ("drops", "errors", "read_errors", "decode_errors", "lost_output",
                    "conn_table_full"):
        hw.check_eq(stopped.get(counter), 0, "%s: agent-stopped %s" % (tag, counter))
    hw.check(any(hw.get(e, "process.exit_code") == 3 for e in by["exit"]),
             "%s: no exit with exit_code 3 (sh -c 'exit 3')" % tag)
    refused = [e for e in by["connection_attempted"] if hw.get(e, "destination.port") == 1]
    hw.check(refused and hw.get(refused[0], "event.outcome") == "failure" and
             hw.get(refused[0], "error.code") == "ECONNREFUSED",
             "%s: the refused connect to port 1 is not a failure with ECONNREFUSED: %s" % (
                 tag, refused))
    hw.check(any(hw.get(e, "destination.port") == 9999 for e in by["udp_flow"]),
             "%s: no udp_flow to port 9999" % tag)
    outcomes = sorted(hw.get(e, "event.outcome") for e in by["user_login"])
    hw.check_eq(outcomes, ["failure", "success"], "%s: user_login outcomes" % tag)
    ok = [e for e in by["user_login"] if hw.get(e, "event.outcome") == "success"][0]
    hw.check(hw.get(ok, "hopwatch.login.verified") is True and hw.get(ok, "user.name") == "alice",
             "%s: the accepted login is not alice's verified login: %s" % (
                 tag, hw.get(ok, "hopwatch")))
    # one connection, one id: its connect, its periodic reports and its close
    for port in (8080, 8081, 2222):
        conn = [e for e in by["connection_attempted"] if hw.get(e, "destination.port") == port
                and hw.get(e, "event.outcome") == "success"]
        hw.check(len(conn) == 1, "%s: %d successful connects to %d" % (tag, len(conn), port))
        cid = hw.get(conn[0], "hopwatch.connection.id")
        hw.check(cid, "%s: the connect to %d has no connection id" % (tag, port))
        closes = [e for e in by["disconnect"] if hw.get(e, "hopwatch.connection.id") == cid]
        hw.check(len(closes) == 1 and hw.get(closes[0], "network.direction") == "egress",
                 "%s: the connect to %d (id %s) has %d egress disconnects" % (
                     tag, port, cid, len(closes)))
        acc = [e for e in by["connection_accepted"] if hw.get(e, "source.port") == port or
               hw.get(e, "destination.port") == port]
        hw.check(len(acc) == 1, "%s: %d accepts on %d" % (tag, len(acc), port))
        aid = hw.get(acc[0], "hopwatch.connection.id")
        hw.check(aid and aid != cid, "%s: the accepted end of %d has id %r (connect: %r)" % (
            tag, port, aid, cid))
        closes = [e for e in by["disconnect"] if hw.get(e, "hopwatch.connection.id") == aid]
        hw.check(len(closes) == 1 and hw.get(closes[0], "network.direction") == "ingress",
                 "%s: the accepted end of %d (id %s) has %d ingress disconnects" % (
                     tag, port, aid, len(closes)))
        if port == 8081:
            opens = [e for e in by["connection_open"]
                     if hw.get(e, "hopwatch.connection.id") == cid]
            hw.check(opens, "%s: the long connection to 8081 (id %s) was not reported open; "
                     "connection_open ids: %s" % (tag, cid, [
                         hw.get(e, "hopwatch.connection.id") for e in by["connection_open"]]))
    return check, len(by), insns


def run_kernel(name, vmlinuz, tree, release):
    agent = hw.STATIC_BIN
    for path, how in ((agent, "make static"), (GUEST, "make build/hwguest")):
        hw.check(os.path.exists(path), "kernel %s: %s missing (%s)" % (name, path, how))
    work = os.path.join(kernels.CACHE, "runs")
    os.makedirs(work, exist_ok=True)
    initrd = os.path.join(work, "initrd-%s.gz" % name)
    console = os.path.join(work, "console-%s.log" % name)
    kernels.initramfs(tree, release, initrd, agent, GUEST, open(INIT).read())
    if os.path.exists(console):
        os.unlink(console)
    secs, rc = kernels.boot(vmlinuz, initrd, console, timeout=BOOT_TIMEOUT)
    hw.check(rc is not None, "kernel %s (%s): no power-off within %ds; console %s" % (
        name, release, BOOT_TIMEOUT, console))
    _, kinds, insns = judge(name, release, console, expected_degraded(release))
    print("     kernel %-30s check ok | run ok | %d event kinds | boot %.1fs" % (
        release, kinds, secs))
    print("     insns  %-30s %s" % (release, " ".join(
        "%s=%d" % (p, n) for p, n in sorted(insns.items()))), flush=True)


def debian(name):
    try:
        tree, release = kernels.fetch(name)
    except kernels.KernelError as e:
        raise hw.TestFailure(str(e))
    vmlinuz = glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))[0]
    run_kernel(name, vmlinuz, tree, release)


def test_debian_5_10():
    debian("5.10")


def test_debian_6_1():
    debian("6.1")


def test_debian_6_12():
    debian("6.12")


def test_running_kernel():
    """The running kernel: its own image booted like the others when this machine has it
    (/boot/vmlinuz-RELEASE and its modules, or KERNEL_RUNNING_IMAGE=PATH); otherwise (a VM
    booted from an image outside its file system) the same guest tree and workload run on it
    directly, in namespaces of their own, judged the same way."""
    release = platform.release()
    image = os.environ.get("KERNEL_RUNNING_IMAGE") or "/boot/vmlinuz-" + release
    if os.path.exists(image) and os.path.isdir("/lib/modules/" + release):
        run_kernel("running", image, "/", release)
        return
    for path, how in ((hw.STATIC_BIN, "make static"), (GUEST, "make build/hwguest")):
        hw.check(os.path.exists(path), "kernel running: %s missing (%s)" % (path, how))
    # a root-owned 0755 place, so the guest's programs are trusted as in the initramfs
    root = tempfile.mkdtemp(prefix="%s-kernel-" % hw.RUN_ID, dir="/run")
    try:
        os.chmod(root, 0o755)
        tree = os.path.join(root, "root")
        kernels.guest_tree(tree, "/", release, hw.STATIC_BIN, GUEST, open(INIT).read(),
                           diag=False)
        console = os.path.join(root, "console.log")
        secs, rc = kernels.contain(tree, console, timeout=BOOT_TIMEOUT)
        hw.check(rc is not None, "kernel running (%s): the workload did not end within %ds" % (
            release, BOOT_TIMEOUT))
        _, kinds, insns = judge("running", release, console, expected_degraded(release))
        print("     kernel %-30s check ok | run ok | %d event kinds | %.1fs, on the running "
              "kernel itself (no image of it to boot)" % (release, kinds, secs))
        print("     insns  %-30s %s" % (release, " ".join(
            "%s=%d" % (p, n) for p, n in sorted(insns.items()))), flush=True)
    finally:
        shutil.rmtree(root, True)


def test_missing_kernel_fails():
    """A kernel the archive does not have fails with one line naming it, never passes."""
    kernels.MATRIX["missing"] = (["bookworm"], "linux-image-hopwatch-missing")
    try:
        kernels.fetch("missing")
    except kernels.KernelError as e:
        msg = str(e)
        hw.check(msg.startswith("kernel missing: ") and "\n" not in msg,
                 "not one line naming the kernel: %r" % msg)
        return
    finally:
        del kernels.MATRIX["missing"]
    raise hw.TestFailure("fetching a kernel that does not exist did not fail")
