#include "distkit/transport/tcp_peers.h"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <deque>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "distkit/core/async/mailbox.h"
#include "distkit/core/base/random.h"
#include "distkit/core/peer/frames.h"

namespace distkit::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Address {
  std::string host;
  std::string port;
};

Result<Address> parse_address(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return invalid_argument_error("tcp peers: '" + text + "' is not host:port");
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) == 0 || std::stoul(port) > 65535)
    return invalid_argument_error("tcp peers: bad port in '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]:7000
  return Address{std::move(host), port};
}

// The stream to one peer: dialled when there is something to send, the hello first.
struct Outbound {
  Outbound(asio::io_context& io, NodeId peer, Address a)
      : id(peer), address(std::move(a)), socket(io), resolver(io), timer(io) {}
  enum class Phase : std::uint8_t { kIdle, kConnecting, kUp, kBackingOff };
  NodeId id;
  Address address;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  Phase phase = Phase::kIdle;
  std::uint64_t generation = 0;   // of the current stream: stale callbacks check it
  std::deque<std::string> queue;  // frames not yet written
  std::size_t queued_bytes = 0;
  bool writing = false;
  std::string in_flight;           // what the write in progress carries
  std::array<char, 64> discard{};  // a read that only notices the stream end
  Duration backoff{0};
  std::chrono::steady_clock::time_point up_since;  // when the current stream came up
};

// A stream a peer dialled: its bytes go through a StreamDecoder into the inbox.
struct Inbound {
  Inbound(tcp::socket s, std::uint64_t cluster, std::size_t max_frame)
      : socket(std::move(s)), decoder(cluster, max_frame) {}
  tcp::socket socket;
  peer::StreamDecoder decoder;
  std::array<char, 64 << 10> buffer{};
};

}  // namespace

struct TcpPeers::State {
  State(AsioRuntime& r, TcpPeersOptions o)
      : runtime(r),
        io(r.io()),
        options(std::move(o)),
        acceptor(io),
        accept_timer(io),
        inbox(r, options.max_inbox_messages),
        rng(seed_or_entropy(0)) {}

  AsioRuntime& runtime;
  asio::io_context& io;
  TcpPeersOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer accept_timer;
  Mailbox<PeerMessage> inbox;
  std::map<NodeId, std::shared_ptr<Outbound>> out;
  std::set<std::shared_ptr<Inbound>> in;
  TcpPeersCounters counters;
  SplitMix64 rng;
  bool closed = false;
};

namespace {

using State = TcpPeers::State;

void flush(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o);
void connect(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o);

void close_socket(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// The stream is gone: what it held is dropped (Raft sends again), and it is dialled
// again after a jittered, growing pause once there is something to send.
void fail(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o) {
  // A stream that stayed up a while was healthy: dial again soon. One that dies at once
  // (a peer that accepts and closes: another cluster, another service on the port)
  // keeps growing the pause.
  if (o->phase == Outbound::Phase::kUp &&
      std::chrono::steady_clock::now() - o->up_since >= s->options.reconnect_max)
    o->backoff = Duration{0};
  const std::uint64_t generation = ++o->generation;
  close_socket(o->socket);
  o->resolver.cancel();
  s->counters.dropped_sends += o->queue.size();
  o->queue.clear();
  o->queued_bytes = 0;
  o->writing = false;
  o->phase = Outbound::Phase::kBackingOff;
  const Duration base =
      std::clamp(o->backoff * 2, s->options.reconnect_min, s->options.reconnect_max);
  o->backoff = base;
  const auto pause = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      base * (0.5 + s->rng.next_unit()));
  o->timer.expires_after(pause);
  o->timer.async_wait([s, o, generation](const boost::system::error_code& ec) {
    // (A timer that had expired when a later fail() re-armed it still runs: it is stale.)
    if (ec || s->closed || o->generation != generation || o->phase != Outbound::Phase::kBackingOff)
      return;
    o->phase = Outbound::Phase::kIdle;
    if (!o->queue.empty()) connect(s, o);
  });
}

void watch_for_end(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o) {
  const std::uint64_t generation = o->generation;
  o->socket.async_read_some(asio::buffer(o->discard),
                            [s, o, generation](const boost::system::error_code& ec, std::size_t) {
                              if (s->closed || o->generation != generation) return;
                              // The peer never writes on this stream: any byte or end is
                              // the end of it.
                              (void)ec;
                              fail(s, o);
                            });
}

void connect(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o) {
  o->phase = Outbound::Phase::kConnecting;
  const std::uint64_t generation = ++o->generation;
  o->writing = false;  // a write on an earlier stream is abandoned
  o->socket = tcp::socket(s->io);
  o->resolver.async_resolve(
      o->address.host, o->address.port,
      [s, o, generation](const boost::system::error_code& ec, tcp::resolver::results_type results) {
        if (s->closed || o->generation != generation) return;
        if (ec) {
          fail(s, o);
          return;
        }
        asio::async_connect(
            o->socket, results,
            [s, o, generation](const boost::system::error_code& ec2, const tcp::endpoint&) {
              if (s->closed || o->generation != generation) return;
              if (ec2) {
                fail(s, o);
                return;
              }
              boost::system::error_code ignored;
              o->socket.set_option(tcp::no_delay(true), ignored);
              o->phase = Outbound::Phase::kUp;
              o->up_since = std::chrono::steady_clock::now();
              ++s->counters.connects;
              o->queue.push_front(
                  peer::encode_hello({.cluster = s->options.cluster, .node = s->options.self}));
              watch_for_end(s, o);
              flush(s, o);
            });
      });
}

void flush(const std::shared_ptr<State>& s, const std::shared_ptr<Outbound>& o) {
  if (o->writing || o->queue.empty() || o->phase != Outbound::Phase::kUp) return;
  o->writing = true;
  o->in_flight.clear();
  for (const std::string& frame : o->queue)
    o->in_flight += frame;
  o->queue.clear();
  o->queued_bytes = 0;
  const std::uint64_t generation = o->generation;
  asio::async_write(o->socket, asio::buffer(o->in_flight),
                    [s, o, generation](const boost::system::error_code& ec, std::size_t) {
                      if (s->closed || o->generation != generation) return;
                      o->writing = false;
                      if (ec) {
                        fail(s, o);
                        return;
                      }
                      flush(s, o);
                    });
}

void read(const std::shared_ptr<State>& s, const std::shared_ptr<Inbound>& in) {
  in->socket.async_read_some(
      asio::buffer(in->buffer), [s, in](const boost::system::error_code& ec, std::size_t n) {
        if (s->closed) return;
        if (ec) {  // the peer went away (or restarted): its next stream brings its hello
          close_socket(in->socket);
          s->in.erase(in);
          return;
        }
        std::vector<std::string> payloads;
        Status status = in->decoder.feed(std::string_view(in->buffer.data(), n), payloads);
        const std::optional<peer::Hello>& hello = in->decoder.hello();
        if (status.ok() && hello && (hello->node == 0 || hello->node == s->options.self))
          status = protocol_error("peer stream: a hello from node " + std::to_string(hello->node));
        if (hello && (hello->node != 0 && hello->node != s->options.self)) {
          for (std::string& p : payloads) {
            if (!s->inbox.push(PeerMessage{hello->node, std::move(p)}))
              ++s->counters.dropped_received;
          }
        }
        if (!status.ok()) {
          ++s->counters.refused_streams;
          close_socket(in->socket);
          s->in.erase(in);
          return;
        }
        read(s, in);
      });
}

void accept(const std::shared_ptr<State>& s) {
  s->acceptor.async_accept([s](const boost::system::error_code& ec, tcp::socket socket) {
    if (s->closed) return;
    if (ec) {
      // Out of descriptors, say: try again shortly rather than spin on the error.
      s->accept_timer.expires_after(std::chrono::milliseconds(100));
      s->accept_timer.async_wait([s](const boost::system::error_code& timer_ec) {
        if (!timer_ec && !s->closed) accept(s);
      });
      return;
    }
    {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto in = std::make_shared<Inbound>(std::move(socket), s->options.cluster,
                                          s->options.max_frame_bytes);
      s->in.insert(in);
      read(s, in);
    }
    accept(s);
  });
}

}  // namespace

