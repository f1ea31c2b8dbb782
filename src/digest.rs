//! Digests: the one place that knows SHA-256 and SHA-512, their hex form, and how to hash a
//! stream while it passes through.
//!
//! Archives sign their indexes and packages with SHA-256 (Ubuntu up to 26.04, Debian) or with
//! SHA-512 only (Ubuntu 26.10); the manifest always records SHA-256. A [`Hasher`] computes any
//! set of them in one pass.

use std::fmt;
use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256, Sha512};

/// A hash function kerf trusts. MD5 and SHA-1 are deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The strongest first: the order in which a signed file's digests are preferred.
    pub(crate) const STRONGEST_FIRST: [Algorithm; 2] = [Algorithm::Sha512, Algorithm::Sha256];

    /// As people write it: `SHA-256`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The field of an InRelease file or a Packages stanza: `SHA256`.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    fn len(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }
}

/// A digest, with the algorithm that made it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Digest {
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// Text that is not a digest in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {algorithm} digest {input:?}: expected {digits} hexadecimal digits")]
pub(crate) struct DigestError {
    algorithm: &'static str,
    digits: usize,
    /// The offending text, shortened if long.
    input: String,
}

impl Digest {
    /// Exactly the algorithm's number of hexadecimal digits, in either case.
    pub(crate) fn from_hex(algorithm: Algorithm, hex: &str) -> Result<Digest, DigestError> {
        let error = || DigestError {
            algorithm: algorithm.name(),
            digits: algorithm.len() * 2,
            input: hex.chars().take(140).collect(),
        };
        if hex.len() != algorithm.len() * 2 {
            return Err(error());
        }
        let mut bytes = [0; 64];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(error)?;
            let low = hex_value(pair[1]).ok_or_else(error)?;
            *byte = high << 4 | low;
        }
        Ok(Digest::from_slice(algorithm, &bytes[..algorithm.len()]))
    }

    /// The SHA-256 of `data`.
    pub(crate) fn sha256(data: &[u8]) -> Digest {
        Digest::Sha256(Sha256::digest(data).into())
    }

    /// The digest of `data` with `algorithm`.
    #[cfg(test)]
    pub(crate) fn of(algorithm: Algorithm, data: &[u8]) -> Digest {
        let mut hasher = Hasher::new(&[algorithm]);
        hasher.update(data);
        hasher
            .finish()
            .get(algorithm)
            .expect("the hasher computes what it was asked for")
    }

    fn from_slice(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        match algorithm {
            Algorithm::Sha256 => {
                Digest::Sha256(bytes.try_into().expect("a SHA-256 digest has 32 bytes"))
            }
            Algorithm::Sha512 => {
                Digest::Sha512(bytes.try_into().expect("a SHA-512 digest has 64 bytes"))
            }
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Digest::Sha256(_) => Algorithm::Sha256,
            Digest::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Digest::Sha256(bytes) => bytes,
            Digest::Sha512(bytes) => bytes,
        }
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of any bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Lowercase hex of the SHA-256 of `data`: the form manifests and cache keys use.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(self.as_bytes()))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({self})", self.algorithm().field())
    }
}

/// Computes several digests of the same bytes in one pass, and counts them.
#[derive(Clone)]
pub(crate) struct Hasher {
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
    size: u64,
}

/// What a [`Hasher`] computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hashes {
    pub(crate) size: u64,
    sha256: Option<Digest>,
    sha512: Option<Digest>,
}

impl Hashes {
    /// The digest with `algorithm`, when the hasher computed it.
    pub(crate) fn get(&self, algorithm: Algorithm) -> Option<Digest> {
        match algorithm {
            Algorithm::Sha256 => self.sha256,
            Algorithm::Sha512 => self.sha512,
        }
    }

    /// The SHA-256 in hex; every hasher made with [`Hasher::with_sha256`] has it.
    pub(crate) fn sha256_hex(&self) -> Option<String> {
        self.sha256.map(|digest| digest.to_string())
    }
}

impl Hasher {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Hasher {
        Hasher {
            sha256: algorithms.contains(&Algorithm::Sha256).then(Sha256::new),
            sha512: algorithms.contains(&Algorithm::Sha512).then(Sha512::new),
            size: 0,
        }
    }

    /// SHA-256, and `algorithm` too when it is another one.
    pub(crate) fn with_sha256(algorithm: Algorithm) -> Hasher {
        Hasher::new(&[Algorithm::Sha256, algorithm])
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        if let Some(hasher) = &mut self.sha256 {
            hasher.update(data);
        }
        if let Some(hasher) = &mut self.sha512 {
            hasher.update(data);
        }
        self.size += data.len() as u64;
    }

