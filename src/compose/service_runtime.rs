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
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        let j = match k.as_str() {
            "test" => match &v.value {
                Value::Seq(_) => json!(string_list(v, &p)?),
                _ => {
                    let s = string(v, &p)?;
                    // docker compose wraps every string, `NONE` included.
                    json!(["CMD-SHELL", s])
                }
            },
            "interval" | "timeout" | "start_period" | "start_interval" => duration(v, &p)?,
            "retries" => json!(unsigned(v, &p, u64::MAX >> 1)?),
            "disable" => Json::Bool(boolean(v, &p)?),
            _ => plain(v),
        };
        out.insert(k.clone(), j);
    }
    Ok(Json::Object(out))
}

pub(super) fn depends_on(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        let mut o = Map::new();
        o.insert("condition".into(), json!("service_started"));
        o.insert("required".into(), json!(true));
        if let Value::Map(m) = &v.value {
            for (dk, dv) in m {
                let dp = format!("{p}.{dk}");
                o.insert(
                    dk.clone(),
                    match dk.as_str() {
                        "required" | "restart" => Json::Bool(boolean(dv, &dp)?),
                        _ => Json::String(string(dv, &dp)?),
                    },
                );
            }
        }
        out.insert(k.clone(), Json::Object(o));
    }
    Ok(Json::Object(out))
}

pub(super) fn file_refs(node: &Node, path: &str, secrets: bool) -> Res<Json> {
    let items = convert::seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut o = Map::new();
        match &item.value {
            Value::Map(m) => {
                for (k, v) in m {
                    let kp = format!("{p}.{k}");
                    o.insert(
                        k.clone(),
                        match k.as_str() {
                            "mode" => json!(unsigned(v, &kp, u32::MAX as u64)?),
                            _ => Json::String(string(v, &kp)?),
                        },
                    );
                }
            }
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
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "replicas" => json!(unsigned(v, &p, u32::MAX as u64)?),
                "labels" => string_map(v, &p, false)?,
                "resources" => {
                    let mut r = Map::new();
                    for (rk, rv) in convert::map(v, &p)? {
                        r.insert(rk.clone(), resource(rv, &format!("{p}.{rk}"))?);
                    }
                    Json::Object(r)
                }
                "restart_policy" => {
                    let mut r = Map::new();
                    for (rk, rv) in convert::map(v, &p)? {
                        let rp = format!("{p}.{rk}");
                        r.insert(
                            rk.clone(),
                            match rk.as_str() {
                                "delay" | "window" => duration(rv, &rp)?,
                                "max_attempts" => json!(unsigned(rv, &rp, u64::MAX >> 1)?),
                                _ => Json::String(string(rv, &rp)?),
                            },
                        );
                    }
                    Json::Object(r)
                }
                _ => plain(v),
            },
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn resource(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "cpus" => float_json(number(v, &p)?),
                "memory" => bytes(v, &p)?,
                "pids" => json!(integer(v, &p)?),
                "devices" => {
                    let mut list = Vec::new();
                    for (i, d) in convert::seq(v, &p)?.iter().enumerate() {
                        let dp = format!("{p}[{i}]");
                        let mut o = Map::new();
                        for (dk, dv) in convert::map(d, &dp)? {
                            let kp = format!("{dp}.{dk}");
                            o.insert(
                                dk.clone(),
                                match dk.as_str() {
                                    "capabilities" | "device_ids" => json!(string_list(dv, &kp)?),
                                    "count" => match &dv.value {
                                        Value::Str(s) if s == "all" => json!(-1),
                                        _ => json!(integer(dv, &kp)?),
                                    },
                                    "options" => string_map(dv, &kp, false)?,
                                    _ => Json::String(string(dv, &kp)?),
                                },
                            );
                        }
                        list.push(Json::Object(o));
                    }
                    Json::Array(list)
                }
                _ => plain(v),
            },
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn ulimits(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match &v.value {
                Value::Map(m) => {
                    let mut o = Map::new();
                    for (uk, uv) in m {
                        o.insert(uk.clone(), json!(integer(uv, &format!("{p}.{uk}"))?));
                    }
                    Json::Object(o)
                }
                _ => json!(integer(v, &p)?),
            },
        );
    }
    Ok(Json::Object(out))
}

pub(super) fn logging(node: &Node, path: &str) -> Res<Json> {
    let mut out = Map::new();
    for (k, v) in convert::map(node, path)? {
        let p = format!("{path}.{k}");
        out.insert(
            k.clone(),
            match k.as_str() {
                "options" => string_map(v, &p, true)?,
                _ => Json::String(string(v, &p)?),
            },
        );
    }
    Ok(Json::Object(out))
}
