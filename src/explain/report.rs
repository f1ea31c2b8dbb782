//! `kerf report`: one self-contained HTML page about a cut root. A treemap of the root by
//! package, slice and file; sizes and counts; the requested slices; the distribution, the
//! release's archives; every package with its version.
//!
//! The page loads nothing: its one style sheet and one script are inline, allowed by their
//! hashes in a Content-Security-Policy that forbids everything else, so a page that tried to
//! fetch something would be refused and would say so. The tables are plain HTML (they print
//! and read without the script); the script lays the treemap out from the data in the page
//! and writes what it drew (areas, bytes, resources the page loaded, refusals of the policy)
//! into `#kerf-check`, so a test can hold the picture to the numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::footprint::Footprint;
use super::{read_manifest, top_level, ExplainError};
use crate::manifest::Manifest;
use crate::release::{Release, SliceKey};
use crate::sbom::os_release;

/// The page's style sheet.
const STYLE: &str = include_str!("report.css");

/// The page's script: the treemap and the self-check.
const SCRIPT: &str = include_str!("report.js");

/// The release the root was cut from, as the user named it.
pub(crate) struct ReleaseInfo<'r> {
    pub(crate) name: &'r str,
    pub(crate) release: &'r Release,
}

/// The counts the page states, from the manifest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    directories: usize,
    symlinks: usize,
}

/// The report of the root at `dir`, as the HTML text.
pub(crate) fn report(dir: &Path, release: Option<ReleaseInfo<'_>>) -> Result<String, ExplainError> {
    let (root, manifest) = read_manifest(dir)?;
    let os = os_release::read(&root)?;
    let distribution = os.map(|os| {
        os.pretty_name.clone().unwrap_or_else(|| {
            format!("{} {}", os.id, os.version_id.clone().unwrap_or_default())
                .trim()
                .to_owned()
        })
    });
    let footprint = Footprint::from_manifest(&manifest);
    let title = dir.display().to_string();
    Ok(render(&Page {
        title: &title,
        distribution: distribution.as_deref(),
        manifest: &manifest,
        footprint: &footprint,
        release,
    })?)
}

/// Everything the page shows.
struct Page<'a> {
    title: &'a str,
    distribution: Option<&'a str>,
    manifest: &'a Manifest,
    footprint: &'a Footprint,
    release: Option<ReleaseInfo<'a>>,
}

fn counts(manifest: &Manifest) -> Counts {
    let mut counts = Counts::default();
    for path in manifest.paths.values() {
        if path.link.as_ref().is_some_and(|link| !link.is_empty()) {
            counts.symlinks += 1;
        } else if path.path.ends_with('/') {
            counts.directories += 1;
        }
    }
    counts
}

/// The treemap's data: packages, their slices, their files, each list largest first.
#[derive(serde::Serialize)]
struct MapData<'a> {
    total: u64,
    packages: Vec<MapPackage<'a>>,
}

#[derive(serde::Serialize)]
struct MapPackage<'a> {
    name: &'a str,
    bytes: u64,
    slices: Vec<MapSlice<'a>>,
}

#[derive(serde::Serialize)]
struct MapSlice<'a> {
    name: String,
    bytes: u64,
    /// `[path, size]`.
    files: Vec<(&'a str, u64)>,
}

fn map_data(footprint: &Footprint) -> MapData<'_> {
    let mut by_slice: BTreeMap<&SliceKey, Vec<(&str, u64)>> = BTreeMap::new();
    for file in &footprint.files {
        by_slice
            .entry(&file.owner)
            .or_default()
            .push((file.path.as_str(), file.size));
    }
    let mut packages: BTreeMap<&str, MapPackage<'_>> = BTreeMap::new();
    for (key, mut files) in by_slice {
        files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let bytes = files.iter().map(|file| file.1).sum();
        let package = packages
            .entry(key.package.as_str())
            .or_insert_with(|| MapPackage {
                name: key.package.as_str(),
                bytes: 0,
                slices: Vec::new(),
            });
        package.bytes += bytes;
        package.slices.push(MapSlice {
            name: key.to_string(),
            bytes,
            files,
        });
    }
    let mut packages: Vec<MapPackage<'_>> = packages.into_values().collect();
    for package in &mut packages {
        package
            .slices
            .sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    }
    packages.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(b.name)));
    MapData {
        total: footprint.total.bytes,
        packages,
    }
}

/// `sha256-<base64>`, as a Content-Security-Policy source names an inline element.
fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// Text made safe inside HTML elements and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `61,234,567`.
fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn percent(footprint: &Footprint, bytes: u64) -> String {
    let permille = footprint.permille(bytes);
    format!("{}.{}%", permille / 10, permille % 10)
}

/// The treemap's place; the script fills it.
const MAP_SECTION: &str = "<section id=\"map\">\n<h2>Where the bytes are</h2>\n<p class=\"note\">Each rectangle is a regular file, its area its size; files are grouped by slice (thin lines) and package (thick lines, named). A file several slices list counts once, for the first by name.</p>\n<div id=\"treemap\" role=\"img\" aria-label=\"Treemap of the root's bytes by package, slice and file\"></div>\n</section>\n";

