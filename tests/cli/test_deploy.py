"""deploy/kubernetes/daemonset.yaml and docs/incident-response.md: structure and consistency
with the agent, offline (no cluster, no root)."""
import os
import re

import yaml

import hw
from hw import check, check_eq, hopwatch

MANIFEST = os.path.join(hw.ROOT, "deploy", "kubernetes", "daemonset.yaml")
EVENTS_DOC = os.path.join(hw.ROOT, "docs", "events.md")
IR_DOC = os.path.join(hw.ROOT, "docs", "incident-response.md")

CAPS = ["BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN"]


def documents():
    with open(MANIFEST) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    by_kind = {}
    for d in docs:
        check(isinstance(d, dict) and "kind" in d, "every document has a kind: %r" % (d,))
        check(d["kind"] not in by_kind, "one %s only" % d["kind"])
        by_kind[d["kind"]] = d
    return by_kind


def daemonset_pod():
    return documents()["DaemonSet"]["spec"]["template"]["spec"]


def container():
    containers = daemonset_pod()["containers"]
    check_eq(len(containers), 1, "containers in the pod")
    return containers[0]


def test_kinds_and_namespace():
    docs = documents()
    check_eq(sorted(docs), ["ConfigMap", "DaemonSet", "Namespace"], "kinds")
    check_eq(docs["Namespace"]["metadata"]["name"], "hopwatch", "namespace name")
    for kind in ("ConfigMap", "DaemonSet"):
        check_eq(docs[kind]["metadata"].get("namespace"), "hopwatch", kind + " namespace")
    ds = docs["DaemonSet"]
    check_eq(ds["apiVersion"], "apps/v1", "DaemonSet apiVersion")
    labels = ds["spec"]["template"]["metadata"]["labels"]
    for k, v in ds["spec"]["selector"]["matchLabels"].items():
        check_eq(labels.get(k), v, "pod label selected by the DaemonSet: " + k)


def test_pod_host_pid_and_tolerations():
    pod = daemonset_pod()
    check(pod.get("hostPID") is True, "hostPID: true (the agent reads every process in /proc)")
    check({"operator": "Exists"} in pod.get("tolerations", []),
          "a toleration of every taint, to run on every node")


def test_container_command():
    c = container()
    check_eq(c["command"], ["/usr/sbin/hopwatch", "run", "-c", "/etc/hopwatch/hopwatch.conf"],
             "container command")
    check(c["image"].startswith("hopwatch:"), "image placeholder: " + c["image"])
    check("livenessProbe" not in c, "no liveness probe (the agent exits on failure)")


def test_container_args_are_run_options():
    """Whatever args the manifest adds must be accepted by `run` (checked with a value that
    makes run stop at argument parsing, before it needs root)."""
    c = container()
    args = [a.replace("$(NODE_NAME)", "node-1") for a in c.get("args", [])]
    p = hopwatch("run", *args, "--set", "agent.args_max=1")
    check_eq(p.returncode, 2, "exit code with the manifest's args")
    check("agent.args_max" in p.stderr, "the only complaint is the bad --set: " + p.stderr)
    envs = {e["name"] for e in c.get("env", [])}
    for ref in re.findall(r"\$\((\w+)\)", " ".join(c.get("args", []))):
        check(ref in envs, "$(%s) in args is defined in env" % ref)


def test_security_context():
    sc = container()["securityContext"]
    caps = sc["capabilities"]
    check_eq(sorted(caps["add"]), sorted(CAPS), "capabilities added")
    check_eq(caps["drop"], ["ALL"], "capabilities dropped")
    check(sc.get("privileged") is False, "privileged: false")
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")


def test_resources():
    r = container()["resources"]
    check_eq(r["limits"]["memory"], "128Mi", "memory limit")
    check_eq(r["requests"]["memory"], "32Mi", "memory request")
    check_eq(r["requests"]["cpu"], "50m", "cpu request")


