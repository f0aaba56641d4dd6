"""Other kernels under qemu: Debian's cloud kernels fetched once into a cache, an initramfs with
busybox, the static agent and a workload, and one TCG boot per kernel (no KVM needed).

The package indexes are read through a private apt configuration (its own sources.list, lists
and cache under the kernel cache), so the machine's apt sources and state stay untouched; the
mirror host is the one the machine's own sources name.
"""
import glob
import gzip
import os
import re
import shutil
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("KERNEL_CACHE") or os.path.join(ROOT, "build", "kernels")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# name -> (release suites, metapackage): the previous Debian release for 5.10, the current one
# for 6.1 and 6.12
MATRIX = {
    "5.10": (["bullseye", "bullseye-updates", "bullseye-security"], "linux-image-cloud-amd64"),
    "6.1": (["bookworm", "bookworm-updates", "bookworm-security"], "linux-image-cloud-amd64"),
    "6.12": (["bookworm", "bookworm-updates", "bookworm-security"],
             "linux-image-6.12-cloud-amd64"),
}
DIAG_MODULES = ["inet_diag", "tcp_diag", "udp_diag"]


class KernelError(Exception):
    """One line naming the kernel and what is missing."""


def mirrors():
    """The (main, security) archive URIs of the machine's Debian sources."""
    main = sec = None
    files = glob.glob("/etc/apt/sources.list.d/*.sources") + \
        glob.glob("/etc/apt/sources.list.d/*.list") + ["/etc/apt/sources.list"]
    for f in files:
        try:
            text = open(f).read()
        except OSError:
            continue
        for uri in re.findall(r"(?:URIs:|^deb(?:\s+\[[^]]*\])?)\s+(\S+)", text, re.M):
            uri = uri.rstrip("/")
            if uri.endswith("/debian-security") and not sec:
                sec = uri
            elif uri.endswith("/debian") and not main:
                main = uri
    if not main:
        raise KernelError("no Debian mirror in /etc/apt/sources.list*: cannot fetch kernels")
    if not sec:
        sec = main + "-security"
    return main, sec


def _apt(name, suites, *args, timeout=600):
    """apt-get/apt-cache with a private configuration for one matrix entry's suites."""
    tool = args[0]
    base = os.path.join(CACHE, "apt", "-".join(suites[:1]))
    os.makedirs(os.path.join(base, "lists", "partial"), exist_ok=True)
    os.makedirs(os.path.join(base, "cache", "archives", "partial"), exist_ok=True)
    os.makedirs(os.path.join(base, "parts"), exist_ok=True)
    main, sec = mirrors()
    lines = []
    for s in suites:
        uri = sec if s.endswith("-security") else main
        lines.append("deb [signed-by=%s] %s %s main" % (KEYRING, uri, s))
    src = os.path.join(base, "sources.list")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    opts = ["-o", "Dir::Etc::sourcelist=" + src, "-o", "Dir::Etc::sourceparts=" +
            os.path.join(base, "parts"), "-o", "Dir::State::lists=" + os.path.join(base, "lists"),
            "-o", "Dir::Cache=" + os.path.join(base, "cache"), "-o", "APT::Sandbox::User=root",
            "-o", "Acquire::Retries=3", "-o", "Debug::NoLocking=1"]
    p = subprocess.run([tool] + opts + list(args[1:]), capture_output=True, text=True,
                       timeout=timeout, cwd=os.path.join(CACHE, "debs"))
    return p


