//! Where each resource's block is in the `.tf` sources (`ecaudit plan --source DIR`), so that a
//! finding's annotation lands on its block's line in a pull request's diff.
//!
//! Read: the `.tf` files directly in the source directory (the root module) and in each local
//! module directory the plan's `configuration` calls. Files are parsed as HCL, not searched with
//! a pattern: `resource "aws_x" "y" {` inside a heredoc, a string or a comment is no block.
//! Not read: `.tf.json` files (JSON syntax, mostly generated, and another parser), OpenTofu's
//! `.tofu` files, and remote modules (registry, `git::`, `s3::`...: their code is not in the
//! repository).
//!
//! The sources come from a pull request: untrusted. What cannot be read or parsed is a warning,
//! never an error, and the work is bounded ([`MAX_FILE_BYTES`], [`MAX_FILES`], [`MAX_BLOCKS`]).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use hcl_edit::Span;
use serde_json::Value;

use crate::text::{excerpt, terminal};

/// Larger `.tf` files are skipped with a warning: nobody writes one by hand.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Files read in all; the rest are skipped with one warning.
pub const MAX_FILES: usize = 10_000;
/// Addresses recorded in all. A module's blocks are recorded once per call of it, so without a
/// bound a module of many blocks called many times would hold memory without limit.
pub const MAX_BLOCKS: usize = 200_000;

/// A resource block's file (as found under the source directory) and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The source directory joined with the path to the file, `.` and `..` removed lexically
    /// (as Terraform resolves a module source; symlinks are not resolved).
    pub file: PathBuf,
    /// 1-based line of the block's first token (`resource`, `data`).
    pub line: usize,
}

/// The blocks found, by configuration address, and what could not be read (each a warning).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// By address without instance keys: `aws_x.y`, `data.aws_x.y`, `module.a.module.b.aws_x.y`.
    pub blocks: BTreeMap<String, Located>,
    /// One line each, `path:line:column: message` when the position is known; input text in
    /// them is escaped and cut ([`excerpt`]).
    pub warnings: Vec<String>,
}

/// Finds every `resource "TYPE" "NAME"` and `data "TYPE" "NAME"` block of the root module (the
/// `.tf` files directly in `dir`) and of the local modules (`source` starting with `./` or `../`,
/// resolved against the calling module's directory) that the plan's `configuration` calls, at
/// any depth. Without a configuration (a state document), only the root module is read.
///
/// A module directory is read once however often it is called (under several names, or again
/// through a symlink); each call gets its own addresses. A source that leaves `dir` upward
/// (`../shared` in a monorepo) is read like any other.
pub fn locate(dir: &Path, configuration: Option<&Value>) -> Sources {
    locate_within(dir, configuration, Limits::DEFAULT)
}

/// The bounds of one [`locate`]; smaller ones in tests.
#[derive(Clone, Copy, Debug)]
struct Limits {
    file_bytes: u64,
    files: usize,
    blocks: usize,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        file_bytes: MAX_FILE_BYTES,
        files: MAX_FILES,
        blocks: MAX_BLOCKS,
    };
}

fn locate_within(dir: &Path, configuration: Option<&Value>, limits: Limits) -> Sources {
    let mut walk = Walk {
        limits,
        sources: Sources::default(),
        modules: HashMap::new(),
        files: 0,
        files_capped: false,
        blocks_capped: false,
    };
    let root = configuration.and_then(|c| c.get("root_module"));
    // Breadth first with a queue rather than recursion: the module tree comes from the document.
    let mut queue = VecDeque::from([(normalise(dir), String::new(), root)]);
    while let Some((dir, prefix, module)) = queue.pop_front() {
        walk.module(&dir, &prefix);
        let calls = module
            .and_then(|m| m.get("module_calls"))
            .and_then(Value::as_object);
        for (name, call) in calls.into_iter().flatten() {
            let Some(source) = call.get("source").and_then(Value::as_str) else {
                continue;
            };
            if !is_local(source) {
                continue;
            }
            let child = normalise(&dir.join(source));
            queue.push_back((child, format!("{prefix}module.{name}."), call.get("module")));
        }
    }
    walk.sources
}

