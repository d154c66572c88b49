//! Arbitrary input never panics a phase: random strings over an alphabet of the characters the
//! parsers care about (and multi-byte ones) go through every text parser. Deterministic (a fixed
//! xorshift seed), so a failure reproduces.

use std::path::Path;

use release_tool::compose::{dotenv, short, template, yaml};

const ALPHABET: &[&str] = &[
    "$", "{", "}", ":", "-", "+", "?", "=", "'", "\"", "\\", "#", " ", "\n", "\t", "[", "]", ",",
    "&", "*", "<<", "!", "/", ".", "~", "a", "B", "_", "0", "9", "€", "é", "\u{feff}", "export ",
    "x: ", "- ", "  ", "|", ">", "%", "@", "${a", "${a:", "$a", "80:", "/udp", "1-",
];

fn strings(seed: u64, n: usize) -> impl Iterator<Item = String> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n).map(move |_| {
        let len = (next() % 40) as usize;
        (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect()
    })
}

#[test]
fn text_parsers_never_panic() {
    for s in strings(0x9E37_79B9_7F4A_7C15, 20_000) {
        let _ = template::substitute(&s, &|k| (k == "a").then(|| "v".to_string()));
        let _ = dotenv::parse(&s, &|_| None);
        let _ = yaml::parse_str(&s, Path::new("fuzz.yaml"));
        let _ = short::parse_port(&s);
        let _ = short::parse_volume(&s);
        let _ = short::parse_duration(&s);
        let _ = short::parse_bytes(&s);
        let _ = short::shell_split(&s);
    }
}

/// Whole stacks with every service field set to values of random shapes (scalars of each type,
/// lists, mappings, nested), alone and under an override file with `!reset`/`!override`:
/// loading may fail, never panic.
#[test]
fn random_field_shapes_never_panic() {
    use release_tool::compose::validate::{FILE_OBJ, NETWORK, SERVICE, VOLUME};
    use release_tool::compose::{load_files, LoadOptions};
    let values = [
        "x",
        "1",
        "0400",
        "true",
        "null",
        "''",
        "[]",
        "{}",
        "[a, 1, null]",
        "{a: 1}",
        "[{a: b}]",
        "{a: [1, {b: c}]}",
        "\"80:80\"",
        "[\"80:80/udp\", \"1-2:3-4\"]",
        "[\"./a:/b:ro\", \"v:/c\"]",
        "{condition: service_healthy}",
        "[CMD, x]",
        "1.5",
        "-1",
        "\"1g\"",
        "\"1m30s\"",
        "~/x",
        "{context: ., labels: {a: null}, pull: 'true', no_cache: 'yes', args: {a: 1}}",
        "[{source: s, mode: -1}]",
        "{nofile: {soft: x, hard: 1}}",
        "{test: [CMD], retries: -1}",
        "{resources: {limits: {cpus: x, pids: '3'}}, replicas: -2}",
        "[{target: x}]",
        "{n: {aliases: a, priority: x}}",
        "{driver: x, options: {a: 1, b: null}}",
        "{a: {b: {c: d}}}",
        "[[1]]",
        "[{type: bind, source: 1, target: 2, bind: {create_host_path: x}}]",
        "[{type: volume, source: v, target: /x, volume: {nocopy: 1}}]",
        "[{type: tmpfs, target: /t, tmpfs: {size: x}}]",
        "[{source: 1, target: 2, permissions: 3}]",
        "{max-size: 1, driver: 2}",
        "[{capabilities: gpu, count: x}]",
        "{x: {ipv4_address: 1}}",
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("fuzz");
    std::fs::create_dir(&dir).expect("mkdir");
    // The secret files the inputs name exist, so a load gets past the secret-file check.
    for f in ["s", "r"] {
        std::fs::write(dir.join(f), "x").expect("write");
    }
    let opts = LoadOptions::default();
    // Loads `text` as the stack's only file: a value of the wrong type is an input error naming the
    // field, never a model conversion failure.
    let fits_or_names_the_field = |text: &str| {
        std::fs::write(dir.join("compose.yaml"), text).expect("write");
        if let Err(e) = load_files(&dir, &["compose.yaml".into()], None, &opts) {
            let e = e.to_string();
            assert!(
                !e.contains("does not fit the typed model"),
                "{e}\n--- compose.yaml\n{text}"
            );
        }
    };
    // Every field with every value alone, so the load gets as far as the typed model.
    let tail = concat!(
        "  t:\n    image: y\n    networks: [n]\nnetworks:\n  n:\n",
        "    ipam: {driver: 1, options: {a: 1}, config: [{subnet: 1, aux_addresses: {a: 2}}]}\n",
        "    labels: {a: 1}\nvolumes:\n  v: {}\nsecrets:\n  s: {file: ./s}\n"
    );
    // The same for the top-level resources' fields.
    let resources: [(&str, &[&str], &str); 4] = [
        ("networks", NETWORK, "networks: [r]"),
        ("volumes", VOLUME, "volumes: [\"r:/r\"]"),
        ("secrets", FILE_OBJ, "secrets: [r]"),
        ("configs", FILE_OBJ, "configs: [r]"),
    ];
    for (section, fields, use_it) in resources {
        for field in fields {
            for v in values {
                let text = format!("services:\n  s:\n    image: x\n    {use_it}\n{section}:\n  r:\n    {field}: {v}\n");
                fits_or_names_the_field(&text);
            }
        }
    }
    for field in SERVICE {
        for v in values {
            let text = format!("services:\n  s:\n    image: x\n    {field}: {v}\n{tail}");
            fits_or_names_the_field(&text);
        }
    }
    for _ in 0..300 {
        let mut text = String::from("services:\n  s:\n    image: x\n");
        for field in SERVICE {
            if next() % 3 != 0 {
                continue;
            }
            let v = values[(next() % values.len() as u64) as usize];
            text.push_str(&format!("    {field}: {v}\n"));
        }
        text.push_str(concat!(
            "  t:\n    image: y\n    networks: [n]\nnetworks:\n  n:\n",
            "    ipam: {driver: 1, options: {a: 1}, config: [{subnet: 1, aux_addresses: {a: 2}}]}\n",
            "    labels: {a: 1}\nvolumes:\n  v: {}\n"
        ));
        let mut over = String::from("services:\n  s:\n");
        for field in SERVICE {
            if next() % 5 != 0 {
                continue;
            }
            let v = values[(next() % values.len() as u64) as usize];
            let tag = ["", "!reset ", "!override "][(next() % 3) as usize];
            over.push_str(&format!("    {field}: {tag}{v}\n"));
        }
        std::fs::write(dir.join("compose.yaml"), &text).expect("write");
        std::fs::write(dir.join("override.yaml"), &over).expect("write");
        let sets: [Vec<std::path::PathBuf>; 2] = [
            vec!["compose.yaml".into()],
            vec!["compose.yaml".into(), "override.yaml".into()],
        ];
        for files in sets {
            // A value of the wrong type is an input error naming the field, never a model
            // mismatch ("internal: ...") that would mean normalize let a bad type through.
            if let Err(e) = load_files(&dir, &files, None, &opts) {
                let e = e.to_string();
                assert!(
                    !e.contains("does not fit the typed model"),
                    "{e}\n--- compose.yaml\n{text}\n--- override.yaml\n{over}"
                );
            }
        }
    }
}
