//! Contract schemas in the form OpenAI's strict structured outputs accept, for `codex exec
//! --output-schema` (Codex always sends the schema with `strict: true`). Strict mode wants
//! every property of every object required and no other properties; an optional property is
//! written as required and nullable instead, and the `null`s the model then gives for them are
//! dropped from its answer before factory validates it against the full contract. A schema
//! that cannot be made strict (a free-form map, a keyword strict mode does not take) is not
//! sent at all: the prompt carries the contract and factory validates the answer either way.

use serde_json::{Map, Value, json};

/// Keywords that change what strict structured outputs would accept, and that strict mode
/// rejects: a schema using one is not sent.
const UNSUPPORTED: &[&str] = &[
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "contains",
];

/// Constraints strict mode does not take, left out of what is sent: the answer is still held
/// to them when factory validates it against the full contract.
const DROPPED: &[&str] = &[
    "minLength",
    "maxLength",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "examples",
    "$comment",
];

/// `schema` made strict, or `None` when it cannot be.
pub fn strict(schema: &Value) -> Option<Value> {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
        o.remove("$id");
    }
    make_strict(&mut s).then_some(s)
}

fn make_strict(s: &mut Value) -> bool {
    let Some(o) = s.as_object_mut() else {
        return s.is_boolean();
    };
    if UNSUPPORTED.iter().any(|k| o.contains_key(*k)) {
        return false;
    }
    for k in DROPPED {
        o.remove(*k);
    }
    for defs in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = o.get_mut(defs)
            && !d.values_mut().all(make_strict)
        {
            return false;
        }
    }
    if let Some(items) = o.get_mut("items")
        && !make_strict(items)
    {
        return false;
    }
    if let Some(Value::Array(any)) = o.get_mut("anyOf")
        && !any.iter_mut().all(make_strict)
    {
        return false;
    }
    let is_object =
        o.get("type").and_then(Value::as_str) == Some("object") || o.contains_key("properties");
    if !is_object {
        return true;
    }
    // A map with free keys cannot be strict.
    match o.get("additionalProperties") {
        None | Some(Value::Bool(false)) => {}
        _ => return false,
    }
    let Some(Value::Object(props)) = o.get("properties").cloned() else {
        return false;
    };
    let required: Vec<String> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut strict_props = Map::new();
    for (name, mut p) in props {
        if !make_strict(&mut p) {
            return false;
        }
        if !required.contains(&name) {
            p = nullable(p);
        }
        strict_props.insert(name, p);
    }
    o.insert(
        "required".into(),
        Value::Array(strict_props.keys().cloned().map(Value::String).collect()),
    );
    o.insert("properties".into(), Value::Object(strict_props));
    o.insert("additionalProperties".into(), Value::Bool(false));
    true
}

/// `p` that also admits `null`.
fn nullable(mut p: Value) -> Value {
    let Some(o) = p.as_object_mut() else {
        return p;
    };
    if let Some(Value::Array(e)) = o.get_mut("enum") {
        if !e.contains(&Value::Null) {
            e.push(Value::Null);
        }
        if !o.contains_key("type") {
            return p;
        }
    }
    match o.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            o.insert("type".into(), json!([t, "null"]));
            p
        }
        Some(Value::Array(ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
            p
        }
        _ => json!({"anyOf": [p, {"type": "null"}]}),
    }
}

/// `answer` with the `null`s removed that stand for properties `schema` (the full contract)
/// leaves optional: what the strict variant made the model write.
pub fn drop_optional_nulls(answer: &mut Value, schema: &Value) {
    drop_in(answer, schema, schema);
}

fn drop_in(v: &mut Value, s: &Value, root: &Value) {
    let s = resolve(s, root);
    match v {
        Value::Object(fields) => {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let props = s.get("properties").and_then(Value::as_object);
            fields.retain(|k, val| !val.is_null() || required.contains(&k.as_str()));
            for (k, val) in fields.iter_mut() {
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    drop_in(val, ps, root);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for item in items {
                    drop_in(item, is, root);
                }
            }
        }
        _ => {}
    }
}

/// A local `$ref` (`#/$defs/x`, `#/definitions/x`) followed to its schema.
fn resolve<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(s),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_properties_become_required_and_nullable() {
        let s = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"enum": ["x", "y"]},
                "d": {"$ref": "#/$defs/D"}},
            "required": ["a"], "additionalProperties": false,
            "$defs": {"D": {"type": "object", "properties": {"e": {"type": "string"}}}}});
        let t = strict(&s).unwrap();
        assert!(t.get("$schema").is_none());
        assert!(
            strict(&json!({"type": "string", "minLength": 1})).unwrap()
                == json!({"type": "string"})
        );
        assert_eq!(t["required"], json!(["a", "b", "c", "d"]));
        assert_eq!(t["properties"]["a"]["type"], "string");
        assert_eq!(t["properties"]["b"]["type"], json!(["integer", "null"]));
        assert_eq!(t["properties"]["c"]["enum"], json!(["x", "y", null]));
        assert_eq!(
            t["properties"]["d"],
            json!({"anyOf": [{"$ref": "#/$defs/D"}, {"type": "null"}]})
        );
        // Nested objects get the same treatment and lose their free keys.
        assert_eq!(t["$defs"]["D"]["required"], json!(["e"]));
        assert_eq!(t["$defs"]["D"]["additionalProperties"], false);
        assert_eq!(
            t["$defs"]["D"]["properties"]["e"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn free_maps_and_unsupported_keywords_cannot_be_strict() {
        assert!(
            strict(&json!({"type": "object", "additionalProperties": {"type": "string"}}))
                .is_none()
        );
        assert!(strict(&json!({"type": "object"})).is_none());
        assert!(
            strict(
                &json!({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})
            )
            .is_none()
        );
    }

    #[test]
    fn every_contract_an_agent_answers_can_be_sent_strict() {
        use crate::contracts::Contract;
        for c in [
            Contract::StrategicPlan,
            Contract::TacticalPlan,
            Contract::ReviewOutput,
            Contract::IntakeClassification,
        ] {
            let s: Value = serde_json::from_str(c.schema_text()).unwrap();
            assert!(strict(&s).is_some(), "{}", c.name());
        }
    }

    #[test]
    fn every_contract_schema_is_strict_or_refused_and_strict_ones_have_all_required() {
        for c in crate::contracts::Contract::ALL {
            let s: Value = serde_json::from_str(c.schema_text()).unwrap();
            if let Some(t) = strict(&s) {
                fn check(v: &Value) {
                    if let Some(o) = v.as_object() {
                        if let Some(Value::Object(p)) = o.get("properties") {
                            let req: Vec<&str> = o["required"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|r| r.as_str().unwrap())
                                .collect();
                            assert!(p.keys().all(|k| req.contains(&k.as_str())), "{v}");
                            assert_eq!(o["additionalProperties"], false, "{v}");
                        }
                        o.values().for_each(check);
                    } else if let Some(a) = v.as_array() {
                        a.iter().for_each(check);
                    }
                }
                check(&t);
            }
        }
    }

    #[test]
    fn the_nulls_of_optional_properties_are_dropped_and_required_nulls_kept() {
        let s = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "string"},
            "list": {"type": "array", "items": {"$ref": "#/$defs/I"}}},
            "required": ["a"], "$defs": {"I": {"type": "object", "properties": {"x": {"type": "string"}}}}});
        let mut v = json!({"a": null, "b": null, "list": [{"x": null}, {"x": "1"}]});
        drop_optional_nulls(&mut v, &s);
        assert_eq!(v, json!({"a": null, "list": [{}, {"x": "1"}]}));
    }
}
