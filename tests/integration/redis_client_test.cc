// transport::RedisClient against real failure: a redis-server killed and restarted,
// connections killed with a request in flight, timeouts, a fake server that sends
// garbage or closes mid-reply, AUTH and SELECT from a URL, limits; and the reply
// parser fed random bytes.
#include "distkit/transport/redis_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidcheck/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

#include "distkit/tests/support/redis_fixture.h"
#include "distkit/transport/reply_parser.h"

namespace distkit::transport {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The overall cap of a wait for something that must happen: it only matters if the code
// under test is broken.
constexpr auto kPatience = seconds(30);

// `cmdstat_ping:calls=` of the server's INFO commandstats (0 before any PING), or -1.
int ping_calls(const test_support::RedisServer& server) {
  auto stats = server.command({"INFO", "commandstats"});
  if (!stats.ok() || !stats->is_string()) return -1;
  const std::size_t at = stats->text().find("cmdstat_ping:calls=");
  if (at == std::string::npos) return 0;
  return std::atoi(stats->text().c_str() + at + std::strlen("cmdstat_ping:calls="));
}

// PINGs until one succeeds (the client is then connected), for at most kPatience.
// Where the request timeout is short on purpose, a slow connect may time a PING out.
Task<Status> ping_until_ok(AsioRuntime& runtime, RedisClient& client) {
  const MonoTime give_up = runtime.now() + kPatience;
  while (true) {
    Result<RedisReply> pong = co_await client.command("PING");
    if (pong.ok() || runtime.now() >= give_up) co_return pong.status();
    co_await sleep_for(runtime, milliseconds(10));
  }
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_ = AsioRuntime::start(); }
  void TearDown() override { runtime_.reset(); }

  // Timeouts long enough that no request of a test that is not about them runs out of
  // time however slow the machine (a request that must fail waits this long).
  RedisClientOptions options(int port) {
    RedisClientOptions o;
    o.port = static_cast<std::uint16_t>(port);
    o.request_timeout = seconds(5);
    o.connect_timeout = seconds(5);
    o.reconnect_min_backoff = milliseconds(5);
    o.reconnect_max_backoff = milliseconds(50);
    return o;
  }

  // Runs `body` on the runtime with a client for `o`, to completion.
  template <typename Body>
  void with_client(RedisClientOptions o, Body body) {
    block_on(*runtime_, [](AsioRuntime& rt, RedisClientOptions opts, Body b) -> Task<void> {
      RedisClient client(rt, opts);
      co_await b(client);
    }(*runtime_, std::move(o), std::move(body)));
  }

  std::unique_ptr<AsioRuntime> runtime_;
};

TEST(RedisUrl, ParsesAndRejectsClearly) {
  auto o = parse_redis_url("redis://user:p%40ss@cache.local:6380/3");
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->host, "cache.local");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->username, "user");
  EXPECT_EQ(o->password, "p%40ss");
  EXPECT_EQ(o->database, 3);
  auto p = parse_redis_url("redis://:secret@10.0.0.1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->password, "secret");
  EXPECT_EQ(p->username, "");
  EXPECT_EQ(p->port, 6379);
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
                          "redis://h:abc"}) {
    EXPECT_EQ(parse_redis_url(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(RedisClientTest, ReconnectsAfterTheServerIsKilledAndRestarted) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  test_support::RedisServer& s = **server;
  with_client(options(s.port()), [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("SET", "k", "v")).ok());
    EXPECT_TRUE(s.kill().ok());
    Result<RedisReply> down = co_await client.command("GET", "k");
    EXPECT_TRUE(down.status().code() == StatusCode::kUnknownOutcome ||
                down.status().code() == StatusCode::kUnavailable)
        << down.status().to_string();
    Result<RedisReply> still_down = co_await client.command("GET", "k");
    EXPECT_EQ(still_down.status().code(), StatusCode::kUnavailable)
        << still_down.status().to_string();
    EXPECT_NE(still_down.status().message().find("127.0.0.1"), std::string::npos);
    EXPECT_TRUE(s.restart().ok());
    Result<RedisReply> back = co_await client.command("GET", "k");
    EXPECT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_TRUE(back->is_nil()) << "a restarted server without persistence is empty";
    EXPECT_GE(client.stats().connects, 2u);
  });
}

