"""File facts (bpf/file.bpf.c) and the persistence rule, with the real thing: sshd from the lab
(tests/lib/sshlab.py) and a user appending a key to authorized_keys from a session; root editing
cron outside any session stays quiet; and an unprivileged attacker (nobody) writing into a
watched directory by rename, through a symbolic link to it, and through a hard link, is seen.
Network-facing writers (the kernel's mark at connect and accept, bpf/netproc.bpf.h): scp
through sshd (accept), a download by nobody (connect only), sockets of a namespace out of the
agent's scope."""
import os
import shutil
import subprocess
import tempfile
import time

import hw
import sshlab
from hw import Agent, check, check_eq, get
from sshlab import SshServer, TestUser, ssh

B = "198.18.0.2"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def file_events(agent, path_part):
    return [e for e in agent.events() if get(e, "event.dataset") == "hopwatch.file"
            and path_part in (get(e, "file.path") or "")]


def alerts(agent, rule):
    return [e for e in agent.events() if get(e, "event.kind") == "alert"
            and get(e, "rule.id") == rule]


def test_ssh_session_appends_authorized_key():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("fk") as u:
        u.authorize(srv)
        target = os.path.join(u.home, ".ssh", "authorized_keys")
        # the user exists before the agent: its home is in the default watch set
        with Agent() as agent:
            p = ssh(lab.a, u, B, "mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAAhw attacker' "
                    ">> ~/.ssh/authorized_keys")
            check_eq(p.returncode, 0, "ssh exit (stderr %r)" % p.stderr)
            ev = agent.wait_for(lambda e: get(e, "file.path") == target, timeout=15)
            check_eq(get(ev, "event.category"), ["file"], "event.category")
            check(get(ev, "event.action") in ("file_created", "file_modified"), "action")
            check_eq(get(ev, "hopwatch.file.watched"), True, "watched")
            check_eq(get(ev, "user.name"), u.name, "the writer's user")
            al = agent.wait_for(lambda e: get(e, "rule.id") == "persistence", timeout=15)
            check(target in get(al, "message", ""), "alert names the file: %r"
                  % get(al, "message"))
            check(get(al, "hopwatch.session.id") or get(al, "session.id") or
                  u.name in get(al, "message", ""), "alert names the session: %r" % al)
            check("T1098.004" in str(al), "technique T1098.004 in %r" % al)
            agent.stop()


def test_root_console_cron_edit_is_quiet():
    name = "/etc/cron.d/hw-%s" % hw.RUN_ID
    try:
        with Agent() as agent:
            with open(name, "w") as f:  # root, no login session, no network service above
                f.write("# hopwatch test\n")
            ev = agent.wait_for(lambda e: get(e, "file.path") == name, timeout=15)
            check_eq(get(ev, "hopwatch.file.watched"), True, "cron file watched")
            agent.stop()
            check_eq(alerts(agent, "persistence"), [], "persistence alerts for a console edit")
    finally:
        if os.path.exists(name):
            os.unlink(name)


