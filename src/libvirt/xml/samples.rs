//! Sample documents as libvirt emits them, shared by the tests of every document kind.

pub(crate) const POOL_DUMP: &str = r#"<pool type='logical'>
  <name>vg_data</name>
  <uuid>3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e</uuid>
  <capacity unit='bytes'>21470642176</capacity>
  <allocation unit='bytes'>10737418240</allocation>
  <available unit='bytes'>10733223936</available>
  <source>
    <device path='/dev/vdb'/>
    <device path='/dev/disk/by-id/virtio-data2'/>
    <name>vg_data</name>
    <format type='lvm2'/>
  </source>
  <target>
    <path>/dev/vg_data</path>
  </target>
</pool>
"#;

pub(crate) const VOLUME_DUMP: &str = r#"<volume type='block'>
  <name>data1</name>
  <key>8Hx2cF-0xYq-3k2T-Qb7L-4WmE-gR5d-Zp1N9a</key>
  <source>
    <device path='/dev/vdb'>
      <extent start='0' end='1073741824'/>
    </device>
  </source>
  <capacity unit='bytes'>1073741824</capacity>
  <allocation unit='bytes'>1073741824</allocation>
  <physical unit='bytes'>1073741824</physical>
  <target>
    <path>/dev/vg_data/data1</path>
    <permissions>
      <mode>0660</mode>
      <owner>0</owner>
      <group>6</group>
      <label>system_u:object_r:fixed_disk_device_t:s0</label>
    </permissions>
    <timestamps>
      <atime>1717171717.123456789</atime>
      <mtime>1717171717.123456789</mtime>
      <ctime>1717171717.123456789</ctime>
    </timestamps>
  </target>
</volume>
"#;

pub(crate) const DOMAIN_DUMP: &str = r#"<domain type='kvm' id='7' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>web-01</name>
  <uuid>0b4c8f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b</uuid>
  <metadata>
    <app:info xmlns:app="https://example.com/app"><app:owner>ops &amp; dev</app:owner></app:info>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2' index='2'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native' discard='unmap'/>
      <source dev='/dev/vg_data/data1' index='3'/>
      <backingStore/>
      <target dev='sdb' bus='scsi'/>
      <shareable/>
      <serial>data1-serial</serial>
      <alias name='scsi0-0-0-1'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <alias name='sata0-0-0'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <alias name='scsi0'/>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </controller>
    <controller type='pci' index='0' model='pcie-root'>
      <alias name='pcie.0'/>
    </controller>
    <controller type='sata' index='0'>
      <alias name='ide'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
    </controller>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='vg_data' volume='logs'/>
      <target dev='vdc' bus='virtio'/>
      <alias name='ua-logs'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'>
    <label>system_u:system_r:svirt_t:s0:c1,c2</label>
  </seclabel>
  <qemu:commandline>
    <qemu:arg value='-newarg'/>
  </qemu:commandline>
</domain>
"#;
