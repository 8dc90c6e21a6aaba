#include "distkit/transport/posix_disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <coroutine>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace distkit::transport {

// Runs the disk's syncs one after another, off the executor's thread. Jobs hold no
// reference to it, so its destructor (which waits for the job running) never runs on
// its own thread.
class SyncThread {
 public:
  SyncThread() : thread_([this] { run(); }) {}
  ~SyncThread() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  SyncThread(const SyncThread&) = delete;
  SyncThread& operator=(const SyncThread&) = delete;

  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

  // Set by the first sync that fails (fail-stop): every later sync fails too, also one
  // queued before the failure was seen (the kernel may have dropped the data and
  // report the next fsync a success: fsyncgate).
  std::atomic<bool> failed{false};

 private:
  void run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

namespace {

std::string errno_text(int error) {
  return std::system_category().message(error);
}

// The seam's error for an errno from `what` on `path`: data loss only for what may
// have lost data; the operator's mistakes and exhausted resources say so.
Status io_error(int error, const std::string& what, const std::string& path) {
  std::string message = "disk: " + what + " " + path + ": " + errno_text(error);
  switch (error) {
    case ENOENT:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
    case EEXIST:
    case ENOTEMPTY:
      return failed_precondition_error(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return resource_exhausted_error(std::move(message));
    default:
      return data_loss_error(std::move(message));
  }
}

// error 0: durable. Otherwise the errno; `attempted` false when no sync ran (the
// descriptor could not even be duplicated), so nothing is known to be lost.
struct SyncOutcome {
  int error = 0;
  bool attempted = true;
};

// fdatasync (fsync for a directory) of a duplicate of `fd` on the sync thread; the
// awaiting coroutine resumes on `executor` with the errno (0: durable). A duplicate, so
// that closing the file meanwhile cannot make the sync hit another file.
class SyncAwaiter {
 public:
  SyncAwaiter(Executor& executor, SyncThread& syncs, int fd, bool directory)
      : executor_(executor), syncs_(syncs), fd_(fd), directory_(directory) {}
  ~SyncAwaiter() { state_->alive = false; }  // a frame destroyed while waiting: no resume
  SyncAwaiter(const SyncAwaiter&) = delete;
  SyncAwaiter& operator=(const SyncAwaiter&) = delete;

  bool await_ready() {
    const int copy = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      state_->error = errno;
      state_->synced = false;  // nothing was attempted
      return true;
    }
    fd_ = copy;
    return false;
  }
  void await_suspend(std::coroutine_handle<> handle) {
    state_->handle = handle;
    syncs_.submit(
        [state = state_, syncs = &syncs_, executor = &executor_, fd = fd_, directory = directory_] {
          if (syncs->failed.load()) {
            state->error = EIO;  // an earlier sync failed: this one proves nothing
          } else {
            const int rc = directory ? ::fsync(fd) : ::fdatasync(fd);
            state->error = rc == 0 ? 0 : errno;
            if (rc != 0) syncs->failed.store(true);
          }
          ::close(fd);
          // The executor outlives the disk and its files, whose destruction waits for this
          // job: posting is safe.
          executor->post([state] {
            if (state->alive) state->handle.resume();
          });
        });
  }
  SyncOutcome await_resume() const { return {.error = state_->error, .attempted = state_->synced}; }

 private:
  struct State {
    std::coroutine_handle<> handle;
    bool alive = true;   // executor thread only
    bool synced = true;  // false when no sync was attempted
    int error = 0;       // written on the sync thread before the resume is posted
  };
  Executor& executor_;
  SyncThread& syncs_;
  int fd_;
  bool directory_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// A file's or the directory's sync (`what` names it in errors), fail-stop.
Task<Status> sync_fd(Executor& executor, SyncThread& syncs, int fd, bool directory,
                     std::string what) {
  if (syncs.failed.load())
    co_return data_loss_error("disk: an earlier sync failed: reopen the log");
  const SyncOutcome out = co_await SyncAwaiter(executor, syncs, fd, directory);
  if (!out.attempted)
    co_return resource_exhausted_error("disk: cannot sync " + what + ": " + errno_text(out.error));
  if (out.error != 0)
    co_return data_loss_error("disk: " + std::string(directory ? "fsync of " : "fdatasync of ") +
                              what + ": " + errno_text(out.error));
  co_return Status();
}

class PosixFile final : public File {
 public:
  PosixFile(Executor& executor, std::shared_ptr<SyncThread> syncs, int fd, std::string path)
      : executor_(executor), syncs_(std::move(syncs)), fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Result<std::string> read_all() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return io_error(errno, "stat", path_);
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error(errno, "read", path_);
      if (n == 0) break;  // shrunk meanwhile
      done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
  }

  Status write(std::uint64_t offset, std::string_view bytes) override {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error(errno, "write", path_);
      done += static_cast<std::size_t>(n);
    }
    return Status();
  }