def test_volumes_and_mounts():
    pod = daemonset_pod()
    volumes = {v["name"]: v for v in pod["volumes"]}
    check_eq(len(volumes), len(pod["volumes"]), "volume names are unique")
    mounts = container()["volumeMounts"]
    by_path = {}
    for m in mounts:
        check(m["name"] in volumes, "mount %s has a volume" % m["name"])
        by_path[m["mountPath"]] = m
        v = volumes[m["name"]]
        if "hostPath" in v:
            check(m.get("readOnly") is True, "hostPath mount %s is readOnly" % m["mountPath"])
            check(not v["hostPath"]["path"].startswith("/proc"),
                  "/proc is not remounted (hostPID gives the host's)")
    used = {m["name"] for m in mounts}
    check_eq(sorted(set(volumes) - used), [], "volumes that nothing mounts")
    check("/proc" not in by_path and "/host/proc" not in by_path, "no /proc mount")
    btf = by_path.get("/sys/kernel/btf")
    check(btf is not None, "a mount at /sys/kernel/btf")
    check_eq(volumes[btf["name"]]["hostPath"]["path"], "/sys/kernel/btf", "btf host path")
    for path in ("/sys/kernel/tracing", "/etc/passwd"):
        m = by_path.get(path)
        check(m is not None, "a mount at " + path)
        check_eq(volumes[m["name"]]["hostPath"]["path"], path, "host path of " + path)
    cfg = by_path.get("/etc/hopwatch")
    check(cfg is not None and "configMap" in volumes[cfg["name"]], "the ConfigMap at /etc/hopwatch")
    check_eq(volumes[cfg["name"]]["configMap"]["name"],
             documents()["ConfigMap"]["metadata"]["name"], "the ConfigMap's name")


def config_text():
    return documents()["ConfigMap"]["data"]["hopwatch.conf"]


def test_config_is_json_to_stdout():
    text = config_text()
    lines = [ln.split(" ;")[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("#", ";"))]
    section, keys = None, {}
    for ln in lines:
        if ln.startswith("["):
            section = ln.strip("[]")
            continue
        k, _, v = ln.partition("=")
        keys["%s.%s" % (section, k.strip())] = v.strip()
    check_eq(keys.get("output.format"), "json", "output.format")
    check(not keys.get("output.file"), "no output.file: events go to stdout")


def test_config_parses_with_the_agent():
    """The real parser reads the ConfigMap's file: the only complaint is the --set given
    after it (a bad file would be reported first, naming the file)."""
    d = hw.tempdir("deploy")
    path = os.path.join(d, "hopwatch.conf")
    with open(path, "w") as f:
        f.write(config_text())
    p = hopwatch("run", "-c", path, "--set", "agent.args_max=1")
    check_eq(p.returncode, 2, "exit code")
    check_eq(p.stdout, "", "stdout")
    lines = p.stderr.splitlines()
    check(lines and "agent.args_max" in lines[0], "complaint about agent.args_max: " + p.stderr)
    check(path not in p.stderr, "the file itself is not blamed: " + p.stderr)


ACTION = re.compile(r"`([a-z]+(?:[_-][a-z]+)+)`")  # snake_case or kebab-case
TABLE_ACTION = re.compile(r"`([a-z][a-z_-]*)`")    # also one word (`listen`, `exec`)


def event_doc_actions():
    """The first column of the rows of the tables headed `event.action` in events.md."""
    with open(EVENTS_DOC) as f:
        text = f.read()
    found, in_table = set(), False
    for line in text.splitlines():
        if line.startswith("| `event.action`"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("|--"):
            found.update(TABLE_ACTION.findall(line.split("|")[1]))
    return found | {"agent-started", "agent-stopped"}


def test_ir_doc_names_only_real_actions():
    known = event_doc_actions()
    for a in ("existing_session", "user_login", "user_logout", "existing_connection",
              "connection_open", "existing_process", "existing_listener", "listen", "exec"):
        check(a in known, "events.md lists " + a)
    with open(IR_DOC) as f:
        ir = f.read()
    named = set(ACTION.findall(ir))
    for a in ("existing_session", "user_login", "existing_connection", "connection_open",
              "existing_process", "existing_listener"):
        check(a in named, "incident-response.md covers " + a)
    for a in sorted(named):
        check(a in known, "incident-response.md names %r, which docs/events.md does not list" % a)
    filtered = re.findall(r'\.event\.action=="([^"]+)"', ir)
    check(filtered, "the doc's jq examples filter on event.action")
    for a in filtered:
        check(a in known, "a jq filter matches action %r, which events.md does not list" % a)
    check("--record" in ir and "hopwatch replay" in ir and "not available yet" not in ir,
          "the doc explains --record and hopwatch replay (available now)")
