#include "distkit/core/raft/kv.h"

#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

constexpr std::uint8_t kOk = 0;
constexpr std::uint8_t kMalformed = 1;

Status bad(std::string_view what) {
  return protocol_error("raft kv: " + std::string(what));
}

std::string malformed_answer() {
  std::string out;
  put_u8(out, kMalformed);
  return out;
}

Status validate(const KvCommand& c) {
  if (c.key.empty()) return invalid_argument_error("raft kv: the key is empty");
  if (c.key.size() > kMaxKvKeyBytes)
    return invalid_argument_error("raft kv: the key is longer than " +
                                  std::to_string(kMaxKvKeyBytes) + " bytes");
  return {};
}

}  // namespace

std::string encode_kv_command(const KvCommand& c) {
  std::string out;
  put_u8(out, static_cast<std::uint8_t>(c.op));
  put_sized(out, c.key);
  if (c.op == KvOp::kPut || c.op == KvOp::kCompareAndSet) put_sized(out, c.value);
  if (c.op == KvOp::kCompareAndSet) {
    put_u8(out, c.expected ? 1 : 0);
    put_sized(out, c.expected.value_or(""));
  }
  return out;
}

Result<KvCommand> decode_kv_command(std::string_view bytes) {
  ByteReader r(bytes);
  KvCommand c;
  std::uint8_t op = 0;
  if (!r.u8(op) || op > static_cast<std::uint8_t>(KvOp::kDelete)) return bad("unknown command");
  c.op = static_cast<KvOp>(op);
  if (!r.sized(c.key)) return bad("a truncated key");
  if ((c.op == KvOp::kPut || c.op == KvOp::kCompareAndSet) && !r.sized(c.value))
    return bad("a truncated value");
  if (c.op == KvOp::kCompareAndSet) {
    std::uint8_t has_expected = 0;
    std::string expected;
    if (!r.u8(has_expected) || has_expected > 1 || !r.sized(expected))
      return bad("a truncated expected value");
    if (has_expected == 1) c.expected = std::move(expected);
  }
  if (r.left() != 0) return bad("trailing bytes after a command");
  DISTKIT_RETURN_IF_ERROR(validate(c));
  return c;
}

std::string encode_kv_answer(const KvAnswer& a) {
  std::string out;
  put_u8(out, kOk);
  put_u8(out, a.applied ? 1 : 0);
  put_u8(out, a.previous ? 1 : 0);
  put_sized(out, a.previous.value_or(""));
  return out;
}

Result<KvAnswer> decode_kv_answer(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t status = 0;
  std::uint8_t applied = 0;
  std::uint8_t found = 0;
  std::string value;
  if (!r.u8(status)) return bad("an empty answer");
  if (status == kMalformed)
    return invalid_argument_error("raft kv: the members could not parse the command");
  if (status != kOk || !r.u8(applied) || !r.u8(found) || applied > 1 || found > 1 ||
      !r.sized(value) || r.left() != 0)
    return bad("a malformed answer");
  KvAnswer a{.applied = applied == 1};
  if (found == 1) a.previous = std::move(value);
  return a;
}

std::string KvStore::apply(const Entry& entry) {
  Result<KvCommand> c = decode_kv_command(entry.data);
  if (!c.ok()) return malformed_answer();
  auto it = data_.find(c->key);
  KvAnswer answer;
  if (it != data_.end()) answer.previous = it->second;
  switch (c->op) {
    case KvOp::kGet:
      break;
    case KvOp::kPut:
      data_.insert_or_assign(std::move(c->key), std::move(c->value));
      break;
    case KvOp::kCompareAndSet:
      answer.applied = answer.previous == c->expected;
      if (answer.applied) data_.insert_or_assign(std::move(c->key), std::move(c->value));
      break;
    case KvOp::kDelete:
      answer.applied = it != data_.end();
      if (answer.applied) data_.erase(it);
      break;
  }
  return encode_kv_answer(answer);
}

std::string KvStore::query(std::string_view request) const {
  Result<KvCommand> c = decode_kv_command(request);
  if (!c.ok() || c->op != KvOp::kGet) return malformed_answer();
  KvAnswer answer;
  if (auto it = data_.find(c->key); it != data_.end()) answer.previous = it->second;
  return encode_kv_answer(answer);
}

Task<Result<KvAnswer>> KvClient::run(KvCommand command) {
  if (Status s = validate(command); !s.ok()) co_return s;
  Result<std::string> answer =
      co_await client_.request(command.op == KvOp::kGet, encode_kv_command(command));
  if (!answer.ok()) co_return answer.status();
  co_return decode_kv_answer(*answer);
}

Task<Result<std::optional<std::string>>> KvClient::put(std::string key, std::string value) {
  // (The command is built first: GCC 12 mishandles braced lists inside co_await.)
  KvCommand command{.op = KvOp::kPut, .key = std::move(key), .value = std::move(value)};
  Result<KvAnswer> a = co_await run(std::move(command));
  if (!a.ok()) co_return a.status();
  co_return std::move(a->previous);
}

Task<Result<std::optional<std::string>>> KvClient::get(std::string key) {
  KvCommand command{.op = KvOp::kGet, .key = std::move(key)};
  Result<KvAnswer> a = co_await run(std::move(command));
  if (!a.ok()) co_return a.status();
  co_return std::move(a->previous);
}

Task<Result<bool>> KvClient::compare_and_set(std::string key, std::optional<std::string> expected,
                                             std::string value) {
  KvCommand command{.op = KvOp::kCompareAndSet,
                    .key = std::move(key),
                    .value = std::move(value),
                    .expected = std::move(expected)};
  Result<KvAnswer> a = co_await run(std::move(command));
  if (!a.ok()) co_return a.status();
  co_return a->applied;
}

Task<Result<std::optional<std::string>>> KvClient::del(std::string key) {
  KvCommand command{.op = KvOp::kDelete, .key = std::move(key)};
  Result<KvAnswer> a = co_await run(std::move(command));
  if (!a.ok()) co_return a.status();
  co_return std::move(a->previous);
}

std::string KvStore::snapshot() const {
  std::string out;
  put_u64(out, data_.size());
  for (const auto& [key, value] : data_) {
    put_sized(out, key);
    put_sized(out, value);
  }
  return out;
}

Status KvStore::restore(std::string_view snapshot) {
  ByteReader r(snapshot);
  std::uint64_t count = 0;
  if (!r.u64(count) || count > r.left() / 8)
    return data_loss_error("raft kv: a snapshot with a bad count");
  std::map<std::string, std::string> data;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key, value;
    if (!r.sized(key) || !r.sized(value))
      return data_loss_error("raft kv: a snapshot cut short at pair " + std::to_string(i));
    data.emplace_hint(data.end(), std::move(key), std::move(value));
  }
  if (r.left() != 0) return data_loss_error("raft kv: bytes after the snapshot");
  data_ = std::move(data);
  return Status();
}

}  // namespace distkit::raft