    pub(crate) fn finish(self) -> Hashes {
        Hashes {
            size: self.size,
            sha256: self
                .sha256
                .map(|hasher| Digest::Sha256(hasher.finalize().into())),
            sha512: self
                .sha512
                .map(|hasher| Digest::Sha512(hasher.finalize().into())),
        }
    }
}

/// Hashes everything read through it, to verify a file while streaming it instead of in a
/// second pass.
///
/// The digests cover only what was actually read: a consumer that stops early (as
/// [`crate::deb::DebReader::for_each_entry`] does after `data.tar`) leaves the tail unhashed, so
/// drain the reader (`io::copy(&mut reader, &mut io::sink())`) before [`HashingReader::finish`].
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R, hasher: Hasher) -> Self {
        Self { inner, hasher }
    }

    pub(crate) fn finish(self) -> Hashes {
        self.hasher.finish()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let found = self.inner.read(buf)?;
        self.hasher.update(&buf[..found]);
        Ok(found)
    }
}

/// Hashes everything written through it, so a file is hashed as it is written rather than
/// read again.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W> HashingWriter<W> {
    pub(crate) fn new(inner: W, hasher: Hasher) -> Self {
        Self { inner, hasher }
    }

    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Forgets what was hashed so far: the writer starts over (a retried download).
    pub(crate) fn reset(&mut self, hasher: Hasher) {
        self.hasher = hasher;
    }

    pub(crate) fn finish(self) -> (W, Hashes) {
        (self.inner, self.hasher.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hex_round_trip_in_either_case() {
        let digest = Digest::from_hex(Algorithm::Sha256, &EMPTY_SHA256.to_uppercase()).unwrap();
        assert_eq!(digest, Digest::sha256(b""));
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        assert_eq!(format!("{digest:?}"), format!("SHA256({EMPTY_SHA256})"));
    }

    #[test]
    fn wrong_length_or_digit_is_refused_with_the_algorithm() {
        let error = Digest::from_hex(Algorithm::Sha512, EMPTY_SHA256).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid SHA-512 digest \"{EMPTY_SHA256}\": expected 128 hexadecimal digits")
        );
        let bad = format!("{}g", &EMPTY_SHA256[..63]);
        assert!(Digest::from_hex(Algorithm::Sha256, &bad).is_err());
    }

    /// Moved here with the type from the cache's tests.
    #[test]
    fn digest_hex_round_trip() {
        const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let digest = Digest::from_hex(Algorithm::Sha256, HELLO).unwrap();
        assert_eq!(digest, Digest::sha256(b"hello"));
        assert_eq!(digest.to_string(), HELLO);
        assert_eq!(
            Digest::from_hex(Algorithm::Sha256, &HELLO.to_uppercase()).unwrap(),
            digest
        );
        for bad in [
            "",
            &HELLO[1..],
            &format!("{HELLO}0"),
            &HELLO.replace('c', "g"),
            "é",
        ] {
            let error = Digest::from_hex(Algorithm::Sha256, bad).unwrap_err();
            assert!(error.to_string().contains("expected 64 hexadecimal digits"));
        }
    }

    #[test]
    fn one_pass_gives_every_digest_asked_for() {
        let mut reader = HashingReader::new(&b"abc"[..], Hasher::with_sha256(Algorithm::Sha512));
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        let hashes = reader.finish();
        assert_eq!(hashes.size, 3);
        assert_eq!(
            hashes.sha256_hex().unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hashes.get(Algorithm::Sha512).unwrap().to_string(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            Digest::of(Algorithm::Sha512, b"abc"),
            hashes.get(Algorithm::Sha512).unwrap()
        );
    }

    #[test]
    fn a_writer_that_starts_over_hashes_only_the_new_bytes() {
        let mut writer = HashingWriter::new(Vec::new(), Hasher::new(&[Algorithm::Sha256]));
        writer.write_all(b"partial").unwrap();
        writer.get_mut().clear();
        writer.reset(Hasher::new(&[Algorithm::Sha256]));
        writer.write_all(b"abc").unwrap();
        let (bytes, hashes) = writer.finish();
        assert_eq!(bytes, b"abc");
        assert_eq!(hashes.get(Algorithm::Sha256), Some(Digest::sha256(b"abc")));
    }
}
