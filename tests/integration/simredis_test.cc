// tools/simredis driven by real Redis clients (redis-cli, redis-benchmark) and by a
// raw socket sending garbage: errors for the offender, service for everyone else.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "distkit/sim/world/rng.h"
#include "distkit/tests/support/redis_fixture.h"

namespace distkit::test_support {
namespace {

class SimredisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = RedisServer::start({.server_binary = "tools/simredis/simredis"});
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }
  static void TearDownTestSuite() { server_.reset(); }

  // Runs a shell command; returns its stdout (and sets the exit status).
  static std::string run(const std::string& command, int* status = nullptr) {
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
      out.append(buffer, n);
    const int rc = ::pclose(pipe);
    if (status != nullptr) *status = rc;
    return out;
  }
  static std::string cli(const std::string& args) {
    return run("redis-cli -p " + std::to_string(server_->port()) + " " + args);
  }

  // Sends raw bytes on a fresh connection (then half-closes it when `then_eof`);
  // returns what the server sent until it closed the connection, or nullopt if it
  // did not close it within 2 s.
  static std::optional<std::string> raw_exchange(const std::string& bytes, bool then_eof = false) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return "<connect failed>";
    }
    timeval tv = {2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (then_eof) ::shutdown(fd, SHUT_WR);
    std::string out;
    char buffer[4096];
    bool closed = false;
    while (true) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n == 0) closed = true;
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!closed) return std::nullopt;
    return out;
  }

  static std::unique_ptr<RedisServer> server_;
};
std::unique_ptr<RedisServer> SimredisTest::server_;

TEST_F(SimredisTest, RedisCliWorks) {
  EXPECT_EQ(cli("SET k 5"), "OK\n");
  EXPECT_EQ(cli("INCRBY k 10"), "15\n");
  EXPECT_EQ(cli("EVAL \"return redis.call('GET', KEYS[1])\" 1 k"), "15\n");
  EXPECT_EQ(cli("HSET h f v"), "1\n");
  EXPECT_EQ(cli("GET h"), "WRONGTYPE Operation against a key holding the wrong kind of value\n\n");
}

TEST_F(SimredisTest, RedisBenchmarkRuns) {
  int status = -1;
  const std::string out = run(
      "redis-benchmark -p " + std::to_string(server_->port()) + " -n 3000 -c 8 -q -t set,get,incr",
      &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("WARNING"), std::string::npos) << out;
  EXPECT_NE(out.find("SET: "), std::string::npos) << out;
  EXPECT_NE(out.find("INCR: "), std::string::npos) << out;
}

TEST_F(SimredisTest, MalformedRequestsGetAnErrorAndOnlyThatConnectionCloses) {
  EXPECT_EQ(raw_exchange("*9999999999\r\n").value_or("<not closed>"),
            "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(raw_exchange("*1\r\n$99999999999\r\n").value_or("<not closed>"),
            "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(raw_exchange("PING\r\n*1\r\n:1\r\n").value_or("<not closed>"),
            "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n")
      << "commands before the garbage are answered";
  EXPECT_EQ(raw_exchange("*1\r\n$4\r\nQUIT\r\n").value_or("<not closed>"), "+OK\r\n");
  EXPECT_EQ(cli("PING"), "PONG\n") << "the server still serves others";
}

TEST_F(SimredisTest, RandomBytesNeverBringItDown) {
  sim::Rng rng(11);
  for (int i = 0; i < 200; ++i) {
    std::string garbage(static_cast<std::size_t>(rng.between(1, 300)), '\0');
    for (char& c : garbage)
      c = static_cast<char>(rng.below(256));
    if (i % 3 == 0) garbage.insert(0, "*3\r\n$");
    // A request may be incomplete (the server waits, as Redis does) until EOF.
    const std::optional<std::string> reply = raw_exchange(garbage + "\r\nPING\r\n", true);
    ASSERT_TRUE(reply.has_value()) << "the server closed the connection after EOF";
    if (!reply->empty()) {
      EXPECT_TRUE(reply->front() == '+' || reply->front() == '-' || reply->front() == ':' ||
                  reply->front() == '$' || reply->front() == '*')
          << *reply;
    }
  }
  EXPECT_EQ(cli("PING"), "PONG\n");
}

// README's first code block, run against simredis: blocking, then as a coroutine.
TEST_F(SimredisTest, TheQuickstartRuns) {
  int status = -1;
  const std::string out =
      run("examples/quickstart redis://127.0.0.1:" + std::to_string(server_->port()), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("blocking: visit 1, allowed"), std::string::npos) << out;
  EXPECT_NE(out.find("coroutine: visit 2, allowed"), std::string::npos) << out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The program README shows first is the one that runs above, not a copy that drifts.
TEST(Readme, TheFirstCodeBlockIsTheQuickstart) {
  const std::string readme = read_file("README.md");
  const std::string quickstart = read_file("examples/quickstart.cc");
  const std::size_t open = readme.find("```cpp\n");
  ASSERT_NE(open, std::string::npos) << "README.md has no C++ code block";
  const std::size_t begin = open + 7;
  const std::size_t close = readme.find("```", begin);
  ASSERT_NE(close, std::string::npos);
  const std::string block = readme.substr(begin, close - begin);
  EXPECT_NE(block.find("distkit::Client::connect"), std::string::npos) << block;
  EXPECT_NE(quickstart.find(block), std::string::npos)
      << "README's first code block is not in examples/quickstart.cc:\n"
      << block;
}

// The counters example, run against simredis (it works on any Redis).
TEST_F(SimredisTest, TheCountersExampleRuns) {
  int status = -1;
  const std::string out =
      run("examples/counters redis://127.0.0.1:" + std::to_string(server_->port()), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("credits: 100 -> 70 (spent)"), std::string::npos) << out;
  EXPECT_NE(out.find("page views flushed and read back: 1000"), std::string::npos) << out;
  EXPECT_NE(out.find("connections: 7 in all, 4 of them worker-2's"), std::string::npos) << out;
  EXPECT_NE(out.find("after worker-2 let go: 3"), std::string::npos) << out;
  EXPECT_NE(out.find("lax instance-aware events: 50"), std::string::npos) << out;
}

// The rate limiters example, run against simredis.
TEST_F(SimredisTest, TheRateLimitsExampleRuns) {
  int status = -1;
  const std::string out =
      run("examples/rate_limits redis://127.0.0.1:" + std::to_string(server_->port()), &status);
  EXPECT_EQ(status, 0) << out;
  // 5 per hour: the sixth permit comes 12 minutes after the first, whatever the speed.
  // The headers count down from an hour and 12 minutes by however long the checks took.
  std::smatch gcra;
  ASSERT_TRUE(std::regex_search(out, gcra,
                                std::regex("gcra: 5 of 7 allowed; RateLimit: limit=5, remaining=0, "
                                           "reset=([0-9]+); Retry-After: ([0-9]+)")))
      << out;
  EXPECT_GE(std::stoll(gcra[1]), 1);
  EXPECT_LE(std::stoll(gcra[1]), 3600) << "full capacity an hour after the first";
  EXPECT_GE(std::stoll(gcra[2]), 1);
  EXPECT_LE(std::stoll(gcra[2]), 720) << "the next permit: 12 minutes after the first";
  EXPECT_NE(out.find("sliding window: 3 of 5 exports allowed"), std::string::npos) << out;
  EXPECT_NE(out.find("resilient: decided by redis"), std::string::npos) << out;
  EXPECT_NE(out.find("invocations in the last 3 s: 27"), std::string::npos) << out;
}

}  // namespace
}  // namespace distkit::test_support
