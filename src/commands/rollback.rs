//! `release-tool rollback [GEN]`: makes GEN (default: the newest generation before the current one
//! that was deployed or restored) current again, restarting what differs, with the same health
//! checks and automatic return as a deploy.

use crate::cli::command::{Checkout, RollbackOpts};
use crate::commands::context::Context;
use crate::commands::runtime::{apply_exit, deploy_options, open_locked, RealEffects};
use crate::deploy::manifest::Outcome;
use crate::deploy::transaction::{apply, recover};

pub fn run(args: &RollbackOpts) -> u8 {
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    let real = match RealEffects::require(true) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let fx = real.effects();
    let (store, _lock) = match open_locked(&ctx, args.wait, &real.report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let o = deploy_options(&args.limits);
    if let Err(e) = recover(&store, &fx, o.timeout) {
        fx.report.error(&[], &e.to_string());
        return super::exit::FAILURE;
    }
    let current = store.current();
    let target = match args.generation {
        Some(id) => id,
        None => {
            let ids = store.list().unwrap_or_default();
            let prev = ids.iter().rev().copied().find(|id| {
                Some(*id) != current
                    && current.is_none_or(|c| *id < c)
                    && store
                        .read_manifest(*id)
                        .is_ok_and(|m| matches!(m.outcome, Outcome::Deployed | Outcome::Restored))
            });
            match prev {
                Some(p) => p,
                None => {
                    fx.report.error(
                        &[],
                        "rollback: no earlier deployed generation to go back to",
                    );
                    return super::exit::FAILURE;
                }
            }
        }
    };
    if Some(target) == current {
        fx.report
            .info(&[], &format!("generation {target} is already current"));
        return super::exit::OK;
    }
    if let Err(e) = store.read_manifest(target) {
        fx.report.error(&[], &format!("rollback: {e}"));
        return super::exit::FAILURE;
    }
    fx.report
        .status(&format!("rolling back to generation {target}"));
    match apply(&store, &fx, current, target, Outcome::Restored, o.timeout) {
        Ok(r) => apply_exit(&r),
        Err(e) => {
            fx.report.error(&[], &e.to_string());
            super::exit::FAILURE
        }
    }
}
