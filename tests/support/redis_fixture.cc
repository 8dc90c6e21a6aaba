#include "distkit/tests/support/redis_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "distkit/transport/hiredis_reply.h"

namespace distkit::test_support {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Names of every file a fixture's directory can hold; the signal handler can only
// unlink known names (directory iteration is not async-signal-safe).
constexpr const char* kFileNames[] = {"redis.log", "nodes.conf", "redis-cli.log"};

// ---- Cleanup on SIGINT/SIGTERM/SIGHUP -------------------------------------------
// A fixed table the signal handler reads without locks: the handler may run at any
// point, so each slot's fields are atomics or written before `in_use` is published.
constexpr int kMaxSlots = 128;
constexpr size_t kMaxDirLength = 1024;
struct CleanupSlot {
  std::atomic<bool> in_use{false};
  std::atomic<pid_t> pid{0};
  char directory[kMaxDirLength];
};
CleanupSlot g_slots[kMaxSlots];
struct sigaction g_previous[3];
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void append(char* buffer, size_t size, const char* text) {
  size_t used = std::strlen(buffer);
  size_t n = std::strlen(text);
  if (used + n + 1 > size) n = size - used - 1;
  std::memcpy(buffer + used, text, n);
  buffer[used + n] = '\0';
}

void on_termination_signal(int signo) {
  for (CleanupSlot& slot : g_slots) {
    if (!slot.in_use.load()) continue;
    if (pid_t pid = slot.pid.load(); pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    for (const char* name : kFileNames) {
      char path[kMaxDirLength + 32] = {0};
      append(path, sizeof path, slot.directory);
      append(path, sizeof path, "/");
      append(path, sizeof path, name);
      ::unlink(path);
    }
    ::rmdir(slot.directory);
  }
  // Die the way the signal would have made us die.
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    if (kSignals[i] == signo) ::sigaction(signo, &g_previous[i], nullptr);
  }
  ::raise(signo);
}

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action = {};
    action.sa_handler = on_termination_signal;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) {
      ::sigaction(kSignals[i], &action, &g_previous[i]);
    }
  });
}

Result<int> claim_cleanup_slot(const std::string& directory) {
  if (directory.size() >= kMaxDirLength) return invalid_argument_error("path too long");
  for (int i = 0; i < kMaxSlots; ++i) {
    CleanupSlot& slot = g_slots[i];
    bool expected = false;
    // Claim first, then fill; the handler ignores a slot whose directory is empty.
    if (!slot.in_use.compare_exchange_strong(expected, true)) continue;
    slot.pid.store(0);
    std::memcpy(slot.directory, directory.c_str(), directory.size() + 1);
    return i;
  }
  return resource_exhausted_error("more than 128 live Redis fixtures");
}

void release_cleanup_slot(int index) {
  g_slots[index].pid.store(0);
  g_slots[index].in_use.store(false);
}

// ---- Processes ---------------------------------------------------------------------

Result<std::string> find_binary(const char* name, const char* env_var) {
  if (const char* path = std::getenv(env_var); path != nullptr && *path != '\0') {
    if (::access(path, X_OK) == 0) return std::string(path);
    return failed_precondition_error(std::string(env_var) + "=" + path + " is not executable");
  }
  std::string search = "/usr/bin:/usr/local/bin";
  if (const char* path = std::getenv("PATH"); path != nullptr)
    search = std::string(path) + ":" + search;
  std::stringstream dirs(search);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return failed_precondition_error(std::string(name) +
                                   " not found on PATH; run tools/scripts/install-deps.sh or set " +
                                   env_var);
}

// Starts argv[0] with stdout and stderr appended to `output_path`. The child gets
// SIGKILL when the forking thread dies, so it never outlives the test.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& output_path) {
  std::vector<char*> c_argv;
  for (const std::string& arg : argv)
    c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  int out_fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) return unavailable_error("open " + output_path + ": " + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::close(null_fd);
    return unavailable_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::execv(c_argv[0], c_argv.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(null_fd);
  return pid;
}

// Waits up to `timeout` for `pid` to exit; true if it did (and was reaped).
bool wait_for_exit(pid_t pid, milliseconds timeout, int* status_out = nullptr) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (status_out != nullptr) *status_out = status;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// A loopback TCP socket bound to `port` and not listening: the port is taken, and a
// connection to it is refused. -1 if the port could not be bound.
int hold_port(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int yes = 1;  // the dead server's connections may linger in TIME_WAIT
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

Result<int> pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unavailable_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port <= 0) return unavailable_error("no free loopback port");
  return port;
}

