#pragma once
// The daemon layer's one error type: what went wrong with an operation on a VM, in words a
// user can act on, and a code the API maps to an HTTP status.
#include <string>
#include <vector>

#include "policy/spec_error.hpp"

namespace qmd::daemon {

struct OpError {
  // unavailable: another service qmd needs (a destination qmd) cannot be reached.
  // busy: a limit of qmd's own is reached (relays, sessions); the same call may work later.
  enum class Code {
    bad_request, bad_spec, not_found, conflict, forbidden, timeout, failed, unavailable, busy
  };
  Code code = Code::failed;
  std::string message;
  policy::SpecErrors spec_errors;  // bad_spec: every error, with path and line:column
};

inline OpError op_error(OpError::Code code, std::string message) {
  return OpError{code, std::move(message), {}};
}

}  // namespace qmd::daemon
