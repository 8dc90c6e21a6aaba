// MachineConnection: a RedisConnection made of a ConnectionMachine, a ByteLink and an
// Executor. The one implementation of the Redis connection: transport::RedisClient is
// this over an Asio link, the simulator's connect_redis this over a simulated link.
// The machine decides; this only feeds it inputs with the executor's `now`, performs
// its actions, and hands outcomes to the waiting coroutines (core/seam/request_batch.h).
//
// Thread safety: use it from tasks on its executor's thread; destroy it there.
#ifndef DISTKIT_CORE_CONN_MACHINE_CONNECTION_H_
#define DISTKIT_CORE_CONN_MACHINE_CONNECTION_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/conn/byte_link.h"
#include "distkit/core/conn/connection_machine.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit::conn {

class MachineConnection final : public RedisConnection, private LinkEvents {
 public:
  MachineConnection(Executor& executor, std::unique_ptr<ByteLink> link, MachineConfig config);
  // Pending requests complete kCancelled; the link is closed.
  ~MachineConnection() override;
  MachineConnection(const MachineConnection&) = delete;
  MachineConnection& operator=(const MachineConnection&) = delete;

  // One command without the pipeline's vectors (the hot path of every primitive).
  Task<Result<RedisReply>> execute(RedisCommand command) override;
  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override;

  [[nodiscard]] const ConnectionMachine& machine() const { return machine_; }
  [[nodiscard]] bool connected() const {
    return machine_.state() == ConnectionMachine::State::kReady;
  }

 private:
  void on_opened(Attempt attempt) override;
  void on_open_failed(Attempt attempt, std::string why) override;
  void on_bytes(Attempt attempt, std::string_view bytes) override;
  void on_write_done(Attempt attempt) override;
  void on_closed(Attempt attempt, std::string why) override;

  [[nodiscard]] MonoTime now() const { return executor_.clock().now(); }
  // Performs every action the machine has for us.
  void drain();

  Executor& executor_;
  std::unique_ptr<ByteLink> link_;
  ConnectionMachine machine_;
  Executor::TimerId timer_ = 0;
  std::vector<RequestTag> tags_;  // reused by submissions
};

}  // namespace distkit::conn

#endif  // DISTKIT_CORE_CONN_MACHINE_CONNECTION_H_
