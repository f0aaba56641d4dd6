"""The network-facing mark passed on at fork (bpf/netproc.bpf.h's hw_netproc_inherit, run by
process.bpf.c's handle_fork): a process that made a TCP connection forks, and what its child
and grandchild write are network-facing file facts, while the same family of processes that
never connected writes nothing the kernel reports. The writers are nobody's, the connection
goes to a listener in another namespace of the lab."""
import os
import shutil
import subprocess
import tempfile

import hw
from hw import Agent, check, check_eq, get

B = "198.18.0.2"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# argv: dir, then host and port to connect to first (none: a process that never connected).
# The process forks a child, which writes dir/child and forks a grandchild, which writes
# dir/grandchild: neither connects itself.
FAMILY_PY = r"""
import os, socket, sys
d = sys.argv[1]
if len(sys.argv) > 2:
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=30)
    s.recv(64)
    s.close()


def write(name):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"x")
    os.close(fd)


pid = os.fork()
if pid == 0:
    write("child")
    gpid = os.fork()
    if gpid == 0:
        write("grandchild")
        os._exit(0)
    os._exit(os.waitstatus_to_exitcode(os.waitpid(gpid, 0)[1]))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def created(agent, path):
    return [e for e in agent.events() if get(e, "event.dataset") == "hopwatch.file"
            and get(e, "file.path") == path and get(e, "event.action") == "file_created"]


def test_children_of_a_network_facing_process_are_network_facing():
    with hw.Lab() as lab:
        top = tempfile.mkdtemp(prefix="hw-npfork-")
        srv = None
        try:
            os.chmod(top, 0o755)
            net, local = os.path.join(top, "net"), os.path.join(top, "local")
            for d in (net, local):
                os.mkdir(d)
                os.chown(d, 65534, 65534)
            with Agent() as agent:
                # the family that never connected first: its files, had they been reported,
                # come before the ones waited for below
                p = lab.a.run(NOBODY + ["python3", "-c", FAMILY_PY, local],
                              capture_output=True, text=True, timeout=60)
                check_eq(p.returncode, 0, "the local family (stderr %r)" % p.stderr)
                payload = os.path.join(top, "payload")
                with open(payload, "wb") as f:
                    f.write(b"payload")
                srv = lab.b.popen(["python3", "-c", hw.SERVE_FILE_PY, B, payload],
                                  stdout=subprocess.PIPE, text=True)
                port = srv.stdout.readline().strip()
                check(port.isdigit(), "the server's port: %r" % port)
                p = lab.a.run(NOBODY + ["python3", "-c", FAMILY_PY, net, B, port],
                              capture_output=True, text=True, timeout=60)
                check_eq(p.returncode, 0, "the connecting family (stderr %r)" % p.stderr)
                for name in ("child", "grandchild"):
                    path = os.path.join(net, name)
                    ev = agent.wait_for(lambda e: get(e, "file.path") == path
                                        and get(e, "event.action") == "file_created",
                                        timeout=15)
                    check_eq(get(ev, "hopwatch.file.network_facing"), True,
                             "%s of a process that connected: network-facing" % name)
                    check_eq(get(ev, "user.name"), "nobody", "the writer of %s" % name)
                agent.stop()
                for name in ("child", "grandchild"):
                    path = os.path.join(local, name)
                    check(os.path.exists(path), "%s was written" % path)
                    check_eq(created(agent, path), [],
                             "%s of a process that never connected: not reported" % name)
        finally:
            if srv is not None:
                if srv.poll() is None:
                    srv.kill()
                srv.wait()
            shutil.rmtree(top, ignore_errors=True)
