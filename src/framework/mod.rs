//! The provider framework: everything a resource needs that is not about AWS.

pub mod diag;
pub mod docs;
pub mod json;
pub mod msgpack;
pub mod operation;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod typed;
pub mod validators;
pub mod value;

pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use value::{CodecError, Number, Type, Value};
