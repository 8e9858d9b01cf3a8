//! What the SDK does not catch about damaged responses. A response whose HTTP status says
//! success but whose body cannot be read (cut short or garbled on the way) is transient: the SDK
//! reports it as an unhandled service error and does not retry it, so one bad packet would
//! become a coverage gap. Worse, its XML reader accepts a document cut short and returns what it
//! read so far (half a list of clusters, a cluster without its replication group), so a
//! truncated XML body is caught here and retried rather than trusted.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Retries an attempt that failed although the HTTP status said success.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UnreadableResponse;

impl ClassifyRetry for UnreadableResponse {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match (ctx.output_or_error(), ctx.response()) {
            (Some(Err(_)), Some(response)) if response.status().is_success() => {
                RetryAction::transient_error()
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ecaudit::UnreadableResponse"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::transient_error_classifier()
    }
}

/// Fails an attempt whose XML response is not a whole, well-formed document.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WholeXml;

impl Intercept for WholeXml {
    fn name(&self) -> &'static str {
        "ecaudit::WholeXml"
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = ctx.response();
        if !response.status().is_success() {
            return Ok(());
        }
        let xml = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.contains("xml"));
        let Some(body) = response.body().bytes() else {
            return Ok(());
        };
        if (xml || body.trim_ascii_start().starts_with(b"<")) && !well_formed(body) {
            return Err("the response is not a whole XML document (cut short or garbled on the way)".into());
        }
        Ok(())
    }
}

/// One root element, every element closed, nothing unreadable.
fn well_formed(body: &[u8]) -> bool {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut depth, mut roots) = (0usize, 0usize);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(_)) => {
                roots += usize::from(depth == 0);
                depth += 1;
            }
            Ok(Event::Empty(_)) => roots += usize::from(depth == 0),
            Ok(Event::End(_)) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Ok(Event::Eof) => return depth == 0 && roots == 1,
            Err(_) => return false,
            Ok(_) => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn whole_documents_only() {
        let whole = br#"<?xml version="1.0"?><R xmlns="x"><L><m>a</m><m/></L></R>"#;
        assert!(well_formed(whole));
        for cut in [20, 30, 40, whole.len() - 1] {
            assert!(!well_formed(&whole[..cut]), "cut at {cut}");
        }
        assert!(!well_formed(b"#%{~#%{~#%{~"));
        assert!(!well_formed(b"<a></b>"));
        assert!(!well_formed(b"<a/><b/>"));
        assert!(!well_formed(b""));
    }
}
