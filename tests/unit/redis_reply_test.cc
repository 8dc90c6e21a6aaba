#include "distkit/core/seam/redis_reply.h"

#include <gtest/gtest.h>

#include "distkit/core/seam/script_error.h"

namespace distkit {
namespace {

TEST(RedisReply, TypesAndAccessors) {
  EXPECT_TRUE(RedisReply().is_nil());
  EXPECT_EQ(RedisReply::integer(-7).integer_value(), -7);
  EXPECT_EQ(RedisReply::simple_string("OK").text(), "OK");
  EXPECT_TRUE(RedisReply::simple_string("OK").is_string());
  EXPECT_TRUE(RedisReply::bulk_string("").is_bulk_string());
  EXPECT_FALSE(RedisReply::bulk_string("").is_nil()) << "an empty string is not nil";
  RedisReply error = RedisReply::error("WRONGTYPE Operation against a key");
  EXPECT_TRUE(error.is_error());
  EXPECT_EQ(error.error_prefix(), "WRONGTYPE");
  EXPECT_EQ(RedisReply::bulk_string("ERR x").error_prefix(), "");
}

TEST(RedisReply, SimpleAndBulkDifferEvenWithEqualText) {
  EXPECT_NE(RedisReply::simple_string("OK"), RedisReply::bulk_string("OK"));
  EXPECT_NE(RedisReply::error("OK"), RedisReply::simple_string("OK"));
  EXPECT_NE(RedisReply::integer(0), RedisReply::nil());
}

TEST(RedisReply, NestedArrays) {
  RedisReply r = RedisReply::array(
      {RedisReply::integer(1),
       RedisReply::array({RedisReply::bulk_string("a\n\"b\""), RedisReply::nil()}),
       RedisReply::error("ERR boom"), RedisReply::simple_string("OK")});
  ASSERT_EQ(r.elements().size(), 4u);
  EXPECT_EQ(r.elements()[1].elements()[0].text(), "a\n\"b\"");
  EXPECT_EQ(r.to_string(), R"([(integer) 1, ["a\n\"b\"", (nil)], (error) ERR boom, OK])");
  EXPECT_EQ(RedisReply::bulk_string(std::string("\x00\xff", 2)).to_string(), R"("\x00\xff")");
}

TEST(RedisReplyDeathTest, WrongAccessorAborts) {
  EXPECT_DEATH((void)RedisReply::nil().integer_value(),
               "integer_value\\(\\) on a reply of type nil");
  EXPECT_DEATH((void)RedisReply::integer(1).text(), "text\\(\\) on a reply of type integer");
}

// The one place a script error's code becomes a StatusCode: by the first word only.
TEST(ScriptError, TheCodeDecidesNeverTheText) {
  EXPECT_EQ(classify_script_error("DKOVERFLOW the counter k would leave"), ScriptError::kOverflow);
  EXPECT_EQ(classify_script_error("DKNOTINT"), ScriptError::kNotInteger) << "no detail";
  EXPECT_EQ(classify_script_error("DKREAPED instance a.1 is not live"), ScriptError::kReaped);
  EXPECT_EQ(classify_script_error("DKBADARG unknown comparator x"), ScriptError::kBadArgument);
  EXPECT_EQ(classify_script_error("ERR increment or decrement would overflow"), ScriptError::kNone)
      << "Redis's own wording is not ours to read";
  EXPECT_EQ(classify_script_error("DKOVERFLOWED x"), ScriptError::kNone);
  EXPECT_EQ(classify_script_error("REAPED x"), ScriptError::kNone);
  EXPECT_EQ(classify_script_error(""), ScriptError::kNone);

  EXPECT_EQ(script_status(server_error("DKOVERFLOW k")).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(script_status(server_error("DKNOTINT k")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(script_status(server_error("DKREAPED a")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(script_status(server_error("DKBADARG x")).code(), StatusCode::kInternal);
  EXPECT_EQ(script_status(server_error("DKNOTINT k")).message(), "DKNOTINT k");
  EXPECT_EQ(script_status(server_error("WRONGTYPE x")), server_error("WRONGTYPE x"));
  EXPECT_EQ(script_status(unknown_outcome_error("DKOVERFLOW")).code(), StatusCode::kUnknownOutcome)
      << "only a server's error line is classified";
  EXPECT_TRUE(script_status(Status()).ok());

  EXPECT_EQ(script_status(RedisReply::error("DKOVERFLOW k")).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(script_status(RedisReply::error("ERR boom")).code(), StatusCode::kServerError);
  EXPECT_EQ(script_status(RedisReply::bulk_string("DKOVERFLOW")).code(), StatusCode::kInternal)
      << "not an error reply: a caller's bug, reported, not aborted on";
  EXPECT_EQ(classify_script_error(RedisReply::bulk_string("DKOVERFLOW")), ScriptError::kNone);
}

}  // namespace
}  // namespace distkit
