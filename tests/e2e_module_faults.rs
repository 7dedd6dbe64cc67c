//! The fault suite of the vendor onboarding module (examples/vendor-onboarding,
//! the whole module: endpoint service and accepter, Redshift grant, S3
//! storage integration, Snowflake endpoint and pin) through the real
//! Terraform CLI against both emulators:
//! - throttling and 5xx answers injected into a fraction of the AWS and
//!   Snowflake calls of a full apply, plan and destroy;
//! - the provider killed (SIGKILL) while its create calls are in flight, and
//!   the next apply adopting what they made;
//! - canaries for every secret input and the minted token, searched for in
//!   state, plans, outputs and trace logs.
//!
//! Each test asserts on what Terraform says and on what the emulators hold
//! afterwards (one of each object, none after destroy).

#[path = "support/aws.rs"]
mod aws;
#[path = "support/snowflake.rs"]
mod snowflake;
#[path = "support/terraform.rs"]
mod terraform;

use aws::Emulator;
use serde_json::{json, Value};
use snowflake::{aws_fixture, key_pair, KeyPair, Snowflake};
use std::collections::BTreeMap;
use std::time::Instant;
use terraform::Workspace;

const SNOWFLAKE_ACCOUNT: &str = "ACME-ANALYTICS";
const SNOWFLAKE_AWS_ACCOUNT: &str = "889634178462";
const ROLE: &str = "sigma-storage-integration";
const CORS_ID: &str = "privatelink-sigma-storage-integration";
const SIGMA_ACCOUNT: &str = "185497759670";

/// The data estate in the AWS emulator (an NLB, an RA3 cluster, a bucket
/// with other teams' CORS rules and policy, an analytics VPC), Snowflake's
/// endpoint service as Snowflake's AWS account, and the Snowflake account
/// whose PrivateLink config names that service.
struct Estate {
    aws: Emulator,
    sf: Snowflake,
    key: KeyPair,
    nlb_arn: String,
    cluster: String,
    bucket: String,
    vpc_id: String,
    subnets: Vec<String>,
    /// The endpoint service Snowflake's emulated account names.
    snowflake_service_name: String,
}

fn str_of(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_string()
}

