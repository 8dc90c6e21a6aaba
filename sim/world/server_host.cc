#include <utility>

#include "distkit/sim/world/cluster_control.h"
#include "distkit/sim/world/world.h"
#include "sim/world/world_internal.h"

namespace distkit::sim {

// ---- Server side -----------------------------------------------------------------

void World::server_send_reset(NodeId server, std::uint64_t conn, NodeId client) {
  // A RST travels like any segment, but does not care whether the stream had died.
  if (auto it = streams_.find({conn, false}); it != streams_.end()) it->second->dead = false;
  send_to_client(server, client, conn, [](SimLink& link) { link.on_reset(); });
}

void World::server_receive_syn(NodeId server, std::uint64_t conn, NodeId client) {
  Node& s = node(server);
  if (!s.alive) {
    trace_event(server, "refused", conn, name(client));
    server_send_reset(server, conn, client);
    return;
  }
  s.sessions.insert_or_assign(conn, Session{client, RespRequestParser()});
  trace_event(server, "accept", conn, name(client));
  send_to_client(server, client, conn, [](SimLink& link) { link.on_syn_ack(); });
}

void World::server_receive_bytes(NodeId server, std::uint64_t conn, NodeId client,
                                 std::string bytes) {
  Node& s = node(server);
  auto session = s.sessions.find(conn);
  if (!s.alive || session == s.sessions.end()) {
    server_send_reset(server, conn, client);
    return;
  }
  RespRequestParser& parser = session->second.parser;
  parser.feed(bytes);
  const std::size_t queued = s.queue.size();
  while (std::optional<Result<RedisCommand>> next = parser.next()) {
    if (!next->ok()) {
      s.queue.push_back(Node::Queued{conn, {}, next->status()});
      break;
    }
    s.queue.push_back(Node::Queued{conn, std::move(**next), std::nullopt});
  }
  if (s.queue.size() > queued && !s.processing) {
    s.processing = true;
    node_event(server, s.incarnation, std::max(now(), s.busy_until),
               [this, server] { server_process(server); });
  }
}

void World::server_process(NodeId server) {
  Node& s = node(server);
  while (!s.queue.empty() && !s.sessions.contains(s.queue.front().conn))
    s.queue.pop_front();
  if (s.queue.empty()) {
    s.processing = false;
    return;
  }
  Node::Queued job = std::move(s.queue.front());
  s.queue.pop_front();
  const NodeId client = s.sessions.at(job.conn).client;
  if (job.protocol_error) {
    // As Redis: the error goes out, then the server closes the connection.
    trace_event(server, "protocol-error", job.conn, job.protocol_error->message());
    send_bytes_to_client(server, client, job.conn,
                         encode_reply(RedisReply::error(job.protocol_error->message())));
    send_to_client(server, client, job.conn, [](SimLink& link) { link.on_fin(); });
    s.sessions.erase(job.conn);
    s.model->disconnect(job.conn);
    server_process(server);
    return;
  }
  ServerEnv env{s.clock->wall_now(), s.rng.get(), Duration(0)};
  RedisReply reply = s.model->execute(job.conn, job.command, env);
  std::uint64_t digest = 0;
  for (const std::string& arg : job.command)
    digest = mix_hash(digest, arg);
  trace_event(server, "exec", mix_hash(digest, reply.to_string()),
              options_.record_trace ? job.command.front() + " -> " + reply.to_string() : "");
  s.busy_until = now() + s.server_options.service_time + s.slowdown + env.extra_busy;
  node_event(server, s.incarnation, s.busy_until,
             [this, server, client, conn = job.conn, reply = std::move(reply)] {
               send_bytes_to_client(server, client, conn, encode_reply(reply));
               server_process(server);
             });
}

void World::server_receive_fin(NodeId server, std::uint64_t conn) {
  Node& s = node(server);
  if (s.sessions.erase(conn) > 0) s.model->disconnect(conn);
  close_stream(conn);
}

void World::server_crash(Node& s) {
  s.alive = false;
  ++s.incarnation;
  s.queue.clear();
  s.processing = false;
  s.held.clear();
  s.paused = false;
  s.busy_until = now();
  // The process is gone; its host's kernel resets every connection.
  std::map<std::uint64_t, Session> sessions = std::move(s.sessions);
  s.sessions.clear();
  for (const auto& [conn, session] : sessions) {
    s.model->disconnect(conn);
    server_send_reset(s.id, conn, session.client);
  }
}

// ---- Redis server faults ---------------------------------------------------------------

void World::restart_redis(NodeId server, DataLoss loss) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  trace_event(server, "redis-restart", static_cast<std::uint64_t>(loss));
  const bool was_down = !s.alive;
  if (s.alive) server_crash(s);
  s.alive = true;
  ++s.condition_generation;  // a new process: whatever state the old one was in ends
  s.model->set_condition(ServerCondition::kNormal);
  ServerEnv env{s.clock->wall_now(), s.rng.get(), Duration(0)};
  s.model->restart(loss, env);
  // Back within its node timeout, a running server is not failed over; one that was
  // down rejoins the cluster as a restart does.
  if (was_down && cluster_ != nullptr && cluster_->is_member(server)) cluster_->on_restart(server);
}

void World::flush_scripts(NodeId server) {
  trace_event(server, "script-flush", 0);
  server_model(server).flush_scripts();
}

void World::set_server_slowdown(NodeId server, Duration extra_per_command) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  s.slowdown = extra_per_command;
  trace_event(server, "slowdown", static_cast<std::uint64_t>(extra_per_command.count()));
}

void World::set_server_condition(NodeId server, ServerCondition condition, Duration length) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  trace_event(server, "condition", static_cast<std::uint64_t>(condition),
              std::to_string(length.count()));
  const std::uint64_t generation = ++s.condition_generation;
  s.model->set_condition(condition);
  if (condition == ServerCondition::kNormal) return;
  // Not a node event: the condition ends on time even if the server crashed meanwhile.
  scheduler_.at(now() + length, [this, server, generation] {
    Node& n = node(server);
    if (n.condition_generation != generation) return;  // replaced or ended
    trace_event(server, "condition", static_cast<std::uint64_t>(ServerCondition::kNormal));
    n.model->set_condition(ServerCondition::kNormal);
  });
}

ServerModel& World::server_model(NodeId server) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  return *s.model;
}

}  // namespace distkit::sim
