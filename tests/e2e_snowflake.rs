//! End to end: Snowflake endpoint pinning through the real Terraform CLI
//! against both emulators (AWS for the endpoint and the federation token,
//! Snowflake for the SQL API). Each test checks what Terraform prints and
//! what the emulators hold afterwards.

#[path = "support/aws.rs"]
mod aws;
#[path = "support/snowflake.rs"]
mod snowflake;
#[path = "support/terraform.rs"]
mod terraform;

use aws::Emulator;
use serde_json::{json, Value};
use snowflake::{aws_fixture, key_pair, KeyPair, Snowflake, User};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use terraform::{flat, Workspace};

const HEADER: &str = "terraform {\n  required_providers {\n    privatelink = { source = \"privatelink/privatelink\" }\n  }\n}\n";
const PAT1: &str = "pat-e2e-account-one";
const PAT2: &str = "pat-e2e-account-two";
const AWS_ACCOUNT: &str = "123456789012";
const PIN: &str = "privatelink_snowflake_endpoint_pin";

/// Both emulators, two Snowflake accounts (MYORG-ACCT1 / AB12345 and
/// MYORG-ACCT2 / CD67890) whose TERRAFORM users hold `key1` / `key2` and a
/// PAT each, both served by one Snowflake endpoint service in the AWS
/// emulator (as accounts of one deployment are).
struct World {
    aws: Emulator,
    sf: Snowflake,
    key1: KeyPair,
    key2: KeyPair,
    /// Snowflake's endpoint service name (`com.amazonaws.vpce...`).
    service_name: String,
}

fn world(encrypted_key1: bool) -> World {
    let aws = Emulator::start();
    let sf = Snowflake::start();
    let key1 = key_pair(encrypted_key1.then_some("correct horse battery staple"));
    let key2 = key_pair(None);
    let service = aws_fixture(&aws.url, &["snowflake-service"]);
    let text = |field: &str| service[field].as_str().expect(field).to_string();
    for (account, locator, key, pat) in [
        ("MYORG-ACCT1", "AB12345", &key1, PAT1),
        ("MYORG-ACCT2", "CD67890", &key2, PAT2),
    ] {
        sf.add_account(
            account,
            locator,
            &text("service_id"),
            &[User {
                name: "TERRAFORM",
                public_pem: Some(&key.public_pem),
                roles: &["ACCOUNTADMIN", "PUBLIC"],
                tokens: &[pat],
            }],
        );
    }
    World {
        aws,
        sf,
        key1,
        key2,
        service_name: text("service_name"),
    }
}

impl World {
    /// GetFederationToken calls served since the log was last cleared.
    fn federation_tokens(&self) -> usize {
        self.aws
            .requests()
            .iter()
            .filter(|(_, action, status)| action == "GetFederationToken" && *status == 200)
            .count()
    }

    /// A provider block: AWS through the emulator, plus `snowflake`.
    fn provider(&self, alias: Option<&str>, snowflake: &str, extra: &str) -> String {
        let alias = alias
            .map(|a| format!("  alias = {a:?}\n"))
            .unwrap_or_default();
        format!(
            "provider \"privatelink\" {{\n{alias}  region = \"us-east-1\"\n{extra}  endpoints {{\n    ec2 = {u:?}\n    sts = {u:?}\n  }}\n{snowflake}}}\n",
            u = self.aws.url
        )
    }

    /// Key-pair auth as TERRAFORM in account `n` (1 or 2), with the key
    /// file `key_file`; account and user in lower case, as users write them.
    /// Account 1's passphrase, when its key has one, is read from a file, as
    /// the docs advise for every secret.
    fn keypair(&self, n: u8, key_file: &str) -> String {
        let passphrase = if n == 1 && self.key1.passphrase.is_some() {
            "    private_key_passphrase = trimspace(file(\"${path.module}/passphrase.txt\"))\n"
        } else {
            ""
        };
        format!(
            "  snowflake {{\n    account     = \"myorg-acct{n}\"\n    user        = \"terraform\"\n    private_key = file(\"${{path.module}}/{key_file}\")\n{passphrase}    host        = {:?}\n  }}\n",
            self.sf.url
        )
    }

    /// Token auth as TERRAFORM in account `n`, the token read from its file.
    fn token_auth(&self, n: u8) -> String {
        format!(
            "  snowflake {{\n    account = \"myorg-acct{n}\"\n    user    = \"terraform\"\n    token   = trimspace(file(\"${{path.module}}/token{n}.txt\"))\n    host    = {:?}\n  }}\n",
            self.sf.url
        )
    }

    /// A workspace with this main.tf, both key files, the AWS emulator's
    /// keys, and a shared credentials file with a static-key profile `pin`.
    fn workspace(&self, body: &str) -> Workspace {
        let mut ws = Workspace::new(&format!("{HEADER}\n{body}"));
        ws.write("acct1.p8", &self.key1.private_pem);
        ws.write("acct2.p8", &self.key2.private_pem);
        if let Some(p) = &self.key1.passphrase {
            ws.write("passphrase.txt", &format!("{p}\n"));
        }
        ws.write("token1.txt", &format!("{PAT1}\n"));
        ws.write("token2.txt", &format!("{PAT2}\n"));
        ws.write("aws_config", "");
        ws.write(
            "aws_credentials",
            &format!(
                "[pin]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                aws::ACCESS_KEY,
                aws::SECRET_KEY
            ),
        );
        for (k, v) in self.aws.env() {
            ws.set_env(k, v);
        }
        ws.check_after_destroy(self.aws.documented_calls_check());
        let dir = ws.path().to_path_buf();
        ws.set_env(
            "AWS_CONFIG_FILE",
            &dir.join("aws_config").display().to_string(),
        );
        ws.set_env(
            "AWS_SHARED_CREDENTIALS_FILE",
            &dir.join("aws_credentials").display().to_string(),
        );
        ws
    }

    /// An interface endpoint in the default account to Snowflake's
    /// endpoint service.
    fn endpoint(&self, cidr: &str) -> String {
        self.endpoint_to(cidr, &self.service_name)
    }

