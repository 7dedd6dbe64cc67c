//! End to end: the consumer side, privatelink_vpc_endpoint and the
//! privatelink_endpoint_service data source, through the real Terraform CLI
//! against the AWS emulator. A partner (another account in the emulator)
//! publishes a service to our account; we connect to it from our VPC.

#[path = "support/aws.rs"]
mod aws;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/terraform.rs"]
mod terraform;

use aws::Emulator;
use harness::{assert_import_matches, copy_of, main_tf, rewrite, workspace, HEADER};
use serde_json::{json, Value};
use terraform::flat;

struct World {
    service_name: String,
    service_id: String,
    service_az_ids: Vec<String>,
    vpc_id: String,
    cidrs: Vec<String>,
    /// Subnets of our VPC: the first two in zones the service serves, the
    /// third in one it does not.
    subnets: Vec<(String, String)>,
}

fn world(emu: &Emulator, acceptance_required: bool) -> World {
    world_with(emu, acceptance_required, &[])
}

/// `world`, the partner service made with `service_options` as well.
fn world_with(emu: &Emulator, acceptance_required: bool, service_options: &[&str]) -> World {
    let mut args = vec![
        "partner-service",
        "--azs",
        "2",
        "--acceptance-required",
        if acceptance_required { "true" } else { "false" },
    ];
    args.extend_from_slice(service_options);
    let svc = emu.fixture(&args);
    let vpc = emu.fixture(&["consumer-vpc"]);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let service_az_ids = strings(&svc["az_ids"]);
    let mut subnets: Vec<(String, String)> = vpc["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["az_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Served zones first.
    subnets.sort_by_key(|(_, az)| !service_az_ids.contains(az));
    assert!(
        service_az_ids.contains(&subnets[1].1) && !service_az_ids.contains(&subnets[2].1),
        "fixtures: {svc} {vpc}"
    );
    World {
        service_name: svc["service_name"].as_str().unwrap().to_string(),
        service_id: svc["service_id"].as_str().unwrap().to_string(),
        service_az_ids,
        vpc_id: vpc["vpc_id"].as_str().unwrap().to_string(),
        cidrs: strings(&vpc["cidrs"]),
        subnets,
    }
}

/// The partner (the service's owner) accepts the endpoint's connection.
fn accept_as_partner(emu: &Emulator, w: &World, endpoint: &str) -> Value {
    emu.fixture(&[
        "accept-as-owner",
        &w.service_id,
        endpoint,
        "--account",
        "999988887777",
    ])
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

fn endpoint_config(w: &World, subnets: &[&str], body: &str) -> String {
    format!(
        r#"
data "privatelink_endpoint_service" "partner" {{
  service_name = {service:?}
}}

resource "privatelink_vpc_endpoint" "partner" {{
  service_name = data.privatelink_endpoint_service.partner.service_name
  vpc_id       = {vpc:?}
  subnet_ids   = {subnets}
{body}
}}

output "service" {{
  value = data.privatelink_endpoint_service.partner
}}

output "endpoint" {{
  value = privatelink_vpc_endpoint.partner
}}
"#,
        service = w.service_name,
        vpc = w.vpc_id,
        subnets = serde_json::to_string(subnets).unwrap(),
    )
}

/// No endpoint and no group but the default one left in the VPC.
fn assert_vpc_left_empty(emu: &Emulator, vpc_id: &str) {
    assert_eq!(emu.fixture(&["endpoints-in", vpc_id]), json!([]));
    assert_eq!(emu.fixture(&["security-groups", vpc_id]), json!([]));
}

/// The plan is empty, and destroy leaves the VPC as the world made it.
fn settled_then_destroyed(emu: &Emulator, ws: &terraform::Workspace, vpc_id: &str) {
    ws.assert_plan_empty();
    ws.destroy();
    assert_vpc_left_empty(emu, vpc_id);
}

fn count(emu: &Emulator, action: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|(_, a, st)| a == action && *st == 200)
        .count()
}

fn ec2_calls(emu: &Emulator) -> usize {
    emu.requests().iter().filter(|(s, _, _)| s == "ec2").count()
}

/// The owned group's ingress as sorted (port, cidr) pairs.
fn ingress(group: &Value) -> Vec<(i64, String)> {
    let mut pairs: Vec<(i64, String)> = group["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            assert_eq!(r["protocol"], "tcp", "{group}");
            assert_eq!(r["from"], r["to"], "{group}");
            let port = r["from"].as_i64().unwrap();
            r["cidrs"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |c| (port, c.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    pairs.sort();
    pairs
}

fn grid(ports: &[i64], cidrs: &[String]) -> Vec<(i64, String)> {
    let mut g: Vec<(i64, String)> = ports
        .iter()
        .flat_map(|p| cidrs.iter().map(move |c| (*p, c.clone())))
        .collect();
    g.sort();
    g
}

#[test]
fn lifecycle_create_update_import_drift_destroy() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let s0 = w.subnets[0].0.as_str();
    let s1 = w.subnets[1].0.as_str();
    let body = format!(
        "  allow_from_vpc_cidr {{\n    ports = [443]\n  }}\n  policy = {POLICY:?}\n  tags = {{ Name = \"partner-api\" }}"
    );
    let ws = workspace(&emu, &endpoint_config(&w, &[s0], &body));
    ws.init();

    emu.clear_requests();
    ws.apply();
    let create_calls = ec2_calls(&emu);
    let out = ws.outputs();
    let service = &out["service"]["value"];
    assert_eq!(service["id"], w.service_id.as_str());
    let mut az_ids: Vec<String> =
        serde_json::from_value(service["availability_zone_ids"].clone()).unwrap();
    az_ids.sort();
    let mut want_az_ids = w.service_az_ids.clone();
    want_az_ids.sort();
    assert_eq!(az_ids, want_az_ids);
    assert_eq!(service["owner"], "999988887777");

    let ep = &out["endpoint"]["value"];
    let id = ep["id"].as_str().unwrap().to_string();
    assert_eq!(ep["state"], "available", "{ep}");
    assert_eq!(ep["network_interface_ids"].as_array().unwrap().len(), 1);
    let owned = ep["owned_security_group_id"].as_str().unwrap().to_string();
    assert_eq!(ep["security_group_ids"], json!([owned.as_str()]));
    let remote = emu.fixture(&["endpoint", &id]);
    assert_eq!(
        remote["security_group_ids"],
        json!([owned.as_str()]),
        "{remote}"
    );
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["id"], owned.as_str());
    assert_eq!(
        ingress(&groups[0]),
        grid(&[443], &w.cidrs),
        "admits only the VPC's CIDR blocks"
    );

    emu.clear_requests();
    ws.assert_plan_empty();
    let read_calls = ec2_calls(&emu);

    // In place: a second subnet, a second port, a tag; the policy only
    // reformatted.
    let pretty_policy =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(POLICY).unwrap()).unwrap();
    let body2 = format!(
        "  allow_from_vpc_cidr {{\n    ports = [443, 8443]\n  }}\n  policy = <<EOT\n{pretty_policy}\nEOT\n  tags = {{ Name = \"partner-api\", Team = \"data\" }}"
    );
    ws.write(
        "main.tf",
        &main_tf(&ws).replace(&body, &body2).replace(
            &serde_json::to_string(&[s0]).unwrap(),
            &serde_json::to_string(&[s0, s1]).unwrap(),
        ),
    );
    ws.updates_in_place_without("policy", "a reformatted policy is no change");
    let attrs = ws.resource_values("privatelink_vpc_endpoint");
    assert_eq!(attrs["id"], id.as_str(), "updated in place");
    assert_eq!(attrs["network_interface_ids"].as_array().unwrap().len(), 2);
    let remote = emu.fixture(&["endpoint", &id]);
    assert_eq!(
        remote["subnet_ids"].as_array().unwrap().len(),
        2,
        "{remote}"
    );
    assert_eq!(
        remote["network_interface_ids"].as_array().unwrap().len(),
        2,
        "{remote}"
    );
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(ingress(&groups[0]), grid(&[443, 8443], &w.cidrs));

    // Import the same endpoint elsewhere: every attribute matches.
    assert_import_matches(&emu, &ws, "privatelink_vpc_endpoint", &id);

    // Deleted out of band: state keeps the owned group, and the next plan
    // replaces the endpoint (and the group with it), saying why.
    emu.fixture(&["delete-endpoint", &id]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    let group = groups[0]["id"].as_str().unwrap();
    assert!(
        plan.all().contains("VPC endpoint no longer exists")
            && plan.all().contains(&format!("{id} no longer exists"))
            && plan.all().contains(group),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        plan.stdout
    );
    ws.apply();
    let new_id = ws.resource_values("privatelink_vpc_endpoint")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_id, id);
    ws.assert_plan_empty();

    emu.clear_requests();
    ws.destroy();
    let destroy_calls = ec2_calls(&emu);
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([]));
    assert_eq!(
        emu.fixture(&["security-groups", &w.vpc_id]),
        json!([]),
        "the owned security group is left behind"
    );
    eprintln!("privatelink_vpc_endpoint EC2 calls: create {create_calls} (with the data source and the owned group), refresh {read_calls}, destroy {destroy_calls}");
    assert!(
        read_calls <= 4,
        "a refresh should cost a couple of calls, took {read_calls}"
    );
}

