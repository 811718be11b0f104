//! terraform-provider-libvirt: a Terraform / OpenTofu provider for LVM storage
//! on libvirt hypervisors.
//!
//! # Layout
//! - [`proto`]: the plugin protocol (tfplugin6) and go-plugin services, generated
//!   from `proto/` at build time.
//! - [`plugin`]: the process side of being a plugin: go-plugin handshake, the
//!   private Unix socket, AutoMTLS with the client certificate enforced, and the
//!   gRPC services. [`plugin::server`] is the one place that speaks protobuf.
//! - [`framework`]: what every resource needs and nothing libvirt-specific:
//!   cty values and their encodings, schemas, diagnostics, the [`framework::Resource`]
//!   and [`framework::DataSource`] traits and the generic planning rules.
//! - [`libvirt`]: our layer over the `virt` crate: one shared connection per
//!   configured provider, blocking calls off the async runtime, typed errors
//!   with a not-found case, typed XML.
//! - [`resources`], [`data_sources`], [`functions`]: one file per Terraform type;
//!   each reads top to bottom as resource logic.
//! - [`image`]: volume content: a disk image (path or URL; raw or qcow2; gz/xz/zst)
//!   read as data and holes for an upload; knows nothing of libvirt.
//! - [`units`], [`names`]: size and naming rules shared by validation, planning
//!   and the provider function.

pub mod data_sources;
pub mod framework;
pub mod functions;
pub mod image;
pub mod libvirt;
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
