//! The plugin floor (benchmarks only, never shipped): a provider that serves `libvirt_lvm_pool`
//! and `libvirt_lvm_volume` through this project's own plugin layer (handshake, AutoMTLS, gRPC,
//! msgpack) and framework (schemas, planning rules, typed state), with CRUD that does no work: the
//! planned values become the state, reads return the state they were given, deletes succeed.
//!
//! Terraform drives it exactly as it drives the provider (`scripts/bench a` installs it under the
//! provider's name with dev_overrides), so the provider's time over this floor is what its
//! resources and libvirt cost, and this floor's time over `terraform_data` is what driving a plugin
//! through our protocol stack costs Terraform and us.
//!
//! The schemas copy the shape of the real ones (names, types, required/optional/computed,
//! defaults, replacement, identities), not their validators, planning or documentation. With
//! `PLUGIN_FLOOR_SCHEMA=minimal` it serves only the attributes the benchmark's configuration sets
//! instead (`bench protocol`).

use std::process::ExitCode;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use terraform_provider_libvirt::framework::resource::{
    AnyResource, Erased, IdentitySchema, Outcome, Resource,
};
use terraform_provider_libvirt::framework::schema::Block;
use terraform_provider_libvirt::framework::{Attribute, Diagnostic, Diagnostics, Schema, Type, Value};
use terraform_provider_libvirt::plugin::{self, Mode};
use terraform_provider_libvirt::provider::Ctx;

struct Pool;

#[derive(Serialize, Deserialize)]
struct PoolState {
    id: Option<String>,
    name: String,
    volume_group: Option<String>,
    source_devices: Option<Vec<String>>,
    build: Option<bool>,
    overwrite: Option<bool>,
    autostart: Option<bool>,
    active: Option<bool>,
    on_destroy: Option<String>,
    force_destroy: Option<bool>,
    target_path: Option<String>,
    capacity: Option<u64>,
    allocation: Option<u64>,
    available: Option<u64>,
    state: Option<String>,
}

impl PoolState {
    /// Computed values the plan left unknown: taken from `prior` when there is one, else made up
    /// (Terraform refuses an applied state with unknown values).
    fn known(mut self, prior: Option<&PoolState>) -> PoolState {
        let vg = self.volume_group.clone().unwrap_or_else(|| self.name.clone());
        self.id = self
            .id
            .or_else(|| prior.and_then(|p| p.id.clone()))
            .or(Some(self.name.clone()));
        self.target_path = self.target_path.or_else(|| Some(format!("/dev/{vg}")));
        self.volume_group = Some(vg);
        self.source_devices = self.source_devices.or_else(|| Some(Vec::new()));
        self.build = self.build.or(Some(true));
        self.capacity = self.capacity.or(Some(0));
        self.allocation = self.allocation.or(Some(0));
        self.available = self.available.or(Some(0));
        self.state = self.state.or_else(|| Some("running".into()));
        self
    }
}

#[async_trait]
impl Resource for Pool {
    type Ctx = Ctx;
    type State = PoolState;
    const TYPE_NAME: &'static str = "libvirt_lvm_pool";

    fn schema() -> Schema {
        Schema::new(
            "Plugin floor: a pool that does no work.",
            vec![
                Attribute::string("id").computed().stable(),
                Attribute::string("name").required().replace(),
                Attribute::string("volume_group").optional().computed().replace(),
                Attribute::typed("source_devices", Type::list(Type::String))
                    .optional()
                    .computed()
                    .replace(),
                Attribute::bool("build").optional().computed(),
                Attribute::bool("overwrite").default(false),
                Attribute::bool("autostart").default(true),
                Attribute::bool("active").default(true),
                Attribute::string("on_destroy").default("keep"),
                Attribute::bool("force_destroy").default(false),
                Attribute::string("target_path").computed().stable(),
                Attribute::number("capacity").computed(),
                Attribute::number("allocation").computed(),
                Attribute::number("available").computed(),
                Attribute::string("state").computed(),
            ],
        )
    }

    async fn create(&self, _: &Ctx, planned: PoolState) -> Outcome<PoolState> {
        Ok(planned.known(None))
    }
    async fn read(
        &self,
        _: &Ctx,
        state: PoolState,
        _: &mut Diagnostics,
    ) -> Result<Option<PoolState>, Diagnostics> {
        Ok(Some(state))
    }
    async fn update(&self, _: &Ctx, prior: PoolState, planned: PoolState) -> Outcome<PoolState> {
        Ok(planned.known(Some(&prior)))
    }
    async fn delete(&self, _: &Ctx, _: PoolState, _: &mut Diagnostics) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn import(&self, _: &Ctx, _: &str) -> Result<PoolState, Diagnostics> {
        Err(no_import())
    }
    fn identity_schema() -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 0,
            attributes: vec![("name", Type::String, true, "")],
        })
    }
    fn identity(s: &PoolState) -> Option<Value> {
        Some(Value::object([("name", Value::from(s.name.as_str()))]))
    }
}

