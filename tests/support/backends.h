// The backends every contract suite runs on: the simulator (a World with an
// InMemoryRedis, reached over the simulated network), the simulated Redis Cluster
// (sim/cluster, through core/cluster's client), a real redis-server through
// transport::RedisClient, and a real 3-master Redis Cluster through
// transport::RedisClusterClient. A suite is a TEST_P over backend_names().
#ifndef DISTKIT_TESTS_BACKENDS_H_
#define DISTKIT_TESTS_BACKENDS_H_

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit::test_support {

// Runs a coroutine with a connection to an empty Redis (data and scripts flushed),
// to completion.
class Backend {
 public:
  using Body = std::function<Task<void>(RedisConnection&, Executor&)>;
  virtual ~Backend() = default;
  virtual void run(Body body) = 0;
};

// Polls `done` on `executor` until it holds, for at most `cap` (which only matters if
// the code under test is broken): the way to wait for a background task on a real
// runtime without assuming how fast the machine is. Returns whether it held.
Task<bool> eventually(Executor& executor, std::function<bool()> done,
                      Duration cap = std::chrono::seconds(30));

// "sim", "sim_cluster", "real", "cluster".
const std::vector<std::string>& backend_names();
std::unique_ptr<Backend> make_backend(const std::string& name);

// A fixture for TEST_P suites over backend_names().
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { backend_ = make_backend(GetParam()); }
  std::unique_ptr<Backend> backend_;
};

#define DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(suite)                                        \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                               \
                           ::testing::ValuesIn(::distkit::test_support::backend_names()), \
                           [](const auto& info) { return info.param; })

}  // namespace distkit::test_support

#endif  // DISTKIT_TESTS_BACKENDS_H_
