"""The Debian package (make deb: tools/mkdeb.sh, packaging/debian/) on this machine: lintian,
install, files and modes, the installed unit and agent, logrotate, an upgrade that keeps an
edited conffile, remove, and a purge that leaves nothing. Needs root (it runs dpkg), and
purges the package also when a step fails. Where systemd is not PID 1 (CI, containers) the
maintainer scripts must still succeed."""
import fnmatch
import glob
import os
import re
import stat
import subprocess

import hw
from hw import check, check_eq, get

NEEDS_ROOT = True  # tests/run.py: fails (never skips) without root in CI

PKG = "hopwatch"
UNIT_NAME = "hopwatch.service"
BIN = "/usr/sbin/hopwatch"
CONF = "/etc/hopwatch/hopwatch.conf"
LOGROTATE = "/etc/logrotate.d/hopwatch"
MAN = "/usr/share/man/man8/hopwatch.8.gz"
DOC = "/usr/share/doc/hopwatch"
WANTS = "/etc/systemd/system/multi-user.target.wants/" + UNIT_NAME
HELPER_STATE = "/var/lib/systemd/deb-systemd-helper-enabled"
STATE_DIRS = ("/var/log/hopwatch", "/var/lib/hopwatch")


def sh(*argv, ok=True, **kw):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, **kw)
    if ok:
        check_eq(p.returncode, 0, "%s: %s%s" % (" ".join(argv), p.stdout[-2000:],
                                                  p.stderr[-2000:]))
    return p


def installed():
    return sh("dpkg-query", "-W", "-f=${Status}", PKG, ok=False).stdout == "install ok installed"


def known_to_dpkg():
    return sh("dpkg", "-s", PKG, ok=False).returncode == 0


def unit_path():
    """Debian 12 puts units in /lib/systemd/system (a symlink into /usr when /usr is merged)."""
    return "/lib/systemd/system/" + UNIT_NAME


def dpkg_excluded(path):
    """Whether dpkg's path-exclude settings (minimal images leave out man pages) drop path."""
    rules = []
    for cfg in ["/etc/dpkg/dpkg.cfg"] + sorted(glob.glob("/etc/dpkg/dpkg.cfg.d/*")):
        try:
            with open(cfg) as f:
                for line in f:
                    m = re.match(r"^\s*(path-exclude|path-include)[\s=]+(\S+)", line)
                    if m:
                        rules.append(m.groups())
        except OSError:
            continue
    excluded = False
    for kind, pattern in rules:
        if fnmatch.fnmatch(path, pattern):
            excluded = kind == "path-exclude"
    return excluded


def check_mode(path, mode, kind=stat.S_ISREG):
    st = os.lstat(path) if kind == stat.S_ISLNK else os.stat(path)
    check(kind(st.st_mode), "%s is a %s" % (path, kind.__name__[2:].lower()))
    check_eq(oct(stat.S_IMODE(st.st_mode)), oct(mode), "mode of " + path)
    check_eq((st.st_uid, st.st_gid), (0, 0), "owner of " + path)


def build_default():
    """`make deb`, as a user runs it; returns the path it printed."""
    p = sh("make", "--no-print-directory", "deb", cwd=hw.ROOT)
    debs = [x for x in p.stdout.split() if x.endswith(".deb")]
    check(debs, "make deb names the package: " + p.stdout)
    check(os.path.isfile(debs[-1]), "the package exists: " + debs[-1])
    return debs[-1]


def field(deb, name):
    return sh("dpkg-deb", "-f", deb, name).stdout.strip()


