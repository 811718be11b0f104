//! The provider framework: protocol-independent building blocks for resources.

pub mod diag;
pub mod function;
pub mod json;
mod json_string;
pub mod msgpack;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod typed;
pub mod value;

pub use diag::{AttrPath, Diagnostic, Diagnostics, Severity};
pub use function::{Function, FunctionError, Param};
pub use resource::{DataSource, Resource};
pub use schema::{Attribute, Schema};
pub use value::{Type, Value};