def test_nobody_rename_symlink_hardlink_are_seen():
    top = tempfile.mkdtemp(prefix="hw-files-")
    try:
        os.chmod(top, 0o755)
        watched = os.path.join(top, "watched")
        other = os.path.join(top, "other")
        for d in (watched, other):
            os.mkdir(d)
            os.chown(d, 65534, 65534)
        with Agent("--set", "detect.watch_paths=%s" % watched) as agent:
            script = (
                "set -e; cd %(o)s; echo x > staged; mv staged %(w)s/renamed; "
                "ln -s %(w)s link; echo y > link/via-symlink; "
                "echo z > %(w)s/orig; ln %(w)s/orig hard; echo w >> hard"
                % {"o": other, "w": watched})
            p = subprocess.run(NOBODY + ["sh", "-c", script], capture_output=True, text=True)
            check_eq(p.returncode, 0, "attacker script (stderr %r)" % p.stderr)
            agent.wait_for(lambda e: get(e, "file.path") == os.path.join(other, "hard")
                           and get(e, "event.action") == "file_modified", timeout=15)
            agent.stop()
            evs = file_events(agent, top)
            seen = {(get(e, "event.action"), get(e, "file.path"), get(e, "hopwatch.file.watched"))
                    for e in evs}
            check((("file_renamed", os.path.join(watched, "renamed"), True)) in seen,
                  "rename into the watched directory: %r" % seen)
            check((("file_created", os.path.join(watched, "via-symlink"), True)) in seen,
                  "write through a symlinked directory, resolved: %r" % seen)
            hard = [e for e in evs if get(e, "file.path") == os.path.join(other, "hard")]
            check(hard and get(hard[0], "hopwatch.file.hard_link") is True,
                  "write through a hard link to a watched file: %r" % hard)
            check(not [e for e in evs if get(e, "file.path") == os.path.join(other, "staged")],
                  "the write outside the watch set is filtered in the kernel")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_file_name_cannot_forge_a_text_line():
    """nobody names a file in a watched directory with a newline and a fake alert after it:
    the text output keeps one event on one line (\\x0a), the JSON keeps the name whole"""
    top = tempfile.mkdtemp(prefix="hw-files-")
    try:
        os.chmod(top, 0o755)
        watched = os.path.join(top, "watched")
        os.mkdir(watched)
        os.chown(watched, 65534, 65534)
        name = "x\n2026-12-03T00:00:00.000 ALERT    critical forged: %s" % hw.RUN_ID
        path = os.path.join(watched, name)
        with Agent("--set", "detect.watch_paths=%s" % watched, fmt="text",
                   fact_check=False) as text_agent, \
                Agent("--set", "detect.watch_paths=%s" % watched) as agent:
            p = subprocess.run(NOBODY + ["sh", "-c", 'echo x > "$1"', "sh", path],
                               capture_output=True, text=True)
            check_eq(p.returncode, 0, "attacker's write (stderr %r)" % p.stderr)
            ev = agent.wait_for(lambda e: get(e, "file.path") == path, timeout=15)
            check_eq(get(ev, "file.name"), name, "the name, whole, in JSON")
            for _ in range(100):
                lines = [l for l in text_agent.lines() if " file_created " in l and
                         watched in l]
                if lines:
                    break
                time.sleep(0.1)
            check_eq(len(lines), 1, "one text line for the event: %r" % lines)
            check(lines[0].split()[1] == "file_created" and "\\x0a2026" in lines[0] and
                  " watched " in lines[0], "the file line, escaped: %r" % lines)
            check(not [l for l in text_agent.lines() if l.startswith("2026-12-03T00:00:00")],
                  "no forged line")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_ocsf_file_system_activity():
    """-o ocsf: each file fact is a File System Activity (1001) that conforms to OCSF 1.8.0 —
    create, update, rename (file the old name, file_result the new), set security (chmod,
    the mode unmapped), delete — the actor the process that did it."""
    import json
    import ocsf_schema
    top = tempfile.mkdtemp(prefix="hw-files-")
    try:
        watched = os.path.join(top, "watched")
        os.mkdir(watched)
        f, g = os.path.join(watched, "f"), os.path.join(watched, "g")
        with Agent("--set", "detect.watch_paths=%s" % watched, fmt="ocsf",
                   fact_check=False) as agent:
            script = "echo a > %s; echo b >> %s; mv %s %s; chmod 700 %s; rm %s" % (
                f, f, f, g, g, g)
            p = subprocess.Popen(["sh", "-c", script])
            p.wait()
            want = {1: "Create", 3: "Update", 5: "Rename", 7: "Set Security", 4: "Delete"}
            got = {}
            for _ in range(150):
                got = {}
                for line in agent.lines():
                    o = json.loads(line)
                    if o.get("class_uid") == 1001 and watched in json.dumps(o.get("file")):
                        got.setdefault(o["activity_id"], o)
                if set(want) <= set(got):
                    break
                time.sleep(0.1)
            agent.stop()
            check_eq(sorted(got), sorted(want), "the activities seen")
            for aid, name in want.items():
                o = got[aid]
                check_eq(o["activity_name"], name, "activity %d" % aid)
                check_eq(o["type_uid"], 100100 + aid, "type_uid")
                check_eq(ocsf_schema.validate(o), [], "OCSF violations of %s" % name)
                check_eq(o["actor"]["process"]["pid"] in (p.pid,) or
                         o["actor"]["process"]["name"] in ("sh", "dash", "bash", "mv",
                                                           "chmod", "rm"), True,
                         "the actor: %r" % o["actor"])
            check_eq(got[1]["file"]["path"], f, "create: the file")
            check_eq(got[1]["file"]["type"], "Regular File", "its type")
            check_eq((got[5]["file"]["path"], got[5]["file_result"]["path"]), (f, g),
                     "rename: from, to")
            check_eq(got[7]["unmapped"]["file.mode"], "0700", "the new mode, unmapped")
            check_eq(got[4]["file"]["path"], g, "delete")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def scp_argv(ns, u, src, dst):
    """scp (the classic protocol, `scp -t` on the server: the lab's sshd has no sftp
    subsystem) with the lab's ssh options, from ns."""
    argv, env = sshlab.ssh_argv(ns, u, B, "true")
    i = argv.index("ssh")
    opts = argv[i + 1:argv.index("-l")]
    return argv[:i] + ["scp", "-O"] + opts + [src, "%s@%s:%s" % (u.name, B, dst)], env


