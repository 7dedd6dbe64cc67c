//! The scale benchmark: a generated configuration of N managed resources
//! across every resource type, applied, re-planned (refreshing) and
//! destroyed by the real Terraform CLI against the AWS and Snowflake
//! emulators, at each N of `SCALE_BENCH_SIZES` (default 10,100,500),
//! `SCALE_BENCH_REPEATS` times each (default 3; medians reported).
//!
//! For each command it records the wall time; Terraform's own CPU time; the
//! provider's CPU time and peak memory summed (maxed) over every provider
//! process Terraform started; and the AWS and Snowflake calls from the
//! emulators' request logs. Everything is measured by the OS: the CLI
//! config's dev_overrides point Terraform at this very binary, which in
//! wrapper mode runs the real provider as its child and logs the child's
//! wait4() rusage; Terraform itself is reaped with wait4(), whose rusage
//! includes the children it reaped, so the providers' and wrappers' share is
//! subtracted from it.
//!
//! Then, in one more run that is not measured (tracing slows Terraform), it
//! counts the provider RPCs Terraform makes per command from Terraform's own
//! trace log, at N=`SCALE_BENCH_CENSUS_N` (default 100; 0 skips it).
//!
//! Last, the floors under that workload: the provider's CPU per RPC that
//! does nothing (a gRPC health check) and per AWS call that does nothing
//! (`aws-call-floor`, the provider's own clients in a release build, against
//! a fresh emulator; `AWS_CALL_FLOOR_BIN` names it). Times the RPCs and
//! calls made at the largest N, they are the part of the provider's CPU no
//! code of ours can remove, reported against the target.
//!
//! Writes reports/scale.json (raw figures) and reports/scale.md (tables and
//! growth). `PROVIDER_BIN` names the provider (default: the release build
//! under `CARGO_TARGET_DIR`, else the one Cargo built for this bench). Not a
//! test: nothing is asserted on time, but it panics when an apply or destroy
//! fails or the plan after apply is not empty.

#[path = "../tests/support/aws.rs"]
mod aws;
#[path = "../tests/support/plugin_client.rs"]
mod plugin_client;
#[path = "support/release_bin.rs"]
mod release_bin;
#[path = "support/rpc_floor.rs"]
mod rpc_floor;
#[path = "../tests/support/snowflake.rs"]
mod snowflake;
#[path = "../tests/support/terraform.rs"]
mod terraform;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set only in the environment Terraform passes to its plugins: this binary
/// started with it is the wrapper, not the bench.
const REAL_PROVIDER: &str = "SCALE_BENCH_REAL_PROVIDER";
const RUSAGE_LOG: &str = "SCALE_BENCH_RUSAGE_LOG";
const SOURCE: &str = "registry.terraform.io/privatelink/privatelink";
const SNOWFLAKE_ACCOUNT: &str = "SCALE-BENCH";
const SNOWFLAKE_AWS_ACCOUNT: &str = "889634178462";

// ---------------------------------------------------------------------------
// rusage from the OS
// ---------------------------------------------------------------------------

/// Seconds in a `timeval`.
fn secs(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Reaps `pid`, returning its wait status and rusage (Linux: the child's
/// and that of every descendant it reaped).
fn reap(pid: u32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: rusage is plain integers, for which all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the types wait4 takes.
        let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
        if r == pid as i32 {
            return (status, usage);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            panic!("wait4({pid}): {err}");
        }
    }
}

/// The exit code a shell would report for a wait status.
fn exit_code(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Wrapper mode: runs the real provider with our arguments on our stdio (so
/// the handshake line reaches Terraform untouched), then logs its rusage and
/// ours and exits as it did.
fn wrap(real: OsString) -> ! {
    let log = std::env::var_os(RUSAGE_LOG).expect("SCALE_BENCH_RUSAGE_LOG");
    let append = |line: String| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the rusage log");
        // One write per line: concurrent wrappers append whole lines.
        f.write_all(format!("{line}\n").as_bytes())
            .expect("write the rusage log");
    };
    let me = std::process::id();
    append(json!({"event": "start", "wrapper_pid": me}).to_string());
    let child = Command::new(&real)
        .args(std::env::args_os().skip(1))
        .env_remove(REAL_PROVIDER)
        .env_remove(RUSAGE_LOG)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", real.to_string_lossy()));
    let provider_pid = child.id();
    // Reaped here, not through `child`, to get its rusage; dropping a
    // std Child neither waits nor kills.
    let (status, usage) = reap(provider_pid);
    drop(child);
    // SAFETY: all zeroes is a valid rusage, and getrusage only writes it.
    let mut mine: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut mine) };
    append(
        json!({
            "event": "exit",
            "wrapper_pid": me,
            "provider_pid": provider_pid,
            "status": status,
            "utime_s": secs(usage.ru_utime),
            "stime_s": secs(usage.ru_stime),
            "maxrss_kib": usage.ru_maxrss,
            "wrapper_utime_s": secs(mine.ru_utime),
            "wrapper_stime_s": secs(mine.ru_stime),
        })
        .to_string(),
    );
    std::process::exit(exit_code(status));
}

// ---------------------------------------------------------------------------
// The generated configuration
// ---------------------------------------------------------------------------

