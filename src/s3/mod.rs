//! S3 wherever a file goes: `s3://bucket/key` for an output or an input, `s3://bucket/prefix/`
//! for a history. Outputs are rendered to a local temporary file, then uploaded as one object
//! (S3 never shows part of an object: a failed upload leaves the previous object, or none);
//! inputs are downloaded to a private temporary directory first, and messages name the object,
//! never the local copy.
//!
//! One client for the process, made on first use with the scan's credential chain, `--profile`
//! and `--endpoint-url` ([`configure`]), on its own runtime: S3 is reached from synchronous code
//! (an output's writer, the history), never from inside the collection's runtime.

mod client;
mod copies;
mod url;

use std::sync::OnceLock;

pub use client::{Listed, Store};
pub use copies::{input, remove_copies, shown};
pub use url::{S3Url, is_s3};

/// Server-side encryption asked of every object written (`--s3-sse`, `--s3-kms-key-id`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Sse {
    /// The bucket's default.
    #[default]
    Bucket,
    /// `AES256`: S3-managed keys.
    Aes256,
    /// `aws:kms`, with this key (id, alias or ARN) or the account's `aws/s3` key.
    Kms(Option<String>),
}

impl Sse {
    /// From `--s3-sse` and `--s3-kms-key-id`.
    pub fn from_flags(sse: Option<&str>, key: Option<&str>) -> Result<Sse, String> {
        match (sse, key) {
            (None, None) => Ok(Sse::Bucket),
            (Some("AES256"), None) => Ok(Sse::Aes256),
            (Some("aws:kms"), key) => Ok(Sse::Kms(key.map(str::to_string))),
            (Some("AES256"), Some(_)) | (None, Some(_)) => {
                Err("--s3-kms-key-id needs --s3-sse aws:kms".into())
            }
            (Some(other), _) => Err(format!(
                "--s3-sse takes aws:kms or AES256, not `{}`",
                crate::suppress::excerpt(other)
            )),
        }
    }
}

/// How the process reaches S3: the scan's credential chain and endpoint, and the encryption of
/// what it writes.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub sse: Sse,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static STORE: OnceLock<Result<Store, String>> = OnceLock::new();

/// Sets how S3 is reached; the first call wins (a command calls it once, before its inputs are
/// read). Without a call, the default credential chain and the bucket's encryption are used.
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The process's client, made on first use.
pub fn store() -> Result<&'static Store, Error> {
    STORE
        .get_or_init(|| Store::new(SETTINGS.get_or_init(Settings::default)))
        .as_ref()
        .map_err(|why| Error {
            url: "s3".into(),
            what: "cannot reach S3",
            message: why.clone(),
        })
}

/// An S3 call that failed: the object or prefix, what was being done, and AWS's code and message.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {what}: {message}")]
pub struct Error {
    pub url: String,
    pub what: &'static str,
    pub message: String,
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::other(format!("{}: {}", e.what, e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_flags() {
        assert_eq!(Sse::from_flags(None, None), Ok(Sse::Bucket));
        assert_eq!(Sse::from_flags(Some("AES256"), None), Ok(Sse::Aes256));
        assert_eq!(Sse::from_flags(Some("aws:kms"), None), Ok(Sse::Kms(None)));
        assert_eq!(
            Sse::from_flags(Some("aws:kms"), Some("alias/ecaudit")),
            Ok(Sse::Kms(Some("alias/ecaudit".into())))
        );
        assert!(
            Sse::from_flags(None, Some("k"))
                .unwrap_err()
                .contains("needs --s3-sse aws:kms")
        );
        assert!(
            Sse::from_flags(Some("kms"), None)
                .unwrap_err()
                .contains("aws:kms or AES256")
        );
    }
}
