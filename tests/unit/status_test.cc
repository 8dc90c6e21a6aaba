#include "distkit/core/base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace distkit {
namespace {

TEST(Status, DefaultIsOkAndCheap) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.to_string(), "OK");
  EXPECT_EQ(Status(StatusCode::kOk, "ignored").message(), "");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = unknown_outcome_error("timed out after 50ms");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnknownOutcome);
  EXPECT_EQ(s.to_string(), "UNKNOWN_OUTCOME: timed out after 50ms");
  EXPECT_NE(s, unavailable_error("timed out after 50ms"));
  EXPECT_EQ(s, unknown_outcome_error("timed out after 50ms"));
}

TEST(Status, ServerErrorPrefix) {
  EXPECT_EQ(server_error("WRONGTYPE Operation against a key").server_error_prefix(), "WRONGTYPE");
  EXPECT_EQ(server_error("NOSCRIPT").server_error_prefix(), "NOSCRIPT");
  EXPECT_EQ(protocol_error("WRONGTYPE x").server_error_prefix(), "");
}

TEST(Status, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kDataLoss); ++c) {
    EXPECT_NE(status_code_name(static_cast<StatusCode>(c)), "INVALID_STATUS_CODE") << c;
  }
}

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument_error("not positive: " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  DISTKIT_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

Status check_both(int a, int b) {
  DISTKIT_RETURN_IF_ERROR(parse_positive(a).status());
  DISTKIT_RETURN_IF_ERROR(parse_positive(b).status());
  return Status();
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not positive: -1");
  EXPECT_EQ(bad.value_or(7), 7);

  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_EQ(check_both(1, -2).message(), "not positive: -2");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(Result, ConvertingConstruction) {
  Result<std::string> r = "text";
  EXPECT_EQ(*r, "text");
  EXPECT_EQ(r->size(), 4u);
}

TEST(Result, OkStatusWithoutValueBecomesInternal) {
  Result<int> r = Status();
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  Result<int> r = unavailable_error("down");
  EXPECT_DEATH((void)r.value(), "UNAVAILABLE: down");
}

}  // namespace
}  // namespace distkit