std::string read_file_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.size() > max_bytes) content = content.substr(content.size() - max_bytes);
  return content;
}

Result<std::string> make_private_directory() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/distkit-redis-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return unavailable_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

}  // namespace

// ---- RedisServer -----------------------------------------------------------------

RedisServer::RedisServer(RedisServerOptions options, std::string directory, int cleanup_slot)
    : options_(std::move(options)), directory_(std::move(directory)), cleanup_slot_(cleanup_slot) {}

Result<std::unique_ptr<RedisServer>> RedisServer::start(RedisServerOptions options) {
  install_signal_handlers();
  DISTKIT_ASSIGN_OR_RETURN(std::string directory, make_private_directory());
  Result<int> slot = claim_cleanup_slot(directory);
  if (!slot.ok()) {
    std::filesystem::remove_all(directory);
    return slot.status();
  }
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options), directory, *slot));
  if (server->options_.tls) DISTKIT_RETURN_IF_ERROR(server->make_tls_files());
  // Another process may take the port between our probe and the server's bind.
  Status last;
  for (int attempt = 0; attempt < 8; ++attempt) {
    DISTKIT_ASSIGN_OR_RETURN(int port, pick_free_port());
    if (server->options_.tls) {
      DISTKIT_ASSIGN_OR_RETURN(server->tls_port_, pick_free_port());
      if (server->tls_port_ == port) continue;
    }
    int bus_port = 0;
    if (server->options_.cluster_enabled) {
      DISTKIT_ASSIGN_OR_RETURN(bus_port, pick_free_port());
      if (bus_port == port) continue;
    }
    last = server->launch(port, bus_port);
    if (last.ok()) return server;
    if (last.message().find("Address already in use") == std::string::npos) break;
  }
  return last;
}