/// How N managed resources split across the types: per ten, 2 endpoint
/// services, 1 connection accepter, 2 interface endpoints (one per VPC)
/// with 2 Snowflake pins on them, 2 Redshift grants and 1 S3 storage integration. Beside them
/// N/10 endpoint-service data sources and 3 more (vendor, Snowflake config,
/// Snowflake registrations).
#[derive(Clone, Copy)]
struct Mix {
    services: usize,
    accepters: usize,
    endpoints: usize,
    pins: usize,
    grants: usize,
    integrations: usize,
    service_lookups: usize,
}

impl Mix {
    fn of(n: usize) -> Mix {
        assert!(
            n >= 10 && n % 10 == 0,
            "SCALE_BENCH_SIZES: {n} is not a positive multiple of 10"
        );
        let t = n / 10;
        Mix {
            services: 2 * t,
            accepters: t,
            endpoints: 2 * t,
            pins: 2 * t,
            grants: 2 * t,
            integrations: t,
            service_lookups: t,
        }
    }

    fn resources(&self) -> usize {
        self.services
            + self.accepters
            + self.endpoints
            + self.pins
            + self.grants
            + self.integrations
    }

    fn data_sources(&self) -> usize {
        self.service_lookups + 3
    }

    /// Redshift clusters to spread the grants over (one grant per cluster
    /// and grantee account).
    fn clusters(&self) -> usize {
        self.grants.div_ceil(25).max(1)
    }

    fn to_json(self) -> Value {
        json!({
            "privatelink_endpoint_service": self.services,
            "privatelink_endpoint_connection_accepter": self.accepters,
            "privatelink_vpc_endpoint": self.endpoints,
            "privatelink_snowflake_endpoint_pin": self.pins,
            "privatelink_redshift_endpoint_grant": self.grants,
            "privatelink_s3_storage_integration": self.integrations,
            "data.privatelink_endpoint_service": self.service_lookups,
            "data.privatelink_vendor": 1,
            "data.privatelink_snowflake_config": 1,
            "data.privatelink_snowflake_endpoint_registrations": 1,
        })
    }
}

fn hcl_list(v: &Value) -> String {
    // A JSON array of strings is a valid HCL tuple.
    v.to_string()
}

fn main_tf(mix: &Mix, estate: &Value, aws_url: &str, sf_url: &str) -> String {
    let targets = estate["accept_targets"].as_array().expect("accept_targets");
    let target_field =
        |k: &str| Value::Array(targets.iter().map(|t| t[k].clone()).collect::<Vec<_>>());
    let consumers = estate["consumers"].as_array().expect("consumers");
    let consumer_field =
        |k: &str| Value::Array(consumers.iter().map(|c| c[k].clone()).collect::<Vec<_>>());
    let endpoints: Vec<String> = ["ec2", "iam", "redshift", "s3", "sts"]
        .iter()
        .map(|s| format!("    {s} = {aws_url:?}"))
        .collect();
    format!(
        r#"terraform {{
  required_providers {{
    privatelink = {{ source = "privatelink/privatelink" }}
  }}
}}

provider "privatelink" {{
  region = "us-east-1"
  endpoints {{
{endpoints}
  }}
  snowflake {{
    account     = "{SNOWFLAKE_ACCOUNT}"
    user        = "TERRAFORM"
    private_key = file("${{path.module}}/snowflake.p8")
    host        = {sf_url:?}
  }}
}}

locals {{
  nlb_arns            = {nlbs}
  accept_service_ids  = {accept_services}
  accept_endpoint_ids = {accept_endpoints}
  clusters            = {clusters}
  buckets             = {buckets}
  consumer_vpc_ids    = {vpcs}
  consumer_subnet_ids = {subnets}
}}

data "privatelink_vendor" "sigma" {{
  name = "sigma"
}}

# Publish: one service per NLB, each allowing the vendor and a customer.
resource "privatelink_endpoint_service" "publish" {{
  count                      = {services}
  network_load_balancer_arns = [local.nlb_arns[count.index]]
  allowed_principals = [
    data.privatelink_vendor.sigma.principal_arn,
    "arn:aws:iam::4000000${{format("%05d", count.index)}}:root",
  ]
  acceptance_required = true
  tags = {{
    Name = "scale-${{count.index}}"
  }}
}}

# Accept the vendor's waiting connections to services made outside.
resource "privatelink_endpoint_connection_accepter" "vendor" {{
  count           = {accepters}
  service_id      = local.accept_service_ids[count.index]
  vpc_endpoint_id = local.accept_endpoint_ids[count.index]
}}

data "privatelink_endpoint_service" "accepted" {{
  count = {lookups}
  id    = local.accept_service_ids[count.index]
}}

# Snowflake: an interface endpoint to the account's endpoint service in
# each consumer VPC, each pinned to the account.
data "privatelink_snowflake_config" "sf" {{}}

resource "privatelink_vpc_endpoint" "snowflake" {{
  count        = {endpoints_n}
  service_name = data.privatelink_snowflake_config.sf.endpoint_service_name
  vpc_id       = local.consumer_vpc_ids[count.index]
  subnet_ids   = local.consumer_subnet_ids[count.index]
  allow_from_vpc_cidr {{
    ports = [443]
  }}
  tags = {{
    Name = "snowflake-${{count.index}}"
  }}
}}

resource "privatelink_snowflake_endpoint_pin" "snowflake" {{
  count           = {pins}
  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake[count.index].id
  delay_minutes   = 0
}}

data "privatelink_snowflake_endpoint_registrations" "all" {{
  depends_on = [privatelink_snowflake_endpoint_pin.snowflake]
}}

