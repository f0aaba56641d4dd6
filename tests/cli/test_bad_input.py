"""Bad flags, config values and files: one clear line on stderr naming what is wrong, exit 2,
nothing started. These run without root: every check happens before anything is loaded."""
import os
import subprocess
import tempfile

import hw
from hw import check, check_eq, hopwatch


def expect_usage_error(args, *needles, input_files=None):
    p = hopwatch(*args)
    check_eq(p.returncode, 2, "exit code of hopwatch %s" % " ".join(args))
    check_eq(p.stdout, "", "stdout of hopwatch %s" % " ".join(args))
    first = p.stderr.splitlines()[0] if p.stderr else ""
    check(first.startswith("hopwatch: "), "message should start with 'hopwatch: ': %r" % first)
    for n in needles:
        check(n in first, "message %r should mention %r" % (first, n))
    check("agent-started" not in p.stdout, "nothing may start")
    return first


def conf(text):
    fd, path = tempfile.mkstemp(prefix=hw.RUN_ID + "-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def test_unknown_command():
    expect_usage_error(["frobnicate"], "unknown command 'frobnicate'")


def test_no_command():
    p = hopwatch()
    check_eq(p.returncode, 2, "exit code without a command")
    check("Usage: hopwatch" in p.stderr, "usage on stderr")


def test_unknown_option():
    expect_usage_error(["run", "--bogus"], "unknown option '--bogus'")


def test_missing_option_value():
    expect_usage_error(["run", "--duration"], "'--duration' needs a value")


def test_extra_argument():
    expect_usage_error(["run", "stray"], "unexpected argument 'stray'")


def test_bad_durations():
    for bad in ["5x", "10", "-1s", "", "1.5s", "99999999999999999999d", "0s"]:
        expect_usage_error(["run", "--duration", bad], "--duration", "invalid duration")


def test_bad_format():
    expect_usage_error(["run", "-o", "yaml"], "output.format", "yaml")


def test_missing_config_file():
    expect_usage_error(["run", "-c", "/nonexistent/hw.conf"], "/nonexistent/hw.conf",
                       "No such file")


def test_unknown_config_key():
    path = conf("[detect]\nlong_session = 8h\nbogus_key = 1\n")
    try:
        first = expect_usage_error(["run", "-c", path], path, "detect.bogus_key")
        check(":3:" in first, "the line number 3 should be named: %r" % first)
    finally:
        os.unlink(path)


def test_bad_config_values():
    cases = [
        ("[detect]\nlong_session = 8x\n", "detect.long_session"),
        ("[detect]\ninternal_nets = 10.0.0.1/8\n", "detect.internal_nets"),
        ("[detect]\ninternal_nets = 300.0.0.0/8\n", "detect.internal_nets"),
        ("[detect]\nadmin_ports = 22,99999\n", "detect.admin_ports"),
        ("[agent]\nargs_max = 10\n", "agent.args_max"),
        ("[nosuchsection]\nkey = 1\n", "nosuchsection"),
        ("not an ini line\n", ""),
    ]
    for text, needle in cases:
        path = conf(text)
        try:
            expect_usage_error(["run", "-c", path], path, needle)
        finally:
            os.unlink(path)


def test_bad_set():
    expect_usage_error(["run", "--set", "detect.fanout_hosts=zero"], "detect.fanout_hosts")
    expect_usage_error(["run", "--set", "novalue"], "novalue")
    expect_usage_error(["run", "--set", "agent.nosuch=1"], "agent.nosuch")


def test_binary_garbage_config():
    fd, path = tempfile.mkstemp(prefix=hw.RUN_ID + "-", suffix=".conf")
    with os.fdopen(fd, "wb") as f:
        f.write(b"\x00\xff\xfe[agent\x00]\n" * 100)
    try:
        expect_usage_error(["run", "-c", path], path)
    finally:
        os.unlink(path)


def test_netns_not_a_namespace():
    expect_usage_error(["run", "--netns", "/etc/hostname"], "/etc/hostname",
                       "not a network namespace")
    expect_usage_error(["run", "--netns", "/nonexistent/ns"], "/nonexistent/ns")


def test_unwritable_output():
    expect_usage_error(["run", "--output", "/nonexistent/dir/out.json"],
                       "/nonexistent/dir/out.json")


def test_help_and_version():
    p = hopwatch("--help")
    check_eq(p.returncode, 0, "hopwatch --help exit code")
    for word in ["run", "check", "version", "Exit status"]:
        check(word in p.stdout, "--help mentions %r" % word)
    p = hopwatch("run", "--help")
    check_eq(p.returncode, 0, "hopwatch run --help exit code")
    for opt in ["--config", "--format", "--output", "--duration", "--set", "--netns",
                "--host-name", "SIGHUP"]:
        check(opt in p.stdout, "run --help documents %s" % opt)
    p = hopwatch("version")
    check_eq(p.returncode, 0, "version exit code")
    check(p.stdout.startswith("hopwatch "), "version output: %r" % p.stdout)


def test_not_root_is_refused_clearly():
    """Without privileges: one line saying so, exit 1, no stack of libbpf noise."""
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        hw.BIN, "run", "--duration", "1s"], capture_output=True, text=True,
                       timeout=30)
    check_eq(p.returncode, 1, "exit code as an unprivileged user")
    lines = p.stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % p.stderr)
    check("root" in lines[0], "the message says root is needed: %r" % lines[0])


