//! Rule authors' tools: test cases in rule files, `ecaudit rules test` (text, JUnit, coverage),
//! `ecaudit rules new`, and the tutorial of docs/rules.md run as written.
