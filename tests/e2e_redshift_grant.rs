//! End to end: privatelink_redshift_endpoint_grant through the real Terraform
//! CLI against the AWS emulator. Each test checks what Terraform prints and
//! what the emulator holds afterwards; the lifecycle test also records the
//! AWS calls of each plan, apply and refresh from the emulator's request log.

#[path = "support/aws.rs"]
mod aws;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/terraform.rs"]
mod terraform;

use aws::Emulator;
use harness::{assert_import_matches, copy_of, main_tf, rewrite, workspace};
use std::collections::BTreeMap;
use terraform::flat;

const TYPE: &str = "privatelink_redshift_endpoint_grant";
/// Sigma's account, as the vendor catalog has it.
const SIGMA: &str = "185497759670";
/// Sigma's Redshift VPC in us-east-1, as the vendor catalog has it.
const SIGMA_VPC: &str = "vpc-03e998398a2b8d7d4";
const OTHER_VPC: &str = "vpc-0a1b2c3d4e5f60718";
const THIRD_VPC: &str = "vpc-0f0e0d0c0b0a09080";

/// The grant of `cluster` to Sigma's account from the catalog, with
/// `vpc_ids` as given (HCL list elements, already quoted or references).
fn grant_config(cluster: &str, vpc_ids: Option<&str>, extra: &str) -> String {
    let vpcs = vpc_ids
        .map(|v| format!("  vpc_ids            = [{v}]\n"))
        .unwrap_or_default();
    format!(
        r#"
data "privatelink_vendor" "sigma" {{
  name = "sigma"
}}

resource "privatelink_redshift_endpoint_grant" "sigma" {{
  cluster_identifier = "{cluster}"
  grantee_account    = data.privatelink_vendor.sigma.aws_account_id
{vpcs}{extra}
}}

output "grant" {{
  value = privatelink_redshift_endpoint_grant.sigma
}}
"#
    )
}

/// The AWS calls logged since the last clear, as "service:Action" counts.
fn calls(emu: &Emulator) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (service, action, _) in emu.requests() {
        *m.entry(format!("{service}:{action}")).or_insert(0) += 1;
    }
    m
}

/// Calls of one action that AWS answered with `status`.
fn answered(emu: &Emulator, action: &str, status: i64) -> usize {
    emu.requests()
        .iter()
        .filter(|(_, a, s)| a == action && *s == status)
        .count()
}

fn n(m: &BTreeMap<String, usize>, key: &str) -> usize {
    m.get(key).copied().unwrap_or(0)
}

fn total(m: &BTreeMap<String, usize>) -> usize {
    m.values().sum()
}

fn cluster(emu: &Emulator, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["cluster"];
    all.extend_from_slice(args);
    emu.redshift_fixture(&all)
}

fn authorization(emu: &Emulator, cluster: &str) -> serde_json::Value {
    emu.redshift_fixture(&["authorization", cluster, SIGMA])
}

fn grant_output(ws: &terraform::Workspace) -> serde_json::Value {
    ws.outputs()["grant"]["value"].clone()
}

/// `items`, sorted, as the emulator's and Terraform's sets compare.
fn sorted_of(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn sorted_strings(v: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_string())
        .collect();
    s.sort();
    s
}

