//! End to end: privatelink_endpoint_service through the real Terraform CLI
//! against the AWS emulator. Each test checks what Terraform prints and what
//! the emulator holds afterwards.

#[path = "support/aws.rs"]
mod aws;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/terraform.rs"]
mod terraform;

use aws::Emulator;
use harness::{assert_import_matches, copy_of, main_tf, workspace, HEADER};

fn service_config(nlb: &str, extra: &str) -> String {
    format!(
        r#"
data "privatelink_vendor" "sigma" {{
  name = "sigma"
}}

resource "privatelink_endpoint_service" "svc" {{
  network_load_balancer_arns = [{nlb:?}]
  allowed_principals         = [data.privatelink_vendor.sigma.principal_arn]
{extra}
}}

output "handoff" {{
  value = privatelink_endpoint_service.svc.vendor_handoff
}}

output "id" {{
  value = privatelink_endpoint_service.svc.id
}}
"#
    )
}

/// A fresh Network Load Balancer in the emulator, by ARN.
fn nlb_arn(emu: &Emulator, name: &str) -> String {
    emu.fixture(&["nlb", "--name", name])["nlb_arn"]
        .as_str()
        .expect("the fixture names the NLB's ARN")
        .to_string()
}

/// Calls about endpoint connections: what the accepter makes.
fn connection_calls(emu: &Emulator) -> usize {
    emu.requests()
        .iter()
        .filter(|(_, a, _)| a.contains("VpcEndpointConnections"))
        .count()
}

fn count(emu: &Emulator, service: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|(s, _, _)| s == service)
        .count()
}

#[test]
fn lifecycle_create_update_import_drift_destroy() {
    let emu = Emulator::start();
    let nlb = &nlb_arn(&emu, "lifecycle-nlb");
    let ws = workspace(
        &emu,
        &service_config(nlb, "  tags = { Name = \"warehouse\" }"),
    );
    ws.init();

    emu.clear_requests();
    ws.apply();
    let create_calls = count(&emu, "ec2");
    // CloudTrail's userAgent names the tool behind every change.
    let log = emu.request_log();
    assert!(!log.is_empty());
    for call in &log {
        let agent = call["user_agent"].as_str().unwrap_or_default();
        assert!(
            agent.contains("app/terraform-provider-privatelink"),
            "{} sent user agent {agent:?}",
            call["action"]
        );
    }
    let out = ws.outputs();
    let id = out["id"]["value"].as_str().unwrap().to_string();
    let handoff = &out["handoff"]["value"];
    assert!(id.starts_with("vpce-svc-"), "{id}");
    assert_eq!(
        handoff["service_name"].as_str().unwrap(),
        format!("com.amazonaws.vpce.us-east-1.{id}")
    );
    assert_eq!(handoff["region"], "us-east-1");
    let az_ids = handoff["availability_zone_ids"].as_array().unwrap();
    assert_eq!(az_ids.len(), 2, "{handoff}");
    assert!(
        az_ids
            .iter()
            .all(|z| z.as_str().unwrap().starts_with("use1-az")),
        "{handoff}"
    );

    emu.clear_requests();
    ws.assert_plan_empty();
    let read_calls = count(&emu, "ec2");

    // In place: acceptance, a tag and a second principal change; the
    // service is not replaced.
    harness::rewrite(&emu, &ws, &service_config(
                nlb,
                "  acceptance_required = false\n  supported_regions = [\"us-west-2\"]\n  tags = { Name = \"warehouse\", Team = \"data\" }"
            )
            .replace(
                "[data.privatelink_vendor.sigma.principal_arn]",
                "[data.privatelink_vendor.sigma.principal_arn, \"arn:aws:iam::111122223333:root\"]"
            ));
    ws.plan_says("1 to change, 0 to destroy");
    ws.apply();
    ws.assert_plan_empty();
    let attrs = &ws.resource_values("privatelink_endpoint_service");
    assert_eq!(attrs["id"], id.as_str(), "updated in place");
    assert_eq!(attrs["acceptance_required"], false);
    assert_eq!(attrs["allowed_principals"].as_array().unwrap().len(), 2);
    assert_eq!(attrs["supported_regions"], serde_json::json!(["us-west-2"]));

    // Import the same object elsewhere: every attribute matches.
    assert_import_matches(&emu, &ws, "privatelink_endpoint_service", &id);

    // The home Region may be listed too (it is implied). An import cannot
    // tell whether the configuration lists it, and plans no change either way.
    let main = main_tf(&ws).replace(
        "supported_regions = [\"us-west-2\"]",
        "supported_regions = [\"us-east-1\", \"us-west-2\"]",
    );
    assert!(main.contains("\"us-east-1\", \"us-west-2\""));
    ws.write("main.tf", &main);
    ws.apply();
    ws.assert_plan_empty();
    let other = copy_of(&emu, &main);
    other.init();
    let address = "privatelink_endpoint_service.svc";
    other.ok(&["import", "-no-color", "-input=false", address, &id]);
    // (Terraform 1.0's import leaves the outputs to the next apply.)
    let plan = other.ok(&["plan", "-no-color", "-input=false"]);
    assert!(!plan.stdout.contains("Plan:"), "{}", plan.stdout);
    other.ok(&["state", "rm", "-no-color", address]);

    // Deleted out of band: the next plan re-creates it.
    emu.fixture(&["delete-service", &id]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    ws.apply();
    let new_id = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);

    emu.clear_requests();
    ws.destroy();
    let destroy_calls = count(&emu, "ec2");
    assert_eq!(emu.fixture(&["service-exists", &new_id])["exists"], false);
    eprintln!("privatelink_endpoint_service EC2 calls: create {create_calls}, refresh {read_calls}, destroy {destroy_calls}");
    assert!(
        read_calls <= 4,
        "a refresh should cost a couple of calls, took {read_calls}"
    );
}

/// A role the credentials may not assume: the error quotes AWS's refusal
/// as AWS words it, not the SDK's wrappers and debug form, once, on the
/// provider block, after one try at the role.
#[test]
fn a_refused_assume_role_reads_as_aws_words_it() {
    let emu = Emulator::start();
    let refusal = "User: arn:aws:iam::123456789012:user/terraform is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/platform-privatelink";
    emu.fault(serde_json::json!({
        "service": "sts", "action": "AssumeRole", "code": "AccessDenied",
        "status": 403, "count": 50, "message": refusal,
    }));
    let provider = emu.provider_block_with("  max_retries = 0\n  assume_role {\n    role_arn = \"arn:aws:iam::210987654321:role/platform-privatelink\"\n  }\n");
    let ws = copy_of(
        &emu,
        &format!("{HEADER}{provider}\ndata \"privatelink_endpoint_service\" \"x\" {{\n  id = \"vpce-svc-0123456789abcdef0\"\n}}\n\ndata \"privatelink_endpoint_service\" \"y\" {{\n  id = \"vpce-svc-0123456789abcdef1\"\n}}\n"),
    );
    ws.init();
    emu.clear_requests();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = terraform::flat(&out.all());
    assert_eq!(
        err.matches("Error: Cannot get AWS credentials").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("with provider["),
        "on the provider block: {err}"
    );
    assert!(err.contains(&format!("AccessDenied: {refusal}")), "{err}");
    assert!(
        !err.contains("Error {") && !err.contains("unhandled error"),
        "{err}"
    );
    let assumed = emu
        .requests()
        .iter()
        .filter(|(_, a, _)| a == "AssumeRole")
        .count();
    assert_eq!(assumed, 1, "{:?}", emu.requests());
}

