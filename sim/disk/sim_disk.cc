#include "distkit/sim/disk/sim_disk.h"

#include <algorithm>

namespace distkit::sim {

namespace {

void apply_write(std::string& image, std::uint64_t offset, std::string_view bytes) {
  if (image.size() < offset + bytes.size()) image.resize(offset + bytes.size(), '\0');
  image.replace(offset, bytes.size(), bytes);
}

constexpr std::uint64_t kSector = 512;

}  // namespace

class SimFile final : public File {
 public:
  SimFile(SimDisk& disk, SimDisk::FileId id, std::uint64_t generation)
      : disk_(disk), id_(id), generation_(generation) {}

  Result<std::string> read_all() override {
    Result<SimDisk::FileState*> f = disk_.state(id_, generation_);
    if (!f.ok()) return f.status();
    return (*f)->visible;
  }
  Status write(std::uint64_t offset, std::string_view bytes) override {
    Result<SimDisk::FileState*> f = disk_.state(id_, generation_);
    if (!f.ok()) return f.status();
    apply_write((*f)->visible, offset, bytes);
    (*f)->pending.push_back({.offset = offset, .bytes = std::string(bytes)});
    return Status();
  }
  Status truncate(std::uint64_t size) override {
    Result<SimDisk::FileState*> f = disk_.state(id_, generation_);
    if (!f.ok()) return f.status();
    (*f)->visible.resize(size, '\0');
    (*f)->pending.push_back({.truncate = true, .offset = size});
    return Status();
  }
  Task<Status> sync() override { return disk_.sync_file(id_, generation_); }

