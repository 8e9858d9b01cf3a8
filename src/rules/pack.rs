//! The bundled rule pack: `rules/*.yaml`, embedded so the binary works alone.

use super::{RuleSource, TestSource};

/// Version of the bundled pack; bumped whenever a rule's meaning, severity or params change.
pub const PACK_VERSION: &str = "2026.12.3";

macro_rules! bundled {
    ($($stem:literal),* $(,)?) => {
        /// File name and text of each bundled rule file.
        pub const FILES: &[(&str, &str)] = &[
            $((concat!($stem, ".yaml"), include_str!(concat!("../../rules/", $stem, ".yaml"))),)*
        ];

        /// File name and text of each bundled test file (`NAME.test.yaml` of rule file
        /// `NAME.yaml`): every bundled rule file has one.
        pub const TEST_FILES: &[(&str, &str)] = &[
            $((
                concat!($stem, ".test.yaml"),
                include_str!(concat!("../../rules/", $stem, ".test.yaml")),
            ),)*
        ];
    };
}

bundled!(
    "authentication",
    "availability",
    "backup",
    "encryption",
    "maintenance",
    "monitoring",
    "network",
    "parameter-groups",
    "tagging",
    "utilisation",
);

pub fn sources() -> Vec<RuleSource> {
    FILES
        .iter()
        .map(|(name, text)| {
            let stem = name.trim_end_matches(".yaml");
            let tests = TEST_FILES
                .iter()
                .find(|(test, _)| test.strip_suffix(".test.yaml") == Some(stem))
                .map(|(test, text)| TestSource {
                    name: format!("bundled:{test}"),
                    text: (*text).to_string(),
                });
            RuleSource {
                name: format!("bundled:{name}"),
                text: (*text).to_string(),
                bundled: true,
                tests,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_pack_loads_cleanly() {
        let set = crate::rules::RuleSet::load(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.rules().len(), 26);
    }

    #[test]
    fn every_rule_file_is_bundled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = FILES
            .iter()
            .chain(TEST_FILES)
            .map(|(n, _)| n.to_string())
            .collect();
        bundled.sort();
        assert_eq!(on_disk, bundled, "rules/ and the bundled list differ");
    }
}
