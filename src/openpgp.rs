//! Verification of apt `InRelease` files: OpenPGP cleartext-signed messages (RFC 9580, section 7)
//! checked against the ASCII-armoured public keys listed in `chisel.yaml`.
//!
//! The only way to get at the text of an `InRelease` file through this module is
//! [`verify_clearsigned`], and it hands the text out only after a signature over it has been
//! verified. An unsigned `Release` text is never accepted.
//!
//! # Keys
//!
//! [`PublicKey::from_armor`] follows chisel: the armour must decode and hold exactly one public key
//! and no private key. A key is a primary key together with its user ids and subkeys. Unlike chisel,
//! whose Go reader counts every public key *packet*, a key with subkeys is one key, and a second
//! armour block in the same text counts too (chisel silently ignores it).
//!
//! # What verifies
//!
//! The file is accepted when **any** of its signatures verifies with **any** of the given keys, as apt
//! does (gpg would want all of them). A key verifies through its primary key (the Ubuntu archive signs
//! with its primary RSA key) or through one of its signing subkeys (other archives sign with
//! subkeys). A subkey counts as a signing subkey when its newest valid binding signature has the
//! "sign" key flag and carries a valid back-signature, and no valid revocation exists for it.
//!
//! Only binary (0x00) and text (0x01) signatures count, and only with a SHA-2 or SHA-3 hash: MD5,
//! SHA-1 and RIPEMD-160 are refused, as apt refuses them. Expiry and revocation of the *primary*
//! key are not checked (chisel does not check them either); the keys come from the release
//! configuration, which is trusted.
//!
//! # Framing decisions
//!
//! - Before `-----BEGIN PGP SIGNED MESSAGE-----` only ASCII whitespace is allowed, and after
//!   `-----END PGP SIGNATURE-----` likewise. Anything else is refused. chisel decodes the first
//!   clearsigned block and ignores what is around it; apt refuses data outside the signed block,
//!   and we do the same, since nothing outside it is authenticated.
//! - The returned text is exactly what the signature covers: dash-escaping undone, trailing spaces
//!   and tabs of each line removed (RFC 9580 excludes them from the hash), and every line ending
//!   turned into `\n` (the hash sees `\r\n` for both `\n` and `\r\n`, so the original choice is not
//!   authenticated and is not passed on). The line break just before the signature armour belongs
//!   to the framing, so the text has no final newline unless the signed text ended with an empty
//!   line.

use std::fmt;
use std::io::Read;

use pgp::armor::{Dearmor, DearmorOptions};
use pgp::composed::{CleartextSignedMessage, PublicOrSecret, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::{Fingerprint, KeyDetails, KeyId, KeyVersion};

const CLEARSIGN_BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const ARMOR_BEGIN: &str = "-----BEGIN PGP ";

/// Why an armoured public key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    /// The armour did not give exactly one usable public key.
    #[error("cannot decode public key {name:?}: {reason}")]
    Decode {
        name: String,
        reason: KeyDecodeError,
    },
    /// The key decoded, but its long key ID is not the one the configuration declares.
    #[error("public key {name:?} armor has incorrect ID: expected {expected:?}, got {actual:?}")]
    IncorrectId {
        name: String,
        expected: String,
        actual: String,
    },
}

/// The reason inside [`KeyError::Decode`]; the texts are chisel's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyDecodeError {
    /// No armour block, or one that does not decode (bad base64, bad framing).
    #[error("cannot decode armored data")]
    Armor,
    /// More than one primary public key.
    #[error("armored data contains more than one public key")]
    MoreThanOneKey,
    /// A secret (private) key is present.
    #[error("armored data contains private key")]
    PrivateKey,
    /// The armour decoded but holds no public key.
    #[error("armored data contains no public key")]
    NoPublicKey,
    /// The armour decoded, but its OpenPGP packets are invalid.
    #[error("invalid OpenPGP data: {0}")]
    Packets(String),
}

/// Why an `InRelease` file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VerifyError {
    /// No cleartext-signed block, or one without any signature (for example a plain `Release`).
    #[error("cannot decode clearsigned InRelease file")]
    NotSigned,
    /// A cleartext-signed block is there but cannot be decoded, or there is data around it.
    #[error("cannot decode clearsigned InRelease file: {reason}")]
    Malformed { reason: String },
    /// No signature verifies with any of the keys.
    #[error(
        "cannot verify signature of the InRelease file: signed by {}, {}",
        .signatures.join(", "),
        expected_keys(.tried)
    )]
    BadSignature {
        /// One entry per signature: issuer key IDs (uppercase hex), with a note when the
        /// signature was not even tried (weak hash, wrong signature type).
        signatures: Vec<String>,
        /// The key IDs tried: primary keys, and their signing subkeys.
        tried: Vec<String>,
    },
}

/// The end of the [`VerifyError::BadSignature`] message.
fn expected_keys(tried: &[String]) -> String {
    if tried.is_empty() {
        "but no public key was given".to_owned()
    } else {
        format!("expected one of {}", tried.join(", "))
    }
}

/// One OpenPGP public key (a primary key with its subkeys), as configured for an archive.
#[derive(Clone)]
pub(crate) struct PublicKey {
    name: String,
    key: SignedPublicKey,
    /// Subkeys allowed to verify data signatures (see the module documentation).
    signing_subkeys: Vec<SignedPublicSubKey>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("name", &self.name)
            .field("key_id", &self.key_id())
            .field("signing_subkeys", &self.signing_subkey_ids())
            .finish()
    }
}

