//! The public MCP surface: every tool's input schema is valid and portable
//! (what strict clients such as the MCP Inspector's `--strict` mode check),
//! and the full `tools/list` of both profiles on both transports is
//! snapshotted, so any change of names, descriptions or schemas shows in
//! review (`cargo insta review` after an intended change).
//!
//! `tests/mcp.rs` checks that the HTTP and stdio servers answer
//! `tools/list` with exactly [`baton_mcp::tool_list`].

use baton_mcp::{Profile, Transport, tool_list};
use serde_json::{Map, Value};

const PROFILES: [(Profile, &str); 2] = [(Profile::Core, "core"), (Profile::All, "all")];
const TRANSPORTS: [(Transport, &str); 2] = [(Transport::Http, "http"), (Transport::Stdio, "stdio")];

/// The JSON Schema type names.
const TYPES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];
/// Formats JSON Schema 2020-12 defines (schemars' `int32`, `uint64`, …
/// are not among them and make strict validators warn).
const FORMATS: [&str; 9] =
    ["date", "date-time", "time", "duration", "email", "uri", "uri-reference", "uuid", "hostname"];

/// The type names a schema allows, from `type` (a name or a list).
fn types_of(schema: &Map<String, Value>) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => ts.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn value_fits(v: &Value, types: &[&str]) -> bool {
    let name = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => return types.contains(&"integer") || types.contains(&"number"),
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    types.contains(&name)
}

/// Whether a schema with a `type` (and maybe an `enum`) allows `v`.
fn allows(s: &Map<String, Value>, v: &Value) -> bool {
    let fits = types_of(s).is_some_and(|types| value_fits(v, &types));
    match s.get("enum") {
        Some(Value::Array(e)) => fits && e.contains(v),
        _ => fits,
    }
}

/// Every problem of one (sub)schema at `path`, appended to `problems`.
fn lint(root: &Map<String, Value>, path: &str, schema: &Value, problems: &mut Vec<String>) {
    let Value::Object(s) = schema else {
        problems.push(format!("{path}: a schema must be an object, not {schema}"));
        return;
    };
    if let Some(Value::String(r)) = s.get("$ref") {
        let target = r.strip_prefix("#/$defs/").and_then(|name| root.get("$defs")?.get(name));
        match target {
            Some(t) => lint(root, &format!("{path}→{r}"), t, problems),
            None => problems.push(format!("{path}: $ref {r} does not resolve")),
        }
        return;
    }
    let branches = s.get("anyOf").or_else(|| s.get("oneOf"));
    if let Some(branches) = branches {
        match branches.as_array() {
            Some(bs) if !bs.is_empty() => {
                for (i, b) in bs.iter().enumerate() {
                    lint(root, &format!("{path}|{i}"), b, problems);
                }
                if let Some(d) = s.get("default")
                    && !bs.iter().any(|b| b.as_object().is_some_and(|b| allows(b, d)))
                {
                    problems.push(format!("{path}: default {d} is allowed by no anyOf/oneOf branch"));
                }
            }
            _ => problems.push(format!("{path}: anyOf/oneOf must be a non-empty list")),
        }
        return;
    }
    let Some(types) = types_of(s) else {
        problems.push(format!("{path}: no `type` (or anyOf/oneOf with types)"));
        return;
    };
    if s.get("type").is_some_and(Value::is_array) {
        problems.push(format!("{path}: a `type` list {types:?} is not portable (use anyOf with one type each)"));
    }
    if types.is_empty() || types.iter().any(|t| !TYPES.contains(t)) {
        problems.push(format!("{path}: unknown type in {types:?}"));
    }
    if let Some(Value::String(f)) = s.get("format")
        && !FORMATS.contains(&f.as_str())
    {
        problems.push(format!("{path}: format {f:?} is not a JSON Schema format"));
    }
    if let Some(d) = s.get("default") {
        if !allows(s, d) {
            problems.push(format!("{path}: default {d} is not allowed by the schema (type {types:?})"));
        }
    }
    if let Some(e) = s.get("enum") {
        match e.as_array() {
            Some(values) if !values.is_empty() => {
                for v in values.iter().filter(|v| !value_fits(v, &types)) {
                    problems.push(format!("{path}: enum value {v} does not fit type {types:?}"));
                }
            }
            _ => problems.push(format!("{path}: enum must be a non-empty list")),
        }
    }
    for (lo, hi) in [("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems")] {
        if let (Some(lo_v), Some(hi_v)) = (s.get(lo).and_then(Value::as_f64), s.get(hi).and_then(Value::as_f64))
            && lo_v > hi_v
        {
            problems.push(format!("{path}: {lo} {lo_v} > {hi} {hi_v}"));
        }
    }
    if types.contains(&"array") {
        match s.get("items") {
            Some(items) => lint(root, &format!("{path}[]"), items, problems),
            None => problems.push(format!("{path}: an array without `items`")),
        }
    }
    if types.contains(&"object")
        && let Some(props) = s.get("properties")
    {
        lint_properties(root, path, s, props, problems);
    }
}

