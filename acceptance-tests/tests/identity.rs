//! Import by resource identity on the lab, at the protocol level: Terraform 1.12 is the first
//! release with `import { to = ..., identity = {...} }`, and it cannot be installed on the lab's
//! host (1.11 and 1.0.3 only), so these tests drive the release provider binary over the plugin
//! protocol exactly as Terraform 1.12 does for such a block (internal/terraform:
//! node_resource_plan.go, node_resource_plan_instance.go importState, and refresh in
//! node_resource_abstract_instance.go):
//!
//! 1. start the provider (magic cookie, AutoMTLS with a P-521 client certificate, gRPC on a Unix
//!    socket: the provider crate's own test client, tests/common/mod.rs);
//! 2. GetProviderSchema and GetResourceIdentitySchemas; the identity is encoded with the identity
//!    schema's type;
//! 3. ConfigureProvider with the lab's URI;
//! 4. ImportResourceState with `identity` set and `id` empty;
//! 5. ReadResource with `current_state` = the imported state and `current_identity` = the
//!    imported identity. Terraform keeps the read's state and identity; a null state is "Cannot
//!    import non-existent remote object".
//!
//! The objects are made out of band with virsh (a logical pool, an LV, a disk attached to a running
//! domain) and every outcome is checked against the hypervisor: the pool's UUID as `virsh
//! pool-uuid` reports it, the LV's UUID, path and size as `lvs` reports them, the domain's UUID
//! and the disk in its live XML, and a [`acceptance_tests::Snapshot`] of the whole lab before and
//! after (an import and a read change nothing). An identity naming nothing, or missing an
//! attribute, ends in an error diagnostic and no state.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{dv, errors, obj, undv};

use std::process::Stdio;

use acceptance_tests::images::{make_logical_pool, make_lv};
use acceptance_tests::{attr_value, disk_block, provider_dir, DomainOpts, Lab, Scenario};
use terraform_provider_libvirt::framework::{Type, Value};
use terraform_provider_libvirt::proto::tfplugin6 as pb;
use terraform_provider_libvirt::proto::tfplugin6::provider_client::ProviderClient;
use terraform_provider_libvirt::provider;
use tonic::transport::Channel;

fn str_attr<'v>(v: &'v Value, name: &str) -> &'v str {
    v.attr(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} is not a string in {v:?}"))
}

fn u64_attr(v: &Value, name: &str) -> u64 {
    match v.attr(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .unwrap_or_else(|| panic!("{name} is not a whole number in {v:?}")),
        other => panic!("{name} is {other:?} in {v:?}"),
    }
}

/// The provider, started and configured as Terraform 1.12 starts it for a plan with an import
/// block, with the schema types it announced.
struct Tf {
    rt: tokio::runtime::Runtime,
    client: ProviderClient<Channel>,
    // Dropped after the client: kills the provider process.
    _plugin: common::Plugin,
    schema: pb::get_provider_schema::Response,
    identity_schemas: pb::get_resource_identity_schemas::Response,
}

/// What one import by identity and the read after it returned.
struct Imported {
    import: pb::import_resource_state::Response,
    /// The read (step 5), when the import returned a state.
    read: Option<pb::read_resource::Response>,
}

impl Tf {
    fn start(lab: &Lab) -> Tf {
        Tf::start_with(lab, false)
    }

