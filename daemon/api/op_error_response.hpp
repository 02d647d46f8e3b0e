#pragma once
// The routes' one way to answer an error: the runtime's OpError, mapped to its HTTP status and
// body in one table. (The HTTP server's own refusals, such as 408, 413 and 431, are its own.)
#include <string_view>

#include "daemon/api/http_types.hpp"
#include "daemon/runtime/op_error.hpp"

namespace qmd::daemon::api {

// OpError -> {"error":{code,message}} with its HTTP status; bad_spec also lists "details"
// and, beside "error", "errors": [{field, line, column, message}], every error of the spec.
Response op_error_response(const OpError& error);

// 404 for a VM name nobody defined.
Response vm_not_found(std::string_view name);

}  // namespace qmd::daemon::api
