// The peer protocol: what one qmd serializes the other parses back unchanged, and what a
// hostile or broken peer sends is refused with words that name the field.
#include <doctest/doctest.h>

#include <string>

#include "daemon/migration/peer_protocol.hpp"

using namespace qmd::daemon::migration;

namespace {

IncomingRequest full_request() {
  IncomingRequest in;
  in.spec_text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: web}\n";
  in.uuid = "4f7c1a2e-0000-4000-8000-000000000001";
  in.machine_type = "pc-q35-7.2";
  in.tsc_frequency = 2'400'000'000ULL;
  in.nvram = std::string("\x00\x01VARS\xff", 7);
  in.capabilities = {"postcopy-ram", "multifd"};
  in.multifd_channels = 4;
  in.source = "hosta:web";
  in.transport = "tcp";
  in.boot_id = "0b4a1e8e-6d0c-4c8e-9d1a-7a1d5f3f7e21";
  in.tls = true;
  in.disks = {CopyDisk{"root", "/var/lib/qmd/images/web.qcow2", "qcow2", 10ULL << 30}};
  in.arrive_within = std::chrono::seconds(30);
  in.finish_within = std::chrono::seconds(660);
  return in;
}

std::string refusal(const Parsed<IncomingRequest>& parsed) {
  REQUIRE_FALSE(parsed);
  return parsed.error().message;
}

}  // namespace

TEST_CASE("incoming request: the minimal one keeps every default") {
  IncomingRequest in;
  in.spec_text = "metadata: {name: a}\n";
  const auto back = parse_incoming_request(to_body(in));
  REQUIRE(back);
  CHECK(*back == in);
  // What an older destination must still take: no tls, no multifdChannels when unused.
  const std::string body = to_body(in);
  CHECK(body.find("\"tls\"") == std::string::npos);
  CHECK(body.find("multifdChannels") == std::string::npos);
  CHECK(body.find("arriveWithinSeconds") == std::string::npos);
}

TEST_CASE("incoming request: every field survives the round trip") {
  const auto in = full_request();
  const auto back = parse_incoming_request(to_body(in));
  REQUIRE(back);
  CHECK(*back == in);
}

TEST_CASE("incoming request: the destination refuses what it does not know, naming it") {
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","exec":"rm -rf /"})")) ==
        "unknown field \"exec\" in the request body (known: specText, uuid, machineType, nvram, "
        "capabilities, multifdChannels, source, arriveWithinSeconds, finishWithinSeconds, "
        "transport, bootId, disks, tscFrequency, tls)");
  CHECK(refusal(parse_incoming_request("")) == "\"specText\" is required");
  CHECK(refusal(parse_incoming_request("[1,2]")) == "the request body is not a JSON object");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x")"))
            .starts_with("the request body is not a JSON object ("));
  CHECK(refusal(parse_incoming_request(R"({"specText":7})")) == "\"specText\" must be a string");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","nvram":"@@@"})")) ==
        "\"nvram\" is not base64");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","capabilities":["x-ignore-shared"]})")) ==
        "capability \"x-ignore-shared\" is not one qmd sets on a destination (postcopy-ram, "
        "multifd)");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","multifdChannels":65})")) ==
        "\"multifdChannels\" must be a whole number from 0 to 64");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","transport":"rdma"})")) ==
        "\"transport\" must be auto, unix or tcp");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","tls":"yes"})")) ==
        "\"tls\" must be true or false");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","tscFrequency":-1})")) ==
        "\"tscFrequency\" must be a positive whole number of Hz");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","arriveWithinSeconds":0})")) ==
        "\"arriveWithinSeconds\" must be a whole number of seconds from 1 to 3600");
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","finishWithinSeconds":90001})")) ==
        "\"finishWithinSeconds\" must be a whole number of seconds from 1 to 90000");
}

TEST_CASE("incoming request: disks are checked one by one, by index") {
  const auto disk = [](std::string entry) {
    return refusal(parse_incoming_request(R"({"specText":"x","disks":[)" + entry + "]}"));
  };
  const std::string shape = " is not {name, path (absolute), format raw|qcow2, size}";
  CHECK(disk(R"({"name":"root","path":"rel/x.img","format":"raw","size":1})") ==
        "\"disks\"[0]" + shape);
  CHECK(disk(R"({"name":"Root","path":"/x.img","format":"raw","size":1})") ==
        "\"disks\"[0]" + shape);
  CHECK(disk(R"({"name":"root","path":"/x.img","format":"vmdk","size":1})") ==
        "\"disks\"[0]" + shape);
  CHECK(disk(R"({"name":"root","path":"/x.img","format":"raw","size":0})") ==
        "\"disks\"[0]" + shape);
  CHECK(disk(R"({"name":"root","path":"/x\nimg","format":"raw","size":1})") ==
        "\"disks\"[0]" + shape);
  CHECK(disk(R"("root")") == "\"disks\"[0] is not an object");
  std::string many;
  for (int i = 0; i <= 64; ++i) {
    many += std::string(i ? "," : "") + R"({"name":"d)" + std::to_string(i) +
            R"(","path":"/d.img","format":"raw","size":1})";
  }
  CHECK(disk(many) == "\"disks\" must be a list of at most 64 disks");
}

