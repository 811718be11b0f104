//! `terraform { required_providers }`, the provider block, and quoting for generated configurations.

use crate::PROVIDER_SOURCE;

/// `terraform { required_providers }` and a `provider "libvirt"` block with `provider_body` inside.
pub fn provider_block(provider_body: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    libvirt = {{\n      source = \"{PROVIDER_SOURCE}\"\n    }}\n  }}\n}}\n\n\
         provider \"libvirt\" {{\n  {provider_body}\n}}\n"
    )
}

/// A quoted HCL string.
pub fn hcl_string(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${")
            .replace("%{", "%%{")
    )
}

/// An HCL list of strings.
pub fn hcl_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| hcl_string(s)).collect::<Vec<_>>().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl() {
        assert_eq!(hcl_string("a\"b${x}"), "\"a\\\"b$${x}\"");
        assert_eq!(hcl_string("%{if} \\"), "\"%%{if} \\\\\"");
        assert_eq!(
            hcl_list(&["/dev/vdb".into(), "/dev/vdc".into()]),
            "[\"/dev/vdb\", \"/dev/vdc\"]"
        );
        let b = provider_block("uri = \"x\"");
        assert!(b.contains("source = \"libvirt-lvm/libvirt\""), "{b}");
        assert!(b.contains("provider \"libvirt\" {\n  uri = \"x\"\n}"), "{b}");
    }
}
