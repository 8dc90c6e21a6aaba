// Validation of the names users give: keys and prefixes of every counter and limiter
// family, and instance ids (which appear inside Redis key names).
#ifndef DISTKIT_CORE_BASE_KEYS_H_
#define DISTKIT_CORE_BASE_KEYS_H_

#include <string_view>

#include "distkit/core/base/status.h"

namespace distkit {

// Non-empty, at most 255 bytes, no ':'.
[[nodiscard]] Status validate_key(std::string_view key, std::string_view what = "key");

// 1-64 letters, digits, '-' or '_'.
[[nodiscard]] Status validate_instance_id(std::string_view id);

}  // namespace distkit

#endif  // DISTKIT_CORE_BASE_KEYS_H_