TEST_F(RedisClientTest, ARequestInFlightWhenTheConnectionDropsIsUnknown) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok());
  test_support::RedisServer& s = **server;
  // Long timeouts and a BLPOP that blocks forever: only the kill can end it, however
  // slow the machine.
  RedisClientOptions o = options(s.port());
  o.request_timeout = seconds(60);
  with_client(o, [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("PING")).ok());
    // Kill our connection from another one once BLPOP waits on the server.
    std::atomic<bool> saw_blocked{false};
    std::thread killer([&] {
      const auto give_up = std::chrono::steady_clock::now() + kPatience;
      while (std::chrono::steady_clock::now() < give_up) {
        auto info = s.command({"INFO", "clients"});
        if (info.ok() && info->text().find("blocked_clients:1\r\n") != std::string::npos) {
          saw_blocked = true;
          break;
        }
        std::this_thread::sleep_for(milliseconds(1));
      }
      if (saw_blocked) {
        (void)s.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
      } else {
        (void)s.command({"LPUSH", "nothing", "x"});  // broken: end the BLPOP, not the test
      }
    });
    Result<RedisReply> blocked = co_await client.command("BLPOP", "nothing", "0");
    killer.join();
    EXPECT_TRUE(saw_blocked) << "BLPOP never blocked on the server";
    EXPECT_EQ(blocked.status().code(), StatusCode::kUnknownOutcome) << blocked.status().to_string();
    EXPECT_NE(blocked.status().message().find("lost"), std::string::npos)
        << "ended by the kill, not a timeout: " << blocked.status().to_string();
    EXPECT_TRUE((co_await client.command("PING")).ok()) << "and the next request reconnects";
  });
}

TEST_F(RedisClientTest, ATimeoutMakesEveryRequestInFlightUnknown) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok());
  RedisClientOptions o = options((*server)->port());
  o.request_timeout = milliseconds(500);
  with_client(o, [&](RedisClient& client) -> Task<void> {
    // Connected first, so both requests are written at once (none waits for a
    // connection); BLPOP 0 blocks forever, so only the client's timeout ends them.
    Status connected = co_await ping_until_ok(*runtime_, client);
    EXPECT_TRUE(connected.ok()) << connected.to_string();
    const std::uint64_t losses = client.stats().connection_losses;
    std::vector<RedisCommand> commands;
    commands.push_back({"BLPOP", "nothing", "0"});
    commands.push_back({"INCR", "after"});
    std::vector<Result<RedisReply>> got = co_await client.execute_pipeline(std::move(commands));
    EXPECT_EQ(got[0].status().code(), StatusCode::kUnknownOutcome) << got[0].status().to_string();
    EXPECT_NE(got[0].status().message().find("no reply"), std::string::npos)
        << got[0].status().to_string();
    EXPECT_EQ(got[1].status().code(), StatusCode::kUnknownOutcome)
        << "queued behind it on the same connection: it may still run";
    EXPECT_EQ(client.stats().connection_losses - losses, 1u);
    Status back = co_await ping_until_ok(*runtime_, client);
    EXPECT_TRUE(back.ok()) << "and it reconnects: " << back.to_string();
  });
}

