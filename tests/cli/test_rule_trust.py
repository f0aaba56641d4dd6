"""Trust, unit tier (issue 11, findings 2 and 3): exemptions rest on kernel facts, never on names.
A lookalike program (a copy named sshd, nginx or curl where a user can write it) and a session
whose login the kernel did not confirm excuse nothing: the rules fire as for any other program.
Streams from tests/lib/ecs_builder.py replayed with `hopwatch replay`."""
import hw
from ecs_builder import CLIENT_IP, LOCAL_IP, Session, Stream
from hw import check, check_eq
from rule_streams import conn_stream, service_stream
from rulelab import none_of, only, run


def test_lookalike_names_exempt_nothing():
    """A copy of bash named sshd (or nginx, curl, socat) that a user placed somewhere it can
    write: hopwatch.exe.trusted is false, so it is judged like any other program."""
    # the reverse shell of `cp /bin/bash /tmp/x/sshd`, started by another copy named sshd
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    fake = s.existing(0, 500, "/tmp/x/sshd", ["sshd"], init, user="nobody", uid=65534)
    sh = s.spawn(10, fake, "/tmp/x/sshd", ["sshd", "-i"], stdio=("tcp", "tcp", "tcp"))
    a = only(run(s).of("reverse-shell"), "reverse-shell of a lookalike sshd")
    check_eq(hw.get(a, "process.entity_id"), sh.eid, "the lookalike is named")
    # the same under the real path but not a trusted file (hopwatch.exe.trusted false)
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    fake = s.existing(0, 500, "/usr/sbin/sshd", ["sshd"], init, trusted=False)
    s.spawn(10, fake, "/usr/sbin/sshd", ["sshd", "-R"], stdio=("tcp", "tcp", "char"),
            trusted=False)
    only(run(s).of("reverse-shell"), "reverse-shell of an untrusted sshd file")
    # the real sshd binary re-executed with a socket on stdin, but not as root (a user ran it)
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    d = s.existing(0, 500, "/usr/sbin/sshd", ["sshd"], init, user="nobody", uid=65534)
    kid = s.fork(10, d)
    kid.user, kid.uid = "nobody", 65534
    s.exec(10.1, kid, "/usr/sbin/sshd", ["sshd", "-R"], stdio=("tcp", "tcp", "char"))
    only(run(s).of("reverse-shell"), "reverse-shell of sshd re-executed by nobody")
    # a bind shell re-executing the interpreter that listens is not an inetd-style service
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    py = s.existing(0, 600, "/usr/bin/python3.11", ["python3"], init, user="nobody", uid=65534)
    s.listen(1, py, "0.0.0.0", 7777)
    s.spawn(10, py, "/usr/bin/python3.11", ["python3", "-i"], stdio=("tcp", "tcp", "tcp"))
    only(run(s).of("reverse-shell"), "reverse-shell of a listener re-executing its interpreter")
    # allowlists by name match only trusted files: nginx in /tmp is not the allowed nginx
    s, *_ = service_stream(service_exe="/tmp/nginx")
    only(run(s, "detect.allow_services=nginx").of("service-shell"),
         "service-shell of a lookalike nginx allowed by name")
    s, *_ = conn_stream(exe="/home/u/curl")
    s.ticks(3611)
    only(run(s, "detect.long_connection=1h", "detect.allow_programs=curl").of("long-connection"),
         "long-connection of a lookalike curl allowed by name")
    # and a lookalike sshd starting a shell is a service starting a shell, not a login
    s, *_ = service_stream(service_exe="/tmp/sshd", port=2222)
    only(run(s).of("service-shell"), "service-shell of a shell under a lookalike sshd")


def test_unverified_sessions_exempt_nothing():
    """A session whose login the kernel did not confirm (hopwatch.login.verified false: a
    program calling pam_open_session without being root, or a PAM stack without
    pam_loginuid) still raises the session rules, but does not excuse its processes."""
    def stream(verified):
        s = Stream()
        s.agent_started()
        s.tick(0)
        s.sshd()
        web = s.existing(0, 700, "/usr/sbin/nginx", ["nginx"], s.systemd, user="www-data",
                         uid=33)
        s.listen(1, web, "0.0.0.0", 80)
        worker = s.fork(8, web)
        sess = Session(s, "root", (CLIENT_IP, 50099), (LOCAL_IP, 22), worker, 9, uid=0,
                       verified=verified)
        worker.session = sess
        s.login(9.5, sess)
        s.spawn(12, worker, "/bin/sh", ["sh", "-c", "id"])
        return s
    a = only(run(stream(False)).of("service-shell"), "service-shell despite an unverified session")
    check(a["message"].startswith("network service nginx"), "message: %r" % a["message"])
    none_of(run(stream(True)), "service-shell", "the same shell in a verified login")
    # the verified twin: the shell of a login inside the service's tree is excused
    s, *_ = service_stream(in_session=True)
    none_of(run(s), "service-shell", "a verified login's own shell")
