terraform {
  required_providers {
    libvirt = {
      source = "libvirt-lvm/libvirt"
    }
  }
}

# Without uri, the provider uses LIBVIRT_DEFAULT_URI, then qemu:///system.
provider "libvirt" {
  uri = "qemu+ssh://root@hypervisor.example.com/system?keyfile=/home/ci/.ssh/id_ed25519&no_tty=1"

  # How long opening the connection may take (default "30s").
  # connect_timeout = "30s"

  # On remote connections, a keepalive message every keepalive_interval
  # seconds; after keepalive_count unanswered ones the connection is closed
  # and the operation in progress fails instead of hanging (defaults 5 and 3;
  # keepalive_interval = 0 turns keepalive off).
  # keepalive_interval = 5
  # keepalive_count    = 3
}
