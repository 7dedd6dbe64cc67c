//! terraform-provider-privatelink: a Terraform provider that connects SaaS
//! analytics vendors to an AWS data estate over PrivateLink.
//!
//! Layers, each in its own module:
//! - `proto`: the wire contract generated from `proto/`.
//! - `plugin`: go-plugin's handshake, AutoMTLS, health, controller and stdio.
//! - `framework`: values and codecs, schemas, diagnostics, the Resource and
//!   DataSource traits, planning rules. Nothing AWS-specific.
//! - `provider`: the provider block and the clients it builds.
//! - `data_sources`, `resources`: one file per type.

pub mod catalog;
pub mod data_sources;
pub mod framework;
pub mod logging;
pub mod plugin;
pub mod proto;
pub mod provider;
pub mod resources;
