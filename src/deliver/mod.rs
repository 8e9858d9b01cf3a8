//! Delivery of a run's results where teams look, once its outputs are written: a chat message
//! or a webhook (`--notify`), AWS Security Hub (`--publish`). A failed delivery never loses the
//! scan: the outputs are already written, and the failure is reported with exit code 3.

pub mod asff;
pub mod http;
pub mod notify;
pub mod security_hub;

/// A delivery that did not arrive, after its retries. The message names where it went by
/// scheme and host only: a webhook URL's path is its secret.
#[derive(Debug, thiserror::Error)]
#[error("{what} not delivered to {to} after {attempts} attempt(s): {why}")]
pub struct DeliveryError {
    pub what: String,
    pub to: String,
    pub attempts: u32,
    pub why: String,
}
