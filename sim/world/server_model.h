// ServerModel: what a simulated Redis server node runs. The World delivers each
// command that reaches the server, one at a time in arrival order, and carries the
// reply back over the simulated network. The in-memory Redis (keyspace, commands,
// Lua) implements this interface; tests may use a small fake.
#ifndef DISTKIT_SIM_WORLD_SERVER_MODEL_H_
#define DISTKIT_SIM_WORLD_SERVER_MODEL_H_

#include <cstdint>

#include "distkit/core/async/clock.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/core/seam/redis_reply.h"
#include "distkit/sim/world/rng.h"

namespace distkit::sim {

// One client connection as the server sees it (for per-connection state such as
// MULTI). Never reused within a run.
using ClientId = std::uint64_t;

// What the server knows while it runs one command.
struct ServerEnv {
  // The server's own clock: TIME, expiry and script time come from here.
  WallTime now;
  // The server's random stream (math.random in scripts, random eviction...).
  Rng* rng;
  // Set by the model when the command ran slowly (a slow script): the server stays
  // busy this much longer, delaying this reply and every command behind it.
  Duration extra_busy{0};
};

enum class DataLoss : std::uint8_t {
  kNone,          // a restart that kept its data (e.g. a persisted restart)
  kAll,           // a restart without persistence: the keyspace is empty
  kRecentWrites,  // failover to a replica that missed the most recent writes
};

// States in which a real Redis answers commands with an error instead of running them
// (refused before they run: nothing is written).
enum class ServerCondition : std::uint8_t {
  kNormal,
  kLoading,      // LOADING: after a restart, until the dataset is in memory
  kBusyScript,   // BUSY: another client's script has run past its time limit
  kOutOfMemory,  // OOM: memory above maxmemory: commands that may grow it are refused
  kReadOnly,     // READONLY: the node is a replica now (a failover demoted it)
  kMasterDown,   // MASTERDOWN: a replica lost its master (replica-serve-stale-data no)
};

// Contract: called only from the simulation's thread; execute() must return a reply
// (errors as error replies), never block, never throw.
class ServerModel {
 public:
  virtual ~ServerModel() = default;
  virtual RedisReply execute(ClientId client, const RedisCommand& command, ServerEnv& env) = 0;
  // `client`'s connection is gone; drop its per-connection state.
  virtual void disconnect(ClientId client) = 0;
  // The process restarted: connections and the script cache are gone; the data is
  // kept, emptied or rolled back as `loss` says.
  virtual void restart(DataLoss loss, ServerEnv& env) = 0;
  // SCRIPT FLUSH from outside: every client's next EVALSHA gets NOSCRIPT.
  virtual void flush_scripts() = 0;
  // From now on, answer as a Redis in `condition` would (kNormal: as usual). A model
  // that does not model conditions ignores it.
  virtual void set_condition(ServerCondition condition) { (void)condition; }
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_SERVER_MODEL_H_
