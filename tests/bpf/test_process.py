"""Process events from the real BPF programs: each is triggered for real and its fields checked
against what the test knows (its own pid, the arguments it passed, the cwd it chose)."""
import os
import pwd
import signal
import subprocess
import time

import hw
from hw import Agent, check, check_eq, get

SH = os.path.realpath("/bin/sh")
TRUE = os.path.realpath("/bin/true")
SLEEP = os.path.realpath("/bin/sleep")

# Arguments a shell would mangle: spaces, quotes, newlines, control and non-UTF-8 bytes.
ODD_ARGS = [b"with space", b'dq"uote', b"sq'uote", b"new\nline", b"tab\there", b"\x01\x1f\x7f",
            b"bad \xff\xfe utf8", b"trunc \xe2\x82", b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
            b"", b"back\\slash"]


def expect_json_arg(raw):
    """What the JSON writer must turn raw argv bytes into: invalid UTF-8 replaced per maximal
    subpart, which is Python's own 'replace' behaviour."""
    return raw.decode("utf-8", errors="replace")


def by_pid(events, pid, action):
    return [e for e in events if get(e, "event.action") == action and get(e, "process.pid") == pid]


def own_entity(events):
    me = [e for e in events if get(e, "event.action") == "existing_process"
          and get(e, "process.pid") == os.getpid()]
    check_eq(len(me), 1, "snapshot entries for the test process itself")
    return me[0]


def test_exec_fork_exit_fields():
    cwd = hw.tempdir("cwd")
    argv = [SH.encode(), b"-c", b"exit 7", b"arg0"] + ODD_ARGS
    with Agent() as agent:
        child = subprocess.Popen(argv, cwd=cwd)
        child.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == child.pid)
    check_eq(agent.rc, 0, "agent exit code")
    events = agent.events()
    me = own_entity(events)

    forks = by_pid(events, child.pid, "fork")
    execs = by_pid(events, child.pid, "exec")
    exits = by_pid(events, child.pid, "exit")
    check_eq((len(forks), len(execs), len(exits)), (1, 1, 1), "fork/exec/exit of the child")
    fork, ex, exit_ = forks[0], execs[0], exits[0]

    # one process, one entity id, across its fork, exec and exit
    eid = get(fork, "process.entity_id")
    check(eid and len(eid) >= 16, "entity id: %r" % eid)
    check_eq(get(ex, "process.entity_id"), eid, "exec entity id = fork entity id")
    check_eq(get(exit_, "process.entity_id"), eid, "exit entity id = fork entity id")
    for e in (fork, ex, exit_):
        check_eq(get(e, "process.parent.pid"), os.getpid(), "parent pid")
        check_eq(get(e, "process.parent.entity_id"), get(me, "process.entity_id"),
                 "parent entity id = the snapshot's entity id of the test process")
        check_eq(get(e, "process.thread.id"), child.pid, "thread id")
        check_eq(get(e, "host.name"), os.uname().nodename, "host.name")
        check(get(e, "host.id"), "host.id present")
        check_eq(get(e, "event.category"), ["process"], "event.category")

    # the fork inherits the parent's image: the test's own python
    check_eq(get(fork, "event.type"), ["start"], "fork event.type")
    check_eq(get(fork, "process.executable"), get(me, "process.executable"),
             "fork executable (inherited)")

    check_eq(get(ex, "event.kind"), "event", "exec event.kind")
    check_eq(get(ex, "event.type"), ["start"], "exec event.type")
    check_eq(get(ex, "process.executable"), SH, "exec executable (resolved path)")
    check_eq(get(ex, "process.name"), os.path.basename(SH), "process.name")
    want_args = [a.decode() for a in argv[:4]] + [expect_json_arg(a) for a in ODD_ARGS]
    check_eq(get(ex, "process.args"), want_args, "exec args, byte-exact")
    check_eq(get(ex, "process.args_count"), len(argv), "args_count")
    check_eq(get(ex, "process.working_directory"), cwd, "working_directory")
    check_eq(get(ex, "hopwatch.comm"), os.path.basename(SH), "comm")
    check(get(ex, "hopwatch.truncated") is None, "not truncated")
    uid = os.getuid()
    check_eq(get(ex, "user.id"), str(uid), "user.id")
    check_eq(get(ex, "user.name"), pwd.getpwuid(uid).pw_name, "user.name")
    check_eq(get(ex, "user.effective.id"), str(os.geteuid()), "user.effective.id")
    check_eq(get(ex, "group.id"), str(os.getgid()), "group.id")
    check_eq(get(ex, "hopwatch.netns"), os.stat("/proc/self/ns/net").st_ino, "netns inode")
    with open("/proc/self/loginuid") as f:
        loginuid = int(f.read())
    if loginuid != 0xFFFFFFFF:
        check_eq(get(ex, "hopwatch.audit.loginuid"), loginuid, "audit loginuid")
    else:
        check(get(ex, "hopwatch.audit.loginuid") is None, "no loginuid when unset")
    start = get(ex, "process.start")
    check(start and start.endswith("Z") and "T" in start, "process.start RFC 3339: %r" % start)
    check(get(ex, "@timestamp") >= start, "exec after start")

    check_eq(get(exit_, "event.type"), ["end"], "exit event.type")
    check_eq(get(exit_, "process.exit_code"), 7, "exit code")
    check_eq(get(exit_, "process.executable"), SH, "exit carries the executable")
    check_eq(get(exit_, "process.args"), want_args, "exit carries the args")
    check(get(exit_, "process.end") >= start, "process.end")