  Status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return io_error(errno, "truncate", path_);
    return Status();
  }

  Task<Status> sync() override { return sync_fd(executor_, *syncs_, fd_, false, path_); }

 private:
  Executor& executor_;
  std::shared_ptr<SyncThread> syncs_;
  int fd_;
  std::string path_;
};

}  // namespace

namespace {

// fsync of a directory, on the caller's thread (only at open()).
Status sync_directory_now(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(errno, "open directory", path.string());
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0)
    return data_loss_error("disk: fsync of directory " + path.string() + ": " + errno_text(error));
  return Status();
}

}  // namespace

Result<std::unique_ptr<PosixDisk>> PosixDisk::open(Executor& executor, std::string directory) {
  // The directories this creates, outermost first: each one's parent is synced after,
  // so the new names are durable before anything is written inside.
  std::vector<std::filesystem::path> created;
  std::error_code ec;
  for (std::filesystem::path p = std::filesystem::absolute(directory, ec);
       !ec && !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    created.insert(created.begin(), p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(directory, ec);
  if (ec) return io_error(ec.value(), "create directory", directory);
  for (const std::filesystem::path& p : created) {
    if (Status s = sync_directory_now(p.parent_path()); !s.ok()) return s;
  }
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(errno, "open directory", directory);
  return std::unique_ptr<PosixDisk>(new PosixDisk(executor, std::move(directory), fd));
}

PosixDisk::PosixDisk(Executor& executor, std::string directory, int directory_fd)
    : executor_(executor),
      directory_(std::move(directory)),
      directory_fd_(directory_fd),
      syncs_(std::make_shared<SyncThread>()) {}

PosixDisk::~PosixDisk() {
  ::close(directory_fd_);
}

std::string PosixDisk::path(const std::string& name) const {
  return directory_ + "/" + name;
}

Result<std::unique_ptr<File>> PosixDisk::open(const std::string& name, bool create) {
  if (!is_plain_file_name(name))
    return invalid_argument_error("disk: not a plain file name: '" + name + "'");
  const std::string p = path(name);
  const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) return io_error(errno, "open", p);
  return std::unique_ptr<File>(new PosixFile(executor_, syncs_, fd, p));
}

std::vector<std::string> PosixDisk::list() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixDisk::remove(const std::string& name) {
  if (!is_plain_file_name(name))
    return invalid_argument_error("disk: not a plain file name: '" + name + "'");
  if (::unlink(path(name).c_str()) != 0) return io_error(errno, "remove", path(name));
  return Status();
}

Status PosixDisk::rename(const std::string& from, const std::string& to) {
  if (!is_plain_file_name(from) || !is_plain_file_name(to))
    return invalid_argument_error("disk: not a plain file name: '" + from + "' or '" + to + "'");
  if (::rename(path(from).c_str(), path(to).c_str()) != 0)
    return io_error(errno, "rename", path(from));
  return Status();
}

Task<Status> PosixDisk::sync_directory() {
  return sync_fd(executor_, *syncs_, directory_fd_, true, "directory " + directory_);
}

}  // namespace distkit::transport
