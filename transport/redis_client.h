// RedisClient: a RedisConnection to a real Redis over one TCP connection, on an
// AsioRuntime. It is core/conn's MachineConnection over an Asio socket: the state
// machine (core/conn/connection_machine.h, rules R1..R13) decides everything, and it
// is the very one the simulator runs. This file holds only the socket driver.
//
// - Automatic pipelining: commands from any number of coroutines are queued and
//   written together; replies are matched in order.
// - Outcomes (core/seam/redis_connection.h): a request written to a connection that then
//   times out, drops, or sends garbage completes with kUnknownOutcome (the one whose
//   reply was garbage with kProtocolError); it is never resent. A request not yet
//   written waits for a connection until its deadline, then fails with kUnavailable.
// - One request timeout covers waiting and flight: a written request past it is
//   UNKNOWN (its late reply discarded). A connection silent for that long with
//   requests pending is presumed dead: closed, its requests UNKNOWN.
// - Reconnects on demand with exponential backoff and jitter; AUTH, CLIENT SETNAME and
//   SELECT (or HELLO 2) run first, and nothing else is written until they succeed.
// - Bounded: max pending requests and bytes; beyond them kResourceExhausted.
// - Optional health check: a PING whenever the connection has been idle that long.
//
// Thread safety: use it from tasks running on the runtime's thread (spawn or
// block_on on the runtime). Destroy it on that thread or after the runtime stopped.
#ifndef DISTKIT_TRANSPORT_REDIS_CLIENT_H_
#define DISTKIT_TRANSPORT_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "distkit/core/conn/machine_connection.h"
#include "distkit/core/resp/resp.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/transport/runtime.h"

namespace distkit::transport {

struct RedisClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // AUTH username password (Redis 6 ACL), if set
  std::string password;  // AUTH password, if set
  int database = 0;      // SELECT, if not 0
  Duration request_timeout = std::chrono::seconds(1);
  Duration connect_timeout = std::chrono::seconds(1);
  std::size_t max_pending_requests = 100'000;
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  Duration reconnect_min_backoff = std::chrono::milliseconds(10);
  Duration reconnect_max_backoff = std::chrono::seconds(1);
  Duration health_check_interval = std::chrono::seconds(0);  // 0: off
  std::string client_name;  // CLIENT SETNAME, if set (shows in CLIENT LIST)
  bool hello = false;       // HELLO 2 with AUTH and SETNAME in one round trip (Redis >= 6)
  // TLS (rediss:// sets `tls`). The server's certificate is verified by default,
  // against `tls_ca_file` (PEM) or else the system's authorities, and must name
  // `tls_server_name` (default: host; an IP address is checked as one). A client
  // certificate (`tls_cert_file`, key in `tls_key_file` or the same file) for servers
  // that ask for one (Redis's tls-auth-clients).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;
  bool tls_verify_peer = true;  // false only for tests against self-signed servers
  std::string tls_cert_file;
  std::string tls_key_file;
  RespReplyLimits reply_limits;
};

// redis://[[username]:password@]host[:port][/database], or rediss://... for TLS.
// Clear kInvalidArgument errors for anything else.
[[nodiscard]] Result<RedisClientOptions> parse_redis_url(std::string_view url,
                                                         RedisClientOptions defaults = {});

using RedisClientStats = conn::ConnectionStats;

class RedisClient final : public RedisConnection {
 public:
  RedisClient(AsioRuntime& runtime, RedisClientOptions options);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  Task<Result<RedisReply>> execute(RedisCommand command) override;
  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override;

  [[nodiscard]] bool connected() const;
  [[nodiscard]] RedisClientStats stats() const;

 private:
  std::unique_ptr<conn::MachineConnection> connection_;
};

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_REDIS_CLIENT_H_
