// The errors distkit's own Redis scripts return on purpose (core/lua/errors.lua),
// told apart by the code that starts the error line: never by the text after it, and
// never by Redis's own wording (which the simulated server need not copy).
//
// Thread safety: pure functions.
#ifndef DISTKIT_CORE_SEAM_SCRIPT_ERROR_H_
#define DISTKIT_CORE_SEAM_SCRIPT_ERROR_H_

#include <cstdint>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

enum class ScriptError : std::uint8_t {
  kNone,         // not one of distkit's script errors (or not an error at all)
  kOverflow,     // DKOVERFLOW: a value would leave the int64 range; nothing written
  kNotInteger,   // DKNOTINT: a stored value is not an int64 (something else wrote it)
  kReaped,       // DKREAPED: the instance is no longer live
  kBadArgument,  // DKBADARG: the script was called with arguments it rejects (a bug)
};

// The code of an error line ("DKOVERFLOW the counter ..."); kNone for anything else.
[[nodiscard]] ScriptError classify_script_error(std::string_view error_line);
// For a kServerError status (what RedisConnection returns for a top-level error
// reply); kNone for any other status.
[[nodiscard]] ScriptError classify_script_error(const Status& status);
// For an error element inside a reply (a per-field result); kNone for other replies.
[[nodiscard]] ScriptError classify_script_error(const RedisReply& reply);

// What a caller sees: a script error becomes its distkit code, with the server's line
// as the message: kOverflow -> kOutOfRange, kNotInteger and kReaped ->
// kFailedPrecondition, kBadArgument -> kInternal. Any other status is returned as it
// is (an OK one too).
[[nodiscard]] Status script_status(const Status& status);
// The same for an error element inside a reply; REQUIRES: reply.is_error(). An error
// that is not distkit's stays kServerError.
[[nodiscard]] Status script_status(const RedisReply& error_element);

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_SCRIPT_ERROR_H_