def test_many_args_and_truncation():
    many = [TRUE.encode()] + [b"a%03d" % i for i in range(200)]
    big = [TRUE.encode()] + [b"x" * 100 for _ in range(60)]  # 6 KB > the 4096 default
    with Agent() as agent:
        p1 = subprocess.Popen(many)
        p1.wait()
        p2 = subprocess.Popen(big)
        p2.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == p2.pid)
    events = agent.events()
    e1 = by_pid(events, p1.pid, "exec")[0]
    check_eq(get(e1, "process.args"), [a.decode() for a in many], "200 args, exact")
    check_eq(get(e1, "process.args_count"), 201, "args_count of 201")
    e2 = by_pid(events, p2.pid, "exec")[0]
    check_eq(get(e2, "hopwatch.truncated"), ["process.args"], "truncation flagged")
    args = get(e2, "process.args")
    joined = "\0".join(args)
    check(len(joined.encode()) <= 4096, "no more than agent.args_max bytes")
    check(len(args) >= 40, "kept what fits: %d args" % len(args))
    check(all(a == "x" * 100 for a in args[1:-1]), "complete args before the cut")
    check(("x" * 100).startswith(args[-1]), "the last arg is a prefix, never garbage")


def test_args_max_setting():
    big = [TRUE.encode()] + [b"y" * 100 for _ in range(60)]
    with Agent("--set", "agent.args_max=8192") as agent:
        p = subprocess.Popen(big)
        p.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == p.pid)
    ex = by_pid(agent.events(), p.pid, "exec")[0]
    check_eq(get(ex, "process.args"), [a.decode() for a in big], "all args with 8192")
    check(get(ex, "hopwatch.truncated") is None, "no truncation with 8192")


def test_signal_exit():
    with Agent() as agent:
        p = subprocess.Popen([SLEEP, "300"])
        agent.wait_for(lambda e: get(e, "event.action") == "exec"
                       and get(e, "process.pid") == p.pid)
        p.send_signal(signal.SIGKILL)
        p.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == p.pid)
    ex = by_pid(agent.events(), p.pid, "exit")[0]
    check_eq(get(ex, "process.exit_code"), 128 + 9, "exit code of a SIGKILLed process")
    check_eq(get(ex, "hopwatch.exit.signal"), 9, "signal number")


def test_deleted_executable_flagged():
    d = hw.tempdir("del")
    exe = os.path.join(d, "vanish")
    with open(TRUE, "rb") as src, open(exe, "wb") as dst:
        dst.write(src.read())
    os.chmod(exe, 0o755)
    with Agent() as agent:
        # the shell removes the file, then execs it from a still-open fd
        p = subprocess.Popen([SH, "-c", 'exec 3<"$1"; rm -f "$1"; exec /proc/self/fd/3',
                              "sh", exe])
        p.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == p.pid)
    execs = by_pid(agent.events(), p.pid, "exec")
    check_eq(len(execs), 2, "the shell's exec and the deleted file's exec")
    check_eq(get(execs[1], "process.executable"), exe, "path of the deleted file")
    check_eq(get(execs[1], "hopwatch.exe_unlinked"), True, "unlinked flag")


