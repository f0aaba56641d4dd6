"""The fleet simulator of make bench (tests/bench/fleet_sim.py) in small: 999 simulated hosts
in 333 hop chains of three hosts across 4 partitions, into a real nats-server with the
partition mapping, judged by one `hopwatch collect` taking every partition and by two taking
half each: every chain's full hop-chain alert on collect.subject, exactly once, in each run
(the simulator exits 1 otherwise)."""
import os
import re
import subprocess
import sys

import hw
from hw import check, check_eq

SIM = os.path.join(hw.ROOT, "tests", "bench", "fleet_sim.py")


def test_thousand_hosts_every_chain_stitched_once():
    p = subprocess.run([sys.executable, SIM, "--hosts", "999", "--lines", "40", "--rounds", "1",
                        "--rate", "20000"], capture_output=True, text=True, timeout=600)
    check_eq(p.returncode, 0, "fleet_sim: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    runs = re.findall(r"^round 1, (\d) instance\(s\): .* stitched (\d+)/(\d+) \((\d+) twice\);"
                      r" at .* stitched (\d+)/(\d+)$", p.stdout, re.M)
    check_eq(sorted(r[0] for r in runs), ["1", "2"], "both variants ran: %r" % p.stdout)
    for inst, got, want, twice, lgot, lwant in runs:
        check_eq((int(want), int(lwant)), (333, 333), "chains")
        check_eq((int(got), int(twice), int(lgot)), (333, 0, 333),
                 "%s instance(s): chains stitched once" % inst)
    check("every chain stitched exactly once in every run: yes" in p.stdout, p.stdout)
