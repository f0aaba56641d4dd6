"""The agent's files call one way: the call graph between the files of user/agent/, read from
their object files (which file defines a symbol, which files reference it: `nm`), has no two
files calling each other both ways and no longer circle either (docs/architecture.md: data
flows kernel record -> decode -> model -> view -> emit -> encoders, sinks, engine).

Needs the objects `make` builds (build/user/agent/*.o), newer than their sources."""
import glob
import os
import subprocess

import hw
from hw import check, check_eq

AGENT = os.path.join(hw.ROOT, "user", "agent")
OBJS = os.path.join(hw.ROOT, "build", "user", "agent")
# nm's types of what an object defines for other objects (functions, data, bss, read-only,
# common, weak); "U" is what it needs from elsewhere
DEFINED = set("TDBRCVWGS")


def symbols(obj):
    """(defined, undefined) global symbols of one object file."""
    out = subprocess.run(["nm", "-P", "-g", obj], capture_output=True, text=True, check=True)
    defined, undefined = set(), set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in DEFINED:
            defined.add(name)
    return defined, undefined


def call_graph(objs):
    """{file: set of files it references} for object paths, named by their base names."""
    defs, needs = {}, {}
    for o in objs:
        name = os.path.basename(o)[:-2] + ".c"
        d, u = symbols(o)
        needs[name] = u
        for s in d:
            defs[s] = name
    return {f: {defs[s] for s in u if s in defs and defs[s] != f} for f, u in needs.items()}


def both_ways(graph):
    return sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ()))


def circles(graph):
    """Every file that lies on a circle of calls (the strongly connected parts of more than one
    file), each part sorted; [] when the calls go one way."""
    index, low, stack, on, parts, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                parts.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(parts)


def agent_objects():
    srcs = sorted(glob.glob(os.path.join(AGENT, "*.c")))
    check(srcs, "user/agent/ has C files")
    objs = []
    newest_hdr = max(os.path.getmtime(h) for h in glob.glob(os.path.join(AGENT, "*.h")))
    for src in srcs:
        obj = os.path.join(OBJS, os.path.basename(src)[:-2] + ".o")
        check(os.path.exists(obj), "%s is built (run make)" % os.path.relpath(obj, hw.ROOT))
        check(os.path.getmtime(obj) >= max(os.path.getmtime(src), newest_hdr),
              "%s is older than its sources (run make)" % os.path.relpath(obj, hw.ROOT))
        objs.append(obj)
    return objs


def test_agent_files_call_one_way():
    graph = call_graph(agent_objects())
    check("emit.c" in graph, "user/agent/emit.c exists (the one place that encodes and writes)")
    check_eq(both_ways(graph), [], "files of user/agent/ that call each other both ways")
    check_eq(circles(graph), [], "files of user/agent/ on a circle of calls")
    # emit.c is the end of the flow: it calls no handler back
    handlers = {"agent.c", "proc.c", "net.c", "login.c", "socks.c", "output.c"}
    check_eq(sorted(graph["emit.c"] & handlers), [], "handlers emit.c calls")


def encodes(sym):
    """An encoder, a fact built from a view, the engine's feed or a line sink's write (check.c
    reads facts back from lines: hw_fact__from_json, hw_fact__diff are not builders)."""
    return (sym.startswith(("hw_ecs__", "hw_text__", "hw_json__")) or
            (sym.startswith("hw_fact__") and (sym.endswith("_event") or sym == "hw_fact__tick"))
            or sym in ("hw_engine__feed", "hw_sink__write"))


def test_only_emit_encodes():
    """The encoders, the engine's feed and the line sinks' writes are reached from emit.c only
    (output.c opens, flushes and reopens the line sinks, it writes nothing)."""
    owners = {}
    for obj in agent_objects():
        _, u = symbols(obj)
        for s in u:
            if encodes(s):
                owners.setdefault(s, set()).add(os.path.basename(obj)[:-2] + ".c")
    check(owners, "the agent's objects reference encoders")
    check_eq({s: sorted(f) for s, f in owners.items() if f != {"emit.c"}}, {},
             "encoders and writes referenced outside emit.c")


