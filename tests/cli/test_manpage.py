"""docs/hopwatch.8: renders without a warning, and names every command, option, config key and
rule the code has (taken from the binary's help, deploy/hopwatch.conf and the rules' source),
so the page cannot fall behind the program."""
import os
import re
import subprocess

import hw
from hw import check, check_eq, hopwatch

PAGE = os.path.join(hw.ROOT, "docs", "hopwatch.8")


def page_text():
    """The page's source with roff escapes taken out: "\\-\\-record" reads "--record"."""
    with open(PAGE) as f:
        src = f.read()
    return re.sub(r"\\f[BIRP]", "", src.replace("\\-", "-").replace("\\%", "")
                  .replace("\\&", "").replace("\\~", " "))


def test_renders_without_warnings():
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", PAGE], capture_output=True,
                       text=True, timeout=60, env=env)
    check_eq(p.returncode, 0, "man exit status: " + p.stderr)
    check_eq(p.stderr, "", "man --warnings")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "CONFIGURATION",
                    "EVENTS", "EXIT STATUS", "SIGNALS", "FILES", "EXAMPLES", "SEE ALSO"):
        check(re.search(r"^%s$" % section, p.stdout, re.M), "a section " + section)
    p = subprocess.run(["groff", "-ww", "-man", "-z", PAGE], capture_output=True, text=True,
                       timeout=60)
    check_eq((p.returncode, p.stderr), (0, ""), "groff -ww")


def test_names_every_command_and_option():
    text = page_text()
    p = hopwatch("help")
    commands = re.findall(r"^  ([a-z]+) ", p.stdout, re.M)
    check("run" in commands and "check" in commands, "commands in help: %r" % commands)
    for c in commands + ["collect"]:
        check(re.search(r"^\.TP\n\.B %s$" % c, text, re.M), "COMMANDS describes " + c)
    for cmd in ("run", "replay", "sessions", "report"):
        p = hopwatch(cmd, "--help")
        check_eq(p.returncode, 0, cmd + " --help")
        for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", p.stdout))):
            check(re.search(r"(?<![\w-])%s\b" % re.escape(opt), text),
                  "the page names %s %s" % (cmd, opt))


def test_names_every_config_key():
    text = page_text()
    section, keys = None, []
    with open(os.path.join(hw.ROOT, "deploy", "hopwatch.conf")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif line and not line.startswith(("#", ";")):
                keys.append((section, line.split("=")[0].strip()))
    check(len(keys) > 20, "keys found in deploy/hopwatch.conf: %d" % len(keys))
    for section, key in keys:
        part = text.split(".SS [%s]" % section, 1)
        check(len(part) == 2, "a subsection [%s]" % section)
        body = part[1].split(".SS ", 1)[0]
        check(re.search(r"(?<![\w.])%s\b" % key, body), "[%s] describes %s" % (section, key))


def test_names_every_rule():
    text = page_text()
    rules = set()
    detect = os.path.join(hw.ROOT, "user", "detect")
    for name in sorted(os.listdir(detect)):
        if name.startswith("rules") and name.endswith(".c"):
            with open(os.path.join(detect, name)) as f:
                rules |= set(re.findall(r'rule_id = "([a-z-]+)"', f.read()))
    check(len(rules) >= 9, "rule ids in rules*.c: %r" % rules)
    for r in sorted(rules):
        check(re.search(r"^\.B %s$" % r, text, re.M), "EVENTS describes the rule " + r)