struct Volume;

#[derive(Serialize, Deserialize)]
struct VolumeState {
    id: Option<String>,
    pool: String,
    name: String,
    capacity: String,
    sparse: Option<bool>,
    allow_shrink: Option<bool>,
    wipe_on_destroy: Option<bool>,
    path: Option<String>,
    key: Option<String>,
    allocation: Option<u64>,
    capacity_bytes: Option<u64>,
    source: Option<VolumeSource>,
    clone_from: Option<String>,
    timeouts: Option<VolumeTimeouts>,
}

#[derive(Serialize, Deserialize)]
struct VolumeSource {
    path: Option<String>,
    url: Option<String>,
    format: Option<String>,
    checksum: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct VolumeTimeouts {
    create: Option<String>,
}

impl VolumeState {
    fn known(mut self, prior: Option<&VolumeState>) -> VolumeState {
        let key = format!("{}/{}", self.pool, self.name);
        let id = self
            .id
            .or_else(|| prior.and_then(|p| p.id.clone()))
            .unwrap_or(key);
        self.key = self.key.or_else(|| Some(id.clone()));
        self.id = Some(id);
        self.path = self
            .path
            .or_else(|| Some(format!("/dev/{}/{}", self.pool, self.name)));
        self.allocation = self.allocation.or(Some(0));
        self.capacity_bytes = self.capacity_bytes.or(Some(0));
        self
    }
}

#[async_trait]
impl Resource for Volume {
    type Ctx = Ctx;
    type State = VolumeState;
    const TYPE_NAME: &'static str = "libvirt_lvm_volume";

    fn schema() -> Schema {
        Schema::new(
            "Plugin floor: a volume that does no work.",
            vec![
                Attribute::string("id").computed().stable(),
                Attribute::string("pool").required().replace(),
                Attribute::string("name").required().replace(),
                Attribute::string("capacity").required(),
                Attribute::bool("sparse").default(false),
                Attribute::bool("allow_shrink").default(false),
                Attribute::bool("wipe_on_destroy").default(false),
                Attribute::string("path").computed().stable(),
                Attribute::string("key").computed().stable(),
                Attribute::number("allocation").computed(),
                Attribute::number("capacity_bytes").computed(),
                Attribute::string("clone_from").optional(),
            ],
        )
        // The volume's nested blocks: Terraform walks them for every resource.
        .with_block(Block {
            name: "source",
            description: String::new(),
            attributes: vec![
                Attribute::string("path").optional(),
                Attribute::string("url").optional(),
                Attribute::string("format").optional(),
                Attribute::string("checksum").optional(),
            ],
        })
        .with_block(Block::timeouts(&[("create", "1h")]))
    }

    async fn create(&self, _: &Ctx, planned: VolumeState) -> Outcome<VolumeState> {
        Ok(planned.known(None))
    }
    async fn read(
        &self,
        _: &Ctx,
        state: VolumeState,
        _: &mut Diagnostics,
    ) -> Result<Option<VolumeState>, Diagnostics> {
        Ok(Some(state))
    }
    async fn update(&self, _: &Ctx, prior: VolumeState, planned: VolumeState) -> Outcome<VolumeState> {
        Ok(planned.known(Some(&prior)))
    }
    async fn delete(&self, _: &Ctx, _: VolumeState, _: &mut Diagnostics) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn import(&self, _: &Ctx, _: &str) -> Result<VolumeState, Diagnostics> {
        Err(no_import())
    }
    fn identity_schema() -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 0,
            attributes: vec![("pool", Type::String, true, ""), ("name", Type::String, true, "")],
        })
    }
    fn identity(s: &VolumeState) -> Option<Value> {
        Some(Value::object([
            ("pool", Value::from(s.pool.as_str())),
            ("name", Value::from(s.name.as_str())),
        ]))
    }
}

/// The minimal schema (`PLUGIN_FLOOR_SCHEMA=minimal`): only the attributes bed A's configuration
/// sets, plus `id`, about as many as `terraform_data` has. Against `terraform_data` it shows what
/// driving any plugin over the protocol costs Terraform per resource, apart from the schema's size
/// (which a Go plugin with the provider's schema would cost Terraform just the same).
struct MiniPool;

