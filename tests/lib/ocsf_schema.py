"""Checks lines against the OCSF schema's own source files (tests/schema/ocsf: the classes,
objects, profiles, dictionary and categories of the ocsf/ocsf-schema release named in its
README), compiled here as the OCSF server compiles them: a class or object gets the attributes
of what it extends, of the profile files it $includes and its own, deep-merged (the child's
settings win, enums are the union), each completed by its dictionary entry (type, is_array,
enum, sibling).

A line conforms when:
  - class_uid is a class of the schema, category_uid its category, type_uid is
    class_uid * 100 + activity_id, and class_name, category_name and every enum's sibling
    name (activity_name, severity, status, ...) is the caption of its id (except 99 Other,
    whose name is the source's own);
  - every attribute, at every depth, is one the class or object defines (a profile's only when
    metadata.profiles claims that profile; X_dt of every timestamp X only with "datetime");
  - every "required" attribute is present (the class's, inherited from base_event and its
    category, and those of each claimed profile), and each object's at_least_one / just_one
    constraints hold;
  - each value has its type (string_t and the types based on it with their regex and max_len,
    integer_t 32-bit, long_t and timestamp_t 64-bit, boolean_t, float_t, port_t 0..65535,
    ip_t, datetime_t), an array exactly where is_array says so, and an enum id is one of its
    enum's;
  - metadata.version is the schema's version.

validate(obj) returns the violations (strings), empty when the line conforms.
Run as a program: python3 ocsf_schema.py FILE... checks every line of the files.
"""
import copy
import ipaddress
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(os.path.dirname(HERE), "schema", "ocsf")

_schema = None


def _load(rel):
    with open(os.path.join(SCHEMA_DIR, rel), encoding="utf-8") as f:
        return json.load(f)


def _merge(base, over):
    """Deep merge of attribute definitions: over's settings win, dicts (enums) are merged."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Schema:
    def __init__(self):
        self.version = _load("version.json")["version"]
        d = _load("dictionary.json")
        self.dict = d["attributes"]
        self.types = d["types"]["attributes"]
        self.categories = {k: v for k, v in _load("categories.json")["attributes"].items()}
        self.events, self.objects = {}, {}
        for sub, store in (("events", self.events), ("objects", self.objects)):
            for root, _, files in os.walk(os.path.join(SCHEMA_DIR, sub)):
                for fn in files:
                    if fn.endswith(".json"):
                        doc = _load(os.path.relpath(os.path.join(root, fn), SCHEMA_DIR))
                        store[doc["name"]] = doc
        self._compiled = {}
        self.classes = {}  # class_uid -> compiled class
        for name, doc in self.events.items():
            if name == "base_event":
                self.classes[0] = self.compile("events", name)
            elif "uid" in doc:
                c = self.compile("events", name)
                cat = self.categories[c["category"]]
                c["category_uid"] = cat["uid"]
                c["category_caption"] = cat["caption"]
                c["class_uid"] = cat["uid"] * 1000 + doc["uid"]
                # the ids the compiler gives each class (base_event's enums hold only 0)
                c["attributes"]["class_uid"]["enum"] = {
                    str(c["class_uid"]): {"caption": c["caption"]}}
                c["attributes"]["category_uid"]["enum"] = {
                    str(cat["uid"]): {"caption": cat["caption"]}}
                self.classes[c["class_uid"]] = c
        self.classes[0]["category_uid"], self.classes[0]["class_uid"] = 0, 0
        self.classes[0]["category_caption"] = "Uncategorized"

    def _own(self, doc):
        """A document's attributes: its $included profiles' (marked with the profile), then
        its own merged over them."""
        attrs = {}
        for inc in doc.get("attributes", {}).get("$include", []):
            prof = _load(inc)
            for k, v in prof.get("attributes", {}).items():
                v = dict(v)
                v.setdefault("profile", prof["name"])
                attrs[k] = _merge(attrs.get(k, {}), v)
        for k, v in doc.get("attributes", {}).items():
            if k == "$include":
                continue
            attrs[k] = _merge(attrs.get(k, {}), v)
        return attrs

    def compile(self, kind, name):
        key = (kind, name)
        if key in self._compiled:
            return self._compiled[key]
        doc = (self.events if kind == "events" else self.objects)[name]
        attrs, constraints, category = {}, {}, doc.get("category")
        if doc.get("extends"):
            parent = self.compile(kind, doc["extends"])
            attrs = copy.deepcopy(parent["attributes"])
            constraints = dict(parent["constraints"])
            category = category or parent["category"]
        # a profile's attribute stays the profile's when redefined, unless "profile": null
        for k, v in self._own(doc).items():
            attrs[k] = _merge(attrs.get(k, {}), v)
        for k, v in list(attrs.items()):
            if "profile" in v and v["profile"] is None:
                del v["profile"]
            base = self.dict.get(k, {})
            full = _merge(base, v)
            if "enum" in base or "enum" in v:
                full["enum"] = dict(base.get("enum", {}), **v.get("enum", {}))
            attrs[k] = full
        if doc.get("constraints"):
            constraints = dict(doc["constraints"])
        out = {"name": name, "caption": doc.get("caption"), "attributes": attrs,
               "constraints": constraints, "category": category}
        self._compiled[key] = out
        return out


def schema():
    global _schema
    if _schema is None:
        _schema = Schema()
    return _schema


def _base_type(s, t):
    """The chain of a type's definitions, the named type first."""
    chain = []
    while t and t in s.types and t not in [c[0] for c in chain]:
        chain.append((t, s.types[t]))
        t = s.types[t].get("type")
    return chain


