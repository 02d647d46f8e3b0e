// One VirtualMachine that sets every field qmd reads, checked field by field.
#include <doctest/doctest.h>

#include <string>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

constexpr const char* kFullVm = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: full
spec:
  template:
    spec:
      domain:
        cpu:
          sockets: 2
          cores: 4
          threads: 2
          maxSockets: 8
          model: host-passthrough
          dedicatedCpuPlacement: true
          isolateEmulatorThread: false
          numa:
            guestMappingPassthrough: {}
        memory:
          guest: 8Gi
          hugepages: {pageSize: 1Gi}
          maxGuest: 16Gi
        resources:
          requests: {cpu: 500m, memory: 8Gi}
          limits: {cpu: 4, memory: 9Gi}
          overcommitGuestOverhead: true
        machine: {type: pc-q35-7.2}
        firmware:
          uuid: 5d307ca9-b3ef-428c-8861-06e72d69f223
          serial: SN-1
          bootloader:
            efi: {secureBoot: false, persistent: true}
          kernelBoot: {kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd, kernelArgs: quiet}
          smbios: {manufacturer: ACME, product: P, version: V, serial: S, sku: K, family: F}
        chassis: {manufacturer: CM, version: CV, serial: CS, asset: CA, sku: CK}
        clock:
          utc: {offsetSeconds: -3600}
          timer:
            hpet: {present: false}
            pit: {tickPolicy: delay}
            rtc: {present: true, tickPolicy: catchup, track: guest}
            hyperv: {}
        features:
          acpi: {}
          apic: {enabled: true}
          smm: {enabled: false}
          kvm: {hidden: true}
          hyperv:
            relaxed: {}
            vapic: {enabled: false}
            vpindex: {}
            runtime: {}
            synic: {}
            reset: {}
            frequencies: {}
            reenlightenment: {}
            ipi: {}
            evmcs: {}
            spinlocks: {enabled: true, spinlocks: 8191}
            synictimer: {direct: {enabled: true}}
            vendorid: {vendorid: KubeVirt}
            tlbflush: {extended: {}}
          hypervPassthrough: {enabled: false}
        devices:
          disks:
          - name: root
            disk: {bus: virtio, pciAddress: "0000:81:01.0"}
            bootOrder: 1
            serial: D1
            cache: none
            io: native
            dedicatedIOThread: true
          - name: cd
            cdrom: {bus: sata, readonly: true}
            bootOrder: 2
          - name: san
            lun: {bus: scsi}
          interfaces:
          - name: default
            model: virtio
            macAddress: "02:00:00:00:00:01"
            bootOrder: 3
            pciAddress: "0000:02:00.0"
            bridge: {}
          inputs:
          - {name: tablet, type: tablet, bus: usb}
          watchdog: {name: wd, i6300esb: {action: poweroff}}
          tpm: {persistent: true}
          rng: {}
          networkInterfaceMultiqueue: true
          blockMultiQueue: true
          useVirtioTransitional: false
          autoattachSerialConsole: true
          autoattachGraphicsDevice: false
          autoattachMemBalloon: false
          autoattachInputDevice: true
          autoattachPodInterface: false
        ioThreadsPolicy: auto
        launchSecurity: {sev: {policy: 0x7}}
      volumes:
      - name: root
        hostDisk: {path: /var/lib/qmd/root.img, type: DiskOrCreate, capacity: 20Gi}
      - name: cd
        file: {path: /iso/install.iso, format: raw}
      networks:
      - name: default
        multus: {networkName: br0}
)";

}  // namespace

