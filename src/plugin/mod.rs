//! go-plugin's side of the contract: handshake, AutoMTLS, health, controller.

pub mod controller;
pub mod handshake;
pub mod tls;
