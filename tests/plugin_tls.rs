//! The plugin layer end to end: the built binary, started the way Terraform
//! starts it, reached over its unix socket with AutoMTLS.

#[path = "support/plugin_client.rs"]
mod plugin_client;

use std::io::{BufRead as _, Read as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plugin_client::{terraform_like_client_cert, ClientIdentity, Launch, Plugin};
use privatelink::proto::plugin::grpc_controller_client::GrpcControllerClient;
use privatelink::proto::plugin::Empty;
use privatelink::proto::tfplugin5::provider_client::ProviderClient;
use privatelink::proto::tfplugin5::{
    attribute_path, call_function, get_functions, get_metadata, get_provider_schema,
    validate_data_source_config, AttributePath, DynamicValue,
};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-privatelink"))
}

fn start(client: &ClientIdentity) -> Plugin {
    Launch::new(bin(), Some(client))
        .spawn()
        .expect("provider starts")
}

/// A started provider and its mutual-TLS channel; the process lives as long
/// as the `Plugin`.
async fn connected(client: &ClientIdentity) -> (Plugin, Channel) {
    let plugin = start(client);
    let channel = plugin.tls_channel(Some(client)).await.expect("TLS connect");
    (plugin, channel)
}

async fn get_schema(channel: Channel) -> Result<get_provider_schema::Response, tonic::Status> {
    ProviderClient::new(channel)
        .get_schema(get_provider_schema::Request {})
        .await
        .map(tonic::Response::into_inner)
}

async fn shutdown(channel: Channel) {
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown RPC answers");
}

