//! Which images generations use, and pruning the images only dropped generations used
//! (docs/deploy.md, "Images and pruning").
//!
//! A generation names its images in its units (`Image=repo@sha256:…`, a `.build` unit's
//! `ImageTag=`) and its manifest (the reference the compose file wrote). Every reference a
//! generation ever named is remembered in `<state>/images.json` before the generation can be
//! dropped, so pruning later still knows what release-tool brought onto the host. Pruning removes
//! an image only when no remaining generation names it (by any name that resolves to the same
//! image id), and only through `podman image rm <id>` without force: Podman refuses an image some
//! container uses (ours or anybody's) and an image known under more than one name, and both are
//! kept.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::exact::{pinned_ref, unit_images};
use super::fsutil::write_atomic;
use super::podman::PodmanCli;
use super::store::StateStore;
use super::tool::ToolError;

/// The local image store, for pruning.
pub trait ImageStore {
    /// The id of the local image `reference` names; None when there is none.
    fn image_id(&self, reference: &str) -> Result<Option<String>, ToolError>;
    /// Removes the image `id`, without force: Err when Podman refuses (in use, several names).
    fn remove(&self, id: &str) -> Result<(), ToolError>;
}

const TIMEOUT: Duration = Duration::from_secs(60);

impl ImageStore for PodmanCli {
    fn image_id(&self, reference: &str) -> Result<Option<String>, ToolError> {
        match self.run(
            &["image", "inspect", "--format", "{{.Id}}", reference],
            TIMEOUT,
        ) {
            Ok(out) => return Ok(Some(out.trim().to_string()).filter(|s| !s.is_empty())),
            Err(e) if e.podman_no_such_object() => {}
            Err(e) => return Err(e),
        }
        // Podman 5 drops the repo digests of an image whose tag moved to another image: the
        // image stays (untagged) but `name@sha256:D` no longer finds it. Its manifest digest
        // still says which one it is.
        let Some((_, digest)) = reference.rsplit_once('@') else {
            return Ok(None);
        };
        let out = self.run(
            &[
                "images",
                "--all",
                "--no-trunc",
                "--format",
                "{{.ID}} {{.Digest}}",
            ],
            TIMEOUT,
        )?;
        Ok(id_by_digest(&out, digest))
    }

    fn remove(&self, id: &str) -> Result<(), ToolError> {
        match self.run(&["image", "rm", id], TIMEOUT) {
            Err(e) if !e.podman_no_such_object() => Err(e),
            _ => Ok(()),
        }
    }
}

/// The id of the image whose manifest digest is `digest`, in `podman images --format
/// '{{.ID}} {{.Digest}}'` output (ids with or without their `sha256:`).
fn id_by_digest(listing: &str, digest: &str) -> Option<String> {
    listing.lines().find_map(|l| {
        let (id, d) = l.trim().split_once(' ')?;
        (d.trim() == digest).then(|| id.trim_start_matches("sha256:").to_string())
    })
}

fn ledger_path(store: &StateStore) -> PathBuf {
    store.root().join("images.json")
}