def _scalar_ok(s, t, v, path, errs):
    chain = _base_type(s, t)
    names = [c[0] for c in chain]
    if "boolean_t" in names:
        ok = isinstance(v, bool)
    elif "integer_t" in names:
        ok = isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31
    elif "long_t" in names:
        ok = isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63
    elif "float_t" in names:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif "json_t" in names:
        ok = True
    elif "string_t" in names:
        ok = isinstance(v, str)
    else:
        errs.append("%s: unknown type %r in the schema" % (path, t))
        return
    if not ok:
        errs.append("%s: %r is not of type %s" % (path, v, t))
        return
    for name, tdef in chain:
        rng = tdef.get("range")
        if rng and not rng[0] <= v <= rng[1]:
            errs.append("%s: %r is outside %s's range %s" % (path, v, name, rng))
        if tdef.get("max_len") and isinstance(v, str) and len(v) > tdef["max_len"]:
            errs.append("%s: longer than %s's %d" % (path, name, tdef["max_len"]))
        if tdef.get("regex") and isinstance(v, str) and not re.search(tdef["regex"], v):
            errs.append("%s: %r does not match %s" % (path, v, name))
    if t == "ip_t":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            errs.append("%s: %r is not an IP address" % (path, v))


def _check_object(s, comp, obj, path, profiles, errs):
    if not isinstance(obj, dict):
        errs.append("%s: not an object" % (path or "line"))
        return
    attrs = comp["attributes"]
    stamps = {k for k, a in attrs.items() if a.get("type") == "timestamp_t"}
    for k, v in obj.items():
        p = "%s.%s" % (path, k) if path else k
        a = attrs.get(k)
        if a is None and k.endswith("_dt") and k[:-3] in stamps:
            if "datetime" not in profiles:
                errs.append("%s: a datetime profile attribute, the profile not claimed" % p)
            else:
                _value(s, {"type": "datetime_t"}, v, p, profiles, errs)
            continue
        if a is None:
            errs.append("%s: not an attribute of %s" % (p, comp["name"]))
            continue
        if a.get("profile") and a["profile"] not in profiles:
            errs.append("%s: an attribute of profile %s, not claimed" % (p, a["profile"]))
        _value(s, a, v, p, profiles, errs)
    for k, a in attrs.items():
        if a.get("requirement") == "required" and k not in obj and \
                (not a.get("profile") or a["profile"] in profiles):
            errs.append("%s: required attribute missing" % ("%s.%s" % (path, k) if path else k))
    cons = comp.get("constraints", {})
    if cons.get("at_least_one") and not any(k in obj for k in cons["at_least_one"]):
        errs.append("%s: needs at least one of %s" % (path or "line", cons["at_least_one"]))
    if cons.get("just_one") and sum(k in obj for k in cons["just_one"]) != 1:
        errs.append("%s: needs exactly one of %s" % (path or "line", cons["just_one"]))
    # an enum's sibling (activity_name of activity_id, ...) is its id's caption, but for 99
    for k, a in attrs.items():
        sib = a.get("sibling")
        if sib and k in obj and sib in obj and a.get("enum"):
            e = a["enum"].get(str(obj[k]))
            if e and str(obj[k]) != "99" and obj[sib] != e.get("caption"):
                errs.append("%s: %r is not the caption of %s %s (%r)" % (
                    "%s.%s" % (path, sib) if path else sib, obj[sib], k, obj[k],
                    e.get("caption")))


