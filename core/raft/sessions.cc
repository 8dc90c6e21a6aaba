#include "distkit/core/raft/sessions.h"

#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

// Entry: u8 kind | (command: u64 client | u64 seq | command bytes)
enum class EntryKind : std::uint8_t { kRegister = 1, kCommand = 2 };
constexpr std::uint8_t kLastOutcome = static_cast<std::uint8_t>(SessionOutcome::kMalformed);

std::string answer(SessionOutcome outcome, std::string_view body = {}) {
  std::string out;
  out.reserve(1 + body.size());
  put_u8(out, static_cast<std::uint8_t>(outcome));
  out.append(body);
  return out;
}

}  // namespace

std::string encode_register_entry() {
  std::string out;
  put_u8(out, static_cast<std::uint8_t>(EntryKind::kRegister));
  return out;
}

std::string encode_command_entry(ClientId client, std::uint64_t seq, std::string_view command) {
  std::string out;
  out.reserve(17 + command.size());
  put_u8(out, static_cast<std::uint8_t>(EntryKind::kCommand));
  put_u64(out, client);
  put_u64(out, seq);
  out.append(command);
  return out;
}

Result<SessionAnswer> decode_session_answer(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t outcome = 0;
  if (!r.u8(outcome) || outcome > kLastOutcome)
    return protocol_error("raft sessions: an answer without a valid outcome");
  return SessionAnswer{static_cast<SessionOutcome>(outcome), std::string(r.rest())};
}

Result<ClientId> decode_client_id(std::string_view body) {
  if (body.size() != 8) return protocol_error("raft sessions: a client id is 8 bytes");
  return get_u64(body, 0);
}

SessionStateMachine::SessionStateMachine(StateMachine& application, SessionOptions options)
    : application_(application), options_(options) {
  if (options_.max_sessions == 0) options_.max_sessions = 1;
}

std::string SessionStateMachine::apply(const Entry& entry) {
  ByteReader r(entry.data);
  std::uint8_t kind = 0;
  if (!r.u8(kind)) return answer(SessionOutcome::kMalformed);
  if (kind == static_cast<std::uint8_t>(EntryKind::kRegister)) {
    if (r.left() != 0) return answer(SessionOutcome::kMalformed);
    while (sessions_.size() >= options_.max_sessions) {
      auto oldest = by_activity_.begin();
      sessions_.erase(oldest->second);
      by_activity_.erase(oldest);
    }
    const ClientId id = entry.index;  // unique: one entry per index
    sessions_[id] = Session{.last_active = entry.index};
    by_activity_[entry.index] = id;
    std::string body;
    put_u64(body, id);
    return answer(SessionOutcome::kRegistered, body);
  }
  ClientId client = 0;
  std::uint64_t seq = 0;
  if (kind != static_cast<std::uint8_t>(EntryKind::kCommand) || !r.u64(client) || !r.u64(seq))
    return answer(SessionOutcome::kMalformed);
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return answer(SessionOutcome::kSessionExpired);
  Session& session = it->second;
  if (seq < session.last_seq) return answer(SessionOutcome::kStale);
  if (seq > session.last_seq || (!options_.deduplicate && seq == session.last_seq)) {
    Entry command{.term = entry.term, .index = entry.index, .data = std::string(r.rest())};
    session.last_answer = application_.apply(command);
    session.last_seq = seq;
  }
  // Applied now or before (a retry): either way the session was active here.
  by_activity_.erase(session.last_active);
  session.last_active = entry.index;
  by_activity_[entry.index] = client;
  return answer(SessionOutcome::kApplied, session.last_answer);
}

std::string SessionStateMachine::query(std::string_view request) const {
  return application_.query(request);
}

std::string SessionStateMachine::snapshot() const {
  std::string out;
  put_u64(out, sessions_.size());
  for (const auto& [client, session] : sessions_) {
    put_u64(out, client);
    put_u64(out, session.last_seq);
    put_u64(out, session.last_active);
    put_sized(out, session.last_answer);
  }
  out += application_.snapshot();
  return out;
}

Status SessionStateMachine::restore(std::string_view snapshot) {
  ByteReader r(snapshot);
  std::uint64_t count = 0;
  if (!r.u64(count) || count > r.left() / 28)
    return data_loss_error("raft sessions: a snapshot with a bad count");
  std::map<ClientId, Session> sessions;
  std::map<Index, ClientId> by_activity;
  for (std::uint64_t i = 0; i < count; ++i) {
    ClientId client = 0;
    Session session;
    if (!r.u64(client) || !r.u64(session.last_seq) || !r.u64(session.last_active) ||
        !r.sized(session.last_answer))
      return data_loss_error("raft sessions: a snapshot cut short at session " + std::to_string(i));
    if (!by_activity.emplace(session.last_active, client).second ||
        !sessions.emplace(client, std::move(session)).second)
      return data_loss_error("raft sessions: a snapshot with a repeated session");
  }
  // The application's state last: restored only when the sessions parsed.
  DISTKIT_RETURN_IF_ERROR(application_.restore(r.rest()));
  sessions_ = std::move(sessions);
  by_activity_ = std::move(by_activity);
  return Status();
}

}  // namespace distkit::raft