# Redshift: each grantee account may reach one cluster from two VPCs.
resource "privatelink_redshift_endpoint_grant" "grantee" {{
  count              = {grants}
  cluster_identifier = local.clusters[count.index % length(local.clusters)]
  grantee_account    = "3000000${{format("%05d", count.index)}}"
  vpc_ids = [
    "vpc-0a${{format("%015x", count.index)}}",
    "vpc-0b${{format("%015x", count.index)}}",
  ]
}}

# S3: one storage integration per exports bucket.
resource "privatelink_s3_storage_integration" "exports" {{
  count     = {integrations}
  bucket    = local.buckets[count.index]
  prefix    = "exports/${{count.index}}"
  role_name = "scale-integration-${{count.index}}"
  vendor    = "sigma"
}}
"#,
        endpoints = endpoints.join("\n"),
        nlbs = hcl_list(&estate["nlb_arns"]),
        accept_services = hcl_list(&target_field("service_id")),
        accept_endpoints = hcl_list(&target_field("vpc_endpoint_id")),
        clusters = hcl_list(&estate["clusters"]),
        buckets = hcl_list(&estate["buckets"]),
        vpcs = hcl_list(&consumer_field("vpc_id")),
        subnets = hcl_list(&consumer_field("subnet_ids")),
        services = mix.services,
        accepters = mix.accepters,
        lookups = mix.service_lookups,
        endpoints_n = mix.endpoints,
        pins = mix.pins,
        grants = mix.grants,
        integrations = mix.integrations,
    )
}

// ---------------------------------------------------------------------------
// Emulators and fixtures
// ---------------------------------------------------------------------------

struct World {
    aws: aws::Emulator,
    sf: snowflake::Snowflake,
    estate: Value,
    private_pem: String,
    fixtures_s: f64,
}

fn world(mix: &Mix) -> World {
    let started = Instant::now();
    let aws = aws::Emulator::start();
    let sf = snowflake::Snowflake::start();
    let out = Command::new(aws::python())
        .arg(aws::repo().join("tests/emulators/aws/scale_fixtures.py"))
        .arg(&aws.url)
        .arg("estate")
        .args(["--nlbs", &mix.services.to_string()])
        .args(["--accept-targets", &mix.accepters.to_string()])
        .args(["--clusters", &mix.clusters().to_string()])
        .args(["--buckets", &mix.integrations.to_string()])
        .args(["--consumer-vpcs", &mix.endpoints.to_string()])
        .args(["--snowflake-account", SNOWFLAKE_AWS_ACCOUNT])
        .output()
        .expect("run scale_fixtures.py");
    assert!(
        out.status.success(),
        "scale_fixtures.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let estate: Value = serde_json::from_slice(&out.stdout).expect("fixture JSON");
    let key = snowflake::key_pair(None);
    // The account's PrivateLink config names the endpoint service just made,
    // so the endpoints the configuration creates connect to a real service.
    let (status, body) = sf.http(
        "POST",
        "/_privatelink/accounts",
        &[],
        Some(&json!({
            "account": SNOWFLAKE_ACCOUNT,
            "locator": "SB12345",
            "region": aws::REGION,
            "endpoint_service_id": estate["snowflake_service"]["service_id"],
            "users": [{"name": "TERRAFORM", "public_key_pem": key.public_pem, "roles": ["ACCOUNTADMIN"]}],
        })),
    );
    assert_eq!(status, 200, "register the Snowflake account: {body}");
    World {
        aws,
        sf,
        estate,
        private_pem: key.private_pem,
        fixtures_s: started.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------
// Running Terraform
// ---------------------------------------------------------------------------

struct Bench {
    terraform: PathBuf,
    /// Where the provider was named (reported).
    provider_source: PathBuf,
    /// A copy taken at start, so a rebuild during the run changes nothing.
    provider: PathBuf,
    /// Holds the dev_overrides directory, whose provider is this binary,
    /// and the copy of the provider.
    overrides: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let overrides = tempfile::Builder::new()
            .prefix("privatelink-scale-overrides-")
            .tempdir()
            .expect("tempdir");
        let me = std::env::current_exe().expect("current_exe");
        std::os::unix::fs::symlink(&me, overrides.path().join("terraform-provider-privatelink"))
            .expect("link the wrapper");
        let provider_source = release_bin::provider_bin();
        let provider = overrides.path().join("provider-under-test");
        std::fs::copy(&provider_source, &provider)
            .unwrap_or_else(|e| panic!("copy {}: {e}", provider_source.display()));
        Bench {
            terraform: terraform::terraform(),
            provider_source,
            provider,
            overrides,
        }
    }

    fn workspace(&self, main_tf: &str, private_pem: &str) -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("privatelink-scale-")
            .tempdir()
            .expect("tempdir");
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    {SOURCE:?} = {:?}\n  }}\n  direct {{}}\n}}\n",
            self.overrides.path().display().to_string()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
        std::fs::write(dir.path().join("main.tf"), main_tf).expect("main.tf");
        std::fs::write(dir.path().join("snowflake.p8"), private_pem).expect("key");
        dir
    }

    /// A workspace with the configuration of `mix` over `world`'s estate.
    fn workspace_for(&self, mix: &Mix, world: &World) -> tempfile::TempDir {
        self.workspace(
            &main_tf(mix, &world.estate, &world.aws.url, &world.sf.url),
            &world.private_pem,
        )
    }

    /// Runs terraform in `dir`, reaped with wait4; every provider process it
    /// starts logs its rusage to `label`.rusage.
    fn run(&self, dir: &Path, label: &str, args: &[&str]) -> Run {
        self.run_with(dir, label, args, &[])
    }

    /// `run`, with `env` added to Terraform's environment.
    fn run_with(&self, dir: &Path, label: &str, args: &[&str], env: &[(&str, &Path)]) -> Run {
        let log = dir.join(format!("{label}.rusage"));
        let out_path = dir.join(format!("{label}.out"));
        let _ = std::fs::remove_file(&log);
        let out = std::fs::File::create(&out_path).expect("output file");
        let mut cmd = Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env(REAL_PROVIDER, &self.provider)
            .env(RUSAGE_LOG, &log);
        // The host's AWS and Snowflake settings must not leak in.
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("SNOWFLAKE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_ACCESS_KEY_ID", aws::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", aws::SECRET_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.envs(env.iter().copied());

        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.terraform.display()));
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(reap(pid));
        });
        let limit = command_timeout();
        let (status, tree) = match rx.recv_timeout(limit) {
            Ok(r) => r,
            Err(_) => {
                // Not reaped yet, so the pid is still terraform's.
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!(
                    "terraform {} did not finish within {limit:?}; output so far:\n{}",
                    args.join(" "),
                    tail(&std::fs::read_to_string(&out_path).unwrap_or_default())
                );
            }
        };
        let wall_s = started.elapsed().as_secs_f64();
        drop(child);
        Run {
            code: exit_code(status),
            wall_s,
            tree,
            output: std::fs::read_to_string(&out_path).unwrap_or_default(),
            providers: providers(&log),
        }
    }
}

