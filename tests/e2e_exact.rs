//! Exact generations on the lab (DESIGN 4a): a tag that moves in the registry after a deploy does
//! not change what a rollback runs, and pruning removes only the images no kept generation names
//! and no container uses. Images are built here (as root, in a private storage) with a marker file
//! unique to the run, so each has its own id and only the names this test gives it, and pushed to
//! the lab registry under `lab/e-*` names of this test.

mod common;
#[path = "e2e/mod.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::lab::{now, text, Lab};

/// The lab flavour's registry (tests/common/lab.rs).
fn reg() -> String {
    common::lab::registry()
}

/// Root's podman on a private storage in `dir` (never the lab user's, never the host's).
fn root_podman(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("podman")
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .args(["--storage-driver", "vfs"])
        .args(args)
        .output()
        .expect("podman as root");
    assert!(o.status.success(), "podman {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Builds an image holding `marker` on top of the lab's busybox and pushes it as `name`
/// (`lab/e-…:1`); returns the digest the registry serves.
fn push(dir: &Path, name: &str, marker: &str) -> String {
    let reg = reg();
    let ctx = dir.join(format!("ctx-{marker}"));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("marker"), marker).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {reg}/lab/busybox:1\nCOPY marker /e-marker\n"),
    )
    .unwrap();
    let full = format!("{reg}/{name}");
    root_podman(
        dir,
        &[
            "build",
            "--tls-verify=false",
            "-q",
            "-t",
            &full,
            &ctx.to_string_lossy(),
        ],
    );
    let digest_file = dir.join("digest");
    root_podman(
        dir,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "--digestfile",
            &digest_file.to_string_lossy(),
            &full,
        ],
    );
    std::fs::read_to_string(digest_file)
        .unwrap()
        .trim()
        .to_string()
}

/// A repo holding only the stack `extra` (one of the stacks the harness cleans up).
fn repo(lab: &Lab, name: &str, compose: &str) -> PathBuf {
    let repo = lab.repo(name);
    for s in ["web", "worker"] {
        std::fs::remove_dir_all(repo.join("services").join(s)).unwrap();
    }
    lab.write(&repo, "services/extra/compose.yaml", compose);
    lab.commit(&repo, "only extra");
    repo
}

fn service(name: &str, image: &str, env: &str) -> String {
    let reg = reg();
    format!(
        "  {name}:\n    image: {reg}/{image}\n\
         \x20   command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n\
         \x20   environment:\n      V: \"{env}\"\n"
    )
}

/// The container of `unit`, as `status` names it.
fn container_name(lab: &Lab, unit: &str) -> String {
    let o = lab.tool(&["status", "--format", "json"]);
    assert!(o.status.success(), "status: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"] == unit)
        .and_then(|r| r["container_name"].as_str())
        .expect("the unit's container in status")
        .to_string()
}

/// The id of the image the running container `name` was created from.
fn container_image(lab: &Lab, name: &str) -> String {
    lab.ok(
        "podman",
        &["container", "inspect", "--format", "{{.Image}}", name],
    )
    .trim()
    .to_string()
}

