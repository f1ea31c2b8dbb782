//! `kerf tree`, `kerf tree --why`, `kerf report`, and the largest packages after a cut: the
//! text of what `crate::explain` finds.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::args::{ReleaseArg, ReportArgs, TreeArgs};
use super::{human_bytes, printer, process_env, settings, write_stdout, UsageError};
use crate::cut::{CutOptions, CutSummary};
use crate::explain::footprint::Footprint;
use crate::explain::tree::{chains, target, tree, Mention, Node, TargetKind};
use crate::explain::{read_manifest, report, top_level, ExplainError};
use crate::manifest::Manifest;
use crate::release::{Arch, Release, SliceKey};
use crate::resolve::select;

/// How many packages the summary of a cut names.
const LARGEST: usize = 5;

/// `kerf tree`.
pub(super) fn run_tree(args: &TreeArgs) -> Result<ExitCode> {
    let mut requested = super::slice_keys(&args.slices)?;
    let manifest = match &args.root {
        Some(root) => {
            check_root_dir(root)?;
            Some(read_manifest(root)?.1)
        }
        None => None,
    };
    let arch = match (&args.archives.arch, &manifest) {
        (Some(name), _) => settings::parse_arch(name)?,
        (None, Some(manifest)) => manifest_arch(manifest).map_or_else(host_arch, Ok)?,
        (None, None) => host_arch()?,
    };
    let release = load(
        &args.release,
        args.archives.cache_dir.as_deref(),
        args.archives.offline,
    )?;
    if requested.is_empty() {
        // Only with --root (clap requires SLICE otherwise): what the root was cut with.
        let manifest = manifest.as_ref().ok_or(ExplainError::NothingRequested)?;
        requested = top_level(&release, manifest.slices.iter());
        if requested.is_empty() {
            return Err(ExplainError::NothingRequested.into());
        }
    }
    let selection = select(&release, &requested, arch)?;
    if let (Some(root), Some(manifest)) = (&args.root, &manifest) {
        check_cut_with(root, manifest, &selection)?;
    }
    if let Some(name) = &args.why {
        let found = target(&selection, &requested, manifest.as_ref(), name)?;
        let text = render_why(&release, arch, &requested, &found);
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let nodes = tree(&release, arch, &requested)?;
    let footprint = match &manifest {
        Some(manifest) => Footprint::from_manifest(manifest),
        None => {
            let summary = cut_for_sizes(args, &release, &requested, arch)?;
            Footprint::from_installed(&summary.installed)
        }
    };
    let slices: BTreeSet<SliceKey> = selection.slices.iter().map(|slice| slice.key()).collect();
    let mut text = render_tree(&nodes, &footprint);
    text.push('\n');
    text.push_str(&render_packages(&slices, &footprint));
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `kerf report`.
pub(super) fn run_report(args: &ReportArgs) -> Result<ExitCode> {
    check_root_dir(&args.root)?;
    let release = match &args.release {
        Some(name) => Some(load(
            &ReleaseArg {
                release: Some(name.clone()),
            },
            None,
            false,
        )?),
        None => None,
    };
    let info = args
        .release
        .as_deref()
        .zip(release.as_ref())
        .map(|(name, release)| report::ReleaseInfo { name, release });
    let page = report::report(&args.root, info)?;
    crate::sbom::write_atomically(&args.output, page.as_bytes())
        .with_context(|| format!("cannot write the report {}", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Every slice of the selection must be in the root: sizes of slices it does not hold would
/// be zero, which is not what they cost.
fn check_cut_with(
    root: &std::path::Path,
    manifest: &Manifest,
    selection: &crate::resolve::Selection<'_>,
) -> Result<(), ExplainError> {
    let mut missing: Vec<String> = selection
        .slices
        .iter()
        .map(|slice| slice.key())
        .filter(|key| !manifest.slices.contains(key))
        .map(|key| key.to_string())
        .collect();
    missing.sort();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ExplainError::NotInRoot {
            root: root.to_owned(),
            missing,
        })
    }
}

fn check_root_dir(root: &std::path::Path) -> Result<(), UsageError> {
    if root.is_dir() {
        Ok(())
    } else {
        Err(UsageError(format!(
            "invalid --root {}: it is not a directory",
            root.display()
        )))
    }
}

fn host_arch() -> Result<Arch, UsageError> {
    Arch::host().ok_or_else(|| {
        UsageError("cannot infer the architecture of this machine; give --arch".to_owned())
    })
}

/// The architecture a root was cut for: that of its first package that is not `all`.
fn manifest_arch(manifest: &Manifest) -> Option<Arch> {
    manifest
        .packages
        .iter()
        .find_map(|package| Arch::parse(&package.arch))
}

fn load(arg: &ReleaseArg, cache_dir: Option<&std::path::Path>, offline: bool) -> Result<Release> {
    let catalog = settings::catalog_settings(cache_dir, offline, &process_env)?;
    Ok(super::release_source(arg)?.load_remembered(&catalog)?)
}

/// The sizes of a cut not made yet: a cut into a temporary root (packages through the cache,
/// scripts run, so the sizes are the final ones), removed afterwards.
fn cut_for_sizes(
    args: &TreeArgs,
    release: &Release,
    requested: &[SliceKey],
    arch: Arch,
) -> Result<CutSummary> {
    let mut archives = settings::archive_settings(&args.archives, &process_env)?;
    archives.arch = arch;
    settings::check_against(&archives, release)?;
    let temporary = tempfile::Builder::new()
        .prefix("kerf-tree-")
        .tempdir()
        .context("cannot create a temporary root to measure the slices in")?;
    let options = CutOptions {
        root: temporary.path().join("root"),
        // A fresh root: nothing to extend.
        extend: crate::cut::extend::ExtendOptions::default(),
        archives,
        ignore: BTreeSet::new(),
        scripts: settings::script_runner(),
        script_limits: crate::mutate::Limits::default(),
        dpkg_status: false,
        locked: None,
    };
    let reporter = printer::reporter(args.quiet, false);
    let summary = crate::cut::cut(release, requested, &options, reporter.as_ref());
    reporter.finish();
    Ok(summary?)
}

/// `12.3%` from tenths of a percent.
fn percent(permille: u64) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

/// The tree with box-drawing branches, each slice's own bytes in a column; a repeated slice
/// says where it was shown.
fn render_tree(nodes: &[Node], footprint: &Footprint) -> String {
    let mut lines: Vec<(String, Option<u64>)> = Vec::new();
    for node in nodes {
        tree_lines(node, "", "", footprint, &mut lines);
    }
    let width = lines
        .iter()
        .filter(|(_, bytes)| bytes.is_some())
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, bytes) in lines {
        match bytes {
            Some(bytes) => out.push_str(&format!("{label:width$}  {:>10}\n", human_bytes(bytes))),
            None => {
                out.push_str(&label);
                out.push('\n');
            }
        }
    }
    out
}

fn tree_lines(
    node: &Node,
    lead: &str,
    rest: &str,
    footprint: &Footprint,
    lines: &mut Vec<(String, Option<u64>)>,
) {
    match &node.mention {
        Mention::First => lines.push((
            format!("{lead}{}", node.key),
            Some(footprint.slice(&node.key).bytes),
        )),
        Mention::Seen { under: Some(under) } => {
            lines.push((format!("{lead}{} (seen under {under})", node.key), None));
        }
        Mention::Seen { under: None } => {
            lines.push((format!("{lead}{} (requested, shown above)", node.key), None));
        }
    }
    let count = node.children.len();
    for (index, child) in node.children.iter().enumerate() {
        let last = index + 1 == count;
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        tree_lines(
            child,
            &format!("{rest}{branch}"),
            &format!("{rest}{next}"),
            footprint,
            lines,
        );
    }
}

/// Per package of the closure: its slices there, its files and bytes in the root and its
/// share, largest first; then the total.
fn render_packages(slices: &BTreeSet<SliceKey>, footprint: &Footprint) -> String {
    let mut per_package: BTreeMap<&str, usize> = BTreeMap::new();
    for key in slices {
        *per_package.entry(key.package.as_str()).or_default() += 1;
    }
    let mut rows: Vec<(&str, usize, crate::explain::footprint::Usage)> = per_package
        .iter()
        .map(|(&name, &count)| {
            (
                name,
                count,
                footprint.by_package.get(name).copied().unwrap_or_default(),
            )
        })
        .collect();
    rows.sort_by(|a, b| b.2.bytes.cmp(&a.2.bytes).then(a.0.cmp(b.0)));
    let total_label = format!("total ({} packages)", rows.len());
    let width = rows
        .iter()
        .map(|row| row.0.chars().count())
        .chain([total_label.chars().count(), "package".len()])
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "{:width$}  {:>6}  {:>6}  {:>10}  {:>6}\n",
        "package", "slices", "files", "size", "share"
    );
    for (name, count, usage) in &rows {
        out.push_str(&format!(
            "{name:width$}  {count:>6}  {:>6}  {:>10}  {:>6}\n",
            usage.files,
            human_bytes(usage.bytes),
            percent(footprint.permille(usage.bytes))
        ));
    }
    out.push_str(&format!(
        "{total_label:width$}  {:>6}  {:>6}  {:>10}  {:>6}  ({} bytes)\n",
        slices.len(),
        footprint.total.files,
        human_bytes(footprint.total.bytes),
        percent(footprint.permille(footprint.total.bytes)),
        footprint.total.bytes
    ));
    out
}

/// For each slice the target stands for: the shortest chain from each requested slice that
/// leads to it, and how many chains there are in all.
fn render_why(
    release: &Release,
    arch: Arch,
    requested: &[SliceKey],
    found: &crate::explain::tree::Target,
) -> String {
    let names: Vec<String> = found.slices.iter().map(ToString::to_string).collect();
    let mut out = match found.kind {
        TargetKind::Slice => String::new(),
        TargetKind::Package => format!(
            "package {}: its slices in the closure are {}\n",
            found.name,
            names.join(", ")
        ),
        TargetKind::Path => format!("{} is installed by {}\n", found.name, names.join(", ")),
    };
    for slice in &found.slices {
        let listed = chains(release, arch, requested, slice);
        out.push_str(&format!(
            "{slice} is needed by {} of the {} requested slices ({} {} in all); the shortest from each:\n",
            listed.shortest.len(),
            requested.len(),
            listed.total,
            if listed.total == 1 { "chain" } else { "chains" }
        ));
        for chain in &listed.shortest {
            let steps: Vec<String> = chain.iter().map(ToString::to_string).collect();
            if chain.len() == 1 {
                out.push_str(&format!("  {} (requested)\n", steps[0]));
            } else {
                out.push_str(&format!("  {}\n", steps.join(" → ")));
            }
        }
    }
    out
}

/// `Largest packages: a 1.2 MiB (40.0%), ...` for the summary of a cut; empty when the cut
/// wrote no file.
pub(super) fn largest_packages(summary: &CutSummary) -> String {
    let footprint = Footprint::from_installed(&summary.installed);
    let largest = footprint.largest_packages(LARGEST);
    if largest.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = largest
        .iter()
        .map(|(name, usage)| {
            format!(
                "{name} {} ({})",
                human_bytes(usage.bytes),
                percent(footprint.permille(usage.bytes))
            )
        })
        .collect();
    format!("Largest packages: {}\n", parts.join(", "))
}

#[cfg(test)]
mod tests;
