//! `release-tool deploy [--wait] [--timeout SECS] [--jobs N] [--retries N]`: the transaction
//! (docs/deploy.md). What the `.path` unit runs.

use crate::cli::command::DeployOpts;
use crate::commands::context::Context;
use crate::commands::runtime::{deploy_exit, deploy_options, open_locked, RealEffects};
use crate::deploy::images::prune_images;
use crate::deploy::prepare::{deploy, DeployResult, DeploySource};
use crate::deploy::render::{podman_version, RepoRenderer};
use crate::deploy::store::git_revision;
use crate::logging::ids;

pub fn source(ctx: &Context) -> DeploySource {
    DeploySource {
        repo: ctx.repo.clone(),
        services_dir: ctx.services_dir.clone(),
        vars_file: ctx.vars_file.clone(),
        vars_json: ctx.vars_json.clone(),
    }
}

pub fn run(args: &DeployOpts) -> u8 {
    let ctx = Context::new(&args.checkout, args.state_dir.as_deref());
    if let Err(code) = ctx.require_repo("deploy") {
        return code;
    }
    let real = match RealEffects::require(true) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let fx = real.effects();
    let version = match podman_version(args.podman_version.as_deref(), &real.podman) {
        Ok(v) => v,
        Err(e) => {
            fx.report.error(&[], &e);
            return super::exit::USAGE;
        }
    };
    let (store, _lock) = match open_locked(&ctx, args.wait, &real.report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let renderer = RepoRenderer {
        podman_version: version,
        strict: args.strict,
        home: ctx.home.clone(),
    };
    let o = deploy_options(&args.limits);
    ensure_trigger_file(&ctx.repo);
    // A commit that lands while a deploy runs does not re-trigger the .path unit (systemd does not
    // watch while the service it started is active): deploy again while the checkout moved.
    for round in 1..=MAX_ROUNDS {
        let rev = git_revision(&ctx.repo);
        if let Some(r) = &rev {
            fx.report.set_context("GIT_REV", r);
        }
        fx.report.status_with(
            &[("MESSAGE_ID", ids::DEPLOY_STARTED)],
            &format!(
                "deploying {}{}",
                ctx.repo.display(),
                rev.as_deref()
                    .map(|r| format!(" at {r}"))
                    .unwrap_or_default()
            ),
        );
        let r = match deploy(&store, &fx, &renderer, &source(&ctx), &o) {
            Ok(r) => r,
            Err(e) => {
                fx.report.error(
                    &[("MESSAGE_ID", ids::DEPLOY_FAILED)],
                    &format!("deploy failed: {e}"),
                );
                return super::exit::FAILURE;
            }
        };
        let summary = match &r {
            DeployResult::NoChange(g) => format!(
                "nothing changed (generation {})",
                g.map_or("none".into(), |g| g.to_string())
            ),
            DeployResult::Deployed(g) => format!("deployed generation {g}"),
            DeployResult::InvalidInput(e) => {
                format!(
                    "deploy refused: {} stack(s) failed to render; nothing changed",
                    e.len()
                )
            }
            DeployResult::PullFailed(f) => {
                format!(
                    "deploy refused: {} image(s) failed to pull; nothing changed",
                    f.len()
                )
            }
            DeployResult::RolledBack(g, e) => {
                format!("generation {g} failed and was rolled back: {e}")
            }
            DeployResult::RollbackFailed(g, e) => {
                format!("generation {g} failed and the rollback failed too: {e}")
            }
        };
        if let DeployResult::Deployed(_) = r {
            // The automatic policy: once a deploy succeeded (and dropped the generations beyond
            // the keep count), the images only dropped generations used go.
            super::prune::report(&real.report, prune_images(&store, &real.podman));
        }
        let code = deploy_exit(&r);
        let id = match &r {
            DeployResult::NoChange(_) => ids::NOTHING_CHANGED,
            DeployResult::Deployed(_) => ids::DEPLOY_SUCCEEDED,
            _ => ids::DEPLOY_FAILED,
        };
        // The generation the outcome is about (after a rollback, the context names the one
        // rolled back to).
        let about = match &r {
            DeployResult::NoChange(g) => g.map(|g| g.to_string()),
            DeployResult::Deployed(g)
            | DeployResult::RolledBack(g, _)
            | DeployResult::RollbackFailed(g, _) => Some(g.to_string()),
            DeployResult::InvalidInput(_) | DeployResult::PullFailed(_) => None,
        };
        let mut fields = vec![("MESSAGE_ID", id)];
        if let Some(g) = &about {
            fields.push(("GENERATION", g));
        }
        if code == super::exit::OK {
            fx.report.status_with(&fields, &summary);
        } else {
            fx.report.error(&fields, &summary);
            // STATUS= says how the deploy ended, not the last step it took.
            fx.report.notify_status(&summary);
        }
        if code != super::exit::OK || git_revision(&ctx.repo) == rev {
            return code;
        }
        if round == MAX_ROUNDS {
            fx.report.warn(
                &[],
                &format!(
                    "the checkout moved during each of {MAX_ROUNDS} deploys in a row; its newest \
                     commit is deployed at the next change (or `systemctl --user start \
                     release-tool-deploy`)"
                ),
            );
            break;
        }
        fx.report
            .info(&[], "the checkout moved during the deploy; deploying again");
    }
    super::exit::OK
}

/// Deploys in a row while the checkout keeps moving under them.
const MAX_ROUNDS: u32 = 10;

/// The trigger file `release-tool-deploy.path` watches (`.git/release-tool-trigger`), created empty
/// when missing. systemd watches a missing file through its directory, and every file git creates
/// in `.git/` (index.lock, HEAD.lock…) then wakes the path unit, which re-arms all its watches and
/// can drop the event of the ref update that came with them: a commit that deploys nothing. An
/// existing file is watched by itself. Best effort: a checkout this user cannot write is left as
/// it is (the path unit still sees commits, only less reliably).
fn ensure_trigger_file(repo: &std::path::Path) {
    let dot_git = repo.join(".git");
    if !dot_git.is_dir() {
        return;
    }
    let trigger = dot_git.join("release-tool-trigger");
    // create_new: an existing file (or link) is left as it is
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&trigger)
    {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            log::debug!("cannot create {}: {e}", trigger.display());
        }
        _ => {}
    }
}
