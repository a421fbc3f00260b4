"""Checks a JSON array of OCSF findings against the published OCSF schema.

Usage: ocsf_check.py FILE [VERSION]   (VERSION defaults to 1.5.0)

The schema is the OCSF schema repository's definition of that version as pydantic-ocsf ships it
(classes, objects, the attribute dictionary and its data types). Each object is checked against
its class with inheritance resolved: every required attribute present, no attribute the class
or an active profile does not define, no deprecated attribute, every value of its type (objects
recursively, arrays, integers, strings, the types' patterns and limits), every enum id one the
schema lists with its sibling caption matching, `at_least_one` constraints, and the class,
category and type uids consistent. It is then read by pydantic-ocsf's models of that version and
by Prowler's OCSF models (py-ocsf-models) for the two finding classes, as a second and third
reader. Prints one line per problem and exits 1 if there is any.
"""

import json
import re
import sys
from pathlib import Path

import ocsf as pydantic_ocsf

VERSION = sys.argv[2] if len(sys.argv) > 2 else "1.5.0"
SCHEMA = json.loads(
    (Path(pydantic_ocsf.__file__).parent / "schemas" / f"v{VERSION.replace('.', '_')}.json").read_text()
)
DICT = SCHEMA["dictionary"]["attributes"]
TYPES = SCHEMA["dictionary"]["types"]["attributes"]
OBJECTS = SCHEMA["objects"]
EVENTS = SCHEMA["events"]
CATEGORIES = SCHEMA["categories_meta"]["attributes"]

# Profile attributes a class gains when `metadata.profiles` names the profile. The schema file
# does not carry the profiles' own definitions; these are the cloud profile's, as the OCSF
# documentation defines it.
PROFILES = {"cloud": {"cloud": {"requirement": "required"}, "api": {"requirement": "optional"}}}


def merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve(section, name):
    """A class's or object's attributes, inherited ones included, each merged over the
    dictionary's definition of the attribute; and its constraints."""
    spec = section[name]
    attrs, constraints = ({}, {})
    if spec.get("extends"):
        attrs, constraints = resolve(section, spec["extends"])
    for a, sp in spec.get("attributes", {}).items():
        if a.startswith("$") or not isinstance(sp, dict):
            continue
        attrs[a] = merge(attrs.get(a, {}), sp)
    constraints = merge(constraints, spec.get("constraints", {}))
    return attrs, constraints


def full(name, spec):
    return merge(DICT.get(name, {}), spec)


def observable_enum():
    enum = {"0": {"caption": "Unknown"}, "99": {"caption": "Other"}}
    for table in (TYPES, DICT, OBJECTS):
        for v in table.values():
            if isinstance(v, dict) and v.get("observable") is not None:
                enum[str(v["observable"])] = {"caption": v.get("caption")}
    return enum


def base_type(t):
    while t in TYPES and TYPES[t].get("type"):
        t = TYPES[t]["type"]
    return t