def fetch(name):
    """The extracted package tree of matrix kernel name (downloaded once). Returns (tree,
    release) or raises KernelError with one line naming the kernel."""
    suites, meta = MATRIX[name]
    os.makedirs(os.path.join(CACHE, "debs"), exist_ok=True)
    pin = os.path.join(CACHE, name + ".pkg")
    deb = None
    if os.path.exists(pin) and not os.environ.get("KERNEL_REFRESH"):
        deb = os.path.join(CACHE, "debs", open(pin).read().strip())
        if not os.path.exists(deb):
            deb = None
    if not deb:
        try:
            p = _apt(name, suites, "apt-get", "update")
            if p.returncode:
                raise KernelError("kernel %s: apt-get update of %s failed: %s" % (
                    name, " ".join(suites), p.stderr.strip().splitlines()[-1:]))
            p = _apt(name, suites, "apt-cache", "depends", meta)
            pkgs = re.findall(r"Depends: (linux-image-\S+)", p.stdout)
            if p.returncode or not pkgs:
                raise KernelError("kernel %s: no %s in %s" % (name, meta, " ".join(suites)))
            pkg = pkgs[0]
            p = _apt(name, suites, "apt-get", "download", pkg)
            debs = sorted(glob.glob(os.path.join(CACHE, "debs", pkg + "_*.deb")),
                          key=os.path.getmtime)
            if p.returncode or not debs:
                raise KernelError("kernel %s: apt-get download %s failed: %s" % (
                    name, pkg, p.stderr.strip()[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            raise KernelError("kernel %s: cannot download: %s" % (name, e))
        deb = debs[-1]
        with open(pin, "w") as f:
            f.write(os.path.basename(deb) + "\n")
    tree = os.path.join(CACHE, "trees", os.path.basename(deb)[:-4])
    if not os.path.isdir(tree):
        tmp = tree + ".tmp"
        shutil.rmtree(tmp, True)
        os.makedirs(tmp)
        # only what a boot needs: the image and the sock_diag modules (a tenth of the package)
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        p = subprocess.run(["tar", "-x", "-C", tmp, "--wildcards", "./boot/vmlinuz-*",
                            "*/net/ipv4/*_diag.ko*", "*/modules.order", "*/modules.builtin"],
                           stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        if tar.wait() or p.returncode:
            raise KernelError("kernel %s: cannot unpack %s: %s" % (name, deb, p.stderr.strip()))
        os.rename(tmp, tree)
    vmlinuz = glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))
    if not vmlinuz:
        raise KernelError("kernel %s: no boot/vmlinuz-* in %s" % (name, deb))
    release = os.path.basename(vmlinuz[0])[len("vmlinuz-"):]
    return tree, release


def _copy(src, root, dest=None):
    dest = os.path.join(root, (dest or src).lstrip("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(os.path.realpath(src), dest)


def _shared_libs(path):
    """The shared libraries path loads (ldd), the dynamic loader included."""
    p = subprocess.run(["ldd", path], capture_output=True, text=True, check=True)
    libs = []
    for line in p.stdout.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def _pam_dir():
    for d in ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security"):
        if os.path.exists(os.path.join(d, "pam_permit.so")):
            return d
    raise KernelError("no pam_permit.so on this machine (libpam-modules)")


def initramfs(tree, release, out, agent, guest, init_script):
    """Writes a gzip'd newc initramfs to out: guest_tree() with the kernel's sock_diag
    modules."""
    root = out + ".root"
    guest_tree(root, tree, release, agent, guest, init_script, diag=True)
    p1 = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            names.append(os.path.relpath(os.path.join(dirpath, n), root))
    data, _ = p1.communicate(("\n".join(sorted(names)) + "\n").encode())
    if p1.returncode:
        raise KernelError("cpio failed for %s" % release)
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(data)
    shutil.rmtree(root, True)


def guest_tree(root, tree, release, agent, guest, init_script, diag):
    """The guest's root file system in the directory root: busybox, the agent, the workload
    program with the host's glibc and libpam, two PAM services (pam_permit with pam_loginuid,
    pam_deny), and with diag the kernel's sock_diag modules from tree."""
    shutil.rmtree(root, True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc/pam.d", "proc", "sys", "dev", "tmp", "run", "root"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    _copy(shutil.which("busybox") or "/bin/busybox", root, "/bin/busybox")
    _copy(agent, root, "/bin/hopwatch")
    _copy(guest, root, "/bin/hwguest")
    pam = _pam_dir()
    modules = [os.path.join(pam, m) for m in ("pam_permit.so", "pam_deny.so", "pam_loginuid.so")]
    for f in [guest] + modules:
        for lib in _shared_libs(f):
            _copy(lib, root)
    for m in modules:
        _copy(m, root)
    files = {
        "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                      "alice:x:1000:1000:alice:/tmp:/bin/sh\n"
                      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        "etc/group": "root:x:0:\nalice:x:1000:\nnogroup:x:65534:\n",
        "etc/hostname": "hwguest\n",
        # the accepted login sets the audit loginuid, as sshd's stack does: a verified login
        "etc/pam.d/hwok": "auth required pam_permit.so\naccount required pam_permit.so\n"
                          "session required pam_loginuid.so\n",
        "etc/pam.d/hwbad": "auth required pam_deny.so\naccount required pam_deny.so\n"
                           "session required pam_deny.so\n",
        "init": init_script,
    }
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    os.chmod(os.path.join(root, "init"), 0o755)
    if not diag:
        return
    # the sock_diag modules, uncompressed (busybox modprobe), with their dependency list
    mods = os.path.join(tree, "lib", "modules", release)
    if not os.path.isdir(mods):
        mods = os.path.join(tree, "usr", "lib", "modules", release)
    want = os.path.join(root, "lib", "modules", release)
    builtin = ""
    if os.path.exists(os.path.join(mods, "modules.builtin")):
        builtin = open(os.path.join(mods, "modules.builtin")).read()
    os.makedirs(want, exist_ok=True)
    for m in DIAG_MODULES:
        found = glob.glob(os.path.join(mods, "kernel", "net", "ipv4", m + ".ko*"))
        if not found and "/%s.ko" % m in builtin:
            continue  # built into the kernel
        if not found:
            raise KernelError("kernel %s: no %s module in the package" % (release, m))
        dest = os.path.join(want, "kernel", "net", "ipv4", m + ".ko")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        src = found[0]
        if src.endswith(".xz"):
            with open(dest, "wb") as f:
                subprocess.run(["xz", "-dc", src], stdout=f, check=True)
        elif src.endswith(".zst"):
            subprocess.run(["zstd", "-dqf", src, "-o", dest], check=True)
        else:
            shutil.copy2(src, dest)
    for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if os.path.exists(os.path.join(mods, f)):
            shutil.copy2(os.path.join(mods, f), os.path.join(want, f))
    subprocess.run(["busybox", "depmod", "-b", root, release], check=True, capture_output=True)


def contain(root, console, timeout=240):
    """Runs root's /init on the running kernel itself, in new mount, pid, network, UTS and IPC
    namespaces (chroot), its output in console: the guest's workload where the running kernel
    has no image to boot. /init's poweroff ends the pid namespace, not the machine. Returns
    (seconds, exit code)."""
    start = time.time()
    with open(console, "w") as out:
        p = subprocess.Popen(["unshare", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork",
                              "--propagation", "private", "chroot", root, "/init"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
    return time.time() - start, rc


def boot(vmlinuz, initrd, console, timeout=240, memory="1536M"):
    """Boots under TCG with the serial console in console; returns (seconds, exit code)."""
    args = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp",
            "1", "-m", memory, "-kernel", vmlinuz, "-initrd", initrd, "-append",
            "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off", "-nographic",
            "-no-reboot", "-nic", "none", "-serial", "file:" + console, "-monitor", "none"]
    start = time.time()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return time.time() - start, None
    if p.returncode:
        raise KernelError("qemu failed (%d): %s" % (p.returncode, err.decode()[-300:]))
    return time.time() - start, p.returncode
