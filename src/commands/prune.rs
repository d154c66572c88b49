//! `release-tool prune [--wait]`: drops the generations beyond the keep count (never the current
//! one), then removes the images that only dropped generations used (docs/deploy.md, "Images and
//! pruning"). A deploy that succeeds does the same by itself.

use crate::cli::command::{Checkout, Limits, PruneOpts};
use crate::commands::context::Context;
use crate::commands::runtime::{deploy_options, open_locked, RealEffects};
use crate::deploy::images::{prune_images, PruneReport};
use crate::deploy::journal::Report;

/// Reports what an image prune did; false when it could not run.
pub fn report(r: &dyn Report, outcome: Result<PruneReport, String>) -> bool {
    match outcome {
        Ok(p) => {
            for image in &p.removed {
                r.info(
                    &[
                        ("IMAGE", image),
                        ("MESSAGE_ID", crate::logging::ids::IMAGE_REMOVED),
                    ],
                    &format!("removed image {image}"),
                );
            }
            for (image, why) in &p.refused {
                r.info(
                    &[("IMAGE", image)],
                    &format!("kept image {image}: podman refused to remove it ({why})"),
                );
            }
            true
        }
        Err(e) => {
            r.warn(&[], &format!("pruning images: {e}"));
            false
        }
    }
}

pub fn run(args: &PruneOpts) -> u8 {
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    let real = match RealEffects::require(false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (store, _lock) = match open_locked(&ctx, args.wait, &real.report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let keep = deploy_options(&Limits::default()).keep;
    let protect: Vec<u64> = store.current().into_iter().collect();
    // Remember what the generations about to go name, so their images can be found.
    if let Err(e) = crate::deploy::images::record(&store) {
        real.report.error(&[], &format!("prune: {e}"));
        return super::exit::FAILURE;
    }
    match store.prune(keep, &protect) {
        Ok(dropped) => {
            for g in dropped {
                real.report.info(&[], &format!("dropped generation {g}"));
            }
        }
        Err(e) => {
            real.report.error(&[], &format!("prune: {e}"));
            return super::exit::FAILURE;
        }
    }
    if report(&real.report, prune_images(&store, &real.podman)) {
        super::exit::OK
    } else {
        super::exit::FAILURE
    }
}
