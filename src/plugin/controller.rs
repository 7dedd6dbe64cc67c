//! go-plugin's side services: `plugin.GRPCController` (the host asks us to
//! exit) and `plugin.GRPCStdio` (stdout/stderr forwarding, which we do not
//! offer: go-plugin clients take Unimplemented as "not available").

use std::sync::Arc;

use tokio::sync::watch;

use crate::proto::plugin::grpc_controller_server::GrpcController;
use crate::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::plugin::Empty;

/// A one-shot "stop serving" signal shared by the controller and the server.
#[derive(Debug, Clone)]
pub struct ShutdownSignal(Arc<watch::Sender<bool>>);

impl Default for ShutdownSignal {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }
}

impl ShutdownSignal {
    /// A signal nobody has triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the server to stop. Idempotent; every [`wait`](Self::wait), past
    /// or future, completes.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// True once [`trigger`](Self::trigger) has been called.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once [`trigger`](Self::trigger) has been called.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// `plugin.GRPCController`: Shutdown answers, then stops the server.
#[derive(Debug, Clone)]
pub struct Controller {
    shutdown: ShutdownSignal,
}

impl Controller {
    /// A controller that triggers `shutdown`.
    pub fn new(shutdown: ShutdownSignal) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(
        &self,
        _request: tonic::Request<Empty>,
    ) -> Result<tonic::Response<Empty>, tonic::Status> {
        tracing::debug!("shutdown requested by the plugin host");
        // Graceful shutdown lets this in-flight call finish first.
        self.shutdown.trigger();
        Ok(tonic::Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: not offered (every call answers Unimplemented).
///
/// An open, empty stream would hold up graceful shutdown; go-plugin's client
/// logs Unimplemented as "stdio not available" and carries on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdio;

#[tonic::async_trait]
impl GrpcStdio for Stdio {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn trigger_before_wait_is_remembered() {
        let s = ShutdownSignal::new();
        s.trigger();
        s.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), s.wait())
            .await
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), s.wait())
            .await
            .unwrap();
        assert!(s.is_triggered());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn controller_triggers() {
        let s = ShutdownSignal::new();
        let c = Controller::new(s.clone());
        c.shutdown(tonic::Request::new(Empty {})).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), s.wait())
            .await
            .unwrap();
    }
}