def test_unusable_spool_is_refused():
    """A streaming sink whose spool cannot be made is refused before anything starts."""
    expect_usage_error(["run", "--set", "output.nats_url=nats://127.0.0.1:4222",
                        "--set", "output.spool_dir=/proc/hw-no-spool/x"], "output.spool_dir")
    expect_usage_error(["run", "--set", "output.syslog=127.0.0.1:514",
                        "--set", "output.spool_dir=/proc/hw-no-spool"], "output.spool_dir")


def test_config_fifo_is_refused():
    """Issue 11, finding 14: `-c FIFO` waited forever for a writer; now one line, exit 2,
    at once (run, replay and collect read the config the same way)."""
    d = hw.tempdir("fifo")
    fifo = os.path.join(d, "hopwatch.conf")
    os.mkfifo(fifo)
    for cmd in (["run", "-c", fifo], ["replay", "-c", fifo, os.devnull]):
        p = hopwatch(*cmd, timeout=10)  # fe51dbd: TimeoutExpired
        check_eq(p.returncode, 2, "exit status of %r" % cmd)
        check_eq(p.stderr.count("\n"), 1, "one line: %r" % p.stderr)
        check(fifo in p.stderr and "not a regular file" in p.stderr, p.stderr)


def test_replay_long_line_is_read_bounded():
    """Issue 11, finding 14: replay read a whole 1 GB line (getline) before refusing it. A
    256 MiB line between two good ones: replay's memory stays far below the line's size, the
    line is reported as FILE:LINE line longer than ..., the next lines are replayed, exit 3."""
    good = ('{"@timestamp":"2026-01-01T00:00:00Z","event":{"action":"exec","kind":"event"},'
            '"host":{"id":"h1","name":"h1"},"process":{"pid":1,"entity_id":"e1"}}\n')
    script = ("import sys\n"
              "o = sys.stdout.buffer\n"
              "o.write(%r.encode())\n"
              "chunk = b'x' * (1 << 20)\n"
              "for _ in range(256):\n"
              "    o.write(chunk)\n"
              "o.write(b'\\n' + %r.encode() * 2)\n" % (good, good))
    d = hw.tempdir("long")
    with open(os.path.join(d, "out"), "w+") as out, open(os.path.join(d, "err"), "w+") as ef:
        gen = subprocess.Popen(["python3", "-c", script], stdout=subprocess.PIPE)
        p = subprocess.Popen([hw.BIN, "replay", "-o", "json", "-"], stdin=gen.stdout,
                             stdout=out, stderr=ef)
        gen.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)  # its own peak RSS
        p.returncode = os.waitstatus_to_exitcode(status)
        gen.wait(60)
        ef.seek(0)
        err = ef.read()
    check_eq(p.returncode, 3, "exit status: " + err)
    check("(stdin):2: malformed event: line longer than" in err, "FILE:LINE line longer than: " + err)
    check("replayed 4 lines: 3 events" in err, "the lines after it are replayed: " + err)
    check(ru.ru_maxrss < 64 * 1024, "peak RSS %d KiB for a 256 MiB line (fe51dbd: over "
          "256 MiB)" % ru.ru_maxrss)