/// `allow_from_vpc_cidr` added to an endpoint made without it, removed, and
/// added back: each time the group it makes is recorded as owned, the next
/// plan is empty, and destroy deletes it with the endpoint.
#[test]
fn a_group_added_in_place_is_owned_and_destroyed_with_the_endpoint() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let block = "  allow_from_vpc_cidr {\n    ports = [443]\n  }";
    let without = endpoint_config(&w, &[&w.subnets[0].0], "");
    let with = endpoint_config(&w, &[&w.subnets[0].0], block);
    let ws = workspace(&emu, &without);
    ws.init();
    ws.apply();
    let id = ws.resource_values("privatelink_vpc_endpoint")["id"].clone();
    for round in ["added", "added back"] {
        rewrite(&emu, &ws, &with);
        ws.apply();
        let attrs = ws.resource_values("privatelink_vpc_endpoint");
        assert_eq!(attrs["id"], id, "in place");
        let groups = emu.fixture(&["security-groups", &w.vpc_id]);
        assert_eq!(groups.as_array().unwrap().len(), 1, "{round}: {groups}");
        assert_eq!(
            attrs["owned_security_group_id"], groups[0]["id"],
            "{round}: {attrs}"
        );
        assert_eq!(attrs["security_group_ids"], json!([groups[0]["id"]]));
        ws.assert_plan_empty();
        if round == "added" {
            rewrite(&emu, &ws, &without);
            ws.apply();
            assert_eq!(emu.fixture(&["security-groups", &w.vpc_id]), json!([]));
            ws.assert_plan_empty();
        }
    }
    ws.destroy();
    assert_vpc_left_empty(&emu, &w.vpc_id);
}

#[test]
fn a_rule_added_by_hand_is_drift_and_is_removed() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let ws = workspace(
        &emu,
        &endpoint_config(
            &w,
            &[&w.subnets[0].0],
            "  allow_from_vpc_cidr {\n    ports = [443]\n  }",
        ),
    );
    ws.init();
    ws.apply();
    let owned = ws.resource_values("privatelink_vpc_endpoint")["owned_security_group_id"]
        .as_str()
        .unwrap()
        .to_string();
    emu.fixture(&["open-group", &owned, "0.0.0.0/0", "443"]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(
        plan.code,
        2,
        "the opened group must show as drift:\n{}",
        plan.all()
    );
    ws.apply();
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(ingress(&groups[0]), grid(&[443], &w.cidrs));
    ws.assert_plan_empty();

    // A group attached by hand beside the owned one is drift too, and the
    // apply takes it off again.
    let vpce = ws.resource_values("privatelink_vpc_endpoint")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let wide = emu.fixture(&["attach-open-group", &vpce])["attached"].clone();
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(
        plan.code,
        2,
        "the added group must show as drift:\n{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains(wide.as_str().unwrap()),
        "{}",
        plan.all()
    );
    ws.apply();
    assert_eq!(
        emu.fixture(&["endpoint", &vpce])["security_group_ids"],
        json!([owned])
    );
    ws.assert_plan_empty();
    ws.destroy();
}

