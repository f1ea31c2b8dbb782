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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cut::extend::Upgrade;
    use crate::release::SliceKey;

    fn key(name: &str) -> SliceKey {
        SliceKey::parse(name).unwrap()
    }

    #[test]
    fn the_summary_names_each_upgrade_old_to_new() {
        let extension = Extension {
            manifest: "/var/lib/chisel/manifest.wall".to_owned(),
            kept: 11,
            added: vec![],
            upgraded: vec![Upgrade {
                package: "libc6".to_owned(),
                from: "2.39-0ubuntu8.3".to_owned(),
                to: "2.39-0ubuntu8.4".to_owned(),
                slices: vec![key("libc6_config"), key("libc6_libs")],
            }],
            behind: vec![],
            removed: vec!["/usr/lib/old.so".to_owned()],
        };
        let delta = Delta {
            dir: PathBuf::from("/delta"),
            paths: 3,
        };
        assert_eq!(
            summary_lines(Some(&extension), Some(&delta), true),
            [
                "Extended the root's manifest /var/lib/chisel/manifest.wall: 11 slices kept, none added",
                "Upgraded libc6 2.39-0ubuntu8.3 -> 2.39-0ubuntu8.4 (libc6_config, libc6_libs)",
                "Removed 1 paths the upgraded packages no longer have (a delta cannot remove them: the old root keeps them under the layer)",
                "Delta: 3 paths in /delta",
            ]
        );
        let nothing = Extension {
            upgraded: vec![],
            removed: vec![],
            behind: vec![(
                "tzdata".to_owned(),
                "2024a-2".to_owned(),
                "2025b-0ubuntu0.24.04".to_owned(),
            )],
            added: vec![key("openssl_bins")],
            ..extension
        };
        assert_eq!(
            summary_lines(Some(&nothing), None, false),
            [
                "Extended the root's manifest /var/lib/chisel/manifest.wall: 11 slices kept, 1 added: openssl_bins",
                "Left at the root's versions (tzdata 2024a-2 -> 2025b-0ubuntu0.24.04); --upgrade moves them",
            ]
        );
        assert_eq!(
            summary_lines(Some(&Extension { behind: vec![], added: vec![], ..nothing }), None, true),
            [
                "Extended the root's manifest /var/lib/chisel/manifest.wall: 11 slices kept, none added",
                "Nothing to upgrade: every package is at the archive's version",
            ]
        );
        assert_eq!(summary_lines(None, None, false), Vec::<String>::new());
    }
}