    /// [`Tf::start`], with LVM's tools over the lab's sshd (host key verified) when `lvm_tools`.
    fn start_with(lab: &Lab, lvm_tools: bool) -> Tf {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let id = common::client_identity();
        let binary = provider_dir().join("terraform-provider-libvirt");
        let plugin = common::start_binary(&binary, &id, &[], Stdio::inherit());
        let mut client = rt.block_on(common::provider_client(&plugin, &id));
        let schema = rt
            .block_on(client.get_provider_schema(pb::get_provider_schema::Request {}))
            .expect("GetProviderSchema")
            .into_inner();
        let identity_schemas = rt
            .block_on(client.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {}))
            .expect("GetResourceIdentitySchemas")
            .into_inner();
        assert!(
            errors(&identity_schemas.diagnostics).is_empty(),
            "{:?}",
            identity_schemas.diagnostics
        );
        let cfg_ty = provider::schema().ty();
        let mut set = vec![("uri", Value::from(lab.uri.as_str()))];
        if lvm_tools {
            let Type::Object(fields) = &cfg_ty else {
                panic!("the provider's schema is no object")
            };
            let block_ty = &fields["lvm_tools"];
            let inner = match block_ty {
                Type::List(t) => &**t,
                t => t,
            };
            let port: u64 = lab.env_var("LAB_SSH_PORT").parse().expect("LAB_SSH_PORT");
            let block = obj(
                inner,
                &[
                    ("ssh_host", "127.0.0.1".into()),
                    ("ssh_port", Value::from(port)),
                    ("ssh_user", "root".into()),
                    ("ssh_keyfile", lab.env_var("LAB_SSH_KEY").as_str().into()),
                    ("ssh_known_hosts", lab.env_var("LAB_KNOWN_HOSTS").as_str().into()),
                ],
            );
            let block = match block_ty {
                Type::List(_) => Value::List(vec![block]),
                _ => block,
            };
            set.push(("lvm_tools", block));
        }
        let cfg = obj(&cfg_ty, &set);
        let r = rt
            .block_on(client.configure_provider(pb::configure_provider::Request {
                terraform_version: "1.12.2".into(),
                config: dv(&cfg, &cfg_ty),
                client_capabilities: Some(capabilities()),
            }))
            .expect("ConfigureProvider")
            .into_inner();
        assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
        Tf {
            rt,
            client,
            _plugin: plugin,
            schema,
            identity_schemas,
        }
    }

    /// The resource's state type, from GetProviderSchema.
    fn state_type(&self, type_name: &str) -> Type {
        common::schema_type(&self.schema, type_name)
    }

    /// The identity type, from GetResourceIdentitySchemas; asserts the attributes (all strings,
    /// all required for import) are `names`.
    fn identity_type(&self, type_name: &str, names: &[&str]) -> Type {
        let s = self
            .identity_schemas
            .identity_schemas
            .get(type_name)
            .unwrap_or_else(|| panic!("no identity schema for {type_name}"));
        let mut got: Vec<&str> = s.identity_attributes.iter().map(|a| a.name.as_str()).collect();
        got.sort_unstable();
        let mut want = names.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{type_name}'s identity attributes");
        for a in &s.identity_attributes {
            assert!(
                a.required_for_import,
                "{type_name}.{} not required for import",
                a.name
            );
        }
        Type::object(
            s.identity_attributes
                .iter()
                .map(|a| (a.name.clone(), Type::from_json_bytes(&a.r#type).expect("type"))),
        )
    }

    /// Steps 4 and 5: ImportResourceState by `identity`, then, when it returned a state,
    /// ReadResource of that state with the imported identity.
    fn import(&mut self, type_name: &str, identity: &Value, id_ty: &Type) -> Imported {
        let ty = self.state_type(type_name);
        let import = self
            .rt
            .block_on(
                self.client
                    .import_resource_state(pb::import_resource_state::Request {
                        type_name: type_name.into(),
                        id: String::new(),
                        client_capabilities: Some(capabilities()),
                        identity: Some(pb::ResourceIdentityData {
                            identity_data: dv(identity, id_ty),
                        }),
                    }),
            )
            .expect("ImportResourceState")
            .into_inner();
        let read = match import.imported_resources.first() {
            Some(r) if !errors(&import.diagnostics).is_empty() || r.state.is_none() => None,
            Some(r) if undv(r.state.as_ref(), &ty).is_null() => None,
            Some(r) => {
                assert_eq!(r.type_name, type_name);
                Some(
                    self.rt
                        .block_on(self.client.read_resource(pb::read_resource::Request {
                            type_name: type_name.into(),
                            current_state: r.state.clone(),
                            private: r.private.clone(),
                            provider_meta: None,
                            client_capabilities: Some(capabilities()),
                            current_identity: r.identity.clone(),
                        }))
                        .expect("ReadResource")
                        .into_inner(),
                )
            }
            None => None,
        };
        Imported { import, read }
    }

    /// An import by `identity` that Terraform 1.12 would complete: no error at import or read,
    /// one object, the imported identity and the read's identity both equal to `identity`.
    /// Returns the imported and the read state.
    #[track_caller]
    fn import_ok(&mut self, type_name: &str, identity: &Value, id_ty: &Type) -> (Value, Value) {
        let ty = self.state_type(type_name);
        let Imported { import, read } = self.import(type_name, identity, id_ty);
        assert!(
            errors(&import.diagnostics).is_empty(),
            "import of {type_name} by {identity:?}: {:?}",
            import.diagnostics
        );
        assert_eq!(import.imported_resources.len(), 1, "one object imported");
        let r = &import.imported_resources[0];
        assert_eq!(r.type_name, type_name);
        let imported = undv(r.state.as_ref(), &ty);
        assert!(!imported.is_null(), "import returned a null state");
        // Terraform: "import of ... didn't return an identity" otherwise.
        let imported_identity = undv(r.identity.as_ref().and_then(|i| i.identity_data.as_ref()), id_ty);
        assert_eq!(&imported_identity, identity, "the identity import returned");
        let read = read.expect("a read after the import");
        assert!(
            errors(&read.diagnostics).is_empty(),
            "read after importing {type_name} by {identity:?}: {:?}",
            read.diagnostics
        );
        let state = undv(read.new_state.as_ref(), &ty);
        assert!(
            !state.is_null(),
            "the read says the imported object does not exist (Cannot import non-existent remote object)"
        );
        assert!(
            state.is_wholly_known(),
            "unknown values after the read: {state:?}"
        );
        let read_identity = undv(
            read.new_identity.as_ref().and_then(|i| i.identity_data.as_ref()),
            id_ty,
        );
        assert_eq!(&read_identity, identity, "the identity the read returned");
        (imported, state)
    }

    /// An import by `identity` that must fail: an error diagnostic whose text mentions every one
    /// of `mentions`, and no state (none returned, or a null one whose read is not reached).
    #[track_caller]
    fn import_refused(&mut self, type_name: &str, identity: &Value, id_ty: &Type, mentions: &[&str]) {
        let ty = self.state_type(type_name);
        let Imported { import, read } = self.import(type_name, identity, id_ty);
        let errs = errors(&import.diagnostics);
        if errs.is_empty() {
            let states: Vec<Value> = import
                .imported_resources
                .iter()
                .map(|r| undv(r.state.as_ref(), &ty))
                .collect();
            let identities: Vec<Value> = import
                .imported_resources
                .iter()
                .map(|r| undv(r.identity.as_ref().and_then(|i| i.identity_data.as_ref()), id_ty))
                .collect();
            let read_state = read.as_ref().map(|r| undv(r.new_state.as_ref(), &ty));
            panic!(
                "import of {type_name} by {identity:?} was not refused: imported {states:?} with \
                 identity {identities:?}; the read returned {read_state:?}"
            );
        }
        let text = errs.join("\n");
        for m in mentions {
            assert!(text.contains(m), "the error does not mention {m:?}:\n{text}");
        }
        for r in &import.imported_resources {
            let v = r.state.as_ref().map(|s| undv(Some(s), &ty));
            assert!(
                v.as_ref().is_none_or(Value::is_null),
                "a refused import returned a state: {v:?}"
            );
        }
        assert!(read.is_none(), "a refused import led to a read");
    }
}

fn capabilities() -> pb::ClientCapabilities {
    // What Terraform 1.12 sends on a plan without -allow-deferral.
    pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: true,
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

#[test]
fn identity_import_lvm_pool_by_name() {
    let Some(sc) = Scenario::start("identity::import_lvm_pool_by_name") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("pool");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let uuid = lab.virsh_ok(&["pool-uuid", &pool]).trim().to_string();
    let vg = lab.vg(&pool).expect("the pool's VG");
    sc.step("pool made with virsh");

    let mut tf = Tf::start(lab);
    let id_ty = tf.identity_type("libvirt_lvm_pool", &["name"]);
    let before = lab.snapshot();
    let identity = Value::object([("name", s(&pool))]);
    let (imported, state) = tf.import_ok("libvirt_lvm_pool", &identity, &id_ty);
    sc.step("import by identity and read");

    for (what, v) in [("imported", &imported), ("read", &state)] {
        assert_eq!(
            str_attr(v, "id"),
            uuid,
            "{what} id is the pool's UUID (virsh pool-uuid)"
        );
        assert_eq!(str_attr(v, "name"), pool, "{what} name");
        assert_eq!(str_attr(v, "volume_group"), pool, "{what} volume_group");
        assert_eq!(
            v.attr("source_devices"),
            Some(&Value::List(vec![s(&lab.pv_devices[0])])),
            "{what} source_devices"
        );
        assert_eq!(str_attr(v, "state"), "running", "{what} state");
        assert_eq!(
            str_attr(v, "target_path"),
            format!("/dev/{pool}"),
            "{what} target_path"
        );
    }
    assert_eq!(
        u64_attr(&state, "capacity"),
        vg.size,
        "capacity is the VG's size (vgs)"
    );
    assert_eq!(
        u64_attr(&state, "available"),
        vg.free,
        "available is the VG's free bytes (vgs)"
    );
    lab.snapshot()
        .assert_unchanged(&before, "import by identity and read of a pool");

    // An identity naming no pool: an error, no state. One without its attribute: refused, the
    // attribute named.
    let absent = sc.name("absent");
    tf.import_refused(
        "libvirt_lvm_pool",
        &Value::object([("name", s(&absent))]),
        &id_ty,
        &["Storage Pool Not Found", &absent],
    );
    tf.import_refused(
        "libvirt_lvm_pool",
        &Value::object([("name", Value::Null)]),
        &id_ty,
        &["Invalid Identity", "name"],
    );
    // The pool's UUID is not its name: the identity names a pool by name only.
    tf.import_refused(
        "libvirt_lvm_pool",
        &Value::object([("name", s(&uuid))]),
        &id_ty,
        &[&uuid],
    );
    lab.snapshot()
        .assert_unchanged(&before, "refused imports of a pool");
    sc.step("refusals: absent pool, missing name, a UUID as the name");
}

#[test]
fn identity_import_lvm_volume_by_pool_and_name() {
    let Some(sc) = Scenario::start("identity::import_lvm_volume_by_pool_and_name") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("pool");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    make_lv(lab, &pool, "data", 24);
    make_lv(lab, &pool, "other", 8);
    let lv = lab.lv(&pool, "data").expect("the LV made with virsh");
    sc.step("pool and LVs made with virsh");

    let mut tf = Tf::start(lab);
    let id_ty = tf.identity_type("libvirt_lvm_volume", &["pool", "name"]);
    let before = lab.snapshot();
    let identity = Value::object([("pool", s(&pool)), ("name", s("data"))]);
    let (imported, state) = tf.import_ok("libvirt_lvm_volume", &identity, &id_ty);
    sc.step("import by identity and read");

    for (what, v) in [("imported", &imported), ("read", &state)] {
        assert_eq!(str_attr(v, "id"), lv.uuid, "{what} id is the LV's UUID (lvs)");
        assert_eq!(str_attr(v, "key"), lv.uuid, "{what} key is the LV's UUID (lvs)");
        assert_eq!(str_attr(v, "path"), format!("/dev/{pool}/data"), "{what} path");
        assert_eq!(str_attr(v, "pool"), pool, "{what} pool");
        assert_eq!(str_attr(v, "name"), "data", "{what} name");
        assert_eq!(
            u64_attr(v, "capacity_bytes"),
            lv.size,
            "{what} capacity_bytes (lvs)"
        );
        assert_eq!(str_attr(v, "capacity"), "24MiB", "{what} capacity");
    }
    assert_eq!(lv.size, 24 << 20);
    lab.snapshot()
        .assert_unchanged(&before, "import by identity and read of a volume");

    let absent = sc.name("absent");
    // A name no LV of the pool has; a pool that does not exist.
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", s(&pool)), ("name", s("missing"))]),
        &id_ty,
        &["Storage Volume Not Found", "missing"],
    );
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", s(&absent)), ("name", s("data"))]),
        &id_ty,
        &[&absent],
    );
    // The LV's UUID or path is not its name.
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", s(&pool)), ("name", s(&lv.uuid))]),
        &id_ty,
        &["Storage Volume Not Found"],
    );
    // Missing attributes are named; an empty pool must not turn the identity into a path.
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", Value::Null), ("name", s("data"))]),
        &id_ty,
        &["Invalid Identity", "pool"],
    );
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", s(&pool)), ("name", Value::Null)]),
        &id_ty,
        &["Invalid Identity", "name"],
    );
    tf.import_refused(
        "libvirt_lvm_volume",
        &Value::object([("pool", s("")), ("name", s(&format!("dev/{pool}/data")))]),
        &id_ty,
        &["Invalid Identity", "pool"],
    );
    lab.snapshot()
        .assert_unchanged(&before, "refused imports of a volume");
    sc.step("refusals: absent LV, absent pool, UUID as name, missing pool/name, empty pool");
}

