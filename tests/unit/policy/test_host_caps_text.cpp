#include <doctest/doctest.h>

#include "policy/host_caps.hpp"

using namespace qmd::policy;

namespace {

HostCaps fake(const std::string& text) {
  auto caps = parse_host_caps(text);
  REQUIRE(caps.has_value());
  return *caps;
}

}  // namespace

TEST_CASE("an empty host prints its empty fields, not made-up ones") {
  HostCaps none;
  none.qemu_binary.clear();
  const std::string json = host_caps_json(none);
  CHECK(json.find("\"machine_types\": [],") != std::string::npos);
  CHECK(json.find("\"cpu_flags\": [],") != std::string::npos);
  CHECK(json.find("\"hugepages\": {},") != std::string::npos);
  CHECK(host_caps_text(none).find("hyperv (kvm):           not probed (needs usable KVM)\n") !=
        std::string::npos);
  CHECK(host_caps_text(none).find("hyperv (tcg, -cpu max): not probed\n") != std::string::npos);
}

TEST_CASE("a described host as JSON") {
  const HostCaps caps = fake("hostname=h1 machines=q35,pc cpu-models=host,max cpu-flags=vmx,pni "
                             "hyperv=relaxed,vapic,time hugepages-2Mi=1024/512 ovmf=none "
                             "swtpm=no tsc-khz=2400000 tsc-scaling=yes");
  CHECK(host_caps_json(caps) == R"x({
  "hostname": "h1",
  "arch": "x86_64",
  "qemu": {
    "binary": "/usr/bin/qemu-system-x86_64",
    "version": "7.2.0"
  },
  "kvm": {
    "present": true,
    "usable": true,
    "detail": ""
  },
  "cpu_host": {
    "usable": true,
    "detail": ""
  },
  "machine_types": [
    "q35",
    "pc"
  ],
  "cpu_models": [
    "host",
    "max"
  ],
  "cpu_flags": [
    "vmx",
    "pni"
  ],
  "hyperv": {
    "probed": true,
    "probe_cpu": "host",
    "features": {
      "relaxed": {
        "accepted": true
      },
      "vapic": {
        "accepted": true
      },
      "spinlocks": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "vpindex": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "runtime": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "synic": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "time": {
        "accepted": true
      },
      "stimer": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "stimer-direct": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "reset": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "vendor-id": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "frequencies": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "reenlightenment": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "tlbflush": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "tlbflush-ext": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "ipi": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "evmcs": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "tlbflush-direct": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "passthrough": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "crash": {
        "accepted": false,
        "detail": "refused by the described host"
      }
    }
  },
  "hyperv_tcg": {
    "probed": true,
    "probe_cpu": "max",
    "features": {
      "relaxed": {
        "accepted": true
      },
      "vapic": {
        "accepted": true
      },
      "spinlocks": {
        "accepted": true
      },
      "vpindex": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "runtime": {
        "accepted": true
      },
      "synic": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "time": {
        "accepted": true
      },
      "stimer": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "stimer-direct": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "reset": {
        "accepted": true
      },
      "vendor-id": {
        "accepted": true
      },
      "frequencies": {
        "accepted": true
      },
      "reenlightenment": {
        "accepted": true
      },
      "tlbflush": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "tlbflush-ext": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "ipi": {
        "accepted": false,
        "detail": "refused by the described host"
      },
      "evmcs": {
        "accepted": true
      },
      "tlbflush-direct": {
        "accepted": true
      },
      "passthrough": {
        "accepted": true
      },
      "crash": {
        "accepted": false,
        "detail": "refused by the described host"
      }
    }
  },
  "vhost_net": false,
  "hugepages": {
    "2Mi": {
      "total": 1024,
      "free": 512
    }
  },
  "memory_total": 68719476736,
  "cpus_online": 16,
  "ovmf": [],
  "swtpm": {
    "present": false,
    "path": "",
    "setup_path": "",
    "tpm2": false,
    "features": []
  },
  "launch_security": {
    "sev": false,
    "snp": false,
    "tdx": false
  },
  "tsc_khz": 2400000,
  "tsc_scaling": true
}
)x");
}

TEST_CASE("a described host as text") {
  const HostCaps caps = fake("hostname=h1 machines=q35,pc cpu-models=host,max cpu-flags=none "
                             "hyperv=relaxed,vpindex,synic hugepages-2Mi=1024/512 "
                             "hugepages-1Gi=4/0 memory=24684084Ki cpus=2 vhost-net=yes");
  CHECK(host_caps_text(caps) == R"x(hostname:                h1
arch:                    x86_64
qemu:                    /usr/bin/qemu-system-x86_64 7.2.0
kvm:                     usable
cpu host:                usable
machine types:           q35, pc
cpu models:              host, max
cpu flags:               unknown
hyperv (kvm, -cpu host): accepted: relaxed, vpindex, synic
                         refused:  vapic (refused by the described host)
                         refused:  spinlocks (refused by the described host)
                         refused:  runtime (refused by the described host)
                         refused:  time (refused by the described host)
                         refused:  stimer (refused by the described host)
                         refused:  stimer-direct (refused by the described host)
                         refused:  reset (refused by the described host)
                         refused:  vendor-id (refused by the described host)
                         refused:  frequencies (refused by the described host)
                         refused:  reenlightenment (refused by the described host)
                         refused:  tlbflush (refused by the described host)
                         refused:  tlbflush-ext (refused by the described host)
                         refused:  ipi (refused by the described host)
                         refused:  evmcs (refused by the described host)
                         refused:  tlbflush-direct (refused by the described host)
                         refused:  passthrough (refused by the described host)
                         refused:  crash (refused by the described host)
hyperv (tcg, -cpu max):  accepted: relaxed, vapic, spinlocks, runtime, time, reset, vendor-id,
                                   frequencies, reenlightenment, evmcs, tlbflush-direct, passthrough
                         refused:  vpindex (refused by the described host)
                         refused:  synic (refused by the described host)
                         refused:  stimer (refused by the described host)
                         refused:  stimer-direct (refused by the described host)
                         refused:  tlbflush (refused by the described host)
                         refused:  tlbflush-ext (refused by the described host)
                         refused:  ipi (refused by the described host)
                         refused:  crash (refused by the described host)
vhost-net:               yes
hugepages:               2Mi: 512 free of 1024
                         1Gi: 0 free of 4
memory:                  24684084Ki (23.5Gi)
cpus online:             2
ovmf:                    /usr/share/OVMF/OVMF_CODE_4M.ms.fd + /usr/share/OVMF/OVMF_VARS_4M.ms.fd (secure boot, keys enrolled)
                         /usr/share/OVMF/OVMF_CODE_4M.secboot.fd + /usr/share/OVMF/OVMF_VARS_4M.fd (secure boot)
                         /usr/share/OVMF/OVMF_CODE_4M.fd + /usr/share/OVMF/OVMF_VARS_4M.fd (no secure boot)
swtpm:                   /usr/bin/swtpm (TPM 2.0), setup /usr/bin/swtpm_setup
launch security:         sev no, snp no, tdx no
tsc:                     unknown, scaling no
)x");
}