TEST_CASE("a full VirtualMachine parses into every field") {
  auto parsed = parse_spec(kFullVm, "full.yaml");
  REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : to_string(parsed.error())));
  const VmSpec& s = *parsed;
  const DomainSpec& d = s.domain;

  CHECK(d.cpu.sockets == 2u);
  CHECK(d.cpu.cores == 4u);
  CHECK(d.cpu.threads == 2u);
  CHECK(d.cpu.max_sockets == 8u);
  CHECK(d.cpu.model == "host-passthrough");
  CHECK(d.cpu.dedicated_cpu_placement == true);
  CHECK(d.cpu.isolate_emulator_thread == false);
  CHECK(d.cpu.numa_guest_mapping_passthrough == true);

  CHECK(d.memory.guest == (8ULL << 30));
  CHECK(d.memory.hugepages_page_size == (1ULL << 30));
  CHECK(d.memory.max_guest == (16ULL << 30));
  CHECK(d.resources.requests.cpu == 0.5);
  CHECK(d.resources.requests.memory == (8ULL << 30));
  CHECK(d.resources.limits.cpu == 4.0);
  CHECK(d.resources.limits.memory == (9ULL << 30));
  CHECK(d.resources.overcommit_guest_overhead == true);
  CHECK(d.machine.type == "pc-q35-7.2");

  CHECK(d.firmware.uuid == "5d307ca9-b3ef-428c-8861-06e72d69f223");
  CHECK(d.firmware.serial == "SN-1");
  CHECK(d.firmware.bootloader == BootloaderKind::efi);
  CHECK(d.firmware.efi.secure_boot == false);
  CHECK(d.firmware.efi.persistent == true);
  REQUIRE(d.firmware.kernel_boot);
  CHECK(d.firmware.kernel_boot->kernel_path == "/boot/vmlinuz");
  CHECK(d.firmware.kernel_boot->initrd_path == "/boot/initrd");
  CHECK(d.firmware.kernel_boot->kernel_args == "quiet");
  const SmbiosSystem& smbios = d.firmware.smbios;
  CHECK(std::tuple(smbios.manufacturer, smbios.product, smbios.version, smbios.serial,
                   smbios.sku, smbios.family) ==
        std::tuple("ACME", "P", "V", "S", "K", "F"));
  CHECK(std::tuple(d.chassis.manufacturer, d.chassis.version, d.chassis.serial, d.chassis.asset,
                   d.chassis.sku) == std::tuple("CM", "CV", "CS", "CA", "CK"));

  CHECK(d.clock.utc_set);
  CHECK(d.clock.utc_offset_seconds == -3600);
  CHECK(!d.clock.timezone);
  REQUIRE((d.clock.hpet && d.clock.pit && d.clock.rtc && d.clock.hyperv));
  CHECK(!d.clock.kvm);
  CHECK(d.clock.hpet->present == false);
  CHECK(d.clock.pit->tick_policy == "delay");
  CHECK(std::tuple(d.clock.rtc->present, d.clock.rtc->tick_policy, d.clock.rtc->track) ==
        std::tuple(true, "catchup", "guest"));
  CHECK(!d.clock.hyperv->present);

  const FeaturesSpec& f = d.features;
  REQUIRE((f.acpi && f.apic && f.smm && f.hyperv && f.hyperv_passthrough));
  CHECK(!f.acpi->enabled);
  CHECK(f.apic->enabled == true);
  CHECK(f.smm->enabled == false);
  CHECK(f.kvm_hidden == true);
  CHECK(f.hyperv_passthrough->enabled == false);
  const HypervFeatures& h = *f.hyperv;
  for (const auto* t : {&h.relaxed, &h.vpindex, &h.runtime, &h.synic, &h.reset, &h.frequencies,
                        &h.reenlightenment, &h.ipi, &h.evmcs}) {
    REQUIRE(t->has_value());
    CHECK(!(*t)->enabled);
  }
  CHECK(h.vapic->enabled == false);
  CHECK(std::tuple(h.spinlocks->enabled, h.spinlocks->retries) == std::tuple(true, 8191u));
  CHECK(!h.synictimer->enabled);
  CHECK(h.synictimer->direct_set);
  CHECK(h.synictimer->direct.enabled == true);
  CHECK(!h.vendorid->enabled);
  CHECK(h.vendorid->vendor_id == "KubeVirt");
  CHECK(!h.tlbflush->direct_set);
  CHECK(h.tlbflush->extended_set);
  CHECK(!h.tlbflush->extended.enabled);

  const DevicesSpec& dev = d.devices;
  REQUIRE(dev.disks.size() == 3);
  const DiskDevice& root = dev.disks[0];
  CHECK(std::tuple(root.name, root.kind, root.bus, root.pci_address, root.boot_order,
                   root.serial, root.cache, root.io, root.dedicated_io_thread, root.readonly) ==
        std::tuple("root", DiskKind::disk, "virtio", "0000:81:01.0", 1u, "D1", "none", "native",
                   true, std::nullopt));
  CHECK(std::tuple(dev.disks[1].kind, dev.disks[1].bus, dev.disks[1].readonly,
                   dev.disks[1].boot_order) == std::tuple(DiskKind::cdrom, "sata", true, 2u));
  CHECK(std::tuple(dev.disks[2].kind, dev.disks[2].bus) == std::tuple(DiskKind::lun, "scsi"));
  REQUIRE(dev.interfaces.size() == 1);
  const InterfaceDevice& nic = dev.interfaces[0];
  CHECK(std::tuple(nic.name, nic.model, nic.mac_address, nic.binding, nic.boot_order,
                   nic.pci_address, nic.tap_name) ==
        std::tuple("default", "virtio", "02:00:00:00:00:01", "bridge", 3u, "0000:02:00.0",
                   std::nullopt));
  REQUIRE(dev.inputs.size() == 1);
  CHECK(std::tuple(dev.inputs[0].name, dev.inputs[0].type, dev.inputs[0].bus) ==
        std::tuple("tablet", "tablet", "usb"));
  REQUIRE(dev.watchdog);
  CHECK(std::tuple(dev.watchdog->name, dev.watchdog->model, dev.watchdog->action) ==
        std::tuple("wd", "i6300esb", "poweroff"));
  REQUIRE(dev.tpm);
  CHECK(!dev.tpm->enabled);
  CHECK(dev.tpm->persistent == true);
  CHECK(dev.rng == true);
  CHECK(std::tuple(dev.network_interface_multiqueue, dev.block_multi_queue,
                   dev.use_virtio_transitional, dev.autoattach_serial_console,
                   dev.autoattach_graphics_device, dev.autoattach_mem_balloon,
                   dev.autoattach_input_device, dev.autoattach_pod_interface) ==
        std::tuple(true, true, false, true, false, false, true, false));
  CHECK(d.io_threads_policy == "auto");
  CHECK(d.launch_security.kind == LaunchSecurityKind::sev);
  CHECK(d.launch_security.sev_policy == 7u);

  REQUIRE(s.volumes.size() == 2);
  const Volume& v0 = s.volumes[0];
  CHECK(std::tuple(v0.name, v0.kind, v0.path, v0.host_disk_type, v0.capacity, v0.format) ==
        std::tuple("root", VolumeKind::host_disk, "/var/lib/qmd/root.img", "DiskOrCreate",
                   20ULL << 30, std::nullopt));
  const Volume& v1 = s.volumes[1];
  CHECK(std::tuple(v1.name, v1.kind, v1.path, v1.format) ==
        std::tuple("cd", VolumeKind::file, "/iso/install.iso", "raw"));
  REQUIRE(s.networks.size() == 1);
  CHECK(std::tuple(s.networks[0].name, s.networks[0].kind, s.networks[0].multus_network_name) ==
        std::tuple("default", NetworkKind::multus, "br0"));
}

