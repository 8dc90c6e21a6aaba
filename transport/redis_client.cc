#include "distkit/transport/redis_client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <random>

#include "distkit/core/base/random.h"
#include "distkit/core/seam/request_batch.h"
#include "distkit/transport/reply_parser.h"

namespace distkit::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

}  // namespace

Result<RedisClientOptions> parse_redis_url(std::string_view url, RedisClientOptions options) {
  const auto bad = [&](std::string_view why) {
    return invalid_argument_error("redis URL \"" + std::string(url) + "\": " + std::string(why));
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return bad("must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      options.password = std::string(credentials);
    } else {
      options.username = std::string(credentials.substr(0, colon));
      options.password = std::string(credentials.substr(colon + 1));
    }
  }
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [end, error] = std::from_chars(db.data(), db.data() + db.size(), options.database);
      if (error != std::errc() || end != db.data() + db.size() || options.database < 0) {
        return bad("database must be a non-negative integer");
      }
    }
  }
  if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("port must be 1..65535");
    }
    options.port = static_cast<std::uint16_t>(value);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  options.host = std::string(rest);
  return options;
}

struct RedisClient::Impl : std::enable_shared_from_this<RedisClient::Impl> {
  enum class State : std::uint8_t { kDisconnected, kConnecting, kHandshaking, kConnected, kClosed };

  struct Request {
    std::string bytes;
    std::shared_ptr<RequestBatch> batch;  // null for the client's own (handshake, PING)
    std::size_t index = 0;
    MonoTime deadline;
  };

  Impl(AsioRuntime& r, RedisClientOptions o)
      : runtime(r),
        options(std::move(o)),
        socket(r.io()),
        resolver(r.io()),
        connect_timer(r.io()),
        deadline_timer(r.io()),
        backoff_timer(r.io()),
        health_timer(r.io()),
        jitter(entropy_u64()) {}

  // ---- Submitting -------------------------------------------------------------------

