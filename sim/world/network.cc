#include <algorithm>
#include <utility>

#include "distkit/sim/world/world.h"
#include "sim/world/world_internal.h"

namespace distkit::sim {

// ---- Network ---------------------------------------------------------------------------

const LinkConfig& World::link(NodeId from, NodeId to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? options_.default_link : it->second;
}

Duration World::sample_latency(const LinkConfig& link, Rng& rng) {
  const Latency& l = link.latency;
  Duration d = l.min;
  if (l.max > l.min)
    d += Duration(static_cast<std::int64_t>(rng.below((l.max - l.min).count() + 1)));
  if (l.tail_probability > 0 && rng.chance(l.tail_probability)) d += l.tail;
  return d;
}

bool World::link_blocked(NodeId from, NodeId to) const {
  auto it = blocked_.find({from, to});
  return it != blocked_.end() && it->second;
}

void World::send_segment(std::uint64_t conn, bool to_server, NodeId from, NodeId to,
                         std::function<void()> deliver) {
  auto& slot = streams_[{conn, to_server}];
  if (!slot) slot = std::make_unique<Stream>();
  Stream& stream = *slot;
  const LinkConfig& config = link(from, to);
  if (stream.dead || link_blocked(from, to) || network_rng_.chance(config.loss)) {
    // TCP: once a segment is lost, nothing after it on this stream gets through.
    stream.dead = true;
    trace_event(from, "segment-lost", conn, name(to));
    return;
  }
  const SimTime arrival =
      std::max(now() + sample_latency(config, network_rng_), stream.last_arrival);
  stream.last_arrival = arrival;
  arrival_event(to, arrival, [this, conn, to_server, from, to, deliver = std::move(deliver)] {
    // A partition that began while the segment was on its way drops it too.
    if (link_blocked(from, to)) {
      if (auto it = streams_.find({conn, to_server}); it != streams_.end()) it->second->dead = true;
      trace_event(to, "segment-lost", conn, name(from));
      return;
    }
    deliver();
  });
}

void World::close_stream(std::uint64_t conn) {
  streams_.erase({conn, true});
  streams_.erase({conn, false});
}

std::uint64_t World::datagrams_sent(NodeId node) const {
  auto it = datagrams_sent_.find(node);
  return it == datagrams_sent_.end() ? 0 : it->second;
}

std::uint64_t World::datagram_bytes_sent(NodeId node) const {
  auto it = datagram_bytes_sent_.find(node);
  return it == datagram_bytes_sent_.end() ? 0 : it->second;
}

void World::send_datagram(NodeId from, NodeId to, std::string payload) {
  ++datagrams_sent_[from];
  datagram_bytes_sent_[from] += payload.size();
  if (to >= nodes_.size()) return;  // unknown node: dropped, as the contract says
  const LinkConfig& config = link(from, to);
  const std::uint64_t digest = mix_hash(0, payload);
  if (link_blocked(from, to) || network_rng_.chance(config.loss)) {
    trace_event(from, "message-lost", digest, name(to));
    return;
  }
  // (No draw when duplication is off: runs without it keep their traces.)
  const int copies = config.duplicate > 0 && network_rng_.chance(config.duplicate) ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    if (copy == 1) trace_event(from, "message-duplicated", digest, name(to));
    const SimTime arrival = now() + sample_latency(config, network_rng_);
    std::string body = copy + 1 == copies ? std::move(payload) : payload;
    arrival_event(to, arrival, [this, from, to, digest, payload = std::move(body)]() mutable {
      Node& n = node(to);
      if (link_blocked(from, to) || n.context == nullptr) {
        trace_event(to, "message-lost", digest, name(from));
        return;
      }
      trace_event(to, "message", digest, name(from));
      n.context->peers_->deliver(PeerMessage{from, std::move(payload)});
    });
  }
}

void World::send_to_client(NodeId server, NodeId client, std::uint64_t conn,
                           std::function<void(SimLink&)> fn) {
  send_segment(conn, false, server, client, [this, conn, fn = std::move(fn)] {
    auto it = connections_.find(conn);
    if (it != connections_.end()) fn(*it->second);
  });
}

