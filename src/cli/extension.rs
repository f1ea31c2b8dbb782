//! `cut --upgrade`, `--delta` and `--force-manifest`: the flags checked, and what the summary
//! says about a root that was extended.

use super::args::CutArgs;
use super::UsageError;
use crate::cut::extend::{Delta, ExtendOptions, Extension};

/// The extension flags, checked: the delta directory must be new or empty, so nothing of the
/// user's is replaced by it.
pub(super) fn options(args: &CutArgs) -> Result<ExtendOptions, UsageError> {
    if let Some(dir) = &args.extend.delta {
        if let Ok(metadata) = fs_err::symlink_metadata(dir) {
            let empty = metadata.is_dir()
                && fs_err::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
            if !empty {
                return Err(UsageError(format!(
                    "invalid --delta {}: it exists and is not an empty directory",
                    dir.display()
                )));
            }
        }
        if args.root.as_ref().is_some_and(|root| dir.starts_with(root)) {
            return Err(UsageError(format!(
                "invalid --delta {}: it is inside the root",
                dir.display()
            )));
        }
    }
    Ok(ExtendOptions {
        force_manifest: args.extend.force_manifest,
        upgrade: args.extend.upgrade,
        delta: args.extend.delta.clone(),
    })
}

/// The summary's lines about the root's manifest, the upgrades and the delta.
pub(super) fn summary_lines(
    extension: Option<&Extension>,
    delta: Option<&Delta>,
    upgrade: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(extension) = extension {
        let added = if extension.added.is_empty() {
            "none added".to_owned()
        } else {
            let names: Vec<String> = extension.added.iter().map(ToString::to_string).collect();
            format!("{} added: {}", names.len(), names.join(", "))
        };
        lines.push(format!(
            "Extended the root's manifest {}: {} slices kept, {added}",
            extension.manifest, extension.kept
        ));
        for upgraded in &extension.upgraded {
            let slices: Vec<String> = upgraded.slices.iter().map(ToString::to_string).collect();
            lines.push(format!(
                "Upgraded {} {} -> {} ({})",
                upgraded.package,
                upgraded.from,
                upgraded.to,
                slices.join(", ")
            ));
        }
        if upgrade && extension.upgraded.is_empty() {
            lines.push("Nothing to upgrade: every package is at the archive's version".to_owned());
        }
        if !extension.behind.is_empty() {
            let behind: Vec<String> = extension
                .behind
                .iter()
                .map(|(package, from, to)| format!("{package} {from} -> {to}"))
                .collect();
            lines.push(format!(
                "Left at the root's versions ({}); --upgrade moves them",
                behind.join(", ")
            ));
        }
        if !extension.removed.is_empty() {
            lines.push(format!(
                "Removed {} paths the upgraded packages no longer have{}",
                extension.removed.len(),
                if delta.is_some() {
                    " (a delta cannot remove them: the old root keeps them under the layer)"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(delta) = delta {
        lines.push(format!(
            "Delta: {} paths in {}",
            delta.paths,
            delta.dir.display()
        ));
    }
    lines
}
