#include "distkit/core/seam/redis_reply.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace distkit
