#include "distkit/transport/redis_client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "distkit/core/base/random.h"

namespace distkit::transport {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<RedisClientOptions> parse_redis_url(std::string_view url, RedisClientOptions options) {
  const auto bad = [&](std::string_view why) {
    return invalid_argument_error("redis URL \"" + std::string(url) + "\": " + std::string(why));
  };
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    rest = url.substr(9);
    options.tls = true;
  } else {
    return bad("must start with redis:// or rediss:// (TLS)");
  }
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

namespace {

// The Asio driver of a ConnectionMachine: one TCP connection at a time, with TLS on
// top when asked. Every completion handler holds the shared state and the attempt it
// belongs to; a closed or destroyed link drops them, so no event reaches the machine
// after close().
class AsioLink final : public conn::ByteLink {
 public:
  AsioLink(AsioRuntime& runtime, const RedisClientOptions& options)
      : state_(std::make_shared<State>(runtime.io(), options)) {}
  ~AsioLink() override { state_->shut(); }

  void open(conn::Attempt attempt, conn::LinkEvents& events) override {
    State& s = *state_;
    s.shut();
    s.attempt = attempt;
    s.events = &events;
    if (!s.tls_setup_error.empty()) {
      // A TLS configuration that cannot work (an unreadable CA file, say) fails every
      // attempt with its reason; never inline.
      asio::post(s.socket.get_executor(), [st = state_, attempt] {
        if (st->current(attempt)) st->events->on_open_failed(attempt, st->tls_setup_error);
      });
      return;
    }
    s.resolver.async_resolve(
        s.host, std::to_string(s.port),
        [st = state_, attempt](const boost::system::error_code& ec,
                               tcp::resolver::results_type results) {
          if (!st->current(attempt)) return;
          if (ec) {
            st->events->on_open_failed(attempt, "resolve " + st->host + ": " + ec.message());
            return;
          }
          asio::async_connect(
              st->socket, results,
              [st, attempt](const boost::system::error_code& ec2, const tcp::endpoint&) {
                if (!st->current(attempt)) return;
                if (ec2) {
                  st->events->on_open_failed(attempt, ec2.message());
                  return;
                }
                boost::system::error_code ignored;
                st->socket.set_option(tcp::no_delay(true), ignored);
                if (st->tls_context) {
                  State::tls_handshake(st, attempt);
                  return;
                }
                State::read_loop(st, attempt);
                st->events->on_opened(attempt);
              });
        });
  }

  void write(conn::Attempt attempt, std::string_view bytes) override {
    if (!state_->current(attempt)) return;
    auto done = [st = state_, attempt](const boost::system::error_code& ec, std::size_t) {
      if (!st->current(attempt)) return;
      if (ec) {
        st->events->on_closed(attempt, "lost while writing: " + ec.message());
      } else {
        st->events->on_write_done(attempt);
      }
    };
    const auto buffer = asio::buffer(bytes.data(), bytes.size());
    if (state_->tls) {
      asio::async_write(*state_->tls, buffer, std::move(done));
    } else {
      asio::async_write(state_->socket, buffer, std::move(done));
    }
  }

  void close(conn::Attempt attempt) override {
    if (state_->attempt == attempt) state_->shut();
  }

 private:
  struct State {
    State(asio::io_context& io, const RedisClientOptions& o)
        : socket(io), resolver(io), host(o.host), port(o.port) {
      if (!o.tls) return;
      server_name = o.tls_server_name.empty() ? o.host : o.tls_server_name;
      verify = o.tls_verify_peer;
      tls_context.emplace(asio::ssl::context::tls_client);
      boost::system::error_code ec;
      const auto fail = [&](const std::string& what) {
        if (ec && tls_setup_error.empty()) tls_setup_error = "TLS: " + what + ": " + ec.message();
      };
      tls_context->set_options(asio::ssl::context::default_workarounds |
                                   asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                               ec);
      fail("options");
      tls_context->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none, ec);
      fail("verify mode");
      if (o.tls_ca_file.empty()) {
        tls_context->set_default_verify_paths(ec);
        fail("the system's certificate authorities");
      } else {
        tls_context->load_verify_file(o.tls_ca_file, ec);
        fail("CA file " + o.tls_ca_file);
      }
      if (!o.tls_cert_file.empty()) {
        tls_context->use_certificate_chain_file(o.tls_cert_file, ec);
        fail("certificate file " + o.tls_cert_file);
        tls_context->use_private_key_file(o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file,
                                          asio::ssl::context::pem, ec);
        fail("key file " + (o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file));
      }
    }

