//! The escaping table: every key the writer can emit, how Quadlet (or systemd) reads it, and so
//! how the writer must write it. The writer looks every key up here before writing it, so a key
//! missing from this table cannot be written, and the class used is the one documented.
//!
//! How Quadlet 5.4 reads a key decides its class (pkg/systemd/parser/unitfile.go):
//! * `Lookup`: the last line, trailing blanks and every leading/trailing `"` stripped;
//! * `LookupAll`: every line verbatim (a line is trimmed of blanks at both ends);
//! * `LookupAllStrv`: each line split on blanks, quotes removed, backslash kept literally;
//! * `LookupAllArgs`/`LookupLastArgs`/`LookupAllKeyVal`: split like `ExecStart=` (quotes, C
//!   escapes), `KeyVal` then cuts each word at its first `=`.
//!
//! Quadlet then writes the podman argv into `ExecStart=` with its own quoting, which leaves `%`,
//! `$` and a lone `;` bare: systemd expands `%%`/`$$` back and reads a lone `;` as a second
//! command. That is why every value bound for podman doubles `%` and `$` and refuses a lone `;`.

/// How a key's value is read, and so written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Quadlet `Lookup`: one value, verbatim; edge quotes stripped by Quadlet.
    Single,
    /// Quadlet `LookupAll`: one value per line, verbatim.
    Raw,
    /// Quadlet `LookupAllStrv`: words, quotes removed, no escapes; one word per line.
    Strv,
    /// Quadlet `LookupAllArgs`/`LookupLastArgs`: exec-style words with quotes and C escapes.
    Args,
    /// Quadlet `LookupAllKeyVal`: exec-style words, each `key=value`; one pair per line.
    KeyVal,
    /// A boolean written as `true`.
    Flag,
    /// A number the model holds as an integer.
    Number,
    /// A systemd list of unit names (Quadlet reads `WantedBy=` as `LookupAllStrv` too).
    UnitNames,
    /// A systemd value read verbatim with `%` specifiers, never reaching podman.
    SystemdValue,
    /// A systemd exec line (`ExecStartPost=`), written here, not by Quadlet.
    SystemdExec,
}

/// A key-specific rule on top of the class, for values Quadlet would reinterpret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// `Volume=`: Quadlet drops an empty source (and the options with it).
    NoLeadingColon,
    /// `ExposeHostPort=`: Quadlet refuses anything but a port or range.
    PortRange,
    /// `AddDevice=`: a leading `-` means "skip if missing" to Quadlet.
    NoLeadingDash,
    /// A positional podman argument (image, volume/network name, build context): a leading `-`
    /// would make podman read it as an option.
    Positional,
    /// `Mount=`: Quadlet and podman read it as one CSV record, so no `"` and no line break.
    Csv,
    /// `EnvironmentFile=`: Quadlet joins a relative path (even `%%...`) to the unit's directory.
    Absolute,
    /// `SetWorkingDirectory=`: `file`, `unit`, `yaml` (any case) are Quadlet keywords, and the
    /// context is positional.
    NotKeyword,
    /// `RestartSec=`, `TimeoutStartSec=`: a systemd time span (`90`, `5s`, `1min 30s`,
    /// `infinity`); anything else systemd ignores with a warning.
    Timespan,
    /// `SuccessExitStatus=`, `RestartForceExitStatus=`: exit codes 0–255 separated by spaces.
    ExitCodes,
    /// `Notify=`, `Type=`, `Restart=`: an enumeration; any other value changes the meaning (or is
    /// ignored by systemd).
    OneOf(&'static [&'static str]),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The section: `Unit`, `Service`, `Install`, or the unit kind's (`Container`, ...).
    pub section: &'static str,
    pub key: &'static str,
    pub class: Class,
    pub check: Check,
    /// What reaches podman (or systemd), for the documentation.
    pub becomes: &'static str,
}

const fn k(
    section: &'static str,
    key: &'static str,
    class: Class,
    check: Check,
    becomes: &'static str,
) -> KeySpec {
    KeySpec {
        section,
        key,
        class,
        check,
        becomes,
    }
}

use Check::None as N;
use Class::*;

