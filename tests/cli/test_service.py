"""deploy/hopwatch.service: systemd's own checks, offline (no systemd needs to run here)."""
import os
import re
import subprocess

import hw
from hw import check, check_eq

UNIT = os.path.join(hw.ROOT, "deploy", "hopwatch.service")


def unit_for_here():
    """The unit with ExecStart pointing at the built binary (/usr/sbin/hopwatch exists only
    once the package is installed)."""
    d = hw.tempdir("unit")
    path = os.path.join(d, "hopwatch.service")
    with open(UNIT) as f:
        text = f.read().replace("/usr/sbin/hopwatch", hw.BIN)
    with open(path, "w") as f:
        f.write(text)
    return path


def man_path():
    """A MANPATH holding docs/hopwatch.8, for the unit's Documentation=man:hopwatch(8) (the
    package installs the page; verify runs man to check that it exists)."""
    d = hw.tempdir("man")
    os.mkdir(os.path.join(d, "man8"))
    os.symlink(os.path.join(hw.ROOT, "docs", "hopwatch.8"), os.path.join(d, "man8", "hopwatch.8"))
    return d


def test_unit_verifies():
    p = subprocess.run(["systemd-analyze", "verify", unit_for_here()], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, MANPATH=man_path()))
    check_eq(p.returncode, 0, "systemd-analyze verify: " + p.stdout + p.stderr)
    check_eq(p.stderr.strip(), "", "no warnings from verify")


def test_unit_security_exposure():
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        unit_for_here()], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 0, "systemd-analyze security: " + p.stderr)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    check(m, "an exposure level: " + p.stdout[-300:])
    # measured 4.0 ("OK"): a BPF agent keeps CAP_SYS_ADMIN and sees every process, so it
    # cannot go much lower; anything above 4.5 means a hardening line was lost
    check(float(m.group(1)) <= 4.5, "exposure %s <= 4.5" % m.group(1))


def test_unit_keeps_only_agent_capabilities():
    with open(UNIT) as f:
        text = f.read()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
    check_eq(sorted(caps), sorted(["CAP_BPF", "CAP_PERFMON", "CAP_SYS_RESOURCE",
                                   "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN"]),
             "bounding set")
    for key in ("NoNewPrivileges=yes", "ProtectSystem=strict", "SystemCallFilter=",
                "StateDirectory=hopwatch", "LogsDirectory=hopwatch"):
        check(key in text, "unit sets " + key)
    check(re.search(r"^SystemCallFilter=.*\bbpf\b.*\bperf_event_open\b", text, re.M),
          "the syscall filter still allows bpf and perf_event_open")