TEST_F(RedisClientTest, AuthAndSelectComeFromTheUrl) {
  auto server = test_support::RedisServer::start({.extra_args = {"--requirepass", "s3cret"}});
  ASSERT_TRUE(server.ok());
  const int port = (*server)->port();
  auto url = [&](const std::string& credentials, int db) {
    auto o = parse_redis_url(
        "redis://" + credentials + "127.0.0.1:" + std::to_string(port) + "/" + std::to_string(db),
        options(port));
    EXPECT_TRUE(o.ok());
    return *o;
  };
  with_client(url(":wrong@", 0), [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> r = co_await client.command("PING");
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("WRONGPASS"), std::string::npos) << r.status().to_string();
  });
  with_client(url(":s3cret@", 2), [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("SET", "where", "two")).ok());
  });
  with_client(url(":s3cret@", 0), [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("GET", "where"))->is_nil()) << "db 2 is not db 0";
  });
}

// The handshake names the connection (CLIENT SETNAME) and HELLO 2 carries AUTH and
// SETNAME in one round trip on Redis >= 6.
TEST_F(RedisClientTest, TheHandshakeNamesTheConnection) {
  auto server = test_support::RedisServer::start({.extra_args = {"--requirepass", "pw"}});
  ASSERT_TRUE(server.ok());
  RedisClientOptions o = options((*server)->port());
  o.password = "pw";
  o.client_name = "distkit-test";
  with_client(o, [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> name = co_await client.command("CLIENT", "GETNAME");
    EXPECT_EQ(*name, RedisReply::bulk_string("distkit-test"));
  });
  o.hello = true;
  o.client_name = "via-hello";
  with_client(o, [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> name = co_await client.command("CLIENT", "GETNAME");
    EXPECT_EQ(*name, RedisReply::bulk_string("via-hello"));
    EXPECT_EQ(client.stats().connects, 1u);
  });
}

// rediss:// against redis-server's TLS port, with a certificate authority made for the
// test: verified by default (the server must be signed by the CA and name the host),
// a client certificate when the server asks, and clear failures otherwise.
TEST_F(RedisClientTest, TlsVerifiesTheServerAndCarriesTraffic) {
  auto server = test_support::RedisServer::start({.tls = true});
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  const test_support::RedisServer& s = **server;
  Result<RedisClientOptions> url = parse_redis_url(
      "rediss://127.0.0.1:" + std::to_string(s.tls_port()) + "/0", options(s.tls_port()));
  ASSERT_TRUE(url.ok()) << url.status().to_string();
  EXPECT_TRUE(url->tls);
  RedisClientOptions o = *url;
  o.tls_ca_file = s.tls_ca_file();
  with_client(o, [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("SET", "secure", "yes")).ok());
    Result<RedisReply> got = co_await client.command("GET", "secure");
    EXPECT_EQ(*got, RedisReply::bulk_string("yes"));
  });
  // With a client certificate (mutual TLS).
  RedisClientOptions mutual = o;
  mutual.tls_cert_file = s.tls_client_cert_file();
  mutual.tls_key_file = s.tls_client_key_file();
  with_client(mutual, [&](RedisClient& client) -> Task<void> {
    EXPECT_EQ(*(co_await client.command("GET", "secure")), RedisReply::bulk_string("yes"));
  });
  // Each broken setting fails the PING UNAVAILABLE (never sent), naming the reason
  // when there is one to name ("" when none is asserted).
  const auto refused = [&](RedisClientOptions broken, std::string why) {
    broken.request_timeout = seconds(3);  // it must fail: no need to wait 5 s
    with_client(broken, [&](RedisClient& client) -> Task<void> {
      Result<RedisReply> r = co_await client.command("PING");
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().to_string();
      EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().to_string();
    });
  };
  // Not signed by a trusted authority (the system's, here).
  RedisClientOptions untrusted = o;
  untrusted.tls_ca_file.clear();
  refused(untrusted, "certificate verify failed");
  // Signed, but for another name.
  RedisClientOptions wrong_name = o;
  wrong_name.tls_server_name = "redis.example.com";
  refused(wrong_name, "");
  // A CA file that does not exist: every attempt fails with the reason.
  RedisClientOptions missing = o;
  missing.tls_ca_file = s.directory() + "/no-such-ca.crt";
  refused(missing, "no-such-ca.crt");
  // TLS to the plain port: the handshake fails, nothing hangs.
  RedisClientOptions plain = o;
  plain.port = static_cast<std::uint16_t>(s.port());
  refused(plain, "");
}

