"""`make check-format`: every C file of the tree (user/, bpf/, include/, the C of tests/) is as
.clang-format makes it (kernel style, tabs, 100 columns). `make format` fixes a tree that is
not. Run here so that `make test` reports it as one failure among the others."""
import os
import subprocess

import hw
from hw import check


def test_tree_is_clang_format_clean():
    p = subprocess.run(["make", "-s", "--no-print-directory", "check-format"], cwd=hw.ROOT,
                       capture_output=True, text=True, timeout=300)
    files = sorted({line.split(":")[0] for line in p.stderr.splitlines()
                    if ": error: code should be clang-formatted" in line})
    check(p.returncode == 0, "not clang-format clean (run 'make format'): %d files: %s%s"
          % (len(files), " ".join(os.path.relpath(f, hw.ROOT) if f.startswith("/") else f
                                 for f in files[:20]), "" if files else p.stderr[-2000:]))


def test_the_check_fails_on_a_misformatted_file():
    """the check can fail: a file with a stray indentation is found"""
    d = hw.tempdir("fmt")
    bad = os.path.join(d, "bad.c")
    with open(bad, "w") as f:
        f.write("int main(void)\n{\n      return 0;\n}\n")
    with open(os.path.join(d, ".clang-format"), "w") as f, \
            open(os.path.join(hw.ROOT, ".clang-format")) as src:
        f.write(src.read())
    p = subprocess.run(["clang-format", "--dry-run", "-Werror", bad], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode != 0 and "bad.c" in p.stderr, "a misformatted file is found: %r"
          % p.stderr)
