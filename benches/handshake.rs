//! Start-up figures of the provider binary, as Terraform sees them: time
//! from spawn to the handshake line (AutoMTLS on), the first GetSchema over
//! the mutual-TLS connection, and resident memory. Then the floor under
//! every RPC: the provider's CPU per gRPC health check (a call that does no
//! work of its own), one at a time and ten in flight.
//!
//! `PROVIDER_BIN` names the binary (default: the release build under
//! `CARGO_TARGET_DIR`, else the one Cargo built for this bench);
//! `BENCH_RUNS` the number of runs (default 30). With `PEER_PROVIDER_BIN`
//! set, that binary is measured the same way in the same run and the ratios
//! printed. The tables are printed and written to `reports/startup.md`
//! (`BENCH_REPORT_DIR` overrides the folder).

#[path = "../tests/support/plugin_client.rs"]
mod plugin_client;
#[path = "support/release_bin.rs"]
mod release_bin;
#[path = "support/rpc_floor.rs"]
mod rpc_floor;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plugin_client::{terraform_like_client_cert, ClientIdentity, Launch};
use privatelink::proto::plugin::grpc_controller_client::GrpcControllerClient;
use privatelink::proto::plugin::Empty;
use privatelink::proto::tfplugin5::get_provider_schema;
use privatelink::proto::tfplugin5::provider_client::ProviderClient;

struct Sample {
    startup: Duration,
    connect: Duration,
    get_schema: Duration,
    rss_handshake_kib: u64,
    rss_get_schema_kib: u64,
}

async fn run_once(bin: &Path, client: &ClientIdentity) -> Result<Sample, String> {
    let mut plugin = Launch::new(bin.to_path_buf(), Some(client)).spawn()?;
    let startup = plugin.startup;
    let pid = plugin.pid();
    let rss_handshake_kib = plugin_client::rss_kib(pid).ok_or("no VmRSS")?;

    let t = Instant::now();
    let channel = plugin
        .tls_channel(Some(client))
        .await
        .map_err(|e| format!("TLS connect: {e}"))?;
    let connect = t.elapsed();

    let t = Instant::now();
    let schema = ProviderClient::new(channel.clone())
        .max_decoding_message_size(256 << 20)
        .get_schema(get_provider_schema::Request {})
        .await
        .map_err(|e| format!("GetSchema: {e}"))?;
    let get_schema = t.elapsed();
    drop(schema);
    let rss_get_schema_kib = plugin_client::rss_kib(pid).ok_or("no VmRSS")?;

    // Shut it down the way Terraform does; not every peer implements it.
    let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
    if plugin.wait_exit(Duration::from_secs(3)).is_none() {
        let _ = plugin.child.kill();
    }
    Ok(Sample {
        startup,
        connect,
        get_schema,
        rss_handshake_kib,
        rss_get_schema_kib,
    })
}

struct Stats {
    min: f64,
    median: f64,
    max: f64,
}

fn stats(mut xs: Vec<f64>) -> Stats {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    Stats {
        min: xs[0],
        median,
        max: xs[n - 1],
    }
}

struct Report {
    rows: Vec<(&'static str, &'static str, Stats)>,
}

fn report(samples: &[Sample]) -> Report {
    let ms = |f: fn(&Sample) -> Duration| {
        stats(samples.iter().map(|s| f(s).as_secs_f64() * 1e3).collect())
    };
    let mib = |f: fn(&Sample) -> u64| stats(samples.iter().map(|s| f(s) as f64 / 1024.0).collect());
    Report {
        rows: vec![
            ("spawn → handshake line (AutoMTLS)", "ms", ms(|s| s.startup)),
            (
                "TLS connect (unix socket, mTLS, h2)",
                "ms",
                ms(|s| s.connect),
            ),
            ("first GetSchema over TLS", "ms", ms(|s| s.get_schema)),
            ("VmRSS after handshake", "MiB", mib(|s| s.rss_handshake_kib)),
            (
                "VmRSS after GetSchema",
                "MiB",
                mib(|s| s.rss_get_schema_kib),
            ),
        ],
    }
}

