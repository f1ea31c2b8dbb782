//! `kerf sbom`, and `kerf cut --sbom`: an SBOM of a cut root, to stdout or a file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::args::{SbomArgs, SbomFormatArg};
use super::UsageError;
use crate::sbom::{self, Format};

/// `SOURCE_DATE_EPOCH`, the creation time reproducible builds agree on, when it is set.
fn source_date_epoch() -> Result<Option<i64>, UsageError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| {
                UsageError(format!(
                    "invalid SOURCE_DATE_EPOCH \"{value}\": expected seconds since 1970-01-01 (an integer)"
                ))
            }),
        _ => Ok(None),
    }
}

/// The format `cut --sbom FILE` writes, from FILE's name; checked before the cut starts.
pub(super) fn format_from_name(path: &Path) -> Result<Format, UsageError> {
    Format::from_file_name(path).ok_or_else(|| {
        UsageError(format!(
            "invalid --sbom {}: the name must end in .spdx.json (SPDX) or .cdx.json (CycloneDX)",
            path.display()
        ))
    })
}

/// Makes the SBOM of `root` and writes it to `output` (atomically) or stdout.
pub(super) fn write(root: &Path, format: Format, output: Option<&Path>) -> Result<()> {
    let created = source_date_epoch()?;
    let inventory = sbom::inventory(root, created)?;
    let bytes = sbom::render(&inventory, format)?;
    match output {
        Some(path) => sbom::write_atomically(path, &bytes)?,
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// `kerf sbom`.
pub(super) fn run(args: &SbomArgs) -> Result<ExitCode> {
    if !args.root.is_dir() {
        return Err(UsageError(format!(
            "invalid --root {}: it is not a directory",
            args.root.display()
        ))
        .into());
    }
    let format = match args.format {
        Some(SbomFormatArg::SpdxJson) => Format::SpdxJson,
        Some(SbomFormatArg::CyclonedxJson) => Format::CycloneDxJson,
        None => args
            .output
            .as_deref()
            .and_then(Format::from_file_name)
            .unwrap_or(Format::SpdxJson),
    };
    write(&args.root, format, args.output.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
