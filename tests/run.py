#!/usr/bin/env python3
"""Runs every test tier and prints one closing line "N passed, N failed[, N skipped]".

Tiers: unit (C, no root), fuzz (short libFuzzer runs), cli (bad input, no root), bpf (root:
the real programs on the real kernel), e2e (root: real attacks between hosts in namespaces,
with real sshd, judged by the detection rules), kernels (no root: the static agent booted
under qemu on other kernels, tests/kernels). Root tiers fail, never skip, when CI is set or the
caller is root; a developer without root sees them skipped.

Usage: tests/run.py [TIER|NAME-SUBSTRING]...
"""
import importlib.util
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
import hw  # noqa: E402

FUZZ_SECONDS = int(os.environ.get("HW_FUZZ_SECONDS", "10"))
# fuzz targets run this many at a time (each is one thread): the CPUs, the tier in a fraction
FUZZ_JOBS = max(1, int(os.environ.get("HW_FUZZ_JOBS", str(os.cpu_count() or 1))))
results = {"passed": 0, "failed": 0, "skipped": 0}
failures = []


def record(name, status, detail=""):
    results[status] += 1
    tag = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[status]
    print("%s %s%s" % (tag, name, (" - " + detail) if detail else ""), flush=True)
    if status == "failed":
        failures.append(name)


def wanted(name, filters):
    return not filters or any(f in name for f in filters)


def run_unit(filters):
    if not wanted("unit", filters):
        return
    p = subprocess.run([os.path.join(ROOT, "build", "unit-tests")], capture_output=True, cwd=ROOT,
                       text=True)
    m = None
    for line in p.stdout.splitlines():
        m2 = re.match(r"^(\d+) passed, (\d+) failed$", line)
        if m2:
            m = m2
            continue
        if line.startswith("ok   "):
            results["passed"] += 1
            print(line)
        elif line.startswith("FAIL "):
            results["failed"] += 1
            failures.append(line[5:])
            print(line)
        else:
            print(line)
    if not m or p.returncode not in (0, 1):
        record("unit/runner", "failed", "exit %d, no closing line: %s" % (p.returncode,
                                                                        p.stderr[-500:]))


def run_fuzz(filters):
    fuzz_dir = os.path.join(ROOT, "build", "fuzz")
    if not os.path.isdir(fuzz_dir):
        if not filters or any(f.startswith("fuzz") for f in filters):
            record("fuzz", "failed", "no fuzz targets built (make fuzz)")
        return
    todo = []
    for name in sorted(os.listdir(fuzz_dir)):
        full = "fuzz/" + name
        path = os.path.join(fuzz_dir, name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) or not wanted(full, filters):
            continue
        corpus = os.path.join(ROOT, "build", "fuzz-corpus", name)
        seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
        os.makedirs(corpus, exist_ok=True)
        artifacts = os.path.join(ROOT, "build", "fuzz-artifacts") + "/"
        os.makedirs(artifacts, exist_ok=True)
        args = [path, "-max_total_time=%d" % FUZZ_SECONDS, "-rss_limit_mb=1024",
                "-artifact_prefix=" + artifacts,
                "-print_final_stats=1", corpus]
        if os.path.isdir(seeds):
            args.append(seeds)
        todo.append((full, args))
    # FUZZ_JOBS at a time; reported in name order when each is done
    running, done = [], {}
    while todo or running:
        while todo and len(running) < FUZZ_JOBS:
            full, args = todo.pop(0)
            err = open(os.path.join(ROOT, "build", "fuzz-artifacts",
                                    "%s.log" % os.path.basename(args[0])), "w+")
            running.append((full, subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                                   stderr=err), err))
        full, p, err = running.pop(0)
        p.wait()
        err.seek(0)
        done[full] = (p.returncode, err.read())
        err.close()
    for full in sorted(done):
        rc, text = done[full]
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        if rc == 0:
            record(full, "passed", "%s runs in %ds" % (runs[-1] if runs else "?", FUZZ_SECONDS))
        else:
            record(full, "failed", text[-2000:])


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def devnull_state():
    st = os.stat(os.devnull)
    return (st.st_uid, st.st_gid, st.st_mode)


def devnull_guard(before):
    """A test that changed /dev/null (a tool that hands its -w FILE to its own user) fails,
    and /dev/null is put back (as root), so the tests after it judge their own code."""
    after = devnull_state()
    if after == before:
        return ""
    if os.geteuid() == 0:
        os.chown(os.devnull, before[0], before[1])
        os.chmod(os.devnull, before[2] & 0o7777)
    return "/dev/null changed from uid %d mode %o to uid %d mode %o" % (
        before[0], before[2] & 0o7777, after[0], after[2] & 0o7777)


def run_python_tier(tier, needs_root, filters):
    tier_dir = os.path.join(HERE, tier)
    can_root = os.geteuid() == 0
    must_run = os.environ.get("CI") or can_root
    for fname in sorted(os.listdir(tier_dir)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = load_module(os.path.join(tier_dir, fname))
        # a file of a no-root tier that sets NEEDS_ROOT = True (cli/test_deb.py installs
        # the package) is run like a root tier
        root_only = needs_root or getattr(mod, "NEEDS_ROOT", False)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            name = "%s/%s.%s" % (tier, fname[5:-3], attr[5:])
            if not wanted(name, filters):
                continue
            if root_only and not can_root:
                if must_run:
                    record(name, "failed", "needs root, which CI has")
                else:
                    record(name, "skipped", "needs root")
                continue
            start = time.time()
            null = devnull_state()
            try:
                getattr(mod, attr)()
                changed = devnull_guard(null)
                if changed:
                    record(name, "failed", changed)
                else:
                    record(name, "passed", "%.1fs" % (time.time() - start))
            except Exception as e:  # noqa: BLE001 - every failure is reported
                detail = str(e) if isinstance(e, hw.TestFailure) else traceback.format_exc()
                changed = devnull_guard(null)
                record(name, "failed", detail + ("; " + changed if changed else ""))


def main():
    filters = sys.argv[1:]
    run_unit(filters)
    run_fuzz(filters)
    run_python_tier("cli", False, filters)
    run_python_tier("bpf", True, filters)
    run_python_tier("e2e", True, filters)
    run_python_tier("kernels", False, filters)
    if failures:
        print("\nfailed: " + ", ".join(failures))
    line = "%d passed, %d failed" % (results["passed"], results["failed"])
    if results["skipped"]:
        line += ", %d skipped" % results["skipped"]
    print(line)
    sys.exit(1 if results["failed"] or not (results["passed"]) else 0)


if __name__ == "__main__":
    main()