fn table(out: &mut String, title: &str, r: &Report) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "\n### {title}\n");
    let _ = writeln!(out, "| metric | unit | min | median | max |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    for (name, unit, s) in &r.rows {
        let _ = writeln!(
            out,
            "| {name} | {unit} | {:.2} | {:.2} | {:.2} |",
            s.min, s.median, s.max
        );
    }
}

/// What any process costs here from spawn to its first line of output
/// (`/bin/echo`), so the handshake figure can be read against the floor.
fn spawn_floor(runs: usize) -> Stats {
    use std::io::BufRead;
    let mut xs = Vec::with_capacity(runs);
    for _ in 0..runs + 1 {
        let t = Instant::now();
        let mut child = std::process::Command::new("/bin/echo")
            .arg("ready")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn /bin/echo");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        xs.push(t.elapsed().as_secs_f64() * 1e3);
        let _ = child.wait();
    }
    xs.remove(0); // the warm-up
    stats(xs)
}

async fn measure(bin: &Path, runs: usize, client: &ClientIdentity) -> Report {
    // One unmeasured run warms the page cache.
    let _ = run_once(bin, client).await;
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        match run_once(bin, client).await {
            Ok(s) => samples.push(s),
            Err(e) => panic!("run {i} of {}: {e}", bin.display()),
        }
    }
    let mut r = report(&samples);
    let floor = rpc_floor_rows(bin, client)
        .await
        .unwrap_or_else(|e| panic!("RPC floor of {}: {e}", bin.display()));
    r.rows.extend(floor);
    r
}

/// The RPC floor's rows for the report.
async fn rpc_floor_rows(
    bin: &Path,
    client: &ClientIdentity,
) -> Result<Vec<(&'static str, &'static str, Stats)>, String> {
    let [one, ten] = rpc_floor::rpc_floor(bin, client).await?;
    Ok(vec![
        (
            "provider CPU per health-check RPC, 1 in flight",
            "µs",
            stats(one),
        ),
        (
            "provider CPU per health-check RPC, 10 in flight",
            "µs",
            stats(ten),
        ),
    ])
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let out = runtime.block_on(async {
        use std::fmt::Write as _;
        let client = terraform_like_client_cert();
        let bin = release_bin::provider_bin();
        let mut out = String::from(
            "## Start-up: spawn to handshake, GetSchema, memory; the RPC floor\n",
        );
        let _ = writeln!(out, "\nprovider: `{}` ({runs} runs, AutoMTLS on)", bin.display());
        let ours = measure(&bin, runs, &client).await;
        table(&mut out, "terraform-provider-privatelink", &ours);
        let floor = spawn_floor(runs);
        let _ = writeln!(
            out,
            "\nspawn floor of this machine (spawn → first line of /bin/echo): min {:.2}, median {:.2}, max {:.2} ms",
            floor.min, floor.median, floor.max
        );

        if let Some(peer) = std::env::var_os("PEER_PROVIDER_BIN") {
            let peer = PathBuf::from(peer);
            let theirs = measure(&peer, runs, &client).await;
            table(&mut out, &format!("peer (Go SDK): `{}`", peer.display()), &theirs);
            let _ = writeln!(out, "\n### ratio of medians (ours / peer)\n");
            let _ = writeln!(out, "| metric | ratio |");
            let _ = writeln!(out, "|---|---:|");
            for ((name, _, a), (_, _, b)) in ours.rows.iter().zip(&theirs.rows) {
                let _ = writeln!(out, "| {name} | {:.2} |", a.median / b.median);
            }
        }
        out
    });
    print!("{out}");
    let dir = std::env::var_os("BENCH_REPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reports"));
    let path = dir.join("startup.md");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, &out)) {
        eprintln!("cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("\nwritten to {}", path.display());
}
