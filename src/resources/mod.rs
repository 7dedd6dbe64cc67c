//! Managed resources, one file each.

pub mod endpoint_connection_accepter;
pub mod endpoint_service;

use crate::framework::timeouts::WaitError;
use crate::framework::{Diagnostic, Diagnostics};
use crate::provider::aws::error_text;

/// A failed AWS call as a diagnostic: what we were doing, AWS's code and
/// message.
pub fn aws_error<E, R>(doing: &str, err: &aws_sdk_ec2::error::SdkError<E, R>) -> Diagnostics
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Diagnostic::error(format!("Failed to {doing}"), error_text(err)).into()
}

/// A wait that ended badly, as a diagnostic naming what we waited for.
pub fn wait_error(waiting_for: &str, err: WaitError<Diagnostics>) -> Diagnostics {
    match err {
        WaitError::Failed(d) => d,
        WaitError::Stopped => Diagnostic::error(
            format!("Stopped while waiting for {waiting_for}"),
            "Terraform asked the provider to stop; run apply again to finish.",
        )
        .into(),
        WaitError::TimedOut { last } => Diagnostic::error(
            format!("Timed out waiting for {waiting_for}"),
            format!(
                "The last state seen was {}. Raise the timeout in the `timeouts` block if this is expected.",
                last.unwrap_or_else(|| "unknown".into())
            ),
        )
        .into(),
    }
}

/// EC2's batch calls (accept, reject, delete) answer 200 and list the items
/// that failed: the first failure becomes an error unless `tolerated` says
/// its code means "already done".
pub fn unsuccessful(
    doing: &str,
    items: &[aws_sdk_ec2::types::UnsuccessfulItem],
    tolerated: impl Fn(&str) -> bool,
) -> Result<(), Diagnostics> {
    let Some(err) = items
        .iter()
        .filter_map(|i| i.error())
        .find(|e| !tolerated(e.code().unwrap_or_default()))
    else {
        return Ok(());
    };
    Err(Diagnostic::error(
        format!("Failed to {doing}"),
        format!(
            "{}: {}",
            err.code().unwrap_or_default(),
            err.message().unwrap_or_default()
        ),
    )
    .into())
}

/// Sorted and deduplicated: sets compare equal whatever order AWS returns.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}
