//! The bundled rule pack: `rules/*.yaml`, embedded so the binary works alone.

use super::RuleSource;

/// Version of the bundled pack; bumped whenever a rule's meaning, severity or params change.
pub const PACK_VERSION: &str = "2026.12.1";

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        /// File name and text of each bundled rule file.
        pub const FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../rules/", $name))),)*
        ];
    };
}

bundled!(
    "authentication.yaml",
    "availability.yaml",
    "backup.yaml",
    "encryption.yaml",
    "maintenance.yaml",
    "monitoring.yaml",
    "network.yaml",
    "parameter-groups.yaml",
    "tagging.yaml",
    "utilisation.yaml",
);

pub fn sources() -> Vec<RuleSource> {
    FILES
        .iter()
        .map(|(name, text)| RuleSource {
            name: format!("bundled:{name}"),
            text: (*text).to_string(),
            bundled: true,
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
        let bundled: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, bundled, "rules/ and the bundled list differ");
    }
}