/// The references remembered; an unreadable ledger counts as empty (pruning then does less,
/// never more).
fn read_ledger(store: &StateStore) -> BTreeSet<String> {
    fs::read(ledger_path(store))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_ledger(store: &StateStore, refs: &BTreeSet<String>) -> Result<(), String> {
    let path = ledger_path(store);
    let text = serde_json::to_vec_pretty(refs).map_err(|e| e.to_string())?;
    write_atomic(&path, &text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every image reference generation `id` names: its units' images and its manifest's.
pub fn generation_images(store: &StateStore, id: u64) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let units = store.generation_dir(id).join("units");
    for stack in fs::read_dir(&units).into_iter().flatten().flatten() {
        for unit in fs::read_dir(stack.path()).into_iter().flatten().flatten() {
            if let Ok(text) = fs::read_to_string(unit.path()) {
                out.extend(unit_images(&text));
            }
        }
    }
    if let Ok(m) = store.read_manifest(id) {
        for s in m.stacks.values() {
            for (image, digest) in &s.images {
                out.insert(image.clone());
                out.extend(pinned_ref(image, digest));
            }
        }
    }
    out
}

fn all_generation_images(store: &StateStore) -> Result<BTreeSet<String>, String> {
    let ids = store.list().map_err(|e| e.to_string())?;
    Ok(ids
        .into_iter()
        .flat_map(|id| generation_images(store, id))
        .collect())
}

/// Remembers every image the generations now in the store name (before any can be dropped).
pub fn record(store: &StateStore) -> Result<(), String> {
    let mut refs = read_ledger(store);
    let before = refs.len();
    refs.extend(all_generation_images(store)?);
    if refs.len() == before && ledger_path(store).exists() {
        return Ok(());
    }
    write_ledger(store, &refs)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// References whose image was removed.
    pub removed: Vec<String>,
    /// (reference, why) of images Podman refused to remove; tried again next time.
    pub refused: Vec<(String, String)>,
}

/// Removes the images remembered that no generation in the store names any more.
pub fn prune_images(store: &StateStore, images: &dyn ImageStore) -> Result<PruneReport, String> {
    record(store)?;
    let kept_refs = all_generation_images(store)?;
    let mut kept_ids = BTreeSet::new();
    for r in &kept_refs {
        if let Some(id) = images.image_id(r)? {
            kept_ids.insert(id);
        }
    }
    let mut report = PruneReport::default();
    let mut remember = kept_refs.clone();
    for r in read_ledger(store) {
        if kept_refs.contains(&r) {
            continue;
        }
        match images.image_id(&r)? {
            // Gone already, or the same image as one a kept generation runs: nothing to do.
            None => {}
            Some(id) if kept_ids.contains(&id) => {}
            Some(id) => match images.remove(&id) {
                Ok(()) => report.removed.push(r),
                Err(e) => {
                    report.refused.push((r.clone(), e.to_string()));
                    remember.insert(r);
                }
            },
        }
    }
    write_ledger(store, &remember)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// Local images: reference → id; ids in use by a container.
    #[derive(Default)]
    struct FakeImages {
        names: RefCell<BTreeMap<String, String>>,
        in_use: BTreeSet<String>,
    }

    impl ImageStore for FakeImages {
        fn image_id(&self, reference: &str) -> Result<Option<String>, ToolError> {
            Ok(self.names.borrow().get(reference).cloned())
        }
        fn remove(&self, id: &str) -> Result<(), ToolError> {
            if self.in_use.contains(id) {
                return Err(ToolError::failed(
                    "podman",
                    &["image", "rm", id],
                    Some(2),
                    "Error: image used by c1: image is in use by a container",
                ));
            }
            self.names.borrow_mut().retain(|_, v| v != id);
            Ok(())
        }
    }

    fn generation(store: &StateStore, id: u64, images: &[&str]) {
        let dir = store.generation_dir(id).join("units/s");
        fs::create_dir_all(&dir).unwrap();
        let text: String = images
            .iter()
            .map(|i| format!("[Container]\nImage={i}\n"))
            .collect();
        fs::write(dir.join("s-a.container"), text).unwrap();
    }

    #[test]
    fn an_untagged_image_is_found_by_its_manifest_digest() {
        let listing = "sha256:4ac8 sha256:3113\nsha256:d5d0 sha256:eacb\n";
        assert_eq!(id_by_digest(listing, "sha256:eacb"), Some("d5d0".into()));
        assert_eq!(id_by_digest(listing, "sha256:ffff"), None);
        assert_eq!(id_by_digest("", "sha256:eacb"), None);
    }

    #[test]
    fn only_images_of_dropped_generations_go_and_in_use_ones_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let fake = FakeImages {
            names: RefCell::new(
                [
                    ("r/a@sha256:old", "id-old"),
                    ("r/a@sha256:new", "id-new"),
                    ("r/a:1", "id-new"),
                    ("r/b@sha256:b", "id-b"),
                    ("r/used@sha256:u", "id-u"),
                    ("r/other:1", "id-other"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            ),
            in_use: ["id-u".to_string()].into(),
        };
        generation(&store, 1, &["r/a@sha256:old", "r/used@sha256:u", "r/a:1"]);
        generation(&store, 2, &["r/a@sha256:new", "r/b@sha256:b"]);
        record(&store).unwrap();
        // Nothing dropped yet: nothing goes.
        assert_eq!(prune_images(&store, &fake).unwrap(), PruneReport::default());
        fs::remove_dir_all(store.generation_dir(1)).unwrap();
        let r = prune_images(&store, &fake).unwrap();
        assert_eq!(r.removed, vec!["r/a@sha256:old"]);
        assert_eq!(r.refused.len(), 1);
        assert_eq!(r.refused[0].0, "r/used@sha256:u");
        let names = fake.names.borrow();
        // The moved tag's new image stays (generation 2 runs it), so does an image nobody
        // recorded, and the one a container uses.
        for kept in [
            "r/a@sha256:new",
            "r/a:1",
            "r/b@sha256:b",
            "r/other:1",
            "r/used@sha256:u",
        ] {
            assert!(names.contains_key(kept), "{kept} was removed");
        }
        assert!(!names.contains_key("r/a@sha256:old"));
        drop(names);
        // The refused one is tried again later.
        assert!(read_ledger(&store).contains("r/used@sha256:u"));
    }
}