void World::send_bytes_to_client(NodeId server, NodeId client, std::uint64_t conn,
                                 std::string_view bytes) {
  for (std::string& segment : segments(server, client, bytes)) {
    send_to_client(server, client, conn,
                   [segment = std::move(segment)](SimLink& link) { link.on_bytes(segment); });
  }
}

std::vector<std::string> World::segments(NodeId from, NodeId to, std::string_view bytes) {
  const std::size_t max = std::max<std::size_t>(1, link(from, to).max_segments);
  std::vector<std::string> out;
  if (max == 1 || bytes.size() < 2) {
    out.emplace_back(bytes);
    return out;
  }
  const std::size_t count = 1 + network_rng_.below(std::min(max, bytes.size()));
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < count; ++i)
    cuts.push_back(1 + network_rng_.below(bytes.size() - 1));
  std::sort(cuts.begin(), cuts.end());
  std::size_t from_byte = 0;
  for (std::size_t cut : cuts) {
    if (cut == from_byte) continue;
    out.emplace_back(bytes.substr(from_byte, cut - from_byte));
    from_byte = cut;
  }
  out.emplace_back(bytes.substr(from_byte));
  return out;
}

std::uint64_t World::register_connection(SimLink* link) {
  const std::uint64_t conn = next_conn_++;
  connections_.emplace(conn, link);
  return conn;
}

void World::unregister_connection(std::uint64_t conn) {
  connections_.erase(conn);
}

void World::set_link(NodeId from, NodeId to, LinkConfig config) {
  (void)node(from), (void)node(to);
  links_[{from, to}] = config;
  trace_event(from, "set-link", to);
}
void World::set_link_both(NodeId a, NodeId b, LinkConfig config) {
  set_link(a, b, config);
  set_link(b, a, config);
}
void World::set_default_link(LinkConfig config) {
  options_.default_link = config;
  trace_event(0, "set-default-link", 0);
}
void World::partition_one_way(NodeId from, NodeId to) {
  (void)node(from), (void)node(to);
  blocked_[{from, to}] = true;
  trace_event(from, "partition", to, name(to));
}
void World::partition(NodeId a, NodeId b) {
  partition_one_way(a, b);
  partition_one_way(b, a);
}
void World::isolate(NodeId id) {
  for (const auto& other : nodes_) {
    if (other->id != id) partition(id, other->id);
  }
}
void World::heal(NodeId a, NodeId b) {
  blocked_.erase({a, b});
  blocked_.erase({b, a});
  trace_event(a, "heal", b, name(b));
}
void World::heal_all() {
  blocked_.clear();
  links_.clear();
  trace_event(0, "heal-all", 0);
}

void World::reset_connections(NodeId id) {
  Node& n = node(id);
  trace_event(id, "reset-connections", 0);
  if (n.server) {
    std::map<std::uint64_t, Session> sessions = std::move(n.sessions);
    n.sessions.clear();
    for (const auto& [conn, session] : sessions) {
      n.model->disconnect(conn);
      server_send_reset(id, conn, session.client);
    }
    return;
  }
  // The client side: each of this node's connections sees the reset now, or when the
  // node resumes if it is paused (its process runs nothing meanwhile). The machine
  // answers the reset by closing its link, which tells the server.
  std::vector<std::uint64_t> mine;
  for (const auto& [conn, c] : connections_) {
    if (c->client() == id) mine.push_back(conn);
  }
  for (std::uint64_t conn : mine) {
    arrival_event(id, now(), [this, conn] {
      if (auto it = connections_.find(conn); it != connections_.end()) it->second->on_reset();
    });
  }
}

void World::keepalive_after_close(std::uint64_t conn, NodeId server) {
  // Redis's tcp-keepalive (300 s): a connection whose FIN was lost is found dead and
  // dropped; the streams' bookkeeping goes with it.
  scheduler_.at(now() + kTcpKeepalive, [this, conn, server] {
    Node& s = node(server);
    if (s.sessions.erase(conn) > 0) {
      s.model->disconnect(conn);
      trace_event(server, "keepalive-drop", conn);
    }
    close_stream(conn);
  });
}

}  // namespace distkit::sim
