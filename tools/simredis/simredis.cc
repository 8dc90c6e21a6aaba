// simredis: the simulator's in-memory Redis served over RESP2 on a loopback port, on
// wall-clock time. Any Redis client (redis-cli, redis-benchmark, another language's
// client) can use it as a fast embedded test server.
//
//   simredis --port 7379            (--port 0: pick a free port and print it)
//
// Malformed or oversized requests get an error reply and only that connection is
// closed. The server is single-threaded, like Redis.
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "distkit/core/resp/resp.h"
#include "distkit/sim/redis/in_memory_redis.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace distkit::tools {
namespace {

struct Server {
  Server(std::uint64_t seed, RespRequestLimits l, std::size_t max)
      : rng(seed), limits(l), max_clients(max) {}
  sim::InMemoryRedis redis;
  sim::Rng rng;
  RespRequestLimits limits;
  sim::ClientId next_client = 1;
  std::size_t clients = 0;
  std::size_t max_clients;
};

// Commands a client library sends at connect time that the model does not keep.
std::optional<RedisReply> tool_command(const RedisCommand& c, bool& close_after) {
  std::string name = c[0];
  for (char& ch : name)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (name == "QUIT") {
    close_after = true;
    return RedisReply::simple_string("OK");
  }
  if (name == "CONFIG" && c.size() == 3) {
    // What clients ask for at connect time (redis-benchmark): no persistence.
    std::string param = c[2];
    for (char& ch : param)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (param == "save")
      return RedisReply::array({RedisReply::bulk_string("save"), RedisReply::bulk_string("")});
    if (param == "appendonly") {
      return RedisReply::array(
          {RedisReply::bulk_string("appendonly"), RedisReply::bulk_string("no")});
    }
    return RedisReply::array({});
  }
  if (name == "CLIENT") {
    // SETNAME, GETNAME and ID are the model's; the rest (SETINFO, ...) are accepted.
    std::string sub = c.size() > 1 ? c[1] : "";
    for (char& ch : sub)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (sub != "SETNAME" && sub != "GETNAME" && sub != "ID") return RedisReply::simple_string("OK");
  }
  if (name == "COMMAND") return RedisReply::array({});
  return std::nullopt;
}

asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<Server> server) {
  const sim::ClientId client = server->next_client++;
  ++server->clients;
  RespRequestParser parser(server->limits);
  std::string out;
  char buffer[16 * 1024];
  bool close_after = false;
  while (!close_after) {
    boost::system::error_code ec;
    const std::size_t n = co_await socket.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    parser.feed(std::string_view(buffer, n));
    out.clear();
    while (auto request = parser.next()) {
      if (!request->ok()) {
        encode_reply(RedisReply::error(request->status().message()), out);
        close_after = true;
        break;
      }
      const RedisCommand& command = **request;
      RedisReply reply;
      if (auto handled = tool_command(command, close_after)) {
        reply = std::move(*handled);
      } else {
        sim::ServerEnv env{std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()),
                           &server->rng};
        reply = server->redis.execute(client, command, env);
      }
      encode_reply(reply, out);
      if (close_after) break;
    }
    if (!out.empty()) {
      co_await asio::async_write(socket, asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
  }
  server->redis.disconnect(client);
  --server->clients;
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, std::shared_ptr<Server> server) {
  while (true) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. too many open files: keep serving the others
    }
    if (server->clients >= server->max_clients) {
      const std::string reply =
          encode_reply(RedisReply::error("ERR max number of clients reached"));
      asio::write(socket, asio::buffer(reply), ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), server), asio::detached);
  }
}

}  // namespace
}  // namespace distkit::tools

int main(int argc, char** argv) {
  using namespace distkit;
  CLI::App app{
      "simredis: distkit's in-memory Redis (strings, hashes, sets, sorted sets, "
      "Lua 5.1 scripts) served over RESP2"};
  std::string bind = "127.0.0.1";
  int port = 7379;
  std::uint64_t seed = 1;
  std::size_t max_bulk = 64 * 1024 * 1024;
  std::size_t max_clients = 10'000;
  app.add_option("--bind", bind, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port; 0 picks a free one and prints it")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of math.random in scripts")->capture_default_str();
  app.add_option("--max-bulk-bytes", max_bulk, "largest accepted argument")->capture_default_str();
  app.add_option("--max-clients", max_clients, "connections served at once")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  RespRequestLimits limits;
  limits.max_bulk_bytes = max_bulk;
  limits.max_buffered_bytes = std::max<std::size_t>(4 * max_bulk, 16 * 1024 * 1024);
  auto server = std::make_shared<tools::Server>(seed, limits, max_clients);
  asio::io_context io(1);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(bind, ec);
  if (ec) {
    std::fprintf(stderr, "simredis: --bind %s: %s\n", bind.c_str(), ec.message().c_str());
    return 2;
  }
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  if (acceptor.open(endpoint.protocol(), ec); !ec)
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "simredis: cannot listen on %s:%d: %s\n", bind.c_str(), port,
                 ec.message().c_str());
    return 1;
  }
  std::printf("simredis listening on %s:%u\n", bind.c_str(), acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    acceptor.close();
    io.stop();
  });
  asio::co_spawn(io, tools::listen(acceptor, server), asio::detached);
  io.run();
  return 0;
}