/// The whole page.
fn render(page: &Page<'_>) -> Result<String, serde_json::Error> {
    // `<` never appears raw in the JSON, so no `</script>` can end the element early.
    let data = serde_json::to_string(&map_data(page.footprint))?.replace('<', "\\u003c");
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {}; img-src 'none'; font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    );
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"kerf {}\">\n\
         <title>kerf report: {}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        escape(page.title)
    );
    let _ = write!(
        html,
        "<header>\n<h1>{}</h1>\n<p>{}</p>\n</header>\n",
        escape(page.title),
        escape(page.distribution.unwrap_or(
            "distribution unknown: the root has no os-release (cut base-files_release-info)"
        ))
    );

    summary_section(&mut html, page);
    html.push_str(MAP_SECTION);
    slices_section(&mut html, page);
    archives_section(&mut html, page);
    packages_section(&mut html, page);
    let _ = write!(
        html,
        "<footer><p>Written by kerf {} from the root's manifest.</p></footer>\n\
         <output id=\"kerf-check\" hidden></output>\n\
         <script type=\"application/json\" id=\"kerf-data\">{data}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(html)
}

/// Counts and bytes.
fn summary_section(html: &mut String, page: &Page<'_>) {
    let (footprint, manifest) = (page.footprint, page.manifest);
    let counts = counts(manifest);
    let _ = write!(
        *html,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<dl>\n\
         <dt>Regular files</dt><dd id=\"total-files\">{}</dd>\n\
         <dt>Bytes in regular files</dt><dd id=\"total-bytes\">{}</dd>\n\
         <dt>Directories</dt><dd>{}</dd>\n<dt>Symbolic links</dt><dd>{}</dd>\n\
         <dt>Packages</dt><dd>{}</dd>\n<dt>Slices</dt><dd>{}</dd>\n</dl>\n</section>\n",
        grouped(footprint.total.files as u64),
        grouped(footprint.total.bytes),
        grouped(counts.directories as u64),
        grouped(counts.symlinks as u64),
        manifest.packages.len(),
        manifest.slices.len()
    );
}

/// The requested slices (with the release), then every slice of the root with its bytes.
fn slices_section(html: &mut String, page: &Page<'_>) {
    let (footprint, manifest) = (page.footprint, page.manifest);
    html.push_str("<section id=\"requested\">\n<h2>Slices</h2>\n");
    match &page.release {
        Some(info) => {
            let top = top_level(info.release, manifest.slices.iter());
            let _ = write!(
                *html,
                "<p>Requested (the slices no other slice of the root needs), from release <code>{}</code>:</p>\n<ul class=\"slices\">\n",
                escape(info.name)
            );
            for key in &top {
                let _ = writeln!(*html, "<li><code>{}</code></li>", escape(&key.to_string()));
            }
            html.push_str("</ul>\n");
        }
        None => html.push_str("<p>Give <code>--release</code> to tell the requested slices from their essentials.</p>\n"),
    }
    html.push_str(
        "<table>\n<thead><tr><th>slice</th><th class=\"n\">files</th><th class=\"n\">bytes</th><th class=\"n\">share</th></tr></thead>\n<tbody>\n",
    );
    for key in &manifest.slices {
        let usage = footprint.slice(key);
        let _ = writeln!(
            *html,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&key.to_string()),
            usage.files,
            grouped(usage.bytes),
            percent(footprint, usage.bytes)
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

/// The release's archives, when the release is known.
fn archives_section(html: &mut String, page: &Page<'_>) {
    if let Some(info) = &page.release {
        html.push_str("<section id=\"archives\">\n<h2>Archives of the release</h2>\n<table>\n<thead><tr><th>archive</th><th>version</th><th>suites</th><th>components</th><th class=\"n\">priority</th></tr></thead>\n<tbody>\n");
        for archive in info.release.archives.values() {
            let _ = writeln!(
                *html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&archive.name),
                escape(&archive.version),
                escape(&archive.suites.join(", ")),
                escape(&archive.components.join(", ")),
                archive.priority
            );
        }
        html.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// Every package with its version, slices, files, bytes and share.
fn packages_section(html: &mut String, page: &Page<'_>) {
    let (footprint, manifest) = (page.footprint, page.manifest);
    html.push_str("<section id=\"packages\">\n<h2>Packages</h2>\n<table>\n<thead><tr><th>package</th><th>version</th><th>arch</th><th>slices</th><th class=\"n\">files</th><th class=\"n\">bytes</th><th class=\"n\">share</th></tr></thead>\n<tbody>\n");
    let mut slices_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for key in &manifest.slices {
        slices_of
            .entry(key.package.as_str())
            .or_default()
            .insert(key.slice.as_str());
    }
    let mut packages: Vec<&crate::manifest::ManifestPackage> = manifest.packages.iter().collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    for package in packages {
        let usage = footprint
            .by_package
            .get(&package.name)
            .copied()
            .unwrap_or_default();
        let slices: Vec<&str> = slices_of
            .get(package.name.as_str())
            .map(|slices| slices.iter().copied().collect())
            .unwrap_or_default();
        let _ = writeln!(
            *html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&package.name),
            escape(&package.version),
            escape(&package.arch),
            escape(&slices.join(", ")),
            usage.files,
            grouped(usage.bytes),
            percent(footprint, usage.bytes)
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
pub(super) fn render_for_test(
    title: &str,
    manifest: &Manifest,
    release: Option<ReleaseInfo<'_>>,
) -> String {
    let footprint = Footprint::from_manifest(manifest);
    render(&Page {
        title,
        distribution: Some("Ubuntu 24.04 LTS"),
        manifest,
        footprint: &footprint,
        release,
    })
    .unwrap_or_else(|error| panic!("{error}"))
}
