#include "distkit/core/limiters/sliding_window.h"

#include <algorithm>

namespace distkit {

std::int64_t SlidingWindowLimit::window_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
}
std::int64_t SlidingWindowLimit::bucket_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(bucket).count();
}

Status SlidingWindowLimit::validate() const {
  if (limit < 0 || limit >= (std::int64_t{1} << 53)) {
    return invalid_argument_error("a window limit must be in [0, 2^53)");
  }
  const auto whole = [](Duration d) {
    return d >= std::chrono::milliseconds(1) && d % std::chrono::milliseconds(1) == Duration(0);
  };
  if (!whole(window) || !whole(bucket) || bucket > window) {
    return invalid_argument_error(
        "window and bucket must be whole milliseconds with 1 ms <= bucket <= window");
  }
  if (window_ms() / bucket_ms() > 1000) {
    return invalid_argument_error("at most 1000 buckets per window (window / bucket)");
  }
  return Status();
}

namespace {

// A clock that went back (age < 0) joins the newest bucket: buckets stay in order.
void add_to_window(std::deque<WindowBucket>& buckets, const SlidingWindowLimit& limit,
                   std::int64_t now_ms, std::int64_t count) {
  if (count == 0) return;
  if (!buckets.empty() && now_ms - buckets.back().start_ms <= limit.bucket_ms()) {
    buckets.back().count += count;
  } else {
    buckets.push_back({now_ms, count});
  }
}

}  // namespace

WindowDecision sliding_window_decide(std::deque<WindowBucket>& buckets,
                                     const SlidingWindowLimit& limit, std::int64_t now_ms,
                                     std::int64_t count, std::int64_t committed) {
  const std::int64_t expired_before = now_ms - limit.window_ms();
  while (!buckets.empty() && buckets.front().start_ms < expired_before)
    buckets.pop_front();
  add_to_window(buckets, limit, now_ms, committed);
  std::int64_t total = 0;
  for (const WindowBucket& b : buckets)
    total += b.count;
  WindowDecision d;
  if (total + count > limit.limit) {
    d.total = total;
    if (count > limit.limit || buckets.empty()) {
      d.retry_after = kRetryNever;  // waiting cannot make room for it
    } else {
      // The oldest bucket expires once now > start + window.
      d.retry_after =
          std::chrono::milliseconds(buckets.front().start_ms + limit.window_ms() + 1 - now_ms);
      d.remaining_after_waiting = limit.limit - (total - buckets.front().count);
    }
    return d;
  }
  d.allowed = true;
  add_to_window(buckets, limit, now_ms, count);
  d.total = total + count;
  return d;
}

}  // namespace distkit
