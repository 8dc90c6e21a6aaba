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
// top when asked. Each attempt gets its own Connection (socket, TLS stream, read
// buffer), which every completion handler of that attempt holds: close() marks it
// closed and closes the socket, and the handlers that complete later (aborted) find
// it closed and stop, with their stream and buffers still alive. So no event reaches
// the machine after close(), and nothing is freed under a pending operation.
class AsioLink final : public conn::ByteLink {
 public:
  AsioLink(AsioRuntime& runtime, const RedisClientOptions& options)
      : io_(runtime.io()), shared_(std::make_shared<Shared>(options)) {}
  ~AsioLink() override { shut(); }

  void open(conn::Attempt attempt, conn::LinkEvents& events) override {
    shut();
    current_ = std::make_shared<Connection>(io_, shared_, attempt, events);
    Connection::start(current_);
  }

  void write(conn::Attempt attempt, std::string_view bytes) override {
    if (current_ && current_->attempt == attempt) Connection::write(current_, bytes);
  }

  void close(conn::Attempt attempt) override {
    if (current_ && current_->attempt == attempt) shut();
  }

 private:
  // What every attempt shares: where to connect and the TLS settings.
  struct Shared {
    explicit Shared(const RedisClientOptions& o) : host(o.host), port(o.port) {
      if (!o.tls) return;
      server_name = o.tls_server_name.empty() ? o.host : o.tls_server_name;
      verify = o.tls_verify_peer;
      tls_context.emplace(asio::ssl::context::tls_client);
      boost::system::error_code ec;
      const auto fail = [&](const std::string& what) {
        if (ec && setup_error.empty()) setup_error = "TLS: " + what + ": " + ec.message();
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
        const std::string key = o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file;
        tls_context->use_certificate_chain_file(o.tls_cert_file, ec);
        fail("certificate file " + o.tls_cert_file);
        tls_context->use_private_key_file(key, asio::ssl::context::pem, ec);
        fail("key file " + key);
      }
    }

    std::string host;
    std::uint16_t port;
    std::optional<asio::ssl::context> tls_context;  // set when TLS is asked for
    std::string server_name;
    bool verify = true;
    std::string setup_error;  // a TLS configuration that cannot work
  };

  struct Connection {
    Connection(asio::io_context& io, std::shared_ptr<Shared> s, conn::Attempt a,
               conn::LinkEvents& e)
        : shared(std::move(s)), socket(io), resolver(io), attempt(a), events(&e) {}

    static void start(const std::shared_ptr<Connection>& c) {
      if (!c->shared->setup_error.empty()) {
        // Fails every attempt with its reason; never inline.
        asio::post(c->socket.get_executor(), [c] {
          if (!c->closed) c->events->on_open_failed(c->attempt, c->shared->setup_error);
        });
        return;
      }
      c->resolver.async_resolve(
          c->shared->host, std::to_string(c->shared->port),
          [c](const boost::system::error_code& ec, tcp::resolver::results_type results) {
            if (c->closed) return;
            if (ec) {
              c->events->on_open_failed(c->attempt,
                                        "resolve " + c->shared->host + ": " + ec.message());
              return;
            }
            asio::async_connect(c->socket, results,
                                [c](const boost::system::error_code& ec2, const tcp::endpoint&) {
                                  if (c->closed) return;
                                  if (ec2) {
                                    c->events->on_open_failed(c->attempt, ec2.message());
                                    return;
                                  }
                                  boost::system::error_code ignored;
                                  c->socket.set_option(tcp::no_delay(true), ignored);
                                  if (c->shared->tls_context) {
                                    tls_handshake(c);
                                  } else {
                                    opened(c);
                                  }
                                });
          });
    }

    static void tls_handshake(const std::shared_ptr<Connection>& c) {
      Shared& s = *c->shared;
      // The stream borrows the connected socket; it is this attempt's own.
      c->tls.emplace(c->socket, *s.tls_context);
      boost::system::error_code not_an_address;
      asio::ip::make_address(s.server_name, not_an_address);
      if (not_an_address) {
        // SNI, for servers behind a proxy that routes by name.
        SSL_set_tlsext_host_name(c->tls->native_handle(), s.server_name.c_str());
      }
      if (s.verify) c->tls->set_verify_callback(asio::ssl::host_name_verification(s.server_name));
      c->tls->async_handshake(
          asio::ssl::stream_base::client, [c](const boost::system::error_code& ec) {
            if (c->closed) return;
            if (ec) {
              c->events->on_open_failed(
                  c->attempt, "TLS handshake with " + c->shared->server_name + ": " + ec.message());
              return;
            }
            opened(c);
          });
    }

    static void opened(const std::shared_ptr<Connection>& c) {
      read_loop(c);
      c->events->on_opened(c->attempt);
    }

    static void write(const std::shared_ptr<Connection>& c, std::string_view bytes) {
      auto done = [c](const boost::system::error_code& ec, std::size_t) {
        if (c->closed) return;
        if (ec) {
          c->events->on_closed(c->attempt, "lost while writing: " + ec.message());
        } else {
          c->events->on_write_done(c->attempt);
        }
      };
      const auto buffer = asio::buffer(bytes.data(), bytes.size());
      if (c->tls) {
        asio::async_write(*c->tls, buffer, std::move(done));
      } else {
        asio::async_write(c->socket, buffer, std::move(done));
      }
    }

    static void read_loop(const std::shared_ptr<Connection>& c) {
      auto on_read = [c](const boost::system::error_code& ec, std::size_t n) {
        if (c->closed) return;
        if (ec) {
          const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
          c->events->on_closed(c->attempt, eof ? "end of stream" : ec.message());
          return;
        }
        c->events->on_bytes(c->attempt, std::string_view(c->read_buffer.data(), n));
        if (!c->closed) read_loop(c);
      };
      if (c->tls) {
        c->tls->async_read_some(asio::buffer(c->read_buffer), std::move(on_read));
      } else {
        c->socket.async_read_some(asio::buffer(c->read_buffer), std::move(on_read));
      }
    }

    void shut() {
      closed = true;
      resolver.cancel();
      // TLS: no close_notify exchange; the machine is done with this link either way.
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }

    std::shared_ptr<Shared> shared;
    tcp::socket socket;
    tcp::resolver resolver;
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    conn::Attempt attempt;
    conn::LinkEvents* events;
    bool closed = false;
    std::array<char, 64 * 1024> read_buffer{};
  };

  void shut() {
    if (current_) current_->shut();
    current_.reset();
  }

  asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Connection> current_;
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

Task<Result<RedisReply>> RedisClient::execute(RedisCommand command) {
  return connection_->execute(std::move(command));
}

Task<std::vector<Result<RedisReply>>> RedisClient::execute_pipeline(
    std::vector<RedisCommand> commands) {
  return connection_->execute_pipeline(std::move(commands));
}

bool RedisClient::connected() const {
  return connection_->connected();
}

RedisClientStats RedisClient::stats() const {
  return connection_->machine().stats();
}

}  // namespace distkit::transport
