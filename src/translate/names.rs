//! Unit and object names, and image references qualified the way docker compose resolves them.

/// Whether `name` can be part of a unit file name and a Podman object name: ASCII letters,
/// digits, `_`, `.`, `-`, not starting with `.` or `-`, no `..`. Keeps `/`, blanks, `@`
/// (templates), `\` and unicode out of file names.
pub fn is_valid_name_part(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(['.', '-'])
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Whether `name` is a valid Podman container, volume, network or secret name.
pub fn is_valid_object_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// `nginx` → `docker.io/library/nginx:latest`, `user/x` → `docker.io/user/x:latest`,
/// `host:5000/x` kept with `:latest` added, digests kept. `None` when it is not a reference.
pub fn qualify_image(image: &str) -> Option<String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let (first, rest) = match name.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (name, None),
    };
    let is_registry =
        rest.is_some() && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = match (is_registry, rest) {
        (true, _) => name.to_string(),
        (false, Some(_)) => format!("docker.io/{name}"),
        (false, None) => format!("docker.io/library/{name}"),
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && digest.is_none() {
        full.push_str(":latest");
    }
    if let Some(d) = digest {
        full.push('@');
        full.push_str(d);
    }
    Some(full)
}

/// A map's entries by key, as docker compose prints them: the unit bytes do not depend on the
/// order the files wrote them in.
pub fn sorted<V>(m: &indexmap::IndexMap<String, V>) -> Vec<(&String, &V)> {
    let mut v: Vec<(&String, &V)> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Seconds in a Go duration as docker compose prints them (`1m30s`, `500ms`, `2h`), rounded up.
pub fn duration_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let mut total_ms: f64 = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() || n == 'µ' {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let ms = match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total_ms += n * ms;
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some((total_ms / 1000.0).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_qualified_like_docker() {
        let q = |s| qualify_image(s).unwrap();
        assert_eq!(q("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(q("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(q("user/x"), "docker.io/user/x:latest");
        assert_eq!(
            q("127.0.0.1:5000/lab/busybox:1"),
            "127.0.0.1:5000/lab/busybox:1"
        );
        assert_eq!(q("localhost/x"), "localhost/x:latest");
        assert_eq!(q("ghcr.io/a/b"), "ghcr.io/a/b:latest");
        assert_eq!(q("redis@sha256:abc"), "docker.io/library/redis@sha256:abc");
        assert_eq!(
            q("redis:7@sha256:abc"),
            "docker.io/library/redis:7@sha256:abc"
        );
        assert_eq!(qualify_image("a b"), None);
    }

    #[test]
    fn names() {
        assert!(is_valid_name_part("web_1.x-y"));
        for bad in ["", "..", "a/b", "a b", "é", ".x", "a..b", "a@b", "-x"] {
            assert!(!is_valid_name_part(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("2s"), Some(2));
        assert_eq!(duration_seconds("1m30s"), Some(90));
        assert_eq!(duration_seconds("500ms"), Some(1));
        assert_eq!(duration_seconds("10"), Some(10));
        assert_eq!(duration_seconds("x"), None);
    }
}