  void submit(std::vector<RedisCommand> commands, const std::shared_ptr<RequestBatch>& batch) {
    std::size_t bytes = 0;
    std::vector<std::string> encoded;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (commands[i].empty()) {
        RequestBatch::complete(batch, i, invalid_argument_error("empty Redis command"));
        encoded.emplace_back();
        continue;
      }
      encoded.push_back(encode_command(commands[i]));
      bytes += encoded.back().size();
    }
    Status refused;
    if (state == State::kClosed) {
      refused = cancelled_error("the Redis client is closed");
    } else if (pending_count() + commands.size() > options.max_pending_requests) {
      refused = resource_exhausted_error(
          "more than " + std::to_string(options.max_pending_requests) + " requests pending");
    } else if (pending_bytes + bytes > options.max_pending_bytes) {
      refused = resource_exhausted_error("more than " + std::to_string(options.max_pending_bytes) +
                                         " bytes pending");
    }
    const MonoTime deadline = runtime.now() + options.request_timeout;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (encoded[i].empty()) continue;
      if (!refused.ok()) {
        RequestBatch::complete(batch, i, refused);
        continue;
      }
      pending_bytes += encoded[i].size();
      waiting.push_back(Request{std::move(encoded[i]), batch, i, deadline});
    }
    if (state == State::kDisconnected && !backoff_armed) connect();
    flush();
    arm_deadline();
  }

  std::size_t pending_count() const { return waiting.size() + in_flight.size(); }

  void finish(Request& r, Result<RedisReply> outcome) {
    pending_bytes -= std::min(pending_bytes, r.bytes.size());
    if (r.batch) RequestBatch::complete(r.batch, r.index, std::move(outcome));
  }

  // ---- Connecting ---------------------------------------------------------------------

  void connect() {
    state = State::kConnecting;
    const std::uint64_t gen = ++generation;
    auto self = shared_from_this();
    connect_timer.expires_after(options.connect_timeout);
    connect_timer.async_wait([self, gen](const boost::system::error_code& ec) {
      if (ec || gen != self->generation || self->state != State::kConnecting) return;
      self->connection_failed("connect to " + self->address() + " timed out after " +
                              millis(self->options.connect_timeout));
    });
    resolver.async_resolve(
        options.host, std::to_string(options.port),
        [self, gen](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          if (gen != self->generation) return;
          if (ec) {
            self->connection_failed("resolve " + self->options.host + ": " + ec.message());
            return;
          }
          asio::async_connect(
              self->socket, results,
              [self, gen](const boost::system::error_code& ec2, const tcp::endpoint&) {
                if (gen != self->generation) return;
                if (ec2) {
                  self->connection_failed("connect to " + self->address() + ": " + ec2.message());
                  return;
                }
                self->on_connected();
              });
        });
  }

  void on_connected() {
    connect_timer.cancel();
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    parser = std::make_unique<ReplyParser>();
    state = State::kHandshaking;
    read_loop(generation);
    std::vector<RedisCommand> handshake;
    if (!options.password.empty()) {
      handshake.push_back(options.username.empty()
                              ? RedisCommand{"AUTH", options.password}
                              : RedisCommand{"AUTH", options.username, options.password});
    }
    if (options.database != 0) handshake.push_back({"SELECT", std::to_string(options.database)});
    handshake_left = handshake.size();
    if (handshake.empty()) {
      handshake_done();
      return;
    }
    for (const RedisCommand& c : handshake) {
      in_flight.push_back(
          Request{encode_command(c), nullptr, 0, runtime.now() + options.request_timeout});
      write_buffer += in_flight.back().bytes;
    }
    start_write();
    arm_deadline();
  }

  void handshake_done() {
    state = State::kConnected;
    ++stats.connects;
    failed_attempts = 0;
    flush();
    arm_health_check();
  }

  void connection_failed(std::string why) {
    // Only the client's own handshake can be in flight here (user requests wait for
    // it), so nothing of the caller's is lost.
    std::deque<Request> handshake = std::move(in_flight);
    in_flight.clear();
    for (Request& r : handshake)
      finish(r, unavailable_error(why));
    close_socket();
    state = State::kDisconnected;
    last_connect_error = std::move(why);
    ++failed_attempts;
    // Waiting requests keep waiting until their deadline; retry after a backoff.
    if (!waiting.empty()) schedule_reconnect();
    fail_expired_waiting();
  }

  void schedule_reconnect() {
    const double base = std::chrono::duration<double>(options.reconnect_min_backoff).count() *
                        std::pow(2.0, std::min<std::uint32_t>(failed_attempts, 20));
    const double cap = std::chrono::duration<double>(options.reconnect_max_backoff).count();
    const double delay =
        std::min(base, cap) * std::uniform_real_distribution<double>(0.5, 1.0)(jitter);
    backoff_armed = true;
    auto self = shared_from_this();
    backoff_timer.expires_after(
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(delay)));
    backoff_timer.async_wait([self](const boost::system::error_code& ec) {
      self->backoff_armed = false;
      if (ec || self->state != State::kDisconnected) return;
      if (!self->waiting.empty()) self->connect();
    });
  }

  // ---- Writing and reading -------------------------------------------------------------

  void flush() {
    if (state != State::kConnected || waiting.empty()) return;
    while (!waiting.empty()) {
      write_buffer += waiting.front().bytes;
      in_flight.push_back(std::move(waiting.front()));
      waiting.pop_front();
    }
    start_write();
  }

  void start_write() {
    if (writing || write_buffer.empty()) return;
    writing = true;
    sending.swap(write_buffer);
    write_buffer.clear();
    auto self = shared_from_this();
    const std::uint64_t gen = generation;
    asio::async_write(
        socket, asio::buffer(sending),
        [self, gen](const boost::system::error_code& ec, std::size_t) {
          self->writing = false;
          if (gen != self->generation) return;
          if (ec) {
            self->connection_lost(unknown_outcome_error("connection to " + self->address() +
                                                        " lost while writing: " + ec.message()));
            return;
          }
          self->start_write();
        });
  }

  void read_loop(std::uint64_t gen) {
    auto self = shared_from_this();
    socket.async_read_some(
        asio::buffer(read_buffer), [self, gen](const boost::system::error_code& ec, std::size_t n) {
          if (gen != self->generation) return;
          if (ec) {
            self->connection_lost(
                unknown_outcome_error("connection to " + self->address() +
                                      " lost with the request in flight: " + ec.message()));
            return;
          }
          self->parser->feed(std::string_view(self->read_buffer.data(), n));
          while (auto reply = self->parser->next()) {
            if (!self->on_reply(std::move(*reply))) return;
          }
          self->read_loop(gen);
        });
  }

  // False when the connection was closed.
  bool on_reply(Result<RedisReply> reply) {
    if (!reply.ok() || in_flight.empty()) {
      ++stats.protocol_errors;
      Status why = reply.ok() ? protocol_error("a reply nobody asked for from " + address())
                              : reply.status();
      if (!in_flight.empty()) {
        Request first = std::move(in_flight.front());
        in_flight.pop_front();
        finish(first, why);
      }
      connection_lost(unknown_outcome_error("connection to " + address() +
                                            " reset after a protocol error: " + why.message()));
      return false;
    }
    Request r = std::move(in_flight.front());
    in_flight.pop_front();
    if (!r.batch && state == State::kHandshaking) {
      if (reply->is_error()) {
        connection_failed("handshake with " + address() + " failed: " + reply->text());
        return false;
      }
      if (--handshake_left == 0) handshake_done();
    } else if (reply->is_error()) {
      finish(r, server_error(reply->text()));
    } else {
      finish(r, std::move(*reply));
    }
    arm_deadline();
    return true;
  }

  // ---- Failures, deadlines ---------------------------------------------------------------

  void connection_lost(const Status& in_flight_outcome) {
    ++stats.connection_losses;
    std::deque<Request> lost = std::move(in_flight);
    in_flight.clear();
    for (Request& r : lost)
      finish(r, in_flight_outcome);
    close_socket();
    state = State::kDisconnected;
    if (!waiting.empty()) schedule_reconnect();
  }

  void close_socket() {
    ++generation;  // every callback of the old connection is now stale
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    connect_timer.cancel();
    health_timer.cancel();
    write_buffer.clear();
    parser.reset();
  }

  void fail_expired_waiting() {
    const MonoTime now = runtime.now();
    while (!waiting.empty() && waiting.front().deadline <= now) {
      Request r = std::move(waiting.front());
      waiting.pop_front();
      finish(r, unavailable_error("not sent within " + millis(options.request_timeout) + ": " +
                                  (last_connect_error.empty() ? "not connected to " + address()
                                                              : last_connect_error)));
    }
  }

  void arm_deadline() {
    std::optional<MonoTime> next;
    if (!in_flight.empty()) next = in_flight.front().deadline;
    if (!waiting.empty() && (!next || waiting.front().deadline < *next))
      next = waiting.front().deadline;
    if (!next || (deadline_armed && *next >= armed_deadline)) return;
    deadline_armed = true;
    armed_deadline = *next;
    auto self = shared_from_this();
    deadline_timer.expires_at(std::chrono::steady_clock::time_point(next->time_since_epoch()));
    deadline_timer.async_wait([self](const boost::system::error_code& ec) {
      self->deadline_armed = false;
      if (ec || self->state == State::kClosed) return;
      const MonoTime now = self->runtime.now();
      if (!self->in_flight.empty() && self->in_flight.front().deadline <= now) {
        self->connection_lost(unknown_outcome_error("no reply from " + self->address() +
                                                    " within " +
                                                    millis(self->options.request_timeout)));
      }
      self->fail_expired_waiting();
      self->arm_deadline();
    });
  }

  void arm_health_check() {
    if (options.health_check_interval <= Duration(0)) return;
    auto self = shared_from_this();
    const std::uint64_t gen = generation;
    health_timer.expires_after(options.health_check_interval);
    health_timer.async_wait([self, gen](const boost::system::error_code& ec) {
      if (ec || gen != self->generation || self->state != State::kConnected) return;
      if (self->pending_count() == 0) {
        self->in_flight.push_back(Request{encode_command({"PING"}), nullptr, 0,
                                          self->runtime.now() + self->options.request_timeout});
        self->write_buffer += self->in_flight.back().bytes;
        self->start_write();
        self->arm_deadline();
      }
      self->arm_health_check();
    });
  }

  void close() {
    if (state == State::kClosed) return;
    close_socket();
    state = State::kClosed;
    resolver.cancel();
    deadline_timer.cancel();
    backoff_timer.cancel();
    std::deque<Request> lost = std::move(in_flight);
    for (Request& r : lost)
      finish(r, cancelled_error("the Redis client was closed with the request in flight"));
    std::deque<Request> unsent = std::move(waiting);
    for (Request& r : unsent)
      finish(r, cancelled_error("the Redis client was closed"));
  }

  std::string address() const { return options.host + ":" + std::to_string(options.port); }

  AsioRuntime& runtime;
  RedisClientOptions options;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer connect_timer, deadline_timer, backoff_timer, health_timer;
  std::mt19937_64 jitter;  // reconnect jitter only; production, not simulated
  State state = State::kDisconnected;
  std::uint64_t generation = 0;
  std::deque<Request> waiting;    // not yet written, in submission order
  std::deque<Request> in_flight;  // written, awaiting replies in order
  std::size_t pending_bytes = 0;
  std::size_t handshake_left = 0;
  std::string write_buffer, sending;
  bool writing = false;
  std::array<char, 64 * 1024> read_buffer{};
  std::unique_ptr<ReplyParser> parser;
  bool deadline_armed = false;
  MonoTime armed_deadline{};
  bool backoff_armed = false;
  std::uint32_t failed_attempts = 0;
  std::string last_connect_error;
  RedisClientStats stats;
};

RedisClient::RedisClient(AsioRuntime& runtime, RedisClientOptions options)
    : impl_(std::make_shared<Impl>(runtime, std::move(options))) {}

RedisClient::~RedisClient() {
  impl_->close();
}

Task<std::vector<Result<RedisReply>>> RedisClient::execute_pipeline(
    std::vector<RedisCommand> commands) {
  auto batch = std::make_shared<RequestBatch>(commands.size(), impl_->runtime);
  impl_->submit(std::move(commands), batch);
  co_await RequestBatch::wait(batch);
  co_return batch->take();
}

bool RedisClient::connected() const {
  return impl_->state == Impl::State::kConnected;
}
RedisClientStats RedisClient::stats() const {
  return impl_->stats;
}

}  // namespace distkit::transport
