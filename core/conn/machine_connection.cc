#include "distkit/core/conn/machine_connection.h"

#include <utility>

#include "distkit/core/seam/request_batch.h"

namespace distkit::conn {
namespace {

// The tag index that marks a lone request (its owner is a OneRequest, not a batch).
constexpr std::size_t kLone = static_cast<std::size_t>(-1);

}  // namespace

MachineConnection::MachineConnection(Executor& executor, std::unique_ptr<ByteLink> link,
                                     MachineConfig config)
    : executor_(executor), link_(std::move(link)), machine_(std::move(config)) {}

MachineConnection::~MachineConnection() {
  machine_.shutdown(now());
  drain();
  if (timer_ != 0) executor_.cancel(timer_);
}

Task<Result<RedisReply>> MachineConnection::execute(RedisCommand command) {
  auto request = std::make_shared<OneRequest>(executor_);
  RequestTag tag{request, kLone};
  machine_.submit(std::span<RedisCommand>(&command, 1), std::span<RequestTag>(&tag, 1), now());
  drain();
  co_await OneRequest::wait(request);
  co_return request->take();
}

Task<std::vector<Result<RedisReply>>> MachineConnection::execute_pipeline(
    std::vector<RedisCommand> commands) {
  auto batch = std::make_shared<RequestBatch>(commands.size(), executor_);
  tags_.clear();
  tags_.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i)
    tags_.push_back(RequestTag{batch, i});
  machine_.submit(commands, tags_, now());
  drain();
  co_await RequestBatch::wait(batch);
  co_return batch->take();
}

void MachineConnection::on_opened(Attempt attempt) {
  machine_.on_opened(attempt, now());
  drain();
}
void MachineConnection::on_open_failed(Attempt attempt, std::string why) {
  machine_.on_open_failed(attempt, std::move(why), now());
  drain();
}
void MachineConnection::on_bytes(Attempt attempt, std::string_view bytes) {
  machine_.on_bytes(attempt, bytes, now());
  drain();
}
void MachineConnection::on_write_done(Attempt attempt) {
  machine_.on_write_done(attempt, now());
  drain();
}
void MachineConnection::on_closed(Attempt attempt, std::string why) {
  machine_.on_closed(attempt, std::move(why), now());
  drain();
}

void MachineConnection::drain() {
  Action action;
  while (machine_.poll(action)) {
    if (auto* complete = std::get_if<Complete>(&action)) {
      if (complete->tag.index == kLone) {
        OneRequest::complete(std::static_pointer_cast<OneRequest>(complete->tag.owner),
                             std::move(complete->outcome));
      } else {
        RequestBatch::complete(std::static_pointer_cast<RequestBatch>(complete->tag.owner),
                               complete->tag.index, std::move(complete->outcome));
      }
    } else if (const auto* write = std::get_if<Write>(&action)) {
      link_->write(write->attempt, write->bytes);
    } else if (const auto* arm = std::get_if<ArmTimer>(&action)) {
      if (timer_ != 0) executor_.cancel(timer_);
      timer_ = executor_.schedule_at(arm->at, [this] {
        timer_ = 0;
        machine_.on_timer(now());
        drain();
      });
    } else if (const auto* open = std::get_if<Open>(&action)) {
      link_->open(open->attempt, *this);
    } else if (const auto* close = std::get_if<Close>(&action)) {
      link_->close(close->attempt);
    }
  }
}

}  // namespace distkit::conn
