#include "distkit/core/seam/script_error.h"

#include <string>

namespace distkit {
namespace {

Status status_for(ScriptError error, const std::string& line) {
  switch (error) {
    case ScriptError::kNone:
      return server_error(line);
    case ScriptError::kOverflow:
      return out_of_range_error(line);
    case ScriptError::kNotInteger:
    case ScriptError::kReaped:
      return failed_precondition_error(line);
    case ScriptError::kBadArgument:
      return internal_error(line);
  }
  return internal_error("unclassified script error: " + line);
}

}  // namespace

ScriptError classify_script_error(std::string_view error_line) {
  const std::string_view code = error_line.substr(0, error_line.find(' '));
  if (code == "DKOVERFLOW") return ScriptError::kOverflow;
  if (code == "DKNOTINT") return ScriptError::kNotInteger;
  if (code == "DKREAPED") return ScriptError::kReaped;
  if (code == "DKBADARG") return ScriptError::kBadArgument;
  return ScriptError::kNone;
}

ScriptError classify_script_error(const Status& status) {
  if (status.code() != StatusCode::kServerError) return ScriptError::kNone;
  return classify_script_error(std::string_view(status.message()));
}

ScriptError classify_script_error(const RedisReply& reply) {
  if (!reply.is_error()) return ScriptError::kNone;
  return classify_script_error(std::string_view(reply.text()));
}

Status script_status(const Status& status) {
  const ScriptError error = classify_script_error(status);
  if (error == ScriptError::kNone) return status;
  return status_for(error, status.message());
}

Status script_status(const RedisReply& error_element) {
  if (!error_element.is_error()) {
    return internal_error("script_status: not an error reply: " + error_element.to_string());
  }
  return status_for(classify_script_error(error_element), error_element.text());
}

}  // namespace distkit