const SERVICE_TYPES: &[&str] = &[
    "simple",
    "exec",
    "forking",
    "oneshot",
    "dbus",
    "notify",
    "notify-reload",
    "idle",
];
const RESTARTS: &[&str] = &[
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// Every key the writer emits.
#[rustfmt::skip]
pub const KEYS: &[KeySpec] = &[
    k("Unit", "Description", SystemdValue, N, "systemd Description="),
    k("Unit", "Requires", UnitNames, N, "systemd Requires="),
    k("Unit", "Wants", UnitNames, N, "systemd Wants="),
    k("Unit", "BindsTo", UnitNames, N, "systemd BindsTo="),
    k("Unit", "PartOf", UnitNames, N, "systemd PartOf="),
    k("Unit", "After", UnitNames, N, "systemd After="),
    k("Unit", "StartLimitBurst", Number, N, "systemd StartLimitBurst="),
    k("Service", "Type", SystemdValue, Check::OneOf(SERVICE_TYPES), "systemd Type="),
    k("Service", "RemainAfterExit", Flag, N, "systemd RemainAfterExit="),
    k("Service", "Restart", SystemdValue, Check::OneOf(RESTARTS), "systemd Restart="),
    k("Service", "RestartSec", SystemdValue, Check::Timespan, "systemd RestartSec="),
    k("Service", "TimeoutStartSec", SystemdValue, Check::Timespan, "systemd TimeoutStartSec="),
    k("Service", "TimeoutStopSec", SystemdValue, Check::Timespan, "systemd TimeoutStopSec="),
    k("Service", "SuccessExitStatus", SystemdValue, Check::ExitCodes, "systemd SuccessExitStatus="),
    k("Service", "RestartForceExitStatus", SystemdValue, Check::ExitCodes, "systemd RestartForceExitStatus="),
    k("Service", "ExecStartPost", SystemdExec, N, "systemd ExecStartPost= argv"),
    k("Install", "WantedBy", UnitNames, N, "systemd WantedBy= (Quadlet links)"),
    k("Container", "Image", Single, Check::Positional, "image argument"),
    k("Container", "ContainerName", Single, N, "--name V"),
    k("Container", "Pull", Single, N, "--pull V"),
    k("Container", "AutoUpdate", Single, N, "--label io.containers.autoupdate=V"),
    k("Container", "Entrypoint", Single, N, "--entrypoint V"),
    k("Container", "Exec", Args, N, "arguments after the image"),
    k("Container", "Environment", KeyVal, N, "--env K=V"),
    k("Container", "EnvironmentFile", Args, Check::Absolute, "--env-file V"),
    k("Container", "Label", KeyVal, N, "--label K=V"),
    k("Container", "Annotation", KeyVal, N, "--annotation K=V"),
    k("Container", "PublishPort", Raw, N, "--publish V"),
    k("Container", "ExposeHostPort", Raw, Check::PortRange, "--expose V"),
    k("Container", "Network", Raw, N, "--network V"),
    k("Container", "NetworkAlias", Raw, N, "--network-alias V"),
    k("Container", "IP", Single, N, "--ip V"),
    k("Container", "IP6", Single, N, "--ip6 V"),
    k("Container", "HostName", Single, N, "--hostname V"),
    k("Container", "DNS", Raw, N, "--dns V"),
    k("Container", "DNSSearch", Raw, N, "--dns-search V"),
    k("Container", "DNSOption", Raw, N, "--dns-option V"),
    k("Container", "AddHost", Raw, N, "--add-host V"),
    k("Container", "Volume", Raw, Check::NoLeadingColon, "-v V"),
    k("Container", "Mount", Args, Check::Csv, "--mount V (CSV re-encoded)"),
    k("Container", "Tmpfs", Raw, N, "--tmpfs V"),
    k("Container", "Secret", Args, N, "--secret V"),
    k("Container", "User", Single, N, "--user V"),
    k("Container", "Group", Single, N, "--user USER:V"),
    k("Container", "GroupAdd", Raw, N, "--group-add V"),
    k("Container", "WorkingDir", Single, N, "--workdir V"),
    k("Container", "RunInit", Flag, N, "--init"),
    k("Container", "ReadOnly", Flag, N, "--read-only"),
    k("Container", "NoNewPrivileges", Flag, N, "--security-opt=no-new-privileges"),
    k("Container", "SecurityLabelDisable", Flag, N, "--security-opt label=disable"),
    k("Container", "SecurityLabelType", Single, N, "--security-opt label=type:V"),
    k("Container", "SecurityLabelLevel", Single, N, "--security-opt label=level:V"),
    k("Container", "SecurityLabelFileType", Single, N, "--security-opt label=filetype:V"),
    k("Container", "SecurityLabelNested", Flag, N, "--security-opt label=nested"),
    k("Container", "Mask", Args, N, "--security-opt mask=V"),
    k("Container", "Unmask", Args, N, "--security-opt unmask=V"),
    k("Container", "UserNS", Single, N, "--userns V"),
    k("Container", "SeccompProfile", Single, N, "--security-opt seccomp=V"),
    k("Container", "AddCapability", Strv, N, "--cap-add v (lowercased)"),
    k("Container", "DropCapability", Strv, N, "--cap-drop v (lowercased)"),
    k("Container", "AddDevice", Strv, Check::NoLeadingDash, "--device V"),
    k("Container", "Sysctl", Strv, N, "--sysctl K=V"),
    k("Container", "Ulimit", Raw, N, "--ulimit V"),
    k("Container", "ShmSize", Single, N, "--shm-size V"),
    k("Container", "PidsLimit", Single, N, "--pids-limit V"),
    k("Container", "LogDriver", Single, N, "--log-driver V"),
    k("Container", "LogOpt", Strv, N, "--log-opt V"),
    k("Container", "StopSignal", Single, N, "--stop-signal V"),
    k("Container", "StopTimeout", Number, N, "--stop-timeout N"),
    k("Container", "HealthCmd", Single, N, "--health-cmd V"),
    k("Container", "HealthInterval", Single, N, "--health-interval V"),
    k("Container", "HealthTimeout", Single, N, "--health-timeout V"),
    k("Container", "HealthRetries", Number, N, "--health-retries N"),
    k("Container", "HealthStartPeriod", Single, N, "--health-start-period V"),
    k("Container", "HealthStartupInterval", Single, N, "--health-startup-interval V"),
    k("Container", "Notify", Single, Check::OneOf(&["healthy", "true"]), "--sdnotify=healthy|container"),
    k("Container", "GlobalArgs", Args, N, "arguments before `run`"),
    k("Container", "PodmanArgs", Args, N, "arguments before the image"),
    k("Volume", "VolumeName", Single, Check::Positional, "volume name argument"),
    k("Volume", "Driver", Single, N, "--driver V"),
    k("Volume", "Device", Single, N, "--opt device=V"),
    k("Volume", "Type", Single, N, "--opt type=V"),
    k("Volume", "Options", Single, N, "--opt o=V"),
    k("Volume", "Label", KeyVal, N, "--label K=V"),
    k("Volume", "PodmanArgs", Args, N, "arguments before the name"),
    k("Network", "NetworkName", Single, Check::Positional, "network name argument"),
    k("Network", "Driver", Single, N, "--driver V"),
    k("Network", "Internal", Flag, N, "--internal"),
    k("Network", "IPv6", Flag, N, "--ipv6"),
    k("Network", "Subnet", Raw, N, "--subnet V"),
    k("Network", "Gateway", Raw, N, "--gateway V"),
    k("Network", "IPRange", Raw, N, "--ip-range V"),
    k("Network", "IPAMDriver", Single, N, "--ipam-driver V"),
    k("Network", "Options", KeyVal, N, "--opt K=V"),
    k("Network", "Label", KeyVal, N, "--label K=V"),
    k("Network", "PodmanArgs", Args, N, "arguments before the name"),
    k("Build", "ImageTag", Raw, N, "--tag V"),
    k("Build", "SetWorkingDirectory", Single, Check::NotKeyword, "context argument (last)"),
    k("Build", "File", Single, N, "--file V"),
    k("Build", "Target", Single, N, "--target V"),
    k("Build", "Pull", Single, N, "--pull=V"),
    k("Build", "Network", Raw, N, "--network V"),
    k("Build", "Label", KeyVal, N, "--label K=V"),
    k("Build", "PodmanArgs", Args, N, "arguments before the context"),
    k("Image", "Image", Single, Check::Positional, "image argument of `podman image pull`"),
    k("Pod", "PodName", Single, N, "--name V, --infra-name V-infra"),
    k("Pod", "Network", Raw, N, "--network V"),
    k("Pod", "PublishPort", Raw, N, "--publish V"),
];

/// The row for `section`/`key`.
pub fn spec(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.section == section && s.key == key)
}

