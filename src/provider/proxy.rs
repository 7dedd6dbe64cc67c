//! Outbound connections for the Snowflake client through the proxy the
//! environment names, as curl, Go (and so the Snowflake and AWS Terraform
//! providers) and the AWS SDK do: `HTTPS_PROXY` for https URLs, `HTTP_PROXY`
//! for http ones, `ALL_PROXY` for both, and hosts in `NO_PROXY` direct.
//! The AWS SDK's own client already does this for AWS calls.

use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A TCP connector that reaches hosts the proxy rules cover through an HTTP
/// CONNECT tunnel (with the proxy URL's credentials, if any), and the
/// others directly. TLS to the host runs inside the tunnel, so the proxy
/// sees only the host name and port.
#[derive(Clone)]
pub struct ProxyConnector {
    direct: HttpConnector,
    rules: Arc<Matcher>,
}

impl ProxyConnector {
    /// The rules of this process's environment, read once.
    pub fn from_env() -> ProxyConnector {
        let mut direct = HttpConnector::new();
        // The TLS layer above decides which schemes are allowed.
        direct.enforce_http(false);
        ProxyConnector {
            direct,
            rules: Arc::new(Matcher::from_env()),
        }
    }
}

impl Service<hyper::Uri> for ProxyConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, host: hyper::Uri) -> Self::Future {
        let mut direct = self.direct.clone();
        match self.rules.intercept(&host) {
            None => Box::pin(async move { direct.call(host).await.map_err(BoxError::from) }),
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.call(host).await.map_err(BoxError::from) })
            }
        }
    }
}
