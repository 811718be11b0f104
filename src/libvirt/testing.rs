//! Tests' own copies of libvirt's test driver.
//!
//! `test:///default` is one in-memory hypervisor per process, shared by every connection open to
//! it: tests running side by side would see each other's pools and volumes. A test driver opened
//! from a file (`test:///<path>`) is private to its connection instead, so each test gets one.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::conn::ConnectOptions;
use super::Connection;

/// A directory pool `default-pool` at `/default-pool`, as the default test driver has.
pub(crate) const DEFAULT_POOL: &str = "<pool type='dir'><name>default-pool</name>\
    <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid><target><path>/default-pool</path></target></pool>";

/// A test-driver node file holding `default-pool` and `extra` (domains, pools).
pub(crate) struct TestDriver {
    _file: tempfile::NamedTempFile,
    /// `test:///<path>`.
    pub(crate) uri: String,
}

impl TestDriver {
    /// A node with `default-pool` and `extra`.
    pub(crate) fn new(extra: &str) -> TestDriver {
        let mut file = tempfile::Builder::new()
            .suffix(".xml")
            .tempfile()
            .expect("a temporary node file");
        write!(file, "<node>{DEFAULT_POOL}{extra}</node>").expect("write the node file");
        let uri = format!("test://{}", file.path().display());
        TestDriver { _file: file, uri }
    }

    /// A connection of its own (a private hypervisor).
    pub(crate) async fn connect(&self) -> Connection {
        Connection::open(
            &self.uri,
            &ConnectOptions::default(),
            Arc::new(AtomicBool::new(false)),
        )
        .await
        .expect("the test driver opens")
    }
}

/// A running test-driver domain `name` with UUID `uuid` and the given `<disk>` elements.
pub(crate) fn domain(name: &str, uuid: &str, disks: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><uuid>{uuid}</uuid><memory>65536</memory><vcpu>1</vcpu>\
         <os><type>hvm</type></os><devices>{disks}</devices></domain>"
    )
}
