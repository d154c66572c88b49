//! A small YAML emitter for `config --format yaml`: block style, keys in the model's order,
//! strings double-quoted whenever plain style could be read back as something else.

use serde_json::Value;

pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(o) if !o.is_empty() => block_map(o, 0, &mut out),
        Value::Array(a) if !a.is_empty() => block_seq(a, 0, &mut out),
        _ => {
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }
    out
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(o) if !o.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn block_map(o: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in o {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string(k));
        out.push(':');
        child(v, indent, out);
    }
}

fn block_seq(a: &[Value], indent: usize, out: &mut String) {
    for v in a {
        out.push_str(&" ".repeat(indent));
        match v {
            // `- key: value` with the mapping's other keys aligned under the first.
            Value::Object(o) if !o.is_empty() => {
                out.push_str("- ");
                let mut first = String::new();
                block_map(o, indent + 2, &mut first);
                out.push_str(first.trim_start_matches(' '));
            }
            _ => {
                out.push('-');
                child(v, indent, out);
            }
        }
    }
}

fn child(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            out.push('\n');
            block_map(o, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            block_seq(a, indent + 2, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }
    let _ = is_block;
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Plain when it reads back as the same string, else double-quoted with JSON escapes (a JSON
/// string is a valid YAML double-quoted scalar).
fn string(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && !s.starts_with(|c: char| {
            " -?:,[]{}#&*!|>'\"%@`~".contains(c) || c.is_ascii_digit() || c == '.' || c == '+'
        })
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && s.chars().all(|c| !c.is_control())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
        );
    if plain_ok {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_block_yaml_that_reads_back() {
        let v = serde_json::json!({"a": {"b": [1, "x", "80:80", "", true, null], "c": {}}, "d": "yes", "e": [{"f": 1, "g": [2]}]});
        let s = emit(&v);
        assert_eq!(
            s,
            "a:\n  b:\n    - 1\n    - x\n    - \"80:80\"\n    - \"\"\n    - true\n    - null\n  c: {}\nd: \"yes\"\ne:\n  - f: 1\n    g:\n      - 2\n"
        );
        // It reads back to the same values.
        let n = crate::compose::yaml::parse_str(&s, std::path::Path::new("out.yaml")).unwrap();
        let b = n.get("a").unwrap().get("b").unwrap().as_seq().unwrap();
        assert_eq!(b[2].as_str(), Some("80:80"));
        assert_eq!(b[3].as_str(), Some(""));
        assert_eq!(n.get("d").unwrap().as_str(), Some("yes"));
        let e = &n.get("e").unwrap().as_seq().unwrap()[0];
        assert_eq!(e.get("g").unwrap().as_seq().unwrap().len(), 1);
    }
}
