// The Redis fixtures' own tests: they start real processes, prove the servers answer,
// and prove that stop, destruction and a termination signal leave nothing behind.
#include "distkit/tests/support/redis_fixture.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

namespace distkit::test_support {
namespace {

using std::chrono::milliseconds;

// True once nothing accepts TCP connections on 127.0.0.1:`port` (the process is
// gone), polled for up to 5 s.
bool port_closed(int port) {
  for (int i = 0; i < 500; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
                         errno == ECONNREFUSED;
    ::close(fd);
    if (refused) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(RedisServerFixture, StartsAnswersAndStops) {
  auto server = RedisServer::start();
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  RedisServer& s = **server;
  EXPECT_GT(s.port(), 0);
  EXPECT_TRUE(s.running());
  EXPECT_EQ(s.url(), "redis://127.0.0.1:" + std::to_string(s.port()));

  auto pong = s.command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status().to_string();
  EXPECT_EQ(*pong, RedisReply::simple_string("PONG"));

  auto set = s.command({"SET", "k", "v"});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(*s.command({"GET", "k"}), RedisReply::bulk_string("v"));
  // No persistence: nothing to save, so a restart would start empty.
  EXPECT_EQ(*s.command({"CONFIG", "GET", "save"}),
            RedisReply::array({RedisReply::bulk_string("save"), RedisReply::bulk_string("")}));

  const std::string directory = s.directory();
  const int port = s.port();
  EXPECT_TRUE(std::filesystem::exists(directory));
  ASSERT_TRUE(s.stop().ok());
  EXPECT_FALSE(s.running());
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_TRUE(port_closed(port));
  EXPECT_EQ(s.command({"PING"}).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(s.stop().ok()) << "stop() is idempotent";
}

TEST(RedisServerFixture, DestructorStopsTheServer) {
  std::string directory;
  int port = 0;
  {
    auto server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    directory = (*server)->directory();
    port = (*server)->port();
  }
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_TRUE(port_closed(port));
}

TEST(RedisServerFixture, ServersSideBySideGetDistinctPorts) {
  std::vector<std::unique_ptr<RedisServer>> servers;
  std::set<int> ports;
  for (int i = 0; i < 4; ++i) {
    auto server = RedisServer::start();
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    ports.insert((*server)->port());
    servers.push_back(std::move(*server));
  }
  EXPECT_EQ(ports.size(), 4u);
  // Each is its own server: a write to one is invisible to the others.
  ASSERT_TRUE(servers[0]->command({"SET", "only-here", "1"}).ok());
  EXPECT_TRUE(servers[1]->command({"GET", "only-here"})->is_nil());
}

TEST(RedisServerFixture, KillLosesDataAndRestartServesTheSamePort) {
  auto server = RedisServer::start();
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  RedisServer& s = **server;
  const int port = s.port();
  ASSERT_TRUE(s.command({"SET", "k", "v"}).ok());
  ASSERT_TRUE(s.kill().ok());
  EXPECT_FALSE(s.running());
  EXPECT_EQ(s.command({"PING"}).status().code(), StatusCode::kUnavailable);
  {
    // Nobody else (say, a test run beside this one) can take the port meanwhile.
    const int other = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    EXPECT_NE(::bind(other, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << "the dead server's port was free for anyone";
    ::close(other);
  }
  ASSERT_TRUE(s.restart().ok());
  EXPECT_EQ(s.port(), port);
  EXPECT_TRUE(s.command({"GET", "k"})->is_nil()) << "a crash without persistence loses data";
  EXPECT_EQ(s.restart().code(), StatusCode::kFailedPrecondition);
}

TEST(RedisServerFixture, ExtraArgumentsReachTheServer) {
  auto server = RedisServer::start({.extra_args = {"--maxmemory", "7mb"}});
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  EXPECT_EQ(*(*server)->command({"CONFIG", "GET", "maxmemory"}),
            RedisReply::array(
                {RedisReply::bulk_string("maxmemory"), RedisReply::bulk_string("7340032")}));
}

TEST(RedisServerFixture, BadArgumentsGiveAClearError) {
  auto server = RedisServer::start({.extra_args = {"--no-such-option", "1"}});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(server.status().message().find("exited during startup"), std::string::npos)
      << server.status().to_string();
}

// A test process stopped by SIGTERM (bazel's timeout, a Ctrl-C) takes its servers
// and their files with it.
TEST(RedisServerFixture, TerminationSignalStopsServersAndRemovesFiles) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto server = RedisServer::start({.cluster_enabled = true});
    if (!server.ok()) ::_exit(3);
    std::string line = std::to_string((*server)->port()) + " " + (*server)->directory() + "\n";
    if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      ::_exit(4);
    }
    while (true)
      ::pause();
  }
  ::close(fds[1]);
  char buffer[2048] = {0};
  ssize_t n = ::read(fds[0], buffer, sizeof buffer - 1);
  ::close(fds[0]);
  ASSERT_GT(n, 0) << "the child failed to start a server";
  int port = 0;
  char directory[1024] = {0};
  ASSERT_EQ(std::sscanf(buffer, "%d %1023s", &port, directory), 2);
  ASSERT_TRUE(std::filesystem::exists(std::string(directory) + "/nodes.conf"));

  ASSERT_EQ(::kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
      << "the handler re-raises the signal, so the process dies as it would have";
  EXPECT_TRUE(port_closed(port));
  EXPECT_FALSE(std::filesystem::exists(directory)) << directory;
}

// A test process killed outright (SIGKILL) cannot clean up, but its servers still die.
TEST(RedisServerFixture, ServersDieWithAKilledTestProcess) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto server = RedisServer::start();
    if (!server.ok()) ::_exit(3);
    std::string line = std::to_string((*server)->port()) + "\n";
    if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      ::_exit(4);
    }
    while (true)
      ::pause();
  }
  ::close(fds[1]);
  char buffer[64] = {0};
  ASSERT_GT(::read(fds[0], buffer, sizeof buffer - 1), 0);
  ::close(fds[0]);
  const int port = std::atoi(buffer);
  ASSERT_GT(port, 0);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(port_closed(port));
}

TEST(RedisClusterFixture, ThreeMastersCoverEverySlotAndStop) {
  auto cluster = RedisCluster::start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  ASSERT_EQ((*cluster)->nodes().size(), 3u);

  auto slots = (*cluster)->nodes()[0]->command({"CLUSTER", "SLOTS"});
  ASSERT_TRUE(slots.ok()) << slots.status().to_string();
  ASSERT_TRUE(slots->is_array());
  // Every slot 0..16383 is served exactly once, by one of our three nodes.
  std::vector<int> owners(16384, 0);
  std::set<int> master_ports;
  for (const RedisReply& range : slots->elements()) {
    ASSERT_GE(range.elements().size(), 3u) << range.to_string();
    const int64_t first = range.elements()[0].integer_value();
    const int64_t last = range.elements()[1].integer_value();
    const int master_port = static_cast<int>(range.elements()[2].elements()[1].integer_value());
    master_ports.insert(master_port);
    for (int64_t slot = first; slot <= last; ++slot)
      ++owners[slot];
  }
  for (int slot = 0; slot < 16384; ++slot)
    ASSERT_EQ(owners[slot], 1) << "slot " << slot;
  std::set<int> node_ports;
  for (const auto& node : (*cluster)->nodes())
    node_ports.insert(node->port());
  EXPECT_EQ(master_ports, node_ports);

  // A key is served by exactly one node; the others redirect with MOVED.
  int served = 0;
  int moved = 0;
  for (const auto& node : (*cluster)->nodes()) {
    auto reply = node->command({"SET", "{user42}:count", "1"});
    ASSERT_TRUE(reply.ok());
    if (reply->is_simple_string()) ++served;
    if (reply->error_prefix() == "MOVED") ++moved;
  }
  EXPECT_EQ(served, 1);
  EXPECT_EQ(moved, 2);

  std::vector<std::string> directories;
  std::vector<int> ports;
  for (const auto& node : (*cluster)->nodes()) {
    directories.push_back(node->directory());
    ports.push_back(node->port());
  }
  ASSERT_TRUE((*cluster)->stop().ok());
  for (size_t i = 0; i < ports.size(); ++i) {
    EXPECT_TRUE(port_closed(ports[i]));
    EXPECT_FALSE(std::filesystem::exists(directories[i]));
  }
}

TEST(RedisClusterFixture, RejectsFewerThanThreeMasters) {
  EXPECT_EQ(RedisCluster::start(2).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace distkit::test_support
