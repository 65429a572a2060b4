//! Tool input schemas, portable to every MCP client: JSON Schema 2020-12
//! as schemars writes it for the argument structs, then made strict-valid
//! in one pass ([`portable`]):
//!
//! - schemars' integer formats (`int32`, `uint64`, …) are not JSON Schema
//!   formats (strict validators warn "unknown format"): they become
//!   `minimum`/`maximum` bounds of the width (only where the field has no
//!   tighter bound of its own);
//! - a `type` list (`["string", "null"]`, how schemars writes an optional
//!   field) is legal but not portable (clients that map schemas onto a
//!   single-`type` dialect reject it; the MCP Inspector's `--strict` warns):
//!   it becomes `anyOf` with one single-`type` branch per type, each with
//!   the keywords that apply to its type;
//! - every optional enum or date field says that `null` is accepted (its
//!   `default` is `null`), see the `opt_*` schema functions.
//!
//! `tests/schemas.rs` walks every tool's schema on both transports and
//! profiles and holds these rules.

use std::{
    any::TypeId,
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use rmcp::model::JsonObject;
use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::{Map, Value, json};

/// The input schema of an argument struct, generated once per type.
pub(crate) fn input_schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<JsonObject>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(s) = cache.lock().ok().and_then(|c| c.get(&TypeId::of::<T>()).cloned()) {
        return s;
    }
    let schema = SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).unwrap_or_else(|_| json!({"type": "object"}));
    portable(&mut value);
    let object = match value {
        Value::Object(mut o) => {
            // The struct's name and doc comment are noise to an agent: the
            // tool has its own description.
            o.remove("title");
            o.remove("description");
            // Some clients require `properties`, even for a tool without arguments.
            o.entry("properties").or_insert_with(|| json!({}));
            o
        }
        _ => Map::from_iter([("type".to_string(), json!("object"))]),
    };
    let object = Arc::new(object);
    if let Ok(mut c) = cache.lock() {
        c.insert(TypeId::of::<T>(), object.clone());
    }
    object
}

/// Keywords that only constrain values of one type, by type.
const TYPE_KEYWORDS: [(&str, &[&str]); 5] = [
    ("string", &["minLength", "maxLength", "pattern", "format"]),
    ("integer", &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]),
    ("number", &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]),
    ("array", &["items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems"]),
    (
        "object",
        &[
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
        ],
    ),
];

/// Whether `v` is a value of JSON Schema type `ty`.
fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Splits a `type` list into `anyOf` branches of one type each; the
/// annotations (`description`, `default`, …) stay on the outer schema.
fn split_type_union(o: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = o.get("type") else { return };
    if o.contains_key("anyOf") || o.contains_key("oneOf") {
        return;
    }
    let types: Vec<String> = types.iter().filter_map(Value::as_str).map(str::to_string).collect();
    o.remove("type");
    if let [only] = types.as_slice() {
        o.insert("type".into(), json!(only));
        return;
    }
    let values = match o.remove("enum") {
        Some(Value::Array(v)) => Some(v),
        _ => None,
    };
    let mut branches = Vec::new();
    for ty in &types {
        let mut branch = Map::from_iter([("type".to_string(), json!(ty))]);
        let keywords = TYPE_KEYWORDS.iter().find(|(t, _)| t == ty).map_or(&[][..], |(_, k)| *k);
        for k in keywords {
            // Bounds may apply to both integer and number: copy, then drop below.
            if let Some(v) = o.get(*k) {
                branch.insert((*k).to_string(), v.clone());
            }
        }
        if let Some(values) = &values {
            let mine: Vec<Value> = values.iter().filter(|v| has_type(v, ty)).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            if ty != "null" {
                branch.insert("enum".into(), Value::Array(mine));
            }
        }
        branches.push(Value::Object(branch));
    }
    for (_, keywords) in TYPE_KEYWORDS {
        for k in keywords {
            o.remove(*k);
        }
    }
    o.insert("anyOf".into(), Value::Array(branches));
}

