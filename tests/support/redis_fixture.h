// Test fixtures that run real Redis processes: a single redis-server on a free
// loopback port, and a local Redis Cluster of N masters built with
// `redis-cli --cluster create`.
//
// Guarantees:
// - No fixed ports: each server binds a port the kernel reported free (retried if
//   another process takes it first), so runs side by side do not collide.
// - No persistence (`--save "" --appendonly no`); every file a server writes lives in
//   one private temporary directory (under $TEST_TMPDIR inside `bazel test`).
// - The processes always stop: on stop(), in the destructor (also when a test
//   fails), on SIGINT/SIGTERM/SIGHUP to the test process (a handler kills them and
//   removes their files before the process dies as it would have), and if the test
//   process dies any other way (the kernel kills them: PR_SET_PDEATHSIG). Only in
//   that last case can the directory stay behind; bazel removes $TEST_TMPDIR.
//
// Binaries: $DISTKIT_REDIS_SERVER and $DISTKIT_REDIS_CLI if set, else found on PATH.
// Start fixtures from the thread that will outlive them (normally the test's main
// thread): the kernel ties PR_SET_PDEATHSIG to the thread that forked.
#ifndef DISTKIT_TESTS_REDIS_FIXTURE_H_
#define DISTKIT_TESTS_REDIS_FIXTURE_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit::test_support {

struct RedisServerOptions {
  // Another RESP server to run instead of redis-server (e.g. tools/simredis): it is
  // started as `<server_binary> --port <port> --bind 127.0.0.1` and nothing else.
  std::string server_binary;
  // Run with `--cluster-enabled yes` (and a private cluster bus port).
  bool cluster_enabled = false;
  // Also serve TLS on tls_port(): a certificate authority, a server certificate for
  // 127.0.0.1 and a client certificate are made for the server (openssl CLI). Client
  // certificates are optional (tls-auth-clients optional).
  bool tls = false;
  // More redis-server arguments, e.g. {"--maxmemory", "10mb"}.
  std::vector<std::string> extra_args;
  std::chrono::milliseconds startup_timeout{10'000};
};

class RedisServer {
 public:
  // Starts a server and waits until it answers PING.
  [[nodiscard]] static Result<std::unique_ptr<RedisServer>> start(RedisServerOptions options = {});

  // Stops the server and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] const std::string& host() const { return host_; }
  [[nodiscard]] int port() const { return port_; }
  // "127.0.0.1:6379".
  [[nodiscard]] std::string address() const;
  // "redis://127.0.0.1:6379".
  [[nodiscard]] std::string url() const;
  // With options.tls: the TLS port and the PEM files a client needs.
  [[nodiscard]] int tls_port() const { return tls_port_; }
  [[nodiscard]] std::string tls_ca_file() const { return directory_ + "/ca.crt"; }
  [[nodiscard]] std::string tls_client_cert_file() const { return directory_ + "/client.crt"; }
  [[nodiscard]] std::string tls_client_key_file() const { return directory_ + "/client.key"; }
  // The process id while running, else 0.
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() const { return pid_ != 0; }
  // Where the server's files (log, nodes.conf) live.
  [[nodiscard]] const std::string& directory() const { return directory_; }

  // Runs one command on a fresh blocking connection. A server error reply is returned
  // as a reply (is_error()), not as a Status; a connection that fails gives
  // kUnavailable, a reply that never comes kUnknownOutcome.
  [[nodiscard]] Result<RedisReply> command(
      const std::vector<std::string>& argv,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // Kills the process with SIGKILL, as a crash would: memory is lost, the directory
  // (and a cluster node's identity in nodes.conf) stays for restart(). Idempotent.
  // Until restart() the port stays reserved (bound, not listening: a connection is
  // refused), so another process, such as a test run beside this one, cannot take it
  // and answer in the dead server's place.
  Status kill();
  // Starts the process again on the same port with the same options.
  // REQUIRES: !running().
  Status restart();
  // Graceful stop (SIGTERM, SIGKILL after 5 s), then removes the directory. Idempotent.
  Status stop();

  // The last `max_bytes` of the server's log, for failure messages.
  [[nodiscard]] std::string log_tail(size_t max_bytes = 2000) const;

 private:
  RedisServer(RedisServerOptions options, std::string directory, int cleanup_slot);
  Result<std::vector<std::string>> command_line(int port, int bus_port) const;
  Status launch(int port, int bus_port);
  Status wait_until_ready();
  Status make_tls_files() const;

  RedisServerOptions options_;
  std::string host_ = "127.0.0.1";
  std::string directory_;
  int cleanup_slot_;
  int port_ = 0;
  int bus_port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = 0;
  // While killed: sockets holding port_ and bus_port_ (-1: none).
  int held_port_fd_ = -1;
  int held_bus_port_fd_ = -1;
  void release_held_ports();
};

class RedisCluster {
 public:
  // Starts `masters` cluster-enabled servers (no replicas), joins them with
  // `redis-cli --cluster create`, and waits until every node reports cluster_state:ok.
  // REQUIRES: masters >= 3 (redis-cli's minimum).
  [[nodiscard]] static Result<std::unique_ptr<RedisCluster>> start(int masters = 3);

  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  [[nodiscard]] const std::vector<std::unique_ptr<RedisServer>>& nodes() const { return nodes_; }
  // "127.0.0.1:port" of every node, for a client's seed list.
  [[nodiscard]] std::vector<std::string> addresses() const;
  // Stops every node. Idempotent.
  Status stop();

 private:
  RedisCluster() = default;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace distkit::test_support

#endif  // DISTKIT_TESTS_REDIS_FIXTURE_H_