fn estate() -> Estate {
    let aws = Emulator::start();
    let sf = Snowflake::start();
    let nlb_arn = str_of(&aws.fixture(&["nlb", "--name", "warehouse"]), "nlb_arn");
    let cluster = str_of(&aws.redshift_fixture(&["cluster"]), "cluster_identifier");
    let bucket = str_of(
        &aws.s3_fixture(&["bucket", "--name", "acme-analytics-exports"]),
        "bucket",
    );
    let service = aws.fixture(&[
        "partner-service",
        "--account",
        SNOWFLAKE_AWS_ACCOUNT,
        "--azs",
        "2",
        "--acceptance-required",
        "false",
        "--allow",
        aws::ACCOUNT,
    ]);
    let key = key_pair(None);
    sf.add_account_with_service(
        SNOWFLAKE_ACCOUNT,
        "AC12345",
        &str_of(&service, "service_id"),
        "TERRAFORM",
        &key.public_pem,
    );
    let vpc = aws.fixture(&["consumer-vpc"]);
    let zones: Vec<&Value> = service["azs"].as_array().unwrap().iter().collect();
    let subnets = vpc["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| zones.contains(&&s["az"]))
        .map(|s| str_of(s, "id"))
        .collect();
    Estate {
        nlb_arn,
        cluster,
        bucket,
        vpc_id: str_of(&vpc, "vpc_id"),
        subnets,
        snowflake_service_name: str_of(&service, "service_name"),
        aws,
        sf,
        key,
    }
}

/// What the vendor sends back for the second apply: its endpoint and IAM
/// user.
struct VendorAnswer {
    endpoint_id: String,
    iam_user_arn: String,
}

impl Estate {
    /// The root configuration: the provider on both emulators (plus
    /// `provider_extra`), and the module as the demo calls it.
    fn main_tf(&self, provider_extra: &str, vendor: Option<&VendorAnswer>) -> String {
        let endpoints: String = ["ec2", "iam", "redshift", "s3", "sts"]
            .iter()
            .map(|s| format!("    {s} = {:?}\n", self.aws.url))
            .collect();
        let (endpoint_id, user, external) = vendor
            .map(|v| {
                (
                    v.endpoint_id.as_str(),
                    v.iam_user_arn.as_str(),
                    "SIGMA_faults_SFCRole=3_abcdefghijklmnop=",
                )
            })
            .unwrap_or(("", "", ""));
        format!(
            r#"{header}
provider "privatelink" {{
  region = "us-east-1"
{provider_extra}  endpoints {{
{endpoints}  }}
  snowflake {{
    account     = "{SNOWFLAKE_ACCOUNT}"
    user        = "TERRAFORM"
    private_key = file("${{path.module}}/snowflake.p8")
    host        = {sf:?}
  }}
}}

module "sigma" {{
  source = "./vendor-onboarding"

  vendor             = "sigma"
  nlb_arn            = {nlb:?}
  vendor_endpoint_id = {endpoint_id:?}

  redshift_cluster_identifier = {cluster:?}

  bucket              = {bucket:?}
  bucket_prefix       = "sigma"
  storage_role_name   = "{ROLE}"
  vendor_iam_user_arn = {user:?}
  external_id         = {external:?}

  snowflake_enabled           = true
  snowflake_vpc_id            = {vpc:?}
  snowflake_subnet_ids        = {subnets}
  snowflake_pin_delay_minutes = 0

  tags = {{
    Team = "data-platform"
  }}
}}

output "vendor_handoff" {{
  value = module.sigma.vendor_handoff
}}

output "snowflake" {{
  value = module.sigma.snowflake
}}
"#,
            header = terraform_header(),
            sf = self.sf.url,
            nlb = self.nlb_arn,
            cluster = self.cluster,
            bucket = self.bucket,
            vpc = self.vpc_id,
            subnets = serde_json::to_string(&self.subnets).unwrap(),
        )
    }

    /// A workspace with the module copied beside main.tf, the Snowflake key
    /// file and the emulator's AWS keys.
    fn workspace(&self, provider_extra: &str) -> Workspace {
        let mut ws = Workspace::new(&self.main_tf(provider_extra, None));
        let module = terraform::repo_root().join("examples/vendor-onboarding");
        let copy = ws.path().join("vendor-onboarding");
        std::fs::create_dir_all(&copy).expect("module dir");
        for f in std::fs::read_dir(&module).expect("module") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&f, copy.join(f.file_name().unwrap())).expect("copy module");
            }
        }
        ws.write("snowflake.p8", &self.key.private_pem);
        for (k, v) in self.aws.env() {
            ws.set_env(k, v);
        }
        ws.check_after_destroy(self.aws.documented_calls_check());
        ws
    }

    /// Sigma connects to the published service from its own account and
    /// shows its IAM user (done as the vendor, outside Terraform).
    fn vendor_answers(&self, ws: &Workspace) -> VendorAnswer {
        let service_name = ws.outputs()["vendor_handoff"]["value"]["privatelink"]["service_name"]
            .as_str()
            .expect("service name in the hand-off")
            .to_string();
        VendorAnswer {
            endpoint_id: str_of(
                &self
                    .aws
                    .fixture(&["vendor-endpoint", &service_name, SIGMA_ACCOUNT]),
                "vpc_endpoint_id",
            ),
            iam_user_arn: str_of(&self.aws.s3_fixture(&["vendor-user"]), "arn"),
        }
    }

    fn inventory(&self) -> Value {
        self.aws.inventory(&[&self.bucket, &self.cluster])
    }

    /// Exactly one of each object the module makes, and the other teams'
    /// CORS rules and bucket policy statement untouched beside them.
    fn assert_one_of_each(&self, inv: &Value) {
        let services = inv["endpoint_services"].as_array().unwrap();
        assert_eq!(services.len(), 1, "endpoint services: {services:?}");
        assert_eq!(services[0]["nlbs"], json!([self.nlb_arn]));
        let endpoints: Vec<&Value> = inv["vpc_endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["vpc_id"] == self.vpc_id.as_str())
            .collect();
        assert_eq!(endpoints.len(), 1, "Snowflake endpoints: {endpoints:?}");
        let groups: Vec<&Value> = inv["security_groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["vpc_id"] == self.vpc_id.as_str())
            .collect();
        assert_eq!(groups.len(), 1, "security groups: {groups:?}");
        let grants = inv["redshift_grants"].as_array().unwrap();
        assert_eq!(grants.len(), 1, "Redshift grants: {grants:?}");
        assert_eq!(grants[0]["grantee"], SIGMA_ACCOUNT);
        assert_eq!(grants[0]["status"], "Authorized");
        assert_eq!(inv["iam_roles"], json!([ROLE]), "IAM roles");
        assert_eq!(
            inv["iam_policies"].as_array().unwrap().len(),
            1,
            "IAM policies: {}",
            inv["iam_policies"]
        );
        let cors = inv["cors_rule_ids"].as_array().unwrap();
        assert_eq!(
            cors.iter().filter(|r| *r == CORS_ID).count(),
            1,
            "CORS rules: {cors:?}"
        );
        assert_eq!(cors.len(), 3, "the two foreign CORS rules stay: {cors:?}");
        assert_eq!(
            inv["bucket_policy_sids"],
            json!(["AnalyticsTeamRead"]),
            "the foreign bucket policy statement stays alone"
        );
        let regs = self.sf.registrations_of(SNOWFLAKE_ACCOUNT);
        assert_eq!(regs.len(), 1, "Snowflake registrations: {regs:?}");
        assert_eq!(regs[0]["pinnedConsumerEndpointId"], endpoints[0]["id"]);
    }

    /// Nothing the module made is left; what others own is.
    fn assert_no_orphan(&self, inv: &Value) {
        assert_eq!(inv["endpoint_services"], json!([]), "endpoint services");
        let endpoints: Vec<&Value> = inv["vpc_endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["vpc_id"] == self.vpc_id.as_str())
            .collect();
        assert!(endpoints.is_empty(), "Snowflake endpoints: {endpoints:?}");
        assert_eq!(inv["security_groups"], json!([]), "security groups");
        // A revoked grant shows as Revoking for a while, as in AWS.
        let grants: Vec<&Value> = inv["redshift_grants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["status"] != "Revoking")
            .collect();
        assert!(grants.is_empty(), "Redshift grants: {grants:?}");
        assert_eq!(inv["iam_roles"], json!([]), "IAM roles");
        assert_eq!(inv["iam_policies"], json!([]), "IAM policies");
        let cors = inv["cors_rule_ids"].as_array().unwrap();
        assert!(!cors.contains(&json!(CORS_ID)), "CORS rules: {cors:?}");
        assert_eq!(cors.len(), 2, "the foreign CORS rules stay: {cors:?}");
        assert_eq!(inv["bucket_policy_sids"], json!(["AnalyticsTeamRead"]));
        assert_eq!(
            self.sf.registrations(),
            Vec::<Value>::new(),
            "Snowflake registrations"
        );
    }
}

fn terraform_header() -> &'static str {
    "terraform {\n  required_providers {\n    privatelink = { source = \"privatelink/privatelink\" }\n  }\n}\n"
}

/// Every resource the full module (both phases) manages.
const RESOURCES: [&str; 6] = [
    "module.sigma.privatelink_endpoint_service.this[0]",
    "module.sigma.privatelink_endpoint_connection_accepter.vendor[0]",
    "module.sigma.privatelink_redshift_endpoint_grant.vendor[0]",
    "module.sigma.privatelink_s3_storage_integration.vendor[0]",
    "module.sigma.privatelink_vpc_endpoint.snowflake[0]",
    "module.sigma.privatelink_snowflake_endpoint_pin.snowflake[0]",
];

fn state_list(ws: &Workspace) -> Vec<String> {
    ws.ok(&["state", "list", "-no-color"])
        .stdout
        .lines()
        .filter(|l| !l.contains(".data."))
        .map(str::to_string)
        .collect()
}

/// The attribute values of `address` in `terraform show -json`.
fn values_of(state: &Value, address: &str) -> Value {
    state["values"]["root_module"]["child_modules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["resources"].as_array().cloned().unwrap_or_default())
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("no {address} in state"))
}

/// An error code and the HTTP status AWS answers it with.
type ErrorAnswer = (&'static str, u16);

/// The throttling and 5xx answer each AWS service documents, as injected
/// once per service on top of the fraction, so every service the module
/// calls sees both kinds whatever the seeded draw.
const PER_SERVICE: [(&str, ErrorAnswer, ErrorAnswer); 5] = [
    ("ec2", ("RequestLimitExceeded", 503), ("InternalError", 500)),
    ("iam", ("Throttling", 400), ("ServiceFailure", 500)),
    (
        "redshift",
        ("ThrottlingException", 400),
        ("InternalFailure", 500),
    ),
    ("s3", ("SlowDown", 503), ("InternalError", 500)),
    ("sts", ("Throttling", 400), ("ServiceUnavailable", 503)),
];

/// Calls that fail with a 5xx after AWS carried them out (the answer is
/// lost), so the SDK's retry meets what the first attempt made: creates
/// while applying, deletes while destroying.
const LOST_ON_APPLY: [(&str, &str, &str, u16); 8] = [
    (
        "ec2",
        "CreateVpcEndpointServiceConfiguration",
        "InternalError",
        500,
    ),
    ("ec2", "CreateSecurityGroup", "Unavailable", 503),
    ("ec2", "CreateVpcEndpoint", "InternalError", 500),
    (
        "redshift",
        "AuthorizeEndpointAccess",
        "InternalFailure",
        500,
    ),
    ("iam", "CreatePolicy", "ServiceFailure", 500),
    ("iam", "CreateRole", "ServiceUnavailable", 503),
    ("s3", "PutBucketCors", "InternalError", 500),
    ("sts", "GetFederationToken", "InternalFailure", 500),
];
const LOST_ON_DESTROY: [(&str, &str, &str, u16); 8] = [
    (
        "ec2",
        "DeleteVpcEndpointServiceConfigurations",
        "InternalError",
        500,
    ),
    ("ec2", "DeleteVpcEndpoints", "Unavailable", 503),
    ("ec2", "DeleteSecurityGroup", "InternalError", 500),
    ("redshift", "RevokeEndpointAccess", "InternalFailure", 500),
    ("iam", "DetachRolePolicy", "ServiceFailure", 500),
    ("iam", "DeleteRole", "ServiceFailure", 500),
    ("iam", "DeletePolicy", "ServiceUnavailable", 503),
    // The bucket keeps the other teams' rules: the rule goes by a put.
    ("s3", "PutBucketCors", "InternalError", 500),
];

/// Each lost-answer fault fired: the emulator served the call (`served`)
/// and answered the injected error.
fn assert_lost_answers(emu: &Emulator, lost: &[(&str, &str, &str, u16)]) {
    let log = emu.request_log();
    for (service, action, code, _) in lost {
        assert!(
            log.iter().any(|r| r["service"] == *service
                && r["action"] == *action
                && r["injected"] == *code
                && r["served"].as_i64().is_some_and(|s| s < 300)),
            "{service} {action} never lost its answer: {:?}",
            log.iter()
                .filter(|r| r["action"] == *action)
                .collect::<Vec<_>>()
        );
    }
}

fn inject_aws(emu: &Emulator, seed: u64, lost: &[(&str, &str, &str, u16)]) {
    let mut faults = vec![json!({
        "throttle_fraction": 0.12,
        "server_error_fraction": 0.08,
        "seed": seed,
    })];
    // Listed first: count faults apply in order, and these name an action.
    for (service, action, code, status) in lost {
        faults.push(json!({"service": service, "action": action, "code": code, "status": status, "after": true}));
    }
    for (service, (throttle, ts), (error, es)) in PER_SERVICE {
        faults.push(json!({"service": service, "code": throttle, "status": ts, "count": 1}));
        faults.push(json!({"service": service, "code": error, "status": es, "count": 1}));
    }
    emu.fault(Value::Array(faults));
}

fn inject_snowflake(sf: &Snowflake, seed: u64, kind: &str) {
    // A 500 after `kind` ran (only the resubmission with the same requestId
    // and retry=true learns its result), then a seeded 25% of every call.
    sf.fault(json!({"status": 500, "count": 1, "after": true, "kinds": [kind]}));
    sf.fault(
        json!({"fraction": 0.25, "statuses": [429, 503, 500], "retry_after": 1, "seed": seed}),
    );
}

#[derive(Default, Debug)]
struct Tally {
    calls: usize,
    /// Calls per service.
    services: BTreeMap<String, usize>,
    /// Injected answers per service and code.
    injected: BTreeMap<String, BTreeMap<String, usize>>,
}

fn aws_tally(emu: &Emulator) -> Tally {
    let mut t = Tally::default();
    for r in emu.request_log() {
        t.calls += 1;
        *t.services
            .entry(r["service"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
        if let Some(code) = r["injected"].as_str() {
            *t.injected
                .entry(r["service"].as_str().unwrap_or_default().to_string())
                .or_default()
                .entry(code.to_string())
                .or_default() += 1;
        }
    }
    t
}

#[test]
fn throttling_and_5xx_in_a_fraction_of_calls_converge_without_duplicates_or_orphans() {
    let started = Instant::now();
    let e = estate();
    let ws = e.workspace("");
    ws.init();
    e.aws.clear_requests();
    e.sf.clear_requests();

    // Phase one under faults: one apply must do it (the retries absorb
    // every injected answer).
    inject_aws(&e.aws, 17, &LOST_ON_APPLY);
    inject_snowflake(&e.sf, 3, "REGISTER_PRIVATELINK_ENDPOINT");
    ws.apply_says("Apply complete! Resources: 5 added");
    assert_lost_answers(&e.aws, &LOST_ON_APPLY);

    // The vendor answers (fixtures run without faults: they do not retry).
    e.aws.clear_faults();
    let vendor = e.vendor_answers(&ws);
    ws.write("main.tf", &e.main_tf("", Some(&vendor)));

    // Phase two (accept the connection, trust the vendor's user), a
    // refreshing plan and the hand-off, all under faults.
    inject_aws(&e.aws, 29, &[]);
    ws.apply_says("Apply complete! Resources: 1 added, 1 changed, 0 destroyed");
    ws.assert_plan_empty();
    let mut listed = state_list(&ws);
    listed.sort();
    let mut want: Vec<String> = RESOURCES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);

    let applied = aws_tally(&e.aws);
    let sf_log = e.sf.requests();
    e.aws.clear_faults();
    e.sf.clear_faults();
    let inv = e.inventory();
    e.assert_one_of_each(&inv);
    // What the vendor's Snowflake form asks for, from the emulated account
    // (locator AC12345 in us-east-1).
    assert_eq!(
        ws.outputs()["vendor_handoff"]["value"]["snowflake"],
        json!({
            "service_name": e.snowflake_service_name,
            "account_url": "ac12345.us-east-1.privatelink.snowflakecomputing.com",
            "account_name": "ac12345.us-east-1.privatelink",
        })
    );
    // State agrees with the emulators.
    let state = ws.state();
    assert_eq!(
        values_of(&state, RESOURCES[0])["id"],
        inv["endpoint_services"][0]["id"]
    );
    let accepted = values_of(&state, RESOURCES[1]);
    assert_eq!(accepted["vpc_endpoint_id"], vendor.endpoint_id.as_str());
    assert_eq!(accepted["state"], "available");
    assert_eq!(
        values_of(&state, RESOURCES[3])["trust_phase"],
        "vendor",
        "the trust moved to the vendor's user"
    );

    // Every service the module calls saw throttling and a 5xx; ELBv2 is in
    // the provider block but no resource calls it.
    for (service, (throttle, _), (error, _)) in PER_SERVICE {
        let seen = applied.injected.get(service).cloned().unwrap_or_default();
        assert!(
            seen.contains_key(throttle) && seen.contains_key(error),
            "{service} saw {seen:?}"
        );
    }
    assert_eq!(
        applied.services.get("elasticloadbalancing"),
        None,
        "a resource called ELBv2"
    );
    let sf_injected: Vec<i64> = sf_log
        .iter()
        .filter(|r| r["injected"] == true)
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert!(
        sf_injected.contains(&500),
        "Snowflake injections: {sf_injected:?}"
    );
    // Every draw is one call, and a call the fraction hit is resubmitted
    // (a draw again) whichever statement it was: the seed decides the
    // statuses, not the order Terraform makes the calls in.
    for status in [429, 503] {
        assert!(
            sf_injected.contains(&status),
            "seed 3 gave no {status}: {sf_injected:?}"
        );
    }
    // The register ran once (its answer lost), and the resubmission got
    // that first execution back instead of running it again.
    let registers: Vec<&Value> = sf_log
        .iter()
        .filter(|r| r["statement_kind"] == "REGISTER_PRIVATELINK_ENDPOINT")
        .filter(|r| r["served"] == 200 || r["replayed"] == true || r["status"] == 200)
        .collect();
    assert_eq!(registers.len(), 2, "{sf_log:?}");
    assert_eq!(registers[0]["served"], 200, "{registers:?}");
    assert_eq!(registers[1]["replayed"], true, "{registers:?}");

    // Destroy under faults: nothing left behind.
    e.aws.clear_requests();
    inject_aws(&e.aws, 41, &LOST_ON_DESTROY);
    inject_snowflake(&e.sf, 9, "UNREGISTER_PRIVATELINK_ENDPOINT");
    let destroyed = ws.destroy();
    assert!(
        destroyed
            .stdout
            .contains("Destroy complete! Resources: 6 destroyed"),
        "{}",
        destroyed.stdout
    );
    assert_lost_answers(&e.aws, &LOST_ON_DESTROY);
    let destroy_tally = aws_tally(&e.aws);
    e.aws.clear_faults();
    e.sf.clear_faults();
    e.assert_no_orphan(&e.inventory());
    assert!(state_list(&ws).is_empty());
    eprintln!(
        "faults: apply+plan {} AWS calls, injected {:?}; Snowflake {} calls, injected {:?}; destroy {} AWS calls, injected {:?}; {:.1}s",
        applied.calls,
        applied.injected,
        sf_log.len(),
        sf_injected,
        destroy_tally.calls,
        destroy_tally.injected,
        started.elapsed().as_secs_f64()
    );
}

// --- SIGKILL in the middle of an apply -------------------------------------

/// The provider process under Terraform `root`: its child, or its
/// grandchild where Terraform re-runs itself under panicwrap (1.0 does).
fn provider_of(root: u32) -> Option<u32> {
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after
        // its closing parenthesis.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(ppid) = tail
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
        {
            processes.push((pid, ppid, head.contains("(terraform-provi")));
        }
    }
    let mut under = vec![root];
    while let Some(parent) = under.pop() {
        for &(pid, ppid, is_provider) in &processes {
            if ppid == parent {
                if is_provider {
                    return Some(pid);
                }
                under.push(pid);
            }
        }
    }
    None
}

/// Starts `terraform apply`, waits until the emulators hold `aws_held` AWS
/// calls and `sf_held` Snowflake statements (served, answers kept back),
/// kills the provider with SIGKILL, releases the holds and returns
/// Terraform's output.
fn apply_and_kill_provider(e: &Estate, ws: &Workspace, aws_held: usize, sf_held: usize) -> String {
    run_and_kill_provider(e, ws, "apply", aws_held, sf_held)
}

/// `apply_and_kill_provider` for `terraform <command>` (apply or destroy).
fn run_and_kill_provider(
    e: &Estate,
    ws: &Workspace,
    command: &str,
    aws_held: usize,
    sf_held: usize,
) -> String {
    let held = || {
        (
            e.aws.holds()["held"].as_array().map_or(0, Vec::len),
            e.sf.holds()["held"].as_array().map_or(0, Vec::len),
        )
    };
    let child = ws.started_until(
        &[command, "-no-color", "-input=false", "-auto-approve"],
        || {
            let (a, s) = held();
            a >= aws_held && s >= sf_held
        },
        || {
            let (a, s) = held();
            format!(
                "the calls were held ({a}/{aws_held} AWS, {s}/{sf_held} Snowflake): {} / {}",
                e.aws.holds(),
                e.sf.holds()
            )
        },
    );
    let provider = provider_of(child.id()).expect("the provider process Terraform started");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &provider.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL {provider}");
    e.aws.release_holds();
    e.sf.release_holds();
    let out = child.wait_with_output().expect("terraform output");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "apply survived the kill:\n{text}");
    text
}

#[test]
fn provider_killed_mid_apply_then_the_next_apply_adopts_without_duplicates() {
    let started = Instant::now();
    let e = estate();
    let ws = e.workspace("");
    ws.init();

    // Round one: four creates served by AWS, their answers never delivered.
    e.aws.hold(json!([
        {"service": "ec2", "action": "CreateVpcEndpointServiceConfiguration", "max_seconds": 60},
        {"service": "redshift", "action": "AuthorizeEndpointAccess", "max_seconds": 60},
        {"service": "iam", "action": "CreateRole", "max_seconds": 60},
        {"service": "ec2", "action": "CreateVpcEndpoint", "max_seconds": 60},
    ]));
    let out = apply_and_kill_provider(&e, &ws, 4, 0);
    // Terraform words a dead provider by which of its watchers notices
    // first: the exited process, the broken call, or the call the closed
    // connection cancelled (every held create, one error each).
    let cancelled = out
        .matches("ApplyResourceChange request was cancelled")
        .count();
    assert!(
        out.contains("Plugin did not respond") || out.contains("plugin exited") || cancelled == 4,
        "Terraform did not report the provider's death:\n{out}"
    );
    let after_first = state_list(&ws);
    assert!(
        after_first.is_empty(),
        "nothing completed, nothing recorded: {after_first:?}"
    );
    let inv = e.inventory();
    assert_eq!(inv["endpoint_services"].as_array().unwrap().len(), 1);
    assert_eq!(inv["redshift_grants"].as_array().unwrap().len(), 1);
    assert_eq!(inv["iam_roles"], json!([ROLE]));

    // Round two: the same apply adopts all four, then dies on the CORS rule
    // and on the Snowflake register, both done but unanswered.
    e.aws.clear_requests();
    e.aws
        .hold(json!({"service": "s3", "action": "PutBucketCors", "max_seconds": 60}));
    e.sf.hold(json!({"kinds": ["REGISTER_PRIVATELINK_ENDPOINT"], "max_seconds": 60}));
    apply_and_kill_provider(&e, &ws, 1, 1);
    let log = e.aws.request_log();
    let created = |action: &str| {
        log.iter()
            .filter(|r| r["action"] == action && r["status"] == 200)
            .count()
    };
    // Adopted by ClientToken (EC2) or by reading what exists (the rest).
    assert_eq!(created("CreateVpcEndpointServiceConfiguration"), 1);
    assert_eq!(created("CreateVpcEndpoint"), 1);
    assert_eq!(created("CreateRole"), 0, "the role was adopted, not made");
    assert_eq!(created("AuthorizeEndpointAccess"), 0);
    assert_eq!(e.sf.registrations_of(SNOWFLAKE_ACCOUNT).len(), 1);
    // What completed before the kill is in state: the endpoint surely (the
    // pin waits for it), the service and the grant most likely.
    let second = state_list(&ws);
    assert!(second.contains(&RESOURCES[4].to_string()), "{second:?}");
    assert!(!second.contains(&RESOURCES[3].to_string()), "{second:?}");
    assert!(!second.contains(&RESOURCES[5].to_string()), "{second:?}");
    let left = 5 - second.len();

    // Round three converges: the integration and the pin adopt the CORS
    // rule and the registration.
    e.aws.clear_requests();
    e.sf.clear_requests();
    ws.apply_says(&format!(
        "Apply complete! Resources: {left} added, 0 changed, 0 destroyed"
    ));
    assert!(
        e.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT").is_empty(),
        "the registration was adopted, not made again"
    );
    assert_eq!(
        e.aws
            .request_log()
            .iter()
            .filter(|r| r["action"] == "GetFederationToken")
            .count(),
        0,
        "no token minted for an adopted pin"
    );
    ws.assert_plan_empty();

    let inv = e.inventory();
    e.assert_one_of_each(&inv);
    // State and the emulators agree, object by object.
    let state = ws.state();
    assert_eq!(
        values_of(&state, RESOURCES[0])["id"],
        inv["endpoint_services"][0]["id"]
    );
    let endpoint = values_of(&state, RESOURCES[4]);
    let ours: Vec<&Value> = inv["vpc_endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["vpc_id"] == e.vpc_id.as_str())
        .collect();
    assert_eq!(endpoint["id"], ours[0]["id"]);
    let groups: Vec<&Value> = inv["security_groups"].as_array().unwrap().iter().collect();
    assert_eq!(endpoint["owned_security_group_id"], groups[0]["id"]);
    let pin = values_of(&state, RESOURCES[5]);
    assert_eq!(pin["vpc_endpoint_id"], ours[0]["id"]);
    assert_eq!(pin["aws_account_id"], aws::ACCOUNT);
    let integration = values_of(&state, RESOURCES[3]);
    assert!(
        integration["role_arn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&format!(":role/{ROLE}"))),
        "{integration}"
    );
    let grant = values_of(&state, RESOURCES[2]);
    assert_eq!(grant["vpc_ids"], json!(inv["redshift_grants"][0]["vpcs"]));

    // Round four: the vendor's endpoint asks to connect, and the accept is
    // done but unanswered when the provider dies. The next apply adopts the
    // connection it finds available rather than failing or accepting twice.
    let vendor = e.vendor_answers(&ws);
    ws.write("main.tf", &e.main_tf("", Some(&vendor)));
    let service_id = values_of(&state, RESOURCES[0])["id"]
        .as_str()
        .expect("service ID")
        .to_string();
    e.aws.clear_requests();
    e.aws.hold(
        json!({"service": "ec2", "action": "AcceptVpcEndpointConnections", "max_seconds": 60}),
    );
    apply_and_kill_provider(&e, &ws, 1, 0);
    assert!(
        !state_list(&ws).contains(&RESOURCES[1].to_string()),
        "the accepter is not recorded before its answer"
    );
    let connections = e.aws.fixture(&["state-of-endpoints", &service_id]);
    assert_eq!(
        connections,
        json!([{"id": vendor.endpoint_id, "state": "available", "owner": SIGMA_ACCOUNT}]),
        "the held accept took effect"
    );
    ws.apply_says("Resources: 1 added");
    let accepts = e
        .aws
        .request_log()
        .iter()
        .filter(|r| r["action"] == "AcceptVpcEndpointConnections" && r["status"] == 200)
        .count();
    assert_eq!(accepts, 1, "the connection was adopted, not accepted again");
    let accepter = values_of(&ws.state(), RESOURCES[1]);
    assert_eq!(accepter["vpc_endpoint_id"], json!(vendor.endpoint_id));
    assert_eq!(accepter["state"], "available");
    assert_eq!(
        e.aws.fixture(&["state-of-endpoints", &service_id]),
        connections,
        "still the one connection"
    );
    ws.assert_plan_empty();

    // Destroy dies too, with a delete of each kind done but unanswered: the
    // service, the grant's revoke, the role (between detaching and deleting
    // the policy) and the Snowflake unregister.
    e.aws.hold(json!([
        {"service": "ec2", "action": "DeleteVpcEndpointServiceConfigurations", "max_seconds": 60},
        {"service": "redshift", "action": "RevokeEndpointAccess", "max_seconds": 60},
        {"service": "iam", "action": "DeleteRole", "max_seconds": 60},
    ]));
    e.sf.hold(json!({"kinds": ["UNREGISTER_PRIVATELINK_ENDPOINT"], "max_seconds": 60}));
    run_and_kill_provider(&e, &ws, "destroy", 3, 1);
    assert!(
        !state_list(&ws).is_empty(),
        "the interrupted destroy left its resources in state"
    );
    // The next destroy finishes what is left, the policy above all.
    let out = ws.destroy();
    assert!(out.stdout.contains("Destroy complete!"), "{}", out.stdout);
    assert!(state_list(&ws).is_empty());
    e.assert_no_orphan(&e.inventory());
    eprintln!(
        "sigkill: five applies, plan, a killed destroy and destroy in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

// --- Secrets -----------------------------------------------------------------

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn canaries_for_every_secret_never_reach_state_plans_outputs_or_trace_logs() {
    let started = Instant::now();
    let e = estate();
    // Unique per run, so a hit can only be a leak of this run's input.
    let nonce = format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let aws_secret = format!("CanaryAwsSecret{nonce}Zq9");
    let aws_session = format!("CanaryAwsSession{nonce}Xw7");
    let pin_secret = format!("CanaryPinProfileSecret{nonce}Vb3");
    // Temporary credentials for Terraform's AWS calls (as from SSO), so the
    // pin's token is minted by a federation profile's long-term keys.
    let mut ws = e.workspace("  federation_profile = \"pin\"\n");
    ws.write("aws_config", "");
    ws.write(
        "aws_credentials",
        &format!(
            "[pin]\naws_access_key_id = {}\naws_secret_access_key = {pin_secret}\n",
            aws::ACCESS_KEY
        ),
    );
    let dir = ws.path().to_path_buf();
    ws.set_env("AWS_SECRET_ACCESS_KEY", &aws_secret);
    ws.set_env("AWS_SESSION_TOKEN", &aws_session);
    ws.set_env(
        "AWS_CONFIG_FILE",
        &dir.join("aws_config").display().to_string(),
    );
    ws.set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        &dir.join("aws_credentials").display().to_string(),
    );
    let log = dir.join("trace.log");
    ws.set_env("TF_LOG", "trace");
    ws.set_env("TF_LOG_PATH", &log.display().to_string());

    ws.init();
    let plan = ws.ok(&["plan", "-no-color", "-input=false", "-out=plan.out"]);
    let plan_json = ws.ok(&["show", "-no-color", "-json", "plan.out"]);
    let apply = ws.ok(&["apply", "-no-color", "-input=false", "plan.out"]);
    // The token the provider minted is the one Snowflake received.
    let minted = aws_fixture(&e.aws.url, &["mint"]);
    let minted_secret = str_of(&minted, "secret_access_key");
    let minted_session = str_of(&minted, "session_token");
    let regs = e.sf.registrations_of(SNOWFLAKE_ACCOUNT);
    assert_eq!(regs.len(), 1);
    assert_eq!(
        regs[0]["token_digests"],
        json!({
            "secret_access_key_sha256": sha256_hex(&minted_secret),
            "session_token_sha256": sha256_hex(&minted_session),
        })
    );
    let vendor = e.vendor_answers(&ws);
    ws.write(
        "main.tf",
        &e.main_tf("  federation_profile = \"pin\"\n", Some(&vendor)),
    );
    let phase_two = ws.apply();
    let state = std::fs::read_to_string(dir.join("terraform.tfstate")).expect("state");
    let show = ws.ok(&["show", "-no-color", "-json"]);
    let outputs = ws.ok(&["output", "-no-color", "-json"]);
    let refresh = ws.ok(&["plan", "-no-color", "-input=false", "-refresh-only"]);
    let destroy = ws.destroy();
    let backup = std::fs::read_to_string(dir.join("terraform.tfstate.backup"))
        .expect("the state backup destroy leaves");
    let trace = std::fs::read_to_string(&log).expect("trace log");
    e.assert_no_orphan(&e.inventory());

    // The places are real: every resource ran, with provider logs at trace
    // level, and the credentials were in use.
    for what in [
        "submitting Snowflake statement",
        "minting a federation token",
        // The AWS call log, with what it names: none of the canaries below.
        "AWS answered",
        "AuthorizeEndpointAccess",
        "privatelink_s3_storage_integration",
        "privatelink_redshift_endpoint_grant",
        "privatelink_endpoint_connection_accepter",
    ] {
        assert!(trace.contains(what), "{what:?} is not in the trace log");
    }
    assert!(
        phase_two.stdout.contains("1 added, 1 changed"),
        "{}",
        phase_two.stdout
    );

    let mut canaries: Vec<(String, String)> = vec![
        ("AWS secret access key".into(), aws_secret),
        ("AWS session token".into(), aws_session),
        ("federation profile's secret key".into(), pin_secret),
        ("minted SecretAccessKey".into(), minted_secret),
        ("minted SessionToken".into(), minted_session),
        ("Snowflake private key".into(), e.key.body_lines().concat()),
    ];
    for (i, line) in e.key.body_lines().into_iter().enumerate() {
        canaries.push((format!("Snowflake private key line {i}"), line));
    }
    let places = [
        ("plan output", plan.all()),
        ("plan JSON", plan_json.stdout),
        ("apply output", apply.all()),
        ("phase-two apply output", phase_two.all()),
        ("state file", state),
        ("show -json", show.stdout),
        ("outputs", outputs.stdout),
        ("refresh output", refresh.all()),
        ("destroy output", destroy.all()),
        ("state backup", backup),
        ("TF_LOG=trace log", trace.clone()),
    ];
    for (where_, text) in &places {
        for (what, canary) in &canaries {
            assert!(
                !text.contains(canary.as_str()),
                "the {what} leaked into the {where_}"
            );
        }
    }
    assert!(
        !trace.contains("Bearer "),
        "a bearer token leaked into the trace log"
    );
    eprintln!(
        "canaries: {} secrets x {} places clean; trace log {} KiB; {:.1}s",
        canaries.len(),
        places.len(),
        trace.len() / 1024,
        started.elapsed().as_secs_f64()
    );
}