#[test]
fn identity_import_disk_attachment_by_domain_and_target() {
    let Some(sc) = Scenario::start("identity::import_disk_attachment_by_domain_and_target") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("pool");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    make_lv(lab, &pool, "disk", 16);
    let lv = lab.lv(&pool, "disk").expect("the LV made with virsh");
    let dom = sc.domain("vm", DomainOpts::running());
    // A disk of the LV, attached by hand (live and saved), as the provider would attach it.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        file.path(),
        format!(
            "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
             <source pool='{pool}' volume='disk'/><target dev='sdb' bus='scsi'/></disk>"
        ),
    )
    .expect("disk XML");
    lab.virsh_ok(&[
        "attach-device",
        &dom.name,
        &file.path().to_string_lossy(),
        "--live",
        "--config",
    ]);
    let dom_uuid = lab.virsh_ok(&["domuuid", &dom.name]).trim().to_string();
    let live = dom.xml(false);
    let disk = disk_block(&live, "sdb").unwrap_or_else(|| panic!("sdb not in the live XML:\n{live}"));
    assert!(dom.disk("sdb", true).is_some(), "sdb not in the saved definition");
    let runtime = dom.runtime();
    sc.step("pool, LV, running domain with the LV attached as sdb, by virsh");

    let mut tf = Tf::start(lab);
    let id_ty = tf.identity_type("libvirt_disk_attachment", &["domain", "target"]);
    let before = lab.snapshot();
    // The domain by name, and by UUID: either is the identity Terraform keeps.
    for domain in [dom.name.as_str(), dom_uuid.as_str()] {
        let identity = Value::object([("domain", s(domain)), ("target", s("sdb"))]);
        let (imported, state) = tf.import_ok("libvirt_disk_attachment", &identity, &id_ty);
        for (what, v) in [("imported", &imported), ("read", &state)] {
            assert_eq!(
                str_attr(v, "id"),
                format!("{dom_uuid}/sdb"),
                "{what} id is the domain's UUID (virsh domuuid) and the target"
            );
            assert_eq!(str_attr(v, "domain"), domain, "{what} domain");
            assert_eq!(str_attr(v, "target"), "sdb", "{what} target");
            assert_eq!(
                str_attr(v, "volume_id"),
                lv.uuid,
                "{what} volume_id is the LV's UUID (lvs)"
            );
            assert_eq!(str_attr(v, "bus"), "scsi", "{what} bus");
        }
        assert_eq!(state.attr("live"), Some(&Value::Bool(true)), "live");
        assert_eq!(state.attr("persistent"), Some(&Value::Bool(true)), "persistent");
        let alias = attr_value(&disk, "alias", "name").expect("the live disk's alias");
        assert_eq!(
            str_attr(&state, "alias"),
            alias,
            "alias is the live disk's:\n{disk}"
        );
        sc.step(&format!("import by identity (domain {domain}) and read"));
    }
    lab.snapshot()
        .assert_unchanged(&before, "import by identity and read of an attachment");
    dom.assert_not_restarted(&runtime);

    let absent = sc.name("absent");
    tf.import_refused(
        "libvirt_disk_attachment",
        &Value::object([("domain", s(&dom.name)), ("target", s("sdz"))]),
        &id_ty,
        &["Disk Not Found", "sdz"],
    );
    tf.import_refused(
        "libvirt_disk_attachment",
        &Value::object([("domain", s(&absent)), ("target", s("sdb"))]),
        &id_ty,
        &[&absent],
    );
    tf.import_refused(
        "libvirt_disk_attachment",
        &Value::object([("domain", s(&dom.name)), ("target", Value::Null)]),
        &id_ty,
        &["Invalid Identity", "target"],
    );
    tf.import_refused(
        "libvirt_disk_attachment",
        &Value::object([("domain", Value::Null), ("target", s("sdb"))]),
        &id_ty,
        &["Invalid Identity", "domain"],
    );
    lab.snapshot()
        .assert_unchanged(&before, "refused imports of an attachment");
    dom.assert_not_restarted(&runtime);
    sc.step("refusals: absent target, absent domain, missing target/domain");
}

