// RESP2 both sides: the reply encoder (checked against hiredis's reader, a well-kept
// independent parser), the request parser (incremental feeding, limits, random
// bytes), the reply parser (any cut of the stream, differential against hiredis,
// limits, garbage) and the command encoder (byte for byte hiredis's).
#include "distkit/core/resp/resp.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "distkit/transport/hiredis_reply.h"

namespace distkit {
namespace {

rc::Gen<RedisReply> gen_reply(int depth = 0) {
  return rc::gen::exec([depth]() -> RedisReply {
    switch (*rc::gen::inRange(0, depth < 3 ? 6 : 5)) {
      case 0:
        return RedisReply::nil();
      case 1:
        return RedisReply::integer(*rc::gen::arbitrary<std::int64_t>());
      case 2:
        return RedisReply::simple_string(
            *rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127)));
      case 3:
        return RedisReply::bulk_string(*rc::gen::arbitrary<std::string>());
      case 4:
        return RedisReply::error("ERR " +
                                 *rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127)));
      default:
        return RedisReply::array(
            *rc::gen::container<std::vector<RedisReply>>(rc::gen::resize(4, gen_reply(depth + 1))));
    }
  });
}

RC_GTEST_PROP(Resp, EncodedRepliesParseBackWithHiredis, ()) {
  const RedisReply reply = *gen_reply();
  const std::string bytes = encode_reply(reply);
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, bytes.data(), bytes.size());
  void* parsed = nullptr;
  RC_ASSERT(redisReaderGetReply(reader, &parsed) == REDIS_OK);
  const bool got_reply = parsed != nullptr;
  RC_ASSERT(got_reply);
  Result<RedisReply> back = transport::reply_from_hiredis(*static_cast<redisReply*>(parsed));
  freeReplyObject(parsed);
  redisReaderFree(reader);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == reply);
}

TEST(Resp, EncodesEveryType) {
  EXPECT_EQ(encode_reply(RedisReply::array(
                {RedisReply::integer(-3), RedisReply::nil(), RedisReply::bulk_string("a\r\nb"),
                 RedisReply::simple_string("OK"), RedisReply::error("ERR bad\nline")})),
            "*5\r\n:-3\r\n$-1\r\n$4\r\na\r\nb\r\n+OK\r\n-ERR bad line\r\n");
}

std::vector<RedisCommand> parse_all(RespRequestParser& parser, Status* error = nullptr) {
  std::vector<RedisCommand> out;
  while (auto next = parser.next()) {
    if (!next->ok()) {
      if (error != nullptr) *error = next->status();
      break;
    }
    out.push_back(**next);
  }
  return out;
}

TEST(RespRequestParser, MultibulkAndInline) {
  RespRequestParser parser;
  parser.feed(
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n  SET  \"a b\" 'c\\d'\r\n\r\n*0\r\n*1\r\n$0\r\n\r\n");
  EXPECT_EQ(parse_all(parser),
            (std::vector<RedisCommand>{{"GET", "k"}, {"PING"}, {"SET", "a b", "c\\d"}, {""}}));
  EXPECT_EQ(parser.buffered(), 0u);
}

// Feeding a stream in any split gives the same commands as feeding it whole.
RC_GTEST_PROP(RespRequestParser, SplitFeedingGivesTheSameCommands, ()) {
  const auto commands = *rc::gen::nonEmpty(rc::gen::container<std::vector<RedisCommand>>(
      rc::gen::nonEmpty(rc::gen::container<RedisCommand>(rc::gen::arbitrary<std::string>()))));
  std::string stream;
  for (const RedisCommand& c : commands) {
    stream += "*" + std::to_string(c.size()) + "\r\n";
    for (const std::string& a : c)
      stream += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  RespRequestParser parser;
  std::vector<RedisCommand> got;
  std::size_t at = 0;
  while (at < stream.size()) {
    const std::size_t n = *rc::gen::inRange<std::size_t>(1, stream.size() - at + 1);
    parser.feed(std::string_view(stream).substr(at, n));
    at += n;
    for (auto& c : parse_all(parser))
      got.push_back(std::move(c));
  }
  RC_ASSERT(got == commands);
}

// Random bytes never crash the parser and never yield a command after an error.
RC_GTEST_PROP(RespRequestParser, RandomBytesGiveCommandsOrAnErrorNeverACrash, ()) {
  const std::string bytes = *rc::gen::oneOf(
      rc::gen::arbitrary<std::string>(),
      rc::gen::map(
          rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(std::vector<std::string>{
              "*", "$", "1", "2", "-1", "\r\n", "\r", "\n", "GET", "99999999999", "\"", ":"})),
          [](const std::vector<std::string>& parts) {
            std::string s;
            for (const auto& p : parts)
              s += p;
            return s;
          }));
  RespRequestParser parser(RespRequestLimits{.max_arguments = 100,
                                             .max_bulk_bytes = 1000,
                                             .max_inline_bytes = 200,
                                             .max_buffered_bytes = 4000});
  parser.feed(bytes);
  Status error;
  parse_all(parser, &error);
  if (!error.ok()) {
    RC_ASSERT(error.code() == StatusCode::kProtocolError);
    RC_ASSERT(error.message().starts_with("ERR Protocol error: "));
    RC_ASSERT(parser.next().has_value() && !parser.next()->ok());  // errors are final
  }
}