class Checker:
    def __init__(self):
        self.errors = []

    def err(self, path, msg):
        self.errors.append(f"{path}: {msg}")

    def scalar(self, path, t, v):
        b = base_type(t)
        ok = {
            "string_t": lambda: isinstance(v, str),
            "integer_t": lambda: isinstance(v, int) and not isinstance(v, bool),
            "long_t": lambda: isinstance(v, int) and not isinstance(v, bool),
            "float_t": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean_t": lambda: isinstance(v, bool),
            "json_t": lambda: True,
        }.get(b)
        if ok is None:
            self.err(path, f"unknown type {t}")
            return
        if not ok():
            self.err(path, f"{v!r} is not a {t}")
            return
        td = TYPES.get(t, {})
        if td.get("regex") and not re.match(td["regex"], v):
            self.err(path, f"{v!r} does not match the pattern of {t}")
        if td.get("max_len") and len(v) > td["max_len"]:
            self.err(path, f"{t} longer than {td['max_len']}")
        if td.get("range") and not td["range"][0] <= v <= td["range"][1]:
            self.err(path, f"{v} outside {td['range']}")

    def value(self, path, name, spec, v):
        t = spec.get("type")
        if spec.get("is_array"):
            if not isinstance(v, list):
                self.err(path, "not an array")
                return
            for i, x in enumerate(v):
                self.one(f"{path}[{i}]", name, t, spec, x)
        else:
            self.one(path, name, t, spec, v)

    def one(self, path, name, t, spec, v):
        if t == "object":
            if not isinstance(v, dict):
                self.err(path, "not an object")
        elif t in OBJECTS:
            self.obj(path, t, v)
        elif t:
            self.scalar(path, t, v)
        else:
            self.err(path, f"attribute {name} has no type")

    def attributes(self, path, attrs, constraints, v, owner=None):
        if not isinstance(v, dict):
            self.err(path, "not an object")
            return
        for k in v:
            if k not in attrs:
                self.err(path, f"attribute {k!r} is not defined here")
        for a, sp in attrs.items():
            sp = full(a, sp)
            present = a in v and v[a] is not None
            if sp.get("requirement") == "required" and not present:
                self.err(path, f"required attribute {a!r} is missing")
            if not present:
                continue
            if "@deprecated" in sp:
                self.err(path, f"attribute {a!r} is deprecated: {sp['@deprecated'].get('message')}")
            self.value(f"{path}.{a}", a, sp, v[a])
            # An observable's type ids are those the schema marks as observable.
            enum = observable_enum() if (owner, a) == ("observable", "type_id") else sp.get("enum")
            if owner is None and a in ("category_uid", "class_uid", "type_uid"):
                enum = None  # the class's own values, checked in event()
            if enum is not None:
                key = str(v[a])
                if key not in enum:
                    self.err(f"{path}.{a}", f"{v[a]!r} is not one of {sorted(enum, key=int)}")
                elif sp.get("sibling") and sp["sibling"] in v and key != "99":
                    caption = enum[key].get("caption")
                    if v[sp["sibling"]] != caption:
                        self.err(f"{path}.{sp['sibling']}", f"{v[sp['sibling']]!r} is not the caption {caption!r} of {a} {key}")
        group = constraints.get("at_least_one")
        if group and not any(v.get(a) is not None for a in group):
            self.err(path, f"needs at least one of {group}")
        group = constraints.get("just_one")
        if group and sum(v.get(a) is not None for a in group) != 1:
            self.err(path, f"needs exactly one of {group}")

    def obj(self, path, name, v):
        attrs, constraints = resolve(OBJECTS, name)
        self.attributes(path, attrs, constraints, v, owner=name)

    def event(self, path, v):
        if not isinstance(v, dict):
            self.err(path, "not an object")
            return None
        by_uid = {}
        for name, spec in EVENTS.items():
            # A class's category is its own or the one of the class it extends.
            parent = spec
            while "category" not in parent and parent.get("extends") in EVENTS:
                parent = EVENTS[parent["extends"]]
            cat = CATEGORIES.get(parent.get("category", ""), {}).get("uid")
            if cat is not None and "uid" in spec:
                by_uid[cat * 1000 + spec["uid"]] = (name, cat)
        cls = v.get("class_uid")
        if cls not in by_uid:
            self.err(path, f"class_uid {cls!r} is not an OCSF {VERSION} class")
            return None
        name, cat = by_uid[cls]
        attrs, constraints = resolve(EVENTS, name)
        profiles = (v.get("metadata") or {}).get("profiles") or []
        for p in profiles:
            for a, sp in PROFILES.get(p, {}).items():
                attrs[a] = merge(attrs.get(a, {}), sp)
        self.attributes(path, attrs, constraints, v)
        if v.get("category_uid") != cat:
            self.err(path, f"category_uid {v.get('category_uid')!r} is not {cat}")
        if isinstance(v.get("activity_id"), int) and v.get("type_uid") != cls * 100 + v["activity_id"]:
            self.err(path, f"type_uid {v.get('type_uid')!r} is not class_uid * 100 + activity_id")
        if (v.get("metadata") or {}).get("version") != VERSION:
            self.err(path, f"metadata.version is not {VERSION}")
        return name


def second_readers(path, name, v, errors):
    from pydantic import ValidationError

    ns = __import__(f"ocsf.v{VERSION.replace('.', '_')}.events", fromlist=["events"])
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    readers = {
        "compliance_finding": [getattr(ns, "ComplianceFinding"), ComplianceFinding],
        "detection_finding": [getattr(ns, "DetectionFinding"), DetectionFinding],
    }
    for model in readers.get(name, []):
        try:
            model.model_validate(json.loads(json.dumps(v)))
        except ValidationError as e:
            for x in e.errors():
                errors.append(f"{path}: {model.__module__}.{model.__name__}: {'.'.join(map(str, x['loc']))}: {x['msg']}")


def main():
    data = json.loads(Path(sys.argv[1]).read_text())
    c = Checker()
    if not isinstance(data, list):
        print("not a JSON array of OCSF objects")
        return 1
    counts = {}
    for i, v in enumerate(data):
        name = c.event(f"[{i}]", v)
        if name:
            counts[name] = counts.get(name, 0) + 1
            second_readers(f"[{i}]", name, v, c.errors)
    for e in c.errors:
        print(e)
    if c.errors:
        return 1
    print(f"{len(data)} OCSF {VERSION} objects valid: {json.dumps(counts, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