#[test]
fn lifecycle_create_update_import_drift_destroy() {
    let emu = Emulator::start();
    let fx = cluster(&emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap().to_string();
    let ws = workspace(
        &emu,
        &grant_config(
            &cid,
            Some("data.privatelink_vendor.sigma.redshift_vpc_id"),
            "",
        ),
    );
    ws.init();

    // Plan of a create: the prerequisite check is the one DescribeClusters.
    emu.clear_requests();
    ws.plan_says("1 to add, 0 to change, 0 to destroy");
    let plan_create = calls(&emu);
    assert_eq!(
        n(&plan_create, "redshift:DescribeClusters"),
        1,
        "{plan_create:?}"
    );
    assert_eq!(n(&plan_create, "redshift:AuthorizeEndpointAccess"), 0);

    emu.clear_requests();
    ws.apply();
    let apply_create = calls(&emu);
    assert_eq!(
        answered(&emu, "AuthorizeEndpointAccess", 200),
        1,
        "{apply_create:?}"
    );

    let grant = grant_output(&ws);
    let id = format!("{cid}:{SIGMA}");
    assert_eq!(grant["id"], id.as_str());
    assert_eq!(grant["status"], "Authorized");
    assert_eq!(grant["grantor"], aws::ACCOUNT);
    assert_eq!(grant["allowed_all_vpcs"], false);
    assert_eq!(grant["endpoint_count"], 0);
    assert_eq!(grant["cluster_status"], "available");
    assert_eq!(grant["force_revoke"], false);
    assert_eq!(sorted_strings(&grant["vpc_ids"]), [SIGMA_VPC]);
    let authorize_time = grant["authorize_time"].as_str().unwrap().to_string();
    assert!(authorize_time.starts_with("20"), "{grant}");
    let handoff = &grant["vendor_handoff"];
    assert_eq!(handoff["cluster_identifier"], cid.as_str());
    assert_eq!(handoff["region"], aws::REGION);
    assert_eq!(handoff["account"], aws::ACCOUNT);
    assert_eq!(
        sorted_strings(&handoff["availability_zone_ids"]),
        [fx["availability_zone_id"].as_str().unwrap()],
        "{handoff}"
    );
    let remote = authorization(&emu, &cid);
    assert_eq!(remote["status"], "Authorized", "{remote}");
    assert_eq!(sorted_strings(&remote["allowed_vpcs"]), [SIGMA_VPC]);

    // A refresh alone, then a plan with nothing to change: the plan costs
    // exactly the refresh.
    emu.clear_requests();
    ws.ok(&["plan", "-refresh-only", "-no-color", "-input=false"]);
    let refresh = calls(&emu);
    emu.clear_requests();
    ws.assert_plan_empty();
    let plan_noop = calls(&emu);
    assert_eq!(
        plan_noop, refresh,
        "a plan without changes must not call more than its refresh"
    );

    // Add a VPC: updated in place, only the new VPC authorized.
    let two = format!("data.privatelink_vendor.sigma.redshift_vpc_id, {OTHER_VPC:?}");
    rewrite(&emu, &ws, &grant_config(&cid, Some(&two), ""));
    emu.clear_requests();
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    let plan_update = calls(&emu);
    assert_eq!(
        n(&plan_update, "redshift:DescribeClusters"),
        n(&refresh, "redshift:DescribeClusters") + 1,
        "the prerequisite check may add one DescribeClusters to a plan: {plan_update:?}"
    );
    emu.clear_requests();
    ws.ok(&["plan", "-refresh=false", "-no-color", "-input=false"]);
    let plan_update_no_refresh = calls(&emu);
    assert_eq!(n(&plan_update_no_refresh, "redshift:DescribeClusters"), 1);
    emu.clear_requests();
    ws.apply();
    let apply_update = calls(&emu);
    assert_eq!(
        answered(&emu, "AuthorizeEndpointAccess", 200),
        1,
        "{apply_update:?}"
    );
    assert_eq!(n(&apply_update, "redshift:RevokeEndpointAccess"), 0);
    let grant = grant_output(&ws);
    assert_eq!(grant["id"], id.as_str());
    assert_eq!(
        grant["authorize_time"],
        authorize_time.as_str(),
        "the grant was re-created"
    );
    assert_eq!(
        sorted_strings(&grant["vpc_ids"]),
        sorted_of(&[OTHER_VPC, SIGMA_VPC])
    );
    assert_eq!(
        sorted_strings(&authorization(&emu, &cid)["allowed_vpcs"]),
        sorted_of(&[OTHER_VPC, SIGMA_VPC])
    );

    // Remove a VPC: only that one revoked, the grant stays.
    rewrite(
        &emu,
        &ws,
        &grant_config(&cid, Some(&format!("{OTHER_VPC:?}")), ""),
    );
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    emu.clear_requests();
    ws.apply();
    let apply_remove = calls(&emu);
    assert_eq!(
        answered(&emu, "RevokeEndpointAccess", 200),
        1,
        "{apply_remove:?}"
    );
    assert_eq!(n(&apply_remove, "redshift:AuthorizeEndpointAccess"), 0);
    let remote = authorization(&emu, &cid);
    assert_eq!(remote["status"], "Authorized");
    assert_eq!(sorted_strings(&remote["allowed_vpcs"]), [OTHER_VPC]);
    assert_eq!(grant_output(&ws)["authorize_time"], authorize_time.as_str());
    ws.assert_plan_empty();

    // Import the same grant elsewhere: every attribute matches.
    assert_import_matches(&emu, &ws, TYPE, &id);
    // Redshift matches cluster identifiers without regard to case.
    assert_import_matches(&emu, &ws, TYPE, &id.to_uppercase());
    // What is missing is named: the cluster, or the grant on it.
    let other = copy_of(&emu, &main_tf(&ws));
    other.init();
    for (import_id, says) in [
        (
            format!("nosuch:{SIGMA}"),
            "There is no cluster nosuch in us-east-1".to_string(),
        ),
        (
            format!("{cid}:111122223333"),
            format!("Cluster {cid} in us-east-1 has no endpoint grant to account 111122223333"),
        ),
    ] {
        let out = other.run(&[
            "import",
            "-no-color",
            "-input=false",
            &format!("{TYPE}.sigma"),
            &import_id,
        ]);
        assert_ne!(out.code, 0);
        let text = flat(&out.all());
        // Each error names what was being imported (Terraform does not).
        assert!(
            text.contains(&says)
                && text.contains(&format!("Importing {TYPE}"))
                && text.contains(&import_id),
            "{text}"
        );
    }

    // A VPC added out of band shows in the next plan, and apply removes it.
    emu.redshift_fixture(&["authorize", &cid, SIGMA, THIRD_VPC]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(THIRD_VPC), "{}", plan.stdout);
    ws.apply();
    assert_eq!(
        sorted_strings(&authorization(&emu, &cid)["allowed_vpcs"]),
        [OTHER_VPC]
    );

    // Revoked out of band: the grant reads as gone and is made again.
    emu.redshift_fixture(&["revoke", &cid, SIGMA]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    ws.apply();
    let remote = authorization(&emu, &cid);
    assert_eq!(remote["status"], "Authorized", "{remote}");
    assert_eq!(sorted_strings(&remote["allowed_vpcs"]), [OTHER_VPC]);
    ws.assert_plan_empty();

    // Destroy waits until the grant is gone.
    emu.clear_requests();
    ws.destroy();
    let destroy = calls(&emu);
    assert_eq!(
        answered(&emu, "RevokeEndpointAccess", 200),
        1,
        "{destroy:?}"
    );
    assert_eq!(authorization(&emu, &cid)["exists"], false);

    for (name, m) in [
        ("plan (create)", &plan_create),
        ("apply (create, with its plan)", &apply_create),
        ("refresh", &refresh),
        ("plan (no change)", &plan_noop),
        ("plan (VPC added)", &plan_update),
        ("plan (VPC added, -refresh=false)", &plan_update_no_refresh),
        ("apply (VPC added)", &apply_update),
        ("apply (VPC removed)", &apply_remove),
        ("destroy", &destroy),
    ] {
        eprintln!("{TYPE} AWS calls, {name}: {} {m:?}", total(m));
    }
}

/// Runs a plan that must fail on `cluster_identifier` and returns its output.
fn failed_plan(emu: &Emulator, cluster: &str) -> String {
    let ws = workspace(emu, &grant_config(cluster, None, ""));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "the plan must fail:\n{}", out.all());
    assert_on_cluster_line(&out.all(), cluster);
    flat(&out.all())
}

/// Terraform quotes the configuration line the diagnostic's attribute path
/// points at: `  on main.tf line N, ...` then `  N:   cluster_identifier = ...`.
fn assert_on_cluster_line(text: &str, cluster: &str) {
    let line_of = regex::Regex::new(r"on main\.tf line (\d+), in resource").unwrap();
    let quoted = regex::Regex::new(&format!(
        r#"(?m)^\W*(\d+):\s+cluster_identifier\s+=\s+"{}""#,
        regex::escape(cluster)
    ))
    .unwrap();
    let on = line_of
        .captures(text)
        .unwrap_or_else(|| panic!("the error names no configuration line:\n{text}"));
    let at = quoted
        .captures(text)
        .unwrap_or_else(|| panic!("the error does not point at cluster_identifier:\n{text}"));
    assert_eq!(&on[1], &at[1], "{text}");
}

#[test]
fn plan_refuses_a_dc2_cluster() {
    let emu = aws::emulator();
    let fx = cluster(emu, &["--node-type", "dc2.large"]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let text = failed_plan(emu, cid);
    assert!(text.contains("Error: RA3 node type required"), "{text}");
    assert!(text.contains("dc2.large"), "{text}");
    assert!(text.contains("Resize it to an RA3 node type"), "{text}");
    assert!(!text.contains("Cluster relocation required"), "{text}");
    assert_eq!(authorization(emu, cid)["exists"], false);
}

#[test]
fn plan_refuses_a_cluster_without_relocation() {
    let emu = aws::emulator();
    let fx = cluster(emu, &["--relocation", "false"]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let text = failed_plan(emu, cid);
    assert!(
        text.contains("Error: Cluster relocation required"),
        "{text}"
    );
    assert!(text.contains("relocation status disabled"), "{text}");
    assert!(text.contains("--availability-zone-relocation"), "{text}");
    assert!(!text.contains("RA3 node type required"), "{text}");
    assert_eq!(authorization(emu, cid)["exists"], false);
}

#[test]
fn plan_refuses_a_port_outside_the_ranges() {
    let emu = aws::emulator();
    let fx = cluster(emu, &["--port", "9000"]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let text = failed_plan(emu, cid);
    assert!(
        text.contains("Error: Cluster port outside 5431-5455 and 8191-8215"),
        "{text}"
    );
    assert!(text.contains("listens on 9000"), "{text}");
    assert!(text.contains("--port 5439"), "{text}");
    assert_eq!(authorization(emu, cid)["exists"], false);
}

#[test]
fn plan_refuses_a_missing_cluster() {
    let emu = aws::emulator();
    let text = failed_plan(emu, "no-such-cluster");
    assert!(text.contains("Error: Redshift cluster not found"), "{text}");
    assert!(
        text.contains("No cluster no-such-cluster exists in us-east-1"),
        "{text}"
    );
}

/// The change `terraform show -json` gives for the first resource of
/// `resource_type` in a saved plan.
fn planned_change<'a>(plan: &'a serde_json::Value, resource_type: &str) -> &'a serde_json::Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} planned: {plan}"))
}

/// A fresh eligible cluster and a workspace that has granted it to Sigma's
/// VPC.
fn granted_to_sigma_vpc(emu: &Emulator) -> (String, terraform::Workspace) {
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap().to_string();
    let ws = workspace(
        emu,
        &grant_config(&cid, Some(&format!("{SIGMA_VPC:?}")), ""),
    );
    ws.init();
    ws.apply();
    (cid, ws)
}

/// A cluster deleted outside Terraform takes its grants with it: the
/// refresh says so on cluster_identifier, the plan to make the grant again
/// fails there, and the destroy the message offers goes through.
#[test]
fn a_cluster_deleted_outside_terraform_is_said_and_the_way_out_works() {
    let emu = aws::emulator();
    let (cid, ws) = granted_to_sigma_vpc(emu);
    let cid = cid.as_str();
    emu.redshift_fixture(&["delete-cluster", cid]);

    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let text = flat(&out.all());
    assert!(
        text.contains("Warning: Redshift cluster deleted outside Terraform")
            && text.contains(&format!("Cluster {cid} no longer exists in us-east-1"))
            && text.contains("Error: Redshift cluster not found")
            && text.contains("terraform destroy -refresh=false"),
        "{text}"
    );
    assert_on_cluster_line(&out.all(), cid);

    ws.ok(&[
        "destroy",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
    ]);
    let left = ws.ok(&["state", "list"]).stdout;
    assert!(left.trim().is_empty(), "{left}");
}

/// A cluster that stops qualifying between plan and apply: apply checks
/// again and grants nothing.
#[test]
fn apply_checks_the_prerequisites_again() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let ws = workspace(emu, &grant_config(cid, None, ""));
    ws.init();
    ws.ok(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    let turned = emu.redshift_fixture(&["set-relocation", cid, "false"]);
    assert_eq!(turned["relocation"], "disabled");
    let out = ws.run(&["apply", "-no-color", "-input=false", "tfplan"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        flat(&out.all()).contains("Error: Cluster relocation required"),
        "{}",
        out.all()
    );
    assert_on_cluster_line(&out.all(), cid);
    assert_eq!(authorization(emu, cid)["exists"], false);
    let listed = ws.run(&["state", "list"]).stdout;
    assert!(!listed.contains(TYPE), "nothing must be in state: {listed}");
}

/// A grant whose cluster stops qualifying after it was made: adding a VPC
/// is only warned of at plan and refused at apply, and a destroy, which
/// plans the pending change first, still removes the grant.
#[test]
fn a_cluster_that_stops_qualifying_blocks_more_grants_but_not_destroy() {
    let emu = aws::emulator();
    let (cid, ws) = granted_to_sigma_vpc(emu);
    let cid = cid.as_str();
    let both = format!("{SIGMA_VPC:?}, {OTHER_VPC:?}");
    rewrite(emu, &ws, &grant_config(cid, Some(&both), ""));
    emu.redshift_fixture(&["set-relocation", cid, "false"]);

    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    let text = flat(&plan.all());
    assert!(
        text.contains("Warning: Cluster relocation required")
            && text.contains("applying the VPCs added to this grant fails"),
        "{text}"
    );
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(flat(&out.all()).contains("Error: Cluster relocation required"));
    assert_eq!(
        authorization(emu, cid)["allowed_vpcs"],
        serde_json::json!([SIGMA_VPC])
    );

    ws.destroy();
    assert_eq!(authorization(emu, cid)["exists"], false);
}

/// Switching between all VPCs and a list cannot be done in place.
/// Sigma serves ap-south-1 but publishes no Redshift VPC there, so the
/// catalog's `redshift_vpc_id` is null: a list holding it must not read as
/// "all VPCs" and must stop the plan on `vpc_ids`, before any grant is made.
#[test]
fn a_vendor_fact_that_is_null_in_the_region_stops_the_plan_on_vpc_ids() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let body = grant_config(
        cid,
        Some("data.privatelink_vendor.sigma_south.redshift_vpc_id"),
        "",
    ) + r#"
data "privatelink_vendor" "sigma_south" {
  name   = "sigma"
  region = "ap-south-1"
}
"#;
    let ws = workspace(emu, &body);
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "the plan must fail:\n{}", out.all());
    let text = out.all();
    assert!(text.contains("Error: Null element in vpc_ids"), "{text}");
    assert!(
        regex::Regex::new(r"(?m)^\W*\d+:\s+vpc_ids\s+=")
            .unwrap()
            .is_match(&text),
        "the error does not point at vpc_ids:\n{text}"
    );
    assert!(!text.contains("allowed_all_vpcs"), "{text}");
    assert_eq!(authorization(emu, cid)["exists"], false);
}

/// Segment's account is not in the catalog (its CSM hands it out), so the
/// docs' `data.privatelink_vendor.<vendor>.aws_account_id` is null for it:
/// the plan stops on grantee_account, where the apply used to fail on a
/// state it could not read.
#[test]
fn a_required_argument_that_comes_out_null_stops_the_plan_on_it() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let body = grant_config(cid, Some(&format!("{SIGMA_VPC:?}")), "").replace(
        "data.privatelink_vendor.sigma.aws_account_id",
        "data.privatelink_vendor.segment.aws_account_id",
    ) + r#"
data "privatelink_vendor" "segment" {
  name = "segment"
}
"#;
    let ws = workspace(emu, &body);
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "the plan must fail:\n{}", out.all());
    let text = flat(&out.all());
    assert!(
        text.contains("Error: No value for required argument grantee_account")
            && text.contains("grantee_account is required, but its value is null"),
        "{text}"
    );
    assert!(
        text.contains("grantee_account = data.privatelink_vendor.segment.aws_account_id"),
        "the error does not point at grantee_account:\n{text}"
    );
    assert_eq!(authorization(emu, cid)["exists"], false);
}