/// The id of the lab user's local image `reference`, None when it has none.
fn image_id(lab: &Lab, reference: &str) -> Option<String> {
    let o = lab.run(
        "podman",
        &["image", "inspect", "--format", "{{.Id}}", reference],
    );
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn deploy_keeping(lab: &Lab, repo: &Path, keep: &str) -> String {
    let r = repo.to_string_lossy().into_owned();
    let bin = lab.bin.to_string_lossy().into_owned();
    let o = lab
        .cmd(&bin, &["deploy", "--repo", &r, "--timeout", "60"])
        .env("RELEASE_TOOL_KEEP_GENERATIONS", keep)
        .output()
        .unwrap();
    assert!(o.status.success(), "deploy: {}", text(&o));
    text(&o)
}

fn cleanup(lab: &Lab, refs: &[String]) {
    lab.reset();
    for r in refs {
        let _ = lab.run("podman", &["image", "rm", "-f", r]);
    }
}

#[test]
fn x01_a_moved_tag_does_not_change_what_a_rollback_runs() {
    let reg = reg();
    let Some(lab) = Lab::get("x01") else { return };
    lab.reset();
    let tmp = tempfile::tempdir().unwrap();
    let nonce = now().to_string();
    let image = "lab/e-moving:1";
    let d1 = push(tmp.path(), image, &format!("m1-{nonce}"));
    let compose = format!("services:\n{}", service("app", image, "x"));
    let repo = repo(&lab, "x01", &compose);
    deploy_keeping(&lab, &repo, "5");
    let ctr = &container_name(&lab, "extra-app.service");
    let first = container_image(&lab, ctr);
    assert_eq!(
        image_id(&lab, &format!("{reg}/lab/e-moving@{d1}")),
        Some(first.clone())
    );
    // The tag moves in the registry; nothing in the repo changes.
    let d2 = push(tmp.path(), image, &format!("m2-{nonce}"));
    assert_ne!(d1, d2);
    let out = deploy_keeping(&lab, &repo, "5");
    assert!(out.contains("deployed generation 2"), "{out}");
    let second = container_image(&lab, ctr);
    assert_ne!(first, second, "the new digest runs after the deploy");
    // Back to generation 1: its units name the old digest, so the old image runs again.
    let o = lab.tool(&["rollback"]);
    assert!(o.status.success(), "rollback: {}", text(&o));
    assert_eq!(
        container_image(&lab, ctr),
        first,
        "rollback runs the image generation 1 recorded, not what the tag points at now"
    );
    // And a daemon-reload plus restart (what a reboot does) keeps it.
    lab.ok("systemctl", &["--user", "daemon-reload"]);
    lab.ok("systemctl", &["--user", "restart", "extra-app.service"]);
    assert_eq!(container_image(&lab, ctr), first);
    cleanup(
        &lab,
        &[
            format!("{reg}/lab/e-moving@{d1}"),
            format!("{reg}/lab/e-moving@{d2}"),
        ],
    );
}

#[test]
fn x02_prune_removes_only_images_no_kept_generation_or_container_uses() {
    let reg = reg();
    let Some(lab) = Lab::get("x02") else { return };
    lab.reset();
    let tmp = tempfile::tempdir().unwrap();
    let nonce = now().to_string();
    let (moving, foreign) = ("lab/e-prune:1", "lab/e-foreign:1");
    let p1 = push(tmp.path(), moving, &format!("p1-{nonce}"));
    let f = push(tmp.path(), foreign, &format!("f-{nonce}"));
    let both = format!(
        "services:\n{}{}",
        service("app", moving, "1"),
        service("other", foreign, "1")
    );
    let repo = repo(&lab, "x02", &both);
    deploy_keeping(&lab, &repo, "1");
    let p1_id = image_id(&lab, &format!("{reg}/lab/e-prune@{p1}")).expect("p1 pulled");
    let f_id = image_id(&lab, &format!("{reg}/lab/e-foreign@{f}")).expect("f pulled");
    // Somebody else's container uses the foreign image (created, not ours).
    lab.ok(
        "podman",
        &[
            "create",
            "--name",
            "extra-foreign-user",
            &format!("{reg}/{foreign}"),
            "true",
        ],
    );
    // The tag moves and `other` goes: generation 2 runs p2 only.
    let p2 = push(tmp.path(), moving, &format!("p2-{nonce}"));
    lab.write(
        &repo,
        "services/extra/compose.yaml",
        &format!("services:\n{}", service("app", moving, "1")),
    );
    lab.commit(&repo, "drop other");
    deploy_keeping(&lab, &repo, "1");
    let p2_id = image_id(&lab, &format!("{reg}/lab/e-prune@{p2}")).expect("p2 pulled");
    assert!(
        image_id(&lab, &p1_id).is_some(),
        "generation 1 is still kept (it was current)"
    );
    // Generation 3: generation 1 is dropped (keep 1, plus the one replaced).
    lab.write(
        &repo,
        "services/extra/compose.yaml",
        &format!("services:\n{}", service("app", moving, "2")),
    );
    lab.commit(&repo, "env");
    let out = deploy_keeping(&lab, &repo, "1");
    assert!(!lab.state.join("generations/1").exists(), "{out}");
    assert_eq!(
        image_id(&lab, &p1_id),
        None,
        "p1, only generation 1 ran it: {out}"
    );
    assert_eq!(image_id(&lab, &p2_id), Some(p2_id.clone()), "p2 runs now");
    assert_eq!(
        image_id(&lab, &f_id),
        Some(f_id.clone()),
        "a container that is not ours uses f: kept"
    );
    // Once that container is gone, `prune` removes f too, and still not p2.
    lab.ok("podman", &["rm", "extra-foreign-user"]);
    let bin = lab.bin.to_string_lossy().into_owned();
    let o = lab
        .cmd(&bin, &["prune"])
        .env("RELEASE_TOOL_KEEP_GENERATIONS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "prune: {}", text(&o));
    assert_eq!(image_id(&lab, &f_id), None, "prune: {}", text(&o));
    assert_eq!(image_id(&lab, &p2_id), Some(p2_id.clone()));
    assert!(lab.state.join("current").exists());
    cleanup(&lab, &[p2_id]);
}