TEST_CASE("a full VirtualMachine records where each field stands") {
  auto parsed = parse_spec(kFullVm, "full.yaml");
  REQUIRE(parsed.has_value());
  const SourceMap& src = parsed->source;
  const auto at = [&](const char* path) {
    const Mark m = src.find(path);
    return std::pair(m.line, m.column);
  };
  CHECK(at("metadata.name") == std::pair(4, 3));
  CHECK(at("spec.template.spec.domain.cpu.cores") == std::pair(11, 11));
  CHECK(at("spec.template.spec.domain.memory.hugepages.pageSize") == std::pair(21, 23));
  CHECK(at("spec.template.spec.domain.devices.disks[1]") == std::pair(73, 13));
  CHECK(at("spec.template.spec.domain.devices.disks[1].cdrom.readonly") == std::pair(74, 32));
  CHECK(at("spec.template.spec.volumes[1].file.format") == std::pair(104, 40));
  // Fields the document does not set fall back to their nearest ancestor.
  CHECK(at("spec.template.spec.domain.devices.disks[1].cache") == std::pair(73, 13));
  CHECK(src.error_at("domain.devices.disks[0].cache", "\"fast\" is not one of none")
            .to_string() ==
        "spec.template.spec.domain.devices.disks[0].cache: \"fast\" is not one of none "
        "(full.yaml:70:13)");
}