fn lint_properties(
    root: &Map<String, Value>,
    path: &str,
    s: &Map<String, Value>,
    props: &Value,
    problems: &mut Vec<String>,
) {
    let Some(props) = props.as_object() else {
        problems.push(format!("{path}: properties must be an object"));
        return;
    };
    for (name, p) in props {
        let at = format!("{path}.{name}");
        let described = p.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty());
        if !described {
            problems.push(format!("{at}: no description (the agent only sees the schema)"));
        }
        lint(root, &at, p, problems);
    }
    if let Some(required) = s.get("required") {
        for r in required.as_array().into_iter().flatten() {
            if !r.as_str().is_some_and(|r| props.contains_key(r)) {
                problems.push(format!("{path}: required {r} is not a property"));
            }
        }
    }
}

#[test]
fn every_input_schema_is_valid_and_portable() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (profile, p) in PROFILES {
        for (transport, t) in TRANSPORTS {
            for tool in tool_list(profile, transport) {
                let root = tool.input_schema.as_ref();
                let at = format!("{p}/{t}/{}", tool.name);
                if root.get("type") != Some(&Value::String("object".into())) {
                    problems.push(format!("{at}: the root must be `type: object` (MCP)"));
                }
                if root.get("additionalProperties") != Some(&Value::Bool(false)) {
                    problems
                        .push(format!("{at}: unknown arguments are refused, so additionalProperties must be false"));
                }
                match root.get("properties") {
                    Some(props) => lint_properties(root, &at, root, props, &mut problems),
                    None => problems.push(format!("{at}: no properties")),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} tools checked");
    assert!(problems.is_empty(), "{} schema problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_lint_finds_what_strict_clients_warn_about() {
    // The very shapes the tool schemas had before: a default of null on a
    // non-nullable enum, an untyped property, a non-standard format.
    let root: Map<String, Value> = serde_json::from_value(serde_json::json!({
        "type": "object",
        "properties": {
            "runtime": {"description": "r", "type": "string", "enum": ["claude"], "default": null},
            "metadata": {"description": "m"},
            "page": {"description": "p", "type": "integer", "format": "uint64"},
            "x": {"description": "x", "$ref": "#/$defs/Missing"},
            "title": {"description": "t", "type": ["string", "null"]},
        },
        "required": ["nope"],
    }))
    .expect("object");
    let mut problems = Vec::new();
    lint_properties(&root, "t", &root, &root["properties"], &mut problems);
    let joined = problems.join("\n");
    for expected in [
        "t.runtime: default null",
        "t.metadata: no `type`",
        "t.page: format \"uint64\"",
        "does not resolve",
        "required \"nope\"",
        "t.title: a `type` list",
    ] {
        assert!(joined.contains(expected), "missing {expected:?} in:\n{joined}");
    }
}

#[test]
fn tools_list_snapshots_of_both_profiles_on_both_transports() {
    for (profile, p) in PROFILES {
        for (transport, t) in TRANSPORTS {
            let list = serde_json::to_value(tool_list(profile, transport)).expect("tools serialize");
            insta::assert_json_snapshot!(format!("tools_list_{p}_{t}"), list);
        }
    }
}
