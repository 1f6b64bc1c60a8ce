//! SHA-256 in hex, as manifests carry a report's digest and the decision log chains its
//! lines.

use sha2::Digest;

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
