//! `ecaudit rules eval`: how a rule decides on one deployment, sub-expression by sub-expression.

use super::Error;
use crate::cli::RulesEvalArgs;

pub fn run(args: &RulesEvalArgs) -> Result<u8, Error> {
    let _ = args;
    todo!("rules eval")
}
