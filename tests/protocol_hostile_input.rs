//! Malformed protocol input sent straight to the provider's gRPC server, as
//! a broken or hostile client could: random msgpack, values of the wrong
//! type, missing and extra attributes, junk JSON state. Every call must come
//! back as an answer (error diagnostics where the input is wrong), never a
//! dropped connection, and the provider must still serve afterwards.

#[path = "support/plugin_client.rs"]
mod plugin_client;

use plugin_client::{terraform_like_client_cert, Launch};
use privatelink::proto::tfplugin5::provider_client::ProviderClient;
use privatelink::proto::tfplugin5::{
    apply_resource_change, diagnostic::Severity, get_provider_schema, import_resource_state,
    plan_resource_change, prepare_provider_config, read_data_source, read_resource,
    upgrade_resource_state, validate_data_source_config, validate_resource_type_config, Diagnostic,
    DynamicValue, RawState,
};
use tonic::transport::Channel;

/// A small deterministic generator: failures reproduce with the same seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % (max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn mp(bytes: Vec<u8>) -> Option<DynamicValue> {
    Some(DynamicValue {
        msgpack: bytes,
        json: Vec::new(),
    })
}

fn encode(v: &rmpv::Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

/// Inputs that are well-formed msgpack but wrong for every schema here, and
/// inputs that are not msgpack at all.
fn known_bad() -> Vec<(&'static str, Vec<u8>)> {
    use rmpv::Value as V;
    let s = |x: &str| V::String(x.into());
    vec![
        ("a string where an object belongs", encode(&s("hello"))),
        (
            "an array where an object belongs",
            encode(&V::Array(vec![V::from(1), V::from(2)])),
        ),
        (
            "an object with attributes of the wrong type",
            encode(&V::Map(vec![
                (s("service_name"), V::from(42)),
                (s("vpc_id"), V::Array(vec![])),
                (s("subnet_ids"), s("subnet-1")),
            ])),
        ),
        (
            "an object missing most attributes and with unknown ones",
            encode(&V::Map(vec![(s("not_an_attribute"), V::Boolean(true))])),
        ),
        (
            "a map key that is not a string",
            encode(&V::Map(vec![(V::from(1), V::Nil)])),
        ),
        // An array header claiming four billion elements, then nothing.
        (
            "a huge length with no data",
            vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            "a truncated string",
            vec![0xdb, 0x00, 0x00, 0x10, 0x00, b'a'],
        ),
        ("an unknown extension byte only", vec![0xd4]),
        ("a reserved byte", vec![0xc1]),
    ]
}

fn has_error(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error as i32)
}

async fn every_rpc(
    client: &mut ProviderClient<Channel>,
    value: Option<DynamicValue>,
    resource: &str,
    data_source: &str,
) -> Result<Vec<bool>, tonic::Status> {
    let mut errors = Vec::new();
    let r = client
        .prepare_provider_config(prepare_provider_config::Request {
            config: value.clone(),
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .validate_resource_type_config(validate_resource_type_config::Request {
            type_name: resource.into(),
            config: value.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .validate_data_source_config(validate_data_source_config::Request {
            type_name: data_source.into(),
            config: value.clone(),
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .plan_resource_change(plan_resource_change::Request {
            type_name: resource.into(),
            prior_state: value.clone(),
            proposed_new_state: value.clone(),
            config: value.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .apply_resource_change(apply_resource_change::Request {
            type_name: resource.into(),
            prior_state: value.clone(),
            planned_state: value.clone(),
            config: value.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .read_resource(read_resource::Request {
            type_name: resource.into(),
            current_state: value.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    let r = client
        .read_data_source(read_data_source::Request {
            type_name: data_source.into(),
            config: value.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    errors.push(has_error(&r.diagnostics));
    Ok(errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_answers_never_a_crash() {
    let client_id = terraform_like_client_cert();
    let mut plugin = Launch::new(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-privatelink")),
        Some(&client_id),
    )
    .spawn()
    .expect("provider starts");
    let channel = plugin.tls_channel(Some(&client_id)).await.expect("connect");
    let mut client = ProviderClient::new(channel.clone());
    let schema = client
        .get_schema(get_provider_schema::Request {})
        .await
        .expect("GetSchema")
        .into_inner();
    let resources: Vec<String> = schema.resource_schemas.keys().cloned().collect();
    let data_sources: Vec<String> = schema.data_source_schemas.keys().cloned().collect();
    // The loops below would check nothing over an empty schema.
    assert!(!resources.is_empty() && !data_sources.is_empty());

    // Wrong values: every RPC answers, each with an error diagnostic.
    for (what, bytes) in known_bad() {
        for (i, resource) in resources.iter().enumerate() {
            let data_source = &data_sources[i % data_sources.len()];
            let errors = every_rpc(&mut client, mp(bytes.clone()), resource, data_source)
                .await
                .unwrap_or_else(|e| panic!("{what} to {resource}: the call failed: {e}"));
            assert!(
                errors.iter().all(|e| *e),
                "{what} to {resource}/{data_source}: an RPC accepted it without an error ({errors:?})"
            );
        }
    }

    // Random bytes and unknown type names: an answer every time.
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    for round in 0..300 {
        let bytes = rng.bytes(64);
        let resource = if round % 10 == 0 {
            "privatelink_no_such_thing".to_string()
        } else {
            resources[round % resources.len()].clone()
        };
        let data_source = data_sources[round % data_sources.len()].clone();
        if let Err(e) = every_rpc(&mut client, mp(bytes.clone()), &resource, &data_source).await {
            panic!("round {round} ({bytes:02x?}) to {resource}: the call failed: {e}");
        }
    }

    // Junk JSON state to upgrade, and import with nonsense IDs before the
    // provider is configured.
    for (i, junk) in [
        &b"{"[..],
        b"[]",
        b"\"state\"",
        b"{\"id\": {\"nested\": [1, 2]}}",
        &[0xff, 0xfe],
    ]
    .iter()
    .enumerate()
    {
        let resource = &resources[i % resources.len()];
        let r = client
            .upgrade_resource_state(upgrade_resource_state::Request {
                type_name: resource.clone(),
                version: 0,
                raw_state: Some(RawState {
                    json: junk.to_vec(),
                    ..Default::default()
                }),
            })
            .await
            .expect("UpgradeResourceState answers")
            .into_inner();
        assert!(
            has_error(&r.diagnostics),
            "junk state {junk:?} upgraded for {resource}"
        );
        let r = client
            .import_resource_state(import_resource_state::Request {
                type_name: resource.clone(),
                id: String::from_utf8_lossy(junk).into_owned(),
                ..Default::default()
            })
            .await
            .expect("ImportResourceState answers")
            .into_inner();
        assert!(
            has_error(&r.diagnostics),
            "import of {junk:?} into {resource} succeeded"
        );
    }

    // Still serving, still the same process.
    client
        .get_schema(get_provider_schema::Request {})
        .await
        .expect("GetSchema after the hostile input");
    assert!(
        plugin.child.try_wait().expect("try_wait").is_none(),
        "the provider exited"
    );
    let _ = plugin.child.kill();
}