def build(tmp, sources):
    objs = []
    for name, text in sources.items():
        src = os.path.join(tmp, name)
        with open(src, "w") as f:
            f.write(text)
        subprocess.run(["cc", "-c", "-o", src[:-2] + ".o", src], check=True)
        objs.append(src[:-2] + ".o")
    return call_graph(objs)


def test_the_check_sees_a_circular_pair():
    """The reader above on objects made for it: a pair calling each other both ways, a circle of
    three, and a one-way chain (which must pass); a static function is no edge."""
    tmp = hw.tempdir("calls")
    pair = build(os.path.join(tmp), {
        "a.c": "void b(void); void a(void) { b(); }\n",
        "b.c": "void a(void); static void own(void) {}\nvoid b(void) { own(); a(); }\n",
    })
    check_eq(pair, {"a.c": {"b.c"}, "b.c": {"a.c"}}, "the graph of a circular pair")
    check_eq(both_ways(pair), [("a.c", "b.c")], "a pair calling each other both ways")
    check_eq(circles(pair), [["a.c", "b.c"]], "the circle of a pair")
    ring = os.path.join(tmp, "ring")
    os.mkdir(ring)
    three = build(ring, {
        "x.c": "void y(void); void x(void) { y(); }\n",
        "y.c": "void z(void); void y(void) { z(); }\n",
        "z.c": "void x(void); void z(void) { x(); }\n",
    })
    check_eq(both_ways(three), [], "a circle of three has no pair both ways")
    check_eq(circles(three), [["x.c", "y.c", "z.c"]], "the circle of three")
    chain = os.path.join(tmp, "chain")
    os.mkdir(chain)
    line = build(chain, {
        "p.c": "void q(void); extern int shared; void p(void) { q(); shared++; }\n",
        "q.c": "void r(void); void q(void) { r(); }\n",
        "r.c": "int shared; void r(void) {}\n",
    })
    check_eq(line, {"p.c": {"q.c", "r.c"}, "q.c": {"r.c"}, "r.c": set()}, "a one-way chain")
    check_eq(both_ways(line), [], "a one-way chain both ways")
    check_eq(circles(line), [], "a one-way chain's circles")


def test_facts_read_only_listed_members():
    """Replay's scanner (detect/factscan.c) keeps only the members fact_fields.h lists: a fact
    file that reads a member by its path string, past the table, loses it in replay (agent-hijack
    fired live and never in replay until its members were listed)."""
    import glob
    import re
    bad = []
    for path in sorted(glob.glob(os.path.join(hw.ROOT, "user", "detect", "fact*.c"))):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if re.search(r'hw_jdoc__(str|get)\([^,]+,\s*"', line):
                    bad.append("%s:%d" % (os.path.relpath(path, hw.ROOT), n))
    check_eq(bad, [], "members read past fact_fields.h")


def test_the_stitchers_line_carries_what_the_stitcher_reads():
    """Partitioned instances forward a fact as collect/stitch_line.c writes it, not the agent's
    line: every member of a fact that the stitcher (collect/stitch*.c) reads must be one the line
    writes, or the second stage would stitch with it zeroed."""
    import re
    src = os.path.join(hw.ROOT, "user", "collect")
    member = re.compile(r"\bf->([a-z_]+)(?:\.([a-z_]+))?")

    def reads(path, only=None):
        with open(path) as fh:
            text = fh.read()
        if only:
            m = re.search(only + r".*?^}", text, re.S | re.M)
            check(m, "%s in %s" % (only, path))
            text = m.group(0) if m else ""
        return {a + ("." + b if b else "") for a, b in member.findall(text)}

    stitcher = reads(os.path.join(src, "stitch.c")) | reads(os.path.join(src, "stitch_chain.c"))
    written = reads(os.path.join(src, "stitch_line.c"), r"^size_t hw_stitch_line__write\(")
    # a whole endpoint read (make_tuple) is its ip and port
    for ep in ("src", "dst"):
        if ep in stitcher:
            stitcher = (stitcher - {ep}) | {ep + ".ip", ep + ".port"}
    check(len(stitcher) > 15, "members found in the stitcher: %r" % sorted(stitcher))
    check_eq(sorted(stitcher - written), [], "members the stitcher reads, not on its line")
