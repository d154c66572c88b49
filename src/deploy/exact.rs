//! What makes a generation exact (DESIGN 4a): its units name images by digest, and paths by the
//! stable directory of the committed generation, never the staging directory they were rendered
//! from. Pure functions over rendered stacks; `prepare` and `plan` both apply them, so their bytes
//! agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::translate::RenderedStack;

/// The comment line that keeps, above a pinned `Image=`, the reference the compose file wrote.
pub const TAG_COMMENT: &str = "# release-tool: image ";

/// `image` (a qualified reference) pinned to `digest`: `repo@sha256:…`, the tag dropped (the
/// digest alone decides what runs). None when there is nothing to pin: the reference already
/// carries a digest, or the digest is not a registry digest (a local image known only by id).
pub fn pinned_ref(image: &str, digest: &str) -> Option<String> {
    if image.contains('@') || !digest.starts_with("sha256:") {
        return None;
    }
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    let repo = match image[name_start..].rfind(':') {
        Some(i) => &image[..name_start + i],
        None => image,
    };
    Some(format!("{repo}@{digest}"))
}

/// The `.container` file of a container unit (`w-api.service` → `w-api.container`).
fn container_file(unit: &str) -> String {
    format!(
        "{}.container",
        unit.strip_suffix(".service").unwrap_or(unit)
    )
}

/// Rewrites the `Image=` of every pulled container of `stack` whose image has a registry digest in
/// `digests` to the pinned reference, with the original reference in a comment above it. An image
/// without a known digest stays as written (its stack then compares by tag, as a new image).
pub fn pin_images(
    stack: &RenderedStack,
    digests: &BTreeMap<String, String>,
) -> Result<RenderedStack, String> {
    let mut out = stack.clone();
    for c in &stack.containers {
        let Some(image) = &c.image else { continue };
        let Some(pinned) = digests.get(image).and_then(|d| pinned_ref(image, d)) else {
            continue;
        };
        let file = container_file(&c.unit);
        let Some(unit) = out.units.iter_mut().find(|u| u.file_name == file) else {
            return Err(format!("{file}: no such unit for container {}", c.unit));
        };
        let want = format!("Image={image}");
        let mut in_container = false;
        let mut found = false;
        let mut text = String::with_capacity(unit.contents.len() + 128);
        for line in unit.contents.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if bare.starts_with('[') {
                in_container = bare == "[Container]";
            }
            if in_container && !found && bare == want {
                found = true;
                text.push_str(&format!("{TAG_COMMENT}{image}\nImage={pinned}\n"));
            } else {
                text.push_str(line);
            }
        }
        if !found {
            return Err(format!("{file}: no line {want:?} to pin to {pinned}"));
        }
        unit.contents = text;
    }
    Ok(out)
}

/// [`pin_images`] over every stack.
pub fn pin_all(
    stacks: &[RenderedStack],
    digests: &BTreeMap<String, String>,
) -> Result<Vec<RenderedStack>, String> {
    stacks.iter().map(|s| pin_images(s, digests)).collect()
}

/// The image references a unit file names: its `Image=` values, and the `ImageTag=` of a `.build`.
pub fn unit_images(contents: &str) -> Vec<String> {
    contents
        .lines()
        .filter_map(|l| l.strip_prefix("Image=").or(l.strip_prefix("ImageTag=")))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && !v.ends_with(".build") && !v.ends_with(".image"))
        .collect()
}