/// Makes a schema portable (see the module documentation), in every subschema.
pub(crate) fn portable(schema: &mut Value) {
    let Value::Object(o) = schema else { return };
    if let Some(Value::String(format)) = o.get("format")
        && let Some((min, max)) = integer_bounds(format)
    {
        o.remove("format");
        if let Some(min) = min {
            o.entry("minimum").or_insert(json!(min));
        }
        if let Some(max) = max {
            o.entry("maximum").or_insert(json!(max));
        }
    }
    split_type_union(o);
    for (key, sub) in o.iter_mut() {
        match key.as_str() {
            // Maps of name → subschema.
            "properties" | "$defs" | "definitions" | "patternProperties" => {
                if let Value::Object(m) = sub {
                    m.values_mut().for_each(portable);
                }
            }
            // Lists of subschemas.
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(a) = sub {
                    a.iter_mut().for_each(portable);
                }
            }
            // One subschema.
            "items" | "additionalProperties" | "not" | "contains" => portable(sub),
            _ => {}
        }
    }
}

/// `(minimum, maximum)` of schemars' integer formats; `None` for a format
/// JSON Schema knows. 64-bit maxima are left out: JSON numbers that large
/// lose precision in JavaScript clients, and the services bound them anyway.
fn integer_bounds(format: &str) -> Option<(Option<i64>, Option<i64>)> {
    Some(match format {
        "int8" => (Some(i8::MIN.into()), Some(i8::MAX.into())),
        "int16" => (Some(i16::MIN.into()), Some(i16::MAX.into())),
        "int32" | "int" => (Some(i32::MIN.into()), Some(i32::MAX.into())),
        "int64" => (None, None),
        "uint8" => (Some(0), Some(u8::MAX.into())),
        "uint16" => (Some(0), Some(u16::MAX.into())),
        "uint32" => (Some(0), Some(u32::MAX.into())),
        "uint64" | "uint" => (Some(0), None),
        "float" | "double" => (None, None),
        _ => return None,
    })
}

/// A string enum from an API enum's `ALL` values and `as_api` names, as a
/// required field's schema (`$fn`) and as an optional field's (`$opt_fn`,
/// also accepting `null`, its default).
macro_rules! api_enum_schema {
    ($fn:ident, $opt_fn:ident, $ty:ty) => {
        #[allow(dead_code)]
        pub(crate) fn $fn(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            let values: Vec<String> = <$ty>::ALL.iter().map(|v| v.as_api()).collect();
            schemars::json_schema!({ "type": "string", "enum": values })
        }
        #[allow(dead_code)]
        pub(crate) fn $opt_fn(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            let mut values: Vec<serde_json::Value> =
                <$ty>::ALL.iter().map(|v| serde_json::Value::String(v.as_api())).collect();
            values.push(serde_json::Value::Null);
            schemars::json_schema!({ "type": ["string", "null"], "enum": values })
        }
    };
}
pub(crate) use api_enum_schema;

/// An optional calendar day, `YYYY-MM-DD`.
pub(crate) fn opt_date_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "null"], "format": "date" })
}

/// Optional free-form metadata: a JSON object (the service refuses any
/// other JSON value).
pub(crate) fn opt_object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["object", "null"] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_become_bounds_without_overriding_tighter_ones() {
        let mut s = json!({"type": "object", "properties": {
            "a": {"type": ["integer", "null"], "format": "int32", "minimum": 1, "maximum": 4},
            "b": {"type": "integer", "format": "uint64", "minimum": 0},
            "c": {"type": "array", "items": {"type": "integer", "format": "uint8"}},
            "d": {"type": "string", "format": "date"},
        }});
        portable(&mut s);
        let p = &s["properties"];
        assert_eq!(p["a"], json!({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 4}, {"type": "null"}]}));
        assert_eq!(p["b"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(p["c"]["items"], json!({"type": "integer", "minimum": 0, "maximum": 255}));
        assert_eq!(p["d"], json!({"type": "string", "format": "date"}));
    }

    #[test]
    fn type_lists_become_single_type_branches_with_their_own_keywords() {
        let mut s = json!({
            "description": "d", "default": null,
            "type": ["string", "null"], "enum": ["a", "b", null], "format": "date",
        });
        portable(&mut s);
        assert_eq!(
            s,
            json!({"description": "d", "default": null,
                "anyOf": [{"type": "string", "enum": ["a", "b"], "format": "date"}, {"type": "null"}]})
        );
        let mut s = json!({"type": ["array", "null"], "items": {"type": ["integer", "null"], "format": "uint8"}});
        portable(&mut s);
        assert_eq!(
            s,
            json!({"anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 255}, {"type": "null"}]}},
                {"type": "null"},
            ]})
        );
        let mut s = json!({"type": ["object"]});
        portable(&mut s);
        assert_eq!(s, json!({"type": "object"}));
    }
}
