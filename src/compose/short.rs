//! Short-syntax parsers that `normalize` uses: ports, volumes, Go durations, byte sizes, and the
//! shell-word split of string `command`/`entrypoint` — each written to print what docker compose
//! prints.

/// The target of a short-syntax volume (`src:dst[:mode]` → `dst`; `dst` alone → `dst`).
pub fn volume_target(spec: &str) -> &str {
    let parts = split_volume(spec);
    match parts.len() {
        0 => "",
        1 => parts[0],
        _ => parts[1],
    }
}

/// Splits `src:dst:mode` as compose-go does: a colon right after a one-letter part (any letter)
/// is a Windows drive (`c:\\x`, `c:/x`, even `c:d`) and stays in the part.
pub fn split_volume(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in spec.char_indices() {
        if c != ':' {
            continue;
        }
        let mut part = spec[start..i].chars();
        let is_drive = matches!((part.next(), part.next()), (Some(l), None) if l.is_alphabetic());
        if !is_drive {
            parts.push(&spec[start..i]);
            start = i + 1;
        }
    }
    parts.push(&spec[start..]);
    parts
}

/// One parsed short-syntax volume.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShortVolume {
    pub source: String,
    pub target: String,
    pub options: Vec<String>,
}

pub fn parse_volume(spec: &str) -> Result<ShortVolume, String> {
    if spec.is_empty() {
        return Err("invalid empty volume specification".into());
    }
    // compose-go takes a spec of one or two bytes as the target, as written (`a:`).
    if spec.len() <= 2 {
        return Ok(ShortVolume {
            target: spec.to_string(),
            ..Default::default()
        });
    }
    let parts = split_volume(spec);
    if parts.len() > 1 && parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "invalid volume '{spec}': empty section between colons"
        ));
    }
    match parts.as_slice() {
        [t] => Ok(ShortVolume {
            target: t.to_string(),
            ..Default::default()
        }),
        [s, t] => Ok(ShortVolume {
            source: s.to_string(),
            target: t.to_string(),
            options: Vec::new(),
        }),
        [s, t, m] => Ok(ShortVolume {
            source: s.to_string(),
            target: t.to_string(),
            options: m
                .split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        }),
        _ => Err(format!(
            "invalid volume specification '{spec}': too many colons"
        )),
    }
}

/// A source path (bind mount) rather than a volume name: `.`, `/`, `~` or a Windows path (a
/// letter, any letter as in compose-go, then `:`).
pub fn is_path_source(s: &str) -> bool {
    let mut c = s.chars();
    s.starts_with('.')
        || s.starts_with('/')
        || s.starts_with('~')
        || s.starts_with('\\')
        || matches!((c.next(), c.next()), (Some(l), Some(':')) if l.is_alphabetic())
}

/// One published port, long syntax.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortSpec {
    pub host_ip: Option<String>,
    pub target: u32,
    pub published: Option<String>,
    pub protocol: String,
}

/// `N` or `N-M`, each within 0..=65535 (a host port 0 asks for any free port; a container port
/// must be at least 1). `what` is "host" or "container", for the message.
pub fn parse_range(s: &str, what: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid port '{s}'");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a: u32 = a.parse().map_err(|_| bad())?;
    let b: u32 = b.parse().map_err(|_| bad())?;
    if b < a {
        return Err(bad());
    }
    let min = u32::from(what == "container");
    if a < min || b > 65535 {
        return Err(format!(
            "invalid {what} port '{s}': out of range ({min}-65535)"
        ));
    }
    Ok((a, b))
}

/// `[ip:][host[-range]:]container[-range][/proto]` → one entry per container port.
pub fn parse_port(spec: &str) -> Result<Vec<PortSpec>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_string()),
        None => (spec, "tcp".to_string()),
    };
    let (ip, host, container) = if let Some(r) = rest.strip_prefix('[') {
        // [ipv6]:host:container
        let (ip, after) = r
            .split_once(']')
            .ok_or_else(|| format!("invalid port '{spec}'"))?;
        let after = after.strip_prefix(':').unwrap_or(after);
        let (h, c) = after.rsplit_once(':').unwrap_or(("", after));
        (Some(ip.to_string()), h.to_string(), c.to_string())
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            [c] => (None, String::new(), c.to_string()),
            [h, c] => (None, h.to_string(), c.to_string()),
            [ip, h, c] => (Some(ip.to_string()), h.to_string(), c.to_string()),
            _ => {
                // An IPv6 address without brackets: the last two parts are host and container.
                let n = parts.len();
                (
                    Some(parts[..n - 2].join(":")),
                    parts[n - 2].to_string(),
                    parts[n - 1].to_string(),
                )
            }
        }
    };
    let ip = ip.filter(|i| !i.is_empty());
    let (c0, c1) = parse_range(&container, "container")?;
    let host_range = if host.is_empty() {
        None
    } else {
        Some(parse_range(&host, "host")?)
    };
    let mut out = Vec::new();
    for (i, target) in (c0..=c1).enumerate() {
        let published = match host_range {
            None => None,
            Some((h0, h1)) if c0 == c1 => Some(if h0 == h1 {
                h0.to_string()
            } else {
                format!("{h0}-{h1}")
            }),
            Some((h0, h1)) => {
                if h1 - h0 != c1 - c0 {
                    return Err(format!("invalid port '{spec}': ranges of different sizes"));
                }
                Some((h0 + i as u32).to_string())
            }
        };
        out.push(PortSpec {
            host_ip: ip.clone(),
            target,
            published,
            protocol: protocol.clone(),
        });
    }
    Ok(out)
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let bad = || format!("invalid duration '{s}'");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if n == 0 {
            return Err(bad());
        }
        let num: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += num * mult;
        rest = &rest[u..];
    }
    let v = total.round() as i128;
    Ok(if neg { -v } else { v })
}