 private:
  SimDisk& disk_;
  SimDisk::FileId id_;
  std::uint64_t generation_;
};

Result<SimDisk::FileState*> SimDisk::state(FileId id, std::uint64_t generation) {
  if (generation != generation_)
    return failed_precondition_error("sim disk: a file handle from before a crash");
  auto it = files_.find(id);
  if (it == files_.end()) return failed_precondition_error("sim disk: the file was removed");
  return &it->second;
}

Result<std::unique_ptr<File>> SimDisk::open(const std::string& name, bool create) {
  if (!is_plain_file_name(name))
    return invalid_argument_error("sim disk: not a plain file name: '" + name + "'");
  auto it = names_.find(name);
  FileId id;
  if (it != names_.end()) {
    id = it->second;
  } else {
    if (!create) return failed_precondition_error("sim disk: no file '" + name + "'");
    id = next_id_++;
    files_[id];
    names_[name] = id;
  }
  return std::unique_ptr<File>(std::make_unique<SimFile>(*this, id, generation_));
}

std::vector<std::string> SimDisk::list() const {
  std::vector<std::string> out;
  for (const auto& [name, id] : names_)
    out.push_back(name);
  return out;
}

Status SimDisk::remove(const std::string& name) {
  if (!is_plain_file_name(name))
    return invalid_argument_error("sim disk: not a plain file name: '" + name + "'");
  if (names_.erase(name) == 0) return failed_precondition_error("sim disk: no file '" + name + "'");
  return Status();
}

Status SimDisk::rename(const std::string& from, const std::string& to) {
  if (!is_plain_file_name(from) || !is_plain_file_name(to))
    return invalid_argument_error("sim disk: not a plain file name: '" + from + "' or '" + to +
                                  "'");
  auto it = names_.find(from);
  if (it == names_.end()) return failed_precondition_error("sim disk: no file '" + from + "'");
  const FileId id = it->second;
  names_.erase(it);
  names_[to] = id;
  return Status();
}

void SimDisk::set_sync_latency(Executor& executor, Duration min, Duration max) {
  executor_ = &executor;
  latency_min_ = min;
  latency_max_ = std::max(min, max);
}

Task<void> SimDisk::sync_delay() {
  if (executor_ == nullptr) co_return;
  const auto span = static_cast<std::uint64_t>((latency_max_ - latency_min_).count()) + 1;
  co_await sleep_for(*executor_, latency_min_ + latency_extra_ + Duration(rng_.next_u64() % span));
}

Task<Status> SimDisk::sync_file(FileId id, std::uint64_t generation) {
  ++syncs_;
  Result<FileState*> before = state(id, generation);
  if (!before.ok()) co_return before.status();
  // What this sync covers: the writes made before it started. Writes made while it
  // waits stay pending (a later sync covers them).
  const std::size_t covered = (*before)->pending.size();
  co_await sync_delay();
  // Re-checked: a crash while it waited means it never happened.
  Result<FileState*> f = state(id, generation);
  if (!f.ok()) co_return f.status();
  std::vector<Pending>& pending = (*f)->pending;
  const auto end = pending.begin() + static_cast<std::ptrdiff_t>(std::min(covered, pending.size()));
  if (sync_fails_) {
    // As Linux after a failed writeback: the pages are marked clean, the data stays
    // readable but never reaches the disk, and a later sync reports success for it.
    pending.erase(pending.begin(), end);
    co_return data_loss_error("sim disk: sync failed (injected)");
  }
  if (!lying_sync_) {
    for (auto it = pending.begin(); it != end; ++it) {
      if (it->truncate) {
        (*f)->durable.resize(it->offset, '\0');
      } else {
        apply_write((*f)->durable, it->offset, it->bytes);
      }
    }
    pending.erase(pending.begin(), end);
  }
  co_return Status();
}

Task<Status> SimDisk::sync_directory() {
  const std::uint64_t generation = generation_;
  co_await sync_delay();
  if (generation != generation_)
    co_return failed_precondition_error("sim disk: crashed during a directory sync");
  if (sync_fails_) co_return data_loss_error("sim disk: directory sync failed (injected)");
  if (!lying_sync_) durable_names_ = names_;
  co_return Status();
}

void SimDisk::crash(CrashLoss loss) {
  ++generation_;
  executor_ = nullptr;
  for (auto& [id, f] : files_) {
    std::string image = f.durable;
    if (loss == CrashLoss::kTornSectors) {
      // Each sector-sized piece of each pending operation reached the disk or not,
      // independently of the others (in any order).
      for (const Pending& p : f.pending) {
        if (p.truncate) {
          if (rng_.next_u64() % 2 == 0) image.resize(p.offset, '\0');
          continue;
        }
        for (std::uint64_t at = p.offset; at < p.offset + p.bytes.size();) {
          const std::uint64_t end =
              std::min<std::uint64_t>((at / kSector + 1) * kSector, p.offset + p.bytes.size());
          if (rng_.next_u64() % 2 == 0)
            apply_write(image, at, std::string_view(p.bytes).substr(at - p.offset, end - at));
          at = end;
        }
      }
    }
    f.visible = image;
    f.durable = image;
    f.pending.clear();
  }
  if (loss == CrashLoss::kTornSectors && rng_.next_u64() % 2 == 0) {
    // The directory's last changes made it (as a whole: one journal commit).
    durable_names_ = names_;
  }
  names_ = durable_names_;
  // Files no name reaches are gone.
  for (auto it = files_.begin(); it != files_.end();) {
    const bool named = std::any_of(names_.begin(), names_.end(),
                                   [&](const auto& n) { return n.second == it->first; });
    it = named ? std::next(it) : files_.erase(it);
  }
}

Status SimDisk::flip_durable_bit(const std::string& name, std::uint64_t bit) {
  auto it = names_.find(name);
  if (it == names_.end()) return failed_precondition_error("sim disk: no file '" + name + "'");
  FileState& f = files_.at(it->second);
  if (bit / 8 >= f.durable.size())
    return invalid_argument_error("sim disk: bit " + std::to_string(bit) + " is past the end");
  f.durable[bit / 8] = static_cast<char>(f.durable[bit / 8] ^ (1 << (bit % 8)));
  if (bit / 8 < f.visible.size())
    f.visible[bit / 8] = static_cast<char>(f.visible[bit / 8] ^ (1 << (bit % 8)));
  return Status();
}

}  // namespace distkit::sim
