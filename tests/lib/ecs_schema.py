"""Checks event lines against Elastic's own ECS schema (tests/schema/ecs/ecs_flat-VERSION.yml,
generated/ecs/ecs_flat.yml of the elastic/ecs release; see tests/schema/ecs/README.md).

A line conforms when:
  - every field outside `hopwatch.*` (hopwatch's custom fields) is an ECS field of the schema,
    reached through ECS objects only (no custom name anywhere else);
  - each value has the field's type (keyword and text: a string; long: an integer; date: an
    RFC 3339 string; ip: an IPv4/IPv6 address; boolean: true/false); a list only where the
    schema normalizes the field to an array, and such a field is always a list;
  - fields with allowed values (event.kind, event.category, event.type, event.outcome) or
    expected values (network.direction) hold only those, and every event.type is one the schema expects for an event.category of the
    line (allowed_values[].expected_event_types);
  - the fields the schema marks required (@timestamp, ecs.version) are present, ecs.version
    names the schema's version;
  - and what ECS defines beyond types holds: network.bytes is source.bytes + destination.bytes,
    process.args_count counts at least the elements of process.args (more only when
    hopwatch.truncated lists process.args: the agent keeps the whole count).

validate(obj) returns the list of violations (strings), empty when the line conforms.
Run as a program: python3 ecs_schema.py FILE... checks every line of the files.
"""
import datetime
import ipaddress
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(os.path.dirname(HERE), "schema", "ecs")
VERSION = "8.17.0"
SCHEMA_PATH = os.path.join(SCHEMA_DIR, "ecs_flat-%s.yml" % VERSION)
CUSTOM = "hopwatch"

STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text"}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")

_schema = None


def schema():
    global _schema
    if _schema is None:
        with open(SCHEMA_PATH) as f:
            _schema = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        # an object field with children in the schema is walked into; one without (labels)
        # takes any members
        _schema = {"fields": _schema,
                   "parents": {k.rsplit(".", 1)[0] for k in _schema if "." in k}}
    return _schema


def _date_ok(v):
    if not isinstance(v, str) or not RFC3339.match(v):
        return False
    try:
        datetime.datetime.strptime(v[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _ip_ok(v):
    try:
        ipaddress.ip_address(v)
        return isinstance(v, str)
    except ValueError:
        return False


def _type_ok(ftype, v):
    if ftype in STRING_TYPES:
        return isinstance(v, str)
    if ftype == "long":
        return isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63
    if ftype in ("float", "scaled_float", "half_float", "double"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if ftype == "boolean":
        return isinstance(v, bool)
    if ftype == "date":
        return _date_ok(v)
    if ftype == "ip":
        return _ip_ok(v)
    if ftype == "geo_point":
        return isinstance(v, (dict, str, list))
    return False


def _leaf(path, v, errs):
    s = schema()
    f = s["fields"].get(path)
    if f is None:
        errs.append("%s: not an ECS field (custom fields belong under %s.)" % (path, CUSTOM))
        return
    ftype = f["type"]
    is_array = "array" in (f.get("normalize") or [])
    if isinstance(v, list):
        if not is_array:
            errs.append("%s: a list, but ECS %s is not an array field" % (path, path))
            return
        values = v
    else:
        if is_array:
            errs.append("%s: ECS normalizes %s to an array, got %r" % (path, path, v))
        values = [v]
    for x in values:
        if isinstance(x, (dict, list)) or not _type_ok(ftype, x):
            errs.append("%s: %r is not of ECS type %s" % (path, x, ftype))
            continue
        allowed = f.get("allowed_values")
        if allowed and x not in [a["name"] for a in allowed]:
            errs.append("%s: %r is not an allowed value (%s)" % (path, x, ", ".join(
                a["name"] for a in allowed)))
        expected = f.get("expected_values")
        if expected and x not in expected:
            errs.append("%s: %r is not an expected value (%s)" % (path, x, ", ".join(expected)))


def _walk(prefix, obj, errs):
    s = schema()
    for k, v in obj.items():
        path = prefix + k if prefix else k
        if not prefix and k == CUSTOM:
            if not isinstance(v, dict):
                errs.append("%s: the custom namespace must be an object" % CUSTOM)
            continue
        f = s["fields"].get(path)
        if isinstance(v, dict):
            if f is not None and f["type"] == "flattened":
                continue
            if f is not None and f["type"] in ("object", "nested") and path not in s["parents"]:
                continue  # e.g. labels: any member names
            if f is not None and f["type"] not in ("object", "nested"):
                errs.append("%s: an object, but ECS %s is a %s" % (path, path, f["type"]))
                continue
            if f is None and path not in s["parents"]:
                errs.append("%s: not an ECS field set (custom fields belong under %s.)"
                            % (path, CUSTOM))
                continue
            _walk(path + ".", v, errs)
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
            if f is None or f["type"] != "nested":
                errs.append("%s: a list of objects, but ECS %s is not nested" % (path, path))
        else:
            _leaf(path, v, errs)


def _get(obj, dotted):
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def validate(obj):
    """The violations of one event (a parsed JSON object), [] when it conforms."""
    errs = []
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    fields = schema()["fields"]
    _walk("", obj, errs)
    for name, f in fields.items():
        if f.get("required") and _get(obj, name) is None:
            errs.append("%s: required by ECS, missing" % name)
    ver = _get(obj, "ecs.version")
    if ver is not None and ver != VERSION:
        errs.append("ecs.version: %r, the schema checked is %s" % (ver, VERSION))
    cats = _get(obj, "event.category") or []
    types = _get(obj, "event.type") or []
    if isinstance(cats, list) and isinstance(types, list):
        expected = {}
        for a in fields["event.category"]["allowed_values"]:
            expected[a["name"]] = set(a.get("expected_event_types") or [])
        for t in types:
            if cats and not any(t in expected.get(c, ()) for c in cats):
                errs.append("event.type %r is not expected with event.category %r (ECS: %s)"
                            % (t, cats, "; ".join("%s: %s" % (c, ", ".join(
                                sorted(expected.get(c, ())))) for c in cats)))
        if types and not cats:
            errs.append("event.type without event.category")
    nb, sb, db = (_get(obj, "network.bytes"), _get(obj, "source.bytes"),
                  _get(obj, "destination.bytes"))
    if all(isinstance(x, int) for x in (nb, sb, db)) and nb != sb + db:
        errs.append("network.bytes %d is not source.bytes + destination.bytes (%d + %d)"
                    % (nb, sb, db))
    args, count = _get(obj, "process.args"), _get(obj, "process.args_count")
    if isinstance(args, list) and isinstance(count, int):
        cut = "process.args" in (_get(obj, CUSTOM + ".truncated") or [])
        if count < len(args) or (count > len(args) and not cut):
            errs.append("process.args_count %d for %d process.args%s" % (
                count, len(args), "" if cut else " (not flagged in hopwatch.truncated)"))
    return errs


def validate_lines(lines, what="line"):
    """Every violation of every line, as 'WHAT N: violation' strings; lines are JSON text."""
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            out.append("%s %d: not JSON: %s" % (what, i, e))
            continue
        out.extend("%s %d (%s): %s" % (what, i, _get(obj, "event.action"), e)
                   for e in validate(obj))
    return out


def main(argv):
    bad = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            errs = validate_lines(f.read().splitlines(), path + " line")
        for e in errs:
            print(e)
        bad += len(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
