//! Byte sizes as people write them (`512MiB`, `1GiB`, `200MB`, `1048576`): the limit on the size
//! of untrusted documents (Terraform states and plans, inventories compared with them).

use std::fmt;
use std::str::FromStr;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The default limit of a document from a pull request or a shared backend: larger ones are
    /// refused before they are read whole (a real state of thousands of resources is tens of MiB).
    pub const DEFAULT_MAX_DOCUMENT: ByteSize = ByteSize(512 * MIB);
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let unit_of = |u: &str| -> Option<u64> {
            Some(match u.trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "k" | "kb" => 1000,
                "kib" => KIB,
                "m" | "mb" => 1_000_000,
                "mib" => MIB,
                "g" | "gb" => 1_000_000_000,
                "gib" => GIB,
                _ => return None,
            })
        };
        let hint = "expected a size such as 512MiB, 1GiB, 200MB or a number of bytes";
        let shown = crate::text::excerpt(s);
        let (Ok(n), Some(unit)) = (digits.parse::<u64>(), unit_of(unit)) else {
            return Err(format!("`{shown}`: {hint}"));
        };
        match n.checked_mul(unit) {
            Some(0) => Err(format!("`{shown}`: a size limit must be above zero")),
            Some(bytes) => Ok(ByteSize(bytes)),
            None => Err(format!("`{shown}`: too large")),
        }
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match n {
            _ if n >= GIB && n.is_multiple_of(GIB) => write!(f, "{} GiB", n / GIB),
            _ if n >= MIB && n.is_multiple_of(MIB) => write!(f, "{} MiB", n / MIB),
            _ if n >= KIB && n.is_multiple_of(KIB) => write!(f, "{} KiB", n / KIB),
            _ => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        for (text, bytes) in [
            ("512MiB", 512 * MIB),
            ("1 GiB", GIB),
            ("200MB", 200_000_000),
            ("64kib", 64 * KIB),
            ("1048576", MIB),
            ("10b", 10),
        ] {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in [
            "",
            "MiB",
            "1.5GiB",
            "-1",
            "12 parsecs",
            "0",
            "99999999999999999999GiB",
        ] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
        assert_eq!(ByteSize::DEFAULT_MAX_DOCUMENT.to_string(), "512 MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 bytes");
    }
}
