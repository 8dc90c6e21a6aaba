// in_input_order(): the batch forms of the counters (get_all, inc_all, ...) in one
// place. Each item is prepared on its own (an invalid key fails that item alone and
// sends nothing); the prepared requests go out together in one pipeline; each item's
// result is read from its reply; the results come back in input order.
#ifndef DISTKIT_CORE_SEAM_IN_INPUT_ORDER_H_
#define DISTKIT_CORE_SEAM_IN_INPUT_ORDER_H_

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

// Every element set: the values, in order.
template <typename T>
[[nodiscard]] std::vector<T> take_all(std::vector<std::optional<T>>& slots) {
  std::vector<T> out;
  out.reserve(slots.size());
  for (std::optional<T>& slot : slots)
    out.push_back(std::move(*slot));
  return out;
}

template <typename R>
struct ResultValue;
template <typename V>
struct ResultValue<Result<V>> {
  using type = V;
};

// `prepare(i)` -> Result<Request>: item i's request, or why item i fails unsent.
// `send(std::vector<Request>)` -> Task<std::vector<Result<RedisReply>>>: one reply per
// request, in order (a pipeline). `read(i, const Result<RedisReply>&)` -> Result<T>.
// Nothing is sent when no item is valid. The callables are used before this returns.
template <typename T, typename Prepare, typename Send, typename Read>
Task<std::vector<Result<T>>> in_input_order(std::size_t items, Prepare prepare, Send send,
                                            Read read) {
  using Request = typename ResultValue<std::invoke_result_t<Prepare&, std::size_t>>::type;
  std::vector<std::optional<Result<T>>> results(items);
  std::vector<Request> requests;
  std::vector<std::size_t> sent;
  for (std::size_t i = 0; i < items; ++i) {
    Result<Request> request = prepare(i);
    if (!request.ok()) {
      results[i] = request.status();
      continue;
    }
    requests.push_back(std::move(*request));
    sent.push_back(i);
  }
  if (!requests.empty()) {
    std::vector<Result<RedisReply>> replies = co_await send(std::move(requests));
    for (std::size_t j = 0; j < sent.size(); ++j) {
      results[sent[j]] =
          read(sent[j], j < replies.size() ? replies[j]
                                           : Result<RedisReply>(unavailable_error(
                                                 "the pipeline left a request unanswered")));
    }
  }
  co_return take_all(results);
}

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_IN_INPUT_ORDER_H_
