"""The orientation stays true to the tree: README.md's Layout section and docs/architecture.md
name every folder directly under user/ and tests/ that exists, and no folder that does not.
README's Layout names them bare inside the entry of their parent ("user/ ... model/ (...)");
the architecture page names them by path (`user/model/`)."""
import os
import re

import hw
from hw import check, check_eq

TOPS = ("user", "tests")
# a folder named bare: "model/" but not "docs/rules.md", "config.c/parse.c" or "tests/lib/"
BARE = re.compile(r"(?<![\w./-])([a-z][\w-]*)/(?![\w.])")


def present(top, root=hw.ROOT):
    """The folders directly under root/top (not hidden, not Python's caches)."""
    return {e.name for e in os.scandir(os.path.join(root, top))
            if e.is_dir() and not e.name.startswith(".") and e.name != "__pycache__"}


def layout_block(readme):
    """The fenced block of README's "## Layout" section."""
    m = re.search(r"^## Layout\n(.*?)^```\n(.*?)^```", readme, re.M | re.S)
    check(m, "README.md has a Layout section with a fenced block")
    return m.group(2) if m else ""


def layout_entries(block):
    """Entries of the block: a line beginning at column 0 opens one ("user/   main.c ..."),
    indented lines continue it. {"user": its text without the name, ...}"""
    entries, name = {}, None
    for line in block.splitlines():
        if line and not line[0].isspace():
            name, _, rest = line.partition(" ")
            name = name.rstrip("/")
            entries[name] = rest
        elif name:
            entries[name] += "\n" + line
    return entries


def named_in_readme(block, top):
    return set(BARE.findall(layout_entries(block).get(top, "")))


def named_in_architecture(text, top):
    return set(re.findall(r"(?<![\w./-])%s/([a-z][\w-]*)/" % re.escape(top), text))


def read(*path):
    with open(os.path.join(hw.ROOT, *path)) as f:
        return f.read()


def compare(named, folders, where):
    check_eq(sorted(folders - named), [], "folders %s does not name" % where)
    check_eq(sorted(named - folders), [], "folders %s names that do not exist" % where)


def test_readme_layout_names_every_folder():
    block = layout_block(read("README.md"))
    for top in TOPS:
        check(top in layout_entries(block), "README's Layout has an entry %s/" % top)
        compare(named_in_readme(block, top), present(top), "README's Layout (%s/)" % top)


def test_architecture_names_every_folder():
    text = read("docs", "architecture.md")
    for top in TOPS:
        compare(named_in_architecture(text, top), present(top),
                "docs/architecture.md (%s/)" % top)


def test_the_checks_see_a_missing_and_a_stray_folder():
    """The readers above on a made-up tree and texts: a folder left out and a folder that is not
    there are both seen, and file paths are not taken for folders."""
    root = hw.tempdir("layout")
    for d in ("user/model", "user/lib", "user/.hidden", "tests/unit"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "user", "main.c"), "w") as f:
        f.write("")
    check_eq(present("user", root), {"model", "lib"}, "folders of a made-up user/")
    block = ("user/           main.c, config.c/parse.c, model/ (tables, docs/rules.md),\n"
             "                ghost/ (gone), see tests/lib/x.py\n"
             "tests/          unit/\n")
    named = named_in_readme(block, "user")
    check_eq(named, {"model", "ghost"}, "bare folders of a made-up user/ entry")
    check_eq(sorted(present("user", root) - named), ["lib"], "the folder left out is seen")
    check_eq(sorted(named - present("user", root)), ["ghost"], "the stray folder is seen")
    check_eq(named_in_readme(block, "tests"), {"unit"}, "bare folders of the tests/ entry")
    text = "`user/model/` and user/ghost/x.c, `user/main.c`, tests/unit/main.c, userland/lib/"
    check_eq(named_in_architecture(text, "user"), {"model", "ghost"}, "user/ paths of a page")
    check_eq(named_in_architecture(text, "tests"), {"unit"}, "tests/ paths of a page")
