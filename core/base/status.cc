#include "distkit/core/base/status.h"

#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace distkit {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kUnknownOutcome:
      return "UNKNOWN_OUTCOME";
    case StatusCode::kServerError:
      return "SERVER_ERROR";
    case StatusCode::kProtocolError:
      return "PROTOCOL_ERROR";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kCancelled:
      return "CANCELLED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
  }
  return "INVALID_STATUS_CODE";
}

Status::Status(StatusCode code, std::string message) : code_(code) {
  if (code != StatusCode::kOk) message_ = std::move(message);
}

std::string_view Status::server_error_prefix() const {
  if (code_ != StatusCode::kServerError) return {};
  std::string_view line = message_;
  return line.substr(0, line.find(' '));
}

std::string Status::to_string() const {
  std::string out(status_code_name(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status invalid_argument_error(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
Status out_of_range_error(std::string message) {
  return Status(StatusCode::kOutOfRange, std::move(message));
}
Status unavailable_error(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
Status unknown_outcome_error(std::string message) {
  return Status(StatusCode::kUnknownOutcome, std::move(message));
}
Status server_error(std::string message) {
  return Status(StatusCode::kServerError, std::move(message));
}
Status protocol_error(std::string message) {
  return Status(StatusCode::kProtocolError, std::move(message));
}
Status resource_exhausted_error(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}
Status cancelled_error(std::string message) {
  return Status(StatusCode::kCancelled, std::move(message));
}
Status failed_precondition_error(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
Status internal_error(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}
Status data_loss_error(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message));
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.to_string();
}

namespace detail {
void die_on_bad_access(const char* what, const Status& status) {
  std::fprintf(stderr, "distkit: %s: %s\n", what, status.to_string().c_str());
  std::abort();
}
}  // namespace detail

}  // namespace distkit
