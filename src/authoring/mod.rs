//! Tools for rule authors, over the rules and the evaluator: running a rule's test cases
//! ([`run`]) and tracing how a rule decides, sub-expression by sub-expression ([`trace`]). The
//! cases themselves are part of the rule model (`rules::testing`), validated when rules load.

pub mod run;
pub mod trace;