impl PublicKey {
    /// Decodes the ASCII-armoured key called `name` (the name is only used in errors).
    pub(crate) fn from_armor(name: &str, armor: &str) -> Result<PublicKey, KeyError> {
        let fail = |reason| KeyError::Decode {
            name: name.to_owned(),
            reason,
        };
        let starts = armor_block_starts(armor);
        if starts.is_empty() {
            return Err(fail(KeyDecodeError::Armor));
        }
        let mut public = Vec::new();
        let mut secret = 0usize;
        for start in starts {
            let bytes = dearmor(&armor[start..]).map_err(|_| fail(KeyDecodeError::Armor))?;
            let keys = PublicOrSecret::from_bytes_many(&bytes[..])
                .map_err(|err| fail(KeyDecodeError::Packets(err.to_string())))?;
            for key in keys {
                match key.map_err(|err| fail(KeyDecodeError::Packets(err.to_string())))? {
                    PublicOrSecret::Public(key) => public.push(key),
                    PublicOrSecret::Secret(_) => secret += 1,
                }
            }
        }
        if secret > 0 {
            return Err(fail(KeyDecodeError::PrivateKey));
        }
        if public.len() > 1 {
            return Err(fail(KeyDecodeError::MoreThanOneKey));
        }
        let key = public
            .pop()
            .ok_or_else(|| fail(KeyDecodeError::NoPublicKey))?;
        let signing_subkeys = key
            .public_subkeys
            .iter()
            .filter(|sub| is_signing_subkey(&key.primary_key, sub))
            .cloned()
            .collect();
        Ok(PublicKey {
            name: name.to_owned(),
            key,
            signing_subkeys,
        })
    }

    #[cfg(test)]
    /// The name the key was decoded under.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The 16-hex-digit uppercase long key ID of the primary key, such as `871920D1991BC93C`.
    pub(crate) fn key_id(&self) -> String {
        key_id_hex(&self.key.legacy_key_id())
    }

    /// The uppercase hex fingerprint of the primary key.
    pub(crate) fn fingerprint(&self) -> String {
        format!("{:X}", self.key.fingerprint())
    }

    /// The long key IDs of the subkeys that may verify signatures (see the module documentation).
    pub(crate) fn signing_subkey_ids(&self) -> Vec<String> {
        self.signing_subkeys
            .iter()
            .map(|sub| key_id_hex(&sub.legacy_key_id()))
            .collect()
    }

    /// Checks the key ID declared in the configuration against the key (chisel's check; the
    /// comparison is exact, so a lowercase ID is refused).
    pub(crate) fn check_id(&self, expected: &str) -> Result<(), KeyError> {
        let actual = self.key_id();
        if actual == expected {
            Ok(())
        } else {
            Err(KeyError::IncorrectId {
                name: self.name.clone(),
                expected: expected.to_owned(),
                actual,
            })
        }
    }

    /// The long key ID of the component key (primary or signing subkey) that verifies `sig` over
    /// `signed`, if any.
    fn verify(&self, sig: &Signature, signed: &[u8]) -> Option<String> {
        if sig.verify(&self.key.primary_key, signed).is_ok() {
            return Some(self.key_id());
        }
        self.signing_subkeys
            .iter()
            .find(|sub| sig.verify(&sub.key, signed).is_ok())
            .map(|sub| key_id_hex(&sub.legacy_key_id()))
    }
}

/// The text of an `InRelease` file whose signature has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedText {
    text: String,
    key_id: String,
    signer_key_id: String,
}

impl VerifiedText {
    #[cfg(any(test, feature = "fuzzing"))]
    /// The signed text (see the module documentation for its exact form).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The signed text, by value.
    pub(crate) fn into_text(self) -> String {
        self.text
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// The long key ID of the primary key of the [`PublicKey`] that verified the text.
    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    #[cfg(any(test, feature = "fuzzing"))]
    /// The long key ID of the key that made the signature: the primary key or a signing subkey.
    pub(crate) fn signer_key_id(&self) -> &str {
        &self.signer_key_id
    }
}

/// Verifies the cleartext-signed `data` (an `InRelease` file) with `keys` and returns the signed
/// text. See the module documentation for the rules.
pub(crate) fn verify_clearsigned(
    data: &[u8],
    keys: &[&PublicKey],
) -> Result<VerifiedText, VerifyError> {
    let malformed = |reason: String| VerifyError::Malformed { reason };
    let Ok(text) = std::str::from_utf8(data) else {
        return Err(malformed("the file is not valid UTF-8".to_owned()));
    };
    let block = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if !block.starts_with(CLEARSIGN_BEGIN) {
        return Err(if text.contains(CLEARSIGN_BEGIN) {
            malformed(format!("unexpected data before {CLEARSIGN_BEGIN}"))
        } else {
            VerifyError::NotSigned
        });
    }
    // pgp 0.21.0 takes any byte after the armour's last line ending, even whitespace, as trailing
    // data, so the block is handed over with exactly one final line ending.
    let block = format!("{block}\n");
    let (message, signed) = match split_clearsigned(&block) {
        // pgp reads the framing and the signatures, with an empty body.
        Some(split) => {
            let framing = format!("{}{}", split.header, split.signature);
            let (message, _headers) =
                CleartextSignedMessage::from_armor_buf(framing.as_bytes(), DearmorOptions::new())
                    .map_err(|err| malformed(err.to_string()))?;
            (message, signed_text(split.body))
        }
        // pgp says what is wrong with it.
        None => {
            let (message, _headers) =
                CleartextSignedMessage::from_armor_buf(block.as_bytes(), DearmorOptions::new())
                    .map_err(|err| malformed(err.to_string()))?;
            let signed = message.signed_text();
            (message, signed)
        }
    };
    if message.signatures().is_empty() {
        return Err(VerifyError::NotSigned);
    }

    let mut described = Vec::new();
    for sig in message.signatures() {
        let issuers = issuer_ids(sig);
        let issuers = if issuers.is_empty() {
            "an unknown key".to_owned()
        } else {
            issuers.join(" or ")
        };
        if let Some(refusal) = refuse_signature(sig) {
            described.push(format!("{issuers} ({refusal})"));
            continue;
        }
        described.push(issuers);
        for key in keys {
            if let Some(signer_key_id) = key.verify(sig, signed.as_bytes()) {
                return Ok(VerifiedText {
                    // In the signed text every '\n' follows a '\r', so this is reversible.
                    text: signed.replace("\r\n", "\n"),
                    key_id: key.key_id(),
                    signer_key_id,
                });
            }
        }
    }
    Err(VerifyError::BadSignature {
        signatures: described,
        tried: keys.iter().flat_map(|key| tried_ids(key)).collect(),
    })
}

/// A cleartext-signed block cut where pgp cuts it: the armour header line and its headers up to
/// the blank line, the dash-escaped body, and from the first line of the body that starts with
/// `-----` (the signature armour) to the end.
struct ClearsignedParts<'a> {
    header: &'a str,
    body: &'a str,
    signature: &'a str,
}

