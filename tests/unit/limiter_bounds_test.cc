// The limiter bound checkers judge only grants certainly inside a window.
#include "distkit/sim/check/limiter_bounds.h"

#include <gtest/gtest.h>

namespace distkit::sim {
namespace {

TEST(WindowBound, CountsOnlyGrantsCertainlyInsideTheSpan) {
  // Three grants within 100 us of each other, a bound of 2.
  std::vector<Grant> grants = {{0, 10, 1, "a"}, {20, 30, 1, "a"}, {40, 50, 1, "b"}};
  const auto two = [](std::size_t) { return std::int64_t{2}; };
  std::optional<BoundViolation> v = check_window_bound(grants, 100, two);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->at_us, 50);
  EXPECT_NE(v->what.find("3 granted"), std::string::npos) << v->what;
  EXPECT_NE(v->what.find("2 processes"), std::string::npos) << v->what;
  // The first was sent long before: it may have taken effect outside a 35 us span.
  EXPECT_FALSE(check_window_bound(grants, 35, two).has_value());
  // A bound that grows with the processes (a hybrid's) admits it.
  EXPECT_FALSE(check_window_bound(grants, 100, [](std::size_t p) {
                 return static_cast<std::int64_t>(1 + p);
               }).has_value());
}

TEST(GcraBound, BurstPlusOnePerEmissionInterval) {
  // burst 1, T = 10 us: 2 at once, then one per 10 us.
  std::vector<Grant> ok = {{0, 1, 1, "a"}, {0, 1, 1, "a"}, {10, 11, 1, "a"}, {20, 21, 1, "a"}};
  EXPECT_FALSE(check_gcra_bound(ok, 1, 10).has_value());
  std::vector<Grant> over = ok;
  over.push_back({12, 13, 1, "b"});  // a third within [0, 13]: bound 2 + 1
  std::optional<BoundViolation> v = check_gcra_bound(over, 1, 10);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->what.find("bound 3"), std::string::npos) << v->what;
  // Quantities count.
  EXPECT_TRUE(check_gcra_bound({{0, 1, 3, "a"}}, 1, 10).has_value());
}

}  // namespace
}  // namespace distkit::sim