#[test]
fn pending_acceptance_then_accepted_by_the_partner() {
    let emu = Emulator::start();
    let w = world(&emu, true);
    let accept = |endpoint: &str| accept_as_partner(&emu, &w, endpoint);
    // No groups named: AWS gives the endpoint the VPC's default group.
    let ws = workspace(&emu, &endpoint_config(&w, &[&w.subnets[0].0], ""));
    ws.init();
    ws.apply();
    let ep = ws.resource_values("privatelink_vpc_endpoint");
    assert_eq!(ep["state"], "pendingAcceptance", "{ep}");
    let id = ep["id"].as_str().unwrap().to_string();
    assert_eq!(
        ep["security_group_ids"].as_array().unwrap().len(),
        1,
        "the VPC's default group"
    );

    accept(&id);
    ws.refresh();
    assert_eq!(
        ws.resource_values("privatelink_vpc_endpoint")["state"],
        "available"
    );
    ws.assert_plan_empty();
    ws.destroy();
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([]));

    // Waiting for acceptance past the create timeout: the endpoint is kept
    // (tainted by Terraform), and the error says how to keep it once the
    // partner accepts instead of replacing it with a new request. A tag
    // makes it another request than the one just destroyed: with the same
    // arguments it would send the same idempotency tokens, and AWS's answer
    // would name an endpoint made seconds ago that is not listed, which
    // the create waits up to five minutes for, as for a new one (against
    // AWS an endpoint is not made and deleted within seconds).
    harness::rewrite(
        &emu,
        &ws,
        &endpoint_config(
            &w,
            &[&w.subnets[0].0],
            "  wait_for_acceptance = true\n  tags = { request = \"second\" }\n  timeouts {\n    create = \"2s\"\n  }",
        ),
    );
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Timed out waiting for vpce-"), "{err}");
    assert!(
        err.contains("The last state seen was pendingAcceptance"),
        "{err}"
    );
    assert!(err.contains("run `terraform untaint` on it"), "{err}");
    let [waiting] = <[Value; 1]>::try_from(
        emu.fixture(&["endpoints-in", &w.vpc_id])
            .as_array()
            .cloned()
            .unwrap(),
    )
    .expect("one endpoint kept");
    accept(waiting.as_str().unwrap());
    ws.ok(&["untaint", "-no-color", "privatelink_vpc_endpoint.partner"]);
    ws.apply();
    assert_eq!(
        ws.resource_values("privatelink_vpc_endpoint")["id"],
        waiting,
        "the accepted endpoint is kept, not replaced"
    );
    assert_eq!(
        ws.resource_values("privatelink_vpc_endpoint")["state"],
        "available"
    );
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

#[test]
fn subnet_in_an_unsupported_zone_fails_at_plan_and_creates_nothing() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let bad = w.subnets[2].0.as_str();
    let ws = workspace(
        &emu,
        &endpoint_config(
            &w,
            &[&w.subnets[0].0, bad],
            "  allow_from_vpc_cidr {\n    ports = [443]\n  }",
        ),
    );
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(
        err.contains("Subnet in an unsupported Availability Zone"),
        "{err}"
    );
    assert!(err.contains(bad), "{err}");
    for az in &w.service_az_ids {
        assert!(
            err.contains(az.as_str()),
            "the error must name the supported zone {az}:\n{err}"
        );
    }
    assert!(
        err.contains("subnet_ids   = ["),
        "not on the attribute:\n{err}"
    );
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    assert_vpc_left_empty(&emu, &w.vpc_id);

    // A served zone, but a subnet of another VPC: named at plan as well.
    let other = emu.fixture(&["consumer-vpc", "--cidr", "10.60.0.0/16"]);
    let stray = other["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["az_id"] == w.subnets[1].1.as_str())
        .expect("a subnet of the other VPC in a served zone")["id"]
        .as_str()
        .unwrap()
        .to_string();
    harness::rewrite(
        &emu,
        &ws,
        &endpoint_config(&w, &[&w.subnets[0].0, &stray], ""),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Subnet in another VPC"), "{err}");
    assert!(
        err.contains(&format!(
            "{stray} is in {}, not in vpc_id {}",
            other["vpc_id"].as_str().unwrap(),
            w.vpc_id
        )),
        "{err}"
    );
    assert!(!err.contains("More than one subnet"), "{err}");
}

/// A partner's service takes only the full-access policy: a narrower one
/// fails at plan on `policy`, and full access (what the other tests set)
/// plans.
#[test]
fn a_policy_narrower_than_full_access_fails_at_plan_for_a_partner_service() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let narrow = "  policy = jsonencode({\n    Version   = \"2012-10-17\"\n    Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"s3:GetObject\", Resource = \"*\" }]\n  })";
    let ws = workspace(&emu, &endpoint_config(&w, &[&w.subnets[0].0], narrow));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("The service takes no endpoint policy"),
        "{err}"
    );
    assert!(err.contains("VpcEndpointPolicySupported false"), "{err}");
    assert!(
        err.contains("policy = jsonencode("),
        "not on the attribute:\n{err}"
    );

    let full = format!("  policy = {POLICY:?}");
    harness::rewrite(&emu, &ws, &endpoint_config(&w, &[&w.subnets[0].0], &full));
    ws.plan_says("1 to add, 0 to change, 0 to destroy");
}

/// Recreating the same configuration (`-replace`, or after the endpoint
/// was deleted by hand) makes a new endpoint instead of waiting on the
/// deleted one its first ClientToken names.
#[test]
fn replace_and_recreate_after_deletion_make_new_endpoints() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let ws = workspace(
        &emu,
        &endpoint_config(
            &w,
            &[&w.subnets[0].0],
            "  allow_from_vpc_cidr {\n    ports = [443]\n  }\n  timeouts {\n    create = \"30s\"\n  }",
        ),
    );
    ws.init();
    ws.apply();
    let id = |ws: &terraform::Workspace| {
        ws.outputs()["endpoint"]["value"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = id(&ws);
    ws.apply_replacing("privatelink_vpc_endpoint.partner");
    let second = id(&ws);
    assert_ne!(first, second);
    emu.fixture(&["delete-endpoint", &second]);
    ws.apply_says("1 added, 0 changed, 1 destroyed");
    let third = id(&ws);
    assert!(
        third != first && third != second,
        "{first} {second} {third}"
    );
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([third]));
    ws.assert_plan_empty();
    // Deleted out of band, then destroyed: the owned group goes too, rather
    // than staying behind in the VPC.
    emu.fixture(&["delete-endpoint", &third]);
    ws.destroy();
    assert_vpc_left_empty(&emu, &w.vpc_id);
}

