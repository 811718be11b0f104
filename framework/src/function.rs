//! Provider-defined functions (Terraform 1.8+), independent of the protocol: what a function is
//! called, documents, takes and returns, and the pure call itself.

use super::value::{Type, Value};

/// A failed call: the message and the index of the argument at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    /// What went wrong, for the user.
    pub text: String,
    /// The argument at fault, if one is.
    pub argument: Option<usize>,
}

impl FunctionError {
    /// An error about argument `i`.
    pub fn argument(i: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(i),
        }
    }
}

/// One parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// Markdown.
    pub description: &'static str,
}

/// One function.
#[derive(Clone, Debug)]
pub struct Function {
    /// `provider::<provider>::<name>`.
    pub name: &'static str,
    /// One line, Markdown.
    pub summary: &'static str,
    /// Markdown.
    pub description: &'static str,
    /// In order.
    pub params: Vec<Param>,
    /// The return type.
    pub ret: Type,
    /// The call, on decoded arguments.
    pub call: fn(&[Value]) -> Result<Value, FunctionError>,
}
