// Redis Cluster's key space: hash slots, the keys a command touches, and the
// redirections a node answers with. Pure functions, shared by the cluster client
// (cluster_connection.h) and the simulated cluster nodes (sim/redis).
#ifndef DISTKIT_CORE_CLUSTER_SLOTS_H_
#define DISTKIT_CORE_CLUSTER_SLOTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit::cluster {

constexpr int kClusterSlots = 16384;

// CRC16 (XMODEM) of the key's hash tag (the part between the first '{' and the next
// '}', if non-empty) or of the whole key, modulo 16384.
[[nodiscard]] std::uint16_t key_slot(std::string_view key);

// The keys a command touches, as Redis Cluster routes them (first key for most
// commands; all for DEL, EXISTS, MGET, ...; KEYS of EVAL/EVALSHA; every other
// argument of MSET). Empty for commands without keys.
[[nodiscard]] std::vector<std::string_view> command_keys(const RedisCommand& command);

// The slot of a command's keys: nothing for keyless commands; kInvalidArgument
// (CROSSSLOT) when they span slots.
[[nodiscard]] Result<std::optional<std::uint16_t>> command_slot(const RedisCommand& command);

// Commands every master must run (SCRIPT LOAD/EXISTS/FLUSH, FLUSHALL, FLUSHDB): a
// script must be cached where its keys live.
[[nodiscard]] bool is_broadcast(const RedisCommand& command);

// "host:port" split at its last ':'; nothing unless the port is 1..65535. The host may
// be empty ("", or "?" from a node with cluster-preferred-endpoint-type unknown or
// hostname unset): the caller supplies the host of the node that answered.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] std::optional<HostPort> split_address(std::string_view address);

// A MOVED or ASK error's text, e.g. "MOVED 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  std::string address;
};
// Nothing when `line` is not a well-formed MOVED or ASK.
[[nodiscard]] std::optional<Redirect> parse_redirect(std::string_view line);

}  // namespace distkit::cluster

#endif  // DISTKIT_CORE_CLUSTER_SLOTS_H_
