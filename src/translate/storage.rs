//! Top-level volumes → `.volume` units; a service's volumes, tmpfs, secrets and configs →
//! `Volume=`, `Mount=`, `Tmpfs=`, `Secret=` keys.
//!
//! File secrets become Podman secrets named `<stack>-<key>` that the deploy creates from the file
//! (returned as `SecretSpec`s) and are mounted where docker compose mounts them
//! (`/run/secrets/<key>` unless `target:`). File configs are bind-mounted read-only
//! (`/<key>` unless `target:`).

use std::path::{Path, PathBuf};

use crate::compose::{Service, ServiceVolume};
use crate::quadlet::{Body, ContainerSection, UnitFile, VolumeSection};

use super::ctx::Ctx;
use super::names::is_valid_object_name;
use super::SecretSpec;

pub fn volume_units(cx: &mut Ctx) -> Vec<UnitFile> {
    let mut out = Vec::new();
    for (key, vol) in &cx.stack.project.volumes {
        let field = format!("volumes.{key}");
        if vol.external == Some(true) {
            continue;
        }
        let Some(name) = cx.object_name("volumes", key, vol.name.as_deref()) else {
            continue;
        };
        let mut v = VolumeSection {
            volume_name: Some(name),
            ..Default::default()
        };
        match vol.driver.as_deref() {
            None | Some("local") => {}
            Some(d) => v.driver = Some(d.to_string()),
        }
        driver_opts(&mut v, &vol.driver_opts);
        for (k, val) in super::names::sorted(&vol.labels) {
            v.label.push((k.clone(), val.clone()));
        }
        for k in vol.extensions.keys().filter(|k| !k.starts_with("x-")) {
            cx.warn(&format!("{field}.{k}"), "no Podman equivalent; ignored");
        }
        let mut unit = UnitFile::new(cx.unit(key, "volume"), Body::Volume(v));
        unit.unit.description = Some(format!("Compose volume {key} of stack {}", cx.stack.name));
        out.push(unit);
    }
    out
}

/// `driver_opts` of a volume: `device`, `type` and `o` become Quadlet's own `Device=`, `Type=`
/// and `Options=` (Podman 4.4, where `PodmanArgs=` needs 4.6); Quadlet takes `Type=` and
/// `Options=` only with a `Device=`, so without one they stay `--opt` arguments, as does every
/// other option (a driver's own, `size`, ...).
fn driver_opts(v: &mut VolumeSection, opts: &indexmap::IndexMap<String, String>) {
    let device = opts.get("device").filter(|d| !d.is_empty());
    for (k, val) in super::names::sorted(opts) {
        match k.as_str() {
            // Quadlet skips an empty Type=/Options=; podman would get an empty option
            "type" | "o" if device.is_some() && val.is_empty() => {}
            "device" if device.is_some() => v.device = Some(val.clone()),
            "type" if device.is_some() => v.fs_type = Some(val.clone()),
            "o" if device.is_some() => v.options = Some(val.clone()),
            _ => v.podman_args.push(format!("--opt={k}={val}")),
        }
    }
}

fn path_str(p: &str) -> bool {
    !p.contains([':', ','])
}

pub fn mounts(cx: &mut Ctx, name: &str, svc: &Service, c: &mut ContainerSection) {
    for (i, v) in svc.volumes.iter().enumerate() {
        mount_one(cx, &format!("services.{name}.volumes[{i}]"), v, c);
    }
    for (i, t) in svc.tmpfs.iter().enumerate() {
        if t.is_empty() {
            cx.warn(
                &format!("services.{name}.tmpfs[{i}]"),
                "empty tmpfs entry ignored",
            );
        } else {
            c.tmpfs.push(t.clone());
        }
    }
    for (i, from) in svc.volumes_from.iter().enumerate() {
        let f = format!("services.{name}.volumes_from[{i}]");
        let (src, mode) = match from.rsplit_once(':') {
            Some((s, m @ ("ro" | "rw"))) => (s, Some(m)),
            _ => (from.as_str(), None),
        };
        let ctr = if let Some(c2) = src.strip_prefix("container:") {
            c2.to_string()
        } else if cx.stack.project.services.contains_key(src) {
            cx.container_name(src)
        } else {
            cx.error(&f, format!("service {src:?} is not in this stack"));
            continue;
        };
        let arg = match mode {
            Some(m) => format!("--volumes-from={ctr}:{m}"),
            None => format!("--volumes-from={ctr}"),
        };
        c.podman_args.push(arg);
    }
}