TEST_F(RedisClientTest, LimitsAndRefusedConnections) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok());
  RedisClientOptions o = options((*server)->port());
  o.max_pending_requests = 3;
  with_client(o, [&](RedisClient& client) -> Task<void> {
    std::vector<Result<RedisReply>> got =
        co_await client.execute_pipeline(std::vector<RedisCommand>(4, RedisCommand(1, "PING")));
    for (const auto& r : got)
      EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
    EXPECT_TRUE((co_await client.command("PING")).ok());
  });
  const int port = (*server)->port();
  ASSERT_TRUE((*server)->stop().ok());
  with_client(options(port), [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> r = co_await client.command("PING");
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().to_string();
  });
}

TEST_F(RedisClientTest, PendingBytesAreBoundedToo) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok());
  RedisClientOptions o = options((*server)->port());
  o.max_pending_bytes = 100;
  with_client(o, [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> big = co_await client.command("SET", "k", std::string(200, 'x'));
    EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted) << big.status().to_string();
    EXPECT_TRUE((co_await client.command("SET", "k", "small")).ok());
  });
}

TEST_F(RedisClientTest, AnIdleConnectionIsHealthChecked) {
  auto server = test_support::RedisServer::start();
  ASSERT_TRUE(server.ok());
  const test_support::RedisServer& s = **server;
  const int before = ping_calls(s);  // the fixture's own readiness PING
  ASSERT_GE(before, 0);
  RedisClientOptions o = options(s.port());
  o.health_check_interval = milliseconds(40);
  with_client(o, [&](RedisClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("SET", "k", "v")).ok());
    // The client sends nothing else: every PING the server counts from now on is a
    // health check of the idle connection. Wait for three.
    const MonoTime give_up = runtime_->now() + kPatience;
    int pings = 0;
    while ((pings = ping_calls(s) - before) < 3 && runtime_->now() < give_up)
      co_await sleep_for(*runtime_, milliseconds(10));
    EXPECT_GE(pings, 3) << "a PING each 40 ms of idleness";
    EXPECT_EQ(client.stats().connects, 1u) << "answered on the same connection";
  });
}

// A fake server that answers each connection with the next scripted bytes, then
// closes it.
class FakeServer {
 public:
  explicit FakeServer(std::vector<std::string> answers) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this, answers = std::move(answers)] {
      for (const std::string& answer : answers) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buffer[1024];
        (void)::recv(client, buffer, sizeof buffer, 0);
        (void)::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
        std::this_thread::sleep_for(milliseconds(20));
        ::close(client);
      }
    });
  }
  ~FakeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(RedisClientTest, GarbageAndMidReplyClosesGiveErrorsNotCrashesAndItReconnects) {
  FakeServer fake({"%garbage\r\n", "$10\r\nabc", "+PONG\r\n"});
  with_client(options(fake.port()), [&](RedisClient& client) -> Task<void> {
    Result<RedisReply> garbage = co_await client.command("PING");
    EXPECT_EQ(garbage.status().code(), StatusCode::kProtocolError) << garbage.status().to_string();
    Result<RedisReply> cut = co_await client.command("PING");
    EXPECT_EQ(cut.status().code(), StatusCode::kUnknownOutcome) << cut.status().to_string();
    Result<RedisReply> fine = co_await client.command("PING");
    EXPECT_EQ(*fine, RedisReply::simple_string("PONG"));
    EXPECT_EQ(client.stats().protocol_errors, 1u);
  });
}