/// A module source in the repository: Terraform reads only these as local paths.
fn is_local(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// `path` without `.` components, and without `..` ones wherever a preceding name cancels them
/// (`infra/../shared` is `shared`; `../shared` stays). Lexical, as Terraform resolves a local
/// module's path: a symlinked directory followed by `..` is not looked through.
fn normalise(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(part),
            },
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        PathBuf::from(".")
    } else {
        parts.iter().collect()
    }
}

/// One [`locate`] under way.
struct Walk {
    limits: Limits,
    sources: Sources,
    /// The blocks of each module directory read (by its canonical path, so one reached twice,
    /// through a symlink too, is read once), by their address within the module.
    modules: HashMap<PathBuf, Vec<(String, Located)>>,
    files: usize,
    files_capped: bool,
    blocks_capped: bool,
}

impl Walk {
    /// Records the blocks of the module in `dir` under `prefix` (`""`, `module.a.`).
    fn module(&mut self, dir: &Path, prefix: &str) {
        let id = match fs::canonicalize(dir) {
            Ok(id) => id,
            Err(e) => {
                let called = match prefix.strip_suffix('.') {
                    Some(address) => format!(" (called as {})", excerpt(address)),
                    None => String::new(),
                };
                self.warn(format!(
                    "{}: cannot read the module directory{called}: {e}",
                    shown(dir)
                ));
                return;
            }
        };
        if !self.modules.contains_key(&id) {
            let blocks = self.read_module(dir);
            self.modules.insert(id.clone(), blocks);
        }
        let blocks = self.modules.get(&id).map(Vec::as_slice).unwrap_or_default();
        for (address, located) in blocks {
            if self.sources.blocks.len() >= self.limits.blocks {
                if !self.blocks_capped {
                    self.blocks_capped = true;
                    let max = self.limits.blocks;
                    self.sources
                        .warnings
                        .push(format!("more than {max} blocks: the rest are not located"));
                }
                return;
            }
            self.sources
                .blocks
                .entry(format!("{prefix}{address}"))
                .or_insert_with(|| located.clone());
        }
    }

