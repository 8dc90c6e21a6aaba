// gMock matchers for Status and Result<T>, so a failing expectation prints the whole
// status (code and message) rather than two bare codes:
//   EXPECT_THAT(co_await counter.inc("k"), IsOk());
//   EXPECT_THAT(co_await counter.inc("k"), StatusIs(StatusCode::kOutOfRange));
//   EXPECT_THAT(co_await counter.get("k"), IsOkAndHolds(5));
//   GcraDecision d = value_or_failure(co_await limiter.check("k", rate));
#ifndef DISTKIT_TESTS_STATUS_MATCHERS_H_
#define DISTKIT_TESTS_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <source_location>
#include <string>
#include <utility>

#include "distkit/core/base/status.h"

namespace distkit::test_support {

inline Status status_of(const Status& status) {
  return status;
}
template <typename T>
Status status_of(const Result<T>& result) {
  return result.status();
}

MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const Status status = status_of(arg);
  *result_listener << "whose status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code,
          std::string(negation ? "has a code other than " : "has code ") +
              std::string(status_code_name(code))) {
  const Status status = status_of(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code;
}

// A Result<T> that is OK and holds `value`.
MATCHER_P(IsOkAndHolds, value,
          std::string(negation ? "is not OK or does not hold " : "is OK and holds ") +
              ::testing::PrintToString(value)) {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  *result_listener << "whose value is " << ::testing::PrintToString(*arg);
  return *arg == value;
}

// The value of `result`, or, when it holds an error, a reported test failure (at the
// caller's line) and a default T, so one backend's failure reports instead of aborting
// the binary (as `*result` would) and hiding the others.
template <typename T>
T value_or_failure(Result<T> result, std::source_location where = std::source_location::current()) {
  if (!result.ok()) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "expected a value, got " << result.status();
    return T{};
  }
  return std::move(*result);
}

}  // namespace distkit::test_support

// For tests written inside namespace distkit (and its sub-namespaces).
namespace distkit {
using test_support::IsOk;
using test_support::IsOkAndHolds;
using test_support::StatusIs;
using test_support::value_or_failure;
}  // namespace distkit

#endif  // DISTKIT_TESTS_STATUS_MATCHERS_H_
