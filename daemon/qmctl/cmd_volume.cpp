// qmctl volume create|list|delete|resize (claims) and qmctl image import|list|delete (the
// container disk image store): /v1/volumes and /v1/images.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <iostream>

#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/api_result.hpp"
#include "daemon/qmctl/args.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kStorageGlobalHelp = "Global flags: -s SOCKET, -o json, -h\n";
// A copy of a large image takes as long as it takes; qmd bounds qemu-img itself.
constexpr ApiTimeouts kCopyTimeouts{5000ms, 2h};

std::string text_of(const json::value& v, std::string_view key) {
  const auto* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (field == nullptr || field->is_null()) {
    return "-";
  }
  return field->is_string() ? std::string(field->as_string()) : json::serialize(*field);
}

std::string users_of(const json::value& v) {
  const auto* users = v.as_object().if_contains("usedBy");
  std::string out;
  if (users != nullptr && users->is_array()) {
    for (const auto& user : users->as_array()) {
      out += (out.empty() ? "" : ",") + std::string(user.as_string());
    }
  }
  return out.empty() ? "-" : out;
}

int volume_create(const Invocation& in) {
  json::object body{{"name", in.names[0]}};
  for (const auto* flag : {"--size", "--format", "--from", "--clone"}) {
    if (in.has(flag)) {
      body[std::string_view(flag).substr(2)] = in.value(flag);
    }
  }
  return finish(in.globals,
                client_for(in.globals, kCopyTimeouts)
                    .request("POST", "/v1/volumes", json::serialize(body), "application/json"),
                [](const json::value& v) {
                  std::cout << "volume " << text_of(v, "name") << " created: "
                            << text_of(v, "path") << " (" << text_of(v, "format") << ", "
                            << text_of(v, "virtualSize") << " bytes)\n";
                });
}

int volume_list(const Invocation& in) {
  return finish(in.globals, client_for(in.globals).request("GET", "/v1/volumes"),
                [](const json::value& v) {
                  std::cout << fmt::format("{:<24} {:<7} {:>14} {:<20} {}\n", "NAME", "FORMAT",
                                           "SIZE", "USED BY", "PATH");
                  for (const auto& item : v.at("volumes").as_array()) {
                    std::cout << fmt::format("{:<24} {:<7} {:>14} {:<20} {}\n",
                                             text_of(item, "name"), text_of(item, "format"),
                                             text_of(item, "virtualSize"), users_of(item),
                                             text_of(item, "path"));
                  }
                });
}

int volume_delete(const Invocation& in) {
  return finish(in.globals,
                client_for(in.globals).request("DELETE", "/v1/volumes/" + url_escape(in.names[0])),
                "volume " + in.names[0] + " deleted");
}

int volume_resize(const Invocation& in) {
  json::object body{{"size", in.names[1]}};
  return finish(in.globals,
                client_for(in.globals, kCopyTimeouts)
                    .request("POST", "/v1/volumes/" + url_escape(in.names[0]) + "/resize",
                             json::serialize(body), "application/json"),
                "volume " + in.names[0] + " is now " + in.names[1]);
}

int image_import(const Invocation& in) {
  json::object body{{"ref", in.names[0]}, {"file", in.names[1]}};
  return finish(in.globals,
                client_for(in.globals, kCopyTimeouts)
                    .request("POST", "/v1/images", json::serialize(body), "application/json"),
                [](const json::value& v) {
                  std::cout << "image " << text_of(v, "ref") << " imported: "
                            << text_of(v, "path") << " (" << text_of(v, "format") << ", "
                            << text_of(v, "virtualSize") << " bytes)\n";
                });
}

int image_list(const Invocation& in) {
  return finish(in.globals, client_for(in.globals).request("GET", "/v1/images"),
                [](const json::value& v) {
                  std::cout << fmt::format("{:<48} {:<7} {:>14} {:<20}\n", "REF", "FORMAT",
                                           "SIZE", "USED BY");
                  for (const auto& item : v.at("images").as_array()) {
                    std::cout << fmt::format("{:<48} {:<7} {:>14} {:<20}\n", text_of(item, "ref"),
                                             text_of(item, "format"),
                                             text_of(item, "virtualSize"), users_of(item));
                  }
                });
}

int image_delete(const Invocation& in) {
  return finish(in.globals,
                client_for(in.globals).request("DELETE", "/v1/images?ref=" + url_escape(in.names[0])),
                "image " + in.names[0] + " deleted");
}

const std::vector<Command>& volume_commands() {
  static const std::vector<Command> table = {
      {{"create",
        "volume create NAME --size S [--format qcow2|raw] [--from FILE | --clone CLAIM]",
        "make claim NAME (persistentVolumeClaim.claimName / dataVolume.name)",
        "  --size S      its size, e.g. 10Gi (with --from/--clone: at least the source's)\n"
        "  --format F    qcow2 (default) or raw\n"
        "  --from FILE   a raw or qcow2 image beneath the storage roots, copied in\n"
        "  --clone C     a copy of claim C\n",
        {{"--size", "", true}, {"--format", "", true}, {"--from", "", true}, {"--clone", "", true}},
        1,
        1},
       volume_create},
      {{"list", "volume list", "the claims, their sizes and the VMs that use them", "", {}, 0, 0},
       volume_list},
      {{"delete", "volume delete NAME", "remove a claim no defined VM uses", "", {}, 1, 1},
       volume_delete},
      {{"resize", "volume resize NAME SIZE", "grow a claim no running VM uses (e.g. 20Gi)", "",
        {}, 2, 2},
       volume_resize},
  };
  return table;
}

const std::vector<Command>& image_commands() {
  static const std::vector<Command> table = {
      {{"import",
        "image import REF FILE",
        "store a disk under the image reference a containerDisk names",
        "  REF    as the spec writes it, e.g. quay.io/containerdisks/fedora:40\n"
        "  FILE   beneath the storage roots: a raw, qcow2 or ISO image, a tar archive holding\n"
        "         disk/* (a container disk), or an OCI image layout directory\n",
        {},
        2,
        2},
       image_import},
      {{"list", "image list", "the stored images and the VMs that use them", "", {}, 0, 0},
       image_list},
      {{"delete", "image delete REF", "remove an image no defined VM uses", "", {}, 1, 1},
       image_delete},
  };
  return table;
}

const std::vector<Command>* table_of(std::string_view name) {
  if (name == "volume") {
    return &volume_commands();
  }
  if (name == "image") {
    return &image_commands();
  }
  return nullptr;
}

}  // namespace

bool is_storage_command(std::string_view name) { return table_of(name) != nullptr; }

std::string storage_command_summary() {
  std::string out;
  for (const auto* group : {"volume", "image"}) {
    for (const auto& c : *table_of(group)) {
      const std::string_view full = c.spec.usage;
      out += summary_line(full.substr(0, std::min(full.find(" --"), full.find(" ["))),
                          c.spec.summary);
    }
  }
  return out;
}

int cmd_storage(std::string_view name, const std::vector<std::string>& args, GlobalFlags globals) {
  const auto* table = table_of(name);
  const Command* c = args.empty() ? nullptr : find_command(*table, args[0]);
  if (c == nullptr) {
    std::cerr << "qmctl " << name << ": give a subcommand:\n" << storage_command_summary();
    return 2;
  }
  return run_command(c->spec, kStorageGlobalHelp, {args.begin() + 1, args.end()},
                     std::move(globals), c->run);
}

}  // namespace qmd::qmctl
