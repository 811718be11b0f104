//! libvirt is loaded when the first connection is opened, not when the plugin starts.
//!
//! Terraform starts a provider several times per command, and most of those processes only answer
//! GetProviderSchema or validate a configuration: they never talk to a hypervisor. Linking
//! `libvirt.so.0` the ordinary way made every one of them load libvirt and its 56 libraries
//! (gnutls, glib, libxml2, …) and run their constructors: ~20 ms of a ~23 ms start, and most of the
//! idle memory.
//!
//! So on x86_64 and aarch64 Linux this module defines every libvirt function the `virt` crate calls
//! as a trampoline: load a slot, jump through it. The linker resolves the `virt` crate's references to these
//! definitions and, being invoked with `--as-needed` (rustc's default), leaves libvirt out of the
//! binary's dependencies. [`load`] `dlopen`s libvirt and fills the slots; a trampoline reached with
//! an empty slot calls [`load`] itself first, so no call order can jump into nothing.
//!
//! The list below must hold every libvirt function the provider uses. A function missing from it is
//! not a crash: the linker then resolves it in libvirt.so and libvirt is linked eagerly again, which
//! `tests/startup.rs` catches by reading the binary's dynamic section.

use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

/// The library, by its soname.
const LIBRARY: &CStr = c"libvirt.so.0";

/// Why libvirt could not be loaded. The provider speaks to every hypervisor, local or remote,
/// through this client library, so it is needed where Terraform runs: the message names the
/// package that holds `libvirt.so.0` on each family of distributions.
#[derive(Clone, Debug, thiserror::Error)]
#[error(
    "the libvirt client library (libvirt.so.0) could not be loaded: {0}. The provider needs it on the \
     machine that runs Terraform, also for a remote hypervisor. Install it: `apt-get install libvirt0` \
     (Debian, Ubuntu), `dnf install libvirt-libs` (Fedora, RHEL and its rebuilds), `apk add libvirt-libs` \
     (Alpine) or `pacman -S libvirt` (Arch)"
)]
pub struct LoadError(String);

/// Loads libvirt once per process; later calls return the first outcome.
pub fn load() -> Result<(), LoadError> {
    static LOADED: OnceLock<Result<(), LoadError>> = OnceLock::new();
    LOADED.get_or_init(imp::load).clone()
}

/// `dlerror()` as a string.
fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl* call on this
    // thread; it is copied at once.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        "unknown dynamic loader error".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated (see above).
        unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned()
    }
}