/// STS throttling the identity check through every attempt: said as that,
/// with the attempts made, not as credentials AWS refused.
#[test]
fn a_throttled_identity_check_is_not_called_bad_credentials() {
    let emu = Emulator::start();
    emu.fault(serde_json::json!({
        "service": "sts", "action": "GetCallerIdentity", "code": "Throttling",
        "status": 400, "count": 50, "message": "Rate exceeded",
    }));
    let provider = emu.provider_block_with("  max_retries = 1\n");
    let ws = copy_of(
        &emu,
        &format!("{HEADER}{provider}\ndata \"privatelink_endpoint_service\" \"x\" {{\n  id = \"vpce-svc-0123456789abcdef0\"\n}}\n"),
    );
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = terraform::flat(&out.all());
    assert!(
        err.contains("Error: AWS STS is throttling or failing"),
        "{err}"
    );
    assert!(
        err.contains("failed (up to 2 attempts): Throttling: Rate exceeded"),
        "{err}"
    );
    assert!(!err.contains("Invalid AWS credentials"), "{err}");
    let asked = emu
        .requests()
        .iter()
        .filter(|(_, a, _)| a == "GetCallerIdentity")
        .count();
    assert_eq!(asked, 2, "max_retries = 1: two attempts");
}

/// The provider's default_tags go on the object under the resource's own
/// tags and show as tags_all, not as drift in tags; a change to them is an
/// update of tags_all; an import tells them apart from the object's own.
#[test]
fn default_tags_sit_under_the_resources_own_and_show_as_tags_all() {
    let emu = aws::emulator();
    let nlb = &nlb_arn(emu, "default-tags-nlb");
    let provider = |team: &str| {
        emu.provider_block_with(&format!(
            "  default_tags {{\n    tags = {{ team = {team:?}, env = \"prod\" }}\n  }}\n"
        ))
    };
    let body = service_config(nlb, "  tags = { Name = \"warehouse\", env = \"dev\" }")
        + "\noutput \"service\" {\n  value = privatelink_endpoint_service.svc\n}\n";
    let ws = copy_of(emu, &format!("{HEADER}{}\n{body}", provider("data")));
    ws.init();
    let plan = ws.plan_says("1 to add, 0 to change, 0 to destroy");
    // Terraform quotes map keys in some versions and plans, not in others.
    let keys_bare = |text: &str| terraform::flat(text).replace("\"team\"", "team");
    assert!(
        keys_bare(&plan.stdout).contains(r#"+ team = "data""#),
        "tags_all is known at plan:\n{}",
        plan.stdout
    );
    ws.apply();
    let id = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    let on_aws = emu.fixture(&["tags", &id]);
    assert_eq!(on_aws["team"], "data", "{on_aws}");
    assert_eq!(
        on_aws["env"], "dev",
        "the resource's own value wins: {on_aws}"
    );
    assert_eq!(on_aws["Name"], "warehouse", "{on_aws}");
    let service = &ws.outputs()["service"]["value"];
    assert_eq!(
        service["tags"],
        serde_json::json!({"Name": "warehouse", "env": "dev"})
    );
    assert_eq!(
        service["tags_all"],
        serde_json::json!({"Name": "warehouse", "env": "dev", "team": "data"})
    );
    ws.assert_plan_empty();

    // A new default: one in-place update of tags_all, carried out.
    ws.write(
        "main.tf",
        &format!("{HEADER}{}\n{body}", provider("platform")),
    );
    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    let text = keys_bare(&plan.stdout);
    assert!(
        text.contains(r#"~ team = "data" -> "platform""#),
        "{}",
        plan.stdout
    );
    assert!(
        !text.contains("~ tags "),
        "tags themselves unchanged:\n{}",
        plan.stdout
    );
    ws.apply();
    assert_eq!(emu.fixture(&["tags", &id])["team"], "platform");
    ws.assert_plan_empty();

    // Imported elsewhere, with the same provider: the default is not taken
    // for the object's own tag, so the import matches what was applied.
    assert_import_matches(emu, &ws, "privatelink_endpoint_service", &id);

    // Fifty defaults fit the provider block, not the service beside its
    // own tags and the provider's claim tag: the plan says so.
    let fifty = (0..50)
        .map(|i| format!("k{i} = \"v\""))
        .collect::<Vec<_>>()
        .join(", ");
    let crowded = emu.provider_block_with(&format!(
        "  default_tags {{\n    tags = {{ {fifty} }}\n  }}\n"
    ));
    ws.write("main.tf", &format!("{HEADER}{crowded}\n{body}"));
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let text = terraform::flat(&out.all());
    assert!(
        text.contains("Error: Too many tags with the provider's default_tags"),
        "{text}"
    );
    assert!(text.contains("52 tags"), "{text}");
    ws.write(
        "main.tf",
        &format!("{HEADER}{}\n{body}", provider("platform")),
    );
    ws.destroy();
}

/// Tags other systems set, named in the provider's ignore_tags, never show
/// as drift and survive applies; other tags added out of band are drift and
/// go, and a key written in `tags` is managed even when a prefix matches.
#[test]
fn ignored_tags_are_left_alone_and_other_drift_is_not() {
    let emu = aws::emulator();
    let nlb = &nlb_arn(emu, "ignore-tags-nlb");
    let provider = emu.provider_block_with("  ignore_tags {\n    keys         = [\"CostCenter\"]\n    key_prefixes = [\"cost:\"]\n  }\n");
    let body = service_config(
        nlb,
        "  tags = { Name = \"warehouse\", \"cost:team\" = \"data\" }",
    );
    let ws = copy_of(emu, &format!("{HEADER}{provider}\n{body}"));
    ws.init();
    ws.apply();
    ws.assert_plan_empty();
    let id = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    for (k, v) in [
        ("CostCenter", "42"),
        ("cost:owner", "finance"),
        ("Extra", "x"),
    ] {
        emu.fixture(&["tag", &id, k, v]);
    }
    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    assert!(
        plan.stdout.contains("\"Extra\"")
            && !plan.stdout.contains("CostCenter")
            && !plan.stdout.contains("cost:owner"),
        "{}",
        plan.stdout
    );
    ws.apply();
    ws.assert_plan_empty();
    let tags = emu.fixture(&["tags", &id]);
    assert_eq!(tags["CostCenter"], "42", "{tags}");
    assert_eq!(tags["cost:owner"], "finance", "{tags}");
    assert_eq!(tags["cost:team"], "data", "{tags}");
    assert_eq!(tags["Name"], "warehouse", "{tags}");
    assert!(tags.get("Extra").is_none(), "{tags}");

    // Written in tags, an ignored key is managed; taken out again, it is
    // left on the service rather than removed.
    let with_cost = |cost: &str| {
        let body = service_config(
            nlb,
            &format!("  tags = {{ Name = \"warehouse\", \"cost:team\" = \"data\"{cost} }}"),
        );
        ws.write("main.tf", &format!("{HEADER}{provider}\n{body}"));
    };
    with_cost(", CostCenter = \"99\"");
    ws.apply();
    assert_eq!(emu.fixture(&["tags", &id])["CostCenter"], "99");
    with_cost("");
    ws.apply();
    ws.assert_plan_empty();
    assert_eq!(emu.fixture(&["tags", &id])["CostCenter"], "99");
    ws.destroy();
}

/// The same configuration applied, destroyed and applied again (or
/// re-applied after the service was deleted by hand) makes a new service:
/// the ClientToken AWS spent on the deleted one is not reused.
#[test]
fn the_same_configuration_recreated_after_destroy_gets_a_new_service() {
    let emu = Emulator::start();
    let nlb = nlb_arn(&emu, "recreate-nlb");
    let ws = workspace(
        &emu,
        &service_config(&nlb, "  timeouts {\n    create = \"30s\"\n  }"),
    );
    ws.init();
    ws.apply();
    let first = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    ws.destroy();
    ws.apply_says("1 added, 0 changed, 0 destroyed");
    let second = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(emu.fixture(&["service-exists", &second])["exists"], true);
    ws.assert_plan_empty();

    emu.fixture(&["delete-service", &second]);
    let before = emu.requests().len();
    ws.apply_says("1 added, 0 changed, 0 destroyed");
    let third = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    assert!(
        third != first && third != second,
        "{first} {second} {third}"
    );
    // Each apply tries the tokens the deleted services spent first.
    let requests = emu.requests();
    let creates = requests
        .iter()
        .filter(|(_, a, status)| a == "CreateVpcEndpointServiceConfiguration" && *status == 200)
        .count();
    assert_eq!(creates, 1 + 2 + 3);
    // A spent token's service, not found, is passed over at once (a live
    // one would hold the load balancer and refuse the next create), not
    // looked for again and again until LISTED_WITHIN is out: one look each
    // for the two deleted services, then the new one's, and its reads.
    let looks = requests[before..]
        .iter()
        .filter(|(_, a, _)| a == "DescribeVpcEndpointServiceConfigurations")
        .count();
    assert!(looks <= 8, "{looks} looks");
    ws.assert_plan_empty();
    ws.destroy();
}

/// A setting AWS takes without applying (the emulator keeps every service
/// IPv4-only, as AWS does for a load balancer without dual-stack) is an
/// error on that attribute, not Terraform's "inconsistent result" bug
/// report; the state records what AWS has.
#[test]
fn a_setting_aws_did_not_apply_is_named_on_its_attribute() {
    let emu = Emulator::start();
    let nlb = nlb_arn(&emu, "ipv6-nlb");
    let ws = workspace(
        &emu,
        &service_config(&nlb, "  supported_ip_address_types = [\"ipv6\"]"),
    );
    ws.init();
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = terraform::flat(&out.all());
    assert!(
        err.contains("Error: supported_ip_address_types did not take effect"),
        "{err}"
    );
    assert!(err.contains("set supported_ip_address_types to [\"ipv6\"], but afterwards the object has [\"ipv4\"]"), "{err}");
    assert!(!err.contains("inconsistent result"), "{err}");
    let state = ws.resource_values("privatelink_endpoint_service");
    assert_eq!(
        state["supported_ip_address_types"],
        serde_json::json!(["ipv4"])
    );
    // A new object: Terraform taints it, as the message says.
    assert!(
        err.contains("the next apply replaces it; `terraform untaint` keeps it"),
        "{err}"
    );
    let plan = ws.run(&["plan", "-no-color", "-input=false"]);
    assert!(
        plan.stdout.contains("is tainted, so must be replaced"),
        "{}",
        plan.stdout
    );
    ws.destroy();
}

#[test]
fn throttling_on_every_call_still_converges_without_duplicates() {
    let emu = Emulator::start();
    let nlb = &nlb_arn(&emu, "throttled-nlb");
    let ws = workspace(&emu, &service_config(nlb, ""));
    ws.init();
    emu.fault(serde_json::json!({"throttle_fraction": 0.4, "services": ["ec2"], "seed": 7}));
    ws.apply();
    ws.assert_plan_empty();
    let throttled = emu
        .requests()
        .iter()
        .filter(|(s, _, st)| s == "ec2" && *st == 503)
        .count();
    assert!(
        throttled > 0,
        "the fault injection did not throttle anything"
    );
    let creates = emu
        .requests()
        .iter()
        .filter(|(_, a, st)| a == "CreateVpcEndpointServiceConfiguration" && *st == 200)
        .count();
    assert_eq!(creates, 1, "a throttled create must not create twice");
    ws.destroy();
    emu.clear_faults();
}

#[test]
fn bad_input_is_reported_on_the_attribute() {
    let emu = aws::emulator();
    let ws = workspace(
        emu,
        r#"
resource "privatelink_endpoint_service" "svc" {
  network_load_balancer_arns = []
  allowed_principals         = ["arn:aws:iam::185497759670:role/team/cdktf-operator", "*"]
  timeouts {
    create = "99999999999999999999h"
  }
}
"#,
    );
    ws.init();
    let out = ws.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(err.contains("Invalid duration"), "{err}");
    assert!(err.contains("at most 292 years"), "{err}");
    assert!(!err.contains("crashed"), "{err}");
    assert!(err.contains("Empty network_load_balancer_arns"), "{err}");
    assert!(err.contains("Invalid allowed_principals"), "{err}");
    assert!(err.contains("a 12-digit account ID"), "{err}");
    assert!(err.contains("Wildcard principal"), "{err}");
    assert!(
        err.contains("allowed_principals         = ["),
        "not on the attribute:\n{err}"
    );
}

/// A load balancer of another Region fails the plan; one that does not
/// exist fails the apply, naming the ARNs; both on the attribute, and
/// neither leaves a service behind.
#[test]
fn load_balancers_elsewhere_or_missing_are_named_on_the_attribute() {
    let emu = aws::emulator();
    let config = |arn: &str| {
        format!(
            "resource \"privatelink_endpoint_service\" \"svc\" {{\n  network_load_balancer_arns = [{arn:?}]\n  allowed_principals         = [\"arn:aws:iam::185497759670:root\"]\n}}\n"
        )
    };
    let elsewhere =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/warehouse/0123456789abcdef";
    let ws = workspace(emu, &config(elsewhere));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let err = terraform::flat(&out.all());
    assert!(
        err.contains("Error: Load balancer in another Region")
            && err.contains(&format!(
                "{elsewhere} is in eu-west-1, but this provider makes the service in us-east-1"
            ))
            && err.contains("network_load_balancer_arns = ["),
        "{err}"
    );

    let missing = elsewhere.replace("eu-west-1", "us-east-1");
    harness::rewrite(emu, &ws, &config(&missing));
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let err = terraform::flat(&out.all());
    assert!(
        err.contains("Error: Failed to create the VPC endpoint service")
            && err.contains(&format!(
                "Check each of network_load_balancer_arns ({missing})"
            ))
            && err.contains("network_load_balancer_arns = ["),
        "{err}"
    );
    let listed = ws.run(&["state", "list"]).stdout;
    assert!(
        listed.trim().is_empty(),
        "nothing must be in state: {listed}"
    );
}

/// A module passes `allow_all_principals` through a variable: validate
/// cannot know it, so the wildcard is judged at plan, on the element.
#[test]
fn a_wildcard_principal_waits_for_allow_all_principals_to_be_known() {
    let emu = aws::emulator();
    let nlb = nlb_arn(emu, "wildcard-var-nlb");
    let ws = workspace(
        emu,
        &format!(
            r#"
variable "allow" {{
  type = bool
}}

resource "privatelink_endpoint_service" "svc" {{
  network_load_balancer_arns = [{nlb:?}]
  allowed_principals         = ["*"]
  allow_all_principals       = var.allow
}}
"#
        ),
    );
    ws.init();
    ws.ok(&["validate", "-no-color"]);
    let out = ws.run(&["plan", "-no-color", "-input=false", "-var", "allow=false"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(err.contains("Wildcard principal"), "{err}");
    assert!(
        err.contains("allowed_principals         = [\"*\"]"),
        "not on the attribute:\n{err}"
    );
    let out = ws.ok(&["plan", "-no-color", "-input=false", "-var", "allow=true"]);
    assert!(out.stdout.contains("1 to add"), "{}", out.all());
}

/// An accepter pointed at a service these credentials do not own (none at
/// all, or a partner's) fails the plan on `service_id` instead of waiting
/// out its create timeout.
#[test]
fn an_accepter_on_a_service_not_ours_fails_at_plan() {
    let emu = aws::emulator();
    let partner = emu.fixture(&["partner-service"]);
    let theirs = partner["service_id"].as_str().unwrap();
    for svc in ["vpce-svc-0123456789abcdef0", theirs] {
        let ws = workspace(
            emu,
            &format!(
                "resource \"privatelink_endpoint_connection_accepter\" \"a\" {{\n  service_id      = {svc:?}\n  vpc_endpoint_id = \"vpce-0123456789abcdef0\"\n}}\n"
            ),
        );
        ws.init();
        let out = ws.run(&["plan", "-no-color", "-input=false"]);
        assert_ne!(out.code, 0, "{}", out.all());
        let err = terraform::flat(&out.all());
        assert!(err.contains("Error: Endpoint service not found"), "{err}");
        assert!(
            err.contains(&format!(
                "There is no endpoint service {svc} in account 123456789012, us-east-1"
            )),
            "{err}"
        );
        assert!(err.contains("service_id = "), "not on the attribute: {err}");
    }
}

/// A service applied on a new load balancer `nlb_name`, and Sigma's
/// account connected to it: the workspace, the service ID and the vendor's
/// endpoint ID, waiting for acceptance.
fn published_with_a_vendor_endpoint(
    emu: &Emulator,
    nlb_name: &str,
) -> (terraform::Workspace, String, String) {
    let nlb = &nlb_arn(emu, nlb_name);
    let ws = workspace(emu, &service_config(nlb, "  force_destroy = true"));
    ws.init();
    ws.apply();
    let out = ws.outputs();
    let service_id = out["id"]["value"].as_str().unwrap().to_string();
    let service_name = out["handoff"]["value"]["service_name"].as_str().unwrap();
    let vendor = emu.fixture(&["vendor-endpoint", service_name, "185497759670"]);
    let vpce = vendor["vpc_endpoint_id"].as_str().unwrap().to_string();
    (ws, service_id, vpce)
}

/// A connection imported while it still waits for acceptance (a team
/// adopting a vendor it had not accepted yet) is accepted by the next
/// apply, which the plan shows as the state becoming available; it is not
/// left pending under a clean plan.
#[test]
fn an_imported_waiting_connection_is_accepted_by_the_next_apply() {
    let emu = Emulator::start();
    let (ws, service_id, vpce) = published_with_a_vendor_endpoint(&emu, "imported-waiting-nlb");
    let accepter = format!(
        "\nresource \"privatelink_endpoint_connection_accepter\" \"sigma\" {{\n  service_id      = privatelink_endpoint_service.svc.id\n  vpc_endpoint_id = {vpce:?}\n}}\n"
    );
    ws.write("main.tf", &(main_tf(&ws) + &accepter));
    ws.ok(&[
        "import",
        "-no-color",
        "-input=false",
        "privatelink_endpoint_connection_accepter.sigma",
        &format!("{service_id}_{vpce}"),
    ]);
    assert_eq!(
        ws.resource_values("privatelink_endpoint_connection_accepter")["state"],
        "pendingAcceptance"
    );

    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    assert!(
        terraform::flat(&plan.stdout).contains(r#"~ state = "pendingAcceptance" -> "available""#),
        "{}",
        plan.stdout
    );
    ws.apply();
    let now = emu.fixture(&["state-of-endpoints", &service_id]);
    assert_eq!(now[0]["state"], "available", "{now}");
    assert_eq!(
        ws.resource_values("privatelink_endpoint_connection_accepter")["state"],
        "available"
    );
    ws.assert_plan_empty();
    ws.destroy();
}

/// `-replace` (or a taint) of an accepter under create_before_destroy, as the
/// onboarding module sets it: the new instance finds the connection already
/// accepted and holds it, so destroying the deposed one leaves it accepted,
/// and the next plan is empty.
#[test]
fn a_create_before_destroy_replacement_of_an_accepter_keeps_the_connection() {
    let emu = Emulator::start();
    let (ws, service_id, vpce) = published_with_a_vendor_endpoint(&emu, "accepter-cbd-nlb");
    let accepter = format!(
        "\nresource \"privatelink_endpoint_connection_accepter\" \"sigma\" {{\n  service_id      = privatelink_endpoint_service.svc.id\n  vpc_endpoint_id = {vpce:?}\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\n"
    );
    ws.write("main.tf", &(main_tf(&ws) + &accepter));
    ws.apply();
    let address = "privatelink_endpoint_connection_accepter.sigma";
    for how in ["-replace", "taint"] {
        emu.clear_requests();
        ws.replace_by(how, address);
        let state = emu.fixture(&["state-of-endpoints", &service_id]);
        assert_eq!(state[0]["state"], "available", "{how}: {state}");
        let rejects = emu
            .requests()
            .iter()
            .filter(|(_, a, _)| a == "RejectVpcEndpointConnections")
            .count();
        assert_eq!(rejects, 0, "{how}: {:?}", emu.requests());
        ws.assert_plan_empty();
    }
    ws.destroy();
    let state = emu.fixture(&["state-of-endpoints", &service_id]);
    assert!(
        state
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] != "available"),
        "{state}"
    );
}

/// The whole vendor flow: publish to the vendor's principal from the
/// catalog, the vendor (another account) connects, the accepter accepts it;
/// destroy rejects the connection and deletes the service.
#[test]
fn vendor_flow_with_accepter() {
    let emu = Emulator::start();
    let nlb = &nlb_arn(&emu, "vendor-flow-nlb");
    let ws = workspace(&emu, &service_config(nlb, "  force_destroy = true"));
    ws.init();
    ws.apply();
    let out = ws.outputs();
    let service_id = out["id"]["value"].as_str().unwrap().to_string();
    let service_name = out["handoff"]["value"]["service_name"]
        .as_str()
        .unwrap()
        .to_string();

    // Sigma's account connects to the service.
    let vendor = emu.fixture(&["vendor-endpoint", &service_name, "185497759670"]);
    let vpce = vendor["vpc_endpoint_id"].as_str().unwrap().to_string();
    let before = emu.fixture(&["state-of-endpoints", &service_id]);
    assert_eq!(before[0]["state"], "pendingAcceptance", "{before}");

    let accepter = format!(
        "\nresource \"privatelink_endpoint_connection_accepter\" \"sigma\" {{\n  service_id      = privatelink_endpoint_service.svc.id\n  vpc_endpoint_id = {vpce:?}\n}}\n\noutput \"accepted\" {{\n  value = privatelink_endpoint_connection_accepter.sigma\n}}\n"
    );
    ws.write("main.tf", &(main_tf(&ws) + &accepter));
    // The ID is known from the two IDs before anything is accepted.
    let plan = ws.plan_says("1 to add, 0 to change, 0 to destroy");
    assert!(
        terraform::flat(&plan.stdout).contains(&format!("+ id = \"{service_id}_{vpce}\"")),
        "{}",
        plan.stdout
    );
    emu.clear_requests();
    ws.apply();
    let accepter_create = connection_calls(&emu);
    let accepted = &ws.outputs()["accepted"]["value"];
    assert_eq!(accepted["state"], "available");
    assert_eq!(accepted["vpc_endpoint_owner"], "185497759670");
    assert_eq!(accepted["id"], format!("{service_id}_{vpce}").as_str());
    let after = emu.fixture(&["state-of-endpoints", &service_id]);
    assert_eq!(after[0]["state"], "available", "{after}");
    emu.clear_requests();
    ws.assert_plan_empty();
    let accepter_refresh = connection_calls(&emu);

    // Import the accepted connection elsewhere: same attributes.
    assert_import_matches(
        &emu,
        &ws,
        "privatelink_endpoint_connection_accepter",
        &format!("{service_id}_{vpce}"),
    );

    // Rejected out of band: it cannot be accepted again (a rejected
    // endpoint must be made anew). The plan warns of it on vpc_endpoint_id,
    // and the apply fails.
    emu.fixture(&["reject-connection", &service_id, &vpce]);
    let plan = ws.plan_says("1 to add, 0 to change, 0 to destroy");
    let text = terraform::flat(&plan.all());
    assert!(
        text.contains("Warning: The connection cannot be accepted")
            && text.contains(&format!(
                "The connection from {vpce} to {service_id} is rejected"
            ))
            && text.contains(&format!("vpc_endpoint_id = {vpce:?}")),
        "{text}"
    );
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0);
    assert!(
        terraform::flat(&failed.all()).contains("Error: The connection cannot be accepted"),
        "{}",
        failed.all()
    );

    // The vendor makes a new endpoint. An ID mistyped for it waits for a
    // connection that never comes, and the timeout names the one waiting.
    let again = emu.fixture(&["vendor-endpoint", &service_name, "185497759670"]);
    let vpce2 = again["vpc_endpoint_id"].as_str().unwrap().to_string();
    let typo = "vpce-0123456789abcdef0";
    ws.write(
        "main.tf",
        &main_tf(&ws).replace(
            &format!("vpc_endpoint_id = {vpce:?}"),
            &format!("vpc_endpoint_id = {typo:?}\n  timeouts {{\n    create = \"2s\"\n  }}"),
        ),
    );
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0);
    let text = terraform::flat(&failed.all());
    assert!(
        text.contains(&format!(
            "Timed out waiting for {typo} to request a connection to {service_id}"
        )) && text.contains(&format!(
            "Waiting on {service_id} for acceptance instead: {vpce2} (account 185497759670)."
        )),
        "{text}"
    );
    // The plan said so before the wait.
    assert!(
        text.contains("Warning: No connection request yet")
            && text.contains(&format!(
                "{typo} has not requested a connection to {service_id}. Apply waits up to 2s"
            )),
        "{text}"
    );

    // Someone accepts the new endpoint by hand just before the apply: AWS
    // shows it "pending" (accepted, not yet available). The accepter adopts
    // it without accepting again.
    // Pending far longer than the plan before the accepter's first look.
    emu.fault(serde_json::json!({"accepted_pending_seconds": 15}));
    let by_hand = emu.fixture(&[
        "accept-as-owner",
        &service_id,
        &vpce2,
        "--account",
        aws::ACCOUNT,
        "--wait",
        "false",
    ]);
    assert_eq!(by_hand["state"], "pending", "{by_hand}");
    ws.write(
        "main.tf",
        &main_tf(&ws).replace(
            &format!("{typo:?}\n  timeouts {{\n    create = \"2s\"\n  }}"),
            &format!("{vpce2:?}"),
        ),
    );
    emu.clear_requests();
    ws.apply();
    emu.clear_faults();
    let accepts = emu
        .requests()
        .iter()
        .filter(|(_, action, _)| action == "AcceptVpcEndpointConnections")
        .count();
    assert_eq!(accepts, 0, "a pending connection is accepted already");
    assert_eq!(ws.outputs()["accepted"]["value"]["state"], "available");
    ws.assert_plan_empty();

    // Planning another endpoint in its place says what replacing costs.
    let accepting = main_tf(&ws);
    ws.write(
        "main.tf",
        &accepting.replace(&format!("{vpce2:?}"), &format!("{vpce:?}")),
    );
    let plan = ws.plan_says("1 to add, 0 to change, 1 to destroy");
    let text = terraform::flat(&plan.all());
    assert!(
        text.contains("Warning: The vendor's connection will be rejected for good")
            && text.contains(&format!(
                "Replacing this accepter rejects the connection from {vpce2}"
            )),
        "{text}"
    );
    ws.write("main.tf", &accepting);

    // Destroying the accepter rejects the connection.
    emu.clear_requests();
    let destroyed = ws.ok(&[
        "destroy",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-target=privatelink_endpoint_connection_accepter.sigma",
    ]);
    let accepter_destroy = connection_calls(&emu);
    // Said while planned, where Terraform plans destroys with the provider.
    if ws.terraform_version() >= (1, 3) {
        let text = terraform::flat(&destroyed.all());
        assert!(
            text.contains("Warning: The vendor's connection will be rejected for good")
                && text.contains(&format!(
                    "Destroying this accepter rejects the connection from {vpce2}"
                )),
            "{text}"
        );
    }
    let states = emu.fixture(&["state-of-endpoints", &service_id]);
    assert!(
        states
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == vpce2.as_str() && c["state"] == "rejected"),
        "destroy did not reject {vpce2}: {states}"
    );
    eprintln!("privatelink_endpoint_connection_accepter connection calls: create {accepter_create}, refresh {accepter_refresh}, destroy {accepter_destroy}");
    assert!(accepter_refresh <= 2, "refresh took {accepter_refresh}");
    ws.destroy();
    let final_state = emu.fixture(&["state-of-endpoints", &service_id]);
    assert!(
        final_state
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] != "available"),
        "the connection is still accepted: {final_state}"
    );
    assert_eq!(
        emu.fixture(&["service-exists", &service_id])["exists"],
        false
    );
}

