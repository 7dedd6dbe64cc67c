//! Which resource or data source the provider is working for, and on what:
//! set by the server around each handler, so that code far from the handler
//! (an SDK interceptor, say) can name the work a remote call belongs to.

use std::fmt;
use std::future::Future;

/// What Terraform asked of a resource or data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// ReadResource: a refresh, in every plan and apply.
    Read,
    /// PlanResourceChange, a destroy's included.
    Plan,
    Create,
    Update,
    Delete,
    /// ImportResourceState; Terraform reads the object afterwards.
    Import,
    /// ReadDataSource.
    ReadData,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::Read,
        Operation::Plan,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Import,
        Operation::ReadData,
    ];

    /// The lower-case word used wherever it is written down (user agents,
    /// logs, docs).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Plan => "plan",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Import => "import",
            Operation::ReadData => "read-data",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The work in hand: a type name and what is done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub type_name: &'static str,
    pub operation: Operation,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `fut` as work on `type_name`'s `operation`.
pub async fn within<F: Future>(type_name: &'static str, operation: Operation, fut: F) -> F::Output {
    CURRENT
        .scope(
            Current {
                type_name,
                operation,
            },
            fut,
        )
        .await
}

/// The work the calling task is doing, if the server set one.
pub fn current() -> Option<Current> {
    CURRENT.try_with(|c| *c).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_work_in_hand_is_seen_inside_and_only_inside() {
        assert_eq!(current(), None);
        let seen = within("x_thing", Operation::Create, async { current() }).await;
        assert_eq!(
            seen,
            Some(Current {
                type_name: "x_thing",
                operation: Operation::Create
            })
        );
        assert_eq!(current(), None);
    }

    #[test]
    fn every_operation_has_a_word_of_its_own() {
        let words: std::collections::BTreeSet<&str> =
            Operation::ALL.into_iter().map(Operation::as_str).collect();
        assert_eq!(words.len(), Operation::ALL.len());
    }
}