/// A policy must be a JSON object, tags must be ones AWS takes: both are
/// refused at validate, on the attribute, before any call.
#[test]
fn a_policy_that_is_not_an_object_and_reserved_tags_fail_at_validate() {
    let emu = aws::emulator();
    let ws = workspace(
        emu,
        r#"
resource "privatelink_vpc_endpoint" "partner" {
  service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
  vpc_id       = "vpc-0123456789abcdef0"
  subnet_ids   = ["subnet-0123456789abcdef0"]
  policy       = "[]"
  tags = {
    "aws:owner"           = "platform"
    "privatelink:claimed" = "true"
  }
}
"#,
    );
    ws.init();
    let out = ws.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(err.contains("Invalid policy"), "{err}");
    assert!(err.contains("A policy is a JSON object"), "{err}");
    assert!(err.contains("Invalid tag key"), "{err}");
    assert!(err.contains("starts with `aws:`"), "{err}");
    assert!(err.contains("is the tag the provider sets itself"), "{err}");
}

#[test]
fn throttling_and_a_new_group_not_yet_visible_still_converge_without_duplicates() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let ws = workspace(
        &emu,
        &endpoint_config(
            &w,
            &[&w.subnets[0].0, &w.subnets[1].0],
            "  allow_from_vpc_cidr {\n    ports = [443]\n  }",
        ),
    );
    ws.init();
    emu.clear_requests();
    emu.fault(json!({"throttle_fraction": 0.4, "services": ["ec2"], "seed": 11}));
    // EC2 does not see the group it has just created, twice.
    emu.fault(
        json!({"service": "ec2", "action": "AuthorizeSecurityGroupIngress",
                     "code": "InvalidGroup.NotFound", "status": 400, "count": 2,
                     "message": "The security group does not exist"}),
    );
    ws.apply();
    ws.assert_plan_empty();
    let not_yet = emu
        .requests()
        .iter()
        .filter(|(_, a, st)| a == "AuthorizeSecurityGroupIngress" && *st == 400)
        .count();
    assert_eq!(not_yet, 2, "the injected NotFound answers");
    assert_eq!(count(&emu, "AuthorizeSecurityGroupIngress"), 1);
    let throttled = emu
        .requests()
        .iter()
        .filter(|(s, _, st)| s == "ec2" && *st == 503)
        .count();
    assert!(
        throttled > 0,
        "the fault injection did not throttle anything"
    );
    assert_eq!(count(&emu, "CreateVpcEndpoint"), 1);
    assert_eq!(count(&emu, "CreateSecurityGroup"), 1);
    // Another group's rule still names the owned group, twice: waited out.
    emu.fault(json!({"service": "ec2", "action": "DeleteSecurityGroup",
                     "code": "InvalidGroup.InUse", "status": 400, "count": 2,
                     "message": "Group is used by security group sg-0aaaaaaaaaaaaaaaa"}));
    emu.clear_requests();
    ws.destroy();
    let in_use = emu
        .requests()
        .iter()
        .filter(|(_, a, st)| a == "DeleteSecurityGroup" && *st == 400)
        .count();
    assert_eq!(in_use, 2, "{:?}", emu.requests());
    emu.clear_faults();
    assert_vpc_left_empty(&emu, &w.vpc_id);
}