// The server's command line: redis-server with our fixed settings, or another RESP
// server (options_.server_binary) given only its port and address.
Result<std::vector<std::string>> RedisServer::command_line(int port, int bus_port) const {
  if (!options_.server_binary.empty()) {
    return std::vector<std::string>{options_.server_binary, "--port", std::to_string(port),
                                    "--bind", host_};
  }
  DISTKIT_ASSIGN_OR_RETURN(std::string binary, find_binary("redis-server", "DISTKIT_REDIS_SERVER"));
  std::vector<std::string> argv = {binary,
                                   "--port",
                                   std::to_string(port),
                                   "--bind",
                                   host_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--protected-mode",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--dir",
                                   directory_,
                                   "--logfile",
                                   ""};
  if (options_.cluster_enabled) {
    argv.insert(argv.end(),
                {"--cluster-enabled", "yes", "--cluster-config-file", directory_ + "/nodes.conf",
                 "--cluster-port", std::to_string(bus_port), "--cluster-node-timeout", "5000"});
  }
  if (options_.tls) {
    argv.insert(argv.end(),
                {"--tls-port", std::to_string(tls_port_), "--tls-cert-file",
                 directory_ + "/server.crt", "--tls-key-file", directory_ + "/server.key",
                 "--tls-ca-cert-file", tls_ca_file(), "--tls-auth-clients", "optional"});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

// A throwaway certificate authority and two certificates it signs: the server's (for
// 127.0.0.1 and localhost) and a client's. One day of validity; RSA 2048.
Status RedisServer::make_tls_files() const {
  const std::string d = "'" + directory_ + "'";
  const std::string script =
      "set -e; cd " + d +
      "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1"
      " -subj /CN=distkit-test-ca"
      "; printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext"
      "; openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr"
      " -subj /CN=localhost"
      "; openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out server.crt -days 1 -extfile server.ext"
      "; openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr"
      " -subj /CN=distkit-test-client"
      "; openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out client.crt -days 1"
      "; chmod 600 *.key";
  const std::string command = "(" + script + ") > " + d + "/openssl.log 2>&1";
  if (std::system(command.c_str()) != 0) {
    return unavailable_error("making test certificates with openssl failed: " +
                             read_file_tail(directory_ + "/openssl.log", 2000));
  }
  return Status();
}

Status RedisServer::launch(int port, int bus_port) {
  DISTKIT_ASSIGN_OR_RETURN(std::vector<std::string> argv, command_line(port, bus_port));
  DISTKIT_ASSIGN_OR_RETURN(pid_t pid, spawn(argv, directory_ + "/redis.log"));
  pid_ = pid;
  port_ = port;
  bus_port_ = bus_port;
  g_slots[cleanup_slot_].pid.store(pid);
  return wait_until_ready();
}

Status RedisServer::wait_until_ready() {
  const auto deadline = Clock::now() + options_.startup_timeout;
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      g_slots[cleanup_slot_].pid.store(0);
      return unavailable_error("redis-server on port " + std::to_string(port_) +
                               " exited during startup (status " + std::to_string(status) +
                               "); log:\n" + log_tail());
    }
    Result<RedisReply> pong = command({"PING"}, milliseconds(200));
    // NOAUTH also proves the server is up (it was started with --requirepass).
    if (pong.ok() && ((pong->is_simple_string() && pong->text() == "PONG") ||
                      pong->error_prefix() == "NOAUTH")) {
      // The answer may come from another process's server that took the port first
      // (a test run beside this one) while ours is still failing to bind it: a
      // redis-server proves it is ours by its directory.
      if (!options_.server_binary.empty() || pong->is_error()) return Status();
      Result<RedisReply> dir = command({"CONFIG", "GET", "dir"}, milliseconds(200));
      std::error_code no_such_path;
      const bool ours =
          dir.ok() && dir->is_array() && dir->elements().size() == 2 &&
          dir->elements()[1].is_bulk_string() &&
          std::filesystem::equivalent(dir->elements()[1].text(), directory_, no_such_path);
      if (ours) return Status();
      kill_and_reap(pid_);
      pid_ = 0;
      g_slots[cleanup_slot_].pid.store(0);
      // The words the caller retries on, as for a bind that failed outright.
      return unavailable_error("Address already in use: another server answers on port " +
                               std::to_string(port_));
    }
    if (Clock::now() >= deadline) {
      std::string tail = log_tail();
      kill_and_reap(pid_);
      pid_ = 0;
      g_slots[cleanup_slot_].pid.store(0);
      return unavailable_error("redis-server on port " + std::to_string(port_) +
                               " did not answer PING in time; log:\n" + tail);
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

RedisServer::~RedisServer() {
  if (Status s = stop(); !s.ok()) std::fprintf(stderr, "RedisServer: %s\n", s.to_string().c_str());
}

std::string RedisServer::address() const {
  return host_ + ":" + std::to_string(port_);
}
std::string RedisServer::url() const {
  return "redis://" + address();
}

Result<RedisReply> RedisServer::command(const std::vector<std::string>& argv,
                                        milliseconds timeout) const {
  if (argv.empty()) return invalid_argument_error("empty command");
  timeval tv = {static_cast<time_t>(timeout.count() / 1000),
                static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  std::unique_ptr<redisContext, RedisContextDeleter> context(
      redisConnectWithTimeout(host_.c_str(), port_, tv));
  if (context == nullptr) return unavailable_error("cannot allocate a hiredis context");
  if (context->err != 0) {
    return unavailable_error("connect to " + address() + ": " + context->errstr);
  }
  if (redisSetTimeout(context.get(), tv) != REDIS_OK) {
    return unavailable_error("cannot set the socket timeout");
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  std::unique_ptr<redisReply, RedisReplyDeleter> reply(static_cast<redisReply*>(
      redisCommandArgv(context.get(), static_cast<int>(args.size()), args.data(), lengths.data())));
  if (reply == nullptr) {
    return unknown_outcome_error(argv[0] + " to " + address() + ": " + context->errstr);
  }
  return transport::reply_from_hiredis(*reply);
}

Status RedisServer::kill() {
  if (pid_ == 0) return Status();
  kill_and_reap(pid_);
  pid_ = 0;
  g_slots[cleanup_slot_].pid.store(0);
  held_port_fd_ = hold_port(port_);
  if (bus_port_ != 0) held_bus_port_fd_ = hold_port(bus_port_);
  if (held_port_fd_ < 0 || (bus_port_ != 0 && held_bus_port_fd_ < 0)) {
    return unavailable_error("killed, but another process took port " + std::to_string(port_) +
                             " (or its bus port) at once: restart() would not get it back");
  }
  return Status();
}

void RedisServer::release_held_ports() {
  for (int* fd : {&held_port_fd_, &held_bus_port_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

Status RedisServer::restart() {
  if (pid_ != 0) return failed_precondition_error("restart() of a running server");
  if (port_ == 0) return failed_precondition_error("restart() of a server that never started");
  release_held_ports();  // the server binds them next, within milliseconds
  return launch(port_, bus_port_);
}

Status RedisServer::stop() {
  release_held_ports();
  if (cleanup_slot_ < 0) return Status();
  if (pid_ != 0) {
    ::kill(pid_, SIGTERM);
    if (!wait_for_exit(pid_, std::chrono::seconds(5))) kill_and_reap(pid_);
    pid_ = 0;
  }
  std::error_code error;
  std::filesystem::remove_all(directory_, error);
  release_cleanup_slot(cleanup_slot_);
  cleanup_slot_ = -1;
  if (error) return unavailable_error("remove " + directory_ + ": " + error.message());
  return Status();
}

std::string RedisServer::log_tail(size_t max_bytes) const {
  return read_file_tail(directory_ + "/redis.log", max_bytes);
}

// ---- RedisCluster ----------------------------------------------------------------

Result<std::unique_ptr<RedisCluster>> RedisCluster::start(int masters) {
  if (masters < 3) return invalid_argument_error("a Redis Cluster needs at least 3 masters");
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  for (int i = 0; i < masters; ++i) {
    DISTKIT_ASSIGN_OR_RETURN(auto node, RedisServer::start({.cluster_enabled = true}));
    cluster->nodes_.push_back(std::move(node));
  }
  DISTKIT_ASSIGN_OR_RETURN(std::string cli, find_binary("redis-cli", "DISTKIT_REDIS_CLI"));
  std::vector<std::string> argv = {cli, "--cluster", "create"};
  for (const std::string& address : cluster->addresses())
    argv.push_back(address);
  argv.insert(argv.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  const std::string cli_log = cluster->nodes_[0]->directory() + "/redis-cli.log";
  DISTKIT_ASSIGN_OR_RETURN(pid_t pid, spawn(argv, cli_log));
  int status = 0;
  if (!wait_for_exit(pid, std::chrono::seconds(60), &status)) {
    kill_and_reap(pid);
    return unavailable_error("redis-cli --cluster create hung; output:\n" +
                             read_file_tail(cli_log, 2000));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return unavailable_error("redis-cli --cluster create failed; output:\n" +
                             read_file_tail(cli_log, 2000));
  }
  // redis-cli returns once the configuration is consistent; the nodes may still be
  // propagating cluster_state:ok.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  const std::string known_nodes = "cluster_known_nodes:" + std::to_string(masters);
  for (const auto& node : cluster->nodes_) {
    while (true) {
      Result<RedisReply> info = node->command({"CLUSTER", "INFO"});
      if (info.ok() && info->is_string() &&
          info->text().find("cluster_state:ok") != std::string::npos &&
          info->text().find(known_nodes) != std::string::npos) {
        break;
      }
      if (Clock::now() >= deadline) {
        return unavailable_error("cluster node " + node->address() +
                                 " did not reach cluster_state:ok; log:\n" + node->log_tail());
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  return cluster;
}

RedisCluster::~RedisCluster() {
  if (Status s = stop(); !s.ok()) std::fprintf(stderr, "RedisCluster: %s\n", s.to_string().c_str());
}

std::vector<std::string> RedisCluster::addresses() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_)
    out.push_back(node->address());
  return out;
}

Status RedisCluster::stop() {
  Status first_error;
  for (auto& node : nodes_) {
    Status s = node->stop();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace distkit::test_support