    /// The blocks of the `.tf` files directly in `dir`, by address within the module. Files are
    /// taken in name order, override files (`override.tf`, `*_override.tf`) last: an override
    /// block only amends the block Terraform requires elsewhere, which is the one to point at.
    fn read_module(&mut self, dir: &Path) -> Vec<(String, Located)> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.warn(format!("{}: cannot read the module directory: {e}", shown(dir)));
                return Vec::new();
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    let path = Path::new(&name);
                    // Terraform ignores hidden files (editors' backups among them).
                    let hidden = name.as_encoded_bytes().starts_with(b".");
                    if path.extension().is_some_and(|e| e == "tf") && !hidden {
                        let stem = path.file_stem().unwrap_or_default().as_encoded_bytes();
                        let is_override = stem == b"override" || stem.ends_with(b"_override");
                        names.push((is_override, name));
                    }
                }
                Err(e) => self.warn(format!("{}: cannot list a file: {e}", shown(dir))),
            }
        }
        names.sort();
        let mut found: BTreeMap<String, Located> = BTreeMap::new();
        for (_, name) in names {
            if self.files >= self.limits.files {
                if !self.files_capped {
                    self.files_capped = true;
                    let max = self.limits.files;
                    self.warn(format!("more than {max} .tf files: the rest are not read"));
                }
                break;
            }
            let file = dir.join(&name);
            let Some(text) = self.read(&file) else {
                continue;
            };
            for (address, line) in self.blocks(&file, &text) {
                // Terraform refuses a block declared twice; the first is as good as any.
                if let Entry::Vacant(slot) = found.entry(address) {
                    slot.insert(Located {
                        file: file.clone(),
                        line,
                    });
                }
            }
        }
        found.into_iter().collect()
    }

    /// The text of `file`, or `None` (with a warning, unless it is no regular file).
    fn read(&mut self, file: &Path) -> Option<String> {
        // Follows a symlink, as Terraform does; a directory or FIFO named `x.tf` is not opened
        // (opening a FIFO would block).
        let metadata = match fs::metadata(file) {
            Ok(metadata) => metadata,
            Err(e) => {
                self.warn(format!("{}: cannot read: {e}", shown(file)));
                return None;
            }
        };
        if !metadata.is_file() {
            return None;
        }
        self.files += 1;
        let max = self.limits.file_bytes;
        let too_large = |w: &mut Walk| {
            let size = crate::size::ByteSize(max);
            w.warn(format!("{}: larger than {size}: not read", shown(file)));
        };
        if metadata.len() > max {
            too_large(self);
            return None;
        }
        let mut bytes = Vec::new();
        // Bounded again: the file may grow between the two looks.
        let read = fs::File::open(file).and_then(|f| f.take(max.saturating_add(1)).read_to_end(&mut bytes));
        if let Err(e) = read {
            self.warn(format!("{}: cannot read: {e}", shown(file)));
            return None;
        }
        if bytes.len() as u64 > max {
            too_large(self);
            return None;
        }
        match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = line_of(&line_starts(e.as_bytes()), at);
                self.warn(format!("{}:{line}: not UTF-8 text: not parsed", shown(file)));
                None
            }
        }
    }

    /// The `resource` and `data` blocks at the top of `text` (the file `file`), by address
    /// within the module, with their lines.
    fn blocks(&mut self, file: &Path, text: &str) -> Vec<(String, usize)> {
        // A byte order mark (some Windows editors write one) is no HCL token; dropping it
        // leaves the lines as they are.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let body = match hcl_edit::parser::parse_body(text) {
            Ok(body) => body,
            Err(e) => {
                let at = e.location();
                // The message names what was expected; excerpted in case it quotes the input.
                self.warn(format!(
                    "{}:{}:{}: not valid HCL, its blocks are not located: {}",
                    shown(file),
                    at.line(),
                    at.column(),
                    excerpt(e.message())
                ));
                return Vec::new();
            }
        };
        let starts = line_starts(text.as_bytes());
        let mut found = Vec::new();
        for block in body.blocks() {
            let kind = match block.ident.as_str() {
                "resource" => "",
                "data" => "data.",
                _ => continue,
            };
            let [kind_label, name] = block.labels.as_slice() else {
                continue;
            };
            let Some(span) = block.span() else {
                continue;
            };
            let address = format!("{kind}{}.{}", kind_label.as_str(), name.as_str());
            found.push((address, line_of(&starts, span.start)));
        }
        found
    }

    fn warn(&mut self, warning: String) {
        self.sources.warnings.push(warning);
    }
}

/// The byte offset at which each line after the first starts.
fn line_starts(text: &[u8]) -> Vec<usize> {
    text.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

/// The 1-based line of byte `offset`.
fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&start| start <= offset) + 1
}