/// The LVM objects libvirt's logical backend does not list (a thin pool, a thin volume, a thin
/// snapshot) and a thick snapshot, made by hand with `lvcreate`, imported by identity through LVM's
/// tools over the lab's sshd: each state names the LV `lvs` reports (UUID, size, origin, thin pool),
/// nothing on the lab changes, and an identity naming an LV of another kind is refused.
#[test]
fn identity_import_thin_pool_thin_volume_and_snapshots() {
    let Some(sc) = Scenario::start("identity::import_thin_pool_thin_volume_and_snapshots") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("pool");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    lab.ssh_ok(&format!(
        "lvcreate -q -L 64M -T {pool}/tp && lvcreate -q -V 256M -T {pool}/tp -n tv && \
         lvcreate -q -s -n tsnap {pool}/tv && lvcreate -q -L 16M -n plain {pool} && \
         lvcreate -q -L 8M -s -n ksnap {pool}/plain"
    ));
    let lv = |name: &str| {
        lab.lv(&pool, name)
            .unwrap_or_else(|| panic!("no LV {name} in lvs"))
    };
    sc.step("thin pool, thin volume, thin snapshot, plain LV and thick snapshot made with lvcreate");

    let mut tf = Tf::start_with(lab, true);
    let before = lab.snapshot();
    let id = |name: &str| Value::object([("pool", s(&pool)), ("name", s(name))]);

    let ty = tf.identity_type("libvirt_lvm_thin_pool", &["pool", "name"]);
    let (imported, state) = tf.import_ok("libvirt_lvm_thin_pool", &id("tp"), &ty);
    for (what, v) in [("imported", &imported), ("read", &state)] {
        assert_eq!(
            str_attr(v, "id"),
            lv("tp").uuid,
            "{what} thin pool id is its UUID (lvs)"
        );
        assert_eq!(u64_attr(v, "size_bytes"), 64 << 20, "{what} thin pool size_bytes");
        assert_eq!(str_attr(v, "pool"), pool, "{what} pool");
    }
    assert_eq!(
        u64_attr(&state, "virtual_size_total"),
        2 * (256 << 20),
        "tv and tsnap"
    );
    tf.import_refused(
        "libvirt_lvm_thin_pool",
        &id("tv"),
        &ty,
        &["Thin Pool Not Found", "\"tv\""],
    );

    let ty = tf.identity_type("libvirt_lvm_thin_volume", &["pool", "name"]);
    let (_, state) = tf.import_ok("libvirt_lvm_thin_volume", &id("tv"), &ty);
    assert_eq!(
        str_attr(&state, "id"),
        lv("tv").uuid,
        "thin volume id is its UUID (lvs)"
    );
    assert_eq!(str_attr(&state, "thin_pool"), "tp");
    assert_eq!(u64_attr(&state, "capacity_bytes"), 256 << 20);
    assert_eq!(str_attr(&state, "path"), format!("/dev/{pool}/tv"));
    tf.import_refused(
        "libvirt_lvm_thin_volume",
        &id("plain"),
        &ty,
        &["Thin Volume Not Found"],
    );
    tf.import_refused(
        "libvirt_lvm_thin_volume",
        &id("tp"),
        &ty,
        &["Thin Volume Not Found"],
    );

    let ty = tf.identity_type("libvirt_lvm_snapshot", &["pool", "name"]);
    for (name, kind, origin) in [("tsnap", "thin", "tv"), ("ksnap", "thick", "plain")] {
        let (_, snap) = tf.import_ok("libvirt_lvm_snapshot", &id(name), &ty);
        assert_eq!(
            str_attr(&snap, "id"),
            lv(name).uuid,
            "{name}: id is its UUID (lvs)"
        );
        assert_eq!(
            (str_attr(&snap, "kind"), str_attr(&snap, "origin")),
            (kind, origin),
            "{name}"
        );
        assert_eq!(
            u64_attr(&snap, "size_bytes"),
            lv(name).size,
            "{name}: size_bytes (lvs)"
        );
    }
    tf.import_refused("libvirt_lvm_snapshot", &id("plain"), &ty, &["Snapshot Not Found"]);
    tf.import_refused("libvirt_lvm_snapshot", &id("tv"), &ty, &["Snapshot Not Found"]);

    lab.snapshot().assert_unchanged(
        &before,
        "imports by identity of thin pools, thin volumes and snapshots",
    );
    sc.step("thin pool, thin volume, thin and thick snapshot imported; other kinds refused; nothing changed");
}
