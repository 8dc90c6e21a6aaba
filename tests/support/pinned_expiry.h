// PinnedExpiryConnection: a RedisConnection for tests that decide with a virtual
// client clock (ManualClock as a limiter's `client_clock`) against a real server.
//
// The scripts' decisions then follow the virtual clock, but the TTL a script sets
// runs on the server's real clock: a key written with a TTL of a millisecond can
// expire between two steps that the test's model sees as simultaneous, and only on a
// slow build. This decorator runs each listed script's own source wrapped so that, in
// the same atomic script call (keys do not expire while a script runs), it notes the
// TTL the script gave KEYS[1] with PEXPIRE and removes it. Keys then never expire in
// real time during the test, and the TTL each call set is recorded exactly, for the
// test to assert against its model separately.
//
// Every other command goes through unchanged.
#ifndef DISTKIT_TESTS_PINNED_EXPIRY_H_
#define DISTKIT_TESTS_PINNED_EXPIRY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/seam/redis_connection.h"

namespace distkit::test_support {

class PinnedExpiryConnection : public RedisConnection {
 public:
  // `inner` and every script must outlive this connection.
  PinnedExpiryConnection(RedisConnection& inner, std::vector<const RedisScript*> scripts);

  Task<Result<RedisReply>> execute(RedisCommand command) override;
  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override;

  // After the last wrapped call that answered: -2 when the script left no KEYS[1],
  // -1 when it left it but set no TTL (PEXPIRE), else the milliseconds of its last
  // PEXPIRE on KEYS[1]. nullopt before any such call.
  [[nodiscard]] std::optional<std::int64_t> last_ttl_ms() const { return last_ttl_ms_; }
  // Wrapped calls that answered.
  [[nodiscard]] std::uint64_t calls() const { return calls_; }

 private:
  // The wrapped form of `command` if it calls a listed script, else `command`.
  [[nodiscard]] RedisCommand rewrite(RedisCommand command) const;
  // Unwraps {reply, ttl}; records the TTL.
  Result<RedisReply> unwrap(Result<RedisReply> reply);

  RedisConnection& inner_;
  std::map<std::string, std::string> wrapped_by_sha_;     // original SHA1 -> wrapped source
  std::map<std::string, std::string> wrapped_by_source_;  // original source -> wrapped source
  std::optional<std::int64_t> last_ttl_ms_;
  std::uint64_t calls_ = 0;
};

}  // namespace distkit::test_support

#endif  // DISTKIT_TESTS_PINNED_EXPIRY_H_