#[test]
fn data_source_by_id_and_a_service_not_shared_with_us() {
    let emu = aws::emulator();
    let w = world(emu, false);
    let hidden = emu.fixture(&["partner-service", "--allow", "111122223333"]);
    let ws = workspace(
        emu,
        &format!(
            "data \"privatelink_endpoint_service\" \"by_id\" {{\n  id = {:?}\n}}\n\noutput \"name\" {{\n  value = data.privatelink_endpoint_service.by_id.service_name\n}}\n",
            w.service_id
        ),
    );
    ws.init();
    ws.apply();
    assert_eq!(ws.outputs()["name"]["value"], w.service_name.as_str());

    ws.write(
        "main.tf",
        &main_tf(&ws).replace(
            &format!("id = {:?}", w.service_id),
            &format!(
                "service_name = {:?}",
                hidden["service_name"].as_str().unwrap()
            ),
        ),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    assert!(
        out.all().contains("Endpoint service not found"),
        "{}",
        out.all()
    );
    assert!(out.all().contains("allow your account"), "{}", out.all());
    assert!(
        out.all().contains("(arn:aws:iam::123456789012:root)"),
        "the principal to ask for, with the account filled in:\n{}",
        out.all()
    );

    // A service of another Region: the error says so, not "not shared".
    let elsewhere = w.service_name.replace(".us-east-1.", ".us-west-2.");
    harness::rewrite(
        emu,
        &ws,
        &format!(
            "resource \"privatelink_vpc_endpoint\" \"west\" {{\n  service_name = {elsewhere:?}\n  vpc_id       = {:?}\n  subnet_ids   = [{:?}]\n}}\n",
            w.vpc_id, w.subnets[0].0
        ),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Endpoint service not found"), "{err}");
    assert!(
        err.contains("is a service in us-west-2, and this provider works in us-east-1"),
        "{err}"
    );
}

/// Two endpoints to one service from one VPC share the owned group (it is
/// named per VPC and service). Destroying both must not leave the first
/// waiting for a group the second still holds: the last one out deletes it.
#[test]
fn two_endpoints_to_one_service_share_the_owned_group_and_destroy_cleanly() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    // A short delete timeout: a destroy stuck on the shared group fails
    // within seconds instead of after the default ten minutes.
    let endpoint_on = |name: &str, subnet: &str, port: u16| {
        format!(
            r#"
resource "privatelink_vpc_endpoint" "{name}" {{
  service_name = {service:?}
  vpc_id       = {vpc:?}
  subnet_ids   = [{subnet:?}]
  allow_from_vpc_cidr {{
    ports = [{port}]
  }}
  timeouts {{
    delete = "15s"
  }}
}}
"#,
            service = w.service_name,
            vpc = w.vpc_id,
        )
    };
    let endpoint = |name: &str, subnet: &str| endpoint_on(name, subnet, 443);
    let config = endpoint("a", &w.subnets[0].0) + &endpoint("b", &w.subnets[1].0);
    let ws = workspace(&emu, &config);
    ws.init();
    ws.apply();
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(
        groups.as_array().unwrap().len(),
        1,
        "one shared group: {groups}"
    );
    assert_eq!(
        emu.fixture(&["endpoints-in", &w.vpc_id])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    ws.assert_plan_empty();

    // A third endpoint (another configuration, say) asking other ports of
    // the shared group is refused on its ports, and the group keeps 443.
    let other = copy_of(
        &emu,
        &format!(
            "{HEADER}{}\n{}",
            emu.provider_block(),
            endpoint_on("c", &w.subnets[0].0, 8443)
        ),
    );
    other.init();
    let out = other.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("Security group shared with another endpoint"),
        "{err}"
    );
    assert!(err.contains("which admit ports [443]"), "{err}");
    assert!(
        err.contains("ports = [8443]"),
        "not on the attribute: {err}"
    );
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(ingress(&groups[0]), grid(&[443], &w.cidrs));
    assert_eq!(
        emu.fixture(&["endpoints-in", &w.vpc_id])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Nor may one of the sharing endpoints change them for both: refused
    // while planned, on the ports.
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}{}\n{}{}",
            emu.provider_block(),
            endpoint_on("a", &w.subnets[0].0, 8443),
            endpoint("b", &w.subnets[1].0)
        ),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("Security group shared with another endpoint")
            && err.contains("ports = [8443]"),
        "{err}"
    );
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(ingress(&groups[0]), grid(&[443], &w.cidrs));
    ws.write(
        "main.tf",
        &format!("{HEADER}{}\n{config}", emu.provider_block()),
    );
    ws.assert_plan_empty();

    // b stops admitting the VPC: it leaves the group, which a still uses, so
    // the group stays (deleting it would wait out b's update timeout).
    let b_without_group = format!(
        r#"
resource "privatelink_vpc_endpoint" "b" {{
  service_name = {service:?}
  vpc_id       = {vpc:?}
  subnet_ids   = [{subnet:?}]
  timeouts {{
    update = "15s"
    delete = "15s"
  }}
}}
"#,
        service = w.service_name,
        vpc = w.vpc_id,
        subnet = w.subnets[1].0,
    );
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}{}\n{}{b_without_group}",
            emu.provider_block(),
            endpoint("a", &w.subnets[0].0)
        ),
    );
    ws.apply_says("0 added, 1 changed, 0 destroyed");
    let groups = emu.fixture(&["security-groups", &w.vpc_id]);
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(ingress(&groups[0]), grid(&[443], &w.cidrs));
    let state = ws.state();
    let b = state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["address"] == "privatelink_vpc_endpoint.b")
        })
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("no endpoint b in state: {state}"));
    assert_eq!(b["owned_security_group_id"], Value::Null, "{b}");
    ws.assert_plan_empty();

    // One at a time, as when more endpoints share the group than Terraform
    // runs in parallel: the first must not wait for the second.
    ws.ok(&[
        "destroy",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-parallelism=1",
    ]);
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([]));
    assert_eq!(
        emu.fixture(&["security-groups", &w.vpc_id]),
        json!([]),
        "the shared owned group is left behind"
    );
}

#[test]
fn an_imported_endpoint_plans_clean_from_the_configuration_terraform_generates() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let s0 = w.subnets[0].0.as_str();
    let allow = "  allow_from_vpc_cidr {\n    ports = [443]\n  }";
    let ws = workspace(&emu, &endpoint_config(&w, &[s0], allow));
    ws.init();
    ws.apply();
    let ep = ws.resource_values("privatelink_vpc_endpoint");
    let id = ep["id"].as_str().unwrap().to_string();
    let owned = ep["owned_security_group_id"].as_str().unwrap().to_string();
    let provider = emu.provider_block();

    // `plan -generate-config-out` writes every optional attribute the state
    // holds: the owned group listed beside the block that made it. Imported
    // with that configuration, the endpoint has nothing to change.
    // (No outputs: Terraform before 1.x does not store them on import.)
    let generated_like = format!(
        "resource \"privatelink_vpc_endpoint\" \"partner\" {{\n  service_name       = {:?}\n  vpc_id             = {:?}\n  subnet_ids         = [{s0:?}]\n  security_group_ids = [{owned:?}]\n{allow}\n}}\n",
        w.service_name, w.vpc_id
    );
    let other = copy_of(&emu, &format!("{HEADER}{provider}\n{generated_like}"));
    other.init();
    other.ok(&[
        "import",
        "-no-color",
        "-input=false",
        "privatelink_vpc_endpoint.partner",
        &id,
    ]);
    other.assert_plan_empty();
    // Without the block, its group would be deleted while still listed.
    other.write(
        "main.tf",
        &format!("{HEADER}{provider}\n{}", generated_like.replace(allow, "")),
    );
    let out = other.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all()
            .contains("Error: Security group about to be deleted"),
        "{}",
        out.all()
    );
    assert!(out.all().contains(&owned), "{}", out.all());

    // Terraform's own generated configuration, where it can write one.
    if other.terraform_version() >= (1, 5) {
        let gen = copy_of(
            &emu,
            &format!("{HEADER}{provider}\nimport {{\n  to = privatelink_vpc_endpoint.adopted\n  id = {id:?}\n}}\n"),
        );
        gen.init();
        gen.ok(&[
            "plan",
            "-no-color",
            "-input=false",
            "-generate-config-out=generated.tf",
        ]);
        let generated = std::fs::read_to_string(gen.path().join("generated.tf")).unwrap();
        assert!(
            generated.contains("allow_from_vpc_cidr") && generated.contains(&owned),
            "{generated}"
        );
        gen.apply_says("1 imported, 0 added, 0 changed, 0 destroyed");
        gen.assert_plan_empty();
    }

    // Any other group beside the block is refused on the attribute: one
    // group at plan time (which group is owned is known there), two or
    // more already at validate.
    for groups in [
        "[\"sg-0123456789abcdef0\"]",
        "[\"sg-0123456789abcdef0\", \"sg-0fedcba9876543210\"]",
    ] {
        let wrong = copy_of(
            &emu,
            &format!(
                "{HEADER}{provider}\n{}",
                endpoint_config(
                    &w,
                    &[s0],
                    &format!("{allow}\n  security_group_ids = {groups}")
                )
            ),
        );
        wrong.init();
        let out = wrong.run(&["plan", "-no-color", "-input=false"]);
        assert_ne!(out.code, 0, "{}", out.all());
        let text = out.all();
        assert!(
            text.contains("Error: Conflicting security groups"),
            "{text}"
        );
        assert!(
            text.contains("security_group_ids = ["),
            "not on the attribute: {text}"
        );
    }
    let calls_before = ec2_calls(&emu);
    let two = copy_of(
        &emu,
        &format!(
            "{HEADER}{provider}\n{}",
            endpoint_config(&w, &[s0], &format!("{allow}\n  security_group_ids = [\"sg-0123456789abcdef0\", \"sg-0fedcba9876543210\"]"))
        ),
    );
    two.init();
    let out = two.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.all().contains("Conflicting security groups"),
        "{}",
        out.all()
    );
    assert_eq!(ec2_calls(&emu), calls_before, "validate calls nothing");
}