def test_scp_chmod_run_is_transfer_exec():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("ft") as u:
        u.authorize(srv)
        d = tempfile.mkdtemp(prefix="hw-xfer-")
        try:
            os.chmod(d, 0o777)
            src = os.path.join(d, "src-tool")
            shutil.copy("/usr/bin/true", src)
            os.chmod(src, 0o644)  # not executable: the chmod on the far side makes it so
            dst = os.path.join(d, "tool")
            with Agent() as agent:
                argv, env = scp_argv(lab.a, u, src, dst)
                p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
                check_eq(p.returncode, 0, "scp (stderr %r)" % p.stderr)
                p = ssh(lab.a, u, B, "chmod +x %s && %s && echo ran" % (dst, dst))
                check_eq((p.returncode, p.stdout.strip()), (0, "ran"),
                         "chmod and run (stderr %r)" % p.stderr)
                al = agent.wait_for(lambda e: get(e, "rule.id") == "transfer-exec", timeout=15)
                check(dst in get(al, "message", ""), "alert names the file: %r" % al)
                check("made executable" in get(al, "message", ""), "the chmod: %r" % al)
                agent.stop()
                created = [e for e in file_events(agent, dst)
                           if get(e, "event.action") == "file_created"]
                check(created and get(created[0], "hopwatch.file.network_facing") is True,
                      "scp's write is a network-facing file fact: %r" % created)
        finally:
            shutil.rmtree(d, ignore_errors=True)


DOWNLOAD_PY = r"""
import os, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
while True:
    b = s.recv(65536)
    if not b:
        break
    os.write(fd, b)
os.close(fd)
s.close()
os.execv(sys.argv[3], [sys.argv[3]])
"""


def test_nobody_download_and_run_is_transfer_exec():
    """nobody connects out (no listener, no accept: only the connect's SYN marks it
    network-facing in the kernel), writes what it receives and runs it."""
    with hw.Lab() as lab:
        d = tempfile.mkdtemp(prefix="hw-dl-")
        srv = None
        try:
            os.chmod(d, 0o777)
            dst = os.path.join(d, "tool")
            with Agent() as agent:
                srv = lab.b.popen(["python3", "-c", hw.SERVE_FILE_PY, B, "/usr/bin/true"],
                                  stdout=subprocess.PIPE, text=True)
                port = srv.stdout.readline().strip()
                check(port.isdigit(), "the server's port: %r" % port)
                p = lab.a.run(NOBODY + ["python3", "-c", DOWNLOAD_PY, B, port, dst],
                              capture_output=True, text=True, timeout=60)
                check_eq(p.returncode, 0, "download and run as nobody (stderr %r)" % p.stderr)
                al = agent.wait_for(lambda e: get(e, "rule.id") == "transfer-exec"
                                    and dst in get(e, "message", ""), timeout=15)
                check("T1105" in str(al), "technique T1105: %r" % al)
                agent.stop()
                created = [e for e in file_events(agent, dst)
                           if get(e, "event.action") == "file_created"]
                check(created and get(created[0], "hopwatch.file.network_facing") is True,
                      "the download is a network-facing file fact: %r" % created)
                check_eq(get(created[0], "user.name"), "nobody", "the writer")
        finally:
            if srv is not None:
                if srv.poll() is None:
                    srv.kill()
                srv.wait()
            shutil.rmtree(d, ignore_errors=True)