async fn wait_exit(plugin: &mut Plugin, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = plugin.child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A client presenting `client` (or nothing) gets no answer from the server:
/// the TLS handshake or the first RPC fails.
async fn refused(plugin: &Plugin, client: Option<&ClientIdentity>) -> bool {
    match plugin.tls_channel(client).await {
        Err(_) => true,
        Ok(channel) => get_schema(channel).await.is_err(),
    }
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn handshake_line_names_a_private_unix_socket_and_the_server_cert() {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    let client = terraform_like_client_cert();
    let mut plugin = start(&client);
    let hs = plugin.handshake.clone();
    assert_eq!(hs.core_version, 1, "{}", plugin.line);
    assert_eq!(hs.protocol_version, 5);
    assert_eq!(hs.network, "unix");
    assert_eq!(hs.protocol, "grpc");
    assert!(!plugin.line.trim_end().ends_with('='), "no base64 padding");
    let cert = hs
        .server_cert_der
        .expect("AutoMTLS puts the server cert in the line");
    assert!(!cert.is_empty());
    let meta = std::fs::metadata(&hs.address).expect("socket exists");
    assert!(meta.file_type().is_socket());
    let dir = hs.address.parent().unwrap();
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "socket directory is private");

    // SIGTERM stops it and the directory goes with it.
    kill("-TERM", plugin.pid());
    let status = plugin
        .wait_exit(Duration::from_secs(2))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "socket directory removed on exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automtls_accepts_only_the_pinned_client_cert() {
    let client = terraform_like_client_cert();
    let mut plugin = start(&client);

    let good = plugin
        .tls_channel(Some(&client))
        .await
        .expect("TLS connect");
    let schema = get_schema(good).await.expect("GetSchema over mutual TLS");
    let provider = schema.provider.expect("non-null provider schema");
    assert!(provider.block.is_some());
    assert!(schema.diagnostics.is_empty());

    // Another P-521 certificate with the same names: refused.
    let stranger = terraform_like_client_cert();
    assert!(
        refused(&plugin, Some(&stranger)).await,
        "foreign cert must be refused"
    );
    // No certificate at all: refused.
    assert!(
        refused(&plugin, None).await,
        "client without cert must be refused"
    );
    // The refusals did not hurt the server.
    let again = plugin
        .tls_channel(Some(&client))
        .await
        .expect("TLS connect");
    get_schema(again.clone()).await.expect("still serving");

    // A plaintext client speaking HTTP/2 straight away is refused too.
    let plain = plugin_client::plain_unix_channel(&plugin.handshake.address).await;
    if let Ok(ch) = plain {
        assert!(get_schema(ch).await.is_err(), "plaintext must be refused");
    }
    get_schema(again.clone())
        .await
        .expect("still serving after plaintext");

    shutdown(again).await;
    let status = wait_exit(&mut plugin, Duration::from_secs(1)).await;
    assert_eq!(status.map(|s| s.code()), Some(Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_plugin_serving() {
    let client = terraform_like_client_cert();
    let (_plugin, channel) = connected(&client).await;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(answer.status(), ServingStatus::Serving);
}

/// Terraform skips GetProviderSchema in the provider processes it starts
/// after the first when the provider says the schema is optional; such a
/// process must answer its first RPC with no GetProviderSchema before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_without_get_schema_first_and_says_so() {
    let client = terraform_like_client_cert();
    let (_plugin, channel) = connected(&client).await;
    let mut provider = ProviderClient::new(channel.clone());
    let metadata = provider
        .get_metadata(get_metadata::Request {})
        .await
        .expect("GetMetadata")
        .into_inner();
    assert!(
        metadata
            .server_capabilities
            .as_ref()
            .is_some_and(|c| c.get_provider_schema_optional && c.plan_destroy),
        "{:?}",
        metadata.server_capabilities
    );
    assert!(metadata
        .data_sources
        .iter()
        .any(|d| d.type_name == "privatelink_vendor"));
    // A wrong vendor name gets its diagnostic on the attribute at fault.
    // The attributes come from another process, as Terraform's cache does.
    let (_other, other_channel) = connected(&client).await;
    let known = get_schema(other_channel).await.expect("GetSchema");
    let block = known.data_source_schemas["privatelink_vendor"]
        .block
        .clone()
        .expect("block");
    let config = rmpv::Value::Map(
        block
            .attributes
            .iter()
            .map(|a| {
                let value = match a.name.as_str() {
                    "name" => rmpv::Value::from("no-such-vendor"),
                    _ => rmpv::Value::Nil,
                };
                (rmpv::Value::from(a.name.as_str()), value)
            })
            .collect(),
    );
    let mut msgpack = Vec::new();
    rmpv::encode::write_value(&mut msgpack, &config).expect("encode");
    let answer = provider
        .validate_data_source_config(validate_data_source_config::Request {
            type_name: "privatelink_vendor".into(),
            config: Some(DynamicValue {
                msgpack,
                json: Vec::new(),
            }),
        })
        .await
        .expect("ValidateDataSourceConfig")
        .into_inner();
    let [diagnostic] = answer.diagnostics.as_slice() else {
        panic!("one diagnostic expected: {:?}", answer.diagnostics);
    };
    assert_eq!(diagnostic.summary, "Invalid name");
    let on_name = AttributePath {
        steps: vec![attribute_path::Step {
            selector: Some(attribute_path::step::Selector::AttributeName("name".into())),
        }],
    };
    assert_eq!(diagnostic.attribute, Some(on_name), "{diagnostic:?}");
    let schema = get_schema(channel).await.expect("GetSchema");
    assert_eq!(schema.server_capabilities, metadata.server_capabilities);
}

/// OpenTofu asks GetFunctions when a configuration calls a function the
/// schema does not list: an empty list, and a call names the function,
/// rather than "Unimplemented".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_functions_is_an_answer_not_an_unimplemented_method() {
    let client = terraform_like_client_cert();
    let (_plugin, channel) = connected(&client).await;
    let mut provider = ProviderClient::new(channel);
    let functions = provider
        .get_functions(get_functions::Request {})
        .await
        .expect("GetFunctions")
        .into_inner();
    assert!(functions.functions.is_empty() && functions.diagnostics.is_empty());
    let called = provider
        .call_function(call_function::Request {
            name: "cidr_of".into(),
            arguments: Vec::new(),
        })
        .await
        .expect("CallFunction")
        .into_inner();
    assert!(called.result.is_none());
    let error = called.error.expect("a function error");
    assert_eq!(error.text, "This provider has no function \"cidr_of\".");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_exits_with_status_0_within_a_second() {
    let client = terraform_like_client_cert();
    let mut plugin = start(&client);
    let channel = plugin
        .tls_channel(Some(&client))
        .await
        .expect("TLS connect");
    get_schema(channel.clone()).await.expect("GetSchema");
    let asked = Instant::now();
    shutdown(channel).await;
    let status = wait_exit(&mut plugin, Duration::from_secs(1))
        .await
        .expect("exits within a second of Shutdown");
    assert_eq!(status.code(), Some(0));
    eprintln!("exited {:?} after Shutdown", asked.elapsed());
    assert!(!plugin.handshake.address.exists(), "socket removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_service_answers_unimplemented() {
    let client = terraform_like_client_cert();
    let (_plugin, channel) = connected(&client).await;
    let err = privatelink::proto::plugin::grpc_stdio_client::GrpcStdioClient::new(channel)
        .stream_stdio(())
        .await
        .expect_err("StreamStdio is not offered");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_is_ignored() {
    let client = terraform_like_client_cert();
    let mut plugin = start(&client);
    kill("-INT", plugin.pid());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "SIGINT must not stop the plugin"
    );
    let channel = plugin
        .tls_channel(Some(&client))
        .await
        .expect("TLS connect");
    get_schema(channel)
        .await
        .expect("still serving after SIGINT");
}

#[test]
fn without_the_cookie_it_explains_and_exits_1() {
    let out = Command::new(bin())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("plugin for Terraform"), "{stderr}");
    assert!(stderr.contains("not meant to be run directly"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");

    let out = Command::new(bin())
        .env("TF_PLUGIN_MAGIC_COOKIE", "wrong")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn protocol_6_alone_fails_clearly() {
    let client = terraform_like_client_cert();
    let mut launch = Launch::new(bin(), Some(&client));
    launch.protocol_versions = Some("6");
    let out = launch
        .command()
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no handshake line");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("PLUGIN_PROTOCOL_VERSIONS"), "{stderr}");
    assert!(stderr.contains("protocol version 5"), "{stderr}");
}

#[test]
fn protocol_list_in_any_order() {
    let client = terraform_like_client_cert();
    for offered in ["6,5", "5,6", "4,5,6"] {
        let mut launch = Launch::new(bin(), Some(&client));
        launch.protocol_versions = Some(offered);
        let plugin = launch.spawn().expect("starts");
        assert_eq!(plugin.handshake.protocol_version, 5, "{offered}");
    }
}

/// Runs a full session (GetSchema, Shutdown) with `env`; returns stderr.
async fn session_stderr(env: Vec<(&str, &str)>) -> String {
    let client = terraform_like_client_cert();
    let mut launch = Launch::new(bin(), Some(&client));
    launch.env = env;
    launch.stderr = Stdio::piped();
    let mut plugin = launch.spawn().expect("starts");
    // Drain stderr as it comes: trace logs can outgrow a pipe's buffer.
    let mut pipe = plugin.child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).map(|_| text)
    });
    let channel = plugin
        .tls_channel(Some(&client))
        .await
        .expect("TLS connect");
    get_schema(channel.clone()).await.expect("GetSchema");
    // A refused client makes a warning.
    assert!(refused(&plugin, None).await);
    shutdown(channel).await;
    let status = wait_exit(&mut plugin, Duration::from_secs(2))
        .await
        .expect("exits");
    assert!(status.success());
    reader.join().unwrap().expect("stderr is UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_with_tf_log_trace() {
    let stderr = session_stderr(vec![("TF_LOG", "trace")]).await;
    let ts =
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$").unwrap();
    let mut levels = std::collections::BTreeSet::new();
    for line in stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let level = v["@level"].as_str().expect("@level");
        assert!(
            ["trace", "debug", "info", "warn", "error"].contains(&level),
            "{line}"
        );
        levels.insert(level.to_owned());
        assert!(v["@message"].is_string(), "{line}");
        assert_eq!(v["@module"], "privatelink", "{line}");
        let stamp = v["@timestamp"].as_str().expect("@timestamp");
        assert!(ts.is_match(stamp), "bad timestamp {stamp}");
    }
    assert!(levels.contains("debug"), "{stderr}");
    assert!(
        levels.contains("warn"),
        "refused handshake is a warning: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_without_tf_log() {
    let stderr = session_stderr(vec![]).await;
    assert!(stderr.is_empty(), "{stderr}");
    let stderr = session_stderr(vec![("TF_LOG", "off")]).await;
    assert!(stderr.is_empty(), "{stderr}");
    // Not a level: TRACE, as Terraform reads it.
    let stderr = session_stderr(vec![("TF_LOG", "1")]).await;
    assert!(
        stderr.lines().any(|l| l.contains("\"@level\":\"trace\"")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tf_log_provider_wins_over_tf_log() {
    let stderr = session_stderr(vec![("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "error")]).await;
    assert!(stderr.is_empty(), "{stderr}");
    let stderr = session_stderr(vec![("TF_LOG", "error"), ("TF_LOG_PROVIDER", "warn")]).await;
    assert!(!stderr.is_empty());
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            ["warn", "error"].contains(&v["@level"].as_str().unwrap()),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_mode_prints_reattach_config_and_serves_plaintext() {
    // Both spellings, as Go providers take them.
    for flag in ["--debug", "-debug"] {
        let mut child = Command::new(bin())
            .arg(flag)
            .env_remove("TF_PLUGIN_MAGIC_COOKIE")
            .env_remove("PLUGIN_CLIENT_CERT")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut reattach = None;
        for _ in 0..20 {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(rest) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
                reattach = Some(rest.trim_end_matches('\'').to_owned());
                break;
            }
        }
        let reattach = reattach.expect("TF_REATTACH_PROVIDERS line");
        let v: serde_json::Value = serde_json::from_str(&reattach).expect("reattach is JSON");
        let p = &v["registry.terraform.io/privatelink/privatelink"];
        // OpenTofu's name for the same provider, for the same server.
        assert_eq!(v["registry.opentofu.org/privatelink/privatelink"], *p);
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 5);
        assert_eq!(p["Pid"], child.id());
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "unix");
        let socket = std::path::PathBuf::from(p["Addr"]["String"].as_str().unwrap());

        let channel = plugin_client::plain_unix_channel(&socket)
            .await
            .expect("plaintext connect");
        get_schema(channel).await.expect("GetSchema in debug mode");

        // Ctrl-C stops a debug server.
        kill("-INT", child.id());
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "debug server ignores SIGINT");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(status.success(), "{status:?}");
        assert!(!socket.exists());
    }
}
