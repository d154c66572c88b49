//! A seeded generator of Compose projects: a hand-written grammar over the fields the translation
//! uses, in their short and long forms, with interpolation, anchors and merge keys, an override
//! file, a `.env` with profiles, and edge values. Most projects are meant to be valid (the
//! comparison is then about meaning); a share carry one mistake (then both loaders must refuse).

use super::yaml::{document, plain, quoted, Style, Y};

pub struct Project {
    /// (path relative to the stack directory, contents).
    pub files: Vec<(String, String)>,
    /// The mistake put in on purpose, if any.
    pub mistake: Option<&'static str>,
}

/// Variables the generated `.env` defines (the process environment gives only `TAG`).
const DOTENV: &[(&str, &str)] = &[
    ("APP_PORT", "8080"),
    ("IMG", "busybox"),
    ("EMPTY", ""),
    ("UNI", "héllo wörld ✓"),
    ("SPACED", "a b  c"),
    ("OCT", "0755"),
    ("YES", "yes"),
];

/// Edge values for strings: empty, unicode, what YAML 1.1 reads as booleans, numbers in every
/// base, a `#`, a `: `, quotes, a newline, `$$`.
const EDGE: &[&str] = &[
    "",
    "plain",
    "ünïcödé ✓ 日本",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "0755",
    "0o17",
    "0x1F",
    "1e3",
    "1.50",
    "12345678901234567890",
    "-1",
    "~",
    "null",
    "  spaced  ",
    "a#b",
    "a: b",
    "quote\"d",
    "multi\nline",
    "$$literal",
    "2001-12-14",
    "%h%n",
    "[x]",
];

pub const IMAGES: &[&str] = &[
    "busybox",
    "docker.io/library/alpine:3.19",
    "127.0.0.1:5000/lab/busybox:1",
    "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "ghcr.io/acme/app:${TAG}",
    "${IMG}",
    "${IMG:-busybox}:latest",
];

const DURATIONS: &[&str] = &[
    "30s",
    "1m30s",
    "1h",
    "500ms",
    "10s",
    "2m",
    "1s",
    "0s",
    "1m0.5s",
    "1h2m3s4ms",
];
const BYTES: &[&str] = &[
    "512m", "1g", "1.5g", "64M", "1024k", "100000", "2GB", "1gb", "128mb", "0",
];

pub struct Gen {
    rng: fastrand::Rng,
    services: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
    secrets: Vec<String>,
    configs: Vec<String>,
    /// Networks with an IPv4 subnet (static addresses only there).
    subnets: Vec<(String, u8)>,
    env_files: Vec<String>,
    /// Whether this project may get a mistake (a quarter of them).
    plant: bool,
}

fn map(entries: Vec<(String, Y)>) -> Y {
    Y::Map(entries, Style::Block)
}

fn seq(items: Vec<Y>) -> Y {
    Y::Seq(items, Style::Block)
}