    /// An interface endpoint in the default account to `service_name`.
    fn endpoint_to(&self, cidr: &str, service_name: &str) -> String {
        aws_fixture(
            &self.aws.url,
            &["endpoint", "--cidr", cidr, "--service", service_name],
        )["vpc_endpoint_id"]
            .as_str()
            .expect("vpce id")
            .to_string()
    }
}

fn pin_values(ws: &Workspace, name: &str) -> Value {
    let state = ws.state();
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == PIN && r["name"] == name))
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("no {PIN}.{name} in state: {state}"))
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`.
fn epoch(t: &str) -> i64 {
    assert!(
        t.len() == 20 && t.ends_with('Z'),
        "not an RFC 3339 UTC time: {t:?}"
    );
    let n = |a: usize, b: usize| t[a..b].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

fn pin_config(vpce: &str, extra: &str) -> String {
    format!("resource \"{PIN}\" \"pin\" {{\n  vpc_endpoint_id = {vpce:?}\n{extra}}}\n")
}

#[test]
fn pin_lifecycle_import_out_of_band_unregister_and_destroy() {
    let w = world(true);
    let vpce = w.endpoint("10.70.0.0/16");
    let body = format!(
        r#"{provider}
data "privatelink_snowflake_config" "sf" {{}}

{pin}
data "privatelink_snowflake_endpoint_registrations" "all" {{
  depends_on = [{PIN}.pin]
}}

output "config" {{
  value = data.privatelink_snowflake_config.sf
}}

output "registrations" {{
  value = data.privatelink_snowflake_endpoint_registrations.all
}}
"#,
        provider = w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin = pin_config(&vpce, "  delay_minutes   = 30\n"),
    );
    let ws = w.workspace(&body);
    ws.init();
    ws.apply();

    let pin = pin_values(&ws, "pin");
    assert_eq!(pin["id"], format!("AB12345:{vpce}"));
    assert_eq!(pin["aws_account_id"], AWS_ACCOUNT);
    assert_eq!(pin["delay_minutes"], 30);
    let regs = w.sf.registrations_of("MYORG-ACCT1");
    assert_eq!(regs.len(), 1, "{regs:?}");
    let reg = &regs[0];
    assert_eq!(reg["pinnedConsumerEndpointId"], vpce.as_str());
    assert_eq!(reg["consumerEndpointId"], AWS_ACCOUNT);
    assert_eq!(reg["delay_minutes"], 30);
    // registered_at is the statement's creation, whole seconds: within a
    // second of when Snowflake recorded the registration.
    let registered = epoch(pin["registered_at"].as_str().unwrap());
    assert!(
        (registered - epoch(reg["registered_at"].as_str().unwrap())).abs() <= 1,
        "{pin} {reg}"
    );
    assert_eq!(pin["enforced_at"], reg["enforcement_at"]);
    assert_eq!(
        pin["provider_service_endpoint"],
        reg["providerServiceEndpoint"]
    );
    let delay = epoch(pin["enforced_at"].as_str().unwrap()) - registered;
    assert!(
        (30 * 60 - 1..=30 * 60 + 1).contains(&delay),
        "the first registration is enforced after its own delay: {delay}s"
    );

    // The data sources report what Snowflake does.
    let out = ws.outputs();
    let cfg = &out["config"]["value"];
    let live = w.sf.privatelink_config(PAT1);
    assert_eq!(
        cfg["endpoint_service_name"],
        format!(
            "com.amazonaws.vpce.us-east-1.{}",
            reg["providerServiceEndpoint"].as_str().unwrap()
        )
    );
    assert_eq!(cfg["endpoint_service_name"], live["privatelink-vpce-id"]);
    assert_eq!(cfg["ocsp_url"], live["privatelink_ocsp-url"]);
    for (attribute, key) in [
        ("account_url", "privatelink-account-url"),
        ("account_name", "privatelink-account-name"),
        (
            "regionless_account_url",
            "regionless-privatelink-account-url",
        ),
        ("internal_stage", "privatelink-internal-stage"),
        ("regionless_ocsp_url", "regionless-privatelink-ocsp-url"),
        ("snowsight_url", "snowsight-privatelink-url"),
        (
            "regionless_snowsight_url",
            "regionless-snowsight-privatelink-url",
        ),
        ("account_principal", "privatelink-account-principal"),
        ("app_service_url", "app-service-privatelink-url"),
    ] {
        assert!(live[key].is_string(), "{key}: {live}");
        assert_eq!(cfg[attribute], live[key], "{attribute}");
    }
    // Lists arrive as JSON text inside the JSON answer.
    for (attribute, key) in [
        ("dashed_urls_for_duo", "privatelink-dashed-urls-for-duo"),
        ("connection_urls", "privatelink-connection-urls"),
        ("connection_ocsp_urls", "privatelink-connection-ocsp-urls"),
    ] {
        let listed: Value = serde_json::from_str(live[key].as_str().unwrap()).unwrap();
        assert_eq!(cfg[attribute], listed, "{attribute}");
    }
    assert_eq!(cfg["dashed_urls_for_duo"].as_array().unwrap().len(), 1);
    // raw: every key Snowflake answered, as text.
    let raw = cfg["raw"].as_object().unwrap();
    let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(raw), keys(live.as_object().unwrap()));
    for (key, value) in live.as_object().unwrap() {
        assert_eq!(raw[key], *value, "raw[{key}]");
    }
    let dns: Vec<&str> = cfg["dns_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in [
        &live["privatelink-account-url"],
        &live["privatelink_ocsp-url"],
    ] {
        assert!(dns.contains(&want.as_str().unwrap()), "{dns:?}");
    }
    let listed = &out["registrations"]["value"];
    assert_eq!(listed["id"], "AB12345");
    assert_eq!(listed["vpc_endpoint_ids"], json!([vpce]));
    assert_eq!(listed["registrations"][0]["aws_account_id"], AWS_ACCOUNT);

    ws.assert_plan_empty();

    // A new delay on a registered pin is recorded in place, with a warning:
    // registering again would unpin the endpoint and restart enforcement.
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}\n{}",
            body.replace("delay_minutes   = 30", "delay_minutes   = 90")
        ),
    );
    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    let text = flat(&plan.all());
    assert!(
        text.contains("Warning: The new delay changes nothing in Snowflake")
            && text.contains("delay_minutes = 90")
            && !text.contains("must be replaced"),
        "{text}"
    );
    ws.apply();
    ws.assert_plan_empty();
    let kept = pin_values(&ws, "pin");
    assert_eq!(kept["delay_minutes"], 90);
    for k in ["id", "registered_at", "enforced_at"] {
        assert_eq!(kept[k], pin[k], "{k} changed with the delay");
    }
    assert_eq!(
        w.sf.registrations_of("MYORG-ACCT1"),
        regs,
        "Snowflake was called"
    );
    ws.write("main.tf", &format!("{HEADER}\n{body}"));
    ws.apply();

    // Import the same pin elsewhere: what Snowflake reports matches; what
    // only the registering call knew is null, and the configured delay is
    // recorded in place, never by replacing the pin.
    let other = w.workspace(&body);
    other.init();
    other.ok(&[
        "import",
        "-no-color",
        "-input=false",
        &format!("{PIN}.pin"),
        &vpce,
    ]);
    let imported = pin_values(&other, "pin");
    for k in [
        "id",
        "vpc_endpoint_id",
        "aws_account_id",
        "provider_service_endpoint",
    ] {
        assert_eq!(imported[k], pin[k], "imported {k} differs");
    }
    for k in ["registered_at", "enforced_at", "delay_minutes"] {
        assert!(imported[k].is_null(), "imported {k}: {}", imported[k]);
    }
    let plan = other.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("delay_minutes"), "{}", plan.stdout);
    let text = flat(&plan.all());
    assert!(
        text.contains("Warning: The new delay changes nothing in Snowflake")
            && text.contains("enforcement stays as it was registered"),
        "{text}"
    );
    other.ok(&["state", "rm", "-no-color", &format!("{PIN}.pin")]);
    let wrong = other.run(&[
        "import",
        "-no-color",
        "-input=false",
        &format!("{PIN}.pin"),
        &format!("CD67890:{vpce}"),
    ]);
    assert_ne!(wrong.code, 0);
    assert!(
        flat(&wrong.all()).contains("names another Snowflake account"),
        "{}",
        wrong.all()
    );
    let empty = other.run(&[
        "import",
        "-no-color",
        "-input=false",
        &format!("{PIN}.pin"),
        &format!(":{vpce}"),
    ]);
    assert_ne!(empty.code, 0);
    assert!(
        flat(&empty.all()).contains("empty account locator"),
        "{}",
        empty.all()
    );
    // The account as the provider block names it does as well as its
    // locator; the ID is still the locator's.
    other.ok(&[
        "import",
        "-no-color",
        "-input=false",
        &format!("{PIN}.pin"),
        &format!("myorg-acct1:{vpce}"),
    ]);
    assert_eq!(pin_values(&other, "pin")["id"], pin["id"]);

    // Unregistered out of band: the next plan re-creates the pin.
    w.sf.unregister(PAT1, &vpce, AWS_ACCOUNT);
    assert!(w.sf.registrations_of("MYORG-ACCT1").is_empty());
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    ws.apply();
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    ws.assert_plan_empty();

    ws.destroy();
    assert!(w.sf.registrations_of("MYORG-ACCT1").is_empty());
    let unregisters = w.sf.requests_of("UNREGISTER_PRIVATELINK_ENDPOINT");
    assert_eq!(
        unregisters.len(),
        2,
        "out of band, then destroy: {unregisters:?}"
    );
    assert_eq!(unregisters[1]["account"], "MYORG-ACCT1");
    assert_eq!(unregisters[1]["status"], 200);
}

#[test]
fn one_endpoint_pinned_in_two_accounts_inherits_the_first_enforcement_time() {
    let w = world(false);
    let vpce = w.endpoint("10.72.0.0/16");
    let body = format!(
        r#"{p1}
{p2}
resource "{PIN}" "first" {{
  provider        = privatelink.acct1
  vpc_endpoint_id = "{vpce}"
  delay_minutes   = 60
}}

# Pinned second, with no delay of its own: enforcement still waits for the
# first account's registration plus its 60 minutes.
resource "{PIN}" "second" {{
  provider        = privatelink.acct2
  vpc_endpoint_id = "{vpce}"
  delay_minutes   = 0
  depends_on      = [{PIN}.first]
}}
"#,
        p1 = w.provider(Some("acct1"), &w.keypair(1, "acct1.p8"), ""),
        p2 = w.provider(Some("acct2"), &w.token_auth(2), ""),
    );
    let ws = w.workspace(&body);
    ws.init();
    ws.apply();
    let first = pin_values(&ws, "first");
    let second = pin_values(&ws, "second");
    assert_eq!(first["id"], format!("AB12345:{vpce}"));
    assert_eq!(second["id"], format!("CD67890:{vpce}"));
    let enforced = first["enforced_at"].as_str().unwrap();
    let delay = epoch(enforced) - epoch(first["registered_at"].as_str().unwrap());
    assert!((3599..=3601).contains(&delay), "{first}");
    assert_eq!(second["enforced_at"], enforced, "the second pin inherits");
    assert!(
        epoch(second["registered_at"].as_str().unwrap()) < epoch(enforced),
        "registered before enforcement: {second}"
    );
    let a = w.sf.registrations_of("MYORG-ACCT1");
    let b = w.sf.registrations_of("MYORG-ACCT2");
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0]["enforcement_at"], enforced);
    assert_eq!(b[0]["enforcement_at"], enforced);
    assert_eq!(b[0]["delay_minutes"], 0);
    assert_eq!(b[0]["endpoint_first_account"], "MYORG-ACCT1");
    // The second account was reached with its token, not a key.
    assert!(w
        .sf
        .requests_of("REGISTER_PRIVATELINK_ENDPOINT")
        .iter()
        .any(|r| r["account"] == "MYORG-ACCT2" && r["status"] == 200));

    ws.assert_plan_empty();
    ws.destroy();
    assert!(
        w.sf.registrations().is_empty(),
        "{:?}",
        w.sf.registrations()
    );
}

#[test]
fn pins_made_one_after_another_share_one_minted_token() {
    let w = world(false);
    let (a, b) = (w.endpoint("10.73.0.0/16"), w.endpoint("10.74.0.0/16"));
    let body = format!(
        r#"{provider}
resource "{PIN}" "a" {{
  vpc_endpoint_id = "{a}"
}}

resource "{PIN}" "b" {{
  vpc_endpoint_id = "{b}"
  depends_on      = [{PIN}.a]
}}
"#,
        provider = w.provider(None, &w.keypair(1, "acct1.p8"), ""),
    );
    let ws = w.workspace(&body);
    ws.init();
    w.aws.clear_requests();
    ws.apply();
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 2);
    // The second pin registers after the first is done, with the token
    // minted for it: one STS call per command, not one per pin.
    assert_eq!(w.federation_tokens(), 1, "{:?}", w.aws.requests());
    w.aws.clear_requests();
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
    assert_eq!(w.federation_tokens(), 1, "{:?}", w.aws.requests());
}

/// `-replace` (or a taint) of a pin under create_before_destroy: the new
/// instance adopts the registration, so destroying the deposed one leaves
/// the endpoint pinned, and the next plan is empty.
#[test]
fn a_create_before_destroy_replacement_of_a_pin_keeps_it_registered() {
    let w = world(false);
    let vpce = w.endpoint("10.75.0.0/16");
    let body = format!(
        "{}\n{}",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin_config(
            &vpce,
            "  lifecycle {\n    create_before_destroy = true\n  }\n"
        )
    );
    let ws = w.workspace(&body);
    ws.init();
    ws.apply();
    let address = format!("{PIN}.pin");
    for how in ["-replace", "taint"] {
        w.sf.clear_requests();
        ws.replace_by(how, &address);
        assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1, "{how}");
        assert!(
            w.sf.requests_of("UNREGISTER_PRIVATELINK_ENDPOINT")
                .is_empty(),
            "{how}: {:?}",
            w.sf.requests()
        );
        ws.assert_plan_empty();
    }
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
}

#[test]
fn bad_delay_and_endpoint_id_fail_at_plan_time_before_any_call() {
    let w = world(false);
    let body = format!(
        "{}\n{}",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin_config("vpc-0123456789abcdef0", "  delay_minutes   = 1441\n")
    );
    let ws = w.workspace(&body);
    ws.init();
    w.aws.clear_requests();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Invalid vpc_endpoint_id"), "{err}");
    assert!(err.contains("a VPC endpoint ID such as"), "{err}");
    assert!(err.contains("Invalid delay_minutes"), "{err}");
    assert!(err.contains("1441 is out of range"), "{err}");
    assert!(
        err.contains("delay_minutes = 1441"),
        "not on the attribute:\n{err}"
    );
    assert!(w.sf.requests().is_empty(), "{:?}", w.sf.requests());
    assert!(w.aws.requests().is_empty(), "{:?}", w.aws.requests());

    // Without a snowflake block the data sources say what is missing.
    let ws = w.workspace(&format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n",
        w.provider(None, "", "")
    ));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    assert!(
        flat(&out.all()).contains("No Snowflake account configured"),
        "{}",
        out.all()
    );
    // And so does a pin's plan, not only its apply: a saved plan or a CI
    // gate stops on it.
    let ws = w.workspace(&format!(
        "{}\n{}",
        w.provider(None, "", ""),
        pin_config("vpce-0123456789abcdef0", "")
    ));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("Error: No Snowflake account configured")
            && err.contains(&format!("with {PIN}.pin")),
        "{err}"
    );
}

/// A wrong passphrase is named on the provider block's passphrase at
/// Configure, before any call, whatever resource would first need the key.
#[test]
fn a_wrong_passphrase_is_named_on_the_provider_block() {
    let w = world(true);
    let ws = w.workspace(&format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n",
        w.provider(None, &w.keypair(1, "acct1.p8"), "")
    ));
    ws.write("passphrase.txt", "not the passphrase\n");
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("Error: Invalid Snowflake private key"),
        "{err}"
    );
    assert!(err.contains("check private_key_passphrase"), "{err}");
    assert!(
        err.contains("in provider \"privatelink\""),
        "not on the provider block: {err}"
    );
    assert!(
        err.contains("private_key_passphrase = trimspace("),
        "not on the attribute: {err}"
    );
    assert!(!err.contains("not the passphrase"), "{err}");
    assert!(w.sf.requests().is_empty(), "{:?}", w.sf.requests());
}

#[test]
fn endpoints_that_cannot_be_pinned_are_refused_before_registering() {
    let w = world(false);
    let provider = w.provider(None, &w.keypair(1, "acct1.p8"), "");
    let ws = w.workspace(&format!(
        "{provider}\n{}",
        pin_config("vpce-0123456789abcdef0", "")
    ));
    ws.init();
    // Applies `pin`, which must fail before Snowflake registers anything;
    // answers the error text.
    let refused = |pin: String| {
        ws.write("main.tf", &format!("{HEADER}\n{provider}\n{pin}"));
        let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
        assert_ne!(out.code, 0);
        assert!(w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT").is_empty());
        assert!(w.sf.registrations().is_empty());
        // Refused at plan, nothing was applied and there may be no state.
        let listed = ws.run(&["state", "list", "-no-color"]);
        assert!(!listed.stdout.contains(PIN), "{}", listed.stdout);
        flat(&out.all())
    };

    let err = refused(pin_config("vpce-0123456789abcdef0", ""));
    assert!(err.contains("VPC endpoint not found"), "{err}");
    assert!(
        err.contains("vpce-0123456789abcdef0 does not exist in AWS account 123456789012"),
        "{err}"
    );
    // The endpoint's ID is known at plan, and so is the answer.
    let planned = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(planned.code, 0);
    assert!(
        flat(&planned.all()).contains("VPC endpoint not found"),
        "{}",
        planned.all()
    );

    // An endpoint account other than the minting credentials' is refused
    // on aws_account_id: Snowflake would reject the token.
    let vpce = w.endpoint("10.75.0.0/16");
    let err = refused(pin_config(&vpce, "  aws_account_id  = \"210987654321\"\n"));
    assert!(
        err.contains("The token would belong to another AWS account"),
        "{err}"
    );
    assert!(
        err.contains("aws_account_id = \"210987654321\""),
        "not on the attribute:\n{err}"
    );

    // An endpoint to another service than the account's carries no
    // Snowflake traffic: a pin on it would restrict nothing.
    let other = aws_fixture(&w.aws.url, &["snowflake-service"]);
    let other = other["service_name"].as_str().expect("service_name");
    let elsewhere = w.endpoint_to("10.79.0.0/16", other);
    let err = refused(pin_config(&elsewhere, ""));
    assert!(
        err.contains("The endpoint does not connect to Snowflake"),
        "{err}"
    );
    let planned = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(planned.code, 0, "refused at plan: {}", planned.all());
    assert!(
        flat(&planned.all()).contains("The endpoint does not connect to Snowflake"),
        "{}",
        planned.all()
    );
    assert!(
        err.contains(&format!(
            "{elsewhere} is an endpoint to {other}, but Snowflake account AB12345 is served by {}",
            w.service_name
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("vpc_endpoint_id = \"{elsewhere}\"")),
        "not on the attribute:\n{err}"
    );
}

/// A federation_profile in another account than the provider's, for an
/// endpoint not known until apply: the plan warns (an endpoint this
/// provider makes would be refused), and an endpoint in the profile's
/// account is pinned all the same.
#[test]
fn a_profile_minting_in_another_account_is_warned_of_at_plan() {
    let w = world(false);
    // The endpoint is in the default account, the profile's; the provider
    // acts in another through assume_role.
    let vpce = w.endpoint("10.77.0.0/16");
    let provider = w.provider(
        None,
        &w.keypair(1, "acct1.p8"),
        "  federation_profile = \"pin\"\n  assume_role {\n    role_arn = \"arn:aws:iam::210987654321:role/terraform\"\n  }\n",
    );
    // timestamp() is unknown until apply, and so then is the endpoint ID.
    let pin = format!(
        "resource \"{PIN}\" \"pin\" {{\n  vpc_endpoint_id = \"{vpce}${{substr(timestamp(), 0, 0)}}\"\n}}\n"
    );
    let ws = w.workspace(&format!("{provider}\n{pin}"));
    ws.init();
    let plan = ws.ok(&["plan", "-no-color", "-input=false"]);
    let text = flat(&plan.all());
    assert!(
        text.contains("Warning: The token is minted in another AWS account than the provider's"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "federation_profile \"pin\" acts in account {AWS_ACCOUNT}"
        )) && text.contains("the provider's credentials act in 210987654321"),
        "{text}"
    );
    ws.apply();
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
}

#[test]
fn role_credentials_are_explained_and_a_federation_profile_fixes_it() {
    let w = world(false);
    let vpce = w.endpoint("10.74.0.0/16");
    let provider = |extra: &str| {
        w.provider(
            None,
            &w.keypair(1, "acct1.p8"),
            &format!(
                "  assume_role {{\n    role_arn = \"arn:aws:iam::{AWS_ACCOUNT}:role/terraform\"\n  }}\n{extra}"
            ),
        )
    };
    let ws = w.workspace(&format!("{}\n{}", provider(""), pin_config(&vpce, "")));
    ws.init();
    // Both triggers fail with one summary; `why` names whose credentials.
    let refused = |args: &[&str], why: &str| -> String {
        let out = ws.run(args);
        assert_ne!(out.code, 0);
        let err = flat(&out.all());
        assert!(
            err.contains("Role credentials cannot mint the Snowflake pin token"),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
        err
    };
    // The provider's assume_role is known to be a role session at plan.
    let err = refused(
        &["plan", "-no-color", "-input=false"],
        &format!(
            "The provider's AWS credentials (its assume_role) act as arn:aws:iam::{AWS_ACCOUNT}:role/terraform"
        ),
    );
    assert!(err.contains("Set federation_profile"), "{err}");
    assert!(w.sf.requests().is_empty(), "{:?}", w.sf.requests());

    // Temporary credentials that only show when loaded (here a profile
    // with a session token) are refused when minting, before registering.
    ws.write(
        "aws_credentials",
        &format!(
            "[pin]\naws_access_key_id = {k}\naws_secret_access_key = {s}\n\n[session]\naws_access_key_id = {k}\naws_secret_access_key = {s}\naws_session_token = a-session-token\n",
            k = aws::ACCESS_KEY,
            s = aws::SECRET_KEY
        ),
    );
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}\n{}\n{}",
            provider(""),
            pin_config(&vpce, "  federation_profile = \"session\"\n")
        ),
    );
    refused(
        &["apply", "-no-color", "-input=false", "-auto-approve"],
        "The credentials of profile \"session\" act as",
    );
    assert!(w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT").is_empty());

    // A profile with the IAM user's static keys mints the token.
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}\n{}\n{}",
            provider(""),
            pin_config(&vpce, "  federation_profile = \"pin\"\n")
        ),
    );
    ws.apply();
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    ws.assert_plan_empty();

    // The same profile set on the provider instead: recorded in place.
    ws.write(
        "main.tf",
        &format!(
            "{HEADER}\n{}\n{}",
            provider("  federation_profile = \"pin\"\n"),
            pin_config(&vpce, "")
        ),
    );
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
    assert_eq!(
        w.sf.requests_of("UNREGISTER_PRIVATELINK_ENDPOINT")
            .last()
            .map(|r| r["status"].clone()),
        Some(json!(200))
    );
}

#[test]
fn a_wrong_private_key_gets_snowflakes_auth_error_without_the_key() {
    let w = world(false);
    // Account 1 with account 2's key: Snowflake refuses the JWT.
    let body = format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n",
        w.provider(None, &w.keypair(1, "acct2.p8"), "")
    );
    let ws = w.workspace(&body);
    ws.init();
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Snowflake authentication failed"), "{err}");
    assert!(err.contains("390144"), "{err}");
    assert!(err.contains("JWT token is invalid"), "{err}");
    assert!(err.contains("MYORG-ACCT1.TERRAFORM"), "{err}");
    for line in w.key2.body_lines().iter().chain(w.key1.body_lines().iter()) {
        assert!(
            !err.contains(line.as_str()),
            "the key leaked into the error:\n{err}"
        );
    }
    let refused = w.sf.requests();
    assert!(refused.iter().any(|r| r["status"] == 401), "{refused:?}");
    assert!(refused.iter().all(|r| r["status"] == 401), "{refused:?}");
}

/// An HTTP proxy on loopback serving CONNECT tunnels, as corporate
/// proxies do for https; it records each tunnel's target and the
/// Proxy-Authorization it carried.
struct ConnectProxy {
    url: String,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
}

#[derive(Clone, Debug)]
struct Tunnel {
    target: String,
    authorization: Option<String>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&tunnels);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let _ = Self::tunnel(client, &seen);
                });
            }
        });
        ConnectProxy { url, tunnels }
    }

    fn tunnel(client: TcpStream, seen: &Mutex<Vec<Tunnel>>) -> std::io::Result<()> {
        let mut request = BufReader::new(client.try_clone()?);
        let mut line = String::new();
        request.read_line(&mut line)?;
        let mut words = line.split_whitespace();
        let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
            return (&client).write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        };
        let target = target.to_string();
        let mut authorization = None;
        loop {
            let mut header = String::new();
            if request.read_line(&mut header)? == 0 || header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("proxy-authorization") {
                    authorization = Some(value.trim().to_string());
                }
            }
        }
        seen.lock().unwrap().push(Tunnel {
            target: target.clone(),
            authorization,
        });
        let upstream = TcpStream::connect(&target)?;
        (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        let (mut from_host, mut to_client) = (upstream.try_clone()?, client.try_clone()?);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_host, &mut to_client);
            let _ = to_client.shutdown(Shutdown::Write);
        });
        let mut to_host = upstream;
        std::io::copy(&mut request, &mut to_host)?;
        to_host.shutdown(Shutdown::Write)
    }

    fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

#[test]
fn snowflake_calls_go_through_the_proxy_the_environment_names() {
    let w = world(false);
    let proxy = ConnectProxy::start();
    // Snowflake as `localhost` goes through the proxy; the AWS emulator, at
    // 127.0.0.1, is exempt, as an AWS VPC endpoint would be.
    let snowflake_host = w.sf.url.replace("127.0.0.1", "localhost");
    let tunnelled_to = snowflake_host.trim_start_matches("http://").to_string();
    let body = format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n\noutput \"account_url\" {{\n  value = data.privatelink_snowflake_config.sf.account_url\n}}\n",
        w.provider(
            None,
            &format!("  snowflake {{\n    account = \"myorg-acct1\"\n    user    = \"terraform\"\n    token   = trimspace(file(\"${{path.module}}/token1.txt\"))\n    host    = {snowflake_host:?}\n  }}\n"),
            ""
        )
    );
    // The proxy's password is a secret like any other: sent to the proxy,
    // never written anywhere.
    let password = format!("CanaryProxyPassword{}Kp4", std::process::id());
    let proxy_url = proxy
        .url
        .replacen("http://", &format!("http://platform:{password}@"), 1);
    let mut ws = w.workspace(&body);
    ws.set_env("HTTP_PROXY", &proxy_url);
    ws.set_env("NO_PROXY", "127.0.0.1");
    let log = ws.path().join("trace.log");
    ws.set_env("TF_LOG", "trace");
    ws.set_env("TF_LOG_PATH", &log.display().to_string());
    ws.init();
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("account_url = \""), "{}", out.stdout);
    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty(), "nothing went through the proxy");
    assert!(
        tunnels.iter().all(|t| t.target == tunnelled_to),
        "only Snowflake is tunnelled, AWS stays direct: {tunnels:?}"
    );
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("platform:{password}"))
    };
    assert!(
        tunnels
            .iter()
            .all(|t| t.authorization.as_deref() == Some(format!("Basic {basic}").as_str())),
        "the proxy URL's credentials go to the proxy: {tunnels:?}"
    );
    assert!(
        w.sf.requests().iter().any(|r| r["status"] == 200),
        "{:?}",
        w.sf.requests()
    );
    let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
    let trace = std::fs::read_to_string(&log).unwrap();
    for (place, text) in [
        ("output", out.all()),
        ("state", state),
        ("trace log", trace),
    ] {
        assert!(
            !text.contains(&password),
            "the proxy password reached the {place}"
        );
        assert!(
            !text.contains(&basic),
            "the proxy credentials reached the {place}"
        );
    }

    // NO_PROXY exempts Snowflake too: nothing more reaches the proxy.
    let before = tunnels.len();
    ws.set_env("NO_PROXY", "127.0.0.1,localhost");
    ws.ok(&["plan", "-no-color", "-input=false"]);
    assert_eq!(proxy.tunnels().len(), before, "{:?}", proxy.tunnels());
}

/// The register runs but its answer is lost, and the resubmission runs it
/// again (as Snowflake may for a run that had not finished), failing as
/// already registered: the registration there is this pin's, adopted.
#[test]
fn a_register_rerun_after_a_lost_answer_adopts_its_own_registration() {
    let w = world(false);
    let vpce = w.endpoint("10.79.0.0/16");
    let body = format!(
        "{}\n{}",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin_config(&vpce, "")
    );
    let ws = w.workspace(&body);
    ws.init();
    w.sf.fault(json!({
        "status": 503, "count": 1, "after": true, "forget": true,
        "kinds": ["REGISTER_PRIVATELINK_ENDPOINT"],
    }));
    let out = ws.apply();
    let statuses: Vec<i64> =
        w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT")
            .iter()
            .map(|r| r["status"].as_i64().unwrap())
            .collect();
    assert_eq!(statuses, vec![503, 422], "{}", out.all());
    assert!(
        flat(&out.all()).contains("Warning: Adopted an existing pin"),
        "{}",
        out.all()
    );
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    ws.assert_plan_empty();
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
}

#[test]
fn throttled_and_async_statements_converge_and_a_timeout_cancels() {
    let w = world(false);
    let vpce = w.endpoint("10.76.0.0/16");
    let body = format!(
        "{}\n{}",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin_config(&vpce, "  timeouts {\n    delete = \"3s\"\n  }\n")
    );
    let ws = w.workspace(&body);
    ws.init();
    // Register: two 429s, then 202 and two polls still running.
    w.sf.fault(json!({
        "status": 429, "count": 2, "retry_after": 1,
        "async_count": 1, "async_polls": 2,
        "kinds": ["REGISTER_PRIVATELINK_ENDPOINT"],
    }));
    ws.apply();
    let registers = w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT");
    let seen: Vec<(i64, bool, bool)> = registers
        .iter()
        .map(|r| {
            (
                r["status"].as_i64().unwrap(),
                r["retry"] == true,
                r["async"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(429, false, false), (429, true, false), (202, true, true)],
        "{registers:?}"
    );
    let handle = registers[2]["statement_handle"].as_str().unwrap();
    let polls: Vec<i64> =
        w.sf.requests_of("GET_STATEMENT_STATUS")
            .iter()
            .filter(|r| r["statement_handle"] == handle)
            .map(|r| r["status"].as_i64().unwrap())
            .collect();
    assert_eq!(polls, vec![202, 202, 200]);
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    ws.assert_plan_empty();

    // Unregister never finishes: after the delete timeout it is canceled,
    // and the pin stays (in Snowflake and in state).
    w.sf.fault(json!({
        "async_count": 1, "async_polls": 100000,
        "kinds": ["UNREGISTER_PRIVATELINK_ENDPOINT"],
    }));
    let out = ws.run(&["destroy", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains(&format!(
            "Timed out waiting for Snowflake to unregister {vpce}"
        )),
        "{err}"
    );
    assert!(err.contains("it was canceled"), "{err}");
    let unregister = w.sf.requests_of("UNREGISTER_PRIVATELINK_ENDPOINT");
    let handle = unregister[0]["statement_handle"].as_str().unwrap();
    assert!(w
        .sf
        .requests_of("CANCEL_STATEMENT")
        .iter()
        .any(|r| r["statement_handle"] == handle && r["status"] == 200));
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    assert!(ws.ok(&["state", "list", "-no-color"]).stdout.contains(PIN));

    w.sf.clear_faults();
    ws.destroy();
    assert!(w.sf.registrations().is_empty());
}

/// The same pin in a second configuration is adopted, not registered
/// twice, and the apply warns that the two now share it.
#[test]
fn a_pin_another_configuration_made_is_adopted_with_a_warning() {
    let w = world(false);
    let vpce = w.endpoint("10.78.0.0/16");
    let body = format!(
        "{}\n{}",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        pin_config(&vpce, "")
    );
    let first = w.workspace(&body);
    first.init();
    let out = first.apply();
    assert!(!out.all().contains("Warning"), "{}", out.all());
    let second = w.workspace(&body);
    second.init();
    let out = second.apply();
    let text = flat(&out.all());
    assert!(text.contains("Warning: Adopted an existing pin"), "{text}");
    assert!(
        text.contains(&format!("{vpce} was already pinned")),
        "{text}"
    );
    assert_eq!(w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT").len(), 1);
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    second.assert_plan_empty();
    second.destroy();
    assert!(w.sf.registrations().is_empty());
}

#[test]
fn snowflake_max_retries_bounds_resubmission_and_the_next_apply_converges() {
    let w = world(false);
    let vpce = w.endpoint("10.77.0.0/16");
    let snowflake = w
        .keypair(1, "acct1.p8")
        .replace("    host", "    max_retries = 1\n    host");
    let ws = w.workspace(&format!(
        "{}\n{}",
        w.provider(None, &snowflake, ""),
        pin_config(&vpce, "")
    ));
    ws.init();
    // Three 503s: one retry is not enough, so the register fails after two
    // submissions of the same request.
    w.sf.fault(json!({
        "status": 503, "count": 3, "retry_after": 0,
        "kinds": ["REGISTER_PRIVATELINK_ENDPOINT"],
    }));
    let out = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains(&format!("Snowflake failed to register {vpce}")),
        "{err}"
    );
    assert!(err.contains("HTTP 503"), "{err}");
    let registers = w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT");
    let seen: Vec<(i64, bool)> = registers
        .iter()
        .map(|r| (r["status"].as_i64().unwrap(), r["retry"] == true))
        .collect();
    assert_eq!(seen, vec![(503, false), (503, true)], "{registers:?}");
    assert!(w.sf.registrations_of("MYORG-ACCT1").is_empty());

    // The fault's last 503, then the retry lands: one registration.
    ws.apply();
    assert_eq!(w.sf.registrations_of("MYORG-ACCT1").len(), 1);
    assert_eq!(w.sf.requests_of("REGISTER_PRIVATELINK_ENDPOINT").len(), 4);
    ws.assert_plan_empty();
    ws.destroy();
    assert!(w.sf.registrations().is_empty());

    // With no retries, an unreachable host fails on the first refusal.
    // Port 1: below the ephemeral range, so no emulator of a parallel test
    // (bound to port 0) can be listening there.
    let closed = "http://127.0.0.1:1".to_string();
    let unreachable = w.keypair(1, "acct1.p8").replace(
        &format!("host        = {:?}", w.sf.url),
        &format!("max_retries = 0\n    host        = {closed:?}"),
    );
    assert!(unreachable.contains(&closed), "{unreachable}");
    let ws = w.workspace(&format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n",
        w.provider(None, &unreachable, "")
    ));
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(err.contains("Cannot reach Snowflake"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
}

/// A role that may not call the PrivateLink functions: Snowflake's error
/// and SQL state, the hint to use ACCOUNTADMIN, and the query ID Snowflake
/// gave the failed statement (what its support asks for).
#[test]
fn a_role_without_privileges_gets_snowflakes_error_with_its_query_id() {
    let w = world(false);
    let public = w
        .keypair(1, "acct1.p8")
        .replace("    host", "    role        = \"PUBLIC\"\n    host");
    let ws = w.workspace(&format!(
        "{}\ndata \"privatelink_snowflake_config\" \"sf\" {{}}\n",
        w.provider(None, &public, "")
    ));
    ws.init();
    w.sf.clear_requests();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    let refused: Vec<Value> =
        w.sf.requests()
            .into_iter()
            .filter(|r| r["status"] == 422)
            .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let handle = refused[0]["statement_handle"].as_str().unwrap();
    assert!(
        err.contains("Snowflake error 003001 (SQL state 42501): SQL access control error: Insufficient privileges"),
        "{err}"
    );
    assert!(err.contains(&format!("(query ID {handle})")), "{err}");
    assert!(err.contains("ACCOUNTADMIN role (account "), "{err}");
}

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn canary_secrets_never_reach_state_plan_output_or_trace_logs() {
    // Every Snowflake secret input in use: an encrypted key with its
    // passphrase for one account, a programmatic access token for the other.
    let w = world(true);
    let vpce = w.endpoint("10.78.0.0/16");
    // The helpers read both from files, as users keep secrets out of
    // their configuration: a literal would be the user's own text, which
    // `terraform show -json` prints back in the configuration section.
    let body = format!(
        "{}\n{}\n{}\nresource \"{PIN}\" \"by_token\" {{\n  provider        = privatelink.acct2\n  vpc_endpoint_id = {vpce:?}\n  delay_minutes   = 0\n}}\n",
        w.provider(None, &w.keypair(1, "acct1.p8"), ""),
        w.provider(Some("acct2"), &w.token_auth(2), ""),
        pin_config(&vpce, "  delay_minutes   = 0\n")
    );
    let passphrase = w.key1.passphrase.clone().expect("an encrypted key");
    let mut ws = w.workspace(&body);
    let log = ws.path().join("trace.log");
    ws.set_env("TF_LOG", "trace");
    ws.set_env("TF_LOG_PATH", &log.display().to_string());
    ws.init();
    let plan = ws.ok(&["plan", "-no-color", "-input=false", "-out=plan.out"]);
    let plan_json = ws.ok(&["show", "-no-color", "-json", "plan.out"]);
    let apply = ws.ok(&["apply", "-no-color", "-input=false", "plan.out"]);
    let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).expect("state");

    // The canary token is the one the provider minted and Snowflake got.
    let minted = aws_fixture(&w.aws.url, &["mint"]);
    let secret = minted["secret_access_key"].as_str().unwrap().to_string();
    let session = minted["session_token"].as_str().unwrap().to_string();
    for account in ["MYORG-ACCT1", "MYORG-ACCT2"] {
        let regs = w.sf.registrations_of(account);
        assert_eq!(regs.len(), 1, "{account}");
        assert_eq!(
            regs[0]["token_digests"],
            json!({
                "secret_access_key_sha256": sha256_hex(&secret),
                "session_token_sha256": sha256_hex(&session),
            })
        );
    }
    // The second account was reached with its token.
    assert!(w
        .sf
        .requests_of("REGISTER_PRIVATELINK_ENDPOINT")
        .iter()
        .any(|r| r["account"] == "MYORG-ACCT2" && r["status"] == 200));

    let refresh = ws.ok(&["plan", "-no-color", "-input=false", "-refresh-only"]);
    let destroy = ws.destroy();
    let backup = std::fs::read_to_string(ws.path().join("terraform.tfstate.backup"))
        .expect("the state backup destroy leaves");
    let trace = std::fs::read_to_string(&log).expect("trace log");
    // The logs are real: the provider logged its statements and the
    // minting call at trace level.
    assert!(
        trace.contains("submitting Snowflake statement"),
        "no provider logs captured"
    );
    assert!(
        trace.contains("minting a federation token"),
        "the minting is not in the log"
    );
    assert!(w.sf.registrations().is_empty());

    let mut canaries: Vec<(String, String)> = vec![
        ("SecretAccessKey".into(), secret),
        ("SessionToken".into(), session),
        ("private key".into(), w.key1.body_lines().concat()),
        ("private key passphrase".into(), passphrase),
        ("programmatic access token".into(), PAT2.into()),
    ];
    for (i, line) in w.key1.body_lines().into_iter().enumerate() {
        canaries.push((format!("private key line {i}"), line));
    }
    let places = [
        ("plan output", plan.all()),
        ("plan JSON", plan_json.stdout),
        ("apply output", apply.all()),
        ("refresh output", refresh.all()),
        ("destroy output", destroy.all()),
        ("state file", state),
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
    // Nor any bearer credential (JWT or token) the provider sent.
    assert!(
        !trace.contains("Bearer "),
        "a bearer token leaked into the trace log"
    );
}

/// The guide's module (examples/guides/) is what docs/guides shows: it must
/// stay valid against the provider's schemas.
#[test]
fn the_guide_module_validates() {
    let src = terraform::repo_root().join("examples/guides/snowflake-endpoint-pinning/main.tf");
    let key = key_pair(None);
    let mut ws = Workspace::new(&std::fs::read_to_string(src).expect("guide module"));
    // validate judges the configuration alone: with no Snowflake variable
    // at all (as in a CI lint job), and with a key path not there yet.
    ws.init();
    ws.ok(&["validate", "-no-color"]);
    ws.set_env("SNOWFLAKE_PRIVATE_KEY_PATH", "/nonexistent/key.p8");
    ws.ok(&["validate", "-no-color"]);
    // Configure then reads the environment and says what is wrong.
    let out = ws.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-var",
        "vpc_id=vpc-0123456789abcdef0",
        "-var",
        "subnet_ids=[\"subnet-0123456789abcdef0\"]",
    ]);
    assert_ne!(out.code, 0);
    let err = flat(&out.all());
    assert!(
        err.contains("Cannot read the Snowflake private key"),
        "{err}"
    );
    assert!(err.contains("/nonexistent/key.p8"), "{err}");
    ws.write("key.p8", &key.private_pem);
    let path = ws.path().join("key.p8").display().to_string();
    ws.set_env("SNOWFLAKE_PRIVATE_KEY_PATH", &path);
    ws.ok(&["validate", "-no-color"]);
}