/// The onboarding module for a vendor whose Redshift facts the catalog does
/// not publish (Segment's CSM hands out its Edge account and VPC): planned
/// with the account and VPC given as inputs; without them, the plan stops on
/// vpc_ids instead of granting every VPC of the account.
#[test]
fn the_onboarding_module_grants_the_account_and_vpc_the_vendor_hands_out() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let nlb = emu.fixture(&["nlb", "--name", "segment-warehouse"]);
    let module = |extra: &str| {
        format!(
            r#"
module "segment" {{
  source = "./vendor-onboarding"

  vendor                      = "segment"
  vendor_principal_arn        = "arn:aws:iam::111122223333:role/segment-edge"
  redshift_cluster_identifier = {cid:?}
{extra}}}
"#
        )
    };
    let with_nlb = format!("  nlb_arn = {:?}\n", nlb["nlb_arn"].as_str().unwrap());
    // The Redshift-managed route alone: no NLB, no endpoint service.
    let ws = workspace(
        emu,
        &module("  endpoint_service_enabled = false\n  redshift_grantee_account = \"111122223333\"\n  redshift_vpc_id = \"vpc-0123456789abcdef0\"\n"),
    );
    let source = terraform::repo_root().join("examples/vendor-onboarding");
    let copy = ws.path().join("vendor-onboarding");
    std::fs::create_dir_all(&copy).unwrap();
    for f in std::fs::read_dir(&source).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
        }
    }
    ws.init();
    ws.ok(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    let shown = ws.ok(&["show", "-json", "tfplan"]);
    let plan: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let grant = planned_change(&plan, TYPE);
    assert!(
        !plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "privatelink_endpoint_service"),
        "{plan}"
    );
    let after = &grant["change"]["after"];
    assert_eq!(after["grantee_account"], "111122223333", "{after}");
    assert_eq!(
        after["vpc_ids"],
        serde_json::json!(["vpc-0123456789abcdef0"])
    );
    assert_eq!(after["allowed_all_vpcs"], false, "{after}");

    rewrite(
        emu,
        &ws,
        &module(&format!(
            "{with_nlb}  redshift_grantee_account = \"111122223333\"\n"
        )),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("Error: Null element in vpc_ids"),
        "{}",
        out.all()
    );
    assert_eq!(authorization(emu, cid)["exists"], false);

    // The service allows the vendor's principal and any added beside it.
    rewrite(
        emu,
        &ws,
        &module(&format!(
            "{with_nlb}  redshift_grantee_account = \"111122223333\"\n  redshift_vpc_id = \"vpc-0123456789abcdef0\"\n  redshift_additional_vpc_ids = [\"vpc-0fedcba9876543210\"]\n  additional_principal_arns = [\"arn:aws:iam::444455556666:root\"]\n"
        )),
    );
    ws.ok(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    let shown = ws.ok(&["show", "-json", "tfplan"]);
    let plan: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let service = planned_change(&plan, "privatelink_endpoint_service");
    assert_eq!(
        sorted_strings(&service["change"]["after"]["allowed_principals"]),
        sorted_of(&[
            "arn:aws:iam::111122223333:role/segment-edge",
            "arn:aws:iam::444455556666:root"
        ])
    );
    // And the grant covers the VPC it hands out beside the first.
    let grant = planned_change(&plan, TYPE);
    assert_eq!(
        grant["change"]["after"]["vpc_ids"],
        serde_json::json!(["vpc-0123456789abcdef0", "vpc-0fedcba9876543210"])
    );
}