/// Splits `block` as pgp 0.21.0's `CleartextSignedMessage::from_armor_buf` does, or `None`
/// when it has no such parts (then pgp is left to say why).
///
/// pgp looks for the end of the body by searching all of the body read so far after every line,
/// which takes a quarter of a second of CPU over Ubuntu's 250 kB InRelease files; the body is
/// cut here with one search, and pgp gets the block without it (the framing and signatures are
/// still pgp's to read). The body ends at the first line that starts with `-----`, without the
/// line break before that line.
fn split_clearsigned(block: &str) -> Option<ClearsignedParts<'_>> {
    let Ok((after_header, _)) = pgp::armor::header_parser(block.as_bytes()) else {
        return None;
    };
    let body_start = block.len() - after_header.len();
    let rest = block.get(body_start..)?;
    let (body, signature_start) = if rest.starts_with("-----") {
        ("", body_start)
    } else {
        let line_break = rest.find("\n-----")?;
        let body = &rest[..line_break];
        (
            body.strip_suffix('\r').unwrap_or(body),
            body_start + line_break + 1,
        )
    };
    Some(ClearsignedParts {
        header: &block[..body_start],
        body,
        signature: &block[signature_start..],
    })
}

/// What the signatures over a cleartext body cover (RFC 9580, section 7.2), as pgp 0.21.0 forms
/// it: on each line, a leading `- ` removed and trailing spaces and tabs trimmed; then every
/// line ending, `\n` or `\r\n`, written as `\r\n`.
fn signed_text(body: &str) -> String {
    let mut unescaped = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        let ending = if line.ends_with("\r\n") {
            2
        } else {
            usize::from(line.ends_with('\n'))
        };
        let (content, end) = line.split_at(line.len() - ending);
        let content = content.strip_prefix("- ").unwrap_or(content);
        unescaped.push_str(content.trim_end_matches([' ', '\t']));
        unescaped.push_str(end);
    }
    let mut signed = String::with_capacity(unescaped.len() + unescaped.len() / 32);
    let mut lines = unescaped.split('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            signed.push_str(line);
            break;
        }
        signed.push_str(line.strip_suffix('\r').unwrap_or(line));
        signed.push_str("\r\n");
    }
    signed
}

/// Why `sig` is not even tried, if it is not.
fn refuse_signature(sig: &Signature) -> Option<String> {
    match sig.typ() {
        Some(SignatureType::Binary | SignatureType::Text) => {}
        Some(typ) => return Some(format!("signature type {typ:?} is not a data signature")),
        None => return Some("unsupported signature version".to_owned()),
    }
    match sig.hash_alg() {
        Some(
            HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha224
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512,
        ) => None,
        Some(hash) => Some(format!("hash algorithm {hash} is refused")),
        None => Some("unknown hash algorithm".to_owned()),
    }
}

/// The IDs a user can recognise `key` by, for error messages.
fn tried_ids(key: &PublicKey) -> Vec<String> {
    let primary = key.key_id();
    let mut ids = vec![primary.clone()];
    ids.extend(
        key.signing_subkey_ids()
            .into_iter()
            .map(|sub| format!("{sub} (subkey of {primary})")),
    );
    ids
}

/// The long key IDs named by the issuer subpackets of `sig`, without duplicates.
fn issuer_ids(sig: &Signature) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let from_ids = sig.issuer_key_id().into_iter().map(key_id_hex);
    let from_fingerprints = sig.issuer_fingerprint().into_iter().map(fingerprint_key_id);
    for id in from_ids.chain(from_fingerprints) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

fn key_id_hex(id: &KeyId) -> String {
    id.to_string().to_ascii_uppercase()
}

/// The long key ID that belongs to a fingerprint: its last 8 bytes for a v4 key, its first 8
/// bytes for later versions (RFC 9580, section 5.5.4).
fn fingerprint_key_id(fingerprint: &Fingerprint) -> String {
    let hex = format!("{fingerprint:X}");
    let id = if fingerprint.version() == Some(KeyVersion::V4) {
        hex.get(hex.len().saturating_sub(16)..)
    } else {
        hex.get(..16)
    };
    id.unwrap_or(&hex).to_owned()
}

/// Whether `sub` may verify data signatures for `primary` (see the module documentation).
fn is_signing_subkey(primary: &pgp::packet::PublicKey, sub: &SignedPublicSubKey) -> bool {
    let mut newest: Option<&Signature> = None;
    for sig in &sub.signatures {
        if sig.verify_subkey_binding(primary, &sub.key).is_err() {
            continue;
        }
        match sig.typ() {
            Some(SignatureType::SubkeyRevocation) => return false,
            Some(SignatureType::SubkeyBinding)
                if newest.is_none_or(|old| sig.created() > old.created()) =>
            {
                newest = Some(sig);
            }
            _ => {}
        }
    }
    newest.is_some_and(|binding| {
        binding.key_flags().sign()
            && binding
                .embedded_signature()
                .is_some_and(|back| back.verify_primary_key_binding(&sub.key, primary).is_ok())
    })
}