fn mount_one(cx: &mut Ctx, f: &str, v: &ServiceVolume, c: &mut ContainerSection) {
    let mut opts: Vec<String> = Vec::new();
    if v.read_only == Some(true) {
        opts.push("ro".into());
    }
    if !path_str(&v.target) {
        cx.error(
            &format!("{f}.target"),
            "a target containing ':' or ',' cannot be mounted",
        );
        return;
    }
    match v.kind.as_str() {
        "volume" => {
            let src = match &v.source {
                None => {
                    // An anonymous volume, as `docker compose` creates one per container.
                    c.volume.push(with_opts(v.target.clone(), &opts));
                    return;
                }
                Some(s) => s,
            };
            let source = match cx.stack.project.volumes.get(src.as_str()) {
                Some(vol) if vol.external == Some(true) => {
                    vol.name.clone().unwrap_or_else(|| src.clone())
                }
                Some(_) => cx.unit(src, "volume"),
                None => {
                    cx.error(
                        &format!("{f}.source"),
                        format!("volume {src:?} is not declared in the top-level volumes"),
                    );
                    return;
                }
            };
            if let Some(vo) = &v.volume {
                if vo.nocopy == Some(true) {
                    opts.push("nocopy".into());
                }
                if vo.subpath.is_some() {
                    cx.warn(
                        &format!("{f}.volume.subpath"),
                        "volume subpath is not supported by -v; the whole volume is mounted",
                    );
                }
            }
            c.volume
                .push(with_opts(format!("{source}:{}", v.target), &opts));
        }
        "bind" => {
            let Some(src) = &v.source else {
                cx.error(&format!("{f}.source"), "a bind mount needs a source");
                return;
            };
            // Quadlet reads a relative source as a volume name (or relative to the unit file
            // when it starts with `.`); the loader makes sources absolute from an absolute
            // stack directory.
            if !Path::new(src).is_absolute() {
                cx.error(&format!("{f}.source"), format!("{src:?} is not an absolute path (load the stack from an absolute directory)"));
                return;
            }
            if !path_str(src) {
                cx.error(
                    &format!("{f}.source"),
                    "a source path containing ':' or ',' cannot be mounted",
                );
                return;
            }
            if let Some(b) = &v.bind {
                if let Some(p) = &b.propagation {
                    opts.push(p.clone());
                }
                match b.selinux.as_deref() {
                    Some("z") => opts.push("z".into()),
                    Some("Z") => opts.push("Z".into()),
                    _ => {}
                }
                if b.recursive.is_some() {
                    cx.warn(
                        &format!("{f}.bind.recursive"),
                        "recursive bind options are not mapped; Podman binds recursively",
                    );
                }
            }
            c.volume
                .push(with_opts(format!("{src}:{}", v.target), &opts));
        }
        "tmpfs" => {
            let mut o = Vec::new();
            if let Some(t) = &v.tmpfs {
                if let Some(size) = &t.size {
                    o.push(format!("size={}", json_scalar(size)));
                }
                if let Some(mode) = &t.mode {
                    let m = match mode {
                        serde_json::Value::Number(n) => n
                            .as_u64()
                            .map(|n| format!("{n:o}"))
                            .unwrap_or_else(|| n.to_string()),
                        other => json_scalar(other),
                    };
                    o.push(format!("mode={m}"));
                }
            }
            if v.read_only == Some(true) {
                o.push("ro".into());
            }
            c.tmpfs.push(if o.is_empty() {
                v.target.clone()
            } else {
                format!("{}:{}", v.target, o.join(","))
            });
        }
        "image" => {
            let Some(src) = &v.source else {
                cx.error(&format!("{f}.source"), "an image mount needs a source");
                return;
            };
            let img = super::qualify_image(src).unwrap_or_else(|| src.clone());
            c.mount
                .push(format!("type=image,source={img},destination={}", v.target));
        }
        other => cx.warn(
            f,
            format!("volume type {other:?} has no Podman equivalent; not mounted"),
        ),
    }
    if v.consistency.is_some() {
        cx.warn(
            &format!("{f}.consistency"),
            "consistency applies to Docker Desktop only; ignored",
        );
    }
}

