"""A failed password is `authentication failed` whatever the timing (issue 11, finding 7): N
wrong-password logins at once to a real sshd while every CPU is saturated give exactly N
failures, each with that reason (once, under load, some were `closed before login`)."""
import os
import signal
import subprocess

import hw
from hw import Agent, check_eq, get
from sshlab import SshServer, TestUser, ssh_popen

SERVER = "198.18.0.2"
N = 8


def burners():
    """Busy loops on every CPU (two per CPU), ended by PID."""
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in
            range(2 * (os.cpu_count() or 1))]


def test_wrong_passwords_under_load():
    pw = "Pw-%s-ok" % hw.RUN_ID
    with hw.Lab() as lab, SshServer(lab.b, SERVER), TestUser("race", password=pw) as u:
        # scoped to the server's namespace: logins of other tests on this machine stay out
        with Agent("--netns", lab.b.path) as agent:
            busy = burners()
            clients = []
            try:
                clients = [ssh_popen(lab.a, u.name, SERVER, "true",
                                     password="wrong-%d-%s" % (i, pw)) for i in range(N)]
                for c in clients:
                    c.communicate(timeout=60)
            finally:
                for c in clients:
                    c.end()
                for b in busy:
                    b.send_signal(signal.SIGKILL)
                    b.wait()

            def closed(events):
                return [e for e in events if get(e, "event.action") == "user_login"]
            # every connection's end is reported (its failure, or a later close)
            agent.wait_for(lambda e: len(closed(agent.events())) >= N, timeout=30)
            agent.stop()
        events = agent.events()
    logins = [e for e in events if get(e, "event.action") == "user_login"]
    check_eq(sorted(get(e, "event.outcome") for e in logins), ["failure"] * N,
             "outcomes of %d wrong passwords" % N)
    check_eq([get(e, "event.reason") for e in logins], ["authentication failed"] * N,
             "reasons of %d wrong passwords" % N)
    check_eq(len({get(e, "hopwatch.session.id") for e in logins}), N, "one per connection")
    check_eq({get(e, "user.name") for e in logins}, {u.name}, "the user tried")