fn s(x: &str) -> String {
    x.to_string()
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
            services: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
            subnets: Vec::new(),
            env_files: vec![s("app.env"), s("./app.env")],
            plant: false,
        }
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.u32(0..100) < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.rng.usize(0..xs.len())]
    }

    fn pick_name(&mut self, xs: &[String]) -> String {
        xs[self.rng.usize(0..xs.len())].clone()
    }

    /// Some of `xs`, in order, without repeats.
    fn subset(&mut self, xs: &[String]) -> Vec<String> {
        xs.iter().filter(|_| self.chance(50)).cloned().collect()
    }

    /// Block or flow style, at random.
    fn style(&mut self) -> Style {
        if self.chance(30) {
            Style::Flow
        } else {
            Style::Block
        }
    }

    fn seq(&mut self, items: Vec<Y>) -> Y {
        let st = self.style();
        Y::Seq(items, st)
    }

    fn map(&mut self, entries: Vec<(String, Y)>) -> Y {
        let st = self.style();
        Y::Map(entries, st)
    }

    /// A string value: an edge value, plain (typed by YAML) or quoted, sometimes interpolated.
    fn text(&mut self) -> Y {
        let e = *self.pick(EDGE);
        match self.rng.u32(0..16) {
            14 => plain(
                self.pick(&["${SQ}", "${DQ}", "${HASH}", "${INNER}"])
                    .to_string(),
            ),
            15 => quoted(self.pick(&["${EXPORTED:-none}", "x${UNI}y"]).to_string()),
            10 => plain(s("${UNSET_A:-${APP_PORT:-nested}}")),
            11 => plain(s("$APP_PORT/unbraced")),
            12 => quoted(s("${OCT:?is set}")),
            13 => quoted(s("pre-${EMPTY:+alt}-post")),
            0 => quoted(format!("${{UNI}}-{e}")),
            1 => plain(s("${UNSET_VAR:-fallback value}")),
            2 => plain(s("${EMPTY-dash default}")),
            3 => plain(s("${EMPTY:-colon default}")),
            4 => quoted(s("$$HOME and $${BRACED}")),
            5 => plain(s("${SPACED}")),
            6 => plain(s("${YES:+set}")),
            _ => {
                let safe_plain = !e.is_empty()
                    && !e.starts_with([' ', '[', '%', '$', '~'])
                    && !e.contains(['#', '\n', '"'])
                    && !e.contains(": ")
                    && !e.ends_with(' ');
                if safe_plain && self.chance(50) {
                    plain(e)
                } else {
                    quoted(e)
                }
            }
        }
    }

    /// A container port; published ports are offsets from it, all within range.
    /// A list item the schema types as a string: quoted when YAML would read it otherwise
    /// (rarely left plain, a planted mistake docker compose's schema refuses).
    fn string_item(&mut self, mistake: &mut Option<&'static str>) -> Y {
        match self.text() {
            Y::Plain(t) if mistake.is_none() && self.plant && self.chance(5) => {
                if t.parse::<f64>().is_ok() || t == "true" || t == "~" || t == "null" {
                    *mistake = Some("schema: a list item that is not a string");
                }
                plain(t)
            }
            Y::Plain(t) if t.starts_with('$') => plain(t),
            Y::Plain(t) | Y::Quoted(t) => quoted(t),
            other => other,
        }
    }

    fn port_number(&mut self) -> u32 {
        *self.pick(&[80, 443, 8080, 9000, 53, 1, 5432])
    }

    fn ports(&mut self, mistake: &mut Option<&'static str>) -> Y {
        let mut items = Vec::new();
        for _ in 0..self.rng.usize(1..4) {
            if self.chance(60) {
                let t = self.port_number();
                let txt = match self.rng.u32(0..11) {
                    9 => s("65535:65535"),
                    10 => format!("0:{t}"),
                    0 => format!("{t}"),
                    1 => format!("{}:{t}", t + 10000),
                    2 => format!("127.0.0.1:{}:{t}", t + 20000),
                    3 => format!("[::1]:{}:{t}/udp", t + 30000),
                    4 => format!("{}-{}:{t}-{}", t + 1000, t + 1001, t + 1),
                    5 => format!("0.0.0.0::{t}/tcp"),
                    6 => self
                        .pick(&["${APP_PORT}:80", "${NOPORT:-8081}:81", "${APP_PORT?x}:82"])
                        .to_string(),
                    7 => format!("{}-{}", t + 2000, t + 2002),
                    _ => format!("[::]:{}:{t}", t + 40000),
                };
                if self.chance(30) && !txt.contains('$') && !txt.contains('[') {
                    // A bare number or `a:b` plain: YAML may read `80` as an integer.
                    items.push(plain(txt));
                } else {
                    items.push(quoted(txt));
                }
            } else {
                let t = self.port_number();
                let mut e = vec![(s("target"), plain(t.to_string()))];
                if mistake.is_none() && self.plant && self.chance(2) {
                    *mistake = Some("long syntax published port out of range");
                    e.push((s("published"), quoted("70000")));
                } else if self.chance(70) {
                    let p = (t + 50000).to_string();
                    e.push((
                        s("published"),
                        if self.chance(50) { quoted(p) } else { plain(p) },
                    ));
                }
                if self.chance(40) {
                    let ip = *self.pick(&["127.0.0.1", "::1", "0.0.0.0", "fe80::1"]);
                    e.push((s("host_ip"), quoted(ip)));
                }
                if self.chance(40) {
                    let p = *self.pick(&["tcp", "udp"]);
                    e.push((s("protocol"), plain(p)));
                }
                if self.chance(20) {
                    e.push((s("mode"), plain("host")));
                }
                if self.chance(10) {
                    e.push((s("name"), plain("web")));
                }
                let m = self.map(e);
                items.push(m);
            }
        }
        if mistake.is_none() && self.plant && self.chance(4) {
            *mistake = Some("port out of range");
            items.push(quoted("70000:80"));
        }
        self.seq(items)
    }

    fn environment(&mut self) -> Y {
        let n = self.rng.usize(1..5);
        if self.chance(50) {
            let mut items = Vec::new();
            for i in 0..n {
                match self.rng.u32(0..4) {
                    0 => items.push(quoted(format!("L{i}"))),
                    1 => items.push(quoted(format!("L{i}="))),
                    _ => {
                        let v = match self.text() {
                            Y::Plain(v) | Y::Quoted(v) => v,
                            _ => String::new(),
                        };
                        items.push(quoted(format!("L{i}={v}")));
                    }
                }
            }
            // Also from the process environment / .env by name only.
            if self.chance(30) {
                items.push(plain("TAG"));
            }
            self.seq(items)
        } else {
            let mut e = Vec::new();
            for i in 0..n {
                let v = match self.rng.u32(0..6) {
                    0 => plain("~"),
                    1 => plain(
                        self.pick(&[
                            "1",
                            "0400",
                            "1.50",
                            "true",
                            "no",
                            "1e3",
                            "0x10",
                            "-.5",
                            "2001-12-14",
                        ])
                        .to_string(),
                    ),
                    _ => self.text(),
                };
                e.push((format!("M{i}"), v));
            }
            self.map(e)
        }
    }

    fn volumes(&mut self, mistake: &mut Option<&'static str>) -> Y {
        let mut items = Vec::new();
        for i in 0..self.rng.usize(1..4) {
            let short = self.chance(60);
            let kind = self.rng.u32(0..4);
            if short {
                let v = match kind {
                    0 => format!("./data{i}:/data{i}"),
                    1 if !self.volumes.is_empty() => {
                        format!("{}:/var/lib/v{i}", self.pick_name(&self.volumes.clone()))
                    }
                    2 => format!("/srv/abs{i}:/abs{i}:ro"),
                    3 => format!("~/cfg{i}:/cfg{i}:z"),
                    _ => format!("/anon{i}"),
                };
                items.push(if self.chance(50) { plain(v) } else { quoted(v) });
            } else {
                let mut e = Vec::new();
                match kind {
                    0 => {
                        e.push((s("type"), plain("bind")));
                        e.push((s("source"), plain(format!("./bind{i}"))));
                        e.push((s("target"), plain(format!("/bind{i}"))));
                        if self.chance(50) {
                            e.push((s("read_only"), plain("true")));
                        }
                        if self.chance(40) {
                            let b = map(vec![(s("create_host_path"), plain("true"))]);
                            e.push((s("bind"), b));
                        }
                    }
                    1 if !self.volumes.is_empty() => {
                        e.push((s("type"), plain("volume")));
                        let v = self.pick_name(&self.volumes.clone());
                        e.push((s("source"), plain(v)));
                        e.push((s("target"), plain(format!("/vol{i}"))));
                        if self.chance(40) {
                            let b = map(vec![(s("nocopy"), plain("true"))]);
                            e.push((s("volume"), b));
                        }
                    }
                    _ => {
                        e.push((s("type"), plain("tmpfs")));
                        e.push((s("target"), plain(format!("/tmpfs{i}"))));
                        if self.chance(60) {
                            let size = *self.pick(BYTES);
                            let b = map(vec![(s("size"), plain(size))]);
                            e.push((s("tmpfs"), b));
                        }
                    }
                }
                let m = self.map(e);
                items.push(m);
            }
        }
        if mistake.is_none() && self.plant && self.chance(3) {
            *mistake = Some("volume spec with too many colons");
            items.push(quoted("./a:/b:ro:x"));
        } else if self.chance(3) {
            // compose-go reads a one-letter part before `:` as a Windows drive.
            items.push(quoted(*self.pick(&[
                "c:d",
                "a:b:c:d:e",
                "/x:c:/y",
                "a:",
                "/v",
            ])));
        }
        self.seq(items)
    }

    fn networks_of_service(&mut self, mistake: &mut Option<&'static str>) -> Option<Y> {
        let mut nets = self.subset(&self.networks.clone());
        if mistake.is_none() && self.plant && self.chance(3) {
            *mistake = Some("undefined network");
            nets.push(s("nowhere"));
        }
        if nets.is_empty() {
            return None;
        }
        if self.chance(50) {
            Some(self.seq(nets.into_iter().map(plain).collect()))
        } else {
            let mut e = Vec::new();
            for n in nets {
                let mut o = Vec::new();
                if self.chance(50) {
                    let a = vec![plain(format!("{n}-alias")), quoted("other.alias")];
                    let a = self.seq(a);
                    o.push((s("aliases"), a));
                }
                let subnet = self.subnets.iter().find(|(x, _)| *x == n).map(|(_, b)| *b);
                if let Some(b) = subnet {
                    if self.chance(50) {
                        let ip = format!("172.{b}.0.{}", 10 + self.services.len());
                        o.push((s("ipv4_address"), plain(ip)));
                    }
                }
                if self.chance(20) {
                    o.push((s("priority"), plain("10")));
                }
                if n == "v6" && self.chance(40) {
                    let ip = format!("fd00:dead:beef::{}", 10 + self.services.len());
                    o.push((s("ipv6_address"), quoted(ip)));
                }
                if self.chance(10) {
                    o.push((s("mac_address"), quoted("02:42:ac:11:00:02")));
                }
                if self.chance(10) {
                    let d = map(vec![(s("com.example.opt"), plain("1"))]);
                    o.push((s("driver_opts"), d));
                }
                let v = if o.is_empty() && self.chance(50) {
                    plain("~")
                } else {
                    self.map(o)
                };
                e.push((n, v));
            }
            Some(self.map(e))
        }
    }

    fn depends_on(&mut self, mistake: &mut Option<&'static str>) -> Option<Y> {
        let mut deps = self.subset(&self.services.clone());
        if mistake.is_none() && self.plant && self.chance(3) {
            *mistake = Some("depends on an undefined service");
            deps.push(s("ghost"));
        }
        if deps.is_empty() {
            return None;
        }
        if self.chance(40) {
            return Some(self.seq(deps.into_iter().map(plain).collect()));
        }
        let mut e = Vec::new();
        for d in deps {
            let c = *self.pick(&[
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            ]);
            let mut o = vec![(s("condition"), plain(c))];
            if self.chance(30) {
                o.push((s("restart"), plain("true")));
            }
            if self.chance(20) {
                o.push((s("required"), plain("false")));
            }
            let m = self.map(o);
            e.push((d, m));
        }
        Some(self.map(e))
    }

    fn healthcheck(&mut self, mistake: &mut Option<&'static str>) -> Y {
        let mut e = Vec::new();
        if self.chance(10) {
            e.push((s("disable"), plain("true")));
            return self.map(e);
        }
        let test = match self.rng.u32(0..4) {
            0 => {
                let t = vec![
                    quoted("CMD"),
                    quoted("wget"),
                    quoted("-q"),
                    quoted("http://[::1]:80/"),
                ];
                self.seq(t)
            }
            1 => {
                let t = vec![quoted("CMD-SHELL"), quoted("test -f /tmp/ok || exit 1")];
                self.seq(t)
            }
            2 => quoted("curl -f http://localhost/ && echo '$$ok'"),
            _ => {
                let t = vec![quoted("NONE")];
                self.seq(t)
            }
        };
        e.push((s("test"), test));
        for k in ["interval", "timeout", "start_period", "start_interval"] {
            if self.chance(50) {
                let d = *self.pick(DURATIONS);
                e.push((s(k), quoted(d)));
            }
        }
        if self.chance(50) {
            let r = *self.pick(&["3", "0", "10"]);
            e.push((
                s("retries"),
                if self.chance(50) { plain(r) } else { quoted(r) },
            ));
        }
        if mistake.is_none() && self.plant && self.chance(3) {
            *mistake = Some("bad duration");
            e.push((s("timeout"), quoted(*self.pick(&["soon", "90"]))));
            let mut seen = std::collections::HashSet::new();
            e.retain(|(k, _)| seen.insert(k.clone()));
        }
        self.map(e)
    }

    fn deploy(&mut self, mistake: &mut Option<&'static str>) -> Y {
        let mut limits = Vec::new();
        if self.chance(70) {
            let c = *self.pick(&["0.5", "2", "1.25", "0.01"]);
            limits.push((
                s("cpus"),
                if self.chance(50) { quoted(c) } else { plain(c) },
            ));
        }
        if self.chance(70) {
            let b = *self.pick(BYTES);
            limits.push((s("memory"), quoted(b)));
        } else if mistake.is_none() && self.plant && self.chance(5) {
            *mistake = Some("schema: memory as a number");
            limits.push((s("memory"), plain("1000000")));
        }
        if self.chance(20) {
            limits.push((s("pids"), plain("100")));
        }
        if mistake.is_none() && self.plant && self.chance(3) {
            *mistake = Some("bad byte size");
            limits.push((s("memory"), plain("12q")));
            limits.dedup_by(|a, b| a.0 == b.0);
        }
        let mut res = vec![(s("limits"), self.map(limits))];
        if self.chance(40) {
            let b = *self.pick(BYTES);
            let r = map(vec![(s("memory"), quoted(b))]);
            res.push((s("reservations"), r));
        }
        let mut e = vec![(s("resources"), self.map(res))];
        if self.chance(20) {
            let rp = map(vec![
                (s("condition"), plain("on-failure")),
                (s("max_attempts"), plain("3")),
            ]);
            e.push((s("restart_policy"), rp));
        }
        self.map(e)
    }

    /// One service; `name` is not yet in `self.services` (so `depends_on` points back only).
    fn service(&mut self, name: &str, mistake: &mut Option<&'static str>) -> Y {
        let mut e: Vec<(String, Y)> = Vec::new();
        let builds = self.chance(15);
        if builds {
            let b = if self.chance(50) {
                plain("./app")
            } else {
                let mut o = vec![(s("context"), plain("./app"))];
                if self.chance(50) {
                    o.push((s("dockerfile"), plain("Containerfile")));
                }
                if self.chance(50) {
                    let a = if self.chance(50) {
                        let a = vec![quoted("A=1"), plain("B")];
                        self.seq(a)
                    } else {
                        let a = vec![(s("VER"), plain("1.0")), (s("EMPTY"), plain("~"))];
                        self.map(a)
                    };
                    o.push((s("args"), a));
                }
                if self.chance(30) {
                    o.push((s("target"), plain("prod")));
                }
                self.map(o)
            };
            e.push((s("build"), b));
        }
        if !builds || self.chance(50) {
            let img = *self.pick(IMAGES);
            e.push((s("image"), plain(img)));
        } else if mistake.is_none() && self.plant && !builds && self.chance(3) {
            *mistake = Some("neither image nor build");
        }
        for (k, pct) in [("command", 50), ("entrypoint", 20)] {
            if self.chance(pct) {
                let v = if self.chance(50) {
                    quoted(*self.pick(&[
                        "sh -c 'echo \"hi there\"; sleep 1'",
                        "httpd -f -p 8080",
                        "echo $$HOME",
                        "printf '%s\\n' a",
                        "sh -c \"a \\\"b c\\\" d\" 'x y' z",
                        "echo  spaced\ttab   end ",
                    ]))
                } else {
                    let last = self.string_item(mistake);
                    let items = vec![quoted("sh"), quoted("-c"), last];
                    self.seq(items)
                };
                e.push((s(k), v));
            }
        }
        if self.chance(60) {
            let env = self.environment();
            e.push((s("environment"), env));
        }
        if self.chance(20) && !self.env_files.is_empty() {
            let f = self.pick_name(&self.env_files.clone());
            let v = match self.rng.u32(0..3) {
                0 => plain(f),
                1 => seq(vec![plain(f)]),
                _ => seq(vec![map(vec![
                    (s("path"), plain("./optional-missing.env")),
                    (s("required"), plain("false")),
                ])]),
            };
            e.push((s("env_file"), v));
        }
        if self.chance(50) {
            let p = self.ports(mistake);
            e.push((s("ports"), p));
        }
        if self.chance(20) {
            let x = vec![quoted("80"), plain("443"), quoted("8000-8001/udp")];
            let x = self.seq(x);
            e.push((s("expose"), x));
        }
        if self.chance(40) {
            let v = self.volumes(mistake);
            e.push((s("volumes"), v));
        }
        if self.chance(15) {
            let t = if self.chance(50) {
                plain("/tmp")
            } else {
                let t = vec![plain("/run"), quoted("/cache:size=64m,mode=1777")];
                self.seq(t)
            };
            e.push((s("tmpfs"), t));
        }
        if let Some(n) = self.networks_of_service(mistake) {
            e.push((s("networks"), n));
        }
        if let Some(d) = self.depends_on(mistake) {
            e.push((s("depends_on"), d));
        }
        if self.chance(35) {
            let h = self.healthcheck(mistake);
            e.push((s("healthcheck"), h));
        }
        if self.chance(40) {
            let r = match self.rng.u32(0..6) {
                0 => plain("no"),
                1 => quoted("no"),
                2 => plain("always"),
                3 => plain("on-failure"),
                4 => quoted("on-failure:3"),
                _ => plain("unless-stopped"),
            };
            e.push((s("restart"), r));
        }
        if self.chance(30) {
            let d = self.deploy(mistake);
            e.push((s("deploy"), d));
        } else if self.chance(20) {
            let b = *self.pick(BYTES);
            e.push((s("mem_limit"), plain(b)));
            if self.chance(50) {
                e.push((s("cpus"), plain("1.5")));
            }
        }
        if self.chance(20) {
            let u = if self.chance(50) {
                plain("nofile")
            } else {
                plain("nproc")
            };
            let Y::Plain(u) = u else { unreachable!() };
            let v = if self.chance(50) {
                map(vec![(s("soft"), plain("1024")), (s("hard"), plain("2048"))])
            } else {
                plain("512")
            };
            let m = self.map(vec![(u, v)]);
            e.push((s("ulimits"), m));
        }
        if self.chance(15) {
            let v = if self.chance(50) {
                let v = vec![
                    (s("net.core.somaxconn"), plain("1024")),
                    (s("net.ipv4.tcp_syncookies"), quoted("1")),
                    (s("kernel.msgmax"), plain("65536")),
                ];
                self.map(v)
            } else {
                let v = vec![quoted("net.ipv4.ip_forward=1")];
                self.seq(v)
            };
            e.push((s("sysctls"), v));
        }
        if self.chance(20) {
            let c = vec![plain("NET_ADMIN"), plain("SYS_TIME")];
            let c = self.seq(c);
            e.push((s("cap_add"), c));
            if self.chance(50) {
                e.push((s("cap_drop"), seq(vec![plain("ALL")])));
            }
        }
        if self.chance(10) {
            let d = vec![
                quoted("/dev/fuse:/dev/fuse"),
                quoted("/dev/null:/dev/nul:rwm"),
            ];
            let d = self.seq(d);
            e.push((s("devices"), d));
        }
        if self.chance(40) {
            let l = if self.chance(50) {
                let l = vec![
                    quoted("org.example.a=1"),
                    quoted("org.example.empty="),
                    quoted("org.example.bare"),
                ];
                self.seq(l)
            } else {
                let t = self.text();
                let l = vec![(s("org.example.v"), t), (s("com.x"), plain("1.0"))];
                self.map(l)
            };
            e.push((s("labels"), l));
        }
        if self.chance(20) {
            let u = *self.pick(&["1000", "1000:1000", "app", "${UNSET_UID:-1001}"]);
            e.push((s("user"), quoted(u)));
        } else if mistake.is_none() && self.plant && self.chance(2) {
            *mistake = Some("user as a number");
            e.push((s("user"), plain("1000")));
        }
        if self.chance(20) {
            e.push((s("working_dir"), quoted("/srv/ünï app")));
        }
        if self.chance(15) {
            let d = if self.chance(50) {
                plain("8.8.8.8")
            } else {
                let d = vec![plain("1.1.1.1"), quoted("2001:4860:4860::8888")];
                self.seq(d)
            };
            e.push((s("dns"), d));
        }
        if self.chance(15) {
            let h = if self.chance(50) {
                let h = vec![
                    quoted("db:10.0.0.2"),
                    quoted("brack=[::2]"),
                    quoted("multi:10.0.0.3"),
                    quoted("v6host:::1"),
                    quoted("eq=1.2.3.4"),
                ];
                self.seq(h)
            } else {
                let h = vec![(s("db"), plain("10.0.0.2")), (s("six"), quoted("::1"))];
                self.map(h)
            };
            e.push((s("extra_hosts"), h));
        }
        if self.chance(15) {
            let o = vec![
                (s("max-size"), plain("10m")),
                (
                    s("max-file"),
                    if self.chance(50) {
                        quoted("3")
                    } else {
                        plain("3")
                    },
                ),
                (s("compress"), quoted("true")),
            ];
            let o = self.map(o);
            let l = vec![(s("driver"), plain("json-file")), (s("options"), o)];
            let l = self.map(l);
            e.push((s("logging"), l));
        }
        for (key, names) in [
            ("secrets", self.secrets.clone()),
            ("configs", self.configs.clone()),
        ] {
            if names.is_empty() || !self.chance(25) {
                continue;
            }
            let n = self.pick_name(&names);
            let v = if self.chance(50) {
                plain(n)
            } else {
                let mode = *self.pick(&["0440", "0o440", "288", "\"0440\""]);
                let mode = match mode.strip_prefix('"') {
                    Some(m) => quoted(m.trim_end_matches('"')),
                    None => plain(mode),
                };
                map(vec![
                    (s("source"), plain(n)),
                    (s("target"), plain(format!("/run/{key}/t"))),
                    (s("mode"), mode),
                ])
            };
            let v = self.seq(vec![v]);
            e.push((s(key), v));
        }
        if self.chance(10) {
            e.push((s("stop_grace_period"), quoted(*self.pick(DURATIONS))));
        }
        if self.chance(10) {
            e.push((s("init"), plain("true")));
        }
        if self.chance(5) {
            e.push((s("privileged"), plain(*self.pick(&["yes", "true", "no"]))));
        }
        if self.chance(10) {
            e.push((s("shm_size"), plain(*self.pick(BYTES))));
        }
        if self.chance(10) {
            e.push((s("hostname"), plain(format!("{name}.local"))));
        }
        self.more_fields(&mut e, mistake);
        if self.chance(5) {
            e.push((s("x-note"), quoted("kept by us, dropped by docker")));
        }
        if mistake.is_none() && self.plant && self.chance(2) {
            *mistake = Some("missing required variable");
            e.push((s("working_dir"), plain("${NOT_SET_ANYWHERE?must be set}")));
            e.dedup_by(|a, b| a.0 == b.0);
        }
        if mistake.is_none() && self.plant && self.chance(1) {
            *mistake = Some("duplicate key");
            e.push((s("image"), plain("busybox")));
            e.push((s("image"), plain("alpine")));
        }
        map(e)
    }

    /// Fields used less often, each with its forms and edge values.
    fn more_fields(&mut self, e: &mut Vec<(String, Y)>, mistake: &mut Option<&'static str>) {
        let before = e.len();
        self.more_fields_of(e, mistake);
        // One value per key (`devices`, `stop_grace_period` may be set already); `pids_limit`
        // only without a deploy section (docker compose refuses the two when they differ).
        let has_deploy = e.iter().any(|(k, _)| k == "deploy");
        let mut seen: std::collections::HashSet<String> =
            e[..before].iter().map(|(k, _)| k.clone()).collect();
        let mut i = 0;
        e.retain(|(k, _)| {
            i += 1;
            i <= before || (seen.insert(k.clone()) && !(has_deploy && k == "pids_limit"))
        });
    }

    fn more_fields_of(&mut self, e: &mut Vec<(String, Y)>, mistake: &mut Option<&'static str>) {
        let simple: &[(&str, &[&str])] = &[
            ("stop_signal", &["SIGTERM", "SIGINT", "9"]),
            ("pull_policy", &["always", "missing", "never", "build"]),
            ("ipc", &["private", "shareable", "host"]),
            ("pid", &["host"]),
            ("platform", &["linux/amd64", "linux/arm64/v8"]),
            ("domainname", &["example.org"]),
            ("cgroup", &["host", "private"]),
            ("stop_grace_period", &["1m30s", "10s", "0s"]),
        ];
        for (k, vals) in simple {
            if self.chance(6) {
                let v = *self.pick(vals);
                e.push((s(k), quoted(v)));
            }
        }
        for k in ["tty", "stdin_open", "read_only", "oom_kill_disable"] {
            if self.chance(5) {
                let v = *self.pick(&["true", "false", "yes", "off", "\"true\""]);
                let v = match v.strip_prefix('"') {
                    Some(q) => quoted(q.trim_end_matches('"')),
                    None => plain(v),
                };
                e.push((s(k), v));
            }
        }
        for k in ["pids_limit", "cpu_shares", "oom_score_adj"] {
            if self.chance(5) {
                let v = *self.pick(&["100", "-1", "0", "\"512\""]);
                let v = match v.strip_prefix('"') {
                    Some(q) => quoted(q.trim_end_matches('"')),
                    None => plain(v),
                };
                e.push((s(k), v));
            }
        }
        if self.chance(6) {
            let v = vec![quoted("no-new-privileges:true"), quoted("label=disable")];
            let v = self.seq(v);
            e.push((s("security_opt"), v));
        }
        if self.chance(5) {
            let v = vec![plain("wheel"), quoted("1000")];
            let v = self.seq(v);
            e.push((s("group_add"), v));
        }
        if self.chance(5) {
            let d = map(vec![
                (s("source"), plain("/dev/kvm")),
                (s("target"), plain("/dev/kvm")),
                (s("permissions"), plain("rwm")),
            ]);
            let v = self.seq(vec![d]);
            e.push((s("devices"), v));
        }
        if self.chance(5) {
            let v = vec![quoted("search.example"), plain("corp.local")];
            let v = self.seq(v);
            e.push((s("dns_search"), v));
        }
        if self.chance(5) {
            e.push((s("dns_opt"), seq(vec![quoted("use-vc"), quoted("ndots:2")])));
        }
        if self.chance(5) {
            let v = map(vec![
                (s("com.example.note"), self.text()),
                (s("n"), plain("3")),
            ]);
            e.push((s("annotations"), v));
        }
        if self.chance(4) {
            e.push((s("scale"), plain(*self.pick(&["1", "2", "0"]))));
        }
        if self.chance(5) {
            e.push((s("mem_reservation"), quoted(*self.pick(BYTES))));
        }
        if self.chance(4) {
            e.push((s("memswap_limit"), plain(*self.pick(&["-1", "2g", "0"]))));
        }
        if self.chance(4) {
            e.push((
                s("container_name"),
                quoted(*self.pick(&["my-app", "${IMG}-c", "dt_x"])),
            ));
        }
        if self.chance(4) {
            e.push((
                s("network_mode"),
                quoted(*self.pick(&["host", "none", "bridge"])),
            ));
            e.retain(|(k, _)| k != "networks");
        }
        if self.chance(5) && !self.services.is_empty() {
            // A link is a dependency: only to a service defined before.
            let to = self.pick_name(&self.services.clone());
            let v = self.seq(vec![quoted(format!("{to}:alias")), quoted(to)]);
            e.push((s("links"), v));
        }
        if self.chance(4) {
            e.push((s("userns_mode"), quoted("host")));
        }
        if self.chance(4) {
            e.push((s("mem_swappiness"), plain(*self.pick(&["0", "60", "100"]))));
        }
        if self.chance(4) {
            e.push((s("cgroup_parent"), quoted("my.slice")));
        }
        if self.chance(4) {
            let h = map(vec![(
                s("command"),
                seq(vec![quoted("echo"), quoted("started ${APP_PORT}")]),
            )]);
            e.push((s("post_start"), seq(vec![h])));
        }
        if self.chance(5) {
            let mut d = vec![];
            if self.chance(50) {
                d.push((
                    s("restart_policy"),
                    map(vec![
                        (
                            s("condition"),
                            plain(*self.pick(&["any", "on-failure", "none"])),
                        ),
                        (s("delay"), quoted(*self.pick(DURATIONS))),
                        (s("window"), quoted("2m")),
                    ]),
                ));
            }
            if self.chance(50) {
                d.push((s("labels"), map(vec![(s("deploy.label"), quoted("x"))])));
            }
            if self.chance(30) {
                d.push((s("mode"), plain("replicated")));
            }
            if self.chance(30) {
                d.push((
                    s("update_config"),
                    map(vec![
                        (s("parallelism"), plain("2")),
                        (s("delay"), quoted("10s")),
                    ]),
                ));
            }
            if !d.is_empty() && !e.iter().any(|(k, _)| k == "deploy") {
                e.push((s("deploy"), map(d)));
            }
        }
        if self.chance(5) {
            let b = map(vec![
                (
                    s("context"),
                    plain(*self.pick(&["./app", ".", "https://example.invalid/r.git#main"])),
                ),
                (
                    s("dockerfile_inline"),
                    quoted("FROM busybox\nRUN echo $$HOME\n"),
                ),
                (s("cache_from"), seq(vec![quoted("type=local,src=/tmp/c")])),
                (s("network"), plain("host")),
                (s("tags"), seq(vec![quoted("extra:${TAG}")])),
                (s("no_cache"), plain("true")),
                (s("platforms"), seq(vec![quoted("linux/amd64")])),
                (s("shm_size"), quoted("128m")),
                (s("labels"), seq(vec![quoted("b=1")])),
            ]);
            e.retain(|(k, _)| k != "build");
            e.push((s("build"), b));
        }
        if mistake.is_none() && self.plant && self.chance(2) {
            *mistake = Some("unknown interpolation form");
            e.push((s("hostname"), plain("${IMG/x/y}")));
            let mut seen = std::collections::HashSet::new();
            e.retain(|(k, _)| seen.insert(k.clone()) || k != "hostname");
        }
    }

    fn top_level(&mut self) -> Vec<(String, Y)> {
        let mut out = Vec::new();
        let mut nets = Vec::new();
        for (i, n) in ["front", "back", "v6", "ext"].iter().enumerate() {
            if !self.chance(40) {
                continue;
            }
            let v = match *n {
                "back" => {
                    let b = 20 + i as u8;
                    self.subnets.push((s(n), b));
                    let cfg = map(vec![(s("subnet"), plain(format!("172.{b}.0.0/16")))]);
                    map(vec![
                        (s("driver"), plain("bridge")),
                        (s("ipam"), map(vec![(s("config"), seq(vec![cfg]))])),
                        (s("internal"), plain("true")),
                    ])
                }
                "v6" => {
                    let cfg = map(vec![(s("subnet"), quoted("fd00:dead:beef::/64"))]);
                    map(vec![
                        (s("enable_ipv6"), plain("true")),
                        (s("ipam"), map(vec![(s("config"), seq(vec![cfg]))])),
                    ])
                }
                "ext" => map(vec![
                    (s("external"), plain("true")),
                    (s("name"), plain("shared-net")),
                ]),
                _ => {
                    if self.chance(50) {
                        plain("~")
                    } else {
                        map(vec![
                            (s("labels"), map(vec![(s("x"), quoted("1"))])),
                            (
                                s("driver_opts"),
                                map(vec![(s("com.docker.network.driver.mtu"), plain("1400"))]),
                            ),
                        ])
                    }
                }
            };
            self.networks.push(s(n));
            nets.push((s(n), v));
        }
        if !nets.is_empty() {
            out.push((s("networks"), map(nets)));
        }
        let mut vols = Vec::new();
        for n in ["data", "cache", "extvol"] {
            if !self.chance(40) {
                continue;
            }
            let v = match n {
                "cache" => map(vec![
                    (s("driver"), plain("local")),
                    (
                        s("driver_opts"),
                        map(vec![
                            (s("type"), plain("tmpfs")),
                            (s("device"), plain("tmpfs")),
                            (s("o"), quoted("size=100m,uid=1000")),
                        ]),
                    ),
                ]),
                "extvol" => map(vec![(s("external"), plain("true"))]),
                "data" if self.chance(30) => map(vec![
                    (s("name"), quoted("${IMG}-data")),
                    (s("labels"), seq(vec![quoted("v=1"), quoted("w=${UNI}")])),
                ]),
                _ => plain("~"),
            };
            self.volumes.push(s(n));
            vols.push((s(n), v));
        }
        if !vols.is_empty() {
            out.push((s("volumes"), map(vols)));
        }
        if self.chance(30) {
            self.secrets.push(s("token"));
            let mut e = vec![(s("token"), map(vec![(s("file"), plain("./secret.txt"))]))];
            if self.chance(50) {
                self.secrets.push(s("fromenv"));
                e.push((s("fromenv"), map(vec![(s("environment"), plain("UNI"))])));
            }
            if self.chance(30) {
                self.secrets.push(s("named"));
                e.push((
                    s("named"),
                    map(vec![
                        (s("file"), plain("./secret.txt")),
                        (s("name"), quoted("${IMG}-secret")),
                    ]),
                ));
            }
            out.push((s("secrets"), map(e)));
        }
        if self.chance(30) {
            self.configs.push(s("conf"));
            let mut e = vec![(s("conf"), map(vec![(s("file"), plain("./conf.txt"))]))];
            if self.chance(50) {
                self.configs.push(s("inline"));
                e.push((
                    s("inline"),
                    map(vec![(s("content"), quoted("port=${APP_PORT}\nx=$$y\n"))]),
                ));
            }
            out.push((s("configs"), map(e)));
        }
        out
    }

    /// The override file: changes some services and adds one.
    fn override_file(&mut self) -> Y {
        let mut services = Vec::new();
        for name in self.services.clone() {
            if !self.chance(50) {
                continue;
            }
            let mut e = Vec::new();
            if self.chance(40) {
                e.push((s("image"), plain("busybox:override")));
            }
            if self.chance(40) {
                let v = vec![(s("OVR"), self.text()), (s("M0"), quoted("overridden"))];
                e.push((s("environment"), map(v)));
            }
            if self.chance(30) {
                let p = vec![quoted("127.0.0.1:7000:70")];
                let p = seq(p);
                let p = match self.rng.u32(0..3) {
                    0 => Y::Tag("!override", Box::new(p)),
                    1 => p,
                    _ => Y::Tag("!reset", Box::new(seq(vec![]))),
                };
                e.push((s("ports"), p));
            }
            if self.chance(30) {
                e.push((s("command"), quoted("echo overridden")));
            }
            if self.chance(20) {
                e.push((s("labels"), Y::Tag("!reset", Box::new(plain("~")))));
            }
            if self.chance(20) {
                let v = vec![quoted("./over:/over")];
                e.push((s("volumes"), seq(v)));
            }
            if self.chance(15) {
                // Same target as a main-file volume: replaces it.
                e.push((s("volumes"), seq(vec![quoted("./other:/data0:ro")])));
                let mut seen = std::collections::HashSet::new();
                e.retain(|(k, _)| seen.insert(k.clone()));
            }
            if self.chance(20) {
                let l = if self.chance(50) {
                    seq(vec![quoted("org.example.a=from-override"), quoted("ovr=1")])
                } else {
                    map(vec![
                        (s("org.example.v"), quoted("over")),
                        (s("ovr"), plain("2")),
                    ])
                };
                e.push((s("labels"), l));
                let mut seen = std::collections::HashSet::new();
                e.retain(|(k, _)| seen.insert(k.clone()));
            }
            if self.chance(15) {
                e.push((
                    s("healthcheck"),
                    map(vec![
                        (s("interval"), quoted("5s")),
                        (s("retries"), plain("7")),
                    ]),
                ));
            }
            if self.chance(15) {
                e.push((
                    s("deploy"),
                    map(vec![(
                        s("resources"),
                        map(vec![(
                            s("limits"),
                            map(vec![(s("memory"), quoted("256m"))]),
                        )]),
                    )]),
                ));
            }
            if self.chance(10) && !self.networks.is_empty() {
                let n = self.pick_name(&self.networks.clone());
                e.push((
                    s("networks"),
                    map(vec![(
                        n,
                        map(vec![(s("aliases"), seq(vec![plain("from-override")]))]),
                    )]),
                ));
            }
            if self.chance(10) {
                let env = if self.chance(50) {
                    seq(vec![quoted("M1=list-override"), quoted("NEWL=1")])
                } else {
                    Y::Tag("!reset", Box::new(plain("~")))
                };
                e.push((s("environment"), env));
                let mut seen = std::collections::HashSet::new();
                e.retain(|(k, _)| seen.insert(k.clone()));
            }
            if self.chance(10) {
                e.push((s("profiles"), seq(vec![plain("tools")])));
            }
            if self.chance(10) {
                e.push((s("dns"), plain("9.9.9.9")));
            }
            if e.is_empty() {
                continue;
            }
            services.push((name, map(e)));
        }
        if self.chance(40) {
            services.push((
                s("added"),
                map(vec![
                    (s("image"), plain("alpine")),
                    (s("profiles"), seq(vec![plain("debug")])),
                ]),
            ));
        }
        map(vec![(s("services"), map(services))])
    }

    pub fn project(&mut self) -> Project {
        let mut mistake = None;
        self.plant = self.chance(25);
        let mut top = Vec::new();
        let anchors = self.chance(30);
        if anchors {
            top.push((
                s("x-base"),
                Y::Anchor(
                    s("base"),
                    Box::new(map(vec![
                        (s("restart"), plain("unless-stopped")),
                        (
                            s("environment"),
                            map(vec![
                                (s("TZ"), plain("UTC")),
                                (s("M0"), quoted("from anchor")),
                            ]),
                        ),
                    ])),
                ),
            ));
            top.push((
                s("x-labels"),
                Y::Anchor(s("labels"), Box::new(map(vec![(s("tier"), plain("edge"))]))),
            ));
        }
        let rest = self.top_level();
        let mut services = Vec::new();
        let n = self.rng.usize(1..5);
        for i in 0..n {
            let name = *self.pick(&["web", "db", "cache", "worker", "api"]);
            let name = format!("{name}{i}");
            let mut svc = self.service(&name, &mut mistake);
            if let Y::Map(e, _) = &mut svc {
                if anchors && self.chance(60) {
                    e.insert(0, (s("<<"), Y::Alias(s("base"))));
                }
                if anchors && self.chance(30) && !e.iter().any(|(k, _)| k == "labels") {
                    e.push((s("labels"), Y::Alias(s("labels"))));
                }
                if i > 0 && self.chance(20) {
                    let p = *self.pick(&["debug", "tools"]);
                    e.push((s("profiles"), seq(vec![plain(p)])));
                }
            }
            services.push((name.clone(), svc));
            self.services.push(name);
        }
        if self.chance(15) && !self.services.is_empty() {
            let base = self.pick_name(&self.services.clone());
            let mut ext = vec![(s("extends"), map(vec![(s("service"), plain(base))]))];
            if self.chance(50) {
                ext.push((s("environment"), map(vec![(s("EXT"), quoted("1"))])));
            }
            if self.chance(30) {
                ext.push((s("ports"), seq(vec![quoted("127.0.0.1:6000:60")])));
            }
            services.push((s("extended"), map(ext)));
        }
        if self.chance(15) {
            top.push((s("name"), plain(*self.pick(&["dt", "${NAME_UNSET:-dt}"]))));
        }
        top.push((s("services"), map(services)));
        top.extend(rest);
        if mistake.is_none() && self.plant && self.chance(2) {
            mistake = Some("broken YAML");
        }
        let mut main = document(&map(top));
        if mistake == Some("broken YAML") {
            main.push_str("  bad: [unclosed\n");
        }
        let mut files = vec![(s("compose.yaml"), main)];
        if self.chance(35) {
            let o = self.override_file();
            files.push((s("compose.override.yaml"), document(&o)));
        }
        let mut dotenv: String = DOTENV
            .iter()
            .map(|(k, v)| {
                if v.contains(' ') {
                    format!("{k}=\"{v}\"\n")
                } else {
                    format!("{k}={v}\n")
                }
            })
            .collect();
        if self.chance(40) {
            let p = *self.pick(&["debug", "tools", "debug,tools", "*"]);
            dotenv.push_str(&format!("COMPOSE_PROFILES={p}\n"));
        }
        if self.chance(30) {
            dotenv.push_str(
                "# a comment\nexport EXPORTED=yes\nSQ='single ${APP_PORT} $$'\nDQ=\"tab\\there\\nnl\"\nHASH=a #comment\nINNER=${APP_PORT}-x\n",
            );
        }
        files.push((s(".env"), dotenv));
        files.push((
            s("app.env"),
            s("# comment\nA=from file\nexport B='single $x'\nC=\"dq ${APP_PORT}\"\nEMPTY=\n"),
        ));
        files.push((s("secret.txt"), s("s3cr3t\n")));
        files.push((s("conf.txt"), s("conf\n")));
        files.push((s("app/Containerfile"), s("FROM busybox\n")));
        Project { files, mistake }
    }
}