fn command_timeout() -> Duration {
    let secs = std::env::var("SCALE_BENCH_COMMAND_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(900);
    Duration::from_secs(secs)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

struct Run {
    code: i32,
    wall_s: f64,
    tree: libc::rusage,
    output: String,
    providers: Providers,
}

#[derive(Default)]
struct Providers {
    started: usize,
    exited: usize,
    user_s: f64,
    sys_s: f64,
    peak_rss_kib: i64,
    wrapper_cpu_s: f64,
    /// Each process's own line, in the order they ended.
    each: Vec<Value>,
}

fn providers(log: &Path) -> Providers {
    let mut p = Providers::default();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("rusage log line");
        if v["event"] == "start" {
            p.started += 1;
            continue;
        }
        p.exited += 1;
        p.user_s += v["utime_s"].as_f64().unwrap_or_default();
        p.sys_s += v["stime_s"].as_f64().unwrap_or_default();
        p.peak_rss_kib = p
            .peak_rss_kib
            .max(v["maxrss_kib"].as_i64().unwrap_or_default());
        p.wrapper_cpu_s += v["wrapper_utime_s"].as_f64().unwrap_or_default()
            + v["wrapper_stime_s"].as_f64().unwrap_or_default();
        p.each.push(v);
    }
    p
}

/// One command's figures, as scale.json holds them.
fn figures(
    run: &Run,
    resources: usize,
    aws_calls: &[(String, String, i64)],
    sf_calls: &[Value],
) -> Value {
    let p = &run.providers;
    assert_eq!(
        p.started, p.exited,
        "a provider process ended without its rusage (killed?), so its CPU would be missed"
    );
    let tree_cpu = secs(run.tree.ru_utime) + secs(run.tree.ru_stime);
    let provider_cpu = p.user_s + p.sys_s;
    let terraform_cpu = (tree_cpu - provider_cpu - p.wrapper_cpu_s).max(0.0);
    let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
    for (service, action, _) in aws_calls {
        *by_action.entry(format!("{service}:{action}")).or_default() += 1;
    }
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for r in sf_calls {
        let kind = r["statement_kind"].as_str().unwrap_or("(none)").to_string();
        *by_kind.entry(kind).or_default() += 1;
    }
    // Error answers: 4xx are mostly the provider's own probes (NotFound,
    // Duplicate on adoption); 5xx are the emulators failing under load
    // (e.g. moto's IAM racing itself), retried by the SDK.
    let aws_4xx = aws_calls
        .iter()
        .filter(|(_, _, status)| (400..500).contains(status))
        .count();
    let aws_5xx = aws_calls
        .iter()
        .filter(|(_, _, status)| *status >= 500)
        .count();
    let sf_errors = sf_calls
        .iter()
        .filter(|r| r["status"].as_i64().is_some_and(|s| s >= 400))
        .count();
    let n = resources as f64;
    json!({
        "wall_s": run.wall_s,
        "terraform_cpu_s": terraform_cpu,
        "terraform_tree_peak_rss_mib": run.tree.ru_maxrss as f64 / 1024.0,
        "provider_user_s": p.user_s,
        "provider_sys_s": p.sys_s,
        "provider_cpu_s": provider_cpu,
        "provider_cpu_ms_per_resource": provider_cpu * 1e3 / n,
        "provider_share_of_terraform_cpu": if terraform_cpu > 0.0 { provider_cpu / terraform_cpu } else { 0.0 },
        "provider_peak_rss_mib": p.peak_rss_kib as f64 / 1024.0,
        "provider_processes": p.exited,
        "wrapper_cpu_s": p.wrapper_cpu_s,
        "provider_process_rusage": p.each,
        "aws_calls": aws_calls.len(),
        "aws_calls_per_resource": aws_calls.len() as f64 / n,
        "aws_calls_by_action": by_action,
        "aws_4xx": aws_4xx,
        "aws_5xx": aws_5xx,
        "snowflake_calls": sf_calls.len(),
        "snowflake_calls_per_resource": sf_calls.len() as f64 / n,
        "snowflake_calls_by_kind": by_kind,
        "snowflake_errors": sf_errors,
    })
}

/// The commands measured at each size, in order.
const STEPS: [(&str, &[&str]); 3] = [
    (
        "apply",
        &["apply", "-no-color", "-input=false", "-auto-approve"],
    ),
    (
        "plan",
        &["plan", "-no-color", "-input=false", "-detailed-exitcode"],
    ),
    (
        "destroy",
        &["destroy", "-no-color", "-input=false", "-auto-approve"],
    ),
];

fn measure_size(bench: &Bench, n: usize) -> Value {
    let mix = Mix::of(n);
    let w = world(&mix);
    eprintln!(
        "scale: N={n}: estate made in {:.1}s; applying {} resources and {} data sources",
        w.fixtures_s,
        mix.resources(),
        mix.data_sources()
    );
    let ws = bench.workspace_for(&mix, &w);
    let dir = ws.path();

    let mut commands = serde_json::Map::new();
    for (label, args) in STEPS {
        w.aws.clear_requests();
        w.sf.clear_requests();
        let run = bench.run(dir, label, args);
        match (label, run.code) {
            (_, 0) => {}
            ("plan", 2) => panic!(
                "N={n}: the plan after apply is not empty:\n{}",
                tail(&run.output)
            ),
            _ => panic!(
                "N={n}: terraform {label} failed (exit {}):\n{}",
                run.code,
                tail(&run.output)
            ),
        }
        let aws_calls = w.aws.requests();
        let sf_calls = w.sf.requests();
        let f = figures(&run, mix.resources(), &aws_calls, &sf_calls);
        eprintln!(
            "scale: N={n} {label}: {:.1}s wall, terraform {:.2}s CPU, provider {:.2}s CPU in {} processes, {} AWS and {} Snowflake calls",
            f["wall_s"].as_f64().unwrap(),
            f["terraform_cpu_s"].as_f64().unwrap(),
            f["provider_cpu_s"].as_f64().unwrap(),
            f["provider_processes"],
            f["aws_calls"],
            f["snowflake_calls"],
        );
        commands.insert(label.to_string(), f);
    }
    // Destroy must leave nothing behind in state.
    let list = bench.run(dir, "state-list", &["state", "list", "-no-color"]);
    assert!(
        list.code == 0 && list.output.lines().all(|l| !l.starts_with("privatelink_")),
        "N={n}: resources left in state after destroy:\n{}",
        list.output
    );
    json!({
        "n": n,
        "resources": mix.resources(),
        "data_sources": mix.data_sources(),
        "mix": mix.to_json(),
        "fixtures_s": w.fixtures_s,
        "commands": commands,
    })
}

/// The provider RPCs Terraform makes at size `n`, per command and method,
/// counted from its own trace log ("GRPCProvider: <method>") in a separate,
/// unmeasured run: tracing slows Terraform. Each of these RPCs costs the
/// provider at least the floor the start-up report measures.
fn rpc_census(bench: &Bench, n: usize) -> Value {
    let mix = Mix::of(n);
    let w = world(&mix);
    let ws = bench.workspace_for(&mix, &w);
    let dir = ws.path();
    let mut commands = serde_json::Map::new();
    for (label, args) in STEPS {
        let trace = dir.join(format!("{label}.trace"));
        let level = Path::new("trace");
        let run = bench.run_with(
            dir,
            label,
            args,
            &[("TF_LOG", level), ("TF_LOG_PATH", &trace)],
        );
        assert!(
            run.code == 0,
            "RPC census, N={n}: terraform {label} failed (exit {}):\n{}",
            run.code,
            tail(&run.output)
        );
        let mut methods: BTreeMap<String, u64> = BTreeMap::new();
        let mut cached_schemas = 0;
        for line in std::fs::read_to_string(&trace).unwrap_or_default().lines() {
            if let Some((_, rest)) = line.split_once("GRPCProvider: ") {
                // Terraform logs GetProviderSchema, then this when it
                // answers from its cache without asking the provider.
                if rest.starts_with("returning cached schema") {
                    cached_schemas += 1;
                    continue;
                }
                let method: String = rest
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if !method.is_empty() {
                    *methods.entry(method).or_insert(0) += 1;
                }
            }
        }
        if let Some(schemas) = methods.get_mut("GetProviderSchema") {
            *schemas = schemas.saturating_sub(cached_schemas);
        }
        methods.retain(|_, count| *count > 0);
        let total: u64 = methods.values().sum();
        commands.insert(
            label.to_string(),
            json!({
                "rpcs": total,
                "per_resource": total as f64 / mix.resources() as f64,
                "methods": methods,
            }),
        );
    }
    json!({ "n": n, "resources": mix.resources(), "commands": commands })
}

/// Runs size `n` `repeats` times, each on fresh emulators: one run's CPU
/// figures vary by a quarter or more on a loaded 2-core machine. Each
/// command's numbers are the medians over the runs; the runs are kept.
fn measure_repeated(bench: &Bench, n: usize, repeats: usize) -> Value {
    let runs: Vec<Value> = (0..repeats).map(|_| measure_size(bench, n)).collect();
    let mut summary = runs[0].clone();
    for c in COMMANDS {
        let first = runs[0]["commands"][c].as_object().expect("command figures");
        let mut medians = first.clone();
        for (key, value) in first {
            if value.is_number() {
                let xs: Vec<f64> = runs.iter().map(|r| f(&r["commands"][c][key])).collect();
                medians.insert(key.clone(), json!(median(xs)));
            }
        }
        let cpu: Vec<f64> = runs
            .iter()
            .map(|r| f(&r["commands"][c]["provider_cpu_s"]))
            .collect();
        medians.insert(
            "provider_cpu_s_range".into(),
            json!([
                cpu.iter().cloned().fold(f64::INFINITY, f64::min),
                cpu.iter().cloned().fold(0.0, f64::max)
            ]),
        );
        summary["commands"][c] = Value::Object(medians);
    }
    summary["repeats"] = json!(repeats);
    summary["fixtures_s"] = json!(median(runs.iter().map(|r| f(&r["fixtures_s"])).collect()));
    summary["runs"] = Value::Array(runs);
    summary
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

const COMMANDS: [&str; 3] = ["apply", "plan", "destroy"];

/// Least squares y = a + b·x: (a, b, r²).
fn fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx == 0.0 {
        return (my, 0.0, 1.0);
    }
    let b = sxy / sxx;
    let r2 = if syy == 0.0 {
        1.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    (my - b * mx, b, r2)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_default()
}

fn markdown(report: &Value) -> String {
    let sizes = report["sizes"].as_array().expect("sizes");
    let mut md = String::new();
    let _ = writeln!(md, "# Scale benchmark\n");
    let _ = writeln!(
        md,
        "Terraform {} with `{}` against the AWS (moto + extension) and Snowflake emulators on loopback; {} CPUs; {}. \
         Each N runs {} times, each on a fresh pair of emulators and a fresh workspace: `apply`, a refreshing `plan` \
         (must be empty), `destroy`, with Terraform's default parallelism (10); the tables show each figure's median \
         over the runs (scale.json keeps every run).\n",
        report["terraform_version"].as_str().unwrap_or("?"),
        report["provider_bin"].as_str().unwrap_or("?"),
        report["cpus"],
        report["generated_at"].as_str().unwrap_or("?"),
        report["repeats"],
    );
    let _ = writeln!(
        md,
        "N counts managed resources, per ten: 2 `privatelink_endpoint_service` (NLB each, 2 principals), \
         1 `privatelink_endpoint_connection_accepter` (a vendor endpoint waiting on a service made outside), \
         2 `privatelink_vpc_endpoint` (owned security group, one VPC each) with 2 `privatelink_snowflake_endpoint_pin` on them, \
         2 `privatelink_redshift_endpoint_grant` (2 VPCs, one grantee account each, 25 per cluster) and \
         1 `privatelink_s3_storage_integration` (own bucket). Data sources beside them: N/10 `privatelink_endpoint_service`, \
         and one each of `privatelink_vendor`, `privatelink_snowflake_config`, `privatelink_snowflake_endpoint_registrations`. \
         Per-resource figures divide by N.\n"
    );
    let _ = writeln!(
        md,
        "CPU and memory come from the OS: the provider's from wait4() on each provider process Terraform started \
         (through a wrapper the CLI config's dev_overrides name), summed (CPU) or maxed (peak RSS) over them; \
         Terraform's own CPU from wait4() on Terraform minus those processes and the wrappers. \
         Calls come from the emulators' request logs, cleared before each command.\n"
    );
    let _ = writeln!(
        md,
        "| N | command | wall s | Terraform CPU s | provider CPU s (min–max) | provider CPU ms/resource | provider / Terraform CPU | provider peak RSS MiB | provider processes | AWS calls | AWS calls/resource | Snowflake calls | Snowflake calls/resource | AWS 4xx / 5xx, Snowflake errors |"
    );
    let _ = writeln!(
        md,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in sizes {
        for c in COMMANDS {
            let m = &s["commands"][c];
            let _ = writeln!(
                md,
                "| {} | {c} | {:.1} | {:.2} | {:.3} ({:.3}–{:.3}) | {:.2} | {:.1}% | {:.1} | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} / {:.0}, {:.0} |",
                s["n"],
                f(&m["wall_s"]),
                f(&m["terraform_cpu_s"]),
                f(&m["provider_cpu_s"]),
                f(&m["provider_cpu_s_range"][0]),
                f(&m["provider_cpu_s_range"][1]),
                f(&m["provider_cpu_ms_per_resource"]),
                100.0 * f(&m["provider_share_of_terraform_cpu"]),
                f(&m["provider_peak_rss_mib"]),
                f(&m["provider_processes"]),
                f(&m["aws_calls"]),
                f(&m["aws_calls_per_resource"]),
                f(&m["snowflake_calls"]),
                f(&m["snowflake_calls_per_resource"]),
                f(&m["aws_4xx"]),
                f(&m["aws_5xx"]),
                f(&m["snowflake_errors"]),
            );
        }
    }

    let _ = writeln!(md, "\n## Growth with N\n");
    let _ = writeln!(
        md,
        "Least-squares line through the three sizes, per command: slope per resource, intercept (the fixed cost: \
         process starts, schemas, configuration), r². Linear growth shows as r² near 1 and a per-resource \
         figure that does not rise with N.\n"
    );
    let _ = writeln!(
        md,
        "| command | measure | per resource at each N | slope per resource | intercept | r² |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|");
    let measures: [(&str, &str, f64, &str); 5] = [
        ("provider CPU", "provider_cpu_s", 1e3, "ms"),
        ("Terraform CPU", "terraform_cpu_s", 1e3, "ms"),
        ("wall", "wall_s", 1e3, "ms"),
        ("AWS calls", "aws_calls", 1.0, "calls"),
        ("Snowflake calls", "snowflake_calls", 1.0, "calls"),
    ];
    let mut verdicts = Vec::new();
    for c in COMMANDS {
        for (name, key, scale, unit) in measures {
            let points: Vec<(f64, f64)> = sizes
                .iter()
                .map(|s| (f(&s["resources"]), f(&s["commands"][c][key]) * scale))
                .collect();
            let per: Vec<String> = points
                .iter()
                .map(|(n, y)| format!("{:.2} @{}", y / n, n))
                .collect();
            let (a, b, r2) = fit(&points);
            let _ = writeln!(
                md,
                "| {c} | {name} ({unit}) | {} | {b:.2} | {a:.1} | {r2:.3} |",
                per.join(", ")
            );
            if key == "provider_cpu_s" && points.len() >= 2 {
                let first = points[points.len() - 2];
                let last = points[points.len() - 1];
                let ratio = (last.1 / last.0) / (first.1 / first.0);
                // Linear: the per-resource cost stays within a quarter of
                // its value at the previous size, and a line fits.
                verdicts.push(format!(
                    "- {c}: provider CPU per resource at N={} is {:.2}× that at N={} (line fit r² {r2:.3}): {}",
                    last.0,
                    ratio,
                    first.0,
                    if ratio <= 1.25 && r2 >= 0.98 {
                        "linear"
                    } else if ratio <= 1.25 {
                        "no per-resource growth, but a line fits poorly"
                    } else {
                        "per-resource cost ROSE by more than the 1.25× bound"
                    }
                ));
            }
        }
    }
    if let Some(census) = report["rpc_census"].as_object() {
        let _ = writeln!(
            md,
            "\n## RPCs Terraform makes\n\nCounted from Terraform's trace log in a separate run at N={} (tracing slows Terraform, so it is not measured for CPU). Every one costs the provider at least the per-RPC floor (below), whatever the provider does.\n",
            census["n"]
        );
        let _ = writeln!(md, "| command | provider RPCs | per resource | by method |");
        let _ = writeln!(md, "|---|---:|---:|---|");
        for c in COMMANDS {
            let x = &census["commands"][c];
            let methods = x["methods"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "| {c} | {} | {:.2} | {methods} |",
                x["rpcs"],
                f(&x["per_resource"])
            );
        }
    }
    floor_section(&mut md, report);
    let _ = writeln!(md, "\n## Verdict\n");
    for v in verdicts {
        let _ = writeln!(md, "{v}");
    }
    if let Some(last) = sizes.last() {
        let (mut p, mut t) = (0.0, 0.0);
        for c in COMMANDS {
            p += f(&last["commands"][c]["provider_cpu_s"]);
            t += f(&last["commands"][c]["terraform_cpu_s"]);
        }
        let share = if t > 0.0 { p / t } else { 0.0 };
        let _ = writeln!(
            md,
            "- At N={}, the provider's CPU over apply, plan and destroy is {:.2}s against Terraform's own {:.2}s: \
             **{:.1}% of Terraform's CPU** (target under 5%: {}).",
            last["n"],
            p,
            t,
            100.0 * share,
            if share < 0.05 { "met" } else { "NOT met" }
        );
    }
    md
}

// ---------------------------------------------------------------------------
// Floors: what an RPC and an AWS call cost the provider before any work
// ---------------------------------------------------------------------------

/// The helper that measures the provider's CPU per empty AWS call: named by
/// `AWS_CALL_FLOOR_BIN`, else beside the release provider, else Cargo's
/// build of it for this bench.
fn aws_call_floor_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("AWS_CALL_FLOOR_BIN") {
        return PathBuf::from(p);
    }
    let release = release_bin::provider_bin().with_file_name("aws-call-floor");
    if release.exists() {
        return release;
    }
    PathBuf::from(env!("CARGO_BIN_EXE_aws-call-floor"))
}

/// Provider CPU µs per empty RPC and per empty AWS call, one and ten in
/// flight (medians of five rounds each).
fn floors(bench: &Bench) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = plugin_client::terraform_like_client_cert();
    let [one, ten] = runtime
        .block_on(rpc_floor::rpc_floor(&bench.provider, &client))
        .unwrap_or_else(|e| panic!("RPC floor: {e}"));

    let emulator = aws::Emulator::start();
    let helper = aws_call_floor_bin();
    let out = Command::new(&helper)
        .args([emulator.url.as_str(), "500"])
        .envs(emulator.env())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", helper.display()));
    assert!(out.status.success(), "{} failed", helper.display());
    let aws: Value = serde_json::from_slice(&out.stdout).expect("aws-call-floor's JSON");
    json!({
        "rpc_us_1_in_flight": median(one),
        "rpc_us_10_in_flight": median(ten),
        "aws_call_us_1_in_flight": aws["cpu_us_per_call_1_in_flight"],
        "aws_call_us_10_in_flight": aws["cpu_us_per_call_10_in_flight"],
        "aws_call_floor_bin": helper.display().to_string(),
    })
}

/// The floor section: at the largest N, the RPCs (the census's count per
/// resource, times N) and AWS calls made, each at the lower of its two
/// per-unit figures, against the measured CPU and the 5% target.
fn floor_section(md: &mut String, report: &Value) {
    let floors = &report["floors"];
    let (Some(last), Some(census)) = (
        report["sizes"].as_array().and_then(|s| s.last()),
        report["rpc_census"]["commands"].as_object(),
    ) else {
        return;
    };
    let n = f(&last["n"]);
    let census_n = &report["rpc_census"]["n"];
    let (mut rpcs, mut calls, mut provider, mut terraform) = (0.0, 0.0, 0.0, 0.0);
    for c in COMMANDS {
        rpcs += f(&census[c]["per_resource"]) * n;
        calls += f(&last["commands"][c]["aws_calls"]);
        provider += f(&last["commands"][c]["provider_cpu_s"]);
        terraform += f(&last["commands"][c]["terraform_cpu_s"]);
    }
    let rpc_us = f(&floors["rpc_us_1_in_flight"]).min(f(&floors["rpc_us_10_in_flight"]));
    let call_us = f(&floors["aws_call_us_1_in_flight"]).min(f(&floors["aws_call_us_10_in_flight"]));
    let rpc_s = rpcs * rpc_us / 1e6;
    let call_s = calls * call_us / 1e6;
    let floor_s = rpc_s + call_s;
    let share = |s: f64| 100.0 * s / terraform.max(f64::MIN_POSITIVE);
    let _ = writeln!(
        md,
        "\n## The floor under this workload\n\n\
         Measured in this run: the provider's CPU per RPC that does no work (a gRPC health check over the \
         mutual-TLS connection Terraform uses) and per AWS call that does no work (an empty DescribeVpcEndpoints \
         through the provider's own clients, release build, against a fresh emulator: `{}`), each with one and \
         ten calls in flight. Counted at the lower of the two, times the RPCs Terraform makes (the census's count \
         per resource at N={census_n}, times {n}) and the AWS calls the emulators served at N={n}, they are CPU that \
         no provider built on tonic and the AWS SDK can avoid. Snowflake calls are left out, so the floor is a lower \
         bound.\n",
        floors["aws_call_floor_bin"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        md,
        "| part | count at N={n} | µs each (1 / 10 in flight) | CPU s | share of Terraform's CPU |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| RPCs (apply, plan, destroy) | {rpcs:.0} | {:.1} / {:.1} | {rpc_s:.2} | {:.1}% |",
        f(&floors["rpc_us_1_in_flight"]),
        f(&floors["rpc_us_10_in_flight"]),
        share(rpc_s)
    );
    let _ = writeln!(
        md,
        "| AWS calls | {calls:.0} | {:.1} / {:.1} | {call_s:.2} | {:.1}% |",
        f(&floors["aws_call_us_1_in_flight"]),
        f(&floors["aws_call_us_10_in_flight"]),
        share(call_s)
    );
    let _ = writeln!(
        md,
        "| **floor** | | | **{floor_s:.2}** | **{:.1}%** |",
        share(floor_s)
    );
    let _ = writeln!(
        md,
        "| measured provider CPU | | | {provider:.2} | {:.1}% |",
        share(provider)
    );
    let _ = writeln!(
        md,
        "\nThe target (under 5% of Terraform's {terraform:.2}s) allows {:.2}s. The floor alone is {:.0}% of \
         that allowance. The rest of the provider's CPU, {:.2}s, is what the real RPCs and calls cost beyond empty \
         ones (their payloads through the same stack, decoding and encoding, the handlers) and the Snowflake calls.",
        0.05 * terraform,
        100.0 * floor_s / (0.05 * terraform).max(f64::MIN_POSITIVE),
        provider - floor_s
    );
}

fn terraform_version(bench: &Bench) -> String {
    let out = Command::new(&bench.terraform)
        .args(["version", "-json"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .expect("terraform version");
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v["terraform_version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn main() {
    if let Some(real) = std::env::var_os(REAL_PROVIDER) {
        wrap(real);
    }
    let sizes: Vec<usize> = std::env::var("SCALE_BENCH_SIZES")
        .unwrap_or_else(|_| "10,100,500".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SCALE_BENCH_SIZES: comma-separated numbers")
        })
        .collect();
    let repeats: usize = std::env::var("SCALE_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    let bench = Bench::new();
    println!(
        "scale bench: {} with terraform {} at N = {sizes:?}, {repeats} runs each",
        bench.provider_source.display(),
        bench.terraform.display()
    );
    let started = Instant::now();
    let results: Vec<Value> = sizes
        .iter()
        .map(|&n| measure_repeated(&bench, n, repeats))
        .collect();
    let census_n = std::env::var("SCALE_BENCH_CENSUS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let census = (census_n > 0).then(|| rpc_census(&bench, census_n));
    let report = json!({
        "rpc_census": census,
        // The floor section needs the census's RPC counts.
        "floors": census.as_ref().map(|_| floors(&bench)),
        "generated_at": now_utc(),
        "terraform_version": terraform_version(&bench),
        "provider_bin": bench.provider_source.display().to_string(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "total_s": started.elapsed().as_secs_f64(),
        "repeats": repeats,
        "sizes": results,
    });
    let dir = std::env::var_os("SCALE_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| aws::repo().join("reports"));
    std::fs::create_dir_all(&dir).expect("create the reports folder");
    std::fs::write(
        dir.join("scale.json"),
        serde_json::to_string_pretty(&report).expect("JSON"),
    )
    .expect("write scale.json");
    let md = markdown(&report);
    std::fs::write(dir.join("scale.md"), &md).expect("write scale.md");
    println!("\n{md}");
    println!(
        "wrote {} and scale.md in {:.0}s",
        dir.join("scale.json").display(),
        started.elapsed().as_secs_f64()
    );
}