/// The paths `text` names under `prefix`, each up to the first character that ends a path in unit
/// syntax (the `:` of a volume, a blank, a quote, a comma).
pub fn paths_under(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c == ':' || c == ',' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The forms a path takes in unit text: verbatim, and with `%` and `$` doubled (the escapes of a
/// raw value and of an exec-line word).
fn spellings(p: &str) -> Vec<String> {
    let mut out = vec![p.to_string()];
    let escaped = p.replace('%', "%%").replace('$', "$$");
    if escaped != p {
        out.push(escaped);
    }
    out
}

/// Renames the snapshot directory `real` to `shown` in a rendered stack: units and secret files.
/// The loader names a stack's own directory by its display path already; this catches every other
/// way a path reaches a unit (parent directories, files of `include`d projects, `extends` from
/// another file, build contexts). Err names the unit that still holds the snapshot's path in a
/// form not recognized (a state directory whose name needs quoting).
pub fn rebase_paths(stack: &mut RenderedStack, real: &Path, shown: &Path) -> Result<(), String> {
    let (real_s, shown_s) = (real.display().to_string(), shown.display().to_string());
    if real_s == shown_s {
        return Ok(());
    }
    let pairs: Vec<(String, String)> = spellings(&real_s)
        .into_iter()
        .zip(spellings(&shown_s))
        .collect();
    for u in &mut stack.units {
        for (from, to) in &pairs {
            if u.contents.contains(from.as_str()) {
                u.contents = u.contents.replace(from.as_str(), to);
            }
        }
        // The last two components (`.tmp-7/inputs`) are what no unit may keep.
        let tail: PathBuf = real
            .iter()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if u.contents.contains(&tail.display().to_string()) {
            return Err(format!(
                "{}: names the temporary directory {} in a form that cannot be renamed to {}",
                u.file_name, real_s, shown_s
            ));
        }
    }
    for s in &mut stack.secrets {
        if let Ok(rest) = s.file.strip_prefix(real) {
            s.file = shown.join(rest);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{ContainerInfo, RenderedUnit, SecretSpec};

    fn stack(contents: &str, image: Option<&str>) -> RenderedStack {
        RenderedStack {
            stack: "w".into(),
            units: vec![RenderedUnit {
                file_name: "w-app.container".into(),
                contents: contents.into(),
            }],
            containers: vec![ContainerInfo {
                service: "app".into(),
                unit: "w-app.service".into(),
                image: image.map(String::from),
                after: vec![],
                healthcheck: false,
                oneshot: false,
            }],
            secrets: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn references_lose_the_tag_and_keep_the_registry_port() {
        let d = "sha256:abc";
        assert_eq!(
            pinned_ref("127.0.0.1:5000/lab/busybox:1", d).as_deref(),
            Some("127.0.0.1:5000/lab/busybox@sha256:abc")
        );
        assert_eq!(
            pinned_ref("127.0.0.1:5000/lab/busybox", d).as_deref(),
            Some("127.0.0.1:5000/lab/busybox@sha256:abc")
        );
        assert_eq!(
            pinned_ref("docker.io/library/nginx:1.25", d).as_deref(),
            Some("docker.io/library/nginx@sha256:abc")
        );
        assert_eq!(pinned_ref("r/x@sha256:1", d), None);
        assert_eq!(pinned_ref("r/x:1", "id:123"), None);
    }

    #[test]
    fn pinning_rewrites_only_the_container_image_line() {
        let s = stack(
            "[Unit]\nDescription=Image=r/a:1\n[Container]\nImage=r/a:1\nExec=Image=r/a:1\n",
            Some("r/a:1"),
        );
        let d: BTreeMap<_, _> = [("r/a:1".to_string(), "sha256:f00".to_string())].into();
        let p = pin_images(&s, &d).unwrap();
        assert_eq!(
            p.units[0].contents,
            "[Unit]\nDescription=Image=r/a:1\n[Container]\n# release-tool: image r/a:1\n\
             Image=r/a@sha256:f00\nExec=Image=r/a:1\n"
        );
        assert_eq!(unit_images(&p.units[0].contents), vec!["r/a@sha256:f00"]);
        // No digest known: as written.
        assert_eq!(pin_images(&s, &BTreeMap::new()).unwrap(), s);
        // A built image (no pulled image): untouched.
        let b = stack("[Container]\nImage=w-app.build\n", None);
        assert_eq!(pin_images(&b, &d).unwrap(), b);
        // The unit lacks the line: an error, never a silently unpinned generation.
        let bad = stack("[Container]\nImage=r/other:1\n", Some("r/a:1"));
        assert!(pin_images(&bad, &d)
            .unwrap_err()
            .contains("w-app.container"));
    }

    #[test]
    fn staging_paths_become_the_stable_path_in_every_spelling() {
        let real = Path::new("/st/generations/.tmp-7/inputs");
        let shown = Path::new("/st/current/inputs");
        let mut s = stack(
            "[Container]\nVolume=/st/generations/.tmp-7/inputs/services/docs:/d:ro\n\
             Exec=/bin/sh -c \"cat /st/generations/.tmp-7/inputs/x\"\n",
            None,
        );
        s.secrets.push(SecretSpec {
            name: "k".into(),
            file: real.join("services/s/k.txt"),
        });
        rebase_paths(&mut s, real, shown).unwrap();
        assert_eq!(
            s.units[0].contents,
            "[Container]\nVolume=/st/current/inputs/services/docs:/d:ro\n\
             Exec=/bin/sh -c \"cat /st/current/inputs/x\"\n"
        );
        assert_eq!(s.secrets[0].file, shown.join("services/s/k.txt"));
        // `%` doubled by the writer.
        let real = Path::new("/a%b/generations/.tmp-7/inputs");
        let mut s = stack(
            "[Container]\nVolume=/a%%b/generations/.tmp-7/inputs/x:/x\n",
            None,
        );
        rebase_paths(&mut s, real, Path::new("/a%b/current/inputs")).unwrap();
        assert_eq!(
            s.units[0].contents,
            "[Container]\nVolume=/a%%b/current/inputs/x:/x\n"
        );
        // A spelling not recognized is an error, not a unit naming a directory that goes away.
        let mut s = stack(
            "[Container]\nExec=\"/a\\x20b/generations/.tmp-7/inputs/x\"\n",
            None,
        );
        let e = rebase_paths(
            &mut s,
            Path::new("/a b/generations/.tmp-7/inputs"),
            Path::new("/a b/current/inputs"),
        )
        .unwrap_err();
        assert!(e.contains("w-app.container"), "{e}");
    }
}
