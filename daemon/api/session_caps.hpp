#pragma once
// Counted, capped sessions of one kind (VNC relays): at most `per_key` for one VM and `total`
// for all of them, so no client can pile up relays (each holds two sockets and two buffers).
// A lease gives its slot back when the last holder lets go of it.
#include <cstddef>
#include <expected>
#include <map>
#include <memory>
#include <string>

namespace qmd::daemon::api {

class SessionCaps {
 public:
  SessionCaps(std::size_t per_key, std::size_t total) : per_key_(per_key), total_(total) {}

  class Lease {
   public:
    Lease(std::weak_ptr<std::map<std::string, std::size_t>> counts, std::string key)
        : counts_(std::move(counts)), key_(std::move(key)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    std::weak_ptr<std::map<std::string, std::size_t>> counts_;
    std::string key_;
  };

  enum class Full { key, total };
  // A lease for one more session of `key`, or which cap it would pass.
  std::expected<std::shared_ptr<Lease>, Full> acquire(const std::string& key);
  std::size_t active(const std::string& key) const;
  std::size_t active() const;
  std::size_t per_key() const { return per_key_; }
  std::size_t total() const { return total_; }

 private:
  std::size_t per_key_;
  std::size_t total_;
  std::shared_ptr<std::map<std::string, std::size_t>> counts_ =
      std::make_shared<std::map<std::string, std::size_t>>();
};

}  // namespace qmd::daemon::api
