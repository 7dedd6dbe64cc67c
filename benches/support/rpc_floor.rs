//! The floor under every RPC Terraform makes: the provider's CPU per gRPC
//! health check (a call that does no work of its own), one in flight and
//! ten in flight. Shared by the handshake and scale benches; include with
//! `#[path = "support/rpc_floor.rs"] mod rpc_floor;` beside `plugin_client`.

use std::path::Path;
use std::time::Duration;

use crate::plugin_client::{ClientIdentity, Launch};
use privatelink::proto::plugin::grpc_controller_client::GrpcControllerClient;
use privatelink::proto::plugin::Empty;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Calls in flight at once for each figure: one, and Terraform's default
/// parallelism.
const IN_FLIGHT: [usize; 2] = [1, 10];

/// CPU time the process has spent, in µs, summed over its live threads
/// (`/proc/PID/task/*/schedstat`: nanoseconds, where `/proc/PID/stat`
/// counts 10 ms ticks).
fn cpu_us(pid: u32) -> Result<f64, String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(ns as f64 / 1e3)
}

/// µs of provider CPU per health check for each of `IN_FLIGHT`: five
/// rounds of 2,000 calls each, one figure per round.
pub async fn rpc_floor(bin: &Path, client: &ClientIdentity) -> Result<[Vec<f64>; 2], String> {
    const CALLS: usize = 2000;
    let mut plugin = Launch::new(bin.to_path_buf(), Some(client)).spawn()?;
    let pid = plugin.pid();
    let channel = plugin
        .tls_channel(Some(client))
        .await
        .map_err(|e| format!("TLS connect: {e}"))?;
    let check = |channel: tonic::transport::Channel, calls: usize| async move {
        let mut health = HealthClient::new(channel);
        for _ in 0..calls {
            health
                .check(HealthCheckRequest {
                    service: "plugin".into(),
                })
                .await
                .map_err(|e| format!("health check: {e}"))?;
        }
        Ok::<(), String>(())
    };
    check(channel.clone(), 200).await?;
    let mut figures: [Vec<f64>; 2] = Default::default();
    for (in_flight, per_call) in IN_FLIGHT.into_iter().zip(&mut figures) {
        for _ in 0..5 {
            let before = cpu_us(pid)?;
            let each =
                (0..in_flight).map(|_| tokio::spawn(check(channel.clone(), CALLS / in_flight)));
            for task in futures_util::future::join_all(each).await {
                task.map_err(|e| e.to_string())??;
            }
            per_call.push((cpu_us(pid)? - before) / CALLS as f64);
        }
    }
    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    if plugin.wait_exit(Duration::from_secs(3)).is_none() {
        let _ = plugin.child.kill();
    }
    Ok(figures)
}