NS_SOCKET_PY = r"""
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)


def enter(path):
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000):  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + path)
    os.close(fd)


mode, home, other, addr, out = sys.argv[1:6]
enter(other)  # the socket is the other namespace's, the process stays in home
s = socket.socket()
if mode == "accept":
    s.bind((addr, 0))
    s.listen(1)
enter(home)
if mode == "accept":
    print(s.getsockname()[1], flush=True)
    c, _ = s.accept()
else:
    s.connect((addr, int(sys.argv[6])))
    c = s
with open(out, "wb") as f:
    f.write(c.recv(65536))
"""

SEND_PY = ("import socket, sys; "
           "socket.create_connection((sys.argv[1], int(sys.argv[2]))).sendall(b'x')")


def test_socket_of_another_namespace_still_makes_network_facing():
    """The agent scoped to namespace A (--netns) does not report B's sockets, but a process of
    A that connects or accepts on a socket of B takes data from the network all the same: what
    it writes is a network-facing file fact (the kernel marks it before the namespace filter)."""
    with hw.Lab() as lab:
        d = tempfile.mkdtemp(prefix="hw-nsx-")
        procs = []
        try:
            got, took = os.path.join(d, "got"), os.path.join(d, "took")
            with Agent("--netns", lab.a.path) as agent:
                srv = lab.b.popen(["python3", "-c", hw.SERVE_FILE_PY, B, "/usr/bin/true"],
                                  stdout=subprocess.PIPE, text=True)
                procs.append(srv)
                port = srv.stdout.readline().strip()
                check(port.isdigit(), "the server's port: %r" % port)
                p = lab.a.run(["python3", "-c", NS_SOCKET_PY, "connect", lab.a.path, lab.b.path,
                               B, got, port], capture_output=True, text=True, timeout=60)
                check_eq(p.returncode, 0, "connect on B's socket (stderr %r)" % p.stderr)
                acc = lab.a.popen(["python3", "-c", NS_SOCKET_PY, "accept", lab.a.path,
                                   lab.b.path, B, took], stdout=subprocess.PIPE, text=True)
                procs.append(acc)
                port = acc.stdout.readline().strip()
                check(port.isdigit(), "the listener's port: %r" % port)
                lab.b.run(["python3", "-c", SEND_PY, B, port], check=True, timeout=60)
                check_eq(acc.wait(timeout=60), 0, "accept on B's socket")
                for path in (got, took):
                    ev = agent.wait_for(lambda e: get(e, "file.path") == path
                                        and get(e, "event.action") == "file_created", timeout=15)
                    check_eq(get(ev, "hopwatch.file.network_facing"), True,
                             "%s written by a network-facing process" % path)
                agent.stop()
                ino_b = os.stat(lab.b.path).st_ino
                check(not [e for e in agent.events() if get(e, "event.category") == ["network"]
                           and get(e, "hopwatch.netns") == ino_b],
                      "B's sockets are out of the agent's scope")
        finally:
            for q in procs:
                if q.poll() is None:
                    q.kill()
                q.wait()
            shutil.rmtree(d, ignore_errors=True)


def test_local_copy_and_run_is_quiet():
    """The benign twin: root copies a program and runs it outside any session."""
    d = tempfile.mkdtemp(prefix="hw-xfer-")
    try:
        tool = os.path.join(d, "tool")
        with Agent() as agent:
            shutil.copy("/usr/bin/true", tool)
            os.chmod(tool, 0o755)
            subprocess.run([tool], check=True)
            agent.wait_for(lambda e: get(e, "process.executable") == tool, timeout=15)
            agent.stop()
            check_eq(alerts(agent, "transfer-exec"), [], "transfer-exec for a local copy")
    finally:
        shutil.rmtree(d, ignore_errors=True)


SERVICE_PY = r'''
import socket, subprocess, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()  # the test says when the agent has seen the listener
sys.exit(subprocess.run(sys.argv[1:]).returncode)
'''