def test_snapshot_of_earlier_process():
    marker = "hw-snapshot-%s" % hw.RUN_ID
    cwd = hw.tempdir("snap")
    pre = subprocess.Popen([SH, "-c", "sleep 300; : %s" % marker], cwd=cwd)
    try:
        time.sleep(0.3)
        with Agent() as agent:
            pass
        events = agent.events()
        check_eq(get(events[0], "event.action"), "agent-started", "first line")
        check_eq(get(events[-1], "event.action"), "agent-stopped", "last line")
        snap = [e for e in events if get(e, "event.action") == "existing_process"]
        check_eq(get(events[0], "hopwatch.agent.snapshot.processes"), len(snap),
                 "agent-started counts the snapshot")
        mine = [e for e in snap if get(e, "process.pid") == pre.pid]
        check_eq(len(mine), 1, "the earlier process is in the snapshot")
        e = mine[0]
        check_eq(get(e, "event.kind"), "state", "snapshot event.kind")
        check_eq(get(e, "process.args"), [SH, "-c", "sleep 300; : %s" % marker], "args")
        check_eq(get(e, "process.executable"), SH, "executable")
        check_eq(get(e, "process.working_directory"), cwd, "cwd")
        check_eq(get(e, "process.parent.pid"), os.getpid(), "parent pid")
        check_eq(get(e, "process.parent.entity_id"), get(own_entity(events), "process.entity_id"),
                 "parent entity id")
        with open("/proc/%d/stat" % pre.pid) as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        started = time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
        got = get(e, "process.start")
        got_s = time.mktime(time.strptime(got[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        check(abs(got_s - started) < 2, "true start time: %s vs %.0f" % (got, started))
        # kernel events of the same process carry the same entity id
        with Agent() as agent2:
            pre.send_signal(signal.SIGTERM)
            pre.wait()
            agent2.wait_for(lambda x: get(x, "event.action") == "exit"
                            and get(x, "process.pid") == pre.pid)
        ex = by_pid(agent2.events(), pre.pid, "exit")[0]
        check_eq(get(ex, "process.entity_id"), get(e, "process.entity_id"),
                 "snapshot and kernel agree on the entity id")
        check_eq(get(ex, "process.args"), get(e, "process.args"), "exit has the snapshot's args")
    finally:
        if pre.poll() is None:
            pre.kill()
            pre.wait()


def test_netns_scoping():
    with hw.Netns("a") as ns:
        ino = os.stat(ns.path).st_ino
        inside_pre = ns.popen([SLEEP, "301"])
        try:
            time.sleep(0.3)
            with Agent("--netns", ns.path, "--host-name", "host-a") as agent:
                ns.run([TRUE, "inside-%s" % hw.RUN_ID], check=True)
                subprocess.run([TRUE, "outside-%s" % hw.RUN_ID], check=True)
                agent.wait_for(lambda e: get(e, "event.action") == "exec"
                               and "inside-%s" % hw.RUN_ID in (get(e, "process.args") or []))
                time.sleep(0.3)
            events = agent.events()
        finally:
            inside_pre.kill()
            inside_pre.wait()
    procs = [e for e in events if get(e, "event.category") == ["process"]]
    check(procs, "events from the namespace")
    for e in procs:
        check_eq(get(e, "hopwatch.netns"), ino, "every process event is in the namespace")
        check_eq(get(e, "host.name"), "host-a", "--host-name")
    args = [" ".join(get(e, "process.args") or []) for e in procs]
    check(any("outside-" in a for a in args) is False, "the host's exec is not reported")
    snap = [e for e in procs if get(e, "event.action") == "existing_process"]
    check([get(e, "process.args") for e in snap] == [[SLEEP, "301"]],
          "the snapshot holds only the namespace's process: %r" %
          [get(e, "process.args") for e in snap])
    check_eq(get(events[0], "hopwatch.agent.netns"), ns.path, "agent-started names the netns")


def test_args_max_upper_bound():
    huge = [TRUE.encode()] + [b"z" * 1000 for _ in range(20)]  # 20 KB
    with Agent("--set", "agent.args_max=16384") as agent:
        p = subprocess.Popen(huge)
        p.wait()
        agent.wait_for(lambda e: get(e, "event.action") == "exit"
                       and get(e, "process.pid") == p.pid)
    ex = by_pid(agent.events(), p.pid, "exec")[0]
    check_eq(get(ex, "hopwatch.truncated"), ["process.args"], "truncated at the maximum")
    kept = "\0".join(get(ex, "process.args")).encode()
    check_eq(len(kept), 16384, "exactly agent.args_max bytes kept")