/// Opens the library and returns its handle.
fn open_library() -> Result<*mut c_void, LoadError> {
    // SAFETY: dlopen with a valid C string; RTLD_NOW reports missing symbols here rather than at
    // the first call.
    let handle = unsafe { libc::dlopen(LIBRARY.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        Err(LoadError(dl_error()))
    } else {
        Ok(handle)
    }
}

#[cfg(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "linux"))]
mod imp {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{dl_error, open_library, LoadError};

    macro_rules! trampolines {
        ($($name:ident),* $(,)?) => {
            /// One slot per function: its address in libvirt once loaded, 0 before.
            #[allow(non_upper_case_globals)]
            mod slots {
                use std::sync::atomic::AtomicUsize;
                $(pub static $name: AtomicUsize = AtomicUsize::new(0);)*
            }

            $(
                // Jump to the function when its slot is filled. Otherwise save the argument
                // registers (seven pushes keep the stack 16-byte aligned at the call; rax carries the
                // vector-register count of variadic calls), load libvirt,
                // restore them and jump. `jmp` leaves the caller's frame untouched, so the libvirt
                // function returns straight to the caller.
                #[cfg(target_arch = "x86_64")]
                std::arch::global_asm!(
                    concat!(".pushsection .text.libvirt_trampoline.", stringify!($name), ",\"ax\",@progbits"),
                    concat!(".globl ", stringify!($name)),
                    concat!(".type ", stringify!($name), ",@function"),
                    concat!(stringify!($name), ":"),
                    "mov r11, qword ptr [rip + {slot}]",
                    "test r11, r11",
                    "jz 2f",
                    "jmp r11",
                    "2:",
                    "push rdi", "push rsi", "push rdx", "push rcx", "push r8", "push r9", "push rax",
                    "call {on_first_use}",
                    "pop rax", "pop r9", "pop r8", "pop rcx", "pop rdx", "pop rsi", "pop rdi",
                    "jmp qword ptr [rip + {slot}]",
                    concat!(".size ", stringify!($name), ", . - ", stringify!($name)),
                    ".popsection",
                    slot = sym slots::$name,
                    on_first_use = sym on_first_use,
                );
                // The same on aarch64: the slot is read with a load-acquire (it is filled by another
                // thread, and the jump must see libvirt as that thread left it); x0-x7 carry the
                // arguments and x8 the address of a returned structure, so those are saved (with the
                // frame and link registers, 96 bytes keep sp 16-byte aligned) around the load. x16 is
                // the intra-procedure-call scratch register, free to use in a veneer like this one.
                #[cfg(target_arch = "aarch64")]
                std::arch::global_asm!(
                    concat!(".pushsection .text.libvirt_trampoline.", stringify!($name), ",\"ax\",%progbits"),
                    concat!(".globl ", stringify!($name)),
                    concat!(".type ", stringify!($name), ",%function"),
                    concat!(stringify!($name), ":"),
                    "adrp x16, {slot}",
                    "add x16, x16, :lo12:{slot}",
                    "ldar x16, [x16]",
                    "cbz x16, 2f",
                    "br x16",
                    "2:",
                    "stp x29, x30, [sp, #-96]!",
                    "mov x29, sp",
                    "stp x0, x1, [sp, #16]",
                    "stp x2, x3, [sp, #32]",
                    "stp x4, x5, [sp, #48]",
                    "stp x6, x7, [sp, #64]",
                    "str x8, [sp, #80]",
                    "bl {on_first_use}",
                    "ldr x8, [sp, #80]",
                    "ldp x6, x7, [sp, #64]",
                    "ldp x4, x5, [sp, #48]",
                    "ldp x2, x3, [sp, #32]",
                    "ldp x0, x1, [sp, #16]",
                    "ldp x29, x30, [sp], #96",
                    "adrp x16, {slot}",
                    "add x16, x16, :lo12:{slot}",
                    "ldar x16, [x16]",
                    "br x16",
                    concat!(".size ", stringify!($name), ", . - ", stringify!($name)),
                    ".popsection",
                    slot = sym slots::$name,
                    on_first_use = sym on_first_use,
                );
            )*

            /// Every function with its slot.
            static FUNCTIONS: &[(&std::ffi::CStr, &AtomicUsize)] = &[
                $((
                    match std::ffi::CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                        Ok(c) => c,
                        Err(_) => panic!("function names hold no NUL"),
                    },
                    &slots::$name,
                )),*
            ];
        };
    }

    // The libvirt functions the `virt` crate calls on our behalf, virEventRegisterImpl, which
    // src/libvirt/events.rs calls through `virt-sys`, and virStreamSendHole, which
    // src/libvirt/upload.rs calls through `virt-sys` (see the module documentation).
    trampolines!(
        virConnectClose,
        virConnectFindStoragePoolSources,
        virConnectGetLibVersion,
        virConnectGetURI,
        virConnectIsAlive,
        virConnectIsEncrypted,
        virConnectListAllDomains,
        virConnectListAllNodeDevices,
        virConnectOpen,
        virConnectSetKeepAlive,
        virDomainAttachDeviceFlags,
        virDomainBlockResize,
        virDomainDetachDeviceFlags,
        virDomainFree,
        virDomainGetInfo,
        virDomainGetName,
        virDomainGetState,
        virDomainGetUUIDString,
        virDomainGetXMLDesc,
        virDomainIsActive,
        virDomainIsPersistent,
        virDomainLookupByName,
        virDomainLookupByUUIDString,
        virEventRegisterImpl,
        virNodeDeviceFree,
        // Secrets (src/libvirt/secret.rs): the passphrases of encrypted volumes.
        virSecretDefineXML,
        virSecretFree,
        virSecretGetUUIDString,
        virSecretGetUsageID,
        virSecretGetUsageType,
        virSecretLookupByUUIDString,
        virSecretLookupByUsage,
        virSecretSetValue,
        virSecretUndefine,
        virNodeDeviceGetXMLDesc,
        virGetLastError,
        virGetVersion,
        virSetErrorFunc,
        virStoragePoolBuild,
        virStoragePoolCreate,
        virStoragePoolDefineXML,
        virStoragePoolDelete,
        virStoragePoolDestroy,
        virStoragePoolFree,
        virStoragePoolGetAutostart,
        virStoragePoolGetInfo,
        virStoragePoolGetName,
        virStoragePoolGetUUIDString,
        virStoragePoolGetXMLDesc,
        virStoragePoolIsActive,
        virStoragePoolListAllVolumes,
        virStoragePoolLookupByName,
        virStoragePoolLookupByUUIDString,
        virStoragePoolLookupByVolume,
        virStoragePoolRef,
        virStoragePoolRefresh,
        virStoragePoolSetAutostart,
        virStoragePoolUndefine,
        virStorageVolCreateXML,
        virStorageVolCreateXMLFrom,
        virStorageVolDelete,
        virStorageVolDownload,
        virStorageVolFree,
        virStorageVolGetInfo,
        virStorageVolGetKey,
        virStorageVolGetName,
        virStorageVolGetPath,
        virStorageVolGetXMLDesc,
        virStorageVolLookupByKey,
        virStorageVolLookupByName,
        virStorageVolLookupByPath,
        virStorageVolResize,
        virStorageVolUpload,
        virStorageVolWipe,
        // Uploads (src/libvirt/upload.rs): the stream, and what virt's Stream may call on drop.
        virStreamAbort,
        virStreamEventAddCallback,
        virStreamEventRemoveCallback,
        virStreamEventUpdateCallback,
        virStreamFinish,
        virStreamFree,
        virStreamNew,
        virStreamRecv,
        virStreamRef,
        virStreamSend,
        virStreamSendHole,
    );

    /// Called by a trampoline whose slot is empty: libvirt is used before [`super::load`] ran.
    /// There is no way to return an error from inside a libvirt call, so a failure ends the process
    /// with the reason.
    extern "C" fn on_first_use() {
        if let Err(e) = super::load() {
            eprintln!("terraform-provider-libvirt: {e}");
            std::process::abort();
        }
    }

    pub(super) fn load() -> Result<(), LoadError> {
        let handle = open_library()?;
        for (name, slot) in FUNCTIONS {
            // SAFETY: a valid handle and a NUL-terminated name.
            let address = unsafe { libc::dlsym(handle, name.as_ptr()) };
            if address.is_null() {
                return Err(LoadError(format!(
                    "{} has no function {}: {}",
                    super::LIBRARY.to_string_lossy(),
                    name.to_string_lossy(),
                    dl_error()
                )));
            }
            slot.store(address as usize, Ordering::Release);
        }
        // The handle is never closed: libvirt stays loaded for the life of the process.
        Ok(())
    }
}

/// Elsewhere libvirt is linked the ordinary way; loading it again only checks it is there.
#[cfg(not(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "linux")))]
mod imp {
    pub(super) fn load() -> Result<(), super::LoadError> {
        super::open_library().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    /// A libvirt call made before [`super::load`] loads libvirt through the trampoline's slow path
    /// (when this test runs first in its process) and works.
    #[test]
    fn libvirt_calls_work_before_and_after_load() {
        let version = virt::connect::Connect::version().expect("libvirt answers");
        assert!(version >= 9_000_000, "libvirt {version}");
        super::load().expect("libvirt loads");
        assert_eq!(virt::connect::Connect::version().ok(), Some(version));
    }
}