Result<std::unique_ptr<TcpPeers>> TcpPeers::start(AsioRuntime& runtime, TcpPeersOptions options) {
  if (options.self == 0) return invalid_argument_error("tcp peers: the node id must not be 0");
  auto state = std::make_shared<State>(runtime, options);
  for (const auto& [id, address] : options.peers) {
    Result<Address> a = parse_address(address);
    if (!a.ok()) return a.status();
    state->out[id] = std::make_shared<Outbound>(state->io, id, std::move(*a));
  }
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.listen_address, ec);
  if (ec)
    return invalid_argument_error("tcp peers: bad listen address '" + options.listen_address + "'");
  const tcp::endpoint endpoint(address, options.listen_port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return unavailable_error("tcp peers: cannot listen on " + options.listen_address + ":" +
                             std::to_string(options.listen_port) + ": " + ec.message());
  asio::post(state->io, [state] {
    if (!state->closed) accept(state);
  });
  return std::unique_ptr<TcpPeers>(new TcpPeers(std::move(state)));
}

TcpPeers::~TcpPeers() {
  State& s = *state_;
  s.closed = true;
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  s.accept_timer.cancel();
  for (auto& [id, o] : s.out) {
    close_socket(o->socket);
    o->resolver.cancel();
    o->timer.cancel();
  }
  for (const std::shared_ptr<Inbound>& in : s.in)
    close_socket(in->socket);
  s.in.clear();
}

NodeId TcpPeers::self() const {
  return state_->options.self;
}

void TcpPeers::send(NodeId to, std::string payload) {
  State& s = *state_;
  auto it = s.out.find(to);
  if (s.closed || it == s.out.end() || payload.size() > s.options.max_frame_bytes) {
    ++s.counters.dropped_sends;
    return;
  }
  const std::shared_ptr<Outbound>& o = it->second;
  if (o->queued_bytes + payload.size() + peer::kFrameHeaderBytes > s.options.max_queued_bytes) {
    ++s.counters.dropped_sends;
    return;
  }
  std::string frame;
  peer::encode_frame(payload, frame);
  o->queued_bytes += frame.size();
  o->queue.push_back(std::move(frame));
  if (o->phase == Outbound::Phase::kIdle) {
    connect(state_, o);
  } else {
    flush(state_, o);
  }
}

Task<PeerMessage> TcpPeers::receive() {
  co_return co_await state_->inbox.pop();
}

Status TcpPeers::set_peer(NodeId id, const std::string& address) {
  Result<Address> a = parse_address(address);
  if (!a.ok()) return a.status();
  State& s = *state_;
  auto it = s.out.find(id);
  if (it != s.out.end()) {
    if (it->second->phase != Outbound::Phase::kIdle) fail(state_, it->second);  // redial later
    it->second->address = std::move(*a);
  } else {
    s.out[id] = std::make_shared<Outbound>(s.io, id, std::move(*a));
  }
  return Status();
}

std::uint16_t TcpPeers::port() const {
  boost::system::error_code ec;
  const tcp::endpoint e = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : e.port();
}

const TcpPeersCounters& TcpPeers::counters() const {
  return state_->counters;
}

}  // namespace distkit::transport
