//! terraform-provider-libvirt: a Terraform provider for LVM storage
//! on libvirt hypervisors.
//!
//! # Layout
//!
//! Layers, top to bottom; each uses only those below it (checked by `tests/layers.rs`, and for the
//! framework by the compiler: it is a crate of its own).
//!
//! - [`plugin`]: the process side of being a plugin: go-plugin handshake, the private Unix socket,
//!   AutoMTLS with the client certificate enforced, the gRPC services. The only place that sees
//!   protobuf ([`proto`], generated from `proto/` at build time): [`plugin::server`] dispatches,
//!   [`plugin::convert`] turns framework values, schemas and diagnostics into messages.
//! - [`provider`]: the provider block, the context every operation gets (one shared libvirt
//!   connection, opened on first use), and the list of resource and data source types.
//! - [`resources`], [`data_sources`], [`functions`]: one file per Terraform type, each reading top
//!   to bottom as `impl Resource` (schema, validate, plan, create, read, update, delete, import),
//!   with helpers below it.
//! - [`framework`] (the `tfplugin-framework` crate): what every resource needs and nothing
//!   libvirt-specific: cty values and their encodings, schemas, diagnostics, planning rules, the
//!   [`framework::Resource`] and [`framework::DataSource`] traits, generic over the context.
//! - [`libvirt`]: our layer over the `virt` crate: one shared connection per configured provider,
//!   blocking work off the async runtime as reads or changes, named operations per object kind that
//!   check identity in the same unit of work as the change, error classification, typed XML.
//! - [`lvm`]: LVM's own tools on the hypervisor (a fixed set of commands, locally or over ssh),
//!   beside libvirt: what libvirt's logical backend cannot see or do (every LV and whether it is
//!   open, growing LVs and volume groups, thin pools, snapshots).
//! - [`image`]: volume content: a disk image (path or URL; raw or qcow2; gz/xz/zst) read as data
//!   and holes for an upload; knows nothing of libvirt.
//! - [`units`], [`names`]: size and naming rules shared by validation, planning and the functions.

pub mod data_sources;
pub use framework;
pub mod functions;
pub mod image;
pub mod libvirt;
pub mod lvm;
pub mod names;
pub mod plugin;
pub mod provider;
pub mod resources;
pub mod units;

/// Generated protocol types.
pub mod proto {
    /// Terraform plugin protocol 6.
    #[allow(clippy::all, missing_docs)]
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    /// go-plugin's controller, stdio and broker services.
    #[allow(clippy::all, missing_docs)]
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}
