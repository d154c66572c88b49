//! Phase `normalize`, a service's run-time settings: `healthcheck`, `depends_on`, `secrets`/
//! `configs` references, `deploy`, `ulimits`, `logging`, typed as docker compose prints them.

use serde_json::{json, Map, Value as Json};

use super::convert::{
    self, boolean, float_json, integer, number, plain, string, string_list, string_map, unsigned,
    Res,
};
use super::node::{Node, Value};
use super::service::{bytes, duration};

pub(super) fn healthcheck(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |k, v, p| {
        Ok(match k {
            "test" => match &v.value {
                Value::Seq(_) => json!(string_list(v, p)?),
                // docker compose wraps every string, `NONE` included.
                _ => json!(["CMD-SHELL", string(v, p)?]),
            },
            "interval" | "timeout" | "start_period" | "start_interval" => duration(v, p)?,
            "retries" => json!(unsigned(v, p, u64::MAX >> 1)?),
            "disable" => Json::Bool(boolean(v, p)?),
            _ => plain(v),
        })
    })
}

pub(super) fn depends_on(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |_, v, p| {
        let mut o = Map::new();
        o.insert("condition".into(), json!("service_started"));
        o.insert("required".into(), json!(true));
        if let Value::Map(m) = &v.value {
            convert::fields_into(&mut o, m, p, |dk, dv, dp| {
                Ok(match dk {
                    "required" | "restart" => Json::Bool(boolean(dv, dp)?),
                    _ => Json::String(string(dv, dp)?),
                })
            })?;
        }
        Ok(Json::Object(o))
    })
}

pub(super) fn file_refs(node: &Node, path: &str, secrets: bool) -> Res<Json> {
    let items = convert::seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut o = Map::new();
        match &item.value {
            Value::Map(m) => convert::fields_into(&mut o, m, &p, |k, v, kp| {
                Ok(match k {
                    "mode" => json!(unsigned(v, kp, u32::MAX as u64)?),
                    _ => Json::String(string(v, kp)?),
                })
            })?,
            _ => {
                o.insert("source".into(), Json::String(string(item, &p)?));
            }
        }
        if secrets && !o.contains_key("target") {
            let src = o
                .get("source")
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_string();
            o.insert("target".into(), json!(format!("/run/secrets/{src}")));
        }
        out.push(Json::Object(o));
    }
    Ok(Json::Array(out))
}

pub(super) fn deploy(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    // docker compose always prints these two.
    out.insert("resources".into(), json!({}));
    out.insert("placement".into(), json!({}));
    convert::fields_into(&mut out, convert::map(node, path)?, path, |k, v, p| {
        Ok(match k {
            "replicas" => json!(unsigned(v, p, u32::MAX as u64)?),
            "labels" => string_map(v, p, false)?,
            "resources" => convert::object(v, p, |_, rv, rp| resource(rv, rp))?,
            "restart_policy" => convert::object(v, p, |rk, rv, rp| {
                Ok(match rk {
                    "delay" | "window" => duration(rv, rp)?,
                    "max_attempts" => json!(unsigned(rv, rp, u64::MAX >> 1)?),
                    _ => Json::String(string(rv, rp)?),
                })
            })?,
            _ => plain(v),
        })
    })?;
    Ok(Json::Object(out))
}

pub(super) fn resource(node: &Node, path: &str) -> Res<Json> {
    let mut r = resource_fields(node, path)?;
    // compose-go's `omitempty`: a zero limit or reservation is no value.
    if let Json::Object(o) = &mut r {
        o.retain(|k, v| !(["cpus", "memory", "pids"].contains(&k.as_str()) && is_zero(v)));
    }
    Ok(r)
}

/// `0` or `"0"`, which docker compose prints as nothing in its `omitempty` fields.
pub(super) fn is_zero(v: &Json) -> bool {
    match v {
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s == "0",
        _ => false,
    }
}

fn resource_fields(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |k, v, p| {
        Ok(match k {
            "cpus" => float_json(number(v, p)?),
            "memory" => bytes(v, p)?,
            "pids" => json!(integer(v, p)?),
            "devices" => {
                let mut list = Vec::new();
                for (i, d) in convert::seq(v, p)?.iter().enumerate() {
                    list.push(convert::object(d, &format!("{p}[{i}]"), |dk, dv, kp| {
                        Ok(match dk {
                            "capabilities" | "device_ids" => json!(string_list(dv, kp)?),
                            "count" => match &dv.value {
                                Value::Str(s) if s == "all" => json!(-1),
                                _ => json!(integer(dv, kp)?),
                            },
                            "options" => string_map(dv, kp, false)?,
                            _ => Json::String(string(dv, kp)?),
                        })
                    })?);
                }
                Json::Array(list)
            }
            _ => plain(v),
        })
    })
}

pub(super) fn ulimits(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |_, v, p| match &v.value {
        Value::Map(_) => convert::object(v, p, |_, uv, up| Ok(json!(integer(uv, up)?))),
        _ => Ok(json!(integer(v, p)?)),
    })
}

pub(super) fn logging(node: &Node, path: &str) -> Res<Json> {
    convert::object(node, path, |k, v, p| {
        Ok(match k {
            "options" => string_map(v, p, true)?,
            _ => Json::String(string(v, p)?),
        })
    })
}
