// distkit::Client: the front door. One object that owns an I/O thread and a connection
// to Redis (one server or a Redis Cluster), makes every Redis-backed primitive in one
// shape, and runs any operation either blocking or as a coroutine.
//
//   Result<std::unique_ptr<distkit::Client>> client =
//   distkit::Client::connect("redis://localhost:6379"); if (!client.ok()) return
//   fail(client.status()); Result<distkit::StrictCounter*> hits =
//   (*client)->strict_counter({.prefix = "app"}); Result<std::int64_t> n =
//   (*client)->wait((*hits)->inc("home-page"));  // blocking
//   // ...or, inside a coroutine running on (*client)->executor():
//   Result<std::int64_t> m = co_await (*hits)->inc("home-page");
//
// The two forms, everywhere: every operation of every primitive is a coroutine
// (`Task<...>`); `co_await` it from a coroutine, or hand it to wait() from any other
// thread. There is no second, blocking copy of each method to drift from the first.
//
// Ownership: the client owns every primitive it made. stop() (or the destructor) shuts
// them down in reverse order of creation (lax counters flush, hybrids sync,
// instance-aware counters stop their heartbeats) and destroys them and the connection
// on the client's own thread. Pointers to them are valid until then.
//
// Thread safety: every method may be called from any thread. On the client's own
// thread (inside one of its coroutines) wait() and stop() return kFailedPrecondition
// instead of waiting forever, and the destructor must not run there.
#ifndef DISTKIT_CLIENT_CLIENT_H_
#define DISTKIT_CLIENT_CLIENT_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/counters/instance_aware_counter.h"
#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/lax_instance_aware_counter.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/hybrid_suppressed_limiter.h"
#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

namespace transport {
class AsioRuntime;
}

struct ClientOptions {
  // Per request: a reply later than this is kUnknownOutcome (the request may have run).
  Duration request_timeout = std::chrono::seconds(1);
  Duration connect_timeout = std::chrono::seconds(1);
  // TLS (rediss:// URLs): the server's certificate is verified against this PEM file
  // of certificate authorities, or the system's when empty, and must name the host. A
  // client certificate and its key, for servers that ask for one.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

// What wait() returns for an operation returning T: T itself when T can carry a
// Status (Result<X>, Status), else Result<T> (e.g. the vector of a batch operation).
template <typename T>
using Waited = std::conditional_t<std::is_constructible_v<T, Status>, T, Result<T>>;

class Client {
 public:
  // `url` is one of
  //   redis://[[user]:password@]host[:port][/database]          one server
  //   redis+cluster://[[user]:password@]host:port[,host:port]... a Redis Cluster: any
  //                                                              of its nodes as seeds
  // and rediss://, rediss+cluster:// for the same over TLS. Connects lazily:
  // a server that is down shows in the first operation's outcome (kUnavailable), not
  // here, so a client can start before Redis does.
  [[nodiscard]] static Result<std::unique_ptr<Client>> connect(std::string_view url,
                                                               ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Shuts down and destroys every primitive made here (reverse order), then the
  // connection; waits for wait()s in progress first. (The client's thread ends with
  // the client.)
  // Idempotent. Afterwards every factory and wait() returns kFailedPrecondition.
  // kFailedPrecondition (nothing stopped) on the client's own thread.
  Status stop();

  // The primitives, one shape: validated options in, an owned primitive (or why not)
  // out. kInvalidArgument for bad options, kFailedPrecondition after stop().
  [[nodiscard]] Result<StrictCounter*> strict_counter(StrictCounterOptions options);
  [[nodiscard]] Result<LaxCounter*> lax_counter(LaxCounterOptions options);
  [[nodiscard]] Result<StrictInstanceAwareCounter*> instance_aware_counter(
      InstanceAwareCounterOptions options);
  [[nodiscard]] Result<LaxInstanceAwareCounter*> lax_instance_aware_counter(
      LaxInstanceAwareCounterOptions options);
  [[nodiscard]] Result<GcraLimiter*> gcra_limiter(GcraLimiterOptions options);
  [[nodiscard]] Result<SlidingWindowLimiter*> sliding_window_limiter(
      SlidingWindowLimiterOptions options);
  [[nodiscard]] Result<SuppressedLimiter*> suppressed_limiter(SuppressedLimiterOptions options);
  [[nodiscard]] Result<HybridSlidingWindowLimiter*> hybrid_window_limiter(
      HybridWindowOptions options);
  [[nodiscard]] Result<HybridSuppressedLimiter*> hybrid_suppressed_limiter(
      HybridSuppressedOptions options);

  // The blocking form of any operation: runs `operation` on the client's thread and
  // waits for its outcome. kFailedPrecondition (nothing run) after stop() or when
  // called on the client's own thread, where waiting would never end: co_await there.
  template <typename T>
  [[nodiscard]] Waited<T> wait(Task<T> operation) {
    if (Status usable = begin_use(/*blocking=*/true); !usable.ok()) {
      return Waited<T>(std::move(usable));
    }
    Waited<T> outcome(block_on(executor(), std::move(operation)));
    end_use();
    return outcome;
  }

  // For code that builds on the seam itself (its own scripts, its own primitives).
  [[nodiscard]] RedisConnection& redis() { return *redis_; }
  [[nodiscard]] Executor& executor();
  [[nodiscard]] const Clock& clock();

 private:
  Client(std::unique_ptr<transport::AsioRuntime> runtime, std::unique_ptr<RedisConnection> redis);

  // A wait() or a factory in progress holds stop() back until it is done. A blocking
  // use is refused on the client's own thread.
  [[nodiscard]] Status begin_use(bool blocking);
  void end_use();
  // Runs `make` on the client's thread (where primitives start their background tasks)
  // and keeps what it made, with how to shut it down.
  template <typename P>
  Result<P*> adopt(std::function<Result<std::unique_ptr<P>>()> make,
                   std::function<Task<Status>(P&)> shutdown);

  struct Owned {
    std::shared_ptr<void> primitive;
    std::function<Task<void>()> shutdown;
  };

  std::unique_ptr<transport::AsioRuntime> runtime_;
  std::unique_ptr<RedisConnection> redis_;
  std::mutex mutex_;  // guards the three below
  std::condition_variable uses_done_;
  std::vector<Owned> owned_;
  int uses_ = 0;
  bool stopped_ = false;
};

}  // namespace distkit

#endif  // DISTKIT_CLIENT_CLIENT_H_