impl Class {
    /// How Quadlet (or systemd) reads the class.
    pub fn parsed_as(self) -> &'static str {
        match self {
            Single => {
                "Quadlet `Lookup`: last line verbatim; trailing blanks and edge `\"` stripped"
            }
            Raw => "Quadlet `LookupAll`: each line verbatim",
            Strv => "Quadlet `LookupAllStrv`: split on blanks, quotes removed, `\\` literal",
            Args => "Quadlet `LookupAllArgs`: exec-style split, quotes and C escapes",
            KeyVal => "Quadlet `LookupAllKeyVal`: exec-style split, each word cut at its first `=`",
            Flag => "boolean",
            Number => "integer",
            UnitNames => "systemd unit list (split on blanks), specifiers",
            SystemdValue => "systemd, verbatim, specifiers",
            SystemdExec => "systemd exec line: split, quotes, C escapes, specifiers, `$`",
        }
    }

    /// How the writer writes the class.
    pub fn written_as(self) -> &'static str {
        match self {
            Single | Raw => "verbatim, `%`→`%%`, `$`→`$$`",
            Strv => "one word per line; bare if plain, else in `\"…\"` with each `\"` as `'\"'`; `%`→`%%`, `$`→`$$`",
            Args | KeyVal => "one word per line (Exec/PodmanArgs/GlobalArgs: one line); bare if plain, else `\"…\"` with C escapes; `%`→`%%`, `$`→`$$`",
            Flag => "`true`",
            Number => "decimal",
            UnitNames | SystemdValue => "verbatim, `%`→`%%`",
            SystemdExec => "words, bare if plain, else `\"…\"` with C escapes; `%`→`%%`, `$`→`$$`",
        }
    }

    /// What the writer refuses for the class, naming the key.
    pub fn refuses(self) -> &'static str {
        match self {
            Single => "empty; NUL; line breaks and control characters but tab; edge blanks; trailing `\\`; leading or trailing `\"`; a lone `;`",
            Raw => "empty; NUL; line breaks and control characters but tab; edge blanks; trailing `\\`; a lone `;`",
            Strv => "empty; NUL; line breaks and control characters but tab; a lone `;`",
            Args | KeyVal => "empty word; NUL; U+0080; a lone `;` word",
            Flag | Number => "nothing (typed)",
            UnitNames => "anything but `NAME.SUFFIX` with a unit suffix and `A-Z a-z 0-9 : _ . @ -` in NAME; empty",
            SystemdValue => "empty; NUL; line breaks and control characters but tab; edge blanks; trailing `\\`",
            SystemdExec => "empty word; NUL; a first word starting with `-@+!:`",
        }
    }
}