    [[nodiscard]] bool current(conn::Attempt a) const { return events != nullptr && attempt == a; }

    void shut() {
      events = nullptr;
      attempt = 0;
      resolver.cancel();
      boost::system::error_code ignored;
      // TLS: no close_notify exchange; the machine is done with this link either way.
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      tls.reset();
    }

    static void tls_handshake(const std::shared_ptr<State>& st, conn::Attempt attempt) {
      // The stream borrows the connected socket; a new one per attempt (an SSL
      // stream cannot be reused after a failure).
      st->tls.emplace(st->socket, *st->tls_context);
      boost::system::error_code not_an_address;
      asio::ip::make_address(st->server_name, not_an_address);
      if (not_an_address) {
        // SNI, for servers behind a proxy that routes by name.
        SSL_set_tlsext_host_name(st->tls->native_handle(), st->server_name.c_str());
      }
      if (st->verify)
        st->tls->set_verify_callback(asio::ssl::host_name_verification(st->server_name));
      st->tls->async_handshake(
          asio::ssl::stream_base::client, [st, attempt](const boost::system::error_code& ec) {
            if (!st->current(attempt)) return;
            if (ec) {
              st->events->on_open_failed(
                  attempt, "TLS handshake with " + st->server_name + ": " + ec.message());
              return;
            }
            State::read_loop(st, attempt);
            st->events->on_opened(attempt);
          });
    }

    static void read_loop(const std::shared_ptr<State>& st, conn::Attempt attempt) {
      auto on_read = [st, attempt](const boost::system::error_code& ec, std::size_t n) {
        if (!st->current(attempt)) return;
        if (ec) {
          const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
          st->events->on_closed(attempt, eof ? "end of stream" : ec.message());
          return;
        }
        st->events->on_bytes(attempt, std::string_view(st->read_buffer.data(), n));
        if (st->current(attempt)) read_loop(st, attempt);
      };
      if (st->tls) {
        st->tls->async_read_some(asio::buffer(st->read_buffer), std::move(on_read));
      } else {
        st->socket.async_read_some(asio::buffer(st->read_buffer), std::move(on_read));
      }
    }

    tcp::socket socket;
    tcp::resolver resolver;
    std::string host;
    std::uint16_t port;
    // TLS, when asked for: the context is built once; a stream per attempt.
    std::optional<asio::ssl::context> tls_context;
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    std::string server_name;
    bool verify = true;
    std::string tls_setup_error;
    conn::LinkEvents* events = nullptr;
    conn::Attempt attempt = 0;
    std::array<char, 64 * 1024> read_buffer{};
  };

  std::shared_ptr<State> state_;
};

conn::MachineConfig machine_config(const RedisClientOptions& o) {
  conn::MachineConfig c;
  c.address = o.host + ":" + std::to_string(o.port);
  c.request_timeout = o.request_timeout;
  c.connect_timeout = o.connect_timeout;
  c.max_pending_requests = o.max_pending_requests;
  c.max_pending_bytes = o.max_pending_bytes;
  c.reconnect_min_backoff = o.reconnect_min_backoff;
  c.reconnect_max_backoff = o.reconnect_max_backoff;
  c.health_check_interval = o.health_check_interval;
  c.handshake.username = o.username;
  c.handshake.password = o.password;
  c.handshake.database = o.database;
  c.handshake.client_name = o.client_name;
  c.handshake.hello = o.hello;
  c.reply_limits = o.reply_limits;
  c.jitter_seed = entropy_u64();  // production: not replayed
  return c;
}

}  // namespace

RedisClient::RedisClient(AsioRuntime& runtime, RedisClientOptions options)
    : connection_(std::make_unique<conn::MachineConnection>(
          runtime, std::make_unique<AsioLink>(runtime, options), machine_config(options))) {}

RedisClient::~RedisClient() = default;

Task<std::vector<Result<RedisReply>>> RedisClient::execute_pipeline(
    std::vector<RedisCommand> commands) {
  return connection_->execute_pipeline(std::move(commands));
}

bool RedisClient::connected() const {
  return connection_->connected();
}

RedisClientStats RedisClient::stats() const {
  const conn::ConnectionStats& s = connection_->machine().stats();
  return RedisClientStats{s.connects, s.connection_losses, s.protocol_errors, s.failed_attempts};
}

}  // namespace distkit::transport
