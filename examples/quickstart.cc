// README's first code block: connect, make a counter and a rate limiter, use them.
// Blocking calls from main(); the coroutine form is count_and_limit() below.
//
//   bazel run //examples:quickstart -- redis://127.0.0.1:6379
//
// //tests/integration:simredis_test runs it against tools/simredis.
#include <cstdio>

#include "distkit/client/client.h"

namespace {

// The coroutine form of the same two calls: co_await instead of wait(). It runs on
// the client's thread (client.wait() hands it there from main).
distkit::Task<distkit::Status> count_and_limit(distkit::StrictCounter& visits,
                                               distkit::GcraLimiter& limiter) {
  distkit::Result<std::int64_t> n = co_await visits.inc("home-page");
  if (!n.ok()) co_return n.status();
  distkit::Result<distkit::GcraDecision> d = co_await limiter.check(
      "user-42", {.permits = 10, .period = std::chrono::seconds(1), .burst = 9});
  if (!d.ok()) co_return d.status();
  std::printf("coroutine: visit %lld, %s\n", static_cast<long long>(*n),
              d->allowed ? "allowed" : "limited");
  co_return distkit::Status();
}

int fail(const distkit::Status& status) {
  std::fprintf(stderr, "quickstart: %s\n", status.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto client = distkit::Client::connect(argc > 1 ? argv[1] : "redis://127.0.0.1:6379");
  if (!client.ok()) return fail(client.status());
  auto visits = (*client)->strict_counter({.prefix = "quickstart"});
  auto limiter = (*client)->gcra_limiter({.prefix = "quickstart"});
  if (!visits.ok() || !limiter.ok()) return fail(visits.ok() ? limiter.status() : visits.status());
  distkit::Result<std::int64_t> n = (*client)->wait((*visits)->inc("home-page"));
  if (!n.ok()) return fail(n.status());
  distkit::Result<distkit::GcraDecision> d = (*client)->wait(
      (*limiter)->check("user-42", {.permits = 10, .period = std::chrono::seconds(1), .burst = 9}));
  if (!d.ok()) return fail(d.status());
  std::printf("blocking: visit %lld, %s\n", static_cast<long long>(*n),
              d->allowed ? "allowed" : "limited");

  distkit::Status coroutine = (*client)->wait(count_and_limit(**visits, **limiter));
  if (!coroutine.ok()) return fail(coroutine);
  return (*client)->stop().ok() ? 0 : 1;
}
