"""Every ATT&CK technique id the rules and the stitcher can put on an alert has its name and
tactic in the one table (user/lib/attack.c), so no OCSF finding (output/ocsf_class.c) and no
documentation row goes out with a bare id; and docs/rules.md names each of them."""
import os
import re

import hw
from hw import check

TID = re.compile(r'"(T\d{4}(?:\.\d{3})?)"')
SOURCES = ("user/detect", "user/collect", "user/lib/attack.c")


def ids_in(path):
    with open(path, encoding="utf-8") as f:
        return set(TID.findall(f.read()))


def used_ids():
    ids = set()
    for src in SOURCES:
        p = os.path.join(hw.ROOT, src)
        files = [p] if os.path.isfile(p) else [
            os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(".c")]
        for f in files:
            ids |= ids_in(f)
    return ids


def table_ids():
    with open(os.path.join(hw.ROOT, "user/lib/attack.c"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("techniques[] = {")
    return set(re.findall(r'\{"(T[\d.]+)", "[^"]+", "TA\d{4}", "[^"]+"\}',
                          text[start:text.index("};", start)]))


def test_every_technique_a_rule_names_has_its_name():
    used, named = used_ids(), table_ids()
    check(len(used) >= 10 and len(named) >= 10,
          f"found the ids ({len(used)} used, {len(named)} named)")
    missing = sorted(used - named)
    check(not missing, f"techniques without a name in user/lib/attack.c: {missing}")


def test_docs_name_every_technique():
    with open(os.path.join(hw.ROOT, "docs/rules.md"), encoding="utf-8") as f:
        docs = f.read()
    missing = sorted(t for t in used_ids() if t not in docs)
    check(not missing, f"techniques the rules use but docs/rules.md does not name: {missing}")