#[test]
fn switching_between_all_vpcs_and_a_list_replaces() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let ws = workspace(emu, &grant_config(cid, None, ""));
    ws.init();
    ws.apply();
    let grant = grant_output(&ws);
    assert_eq!(grant["allowed_all_vpcs"], true);
    assert_eq!(grant["vpc_ids"], serde_json::json!([]));
    assert_eq!(authorization(emu, cid)["allowed_all_vpcs"], true);
    ws.assert_plan_empty();

    rewrite(
        emu,
        &ws,
        &grant_config(cid, Some(&format!("{SIGMA_VPC:?}")), ""),
    );
    let plan = ws.plan_says("1 to add, 0 to change, 1 to destroy");
    assert!(
        plan.stdout.contains("# forces replacement"),
        "{}",
        plan.stdout
    );
    ws.apply();
    let remote = authorization(emu, cid);
    assert_eq!(remote["allowed_all_vpcs"], false, "{remote}");
    assert_eq!(sorted_strings(&remote["allowed_vpcs"]), [SIGMA_VPC]);
    ws.assert_plan_empty();
    ws.destroy();
    assert_eq!(authorization(emu, cid)["exists"], false);
}

/// `-replace` (or a taint) of a grant under create_before_destroy: the new
/// instance adopts the grant (Redshift holds one per cluster and account),
/// so destroying the deposed one leaves it authorized, and the next plan is
/// empty.
#[test]
fn a_create_before_destroy_replacement_of_a_grant_keeps_it() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let ws = workspace(
        emu,
        &grant_config(
            cid,
            Some(&format!("{SIGMA_VPC:?}")),
            "  lifecycle {\n    create_before_destroy = true\n  }\n",
        ),
    );
    ws.init();
    ws.apply();
    let address = "privatelink_redshift_endpoint_grant.sigma";
    for how in ["-replace", "taint"] {
        ws.replace_by(how, address);
        let remote = authorization(emu, cid);
        assert_eq!(remote["status"], "Authorized", "{how}: {remote}");
        assert_eq!(sorted_strings(&remote["allowed_vpcs"]), [SIGMA_VPC]);
        ws.assert_plan_empty();
    }
    ws.destroy();
    assert_eq!(authorization(emu, cid)["exists"], false);
}