#[derive(Serialize, Deserialize)]
struct MiniPoolState {
    id: Option<String>,
    name: String,
    source_devices: Option<Vec<String>>,
}

#[async_trait]
impl Resource for MiniPool {
    type Ctx = Ctx;
    type State = MiniPoolState;
    const TYPE_NAME: &'static str = "libvirt_lvm_pool";

    fn schema() -> Schema {
        Schema::new(
            "Plugin floor, minimal schema: a pool that does no work.",
            vec![
                Attribute::string("id").computed().stable(),
                Attribute::string("name").required().replace(),
                Attribute::typed("source_devices", Type::list(Type::String))
                    .optional()
                    .replace(),
            ],
        )
    }
    async fn create(&self, _: &Ctx, mut planned: MiniPoolState) -> Outcome<MiniPoolState> {
        planned.id = Some(planned.name.clone());
        Ok(planned)
    }
    async fn read(
        &self,
        _: &Ctx,
        state: MiniPoolState,
        _: &mut Diagnostics,
    ) -> Result<Option<MiniPoolState>, Diagnostics> {
        Ok(Some(state))
    }
    async fn update(
        &self,
        _: &Ctx,
        prior: MiniPoolState,
        mut planned: MiniPoolState,
    ) -> Outcome<MiniPoolState> {
        planned.id = prior.id;
        Ok(planned)
    }
    async fn delete(&self, _: &Ctx, _: MiniPoolState, _: &mut Diagnostics) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn import(&self, _: &Ctx, _: &str) -> Result<MiniPoolState, Diagnostics> {
        Err(no_import())
    }
}

struct MiniVolume;

#[derive(Serialize, Deserialize)]
struct MiniVolumeState {
    id: Option<String>,
    pool: String,
    name: String,
    capacity: String,
}

#[async_trait]
impl Resource for MiniVolume {
    type Ctx = Ctx;
    type State = MiniVolumeState;
    const TYPE_NAME: &'static str = "libvirt_lvm_volume";

    fn schema() -> Schema {
        Schema::new(
            "Plugin floor, minimal schema: a volume that does no work.",
            vec![
                Attribute::string("id").computed().stable(),
                Attribute::string("pool").required().replace(),
                Attribute::string("name").required().replace(),
                Attribute::string("capacity").required(),
            ],
        )
    }
    async fn create(&self, _: &Ctx, mut planned: MiniVolumeState) -> Outcome<MiniVolumeState> {
        planned.id = Some(format!("{}/{}", planned.pool, planned.name));
        Ok(planned)
    }
    async fn read(
        &self,
        _: &Ctx,
        state: MiniVolumeState,
        _: &mut Diagnostics,
    ) -> Result<Option<MiniVolumeState>, Diagnostics> {
        Ok(Some(state))
    }
    async fn update(
        &self,
        _: &Ctx,
        prior: MiniVolumeState,
        mut planned: MiniVolumeState,
    ) -> Outcome<MiniVolumeState> {
        planned.id = prior.id;
        Ok(planned)
    }
    async fn delete(&self, _: &Ctx, _: MiniVolumeState, _: &mut Diagnostics) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn import(&self, _: &Ctx, _: &str) -> Result<MiniVolumeState, Diagnostics> {
        Err(no_import())
    }
}

fn no_import() -> Diagnostics {
    Diagnostic::error("Not Supported", "The plugin floor imports nothing.").into()
}

fn main() -> ExitCode {
    if std::env::var(plugin::MAGIC_COOKIE_KEY).as_deref() != Ok(plugin::MAGIC_COOKIE_VALUE) {
        eprintln!("plugin_floor: a benchmark's stand-in provider; scripts/bench a runs it through terraform");
        return ExitCode::from(1);
    }
    // As the provider's own main does: same logger, same runtime.
    plugin::log::init();
    let runtime = match plugin::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plugin_floor: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let resources: Vec<Box<dyn AnyResource<Ctx>>> =
        if std::env::var("PLUGIN_FLOOR_SCHEMA").as_deref() == Ok("minimal") {
            vec![Box::new(Erased::new(MiniPool)), Box::new(Erased::new(MiniVolume))]
        } else {
            vec![Box::new(Erased::new(Pool)), Box::new(Erased::new(Volume))]
        };
    match runtime.block_on(plugin::serve_resources(Mode::Terraform, resources)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plugin_floor: {e}");
            ExitCode::from(1)
        }
    }
}
