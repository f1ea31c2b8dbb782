//! Test keys and signed `InRelease` files, for tests anywhere in the crate.
//!
//! ```text
//! use crate::testing::key::TestKey;
//!
//! let key = TestKey::generate("test-key");
//! let inrelease = key.sign("Origin: Test\nLabel: Test\nSuite: test\n");
//! // Put `key.public_armor()` under `public-keys:` in a test chisel.yaml (with `key.key_id()` as
//! // its `id`), and serve `inrelease` as `dists/<suite>/InRelease`.
//! ```
//!
//! Keys are Ed25519 (v4, "EdDSA legacy", as gpg makes them), so generating one takes
//! milliseconds even in a debug build. Every call makes a new random key.
use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, KeyType, SecretKeyParamsBuilder, SignedPublicKey,
    SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{Password, SigningKey, Timestamp};

use crate::openpgp::PublicKey;

/// A generated key pair, with the public half already decoded as a [`PublicKey`].
pub(crate) struct TestKey {
    secret: SignedSecretKey,
    public: PublicKey,
    public_armor: String,
    /// Which secret subkey signs; `None` for the primary key.
    signing_subkey: Option<usize>,
}

/// What [`TestKey::build`] makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The primary key signs (like the Ubuntu archive key).
    Primary,
    /// A certify-only primary key with a signing subkey, which signs.
    SigningSubkey,
    /// A certify-only primary key with an authentication-only subkey, which signs anyway:
    /// such signatures must not verify.
    NonSigningSubkey,
}

impl TestKey {
    /// A key whose primary key signs, like the Ubuntu archive key.
    pub(crate) fn generate(name: &str) -> TestKey {
        TestKey::build(name, Shape::Primary)
    }

    /// A key with a certify-only primary key and a signing subkey that makes the signatures.
    pub(crate) fn generate_with_signing_subkey(name: &str) -> TestKey {
        TestKey::build(name, Shape::SigningSubkey)
    }

    /// A key whose only subkey is not signing-capable, but makes the signatures anyway: its
    /// `InRelease` files must not verify.
    pub(crate) fn generate_with_non_signing_subkey(name: &str) -> TestKey {
        TestKey::build(name, Shape::NonSigningSubkey)
    }

    fn build(name: &str, shape: Shape) -> TestKey {
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(shape == Shape::Primary)
            .primary_user_id(format!("{name} <{name}@example.invalid>"));
        if shape != Shape::Primary {
            let subkey = SubkeyParamsBuilder::default()
                .key_type(KeyType::Ed25519Legacy)
                .can_sign(shape == Shape::SigningSubkey)
                .can_authenticate(shape == Shape::NonSigningSubkey)
                .build()
                .expect("subkey parameters");
            params.subkey(subkey);
        }
        let secret = params
            .build()
            .expect("key parameters")
            .generate(rand::thread_rng())
            .expect("key generation");
        let public_armor = SignedPublicKey::from(secret.clone())
            .to_armored_string(ArmorOptions::default())
            .expect("armouring the public key");
        let public = PublicKey::from_armor(name, &public_armor).expect("decoding the public key");
        TestKey {
            secret,
            public,
            public_armor,
            signing_subkey: (shape != Shape::Primary).then_some(0),
        }
    }

    /// The public key, decoded.
    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key, ASCII-armoured (for a test `chisel.yaml`).
    pub(crate) fn public_armor(&self) -> &str {
        &self.public_armor
    }

    /// The secret key, ASCII-armoured.
    pub(crate) fn secret_armor(&self) -> String {
        self.secret
            .to_armored_string(ArmorOptions::default())
            .expect("armouring the secret key")
    }

    /// The long key ID of the primary key, as `chisel.yaml` declares it.
    pub(crate) fn key_id(&self) -> String {
        self.public.key_id()
    }

    /// Signs `text` (the contents of a `Release` file) into an `InRelease` file.
    pub(crate) fn sign(&self, text: &str) -> String {
        TestKey::sign_many(&[self], text)
    }

    /// Signs `text` with every key in `keys` into one `InRelease` file with one signature per
    /// key.
    pub(crate) fn sign_many(keys: &[&TestKey], text: &str) -> String {
        let message = CleartextSignedMessage::new_many(text, |normalized| {
            Ok(keys
                .iter()
                .map(|key| key.signature(normalized.as_bytes()))
                .collect())
        })
        .expect("signing");
        message
            .to_armored_string(ArmorOptions::default())
            .expect("armouring the signed message")
    }

    /// Signs `text` like [`TestKey::sign`], but with the given hash algorithm and signature
    /// type, to make signatures that must be refused (SHA-1, a certification, ...).
    pub(crate) fn sign_with(&self, text: &str, hash: HashAlgorithm, typ: SignatureType) -> String {
        let message = CleartextSignedMessage::new_many(text, |normalized| {
            Ok(vec![self.signature_with(normalized.as_bytes(), hash, typ)])
        })
        .expect("signing");
        message
            .to_armored_string(ArmorOptions::default())
            .expect("armouring the signed message")
    }

    /// A text signature over `data` (already normalised to "\r\n" line endings).
    fn signature(&self, data: &[u8]) -> pgp::packet::Signature {
        self.signature_with(data, HashAlgorithm::Sha256, SignatureType::Text)
    }

    fn signature_with(
        &self,
        data: &[u8],
        hash: HashAlgorithm,
        typ: SignatureType,
    ) -> pgp::packet::Signature {
        match self.signing_subkey {
            None => signature_by(&self.secret.primary_key, data, hash, typ),
            Some(index) => signature_by(&self.secret.secret_subkeys[index].key, data, hash, typ),
        }
    }
}

fn signature_by(
    key: &impl SigningKey,
    data: &[u8],
    hash: HashAlgorithm,
    typ: SignatureType,
) -> pgp::packet::Signature {
    let mut config =
        SignatureConfig::from_key(rand::thread_rng(), key, typ).expect("signature configuration");
    config.hash_alg = hash;
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::now()))
            .expect("subpacket"),
        Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint())).expect("subpacket"),
    ];
    let issuer = SubpacketData::IssuerKeyId(key.legacy_key_id());
    config.unhashed_subpackets = vec![Subpacket::regular(issuer).expect("subpacket")];
    config.sign(key, &Password::empty(), data).expect("signing")
}