/// Instances with equal arguments (`count`) send the same idempotency
/// tokens; each still gets an endpoint of its own, and destroy removes both.
#[test]
fn instances_with_equal_arguments_get_an_endpoint_each() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let config = endpoint_config(&w, &[&w.subnets[0].0], "  count = 2").replace(
        "value = privatelink_vpc_endpoint.partner\n",
        "value = privatelink_vpc_endpoint.partner[*].id\n",
    );
    let ws = workspace(&emu, &config);
    ws.init();
    ws.apply();
    let ids = ws.outputs()["endpoint"]["value"].clone();
    let ids: Vec<String> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "both instances hold one endpoint");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!(sorted));

    // A third instance added in a later run sends the same tokens, in
    // another process: AWS answers with an endpoint the others hold, which
    // it must not take as its own.
    let main = main_tf(&ws).replace("count = 2", "count = 3");
    assert!(main.contains("count = 3"));
    ws.write("main.tf", &main);
    ws.apply_says("1 added, 0 changed, 0 destroyed");
    let ids: Vec<String> = ws.outputs()["endpoint"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3, "instances share an endpoint: {ids:?}");
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!(sorted));
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// `-replace` of an unchanged endpoint under create_before_destroy: the new
/// instance's create sends the old endpoint's tokens and AWS answers with
/// it, which the old instance holds: the replacement is a new endpoint, and
/// destroying the deposed object never deletes what the state now holds.
#[test]
fn a_create_before_destroy_replacement_never_deletes_what_state_holds() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let config = endpoint_config(
        &w,
        &[&w.subnets[0].0],
        "  lifecycle {\n    create_before_destroy = true\n  }",
    );
    let ws = workspace(&emu, &config);
    ws.init();
    ws.apply();
    let old = ws.resource_values("privatelink_vpc_endpoint")["id"].clone();
    ws.apply_replacing("privatelink_vpc_endpoint.partner");
    let held = ws.resource_values("privatelink_vpc_endpoint")["id"].clone();
    assert_ne!(held, old, "-replace kept the same endpoint");
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([held]));
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// A partner that accepts connections by hand: AWS turns private DNS on only
/// once the connection is accepted. Asked for without waiting, the plan
/// says so on private_dns_enabled and nothing is made; waiting for
/// acceptance, the endpoint is created without it and gets it as soon as
/// the partner accepts, in the same apply.
#[test]
fn private_dns_for_a_partner_that_accepts_by_hand_comes_with_acceptance() {
    let emu = Emulator::start();
    let w = world_with(&emu, true, &["--private-dns-name", "api.partner.example"]);
    let s0 = w.subnets[0].0.as_str();
    let ws = workspace(
        &emu,
        &endpoint_config(&w, &[s0], "  private_dns_enabled = true"),
    );
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let err = flat(&out.all());
    assert!(
        err.contains("Error: Private DNS before acceptance"),
        "{err}"
    );
    assert!(err.contains("Set wait_for_acceptance = true"), "{err}");
    assert!(
        err.contains("private_dns_enabled = true"),
        "not on the attribute: {err}"
    );
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), json!([]));

    harness::rewrite(
        &emu,
        &ws,
        &endpoint_config(
            &w,
            &[s0],
            "  private_dns_enabled = true\n  wait_for_acceptance = true",
        ),
    );
    let apply = ws
        .command(&["apply", "-no-color", "-input=false", "-auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("terraform apply");
    // The partner accepts once the endpoint is there, while apply waits.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let endpoint = loop {
        let listed = emu.fixture(&["endpoints-in", &w.vpc_id]);
        if let Some(id) = listed.as_array().and_then(|a| a.first()).cloned() {
            break id.as_str().unwrap().to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no endpoint was made");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(
        emu.fixture(&["endpoint", &endpoint])["private_dns_enabled"],
        false
    );
    accept_as_partner(&emu, &w, &endpoint);
    let done = apply.wait_with_output().expect("apply ends");
    assert!(
        done.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    let attrs = ws.resource_values("privatelink_vpc_endpoint");
    assert_eq!(attrs["id"], endpoint.as_str());
    assert_eq!(attrs["state"], "available", "{attrs}");
    assert_eq!(attrs["private_dns_enabled"], true, "{attrs}");
    assert!(
        attrs["dns_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["dns_name"] == "api.partner.example"),
        "{attrs}"
    );
    assert_eq!(
        emu.fixture(&["endpoint", &endpoint])["private_dns_enabled"],
        true
    );
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// Private DNS: on, the partner's own name resolves to the endpoint inside
/// the VPC; off again, in place. What AWS would refuse (a VPC with DNS
/// hostnames off, a service without a private DNS name) fails at plan on
/// private_dns_enabled, and nothing is created or changed.
#[test]
fn private_dns_on_and_off_in_place_and_what_aws_refuses_fails_at_plan() {
    let emu = Emulator::start();
    let w = world_with(&emu, false, &["--private-dns-name", "api.partner.example"]);
    let s0 = w.subnets[0].0.as_str();
    let ws = workspace(
        &emu,
        &endpoint_config(&w, &[s0], "  private_dns_enabled = true"),
    );
    let with_private_dns = main_tf(&ws);
    ws.init();
    ws.apply();
    ws.assert_plan_empty();
    let id = ws.resource_values("privatelink_vpc_endpoint")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resolves_partner_name = || {
        let attrs = ws.resource_values("privatelink_vpc_endpoint");
        assert_eq!(attrs["id"], id.as_str(), "updated in place");
        let listed = attrs["dns_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["dns_name"] == "api.partner.example");
        let remote = emu.fixture(&["endpoint", &id]);
        assert_eq!(remote["private_dns_enabled"], listed, "{remote}\n{attrs}");
        listed
    };
    assert!(resolves_partner_name());
    // The data source shows the name and AWS's verdict on its domain.
    let service = &ws.outputs()["service"]["value"];
    assert_eq!(service["private_dns_name"], "api.partner.example");
    assert_eq!(service["private_dns_name_verification_state"], "verified");
    assert_eq!(service["service_type"], "Interface");
    // A partner's service takes only the full-access policy.
    assert_eq!(service["vpc_endpoint_policy_supported"], false);
    assert_eq!(service["manages_vpc_endpoints"], false);
    let base = service["base_endpoint_dns_names"].as_array().unwrap();
    assert!(
        base.len() == 1
            && base[0]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}.us-east-1.vpce.amazonaws.com", w.service_id)),
        "{service}"
    );

    let without =
        with_private_dns.replace("private_dns_enabled = true", "private_dns_enabled = false");
    ws.write("main.tf", &without);
    ws.updates_in_place_without("must be replaced", "private DNS changes in place");
    assert!(!resolves_partner_name());

    let set_hostnames = |on: &str| {
        emu.fixture(&["vpc-dns", &w.vpc_id, "--support", "true", "--hostnames", on]);
    };
    // The command fails with `summary`, saying `detail`, on the attribute.
    let refused = |command: &[&str], summary: &str, detail: &str| {
        let out = ws.run(command);
        assert_ne!(out.code, 0);
        let err = flat(&out.all());
        assert!(err.contains(summary) && err.contains(detail), "{err}");
        assert!(
            err.contains("private_dns_enabled = true"),
            "not on the attribute:\n{err}"
        );
    };
    let plan = ["plan", "-no-color", "-input=false"];
    let apply = ["apply", "-no-color", "-input=false", "-auto-approve"];

    // DNS hostnames off in the VPC: turning private DNS on is refused at plan.
    set_hostnames("false");
    ws.write("main.tf", &with_private_dns);
    let hostnames_off = format!("{} has enableDnsHostnames off", w.vpc_id);
    refused(&plan, "VPC DNS attributes off", &hostnames_off);
    refused(&apply, "VPC DNS attributes off", &hostnames_off);
    assert!(!resolves_partner_name());
    set_hostnames("true");
    ws.plan_says("0 to add, 1 to change, 0 to destroy");

    // A second endpoint, to a service without a private DNS name.
    let nameless = emu.fixture(&[
        "partner-service",
        "--azs",
        "2",
        "--acceptance-required",
        "false",
    ]);
    let nameless = nameless["service_name"].as_str().unwrap();
    ws.write(
        "main.tf",
        &format!(
            "{without}\nresource \"privatelink_vpc_endpoint\" \"nameless\" {{\n  service_name        = {nameless:?}\n  vpc_id              = {:?}\n  subnet_ids          = [{s0:?}]\n  private_dns_enabled = true\n}}\n",
            w.vpc_id
        ),
    );
    refused(
        &apply,
        "No private DNS name to enable",
        &format!("The service {nameless} offers no private DNS name"),
    );
    assert_eq!(
        emu.fixture(&["endpoints-in", &w.vpc_id]),
        json!([id.as_str()])
    );

    // A name whose domain the partner has not verified yet is warned of on
    // the attribute; the plan goes ahead.
    let unverified = emu.fixture(&[
        "partner-service",
        "--acceptance-required",
        "false",
        "--private-dns-name",
        "new.partner.example",
        "--dns-verified",
        "false",
    ]);
    let unverified = unverified["service_name"].as_str().unwrap();
    ws.write(
        "main.tf",
        &format!(
            "{without}\nresource \"privatelink_vpc_endpoint\" \"unverified\" {{\n  service_name        = {unverified:?}\n  vpc_id              = {:?}\n  subnet_ids          = [{s0:?}]\n  private_dns_enabled = true\n}}\n",
            w.vpc_id
        ),
    );
    let out = ws.plan_says("1 to add, 0 to change, 0 to destroy");
    let warned = flat(&out.all());
    assert!(
        warned.contains("Warning: Private DNS name not verified")
            && warned.contains(&format!(
                "The private DNS name new.partner.example of {unverified} is pendingVerification"
            ))
            && warned.contains("private_dns_enabled = true"),
        "{warned}"
    );

    ws.write("main.tf", &without);
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// An endpoint AWS could not set up ends `failed`: the create says so at
/// once with AWS's reason, not at its timeout; the endpoint stays in state
/// (tainted), and the next apply replaces it with one that works.
#[test]
fn a_failed_endpoint_is_reported_at_once_and_replaced_by_the_next_apply() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let ws = workspace(&emu, &endpoint_config(&w, &[&w.subnets[0].0], ""));
    ws.init();
    let reason = "Insufficient free IP addresses in subnet.";
    emu.fault(json!({"endpoint_failure": reason}));
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    let err = flat(&failed.all());
    let made = emu.fixture(&["endpoints-in", &w.vpc_id]);
    let [broken] = made.as_array().unwrap().as_slice() else {
        panic!("one endpoint made: {made} {err}");
    };
    let broken = broken.as_str().unwrap().to_string();
    assert!(
        err.contains("Error: The VPC endpoint did not become available")
            && err.contains(&format!(
                "{broken} is failed, not available. AWS gives the reason: {reason}"
            )),
        "{err}"
    );
    assert_eq!(
        ws.resource_values("privatelink_vpc_endpoint")["id"],
        broken.as_str()
    );

    let plan = flat(&ws.run(&["plan", "-no-color", "-input=false"]).all());
    assert!(plan.contains("is tainted, so must be replaced"), "{plan}");
    emu.clear_requests();
    ws.apply();
    // The create's tokens first answer with the endpoint the replacement
    // just deleted: passed over at once, not looked for every half second
    // until a new endpoint's listing window ran out (10 s to 5 minutes).
    let describes = emu
        .requests()
        .iter()
        .filter(|(_, a, _)| a == "DescribeVpcEndpoints")
        .count();
    assert!(describes < 12, "{describes}: {:?}", emu.requests());
    let now = emu.fixture(&["endpoints-in", &w.vpc_id]);
    let [working] = now.as_array().unwrap().as_slice() else {
        panic!("the failed endpoint is replaced, not kept beside: {now}");
    };
    assert_ne!(working, broken.as_str());
    assert_eq!(
        ws.resource_values("privatelink_vpc_endpoint")["state"],
        "available"
    );
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// Ctrl-C while AWS throttles a create's call: the create is not abandoned,
/// but the call is not tried again once Terraform has asked the provider to
/// stop, so Terraform ends after the attempt in flight rather than after
/// every attempt `max_retries` allows; the next apply converges.
#[test]
fn an_interrupted_create_does_not_retry_a_throttled_call() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let ws = workspace(&emu, "");
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}{}\n{}",
            emu.provider_block_with("  max_retries = 9\n"),
            endpoint_config(&w, &[&w.subnets[0].0], "")
        ),
    );
    ws.init();
    emu.fault(json!({"service": "ec2", "action": "CreateVpcEndpoint",
                     "code": "RequestLimitExceeded", "status": 503, "count": 100}));
    let attempts = || {
        emu.requests()
            .iter()
            .filter(|(_, a, _)| a == "CreateVpcEndpoint")
            .count()
    };
    let at_interrupt = std::cell::Cell::new(0);
    let (out, _) = ws.interrupted(
        &["apply", "-no-color", "-input=false", "-auto-approve"],
        || {
            at_interrupt.set(attempts());
            at_interrupt.get() >= 2
        },
    );
    assert_ne!(out.code, 0, "{}", out.all());
    let err = flat(&out.all());
    assert!(err.contains("RequestLimitExceeded"), "{err}");
    // Ten attempts are allowed; the one in flight when the stop came (and
    // one begun before it arrived) may end, none after.
    let after = attempts() - at_interrupt.get();
    assert!(after <= 2, "{after} attempts after the interrupt: {err}");
    emu.clear_faults();

    ws.apply();
    assert_eq!(
        emu.fixture(&["endpoints-in", &w.vpc_id])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// A create whose answer was lost, applied again with a longer timeout (as
/// a timeout's error advises): the endpoint the lost answer made is the
/// one adopted, not a second one, since the idempotency tokens come from
/// what AWS is asked for and not from how long the provider waits.
#[test]
fn a_lost_create_answer_is_adopted_after_the_timeout_is_raised() {
    let emu = Emulator::start();
    let w = world(&emu, false);
    let main = |timeout: &str| {
        format!(
            "{HEADER}{}\n{}",
            emu.provider_block_with("  max_retries = 0\n"),
            endpoint_config(
                &w,
                &[&w.subnets[0].0],
                &format!("  timeouts {{\n    create = {timeout:?}\n  }}"),
            )
        )
    };
    let ws = workspace(&emu, "");
    ws.write("main.tf", &main("5m"));
    ws.init();
    emu.fault(
        json!({"service": "ec2", "action": "CreateVpcEndpoint", "code": "InternalError",
                     "status": 500, "count": 1, "after": true}),
    );
    let lost = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(lost.code, 0, "{}", lost.all());
    // The error quotes the ID AWS gave the failed call, for AWS Support.
    let failed_call = emu
        .request_log()
        .into_iter()
        .find(|e| e["action"] == "CreateVpcEndpoint" && e["status"] == 500)
        .expect("the failed CreateVpcEndpoint is logged");
    let request_id = failed_call["request_id"].as_str().unwrap();
    let err = flat(&lost.all());
    assert!(
        err.contains("InternalError: ") && err.contains(&format!("(AWS request ID {request_id})")),
        "{err}"
    );
    let made = emu.fixture(&["endpoints-in", &w.vpc_id]);
    assert_eq!(made.as_array().map(Vec::len), Some(1), "{made}");

    ws.write("main.tf", &main("30m"));
    ws.apply();
    assert_eq!(emu.fixture(&["endpoints-in", &w.vpc_id]), made);
    assert_eq!(ws.outputs()["endpoint"]["value"]["id"], made[0]);
    settled_then_destroyed(&emu, &ws, &w.vpc_id);
}

/// Ctrl-C while a create waits for the partner's acceptance: Terraform
/// stops at once, keeps the endpoint, and is told that it marks it tainted
/// and how to keep it rather than send a new request; untainted, the next
/// plan leaves it.
#[test]
fn an_interrupted_wait_for_acceptance_says_how_to_keep_the_endpoint() {
    let emu = Emulator::start();
    let w = world(&emu, true);
    let ws = workspace(
        &emu,
        &endpoint_config(&w, &[&w.subnets[0].0], "  wait_for_acceptance = true"),
    );
    ws.init();
    // Interrupted in the wait for acceptance: the endpoint is listed, and
    // its state has been read a few times since.
    let made = || {
        let reads = emu
            .requests()
            .iter()
            .skip_while(|(_, a, _)| a != "CreateVpcEndpoint")
            .filter(|(_, a, st)| a == "DescribeVpcEndpoints" && *st == 200)
            .count();
        reads >= 3
    };
    let (out, took) = ws.interrupted(
        &["apply", "-no-color", "-input=false", "-auto-approve"],
        made,
    );
    assert_ne!(out.code, 0, "{}", out.all());
    let text = flat(&out.all());
    assert!(text.contains("Stopped while waiting for vpce-"), "{text}");
    assert!(text.contains("terraform untaint"), "{text}");
    // The wait has no end of its own (nobody accepts): the stop ends it.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    let ids = emu.fixture(&["endpoints-in", &w.vpc_id]);
    let id = ids[0].as_str().unwrap();
    ws.ok(&["untaint", "-no-color", "privatelink_vpc_endpoint.partner"]);
    // Only the outputs the failed apply never recorded change.
    let plan = ws.ok(&["plan", "-no-color", "-input=false"]);
    assert!(
        !plan.stdout.contains("to add") && !plan.stdout.contains("tainted"),
        "{}",
        plan.all()
    );
    assert_eq!(ws.resource_values("privatelink_vpc_endpoint")["id"], id);
    ws.destroy();
    assert_vpc_left_empty(&emu, &w.vpc_id);
}