#[test]
fn destroy_refuses_while_endpoints_are_connected() {
    let emu = Emulator::start();
    let nlb = &nlb_arn(&emu, "connected-nlb");
    let ws = workspace(&emu, &service_config(nlb, "  acceptance_required = false"));
    ws.init();
    ws.apply();
    let out = ws.outputs();
    let service_id = out["id"]["value"].as_str().unwrap().to_string();
    let service_name = out["handoff"]["value"]["service_name"]
        .as_str()
        .unwrap()
        .to_string();
    let vendor = emu.fixture(&["vendor-endpoint", &service_name, "185497759670"]);
    let vpce = vendor["vpc_endpoint_id"].as_str().unwrap();

    let refused = ws.run(&["destroy", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.all().contains("Endpoints are still connected"),
        "{}",
        refused.all()
    );
    assert!(
        refused.all().contains(vpce),
        "the error must name the endpoint:\n{}",
        refused.all()
    );
    assert_eq!(
        emu.fixture(&["service-exists", &service_id])["exists"],
        true
    );

    // force_destroy rejects the vendor's endpoint first; EC2 still
    // counting the rejected connection for a moment is waited out.
    ws.write(
        "main.tf",
        &main_tf(&ws).replace(
            "acceptance_required = false",
            "acceptance_required = false\n  force_destroy = true",
        ),
    );
    ws.apply();
    emu.fault(serde_json::json!({"rejected_counted_seconds": 1.5}));
    emu.clear_requests();
    ws.destroy();
    emu.clear_faults();
    assert_eq!(
        emu.fixture(&["service-exists", &service_id])["exists"],
        false
    );
    let deletes = emu
        .requests()
        .iter()
        .filter(|(_, a, _)| a == "DeleteVpcEndpointServiceConfigurations")
        .count();
    assert!(deletes >= 2, "{:?}", emu.requests());
}

/// A provider block whose region and Snowflake account come from another
/// resource: unknown while planning. Resources that can plan without a
/// call still do; what would have to guess (the region from AWS_REGION)
/// says why it cannot instead; the apply then configures it for real.
#[test]
fn a_provider_configured_from_values_known_only_after_apply() {
    let emu = Emulator::start();
    let first_nlb = nlb_arn(&emu, "first-nlb");
    let second_nlb = nlb_arn(&emu, "second-nlb");
    let endpoints: String = ["ec2", "iam", "redshift", "s3", "sts"]
        .iter()
        .map(|s| format!("    {s} = {:?}\n", emu.url))
        .collect();
    let main = |extra: &str| {
        format!(
            r#"{HEADER}{default}
resource "privatelink_endpoint_service" "first" {{
  network_load_balancer_arns = [{first_nlb:?}]
  allowed_principals         = ["arn:aws:iam::185497759670:root"]
}}

provider "privatelink" {{
  alias  = "later"
  region = privatelink_endpoint_service.first.state == "" ? "us-east-1" : "us-east-1"
  endpoints {{
{endpoints}  }}
  snowflake {{
    account = privatelink_endpoint_service.first.id
    user    = "TERRAFORM"
    token   = "not-used-here"
  }}
}}

resource "privatelink_endpoint_service" "second" {{
  provider                   = privatelink.later
  network_load_balancer_arns = [{second_nlb:?}]
  allowed_principals         = ["arn:aws:iam::185497759670:root"]
}}
{extra}"#,
            default = emu.provider_block()
        )
    };
    let mut ws = copy_of(&emu, &main(""));
    // A region in the environment must not stand in for the unknown one.
    ws.set_env("AWS_REGION", "eu-west-1");
    ws.init();
    ws.plan_says("2 to add, 0 to change, 0 to destroy");

    ws.write(
        "main.tf",
        &main("\ndata \"privatelink_vendor\" \"sigma\" {\n  provider = privatelink.later\n  name     = \"sigma\"\n}\n"),
    );
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let text = terraform::flat(&out.all());
    assert!(
        text.contains("Error: Provider configuration not known until apply"),
        "{text}"
    );
    assert!(text.contains("`region`"), "{text}");
    assert!(text.contains("data.privatelink_vendor.sigma"), "{text}");

    ws.write("main.tf", &main(""));
    ws.apply_says("2 added, 0 changed, 0 destroyed");
    let creates = emu
        .requests()
        .iter()
        .filter(|(_, a, status)| a == "CreateVpcEndpointServiceConfiguration" && *status == 200)
        .count();
    assert_eq!(creates, 2);
    ws.assert_plan_empty();
}

/// Ctrl-C while AWS does not answer: the provider abandons the request
/// soon after Terraform asks it to stop, instead of holding Terraform until
/// the call and its retries end.
#[test]
fn an_interrupt_abandons_a_request_aws_does_not_answer() {
    let emu = Emulator::start();
    let ws = copy_of(
        &emu,
        &format!(
            "{HEADER}{}\ndata \"privatelink_endpoint_service\" \"s3\" {{\n  service_name = \"com.amazonaws.us-east-1.s3\"\n}}\n",
            emu.provider_block()
        ),
    );
    ws.init();
    emu.hold(serde_json::json!({"service": "ec2", "action": "DescribeVpcEndpointServices", "max_seconds": 120}));
    let held = || {
        emu.holds()["held"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    };
    let (out, took) = ws.interrupted(&["plan", "-no-color", "-input=false"], held);
    emu.release_holds();
    assert_ne!(out.code, 0, "{}", out.all());
    let text = terraform::flat(&out.all());
    assert!(text.contains("Stopped while reading"), "{text}");
    // The answer is held for two minutes: the stop, not the answer, ended
    // the plan.
    assert!(
        took < std::time::Duration::from_secs(60),
        "{took:?}: {text}"
    );
}

/// allowed_account_ids and forbidden_account_ids stop every call in an
/// account they rule out, before anything is made there, with one error
/// on the setting in the provider block.
#[test]
fn an_account_ruled_out_by_the_provider_block_gets_no_call() {
    let emu = Emulator::start();
    let nlb = nlb_arn(&emu, "guarded-nlb");
    let config = |guard: &str| {
        let block = emu.provider_block_with(&format!("  {guard}\n"));
        format!(
            "{HEADER}{block}\nresource \"privatelink_endpoint_service\" \"svc\" {{\n  network_load_balancer_arns = [{nlb:?}]\n}}\n\ndata \"privatelink_endpoint_service\" \"s3\" {{\n  service_name = \"com.amazonaws.us-east-1.s3\"\n}}\n"
        )
    };
    let ws = copy_of(&emu, &config("allowed_account_ids = [\"111111111111\"]"));
    ws.init();
    for (guard, says) in [
        (
            "allowed_account_ids = [\"111111111111\"]",
            "AWS account 123456789012 is not allowed",
        ),
        (
            "forbidden_account_ids = [\"123456789012\"]",
            "AWS account 123456789012 is forbidden",
        ),
    ] {
        ws.write("main.tf", &config(guard));
        emu.clear_requests();
        let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
        assert_ne!(out.code, 0, "{}", out.all());
        let text = terraform::flat(&out.all());
        assert_eq!(text.matches(says).count(), 1, "{text}");
        // Terraform quotes the source line of the setting the error is on.
        assert!(
            text.contains("in provider \"privatelink\":") && text.contains(guard),
            "{text}"
        );
        assert!(text.contains("with provider["), "{text}");
        let calls: Vec<String> = emu.requests().into_iter().map(|(_, a, _)| a).collect();
        assert!(
            calls.iter().all(|a| a == "GetCallerIdentity"),
            "only the identity check may run: {calls:?}"
        );
    }
    ws.write(
        "main.tf",
        &config("allowed_account_ids = [\"123456789012\"]"),
    );
    ws.apply_says("1 added, 0 changed, 0 destroyed");
}

/// A profile named in the provider block is what the provider acts as, even
/// with the environment's keys set (they belong to another account here);
/// a profile no file defines is refused on the attribute.
#[test]
fn the_provider_blocks_profile_wins_over_the_environments_keys() {
    let emu = Emulator::start();
    let vendor = emu.fixture(&["credentials-of", "185497759670"]);
    let config = |profile: &str| {
        let block = emu.provider_block_with(&format!(
            "  profile = {profile:?}\n  allowed_account_ids = [\"185497759670\"]\n"
        ));
        format!(
            "{HEADER}{block}\ndata \"privatelink_endpoint_service\" \"s3\" {{\n  service_name = \"com.amazonaws.us-east-1.s3\"\n}}\n"
        )
    };
    let mut ws = copy_of(&emu, &config("vendor"));
    ws.write(
        "credentials",
        &format!(
            "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[vendor]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            vendor["aws_access_key_id"].as_str().unwrap(),
            vendor["aws_secret_access_key"].as_str().unwrap(),
            vendor["aws_session_token"].as_str().unwrap(),
        ),
    );
    ws.write("config", "");
    let dir = ws.path().to_path_buf();
    ws.set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        &dir.join("credentials").display().to_string(),
    );
    ws.set_env("AWS_CONFIG_FILE", &dir.join("config").display().to_string());
    ws.init();
    // The environment's keys act as 123456789012, which the list rules out:
    // the plan gets through only if the profile's credentials are used.
    emu.clear_requests();
    let out = ws.ok(&["plan", "-no-color", "-input=false"]);
    assert!(out.stdout.contains("No changes"), "{}", out.all());
    assert!(
        emu.requests()
            .iter()
            .any(|(_, a, _)| a == "DescribeVpcEndpointServices"),
        "{:?}",
        emu.requests()
    );

    // A chained profile (a role assumed from another profile's keys) makes
    // its own STS call, in the provider's region.
    ws.write(
        "config",
        "[profile chained]\nrole_arn = arn:aws:iam::185497759670:role/privatelink-ops\nsource_profile = vendor\n",
    );
    ws.set_env("AWS_ENDPOINT_URL_STS", &emu.url);
    ws.write("main.tf", &config("chained"));
    emu.clear_requests();
    let out = ws.ok(&["plan", "-no-color", "-input=false"]);
    assert!(out.stdout.contains("No changes"), "{}", out.all());
    assert!(
        emu.requests().iter().any(|(_, a, _)| a == "AssumeRole"),
        "{:?}",
        emu.requests()
    );

    ws.write("main.tf", &config("nosuch"));
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let err = terraform::flat(&out.all());
    assert!(err.contains("Error: AWS profile not found"), "{err}");
    assert!(err.contains("No profile \"nosuch\""), "{err}");
    assert!(err.contains("they define chained, other, vendor"), "{err}");
    assert!(
        err.contains("profile = \"nosuch\""),
        "not on the attribute: {err}"
    );
}

/// Every resource and data source plans when its inputs come from a
/// resource not made yet: nothing is judged on a value that may still
/// turn out null, and nothing is looked up with a value not known.
#[test]
fn every_resource_plans_with_inputs_known_only_after_apply() {
    let emu = Emulator::start();
    let nlb = nlb_arn(&emu, "source-nlb");
    let ws = workspace(
        &emu,
        &format!(
            r#"
resource "privatelink_endpoint_service" "source" {{
  network_load_balancer_arns = [{nlb:?}]
  allowed_principals         = ["arn:aws:iam::185497759670:root"]
}}

locals {{
  # Known once the service exists; unknown while planning.
  later = privatelink_endpoint_service.source.id
  text  = local.later == "" ? "" : "x"
}}

resource "privatelink_endpoint_connection_accepter" "a" {{
  service_id      = local.later
  vpc_endpoint_id = "vpce-0123456789abcdef${{local.text == "" ? "1" : "0"}}"
}}

resource "privatelink_redshift_endpoint_grant" "g" {{
  cluster_identifier = "c-${{local.text}}"
  grantee_account    = local.text == "" ? "" : "185497759670"
  vpc_ids            = [local.text == "" ? "" : "vpc-03e998398a2b8d7d4"]
}}

resource "privatelink_s3_storage_integration" "i" {{
  bucket               = "bucket-${{local.text}}"
  prefix               = local.text
  role_name            = "role-${{local.text}}"
  vendor               = "sigma"
  allowed_source_cidrs = [local.text == "" ? "" : "203.0.113.0/24"]
  # Unknown now, null once known: no external ID without the ARN yet.
  external_id = local.text == "x" ? null : "SIGMA_external_id"
}}

resource "privatelink_vpc_endpoint" "e" {{
  service_name = "com.amazonaws.vpce.us-east-1.${{local.later}}"
  vpc_id       = local.text == "" ? "" : "vpc-0123456789abcdef0"
  subnet_ids   = [local.text == "" ? "" : "subnet-0123456789abcdef0"]
  policy       = jsonencode({{ Statement = [{{ Effect = "Allow", Principal = "*", Action = "*", Resource = local.later }}] }})
  allow_from_vpc_cidr {{
    ports = [local.text == "" ? 1 : 443]
  }}
}}

data "privatelink_endpoint_service" "partner" {{
  service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
  # Unknown now, null once known: no conflict with service_name.
  id = local.text == "x" ? null : "vpce-svc-0123456789abcdef0"
}}

data "privatelink_vendor" "v" {{
  name   = "sigma"
  region = local.text == "" ? "" : "us-east-1"
}}
"#
        ),
    );
    ws.init();
    emu.clear_requests();
    ws.plan_says("5 to add, 0 to change, 0 to destroy");
    // Nothing was looked up with a value not known yet.
    let lookups: Vec<String> = emu
        .requests()
        .into_iter()
        .map(|(_, action, _)| action)
        .filter(|a| a.starts_with("Describe") || a.starts_with("GetBucket") || a == "HeadBucket")
        .collect();
    assert_eq!(lookups, Vec::<String>::new());
}

/// An update plans unknown only what it can change: a tag leaves the
/// service's state and zones as they are, while moving to a load balancer
/// in other zones plans the zones and the hand-off's zones anew (its service
/// name and region stay known), and the apply records the new ones.
#[test]
fn updates_plan_unknown_only_what_they_change() {
    let emu = Emulator::start();
    let first = nlb_arn(&emu, "zones-01-nlb");
    let moved = emu.fixture(&["nlb", "--name", "zones-12-nlb", "--zones", "1,2"]);
    let second = moved["nlb_arn"].as_str().unwrap().to_string();
    let ws = workspace(&emu, &service_config(&first, ""));
    ws.init();
    ws.apply();
    let before = ws.resource_values("privatelink_endpoint_service");

    harness::rewrite(
        &emu,
        &ws,
        &service_config(&first, "  tags = { Team = \"data\" }"),
    );
    ws.updates_in_place_without(
        "known after apply",
        "a tag change leaves every computed value known",
    );

    harness::rewrite(
        &emu,
        &ws,
        &service_config(&second, "  tags = { Team = \"data\" }"),
    );
    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    for name in ["availability_zone_ids", "vendor_handoff"] {
        assert!(
            plan.stdout.contains(&format!("~ {name} ")),
            "{name} must be planned anew:\n{}",
            plan.stdout
        );
    }
    // The service name and region the vendor holds do not change with the
    // zones, and the plan must not show them going.
    for kept in ["service_name", "region"] {
        // As an attribute line (`region = ...`), not inside supported_regions.
        let line = regex::Regex::new(&format!(r"\b{kept}\s+=")).unwrap();
        assert!(
            !line.is_match(&plan.stdout),
            "{kept} planned as changing:\n{}",
            plan.stdout
        );
    }
    ws.apply();
    let after = ws.resource_values("privatelink_endpoint_service");
    assert_eq!(after["id"], before["id"], "updated in place");
    assert_ne!(after["availability_zones"], before["availability_zones"]);
    let mut zones: Vec<String> = moved["azs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap().to_string())
        .collect();
    zones.sort();
    assert_eq!(after["availability_zones"], serde_json::json!(zones));
    assert_eq!(
        ws.outputs()["handoff"]["value"]["availability_zone_ids"],
        after["availability_zone_ids"]
    );
    ws.assert_plan_empty();
}

/// `-replace` of an unchanged service under create_before_destroy: AWS
/// answers the new instance's first create token with the old service
/// (which the provider leaves to its holder), and a load balancer backs one
/// service at a time, so the new one cannot be made on the same load
/// balancer. The apply fails on network_load_balancer_arns, and the service
/// state holds stays, in state and in AWS.
#[test]
fn a_create_before_destroy_replacement_on_the_same_load_balancer_keeps_the_service() {
    let emu = Emulator::start();
    let nlb = nlb_arn(&emu, "cbd-nlb");
    let ws = workspace(
        &emu,
        &service_config(&nlb, "  lifecycle {\n    create_before_destroy = true\n  }"),
    );
    ws.init();
    ws.apply();
    let id = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    let out = ws.run(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-replace=privatelink_endpoint_service.svc",
    ]);
    assert_ne!(out.code, 0, "{}", out.all());
    let text = terraform::flat(&out.all());
    assert!(
        text.contains(&format!(
            "{nlb} is already associated with another VPC endpoint service ({id})"
        )) && text.contains("backs no other endpoint service")
            && text.contains("network_load_balancer_arns"),
        "{text}"
    );
    assert_eq!(ws.outputs()["id"]["value"], id.as_str());
    assert_eq!(
        emu.fixture(&["service-exists", &id])["exists"],
        true,
        "the service state holds was deleted"
    );
    ws.assert_plan_empty();
    ws.destroy();
    assert_eq!(emu.fixture(&["service-exists", &id])["exists"], false);
}

/// The private DNS name is set, renamed and removed in place; the TXT record
/// to verify it follows, as AWS reports it, and goes with the name.
#[test]
fn a_private_dns_name_is_set_renamed_and_removed_in_place() {
    let emu = Emulator::start();
    let nlb = &nlb_arn(&emu, "dns-nlb");
    let ws = workspace(
        &emu,
        &service_config(nlb, "  private_dns_name = \"analytics.example.com\""),
    );
    let rewrite = |extra: &str| harness::rewrite(&emu, &ws, &service_config(nlb, extra));
    ws.init();
    ws.apply();
    ws.assert_plan_empty();
    let id = ws.outputs()["id"]["value"].as_str().unwrap().to_string();
    let in_aws = |expected: Option<&str>| {
        let dns = emu.fixture(&["service-dns", &id]);
        assert_eq!(dns["private_dns_name"].as_str(), expected, "{dns}");
        let attrs = ws.resource_values("privatelink_endpoint_service");
        assert_eq!(attrs["private_dns_name"].as_str(), expected, "{attrs}");
        let (held, record) = (
            &attrs["private_dns_name_configuration"],
            &dns["private_dns_name_configuration"],
        );
        if expected.is_none() {
            assert!(record.is_null() && held.is_null(), "{dns}\n{attrs}");
            return;
        }
        for (ours, theirs) in [
            ("name", "Name"),
            ("type", "Type"),
            ("value", "Value"),
            ("state", "State"),
        ] {
            assert!(record[theirs].is_string(), "{dns}");
            assert_eq!(held[ours], record[theirs], "{ours}: {attrs}");
        }
    };
    in_aws(Some("analytics.example.com"));

    rewrite("  private_dns_name = \"warehouse.example.com\"");
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    ws.assert_plan_empty();
    in_aws(Some("warehouse.example.com"));

    // Without the argument the name is removed from the service, not left
    // behind to show as drift on the next plan.
    rewrite("");
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    ws.assert_plan_empty();
    in_aws(None);
    assert_eq!(
        ws.resource_values("privatelink_endpoint_service")["id"],
        id.as_str(),
        "updated in place throughout"
    );

    ws.destroy();
    assert_eq!(emu.fixture(&["service-exists", &id])["exists"], false);
}
