//! `file://` URLs: an archive laid out in a local directory (a mirror on disk, a mounted
//! volume, a test's folder) read with the same limits and progress as HTTP.

use std::io::{self, Read as _};

use super::http::{FetchError, Sink};

/// Streams the file at `path` (the part of `url` after `file://`) into `sink`. A body over
/// `limit` bytes is refused, as [`super::http::Fetcher::get_bytes`] refuses one over HTTP.
pub(super) fn read_to(
    url: &str,
    path: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64, Option<u64>),
    limit: Option<u64>,
) -> Result<u64, FetchError> {
    let local = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            FetchError::NotFound {
                url: url.to_owned(),
            }
        } else {
            FetchError::Local {
                url: url.to_owned(),
                source,
            }
        }
    };
    if !path.starts_with('/') {
        return Err(FetchError::InvalidUrl {
            url: url.to_owned(),
            reason: "a file:// URL needs an absolute path (file:///srv/mirror/)",
        });
    }
    let mut file = fs_err::File::open(path).map_err(local)?;
    let total = file.metadata().map_err(local)?.len();
    if let Some(limit) = limit.filter(|limit| total > *limit) {
        return Err(FetchError::TooLarge {
            url: url.to_owned(),
            limit,
        });
    }
    let mut buffer = vec![0; 256 << 10];
    let mut done = 0;
    loop {
        let n = file.read(&mut buffer).map_err(local)?;
        if n == 0 {
            break;
        }
        sink.write_all(&buffer[..n])
            .map_err(|source| FetchError::Write {
                url: url.to_owned(),
                source,
            })?;
        done += n as u64;
        progress(done, Some(total));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::super::http::{FetchOptions, Fetcher};

    #[test]
    fn a_file_url_reads_the_local_file_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("InRelease");
        fs_err::write(&path, b"signed text").unwrap();
        let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
        let url = format!("file://{}", path.display());
        assert_eq!(
            fetcher.get_bytes(&url, None, 1 << 20).unwrap(),
            b"signed text"
        );

        let missing = format!("file://{}/dists/none/InRelease", dir.path().display());
        assert_eq!(
            fetcher
                .get_bytes(&missing, None, 1 << 20)
                .unwrap_err()
                .to_string(),
            format!("cannot fetch {missing}: not found (HTTP 404)")
        );
        assert_eq!(
            fetcher.get_bytes(&url, None, 4).unwrap_err().to_string(),
            format!("cannot fetch {url}: larger than the limit of 4 bytes")
        );
        assert_eq!(
            fetcher.get_bytes("file://relative/x", None, 4).unwrap_err().to_string(),
            "cannot fetch file://relative/x: invalid URL: a file:// URL needs an absolute path (file:///srv/mirror/)"
        );
    }
}