/// Go's `time.Duration.String()`.
pub fn format_duration(ns: i128) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let ns = ns.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    let frac = |v: u128, unit: u128| -> String {
        let whole = v / unit;
        let rem = v % unit;
        if rem == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let f = format!("{rem:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{sign}{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{sign}{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{sign}{}ms", frac(ns, 1_000_000));
    }
    let secs_ns = ns % 60_000_000_000;
    let mins = ns / 60_000_000_000;
    let s = format!("{}s", frac(secs_ns, 1_000_000_000));
    if mins == 0 {
        return format!("{sign}{s}");
    }
    let h = mins / 60;
    let m = mins % 60;
    if h == 0 {
        format!("{sign}{m}m{s}")
    } else {
        format!("{sign}{h}h{m}m{s}")
    }
}

/// docker/go-units `RAMInBytes`: `64M`, `1g`, `512kb`, `1.5GiB` → bytes (binary multiples).
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid size '{s}'");
    let t = s.trim();
    let n = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let num: f64 = t[..n].parse().map_err(|_| bad())?;
    let unit = t[n..].trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or(unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((num * mult) as i64)
}

/// go-shellwords' split, as compose-go applies it to string `command`/`entrypoint`.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    has = true;
                }
            }
            '\'' => {
                has = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated single quote in '{s}'")),
                    }
                }
            }
            '"' => {
                has = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&n) if matches!(n, '"' | '\\' | '$' | '`' | '\n') => {
                                cur.push(n);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated double quote in '{s}'")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let p = parse_port("127.0.0.1::53").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].published, None);
        let p = parse_port("1000-1001:2000-2001/udp").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p[1].target,
                p[1].published.as_deref(),
                p[1].protocol.as_str()
            ),
            (2001, Some("1001"), "udp")
        );
        let p = parse_port("8000-8010:80").unwrap();
        assert_eq!(p[0].published.as_deref(), Some("8000-8010"));
        let p = parse_port("[::1]:80:8080").unwrap();
        assert_eq!((p[0].host_ip.as_deref(), p[0].target), (Some("::1"), 8080));
        assert!(parse_port("x:80").is_err());
        assert!(parse_port("0:80").is_ok());
        for bad in [
            "70000:80",
            "80:70000",
            "80:0",
            "1-70000:1-70000",
            "99999999999:80",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_port("70000:80").unwrap_err(),
            "invalid host port '70000': out of range (0-65535)"
        );
    }

    #[test]
    fn volumes() {
        let v = parse_volume("./a:/b:ro,z").unwrap();
        assert_eq!((v.source.as_str(), v.target.as_str()), ("./a", "/b"));
        assert_eq!(v.options, ["ro", "z"]);
        assert_eq!(parse_volume("/tmp").unwrap().target, "/tmp");
        assert_eq!(split_volume("c:\\data:/d"), ["c:\\data", "/d"]);
        assert!(is_path_source("~/x") && !is_path_source("data"));
        // A one-letter name before `:/` reads as a Windows drive, as in docker compose.
        assert_eq!(parse_volume("v:/v").unwrap().target, "v:/v");
        assert!(parse_volume(":/data")
            .unwrap_err()
            .contains("empty section"));
        // Any one-letter part before a colon is a drive, whatever follows (found by the
        // differential run: docker compose reads `a:b:c:d:e` as `a:b` on `c:d`, mode `e`).
        assert_eq!(split_volume("a:b:c:d:e"), ["a:b", "c:d", "e"]);
        assert_eq!(split_volume("é:/x:/y"), ["é:/x", "/y"]);
        assert_eq!(parse_volume("c:d").unwrap().target, "c:d");
        assert!(is_path_source("é:/x") && !is_path_source("ab:/x"));
        assert_eq!(parse_volume("a:").unwrap().target, "a:");
        assert!(parse_volume("./a:/b:ro:x")
            .unwrap_err()
            .contains("too many colons"));
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(format_duration(parse_duration("90s").unwrap()), "1m30s");
        assert_eq!(format_duration(parse_duration("1h").unwrap()), "1h0m0s");
        assert_eq!(format_duration(parse_duration("500ms").unwrap()), "500ms");
        assert_eq!(format_duration(parse_duration("1.5s").unwrap()), "1.5s");
        assert!(parse_duration("10").is_err());
        assert_eq!(parse_bytes("64M").unwrap(), 67108864);
        assert_eq!(parse_bytes("1gb").unwrap(), 1073741824);
        assert_eq!(parse_bytes("512").unwrap(), 512);
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"echo "a b" 'c d' $HOME x\ y"#).unwrap(),
            ["echo", "a b", "c d", "$HOME", "x y"]
        );
        assert_eq!(shell_split("").unwrap(), Vec::<String>::new());
    }
}
