// FakeRedisModel: a small ServerModel for simulator tests until the in-memory Redis
// lands: string keys, integer counters, TIME, and "scripts" implemented in C++ and
// registered by source text, with Redis's script cache semantics (EVALSHA of an
// unknown SHA gives NOSCRIPT; EVAL caches; SCRIPT FLUSH and restarts forget).
// It records every command it executed, so tests can tell what really ran.
#ifndef DISTKIT_TESTS_FAKE_REDIS_MODEL_H_
#define DISTKIT_TESTS_FAKE_REDIS_MODEL_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "distkit/sim/world/server_model.h"

namespace distkit::test_support {

class FakeRedisModel final : public sim::ServerModel {
 public:
  using Data = std::map<std::string, std::string>;
  using ScriptFn = std::function<RedisReply(const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args, Data& data)>;

  // A replica copies the data at most this often (server time); a failover
  // (DataLoss::kRecentWrites) rolls back to that copy.
  explicit FakeRedisModel(Duration replication_lag = std::chrono::milliseconds(100))
      : replication_lag_(replication_lag) {}

  // EVAL/EVALSHA of `source` run `fn`.
  void register_script(const std::string& source, ScriptFn fn);

  RedisReply execute(sim::ClientId client, const RedisCommand& command,
                     sim::ServerEnv& env) override;
  void disconnect(sim::ClientId client) override { clients_.erase(client); }
  void restart(sim::DataLoss loss, sim::ServerEnv& env) override;
  void flush_scripts() override { loaded_.clear(); }

  [[nodiscard]] const Data& data() const { return data_; }
  // Every command executed, in order (errors included).
  [[nodiscard]] const std::vector<RedisCommand>& executed() const { return executed_; }
  [[nodiscard]] std::size_t connected_clients() const { return clients_.size(); }

 private:
  RedisReply run_script(const std::string& sha, const RedisCommand& command, std::size_t first);
  void before_write(WallTime now);

  Duration replication_lag_;
  Data data_;
  Data replica_;
  WallTime last_sync_{};
  std::map<std::string, ScriptFn> scripts_by_sha_;  // registered
  std::set<std::string> loaded_;                    // the server's script cache
  std::set<sim::ClientId> clients_;
  std::vector<RedisCommand> executed_;
};

}  // namespace distkit::test_support

#endif  // DISTKIT_TESTS_FAKE_REDIS_MODEL_H_