TEST(RespRequestParser, LimitsGiveRedisErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"*9999999999\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'"},
      {"*1\r\n$99999999999\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$1\r\nab\r\n", "ERR Protocol error: bulk string not terminated by CRLF"},
      {"SET \"open\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {std::string(70'000, 'x'), "ERR Protocol error: too big inline request"},
      {"*x\r\n", "ERR Protocol error: invalid multibulk length"},
  };
  for (const auto& [input, message] : cases) {
    RespRequestParser parser;
    parser.feed(input);
    Status error;
    EXPECT_TRUE(parse_all(parser, &error).empty()) << input.substr(0, 40);
    EXPECT_EQ(error.message(), message) << input.substr(0, 40);
  }
}

// A flood of frames that carry no command is skipped in a loop, not by recursion.
TEST(RespRequestParser, ManyEmptyFramesDoNotGrowTheStack) {
  RespRequestParser parser;
  std::string flood;
  for (int i = 0; i < 1'000'000; ++i)
    flood += (i % 2 == 0) ? "*0\r\n" : "\r\n";
  parser.feed(flood + "PING\r\n");
  auto next = parser.next();
  ASSERT_TRUE(next.has_value() && next->ok());
  EXPECT_EQ(**next, RedisCommand{"PING"});
}

TEST(RespRequestParser, IncompleteInputWaits) {
  RespRequestParser parser;
  parser.feed("*2\r\n$3\r\nGET\r\n$5\r\nab");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed("cde\r");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed("\n");
  auto c = parser.next();
  ASSERT_TRUE(c.has_value() && c->ok());
  EXPECT_EQ(**c, (RedisCommand{"GET", "abcde"}));
}

}  // namespace
}  // namespace distkit

// ---- Client side: RespReplyParser and encode_command ------------------------------

namespace distkit {
namespace {

// Every reply parsed from `bytes` fed in the given segments; the error, if any.
std::vector<RedisReply> parse_replies(const std::vector<std::string>& segments,
                                      std::optional<Status>* error = nullptr,
                                      RespReplyLimits limits = {}) {
  RespReplyParser parser(limits);
  std::vector<RedisReply> replies;
  for (const std::string& segment : segments) {
    parser.feed(segment);
    while (auto next = parser.next()) {
      if (!next->ok()) {
        if (error) *error = next->status();
        return replies;
      }
      replies.push_back(std::move(**next));
    }
  }
  return replies;
}

// Cuts `bytes` at the given points (sorted, deduplicated, within range).
std::vector<std::string> cut(const std::string& bytes, std::vector<std::size_t> points) {
  std::sort(points.begin(), points.end());
  std::vector<std::string> segments;
  std::size_t from = 0;
  for (std::size_t p : points) {
    p = std::min(p, bytes.size());
    if (p <= from) continue;
    segments.push_back(bytes.substr(from, p - from));
    from = p;
  }
  segments.push_back(bytes.substr(from));
  return segments;
}

RC_GTEST_PROP(RespReplyParser, EncodedRepliesParseBackHoweverTheStreamIsCut, ()) {
  const auto replies = *rc::gen::container<std::vector<RedisReply>>(gen_reply());
  std::string bytes;
  for (const RedisReply& r : replies)
    encode_reply(r, bytes);
  const auto points = *rc::gen::container<std::vector<std::size_t>>(
      rc::gen::inRange<std::size_t>(0, bytes.size() + 1));
  std::optional<Status> error;
  RC_ASSERT(parse_replies(cut(bytes, points), &error) == replies);
  RC_ASSERT(!error.has_value());
}

// Differential against hiredis, the parser production used before: whatever our
// parser accepts from any stream, hiredis reads the same way (ours is the stricter).
RC_GTEST_PROP(RespReplyParser, WhatItAcceptsHiredisReadsTheSame, ()) {
  const std::string bytes = *rc::gen::oneOf(
      rc::gen::arbitrary<std::string>(),
      rc::gen::map(
          rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(
              std::vector<std::string>{"*", "$", "+", "-", ":", "0", "1", "2", "-1", "\r\n", "OK",
                                       "\r", "x", "*1\r\n", "$1\r\n", ":7\r\n"})),
          [](const std::vector<std::string>& parts) {
            std::string s;
            for (const auto& p : parts)
              s += p;
            return s;
          }));
  std::optional<Status> error;
  const std::vector<RedisReply> ours = parse_replies({bytes}, &error);
  if (error) RC_ASSERT(error->code() == StatusCode::kProtocolError);
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, bytes.data(), bytes.size());
  for (const RedisReply& expected : ours) {
    void* parsed = nullptr;
    RC_ASSERT(redisReaderGetReply(reader, &parsed) == REDIS_OK);
    const bool got_reply = parsed != nullptr;
    RC_ASSERT(got_reply);
    Result<RedisReply> theirs = transport::reply_from_hiredis(*static_cast<redisReply*>(parsed));
    freeReplyObject(parsed);
    RC_ASSERT(theirs.ok());
    RC_ASSERT(*theirs == expected);
  }
  redisReaderFree(reader);
}

