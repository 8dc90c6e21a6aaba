// distkit's single error type: Status (a code and a message) and Result<T> (a value
// or a non-OK Status). Every fallible public function returns one of them; no
// exception crosses the public API.
//
// Thread safety: const methods may be called from several threads at once.
#ifndef DISTKIT_CORE_BASE_STATUS_H_
#define DISTKIT_CORE_BASE_STATUS_H_

#if __cplusplus < 202002L
#error "distkit needs C++20: build with --cxxopt=-std=c++20 --host_cxxopt=-std=c++20"
#endif

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace distkit {

// A caller should be able to react to each code differently; a new code is added only
// when that is true.
enum class StatusCode : std::uint8_t {
  kOk = 0,
  // The caller's input is invalid (a bad key, a bad option). Nothing was sent.
  kInvalidArgument,
  // A value would leave its exact range (int64 overflow, a number beyond what a
  // script can carry exactly).
  kOutOfRange,
  // The operation certainly did not run: not connected, circuit open, never sent.
  // Safe to retry.
  kUnavailable,
  // The request was sent but no reply came (timeout, connection lost): it may or may
  // not have run. Never folded into success or failure; retry only if idempotent.
  kUnknownOutcome,
  // The server ran the request and answered with an error reply; the message is the
  // server's error line, e.g. "WRONGTYPE Operation against a key ...".
  kServerError,
  // The peer sent bytes that are not valid protocol, or a reply of the wrong shape.
  kProtocolError,
  // A bounded resource is full (in-flight requests or bytes); nothing was sent.
  kResourceExhausted,
  // The operation was abandoned because its owner shut down.
  kCancelled,
  // The system is not in a state that allows the operation (e.g. used after close).
  kFailedPrecondition,
  // A bug in distkit: an invariant was broken.
  kInternal,
  // Stored data is damaged or missing (a checksum mismatch in the middle of a log):
  // nothing was changed, and starting anyway could lose acknowledged writes.
  kDataLoss,
};

// "OK", "INVALID_ARGUMENT", ...: stable names for logs and test output.
[[nodiscard]] std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() noexcept = default;
  // A code of kOk with a message is still OK; the message is dropped.
  Status(StatusCode code, std::string message);

  [[nodiscard]] bool ok() const { return code_ == StatusCode::kOk; }
  [[nodiscard]] StatusCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }

  // For kServerError: the first word of the server's error line ("ERR", "WRONGTYPE",
  // "NOSCRIPT", "MOVED"); empty for other codes.
  [[nodiscard]] std::string_view server_error_prefix() const;

  // "OK" or "UNKNOWN_OUTCOME: timed out after 50ms".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Writes to_string() (so test frameworks print statuses readably).
std::ostream& operator<<(std::ostream& os, const Status& status);

[[nodiscard]] inline Status ok_status() {
  return Status();
}
[[nodiscard]] Status invalid_argument_error(std::string message);
[[nodiscard]] Status out_of_range_error(std::string message);
[[nodiscard]] Status unavailable_error(std::string message);
[[nodiscard]] Status unknown_outcome_error(std::string message);
[[nodiscard]] Status server_error(std::string message);
[[nodiscard]] Status protocol_error(std::string message);
[[nodiscard]] Status resource_exhausted_error(std::string message);
[[nodiscard]] Status cancelled_error(std::string message);
[[nodiscard]] Status failed_precondition_error(std::string message);
[[nodiscard]] Status internal_error(std::string message);
[[nodiscard]] Status data_loss_error(std::string message);

namespace detail {
// Prints `what` and the status to stderr and aborts: the caller broke a precondition.
[[noreturn]] void die_on_bad_access(const char* what, const Status& status);
}  // namespace detail

// A T, or the non-OK Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>, "use Status directly");
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");

 public:
  // Implicit, so a function returning Result<T> can `return value;` or `return status;`.
  Result(const T& value) : rep_(std::in_place_index<1>, value) {}
  Result(T&& value) : rep_(std::in_place_index<1>, std::move(value)) {}
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Status> && !std::is_same_v<std::decay_t<U>, Result>)
      Result(U&& value)
      : rep_(std::in_place_index<1>, std::forward<U>(value)) {}
  // REQUIRES: !status.ok(). An OK status becomes kInternal, since there is no value.
  Result(Status status)
      : rep_(std::in_place_index<0>, status.ok()
                                         ? internal_error("Result constructed from an OK Status")
                                         : std::move(status)) {}

  [[nodiscard]] bool ok() const { return rep_.index() == 1; }
  // OK when there is a value.
  [[nodiscard]] Status status() const& { return ok() ? Status() : std::get<0>(rep_); }
  [[nodiscard]] Status status() && { return ok() ? Status() : std::move(std::get<0>(rep_)); }

  // REQUIRES: ok(). Aborts with the status otherwise (a programming error).
  [[nodiscard]] T& value() & {
    check();
    return std::get<1>(rep_);
  }
  [[nodiscard]] const T& value() const& {
    check();
    return std::get<1>(rep_);
  }
  [[nodiscard]] T&& value() && {
    check();
    return std::get<1>(std::move(rep_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return ok() ? std::get<1>(rep_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!ok()) detail::die_on_bad_access("Result::value() on an error", std::get<0>(rep_));
  }

  std::variant<Status, T> rep_;
};

}  // namespace distkit

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define DISTKIT_RETURN_IF_ERROR(expr)                                                              \
  do {                                                                                             \
    if (::distkit::Status distkit_status_ = (expr); !distkit_status_.ok()) return distkit_status_; \
  } while (false)

#define DISTKIT_CONCAT_INNER_(a, b) a##b
#define DISTKIT_CONCAT_(a, b) DISTKIT_CONCAT_INNER_(a, b)

// `DISTKIT_ASSIGN_OR_RETURN(auto x, f());` declares x from f()'s value, or returns
// f()'s Status from the enclosing function.
#define DISTKIT_ASSIGN_OR_RETURN(lhs, expr) \
  DISTKIT_ASSIGN_OR_RETURN_IMPL_(DISTKIT_CONCAT_(distkit_result_, __LINE__), lhs, expr)
#define DISTKIT_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                   \
  if (!result.ok()) return std::move(result).status();    \
  lhs = std::move(result).value()

#endif  // DISTKIT_CORE_BASE_STATUS_H_
