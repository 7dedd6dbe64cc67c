//! Benchmark helper for `make bench` (not shipped): the CPU this process
//! spends per AWS call that does no work of its own, through the provider's
//! own clients (same SDK settings, retries and user agent) and release
//! build. The scale bench multiplies it by the calls a workload makes to
//! show the part of the provider's CPU that no code of ours can remove.
//!
//!     aws-call-floor ENDPOINT_URL [CALLS]
//!
//! Credentials come from the environment as for the provider. Prints one
//! JSON object: CPU µs per call with one call in flight and with ten, each
//! the median of five rounds.

use std::time::Duration;

use privatelink::framework::resource::StopSignal;
use privatelink::provider::aws::AwsClients;
use privatelink::provider::config::ProviderConfig;

/// User plus system CPU of this whole process so far (helper threads
/// included), in µs.
fn process_cpu_us() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

async fn empty_read(clients: &AwsClients) -> Result<(), String> {
    // On an estate without endpoints: a signed request and an empty answer.
    clients
        .ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .map(drop)
        .map_err(|e| privatelink::provider::aws::error_text(&e))
}

async fn per_call_us(clients: &AwsClients, calls: usize, in_flight: usize) -> Result<f64, String> {
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let before = process_cpu_us();
        for _ in 0..calls / in_flight {
            let batch = (0..in_flight).map(|_| empty_read(clients));
            for result in futures_util::future::join_all(batch).await {
                result?;
            }
        }
        rounds.push((process_cpu_us() - before) / (calls / in_flight * in_flight) as f64);
    }
    Ok(median(rounds))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: aws-call-floor ENDPOINT_URL [CALLS]");
        std::process::exit(2);
    };
    let calls: usize = args
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(500)
        .max(10);
    let config = ProviderConfig {
        // Only EC2 is called: the identity check is skipped.
        endpoints: vec![("ec2".to_string(), url.clone())],
        skip_credentials_validation: true,
        ..ProviderConfig::for_region("us-east-1")
    };
    // One thread, as the provider serves Terraform.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async {
        let clients = AwsClients::new(&config, &StopSignal::never())
            .await
            .map_err(|d| format!("{d:?}"))?;
        // Connections opened and the credentials resolved before measuring.
        per_call_us(&clients, 50, 10).await?;
        let one = per_call_us(&clients, calls, 1).await?;
        let ten = per_call_us(&clients, calls, 10).await?;
        Ok::<_, String>((one, ten))
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok((one, ten)) => println!(
            "{{\"calls\": {calls}, \"cpu_us_per_call_1_in_flight\": {one:.1}, \"cpu_us_per_call_10_in_flight\": {ten:.1}}}"
        ),
        Err(e) => {
            eprintln!("aws-call-floor: {e}");
            std::process::exit(1);
        }
    }
}
