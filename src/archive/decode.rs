//! A compressed `Packages` index, decompressed and parsed on two threads at once.
//!
//! Ubuntu's universe index is 19 MB of gzip that inflates to 70 MB: inflating it, hashing the
//! plain text and parsing it one after another is the longest job of a cold cut. Here one thread
//! inflates and hashes while the caller's thread parses what is already inflated
//! ([`crate::readahead`]), so the two halves of the work run on two cores.

use std::io::{BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::digest::{Algorithm, Hasher, Hashes};
use crate::readahead::read_ahead;
use crate::transport::http::Sink;

use super::index::{IndexError, PackageIndex};

/// How a `Packages` index is stored on the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Xz,
    None,
}

/// Reading ahead of the parser (see [`crate::readahead`]): the compressed file is read in
/// chunks this big.
const INPUT_BUFFER: usize = 256 << 10;

/// Parses the index that `compressed` holds, inflated on a thread of its own, and returns it
/// with the hashes (`algorithm`) of the decompressed bytes, every one of them (the parser reads
/// to the end of the stream): the caller compares them with what InRelease signs before
/// trusting the table. A stream that breaks, anywhere, is [`IndexError::Read`].
pub(crate) fn parse_compressed(
    compressed: impl Read + Send,
    compression: Compression,
    algorithm: Algorithm,
    what: &str,
) -> Result<(PackageIndex, Hashes), IndexError> {
    let input = BufReader::with_capacity(INPUT_BUFFER, compressed);
    let plain: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new(input)),
        Compression::None => Box::new(input),
    };
    // The plain text is hashed on the inflating thread.
    let mut hasher = Hasher::new(&[algorithm]);
    let parsed = read_ahead(
        plain,
        |chunk: &[u8]| hasher.update(chunk),
        |ahead| PackageIndex::read(ahead, what),
    );
    Ok((parsed?, hasher.finish()))
}

/// Compressed bytes handed over while they download, so that an index is inflated and parsed
/// as it arrives instead of after: the copy a download writes besides the cache's file.
pub(crate) struct IndexCopy {
    sender: Option<SyncSender<Vec<u8>>>,
    /// Bytes sent so far.
    sent: u64,
    /// Whether what was sent is, so far, the start of the file being stored: a download that
    /// starts over (a retry, another URL) after sending something breaks the copy for good.
    whole: bool,
}

/// Compressed chunks in flight: a download outruns the parser for a while, not for ever.
const COPY_IN_FLIGHT: usize = 64;

impl IndexCopy {
    /// A copy, and the stream its bytes come out of (which ends when the copy is finished).
    pub(crate) fn new() -> (IndexCopy, Received) {
        let (sender, receiver) = sync_channel(COPY_IN_FLIGHT);
        let copy = IndexCopy {
            sender: Some(sender),
            sent: 0,
            whole: true,
        };
        let received = Received {
            receiver,
            current: Vec::new(),
            at: 0,
        };
        (copy, received)
    }

    /// Sends these bytes, the next of the file. A reader that stopped (the parser found an
    /// error) stops the copy, not the download.
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        if let Some(sender) = &self.sender {
            if sender.send(bytes.to_vec()).is_err() {
                self.sender = None;
            }
        }
        self.sent += bytes.len() as u64;
    }

    /// The download starts over: unless nothing was sent yet, the copy is broken.
    pub(crate) fn restart(&mut self) {
        if self.sent > 0 {
            self.whole = false;
            self.sender = None;
        }
    }

    /// Ends the stream; whether it was the stored file from its first byte, with nothing sent
    /// twice.
    pub(crate) fn finish(mut self) -> bool {
        self.sender = None;
        self.whole
    }
}

/// What an [`IndexCopy`] sends, as a stream.
pub(crate) struct Received {
    receiver: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for Received {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let count = (self.current.len() - self.at).min(buffer.len());
        buffer[..count].copy_from_slice(&self.current[self.at..self.at + count]);
        self.at += count;
        Ok(count)
    }
}

/// A download's sink that also hands every byte it takes to an [`IndexCopy`].
pub(crate) struct Copying<'a> {
    pub(crate) sink: &'a mut dyn Sink,
    pub(crate) copy: &'a mut IndexCopy,
}

impl std::io::Write for Copying<'_> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.sink.write(buffer)?;
        self.copy.send(&buffer[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.flush()
    }
}

impl Sink for Copying<'_> {
    fn restart(&mut self) -> std::io::Result<()> {
        self.copy.restart();
        self.sink.restart()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn stanza(name: &str, version: &str) -> String {
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: amd64\nFilename: pool/{name}_{version}.deb\nSize: 7\nSHA256: {}\nDescription: a package\n long text\n\n",
            "ab".repeat(32)
        )
    }

    /// An index of `count` stanzas, big enough to span many chunks.
    fn big_index(count: usize) -> String {
        (0..count)
            .map(|i| stanza(&format!("pkg{i:05}"), &format!("1.{i}")))
            .collect()
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn every_form_parses_to_the_same_table_with_the_hash_of_the_plain_text() {
        let text = big_index(12_000);
        assert!(
            text.len() > 8 * crate::readahead::CHUNK,
            "spans many chunks: {}",
            text.len()
        );
        let plain = PackageIndex::read(text.as_bytes(), "plain").unwrap();
        let expected = crate::digest::Digest::sha256(text.as_bytes());
        let mut xz = Vec::new();
        liblzma::read::XzEncoder::new(text.as_bytes(), 0)
            .read_to_end(&mut xz)
            .unwrap();
        for (bytes, compression) in [
            (gzip(text.as_bytes()), Compression::Gzip),
            (xz, Compression::Xz),
            (text.clone().into_bytes(), Compression::None),
        ] {
            let (index, hashes) =
                parse_compressed(&bytes[..], compression, Algorithm::Sha256, "test").unwrap();
            assert_eq!(index.as_bytes(), plain.as_bytes(), "{compression:?}");
            assert_eq!(index.len(), 12_000);
            assert_eq!(
                hashes.get(Algorithm::Sha256),
                Some(expected),
                "{compression:?}"
            );
            assert_eq!(hashes.size, text.len() as u64);
        }
    }

    #[test]
    fn a_syntax_error_far_into_the_stream_names_its_line_and_stops_the_inflater() {
        let mut text = big_index(6_000);
        let line = text.lines().count() + 1;
        text.push_str("Package: broken\nnot a field\n");
        text.push_str(&big_index(6_000));
        let error = parse_compressed(
            &gzip(text.as_bytes())[..],
            Compression::Gzip,
            Algorithm::Sha256,
            "main",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot parse the Packages index main: line {} is not a field: \"not a field\"",
                line + 1
            )
        );
    }

    #[test]
    fn a_truncated_stream_is_a_read_error_not_a_shorter_index() {
        let text = big_index(6_000);
        let compressed = gzip(text.as_bytes());
        let cut_short = &compressed[..compressed.len() / 2];
        let error =
            parse_compressed(cut_short, Compression::Gzip, Algorithm::Sha256, "main").unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read the Packages index main: incomplete deflate stream"
        );
        // A gzip stream whose 8-byte trailer (its CRC and length) is missing is cut short too,
        // although every stanza inflated whole.
        let error = parse_compressed(
            &compressed[..compressed.len() - 8],
            Compression::Gzip,
            Algorithm::Sha256,
            "main",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read the Packages index main: unexpected end of file"
        );
    }
}