/// Byte offsets of the lines of `text` that open an armour block.
fn armor_block_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(ARMOR_BEGIN) {
            starts.push(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    starts
}

/// Decodes the first armour block of `text`.
///
/// The CRC-24 line is not checked: RFC 9580 says to ignore it, and
/// `DearmorOptions::enable_crc24_check` of pgp 0.21.0 refuses every non-empty block (it updates a
/// copy of its hasher). A damaged armour still fails to parse, or gives a key with another ID.
fn dearmor(text: &str) -> std::io::Result<Vec<u8>> {
    let mut reader = Dearmor::with_options(text.as_bytes(), DearmorOptions::new());
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use pgp::composed::{ArmorOptions, CleartextSignedMessage, Deserializable, SignedPublicKey};
    use pgp::packet::PacketTrait;
    use pgp::ser::Serialize;

    use super::*;
    use crate::testing::key::TestKey;
    use pgp::crypto::hash::HashAlgorithm;

    const RELEASE: &str = "Origin: Test\nLabel: Test\nSuite: test\nCodename: test\n\
        Architectures: amd64 arm64\nComponents: main\nSHA256:\n \
        0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 42 main/binary-amd64/Packages\n";

    fn decode_error(armor: &str) -> String {
        PublicKey::from_armor("test-key", armor)
            .expect_err("the armour must be refused")
            .to_string()
    }

    fn bad_signature(err: VerifyError) -> String {
        assert!(
            matches!(err, VerifyError::BadSignature { .. }),
            "expected BadSignature, got {err:?}"
        );
        err.to_string()
    }

    // --- Keys ---------------------------------------------------------------------------------

    #[test]
    fn generated_key_decodes_with_its_ids() {
        let key = TestKey::generate("gen");
        let public = PublicKey::from_armor("gen", key.public_armor()).unwrap();
        let id = public.key_id();
        assert_eq!(id.len(), 16);
        let upper_hex = |c: char| c.is_ascii_digit() || ('A'..='F').contains(&c);
        assert!(id.chars().all(upper_hex), "{id}");
        let fingerprint = public.fingerprint();
        assert_eq!(fingerprint.len(), 40);
        assert!(
            fingerprint.ends_with(&id),
            "v4 key ID is the fingerprint's tail"
        );
        assert_eq!(public.name(), "gen");
        assert!(public.signing_subkey_ids().is_empty());
        public.check_id(&id).unwrap();
    }

    #[test]
    fn key_id_check_is_exact() {
        let key = TestKey::generate("gen");
        let public = key.public_key();
        let lower = public.key_id().to_ascii_lowercase();
        assert_eq!(
            public.check_id(&lower).unwrap_err().to_string(),
            format!(
                "public key \"gen\" armor has incorrect ID: expected \"{lower}\", got \"{}\"",
                public.key_id()
            )
        );
    }

    #[test]
    fn garbage_armor_is_refused() {
        let expected = "cannot decode public key \"test-key\": cannot decode armored data";
        assert_eq!(decode_error(""), expected);
        assert_eq!(decode_error("Roses are red\nViolets are blue\n"), expected);
        assert_eq!(
            decode_error(
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!not*base64!!!\n\
                 -----END PGP PUBLIC KEY BLOCK-----\n"
            ),
            expected
        );
        // Cut short: no end line.
        let key = TestKey::generate("gen");
        let armor = key.public_armor();
        let cut = &armor[..armor.len() / 2];
        assert!(decode_error(cut).starts_with("cannot decode public key \"test-key\": "));
    }

    #[test]
    fn two_keys_in_one_armor_block_are_refused() {
        let first =
            SignedPublicKey::from_armor_single(TestKey::generate("a").public_armor().as_bytes());
        let second =
            SignedPublicKey::from_armor_single(TestKey::generate("b").public_armor().as_bytes());
        let mut bytes = first.unwrap().0.to_bytes().unwrap();
        bytes.extend(second.unwrap().0.to_bytes().unwrap());
        let mut armor = Vec::new();
        pgp::armor::write(
            &RawBytes(bytes),
            pgp::armor::BlockType::PublicKey,
            &mut armor,
            None,
            true,
        )
        .unwrap();
        assert_eq!(
            decode_error(std::str::from_utf8(&armor).unwrap()),
            "cannot decode public key \"test-key\": armored data contains more than one public key"
        );
    }

    /// Already-serialised packets, to armour them unchanged.
    struct RawBytes(Vec<u8>);

    impl Serialize for RawBytes {
        fn to_writer<W: std::io::Write>(&self, writer: &mut W) -> pgp::errors::Result<()> {
            writer.write_all(&self.0)?;
            Ok(())
        }

        fn write_len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn two_concatenated_armor_blocks_are_refused() {
        let armor = format!(
            "{}\n{}",
            TestKey::generate("a").public_armor(),
            TestKey::generate("b").public_armor()
        );
        assert_eq!(
            decode_error(&armor),
            "cannot decode public key \"test-key\": armored data contains more than one public key"
        );
    }

    #[test]
    fn secret_key_is_refused() {
        let key = TestKey::generate("gen");
        assert_eq!(
            decode_error(&key.secret_armor()),
            "cannot decode public key \"test-key\": armored data contains private key"
        );
        // A public key with a secret key after it, in two blocks.
        let both = format!("{}{}", key.public_armor(), key.secret_armor());
        assert_eq!(
            decode_error(&both),
            "cannot decode public key \"test-key\": armored data contains private key"
        );
    }

    #[test]
    fn armor_without_key_is_refused() {
        let empty = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert_eq!(
            decode_error(empty),
            "cannot decode public key \"test-key\": armored data contains no public key"
        );
        // A signature block has packets, but no key.
        let signed = TestKey::generate("gen").sign(RELEASE);
        let signature = &signed[signed.find("-----BEGIN PGP SIGNATURE-----").unwrap()..];
        assert_eq!(
            decode_error(signature),
            "cannot decode public key \"test-key\": armored data contains no public key"
        );
    }

    #[test]
    fn subkeys_make_one_key() {
        let key = TestKey::generate_with_signing_subkey("sub");
        let public = PublicKey::from_armor("sub", key.public_armor()).unwrap();
        assert_eq!(public.signing_subkey_ids().len(), 1);
        assert_ne!(public.signing_subkey_ids()[0], public.key_id());
        let auth = TestKey::generate_with_non_signing_subkey("auth");
        assert!(auth.public_key().signing_subkey_ids().is_empty());
    }

    // --- Verification with generated keys -----------------------------------------------------

    #[test]
    fn signed_text_verifies_with_its_key() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        let verified = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), RELEASE);
        assert_eq!(verified.key_id(), key.key_id());
        assert_eq!(verified.signer_key_id(), key.key_id());
        assert_eq!(verified.into_text(), RELEASE);
    }

    #[test]
    fn any_key_of_several_verifies() {
        let key = TestKey::generate("gen");
        let others = [TestKey::generate("x"), TestKey::generate("y")];
        let inrelease = key.sign(RELEASE);
        let keys = [
            others[0].public_key(),
            key.public_key(),
            others[1].public_key(),
        ];
        let verified = verify_clearsigned(inrelease.as_bytes(), &keys).unwrap();
        assert_eq!(verified.key_id(), key.key_id());
    }

    #[test]
    fn other_key_does_not_verify() {
        let key = TestKey::generate("gen");
        let other = TestKey::generate("other");
        let inrelease = key.sign(RELEASE);
        let err = verify_clearsigned(inrelease.as_bytes(), &[other.public_key()]).unwrap_err();
        assert_eq!(
            bad_signature(err),
            format!(
                "cannot verify signature of the InRelease file: signed by {}, expected one of {}",
                key.key_id(),
                other.key_id()
            )
        );
        let err = verify_clearsigned(inrelease.as_bytes(), &[]).unwrap_err();
        assert_eq!(
            bad_signature(err),
            format!(
                "cannot verify signature of the InRelease file: signed by {}, but no public key was given",
                key.key_id()
            )
        );
    }

    #[test]
    fn tampered_text_does_not_verify() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        for (from, to) in [
            ("Suite: test", "Suite: tesT"),
            (" 42 main", " 43 main"),
            ("Origin: Test\n", "Origin: Test\nValid-Until: never\n"),
            ("Codename: test\n", ""),
        ] {
            let tampered = inrelease.replacen(from, to, 1);
            assert_ne!(tampered, inrelease);
            let err = verify_clearsigned(tampered.as_bytes(), &[key.public_key()]).unwrap_err();
            bad_signature(err);
        }
    }

    #[test]
    fn tampered_signature_does_not_verify() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        let (packet, header_len) = signature_packet(&inrelease);
        // A v4 signature body: version, type, key and hash algorithms, then the hashed and the
        // unhashed subpacket areas, each after a two-byte length. The unhashed area (where the
        // issuer key ID sits) is not covered by the signature, so changing it is no tampering.
        let body = &packet[header_len..];
        let hashed_len = usize::from(u16::from_be_bytes([body[4], body[5]]));
        let unhashed_at = 6 + hashed_len;
        let unhashed_len = usize::from(u16::from_be_bytes([
            body[unhashed_at],
            body[unhashed_at + 1],
        ]));
        let unhashed_end = header_len + unhashed_at + 2 + unhashed_len;
        let unhashed = header_len + unhashed_at + 2..unhashed_end;
        // Then two bytes of the hash, and the two EdDSA values as MPIs, each after a two-byte bit
        // count; a bit count that still gives the same number of bytes changes nothing.
        let first_mpi = unhashed_end + 2;
        let first_bits = usize::from(u16::from_be_bytes([
            packet[first_mpi],
            packet[first_mpi + 1],
        ]));
        let second_mpi = first_mpi + 2 + first_bits.div_ceil(8);
        let unauthenticated = |index: &usize| {
            unhashed.contains(index)
                || (first_mpi..first_mpi + 2).contains(index)
                || (second_mpi..second_mpi + 2).contains(index)
        };

        for index in (0..packet.len()).filter(|index| !unauthenticated(index)) {
            for bit in [0x01, 0x80] {
                let mut tampered = packet.clone();
                tampered[index] ^= bit;
                let data = replace_signature(&inrelease, &tampered);
                let result = verify_clearsigned(data.as_bytes(), &[key.public_key()]);
                assert!(
                    result.is_err(),
                    "flipping bit {bit:#x} of byte {index} still verified"
                );
            }
        }
    }

    /// The (first) signature packet of `inrelease`, and the length of its packet header.
    fn signature_packet(inrelease: &str) -> (Vec<u8>, usize) {
        let (message, _) = CleartextSignedMessage::from_string(inrelease).unwrap();
        let signature = &message.signatures()[0];
        let mut packet = Vec::new();
        signature.to_writer_with_header(&mut packet).unwrap();
        let header_len = packet.len() - signature.to_bytes().unwrap().len();
        (packet, header_len)
    }

    /// `inrelease` with its signature block replaced by one holding `packets`.
    fn replace_signature(inrelease: &str, packets: &[u8]) -> String {
        let text_part = &inrelease[..inrelease.find("-----BEGIN PGP SIGNATURE-----").unwrap()];
        let mut armor = Vec::new();
        pgp::armor::write(
            &RawBytes(packets.to_vec()),
            pgp::armor::BlockType::Signature,
            &mut armor,
            None,
            true,
        )
        .unwrap();
        format!("{text_part}{}", std::str::from_utf8(&armor).unwrap())
    }

    #[test]
    fn any_signature_of_several_verifies() {
        let first = TestKey::generate("first");
        let second = TestKey::generate("second");
        let third = TestKey::generate("third");
        let inrelease = TestKey::sign_many(&[&first, &second], RELEASE);
        for key in [&first, &second] {
            let verified = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap();
            assert_eq!(verified.key_id(), key.key_id());
            assert_eq!(verified.text(), RELEASE);
        }
        let err = verify_clearsigned(inrelease.as_bytes(), &[third.public_key()]).unwrap_err();
        assert_eq!(
            bad_signature(err),
            format!(
                "cannot verify signature of the InRelease file: signed by {}, {}, expected one of {}",
                first.key_id(),
                second.key_id(),
                third.key_id()
            )
        );
    }

    #[test]
    fn signing_subkey_verifies() {
        let key = TestKey::generate_with_signing_subkey("sub");
        let inrelease = key.sign(RELEASE);
        let verified = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.key_id(), key.key_id());
        let subkey_id = &key.public_key().signing_subkey_ids()[0];
        assert_eq!(verified.signer_key_id(), subkey_id);
        assert_eq!(verified.text(), RELEASE);

        let other = TestKey::generate_with_signing_subkey("other");
        let err = verify_clearsigned(inrelease.as_bytes(), &[other.public_key()]).unwrap_err();
        let other_sub = &other.public_key().signing_subkey_ids()[0];
        assert_eq!(
            bad_signature(err),
            format!(
                "cannot verify signature of the InRelease file: signed by {subkey_id}, expected one of {}, {other_sub} (subkey of {})",
                other.key_id(),
                other.key_id()
            )
        );
    }

    #[test]
    fn non_signing_subkey_does_not_verify() {
        let key = TestKey::generate_with_non_signing_subkey("auth");
        let inrelease = key.sign(RELEASE);
        let err = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap_err();
        bad_signature(err);
    }

    #[test]
    fn weak_hashes_and_other_signature_types_are_refused() {
        let key = TestKey::generate("gen");
        let id = key.key_id();
        let refused = |inrelease: &str, note: &str| {
            let err = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap_err();
            assert_eq!(
                bad_signature(err),
                format!(
                    "cannot verify signature of the InRelease file: signed by {id} ({note}), expected one of {id}"
                )
            );
        };
        // Other hashes and a binary signature verify.
        for (hash, typ) in [
            (HashAlgorithm::Sha512, SignatureType::Binary),
            (HashAlgorithm::Sha3_256, SignatureType::Text),
        ] {
            let inrelease = key.sign_with(RELEASE, hash, typ);
            let verified = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap();
            assert_eq!(verified.text(), RELEASE);
        }
        // The pgp crate makes data signatures only, and refuses to make Ed25519 signatures with
        // weak hashes (it verifies RSA ones, though). So relabel the signature type (the second
        // byte of a v4 signature) or the hash algorithm (the fourth) of a real signature: these
        // signatures must be refused before any verification is tried.
        let inrelease = key.sign(RELEASE);
        for (offset, value, note) in [
            (1, 0x02, "signature type Standalone is not a data signature"),
            (
                1,
                0x13,
                "signature type CertPositive is not a data signature",
            ),
            (3, 1, "hash algorithm MD5 is refused"),
            (3, 2, "hash algorithm SHA1 is refused"),
            (3, 3, "hash algorithm RIPEMD160 is refused"),
        ] {
            let (mut packet, header_len) = signature_packet(&inrelease);
            packet[header_len + offset] = value;
            refused(&replace_signature(&inrelease, &packet), note);
        }
    }

    #[test]
    fn dash_escaping_and_whitespace() {
        let key = TestKey::generate("gen");
        let text = "Origin: Test\n- not a list\n-----BEGIN PGP SIGNATURE-----\n--\nEnd: here\n";
        let inrelease = key.sign(text);
        assert!(inrelease.contains("\n- -----BEGIN PGP SIGNATURE-----\n"));
        let verified = verify_clearsigned(inrelease.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), text);

        // Trailing spaces are not covered by the signature, so they may be added but are not
        // returned; "\r\n" line endings likewise.
        let padded = inrelease.replace("Origin: Test\n", "Origin: Test \t \n");
        let verified = verify_clearsigned(padded.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), text);
        let crlf = inrelease.replace('\n', "\r\n");
        let verified = verify_clearsigned(crlf.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), text);

        // A text without a final newline keeps none.
        let bare = "Origin: Test\nLabel: Test";
        let verified = verify_clearsigned(key.sign(bare).as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), bare);
    }

    #[test]
    fn the_body_is_cut_and_normalised_exactly_as_pgp_does() {
        let key = TestKey::generate("gen");
        let bodies = [
            RELEASE,
            "",
            "\n",
            "one line",
            "- dash escaped\n-- two\n- - nested\n",
            "trailing \t \nspaces\t\n",
            "cr before space \r \nlone \r cr\r\r\nend\r",
            "-----BEGIN looks like armour\n",
            "ends with a blank line\n\n",
        ];
        for body in bodies {
            let signed = key.sign(body);
            for block in [signed.clone(), signed.replace('\n', "\r\n")] {
                let block = format!(
                    "{}\n",
                    block.trim_matches(|c: char| c.is_ascii_whitespace())
                );
                let (message, _) =
                    CleartextSignedMessage::from_armor_buf(block.as_bytes(), DearmorOptions::new())
                        .unwrap();
                let parts = split_clearsigned(&block).expect("a clearsigned block");
                assert_eq!(parts.body, message.text(), "{body:?}");
                assert_eq!(signed_text(parts.body), message.signed_text(), "{body:?}");
                let framing = format!("{}{}", parts.header, parts.signature);
                let (bare, _) = CleartextSignedMessage::from_armor_buf(
                    framing.as_bytes(),
                    DearmorOptions::new(),
                )
                .unwrap();
                assert_eq!(bare.signatures(), message.signatures());
                // The verdict and the text are those of the whole block read by pgp (pgp's
                // signer keeps trailing spaces in what it hashes, so that body never verifies).
                let expected = message.signed_text();
                let by_pgp = message
                    .signatures()
                    .iter()
                    .any(|sig| key.public_key().verify(sig, expected.as_bytes()).is_some());
                let verified = verify_clearsigned(block.as_bytes(), &[key.public_key()]);
                assert_eq!(
                    verified.ok().map(|verified| verified.text().to_owned()),
                    by_pgp.then(|| expected.replace("\r\n", "\n")),
                    "{body:?}"
                );
                assert_eq!(
                    by_pgp,
                    !body.contains(" \n") && !body.contains("\t\n"),
                    "{body:?}"
                );
            }
        }
    }

    #[test]
    fn unsigned_text_is_refused() {
        let key = TestKey::generate("gen");
        for data in [RELEASE, "", "\n\n", "garbage \u{1f980}"] {
            let err = verify_clearsigned(data.as_bytes(), &[key.public_key()]).unwrap_err();
            assert_eq!(err, VerifyError::NotSigned);
            assert_eq!(err.to_string(), "cannot decode clearsigned InRelease file");
        }
        let err = verify_clearsigned(b"\xff\xfe", &[key.public_key()]).unwrap_err();
        assert!(matches!(err, VerifyError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn missing_or_broken_signature_block_is_refused() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        let start = inrelease.find("-----BEGIN PGP SIGNATURE-----").unwrap();
        let header_end = start + inrelease[start..].find("\n\n").unwrap() + 2;
        let end = inrelease.find("-----END PGP SIGNATURE-----").unwrap();
        let cases = [
            // No signature block at all.
            inrelease[..start].to_owned(),
            // No signature packets.
            format!("{}{}", &inrelease[..header_end], &inrelease[end..]),
            // Garbage instead of packets.
            format!(
                "{}AAAAAAAAAAAAAAAA\n{}",
                &inrelease[..header_end],
                &inrelease[end..]
            ),
            format!("{}!!!!\n{}", &inrelease[..header_end], &inrelease[end..]),
            // Cut off in the middle of the signature.
            inrelease[..(start + end) / 2].to_owned(),
            // Another kind of block instead of a signature.
            format!("{}{}", &inrelease[..start], key.public_armor()),
        ];
        for case in cases {
            let err = verify_clearsigned(case.as_bytes(), &[key.public_key()]).unwrap_err();
            assert!(
                matches!(err, VerifyError::NotSigned | VerifyError::Malformed { .. }),
                "{err:?} for\n{case}"
            );
            let message = err.to_string();
            assert!(message.starts_with("cannot decode clearsigned InRelease file"));
        }
    }

    #[test]
    fn truncated_files_are_refused_without_panic() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        let end = inrelease.trim_end().len();
        for cut in (0..end).filter(|&cut| inrelease.is_char_boundary(cut)) {
            let result = verify_clearsigned(&inrelease.as_bytes()[..cut], &[key.public_key()]);
            assert!(result.is_err(), "cut at {cut} still verified");
        }
    }

    #[test]
    fn surrounding_data_is_refused_except_whitespace() {
        let key = TestKey::generate("gen");
        let inrelease = key.sign(RELEASE);
        let padded = format!("\n \n{inrelease}\n\n");
        let verified = verify_clearsigned(padded.as_bytes(), &[key.public_key()]).unwrap();
        assert_eq!(verified.text(), RELEASE);

        for data in [
            format!("Origin: Evil\n{inrelease}"),
            format!("{inrelease}Origin: Evil\n"),
            format!("{inrelease}{inrelease}"),
        ] {
            let err = verify_clearsigned(data.as_bytes(), &[key.public_key()]).unwrap_err();
            assert!(matches!(err, VerifyError::Malformed { .. }), "{err:?}");
        }
    }

    #[test]
    fn public_armor_round_trips() {
        // The armour of a generated public key survives a round trip through the pgp crate's
        // own parser, so test keys can be written to files and read back.
        let key = TestKey::generate("gen");
        let (parsed, _) = SignedPublicKey::from_string(key.public_armor()).unwrap();
        let again = parsed.to_armored_string(ArmorOptions::default()).unwrap();
        let public = PublicKey::from_armor("again", &again).unwrap();
        let verified = verify_clearsigned(key.sign(RELEASE).as_bytes(), &[&public]).unwrap();
        assert_eq!(verified.key_id(), key.key_id());
    }

    // --- Real Ubuntu data from ../shared (skipped when absent) ---------------------------------

    const CHISEL_YAML: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/chisel-releases/ubuntu-24.04/chisel.yaml"
    );
    const INRELEASE_FILES: [&str; 3] = [
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/noble-mirror/ubuntu/dists/noble/InRelease"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/noble-mirror/ubuntu/dists/noble-security/InRelease"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/noble-mirror/ubuntu/dists/noble-updates/InRelease"
        ),
    ];

    /// A key under `public-keys:` in a chisel.yaml.
    struct YamlKey {
        name: String,
        id: String,
        armor: String,
    }

    /// The keys of the `public-keys:` section of `yaml`, read with simple line handling: names
    /// indented 2 spaces, `id:` and `armor: |` indented 4, the armour lines indented 6.
    fn yaml_keys(yaml: &str) -> Vec<YamlKey> {
        let mut keys: Vec<YamlKey> = Vec::new();
        let mut in_section = false;
        let mut in_armor = false;
        for line in yaml.lines() {
            let indent = line.len() - line.trim_start().len();
            let content = line.trim();
            if in_armor {
                if content.is_empty() {
                    keys.last_mut().unwrap().armor.push('\n');
                    continue;
                }
                if indent >= 6 {
                    let armor = &mut keys.last_mut().unwrap().armor;
                    armor.push_str(&line[6..]);
                    armor.push('\n');
                    continue;
                }
                in_armor = false;
            }
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if indent == 0 {
                in_section = content == "public-keys:";
                continue;
            }
            if !in_section {
                continue;
            }
            if indent == 2 && content.ends_with(':') {
                keys.push(YamlKey {
                    name: content.trim_end_matches(':').to_owned(),
                    id: String::new(),
                    armor: String::new(),
                });
            } else if indent == 4 {
                if let Some(id) = content.strip_prefix("id:") {
                    keys.last_mut().unwrap().id = id.trim().trim_matches('"').to_owned();
                } else if content == "armor: |" {
                    in_armor = true;
                }
            }
        }
        keys
    }

    /// The chisel.yaml keys and the three InRelease files, or `None` when ../shared is absent.
    #[expect(clippy::print_stderr, reason = "the skip notice is the point")]
    fn ubuntu_data() -> Option<(Vec<YamlKey>, Vec<Vec<u8>>)> {
        let Ok(yaml) = fs_err::read_to_string(CHISEL_YAML) else {
            eprintln!("skipping: ../shared absent");
            return None;
        };
        let mut files = Vec::new();
        for path in INRELEASE_FILES {
            match fs_err::read(path) {
                Ok(data) => files.push(data),
                Err(_) => {
                    eprintln!("skipping: ../shared absent");
                    return None;
                }
            }
        }
        Some((yaml_keys(&yaml), files))
    }

    fn yaml_key<'a>(keys: &'a [YamlKey], name: &str) -> &'a YamlKey {
        keys.iter()
            .find(|key| key.name == name)
            .unwrap_or_else(|| panic!("no key {name:?} in chisel.yaml"))
    }

    #[test]
    fn ubuntu_key_ids_match_chisel_yaml() {
        let Some((keys, _)) = ubuntu_data() else {
            return;
        };
        let names: Vec<&str> = keys.iter().map(|key| key.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ubuntu-archive-key-2018",
                "ubuntu-apps-key",
                "ubuntu-esm-key-v2"
            ]
        );
        for key in &keys {
            let public = PublicKey::from_armor(&key.name, &key.armor).unwrap();
            assert_eq!(public.key_id(), key.id, "{}", key.name);
            public.check_id(&key.id).unwrap();
            assert!(public.fingerprint().ends_with(&key.id));
            assert!(public.check_id("0123456789ABCDEF").is_err());
        }
        let archive = yaml_key(&keys, "ubuntu-archive-key-2018");
        assert_eq!(archive.id, "871920D1991BC93C");
        let public = PublicKey::from_armor(&archive.name, &archive.armor).unwrap();
        assert_eq!(
            public.fingerprint(),
            "F6ECB3762474EDA9D21B7022871920D1991BC93C"
        );
    }

    #[test]
    fn ubuntu_inrelease_files_verify() {
        let Some((keys, files)) = ubuntu_data() else {
            return;
        };
        let archive = yaml_key(&keys, "ubuntu-archive-key-2018");
        let key = PublicKey::from_armor(&archive.name, &archive.armor).unwrap();
        for data in &files {
            let verified = verify_clearsigned(data, &[&key]).unwrap();
            assert_eq!(verified.key_id(), "871920D1991BC93C");
            assert_eq!(verified.signer_key_id(), "871920D1991BC93C");
            assert!(verified.text().starts_with("Origin: Ubuntu\n"));
            // The text is the body of the file: no dash-escaped lines occur in it.
            let file = std::str::from_utf8(data).unwrap();
            let body_start = file.find("\n\n").unwrap() + 2;
            let body_end = file.find("\n-----BEGIN PGP SIGNATURE-----").unwrap();
            assert_eq!(verified.text(), &file[body_start..body_end]);
        }
    }

    #[test]
    fn ubuntu_inrelease_flipped_byte_does_not_verify() {
        let Some((keys, files)) = ubuntu_data() else {
            return;
        };
        let archive = yaml_key(&keys, "ubuntu-archive-key-2018");
        let key = PublicKey::from_armor(&archive.name, &archive.armor).unwrap();
        for data in &files {
            let file = std::str::from_utf8(data).unwrap();
            let label = file.find("Label: Ubuntu").unwrap();
            let body_end = file.find("-----BEGIN PGP SIGNATURE-----").unwrap();
            // One byte in the Label field, one in the middle of the digests.
            for index in [label + "Label: Ubunt".len(), (label + body_end) / 2] {
                let mut tampered = data.clone();
                tampered[index] = if tampered[index] == b'0' { b'1' } else { b'0' };
                let err = verify_clearsigned(&tampered, &[&key]).unwrap_err();
                assert_eq!(
                    bad_signature(err),
                    "cannot verify signature of the InRelease file: signed by 871920D1991BC93C, \
                     expected one of 871920D1991BC93C"
                );
            }
        }
    }

    #[test]
    fn ubuntu_inrelease_needs_the_archive_key() {
        let Some((keys, files)) = ubuntu_data() else {
            return;
        };
        let apps = yaml_key(&keys, "ubuntu-apps-key");
        let apps = PublicKey::from_armor(&apps.name, &apps.armor).unwrap();
        let esm = yaml_key(&keys, "ubuntu-esm-key-v2");
        let esm = PublicKey::from_armor(&esm.name, &esm.armor).unwrap();
        let archive = yaml_key(&keys, "ubuntu-archive-key-2018");
        let archive = PublicKey::from_armor(&archive.name, &archive.armor).unwrap();
        for data in &files {
            for others in [vec![&apps], vec![&esm], vec![&apps, &esm]] {
                let err = verify_clearsigned(data, &others).unwrap_err();
                let message = bad_signature(err);
                assert!(
                    message.contains("signed by 871920D1991BC93C, expected one of "),
                    "{message}"
                );
                assert!(message.contains(&apps.key_id()) || message.contains(&esm.key_id()));
            }
            // With the archive key among them, it verifies.
            let verified = verify_clearsigned(data, &[&apps, &esm, &archive]).unwrap();
            assert_eq!(verified.key_id(), "871920D1991BC93C");
        }
    }
}