/// Destroy refuses to cut off the grantee's endpoints unless forced. Under
/// Terraform 1.3 and later the refusal comes while the destroy is planned,
/// so a grant beside it is not revoked either.
#[test]
fn destroy_with_and_without_force_revoke_while_the_grantee_has_endpoints() {
    let emu = aws::emulator();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let vpc = emu.redshift_fixture(&["grantee-vpc", "--account", SIGMA, "--cidr", "10.61.0.0/16"]);
    let vpc = vpc["vpc_id"].as_str().unwrap().to_string();
    let both = format!("{vpc:?}, {OTHER_VPC:?}");
    const BYSTANDER: &str = "444455556666";
    let bystander = format!(
        "\nresource \"privatelink_redshift_endpoint_grant\" \"bystander\" {{\n  cluster_identifier = {cid:?}\n  grantee_account    = {BYSTANDER:?}\n  vpc_ids            = [{THIRD_VPC:?}]\n}}\n"
    );
    let grant_config = |cluster: &str, vpcs: Option<&str>, extra: &str| {
        grant_config(cluster, vpcs, extra) + &bystander
    };
    let bystander_status =
        || emu.redshift_fixture(&["authorization", cid, BYSTANDER])["status"].clone();
    let ws = workspace(emu, &grant_config(cid, Some(&both), ""));
    ws.init();
    ws.apply();

    // Sigma creates an endpoint from its VPC; the next refresh counts it.
    let ep = emu.redshift_fixture(&["grantee-endpoint", cid, &vpc, "--account", SIGMA]);
    let endpoint = ep["endpoint_name"].as_str().unwrap().to_string();
    ws.refresh();
    assert_eq!(grant_output(&ws)["endpoint_count"], 1);

    // Removing the endpoint's VPC without force_revoke is warned of at
    // plan, and refused at apply.
    rewrite(
        emu,
        &ws,
        &grant_config(cid, Some(&format!("{OTHER_VPC:?}")), ""),
    );
    let warned = flat(&ws.plan_says("0 to add, 1 to change, 0 to destroy").all());
    assert!(
        warned.contains("Warning: The grantee has Redshift-managed endpoints")
            && warned.contains(&format!("If one is in {vpc}, removing it fails at apply")),
        "{warned}"
    );
    let refused = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    let text = flat(&refused.all());
    assert!(
        text.contains("The grantee still has Redshift-managed endpoints"),
        "{text}"
    );
    assert!(text.contains(&format!("in VPCs {vpc}")), "{text}");
    assert_eq!(
        sorted_strings(&authorization(emu, cid)["allowed_vpcs"]),
        sorted_of(&[&vpc, OTHER_VPC])
    );
    rewrite(emu, &ws, &grant_config(cid, Some(&both), ""));
    ws.assert_plan_empty();

    // A replacement (all VPCs for a list) revokes the grant as a destroy
    // does: refused while planned, with nothing changed.
    rewrite(emu, &ws, &grant_config(cid, None, ""));
    let refused = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    let text = flat(&refused.all());
    assert!(
        text.contains("The grantee still has Redshift-managed endpoints")
            && text.contains(&format!(
                "Account {SIGMA} has 1 Redshift-managed VPC endpoint to cluster {cid}"
            )),
        "{text}"
    );
    rewrite(emu, &ws, &grant_config(cid, Some(&both), ""));

    // Destroy without force_revoke: refused, naming the grantee's endpoints.
    let refused = ws.run(&["destroy", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    let text = flat(&refused.all());
    assert!(
        text.contains("The grantee still has Redshift-managed endpoints"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Account {SIGMA} has 1 Redshift-managed VPC endpoint to cluster {cid}"
        )),
        "{text}"
    );
    assert!(text.contains("force_revoke = true"), "{text}");
    if ws.terraform_version() >= (1, 3) {
        assert!(
            !text.contains("Destroying..."),
            "refused while planned, before anything was destroyed:\n{text}"
        );
        assert_eq!(bystander_status(), "Authorized");
    } else {
        // Older Terraform plans no destroy with the provider: the grant
        // beside it went before this one refused. Made again to go on.
        assert_eq!(
            emu.redshift_fixture(&["authorization", cid, BYSTANDER])["exists"],
            false
        );
        ws.apply();
    }
    let remote = authorization(emu, cid);
    assert_eq!(remote["status"], "Authorized", "{remote}");
    assert_eq!(remote["endpoint_count"], 1);
    assert_eq!(
        emu.redshift_fixture(&["grantee-endpoints", cid, "--account", SIGMA]),
        serde_json::json!([endpoint])
    );

    // With force_revoke the endpoint goes with the grant.
    rewrite(
        emu,
        &ws,
        &grant_config(cid, Some(&both), "  force_revoke       = true\n"),
    );
    // It changes only what destroy does: the plan keeps every computed
    // value.
    ws.updates_in_place_without(
        "known after apply",
        "force_revoke leaves every computed value known",
    );
    ws.destroy();
    assert_eq!(authorization(emu, cid)["exists"], false);
    assert_eq!(
        emu.redshift_fixture(&["authorization", cid, BYSTANDER])["exists"],
        false
    );
    assert_eq!(
        emu.redshift_fixture(&["grantee-endpoints", cid, "--account", SIGMA]),
        serde_json::json!([])
    );
}

#[test]
fn throttling_on_redshift_calls_still_converges_without_duplicates() {
    let emu = Emulator::start();
    let fx = cluster(&emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap().to_string();
    let ws = workspace(
        &emu,
        &grant_config(
            &cid,
            Some("data.privatelink_vendor.sigma.redshift_vpc_id"),
            "",
        ),
    );
    ws.init();
    emu.fault(serde_json::json!({"throttle_fraction": 0.4, "services": ["redshift"], "seed": 7}));
    ws.apply();
    ws.assert_plan_empty();
    ws.destroy();
    let throttled = emu
        .requests()
        .iter()
        .filter(|(s, _, st)| s == "redshift" && *st == 400)
        .count();
    assert!(
        throttled > 0,
        "the fault injection did not throttle anything"
    );
    assert_eq!(
        answered(&emu, "AuthorizeEndpointAccess", 200),
        1,
        "a throttled create must grant exactly once"
    );
    assert_eq!(answered(&emu, "RevokeEndpointAccess", 200), 1);
    emu.clear_faults();
    assert_eq!(authorization(&emu, &cid)["exists"], false);
    eprintln!("{TYPE}: {throttled} redshift calls throttled, converged anyway");
}

#[test]
fn grants_of_one_cluster_read_together_share_a_call() {
    // Its own emulator: it counts calls, which tests sharing one would add to.
    let emu = &Emulator::start();
    let fx = cluster(emu, &[]);
    let cid = fx["cluster_identifier"].as_str().unwrap();
    let accounts: Vec<String> = (0..12).map(|i| format!("2000000000{i:02}")).collect();
    let body = format!(
        r#"
resource "{TYPE}" "each" {{
  for_each           = toset({accounts:?})
  cluster_identifier = "{cid}"
  grantee_account    = each.key
}}

output "grants" {{
  value = {{ for k, g in {TYPE}.each : k => g.status }}
}}
"#
    );
    let ws = workspace(emu, &body);
    ws.init();
    ws.apply();

    // One of them revoked out of band: the refresh must see that one gone
    // and the other eleven as they are, though it reads them together.
    emu.redshift_fixture(&["revoke", cid, &accounts[3]]);
    emu.clear_requests();
    ws.refresh();
    let reads = answered(emu, "DescribeEndpointAuthorization", 200);
    let grants = ws.outputs()["grants"]["value"].clone();
    let mut left: Vec<String> = grants.as_object().unwrap().keys().cloned().collect();
    left.sort();
    let mut expected = accounts.clone();
    expected.remove(3);
    assert_eq!(left, expected, "{grants}");
    assert!(
        grants
            .as_object()
            .unwrap()
            .values()
            .all(|s| s == "Authorized"),
        "{grants}"
    );
    // Twelve reads at Terraform's parallelism of ten: the grants that wait
    // on a call in flight are answered by one listing of the cluster.
    assert!(
        reads < accounts.len(),
        "{reads} calls for {} grants",
        accounts.len()
    );

    ws.plan_says("1 to add, 0 to change, 0 to destroy");
    ws.destroy();
    for account in &accounts {
        let remote = emu.redshift_fixture(&["authorization", cid, account]);
        assert_eq!(remote["exists"], false, "{account}: {remote}");
    }
}
