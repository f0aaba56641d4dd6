"""The build: the version compiled in follows the tree. HW_VERSION (`git describe`) is given on
the compiler's command line, so make alone would not build again the files that use it when
only the tree's commit changed, and `hopwatch version`, agent-started and the bench's reports
would name an older commit. `make -n` with another VERSION must build those files again, and
only those (with any the tree has changed since its build)."""
import os
import re
import subprocess

import hw
from hw import check, check_eq


def dry_run(version=None):
    """The user/ files `make -n` would compile for build/hopwatch."""
    args = ["make", "-n"] + (["VERSION=" + version] if version else []) + ["build/hopwatch"]
    p = subprocess.run(args, cwd=hw.ROOT,
                       capture_output=True, text=True, timeout=120)
    check_eq(p.returncode, 0, "make -n: " + p.stderr)
    return set(re.findall(r"-c (user/\S+\.c) -o", p.stdout))


def test_version_change_builds_its_users_again():
    users = set()
    for top, _, files in os.walk(os.path.join(hw.ROOT, "user")):
        for name in files:
            path = os.path.join(top, name)
            if name.endswith(".c") and "HW_VERSION" in open(path, errors="replace").read():
                users.add(os.path.relpath(path, hw.ROOT))
    check("user/main.c" in users, "main.c prints the version: %r" % sorted(users))
    stale = dry_run()  # out of date anyway (a tree edited since its build): none in CI
    probe = "hw-build-probe-%d" % os.getpid()
    check_eq(dry_run(probe), users | stale, "compiled again for VERSION=" + probe)
