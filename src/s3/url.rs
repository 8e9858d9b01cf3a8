//! `s3://bucket/key`: parsed and checked before any call, so a mistyped URL is a usage error,
//! not a local file named `s3:`.

use std::ffi::OsStr;
use std::fmt;

/// An object (`s3://bucket/key`) or a prefix (`s3://bucket/prefix/`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Url {
    pub bucket: String,
    pub key: String,
}

const SCHEME: &str = "s3://";

/// Whether a command-line value names S3 (then it must parse as an [`S3Url`]).
pub fn is_s3(arg: &OsStr) -> bool {
    arg.as_encoded_bytes().starts_with(SCHEME.as_bytes())
}

impl S3Url {
    /// An object: `s3://bucket/key`, the key neither empty nor ending in `/`.
    pub fn object(arg: &OsStr) -> Result<S3Url, String> {
        let url = S3Url::parse(arg)?;
        if url.key.is_empty() || url.key.ends_with('/') {
            return Err(format!("{url}: name an object, s3://BUCKET/KEY"));
        }
        Ok(url)
    }

    /// A prefix: `s3://bucket/`, `s3://bucket/prefix` or `s3://bucket/prefix/` (a `/` is added).
    pub fn prefix(arg: &OsStr) -> Result<S3Url, String> {
        let mut url = S3Url::parse(arg)?;
        if !url.key.is_empty() && !url.key.ends_with('/') {
            url.key.push('/');
        }
        Ok(url)
    }

    fn parse(arg: &OsStr) -> Result<S3Url, String> {
        let shown = || crate::suppress::excerpt(&arg.to_string_lossy());
        let text = arg
            .to_str()
            .ok_or_else(|| format!("{}: an S3 URL is UTF-8", shown()))?;
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| format!("{}: not an s3:// URL", shown()))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        // The rules of bucket names (general purpose buckets), so that a typo fails here.
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !bucket.contains("..");
        if !valid {
            return Err(format!(
                "{}: `{}` is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)",
                shown(),
                crate::suppress::excerpt(bucket)
            ));
        }
        if key.len() > 1024 || key.chars().any(char::is_control) {
            return Err(format!(
                "{}: an S3 key is at most 1024 bytes, without control characters",
                shown()
            ));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The object `name` under this prefix.
    pub fn join(&self, name: &str) -> S3Url {
        S3Url {
            bucket: self.bucket.clone(),
            key: format!("{}{name}", self.key),
        }
    }

    /// The last part of the key: a local copy's file name.
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn objects_and_prefixes() {
        let url = S3Url::object(os("s3://audit-results/nightly/scan.json")).unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.key.as_str()),
            ("audit-results", "nightly/scan.json")
        );
        assert_eq!(url.to_string(), "s3://audit-results/nightly/scan.json");
        assert_eq!(url.file_name(), "scan.json");
        assert_eq!(
            S3Url::prefix(os("s3://b.example/history")).unwrap().key,
            "history/"
        );
        assert_eq!(S3Url::prefix(os("s3://b-1/h/")).unwrap().key, "h/");
        assert_eq!(S3Url::prefix(os("s3://b-1")).unwrap().key, "");
        assert_eq!(
            S3Url::prefix(os("s3://b-1/h"))
                .unwrap()
                .join("ecaudit-x.scan.json")
                .to_string(),
            "s3://b-1/h/ecaudit-x.scan.json"
        );
        assert!(is_s3(os("s3://x")) && !is_s3(os("./s3://x")) && !is_s3(os("S3.json")));
    }

    #[test]
    fn what_is_refused() {
        for (arg, why) in [
            ("s3://bucket", "name an object"),
            ("s3://bucket/dir/", "name an object"),
            ("s3://Bucket/k", "not an S3 bucket name"),
            ("s3://ab/k", "not an S3 bucket name"),
            ("s3://-ab/k", "not an S3 bucket name"),
            ("s3://a..b/k", "not an S3 bucket name"),
            ("s3:///k", "not an S3 bucket name"),
            ("s3://bucket/a\nb", "without control characters"),
        ] {
            let e = S3Url::object(os(arg)).unwrap_err();
            assert!(e.contains(why), "{arg}: {e}");
        }
    }
}