def _value(s, a, v, path, profiles, errs):
    t = a.get("type")
    if a.get("is_array"):
        if not isinstance(v, list):
            errs.append("%s: not an array" % path)
            return
        items = [("%s[%d]" % (path, i), x) for i, x in enumerate(v)]
    else:
        if isinstance(v, list):
            errs.append("%s: an array where the schema has one value" % path)
            return
        items = [(path, v)]
    for p, x in items:
        if t == "object":
            if not isinstance(x, dict):
                errs.append("%s: not an object" % p)
        elif t in s.objects:
            _check_object(s, s.compile("objects", t), x, p, profiles, errs)
        else:
            _scalar_ok(s, t, x, p, errs)
            if a.get("enum") and isinstance(x, int) and not isinstance(x, bool) and \
                    str(x) not in a["enum"]:
                errs.append("%s: %r is not one of its enum's ids %s" % (
                    p, x, sorted(a["enum"], key=int)))


def validate(obj):
    s = schema()
    errs = []
    if not isinstance(obj, dict):
        return ["the line is not a JSON object"]
    uid = obj.get("class_uid")
    c = s.classes.get(uid) if isinstance(uid, int) and not isinstance(uid, bool) else None
    if c is None:
        return ["class_uid %r is not a class of OCSF %s" % (uid, s.version)]
    profiles = obj.get("metadata", {}).get("profiles", []) \
        if isinstance(obj.get("metadata"), dict) else []
    profiles = [p for p in profiles if isinstance(p, str)] if isinstance(profiles, list) else []
    _check_object(s, c, obj, "", set(profiles), errs)
    if obj.get("category_uid") != c["category_uid"]:
        errs.append("category_uid %r is not %s's category %d" % (
            obj.get("category_uid"), c["name"], c["category_uid"]))
    if "class_name" in obj and obj["class_name"] != c["caption"]:
        errs.append("class_name %r is not %r" % (obj["class_name"], c["caption"]))
    if "category_name" in obj and obj["category_name"] != c["category_caption"]:
        errs.append("category_name %r is not %r" % (obj["category_name"], c["category_caption"]))
    act = obj.get("activity_id")
    if isinstance(act, int) and obj.get("type_uid") != uid * 100 + act:
        errs.append("type_uid %r is not class_uid * 100 + activity_id (%d)" % (
            obj.get("type_uid"), uid * 100 + act))
    if isinstance(obj.get("metadata"), dict) and obj["metadata"].get("version") != s.version:
        errs.append("metadata.version %r is not the schema's %s" % (
            obj["metadata"].get("version"), s.version))
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
        out.extend("%s %d (%s): %s" % (what, i, obj.get("type_name") if isinstance(
            obj, dict) else None, e) for e in validate(obj))
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
