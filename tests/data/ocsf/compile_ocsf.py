"""Compile one OCSF event class, from a checkout of github.com/ocsf/ocsf-schema, into a JSON Schema.

    git -C ocsf-schema checkout v1.5.0   # the release branch (tag 1.5.0 already says 1.6.0-dev)
    python tests/data/ocsf/compile_ocsf.py ocsf-schema > tests/data/ocsf/detection_finding-1.5.0.json

What it compiles, the way the OCSF schema server does: the class's `extends` chain (base_event →
finding → detection_finding), attribute definitions deep-merged dictionary ← parent ← child (enums
are unions), `$include`d profile attributes tagged with their profile unless a class says
`"profile": null`, and only the attributes of the profiles applied (`cloud`). Every attribute
becomes a property of its dictionary type (scalar types with their regex, length and range; arrays;
objects by reference), `required` ones are required, anything else is rejected (OCSF puts what it
does not define under `unmapped`), enums are closed, a `_name`/caption sibling must match its `_id`
(but for 99 Other), and an object's `at_least_one` / `just_one` constraints hold. The event's
`class_uid`, `category_uid` and `type_uid` (class_uid * 100 + activity_id) are fixed.

Only the objects in OBJECTS are compiled; a property of another object type accepts nothing, so
an exporter that starts emitting one fails its test until the object is added here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CLASS = "events/findings/detection_finding.json"
PROFILES = ("cloud",)
OBJECTS = (
    "finding_info",
    "resource_details",
    "cloud",
    "account",
    "organization",
    "metadata",
    "product",
    "remediation",
)
SCALARS = {
    "boolean_t": {"type": "boolean"},
    "float_t": {"type": "number"},
    "integer_t": {"type": "integer"},
    "long_t": {"type": "integer"},
    "string_t": {"type": "string"},
    "json_t": {},
}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if k == "enum" and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and k != "enum":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class Compiler:
    def __init__(self, root: Path):
        self.root = root
        self.dictionary = self._json("dictionary.json")
        self.types = self.dictionary["types"]["attributes"]

    def _json(self, rel: str) -> dict:
        return json.loads((self.root / rel).read_text())

    def _attributes(self, doc: dict) -> dict:
        """A class's or object's own attributes with its includes (profiles tagged) merged under them."""
        attrs: dict = {}
        for inc in doc.get("attributes", {}).get("$include", []):
            included = self._json(inc)
            profile = included.get("name") if included.get("meta") == "profile" else None
            for name, a in included["attributes"].items():
                attrs[name] = _merge(attrs.get(name, {}), {**a, "profile": profile} if profile else a)
        for name, a in doc.get("attributes", {}).items():
            if name != "$include":
                attrs[name] = _merge(attrs.get(name, {}), a)
        return attrs

    def _resolved(self, doc: dict, find) -> tuple[dict, dict]:
        """(attributes, constraints) of `doc` with its `extends` chain merged under them."""
        attrs, constraints = {}, {}
        if doc.get("extends") and doc["extends"] != "object":
            attrs, constraints = self._resolved(find(doc["extends"]), find)
        for name, a in self._attributes(doc).items():
            attrs[name] = _merge(attrs.get(name, {}), a)
        constraints = {**constraints, **doc.get("constraints", {})}
        return attrs, constraints

    def _event(self, name: str) -> dict:
        hits = list((self.root / "events").rglob(f"{name}.json"))
        return json.loads(hits[0].read_text())

    def _object(self, name: str) -> dict:
        return self._json(f"objects/{name}.json")

    def _type(self, type_name: str) -> dict:
        if type_name in SCALARS:
            return dict(SCALARS[type_name])
        t = self.types[type_name]
        out = self._type(t["type"]) if "type" in t else {"type": "integer"}  # timestamp_t: ms epoch
        if "regex" in t:
            out["pattern"] = t["regex"]
        if "max_len" in t:
            out["maxLength"] = t["max_len"]
        if "range" in t:
            out["minimum"], out["maximum"] = t["range"]
        return out

    def _property(self, name: str, a: dict) -> dict:
        d = _merge(self.dictionary["attributes"][name], a)
        t = d["type"]
        if t == "object":
            prop = {"type": "object"}
        elif t.endswith("_t"):
            prop = self._type(t)
        else:
            prop = {"$ref": f"#/$defs/{t}"} if t in OBJECTS else {"not": {}, "$comment": f"{t}: not compiled"}
        if "enum" in d:
            keys = list(d["enum"])
            prop["enum"] = [int(k) for k in keys] if prop.get("type") == "integer" else keys
        return {"type": "array", "items": prop} if d.get("is_array") else prop

    def _schema(self, attrs: dict, constraints: dict) -> dict:
        kept = {n: a for n, a in attrs.items() if a.get("profile") in (None, *PROFILES)}
        props = {n: self._property(n, a) for n, a in kept.items()}
        out = {
            "type": "object",
            "properties": props,
            "required": sorted(n for n, a in kept.items() if a.get("requirement") == "required"),
            "additionalProperties": False,
        }
        rules = []
        for n in kept:
            d = _merge(self.dictionary["attributes"][n], kept[n])
            sibling = d.get("sibling")
            if "enum" in d and sibling in kept:
                for k, v in d["enum"].items():
                    if k != "99":
                        rules.append(
                            {
                                "if": {"properties": {n: {"const": int(k)}}, "required": [n, sibling]},
                                "then": {"properties": {sibling: {"const": v["caption"]}}},
                            }
                        )
        if "at_least_one" in constraints:
            rules.append({"anyOf": [{"required": [n]} for n in constraints["at_least_one"] if "." not in n]})
        if "just_one" in constraints:
            rules.append({"oneOf": [{"required": [n]} for n in constraints["just_one"]]})
        if rules:
            out["allOf"] = rules
        return out

    def compile(self) -> dict:
        cls = self._json(CLASS)
        attrs, constraints = self._resolved(cls, self._event)
        category = self._json("categories.json")["attributes"][self._event("finding")["category"]]
        class_uid = category["uid"] * 1000 + cls["uid"]
        activities = [
            int(k) for k in _merge(self.dictionary["attributes"]["activity_id"], attrs["activity_id"])["enum"]
        ]
        schema = self._schema(attrs, constraints)
        schema["properties"]["class_uid"] = {"const": class_uid}
        schema["properties"]["category_uid"] = {"const": category["uid"]}
        schema["properties"]["type_uid"] = {"enum": [class_uid * 100 + a for a in activities]}
        schema["properties"]["metadata"] = {
            "allOf": [{"$ref": "#/$defs/metadata"}],
            "properties": {"profiles": {"contains": {"enum": list(PROFILES)}}},
            "required": ["profiles"],
        }
        version = self._json("version.json")["version"]
        defs = {}
        for name in OBJECTS:
            defs[name] = self._schema(*self._resolved(self._object(name), self._object))
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"ocsf-{version}-{cls['name']}",
            "title": f"OCSF {version} {cls['caption']} (class_uid {class_uid}), profiles {', '.join(PROFILES)}",
            "$comment": f"Compiled by tests/data/ocsf/compile_ocsf.py from ocsf-schema {version}",
            **schema,
            "$defs": defs,
        }


if __name__ == "__main__":
    json.dump(Compiler(Path(sys.argv[1])).compile(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
