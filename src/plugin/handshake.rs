//! go-plugin's start-up contract: the magic cookie, protocol negotiation and
//! the handshake line the host reads from our stdout.

use std::fmt;
use std::path::Path;

use base64::Engine as _;

/// Environment variable Terraform sets to prove it launched us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform puts in [`MAGIC_COOKIE_KEY`].
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Environment variable listing the plugin protocol versions the host speaks.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// go-plugin's own (core) protocol version: the first handshake field.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The one Terraform plugin protocol we speak.
pub const PROTOCOL_VERSION: u32 = 5;

/// Printed to stderr when someone runs the binary by hand.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin for Terraform; it is not meant to \
     be run directly. Use it through `terraform` (or run it with --debug to attach to it).";

/// Why the handshake cannot go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The magic cookie is missing or wrong: we were not started by Terraform.
    NotAPlugin,
    /// The host offered protocol versions, none of which we speak.
    UnsupportedProtocol {
        /// The host's list, verbatim.
        offered: String,
    },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::NotAPlugin => f.write_str(NOT_A_PLUGIN_MESSAGE),
            HandshakeError::UnsupportedProtocol { offered } => write!(
                f,
                "incompatible plugin protocol: Terraform offered {PROTOCOL_VERSIONS_KEY}={offered:?}, \
                 but this provider speaks only protocol version {PROTOCOL_VERSION}; \
                 use a Terraform release that supports protocol {PROTOCOL_VERSION} (0.12 or later)"
            ),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// True when `value` is the magic cookie.
pub fn cookie_matches(value: Option<&str>) -> bool {
    value == Some(MAGIC_COOKIE_VALUE)
}

/// Checks the magic cookie in the process environment.
pub fn check_magic_cookie() -> Result<(), HandshakeError> {
    let value = std::env::var(MAGIC_COOKIE_KEY).ok();
    if cookie_matches(value.as_deref()) {
        Ok(())
    } else {
        Err(HandshakeError::NotAPlugin)
    }
}

/// Checks the magic cookie; when it is wrong, prints [`NOT_A_PLUGIN_MESSAGE`]
/// to stderr and exits with status 1.
pub fn require_magic_cookie() {
    if let Err(e) = check_magic_cookie() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// Picks the protocol version from the host's `PLUGIN_PROTOCOL_VERSIONS`
/// value (a comma list in any order). Absent means the host predates
/// negotiation and we offer ours; present without 5 is an error. Entries that
/// are not numbers are ignored, as go-plugin does.
pub fn negotiate_protocol(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(list) = offered else {
        return Ok(PROTOCOL_VERSION);
    };
    let speaks_ours = list
        .split(',')
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .any(|v| v == PROTOCOL_VERSION);
    if speaks_ours {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol {
            offered: list.to_owned(),
        })
    }
}

/// [`negotiate_protocol`] on the process environment.
pub fn negotiate_protocol_from_env() -> Result<u32, HandshakeError> {
    let offered = std::env::var(PROTOCOL_VERSIONS_KEY).ok();
    negotiate_protocol(offered.as_deref())
}

/// The handshake line (without the newline):
/// `1|5|unix|<socket>|grpc|<base64 std no-pad of the server cert DER, or empty>`.
pub fn handshake_line(protocol: u32, socket: &Path, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{protocol}|unix|{}|grpc|{cert}",
        socket.display()
    )
}

/// The `TF_REATTACH_PROVIDERS` value that lets Terraform attach to a provider
/// started with `--debug`.
pub fn reattach_config(provider_addresses: &[&str], pid: u32, socket: &Path) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let entries: Vec<String> = provider_addresses
        .iter()
        .map(|address| {
            format!(
                r#"{}:{{"Protocol":"grpc","ProtocolVersion":{PROTOCOL_VERSION},"Pid":{pid},"Test":true,"Addr":{{"Network":"unix","String":{}}}}}"#,
                quote(address),
                quote(&socket.to_string_lossy()),
            )
        })
        .collect();
    format!("{{{}}}", entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie() {
        assert!(cookie_matches(Some(MAGIC_COOKIE_VALUE)));
        assert!(!cookie_matches(Some("nope")));
        assert!(!cookie_matches(Some("")));
        assert!(!cookie_matches(None));
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate_protocol(None), Ok(5));
        assert_eq!(negotiate_protocol(Some("5")), Ok(5));
        assert_eq!(negotiate_protocol(Some("6,5")), Ok(5));
        assert_eq!(negotiate_protocol(Some("5,6")), Ok(5));
        assert_eq!(negotiate_protocol(Some(" 6 , 5 ")), Ok(5));
        assert_eq!(negotiate_protocol(Some("x,5")), Ok(5));
        let err = negotiate_protocol(Some("6")).unwrap_err();
        assert!(err.to_string().contains("speaks only protocol version 5"));
        assert!(negotiate_protocol(Some("")).is_err());
        assert!(negotiate_protocol(Some("4,6,55")).is_err());
    }

    #[test]
    fn line() {
        let p = Path::new("/tmp/plugin123/plugin.sock");
        assert_eq!(
            handshake_line(5, p, None),
            "1|5|unix|/tmp/plugin123/plugin.sock|grpc|"
        );
        // "ab" is "YWI=" padded: no padding on the wire.
        assert_eq!(
            handshake_line(5, p, Some(b"ab")),
            "1|5|unix|/tmp/plugin123/plugin.sock|grpc|YWI"
        );
    }

    #[test]
    fn reattach() {
        let v = reattach_config(&["registry.terraform.io/a/b"], 42, Path::new("/tmp/x.sock"));
        assert_eq!(
            v,
            r#"{"registry.terraform.io/a/b":{"Protocol":"grpc","ProtocolVersion":5,"Pid":42,"Test":true,"Addr":{"Network":"unix","String":"/tmp/x.sock"}}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&v).unwrap();
        let p = &parsed["registry.terraform.io/a/b"];
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 5);
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "unix");
        assert_eq!(p["Addr"]["String"], "/tmp/x.sock");

        let both = reattach_config(&["t.io/a/b", "o.org/a/b"], 42, Path::new("/tmp/x.sock"));
        let parsed: serde_json::Value = serde_json::from_str(&both).unwrap();
        assert_eq!(parsed["t.io/a/b"], parsed["o.org/a/b"]);
        assert_eq!(parsed.as_object().unwrap().len(), 2);
    }
}