fn with_opts(s: String, opts: &[String]) -> String {
    if opts.is_empty() {
        s
    } else {
        format!("{s}:{}", opts.join(","))
    }
}

pub fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Secrets and configs of one service. Returns the Podman secrets the deploy must create.
pub fn secrets_and_configs(
    cx: &mut Ctx,
    name: &str,
    svc: &Service,
    c: &mut ContainerSection,
) -> Vec<SecretSpec> {
    let mut specs = Vec::new();
    for (i, r) in svc.secrets.iter().enumerate() {
        let f = format!("services.{name}.secrets[{i}]");
        let Some(obj) = cx.stack.project.secrets.get(&r.source) else {
            cx.error(
                &f,
                format!(
                    "secret {:?} is not declared in the top-level secrets",
                    r.source
                ),
            );
            continue;
        };
        let podman_name = if obj.external == Some(true) {
            obj.name.clone().unwrap_or_else(|| r.source.clone())
        } else if let Some(file) = &obj.file {
            let n = format!("{}-{}", cx.stack.name, r.source);
            specs.push(SecretSpec {
                name: n.clone(),
                file: abs(cx, file),
            });
            n
        } else {
            let how = if obj.environment.is_some() {
                "environment:"
            } else {
                "content:"
            };
            cx.warn(&format!("secrets.{}", r.source), format!("a secret from {how} cannot become a Podman secret here; use file: (not mounted)"));
            continue;
        };
        if !is_valid_object_name(&podman_name) {
            cx.error(
                &f,
                format!("{podman_name:?} is not a valid Podman secret name"),
            );
            continue;
        }
        let target = match &r.target {
            Some(t) if t.starts_with('/') => t.clone(),
            Some(t) => format!("/run/secrets/{t}"),
            None => format!("/run/secrets/{}", r.source),
        };
        let mut s = format!("{podman_name},type=mount,target={target}");
        if let Some(uid) = &r.uid {
            s.push_str(&format!(",uid={uid}"));
        }
        if let Some(gid) = &r.gid {
            s.push_str(&format!(",gid={gid}"));
        }
        if let Some(mode) = r.mode {
            s.push_str(&format!(",mode={mode:o}"));
        }
        if target.contains(',') {
            cx.error(
                &f,
                "a secret target containing ',' cannot be passed to --secret",
            );
            continue;
        }
        c.secret.push(s);
    }
    for (i, r) in svc.configs.iter().enumerate() {
        let f = format!("services.{name}.configs[{i}]");
        let Some(obj) = cx.stack.project.configs.get(&r.source) else {
            cx.error(
                &f,
                format!(
                    "config {:?} is not declared in the top-level configs",
                    r.source
                ),
            );
            continue;
        };
        let target = r.target.clone().unwrap_or_else(|| format!("/{}", r.source));
        let Some(file) = &obj.file else {
            let how = if obj.external == Some(true) {
                "external"
            } else if obj.content.is_some() {
                "inline content:"
            } else {
                "environment:"
            };
            cx.warn(&format!("configs.{}", r.source), format!("an {how} config has no file to mount; write it to a file and use file: (not mounted)"));
            continue;
        };
        let src = abs(cx, file);
        let src = src.to_string_lossy().into_owned();
        if !path_str(&src) || !path_str(&target) {
            cx.error(&f, "a config path containing ':' or ',' cannot be mounted");
            continue;
        }
        if r.uid.is_some() || r.gid.is_some() || r.mode.is_some() {
            cx.warn(&f, "uid/gid/mode of a config are not applied: the file is bind-mounted read-only with its host ownership");
        }
        c.volume.push(format!("{src}:{target}:ro"));
    }
    specs
}

/// Secret and config files as the loader resolved them (against the stack directory).
fn abs(cx: &Ctx, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cx.stack.dir.join(p)
    }
}