// The reply parser never crashes on random bytes, and any split of a valid stream
// parses the same.
RC_GTEST_PROP(ReplyParser, RandomBytesGiveRepliesOrAProtocolError, ()) {
  const std::string bytes = *rc::gen::oneOf(
      rc::gen::arbitrary<std::string>(),
      rc::gen::map(
          rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(std::vector<std::string>{
              "*", "$", "+", "-", ":", "1", "2", "-1", "\r\n", "OK", "\r", "x"})),
          [](const std::vector<std::string>& parts) {
            std::string s;
            for (const auto& p : parts)
              s += p;
            return s;
          }));
  ReplyParser parser;
  parser.feed(bytes);
  for (int i = 0; i < 10000; ++i) {
    auto next = parser.next();
    if (!next) break;
    if (!next->ok()) {
      RC_ASSERT(next->status().code() == StatusCode::kProtocolError);
      RC_ASSERT(!parser.next()->ok());  // final
      break;
    }
  }
}

TEST(ReplyParser, SplitFeedingAndEncoding) {
  const std::string stream = "*3\r\n:1\r\n$3\r\nabc\r\n*-1\r\n+OK\r\n-ERR no\r\n$-1\r\n";
  for (std::size_t split = 1; split < stream.size(); ++split) {
    ReplyParser parser;
    std::vector<RedisReply> got;
    parser.feed(stream.substr(0, split));
    while (auto r = parser.next())
      got.push_back(**r);
    parser.feed(stream.substr(split));
    while (auto r = parser.next())
      got.push_back(**r);
    ASSERT_EQ(got.size(), 4u) << split;
    EXPECT_EQ(got[0], RedisReply::array({RedisReply::integer(1), RedisReply::bulk_string("abc"),
                                         RedisReply::nil()}));
    EXPECT_EQ(got[2], RedisReply::error("ERR no"));
  }
  constexpr char kExpected[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n";
  EXPECT_EQ(encode_command({"SET", "k", std::string("a\0b", 3)}),
            std::string(kExpected, sizeof kExpected - 1));
}

// The Executor contract: cancel() of a timer that has not run means it never runs,
// even when the timer has already expired and Asio has queued its handler (found as a
// crash: a background loop's sleeping frame was destroyed, then resumed).
TEST(AsioRuntime, ACancelledTimerNeverRunsEvenAfterItExpired) {
  auto runtime = AsioRuntime::start();
  std::atomic<int> ran{0};
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> cancelled{false};
    runtime->post([&] {
      const Executor::TimerId id = runtime->schedule_after(Duration(0), [&] { ++ran; });
      // Let the deadline pass while the runtime thread is busy here: the handler is
      // then queued, and Asio could no longer cancel it.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (std::chrono::steady_clock::now() < until) {
      }
      EXPECT_TRUE(runtime->cancel(id));
      cancelled = true;
    });
    while (!cancelled)
      std::this_thread::yield();
  }
  // Everything queued has run by now (a timer posted after them completes after them).
  std::atomic<bool> drained{false};
  runtime->schedule_after(milliseconds(20), [&] { drained = true; });
  while (!drained)
    std::this_thread::yield();
  EXPECT_EQ(ran.load(), 0);
  // And a timer cancelled from another thread never runs either, also once its deadline
  // has long passed. The runtime thread is held (by a task waiting on a future, not by
  // timing) from before the timer is armed until after it is cancelled, so nothing can
  // run it in between, whether or not its deadline passes meanwhile.
  std::promise<void> holding, release;
  runtime->post([&holding, released = release.get_future().share()] {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  const MonoTime deadline = runtime->now() + milliseconds(50);
  const Executor::TimerId later = runtime->schedule_at(deadline, [&] { ++ran; });
  EXPECT_TRUE(runtime->cancel(later));
  EXPECT_FALSE(runtime->cancel(later)) << "only once";
  release.set_value();
  // A timer due after the cancelled one's deadline runs after it would have.
  std::promise<void> past;
  runtime->schedule_at(deadline + milliseconds(50), [&] { past.set_value(); });
  past.get_future().wait();
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace distkit::transport
