#include "distkit/client/client.h"

#include <utility>

#include "distkit/transport/cluster.h"
#include "distkit/transport/redis_client.h"
#include "distkit/transport/runtime.h"

namespace distkit {
namespace {

constexpr std::string_view kClusterScheme = "redis+cluster://";
constexpr std::string_view kTlsClusterScheme = "rediss+cluster://";

// The connection a URL names, on `runtime` (not yet connected: that happens lazily).
Result<std::unique_ptr<RedisConnection>> connection_for(std::string_view url,
                                                        const ClientOptions& options,
                                                        transport::AsioRuntime& runtime) {
  transport::RedisClientOptions node;
  node.request_timeout = options.request_timeout;
  node.connect_timeout = options.connect_timeout;
  node.tls_ca_file = options.tls_ca_file;
  node.tls_cert_file = options.tls_cert_file;
  node.tls_key_file = options.tls_key_file;
  std::string_view scheme = "redis://";
  if (url.starts_with(kTlsClusterScheme)) {
    url = url.substr(kTlsClusterScheme.size());
    scheme = "rediss://";
  } else if (url.starts_with(kClusterScheme)) {
    url = url.substr(kClusterScheme.size());
  } else {
    DISTKIT_ASSIGN_OR_RETURN(node, transport::parse_redis_url(url, node));
    return std::unique_ptr<RedisConnection>(
        std::make_unique<transport::RedisClient>(runtime, std::move(node)));
  }
  // Credentials apply to every node; each seed is parsed as a one-server URL.
  const std::string whole(url);
  std::string_view rest = url;
  std::string credentials;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    credentials = std::string(rest.substr(0, at + 1));
    rest = rest.substr(at + 1);
  }
  transport::RedisClusterOptions cluster;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view seed = rest.substr(0, comma);
    if (seed.find('/') != std::string_view::npos) {
      return invalid_argument_error("redis cluster URL \"" + whole +
                                    "\": a cluster has no databases (no /<n>)");
    }
    DISTKIT_ASSIGN_OR_RETURN(
        transport::RedisClientOptions parsed,
        transport::parse_redis_url(std::string(scheme) + credentials + std::string(seed), node));
    cluster.seeds.push_back(parsed.host + ":" + std::to_string(parsed.port));
    cluster.node_options = parsed;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return std::unique_ptr<RedisConnection>(
      std::make_unique<transport::RedisClusterClient>(runtime, std::move(cluster)));
}

Status stopped_error() {
  return failed_precondition_error("the client was stopped");
}

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(std::string_view url, ClientOptions options) {
  if (options.request_timeout <= Duration(0) || options.connect_timeout <= Duration(0)) {
    return invalid_argument_error("request_timeout and connect_timeout must be positive");
  }
  std::unique_ptr<transport::AsioRuntime> runtime = transport::AsioRuntime::start();
  Result<std::unique_ptr<RedisConnection>> redis = connection_for(url, options, *runtime);
  if (!redis.ok()) return redis.status();
  return std::unique_ptr<Client>(new Client(std::move(runtime), std::move(*redis)));
}

Client::Client(std::unique_ptr<transport::AsioRuntime> runtime,
               std::unique_ptr<RedisConnection> redis)
    : runtime_(std::move(runtime)), redis_(std::move(redis)) {}

Client::~Client() {
  (void)stop();
  runtime_.reset();  // joins the thread
}

Executor& Client::executor() {
  return *runtime_;
}

const Clock& Client::clock() {
  return *runtime_;
}

Status Client::begin_use(bool blocking) {
  std::lock_guard lock(mutex_);
  if (stopped_) return stopped_error();
  if (blocking && runtime_->in_runtime_thread()) {
    return failed_precondition_error(
        "wait() on the client's own thread would never return: co_await the operation");
  }
  ++uses_;
  return Status();
}

void Client::end_use() {
  std::lock_guard lock(mutex_);
  if (--uses_ == 0) uses_done_.notify_all();
}

Status Client::stop() {
  std::vector<Owned> owned;
  {
    std::unique_lock lock(mutex_);
    if (stopped_) return Status();
    if (runtime_->in_runtime_thread()) {
      return failed_precondition_error(
          "stop() on the client's own thread would never return: call it from another");
    }
    stopped_ = true;
    uses_done_.wait(lock, [this] { return uses_ == 0; });
    owned.swap(owned_);
  }
  // On the client's thread: the primitives' tasks and the connection live there.
  block_on(*runtime_,
           [](std::vector<Owned>& owned, std::unique_ptr<RedisConnection>& redis) -> Task<void> {
             for (auto it = owned.rbegin(); it != owned.rend(); ++it) {
               if (it->shutdown) co_await it->shutdown();
               it->primitive.reset();
             }
             redis.reset();
           }(owned, redis_));
  return Status();
}

template <typename P>
Result<P*> Client::adopt(std::function<Result<std::unique_ptr<P>>()> make,
                         std::function<Task<Status>(P&)> shutdown) {
  // Made on the client's thread, so background tasks start where they will run; not
  // under the mutex, which a coroutine on that thread may be waiting for.
  if (Status usable = begin_use(/*blocking=*/false); !usable.ok()) return usable;
  Result<std::unique_ptr<P>> made =
      runtime_->in_runtime_thread()
          ? make()
          : block_on(*runtime_, [](auto& make) -> Task<Result<std::unique_ptr<P>>> {
              co_return make();
            }(make));
  if (!made.ok()) {
    end_use();
    return made.status();
  }
  std::shared_ptr<P> primitive(std::move(*made));
  P* raw = primitive.get();
  Owned owned{primitive, nullptr};
  if (shutdown) {
    owned.shutdown = [raw, shutdown]() -> Task<void> { (void)co_await shutdown(*raw); };
  }
  {
    std::lock_guard lock(mutex_);
    owned_.push_back(std::move(owned));  // stop() waits for this use: never too late
  }
  end_use();
  return raw;
}

namespace {

// A factory returning a value, as the owned pointer adopt() takes.
template <typename P>
Result<std::unique_ptr<P>> boxed(Result<P> made) {
  if (!made.ok()) return made.status();
  return std::make_unique<P>(std::move(*made));
}

}  // namespace

Result<StrictCounter*> Client::strict_counter(StrictCounterOptions options) {
  return adopt<StrictCounter>(
      [&] { return boxed(StrictCounter::create(*redis_, std::move(options))); }, nullptr);
}

Result<LaxCounter*> Client::lax_counter(LaxCounterOptions options) {
  return adopt<LaxCounter>([&] { return LaxCounter::create(*redis_, *runtime_, options); },
                           [](LaxCounter& c) { return c.shutdown(); });
}

Result<StrictInstanceAwareCounter*> Client::instance_aware_counter(
    InstanceAwareCounterOptions options) {
  return adopt<StrictInstanceAwareCounter>(
      [&] { return StrictInstanceAwareCounter::create(*redis_, *runtime_, options); },
      [](StrictInstanceAwareCounter& c) { return c.shutdown(); });
}

Result<LaxInstanceAwareCounter*> Client::lax_instance_aware_counter(
    LaxInstanceAwareCounterOptions options) {
  return adopt<LaxInstanceAwareCounter>(
      [&] { return LaxInstanceAwareCounter::create(*redis_, *runtime_, options); },
      [](LaxInstanceAwareCounter& c) { return c.shutdown(); });
}

Result<GcraLimiter*> Client::gcra_limiter(GcraLimiterOptions options) {
  return adopt<GcraLimiter>([&] { return boxed(GcraLimiter::create(*redis_, options)); }, nullptr);
}

Result<SlidingWindowLimiter*> Client::sliding_window_limiter(SlidingWindowLimiterOptions options) {
  return adopt<SlidingWindowLimiter>(
      [&] { return boxed(SlidingWindowLimiter::create(*redis_, options)); }, nullptr);
}

Result<SuppressedLimiter*> Client::suppressed_limiter(SuppressedLimiterOptions options) {
  return adopt<SuppressedLimiter>(
      [&] { return boxed(SuppressedLimiter::create(*redis_, *runtime_, options)); }, nullptr);
}

Result<HybridSlidingWindowLimiter*> Client::hybrid_window_limiter(HybridWindowOptions options) {
  return adopt<HybridSlidingWindowLimiter>(
      [&] { return HybridSlidingWindowLimiter::create(*redis_, *runtime_, options); },
      [](HybridSlidingWindowLimiter& l) { return l.shutdown(); });
}

Result<HybridSuppressedLimiter*> Client::hybrid_suppressed_limiter(
    HybridSuppressedOptions options) {
  return adopt<HybridSuppressedLimiter>(
      [&] { return HybridSuppressedLimiter::create(*redis_, *runtime_, options); },
      [](HybridSuppressedLimiter& l) { return l.shutdown(); });
}

}  // namespace distkit
