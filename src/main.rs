//! The provider binary: serves the plugin protocol when Terraform starts it.

use std::process::ExitCode;

use terraform_provider_libvirt::plugin::{self, Mode};

const NOT_FROM_TERRAFORM: &str = "\
This is a Terraform plugin (terraform-provider-libvirt); run it through terraform, not directly.
Use --debug to start it in reattach mode for debugging, or --version to print its version.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("--version") | Some("-version") => {
            println!("terraform-provider-libvirt {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--debug") | Some("-debug") => Mode::Debug {
            address: args
                .iter()
                .position(|a| a == "--address")
                .and_then(|i| args.get(i + 1).cloned())
                .unwrap_or_else(|| plugin::DEFAULT_ADDRESS.to_string()),
        },
        Some(other) => {
            eprintln!("unknown argument {other:?}\n{NOT_FROM_TERRAFORM}");
            return ExitCode::from(1);
        }
        None => {
            if std::env::var(plugin::MAGIC_COOKIE_KEY).as_deref() != Ok(plugin::MAGIC_COOKIE_VALUE) {
                eprintln!("{NOT_FROM_TERRAFORM}");
                return ExitCode::from(1);
            }
            Mode::Terraform
        }
    };
    // Before any thread exists: libvirt's own debug output (asked for with LIBVIRT_DEBUG and the
    // like) prints URIs with their passwords; it then goes through a scrubbing pipe.
    if let Err(e) = terraform_provider_libvirt::libvirt::debuglog::install_if_asked() {
        eprintln!("terraform-provider-libvirt: cannot filter libvirt's debug output: {e}");
    }
    // libvirt is initialised on the first connection (silencing its default
    // error printer first): initialising it here would cost ~15 ms of start-up.
    plugin::log::init();
    let runtime = match plugin::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("terraform-provider-libvirt: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let served = runtime.block_on(plugin::serve(mode));
    // Every RPC has answered by now. A libvirt call still running on a blocking thread is one
    // the provider gave up on (a dead or silent hypervisor: see Connection::work); dropping the
    // runtime would wait for it, and go-plugin kills a plugin 2 s after Shutdown anyway.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("terraform-provider-libvirt: {e}");
            ExitCode::from(1)
        }
    }
}