def check_lintian(deb):
    p = sh("lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb, ok=False)
    tags = [x for x in p.stdout.splitlines() if re.match(r"^[EW]: ", x)]
    check_eq(tags, [], "lintian errors and warnings (override with a reason in "
             "packaging/debian/lintian-overrides, or fix)")
    check_eq(p.returncode, 0, "lintian exit status: " + p.stdout + p.stderr)


def check_installed_files(deb):
    check_mode(BIN, 0o755)
    check_mode(CONF, 0o640)
    check_mode(unit_path(), 0o644)
    check_mode(LOGROTATE, 0o644)
    check_mode(DOC + "/copyright", 0o644)
    if not dpkg_excluded(MAN):
        check_mode(MAN, 0o644)
    for d in STATE_DIRS:
        check_mode(d, 0o750, stat.S_ISDIR)
    with open(os.path.join(hw.ROOT, "deploy", "hopwatch.conf")) as f, open(CONF) as g:
        check_eq(g.read(), f.read(), "the installed config is deploy/hopwatch.conf")
    with open(os.path.join(hw.ROOT, "deploy", UNIT_NAME)) as f, open(unit_path()) as g:
        check_eq(g.read(), f.read(), "the installed unit is deploy/hopwatch.service")
    conffiles = sh("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout.split()
    check(CONF in conffiles and LOGROTATE in conffiles, "conffiles: %r" % conffiles)
    check(os.path.islink(WANTS), "the unit is enabled (%s)" % WANTS)
    check_eq(os.path.realpath(WANTS), os.path.realpath(unit_path()), "the enabled unit")
    check_eq(sh("dpkg-query", "-W", "-f=${Version}", PKG).stdout, field(deb, "Version"),
             "installed version")
    p = sh("dpkg", "--verify", PKG, ok=False)
    check_eq(p.stdout + p.stderr, "", "dpkg --verify (md5sums of the installed files)")


def check_unit_verifies():
    args = ["systemd-analyze", "verify"]
    if dpkg_excluded(MAN):
        args.append("--man=no")  # the page is not installed here
    p = sh(*args, unit_path(), ok=False)
    check_eq(p.returncode, 0, "systemd-analyze verify: " + p.stdout + p.stderr)
    check_eq(p.stderr.strip(), "", "no warnings from verify")


def check_logrotate():
    """A forced rotation with the installed file: the log is renamed; postrotate (guarded by
    /run/systemd/system, and tolerant of a stopped service) does not fail."""
    d = hw.tempdir("logrotate")
    log = "/var/log/hopwatch/deb-test-%d.ndjson" % os.getpid()
    with open(log, "w") as f:
        f.write('{"event":{"action":"x"}}\n')
    p = sh("logrotate", "--verbose", "--force", "--state", os.path.join(d, "state"), LOGROTATE,
           ok=False)
    check_eq(p.returncode, 0, "logrotate: " + p.stdout + p.stderr)
    check(os.path.exists(log + ".1"), "rotated to %s.1: %s" % (log, p.stderr[-1000:]))
    check(not os.path.exists(log), "the log was moved away (the agent makes a new one)")
    check("error" not in p.stderr.lower(), "logrotate reports no error: " + p.stderr)


def check_installed_agent():
    p = sh(BIN, "version")
    check(p.stdout.startswith("hopwatch "), "version: " + p.stdout)
    p = sh(BIN, "check", ok=False)
    check_eq(p.returncode, 0, "installed hopwatch check: " + p.stdout + p.stderr)
    out = os.path.join(hw.tempdir("deb"), "events.ndjson")
    # the installed config parses with the installed binary; --output replaces output.file
    p = sh(BIN, "run", "-c", CONF, "--duration", "2s", "--output", out, ok=False)
    check_eq(p.returncode, 0, "installed hopwatch run: " + p.stderr)
    with open(out) as f:
        events = [hw.parse_event(x) for x in f]
    check(events, "events written")
    check_eq(get(events[0], "event.action"), "agent-started", "first line")
    check_eq(get(events[-1], "event.action"), "agent-stopped", "last line")


def check_nothing_left():
    check(not known_to_dpkg(), "dpkg -s hopwatch fails after the purge")
    left = [p for p in (BIN, "/etc/hopwatch", LOGROTATE, unit_path(), MAN, DOC, WANTS,
                        "/usr/share/lintian/overrides/hopwatch") + STATE_DIRS
            if os.path.lexists(p)]
    left += glob.glob(HELPER_STATE + "/*" + UNIT_NAME + "*")
    left += glob.glob(LOGROTATE + ".*")
    check_eq(left, [], "files left after the purge")


def purge():
    if known_to_dpkg():
        sh("dpkg", "--purge", PKG, ok=False)


class StateDirsAsAnAgentLeftThem:
    """The package test must not depend on what ran before it: the state directories that
    exist (an agent run, another test) are moved aside and restored afterwards, and the test
    installs over what an agent of fe51dbd left (/var/lib/hopwatch 0755, its spool 0755 as a
    careless administrator made it): the package sets their modes all the same."""

    def __enter__(self):
        self.saved = []
        try:
            for d in STATE_DIRS:
                if os.path.lexists(d):
                    aside = "%s.%s-aside" % (d, hw.RUN_ID)
                    os.rename(d, aside)
                    self.saved.append((d, aside))
            for d in STATE_DIRS + ("/var/lib/hopwatch/spool",):
                os.mkdir(d)
                os.chmod(d, 0o755)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for d in STATE_DIRS:
            if os.path.lexists(d) and not os.path.islink(d):
                subprocess.run(["rm", "-rf", "--one-file-system", d])
        for d, aside in self.saved:
            os.rename(aside, d)


def test_package_install_upgrade_purge():
    check(not known_to_dpkg(), "hopwatch is already installed on this machine: the test "
          "would replace and purge it (dpkg -P hopwatch first)")
    with StateDirsAsAnAgentLeftThem():
        install_upgrade_purge()


def install_upgrade_purge():
    deb = build_default()
    v1 = field(deb, "Version")
    check_eq(os.path.basename(deb), "%s_%s_%s.deb" % (PKG, v1.split(":")[-1],
                                                       field(deb, "Architecture")),
             "file name")
    check("libbpf1" in field(deb, "Depends"), "Depends names libbpf1: " + field(deb, "Depends"))
    check_lintian(deb)
    try:
        p = sh("dpkg", "-i", deb)
        if not os.path.isdir("/run/systemd/system"):
            check("hopwatch: the service is enabled but not started" in p.stdout,
                  "postinst says the service is not started: " + p.stdout)
        check(installed(), "installed")
        check_installed_files(deb)
        check_mode("/var/lib/hopwatch/spool", 0o700, stat.S_ISDIR)
        check_unit_verifies()
        check_logrotate()
        check_installed_agent()

        # upgrade: an edited conffile is kept, the unit stays enabled
        with open(CONF, "a") as f:
            f.write("# edited by the administrator\n")
        with open(CONF) as f:
            edited = f.read()
        v2 = v1 + "+upgrade1"
        deb2 = sh(os.path.join(hw.ROOT, "tools", "mkdeb.sh"), "--version", v2, "--out",
                  hw.tempdir("deb2")).stdout.split()[-1]
        check_eq(field(deb2, "Version"), v2, "version override")
        check_eq(sh("dpkg", "--compare-versions", v2, "gt", v1, ok=False).returncode, 0,
                 "%s sorts after %s" % (v2, v1))
        check_lintian(deb2)
        sh("dpkg", "-i", deb2)
        check_eq(sh("dpkg-query", "-W", "-f=${Version}", PKG).stdout, v2, "upgraded")
        with open(CONF) as f:
            check_eq(f.read(), edited, "the edited config survives the upgrade")
        check(not os.path.exists(CONF + ".dpkg-dist"), "no .dpkg-dist: nothing to merge")
        check(os.path.islink(WANTS), "still enabled after the upgrade")
        check_mode(BIN, 0o755)

        # remove keeps the configuration, purge takes everything
        sh("dpkg", "--remove", PKG)
        check(not os.path.exists(BIN), "remove takes the binary")
        check(os.path.exists(CONF), "remove keeps the config")
        sh("dpkg", "--purge", PKG)
        check_nothing_left()
    finally:
        purge()
