#include "daemon/api/host_shutdown_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace qmd::daemon::api {

namespace json = boost::json;

json::object to_json(const HostShutdownReport& report) {
  json::array vms;
  for (const auto& vm : report.vms) {
    json::object entry;
    entry["name"] = vm.name;
    entry["outcome"] = outcome_name(vm.outcome);
    entry["how"] = vm.how;
    entry["detail"] = vm.detail;
    entry["milliseconds"] = vm.took.count();
    vms.push_back(std::move(entry));
  }
  json::object out;
  out["action"] = report.action;
  out["timeoutSeconds"] = report.timeout.count();
  out["startedAt"] = report.started_at;
  out["finishedAt"] = report.finished_at;
  out["milliseconds"] = report.took.count();
  out["vms"] = std::move(vms);
  out["record"] = report.record_path;
  if (!report.record_error.empty()) {
    out["recordError"] = report.record_error;
  }
  return out;
}

std::string host_shutdown_text(const HostShutdownReport& report) {
  return json::serialize(to_json(report));
}

}  // namespace qmd::daemon::api
