// distkit::Client, the front door, against a real redis-server and a real Redis
// Cluster: URLs, one shape of factory, the blocking and coroutine forms, and stop()
// (which flushes what lax primitives still hold).
#include "distkit/client/client.h"

#include <gtest/gtest.h>

#include <string>

#include "distkit/tests/support/redis_fixture.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using test_support::IsOk;
using test_support::IsOkAndHolds;
using test_support::RedisCluster;
using test_support::RedisServer;
using test_support::StatusIs;

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string url() { return "redis://127.0.0.1:" + std::to_string(server_->port()); }
  // Slow machines (sanitizers, a loaded CI) must not turn into timeouts here.
  static ClientOptions patient() {
    return {.request_timeout = std::chrono::seconds(30),
            .connect_timeout = std::chrono::seconds(10)};
  }
  static RedisServer* server_;
};
RedisServer* ClientTest::server_ = nullptr;

TEST(ClientUrls, BadUrlsAndOptionsAreClearErrors) {
  for (const char* bad :
       {"", "http://localhost", "localhost:6379", "redis://", "redis://h:0", "redis://h:99999",
        "redis://h:1/x", "redis+cluster://", "redis+cluster://a:1,", "redis+cluster://a:1/0",
        "rediss://", "rediss+cluster://a:1/0"}) {
    EXPECT_THAT(Client::connect(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(Client::connect("redis://localhost", {.request_timeout = Duration(0)}),
              StatusIs(StatusCode::kInvalidArgument));
}

// rediss:// through the front door: the options carry the certificate authority.
TEST(ClientTls, RedissUrlsSpeakTls) {
  auto server = RedisServer::start({.tls = true});
  ASSERT_THAT(server, IsOk());
  ClientOptions options;
  options.tls_ca_file = (*server)->tls_ca_file();
  Result<std::unique_ptr<Client>> client =
      Client::connect("rediss://127.0.0.1:" + std::to_string((*server)->tls_port()), options);
  ASSERT_THAT(client, IsOk());
  Result<StrictCounter*> counter = (*client)->strict_counter({.prefix = "tls"});
  ASSERT_THAT(counter, IsOk());
  Result<std::int64_t> n = (*client)->wait((*counter)->inc("k", 2));
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 2);
  // Without the authority, the server's certificate is not trusted.
  Result<std::unique_ptr<Client>> untrusted =
      Client::connect("rediss://127.0.0.1:" + std::to_string((*server)->tls_port()), {});
  ASSERT_THAT(untrusted, IsOk());
  Result<StrictCounter*> refused = (*untrusted)->strict_counter({.prefix = "tls"});
  ASSERT_THAT(refused, IsOk());
  EXPECT_THAT((*untrusted)->wait((*refused)->inc("k", 2)), StatusIs(StatusCode::kUnavailable));
}

// Connecting is lazy: a client starts before its Redis does, and an operation on a
// server that is not there certainly did not run.
TEST(ClientDown, AServerThatIsDownIsUnavailableNotAHang) {
  Result<std::unique_ptr<Client>> client = Client::connect("redis://127.0.0.1:1");
  ASSERT_THAT(client, IsOk());
  Result<StrictCounter*> counter = (*client)->strict_counter({.prefix = "down"});
  ASSERT_THAT(counter, IsOk());
  EXPECT_THAT((*client)->wait((*counter)->inc("k")), StatusIs(StatusCode::kUnavailable));
}

TEST_F(ClientTest, EveryPrimitiveComesFromOneShapeOfFactory) {
  Result<std::unique_ptr<Client>> made = Client::connect(url(), patient());
  ASSERT_THAT(made, IsOk());
  Client& client = **made;
  EXPECT_THAT(client.strict_counter({.prefix = ""}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(client.lax_counter({.prefix = "x", .instance_id = "bad id!"}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(client.strict_counter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.lax_counter({.prefix = "shape", .instance_id = "a"}), IsOk());
  InstanceAwareCounterOptions ia;
  ia.prefix = "shape";
  ia.instance_id = "a";
  EXPECT_THAT(client.instance_aware_counter(ia), IsOk());
  LaxInstanceAwareCounterOptions lax_ia;
  lax_ia.prefix = "shape-lax";
  lax_ia.instance_id = "a";
  EXPECT_THAT(client.lax_instance_aware_counter(lax_ia), IsOk());
  EXPECT_THAT(client.gcra_limiter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.sliding_window_limiter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.suppressed_limiter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.hybrid_window_limiter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.hybrid_suppressed_limiter({.prefix = "shape"}), IsOk());
  EXPECT_THAT(client.stop(), IsOk()) << "every background task shut down";
}

Task<Result<std::int64_t>> add_twice(Client& client, StrictCounter& counter) {
  // On the client's own thread a blocking wait would never return: it says so.
  EXPECT_THAT(client.wait(counter.inc("k")), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(client.stop(), StatusIs(StatusCode::kFailedPrecondition));
  Result<std::int64_t> first = co_await counter.inc("k", 2);
  if (!first.ok()) co_return first;
  co_return co_await counter.inc("k", 3);
}

TEST_F(ClientTest, BlockingAndCoroutineFormsOfTheSameOperations) {
  Result<std::unique_ptr<Client>> made = Client::connect(url(), patient());
  ASSERT_THAT(made, IsOk());
  Client& client = **made;
  Result<StrictCounter*> counter = client.strict_counter({.prefix = "forms"});
  ASSERT_THAT(counter, IsOk());
  ASSERT_THAT(client.wait((*counter)->clear()), IsOk());
  EXPECT_THAT(client.wait((*counter)->inc("k")), IsOkAndHolds(1));
  EXPECT_THAT(client.wait(add_twice(client, **counter)), IsOkAndHolds(6));
  // An operation whose outcome is a vector comes back as a Result of it.
  std::vector<std::string> keys = {"k", "none"};
  Result<std::vector<Result<std::int64_t>>> both = client.wait((*counter)->get_all(keys));
  ASSERT_THAT(both, IsOk());
  EXPECT_THAT((*both)[0], IsOkAndHolds(6));
  EXPECT_THAT((*both)[1], IsOkAndHolds(0));
  ASSERT_THAT(client.stop(), IsOk());
  EXPECT_THAT(client.stop(), IsOk()) << "idempotent";
  EXPECT_THAT(client.wait(Task<Status>([]() -> Task<Status> { co_return Status(); }())),
              StatusIs(StatusCode::kFailedPrecondition))
      << "nothing runs after stop()";
  EXPECT_THAT(client.strict_counter({.prefix = "late"}), StatusIs(StatusCode::kFailedPrecondition));
}

// stop() shuts primitives down: a lax counter's pending increments reach Redis.
TEST_F(ClientTest, StopFlushesWhatLaxCountersHold) {
  {
    Result<std::unique_ptr<Client>> made = Client::connect(url(), patient());
    ASSERT_THAT(made, IsOk());
    Result<LaxCounter*> lax = (*made)->lax_counter(
        {.prefix = "stop", .instance_id = "a", .flush_interval = std::chrono::hours(1)});
    ASSERT_THAT(lax, IsOk());
    for (int i = 0; i < 7; ++i)
      ASSERT_THAT((*lax)->inc("pending"), IsOk());
  }  // the destructor stops the client
  Result<std::unique_ptr<Client>> reader = Client::connect(url(), patient());
  ASSERT_THAT(reader, IsOk());
  Result<StrictCounter*> strict = (*reader)->strict_counter({.prefix = "stop"});
  ASSERT_THAT(strict, IsOk());
  EXPECT_THAT((*reader)->wait((*strict)->get("pending")), IsOkAndHolds(7));
}

TEST(ClientCluster, OneUrlNamesACluster) {
  Result<std::unique_ptr<RedisCluster>> cluster = RedisCluster::start(3);
  ASSERT_THAT(cluster, IsOk());
  const std::vector<std::string> seeds = (*cluster)->addresses();
  Result<std::unique_ptr<Client>> made = Client::connect(
      "redis+cluster://" + seeds[0] + "," + seeds[1],
      {.request_timeout = std::chrono::seconds(30), .connect_timeout = std::chrono::seconds(10)});
  ASSERT_THAT(made, IsOk());
  // Families on every node (the prefix is the hash tag that picks the slot).
  for (const char* prefix : {"a", "b", "c", "d", "e", "f"}) {
    Result<StrictCounter*> counter = (*made)->strict_counter({.prefix = prefix});
    ASSERT_THAT(counter, IsOk());
    EXPECT_THAT((*made)->wait((*counter)->inc("k", 5)), IsOkAndHolds(5)) << prefix;
  }
}

}  // namespace
}  // namespace distkit