impl Check {
    fn describe(self) -> String {
        match self {
            Check::None => String::new(),
            Check::NoLeadingColon => "; a leading `:` (Quadlet drops an empty source)".into(),
            Check::PortRange => "; anything but `N`, `N-M`, optionally `/tcp` or `/udp`".into(),
            Check::NoLeadingDash => "; a leading `-` (Quadlet's optional-device marker)".into(),
            Check::Absolute => "; a relative path (Quadlet resolves it against the unit file)".into(),
            Check::Positional => "; a leading `-` (podman would read an option)".into(),
            Check::Csv => "; `\"`, line breaks (one CSV record)".into(),
            Check::NotKeyword => "; `file`, `unit`, `yaml` in any case (Quadlet keywords); a leading `-` (podman would read an option)".into(),
            Check::Timespan => "; anything but a time span (`90`, `5s`, `1min 30s`, `infinity`)".into(),
            Check::ExitCodes => "; anything but exit codes 0–255 separated by single spaces".into(),
            Check::OneOf(v) => format!("; anything but {}", v.join(", ")),
        }
    }
}

/// The table as Markdown, as docs/escaping.md carries it.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Section | Key | Quadlet/systemd reads it as | Reaches podman as | We write | We refuse |\n|---|---|---|---|---|---|\n",
    );
    for s in KEYS {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {}{} |\n",
            s.section,
            s.key,
            s.class.parsed_as(),
            s.becomes.replace('|', "\\|"),
            s.class.written_as(),
            s.class.refuses(),
            s.check.describe(),
        ));
    }
    out
}
