#include "distkit/core/base/keys.h"

#include <string>

namespace distkit {

Status validate_key(std::string_view key, std::string_view what) {
  if (key.empty()) return invalid_argument_error(std::string(what) + " must not be empty");
  if (key.size() > 255) {
    return invalid_argument_error(std::string(what) + " must be at most 255 bytes, not " +
                                  std::to_string(key.size()));
  }
  if (key.find(':') != std::string_view::npos) {
    return invalid_argument_error(std::string(what) + " \"" + std::string(key) +
                                  "\" must not contain ':'");
  }
  return Status();
}

Status validate_instance_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_');
  }
  if (ok) return Status();
  return invalid_argument_error("instance_id \"" + std::string(id) +
                                "\" must be 1-64 letters, digits, '-' or '_'");
}

}  // namespace distkit