TEST(RespReplyParser, OneByteSegmentsAndEveryType) {
  const std::string stream =
      std::string("*3\r\n:1\r\n$3\r\na") + '\0' + "b\r\n*-1\r\n+OK\r\n-ERR no\r\n$-1\r\n*0\r\n";
  std::vector<std::string> bytewise;
  for (char c : stream)
    bytewise.emplace_back(1, c);
  const std::vector<RedisReply> expected = {
      RedisReply::array({RedisReply::integer(1), RedisReply::bulk_string(std::string("a\0b", 3)),
                         RedisReply::nil()}),
      RedisReply::simple_string("OK"), RedisReply::error("ERR no"), RedisReply::nil(),
      RedisReply::array({})};
  EXPECT_EQ(parse_replies(bytewise), expected);
}

TEST(RespReplyParser, GarbageIsAFinalProtocolError) {
  for (const std::string bad : {"?x\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "$3\r\nabcd\r\n",
                                "*x\r\n", "*-5\r\n", "\r\n", ":99999999999999999999\r\n"}) {
    RespReplyParser parser;
    parser.feed(bad);
    auto first = parser.next();
    ASSERT_TRUE(first.has_value()) << bad;
    ASSERT_FALSE(first->ok()) << bad;
    EXPECT_EQ(first->status().code(), StatusCode::kProtocolError) << bad;
    parser.feed("+OK\r\n");
    auto again = parser.next();
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->ok()) << "a protocol error is final: " << bad;
  }
}

TEST(RespReplyParser, LimitsAreProtocolErrors) {
  std::optional<Status> error;
  // Depth: 8 nested arrays pass, a ninth does not, even empty (hiredis 0.14's bound,
  // checked against its reader below).
  std::string eight;
  for (int i = 0; i < 8; ++i)
    eight += "*1\r\n";
  for (const std::string inner : {":1\r\n", "*0\r\n", "*-1\r\n"}) {
    error.reset();
    const std::size_t got = parse_replies({eight + inner}, &error).size();
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, (eight + inner).data(), (eight + inner).size());
    void* parsed = nullptr;
    const bool hiredis_ok = redisReaderGetReply(reader, &parsed) == REDIS_OK && parsed != nullptr;
    if (parsed != nullptr) freeReplyObject(parsed);
    redisReaderFree(reader);
    EXPECT_EQ(got == 1, hiredis_ok) << inner;
    EXPECT_EQ(got, inner == std::string(":1\r\n") ? 1u : 0u) << inner;
  }
  error.reset();
  EXPECT_TRUE(parse_replies({eight + "*1\r\n:1\r\n"}, &error).empty());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), StatusCode::kProtocolError);
  error.reset();
  EXPECT_TRUE(parse_replies({"$11\r\n"}, &error, RespReplyLimits{.max_bulk_bytes = 10}).empty());
  EXPECT_TRUE(error.has_value());
  error.reset();
  // A line of exactly the limit passes however the stream is cut, even right after
  // its CR.
  const std::string at_limit = "+" + std::string(63, 'a') + "\r\n";
  for (std::size_t cut_at = 1; cut_at < at_limit.size(); ++cut_at) {
    error.reset();
    EXPECT_EQ(parse_replies({at_limit.substr(0, cut_at), at_limit.substr(cut_at)}, &error,
                            RespReplyLimits{.max_line_bytes = 64})
                  .size(),
              1u)
        << cut_at;
  }
  error.reset();
  // A line that never ends is refused once it passes the limit, not buffered forever.
  EXPECT_TRUE(
      parse_replies({"+" + std::string(100, 'a')}, &error, RespReplyLimits{.max_line_bytes = 64})
          .empty());
  EXPECT_TRUE(error.has_value());
}

TEST(RespReplyParser, IncompleteInputWaits) {
  RespReplyParser parser;
  parser.feed("*2\r\n$5\r\nhel");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed("lo\r\n:4");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed("2\r\n");
  auto reply = parser.next();
  ASSERT_TRUE(reply && reply->ok());
  EXPECT_EQ(**reply,
            RedisReply::array({RedisReply::bulk_string("hello"), RedisReply::integer(42)}));
  EXPECT_EQ(parser.buffered(), 0u);
}

RC_GTEST_PROP(EncodeCommand, IsHiredisFormatByteForByte, ()) {
  const auto command = *rc::gen::nonEmpty(rc::gen::arbitrary<RedisCommand>());
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const long long n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                             lengths.data());
  RC_ASSERT(n > 0);
  const std::string theirs(formatted, static_cast<std::size_t>(n));
  redisFreeCommand(formatted);
  RC_ASSERT(encode_command(command) == theirs);
  RC_ASSERT(encoded_command_size(command) == theirs.size());
}

}  // namespace
}  // namespace distkit