TEST_CASE("incoming request: caps on size, nesting and fields") {
  const std::string huge(kMaxRequestBytes + 1, ' ');
  CHECK(refusal(parse_incoming_request(huge)) ==
        "the request body is 8388609 bytes; at most 8388608 are taken");
  std::string deep =
      R"({"specText":"x","disks":)" + std::string(40, '[') + std::string(40, ']') + "}";
  CHECK(
      refusal(parse_incoming_request(deep)).starts_with("the request body is not a JSON object ("));
  CHECK(refusal(parse_incoming_request(R"({"specText":"x","uuid":")" + std::string(5000, 'a') +
                                       "\"}")) == "\"uuid\" is longer than 4096 bytes");
  CHECK(refusal(parse_incoming_request(
            R"({"specText":"x","capabilities":[)" + std::string(R"("multifd",)") +
            R"("multifd","multifd",)"
            R"("multifd","multifd","multifd","multifd","multifd",)"
            R"("multifd"]})")) == "\"capabilities\" must be an array of at most 8 strings");
}

TEST_CASE("incoming ready: both kinds of answer round-trip") {
  IncomingReady unix_ready{.name = "web", .uri = "unix:/run/qmd/vms/web/migrate.sock"};
  auto back = parse_incoming_ready(to_body(unix_ready), false);
  REQUIRE(back);
  CHECK(*back == unix_ready);
  IncomingReady tcp_ready{
      .name = "web",
      .uri = "tcp:[2001:db8::1]:49152",
      .tls = true,
      .nbd = NbdAddress{.kind = NbdAddress::Kind::inet, .host = "2001:db8::1", .port = "49153"}};
  back = parse_incoming_ready(to_body(tcp_ready), true);
  REQUIRE(back);
  CHECK(*back == tcp_ready);
  // The source only reads an NBD address when it copies disks.
  back = parse_incoming_ready(to_body(tcp_ready), false);
  REQUIRE(back);
  CHECK_FALSE(back->nbd);
}

TEST_CASE("incoming ready: a destination's uri goes to QEMU only when it is unix: or tcp:") {
  const auto refused = [](std::string body, bool nbd = false) {
    const auto parsed = parse_incoming_ready(body, nbd);
    REQUIRE_FALSE(parsed);
    return parsed.error().message;
  };
  CHECK(refused(R"({"name":"web"})") == "the destination answered without a uri");
  const std::string wrong =
      "the destination answered with a uri that is neither unix:/PATH nor tcp:HOST:PORT";
  CHECK(refused(R"({"uri":"exec:nc evil 1"})") == wrong);
  CHECK(refused(R"({"uri":"fd:3"})") == wrong);
  CHECK(refused(R"({"uri":"unix:relative.sock"})") == wrong);
  CHECK(refused(R"({"uri":"tcp:host:port"})") == wrong);
  CHECK(refused(R"({"uri":"tcp:h:1,x=y"})") == wrong);
  CHECK(refused("{\"uri\":\"unix:/a\\nb\"}") == wrong);
  CHECK(refused(R"({"uri":7})") == "\"uri\" must be a string");
  CHECK(refused("<html>") == "the destination's answer is not a JSON object (syntax error)");
  const std::string no_nbd =
      "\"nbd\" is not {type unix, path} or {type inet, host, port}: the destination exports "
      "no disks";
  CHECK(refused(R"({"uri":"unix:/m.sock"})", true) == "the destination exports no disks");
  CHECK(refused(R"({"uri":"unix:/m.sock","nbd":{"type":"fd","str":"3"}})", true) == no_nbd);
  CHECK(refused(R"({"uri":"unix:/m.sock","nbd":{"type":"inet","host":"h","port":"http"}})", true) ==
        no_nbd);
}

TEST_CASE("incoming status, commit and the VM's state") {
  IncomingStatus status{.name = "web", .state = "migrating", .incoming = true, .status = "active"};
  auto back = parse_incoming_status(to_body(status));
  REQUIRE(back);
  CHECK(*back == status);
  // What the source once found by searching for "status":"active" in the text.
  CHECK(parse_incoming_status(R"({"state":"active","status":"setup"})")->status == "setup");
  CHECK(parse_incoming_status(R"({"state":"migrating"})").error().message ==
        "the destination's status names no \"status\"");

  for (bool resume : {true, false}) {
    const auto commit = parse_commit_request(to_body(CommitRequest{resume}));
    REQUIRE(commit);
    CHECK(commit->resume == resume);
  }
  CHECK(parse_commit_request("")->resume);  // absent: resume (the source ran the guest)
  CHECK(parse_commit_request(R"({"resume":1})").error().message ==
        "\"resume\" must be true or false");
  CHECK(parse_commit_request(R"({"pause":true})").error().message ==
        "unknown field \"pause\" in the request body (known: resume)");

  CHECK(*parse_vm_state(R"({"name":"web","state":"running","spec":{"a":[1]}})") == "running");
  CHECK_FALSE(parse_vm_state(R"({"name":"web"})"));
  CHECK_FALSE(parse_vm_state("running"));
}

TEST_CASE("a peer's error: its message, capped and on one line") {
  CHECK(error_message(409, R"({"error":{"code":"Conflict","message":"a VM named web exists"}})") ==
        "a VM named web exists");
  CHECK(error_message(502, "Bad Gateway") == "HTTP 502: Bad Gateway");
  CHECK(error_message(500, "line one\nline two\x1b[31m") == "HTTP 500: line one line two [31m");
  const std::string long_body(10000, 'x');
  const auto capped = error_message(500, long_body);
  CHECK(capped.size() == kMaxErrorChars + 3);
  CHECK(capped.ends_with("..."));
}

TEST_CASE("qmd's host document, and what is not one") {
  CHECK(is_qmd_host_document(
      R"({"hostname":"b","machine_types":["pc-q35-7.2"],"qemu":{"version":"7.2.0"}})"));
  CHECK_FALSE(is_qmd_host_document(R"({"hostname":"b","machine_types":[]})"));
  CHECK_FALSE(is_qmd_host_document(R"({"hostname":"b","machine_types":[],"qemu":"7.2"})"));
  CHECK_FALSE(is_qmd_host_document("HTTP/1.1 200 OK"));
}