/// A path as a warning shows it: file and directory names come from the pull request too.
fn shown(path: &Path) -> String {
    terminal(&path.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan-sources")
    }

    fn at(file: PathBuf, line: usize) -> Located {
        Located { file, line }
    }

    /// A plan's `configuration` calling modules: `(name, source, calls within)`.
    fn calls(calls: &[(&str, &str, Value)]) -> Value {
        let mut map = serde_json::Map::new();
        for (name, source, within) in calls {
            map.insert(
                (*name).to_string(),
                json!({"source": source, "module": {"module_calls": within}}),
            );
        }
        Value::Object(map)
    }

    fn configuration(module_calls: Value) -> Value {
        json!({"provider_config": {}, "root_module": {"resources": [], "module_calls": module_calls}})
    }

    #[test]
    fn root_module_blocks_of_two_files_at_their_lines() {
        let root = fixtures().join("repo/infra");
        let found = locate(&root, None);
        assert_eq!(found.warnings, Vec::<String>::new());
        let expected = BTreeMap::from([
            (
                "aws_elasticache_replication_group.main".to_string(),
                at(root.join("main.tf"), 9),
            ),
            (
                "aws_security_group.cache".to_string(),
                at(root.join("network.tf"), 3),
            ),
            ("data.aws_vpc.this".to_string(), at(root.join("network.tf"), 14)),
        ]);
        // Without a configuration (a state), the modules are not read.
        assert_eq!(found.blocks, expected);
    }

    #[test]
    fn a_module_called_twice_is_found_under_both_names() {
        let root = fixtures().join("repo/infra");
        let config = configuration(calls(&[
            ("cache", "./modules/cache", json!({})),
            ("cache_b", "./modules/cache/", json!({})),
        ]));
        let found = locate(&root, Some(&config));
        assert_eq!(found.warnings, Vec::<String>::new());
        let file = root.join("modules/cache/main.tf");
        for name in ["cache", "cache_b"] {
            let address = format!("module.{name}.aws_elasticache_replication_group.this");
            assert_eq!(
                found.blocks.get(&address),
                Some(&at(file.clone(), 1)),
                "{address}"
            );
            let address = format!("module.{name}.aws_elasticache_subnet_group.this");
            assert_eq!(
                found.blocks.get(&address),
                Some(&at(file.clone(), 19)),
                "{address}"
            );
        }
        assert_eq!(found.blocks.len(), 3 + 2 * 3);
    }

    #[test]
    fn nested_and_upward_modules_with_paths_normalised() {
        let root = fixtures().join("repo/infra");
        let config = configuration(calls(&[
            (
                "cache",
                "./modules/cache",
                calls(&[("params", "./params", json!({}))]),
            ),
            ("net", "../shared/net", json!({})),
        ]));
        let found = locate(&root, Some(&config));
        assert_eq!(found.warnings, Vec::<String>::new());
        assert_eq!(
            found
                .blocks
                .get("module.cache.module.params.aws_elasticache_parameter_group.this"),
            Some(&at(root.join("modules/cache/params/main.tf"), 4))
        );
        // Out of the source directory, and no `..` left in the path.
        let shared = fixtures().join("repo/shared/net/main.tf");
        assert_eq!(
            found.blocks.get("module.net.aws_subnet.cache"),
            Some(&at(shared.clone(), 2))
        );
        assert!(shared.components().all(|c| c != Component::ParentDir));
        // Relative, the path stays relative and keeps only the `..` it cannot do without.
        let found = locate(Path::new("tests/fixtures/plan-sources/repo/infra"), Some(&config));
        assert_eq!(
            found.blocks["module.net.aws_subnet.cache"].file,
            Path::new("tests/fixtures/plan-sources/repo/shared/net/main.tf")
        );
    }

    #[test]
    fn remote_modules_are_skipped_without_a_warning() {
        let root = fixtures().join("repo/infra");
        let config = configuration(calls(&[
            (
                "registry",
                "terraform-aws-modules/elasticache/aws",
                calls(&[("inner", "./modules/cache", json!({}))]),
            ),
            ("git", "git::https://example.com/x.git//modules/cache", json!({})),
            ("s3", "s3::https://s3.amazonaws.com/bucket/x.zip", json!({})),
            ("no_source", "", json!({})),
        ]));
        let found = locate(&root, Some(&config));
        assert_eq!(found.warnings, Vec::<String>::new());
        assert!(
            found.blocks.keys().all(|k| !k.starts_with("module.")),
            "{:?}",
            found.blocks
        );
        assert_eq!(found.blocks.len(), 3);
    }

    #[test]
    fn block_text_in_heredocs_strings_and_comments_is_no_block() {
        let root = fixtures().join("repo/infra");
        let config = configuration(calls(&[("cache", "./modules/cache", json!({}))]));
        let found = locate(&root, Some(&config));
        let module: Vec<_> = found
            .blocks
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("module.cache.").map(|k| (k, v.line)))
            .collect();
        assert_eq!(
            module,
            [
                ("aws_elasticache_replication_group.this", 1),
                ("aws_elasticache_subnet_group.this", 19),
                ("aws_instance.bastion", 26),
            ]
        );
        assert_eq!(
            found.blocks["module.cache.aws_instance.bastion"].file,
            root.join("modules/cache/user_data.tf")
        );
    }

    #[test]
    fn a_syntax_error_is_a_warning_and_other_files_are_still_read() {
        let root = fixtures().join("broken");
        let found = locate(&root, None);
        assert_eq!(
            found.blocks,
            BTreeMap::from([(
                "aws_elasticache_cluster.ok".to_string(),
                at(root.join("good.tf"), 2)
            )])
        );
        let bad = root.join("bad.tf");
        let expected = format!(
            "{}:4:21: not valid HCL, its blocks are not located: invalid expression; \
             expected `\"`, `[`, `{{`, `-`, `!`, `(`, `_`, `<`, letter or digit",
            bad.display()
        );
        assert_eq!(found.warnings, [expected]);
    }

    #[test]
    fn missing_directories_are_warnings() {
        let root = fixtures().join("repo/infra");
        let config = configuration(calls(&[("gone", "./modules/gone", json!({}))]));
        let found = locate(&root, Some(&config));
        assert_eq!(found.blocks.len(), 3);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        let warning = &found.warnings[0];
        assert!(warning.starts_with(&format!("{}: ", root.join("modules/gone").display())));
        assert!(warning.contains("(called as module.gone)"), "{warning}");

        let found = locate(&fixtures().join("nowhere"), None);
        assert!(found.blocks.is_empty());
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
    }

    #[test]
    fn hostile_files_are_warnings_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| fs::write(dir.path().join(name), bytes).unwrap();
        write("deep.tf", format!("x = {}", "[".repeat(1000)).as_bytes());
        write("latin1.tf", b"resource \"a\" \"b\" {\n  name = \"caf\xe9\"\n}\n");
        write("big.tf", &vec![b'\n'; 2048]);
        write("bom.tf", "\u{feff}\nresource \"aws_x\" \"bom\" {}\n".as_bytes());
        write("crlf.tf", b"# x\r\n\r\nresource \"aws_x\" \"crlf\" {\r\n}\r\n");
        write("labels.tf", b"resource \"only_one\" {}\ndata aws_x bare {}\n");
        write(".hidden.tf", b"resource \"aws_x\" \"hidden\" {}\n");
        write("x.tf.json", b"{\"resource\": {\"aws_x\": {\"json\": {}}}}");
        write("\x1b[31mevil.tf", b"{");
        fs::create_dir(dir.path().join("dir.tf")).unwrap();
        let limits = Limits {
            file_bytes: 1536,
            ..Limits::DEFAULT
        };
        let found = locate_within(dir.path(), None, limits);
        let root = dir.path();
        assert_eq!(
            found.blocks,
            BTreeMap::from([
                ("aws_x.bom".to_string(), at(root.join("bom.tf"), 2)),
                ("aws_x.crlf".to_string(), at(root.join("crlf.tf"), 3)),
                ("data.aws_x.bare".to_string(), at(root.join("labels.tf"), 2)),
            ])
        );
        let warnings = found.warnings.join("\n");
        assert_eq!(found.warnings.len(), 4, "{warnings}");
        assert!(warnings.contains("big.tf: larger than"), "{warnings}");
        assert!(warnings.contains("deep.tf:1:"), "{warnings}");
        assert!(warnings.contains("latin1.tf:2: not UTF-8"), "{warnings}");
        // A file name is shown escaped: it comes from the pull request.
        assert!(
            warnings.contains("\\u{1b}[31mevil.tf:1:1: not valid HCL"),
            "{warnings}"
        );
        assert!(!warnings.contains('\u{1b}'));
    }

    #[test]
    fn files_and_blocks_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            let text = format!("resource \"aws_x\" \"a{i}\" {{}}\nresource \"aws_x\" \"b{i}\" {{}}\n");
            fs::write(dir.path().join(format!("f{i}.tf")), text).unwrap();
        }
        let limits = Limits {
            files: 3,
            ..Limits::DEFAULT
        };
        let found = locate_within(dir.path(), None, limits);
        assert_eq!(found.blocks.len(), 6);
        assert_eq!(found.warnings, ["more than 3 .tf files: the rest are not read"]);

        let limits = Limits {
            blocks: 4,
            ..Limits::DEFAULT
        };
        let found = locate_within(dir.path(), None, limits);
        assert_eq!(found.blocks.len(), 4);
        assert_eq!(found.warnings, ["more than 4 blocks: the rest are not located"]);
    }

    #[test]
    fn an_override_file_does_not_move_a_block() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| fs::write(dir.path().join(name), text).unwrap();
        // Sorted before main.tf by name, read after it as Terraform does.
        write("a_override.tf", "resource \"aws_x\" \"a\" {\n  name = \"b\"\n}\n");
        write("main.tf", "\nresource \"aws_x\" \"a\" {\n  name = \"a\"\n}\n");
        write("override.tf", "resource \"aws_x\" \"only_here\" {}\n");
        let found = locate(dir.path(), None);
        assert_eq!(found.warnings, Vec::<String>::new());
        assert_eq!(found.blocks["aws_x.a"], at(dir.path().join("main.tf"), 2));
        assert_eq!(
            found.blocks["aws_x.only_here"],
            at(dir.path().join("override.tf"), 1)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_reached_twice_through_a_symlink_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("m")).unwrap();
        fs::write(root.join("m/main.tf"), "resource \"aws_x\" \"m\" {}\n").unwrap();
        // The module calls itself through a link back to its own directory.
        std::os::unix::fs::symlink(".", root.join("m/again")).unwrap();
        let inner = calls(&[("c", "./again", calls(&[("d", "./again", json!({}))]))]);
        let config = configuration(calls(&[("b", "./m", inner)]));
        let found = locate(root, Some(&config));
        assert_eq!(found.warnings, Vec::<String>::new());
        let file = root.join("m/main.tf");
        assert_eq!(found.blocks["module.b.aws_x.m"], at(file.clone(), 1));
        // The same block (as first found) under every address.
        assert_eq!(found.blocks["module.b.module.c.aws_x.m"], at(file.clone(), 1));
        assert_eq!(found.blocks["module.b.module.c.module.d.aws_x.m"], at(file, 1));
    }

    #[test]
    fn paths_are_normalised_lexically() {
        let cases = [
            ("a/b/../c", "a/c"),
            ("./a/./b", "a/b"),
            ("a/../../b", "../b"),
            ("../../a", "../../a"),
            ("/../a", "/a"),
            ("a/..", "."),
            ("/x/infra/./modules/cache/", "/x/infra/modules/cache"),
        ];
        for (path, expected) in cases {
            assert_eq!(normalise(Path::new(path)), Path::new(expected), "{path}");
        }
    }

    #[test]
    fn lines_of_offsets() {
        let starts = line_starts(b"ab\ncd\n\nx");
        assert_eq!(
            [0, 2, 3, 5, 6, 7].map(|o| line_of(&starts, o)),
            [1, 1, 2, 2, 3, 4]
        );
    }
}