def under_service(agent, argv):
    """Runs argv as the child of a process listening on TCP (a network service, as a web
    application running a command would be), once the agent has seen it listen."""
    p = subprocess.Popen(["python3", "-c", SERVICE_PY] + argv, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        agent.wait_for(lambda e: get(e, "event.action") == "listen"
                       and get(e, "source.port") == port, timeout=15)
        p.stdin.write("go\n")
        p.stdin.flush()
        return p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def dpkg(*args):
    for _ in range(60):  # another test may hold the dpkg lock
        p = subprocess.run(["dpkg"] + list(args), capture_output=True, text=True)
        if p.returncode == 0 or "lock" not in p.stderr:
            return p
        time.sleep(1)
    return p


def test_dpkg_installing_a_unit_is_quiet_a_copy_is_not():
    pkg = "hw-files-%s" % hw.RUN_ID.lower().replace("_", "-")
    unit = "/etc/systemd/system/%s.service" % pkg
    copied = "/etc/systemd/system/%s-copy.service" % pkg
    top = tempfile.mkdtemp(prefix="hw-deb-")
    try:
        root = os.path.join(top, "root")
        os.makedirs(os.path.join(root, "DEBIAN"))
        os.makedirs(os.path.join(root, "etc/systemd/system"))
        with open(os.path.join(root, "DEBIAN/control"), "w") as f:
            f.write("Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
                    "Description: hopwatch test\n" % pkg)
        with open(os.path.join(root, unit.lstrip("/")), "w") as f:
            f.write("[Service]\nExecStart=/bin/true\n")
        deb = os.path.join(top, pkg + ".deb")
        subprocess.run(["dpkg-deb", "--root-owner-group", "-b", root, deb], check=True,
                       capture_output=True)
        with Agent() as agent:
            rc = under_service(agent, ["dpkg", "-i", deb])
            check_eq(rc, 0, "dpkg -i under the service")
            agent.wait_for(lambda e: (get(e, "file.path") or "").startswith(unit), timeout=15)
            rc = under_service(agent, ["cp", os.path.join(root, unit.lstrip("/")), copied])
            check_eq(rc, 0, "cp under the service")
            # (an agent sees the whole host: only this test's files count)
            al = agent.wait_for(lambda e: get(e, "rule.id") == "persistence" and
                                copied in get(e, "message", ""), timeout=15)
            agent.stop()
            check_eq([a for a in alerts(agent, "persistence") if unit + " " in
                      get(a, "message", "") or unit + ".dpkg" in get(a, "message", "")], [],
                     "persistence alerts for dpkg's own install")
            check("T1543.002" in str(al), "technique T1543.002: %r" % al)
        # the exemption is what kept dpkg quiet: without dpkg in file_writers it alerts
        with Agent("--set", "detect.file_writers=/usr/bin/true") as agent:
            rc = under_service(agent, ["dpkg", "-i", deb])
            check_eq(rc, 0, "dpkg -i again")
            al = agent.wait_for(lambda e: get(e, "rule.id") == "persistence" and
                                unit in get(e, "message", ""), timeout=15)
            agent.stop()
    finally:
        dpkg("--purge", pkg)
        for path in (unit, copied):
            if os.path.exists(path):
                os.unlink(path)
        shutil.rmtree(top, ignore_errors=True)


def test_web_shell_writes_cron_job():
    """A shell run by a network service (a web shell) drops a cron job: persistence, naming the
    service."""
    job = "/etc/cron.d/hw-ws-%s" % hw.RUN_ID
    try:
        with Agent() as agent:
            rc = under_service(agent, ["sh", "-c", "echo '* * * * * root id' > %s" % job])
            check_eq(rc, 0, "the web shell's write")
            al = agent.wait_for(lambda e: get(e, "rule.id") == "persistence" and
                                job in get(e, "message", ""), timeout=15)
            agent.stop()
            msg = get(al, "message", "")
            check(job in msg and "network service" in msg, "alert: %r" % msg)
            check("T1053.003" in str(al), "technique T1053.003: %r" % al)
    finally:
        if os.path.exists(job):
            os.unlink(job)


def as_user(pw, script):
    return subprocess.run(["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                           "--clear-groups", "env", "HOME=" + pw.pw_dir, "sh", "-c", script],
                          capture_output=True, text=True, timeout=60)


def test_home_made_after_the_agent_started_is_watched():
    """A user added while the agent runs (useradd -m: /etc/passwd first, the home after) writes
    its own ~/.ssh/authorized_keys at once, as that unprivileged user: the write is seen and
    watched (the kernel reports entries of any .ssh directory, the agent built the set again
    from the new /etc/passwd before it judged the write)."""
    import pwd
    with Agent() as agent:
        with TestUser("fn") as u:
            pw = pwd.getpwnam(u.name)
            target = os.path.join(pw.pw_dir, ".ssh", "authorized_keys")
            p = as_user(pw, "mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAAhw x' "
                        ">> ~/.ssh/authorized_keys")
            check_eq(p.returncode, 0, "the new user's write (stderr %r)" % p.stderr)
            ev = agent.wait_for(lambda e: get(e, "file.path") == target, timeout=15)
            check_eq(get(ev, "hopwatch.file.watched"), True, "watched: %r" % ev)
            check_eq(get(ev, "user.name"), u.name, "the writer")
        agent.stop()


def test_watched_path_on_another_filesystem_is_seen():
    """The kernel skips the walk on filesystems that hold no watched directory: one that does
    (a tmpfs, /dev/shm) is learnt when the agent starts. nobody writes into a watched directory
    there (seen), and beside it (filtered in the kernel)."""
    top = tempfile.mkdtemp(prefix="hw-files-", dir="/dev/shm")
    try:
        os.chmod(top, 0o755)
        watched = os.path.join(top, "watched")
        other = os.path.join(top, "other")
        for d in (watched, other):
            os.mkdir(d)
            os.chown(d, 65534, 65534)
        with Agent("--set", "detect.watch_paths=%s" % watched) as agent:
            p = subprocess.run(NOBODY + ["sh", "-c", "echo x > %s/beside; echo y > %s/job"
                                         % (other, watched)], capture_output=True, text=True)
            check_eq(p.returncode, 0, "nobody's writes (stderr %r)" % p.stderr)
            ev = agent.wait_for(lambda e: get(e, "file.path") == os.path.join(watched, "job"),
                                timeout=15)
            check_eq(get(ev, "hopwatch.file.watched"), True, "watched")
            agent.stop()
            check_eq(file_events(agent, other), [], "the write beside it")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_nobody_calls_through_a_symlinked_directory_are_seen():
    """nobody makes symbolic links to a watched directory, one by a relative name, one by an
    absolute name, then at once renames, hard-links, chmods and unlinks through them by names
    of the same kind: each is seen, watched, with the real path (the kernel keeps the link as
    it is made; the agent follows it while readlink still says so)."""
    top = tempfile.mkdtemp(prefix="hw-files-")
    try:
        os.chmod(top, 0o755)
        watched = os.path.join(top, "watched")
        other = os.path.join(top, "other")
        for d in (watched, other):
            os.mkdir(d)
            os.chown(d, 65534, 65534)
        with Agent("--set", "detect.watch_paths=%s" % watched) as agent:
            script = (
                "set -e; cd %(o)s; ln -s %(w)s link; ln -s %(w)s %(o)s/link2; "
                "echo a > s1; mv s1 link/renamed; "
                "echo b > s2; mv %(o)s/s2 %(o)s/link2/renamed2; "
                "echo c > s3; ln s3 link/linked; "
                "chmod 600 link/renamed; rm %(o)s/link2/renamed2"
                % {"o": other, "w": watched})
            p = subprocess.run(NOBODY + ["sh", "-c", script], capture_output=True, text=True)
            check_eq(p.returncode, 0, "attacker script (stderr %r)" % p.stderr)
            want = {("file_renamed", os.path.join(watched, "renamed")),
                    ("file_renamed", os.path.join(watched, "renamed2")),
                    ("file_created", os.path.join(watched, "linked")),
                    ("file_mode_changed", os.path.join(watched, "renamed")),
                    ("file_deleted", os.path.join(watched, "renamed2"))}
            deadline = time.time() + 15
            while time.time() < deadline:
                seen = {(get(e, "event.action"), get(e, "file.path")) for e in
                        file_events(agent, top) if get(e, "hopwatch.file.watched") is True}
                if want <= seen:
                    break
                time.sleep(0.2)
            agent.stop()
            check(want <= seen, "missing %r (seen %r)" % (want - seen, seen))
            check((("file_created", watched)) not in seen, "the link itself is not the "
                  "watched directory: %r" % seen)
    finally:
        shutil.rmtree(top, ignore_errors=True)
